//! `!pro purchased`: the person who placed a manual order says it went through.

use super::Intake;
use crate::domain::{Actor, AuditAction, RequestId, StageKind, StageState};
use crate::engine::error::{EngineError, EngineResult};
use crate::engine::ports::IncomingMessage;
use crate::store::outbox;
use crate::store::stages;
use crate::t;

impl Intake {
    /// A billing approver says the seats of a manual purchase are bought: check the seat
    /// count now and carry on if they are there.
    pub(super) async fn purchased(&self, m: &IncomingMessage, id: RequestId) -> EngineResult<()> {
        let (_, roles) = self.directory.issuer_roles(m).await?;
        if !roles.intersects(&self.core.cfg().purchase_roles) {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "decision.missing_role",
                id = id,
                roles = self.core.role_names(&self.core.cfg().purchase_roles)
            )));
        }
        let waiting = {
            let mut conn = self.core.store().read().await?;
            let mut found = None;
            for s in stages::for_request(&mut conn, id).await? {
                if s.kind == StageKind::Purchase && s.state == StageState::Approved {
                    if let Some(job) = crate::store::jobs::for_stage(&mut conn, s.id).await? {
                        if job.state == crate::store::jobs::JobState::Queued {
                            found = Some(job);
                        }
                    }
                }
            }
            found
        };
        let Some(job) = waiting else {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "purchase.none",
                id = id
            )));
        };
        let crate::store::jobs::JobPayload::Purchase {
            target_seats,
            quantity,
            ..
        } = job.payload
        else {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "purchase.none",
                id = id
            )));
        };
        let seats = self.directory.seats_or_user_error().await?;
        let now = self.core.now();
        let mut w = self.core.store().write().await?;
        let there = if quantity < 0 {
            seats.enabled <= target_seats
        } else {
            seats.enabled >= target_seats
        };
        if there {
            crate::store::jobs::due_now(w.conn().await?, job.id, now).await?;
        }
        let detail =
            serde_json::json!({"enabled": seats.enabled, "target": target_seats, "seen": there})
                .to_string();
        self.core
            .audit_note(
                &mut w,
                Some(id),
                &Actor::chat(&m.author),
                AuditAction::PurchaseReportedDone,
                &detail,
            )
            .await?;
        let text = if there {
            t!(
                self.core.texts(),
                "purchase.confirmed",
                enabled = seats.enabled,
                id = id
            )
        } else {
            t!(
                self.core.texts(),
                "purchase.not_yet",
                id = id,
                enabled = seats.enabled,
                target = target_seats
            )
        };
        outbox::push(&mut w, &self.core.reply_action(m, text), now)?;
        self.core.commit(w).await?;
        Ok(())
    }
}
