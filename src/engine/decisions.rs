//! Decisions: reactions on approval messages, and denial reasons given as replies.
//!
//! [`Decisions`] holds the shared context and the directory (to check the decider's roles
//! now). A reaction on an approval message comes with a [`Seal`]: whatever it changes is
//! written in the transaction that records the reaction as applied, so a replayed gateway
//! event or the catch-up after a restart never applies it twice, and a crash leaves it
//! either applied and recorded or neither.

use super::crash::{crash_point, CrashPoint};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::config::Approver;
use super::core::Core;
use super::directory::Directory;
use super::error::EngineResult;
use super::governance::FirstApproval;
use super::worker::{Claims, Handover};
use crate::command::{parse_reaction, Verdict};
use crate::domain::{
    Actor, AuditAction, ChannelRef, DecisionSource, MessageRef, RoleSet, StageKind, StageState,
};
use crate::engine::ports::{IncomingMessage, Press, Reaction};
use crate::said;
use crate::store::outbox::{self, ChatAction};
use crate::store::reactions::{self, Key};
use crate::store::requests::{self, Request};
use crate::store::stages::{self, ApprovalContext, Decided, Stage};
use crate::store::WriteTx;
use crate::t;

/// A reaction to record as applied in the transaction that applies it (see the module doc).
pub(super) struct Seal<'a> {
    key: Key<'a>,
    added: bool,
    /// Set once a transaction recorded it.
    recorded: AtomicBool,
}

impl<'a> Seal<'a> {
    pub(super) fn new(r: &'a Reaction, added: bool) -> Seal<'a> {
        Seal {
            key: Key {
                message: &r.message,
                user: &r.user,
                emoji: &r.emoji,
            },
            added,
            recorded: AtomicBool::new(false),
        }
    }

    /// Whether a transaction that applied it was committed (or found it applied already).
    pub(super) fn recorded(&self) -> bool {
        self.recorded.load(Ordering::Acquire)
    }

    /// Records the reaction as applied in `w`, held back to go with its next statement or
    /// its commit: when it was applied before (a replay), that fails `w` with an error
    /// [`reactions::is_replay`] tells apart, and nothing of it is kept.
    pub(super) fn record(&self, w: &mut WriteTx<'_>, now: crate::store::Timestamp) {
        reactions::claim(w, self.key, self.added, now);
        // Either way nothing is left for the caller to record.
        self.recorded.store(true, Ordering::Release);
    }
}

/// Whether a reaction's author may decide the stage.
enum Gate {
    /// Yes: the approver and the roles they hold now.
    Pass(Approver, RoleSet),
    /// No: the audit action and the answer to the person.
    Refuse(AuditAction, String),
    /// The stage is decided already.
    Late,
}

/// A decision that passed the gate, with what recording it needs.
struct Decision<'a> {
    r: &'a Reaction,
    seal: Option<&'a Seal<'a>>,
    verdict: Verdict,
    stage: &'a Stage,
    request: &'a Request,
    approver: &'a Approver,
    roles: &'a RoleSet,
    actor: Actor,
}

/// A reaction (or button press) on a stage's approval message, with the seal that records
/// it as applied in the write that applies it (None: nothing to record).
#[derive(Clone, Copy)]
pub(super) struct Seen<'a> {
    pub(super) r: &'a Reaction,
    pub(super) stage: &'a Stage,
    pub(super) seal: Option<&'a Seal<'a>>,
}

impl<'a> Decision<'a> {
    /// The reaction this decision was made by, on its stage.
    fn seen(&self) -> Seen<'a> {
        Seen {
            r: self.r,
            stage: self.stage,
            seal: self.seal,
        }
    }
}

/// Reactions and replies that decide stages.
pub(super) struct Decisions {
    core: Arc<Core>,
    directory: Arc<Directory>,
    /// An approval claims the jobs it makes due in its own transaction, for the worker.
    handover: Arc<Handover>,
}

impl Decisions {
    pub(super) fn new(
        core: Arc<Core>,
        directory: Arc<Directory>,
        handover: Arc<Handover>,
    ) -> Decisions {
        Decisions {
            core,
            directory,
            handover,
        }
    }

    /// The shared context.
    pub(super) fn core(&self) -> &Core {
        &self.core
    }

    /// The directory.
    pub(super) fn directory(&self) -> &Directory {
        &self.directory
    }

    /// A write transaction for what a reaction changes, recording it as applied when it
    /// comes with a seal (a replay fails the transaction: see [`Seal::record`]).
    async fn write(&self, seal: Option<&Seal<'_>>) -> EngineResult<WriteTx<'_>> {
        let mut w = self.core.store().write().await?;
        if let Some(seal) = seal {
            seal.record(&mut w, self.core.now());
        }
        Ok(w)
    }

    /// Applies a reaction; with a seal, recorded as applied in the same transaction (see
    /// the module doc). `context`: the reaction's message's [`ApprovalContext`], when the
    /// caller read it already (None: read here).
    #[tracing::instrument(name = "decision", skip_all, fields(request, stage))]
    pub(super) async fn apply_reaction(
        &self,
        r: &Reaction,
        added: bool,
        seal: Option<&Seal<'_>>,
        context: Option<ApprovalContext>,
    ) -> EngineResult<()> {
        if crate::command::same_emoji(&r.emoji, &self.core.cfg().reclaim.emoji) {
            // Taking a ♻️ away undoes nothing: the holder keeps their licence with `keep`.
            return if added {
                self.reclaim_reaction(r).await
            } else {
                Ok(())
            };
        }
        let Some(verdict) = parse_reaction(
            &r.emoji,
            &self.core.cfg().approve_emojis,
            &self.core.cfg().deny_emojis,
        ) else {
            return Ok(());
        };
        // The stage, its request and the request's stages, read together: the decision
        // itself is checked again in the transaction that records it.
        let context = match context {
            Some(c) => Some(c),
            None => {
                let mut conn = self.core.store().read().await?;
                stages::approval_context(&mut conn, &r.message).await?
            }
        };
        let Some(ApprovalContext {
            stage,
            request,
            all,
        }) = context
        else {
            tracing::debug!(message = %r.message, "reaction on a message that is no approval; ignored");
            return Ok(());
        };
        let span = tracing::Span::current();
        span.record("request", stage.request_id.0);
        span.record("stage", stage.seq);
        let seen = Seen {
            r,
            stage: &stage,
            seal,
        };
        if !added {
            return self.on_reaction_removed(seen).await;
        }
        let (approver, roles) = match self.decider_gate(r, &stage, &request).await? {
            Gate::Pass(approver, roles) => (approver, roles),
            Gate::Refuse(action, text) => return self.refuse_reaction(seen, action, &text).await,
            Gate::Late => return self.report_late(seen).await,
        };
        if verdict == Verdict::Approve {
            if let Some(text) = self.over_budget_refusal(&stage, &roles).await? {
                let action = AuditAction::DecisionRefusedOverBudget;
                return self.refuse_reaction(seen, action, &text).await;
            }
        }
        let enabled_now = match self.seats_for_target(verdict, &all, &roles).await {
            Ok(enabled) => enabled,
            Err(text) => {
                let action = AuditAction::DecisionRefusedSeatsUnavailable;
                return self.refuse_reaction(seen, action, &text).await;
            }
        };
        let decision = Decision {
            r,
            seal,
            verdict,
            stage: &stage,
            request: &request,
            approver: &approver,
            roles: &roles,
            actor: Actor::chat(&r.user),
        };
        self.record_decision(&decision, &all, enabled_now).await
    }

    /// Whether `r.user` may decide `stage` of `request` now: not their own request (by chat
    /// account, UPN or directory object id), a registered approver, the stage still pending,
    /// and holding one of its roles as read now (a failed read grants nothing).
    async fn decider_gate(
        &self,
        r: &Reaction,
        stage: &Stage,
        request: &Request,
    ) -> EngineResult<Gate> {
        let approver = self.core.cfg().approver(&r.user).cloned();
        let lookup_failed = || {
            let text = t!(
                self.core.texts(),
                "decision.roles_unavailable",
                id = request.id
            );
            Gate::Refuse(AuditAction::DecisionRefusedRoleLookup, text)
        };
        // Who may not decide at all: the requester, the person the licence is for, anyone who
        // is not a registered approver.
        let mut own = r.user == request.requester
            || approver.as_ref().is_some_and(|a| {
                Some(&a.upn) == request.requester_upn.as_ref()
                    || Some(&a.upn) == request.target_upn.as_ref()
            });
        // ... and by directory identity: an approver's own account under another UPN or
        // asked for from another chat account is still their own.
        if let (false, Some(a), Some(target)) = (own, &approver, &request.target_object_id) {
            match self.directory.approver_object_id(&a.upn).await {
                Ok(id) => own = &id == target,
                Err(e) => {
                    tracing::warn!(approver = %a.chat_user, error = %e, "could not read an approver's object id");
                    return Ok(lookup_failed());
                }
            }
        }
        if own {
            let text = t!(self.core.texts(), "decision.own_request", id = request.id);
            return Ok(Gate::Refuse(AuditAction::SelfDecisionRefused, text));
        }
        let Some(approver) = approver else {
            let text = t!(self.core.texts(), "decision.not_approver", id = request.id);
            return Ok(Gate::Refuse(AuditAction::DecisionIgnoredNotApprover, text));
        };
        if stage.state != StageState::Pending {
            return Ok(Gate::Late);
        }
        let roles = match self.directory.tenant.roles(&approver.upn).await {
            Ok(roles) => roles,
            Err(e) => {
                tracing::warn!(approver = %approver.chat_user, error = %e, "role check failed");
                return Ok(lookup_failed());
            }
        };
        let needed = self
            .core
            .cfg()
            .stage_roles(stage.kind, stage.over_budget.is_some());
        if !roles.intersects(needed) {
            let text = t!(
                self.core.texts(),
                "decision.missing_role",
                id = request.id,
                roles = self.core.role_names(needed)
            );
            return Ok(Gate::Refuse(AuditAction::DecisionRefusedMissingRole, text));
        }
        Ok(Gate::Pass(approver, roles))
    }

    /// The seats enabled now when this decision approves a purchase: a purchase's target is
    /// fixed at approval from the seats seen then. `Err` is the answer when they cannot be
    /// read (nothing is approved then).
    async fn seats_for_target(
        &self,
        verdict: Verdict,
        all: &[Stage],
        roles: &RoleSet,
    ) -> Result<Option<i64>, String> {
        let approving_purchase = verdict == Verdict::Approve
            && all.iter().any(|s| {
                s.kind == StageKind::Purchase
                    && s.state == StageState::Pending
                    && roles.intersects(&self.core.cfg().purchase_roles)
            });
        if !approving_purchase {
            return Ok(None);
        }
        match self.directory.tenant.seats().await {
            Ok(seats) => Ok(Some(seats.enabled)),
            Err(e) => {
                tracing::warn!(error = %e, "could not read seats to fix a purchase target");
                Err(t!(self.core.texts(), "backend.seats_unavailable"))
            }
        }
    }

    /// Stores the decision (unless another one came first: then says so), audits it, and
    /// moves the request on: approved stages run, a denial ends the request.
    async fn record_decision(
        &self,
        d: &Decision<'_>,
        all: &[Stage],
        enabled_now: Option<i64>,
    ) -> EngineResult<()> {
        let (r, stage, request) = (d.r, d.stage, d.request);
        let mut w = self.write(d.seal).await?;
        let mut earlier = Vec::new();
        if d.verdict == Verdict::Approve && stage.approvals_needed > 1 {
            match self
                .core
                .count_first_approval(&mut w, stage, d.approver, &d.actor)
                .await?
            {
                FirstApproval::Counted => return self.first_of_two(w, d).await,
                FirstApproval::Already => {
                    drop(w);
                    return self.same_approver_again(d.seen()).await;
                }
                FirstApproval::Enough(before) => earlier = before,
            }
        }
        let note = match d.verdict {
            Verdict::Deny => stages::denial_draft(w.conn().await?, stage.id, &r.user).await?,
            Verdict::Approve => None,
        };
        let to = match d.verdict {
            Verdict::Approve => StageState::Approved,
            Verdict::Deny => StageState::Denied,
        };
        let decided = stages::decide(
            &mut w,
            stage.id,
            to,
            Decided {
                by: &r.user,
                by_upn: Some(&d.approver.upn),
                via: DecisionSource::Reaction,
                note: note.as_deref(),
            },
            self.core.now(),
        )
        .await?;
        if !decided {
            drop(w);
            return self.report_late(d.seen()).await;
        }
        self.core.observe_decision(stage.routed_at);
        self.core.audit(&mut w,
            Some(request.id),
            &d.actor,
            if d.verdict == Verdict::Approve { AuditAction::StageApproved } else { AuditAction::StageDenied },
            Some(StageState::Pending.as_str()),
            Some(to.as_str()),
            &serde_json::json!({"stage": stage.seq, "kind": stage.kind.as_str(), "emoji": r.emoji, "note": note})
                .to_string(),
        )
        .await?;
        let mut claims = Claims::default();
        match d.verdict {
            Verdict::Approve => {
                self.approve_stages(&mut w, d, all, &earlier).await?;
                // The job this approval queues is claimed as it is queued when it is the
                // only one due, and run next by this process's worker.
                let lease = self.handover.lease_from_now(&self.core);
                let (moved, queued) = self
                    .core
                    .advance_claiming(&mut w, request.id, enabled_now, &d.actor, lease)
                    .await?;
                let moved = moved.map(|(request, all, _)| (request, all));
                claims = self
                    .handover
                    .claim_in(&self.core, &mut w, lease, (moved.as_ref(), queued))
                    .await?;
            }
            Verdict::Deny => self.deny_request(&mut w, d, note.as_deref()).await?,
        }
        w.commit().await?;
        self.handover.hand(claims);
        crash_point(CrashPoint::AfterDecisionStored);
        self.core.wake();
        Ok(())
    }

    /// Marks the approved stage, and approves with it every other pending stage of the
    /// request whose role the approver holds (one reaction clears them all).
    async fn approve_stages(
        &self,
        tx: &mut WriteTx<'_>,
        d: &Decision<'_>,
        all: &[Stage],
        earlier: &[crate::domain::ChatUserId],
    ) -> EngineResult<()> {
        let who = self.core.mention(&d.r.user);
        let status = || match earlier.first() {
            None => t!(self.core.texts(), "status.approved_by", who = who),
            Some(first) => t!(
                self.core.texts(),
                "governance.approved_by_two",
                first = self.core.mention(first),
                second = who
            ),
        };
        self.core.edit_stage(tx, d.stage, &status).await?;
        for other in all
            .iter()
            .filter(|s| s.id != d.stage.id && s.state == StageState::Pending)
        {
            let needed = self
                .core
                .cfg()
                .stage_roles(other.kind, other.over_budget.is_some());
            // A stage under the rules on money takes its own reaction.
            let own_reaction = other.approvals_needed > 1
                || self.over_budget_refusal(other, d.roles).await?.is_some();
            if !d.roles.intersects(needed)
                || own_reaction
                || !stages::decide(
                    tx,
                    other.id,
                    StageState::Approved,
                    Decided {
                        by: &d.r.user,
                        by_upn: Some(&d.approver.upn),
                        via: DecisionSource::SameReaction,
                        note: None,
                    },
                    self.core.now(),
                )
                .await?
            {
                continue;
            }
            self.core.observe_decision(other.routed_at);
            self.core.audit(
                tx,
                Some(d.request.id),
                &d.actor,
                AuditAction::StageApproved,
                Some(StageState::Pending.as_str()),
                Some(StageState::Approved.as_str()),
                &serde_json::json!({"stage": other.seq, "kind": other.kind.as_str(), "with_stage": d.stage.seq})
                    .to_string(),
            )
            .await?;
            let status = || {
                t!(
                    self.core.texts(),
                    "status.approved_with",
                    who = who,
                    seq = d.stage.seq
                )
            };
            self.core.edit_stage(tx, other, &status).await?;
        }
        Ok(())
    }

    /// A denial: the stage says who denied and why, the request's other stages are
    /// cancelled, and the request ends.
    async fn deny_request(
        &self,
        tx: &mut WriteTx<'_>,
        d: &Decision<'_>,
        note: Option<&str>,
    ) -> EngineResult<()> {
        let who = self.core.mention(&d.r.user);
        let status = || self.core.denied_by(&who, note);
        self.core.edit_stage(tx, d.stage, &status).await?;
        let outcome = said!(
            "outcome.denied",
            who = who,
            reason = self.core.reason_said(note)
        );
        let why = self.core.recorded(&outcome);
        for s in self
            .core
            .close_stages(tx, d.request.id, StageState::Cancelled, &why, &d.actor)
            .await?
        {
            let status = || t!(self.core.texts(), "status.cancelled_denied", who = who);
            self.core.edit_stage(tx, &s, &status).await?;
        }
        self.core
            .finish_request(tx, d.request.id, &outcome, &d.actor)
            .await
    }

    /// A decision that does not count: removed where possible, audited, and explained to the
    /// person who made it.
    pub(super) async fn refuse_reaction(
        &self,
        seen: Seen<'_>,
        action: AuditAction,
        text: &str,
    ) -> EngineResult<()> {
        let (r, now) = (seen.r, self.core.now());
        let mut w = self.write(seen.seal).await?;
        let message = serde_json::json!({"message": r.message.as_str()});
        self.audit_reaction(&mut w, seen, action, message).await?;
        if r.pressed.is_none() {
            outbox::push(
                &mut w,
                &ChatAction::Unreact {
                    channel: self.channel_of(r),
                    message: r.message.clone(),
                    user: r.user.clone(),
                    emoji: r.emoji.clone(),
                },
                now,
            )?;
        }
        // Said in the decider's language, which is the one being spoken.
        self.tell_decider(&mut w, r, &|| text.to_string()).await?;
        w.commit().await?;
        Ok(())
    }

    /// Audits what was done with a reaction, by its reactor: the stage's number and the emoji,
    /// with `more` (a JSON object) beside them.
    async fn audit_reaction(
        &self,
        w: &mut WriteTx<'_>,
        seen: Seen<'_>,
        action: AuditAction,
        more: serde_json::Value,
    ) -> EngineResult<()> {
        let mut detail = serde_json::json!({"stage": seen.stage.seq, "emoji": seen.r.emoji});
        if let (Some(all), serde_json::Value::Object(more)) = (detail.as_object_mut(), more) {
            all.extend(more);
        }
        let actor = Actor::chat(&seen.r.user);
        let request = Some(seen.stage.request_id);
        self.core
            .audit_note(w, request, &actor, action, &detail.to_string())
            .await?;
        Ok(())
    }

    /// The channel of the message `r` is on.
    fn channel_of(&self, r: &Reaction) -> ChannelRef {
        r.channel
            .clone()
            .unwrap_or_else(|| self.core.cfg().approvals_channel.clone())
    }

    /// Tells whoever decided by `r` why it did not count: the answer to their button press
    /// (only they see it), else a direct message.
    async fn tell_decider(
        &self,
        w: &mut WriteTx<'_>,
        r: &Reaction,
        text: &(dyn Fn() -> String + Sync),
    ) -> EngineResult<()> {
        let Some(interaction) = &r.pressed else {
            return self.core.tell_user(w, &r.user, text).await;
        };
        let answer = ChatAction::Send {
            channel: self.channel_of(r),
            content: text(),
            reply_to: Some(interaction.clone()),
            stage: None,
            mentions: Vec::new(),
        };
        outbox::push(w, &answer, self.core.now())?;
        Ok(())
    }

    /// The first of a two-person stage's approvals: the message says who approved and that a
    /// second person is needed, and reminders now go to the others.
    async fn first_of_two(&self, mut w: WriteTx<'_>, d: &Decision<'_>) -> EngineResult<()> {
        let stage = d.stage;
        let status = || self.core.first_approval_status(stage, &d.r.user);
        self.core.edit_stage(&mut w, stage, &status).await?;
        let others: Vec<_> = stage
            .routed_to
            .iter()
            .filter(|u| **u != d.r.user)
            .cloned()
            .collect();
        stages::set_routed_to(w.conn().await?, stage.id, &others).await?;
        w.commit().await?;
        crash_point(CrashPoint::AfterDecisionStored);
        Ok(())
    }

    /// An approver approved a two-person stage a second time: still one approval. Their
    /// reaction stays (it is their approval); they are told a second person is needed.
    async fn same_approver_again(&self, seen: Seen<'_>) -> EngineResult<()> {
        let (r, stage) = (seen.r, seen.stage);
        let mut w = self.write(seen.seal).await?;
        let action = AuditAction::DecisionRefusedSameApprover;
        self.audit_reaction(&mut w, seen, action, serde_json::json!({}))
            .await?;
        let text = || {
            t!(
                self.core.texts(),
                "governance.same_approver",
                who = self.core.mention(&r.user),
                id = stage.request_id
            )
        };
        self.tell_decider(&mut w, r, &text).await?;
        w.commit().await?;
        Ok(())
    }

    /// Why an approver who holds no over-budget role may not approve `stage` now: a purchase
    /// that, with this month's spend as it stands, would pass the budget. None when they may.
    pub(super) async fn over_budget_refusal(
        &self,
        stage: &Stage,
        roles: &RoleSet,
    ) -> EngineResult<Option<String>> {
        let g = &self.core.cfg().governance;
        let quantity = stage.quantity.unwrap_or(0);
        if stage.kind != StageKind::Purchase
            || quantity <= 0
            || g.monthly_budget <= 0.0
            || roles.intersects(&g.over_budget_roles)
        {
            return Ok(None);
        }
        let spent = {
            let mut conn = self.core.store().read().await?;
            crate::store::governance::committed_this_month(&mut conn, self.core.now()).await?
        };
        let monthly = quantity as f64 * stage.unit_price.unwrap_or(0.0);
        Ok(g.over_budget(spent, monthly).map(|over| {
            t!(
                self.core.texts(),
                "governance.refused_over_budget",
                id = stage.request_id,
                over = self.core.money(over),
                spent = self.core.money(spent),
                budget = self.core.money(g.monthly_budget),
                roles = self.core.role_names(&g.over_budget_roles)
            )
        }))
    }

    /// A valid approver decided after the stage was already decided: say so, apply nothing.
    async fn report_late(&self, seen: Seen<'_>) -> EngineResult<()> {
        let (r, stage) = (seen.r, seen.stage);
        let mut w = self.write(seen.seal).await?;
        let current = stages::get(w.conn().await?, stage.id)
            .await?
            .unwrap_or_else(|| stage.clone());
        let text = || {
            let by = self
                .core
                .decider(&current)
                .unwrap_or_else(|| t!(self.core.texts(), "decision.nobody"));
            t!(
                self.core.texts(),
                "decision.already_decided",
                who = self.core.mention(&r.user),
                id = stage.request_id,
                state = self.core.state_word(current.state),
                by = by
            )
        };
        let state = serde_json::json!({"state": current.state.as_str()});
        let action = AuditAction::LateDecisionReported;
        self.audit_reaction(&mut w, seen, action, state).await?;
        if r.pressed.is_some() {
            // A press is answered to its presser alone, in their language.
            self.tell_decider(&mut w, r, &text).await?;
        } else {
            self.core
                .post_under_approval(&mut w, stage, &text, vec![r.user.clone()])
                .await?;
        }
        w.commit().await?;
        Ok(())
    }

    /// A decision's button was pressed: the same decision as the reaction it stands for,
    /// by the same rules. No replay record is kept (a press leaves no reaction for a
    /// catch-up to find, and a decided stage refuses a second decision anyway).
    pub(super) async fn apply_press(&self, p: &Press) -> EngineResult<()> {
        let emojis = if p.approve {
            &self.core.cfg().approve_emojis
        } else {
            &self.core.cfg().deny_emojis
        };
        let Some(emoji) = emojis.first() else {
            return Ok(());
        };
        let r = Reaction {
            message: p.message.clone(),
            channel: Some(p.channel.clone()),
            user: p.user.clone(),
            emoji: emoji.clone(),
            pressed: Some(p.interaction.clone()),
        };
        self.apply_reaction(&r, true, None, None).await
    }

    /// Taking a reaction back after the decision does not undo it (the work may have run);
    /// it is recorded.
    async fn on_reaction_removed(&self, seen: Seen<'_>) -> EngineResult<()> {
        if seen.stage.decided_by.as_ref() != Some(&seen.r.user) {
            return Ok(());
        }
        let mut w = self.write(seen.seal).await?;
        let note = serde_json::json!({"note": "decisions are final; nothing undone"});
        let action = AuditAction::DecisionReactionRemoved;
        self.audit_reaction(&mut w, seen, action, note).await?;
        w.commit().await?;
        Ok(())
    }

    /// A reply to an approval message from the approver who denied it (or will deny it)
    /// is the denial's reason. Returns true when the message was taken as such.
    #[tracing::instrument(name = "reply", skip_all, fields(parent = %parent))]
    pub(super) async fn on_reply(
        &self,
        m: &IncomingMessage,
        parent: &MessageRef,
    ) -> EngineResult<bool> {
        if self.core.cfg().approver(&m.author).is_none() {
            return Ok(false);
        }
        if !matches!(
            crate::command::parse_message(&m.content, &self.core.cfg().parser),
            crate::command::Parsed::Ignore | crate::command::Parsed::Suggest
        ) {
            return Ok(false);
        }
        let reason: String = m
            .content
            .trim()
            .chars()
            .take(crate::command::MAX_REASON_CHARS)
            .collect();
        if reason.is_empty() {
            return Ok(false);
        }
        let now = self.core.now();
        let mut w = self.core.store().write().await?;
        let Some(stage) = stages::by_message(w.conn().await?, parent).await? else {
            return Ok(false);
        };
        match stage.state {
            StageState::Pending => {
                stages::set_denial_draft(w.conn().await?, stage.id, &m.author, &reason).await?;
                outbox::push(
                    &mut w,
                    &self.core.reply_action(
                        m,
                        t!(
                            self.core.texts(),
                            "decision.reason_noted",
                            id = stage.request_id
                        ),
                    ),
                    now,
                )?;
            }
            StageState::Denied
                if stage.decided_by.as_ref() == Some(&m.author)
                    && stage.decision_note.is_none() =>
            {
                stages::set_note(w.conn().await?, stage.id, &reason).await?;
                self.core
                    .audit_note(
                        &mut w,
                        Some(stage.request_id),
                        &Actor::chat(&m.author),
                        AuditAction::DenialReason,
                        &reason,
                    )
                    .await?;
                let who = self.core.mention(&m.author);
                let status = || self.core.denied_by(&who, Some(&reason));
                self.core.edit_stage(&mut w, &stage, &status).await?;
                if let Some(r) = requests::get(w.conn().await?, stage.request_id).await? {
                    let text = || {
                        t!(
                            self.core.texts(),
                            "tell.denial_reason",
                            id = r.id,
                            who = who,
                            reason = self.core.reason_text(Some(&reason))
                        )
                    };
                    self.core.tell_requester(&mut w, &r, &text).await?;
                }
            }
            _ => return Ok(false),
        }
        w.commit().await?;
        Ok(true)
    }
}
