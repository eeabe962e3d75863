//! `seen_reactions`: which reactions on approval messages the engine has applied, keyed by
//! (message, user, emoji), so replayed gateway events and the catch-up after a restart never
//! apply one twice.

use sqlx::AnyConnection;

use super::sql::{chat_users, update, Param};
use super::{ts, StoreResult, Timestamp};
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

/// Records an add (`added`) or a remove as applied, in the transaction that applies it:
/// true when it is news (the reaction was not known to be there, or was known to be there
/// for a remove), false for a replay (whose transaction is dropped). The record commits
/// with what the event changed, so it is settled at once; `settled = 0` rows come only from
/// versions that recorded and applied in two steps (see [`revert_unsettled`]).
pub async fn claim(
    conn: &mut AnyConnection,
    key: Key<'_>,
    added: bool,
    at: Timestamp,
) -> StoreResult<bool> {
    let done = if added {
        sqlx::query(
            "INSERT INTO seen_reactions (message_id, chat_user, emoji, present, settled, updated_at)
             VALUES ($1, $2, $3, 1, 1, $4)
             ON CONFLICT (message_id, chat_user, emoji)
             DO UPDATE SET present = 1, settled = 1, updated_at = excluded.updated_at
             WHERE seen_reactions.present = 0",
        )
        .bind(key.message.as_str())
        .bind(key.user.as_str())
        .bind(key.emoji)
        .bind(ts(at))
        .execute(conn)
        .await?
    } else {
        sqlx::query(
            "UPDATE seen_reactions SET present = 0, settled = 1, updated_at = $1
             WHERE message_id = $2 AND chat_user = $3 AND emoji = $4 AND present = 1",
        )
        .bind(ts(at))
        .bind(key.message.as_str())
        .bind(key.user.as_str())
        .bind(key.emoji)
        .execute(conn)
        .await?
    };
    Ok(done.rows_affected() == 1)
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
