//! `leases`: leadership among instances sharing one database. A lease is held by one holder
//! until a time; the holder renews it before then, and anyone may take it once it has run
//! out. Its token (the fencing token) grows by one whenever the lease changes hands, so what
//! a former holder does with its old token is refused.

use sqlx::AnyConnection;

use super::{ts, StoreError, StoreResult, Timestamp};

/// The lease of the instance that holds the Discord gateway and talks to chat.
pub const GATEWAY: &str = "gateway";

/// A lease as held: by whom, and with which fencing token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The lease's name.
    pub name: &'static str,
    /// The holder (one process: host, process id and a random part).
    pub holder: String,
    /// The fencing token it holds the lease with.
    pub token: i64,
}

/// Takes or renews the lease `name` for `holder` until `until`: taken when free or run out
/// at `now` (with a new token), renewed when `holder` holds it (same token). `None` while
/// another holder's lease runs.
pub async fn acquire(
    conn: &mut AnyConnection,
    name: &'static str,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> StoreResult<Option<Held>> {
    let token: Option<i64> = sqlx::query_scalar(
        "INSERT INTO leases (name, holder, token, until) VALUES ($1, $2, 1, $4)
         ON CONFLICT (name) DO UPDATE SET
             token = CASE WHEN leases.holder = excluded.holder THEN leases.token
                          ELSE leases.token + 1 END,
             holder = excluded.holder,
             until = excluded.until
         WHERE leases.holder = excluded.holder OR leases.until <= $3
         RETURNING token",
    )
    .bind(name)
    .bind(holder)
    .bind(ts(now))
    .bind(ts(until))
    .fetch_optional(conn)
    .await?;
    Ok(token.map(|token| Held {
        name,
        holder: holder.to_string(),
        token,
    }))
}

/// Renews `held` until `until`, if it is still held with its token: `false` when the lease
/// was taken by another holder (the token moved on) in the meantime.
pub async fn renew(conn: &mut AnyConnection, held: &Held, until: Timestamp) -> StoreResult<bool> {
    let done =
        sqlx::query("UPDATE leases SET until = $1 WHERE name = $2 AND holder = $3 AND token = $4")
            .bind(ts(until))
            .bind(held.name)
            .bind(held.holder.as_str())
            .bind(held.token)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives `held` up at `now` (a clean stop), so a standby need not wait for it to run out:
/// the lease runs out now (nothing when it was taken over meanwhile).
pub async fn release(conn: &mut AnyConnection, held: &Held, now: Timestamp) -> StoreResult<()> {
    renew(conn, held, now).await.map(|_| ())
}

/// Refuses with [`StoreError::Fenced`] unless `held` still holds its lease at `now`: its
/// token current and its time not run out.
pub async fn check(conn: &mut AnyConnection, held: &Held, now: Timestamp) -> StoreResult<()> {
    let current: Option<(String, i64, String)> =
        sqlx::query_as("SELECT holder, token, until FROM leases WHERE name = $1")
            .bind(held.name)
            .fetch_optional(conn)
            .await?;
    match current {
        Some((holder, token, until))
            if holder == held.holder && token == held.token && until > ts(now) =>
        {
            Ok(())
        }
        _ => Err(StoreError::Fenced {
            lease: held.name,
            token: held.token,
        }),
    }
}
