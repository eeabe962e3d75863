//! `licence_terms`: how long a time-bound licence runs, and how far its end has come (the
//! reminders sent, the release opened), each step claimed by a conditional update.

use sqlx::AnyConnection;

use super::{parse_opt_ts, ts, StoreResult, Timestamp, WriteTx};
use crate::domain::{ChannelRef, ChatUserId, MessageRef, RequestId, Term, Upn};

/// A time-bound licence that runs: given by a completed assignment that is the last word on
/// its holder's licence (no later assignment, release or revoke completed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    /// The assignment (or extension) that gave it.
    pub request: RequestId,
    /// The holder.
    pub upn: Upn,
    /// Who asked for it.
    pub requester: ChatUserId,
    /// Where it was asked.
    pub origin_channel: Option<ChannelRef>,
    /// The message that asked.
    pub origin_message: Option<MessageRef>,
    /// When it ends.
    pub ends_at: Timestamp,
    /// Whether the reminder a week before was sent.
    pub reminded_week: bool,
    /// Whether the reminder a day before was sent.
    pub reminded_day: bool,
}

/// Records the term a new assignment request asks for (and the licence it extends).
pub async fn insert(
    conn: &mut AnyConnection,
    request: RequestId,
    term: Term,
    extends: Option<RequestId>,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO licence_terms (request_id, days, extends) VALUES ($1, $2, $3)")
        .bind(request.0)
        .bind(i64::from(term.days()))
        .bind(extends.map(|r| r.0))
        .execute(conn)
        .await?;
    Ok(())
}

/// [`of_request`] in a write transaction: the writes it holds back stay held unless one
/// changes the terms ([`WriteTx::conn_for`]).
pub async fn of_request_in(
    tx: &mut WriteTx<'_>,
    request: RequestId,
) -> StoreResult<Option<(Term, Option<RequestId>)>> {
    of_request(tx.conn_for(&["licence_terms"]).await?, request).await
}

/// The term a request asked for, and the licence it extends.
pub async fn of_request(
    conn: &mut AnyConnection,
    request: RequestId,
) -> StoreResult<Option<(Term, Option<RequestId>)>> {
    let row: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT days, extends FROM licence_terms WHERE request_id = $1")
            .bind(request.0)
            .fetch_optional(conn)
            .await?;
    row.map(|(days, extends)| {
        let days = u32::try_from(days).map_err(|e| super::corrupt("licence_terms", e))?;
        let term = Term::of_days(days).map_err(|e| super::corrupt("licence_terms", e.0))?;
        Ok((term, extends.map(RequestId)))
    })
    .transpose()
}

/// When the licence `request` gave ends, if it was given and is time-bound.
pub async fn ends_at(
    conn: &mut AnyConnection,
    request: RequestId,
) -> StoreResult<Option<Timestamp>> {
    let at: Option<Option<String>> =
        sqlx::query_scalar("SELECT ends_at FROM licence_terms WHERE request_id = $1")
            .bind(request.0)
            .fetch_optional(conn)
            .await?;
    parse_opt_ts("licence_terms", at.flatten().as_deref())
}

/// Starts the term of the licence `request` gave: it ends at `ends_at`.
pub async fn start(
    conn: &mut AnyConnection,
    request: RequestId,
    ends_at: Timestamp,
) -> StoreResult<()> {
    sqlx::query("UPDATE licence_terms SET ends_at = $1 WHERE request_id = $2 AND ends_at IS NULL")
        .bind(ts(ends_at))
        .bind(request.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// The time-bound licences that run and have not ended, soonest end first. Driven from
/// `licence_terms` (a `CROSS JOIN`, with its condition in WHERE as PostgreSQL wants it,
/// keeps SQLite from walking every request first), each holder's later requests found by
/// `requests_by_target`.
pub async fn running(conn: &mut AnyConnection) -> StoreResult<Vec<Running>> {
    type Row = (
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT r.id, r.target_upn, r.requester, r.origin_channel, r.origin_message, t.ends_at,
                t.reminded_7d_at, t.reminded_1d_at
         FROM licence_terms t CROSS JOIN requests r
         WHERE r.id = t.request_id
           AND r.kind = 'assign' AND r.state = 'completed' AND t.ends_at IS NOT NULL
           AND t.ended_at IS NULL AND r.target_upn IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM requests l
                           WHERE l.target_upn = r.target_upn AND l.id > r.id
                             AND l.state = 'completed'
                             AND l.kind IN ('assign', 'release', 'revoke'))
         ORDER BY t.ends_at, r.id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, upn, requester, channel, message, ends, week, day)| {
            Ok(Running {
                request: RequestId(id),
                upn: Upn::parse(&upn).map_err(|e| super::corrupt("requests", e.0))?,
                requester: ChatUserId(requester),
                origin_channel: channel.map(ChannelRef),
                origin_message: message.map(MessageRef),
                ends_at: super::parse_ts("licence_terms", &ends)?,
                reminded_week: week.is_some(),
                reminded_day: day.is_some(),
            })
        })
        .collect()
}

/// Which reminder before the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminder {
    /// Seven days before.
    Week,
    /// One day before.
    Day,
}

/// Claims a reminder of the licence `request` gave: true when this call marked it sent.
pub async fn claim_reminder(
    conn: &mut AnyConnection,
    request: RequestId,
    which: Reminder,
    now: Timestamp,
) -> StoreResult<bool> {
    let column = match which {
        Reminder::Week => "reminded_7d_at",
        Reminder::Day => "reminded_1d_at",
    };
    let done = sqlx::query(&format!(
        "UPDATE licence_terms SET {column} = $1 WHERE request_id = $2 AND {column} IS NULL"
    ))
    .bind(ts(now))
    .bind(request.0)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims the end of the licence `request` gave: true when this call marked it ended.
pub async fn claim_end(
    conn: &mut AnyConnection,
    request: RequestId,
    now: Timestamp,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE licence_terms SET ended_at = $1 WHERE request_id = $2 AND ended_at IS NULL",
    )
    .bind(ts(now))
    .bind(request.0)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
