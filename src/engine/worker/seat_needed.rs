//! No seat was free when the licensing group went to license a person (group mode's
//! `CountViolation`): a purchase stage of one seat goes before the assignment in the same
//! request, routed to the billing approvers, and the assignment waits on it. Its job is held
//! until the purchase completes (then made due at once), and ends with the request when the
//! purchase is denied or expires. The requester is told, and the assignment's approval
//! message says what it waits for.

use super::{Claimed, JobReport, Worker};
use crate::domain::{AuditAction, StageKind, StageState, Upn};
use crate::engine::directory::Candidate;
use crate::engine::error::EngineResult;
use crate::engine::ports::Seats;
use crate::engine::render::SeatFigures;
use crate::store::jobs::{self, Requeue};
use crate::store::stages::{self, NewStage};
use crate::store::WriteTx;
use crate::t;

impl Worker {
    /// Adds the purchase stage (unless one the assignment waits on is still open) and holds
    /// the job until it completes.
    pub(super) async fn job_needs_seat(
        &self,
        tx: &mut WriteTx<'_>,
        c: &Claimed,
        seats: Seats,
        candidates: Vec<Candidate>,
    ) -> EngineResult<JobReport> {
        let Claimed {
            job,
            stage,
            request,
        } = c;
        let group = self.directory.managed_group_name().await;
        let upn = request.target_upn.as_ref().map(Upn::as_str).unwrap_or("-");
        let note = t!(
            self.core.texts(),
            "outcome.seat_needed",
            group = group,
            upn = upn
        );
        let hold = self.after(self.core.cfg().expire_after);
        let open = match stage.depends_on {
            Some(dep) => stages::get(tx.conn().await?, dep).await?.is_some_and(|d| {
                matches!(
                    d.state,
                    StageState::Pending | StageState::Approved | StageState::Executing
                )
            }),
            None => false,
        };
        if open {
            return self
                .requeue(tx, c, Requeue::Hold, hold, AuditAction::JobWaiting, note)
                .await;
        }
        jobs::requeue(
            tx.conn().await?,
            job.id,
            Requeue::Hold,
            &note,
            hold,
            self.core.now(),
        )
        .await?;
        let (new, routed) = self.purchase_stage(tx, c, &seats, &candidates).await?;
        let body = new.body.clone();
        let purchase = stages::insert_before(tx.conn().await?, stage, new, self.core.now()).await?;
        self.core.post_approval(tx, purchase, body, &routed).await?;
        let detail = serde_json::json!({"purchase_stage": purchase.0, "quantity": 1,
            "seats_enabled": seats.enabled, "seats_consumed": seats.consumed})
        .to_string();
        self.back_to_approved(tx, stage, request, AuditAction::SeatNeeded, &detail)
            .await?;
        let status = || t!(self.core.texts(), "status.waiting_for_seat");
        self.core.edit_stage(tx, stage, &status).await?;
        let text = || {
            t!(
                self.core.texts(),
                "tell.group_needs_seat",
                id = request.id,
                upn = upn
            )
        };
        self.core.tell_requester(tx, request, &text).await?;
        tracing::info!(
            job = job.id,
            request = request.id.0,
            "no seat for the group's licence; a purchase stage was added"
        );
        Ok(JobReport::Retrying(note))
    }

    /// The purchase stage of one seat that goes before `c`'s assignment, and whom it is
    /// routed to (the rules on money apply to it as to any purchase).
    async fn purchase_stage(
        &self,
        tx: &mut WriteTx<'_>,
        c: &Claimed,
        seats: &Seats,
        candidates: &[Candidate],
    ) -> EngineResult<(NewStage, Vec<crate::domain::ChatUserId>)> {
        let (stage, request) = (&c.stage, &c.request);
        let exclude: Vec<&Upn> = [&request.requester_upn, &request.target_upn]
            .into_iter()
            .flatten()
            .collect();
        let price = self.core.seat_price(seats);
        let rule = self
            .core
            .purchase_rule(tx, StageKind::Purchase, Some(1), price)
            .await?;
        let needed = self
            .core
            .cfg()
            .stage_roles(StageKind::Purchase, rule.over_budget.is_some());
        let routed = self
            .core
            .eligible(candidates, needed, &request.requester, &exclude);
        let cycle = self.core.cfg().default_billing_cycle;
        let of = stages::for_request(tx.conn().await?, request.id)
            .await?
            .len() as i64
            + 1;
        let figures = SeatFigures {
            free: seats.free(),
            enabled: seats.enabled,
            pipeline: stages::seat_pipeline(tx.conn().await?).await?,
        };
        let body = self.core.for_approvers(|| {
            let mut body = self.core.approval_body(
                request,
                stage.seq,
                of,
                StageKind::Purchase,
                Some(1),
                Some(price),
                Some(cycle),
                figures,
                &routed,
                None,
                rule.over_budget.is_some(),
            );
            for line in self.core.rule_lines(&rule, Some(1), price) {
                body = format!("{body}\n{line}");
            }
            body
        });
        let new = NewStage {
            seq: stage.seq,
            kind: StageKind::Purchase,
            depends_on: None,
            quantity: Some(1),
            unit_price: Some(price),
            billing_cycle: Some(cycle),
            routed_to: routed.clone(),
            body: body.clone(),
            approvals_needed: rule.approvals_needed,
            over_budget: rule.over_budget,
        };
        Ok((new, routed))
    }
}
