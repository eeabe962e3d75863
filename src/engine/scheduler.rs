//! The scheduler: reminders after `remind_after`, escalation to every eligible approver after
//! `escalate_after`, and expiry after `expire_after`, all measured on the engine's clock.
//!
//! Each action happens exactly once, however many ticks run at the same time (the console's
//! `/advance` ticks beside the background loop) and across restarts and crashes: one tick
//! runs at a time, and each action is claimed by a conditional update of its stage
//! ([`stages::claim_reminder`], [`stages::claim_escalation`], the pending → expired
//! transition) in the same transaction as what it says and its audit event.
//!
//! [`Scheduler`] holds the shared context, the directory (to find whom to escalate to) and
//! its own tick lock.

use std::sync::Arc;

use super::core::Core;
use super::crash::{crash_point, CrashPoint};
use super::directory::Directory;
use super::error::EngineResult;
use crate::domain::{Actor, AuditAction, RequestState, StageState};
use crate::said;
use crate::store::requests;
use crate::store::stages::{self, Stage};
use crate::store::WriteTx;
use crate::t;

fn elapsed(
    now: chrono::DateTime<chrono::Utc>,
    since: chrono::DateTime<chrono::Utc>,
) -> std::time::Duration {
    (now - since).to_std().unwrap_or_default()
}

/// The latest time from which `after` has passed by `now`: for a zero `after` every time up
/// to the year 9999 (as stored, text order is time order), since [`elapsed`] counts a time
/// still to come as no time at all.
fn due_by(
    now: chrono::DateTime<chrono::Utc>,
    after: std::time::Duration,
) -> chrono::DateTime<chrono::Utc> {
    if after.is_zero() {
        const LAST_SECOND_OF_9999: i64 = 253_402_300_799;
        return chrono::DateTime::from_timestamp(LAST_SECOND_OF_9999, 0).unwrap_or(now);
    }
    chrono::Duration::from_std(after)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
}

/// Reminders, escalations and expiry.
pub(super) struct Scheduler {
    core: Arc<Core>,
    directory: Arc<Directory>,
    /// One tick at a time (the console ticks beside the background loop).
    tick_lock: tokio::sync::Mutex<()>,
}

impl Scheduler {
    pub(super) fn new(core: Arc<Core>, directory: Arc<Directory>) -> Scheduler {
        Scheduler {
            core,
            directory,
            tick_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Checks every pending stage once. Errors are logged, never raised: the next tick tries again.
    #[tracing::instrument(name = "scheduler_tick", skip_all)]
    pub(super) async fn tick(&self) {
        let _one_tick_at_a_time = self.tick_lock.lock().await;
        if let Err(e) = self.tick_inner().await {
            tracing::error!(error = %e, "scheduler tick failed");
        }
    }

    async fn tick_inner(&self) -> EngineResult<()> {
        let due = {
            let cfg = self.core.cfg();
            let now = self.core.now();
            stages::DueBy {
                routed_by: due_by(now, cfg.remind_after.min(cfg.escalate_after)),
                created_by: due_by(now, cfg.expire_after),
            }
        };
        // Only stages with something due (a superset of what the checks below act on): the
        // others would be read and left alone.
        let pending = {
            let mut conn = self.core.store().read().await?;
            stages::pending_due(&mut conn, due).await?
        };
        let mut candidates = None;
        for stage in pending {
            let now = self.core.now();
            let request = {
                let mut conn = self.core.store().read().await?;
                requests::get(&mut conn, stage.request_id).await?
            };
            let Some(request) = request else { continue };
            if !request.state.is_open() {
                continue;
            }
            if elapsed(now, request.created_at) >= self.core.cfg().expire_after {
                self.expire(request.id).await?;
            } else if stage.escalated_at.is_none()
                && elapsed(now, stage.routed_at) >= self.core.cfg().escalate_after
            {
                if candidates.is_none() {
                    candidates = Some(self.directory.candidates(true).await?);
                }
                let everyone = candidates.as_deref().unwrap_or_default();
                let mut exclude = Vec::new();
                if let Some(u) = &request.requester_upn {
                    exclude.push(u);
                }
                if let Some(u) = &request.target_upn {
                    exclude.push(u);
                }
                let mut to = self.core.eligible(
                    everyone,
                    self.core
                        .cfg()
                        .stage_roles(stage.kind, stage.over_budget.is_some()),
                    &request.requester,
                    &exclude,
                );
                // Who gave a two-person stage its first approval is not asked again.
                if stage.approvals_needed > 1 {
                    let mut conn = self.core.store().read().await?;
                    let given = crate::store::governance::approvals(&mut conn, stage.id).await?;
                    to.retain(|u| given.iter().all(|a| &a.approver != u));
                }
                self.escalate(&stage, &to).await?;
            } else if stage.reminded_at.is_none()
                && stage.escalated_at.is_none()
                && elapsed(now, stage.routed_at) >= self.core.cfg().remind_after
            {
                self.remind(&stage).await?;
            }
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(request = stage.request_id.0, stage = stage.seq))]
    async fn remind(&self, stage: &Stage) -> EngineResult<()> {
        let now = self.core.now();
        let mut w = self.core.store().write().await?;
        if !stages::claim_reminder(w.conn().await?, stage.id, now).await? {
            return Ok(());
        }
        let text = || {
            t!(
                self.core.texts(),
                "schedule.reminder",
                who = self.core.mentions(&stage.routed_to),
                id = stage.request_id,
                waited = humantime::format_duration(self.core.cfg().remind_after)
            )
        };
        self.nudge(w, stage, &text, &stage.routed_to, AuditAction::ReminderSent)
            .await
    }

    #[tracing::instrument(skip_all, fields(request = stage.request_id.0, stage = stage.seq))]
    async fn escalate(&self, stage: &Stage, to: &[crate::domain::ChatUserId]) -> EngineResult<()> {
        let now = self.core.now();
        let mut w = self.core.store().write().await?;
        if !stages::claim_escalation(w.conn().await?, stage.id, to, now).await? {
            return Ok(());
        }
        let text = || {
            t!(
                self.core.texts(),
                "schedule.escalation",
                who = self.core.mentions(to),
                id = stage.request_id,
                waited = humantime::format_duration(self.core.cfg().escalate_after),
                roles = self.core.role_names(
                    self.core
                        .cfg()
                        .stage_roles(stage.kind, stage.over_budget.is_some())
                )
            )
        };
        self.nudge(w, stage, &text, to, AuditAction::Escalated)
            .await
    }

    /// Posts a reminder or escalation under the stage's approval message to `to`, audits it
    /// and commits the claim that was made in `w`.
    async fn nudge(
        &self,
        mut w: WriteTx<'_>,
        stage: &Stage,
        text: &(dyn Fn() -> String + Sync),
        to: &[crate::domain::ChatUserId],
        action: AuditAction,
    ) -> EngineResult<()> {
        self.core
            .post_under_approval(&mut w, stage, text, to.to_vec())
            .await?;
        let detail = serde_json::json!({"stage": stage.seq, "to": to});
        self.core
            .audit_by_bot(&mut w, stage.request_id, action, detail)
            .await?;
        w.commit().await?;
        crash_point(CrashPoint::AfterScheduleStored);
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(request = id.0))]
    async fn expire(&self, id: crate::domain::RequestId) -> EngineResult<()> {
        let mut w = self.core.store().write().await?;
        let Some(r) = requests::get(w.conn().await?, id).await? else {
            return Ok(());
        };
        if r.state != RequestState::Pending {
            return Ok(());
        }
        let outcome = said!(
            "outcome.expired",
            after = humantime::format_duration(self.core.cfg().expire_after)
        );
        let why = self.core.recorded(&outcome);
        let mut any = false;
        for s in stages::for_request(w.conn().await?, id).await? {
            if s.state == StageState::Pending
                && stages::transition(
                    w.conn().await?,
                    s.id,
                    StageState::Pending,
                    StageState::Expired,
                )
                .await?
            {
                any = true;
                let status = || t!(self.core.texts(), "status.expired");
                self.core.edit_stage(&mut w, &s, &status).await?;
            }
        }
        if !any {
            return Ok(());
        }
        for s in self
            .core
            .close_stages(&mut w, id, StageState::Cancelled, &why, &Actor::System)
            .await?
        {
            let status = || t!(self.core.texts(), "status.cancelled_expired");
            self.core.edit_stage(&mut w, &s, &status).await?;
        }
        self.core
            .finish_request(&mut w, id, &outcome, &Actor::System)
            .await?;
        w.commit().await?;
        crash_point(CrashPoint::AfterScheduleStored);
        Ok(())
    }
}
