//! Moving requests along, which every use case does: the licence policy, who may decide a
//! stage, approval messages, queueing jobs, finishing requests and telling people. These are
//! methods on the shared [`Core`] (they need nothing else), so intake, decisions, the worker
//! and the scheduler call one copy. Also the words for new work ([`NewWork`], [`Approval`]).

use std::collections::BTreeMap;

use super::config::Approver;
use super::core::Core;
use super::directory::Candidate;
use super::error::{EngineError, EngineResult};
use crate::domain::{
    Actor, AuditAction, BillingCycle, ChannelRef, ChatUserId, Language, RequestId, RequestKind,
    RequestState, RoleSet, StageId, StageKind, StageState, Term, Upn, UserType,
};
use crate::engine::ports::DirectoryUser;
use crate::said;
use crate::store::jobs::{self, Job, JobPayload};
use crate::store::outbox::{self, ChatAction};
use crate::store::requests::{self, Request};
use crate::store::stages::{self, Stage};
use crate::store::{languages, Timestamp, WriteTx};
use crate::t;
use crate::texts::Said;

/// One request to open.
#[derive(Debug, Clone)]
pub(super) struct NewWork {
    pub kind: RequestKind,
    pub target: Option<DirectoryUser>,
    pub quantity: Option<i64>,
    pub cycle: Option<BillingCycle>,
    pub reason: Option<String>,
    /// How long the licence is given for (assignments), and the licence it extends.
    pub term: Option<(Term, Option<RequestId>)>,
    /// The time-bound licence whose end this release is (claimed as the request opens).
    pub ends: Option<RequestId>,
}

impl NewWork {
    /// A licence request (assign, release, revoke) for a directory user.
    pub(super) fn licence(kind: RequestKind, user: DirectoryUser, reason: Option<String>) -> Self {
        NewWork {
            kind,
            target: Some(user),
            quantity: None,
            cycle: None,
            reason,
            term: None,
            ends: None,
        }
    }

    /// Whether it extends a time-bound licence (whose holder keeps their seat).
    pub(super) fn extends(&self) -> bool {
        self.term.is_some_and(|(_, extends)| extends.is_some())
    }

    /// A purchase of seats.
    pub(super) fn purchase(quantity: i64, cycle: BillingCycle) -> Self {
        NewWork {
            kind: RequestKind::Purchase,
            target: None,
            quantity: Some(quantity),
            cycle: Some(cycle),
            reason: None,
            term: None,
            ends: None,
        }
    }
}

/// A request as a change left it, with its stages and what telling its requester needs (as
/// read in the change's transaction); None when there is no such request.
pub(super) type Moved = Option<(Request, Vec<Stage>, languages::Told)>;

/// Who approves the stages of new requests.
#[derive(Debug, Clone, Copy)]
pub(super) enum Approval<'a> {
    /// Route every stage to eligible approvers.
    Routed,
    /// An approver's own command: stages whose role they hold are approved by the command
    /// (except an assignment to themself); the rest are routed.
    ByIssuer(&'a Approver, &'a RoleSet),
    /// The holder gives their own licence back: no approval needed.
    SelfService,
    /// A time-bound licence's term ended: released with no approval.
    TermEnded,
}

impl Core {
    /// Who may decide a stage: holders of one of its roles, never the requester, nor the
    /// person the licence is for.
    pub(super) fn eligible(
        &self,
        candidates: &[Candidate],
        needed: &RoleSet,
        requester: &ChatUserId,
        exclude_upns: &[&Upn],
    ) -> Vec<ChatUserId> {
        candidates
            .iter()
            .filter(|c| &c.approver.chat_user != requester)
            .filter(|c| !exclude_upns.contains(&&c.approver.upn))
            .filter(|c| c.roles.intersects(needed))
            .map(|c| c.approver.chat_user.clone())
            .collect()
    }

    /// Checks that a directory user may get a licence; the error is the chat answer.
    pub(super) fn licence_policy(&self, user: &DirectoryUser) -> Result<(), String> {
        if !user.account_enabled {
            return Err(t!(self.texts(), "policy.disabled", upn = user.upn));
        }
        if user.holds(&self.cfg().sku_part_number) {
            return Err(t!(
                self.texts(),
                "policy.already_pro",
                upn = user.upn,
                sku = self.cfg().sku_part_number
            ));
        }
        if let Some(l) = user.pro_from() {
            return Err(t!(
                self.texts(),
                "policy.included",
                upn = user.upn,
                sku = l.sku_part_number
            ));
        }
        if user.user_type == UserType::Guest && !self.cfg().allow_guests {
            return Err(t!(self.texts(), "policy.guest", upn = user.upn));
        }
        Ok(())
    }

    /// Queues an approval message for a stage and the bot's own approve/deny reactions.
    pub(super) async fn post_approval(
        &self,
        tx: &mut WriteTx<'_>,
        stage: StageId,
        body: String,
        routed: &[ChatUserId],
    ) -> EngineResult<()> {
        let channel = self.cfg().approvals_channel.clone();
        let mut actions = vec![ChatAction::Send {
            channel: channel.clone(),
            content: body,
            reply_to: None,
            stage: Some(stage),
            mentions: routed.to_vec(),
        }];
        actions.extend(self.decision_reactions(&channel, stage));
        outbox::push_all(tx, &actions, self.now())?;
        Ok(())
    }

    /// Posts `text` (rendered in the approvals language) in the approvals channel as a reply
    /// to `stage`'s approval message, pinging `mentions` (and nobody else).
    pub(super) async fn post_under_approval(
        &self,
        tx: &mut WriteTx<'_>,
        stage: &Stage,
        text: &(dyn Fn() -> String + Sync),
        mentions: Vec<ChatUserId>,
    ) -> EngineResult<()> {
        let post = ChatAction::Send {
            channel: self.cfg().approvals_channel.clone(),
            content: self.for_approvers(text),
            reply_to: stage.approval_message.clone(),
            stage: None,
            mentions,
        };
        outbox::push(tx, &post, self.now())?;
        Ok(())
    }

    /// Queues the bot's own ✅ and ❌ (the first approve and deny emoji) under a stage's
    /// approval message, so approvers can click them.
    pub(super) async fn queue_decision_reactions(
        &self,
        tx: &mut WriteTx<'_>,
        channel: &ChannelRef,
        stage: StageId,
    ) -> EngineResult<()> {
        let reactions = self.decision_reactions(channel, stage);
        outbox::push_all(tx, &reactions, self.now())?;
        Ok(())
    }

    /// The bot's own ✅ and ❌ under a stage's approval message, as outbox actions.
    fn decision_reactions(&self, channel: &ChannelRef, stage: StageId) -> Vec<ChatAction> {
        [
            self.cfg().approve_emojis.first(),
            self.cfg().deny_emojis.first(),
        ]
        .into_iter()
        .flatten()
        .map(|emoji| ChatAction::React {
            channel: channel.clone(),
            message: None,
            stage: Some(stage),
            emoji: emoji.clone(),
        })
        .collect()
    }

    /// Queues an edit of a stage's approval message: its body plus a status line (rendered
    /// in the approvals language).
    pub(super) async fn edit_stage(
        &self,
        tx: &mut WriteTx<'_>,
        stage: &Stage,
        status: &(dyn Fn() -> String + Sync),
    ) -> EngineResult<()> {
        // Stages approved by a command have no approval message of their own.
        if stage.approval_message.is_none()
            && !outbox::stage_has_post(tx.conn().await?, stage.id).await?
        {
            return Ok(());
        }
        outbox::push(
            tx,
            &ChatAction::Edit {
                channel: self.cfg().approvals_channel.clone(),
                message: stage.approval_message.clone(),
                stage: Some(stage.id),
                content: self.for_approvers(|| self.approval_with_status(stage, &status())),
            },
            self.now(),
        )?;
        Ok(())
    }

    /// Tells the requester: a reply under their original message and a direct message.
    ///
    /// A request that is one of several opened by the same message (an `assign` of many
    /// people) is not told one by one: when the last of them ends, the requester gets one
    /// summary instead.
    ///
    /// `text` is rendered in the requester's language ([`Core::language_in`]).
    pub(super) async fn tell_requester(
        &self,
        tx: &mut WriteTx<'_>,
        r: &Request,
        text: &(dyn Fn() -> String + Sync),
    ) -> EngineResult<()> {
        // One read for the language and whether the request is one of a batch; the batch
        // itself only when it is one.
        let told =
            languages::told(tx.conn().await?, &r.requester, r.origin_message.as_ref()).await?;
        self.tell_requester_as(tx, r, text, told).await
    }

    /// [`Core::tell_requester`] with what telling them needs read already, in `tx`.
    pub(super) async fn tell_requester_as(
        &self,
        tx: &mut WriteTx<'_>,
        r: &Request,
        text: &(dyn Fn() -> String + Sync),
        told: languages::Told,
    ) -> EngineResult<()> {
        let message = r.origin_message.as_ref();
        let language = self.language_or_default(told.language);
        if let (Some(m), true) = (message, told.batch > 1) {
            let siblings = requests::from_message(tx.conn().await?, &r.requester, m).await?;
            return self.tell_batch(tx, r, &siblings, language).await;
        }
        let text = self.in_language(language, text);
        self.say_to_requester(tx, r, &text).await
    }

    async fn say_to_requester(
        &self,
        tx: &mut WriteTx<'_>,
        r: &Request,
        text: &str,
    ) -> EngineResult<()> {
        let mut actions = Vec::with_capacity(2);
        if let (Some(channel), Some(message)) = (&r.origin_channel, &r.origin_message) {
            actions.push(ChatAction::Send {
                channel: channel.clone(),
                content: format!("{} {}", self.mention(&r.requester), text),
                reply_to: Some(message.clone()),
                stage: None,
                mentions: vec![r.requester.clone()],
            });
        }
        actions.push(ChatAction::Dm {
            user: r.requester.clone(),
            content: text.to_string(),
            fallback: None,
            fallback_reply_to: None,
        });
        // The bot's own words about the request: no link or code (see `push_notice`).
        outbox::push_notice(tx, &actions, self.now())?;
        Ok(())
    }

    /// Once every request of a batch has ended, one summary for its requester, in
    /// `language`.
    async fn tell_batch(
        &self,
        tx: &mut WriteTx<'_>,
        r: &Request,
        siblings: &[Request],
        language: Language,
    ) -> EngineResult<()> {
        if siblings.iter().any(|s| s.state.is_open()) {
            return Ok(());
        }
        let Some(message) = &r.origin_message else {
            return Ok(());
        };
        if !requests::claim_batch_summary(tx.conn().await?, &r.requester, message, self.now())
            .await?
        {
            return Ok(());
        }
        let done = siblings
            .iter()
            .filter(|s| s.state == RequestState::Completed)
            .count();
        let summary = self.in_language(language, || {
            let mut lines = vec![t!(
                self.texts(),
                "tell.batch_summary",
                done = done,
                total = siblings.len(),
                first = siblings[0].id,
                last = siblings[siblings.len() - 1].id
            )];
            for s in siblings
                .iter()
                .filter(|s| s.state != RequestState::Completed)
            {
                lines.push(t!(
                    self.texts(),
                    "tell.batch_line",
                    id = s.id,
                    subject = self.subject(s),
                    state = self.state_word(s.state),
                    outcome = s.outcome.as_deref().unwrap_or("-")
                ));
            }
            lines.join("\n")
        });
        self.say_to_requester(tx, r, &summary).await
    }

    /// Tells a person directly (falling back to the approvals channel when DMs are closed),
    /// `text` rendered in their language ([`Core::language_in`]).
    pub(super) async fn tell_user(
        &self,
        tx: &mut WriteTx<'_>,
        user: &ChatUserId,
        text: &(dyn Fn() -> String + Sync),
    ) -> EngineResult<()> {
        let language = self.language_in(tx, user).await?;
        outbox::push(
            tx,
            &ChatAction::Dm {
                user: user.clone(),
                content: self.in_language(language, text),
                fallback: Some(self.cfg().approvals_channel.clone()),
                fallback_reply_to: None,
            },
            self.now(),
        )?;
        Ok(())
    }

    /// The absolute seat target for a purchase approved now: above the seats enabled now and
    /// above every purchase already queued, by `quantity`.
    pub(super) async fn purchase_target(
        &self,
        tx: &mut WriteTx<'_>,
        enabled_now: i64,
        quantity: i64,
    ) -> EngineResult<i64> {
        if quantity < 0 {
            // A reduction: no purchase may be open at the same time (checked when it was
            // asked for), so it counts from the seats there are now.
            return Ok(enabled_now + quantity);
        }
        let queued = jobs::highest_open_purchase_target(tx.conn().await?).await?;
        Ok(enabled_now.max(queued.unwrap_or(0)) + quantity)
    }

    /// Moves a request along after a change: queues the job of the next approved stage whose
    /// predecessors are done, re-derives the request's state, and tells the requester when it
    /// changed. `enabled_now` is the seat count read just before, needed to fix a purchase's
    /// target when its job is queued. Returns the request as it is after it (None when there
    /// is no such request).
    pub(super) async fn advance(
        &self,
        tx: &mut WriteTx<'_>,
        id: RequestId,
        enabled_now: Option<i64>,
        actor: &Actor,
    ) -> EngineResult<Option<Request>> {
        Ok(self
            .advance_with_stages(tx, id, enabled_now, actor, None)
            .await?
            .map(|(request, _, _)| request))
    }

    /// [`Core::advance`], returning the request's stages too (as they are after it), and
    /// what telling the requester needs as read in `tx` (for [`Core::tell_requester_as`]
    /// later in it). `outcome`: the words stored with the request when this completes it.
    pub(super) async fn advance_with_stages(
        &self,
        tx: &mut WriteTx<'_>,
        id: RequestId,
        enabled_now: Option<i64>,
        actor: &Actor,
        outcome: Option<&str>,
    ) -> EngineResult<Moved> {
        let (moved, _) = self
            .advance_as(tx, id, (enabled_now, outcome), actor, None)
            .await?;
        Ok(moved)
    }

    /// [`Core::advance_with_stages`] for a transaction that runs the job it queues next (a
    /// decision): the job is queued claimed under `lease` (a lessee and when the lease ends)
    /// when no other job is due ([`jobs::enqueue_claimed`]), and returned so.
    pub(super) async fn advance_claiming(
        &self,
        tx: &mut WriteTx<'_>,
        id: RequestId,
        enabled_now: Option<i64>,
        actor: &Actor,
        lease: (&str, Timestamp),
    ) -> EngineResult<(Moved, Option<Job>)> {
        self.advance_as(tx, id, (enabled_now, None), actor, Some(lease))
            .await
    }

    /// [`Core::advance_with_stages`], the job queued claimed under `lease` when one is given
    /// (see [`Core::advance_claiming`]).
    async fn advance_as(
        &self,
        tx: &mut WriteTx<'_>,
        id: RequestId,
        (enabled_now, outcome): (Option<i64>, Option<&str>),
        actor: &Actor,
        lease: Option<(&str, Timestamp)>,
    ) -> EngineResult<(Moved, Option<Job>)> {
        // With what telling the requester needs, should this tell them.
        let Some((request, all, told)) = stages::of_request_told(tx, id).await? else {
            return Ok((None, None));
        };
        let now = self.now();
        // The first stage not completed runs next, once approved and what it waits on is done.
        let mut claimed = None;
        if let Some(stage) = all.iter().find(|s| s.state != StageState::Completed) {
            if stage.state == StageState::Approved {
                claimed = self
                    .queue_job(tx, (&request, stage, &all), enabled_now, lease)
                    .await?;
            }
        }
        // Queuing a job changes no stage's state: the states read above still hold.
        let states: Vec<StageState> = all.iter().map(|s| s.state).collect();
        let new_state = RequestState::from_stages(&states);
        if new_state != request.state {
            let outcome = outcome.filter(|_| new_state == RequestState::Completed);
            requests::set_state(tx, id, new_state, outcome, now);
            if new_state == RequestState::Completed {
                self.observe_completion(request.created_at);
            }
            self.audit(
                tx,
                Some(id),
                actor,
                AuditAction::RequestState,
                Some(request.state.as_str()),
                Some(new_state.as_str()),
                "",
            )
            .await?;
            let own_action = *actor == Actor::chat(&request.requester);
            if new_state == RequestState::Approved
                && request.state == RequestState::Pending
                && !own_action
            {
                let r = Request {
                    state: new_state,
                    updated_at: now,
                    ..request.clone()
                };
                let text = || {
                    t!(
                        self.texts(),
                        "tell.approved",
                        id = id,
                        subject = self.subject(&r)
                    )
                };
                // Nothing since the read changed a language or the batch: `told` holds.
                self.tell_requester_as(tx, &r, &text, told).await?;
            }
        }
        let request = if new_state == request.state {
            request
        } else {
            Request {
                state: new_state,
                updated_at: now,
                ..request
            }
        };
        Ok((Some((request, all, told)), claimed))
    }

    /// Queues the job of an approved `stage` unless it waits on a stage not completed or
    /// has its job already. A purchase's absolute target is fixed here from `enabled_now`.
    /// `all`: the request's stages as they stand in `tx` (a stage waited on in another
    /// request, a shared purchase, is read).
    ///
    /// With `lease`, the job is queued claimed under it when no other job is due, and
    /// returned ([`jobs::enqueue_claimed`]); else queued as any.
    async fn queue_job(
        &self,
        tx: &mut WriteTx<'_>,
        (request, stage, all): (&Request, &Stage, &[Stage]),
        enabled_now: Option<i64>,
        lease: Option<(&str, Timestamp)>,
    ) -> EngineResult<Option<Job>> {
        let id = request.id;
        if let Some(dep) = stage.depends_on {
            let done = match all.iter().find(|s| s.id == dep) {
                Some(d) => d.state == StageState::Completed,
                None => stages::get(tx.conn().await?, dep)
                    .await?
                    .is_some_and(|d| d.state == StageState::Completed),
            };
            if !done {
                return Ok(None);
            }
        }
        // A purchase's target is worked out only for a job not queued yet; an assignment's
        // job is simply not queued twice (the insert keeps the first).
        if stage.kind == StageKind::Purchase
            && jobs::for_stage(tx.conn().await?, stage.id).await?.is_some()
        {
            return Ok(None);
        }
        let payload = match stage.kind {
            StageKind::Purchase => {
                let Some(enabled) = enabled_now else {
                    return Err(EngineError::User(t!(
                        self.texts(),
                        "backend.seats_unavailable"
                    )));
                };
                let quantity = stage.quantity.unwrap_or(0);
                JobPayload::Purchase {
                    target_seats: self.purchase_target(tx, enabled, quantity).await?,
                    quantity,
                    billing_cycle: stage
                        .billing_cycle
                        .unwrap_or(self.cfg().default_billing_cycle),
                    idempotency_key: format!(
                        "licensebot-r{}-s{}-{}",
                        id.0,
                        stage.id.0,
                        rand::random::<u64>()
                    ),
                }
            }
            StageKind::Assign | StageKind::Unassign => {
                let Some(upn) = request.target_upn.clone() else {
                    return Err(EngineError::Unexpected(anyhow::anyhow!(
                        "request {id} has no target for its {} stage",
                        stage.kind
                    )));
                };
                if stage.kind == StageKind::Assign {
                    JobPayload::Assign { upn }
                } else {
                    JobPayload::Unassign { upn }
                }
            }
        };
        let now = self.now();
        let claimed = match lease {
            Some(lease) => jobs::enqueue_claimed(tx, stage.id, &payload, now, lease).await?,
            None => None,
        };
        if claimed.is_none() && !jobs::enqueue(tx, stage.id, &payload, now).await? {
            return Ok(None);
        }
        self.audit_note(
            tx,
            Some(id),
            &Actor::System,
            AuditAction::JobQueued,
            &serde_json::to_string(&payload).map_err(|e| EngineError::Unexpected(e.into()))?,
        )
        .await?;
        Ok(claimed)
    }

    /// Ends every unfinished stage of a request (denial, failure, cancellation, expiry),
    /// cancels their queued jobs, and ends the requests that wait on them. Returns the stages
    /// that changed, for edits.
    pub(super) async fn close_stages(
        &self,
        tx: &mut WriteTx<'_>,
        id: RequestId,
        to: StageState,
        why: &str,
        actor: &Actor,
    ) -> EngineResult<Vec<Stage>> {
        let mut changed = Vec::new();
        for stage in stages::for_request(tx.conn().await?, id).await? {
            let from = stage.state;
            if matches!(from, StageState::Pending | StageState::Approved)
                && stages::transition(tx.conn().await?, stage.id, from, to).await?
            {
                if let Some(job) = jobs::for_stage(tx.conn().await?, stage.id).await? {
                    if job.state == jobs::JobState::Queued {
                        jobs::fail(tx, job.id, why, self.now());
                    }
                }
                changed.push(stage.clone());
            }
        }
        // Requests whose stages wait on a stage of this one cannot go on either.
        let mut waiting: BTreeMap<RequestId, ()> = BTreeMap::new();
        for stage in stages::for_request(tx.conn().await?, id).await? {
            if stage.kind == StageKind::Purchase && stage.state != StageState::Completed {
                for dep in stages::dependents(tx.conn().await?, stage.id).await? {
                    if !dep.state.is_final() && dep.request_id != id {
                        waiting.insert(dep.request_id, ());
                    }
                }
            }
        }
        for (other, ()) in waiting {
            let text = said!("outcome.dependency_ended", other = id);
            let why = self.recorded(&text);
            let ended =
                Box::pin(self.close_stages(tx, other, StageState::Cancelled, &why, actor)).await?;
            for s in &ended {
                let status = || t!(self.texts(), "status.cancelled_dependency", other = id);
                self.edit_stage(tx, s, &status).await?;
            }
            self.finish_request(tx, other, &text, actor).await?;
        }
        Ok(changed)
    }

    /// Re-derives a closed request's state, records the outcome and tells the requester.
    pub(super) async fn finish_request(
        &self,
        tx: &mut WriteTx<'_>,
        id: RequestId,
        outcome: &Said,
        actor: &Actor,
    ) -> EngineResult<()> {
        let Some((before, all)) = stages::of_request(tx.conn().await?, id).await? else {
            return Ok(());
        };
        let states: Vec<StageState> = all.iter().map(|s| s.state).collect();
        let state = RequestState::from_stages(&states);
        let now = self.now();
        let seat_left = match state {
            RequestState::Completed => None,
            _ => self.seat_bought_for(tx, &before, &all).await?,
        };
        let outcome = match &seat_left {
            Some(_) => said!(
                "outcome.joined",
                first = *outcome,
                then = said!("outcome.seat_left_free", prefix = self.cfg().parser.prefix)
            ),
            None => outcome.clone(),
        };
        // Stored and audited in the bot's language; told in the requester's.
        let recorded = self.recorded(&outcome);
        let outcome = &outcome;
        requests::set_state(tx, id, state, Some(&recorded), now);
        self.audit(
            tx,
            Some(id),
            actor,
            AuditAction::RequestState,
            Some(before.state.as_str()),
            Some(state.as_str()),
            &recorded,
        )
        .await?;
        // The row as just written.
        let r = Request {
            state,
            outcome: Some(recorded.clone()),
            updated_at: now,
            ..before
        };
        let text = || {
            t!(
                self.texts(),
                "tell.closed",
                id = id,
                subject = self.subject(&r),
                state = self.state_word(state),
                outcome = outcome.render(self.texts())
            )
        };
        self.tell_requester(tx, &r, &text).await?;
        if let Some(purchase) = seat_left {
            self.tell_seat_left_free(tx, &r, &purchase, actor).await?;
        }
        Ok(())
    }

    /// Tells the people who held a licence that was just removed, when it was not their own
    /// doing: every chat account linked to the directory user (by a link or the
    /// configuration) other than the one who asked for the removal, by DM, with who took it
    /// and the reason given.
    pub(super) async fn tell_former_holders(
        &self,
        tx: &mut WriteTx<'_>,
        r: &Request,
    ) -> EngineResult<()> {
        let Some(upn) = &r.target_upn else {
            return Ok(());
        };
        // Only verified links: a pending one was never proven to be the holder's.
        let mut holders = crate::store::links::verified_users_for(tx.conn().await?, upn).await?;
        holders.extend(
            self.cfg()
                .approvers
                .iter()
                .filter(|a| &a.upn == upn)
                .map(|a| a.chat_user.clone()),
        );
        holders.sort();
        holders.dedup();
        for holder in holders.iter().filter(|h| *h != &r.requester) {
            let text = || {
                t!(
                    self.texts(),
                    "tell.licence_taken",
                    upn = upn,
                    who = self.mention(&r.requester),
                    id = r.id,
                    reason = self.reason_text(r.reason.as_deref()),
                    prefix = self.cfg().parser.prefix
                )
            };
            self.tell_user(tx, holder, &text).await?;
        }
        Ok(())
    }

    /// The completed purchase stage that bought the seat of an assignment request, if one
    /// did: its own purchase stage, or the one (of another request) it waited on. A request
    /// that ends without its licence after that leaves one paid seat free.
    async fn seat_bought_for(
        &self,
        tx: &mut WriteTx<'_>,
        r: &Request,
        all: &[Stage],
    ) -> EngineResult<Option<Stage>> {
        if r.kind != RequestKind::Assign {
            return Ok(None);
        }
        let bought = |s: &Stage| {
            s.kind == StageKind::Purchase
                && s.state == StageState::Completed
                && s.quantity.is_some_and(|q| q > 0)
        };
        if let Some(own) = all.iter().find(|s| bought(s)) {
            return Ok(Some(own.clone()));
        }
        for dep in all.iter().filter_map(|s| s.depends_on) {
            if let Some(purchase) = stages::get(tx.conn().await?, dep)
                .await?
                .filter(|s| bought(s))
            {
                return Ok(Some(purchase));
            }
        }
        Ok(None)
    }

    /// Tells the approvers that a seat bought for a request that then ended without its
    /// licence stays paid and free, and how to remove it: under the purchase's approval
    /// message, mentioning who approved the purchase. Audited.
    async fn tell_seat_left_free(
        &self,
        tx: &mut WriteTx<'_>,
        r: &Request,
        purchase: &Stage,
        actor: &Actor,
    ) -> EngineResult<()> {
        let mentions: Vec<ChatUserId> = purchase.decided_by.iter().cloned().collect();
        let text = self.for_approvers(|| {
            t!(
                self.texts(),
                "approval.seat_left_free",
                who = self.mentions(&mentions),
                id = r.id,
                state = self.state_word(r.state),
                prefix = self.cfg().parser.prefix
            )
        });
        outbox::push(
            tx,
            &ChatAction::Send {
                channel: self.cfg().approvals_channel.clone(),
                content: text,
                reply_to: purchase.approval_message.clone(),
                stage: None,
                mentions,
            },
            self.now(),
        )?;
        let detail = serde_json::json!({"purchase_request": purchase.request_id.0, "purchase_stage": purchase.seq, "seats": 1}).to_string();
        self.audit_note(tx, Some(r.id), actor, AuditAction::SeatLeftFree, &detail)
            .await?;
        Ok(())
    }
}
