//! Recording what an attempt came to: the calls made, the job's next state, the stage and
//! request, the audit trail and what people are told, all in one transaction.

use std::time::Duration;

use crate::domain::{RequestKind, StageKind, StageState};
use crate::engine::crash::{crash_point, CrashPoint};
use crate::engine::{Engine, EngineResult};
use crate::store::jobs::{self, Job};
use crate::store::requests::{self, Request};
use crate::store::stages::{self, Stage};
use crate::t;

use super::{Call, Claimed, JobReport, Outcome, MANUAL_RECHECK};

impl Engine {
    pub(super) async fn record_outcome(
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
