//! The seats on one day, as the seat history keeps them and the seat chart draws them.

use chrono::NaiveDate;

/// The seats on one day (UTC): the day's last reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatDay {
    /// The day.
    pub day: NaiveDate,
    /// Seats bought (the subscription's enabled units).
    pub bought: i64,
    /// Seats assigned (consumed units).
    pub assigned: i64,
    /// Requests waiting for a decision then.
    pub pending: i64,
}
