//! The seat alert (in `bot_state`): the one message that stands in the approvals channel
//! while the seats cross a threshold of `[alerts]`, which thresholds they crossed when last
//! compared, and when that was.

use sqlx::AnyConnection;

use super::standing::Standing;
use super::{parse_opt_ts, ts, StoreResult, Timestamp};

/// The seat alert as last stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeatAlert {
    /// The standing alert message; none while the seats are fine.
    pub message: Standing,
    /// Whether fewer seats were free than `free_seats_below` at the last comparison.
    pub free_seats: bool,
    /// Whether more than `usage_above_percent` of the seats were in use then.
    pub usage: bool,
    /// When the seats were last compared with the thresholds.
    pub checked_at: Option<Timestamp>,
}

impl SeatAlert {
    /// Each kind of alert with whether it stands, by its metric label.
    pub fn kinds(&self) -> [(&'static str, bool); 2] {
        [("free_seats", self.free_seats), ("usage", self.usage)]
    }
}

type Row = (Option<i64>, Option<String>, i64, i64, Option<String>);

/// The seat alert.
pub async fn get(conn: &mut AnyConnection) -> StoreResult<SeatAlert> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT seat_alert_outbox_id, seat_alert_text, seat_alert_free_seats, seat_alert_usage,
                seat_alert_checked_at
         FROM bot_state WHERE id = 1",
    )
    .fetch_optional(conn)
    .await?;
    let Some((outbox_id, says, free_seats, usage, checked)) = row else {
        return Ok(SeatAlert::default());
    };
    Ok(SeatAlert {
        message: Standing { outbox_id, says },
        free_seats: free_seats != 0,
        usage: usage != 0,
        checked_at: parse_opt_ts("bot_state", checked.as_deref())?,
    })
}

/// Stores the seat alert.
pub async fn set(conn: &mut AnyConnection, alert: &SeatAlert) -> StoreResult<()> {
    sqlx::query(
        "UPDATE bot_state SET seat_alert_outbox_id = $1, seat_alert_text = $2,
                seat_alert_free_seats = $3, seat_alert_usage = $4, seat_alert_checked_at = $5
         WHERE id = 1",
    )
    .bind(alert.message.outbox_id)
    .bind(&alert.message.says)
    .bind(i64::from(alert.free_seats))
    .bind(i64::from(alert.usage))
    .bind(alert.checked_at.map(ts))
    .execute(conn)
    .await?;
    Ok(())
}
