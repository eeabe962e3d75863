//! Requests, their stages, and the small vocabularies they use.

use super::ParseError;

word_enum!(
    /// What a request asks for.
    RequestKind {
        /// Give a directory user a Pro licence (with a purchase stage first if no seat is free).
        Assign => "assign",
        /// Raise the number of seats.
        Purchase => "purchase",
        /// The holder gives their own licence back.
        Release => "release",
        /// An approver takes a licence away.
        Revoke => "revoke",
    }
);

word_enum!(
    /// Where a request is in its life.
    RequestState {
        /// Waiting for at least one decision.
        Pending => "pending",
        /// Every stage approved; work queued.
        Approved => "approved",
        /// A job is running against the backend.
        Executing => "executing",
        /// Done and verified.
        Completed => "completed",
        /// An approver said no.
        Denied => "denied",
        /// The requester (or an approver) withdrew it.
        Cancelled => "cancelled",
        /// Nobody decided in time.
        Expired => "expired",
        /// The backend refused for good, or retries ran out.
        Failed => "failed",
    }
);

impl RequestState {
    /// True while the request (or stage) can still change on its own or by decision.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            RequestState::Pending | RequestState::Approved | RequestState::Executing
        )
    }

    /// True once nothing more happens to the stage (or request).
    pub fn is_final(self) -> bool {
        !self.is_open()
    }
}

word_enum!(
    /// The kind of work one approval stage authorises.
    StageKind {
        /// Raise the seat count; needs a purchase role.
        Purchase => "purchase",
        /// Assign the licence; needs an assignment role.
        Assign => "assign",
        /// Remove the licence (release or revoke); needs an assignment role.
        Unassign => "unassign",
    }
);

/// Where one stage is: a stage moves through the same states, with the same words, as a
/// request (a request is where its deciding stage is), so both share one vocabulary.
/// `Cancelled` on a stage also means dropped because another stage of the request was
/// denied or failed.
pub type StageState = RequestState;

impl RequestState {
    /// The request's state, derived from its stages (in execution order).
    pub fn from_stages(stages: &[StageState]) -> RequestState {
        use StageState as S;
        let any = |s: S| stages.contains(&s);
        if any(S::Denied) {
            RequestState::Denied
        } else if any(S::Failed) {
            RequestState::Failed
        } else if any(S::Expired) {
            RequestState::Expired
        } else if any(S::Cancelled) {
            RequestState::Cancelled
        } else if stages.is_empty() || stages.iter().all(|s| *s == S::Completed) {
            RequestState::Completed
        } else if any(S::Executing) {
            RequestState::Executing
        } else if any(S::Pending) {
            RequestState::Pending
        } else {
            RequestState::Approved
        }
    }
}

word_enum!(
    /// How seats are paid for.
    BillingCycle {
        /// Paid month by month.
        Monthly => "monthly",
        /// Paid for a full year.
        Annual => "annual",
    }
);

word_enum!(
    /// How a stage was decided.
    DecisionSource {
        /// An approver's reaction on the stage's approval message.
        Reaction => "reaction",
        /// The same reaction, on another stage of the request whose role the approver holds.
        SameReaction => "same_reaction",
        /// The approver's own command (`!pro assign`, `!pro buy`, …) approved it.
        Command => "command",
        /// The holder gave their own licence back: no approval, and never shown as one.
        SelfService => "self_service",
        /// A time-bound licence's term ended: released with no approval.
        TermEnded => "term_ended",
        /// A ♻️ chose to move a seat instead of buying; the move approved the purchase stage
        /// when its grace period was over.
        Reclaim => "reclaim",
        /// An auto-approval rule approved it (`[[auto_approve]]`).
        AutoRule => "auto_rule",
    }
);

word_enum!(
    /// Whether a directory user belongs to the organisation or is a guest.
    UserType {
        /// A member of the organisation.
        Member => "Member",
        /// A guest (B2B) account.
        Guest => "Guest",
    }
);

/// A two-letter ISO 3166 country code, as Microsoft's `usageLocation` wants it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CountryCode(String);

impl CountryCode {
    /// Parses `nl` or `NL` into `NL`.
    pub fn parse(s: &str) -> Result<CountryCode, ParseError> {
        let t = s.trim();
        if t.len() == 2 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(CountryCode(t.to_ascii_uppercase()))
        } else {
            Err(ParseError(format!(
                "`{t}` is not a two-letter country code such as NL or US"
            )))
        }
    }
}

super::checked_text!(CountryCode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_state_follows_its_stages() {
        use RequestState as S;
        let cases = [
            ([S::Pending, S::Pending], S::Pending),
            ([S::Completed, S::Pending], S::Pending),
            ([S::Completed, S::Approved], S::Approved),
            ([S::Executing, S::Pending], S::Executing),
            ([S::Denied, S::Cancelled], S::Denied),
            ([S::Completed, S::Completed], S::Completed),
        ];
        for (stages, request) in cases {
            assert_eq!(RequestState::from_stages(&stages), request, "{stages:?}");
        }
    }

    #[test]
    fn words_round_trip() {
        for k in RequestKind::ALL {
            assert_eq!(k.as_str().parse::<RequestKind>().unwrap(), *k);
        }
        assert_eq!(
            "ANNUAL".parse::<BillingCycle>().unwrap(),
            BillingCycle::Annual
        );
        assert_eq!("guest".parse::<UserType>().unwrap(), UserType::Guest);
    }
}
