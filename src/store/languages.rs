//! `person_languages`: the language each person chose to be answered in (`language <code>`).

use std::sync::LazyLock;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{ts, StoreResult, Timestamp};
use crate::domain::{ChatUserId, Language, MessageRef};

/// Stores `user`'s choice, replacing any earlier one.
pub async fn choose(
    conn: &mut AnyConnection,
    user: &ChatUserId,
    language: Language,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO person_languages (chat_user, language, chosen_at) VALUES ($1, $2, $3)
         ON CONFLICT (chat_user) DO UPDATE SET language = excluded.language,
                                               chosen_at = excluded.chosen_at",
    )
    .bind(user.as_str())
    .bind(language.as_str())
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// The language `user` chose, if any (see [`known`]).
pub async fn chosen(conn: &mut AnyConnection, user: &ChatUserId) -> StoreResult<Option<Language>> {
    static CHOSEN: LazyLock<String> = LazyLock::new(|| format!("SELECT {}", chosen_sql("$1")));
    let column: Option<String> = sqlx::query_scalar(&CHOSEN)
        .bind(user.as_str())
        .fetch_one(conn)
        .await?;
    Ok(chosen_in(column))
}

/// What telling a requester about their request needs: the language they chose (if any),
/// and how many requests their message opened (0 without a message; more than one for a
/// batch, told together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Told {
    /// The language the requester chose; None when they chose none.
    pub language: Option<Language>,
    /// How many requests the requester's message opened.
    pub batch: i64,
}

/// [`Told`] as two scalar subqueries of a select list, `told_language` and `told_batch`:
/// `user` and `message` are SQL expressions for the requester and their message
/// (placeholders, or a joined request's columns). Read back with [`told_in`].
pub(super) fn told_sql(user: &str, message: &str) -> String {
    format!(
        "{} AS told_language, \
         (SELECT COUNT(*) FROM requests WHERE requester = {user} AND origin_message = {message}) \
         AS told_batch",
        chosen_sql(user)
    )
}

/// The [`Told`] a row of a [`told_sql`] statement carries.
pub(super) fn told_in(row: &AnyRow) -> StoreResult<Told> {
    Ok(Told {
        language: chosen_in(row.try_get("told_language")?),
        batch: row.try_get("told_batch")?,
    })
}

/// What telling `user` about their request opened by `message` needs, in one read.
pub async fn told(
    conn: &mut AnyConnection,
    user: &ChatUserId,
    message: Option<&MessageRef>,
) -> StoreResult<Told> {
    static TOLD: LazyLock<String> = LazyLock::new(|| format!("SELECT {}", told_sql("$1", "$2")));
    let row = sqlx::query(&TOLD)
        .bind(user.as_str())
        .bind(message.map(MessageRef::as_str))
        .fetch_one(conn)
        .await?;
    told_in(&row)
}

/// The language the person `user` (an SQL expression: a placeholder, or a joined row's
/// column) chose, as a scalar subquery (NULL when they chose none), for a statement that
/// reads it, alone or along with something else; its column is read with [`chosen_in`].
pub(super) fn chosen_sql(user: &str) -> String {
    format!("(SELECT language FROM person_languages WHERE chat_user = {user})")
}

/// The language a [`chosen_sql`] column holds, if any (see [`known`]).
pub(super) fn chosen_in(column: Option<String>) -> Option<Language> {
    column.as_deref().and_then(known)
}

/// A stored choice as a language: a word no longer known (its catalogue was removed) counts
/// as no choice, so the person is answered in the default language.
fn known(word: &str) -> Option<Language> {
    word.parse().ok()
}
