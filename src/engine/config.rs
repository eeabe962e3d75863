//! What the engine needs from configuration: its settings, the registered approvers and the
//! job worker's retry policy, built by start-up from the bot's settings.

use std::time::Duration;

use crate::command::ParserConfig;
use crate::domain::{
    BillingCycle, ChannelRef, ChatUserId, CountryCode, Language, RoleSet, StageKind, Term, Upn,
};
use crate::engine::ports::RetryPolicy;

/// A registered approver: a chat account and the directory user it speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    /// The chat account.
    pub chat_user: ChatUserId,
    /// The directory user whose roles count.
    pub upn: Upn,
}

/// How the job worker retries.
#[derive(Debug, Clone)]
pub struct JobPolicy {
    /// When a failed attempt is tried again, and how often (`times`: attempts after the
    /// first before a transient failure becomes permanent).
    pub retry: RetryPolicy,
    /// How long a claimed job stays leased to its worker.
    pub lease: Duration,
    /// Read-backs after a change before it counts as not yet visible.
    pub verify_attempts: u32,
    /// Pause between read-backs.
    pub verify_interval: Duration,
}

/// How the licence is given and taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Licensing {
    /// Assigned to the person and removed from them.
    Direct,
    /// Through membership of one group, whose licence Entra ID applies.
    Group {
        /// The group's object id.
        id: String,
        /// How long Entra ID may take to apply it to a new member.
        wait: Duration,
    },
}

impl Licensing {
    /// The licensing group's id, in group mode.
    pub fn group(&self) -> Option<&str> {
        match self {
            Licensing::Direct => None,
            Licensing::Group { id, .. } => Some(id),
        }
    }
}

/// Moving seats nobody uses instead of buying.
#[derive(Debug, Clone)]
pub struct ReclaimPolicy {
    /// Not signed in for this long counts as not using the licence.
    pub inactive_after: Duration,
    /// How long a holder has to keep their licence.
    pub grace: Duration,
    /// Holders never listed.
    pub exempt: Vec<Upn>,
    /// The reaction that moves a seat.
    pub emoji: String,
}

/// An auto-approval rule (`[[auto_approve]]`): an assignment stage whose requester and
/// licence holder match is approved by the rule when a seat is free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoRule {
    /// Its name, shown on the approval and recorded as the actor.
    pub name: String,
    /// Chat names (console) or chat role ids (Discord); the requester needs one. Empty: any.
    pub requesters: Vec<String>,
    /// Directory group object ids (lower case); the licence's holder must be a member of one.
    /// Empty: any.
    pub directory_groups: Vec<String>,
}

/// The rules finance and security put on money and access.
#[derive(Debug, Clone, Default)]
pub struct Governance {
    /// A purchase of more seats than this needs two approvers (0: off).
    pub two_person_above_seats: i64,
    /// A purchase costing more than this per month needs two approvers (0: off).
    pub two_person_above_cost: f64,
    /// What the bot may buy per calendar month, in the configured currency (0: no budget).
    pub monthly_budget: f64,
    /// Roles that may approve a purchase over the budget.
    pub over_budget_roles: RoleSet,
    /// The monthly price of a seat when set (else the backend's, if it knows one).
    pub seat_price: Option<f64>,
    /// Auto-approval rules for assignments, in order.
    pub auto_approve: Vec<AutoRule>,
}

impl Governance {
    /// Approvals a purchase of `quantity` seats costing `monthly` per month needs.
    pub fn approvals_needed(&self, quantity: i64, monthly: f64) -> i64 {
        let by_seats = self.two_person_above_seats > 0 && quantity > self.two_person_above_seats;
        let by_cost = self.two_person_above_cost > 0.0 && monthly > self.two_person_above_cost;
        if by_seats || by_cost {
            2
        } else {
            1
        }
    }

    /// By how much `monthly` on top of `spent` passes the budget, if it does.
    pub fn over_budget(&self, spent: f64, monthly: f64) -> Option<f64> {
        let over = spent + monthly - self.monthly_budget;
        (self.monthly_budget > 0.0 && monthly > 0.0 && over > 0.005).then_some(over)
    }
}

/// When the seats call for an alert in the approvals channel; `None` is off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeatThresholds {
    /// While fewer seats than this are free.
    pub free_seats_below: Option<u32>,
    /// While more than this percentage of the seats bought is assigned (1 to 100).
    pub usage_above_percent: Option<u32>,
}

impl SeatThresholds {
    /// Whether any alert is on.
    pub fn any(&self) -> bool {
        self.free_seats_below.is_some() || self.usage_above_percent.is_some()
    }
}

/// What the engine needs from configuration.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Prefix and bot mentions.
    pub parser: ParserConfig,
    /// The language spoken to whoever has none of their own (`[bot] language`).
    pub language: Language,
    /// The language approval messages are written in (`[bot] approvals_language`).
    pub approvals_language: Language,
    /// Where approval messages go.
    pub approvals_channel: ChannelRef,
    /// Reactions that approve.
    pub approve_emojis: Vec<String>,
    /// Reactions that deny.
    pub deny_emojis: Vec<String>,
    /// Whether guests may get a licence.
    pub allow_guests: bool,
    /// Usage location set on users who have none, before assigning.
    pub default_usage_location: Option<CountryCode>,
    /// Billing cycle of purchases unless the command names one.
    pub default_billing_cycle: BillingCycle,
    /// Remind the approvers after this long.
    pub remind_after: Duration,
    /// Escalate to every eligible approver after this long.
    pub escalate_after: Duration,
    /// Expire the request after this long.
    pub expire_after: Duration,
    /// Open requests one person may have.
    pub max_open_requests_per_user: i64,
    /// Currency of prices.
    pub currency: String,
    /// Roles that may approve a purchase stage.
    pub purchase_roles: RoleSet,
    /// Roles that may approve an assignment (or removal) stage.
    pub assign_roles: RoleSet,
    /// The approvers.
    pub approvers: Vec<Approver>,
    /// The SKU the bot manages (`POWER_BI_PRO`).
    pub sku_part_number: String,
    /// Directly or through a group.
    pub licensing: Licensing,
    /// Reclaiming seats before buying.
    pub reclaim: ReclaimPolicy,
    /// The longest term of a licence, given to requests without one (`None`: no limit).
    pub max_term: Option<Term>,
    /// How often the records are compared with the tenant (`None`: never by itself).
    pub reconcile_every: Option<Duration>,
    /// When the seats call for an alert.
    pub seat_alerts: SeatThresholds,
    /// Who may ask for a licence: chat user names or chat roles; empty means everyone.
    pub requesters: Vec<String>,
    /// Whether links are proven by a mailed code (a mail sender is configured).
    pub mail_proof: bool,
    /// The public base URL of the sign-in pages, when links are proven by signing in.
    pub sign_in_url: Option<String>,
    /// Retry policy of jobs.
    pub jobs: JobPolicy,
    /// Two-person rule, budget, auto-approval.
    pub governance: Governance,
}

impl EngineConfig {
    /// The roles a stage of this kind needs.
    pub fn roles_for(&self, kind: StageKind) -> &RoleSet {
        match kind {
            StageKind::Purchase => &self.purchase_roles,
            StageKind::Assign | StageKind::Unassign => &self.assign_roles,
        }
    }

    /// The roles a stage needs: a purchase over the budget needs the over-budget roles.
    pub fn stage_roles(&self, kind: StageKind, over_budget: bool) -> &RoleSet {
        if over_budget && kind == StageKind::Purchase {
            &self.governance.over_budget_roles
        } else {
            self.roles_for(kind)
        }
    }

    /// The approver registered for a chat account.
    pub fn approver(&self, user: &ChatUserId) -> Option<&Approver> {
        self.approvers.iter().find(|a| &a.chat_user == user)
    }
}
