//! The job worker: claims a due job with a lease, re-checks the decider's role, executes the
//! stage against the backend, verifies the result by reading it back, and records the outcome.
//! Transient failures retry with capped exponential backoff and jitter; permanent ones fail the
//! request and tell the requester and the approver.

use std::time::Duration;

use tracing::Instrument;

use super::{Engine, EngineResult};
use crate::backend::{BackendError, ErrorKind, PurchaseProgress, SeatOrder};
use crate::domain::{RequestKind, StageKind, StageState};
use crate::store::jobs::{self, Job, JobPayload};
use crate::store::requests::{self, Request};
use crate::store::stages::{self, Stage};
use crate::t;

/// What one job attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobReport {
    /// Done and verified.
    Succeeded,
    /// Will be tried again.
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
    Done(String),
    Wait(String, Duration),
    Transient(BackendError),
    Permanent(String),
}

impl Engine {
    /// Runs due jobs one after another until none is due; returns how many ran.
    pub async fn run_due_jobs(&self) -> usize {
        let mut ran = 0;
        loop {
            match self.try_execute_job().await {
                Ok(Some(_)) => ran += 1,
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "job worker step failed");
                    break;
                }
            }
        }
        ran
    }

    /// Claims and runs one due job, if there is one.
    pub async fn try_execute_job(&self) -> EngineResult<Option<JobReport>> {
        let _one_at_a_time = self.inner.job_lock.lock().await;
        let now = self.now();
        let lease_until = now
            + chrono::Duration::from_std(self.cfg().jobs.lease)
                .unwrap_or(chrono::Duration::minutes(5));
        let mut w = self.store().write().await?;
        let Some(job) = jobs::claim_due(w.conn(), &self.inner.worker_id, now, lease_until).await?
        else {
            return Ok(None);
        };
        let Some(stage) = stages::get(w.conn(), job.stage_id).await? else {
            jobs::fail(w.conn(), job.id, "stage missing", now).await?;
            w.commit().await?;
            return Ok(Some(JobReport::Skipped));
        };
        let Some(request) = requests::get(w.conn(), stage.request_id).await? else {
            jobs::fail(w.conn(), job.id, "request missing", now).await?;
            w.commit().await?;
            return Ok(Some(JobReport::Skipped));
        };
        // Claim and stage transition commit together, so a cancel cannot slip in between.
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
            w.commit().await?;
            return Ok(Some(JobReport::Skipped));
        }
        let span =
            tracing::info_span!("job", job = job.id, request = request.id.0, kind = %stage.kind);
        self.audit(
            w.conn(),
            Some(request.id),
            "system",
            "job_started",
            Some("approved"),
            Some("executing"),
            &serde_json::json!({"job": job.id, "attempt": job.attempts}).to_string(),
        )
        .await?;
        self.set_request_state(w.conn(), &request).await?;
        w.commit().await?;

        let mut calls = Vec::new();
        let outcome = self
            .execute(&job, &stage, &request, &mut calls)
            .instrument(span.clone())
            .await;
        self.record_outcome(job, stage, request, outcome, calls)
            .instrument(span)
            .await
            .map(Some)
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

    async fn execute(
        &self,
        job: &Job,
        stage: &Stage,
        request: &Request,
        calls: &mut Vec<Call>,
    ) -> Outcome {
        // The decider must still hold the stage's role now, just before acting.
        if let Some(upn) = &stage.decided_by_upn {
            let self_service = stage.decision_note.as_deref() == Some("self_service");
            if !self_service {
                let roles = self.inner.tenant.roles(upn).await;
                calls.push(Call::of("roles", &roles));
                match roles {
                    Ok(roles)
                        if roles
                            .iter()
                            .any(|r| self.cfg().roles_for(stage.kind).contains(r)) => {}
                    Ok(_) => {
                        return Outcome::Permanent(t!(
                            self.texts(),
                            "outcome.role_lost",
                            who = upn,
                            roles = self.role_names(self.cfg().roles_for(stage.kind))
                        ))
                    }
                    Err(e) if e.is_transient() => return Outcome::Transient(e),
                    Err(e) => return Outcome::Permanent(e.message),
                }
            }
        }
        match &job.payload {
            JobPayload::Purchase {
                target_seats,
                quantity,
                billing_cycle,
                idempotency_key,
            } => {
                let order = SeatOrder {
                    request: request.id,
                    target_seats: *target_seats,
                    quantity: *quantity,
                    billing_cycle: *billing_cycle,
                    idempotency_key: idempotency_key.clone(),
                };
                let progress = self.inner.purchaser.raise_seats(&order).await;
                calls.push(Call::of("raise_seats", &progress));
                match progress {
                    Ok(PurchaseProgress::Done { .. }) => {}
                    Ok(PurchaseProgress::InProgress { detail })
                    | Ok(PurchaseProgress::AwaitingPerson { order: detail }) => {
                        return Outcome::Wait(
                            detail,
                            self.cfg().jobs.backoff_base.max(Duration::from_secs(30)),
                        )
                    }
                    Err(e) => return self.classify(e),
                }
                let seats = self.inner.tenant.seats().await;
                calls.push(Call::of("seats", &seats));
                match seats {
                    Ok(s) if s.enabled >= *target_seats => Outcome::Done(t!(
                        self.texts(),
                        "outcome.bought",
                        quantity = quantity,
                        enabled = s.enabled
                    )),
                    Ok(s) => Outcome::Transient(BackendError::new(
                        ErrorKind::Transient,
                        format!(
                            "read-back shows {} seats, expected at least {target_seats}",
                            s.enabled
                        ),
                    )),
                    Err(e) => self.classify(e),
                }
            }
            JobPayload::Assign { upn } => {
                let user = self.inner.tenant.user(upn).await;
                calls.push(Call::of("get_user", &user));
                let mut user = match user {
                    Ok(u) => u,
                    Err(e) => return self.classify(e),
                };
                if user.holds(&self.cfg().sku_part_number) {
                    return Outcome::Done(t!(self.texts(), "outcome.already_held", upn = upn));
                }
                if !user.account_enabled {
                    return Outcome::Permanent(t!(self.texts(), "policy.disabled", upn = upn));
                }
                let mut location_set = None;
                if user.usage_location.is_none() {
                    let Some(country) = self.cfg().default_usage_location.clone() else {
                        return Outcome::Permanent(t!(
                            self.texts(),
                            "outcome.no_usage_location",
                            upn = upn
                        ));
                    };
                    let set = self.inner.tenant.set_usage_location(&user, &country).await;
                    calls.push(Call::of("set_usage_location", &set));
                    if let Err(e) = set {
                        return self.classify(e);
                    }
                    location_set = Some(country.clone());
                    user.usage_location = Some(country);
                }
                let assigned = self.inner.tenant.assign(&user).await;
                calls.push(Call::of("assign_licence", &assigned));
                if let Err(e) = assigned {
                    return self.classify(e);
                }
                let check = self.inner.tenant.user(upn).await;
                calls.push(Call::of("verify_user", &check));
                match check {
                    Ok(u) if u.holds(&self.cfg().sku_part_number) => {
                        Outcome::Done(match location_set {
                            Some(country) => t!(
                                self.texts(),
                                "outcome.assigned_with_location",
                                upn = upn,
                                country = country
                            ),
                            None => t!(self.texts(), "outcome.assigned", upn = upn),
                        })
                    }
                    Ok(_) => Outcome::Transient(BackendError::new(
                        ErrorKind::Transient,
                        "read-back does not show the licence yet",
                    )),
                    Err(e) => self.classify(e),
                }
            }
            JobPayload::Unassign { upn } => {
                let user = self.inner.tenant.user(upn).await;
                calls.push(Call::of("get_user", &user));
                let user = match user {
                    Ok(u) => u,
                    Err(e) => return self.classify(e),
                };
                if !user.holds(&self.cfg().sku_part_number) {
                    return Outcome::Done(t!(self.texts(), "outcome.not_held", upn = upn));
                }
                let removed = self.inner.tenant.unassign(&user).await;
                calls.push(Call::of("remove_licence", &removed));
                if let Err(e) = removed {
                    return self.classify(e);
                }
                let check = self.inner.tenant.user(upn).await;
                calls.push(Call::of("verify_user", &check));
                match check {
                    Ok(u) if !u.holds(&self.cfg().sku_part_number) => {
                        Outcome::Done(t!(self.texts(), "outcome.removed", upn = upn))
                    }
                    Ok(_) => Outcome::Transient(BackendError::new(
                        ErrorKind::Transient,
                        "read-back still shows the licence",
                    )),
                    Err(e) => self.classify(e),
                }
            }
        }
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
        job: Job,
        stage: Stage,
        request: Request,
        outcome: Outcome,
        calls: Vec<Call>,
    ) -> EngineResult<JobReport> {
        let now = self.now();
        let mut w = self.store().write().await?;
        for c in &calls {
            jobs::record_call(
                w.conn(),
                Some(job.id),
                Some(request.id.0),
                c.operation,
                &c.outcome,
                None,
                c.backend_ref.as_deref(),
                now,
            )
            .await?;
        }
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
            Outcome::Wait(detail, delay) => {
                let at =
                    now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::minutes(1));
                jobs::retry_at(w.conn(), job.id, &detail, at, now).await?;
                stages::transition(
                    w.conn(),
                    stage.id,
                    StageState::Executing,
                    StageState::Approved,
                )
                .await?;
                self.audit(
                    w.conn(),
                    Some(request.id),
                    "system",
                    "job_waiting",
                    None,
                    None,
                    &detail,
                )
                .await?;
                self.set_request_state(w.conn(), &request).await?;
                JobReport::Retrying(detail)
            }
            Outcome::Transient(e) if job.attempts < self.cfg().jobs.max_attempts => {
                let delay = self.backoff(job.attempts, e.retry_after);
                let at =
                    now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::minutes(1));
                jobs::retry_at(w.conn(), job.id, &e.message, at, now).await?;
                stages::transition(
                    w.conn(),
                    stage.id,
                    StageState::Executing,
                    StageState::Approved,
                )
                .await?;
                self.audit(
                    w.conn(),
                    Some(request.id),
                    "system",
                    "job_retry_scheduled",
                    None,
                    None,
                    &serde_json::json!({"attempt": job.attempts, "error": e.message, "backend_ref": e.backend_ref,
                                        "retry_in_ms": delay.as_millis() as u64})
                    .to_string(),
                )
                .await?;
                self.set_request_state(w.conn(), &request).await?;
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
        self.wake();
        Ok(report)
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
        self.advance(conn, request.id, None, "system").await?;
        // Requests waiting on this purchase can go on now.
        if stage.kind == StageKind::Purchase {
            for dep in stages::dependents(conn, stage.id).await? {
                if dep.request_id != request.id {
                    self.advance(conn, dep.request_id, None, "system").await?;
                }
            }
        }
        let Some(now_request) = requests::get(conn, request.id).await? else {
            return Ok(());
        };
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
                RequestKind::Release | RequestKind::Revoke => {
                    t!(
                        self.texts(),
                        "tell.completed_removal",
                        id = request.id,
                        detail = detail
                    )
                }
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
