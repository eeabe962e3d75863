//! `seen_reactions`: which reactions on approval messages the engine has applied, keyed by
//! (message, user, emoji), so replayed gateway events and the catch-up after a restart never
//! apply one twice.

use sqlx::AnyConnection;

use super::sql::{chat_users, update, update_later, Param, Write};
use super::{ts, StoreError, StoreResult, Timestamp, WriteTx};
use crate::domain::{ChatUserId, MessageRef};

/// One reaction: who put which emoji on which message.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    /// The message.
    pub message: &'a MessageRef,
    /// Who reacted.
    pub user: &'a ChatUserId,
    /// The emoji.
    pub emoji: &'a str,
}

/// The filter that finds one reaction's row, its placeholders bound to [`Key::params`].
const KEY_FILTER: &str = "message_id = ? AND chat_user = ? AND emoji = ?";

impl<'a> Key<'a> {
    /// The values of [`KEY_FILTER`]'s placeholders, in order.
    pub(super) fn params(self) -> [Param<'a>; 3] {
        [
            self.message.as_str().into(),
            self.user.as_str().into(),
            self.emoji.into(),
        ]
    }
}

/// What a reaction's record says it does, in the error of a transaction that found it
/// applied already ([`is_replay`]).
const SEEN: &str = "a reaction seen";

/// Records an add (`added`) or a remove as applied, in the transaction that applies it:
/// held back to go with the transaction's next statement (its decision, say) or its
/// commit, in one round trip ([`WriteTx::defer`]). It must be news (the reaction not known
/// to be there, or known to be there for a remove): for a replay the write changes no row
/// and the transaction fails with an error [`is_replay`] tells apart, rolling back all it
/// did. The record commits with what the event changed, so it is settled at once;
/// `settled = 0` rows come only from versions that recorded and applied in two steps (see
/// [`revert_unsettled`]).
pub fn claim(tx: &mut WriteTx<'_>, key: Key<'_>, added: bool, at: Timestamp) {
    let at = ts(at);
    let write = if added {
        let params = [key.params().as_slice(), &[at.as_str().into()]].concat();
        Write::new(
            SEEN,
            "INSERT INTO seen_reactions (message_id, chat_user, emoji, present, settled, updated_at)
             VALUES (?, ?, ?, 1, 1, ?)
             ON CONFLICT (message_id, chat_user, emoji)
             DO UPDATE SET present = 1, settled = 1, updated_at = excluded.updated_at
             WHERE seen_reactions.present = 0"
                .into(),
            &params,
        )
    } else {
        let params = [&[at.as_str().into()], key.params().as_slice()].concat();
        let filter = format!("{KEY_FILTER} AND present = 1");
        let set = "present = 0, settled = 1, updated_at = ?";
        update_later(SEEN, ("seen_reactions", set, &filter), &params)
    };
    tx.defer(write.expecting(1));
}

/// Whether `e` failed a transaction because the reaction it recorded ([`claim`]) was
/// applied already: a replay, nothing of which is kept.
pub fn is_replay(e: &StoreError) -> bool {
    matches!(e, StoreError::Unapplied { what, .. } if *what == SEEN)
}

/// What is known of one reaction, read without claiming it (with its approval message's
/// context, [`super::stages::reaction_context`]): a replay can be told apart before any
/// work is done for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// Known to be there (added and not removed since).
    there: bool,
}

impl Seen {
    /// From the row's `present` (None: never seen).
    pub(super) fn from_present(present: Option<i64>) -> Seen {
        Seen {
            there: present == Some(1),
        }
    }

    /// Whether [`claim`] would find an add (`added`) or a remove news now.
    pub fn is_news(self, added: bool) -> bool {
        added != self.there
    }
}

/// The `present` of one reaction's row, as a scalar subquery whose placeholders take
/// [`Key::params`] (NULL when there is no row).
pub(super) fn present_sql() -> String {
    format!("(SELECT present FROM seen_reactions WHERE {KEY_FILTER})")
}

/// Records that a reaction is gone (the bot removed it), without applying anything.
pub async fn forget(conn: &mut AnyConnection, key: Key<'_>, at: Timestamp) -> StoreResult<()> {
    let set = "present = 0, settled = 1, updated_at = ?";
    set_on(conn, key, set, &[ts(at).into()]).await
}

/// Sets `set` on the row of `key`, binding `values` to the placeholders in `set`.
async fn set_on(
    conn: &mut AnyConnection,
    key: Key<'_>,
    set: &str,
    values: &[Param<'_>],
) -> StoreResult<()> {
    let mut params = values.to_vec();
    params.extend(key.params());
    update(conn, "seen_reactions", set, KEY_FILTER, &params).await?;
    Ok(())
}

/// Reverts every claim a previous process left unsettled; returns how many. Call at start-up
/// while holding the instance lock.
pub async fn revert_unsettled(conn: &mut AnyConnection) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE seen_reactions SET present = 1 - present, settled = 1 WHERE settled = 0",
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The users whose `emoji` on `message` is known to be there.
pub async fn present_users(
    conn: &mut AnyConnection,
    message: &MessageRef,
    emoji: &str,
) -> StoreResult<Vec<ChatUserId>> {
    let sql =
        "SELECT chat_user FROM seen_reactions WHERE message_id = ? AND emoji = ? AND present = 1
               ORDER BY updated_at";
    chat_users(conn, sql, &[message.as_str().into(), emoji.into()]).await
}
