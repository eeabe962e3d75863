//! The audit trail for a security team (`licensebot audit export`): every event of a time
//! window, streamed from the database in chain order as one JSON object per line, either as
//! stored ([`Format::Jsonl`], the shape the live sink writes too) or as an OCSF event
//! ([`Format::Ocsf`], see [`ocsf`] for the mapping).
//!
//! Imports: `store` (the events) and `domain`.

pub mod ocsf;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::TryStreamExt;
use sqlx::AnyConnection;

use crate::domain::ParseError;
use crate::store::audit::{self, Record};
use crate::store::{StoreError, Timestamp};

/// How each exported event is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The event as stored, with its request's target: `id`, `at`, `actor`, `action`,
    /// `target`, `request_id`, `before`, `after`, `detail`, `prev_hash`, `hash`.
    Jsonl,
    /// An OCSF 1.x event ([`ocsf::event`]).
    Ocsf,
}

impl FromStr for Format {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "jsonl" => Ok(Format::Jsonl),
            "ocsf" => Ok(Format::Ocsf),
            other => Err(ParseError(format!(
                "`{other}` is not a format; use jsonl or ocsf"
            ))),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Jsonl => "jsonl",
            Format::Ocsf => "ocsf",
        })
    }
}

/// A point in time given on the command line: a day (`2026-05-01`, its start in UTC) or an
/// RFC 3339 time (`2026-05-01T08:00:00+02:00`).
pub fn parse_date(s: &str) -> Result<Timestamp, ParseError> {
    let t = s.trim();
    if let Ok(day) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(t)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            ParseError(format!(
                "`{s}` is not a date; write YYYY-MM-DD or an RFC 3339 time such as \
                 2026-05-01T08:00:00Z"
            ))
        })
}

/// The events to export: from `since` (inclusive) to `until` (exclusive, or no end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    since: Timestamp,
    until: Option<Timestamp>,
}

impl Window {
    /// The window from `since` to `until`; `until` must come after `since`.
    pub fn new(since: Timestamp, until: Option<Timestamp>) -> Result<Window, ParseError> {
        match until {
            Some(u) if u <= since => Err(ParseError(format!(
                "--until ({}) must come after --since ({})",
                crate::store::ts(u),
                crate::store::ts(since)
            ))),
            _ => Ok(Window { since, until }),
        }
    }
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The events could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An event could not be written as JSON.
    #[error("cannot write an event as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// One event as a line of `format` (without the newline).
pub fn line(record: &Record, format: Format) -> Result<String, serde_json::Error> {
    match format {
        Format::Jsonl => serde_json::to_string(record),
        Format::Ocsf => serde_json::to_string(&ocsf::event(record)),
    }
}

/// Writes every event of `window` to `out`, one line each, in chain order, reading them as
/// a stream (memory stays flat however many there are). Returns how many were written.
pub async fn export(
    conn: &mut AnyConnection,
    window: Window,
    format: Format,
    mut out: impl FnMut(&str),
) -> Result<u64, ExportError> {
    let mut records = std::pin::pin!(audit::records_between(conn, window.since, window.until));
    let mut written = 0;
    while let Some(record) = records.try_next().await? {
        out(&line(&record, format)?);
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_its_start_in_utc_and_a_time_keeps_its_offset() {
        let day = parse_date("2026-05-01").expect("a day");
        let time = parse_date("2026-05-01T08:00:00+02:00").expect("a time");

        assert_eq!(crate::store::ts(day), "2026-05-01T00:00:00.000Z");
        assert_eq!(crate::store::ts(time), "2026-05-01T06:00:00.000Z");
    }

    #[test]
    fn a_date_that_is_none_says_how_to_write_one() {
        for bad in ["yesterday", "2026-13-01", "01-05-2026", ""] {
            let e = parse_date(bad).expect_err(bad);
            assert!(e.0.contains("YYYY-MM-DD"), "{e:?}");
        }
    }

    #[test]
    fn a_window_that_ends_before_it_starts_is_refused() {
        let since = parse_date("2026-05-02").expect("since");
        let until = parse_date("2026-05-01").expect("until");

        assert!(Window::new(since, Some(until)).is_err());
        assert!(Window::new(since, Some(since)).is_err());
        assert!(Window::new(until, Some(since)).is_ok());
        assert!(Window::new(since, None).is_ok());
    }

    #[test]
    fn formats_parse_from_their_names_only() {
        assert_eq!("jsonl".parse::<Format>().expect("jsonl"), Format::Jsonl);
        assert_eq!("ocsf".parse::<Format>().expect("ocsf"), Format::Ocsf);
        assert!("json".parse::<Format>().is_err());
    }
}
