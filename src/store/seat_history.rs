//! `seat_history`: the seats as the bot read them, one row a day (UTC), kept for the seat
//! chart. A later reading on the same day replaces the earlier one.

use chrono::NaiveDate;
use sqlx::AnyConnection;

use super::{corrupt, ts, StoreResult, Timestamp};
use crate::domain::SeatDay;

/// Stores a reading of `bought` and `assigned` seats taken at `at`, with the number of
/// requests waiting for a decision now, as its day's row.
pub async fn record(
    conn: &mut AnyConnection,
    at: Timestamp,
    bought: i64,
    assigned: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO seat_history (day, enabled, consumed, pending, read_at)
         VALUES ($1, $2, $3, (SELECT COUNT(*) FROM requests WHERE state = 'pending'), $4)
         ON CONFLICT (day) DO UPDATE SET enabled = excluded.enabled,
                                         consumed = excluded.consumed,
                                         pending = excluded.pending,
                                         read_at = excluded.read_at",
    )
    .bind(at.date_naive().to_string())
    .bind(bought)
    .bind(assigned)
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// The days read from `first` on, oldest first.
pub async fn since(conn: &mut AnyConnection, first: NaiveDate) -> StoreResult<Vec<SeatDay>> {
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT day, enabled, consumed, pending FROM seat_history WHERE day >= $1 ORDER BY day",
    )
    .bind(first.to_string())
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(day, bought, assigned, pending)| {
            Ok(SeatDay {
                day: day
                    .parse()
                    .map_err(|e| corrupt("seat_history", format!("day {day:?}: {e}")))?,
                bought,
                assigned,
                pending,
            })
        })
        .collect()
}
