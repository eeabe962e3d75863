//! `bot_state`: the few values this database keeps about the bot itself, one typed column
//! each, in its single row.

use sqlx::AnyConnection;

use super::{ts, StoreResult, Timestamp};

/// This database's delivery-key salt: 8 hexadecimal digits made once, at random, so
/// delivery keys differ between databases (a restored or recreated one included).
pub async fn delivery_salt(conn: &mut AnyConnection) -> StoreResult<String> {
    let fresh = format!("{:08x}", rand::random::<u32>());
    sqlx::query(
        "UPDATE bot_state SET delivery_key_salt = $1 WHERE id = 1 AND delivery_key_salt IS NULL",
    )
    .bind(&fresh)
    .execute(&mut *conn)
    .await?;
    let salt: Option<String> =
        sqlx::query_scalar("SELECT delivery_key_salt FROM bot_state WHERE id = 1")
            .fetch_optional(conn)
            .await?
            .flatten();
    salt.ok_or_else(|| super::corrupt("bot_state", "the delivery key salt is missing"))
}

/// Reserves `size` console message ids and returns the first (ids start at 1 and stay
/// unique across restarts).
pub async fn reserve_console_ids(conn: &mut AnyConnection, size: i64) -> StoreResult<i64> {
    let last: i64 = sqlx::query_scalar(
        "UPDATE bot_state SET console_message_ids = console_message_ids + $1 WHERE id = 1 \
         RETURNING console_message_ids",
    )
    .bind(size)
    .fetch_one(conn)
    .await?;
    Ok(last - size + 1)
}

/// Records a health check's write (it proves the database takes writes).
pub async fn record_health_check(conn: &mut AnyConnection, at: Timestamp) -> StoreResult<()> {
    sqlx::query("UPDATE bot_state SET health_checked_at = $1 WHERE id = 1")
        .bind(ts(at))
        .execute(conn)
        .await?;
    Ok(())
}
