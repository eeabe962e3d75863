//! `reclaim_candidates` and `reclaims`: the seats a purchase stage could take back from
//! people who do not use them, and the moves approvers chose instead of buying.

use sqlx::AnyConnection;

use super::{parse_opt_ts, parse_ts, ts, StoreResult, Timestamp};
use crate::domain::{ChatUserId, RequestId, StageId, Upn};

/// A holder listed on a purchase stage as one whose seat could move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Their place in the list (1 first).
    pub rank: i64,
    /// The holder.
    pub upn: Upn,
    /// Their last sign-in to Microsoft 365, when known and on record.
    pub last_sign_in: Option<Timestamp>,
    /// Their last sign-in to Power BI, when known and on record.
    pub last_power_bi: Option<Timestamp>,
}

/// Stores a purchase stage's candidates, in rank order.
pub async fn set_candidates(
    conn: &mut AnyConnection,
    stage: StageId,
    candidates: &[Candidate],
) -> StoreResult<()> {
    for c in candidates {
        sqlx::query(
            "INSERT INTO reclaim_candidates (stage_id, rank, upn, last_sign_in, last_power_bi)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(stage.0)
        .bind(c.rank)
        .bind(c.upn.as_str())
        .bind(c.last_sign_in.map(ts))
        .bind(c.last_power_bi.map(ts))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A purchase stage's candidates, in rank order.
pub async fn candidates(conn: &mut AnyConnection, stage: StageId) -> StoreResult<Vec<Candidate>> {
    let rows: Vec<(i64, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT rank, upn, last_sign_in, last_power_bi FROM reclaim_candidates
         WHERE stage_id = $1 ORDER BY rank",
    )
    .bind(stage.0)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(rank, upn, general, power_bi)| {
            Ok(Candidate {
                rank,
                upn: Upn::parse(&upn).map_err(|e| super::corrupt("reclaim_candidates", e.0))?,
                last_sign_in: parse_opt_ts("reclaim_candidates", general.as_deref())?,
                last_power_bi: parse_opt_ts("reclaim_candidates", power_bi.as_deref())?,
            })
        })
        .collect()
}

/// Where a reclaim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReclaimState {
    /// The candidate may still keep their licence.
    Waiting,
    /// The candidate kept it: the purchase stage is back.
    Kept,
    /// The grace period is over: the move is being made.
    Moving,
    /// Moved.
    Moved,
    /// Not needed any more (the purchase went ahead, the request ended).
    Cancelled,
}

impl ReclaimState {
    fn word(self) -> &'static str {
        match self {
            ReclaimState::Waiting => "waiting",
            ReclaimState::Kept => "kept",
            ReclaimState::Moving => "moving",
            ReclaimState::Moved => "moved",
            ReclaimState::Cancelled => "cancelled",
        }
    }

    fn from_word(w: &str) -> StoreResult<ReclaimState> {
        [
            ReclaimState::Waiting,
            ReclaimState::Kept,
            ReclaimState::Moving,
            ReclaimState::Moved,
            ReclaimState::Cancelled,
        ]
        .into_iter()
        .find(|s| s.word() == w)
        .ok_or_else(|| super::corrupt("reclaims", format!("unknown state {w:?}")))
    }
}

/// A move an approver chose instead of a purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reclaim {
    /// Its id.
    pub id: i64,
    /// The purchase stage it stands in for.
    pub stage: StageId,
    /// The request the seat is for.
    pub request: RequestId,
    /// Whose licence moves.
    pub candidate: Upn,
    /// Who chose it.
    pub decided_by: ChatUserId,
    /// Their directory user.
    pub decided_by_upn: Option<Upn>,
    /// Where it stands.
    pub state: ReclaimState,
    /// When the grace period ends.
    pub due_at: Timestamp,
}

const COLUMNS: &str =
    "id, stage_id, request_id, candidate_upn, decided_by, decided_by_upn, state, due_at";

type Row = (
    i64,
    i64,
    i64,
    String,
    String,
    Option<String>,
    String,
    String,
);

fn reclaim(row: Row) -> StoreResult<Reclaim> {
    let (id, stage, request, candidate, by, by_upn, state, due) = row;
    let upn = |u: &str| Upn::parse(u).map_err(|e| super::corrupt("reclaims", e.0));
    Ok(Reclaim {
        id,
        stage: StageId(stage),
        request: RequestId(request),
        candidate: upn(&candidate)?,
        decided_by: ChatUserId(by),
        decided_by_upn: by_upn.as_deref().map(upn).transpose()?,
        state: ReclaimState::from_word(&state)?,
        due_at: parse_ts("reclaims", &due)?,
    })
}

/// Starts a reclaim of `candidate`'s licence for `stage`, due at `due`; `None` when one is
/// already open for the stage.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    conn: &mut AnyConnection,
    stage: StageId,
    request: RequestId,
    candidate: &Upn,
    by: &ChatUserId,
    by_upn: Option<&Upn>,
    due: Timestamp,
    now: Timestamp,
) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO reclaims (stage_id, request_id, candidate_upn, decided_by, decided_by_upn,
                               state, due_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'waiting', $6, $7, $8)
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(stage.0)
    .bind(request.0)
    .bind(candidate.as_str())
    .bind(by.as_str())
    .bind(by_upn.map(Upn::as_str))
    .bind(ts(due))
    .bind(ts(now))
    .bind(ts(now))
    .fetch_optional(conn)
    .await?)
}

/// The open reclaim (waiting or moving) of a purchase stage, if any.
pub async fn open_for_stage(
    conn: &mut AnyConnection,
    stage: StageId,
) -> StoreResult<Option<Reclaim>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM reclaims WHERE stage_id = $1 AND state IN ('waiting', 'moving')"
    ))
    .bind(stage.0)
    .fetch_optional(conn)
    .await?;
    row.map(reclaim).transpose()
}

/// The waiting reclaims of a holder's licence.
pub async fn waiting_for(conn: &mut AnyConnection, upn: &Upn) -> StoreResult<Vec<Reclaim>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM reclaims WHERE candidate_upn = $1 AND state = 'waiting' ORDER BY id"
    ))
    .bind(upn.as_str())
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(reclaim).collect()
}

/// The waiting reclaims whose grace period is over.
pub async fn due(conn: &mut AnyConnection, now: Timestamp) -> StoreResult<Vec<Reclaim>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM reclaims WHERE state = 'waiting' AND due_at <= $1 ORDER BY due_at, id"
    ))
    .bind(ts(now))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(reclaim).collect()
}

/// The candidates of a stage who kept their licence.
pub async fn kept(conn: &mut AnyConnection, stage: StageId) -> StoreResult<Vec<Upn>> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT candidate_upn FROM reclaims WHERE stage_id = $1 AND state = 'kept' ORDER BY id",
    )
    .bind(stage.0)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|u| Upn::parse(u).map_err(|e| super::corrupt("reclaims", e.0)))
        .collect()
}

/// Moves a reclaim from one state to another; false when it was no longer in `from`.
pub async fn transition(
    conn: &mut AnyConnection,
    id: i64,
    from: ReclaimState,
    to: ReclaimState,
    now: Timestamp,
) -> StoreResult<bool> {
    let done =
        sqlx::query("UPDATE reclaims SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4")
            .bind(to.word())
            .bind(ts(now))
            .bind(id)
            .bind(from.word())
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}
