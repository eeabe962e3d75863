//! The job worker: claims due jobs with a lease, re-checks the decider's role, executes the
//! stages against the backend, verifies the result by reading it back, and records the outcome.
//!
//! - Assignment jobs that are due together run as one batch (`Tenant::users` and
//!   `Tenant::assign_many`, which a backend may send as one batched call).
//! - A change is read back up to `jobs.verify_attempts` times; one that is still not visible
//!   is never made again: the job turns verify-only and checks later.
//! - Transient failures retry with capped exponential backoff and jitter; permanent ones fail
//!   the request and tell the requester and the approver.
//! - A purchase that waits for a person (manual mode) becomes a task for the billing approvers,
//!   re-checked every minute and reminded after `remind_after`.
//! - After a batch in which a job succeeded, the seats are compared with the seat alerts'
//!   thresholds, still under the job lock.
//!
//! [`Worker`] holds what only the worker uses: the purchaser, its id as a lessee, and the job
//! lock. The lock is shared with the intake, which holds the worker still while it plans
//! seats (`SeatPlanning`); the tenant is reached through the shared
//! [`Directory`](super::directory::Directory).

mod assign;
mod claim;
mod manual_task;
mod membership;
mod move_seat;
mod outcome;
mod seat_needed;
mod seats;
mod unassign;
mod verify;

pub(super) use claim::{Claims, Handover};

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use super::alerts::SeatAlerts;
use super::core::Core;
use super::crash::{crash_point, CrashPoint};
use super::directory::{Candidate, Directory};
use super::error::EngineResult;
use crate::domain::{DecisionSource, RoleSet, StageKind, Upn};
use crate::engine::ports::{
    BackendError, DirectoryUser, ErrorKind, Lookup, Purchaser, SeatOrder, Seats,
};
use crate::store::jobs::{Job, JobPayload};
use crate::store::requests::Request;
use crate::store::stages::Stage;
use crate::t;
use crate::texts::Said;

/// Most assignment jobs run together in one batch.
const MAX_BATCH: i64 = 100;
/// How often a purchase waiting for a person is re-checked.
const MANUAL_RECHECK: Duration = Duration::from_secs(60);

/// What one job attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobReport {
    /// Done and verified.
    Succeeded,
    /// Will be tried (or checked) again.
    Retrying(String),
    /// Given up.
    Failed(String),
    /// Nothing to do (the stage was withdrawn meanwhile).
    Skipped,
}

/// One backend call made during an attempt, recorded with the outcome.
#[derive(Clone)]
struct Call {
    operation: &'static str,
    outcome: String,
    backend_ref: Option<String>,
}

#[derive(Clone)]
enum Outcome {
    /// Done and verified, with what to tell people (in each one's language).
    Done(Said),
    /// Made, but the read-back does not show it yet: verify later, never redo.
    Unverified(String),
    /// Waiting for something outside (an order in progress, a person): look again at `after`.
    Wait {
        note: String,
        after: Duration,
    },
    /// A group is applying its licence (or was asked to again): look at `after`, only
    /// verifying from now on; the wait is not a failed attempt.
    Applying {
        note: String,
        after: Duration,
    },
    /// No seat was free for the group's licence (and the membership was taken back): a
    /// purchase stage goes before this one, routed to these approvers.
    NeedsSeat {
        seats: Seats,
        candidates: Vec<Candidate>,
    },
    /// Waiting for a person to buy seats.
    AwaitPerson {
        enabled: i64,
        via_reseller: bool,
    },
    Transient(BackendError),
    Permanent(String),
}

/// An attempt made: the job claimed, what it came to and the calls it made.
type Attempt = (Claimed, Outcome, Vec<Call>);

/// A claimed job with its stage and request.
#[derive(Clone)]
struct Claimed {
    job: Job,
    stage: Stage,
    request: Request,
}

/// One job at a time: purchases must apply in order, and a job's steps never interleave.
/// Shared by the worker and the intake's seat planning.
pub(super) type JobLock = Arc<tokio::sync::Mutex<()>>;

/// The job worker.
pub(super) struct Worker {
    core: Arc<Core>,
    directory: Arc<Directory>,
    purchaser: Arc<dyn Purchaser>,
    /// Held while a batch of jobs runs, and by seat planning.
    job_lock: JobLock,
    /// This process's name as the lessee of its claims, and the claims handed to it.
    handover: Arc<Handover>,
    /// Told when a job succeeded (licences or seats changed).
    alerts: Arc<SeatAlerts>,
    /// Attempts whose outcome could not be stored (the database locked or full), stored
    /// first on the next run while their claim holds.
    unrecorded: tokio::sync::Mutex<Vec<Attempt>>,
}

impl Worker {
    pub(super) fn new(
        core: Arc<Core>,
        directory: Arc<Directory>,
        purchaser: Arc<dyn Purchaser>,
        job_lock: JobLock,
        handover: Arc<Handover>,
        alerts: Arc<SeatAlerts>,
    ) -> Worker {
        Worker {
            core,
            directory,
            purchaser,
            job_lock,
            handover,
            alerts,
            unrecorded: tokio::sync::Mutex::new(Vec::new()),
        }
    }

    /// Start-up recovery: jobs leased by a previous process go back in the queue. Call once,
    /// while holding the instance lock. Every lease goes, this process's too: a claim
    /// handed over before is dropped with it (the job is claimed again from the queue).
    pub(super) async fn recover(&self) -> EngineResult<u64> {
        let mut w = self.core.store().write().await?;
        let n = crate::store::jobs::release_all_leases(w.conn().await?, self.core.now()).await?;
        w.commit().await?;
        self.handover.drop_all();
        if n > 0 {
            tracing::warn!(
                jobs = n,
                "re-queued jobs left running by a previous process"
            );
        }
        Ok(n)
    }

    /// Runs due jobs until none is due; returns how many ran.
    pub(super) async fn run_due_jobs(&self) -> usize {
        let mut ran = 0;
        loop {
            match self.execute_due().await {
                Ok(reports) if reports.is_empty() => break,
                Ok(reports) => ran += reports.len(),
                Err(e) => {
                    tracing::error!(error = %e, "job worker step failed");
                    break;
                }
            }
        }
        ran
    }

    /// Claims and runs the next due job (with the assignment jobs due alongside it, as one
    /// batch); returns the report of the first.
    pub(super) async fn try_execute_job(&self) -> EngineResult<Option<JobReport>> {
        Ok(self.execute_due().await?.into_iter().next())
    }

    async fn execute_due(&self) -> EngineResult<Vec<JobReport>> {
        let _one_at_a_time = self.job_lock.lock().await;
        let mut reports = self.record_unrecorded().await?;
        if !reports.is_empty() {
            return Ok(reports);
        }
        let handed = self.take_handed().await?;
        let claimed = if handed.is_empty() {
            let (claimed, skipped) = self.claim().await?;
            reports = skipped;
            claimed
        } else {
            handed
        };
        if claimed.is_empty() {
            return Ok(reports);
        }
        let span = tracing::info_span!(
            "jobs",
            first_job = claimed[0].job.id,
            request = claimed[0].request.id.0,
            batch = claimed.len()
        );
        let results = self
            .with_heartbeat(&claimed, self.execute(&claimed))
            .instrument(span.clone())
            .await;
        crash_point(CrashPoint::AfterBackendCall);
        let attempts = claimed.into_iter().zip(results);
        let attempts = attempts.map(|(c, (outcome, calls))| (c, outcome, calls));
        reports.extend(self.record_all(attempts.collect(), &span).await?);
        // Still under the job lock, so whoever waits for the jobs to be done (`settle`)
        // finds the seat alert said too.
        if reports.contains(&JobReport::Succeeded) {
            self.alerts.check_now().await;
        }
        Ok(reports)
    }

    /// Runs `work` on `claimed` while renewing their leases every third of `[jobs] lease`
    /// (a heartbeat), so a batch whose backend calls take long is not taken for dead and run
    /// again by another process; a job that proves to be someone else's by now is said in
    /// the log (its claim is checked again when its outcome is stored).
    async fn with_heartbeat<T>(
        &self,
        claimed: &[Claimed],
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let lease = self.core.cfg().jobs.lease;
        let ids: Vec<i64> = claimed.iter().map(|c| c.job.id).collect();
        let beat = async {
            loop {
                tokio::time::sleep(lease / 3).await;
                match self.renew_leases(&ids, lease).await {
                    Ok(n) if n < ids.len() as u64 => tracing::warn!(
                        jobs = ids.len(),
                        renewed = n,
                        "some jobs of this batch are no longer leased to this process"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not renew the jobs' leases"),
                }
            }
        };
        tokio::select! {
            out = work => out,
            never = beat => never,
        }
    }

    async fn renew_leases(&self, ids: &[i64], lease: std::time::Duration) -> EngineResult<u64> {
        let until = self.core.now()
            + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
        let mut w = self.core.store().write().await?;
        let n =
            crate::store::jobs::renew_leases(w.conn().await?, ids, self.handover.lessee(), until)
                .await?;
        w.commit().await?;
        Ok(n)
    }

    async fn execute(&self, claimed: &[Claimed]) -> Vec<(Outcome, Vec<Call>)> {
        let mut results: Vec<(Option<Outcome>, Vec<Call>)> =
            claimed.iter().map(|_| (None, Vec::new())).collect();
        // Read together, right before acting: the deciders' roles, read now (each must still
        // hold the stage's role), and the users to assign (whether they hold it already).
        let mut deciders: Vec<Upn> = Vec::new();
        for c in claimed {
            if let Some(upn) = decider_to_check(&c.stage) {
                if !deciders.contains(upn) {
                    deciders.push(upn.clone());
                }
            }
        }
        let to_assign: Vec<(usize, Upn)> = claimed
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match &c.job.payload {
                JobPayload::Assign { upn } => Some((i, upn.clone())),
                _ => None,
            })
            .collect();
        let found = if deciders.is_empty() && to_assign.is_empty() {
            None
        } else {
            let lookup = Lookup {
                users: to_assign.iter().map(|(_, u)| u.clone()).collect(),
                fresh_roles: deciders.clone(),
                seats: false,
            };
            Some(self.directory.tenant.look_up(&lookup).await)
        };
        let (found_users, found_roles) = match found {
            Some(f) => (f.users, f.roles),
            None => (Vec::new(), Vec::new()),
        };
        let roles: HashMap<Upn, Result<RoleSet, BackendError>> =
            deciders.into_iter().zip(found_roles).collect();
        let mut reported = HashSet::new();
        for (i, c) in claimed.iter().enumerate() {
            if let Some(o) = self.check_decider(&c.stage, &roles, &mut reported, &mut results[i].1)
            {
                results[i].0 = Some(o);
            }
        }
        let assign: Vec<(usize, Upn, Result<DirectoryUser, BackendError>)> = to_assign
            .into_iter()
            .zip(found_users)
            .filter(|((i, _), _)| results[*i].0.is_none())
            .map(|((i, upn), user)| (i, upn, user))
            .collect();
        self.give_licences(claimed, assign, &mut results).await;
        for (i, c) in claimed.iter().enumerate() {
            if results[i].0.is_some() {
                continue;
            }
            let outcome = match &c.job.payload {
                JobPayload::Purchase {
                    target_seats,
                    quantity,
                    billing_cycle,
                    idempotency_key,
                } => {
                    let order = SeatOrder {
                        request: c.request.id,
                        target_seats: *target_seats,
                        quantity: *quantity,
                        billing_cycle: *billing_cycle,
                        idempotency_key: idempotency_key.clone(),
                    };
                    self.execute_purchase(&order, &mut results[i].1).await
                }
                JobPayload::Unassign { upn } => match self.core.cfg().licensing.group() {
                    None => self.execute_unassign(upn, &c.job, &mut results[i].1).await,
                    Some(group) => {
                        self.execute_leave(upn, &c.job, group, &mut results[i].1)
                            .await
                    }
                },
                JobPayload::Move { from, to } => {
                    self.execute_move(c, from, to, &mut results[i].1).await
                }
                JobPayload::Assign { .. } => Outcome::Permanent("assignment not run".into()),
            };
            results[i].0 = Some(outcome);
        }
        results
            .into_iter()
            .map(|(o, calls)| {
                (
                    o.unwrap_or_else(|| Outcome::Permanent("job not run".into())),
                    calls,
                )
            })
            .collect()
    }

    /// Gives the licence to each user of `assign`: assigned in one batch (direct mode), or
    /// through the licensing group one by one (group mode).
    async fn give_licences(
        &self,
        claimed: &[Claimed],
        assign: Vec<(usize, Upn, UserRead)>,
        results: &mut [(Option<Outcome>, Vec<Call>)],
    ) {
        match self.core.cfg().licensing.group() {
            _ if assign.is_empty() => {}
            None => self.execute_assignments(claimed, assign, results).await,
            Some(group) => {
                for (i, upn, user) in assign {
                    let job = &claimed[i].job;
                    let outcome = self
                        .execute_join(job, group, &upn, user, &mut results[i].1)
                        .await;
                    results[i].0 = Some(outcome);
                }
            }
        }
    }

    /// None when the decider (if any) still holds one of the stage's roles, as read for
    /// this batch (`roles`); the read is recorded with the first job it served.
    fn check_decider(
        &self,
        stage: &Stage,
        roles: &HashMap<Upn, Result<RoleSet, BackendError>>,
        reported: &mut HashSet<Upn>,
        calls: &mut Vec<Call>,
    ) -> Option<Outcome> {
        let upn = decider_to_check(stage)?;
        let Some(read) = roles.get(upn) else {
            return Some(Outcome::Transient(BackendError::new(
                ErrorKind::Transient,
                t!(self.core.texts(), "outcome.roles_not_read", who = upn),
            )));
        };
        if reported.insert(upn.clone()) {
            calls.push(Call::of("roles", read));
        }
        // A move instead of a purchase was chosen with an assign role (nothing is bought).
        let kind = match stage.decided_via {
            Some(DecisionSource::Reclaim) => StageKind::Assign,
            _ => stage.kind,
        };
        let needed = self
            .core
            .cfg()
            .stage_roles(kind, stage.over_budget.is_some());
        match read {
            Ok(roles) if roles.intersects(needed) => None,
            Ok(_) => Some(Outcome::Permanent(t!(
                self.core.texts(),
                "outcome.role_lost",
                who = upn,
                roles = self.core.role_names(needed)
            ))),
            Err(e) if e.is_transient() => Some(Outcome::Transient(e.clone())),
            Err(e) => Some(Outcome::Permanent(e.message.clone())),
        }
    }

    fn classify(&self, e: BackendError) -> Outcome {
        match e.kind {
            ErrorKind::Transient => Outcome::Transient(e),
            ErrorKind::NoFreeSeat => Outcome::Permanent(t!(
                self.core.texts(),
                "outcome.no_free_seat",
                prefix = self.core.cfg().parser.prefix
            )),
            ErrorKind::InvalidUsageLocation => {
                Outcome::Permanent(t!(self.core.texts(), "outcome.invalid_usage_location"))
            }
            ErrorKind::UserNotFound => {
                Outcome::Permanent(t!(self.core.texts(), "outcome.user_gone"))
            }
            ErrorKind::AccountDisabled => {
                Outcome::Permanent(t!(self.core.texts(), "outcome.account_disabled"))
            }
            ErrorKind::Conflict => Outcome::Permanent(t!(
                self.core.texts(),
                "outcome.conflict",
                detail = e.message
            )),
            ErrorKind::Forbidden => Outcome::Permanent(t!(self.core.texts(), "outcome.forbidden")),
            ErrorKind::Invalid => {
                Outcome::Permanent(t!(self.core.texts(), "outcome.invalid", detail = e.message))
            }
        }
    }
}

/// The decider whose roles a job re-checks before acting: none for self-service stages.
fn decider_to_check(stage: &Stage) -> Option<&Upn> {
    if matches!(
        stage.decided_via,
        Some(DecisionSource::SelfService | DecisionSource::TermEnded)
    ) {
        return None;
    }
    stage.decided_by_upn.as_ref()
}

impl Call {
    fn of<T>(operation: &'static str, r: &Result<T, BackendError>) -> Call {
        match r {
            Ok(_) => Call {
                operation,
                outcome: "ok".into(),
                backend_ref: None,
            },
            Err(e) => Call {
                operation,
                outcome: format!("error: {}", e.message),
                backend_ref: e.backend_ref.clone(),
            },
        }
    }
}

/// What a lookup found for one user.
type UserRead = Result<DirectoryUser, BackendError>;
