//! A purchase that waits for a person: the task posted to the billing approvers, and its
//! reminders.

use super::Worker;
use crate::domain::{Actor, AuditAction, BillingCycle};
use crate::engine::error::EngineResult;
use crate::store::jobs::{self, Job, JobPayload};
use crate::store::requests::Request;
use crate::store::stages::Stage;
use crate::store::WriteTx;
use crate::t;

impl Worker {
    /// Hands a purchase to the billing approvers the first time, and reminds them after
    /// `remind_after` while the seats are not there.
    pub(super) async fn purchase_task(
        &self,
        tx: &mut WriteTx<'_>,
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
        let now = self.core.now();
        let last = jobs::task_posted_at(tx.conn().await?, job.id).await?;
        let remind = self.core.cfg().remind_after;
        let due_reminder = last.is_some_and(|t| (now - t).to_std().unwrap_or_default() >= remind);
        if last.is_some() && !due_reminder {
            return Ok(());
        }
        let candidates = self.directory.candidates(true).await?;
        let billing: Vec<_> = candidates
            .iter()
            .filter(|c| c.roles.intersects(&self.core.cfg().purchase_roles))
            .map(|c| c.approver.chat_user.clone())
            .collect();
        let who = self.core.mentions(&billing);
        let text = || {
            self.purchase_task_text(
                request,
                *quantity,
                *billing_cycle,
                *target_seats,
                enabled,
                via_reseller,
                last.is_none(),
                &who,
            )
        };
        self.core
            .post_under_approval(tx, stage, &text, billing.clone())
            .await?;
        jobs::set_task_posted(tx.conn().await?, job.id, now).await?;
        self.core
            .audit_note(
                tx,
                Some(request.id),
                &Actor::System,
                if last.is_none() {
                    AuditAction::PurchaseTaskPosted
                } else {
                    AuditAction::PurchaseTaskReminded
                },
                &serde_json::json!({"to": billing, "target": target_seats, "enabled": enabled})
                    .to_string(),
            )
            .await?;
        Ok(())
    }

    /// The task's words: who is to buy (or remove) how many seats and how, or the reminder.
    #[allow(clippy::too_many_arguments)]
    fn purchase_task_text(
        &self,
        request: &Request,
        quantity: i64,
        billing_cycle: BillingCycle,
        target_seats: i64,
        enabled: i64,
        via_reseller: bool,
        first: bool,
        who: &str,
    ) -> String {
        let how = if via_reseller {
            t!(self.core.texts(), "purchase.how_reseller")
        } else {
            t!(
                self.core.texts(),
                "purchase.how_admin_center",
                target = target_seats
            )
        };
        if first && quantity < 0 {
            t!(
                self.core.texts(),
                "purchase.reduce_task",
                who = who,
                id = request.id,
                quantity = -quantity,
                target = target_seats,
                enabled = enabled,
                how = how,
                prefix = self.core.cfg().parser.prefix,
                number = request.id.0
            )
        } else if first {
            t!(
                self.core.texts(),
                "purchase.task",
                who = who,
                id = request.id,
                quantity = quantity,
                cycle = self.core.cycle_word(billing_cycle),
                target = target_seats,
                enabled = enabled,
                how = how,
                prefix = self.core.cfg().parser.prefix,
                number = request.id.0
            )
        } else {
            t!(
                self.core.texts(),
                "purchase.task_reminder",
                who = who,
                id = request.id,
                enabled = enabled,
                target = target_seats,
                prefix = self.core.cfg().parser.prefix,
                number = request.id.0
            )
        }
    }
}
