//! `jobs`: the durable work queue (outbox of backend actions). One job per approved stage;
//! a worker claims it with a lease, so a crashed worker's job is picked up again.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::row::Columns;
use super::sql::{insert_later, update, update_later, Param, Table, Write};
use super::{parse_ts, ts, StoreResult, Timestamp, WriteTx};
use crate::domain::{BillingCycle, StageId, StageKind, Upn};

/// What a job does, fixed when the stage is approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum JobPayload {
    /// Raise the seat count to `target_seats` (absolute, so a retry never buys twice).
    Purchase {
        /// Seat count to reach.
        target_seats: i64,
        /// Seats this purchase adds over the count seen at approval.
        quantity: i64,
        /// Monthly or annual.
        billing_cycle: BillingCycle,
        /// Key the backend uses to recognise a retry of the same order.
        idempotency_key: String,
    },
    /// Assign the managed licence to `upn`.
    Assign {
        /// The directory user.
        upn: Upn,
    },
    /// Remove the managed licence from `upn`.
    Unassign {
        /// The directory user.
        upn: Upn,
    },
    /// Move the managed licence from `from` (who does not use it) to `to`, instead of buying
    /// a seat: executes a purchase stage.
    Move {
        /// Whose licence moves.
        from: Upn,
        /// Who gets it.
        to: Upn,
    },
}

impl JobPayload {
    /// The stage kind this payload executes.
    pub fn kind(&self) -> StageKind {
        match self {
            JobPayload::Purchase { .. } | JobPayload::Move { .. } => StageKind::Purchase,
            JobPayload::Assign { .. } => StageKind::Assign,
            JobPayload::Unassign { .. } => StageKind::Unassign,
        }
    }
}

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for its time.
    Queued,
    /// Claimed by a worker.
    Running,
    /// Done and verified.
    Succeeded,
    /// Given up.
    Failed,
}

impl JobState {
    /// Every state, in a job's order.
    pub const ALL: [JobState; 4] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
    ];

    /// Its word in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }
}

impl std::str::FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "queued" => Ok(JobState::Queued),
            "running" => Ok(JobState::Running),
            "succeeded" => Ok(JobState::Succeeded),
            "failed" => Ok(JobState::Failed),
            other => Err(format!("unknown job state {other:?}")),
        }
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Its id.
    pub id: i64,
    /// The stage it executes.
    pub stage_id: StageId,
    /// What to do.
    pub payload: JobPayload,
    /// Where it is.
    pub state: JobState,
    /// Attempts started so far.
    pub attempts: i64,
    /// Earliest time of the next attempt.
    pub next_attempt_at: Timestamp,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// True once the change was made but not yet seen on read-back: from then on the job only
    /// verifies.
    pub verify_only: bool,
    /// True when an earlier attempt sent the change and does not know what came of it: it was
    /// cut off (the process died, the lease ran out), or the call failed without a definite
    /// refusal (a timeout, a dropped connection, a 5xx without `Retry-After`). The change may
    /// have been made, so it is read back before it is sent again.
    pub change_sent: bool,
    /// When the job last sent its change, if it did.
    pub sent_at: Option<Timestamp>,
    /// How often the job had the person's group licences reprocessed.
    pub reprocesses: i64,
}

const COLUMNS: &str =
    "id, stage_id, payload, state, attempts, next_attempt_at, last_error, phase, change_sent, sent_at, \
     reprocesses";

const JOBS: Table<Job> = Table::new("jobs", COLUMNS, from_row);

fn from_row(c: &Columns<'_>) -> StoreResult<Job> {
    Ok(Job {
        id: c.get("id")?,
        stage_id: StageId(c.get("stage_id")?),
        payload: c.json("payload")?,
        state: c.word("state")?,
        attempts: c.get("attempts")?,
        next_attempt_at: c.at("next_attempt_at")?,
        last_error: c.get("last_error")?,
        verify_only: c.get::<&str>("phase")? == "verify",
        change_sent: c.get::<i64>("change_sent")? != 0,
        sent_at: c.opt_at("sent_at")?,
        reprocesses: c.get("reprocesses")?,
    })
}

/// Queues the job for a stage; a second call for the same stage changes nothing.
pub async fn enqueue(
    tx: &mut WriteTx<'_>,
    stage: StageId,
    payload: &JobPayload,
    at: Timestamp,
) -> StoreResult<bool> {
    let conn = tx.conn_for(&["jobs", "stages"]).await?;
    let json = serde_json::to_string(payload).map_err(|e| super::corrupt("jobs", e))?;
    let done = sqlx::query(
        "INSERT INTO jobs (stage_id, kind, payload, state, next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6) ON CONFLICT (stage_id) DO NOTHING",
    )
    .bind(stage.0)
    .bind(payload.kind().as_str())
    .bind(json)
    .bind(ts(at))
    .bind(ts(at))
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The filter of the jobs due at the time placeholder `at` names: queued and due, or
/// running with an expired lease (a crashed worker's). Every claim and the wake's look use
/// it, each in a statement made once (a `LazyLock`), not on every call.
fn due(at: &str) -> String {
    format!("(state = 'queued' AND next_attempt_at <= {at}) OR (state = 'running' AND lease_until <= {at})")
}

/// Queues the job for a stage and claims it, in one statement, when no other job is due:
/// running, leased to `owner` until `lease_until`, its first attempt counted and recorded
/// as one that may send. That is what [`claim_next`] would do next in the same transaction,
/// the new job being the only one due, with one statement fewer; it serves the transaction
/// that makes a job and runs it next (a decision). None, and nothing changed, when the stage
/// has its job already or another job is due: [`enqueue`] and [`claim_next`] then take the
/// oldest due first, as ever. The job comes back as a claim of it does: no earlier attempt
/// sent anything.
pub async fn enqueue_claimed(
    tx: &mut WriteTx<'_>,
    stage: StageId,
    payload: &JobPayload,
    at: Timestamp,
    (owner, lease_until): (&str, Timestamp),
) -> StoreResult<Option<Job>> {
    let json = serde_json::to_string(payload).map_err(|e| super::corrupt("jobs", e))?;
    static ENQUEUE_CLAIMED: LazyLock<String> = LazyLock::new(|| {
        format!(
            "INSERT INTO jobs (stage_id, kind, payload, state, attempts, lease_owner, lease_until,
                               change_sent, next_attempt_at, created_at, updated_at)
             SELECT $1, $2, $3, 'running', 1, $4, $5, 1, $6, $6, $6
             WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE {})
             ON CONFLICT (stage_id) DO NOTHING
             RETURNING {COLUMNS}",
            due("$6")
        )
    });
    let row = sqlx::query(&ENQUEUE_CLAIMED)
        .bind(stage.0)
        .bind(payload.kind().as_str())
        .bind(json)
        .bind(owner)
        .bind(ts(lease_until))
        .bind(ts(at))
        .fetch_optional(tx.conn_for(&["jobs", "stages"]).await?)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    // Sent by no earlier attempt: the mark set is this attempt's, as `may_send` sets it.
    Ok(Some(Job {
        change_sent: false,
        ..JOBS.read(&row)?
    }))
}

/// Whether any job is due (queued and due, or running with an expired lease): a read, so a
/// worker that wakes for nothing does not take the writer.
pub async fn any_due(conn: &mut AnyConnection, now: Timestamp) -> StoreResult<bool> {
    static ANY_DUE: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE {}) THEN 1 ELSE 0 END",
            due("$1")
        )
    });
    let due: i64 = sqlx::query_scalar(&ANY_DUE)
        .bind(ts(now))
        .fetch_one(conn)
        .await?;
    Ok(due != 0)
}

/// Claims the oldest due job and, when it is of kind `batch`, the other due jobs of that
/// kind with it (to go in one backend call), at most `limit` in all, in one statement:
/// leased to `owner` until `lease_until`, each attempt counted. The oldest comes first, the
/// others follow by id.
pub async fn claim_next(
    tx: &mut WriteTx<'_>,
    (owner, lease_until): (&str, Timestamp),
    now: Timestamp,
    batch: StageKind,
    limit: i64,
) -> StoreResult<Vec<Job>> {
    static CLAIM_NEXT: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH due AS (SELECT id, kind, next_attempt_at FROM jobs WHERE {}),
                  oldest AS (SELECT id, kind FROM due ORDER BY next_attempt_at, id LIMIT 1)
             UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2,
                             attempts = attempts + 1, updated_at = $3
             WHERE id IN (SELECT id FROM due
                          WHERE id = (SELECT id FROM oldest)
                             OR (kind = $4 AND (SELECT kind FROM oldest) = $4)
                          ORDER BY next_attempt_at, id LIMIT $5)
             RETURNING {COLUMNS}",
            due("$3")
        )
    });
    let rows = sqlx::query(&CLAIM_NEXT)
        .bind(owner)
        .bind(ts(lease_until))
        .bind(ts(now))
        .bind(batch.as_str())
        .bind(limit)
        .fetch_all(tx.conn_for(&["jobs"]).await?)
        .await?;
    let mut jobs = rows
        .iter()
        .map(|r| JOBS.read(r))
        .collect::<StoreResult<Vec<Job>>>()?;
    jobs.sort_by_key(|j| j.id);
    if let Some(oldest) = jobs
        .iter()
        .enumerate()
        .min_by_key(|(_, j)| (j.next_attempt_at, j.id))
        .map(|(i, _)| i)
    {
        let oldest = jobs.remove(oldest);
        jobs.insert(0, oldest);
    }
    if let Some(write) = may_send(&jobs) {
        tx.defer(write);
    }
    Ok(jobs)
}

/// Records, in the claim's transaction, that the attempts just claimed may send their
/// change (all but the verify-only ones): an attempt cut off after its claim reads back
/// before sending again, and the hot path needs no commit of its own before its call. The
/// jobs handed back keep what the earlier attempts left ([`Job::change_sent`]); an attempt
/// that ends in the queue again writes what it knows ([`Requeue`]).
///
/// The write is returned (none when no attempt may send), to go with the claim's
/// transaction's next statement or its commit; it must mark every one of them.
fn may_send(claimed: &[Job]) -> Option<Write> {
    let ids: Vec<Param<'_>> = claimed
        .iter()
        .filter(|j| !j.verify_only && !j.change_sent)
        .map(|j| j.id.into())
        .collect();
    if ids.is_empty() {
        return None;
    }
    let filter = format!("id IN ({})", vec!["?"; ids.len()].join(", "));
    let write = update_later(
        "claimed jobs marked may-send",
        ("jobs", "change_sent = 1", &filter),
        &ids,
    );
    Some(write.expecting(ids.len() as u64))
}

/// Makes a queued job due now (a person said the awaited thing happened).
pub async fn due_now(conn: &mut AnyConnection, id: i64, now: Timestamp) -> StoreResult<bool> {
    let changed = update(
        conn,
        "jobs",
        "next_attempt_at = ?, updated_at = ?",
        "id = ? AND state = 'queued'",
        &[ts(now).into(), ts(now).into(), id.into()],
    )
    .await?;
    Ok(changed == 1)
}

/// Puts every running job back in the queue (start-up: the previous process is gone).
pub async fn release_all_leases(conn: &mut AnyConnection, now: Timestamp) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, updated_at = $1
         WHERE state = 'running'",
    )
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Records, before the change goes out, when these jobs send it (see [`Job::sent_at`]; a
/// read-back that waits for a group to apply its licences measures from it).
pub async fn mark_change_sent(
    conn: &mut AnyConnection,
    ids: &[i64],
    now: Timestamp,
) -> StoreResult<()> {
    for id in ids {
        let params = [ts(now).into(), ts(now).into(), (*id).into()];
        update(
            &mut *conn,
            "jobs",
            "change_sent = 1, sent_at = ?, updated_at = ?",
            "id = ?",
            &params,
        )
        .await?;
    }
    Ok(())
}

/// Records that the job had the person's group licences reprocessed, now.
pub async fn mark_reprocessed(
    conn: &mut AnyConnection,
    id: i64,
    now: Timestamp,
) -> StoreResult<()> {
    let params = [ts(now).into(), ts(now).into(), id.into()];
    update(
        conn,
        "jobs",
        "reprocesses = reprocesses + 1, sent_at = ?, updated_at = ?",
        "id = ?",
        &params,
    )
    .await?;
    Ok(())
}

/// Records success: held back to go with the transaction's next statement or its commit
/// ([`WriteTx::defer`]), as is [`fail`].
pub fn succeed(tx: &mut WriteTx<'_>, id: i64, now: Timestamp) {
    finish(tx, id, JobState::Succeeded, None, now);
}

/// Records a permanent failure.
pub fn fail(tx: &mut WriteTx<'_>, id: i64, error: &str, now: Timestamp) {
    finish(tx, id, JobState::Failed, Some(error), now);
}

fn finish(tx: &mut WriteTx<'_>, id: i64, state: JobState, error: Option<&str>, now: Timestamp) {
    let set = "state = ?, last_error = COALESCE(?, last_error), lease_owner = NULL, \
               lease_until = NULL, change_sent = 0, updated_at = ?";
    let params = [
        state.as_str().into(),
        error.into(),
        ts(now).into(),
        id.into(),
    ];
    tx.defer(update_later(
        "a job's end",
        ("jobs", set, "id = ?"),
        &params,
    ));
}

/// How a job goes back to the queue.
#[derive(Debug, Clone, Copy)]
pub enum Requeue {
    /// Its change was seen to be made: from now on it only verifies.
    VerifyOnly,
    /// It waits for something outside the bot; the attempt does not count.
    Wait,
    /// Its change is made and applied outside the bot: it waits, and only verifies from now
    /// on; the attempt does not count.
    WaitVerifying,
    /// Its change was taken back; it waits for another stage and runs from the start.
    Hold,
    /// Its attempt failed; it is tried again.
    Retry {
        /// Whether its change may have gone out (see [`Job::change_sent`]).
        change_sent: bool,
    },
}

impl Requeue {
    /// What this way of going back changes besides the queue columns.
    fn also_set(self) -> &'static str {
        match self {
            Requeue::VerifyOnly => "phase = 'verify', ",
            Requeue::Wait => "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, ",
            Requeue::WaitVerifying => {
                "phase = 'verify', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, "
            }
            Requeue::Hold => {
                "phase = 'execute', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, "
            }
            Requeue::Retry { .. } => "",
        }
    }

    fn change_sent(self) -> bool {
        match self {
            Requeue::Retry { change_sent } => change_sent,
            Requeue::VerifyOnly | Requeue::Wait | Requeue::WaitVerifying | Requeue::Hold => false,
        }
    }
}

/// Puts job `id` back in the queue, due at `at`, with `note` as its last error and its lease
/// released. `Retry` counts the attempt; the waits do not (waiting is not failing).
pub async fn requeue(
    conn: &mut AnyConnection,
    id: i64,
    how: Requeue,
    note: &str,
    at: Timestamp,
    now: Timestamp,
) -> StoreResult<()> {
    let set = format!(
        "state = 'queued', {}last_error = ?, next_attempt_at = ?, lease_owner = NULL,
         lease_until = NULL, change_sent = ?, updated_at = ?",
        how.also_set()
    );
    let params = [
        note.into(),
        ts(at).into(),
        how.change_sent().into(),
        ts(now).into(),
        id.into(),
    ];
    update(conn, "jobs", &set, "id = ?", &params).await?;
    Ok(())
}

/// The earliest time a queued job becomes due, if any job is queued.
pub async fn next_due_at(conn: &mut AnyConnection) -> StoreResult<Option<Timestamp>> {
    let at: Option<String> =
        sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM jobs WHERE state = 'queued'")
            .fetch_one(conn)
            .await?;
    at.map(|s| parse_ts("jobs", &s)).transpose()
}

/// The highest seat target of purchase jobs not yet finished.
pub async fn highest_open_purchase_target(conn: &mut AnyConnection) -> StoreResult<Option<i64>> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT payload FROM jobs WHERE kind = 'purchase' AND state IN ('queued', 'running')",
    )
    .fetch_all(conn)
    .await?;
    let mut best = None;
    for raw in rows {
        if let JobPayload::Purchase { target_seats, .. } =
            serde_json::from_str(&raw).map_err(|e| super::corrupt("jobs", e))?
        {
            best = best.max(Some(target_seats));
        }
    }
    Ok(best)
}

/// The job of a stage, if any.
pub async fn for_stage(conn: &mut AnyConnection, stage: StageId) -> StoreResult<Option<Job>> {
    JOBS.first(conn, "WHERE stage_id = ?", &[stage.0.into()])
        .await
}

/// Job `id` when it is running attempt `attempt` under `lessee`'s lease, unexpired at `now`.
pub async fn held(
    conn: &mut AnyConnection,
    id: i64,
    lessee: &str,
    attempt: i64,
    now: Timestamp,
) -> StoreResult<Option<Job>> {
    let rest = "WHERE id = ? AND state = 'running' AND lease_owner = ? AND attempts = ?
                  AND lease_until > ?";
    let params = [id.into(), lessee.into(), attempt.into(), ts(now).into()];
    JOBS.first(conn, rest, &params).await
}

/// Renews the leases of the jobs `ids` that `lessee` is still running until `until` (a
/// heartbeat while their backend calls run); returns how many it renewed: fewer when one was
/// taken over or ended meanwhile.
pub async fn renew_leases(
    conn: &mut AnyConnection,
    ids: &[i64],
    lessee: &str,
    until: Timestamp,
) -> StoreResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let filter = format!(
        "state = 'running' AND lease_owner = ? AND id IN ({})",
        vec!["?"; ids.len()].join(", ")
    );
    let mut params: Vec<Param> = vec![ts(until).into(), lessee.into()];
    params.extend(ids.iter().map(|&id| Param::from(id)));
    update(conn, "jobs", "lease_until = ?", &filter, &params).await
}

/// One backend call and its result, as [`record_calls`] stores it.
#[derive(Debug, Clone, Copy)]
pub struct CallRecord<'a> {
    /// What was called (`assignLicense`, `purchase`, …).
    pub operation: &'a str,
    /// How it ended.
    pub outcome: &'a str,
    /// More about it, when there is more.
    pub detail: Option<&'a str>,
    /// The backend's own reference for it (an order id), when it gave one.
    pub backend_ref: Option<&'a str>,
}

/// Records the backend calls a job (of a request) made, all in one statement: held back to
/// go with the transaction's next statement or its commit ([`WriteTx::defer`]).
pub fn record_calls(
    tx: &mut WriteTx<'_>,
    job: Option<i64>,
    request: Option<i64>,
    calls: &[CallRecord<'_>],
    at: Timestamp,
) {
    let at = ts(at);
    let mut params: Vec<Param> = Vec::with_capacity(calls.len() * 7);
    for call in calls {
        params.extend([
            Param::Int(job),
            Param::Int(request),
            call.operation.into(),
            call.outcome.into(),
            call.detail.into(),
            call.backend_ref.into(),
            at.as_str().into(),
        ]);
    }
    let columns = [
        "job_id",
        "request_id",
        "operation",
        "outcome",
        "detail",
        "backend_ref",
        "at",
    ];
    if let Some(write) = insert_later(
        "a job's backend calls",
        ("backend_calls", &columns),
        &params,
    ) {
        tx.defer(write);
    }
}

/// When the manual purchase task of job `id` was last posted or reminded.
pub async fn task_posted_at(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Timestamp>> {
    let at: Option<String> = sqlx::query_scalar("SELECT task_posted_at FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
    at.map(|t| parse_ts("jobs", &t)).transpose()
}

/// Records that the manual purchase task of job `id` was posted or reminded at `at`.
pub async fn set_task_posted(conn: &mut AnyConnection, id: i64, at: Timestamp) -> StoreResult<()> {
    let params = [ts(at).into(), id.into()];
    update(conn, "jobs", "task_posted_at = ?", "id = ?", &params).await?;
    Ok(())
}
