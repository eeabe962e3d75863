//! What the audit trail records: who acted ([`Actor`]) and what happened ([`AuditAction`]).
//! The words are those stored in `audit_events` and shown by `licensebot audit`; a new
//! action is a new variant, never a string made up at the call.

use std::fmt;

use super::{ChatUserId, ParseError};

/// Who did what an audit event records.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A person in chat (requester, approver, holder), by chat account.
    Chat(ChatUserId),
    /// The bot itself: the job worker, the scheduler, catch-up after a restart.
    System,
    /// A browser on the sign-in pages whose sign-in attempt is not known (no person yet).
    Web,
    /// An auto-approval rule (`[[auto_approve]]`), by name.
    Rule(String),
}

impl Actor {
    /// The person `user` in chat.
    pub fn chat(user: &ChatUserId) -> Actor {
        Actor::Chat(user.clone())
    }
}

impl fmt::Display for Actor {
    /// As stored: `chat:<id>` or `system`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Chat(user) => write!(f, "chat:{user}"),
            Actor::System => f.write_str("system"),
            Actor::Web => f.write_str("web"),
            Actor::Rule(name) => write!(f, "rule:{name}"),
        }
    }
}

word_enum!(
    /// What happened, as the audit trail names it.
    AuditAction {
        /// An approval message that was deleted was posted again.
        ApprovalReposted => "approval_reposted",
        /// An approver is back in routing.
        AwayOff => "away_off",
        /// An approver stepped out of routing.
        AwayOn => "away_on",
        /// A reaction from someone who is no approver, removed.
        DecisionIgnoredNotApprover => "decision_ignored_not_approver",
        /// A decision's reaction was taken away after it counted.
        DecisionReactionRemoved => "decision_reaction_removed",
        /// A decision refused: the approver lacks the stage's role now.
        DecisionRefusedMissingRole => "decision_refused_missing_role",
        /// A decision refused: the approver's roles could not be read.
        DecisionRefusedRoleLookup => "decision_refused_role_lookup",
        /// A purchase approval refused: the seats could not be read to fix its target.
        DecisionRefusedSeatsUnavailable => "decision_refused_seats_unavailable",
        /// A licence check found a difference between the records and the tenant.
        DriftFound => "drift_found",
        /// A difference a licence check had found is no longer there.
        DriftGone => "drift_gone",
        /// A denial reason given as a reply, kept for the denial.
        DenialReason => "denial_reason",
        /// A stage waiting too long was escalated to every eligible approver.
        Escalated => "escalated",
        /// An approved stage's job was queued.
        JobQueued => "job_queued",
        /// A job attempt failed transiently and will be tried again.
        JobRetryScheduled => "job_retry_scheduled",
        /// A job was claimed and its stage is executing.
        JobStarted => "job_started",
        /// A change was made but does not show on read-back yet; only verified from now on.
        JobUnverified => "job_unverified",
        /// A job waits for something outside (an order in progress).
        JobWaiting => "job_waiting",
        /// A decision came after the stage was decided; nothing applied.
        LateDecisionReported => "late_decision_reported",
        /// An approver vouched for a person's link.
        LinkAttested => "link_attested",
        /// A verified link moved to another chat account (one owner per directory account).
        LinkMoved => "link_moved",
        /// A link could not be started (rate limit, policy).
        LinkRefused => "link_refused",
        /// A person asked to link their directory account.
        LinkStarted => "link_started",
        /// A link was proven (mailed code or sign-in).
        LinkVerified => "link_verified",
        /// A link proof failed (wrong or expired code, mail not sent, sign-in refused).
        ProofFailed => "proof_failed",
        /// A one-time code was mailed.
        ProofSent => "proof_sent",
        /// A purchase waits for a person to buy the seats.
        PurchaseAwaitingPerson => "purchase_awaiting_person",
        /// The person who placed a manual order said it went through.
        PurchaseReportedDone => "purchase_reported_done",
        /// The manual purchase task was posted to the billing approvers.
        PurchaseTaskPosted => "purchase_task_posted",
        /// The billing approvers were reminded of a manual purchase task.
        PurchaseTaskReminded => "purchase_task_reminded",
        /// A holder gave their own licence back (no approval needed).
        ReleasedByHolder => "released_by_holder",
        /// The approvers of a waiting stage were reminded.
        ReminderSent => "reminder_sent",
        /// A licence check corrected the bot's records where the tenant is the truth.
        Reconciled => "reconciled",
        /// The first of the two approvals a stage needs was given (two-person rule).
        StageApprovalCounted => "stage_approval_counted",
        /// An approver who approved a two-person stage already approved it again: one
        /// approval still.
        DecisionRefusedSameApprover => "decision_refused_same_approver",
        /// A purchase over the monthly budget was approved by someone without an
        /// over-budget role: refused.
        DecisionRefusedOverBudget => "decision_refused_over_budget",
        /// A time-bound licence's holder was reminded of its end.
        TermReminded => "term_reminded",
        /// A time-bound licence's term ended: its release was opened.
        TermEnded => "term_ended",
        /// A ♻️ chose to move a seat nobody uses instead of buying one.
        ReclaimChosen => "reclaim_chosen",
        /// The holder kept the licence a ♻️ was to move.
        ReclaimKept => "reclaim_kept",
        /// A ♻️ refused (no purchase of one seat, no assign role, nobody to move).
        ReclaimRefused => "reclaim_refused",
        /// A request was opened with its stages.
        RequestCreated => "request_created",
        /// A request's state changed.
        RequestState => "request_state",
        /// A seat bought for a request stays paid and free (the request ended without it).
        SeatLeftFree => "seat_left_free",
        /// A decision on one's own request refused.
        SelfDecisionRefused => "self_decision_refused",
        /// No seat was free for a group's licence: a purchase stage was added before the
        /// assignment.
        SeatNeeded => "seat_needed",
        /// A stage was approved.
        StageApproved => "stage_approved",
        /// A stage's change was made and verified.
        StageCompleted => "stage_completed",
        /// A stage was denied.
        StageDenied => "stage_denied",
        /// A stage's job failed.
        StageFailed => "stage_failed",
        /// A link was removed.
        Unlinked => "unlinked",
    }
);
