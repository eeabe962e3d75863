//! Claiming due jobs: the next due job, with the assignments due alongside it as one batch,
//! each moved to executing in the claim's transaction so a cancel cannot slip in.
//!
//! A claim is made by the worker in a transaction of its own, or by a decision in the
//! transaction that made the jobs due ([`Handover`]): the worker then runs them next without
//! a commit of its own before the first call. A decision's job is claimed as it is queued
//! when no other job is due ([`crate::store::jobs::enqueue_claimed`], one statement where a
//! queue and a claim took two); otherwise the claim takes the oldest due, as the worker's.

use std::sync::{Mutex, PoisonError};

use super::Worker;
use crate::domain::{Actor, AuditAction, RequestId, RequestState, StageKind, StageState};
use crate::engine::core::Core;
use crate::engine::error::EngineResult;
use crate::store::jobs::{self, Job};
use crate::store::requests::{self, Request};
use crate::store::stages::{self, Stage};
use crate::store::{Timestamp, WriteTx};

use super::{Claimed, JobReport, MAX_BATCH};

/// Jobs claimed in another use case's transaction, handed to this process's worker to run
/// next, and the name this process's claims are leased under. Shared by the worker and the
/// decisions.
pub(in crate::engine) struct Handover {
    lessee: String,
    /// The jobs handed over and not yet taken, as claimed (with what the earlier attempts
    /// left, [`crate::store::jobs::Job::change_sent`]), with their stages and requests, and
    /// when their lease ends.
    claims: Mutex<Vec<(Claimed, Timestamp)>>,
}

/// Claims made in a transaction, to [`Handover::hand`] once it is committed, with when their
/// lease ends.
#[derive(Default)]
pub(in crate::engine) struct Claims(Vec<(Claimed, Timestamp)>);

impl Default for Handover {
    fn default() -> Handover {
        Handover {
            lessee: format!("worker-{}-{}", std::process::id(), rand::random::<u32>()),
            claims: Mutex::new(Vec::new()),
        }
    }
}

impl Handover {
    /// A lease for claims made now: this process's name, and when the lease ends.
    pub(in crate::engine) fn lease_from_now(&self, core: &Core) -> (&str, Timestamp) {
        (&self.lessee, core.now() + lease(core))
    }

    /// Claims the due jobs in `w`, a transaction that just made some due, for this process
    /// under `lease` ([`Handover::lease_from_now`]); [`Handover::hand`] them to the worker
    /// once `w` is committed. `known`: a request and its stages as they stand in `w` (what
    /// the decision just moved on), so a job of theirs is claimed without reading them
    /// again. `queued`: the job `w` queued claimed under `lease`
    /// ([`crate::store::jobs::enqueue_claimed`]), taken instead of a claim of its own.
    pub(in crate::engine) async fn claim_in(
        &self,
        core: &Core,
        w: &mut WriteTx<'_>,
        lease: (&str, Timestamp),
        (known, queued): (Option<&(Request, Vec<Stage>)>, Option<Job>),
    ) -> EngineResult<Claims> {
        let claimed = match queued {
            Some(job) => vec![job],
            None => jobs::claim_next(w, lease, core.now(), StageKind::Assign, MAX_BATCH).await?,
        };
        let (claimed, _) = start_claimed(core, w, claimed, known).await?;
        Ok(Claims(claimed.into_iter().map(|c| (c, lease.1)).collect()))
    }

    /// The name this process's claims are leased under.
    pub(super) fn lessee(&self) -> &str {
        &self.lessee
    }

    /// Hands committed claims to the worker.
    pub(in crate::engine) fn hand(&self, claims: Claims) {
        self.held().extend(claims.0);
    }

    /// Forgets every claim handed over (their leases were released).
    pub(super) fn drop_all(&self) {
        self.held().clear();
    }

    fn take(&self) -> Vec<(Claimed, Timestamp)> {
        std::mem::take(&mut *self.held())
    }

    /// The claims held; a panic elsewhere while they were held leaves them as they were.
    fn held(&self) -> std::sync::MutexGuard<'_, Vec<(Claimed, Timestamp)>> {
        self.claims.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Worker {
    /// The jobs handed over, each still held under this process's lease for the attempt it
    /// was claimed for (a claim whose lease ran out was claimed again by now, or will be).
    /// A claim with at least half its lease left is this process's without a look: only
    /// this process runs it until the lease ends, and nothing but the lease's end (or a
    /// start-up, which this process is past) releases it.
    pub(super) async fn take_handed(&self) -> EngineResult<Vec<Claimed>> {
        let handed = self.handover.take();
        let now = self.core.now();
        let fresh = now + lease(&self.core) / 2;
        let mut claimed = Vec::new();
        let mut conn = None;
        for (c, lease_until) in handed {
            if fresh < lease_until {
                claimed.push(c);
                continue;
            }
            let conn = match &mut conn {
                Some(conn) => conn,
                None => conn.insert(self.core.store().read().await?),
            };
            let (job, lessee) = (&c.job, &self.handover.lessee);
            if jobs::held(conn, job.id, lessee, job.attempts, now)
                .await?
                .is_some()
            {
                claimed.push(c);
            }
        }
        Ok(claimed)
    }

    /// Claims the next due job and, when it is an assignment, the other due assignments;
    /// moves their stages to executing in the same transaction, so a cancel cannot slip in.
    pub(super) async fn claim(&self) -> EngineResult<(Vec<Claimed>, Vec<JobReport>)> {
        // Most wakes find nothing due: look with a read first, so they do not hold the
        // writer that decisions and deliveries are waiting for.
        {
            let mut conn = self.core.store().read().await?;
            if !jobs::any_due(&mut conn, self.core.now()).await? {
                return Ok((Vec::new(), Vec::new()));
            }
        }
        let mut w = self.core.store().write().await?;
        // The next due job, and the assignments due with it when it is one: one statement.
        let lease = self.handover.lease_from_now(&self.core);
        let jobs =
            jobs::claim_next(&mut w, lease, self.core.now(), StageKind::Assign, MAX_BATCH).await?;
        let (claimed, skipped) = start_claimed(&self.core, &mut w, jobs, None).await?;
        w.commit().await?;
        Ok((claimed, skipped))
    }
}

/// Starts the jobs claimed in `w`: each stage moved to executing; the jobs whose stage or
/// request is gone or no longer approved fail, reported as skipped. `known`: a request and
/// its stages as they stand in `w`, not read again for a job of theirs.
async fn start_claimed(
    core: &Core,
    w: &mut WriteTx<'_>,
    claimed_jobs: Vec<Job>,
    known: Option<&(Request, Vec<Stage>)>,
) -> EngineResult<(Vec<Claimed>, Vec<JobReport>)> {
    let now = core.now();
    let mut claimed = Vec::new();
    let mut skipped = Vec::new();
    for job in claimed_jobs {
        // The stage with its request's other stages, and the request: known, or one read,
        // and the request's new state follows from them without reading either again.
        let found = match known {
            Some((request, all)) if all.iter().any(|s| s.id == job.stage_id) => {
                Some((request.clone(), all.clone()))
            }
            _ => stages::of_stage(w.conn().await?, job.stage_id).await?,
        };
        let found = found.and_then(|(request, all)| {
            let stage = all.iter().find(|s| s.id == job.stage_id).cloned()?;
            Some((stage, request, all))
        });
        let Some((stage, request, mut all)) = found else {
            jobs::fail(w, job.id, "stage or request missing", now);
            skipped.push(JobReport::Skipped);
            continue;
        };
        // The stage was read in this transaction (with the claim, or handed from the
        // decision that read it here): its state is the one it has.
        let started = match stage.state {
            StageState::Approved => {
                stages::transition_later(w, stage.id, StageState::Approved, StageState::Executing);
                true
            }
            state => state == StageState::Executing,
        };
        if !started {
            jobs::fail(w, job.id, "the stage is no longer approved", now);
            skipped.push(JobReport::Skipped);
            continue;
        }
        core.audit(
            w,
            Some(request.id),
            &Actor::System,
            AuditAction::JobStarted,
            Some(StageState::Approved.as_str()),
            Some(StageState::Executing.as_str()),
            &serde_json::json!({"job": job.id, "attempt": job.attempts,
                "verify_only": job.verify_only, "change_sent": job.change_sent})
            .to_string(),
        )
        .await?;
        for s in all.iter_mut().filter(|s| s.id == stage.id) {
            s.state = StageState::Executing;
        }
        let states: Vec<StageState> = all.iter().map(|s| s.state).collect();
        derive_request_state(core, w, request.id, request.state, &states).await?;
        claimed.push(Claimed {
            job,
            stage,
            request,
        });
    }
    Ok((claimed, skipped))
}

/// How long a claim is leased for (`[jobs] lease`).
fn lease(core: &Core) -> chrono::Duration {
    chrono::Duration::from_std(core.cfg().jobs.lease).unwrap_or(chrono::Duration::minutes(5))
}

/// Sets `request`'s state from its stages, audited when it changes.
pub(super) async fn set_request_state(
    core: &Core,
    tx: &mut WriteTx<'_>,
    request: &Request,
) -> EngineResult<()> {
    if let Some((current, all)) = stages::of_request(tx.conn().await?, request.id).await? {
        let states: Vec<StageState> = all.iter().map(|s| s.state).collect();
        derive_request_state(core, tx, request.id, current.state, &states).await?;
    }
    Ok(())
}

/// Moves request `id` from `current` to the state its stages' `states` (in execution order,
/// as they stand in `tx`) make it, audited when that changes it.
async fn derive_request_state(
    core: &Core,
    tx: &mut WriteTx<'_>,
    id: RequestId,
    current: RequestState,
    states: &[StageState],
) -> EngineResult<()> {
    let new = RequestState::from_stages(states);
    if current != new {
        requests::set_state(tx, id, new, None, core.now());
        core.audit(
            tx,
            Some(id),
            &Actor::System,
            AuditAction::RequestState,
            Some(current.as_str()),
            Some(new.as_str()),
            "",
        )
        .await?;
    }
    Ok(())
}
