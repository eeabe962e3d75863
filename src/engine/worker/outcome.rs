//! Recording what an attempt came to: the calls made, the job's next state, the stage and
//! request, the audit trail and what people are told, all in one transaction.

use std::time::Duration;

use super::Worker;
use crate::domain::{Actor, AuditAction, RequestKind, StageKind, StageState};
use crate::engine::crash::{crash_point, CrashPoint};
use crate::engine::error::EngineResult;
use crate::engine::ports::BackendError;
use crate::store::jobs::{self, Job, JobPayload, Requeue};
use crate::store::requests::{self, Request};
use crate::store::stages::{self, Stage};
use crate::store::terms;
use crate::store::{Timestamp, WriteTx};
use crate::t;
use crate::texts::dates;
use crate::{said, texts::Said};

use tracing::Instrument;

use super::{Attempt, Call, Claimed, JobReport, Outcome, MANUAL_RECHECK};

impl Worker {
    /// Stores the outcomes a run could not store, while this process still holds their
    /// claims (one whose lease ran out is claimed again, and reads back what it finds).
    pub(super) async fn record_unrecorded(&self) -> EngineResult<Vec<JobReport>> {
        let waiting = std::mem::take(&mut *self.unrecorded.lock().await);
        if waiting.is_empty() {
            return Ok(Vec::new());
        }
        let mut held = Vec::new();
        let read = async {
            let mut conn = self.core.store().read().await?;
            let (lessee, now) = (self.handover.lessee(), self.core.now());
            for attempt in &waiting {
                let job = &attempt.0.job;
                held.push(
                    jobs::held(&mut conn, job.id, lessee, job.attempts, now)
                        .await?
                        .is_some(),
                );
            }
            crate::store::StoreResult::Ok(())
        };
        if let Err(e) = read.await {
            self.unrecorded.lock().await.extend(waiting);
            return Err(e.into());
        }
        let still: Vec<Attempt> = waiting
            .into_iter()
            .zip(held)
            .filter_map(|(attempt, held)| held.then_some(attempt))
            .collect();
        self.record_all(still, &tracing::Span::current()).await
    }

    /// Stores each attempt's outcome in turn; from the first that cannot be stored on, the
    /// attempts are kept for the next run (made but not stored: never made again).
    pub(super) async fn record_all(
        &self,
        attempts: Vec<Attempt>,
        parent: &tracing::Span,
    ) -> EngineResult<Vec<JobReport>> {
        let mut reports = Vec::new();
        let mut attempts = attempts.into_iter();
        while let Some((c, outcome, calls)) = attempts.next() {
            let span = tracing::info_span!(
                parent: parent,
                "job",
                job = c.job.id,
                request = c.request.id.0,
                stage = c.stage.seq,
                attempt = c.job.attempts
            );
            let recorded = self
                .record_outcome(c.clone(), outcome.clone(), calls.clone())
                .instrument(span)
                .await;
            match recorded {
                Ok(report) => reports.push(report),
                Err(e) => {
                    let mut unrecorded = self.unrecorded.lock().await;
                    unrecorded.push((c, outcome, calls));
                    unrecorded.extend(attempts);
                    return Err(e);
                }
            }
        }
        Ok(reports)
    }

    pub(super) async fn record_outcome(
        &self,
        c: Claimed,
        outcome: Outcome,
        calls: Vec<Call>,
    ) -> EngineResult<JobReport> {
        let now = self.core.now();
        let mut w = self.core.store().write().await?;
        let records: Vec<jobs::CallRecord<'_>> = calls
            .iter()
            .map(|call| jobs::CallRecord {
                operation: call.operation,
                outcome: &call.outcome,
                detail: None,
                backend_ref: call.backend_ref.as_deref(),
            })
            .collect();
        jobs::record_calls(&mut w, Some(c.job.id), Some(c.request.id.0), &records, now);
        let report = self.apply_outcome(&mut w, &c, outcome, &calls).await?;
        w.commit().await?;
        crash_point(CrashPoint::AfterOutcomeStored);
        self.core.wake();
        Ok(report)
    }

    /// The job's next state for `outcome`, with its stage, request and what people are told.
    async fn apply_outcome(
        &self,
        tx: &mut WriteTx<'_>,
        c: &Claimed,
        outcome: Outcome,
        calls: &[Call],
    ) -> EngineResult<JobReport> {
        let attempts_left = self.core.cfg().jobs.retry.may_try_again(c.job.attempts);
        Ok(match outcome {
            Outcome::Done(detail) => self.job_done(tx, c, detail).await?,
            Outcome::Wait { note, after } => {
                self.requeue(
                    tx,
                    c,
                    Requeue::Wait,
                    self.after(after),
                    AuditAction::JobWaiting,
                    note,
                )
                .await?
            }
            Outcome::Applying { note, after } => {
                self.requeue(
                    tx,
                    c,
                    Requeue::WaitVerifying,
                    self.after(after),
                    AuditAction::JobWaiting,
                    note,
                )
                .await?
            }
            Outcome::NeedsSeat { seats, candidates } => {
                self.job_needs_seat(tx, c, seats, candidates).await?
            }
            Outcome::AwaitPerson {
                enabled,
                via_reseller,
            } => self.job_awaits_person(tx, c, enabled, via_reseller).await?,
            Outcome::Unverified(note) if attempts_left => {
                let delay = self.core.cfg().jobs.retry.delay(c.job.attempts, None);
                tracing::warn!(
                    job = c.job.id,
                    "change not visible on read-back yet; will only verify from now on"
                );
                self.requeue(
                    tx,
                    c,
                    Requeue::VerifyOnly,
                    self.after(delay),
                    AuditAction::JobUnverified,
                    note,
                )
                .await?
            }
            Outcome::Unverified(note) => {
                let why = t!(
                    self.core.texts(),
                    "outcome.unverified",
                    attempts = c.job.attempts,
                    detail = note
                );
                self.fail_job(tx, &c.job, &c.stage, &c.request, &why)
                    .await?;
                JobReport::Failed(why)
            }
            Outcome::Transient(e) if attempts_left => self.job_retries(tx, c, e, calls).await?,
            Outcome::Transient(e) => {
                let why = t!(
                    self.core.texts(),
                    "outcome.gave_up",
                    attempts = c.job.attempts,
                    error = e.message
                );
                self.fail_job(tx, &c.job, &c.stage, &c.request, &why)
                    .await?;
                JobReport::Failed(why)
            }
            Outcome::Permanent(why) => {
                self.fail_job(tx, &c.job, &c.stage, &c.request, &why)
                    .await?;
                JobReport::Failed(why)
            }
        })
    }

    /// The time `d` from now.
    pub(super) fn after(&self, d: Duration) -> chrono::DateTime<chrono::Utc> {
        self.core.now() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::minutes(1))
    }

    /// The change is made and shows: the job succeeds, the stage completes, and the request
    /// goes on (or ends, and its requester is told).
    async fn job_done(
        &self,
        tx: &mut WriteTx<'_>,
        c: &Claimed,
        detail: Said,
    ) -> EngineResult<JobReport> {
        let Claimed {
            job,
            stage,
            request,
        } = c;
        jobs::succeed(tx, job.id, self.core.now());
        self.record_purchase(tx, job, stage).await?;
        // The licence was given: by an assignment, or by a seat moved instead of bought.
        let gives =
            stage.kind == StageKind::Assign || matches!(job.payload, JobPayload::Move { .. });
        let detail = self.start_term(tx, gives, request, detail).await?;
        // Kept in the audit trail in the bot's language (no one is spoken to here).
        let recorded = detail.render(self.core.texts());
        self.end_stage(tx, stage, request, StageState::Completed, &recorded)
            .await?;
        let status = || {
            let texts = self.core.texts();
            t!(texts, "status.done", detail = detail.render(texts))
        };
        self.core.edit_stage(tx, stage, &status).await?;
        if let JobPayload::Move { to, .. } = &job.payload {
            self.move_done(tx, stage, request, to, &detail).await?;
        }
        self.after_stage_completed(tx, stage, request, &detail)
            .await?;
        tracing::info!(job = job.id, request = request.id.0, "job succeeded");
        Ok(JobReport::Succeeded)
    }

    /// A purchase carried out goes into the ledger spend is read from (a seat moved instead
    /// of bought, or a reduction, is no purchase).
    async fn record_purchase(
        &self,
        tx: &mut WriteTx<'_>,
        job: &Job,
        stage: &Stage,
    ) -> EngineResult<()> {
        let quantity = stage.quantity.unwrap_or(0);
        if !matches!(job.payload, JobPayload::Purchase { .. }) || quantity <= 0 {
            return Ok(());
        }
        let purchase = crate::store::governance::Purchase {
            stage: stage.id,
            request: stage.request_id,
            quantity,
            unit_price: stage.unit_price.unwrap_or(0.0),
            cycle: stage
                .billing_cycle
                .unwrap_or(self.core.cfg().default_billing_cycle),
        };
        crate::store::governance::record_purchase(tx.conn().await?, &purchase, self.core.now())
            .await?;
        Ok(())
    }

    /// A seat moved instead of bought: the move gave the requester the licence, so the
    /// request's assignment stage is completed with it (no job of its own), and the holder
    /// is told.
    async fn move_done(
        &self,
        tx: &mut WriteTx<'_>,
        stage: &Stage,
        request: &Request,
        to: &crate::domain::Upn,
        detail: &Said,
    ) -> EngineResult<()> {
        let recorded = detail.render(self.core.texts());
        for s in stages::for_request(tx.conn().await?, request.id).await? {
            if s.kind == StageKind::Assign
                && stages::transition(
                    tx.conn().await?,
                    s.id,
                    StageState::Approved,
                    StageState::Completed,
                )
                .await?
            {
                self.core
                    .audit(
                        tx,
                        Some(request.id),
                        &Actor::System,
                        AuditAction::StageCompleted,
                        Some(StageState::Approved.as_str()),
                        Some(StageState::Completed.as_str()),
                        &recorded,
                    )
                    .await?;
                let status = || {
                    let texts = self.core.texts();
                    t!(texts, "status.done", detail = detail.render(texts))
                };
                self.core.edit_stage(tx, &s, &status).await?;
            }
        }
        crate::engine::reclaim::moved(&self.core, tx, stage, to).await
    }

    /// A time-bound licence starts when its assignment completes: its end is set (an
    /// extension's: its term on from the end of the licence it extends, or from now if that
    /// is later), and what people are told says until when.
    async fn start_term(
        &self,
        tx: &mut WriteTx<'_>,
        gives: bool,
        request: &Request,
        detail: Said,
    ) -> EngineResult<Said> {
        if !gives {
            return Ok(detail);
        }
        let Some((term, extends)) = terms::of_request_in(tx, request.id).await? else {
            return Ok(detail);
        };
        let now = self.core.now();
        let base = match extends {
            Some(grant) => terms::ends_at(tx.conn().await?, grant)
                .await?
                .unwrap_or(now)
                .max(now),
            None => now,
        };
        let ends = base + term.duration();
        terms::start(tx.conn().await?, request.id, ends).await?;
        let until = dates::day(ends.date_naive());
        Ok(match (extends, &request.target_upn) {
            (Some(_), Some(upn)) => said!("outcome.extended", upn = upn, until = until),
            _ => said!(
                "outcome.joined",
                first = detail,
                then = said!("outcome.until", until = until)
            ),
        })
    }

    /// A purchase waits for a person: checked again in a minute, with the task posted to
    /// the billing approvers (or reminded).
    async fn job_awaits_person(
        &self,
        tx: &mut WriteTx<'_>,
        c: &Claimed,
        enabled: i64,
        via_reseller: bool,
    ) -> EngineResult<JobReport> {
        let note = format!("waiting for a person to buy seats ({enabled} enabled now)");
        let report = self
            .requeue(
                tx,
                c,
                Requeue::Wait,
                self.after(MANUAL_RECHECK),
                AuditAction::PurchaseAwaitingPerson,
                note,
            )
            .await?;
        self.purchase_task(tx, &c.job, &c.stage, &c.request, enabled, via_reseller)
            .await?;
        Ok(report)
    }

    /// A transient failure with attempts left: tried again after the backoff.
    async fn job_retries(
        &self,
        tx: &mut WriteTx<'_>,
        c: &Claimed,
        e: BackendError,
        calls: &[Call],
    ) -> EngineResult<JobReport> {
        let job = &c.job;
        let delay = self
            .core
            .cfg()
            .jobs
            .retry
            .delay(job.attempts, e.retry_after);
        // A change call that failed without a definite refusal may have been carried out; a
        // refusal naming a Retry-After (429, 503) was not.
        let sent_now = calls.iter().any(|c| {
            matches!(
                c.operation,
                "assign_licence"
                    | "remove_licence"
                    | "add_member"
                    | "remove_member"
                    | "reprocess_licences"
            )
        });
        let may_be_made = job.change_sent || (sent_now && e.retry_after.is_none());
        let at = self.after(delay);
        let how = Requeue::Retry {
            change_sent: may_be_made,
        };
        jobs::requeue(
            tx.conn().await?,
            job.id,
            how,
            &e.message,
            at,
            self.core.now(),
        )
        .await?;
        let detail = serde_json::json!({"attempt": job.attempts, "error": e.message,
            "backend_ref": e.backend_ref, "retry_in_ms": delay.as_millis() as u64})
        .to_string();
        self.back_to_approved(
            tx,
            &c.stage,
            &c.request,
            AuditAction::JobRetryScheduled,
            &detail,
        )
        .await?;
        tracing::warn!(job = job.id, attempt = job.attempts, error = %e, "job attempt failed; will retry");
        Ok(JobReport::Retrying(e.message))
    }

    /// Puts the claimed job back in the queue (`how`, due at `at`) and its stage back to
    /// approved, audited as `action` with `note`: the job is retrying or waiting.
    pub(super) async fn requeue(
        &self,
        tx: &mut WriteTx<'_>,
        c: &Claimed,
        how: Requeue,
        at: Timestamp,
        action: AuditAction,
        note: String,
    ) -> EngineResult<JobReport> {
        jobs::requeue(tx.conn().await?, c.job.id, how, &note, at, self.core.now()).await?;
        self.back_to_approved(tx, &c.stage, &c.request, action, &note)
            .await?;
        Ok(JobReport::Retrying(note))
    }

    pub(super) async fn back_to_approved(
        &self,
        tx: &mut WriteTx<'_>,
        stage: &Stage,
        request: &Request,
        action: AuditAction,
        detail: &str,
    ) -> EngineResult<()> {
        stages::transition_if_later(tx, stage.id, StageState::Executing, StageState::Approved);
        self.core
            .audit_note(tx, Some(request.id), &Actor::System, action, detail)
            .await?;
        super::claim::set_request_state(&self.core, tx, request).await
    }

    /// An executing stage ends (`Completed` or `Failed`), audited with both states.
    async fn end_stage(
        &self,
        tx: &mut WriteTx<'_>,
        stage: &Stage,
        request: &Request,
        to: StageState,
        detail: &str,
    ) -> EngineResult<()> {
        let action = match to {
            StageState::Completed => AuditAction::StageCompleted,
            _ => AuditAction::StageFailed,
        };
        stages::transition_if_later(tx, stage.id, StageState::Executing, to);
        self.core
            .audit(
                tx,
                Some(request.id),
                &Actor::System,
                action,
                Some(StageState::Executing.as_str()),
                Some(to.as_str()),
                detail,
            )
            .await?;
        Ok(())
    }

    async fn fail_job(
        &self,
        tx: &mut WriteTx<'_>,
        job: &Job,
        stage: &Stage,
        request: &Request,
        why: &str,
    ) -> EngineResult<()> {
        let now = self.core.now();
        jobs::fail(tx, job.id, why, now);
        self.end_stage(tx, stage, request, StageState::Failed, why)
            .await?;
        let status = || t!(self.core.texts(), "status.failed", reason = why);
        self.core.edit_stage(tx, stage, &status).await?;
        for s in self
            .core
            .close_stages(tx, request.id, StageState::Cancelled, why, &Actor::System)
            .await?
        {
            let status = || t!(self.core.texts(), "status.cancelled_failed");
            self.core.edit_stage(tx, &s, &status).await?;
        }
        self.core
            .finish_request(tx, request.id, &Said::words(why), &Actor::System)
            .await?;
        // A rule that approved is nobody to tell.
        let by_person = stage.decided_via != Some(crate::domain::DecisionSource::AutoRule);
        if let Some(approver) = stage.decided_by.as_ref().filter(|_| by_person) {
            if approver != &request.requester {
                let text = || {
                    t!(
                        self.core.texts(),
                        "tell.approver_failed",
                        id = request.id,
                        reason = why
                    )
                };
                self.core.tell_user(tx, approver, &text).await?;
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
        tx: &mut WriteTx<'_>,
        stage: &Stage,
        request: &Request,
        detail: &Said,
    ) -> EngineResult<()> {
        // Stored with the request in the bot's language; told in the requester's.
        let recorded = detail.render(self.core.texts());
        // With what telling the requester needs: nothing below changes a language or how
        // many requests a message opened, so it holds when they are told.
        let Some((now_request, all, told)) = self
            .core
            .advance_with_stages(tx, request.id, None, &Actor::System, Some(&recorded))
            .await?
        else {
            return Ok(());
        };
        // Requests waiting on this purchase can go on now; a job held for it (an assignment
        // a group could not license for want of a seat) is due at once.
        if stage.kind == StageKind::Purchase {
            for dep in stages::dependents(tx.conn().await?, stage.id).await? {
                if dep.request_id != request.id {
                    self.core
                        .advance(tx, dep.request_id, None, &Actor::System)
                        .await?;
                }
                if let Some(job) = jobs::for_stage(tx.conn().await?, dep.id).await? {
                    jobs::due_now(tx.conn().await?, job.id, self.core.now()).await?;
                }
            }
        }
        if now_request.state == crate::domain::RequestState::Completed {
            let text = || match request.kind {
                RequestKind::Assign => t!(
                    self.core.texts(),
                    "tell.completed_assign",
                    id = request.id,
                    detail = detail.render(self.core.texts())
                ),
                RequestKind::Purchase => t!(
                    self.core.texts(),
                    "tell.completed_purchase",
                    id = request.id,
                    detail = detail.render(self.core.texts())
                ),
                RequestKind::Release | RequestKind::Revoke => t!(
                    self.core.texts(),
                    "tell.completed_removal",
                    id = request.id,
                    detail = detail.render(self.core.texts())
                ),
            };
            if request.state == crate::domain::RequestState::Completed {
                // Completed before (a job done again): `advance` changed nothing, so the
                // outcome is written here.
                requests::set_state(
                    tx,
                    request.id,
                    now_request.state,
                    Some(&recorded),
                    self.core.now(),
                );
            }
            self.core
                .tell_requester_as(tx, &now_request, &text, told)
                .await?;
            if matches!(request.kind, RequestKind::Release | RequestKind::Revoke) {
                self.core.tell_former_holders(tx, &now_request).await?;
            }
        } else if stage.kind == StageKind::Purchase
            && all.iter().any(|s| s.state == StageState::Pending)
        {
            let text = || {
                t!(
                    self.core.texts(),
                    "tell.purchase_done_waiting",
                    id = request.id,
                    detail = detail.render(self.core.texts())
                )
            };
            self.core
                .tell_requester_as(tx, &now_request, &text, told)
                .await?;
        }
        Ok(())
    }
}
