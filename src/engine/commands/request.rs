//! `!pro request`: a person asks for the licence, for themselves or someone else; who may
//! ask, and the reply that says what happens next.

use super::Intake;
use crate::command::Target;
use crate::domain::{RequestKind, StageKind, StageState, Term};
use crate::engine::error::{EngineError, EngineResult};
use crate::engine::links::Identity;
use crate::engine::opening::Opened;
use crate::engine::ports::IncomingMessage;
use crate::engine::requests::{Approval, NewWork};
use crate::store::requests;
use crate::store::stages::Stage;
use crate::t;

impl Intake {
    pub(super) async fn request(
        &self,
        m: &IncomingMessage,
        target: Option<Target>,
        term: Option<Term>,
        reason: Option<String>,
    ) -> EngineResult<()> {
        self.may_request(m)?;
        let term = self.term_within_policy(term)?;
        let requester = self.links.own_identity(m, "request").await?;
        let target_upn = match &target {
            None => requester.upn.clone(),
            Some(t) => {
                if self.core.cfg().approver(&m.author).is_none() {
                    return Err(EngineError::User(t!(
                        self.core.texts(),
                        "request.for_others_approvers_only"
                    )));
                }
                self.resolve_target(t).await?
            }
        };
        // The person and the seats in one lookup (one call to a backend that batches), the
        // seats planned with the worker held off, as `!pro assign` does.
        let planning = self.opening.seat_planning().await;
        let (user, seats) = self.directory.user_and_seats(&target_upn).await?;
        self.directory
            .licence_policy(&user)
            .await
            .map_err(EngineError::User)?;
        let mut work = NewWork::licence(RequestKind::Assign, user, reason);
        work.term = term.map(|t| (t, None));
        let answer = |r: &requests::Request, all: &[Stage]| self.created_text(r, all);
        let opened = Opened {
            approval: Approval::Routed,
            enforce_limit: true,
            seats,
            answer: Some(&answer),
        };
        self.opening
            .open_requests_planned(&planning, m, Some(requester), vec![work], opened)
            .await?;
        Ok(())
    }

    /// The term a licence is given for: the one asked, at most `[policy] max_duration`;
    /// without one asked, the maximum (none when there is no limit).
    pub(super) fn term_within_policy(&self, asked: Option<Term>) -> EngineResult<Option<Term>> {
        let max = self.core.cfg().max_term;
        match (asked, max) {
            (Some(t), Some(max)) if t > max => Err(EngineError::User(t!(
                self.core.texts(),
                "term.too_long",
                days = t.days(),
                max = max.days()
            ))),
            (Some(t), _) => Ok(Some(t)),
            (None, max) => Ok(max),
        }
    }

    /// `[policy] requesters`: when set, only the chat users named (console) or holding one of
    /// the roles (Discord) may ask.
    pub(super) fn may_request(&self, m: &IncomingMessage) -> EngineResult<()> {
        let allowed = &self.core.cfg().requesters;
        if allowed.is_empty()
            || allowed.iter().any(|r| r == m.author.as_str())
            || m.roles.iter().any(|r| allowed.contains(r))
        {
            return Ok(());
        }
        Err(EngineError::User(t!(
            self.core.texts(),
            "request.not_a_requester"
        )))
    }

    /// Opens one request and answers with what became of it, in the transaction that opens
    /// it.
    pub(super) async fn open_and_reply(
        &self,
        m: &IncomingMessage,
        requester: Identity,
        work: NewWork,
        approval: Approval<'_>,
        enforce_limit: bool,
    ) -> EngineResult<()> {
        let answer = |r: &requests::Request, all: &[Stage]| self.created_text(r, all);
        self.opening
            .open_requests(
                m,
                Some(requester),
                vec![work],
                approval,
                enforce_limit,
                Some(&answer),
            )
            .await?;
        Ok(())
    }

    /// What a person is told of a request just opened (`all`: its stages).
    pub(super) fn created_text(&self, r: &requests::Request, all: &[Stage]) -> String {
        let purchase = all.iter().find(|s| s.kind == StageKind::Purchase);
        let pending = all.iter().any(|s| s.state == StageState::Pending);
        match (purchase, pending) {
            (Some(p), true) => t!(
                self.core.texts(),
                "request.created_with_purchase",
                id = r.id,
                subject = self.core.subject(r),
                quantity = p.quantity.unwrap_or(0)
            ),
            (None, true) if all.iter().any(|s| s.depends_on.is_some()) => {
                t!(
                    self.core.texts(),
                    "request.created_waiting",
                    id = r.id,
                    subject = self.core.subject(r)
                )
            }
            (_, true) => t!(
                self.core.texts(),
                "request.created",
                id = r.id,
                subject = self.core.subject(r)
            ),
            (_, false) => t!(
                self.core.texts(),
                "request.created_approved",
                id = r.id,
                subject = self.core.subject(r)
            ),
        }
    }
}
