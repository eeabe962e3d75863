//! `kv`: small named values the bot keeps between runs.

use sqlx::SqliteConnection;

use super::StoreResult;

/// Reads a value.
pub async fn get(conn: &mut SqliteConnection, key: &str) -> StoreResult<Option<String>> {
    Ok(sqlx::query_scalar("SELECT value FROM kv WHERE key = ?")
        .bind(key)
        .fetch_optional(conn)
        .await?)
}

/// Writes a value.
pub async fn set(conn: &mut SqliteConnection, key: &str, value: &str) -> StoreResult<()> {
    sqlx::query("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(conn)
        .await?;
    Ok(())
}

/// Reserves `size` numbers from the counter `key` and returns the first one (counters start
/// at 1). Used for console message ids, which must stay unique across restarts.
pub async fn reserve(conn: &mut SqliteConnection, key: &str, size: i64) -> StoreResult<i64> {
    let current: i64 = get(&mut *conn, key)
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    set(conn, key, &(current + size).to_string()).await?;
    Ok(current + 1)
}
