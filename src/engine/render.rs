//! Texts about requests and stages, put together from catalogue entries: approval messages,
//! their status lines, one-line summaries and how a link was proven. Methods on the shared
//! [`Core`]: every use case says things, and they need only the catalogue, the settings and
//! mentions.

use super::core::Core;
use crate::domain::{BillingCycle, ChatUserId, LinkMethod, LinkProof, RoleSet, StageKind};
use crate::store::requests::Request;
use crate::store::stages::{SeatPipeline, Stage};
use crate::store::Timestamp;
use crate::t;
use crate::texts::{dates, one_line, quoted};

/// The most characters of a directory display name shown in a message.
const MAX_NAME_CHARS: usize = 100;

/// Figures about seats shown on an approval, as they stood before the request was made.
#[derive(Debug, Clone, Copy)]
pub(super) struct SeatFigures {
    pub free: i64,
    pub enabled: i64,
    pub pipeline: SeatPipeline,
}

impl Core {
    pub(super) fn role_names(&self, roles: &RoleSet) -> String {
        roles
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub(super) fn mentions(&self, users: &[ChatUserId]) -> String {
        if users.is_empty() {
            return t!(self.texts(), "approval.nobody");
        }
        users
            .iter()
            .map(|u| self.mention(u))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A directory display name as shown in a message: one line, cut to a sensible length
    /// (an administrator may have set anything there).
    pub(super) fn display_name(&self, name: &str) -> String {
        one_line(name, MAX_NAME_CHARS)
    }

    /// A reason someone typed, as the bot shows it ([`quoted`]), or "no reason given".
    pub(super) fn reason_text(&self, reason: Option<&str>) -> String {
        match reason {
            Some(r) => quoted(r),
            None => t!(self.texts(), "outcome.no_reason"),
        }
    }

    /// A reason someone typed, kept to be said in any language ([`Core::reason_text`]).
    pub(super) fn reason_said(&self, reason: Option<&str>) -> crate::texts::Said {
        match reason {
            Some(r) => crate::texts::Said::words(quoted(r)),
            None => crate::said!("outcome.no_reason"),
        }
    }

    /// The status line of a stage `who` (a mention) denied, with the reason they gave.
    pub(super) fn denied_by(&self, who: &str, reason: Option<&str>) -> String {
        t!(
            self.texts(),
            "status.denied_by",
            who = who,
            reason = self.reason_text(reason)
        )
    }

    /// Who decided a stage, as people read it: a mention, or the auto-approval rule by name
    /// (its name stands where an approver's would). None when undecided.
    pub(super) fn decider(&self, stage: &crate::store::stages::Stage) -> Option<String> {
        let by = stage.decided_by.as_ref()?;
        Some(match stage.decided_via {
            Some(crate::domain::DecisionSource::AutoRule) => {
                t!(self.texts(), "governance.by_rule", rule = by.as_str())
            }
            _ => self.mention(by),
        })
    }

    /// An amount of money as the language being spoken writes it: two decimals after a
    /// point in English (`14.00 USD`), after a comma in Dutch (`14,00 USD`).
    /// An amount in the bot's currency, as the language being spoken writes it.
    pub(super) fn money(&self, amount: f64) -> String {
        dates::money(amount, &self.cfg().currency).render(self.texts())
    }

    /// A day, as the language being spoken writes it (`2026-12-04`, `04-12-2026`).
    pub(super) fn day(&self, at: Timestamp) -> String {
        dates::day(at.date_naive()).render(self.texts())
    }

    /// A moment to the minute in UTC, as the language being spoken writes it.
    pub(super) fn minute(&self, at: Timestamp) -> String {
        dates::minute(at).render(self.texts())
    }

    pub(super) fn cost_text(&self, quantity: i64, unit: f64, cycle: BillingCycle) -> String {
        let monthly = unit * quantity as f64;
        match cycle {
            BillingCycle::Monthly => t!(self.texts(), "cost.monthly", amount = self.money(monthly)),
            BillingCycle::Annual => t!(
                self.texts(),
                "cost.annual",
                amount = self.money(monthly * 12.0),
                per_month = self.money(monthly)
            ),
        }
    }

    pub(super) fn stage_title(
        &self,
        kind: StageKind,
        quantity: Option<i64>,
        cycle: Option<BillingCycle>,
    ) -> String {
        match kind {
            StageKind::Purchase if quantity.is_some_and(|q| q < 0) => t!(
                self.texts(),
                "stage.reduce",
                quantity = -quantity.unwrap_or(0)
            ),
            StageKind::Purchase => t!(
                self.texts(),
                "stage.purchase",
                quantity = quantity.unwrap_or(0),
                cycle = self.cycle_word(cycle.unwrap_or(self.cfg().default_billing_cycle))
            ),
            StageKind::Assign => t!(self.texts(), "stage.assign"),
            StageKind::Unassign => t!(self.texts(), "stage.unassign"),
        }
    }

    pub(super) fn cycle_word(&self, cycle: BillingCycle) -> String {
        match cycle {
            BillingCycle::Monthly => t!(self.texts(), "cycle.monthly"),
            BillingCycle::Annual => t!(self.texts(), "cycle.annual"),
        }
    }

    /// A request's state in the bot's language.
    pub(super) fn state_word(&self, state: crate::domain::RequestState) -> String {
        use crate::domain::RequestState as S;
        match state {
            S::Pending => t!(self.texts(), "state.pending"),
            S::Approved => t!(self.texts(), "state.approved"),
            S::Executing => t!(self.texts(), "state.executing"),
            S::Completed => t!(self.texts(), "state.completed"),
            S::Denied => t!(self.texts(), "state.denied"),
            S::Cancelled => t!(self.texts(), "state.cancelled"),
            S::Expired => t!(self.texts(), "state.expired"),
            S::Failed => t!(self.texts(), "state.failed"),
        }
    }

    /// What the request is about, in a few words: "a Power BI Pro licence for X (upn)".
    pub(super) fn subject(&self, r: &Request) -> String {
        use crate::domain::RequestKind as K;
        let who = match (&r.target_name, &r.target_upn) {
            (Some(name), Some(upn)) => format!("{} ({upn})", self.display_name(name)),
            (None, Some(upn)) => upn.to_string(),
            _ => String::new(),
        };
        match r.kind {
            K::Assign => t!(self.texts(), "subject.assign", who = who),
            K::Release => t!(self.texts(), "subject.release", who = who),
            K::Revoke => t!(self.texts(), "subject.revoke", who = who),
            K::Purchase if r.quantity.is_some_and(|q| q < 0) => t!(
                self.texts(),
                "subject.reduce",
                quantity = -r.quantity.unwrap_or(0)
            ),
            K::Purchase => t!(
                self.texts(),
                "subject.purchase",
                quantity = r.quantity.unwrap_or(0),
                cycle =
                    self.cycle_word(r.billing_cycle.unwrap_or(self.cfg().default_billing_cycle))
            ),
        }
    }

    /// The approval message of a stage, as first posted.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn approval_body(
        &self,
        r: &Request,
        seq: i64,
        of: i64,
        kind: StageKind,
        quantity: Option<i64>,
        unit_price: Option<f64>,
        cycle: Option<BillingCycle>,
        seats: SeatFigures,
        routed: &[ChatUserId],
        waits_on: Option<crate::domain::RequestId>,
        over_budget: bool,
    ) -> String {
        let mut lines = vec![t!(
            self.texts(),
            "approval.title",
            id = r.id,
            seq = seq,
            of = of,
            stage = self.stage_title(kind, quantity, cycle)
        )];
        lines.push(t!(
            self.texts(),
            "approval.subject",
            subject = self.subject(r)
        ));
        let link = match &r.requester_upn {
            Some(upn) => t!(
                self.texts(),
                "approval.requester_linked",
                requester = self.mention(&r.requester),
                upn = upn,
                proof = self.proof_text(r.requester_link.as_ref())
            ),
            None => t!(
                self.texts(),
                "approval.requester_unlinked",
                requester = self.mention(&r.requester)
            ),
        };
        lines.push(link);
        if let Some(reason) = &r.reason {
            lines.push(t!(self.texts(), "approval.reason", reason = quoted(reason)));
        }
        lines.push(t!(
            self.texts(),
            "approval.seats",
            free = seats.free,
            enabled = seats.enabled,
            promised = seats.pipeline.promised,
            on_order = seats.pipeline.on_order,
            awaiting = seats.pipeline.awaiting_approval
        ));
        if let (StageKind::Purchase, Some(q)) = (kind, quantity) {
            if q < 0 {
                lines.push(t!(self.texts(), "approval.reduce_window"));
            }
        }
        if let (StageKind::Purchase, Some(q)) = (kind, quantity.filter(|q| *q > 0)) {
            let unit = unit_price.unwrap_or(0.0);
            lines.push(t!(
                self.texts(),
                "approval.cost",
                quantity = q,
                unit = self.money(unit),
                cost = self.cost_text(q, unit, cycle.unwrap_or(self.cfg().default_billing_cycle))
            ));
        }
        if let Some(other) = waits_on {
            lines.push(t!(self.texts(), "approval.waits_on", other = other));
        }
        lines.push(t!(
            self.texts(),
            "approval.deciders",
            roles = self.role_names(self.cfg().stage_roles(kind, over_budget)),
            who = self.mentions(routed)
        ));
        lines.push(t!(
            self.texts(),
            "approval.how",
            approve = self
                .cfg()
                .approve_emojis
                .first()
                .map(String::as_str)
                .unwrap_or("✅"),
            deny = self
                .cfg()
                .deny_emojis
                .first()
                .map(String::as_str)
                .unwrap_or("❌")
        ));
        lines.join("\n")
    }

    /// The approval message with a status line below it.
    pub(super) fn approval_with_status(&self, stage: &Stage, status: &str) -> String {
        format!("{}\n{}", stage.body, status)
    }

    /// A one-line summary of a request.
    pub(super) fn summary_line(&self, r: &Request) -> String {
        t!(
            self.texts(),
            "summary.line",
            id = r.id,
            subject = self.subject(r),
            state = self.state_word(r.state)
        )
    }

    /// The proof shown to approvers next to a requester: "verified by mailed code on DATE".
    pub(super) fn proof_text(&self, proof: Option<&LinkProof>) -> String {
        let Some(p) = proof else {
            return t!(self.texts(), "link.proof_none");
        };
        let on = p.verified_at.map(|at| self.day(at)).unwrap_or_default();
        match p.method {
            LinkMethod::SignIn => t!(self.texts(), "link.proof_sign_in", date = on),
            LinkMethod::MailCode => t!(self.texts(), "link.proof_mail_code", date = on),
            LinkMethod::Admin => {
                let who = p
                    .attested_by
                    .as_ref()
                    .map(|u| self.mention(u))
                    .unwrap_or_default();
                t!(self.texts(), "link.proof_admin", who = who, date = on)
            }
            LinkMethod::Config => t!(self.texts(), "link.proof_config"),
        }
    }
}
