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

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tracing::Instrument;

use super::crash::{crash_point, CrashPoint};
use super::{Engine, EngineResult};
use crate::domain::{RequestKind, RoleSet, StageKind, StageState, Upn};
use crate::engine::ports::{
    BackendError, DirectoryUser, ErrorKind, Lookup, PurchaseProgress, SeatOrder, Seats,
};
use crate::store::jobs::{self, Job, JobPayload};
use crate::store::outbox::{self, ChatAction};
use crate::store::requests::{self, Request};
use crate::store::stages::{self, Stage};
use crate::store::{kv, ts};
use crate::t;

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
struct Call {
    operation: &'static str,
    outcome: String,
    backend_ref: Option<String>,
}

enum Outcome {
    /// Done and verified, with what to tell people.
    Done(String),
    /// Made, but the read-back does not show it yet: verify later, never redo.
    Unverified(String),
    /// Waiting for something outside (an order in progress, a person): look again at `after`.
    Wait {
        note: String,
        after: Duration,
    },
    /// Waiting for a person to buy seats.
    AwaitPerson {
        enabled: i64,
        via_reseller: bool,
    },
    Transient(BackendError),
    Permanent(String),
}

/// A claimed job with its stage and request.
struct Claimed {
    job: Job,
    stage: Stage,
    request: Request,
}

impl Engine {
    /// Runs due jobs until none is due; returns how many ran.
    pub async fn run_due_jobs(&self) -> usize {
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
    pub async fn try_execute_job(&self) -> EngineResult<Option<JobReport>> {
        Ok(self.execute_due().await?.into_iter().next())
    }

    async fn execute_due(&self) -> EngineResult<Vec<JobReport>> {
        let _one_at_a_time = self.inner.job_lock.lock().await;
        let (claimed, mut reports) = self.claim().await?;
        if claimed.is_empty() {
            return Ok(reports);
        }
        let span = tracing::info_span!(
            "jobs",
            first_job = claimed[0].job.id,
            request = claimed[0].request.id.0,
            batch = claimed.len()
        );
        let results = self.execute(&claimed).instrument(span.clone()).await;
        crash_point(CrashPoint::AfterBackendCall);
        for (c, (outcome, calls)) in claimed.into_iter().zip(results) {
            let report = self
                .record_outcome(c, outcome, calls)
                .instrument(span.clone())
                .await?;
            reports.push(report);
        }
        Ok(reports)
    }

    /// Claims the next due job and, when it is an assignment, the other due assignments;
    /// moves their stages to executing in the same transaction, so a cancel cannot slip in.
    async fn claim(&self) -> EngineResult<(Vec<Claimed>, Vec<JobReport>)> {
        let now = self.now();
        let lease_until = now
            + chrono::Duration::from_std(self.cfg().jobs.lease)
                .unwrap_or(chrono::Duration::minutes(5));
        let owner = &self.inner.worker_id;
        // Most wakes find nothing due: look with a read first, so they do not hold the
        // writer that decisions and deliveries are waiting for.
        {
            let mut conn = self.store().read().await?;
            if !jobs::any_due(&mut conn, now).await? {
                return Ok((Vec::new(), Vec::new()));
            }
        }
        let mut w = self.store().write().await?;
        let Some(first) = jobs::claim_due(w.conn(), owner, now, lease_until).await? else {
            return Ok((Vec::new(), Vec::new()));
        };
        let mut claimed_jobs = vec![first];
        if claimed_jobs[0].payload.kind() == StageKind::Assign {
            let more = jobs::claim_due_of_kind(
                w.conn(),
                StageKind::Assign,
                owner,
                now,
                lease_until,
                MAX_BATCH - 1,
            )
            .await?;
            claimed_jobs.extend(more);
        }
        let mut claimed = Vec::new();
        let mut skipped = Vec::new();
        for job in claimed_jobs {
            let stage = stages::get(w.conn(), job.stage_id).await?;
            let request = match &stage {
                Some(s) => requests::get(w.conn(), s.request_id).await?,
                None => None,
            };
            let (Some(stage), Some(request)) = (stage, request) else {
                jobs::fail(w.conn(), job.id, "stage or request missing", now).await?;
                skipped.push(JobReport::Skipped);
                continue;
            };
            let started = stages::transition(
                w.conn(),
                stage.id,
                StageState::Approved,
                StageState::Executing,
            )
            .await?
                || stage.state == StageState::Executing;
            if !started {
                jobs::fail(w.conn(), job.id, "the stage is no longer approved", now).await?;
                skipped.push(JobReport::Skipped);
                continue;
            }
            self.audit(
                w.conn(),
                Some(request.id),
                "system",
                "job_started",
                Some("approved"),
                Some("executing"),
                &serde_json::json!({"job": job.id, "attempt": job.attempts, "verify_only": job.verify_only, "change_sent": job.change_sent})
                    .to_string(),
            )
            .await?;
            self.set_request_state(w.conn(), &request).await?;
            claimed.push(Claimed {
                job,
                stage,
                request,
            });
        }
        w.commit().await?;
        Ok((claimed, skipped))
    }

    async fn set_request_state(
        &self,
        conn: &mut sqlx::SqliteConnection,
        request: &Request,
    ) -> EngineResult<()> {
        let states: Vec<StageState> = stages::for_request(conn, request.id)
            .await?
            .iter()
            .map(|s| s.state)
            .collect();
        let new = crate::domain::RequestState::from_stages(&states);
        if let Some(current) = requests::get(conn, request.id).await? {
            if current.state != new {
                requests::set_state(conn, request.id, new, None, self.now()).await?;
                self.audit(
                    conn,
                    Some(request.id),
                    "system",
                    "request_state",
                    Some(current.state.as_str()),
                    Some(new.as_str()),
                    "",
                )
                .await?;
            }
        }
        Ok(())
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
            Some(self.inner.tenant.look_up(&lookup).await)
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
        if !assign.is_empty() {
            self.execute_assignments(claimed, assign, &mut results)
                .await;
        }
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
                JobPayload::Unassign { upn } => {
                    self.execute_unassign(upn, &c.job, &mut results[i].1).await
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
                format!("the roles of {upn} were not read"),
            )));
        };
        if reported.insert(upn.clone()) {
            calls.push(Call::of("roles", read));
        }
        match read {
            Ok(roles)
                if roles
                    .iter()
                    .any(|r| self.cfg().roles_for(stage.kind).contains(r)) =>
            {
                None
            }
            Ok(_) => Some(Outcome::Permanent(t!(
                self.texts(),
                "outcome.role_lost",
                who = upn,
                roles = self.role_names(self.cfg().roles_for(stage.kind))
            ))),
            Err(e) if e.is_transient() => Some(Outcome::Transient(e.clone())),
            Err(e) => Some(Outcome::Permanent(e.message.clone())),
        }
    }

    /// Assigns the licence to every user of `batch` (each with what the lookup just before
    /// found) in one batched call, then reads back.
    async fn execute_assignments(
        &self,
        claimed: &[Claimed],
        batch: Vec<(usize, Upn, Result<DirectoryUser, BackendError>)>,
        results: &mut [(Option<Outcome>, Vec<Call>)],
    ) {
        let sku = self.cfg().sku_part_number.clone();
        let (batch, mut found): (Vec<(usize, Upn)>, Vec<UserRead>) = batch
            .into_iter()
            .map(|(i, upn, user)| ((i, upn), user))
            .unzip();
        for ((i, _), user) in batch.iter().zip(&found) {
            results[*i].1.push(Call::of("get_user", user));
        }
        // An earlier attempt sent the assignment and was cut off: it may be made, and Graph
        // may show it late, so read back before assigning again.
        let cut_off: Vec<usize> = batch
            .iter()
            .enumerate()
            .filter(|(k, (i, _))| {
                let job = &claimed[*i].job;
                job.change_sent
                    && !job.verify_only
                    && found[*k].as_ref().is_ok_and(|u| !u.holds(&sku))
            })
            .map(|(k, _)| k)
            .collect();
        self.read_back_cut_off(&batch, &cut_off, &mut found, results)
            .await;
        let mut to_assign: Vec<(usize, Upn, DirectoryUser, Option<String>)> = Vec::new();
        let mut to_verify: Vec<(usize, Upn, Option<String>)> = Vec::new();
        for ((i, upn), user) in batch.iter().cloned().zip(found) {
            let mut user = match user {
                Ok(u) => u,
                Err(e) => {
                    results[i].0 = Some(self.classify(e));
                    continue;
                }
            };
            if user.holds(&sku) {
                let job = &claimed[i].job;
                // Held before this job acted, unless an earlier attempt may have assigned it.
                results[i].0 = Some(Outcome::Done(if job.verify_only || job.change_sent {
                    t!(self.texts(), "outcome.assigned", upn = upn)
                } else {
                    t!(self.texts(), "outcome.already_held", upn = upn)
                }));
                continue;
            }
            if claimed[i].job.verify_only {
                // The assignment was made on an earlier attempt; only check again.
                to_verify.push((i, upn, None));
                continue;
            }
            if !user.account_enabled {
                results[i].0 = Some(Outcome::Permanent(t!(
                    self.texts(),
                    "policy.disabled",
                    upn = upn
                )));
                continue;
            }
            let mut location_set = None;
            if user.usage_location.is_none() {
                let Some(country) = self.cfg().default_usage_location.clone() else {
                    results[i].0 = Some(Outcome::Permanent(t!(
                        self.texts(),
                        "outcome.no_usage_location",
                        upn = upn
                    )));
                    continue;
                };
                let set = self.inner.tenant.set_usage_location(&user, &country).await;
                results[i].1.push(Call::of("set_usage_location", &set));
                if let Err(e) = set {
                    results[i].0 = Some(self.classify(e));
                    continue;
                }
                location_set = Some(country.to_string());
                user.usage_location = Some(country);
            }
            to_assign.push((i, upn, user, location_set));
        }
        if !to_assign.is_empty() {
            let ids: Vec<i64> = to_assign.iter().map(|(i, ..)| claimed[*i].job.id).collect();
            if let Err(e) = self.mark_change_sent(&ids).await {
                for (i, ..) in to_assign {
                    results[i].0 = Some(Outcome::Transient(e.clone()));
                }
                return;
            }
            let users: Vec<DirectoryUser> =
                to_assign.iter().map(|(_, _, u, _)| u.clone()).collect();
            let outcomes = self.inner.tenant.assign_many(&users).await;
            let size = users.len();
            for ((i, upn, _, location_set), r) in to_assign.into_iter().zip(outcomes) {
                let mut call = Call::of("assign_licence", &r);
                if size > 1 {
                    call.outcome = format!("{} (batch of {size})", call.outcome);
                }
                results[i].1.push(call);
                match r {
                    Ok(()) => to_verify.push((i, upn, location_set)),
                    Err(e) => results[i].0 = Some(self.classify(e)),
                }
            }
        }
        if to_verify.is_empty() {
            return;
        }
        let mut pending = to_verify;
        for round in 0..self.cfg().jobs.verify_attempts.max(1) {
            if round > 0 {
                tokio::time::sleep(self.cfg().jobs.verify_interval).await;
            }
            let upns: Vec<Upn> = pending.iter().map(|(_, u, _)| u.clone()).collect();
            let seen = self.inner.tenant.users(&upns).await;
            let mut still = Vec::new();
            for ((i, upn, location_set), r) in pending.into_iter().zip(seen) {
                results[i].1.push(Call::of("verify_user", &r));
                match r {
                    Ok(u) if u.holds(&sku) => {
                        results[i].0 = Some(Outcome::Done(match location_set {
                            Some(country) => t!(
                                self.texts(),
                                "outcome.assigned_with_location",
                                upn = upn,
                                country = country
                            ),
                            None => t!(self.texts(), "outcome.assigned", upn = upn),
                        }))
                    }
                    Ok(_) => still.push((i, upn, location_set)),
                    Err(e) if e.is_transient() => still.push((i, upn, location_set)),
                    Err(e) => results[i].0 = Some(self.classify(e)),
                }
            }
            pending = still;
            if pending.is_empty() {
                return;
            }
        }
        for (i, _, _) in pending {
            results[i].0 = Some(Outcome::Unverified(
                "the assignment was made but the read-back does not show it yet".into(),
            ));
        }
    }

    /// Records that these jobs are about to send their change, in its own commit, so an
    /// attempt cut off after it reads back before sending again. A failure to record it
    /// (a locked or full database) is transient: nothing has been sent.
    async fn mark_change_sent(&self, ids: &[i64]) -> Result<(), BackendError> {
        let result = async {
            let mut w = self.store().write().await?;
            jobs::mark_change_sent(w.conn(), ids, self.now()).await?;
            w.commit().await
        }
        .await;
        result.map_err(|e| {
            tracing::warn!(error = %e, "could not record a change as sent; not sending it now");
            BackendError::new(
                ErrorKind::Transient,
                format!("could not record the change before sending it: {e}"),
            )
        })
    }

    /// Reads the users at `cut_off` (positions in `batch`) back again, until each shows the
    /// licence or `jobs.verify_attempts` reads (the first included) are done; updates `found`.
    async fn read_back_cut_off(
        &self,
        batch: &[(usize, Upn)],
        cut_off: &[usize],
        found: &mut [Result<DirectoryUser, BackendError>],
        results: &mut [(Option<Outcome>, Vec<Call>)],
    ) {
        let sku = &self.cfg().sku_part_number;
        let mut pending = cut_off.to_vec();
        for _ in 1..self.cfg().jobs.verify_attempts {
            if pending.is_empty() {
                return;
            }
            tokio::time::sleep(self.cfg().jobs.verify_interval).await;
            let upns: Vec<Upn> = pending.iter().map(|k| batch[*k].1.clone()).collect();
            let seen = self.inner.tenant.users(&upns).await;
            let mut still = Vec::new();
            for (k, r) in pending.into_iter().zip(seen) {
                results[batch[k].0].1.push(Call::of("verify_user", &r));
                match r {
                    Ok(u) if u.holds(sku) => found[k] = Ok(u),
                    Ok(u) => {
                        found[k] = Ok(u);
                        still.push(k);
                    }
                    // Keep what the first read said; a later read may still show it.
                    Err(_) => still.push(k),
                }
            }
            pending = still;
        }
        if !pending.is_empty() {
            tracing::warn!(
                users = pending.len(),
                "an assignment sent by a cut-off attempt does not show on read-back; assigning again"
            );
        }
    }

    async fn execute_purchase(&self, order: &SeatOrder, calls: &mut Vec<Call>) -> Outcome {
        if order.quantity < 0 {
            return self.execute_reduction(order, calls).await;
        }
        let progress = self.inner.purchaser.raise_seats(order).await;
        calls.push(Call::of("raise_seats", &progress));
        if let Some(unfinished) = self.unfinished(progress) {
            return unfinished;
        }
        self.verify_seats(order, calls, |s| {
            (s.enabled >= order.target_seats).then(|| {
                t!(
                    self.texts(),
                    "outcome.bought",
                    quantity = order.quantity,
                    enabled = s.enabled
                )
            })
        })
        .await
    }

    /// Lowers the seat count to the order's target, never below the seats in use now.
    async fn execute_reduction(&self, order: &SeatOrder, calls: &mut Vec<Call>) -> Outcome {
        let reduced = |s: &Seats| {
            (s.enabled <= order.target_seats).then(|| {
                t!(
                    self.texts(),
                    "outcome.reduced",
                    quantity = -order.quantity,
                    enabled = s.enabled
                )
            })
        };
        let seats = self.inner.tenant.seats().await;
        calls.push(Call::of("seats", &seats));
        match seats {
            Ok(s) => {
                if let Some(done) = reduced(&s) {
                    return Outcome::Done(done);
                }
                if s.consumed > order.target_seats {
                    return Outcome::Permanent(t!(
                        self.texts(),
                        "outcome.reduce_below_use",
                        target = order.target_seats,
                        consumed = s.consumed
                    ));
                }
            }
            Err(e) => return self.classify(e),
        }
        let progress = self.inner.purchaser.lower_seats(order).await;
        calls.push(Call::of("lower_seats", &progress));
        if let Some(unfinished) = self.unfinished(progress) {
            return unfinished;
        }
        self.verify_seats(order, calls, reduced).await
    }

    /// The outcome of a seat change the purchaser has not finished (still in progress, or
    /// handed to a person), or of its failure; None when it is done.
    fn unfinished(&self, progress: Result<PurchaseProgress, BackendError>) -> Option<Outcome> {
        match progress {
            Ok(PurchaseProgress::Done { .. }) => None,
            Ok(PurchaseProgress::InProgress { detail }) => Some(Outcome::Wait {
                note: detail,
                after: self.cfg().jobs.backoff_base.max(Duration::from_secs(30)),
            }),
            Ok(PurchaseProgress::AwaitingPerson {
                enabled,
                via_reseller,
            }) => Some(Outcome::AwaitPerson {
                enabled,
                via_reseller,
            }),
            Err(e) => Some(self.classify(e)),
        }
    }

    /// Reads the seats back (up to `jobs.verify_attempts` times) until `shows` finds the
    /// order carried out and says so. Re-applying the same absolute target is harmless, so a
    /// change that does not show yet simply runs again later.
    async fn verify_seats(
        &self,
        order: &SeatOrder,
        calls: &mut Vec<Call>,
        shows: impl Fn(&Seats) -> Option<String>,
    ) -> Outcome {
        for round in 0..self.cfg().jobs.verify_attempts.max(1) {
            if round > 0 {
                tokio::time::sleep(self.cfg().jobs.verify_interval).await;
            }
            let seats = self.inner.tenant.seats().await;
            calls.push(Call::of("seats", &seats));
            match seats {
                Ok(s) => {
                    if let Some(done) = shows(&s) {
                        return Outcome::Done(done);
                    }
                }
                Err(e) if e.is_transient() => {}
                Err(e) => return self.classify(e),
            }
        }
        Outcome::Transient(BackendError::new(
            ErrorKind::Transient,
            format!(
                "the seat count does not show {} seats yet",
                order.target_seats
            ),
        ))
    }

    async fn execute_unassign(&self, upn: &Upn, job: &Job, calls: &mut Vec<Call>) -> Outcome {
        let sku = self.cfg().sku_part_number.clone();
        let verify_only = job.verify_only;
        let user = self.inner.tenant.user(upn).await;
        calls.push(Call::of("get_user", &user));
        let mut user = match user {
            Ok(u) => u,
            Err(e) => return self.classify(e),
        };
        if job.change_sent && !verify_only && user.holds(&sku) {
            // An earlier attempt sent the removal and was cut off: read back first.
            for _ in 1..self.cfg().jobs.verify_attempts {
                tokio::time::sleep(self.cfg().jobs.verify_interval).await;
                let check = self.inner.tenant.user(upn).await;
                calls.push(Call::of("verify_user", &check));
                if let Ok(u) = check {
                    user = u;
                    if !user.holds(&sku) {
                        break;
                    }
                }
            }
        }
        if !user.holds(&sku) {
            return Outcome::Done(if verify_only || job.change_sent {
                t!(self.texts(), "outcome.removed", upn = upn)
            } else {
                t!(self.texts(), "outcome.not_held", upn = upn)
            });
        }
        if !verify_only {
            if let Err(e) = self.mark_change_sent(&[job.id]).await {
                return Outcome::Transient(e);
            }
            let removed = self.inner.tenant.unassign(&user).await;
            calls.push(Call::of("remove_licence", &removed));
            if let Err(e) = removed {
                return self.classify(e);
            }
        }
        for round in 0..self.cfg().jobs.verify_attempts.max(1) {
            if round > 0 {
                tokio::time::sleep(self.cfg().jobs.verify_interval).await;
            }
            let check = self.inner.tenant.user(upn).await;
            calls.push(Call::of("verify_user", &check));
            match check {
                Ok(u) if !u.holds(&sku) => {
                    return Outcome::Done(t!(self.texts(), "outcome.removed", upn = upn))
                }
                Ok(_) => {}
                Err(e) if e.is_transient() => {}
                Err(e) => return self.classify(e),
            }
        }
        Outcome::Unverified("the removal was made but the read-back still shows the licence".into())
    }

    fn classify(&self, e: BackendError) -> Outcome {
        match e.kind {
            ErrorKind::Transient => Outcome::Transient(e),
            ErrorKind::NoFreeSeat => Outcome::Permanent(t!(
                self.texts(),
                "outcome.no_free_seat",
                prefix = self.cfg().parser.prefix
            )),
            ErrorKind::InvalidUsageLocation => {
                Outcome::Permanent(t!(self.texts(), "outcome.invalid_usage_location"))
            }
            ErrorKind::UserNotFound => Outcome::Permanent(t!(self.texts(), "outcome.user_gone")),
            ErrorKind::AccountDisabled => {
                Outcome::Permanent(t!(self.texts(), "outcome.account_disabled"))
            }
            ErrorKind::Conflict => {
                Outcome::Permanent(t!(self.texts(), "outcome.conflict", detail = e.message))
            }
            ErrorKind::Forbidden => Outcome::Permanent(t!(self.texts(), "outcome.forbidden")),
            ErrorKind::Invalid => {
                Outcome::Permanent(t!(self.texts(), "outcome.invalid", detail = e.message))
            }
        }
    }

    /// The delay before attempt `attempts + 1`: exponential from the base, capped, with
    /// jitter (50–100 %), and never shorter than what the backend asked for.
    fn backoff(&self, attempts: i64, retry_after: Option<Duration>) -> Duration {
        let p = &self.cfg().jobs;
        let exp = attempts.clamp(1, 30) as u32 - 1;
        let raw = p
            .backoff_base
            .saturating_mul(2u32.saturating_pow(exp))
            .min(p.backoff_max);
        let jitter = 0.5 + rand::random::<f64>() * 0.5;
        let d = raw.mul_f64(jitter);
        match retry_after {
            Some(ra) if ra > d => ra,
            _ => d,
        }
    }

    async fn record_outcome(
        &self,
        c: Claimed,
        outcome: Outcome,
        calls: Vec<Call>,
    ) -> EngineResult<JobReport> {
        let Claimed {
            job,
            stage,
            request,
        } = c;
        let now = self.now();
        let at = |d: Duration| {
            now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::minutes(1))
        };
        let mut w = self.store().write().await?;
        for call in &calls {
            jobs::record_call(
                w.conn(),
                Some(job.id),
                Some(request.id.0),
                call.operation,
                &call.outcome,
                None,
                call.backend_ref.as_deref(),
                now,
            )
            .await?;
        }
        let attempts_left = job.attempts < self.cfg().jobs.max_attempts;
        let report = match outcome {
            Outcome::Done(detail) => {
                jobs::succeed(w.conn(), job.id, now).await?;
                stages::transition(
                    w.conn(),
                    stage.id,
                    StageState::Executing,
                    StageState::Completed,
                )
                .await?;
                self.audit(
                    w.conn(),
                    Some(request.id),
                    "system",
                    "stage_completed",
                    Some("executing"),
                    Some("completed"),
                    &detail,
                )
                .await?;
                let status = t!(self.texts(), "status.done", detail = detail);
                self.edit_stage(w.conn(), &stage, &status).await?;
                self.after_stage_completed(w.conn(), &stage, &request, &detail)
                    .await?;
                tracing::info!(job = job.id, request = request.id.0, "job succeeded");
                JobReport::Succeeded
            }
            Outcome::Wait { note, after } => {
                jobs::wait_until(w.conn(), job.id, &note, at(after), now).await?;
                self.back_to_approved(w.conn(), &stage, &request, "job_waiting", &note)
                    .await?;
                JobReport::Retrying(note)
            }
            Outcome::AwaitPerson {
                enabled,
                via_reseller,
            } => {
                let note = format!("waiting for a person to buy seats ({enabled} enabled now)");
                jobs::wait_until(w.conn(), job.id, &note, at(MANUAL_RECHECK), now).await?;
                self.back_to_approved(
                    w.conn(),
                    &stage,
                    &request,
                    "purchase_awaiting_person",
                    &note,
                )
                .await?;
                self.purchase_task(w.conn(), &job, &stage, &request, enabled, via_reseller)
                    .await?;
                JobReport::Retrying(note)
            }
            Outcome::Unverified(note) if attempts_left => {
                let delay = self.backoff(job.attempts, None);
                jobs::verify_later(w.conn(), job.id, &note, at(delay), now).await?;
                self.back_to_approved(w.conn(), &stage, &request, "job_unverified", &note)
                    .await?;
                tracing::warn!(
                    job = job.id,
                    "change not visible on read-back yet; will only verify from now on"
                );
                JobReport::Retrying(note)
            }
            Outcome::Unverified(note) => {
                let why = t!(
                    self.texts(),
                    "outcome.unverified",
                    attempts = job.attempts,
                    detail = note
                );
                self.fail_job(w.conn(), &job, &stage, &request, &why)
                    .await?;
                JobReport::Failed(why)
            }
            Outcome::Transient(e) if attempts_left => {
                let delay = self.backoff(job.attempts, e.retry_after);
                // A change call that failed without a definite refusal may have been carried
                // out; a refusal naming a Retry-After (429, 503) was not.
                let sent_now = calls
                    .iter()
                    .any(|c| matches!(c.operation, "assign_licence" | "remove_licence"));
                let may_be_made = job.change_sent || (sent_now && e.retry_after.is_none());
                jobs::retry_at(w.conn(), job.id, &e.message, at(delay), now, may_be_made).await?;
                let detail = serde_json::json!({"attempt": job.attempts, "error": e.message,
                    "backend_ref": e.backend_ref, "retry_in_ms": delay.as_millis() as u64})
                .to_string();
                self.back_to_approved(w.conn(), &stage, &request, "job_retry_scheduled", &detail)
                    .await?;
                tracing::warn!(job = job.id, attempt = job.attempts, error = %e, "job attempt failed; will retry");
                JobReport::Retrying(e.message)
            }
            Outcome::Transient(e) => {
                let why = t!(
                    self.texts(),
                    "outcome.gave_up",
                    attempts = job.attempts,
                    error = e.message
                );
                self.fail_job(w.conn(), &job, &stage, &request, &why)
                    .await?;
                JobReport::Failed(why)
            }
            Outcome::Permanent(why) => {
                self.fail_job(w.conn(), &job, &stage, &request, &why)
                    .await?;
                JobReport::Failed(why)
            }
        };
        w.commit().await?;
        crash_point(CrashPoint::AfterOutcomeStored);
        self.wake();
        Ok(report)
    }

    async fn back_to_approved(
        &self,
        conn: &mut sqlx::SqliteConnection,
        stage: &Stage,
        request: &Request,
        action: &str,
        detail: &str,
    ) -> EngineResult<()> {
        stages::transition(conn, stage.id, StageState::Executing, StageState::Approved).await?;
        self.audit(conn, Some(request.id), "system", action, None, None, detail)
            .await?;
        self.set_request_state(conn, request).await
    }

    /// Hands a purchase to the billing approvers the first time, and reminds them after
    /// `remind_after` while the seats are not there.
    async fn purchase_task(
        &self,
        conn: &mut sqlx::SqliteConnection,
        job: &Job,
        stage: &Stage,
        request: &Request,
        enabled: i64,
        via_reseller: bool,
    ) -> EngineResult<()> {
        let JobPayload::Purchase {
            target_seats,
            quantity,
            billing_cycle,
            ..
        } = &job.payload
        else {
            return Ok(());
        };
        let now = self.now();
        let key = format!("purchase_task:{}", job.id);
        let last = kv::get(conn, &key).await?;
        let remind = self.cfg().remind_after;
        let due_reminder = match &last {
            None => false,
            Some(t) => crate::store::parse_ts("kv", t)
                .map(|t| (now - t).to_std().unwrap_or_default() >= remind)
                .unwrap_or(true),
        };
        if last.is_some() && !due_reminder {
            return Ok(());
        }
        let candidates = self.candidates(true).await?;
        let billing: Vec<_> = candidates
            .iter()
            .filter(|c| {
                c.roles
                    .iter()
                    .any(|r| self.cfg().purchase_roles.contains(r))
            })
            .map(|c| c.approver.chat_user.clone())
            .collect();
        let who = self.mentions(&billing);
        let how = if via_reseller {
            t!(self.texts(), "purchase.how_reseller")
        } else {
            t!(
                self.texts(),
                "purchase.how_admin_center",
                target = target_seats
            )
        };
        let text = if last.is_none() && *quantity < 0 {
            t!(
                self.texts(),
                "purchase.reduce_task",
                who = who,
                id = request.id,
                quantity = -quantity,
                target = target_seats,
                enabled = enabled,
                how = how,
                prefix = self.cfg().parser.prefix,
                number = request.id.0
            )
        } else if last.is_none() {
            t!(
                self.texts(),
                "purchase.task",
                who = who,
                id = request.id,
                quantity = quantity,
                cycle = self.cycle_word(*billing_cycle),
                target = target_seats,
                enabled = enabled,
                how = how,
                prefix = self.cfg().parser.prefix,
                number = request.id.0
            )
        } else {
            t!(
                self.texts(),
                "purchase.task_reminder",
                who = who,
                id = request.id,
                enabled = enabled,
                target = target_seats,
                prefix = self.cfg().parser.prefix,
                number = request.id.0
            )
        };
        outbox::push(
            conn,
            &ChatAction::Send {
                channel: self.cfg().approvals_channel.clone(),
                content: text,
                reply_to: stage.approval_message.clone(),
                stage: None,
                mentions: billing.clone(),
            },
            now,
        )
        .await?;
        kv::set(conn, &key, &ts(now)).await?;
        self.audit(
            conn,
            Some(request.id),
            "system",
            if last.is_none() {
                "purchase_task_posted"
            } else {
                "purchase_task_reminded"
            },
            None,
            None,
            &serde_json::json!({"to": billing, "target": target_seats, "enabled": enabled})
                .to_string(),
        )
        .await?;
        Ok(())
    }

    async fn fail_job(
        &self,
        conn: &mut sqlx::SqliteConnection,
        job: &Job,
        stage: &Stage,
        request: &Request,
        why: &str,
    ) -> EngineResult<()> {
        let now = self.now();
        jobs::fail(conn, job.id, why, now).await?;
        stages::transition(conn, stage.id, StageState::Executing, StageState::Failed).await?;
        self.audit(
            conn,
            Some(request.id),
            "system",
            "stage_failed",
            Some("executing"),
            Some("failed"),
            why,
        )
        .await?;
        let status = t!(self.texts(), "status.failed", reason = why);
        self.edit_stage(conn, stage, &status).await?;
        for s in self
            .close_stages(conn, request.id, StageState::Cancelled, why, "system")
            .await?
        {
            let status = t!(self.texts(), "status.cancelled_failed");
            self.edit_stage(conn, &s, &status).await?;
        }
        self.finish_request(conn, request.id, why, "system").await?;
        if let Some(approver) = &stage.decided_by {
            if approver != &request.requester {
                let text = t!(
                    self.texts(),
                    "tell.approver_failed",
                    id = request.id,
                    reason = why
                );
                self.tell_user(conn, approver, &text).await?;
            }
        }
        tracing::warn!(
            job = job.id,
            request = request.id.0,
            reason = why,
            "job failed"
        );
        Ok(())
    }

    async fn after_stage_completed(
        &self,
        conn: &mut sqlx::SqliteConnection,
        stage: &Stage,
        request: &Request,
        detail: &str,
    ) -> EngineResult<()> {
        let Some(now_request) = self.advance(conn, request.id, None, "system").await? else {
            return Ok(());
        };
        // Requests waiting on this purchase can go on now.
        if stage.kind == StageKind::Purchase {
            for dep in stages::dependents(conn, stage.id).await? {
                if dep.request_id != request.id {
                    self.advance(conn, dep.request_id, None, "system").await?;
                }
            }
        }
        if now_request.state == crate::domain::RequestState::Completed {
            let text = match request.kind {
                RequestKind::Assign => t!(
                    self.texts(),
                    "tell.completed_assign",
                    id = request.id,
                    detail = detail
                ),
                RequestKind::Purchase => t!(
                    self.texts(),
                    "tell.completed_purchase",
                    id = request.id,
                    detail = detail
                ),
                RequestKind::Release | RequestKind::Revoke => t!(
                    self.texts(),
                    "tell.completed_removal",
                    id = request.id,
                    detail = detail
                ),
            };
            requests::set_state(
                conn,
                request.id,
                now_request.state,
                Some(detail),
                self.now(),
            )
            .await?;
            self.tell_requester(conn, &now_request, &text).await?;
            if matches!(request.kind, RequestKind::Release | RequestKind::Revoke) {
                self.tell_former_holders(conn, &now_request).await?;
            }
        } else if stage.kind == StageKind::Purchase
            && stages::for_request(conn, request.id)
                .await?
                .iter()
                .any(|s| s.state == StageState::Pending)
        {
            let text = t!(
                self.texts(),
                "tell.purchase_done_waiting",
                id = request.id,
                detail = detail
            );
            self.tell_requester(conn, &now_request, &text).await?;
        }
        Ok(())
    }
}

/// The decider whose roles a job re-checks before acting: none for self-service stages.
fn decider_to_check(stage: &Stage) -> Option<&Upn> {
    if stage.decision_note.as_deref() == Some(super::requests::SELF_SERVICE) {
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
