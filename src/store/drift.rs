//! `drift`, `licence_ends` and the drift report (in `bot_state`): what the reconciler found
//! where the bot's records and the tenant differ, and what the records say it compares.

use std::collections::HashSet;

use sqlx::AnyConnection;

use super::sql::json_field;
use super::{parse_opt_ts, parse_ts, ts, Dialect, StoreResult, Timestamp};
use crate::domain::{DriftKind, RequestId, RequestKind, RequestState, Upn};

/// One difference between the bot's records and the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// What kind.
    pub kind: DriftKind,
    /// The person, when it concerns one.
    pub upn: Option<Upn>,
    /// The request, when one is concerned.
    pub request_id: Option<RequestId>,
    /// What differs, in the operator's words.
    pub detail: String,
}

impl Difference {
    /// What makes it the same difference at the next check: its kind, person and request.
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.kind,
            self.upn.as_ref().map(Upn::as_str).unwrap_or("-"),
            self.request_id.map(|r| r.0).unwrap_or(0)
        )
    }
}

/// What recording a check changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Differences not open before.
    pub new: Vec<Difference>,
    /// Open differences the check no longer found.
    pub gone: Vec<Difference>,
}

type Row = (String, Option<String>, Option<i64>, String, String);

fn difference(row: Row) -> StoreResult<(String, Difference)> {
    let (kind, upn, request, detail, key) = row;
    Ok((
        key,
        Difference {
            kind: kind
                .parse()
                .map_err(|e: crate::domain::ParseError| super::corrupt("drift", e))?,
            upn: upn
                .map(|u| Upn::parse(&u).map_err(|e| super::corrupt("drift", e.0)))
                .transpose()?,
            request_id: request.map(RequestId),
            detail,
        },
    ))
}

/// The open differences, oldest first.
pub async fn open(conn: &mut AnyConnection) -> StoreResult<Vec<Difference>> {
    Ok(open_keyed(conn)
        .await?
        .into_iter()
        .map(|(_, d)| d)
        .collect())
}

async fn open_keyed(conn: &mut AnyConnection) -> StoreResult<Vec<(String, Difference)>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT kind, upn, request_id, detail, key FROM drift WHERE resolved_at IS NULL ORDER BY id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(difference).collect()
}

/// Records what a check found: a difference not open is opened, one open is updated (its
/// detail and when it was last seen), and, when the check is `complete` (it did not stop at
/// a bound), one open that it did not find is resolved as gone.
pub async fn record(
    conn: &mut AnyConnection,
    found: &[Difference],
    complete: bool,
    now: Timestamp,
) -> StoreResult<Recorded> {
    let open = open_keyed(&mut *conn).await?;
    let found_keys: HashSet<String> = found.iter().map(Difference::key).collect();
    let open_keys: HashSet<&String> = open.iter().map(|(k, _)| k).collect();
    let mut recorded = Recorded::default();
    for d in found {
        let key = d.key();
        if open_keys.contains(&key) {
            sqlx::query(
                "UPDATE drift SET detail = $1, last_seen = $2 WHERE key = $3 AND resolved_at IS NULL",
            )
            .bind(&d.detail)
            .bind(ts(now))
            .bind(&key)
            .execute(&mut *conn)
            .await?;
        } else {
            insert(&mut *conn, d, now, None).await?;
            recorded.new.push(d.clone());
        }
    }
    for (key, d) in open {
        if complete && !found_keys.contains(&key) {
            sqlx::query(
                "UPDATE drift SET resolved_at = $1, resolution = 'gone' \
                 WHERE key = $2 AND resolved_at IS NULL",
            )
            .bind(ts(now))
            .bind(&key)
            .execute(&mut *conn)
            .await?;
            recorded.gone.push(d);
        }
    }
    Ok(recorded)
}

/// Stores a difference the bot resolved at once by correcting its own records.
pub async fn record_corrected(
    conn: &mut AnyConnection,
    d: &Difference,
    now: Timestamp,
) -> StoreResult<()> {
    insert(conn, d, now, Some(now)).await
}

async fn insert(
    conn: &mut AnyConnection,
    d: &Difference,
    now: Timestamp,
    corrected_at: Option<Timestamp>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO drift (key, kind, upn, request_id, detail, first_seen, last_seen, resolved_at,
                            resolution)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(d.key())
    .bind(d.kind.as_str())
    .bind(d.upn.as_ref().map(Upn::as_str))
    .bind(d.request_id.map(|r| r.0))
    .bind(&d.detail)
    .bind(ts(now))
    .bind(ts(now))
    .bind(corrected_at.map(ts))
    .bind(corrected_at.map(|_| "corrected"))
    .execute(conn)
    .await?;
    Ok(())
}

/// The open differences counted by kind (every kind, zero included).
pub async fn open_counts(conn: &mut AnyConnection) -> StoreResult<Vec<(DriftKind, i64)>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, COUNT(*) FROM drift WHERE resolved_at IS NULL GROUP BY kind")
            .fetch_all(conn)
            .await?;
    Ok(DriftKind::ALL
        .iter()
        .map(|k| {
            let n = rows
                .iter()
                .find(|(w, _)| w == k.as_str())
                .map_or(0, |(_, n)| *n);
            (*k, n)
        })
        .collect())
}

/// The drift report as last posted: its outbox row (for edits), what it said, and when the
/// tenant was last checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The outbox row that posted it.
    pub outbox_id: Option<i64>,
    /// What it says.
    pub content: Option<String>,
    /// When the tenant was last checked.
    pub checked_at: Option<Timestamp>,
}

/// The drift report.
pub async fn report(conn: &mut AnyConnection) -> StoreResult<Report> {
    let row: Option<(Option<i64>, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT drift_outbox_id, drift_report, drift_checked_at FROM bot_state WHERE id = 1",
    )
    .fetch_optional(conn)
    .await?;
    let Some((outbox_id, content, checked)) = row else {
        return Ok(Report::default());
    };
    Ok(Report {
        outbox_id,
        content,
        checked_at: parse_opt_ts("bot_state", checked.as_deref())?,
    })
}

/// Stores the drift report.
pub async fn set_report(conn: &mut AnyConnection, report: &Report) -> StoreResult<()> {
    sqlx::query(
        "UPDATE bot_state SET drift_outbox_id = $1, drift_report = $2, drift_checked_at = $3 WHERE id = 1",
    )
    .bind(report.outbox_id)
    .bind(&report.content)
    .bind(report.checked_at.map(ts))
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that the licence `request` granted is gone from the tenant: the request no longer
/// explains a licence.
pub async fn end_licence(
    conn: &mut AnyConnection,
    request: RequestId,
    upn: &Upn,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO licence_ends (request_id, upn, at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(request.0)
    .bind(upn.as_str())
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// A request about one person's licence, as the records hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceRecord {
    /// The request.
    pub request: RequestId,
    /// Assign, release or revoke.
    pub kind: RequestKind,
    /// Where it stands.
    pub state: RequestState,
    /// The person.
    pub upn: Upn,
    /// When it last changed.
    pub at: Timestamp,
    /// Whether the licence it granted was seen gone (see [`end_licence`]).
    pub ended: bool,
}

/// Every licence request with a target, one person at a time: `visit` gets each person's
/// requests, oldest first, people in UPN order. Read as a stream through `requests_by_target`
/// and never held whole (a store may hold a great many): one person's requests at a time.
/// A UPN is stored lower-case (it is written from a parsed [`Upn`]), so one person's requests
/// come side by side.
pub async fn each_person<F>(conn: &mut AnyConnection, mut visit: F) -> StoreResult<()>
where
    F: FnMut(&[LicenceRecord]),
{
    use futures_util::TryStreamExt;
    let mut rows = sqlx::query_as::<_, (i64, String, String, String, String, i64)>(
        "SELECT r.id, r.kind, r.state, r.target_upn, r.updated_at,
                CASE WHEN EXISTS (SELECT 1 FROM licence_ends e WHERE e.request_id = r.id)
                     THEN 1 ELSE 0 END
         FROM requests r
         WHERE r.kind IN ('assign', 'release', 'revoke') AND r.target_upn IS NOT NULL
         ORDER BY r.target_upn, r.id",
    )
    .fetch(conn);
    let mut person: Vec<LicenceRecord> = Vec::new();
    while let Some((id, kind, state, upn, at, ended)) = rows.try_next().await? {
        let bad = |e: &dyn std::fmt::Display| super::corrupt("requests", e);
        let record = LicenceRecord {
            request: RequestId(id),
            kind: kind.parse().map_err(|e| bad(&e))?,
            state: state.parse().map_err(|e| bad(&e))?,
            upn: Upn::parse(&upn).map_err(|e| bad(&e.0))?,
            at: parse_ts("requests", &at)?,
            ended: ended != 0,
        };
        if person.last().is_some_and(|p| p.upn != record.upn) {
            visit(&person);
            person.clear();
        }
        person.push(record);
    }
    if !person.is_empty() {
        visit(&person);
    }
    Ok(())
}

/// The seat count the bot's last completed seat change left (its request and absolute
/// target), if it made one.
pub async fn last_seat_change(conn: &mut AnyConnection) -> StoreResult<Option<(RequestId, i64)>> {
    let target = json_field(Dialect::of(conn), "j.payload", "target_seats");
    Ok(sqlx::query_as(&format!(
        "SELECT s.request_id, CAST({target} AS BIGINT)
         FROM jobs j JOIN stages s ON s.id = j.stage_id
         WHERE j.kind = 'purchase' AND j.state = 'succeeded' AND {target} IS NOT NULL
         ORDER BY j.updated_at DESC, j.id DESC LIMIT 1"
    ))
    .fetch_optional(conn)
    .await?
    .map(|(r, t): (i64, i64)| (RequestId(r), t)))
}
