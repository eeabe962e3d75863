//! `approver_status`: whether an approver has taken themself out of routing (`away on`).

use std::collections::BTreeSet;

use sqlx::AnyConnection;

use super::sql::chat_users;
use super::{ts, StoreResult, Timestamp};
use crate::domain::ChatUserId;

/// Sets an approver's away flag.
pub async fn set_away(
    conn: &mut AnyConnection,
    user: &ChatUserId,
    away: bool,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO approver_status (chat_user, away, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (chat_user) DO UPDATE SET away = excluded.away, updated_at = excluded.updated_at",
    )
    .bind(user.as_str())
    .bind(i64::from(away))
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// The approvers who are away.
pub async fn away(conn: &mut AnyConnection) -> StoreResult<BTreeSet<ChatUserId>> {
    let sql = "SELECT chat_user FROM approver_status WHERE away = 1";
    Ok(chat_users(conn, sql, &[]).await?.into_iter().collect())
}
