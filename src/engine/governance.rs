//! The rules on money: the two-person rule and the monthly budget, for purchase stages.
//!
//! A purchase stage's rule is fixed when it is posted (two approvals or one, over the budget
//! or not: its routing and message depend on it), and the budget is checked again with live
//! figures when someone approves: a purchase posted within the budget that would pass it by
//! the time it is approved needs an over-budget role then.
//!
//! Decisions, where the issue left them open:
//! - Spend is the monthly price times the seats of each purchase carried out this calendar
//!   month (UTC), as the approval showed it, whatever the billing cycle: the budget is on
//!   what the bot adds to the monthly bill. Purchases approved and not yet carried out count
//!   too, so two approvals in a row cannot both pass the budget. A seat moved instead of
//!   bought costs nothing.
//! - The first of two approvals is final like every decision (taking the reaction back does
//!   not undo it); a deny by anyone who may decide ends the stage.
//! - A command by an approver (`!pro buy 10` by a billing administrator) approves nothing
//!   under the two-person rule: its issuer is the requester, and two others decide.

use super::core::Core;
use super::error::EngineResult;
use crate::domain::{Actor, AuditAction, StageKind, StageState};
use crate::engine::ports::Seats;
use crate::store::governance;
use crate::store::stages::Stage;
use crate::store::WriteTx;
use crate::t;

/// What the rules ask of a purchase stage as it is posted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PurchaseRule {
    /// Approvals by different people it needs.
    pub approvals_needed: i64,
    /// By how much it goes over the budget.
    pub over_budget: Option<f64>,
    /// This month's spend before it, when a budget is set.
    pub spent: f64,
}

impl PurchaseRule {
    /// A stage the rules on money do not touch (not a purchase, or buying nothing).
    pub const NONE: PurchaseRule = PurchaseRule {
        approvals_needed: 1,
        over_budget: None,
        spent: 0.0,
    };
}

impl Core {
    /// The monthly price of a seat: the configured one, else the backend's, else 0.
    pub(super) fn seat_price(&self, seats: &Seats) -> f64 {
        self.cfg()
            .governance
            .seat_price
            .or(seats.unit_price_monthly)
            .unwrap_or(0.0)
    }

    /// The rule a stage of `kind` buying `quantity` seats at `unit_price` falls under now.
    pub(super) async fn purchase_rule(
        &self,
        tx: &mut WriteTx<'_>,
        kind: StageKind,
        quantity: Option<i64>,
        unit_price: f64,
    ) -> EngineResult<PurchaseRule> {
        let Some(quantity) = quantity.filter(|q| *q > 0 && kind == StageKind::Purchase) else {
            return Ok(PurchaseRule::NONE);
        };
        let g = &self.cfg().governance;
        let monthly = quantity as f64 * unit_price;
        let spent = if g.monthly_budget > 0.0 {
            governance::committed_this_month(tx.conn().await?, self.now()).await?
        } else {
            0.0
        };
        Ok(PurchaseRule {
            approvals_needed: g.approvals_needed(quantity, monthly),
            over_budget: g.over_budget(spent, monthly),
            spent,
        })
    }

    /// What a purchase stage's approval message says of the rules it falls under.
    pub(super) fn rule_lines(
        &self,
        rule: &PurchaseRule,
        quantity: Option<i64>,
        unit_price: f64,
    ) -> Vec<String> {
        let g = &self.cfg().governance;
        let mut lines = Vec::new();
        if rule.approvals_needed > 1 {
            let monthly = quantity.unwrap_or(0) as f64 * unit_price;
            let why = if g.two_person_above_seats > 0
                && quantity.unwrap_or(0) > g.two_person_above_seats
            {
                t!(
                    self.texts(),
                    "governance.above_seats",
                    max = g.two_person_above_seats
                )
            } else {
                let max = self.money(g.two_person_above_cost);
                let cost = self.money(monthly);
                t!(
                    self.texts(),
                    "governance.above_cost",
                    max = max,
                    cost = cost
                )
            };
            lines.push(t!(self.texts(), "governance.two_person", why = why));
        }
        if let Some(over) = rule.over_budget {
            let roles = self.role_names(&g.over_budget_roles);
            lines.push(t!(
                self.texts(),
                "governance.over_budget",
                spent = self.money(rule.spent),
                budget = self.money(g.monthly_budget),
                over = self.money(over),
                roles = roles
            ));
        }
        lines
    }

    /// Records `who`'s approval of a two-person stage and says so on its message: the first
    /// approval. False when they (by chat account or directory user) approved it already.
    pub(super) async fn count_first_approval(
        &self,
        tx: &mut WriteTx<'_>,
        stage: &Stage,
        who: &crate::engine::Approver,
        actor: &Actor,
    ) -> EngineResult<FirstApproval> {
        let so_far = governance::approvals(tx.conn().await?, stage.id).await?;
        if so_far
            .iter()
            .any(|a| a.approver == who.chat_user || a.approver_upn == who.upn)
        {
            return Ok(FirstApproval::Already);
        }
        if so_far.len() as i64 + 1 >= stage.approvals_needed {
            return Ok(FirstApproval::Enough(
                so_far.into_iter().map(|a| a.approver).collect(),
            ));
        }
        governance::add_approval(
            tx.conn().await?,
            stage.id,
            &who.chat_user,
            &who.upn,
            self.now(),
        )
        .await?;
        let detail = serde_json::json!({
            "stage": stage.seq, "kind": stage.kind.as_str(),
            "approvals": so_far.len() + 1, "needed": stage.approvals_needed,
        });
        self.audit(
            tx,
            Some(stage.request_id),
            actor,
            AuditAction::StageApprovalCounted,
            Some(StageState::Pending.as_str()),
            Some(StageState::Pending.as_str()),
            &detail.to_string(),
        )
        .await?;
        Ok(FirstApproval::Counted)
    }

    /// The status line of a two-person stage with its first approval.
    pub(super) fn first_approval_status(
        &self,
        stage: &Stage,
        who: &crate::domain::ChatUserId,
    ) -> String {
        t!(
            self.texts(),
            "governance.approvals_so_far",
            count = 1,
            needed = stage.approvals_needed,
            who = self.mention(who)
        )
    }
}

/// What became of an approval of a stage that needs two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FirstApproval {
    /// The first approval, recorded: the stage waits for a second person.
    Counted,
    /// The approver had approved already: nothing changes.
    Already,
    /// Enough approvals with this one: the stage is approved (by these earlier approvers and
    /// this one).
    Enough(Vec<crate::domain::ChatUserId>),
}
