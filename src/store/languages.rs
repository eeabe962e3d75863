//! `person_languages`: the language each person chose to be answered in (`language <code>`).

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
    let row = sqlx::query("SELECT language FROM person_languages WHERE chat_user = $1")
        .bind(user.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(row) => known(&row.try_get::<String, _>("language")?),
        None => None,
    })
}

/// What telling `user` about their request needs, in one read: the language they chose (if
/// any), and how many requests their `message` opened (0 without a message; more than one
/// for a batch, told together).
pub async fn chosen_and_batch(
    conn: &mut AnyConnection,
    user: &ChatUserId,
    message: Option<&MessageRef>,
) -> StoreResult<(Option<Language>, i64)> {
    let (language, batch): (Option<String>, i64) = sqlx::query_as(
        "SELECT (SELECT language FROM person_languages WHERE chat_user = $1),
                (SELECT COUNT(*) FROM requests WHERE requester = $1 AND origin_message = $2)",
    )
    .bind(user.as_str())
    .bind(message.map(MessageRef::as_str))
    .fetch_one(conn)
    .await?;
    Ok((language.as_deref().and_then(known), batch))
}

/// The language the person bound to its placeholder chose, as a scalar subquery (NULL when
/// they chose none), for a statement that reads it along with something else; its column
/// is read with [`chosen_in`].
pub(super) const CHOSEN_SQL: &str = "(SELECT language FROM person_languages WHERE chat_user = ?)";

/// The language a [`CHOSEN_SQL`] column holds, if any (see [`known`]).
pub(super) fn chosen_in(column: Option<String>) -> Option<Language> {
    column.as_deref().and_then(known)
}

/// A stored choice as a language: a word no longer known (its catalogue was removed) counts
/// as no choice, so the person is answered in the default language.
fn known(word: &str) -> Option<Language> {
    word.parse().ok()
}
