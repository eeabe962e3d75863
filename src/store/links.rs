//! `links`: which directory user (UPN) a chat account speaks for.

use sqlx::SqliteConnection;

use super::{ts, StoreResult, Timestamp};
use crate::domain::{ChatUserId, Upn};

/// The UPN linked to a chat user, if any.
pub async fn get(conn: &mut SqliteConnection, user: &ChatUserId) -> StoreResult<Option<Upn>> {
    let row: Option<String> = sqlx::query_scalar("SELECT upn FROM links WHERE chat_user = ?")
        .bind(user.as_str())
        .fetch_optional(conn)
        .await?;
    row.map(|s| Upn::parse(&s).map_err(|e| super::corrupt("links", e)))
        .transpose()
}

/// The chat users linked to a UPN.
pub async fn users_for(conn: &mut SqliteConnection, upn: &Upn) -> StoreResult<Vec<ChatUserId>> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT chat_user FROM links WHERE upn = ? ORDER BY chat_user")
            .bind(upn.as_str())
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(ChatUserId).collect())
}

/// Links (or re-links) a chat user to a UPN.
pub async fn set(
    conn: &mut SqliteConnection,
    user: &ChatUserId,
    upn: &Upn,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO links (chat_user, upn, linked_at) VALUES (?, ?, ?)
         ON CONFLICT (chat_user) DO UPDATE SET upn = excluded.upn, linked_at = excluded.linked_at",
    )
    .bind(user.as_str())
    .bind(upn.as_str())
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a chat user's link; returns the UPN it was linked to, if any.
pub async fn remove(conn: &mut SqliteConnection, user: &ChatUserId) -> StoreResult<Option<Upn>> {
    let row: Option<String> =
        sqlx::query_scalar("DELETE FROM links WHERE chat_user = ? RETURNING upn")
            .bind(user.as_str())
            .fetch_optional(conn)
            .await?;
    row.map(|s| Upn::parse(&s).map_err(|e| super::corrupt("links", e)))
        .transpose()
}
