//! Decisions: reactions on approval messages, and denial reasons given as replies.

use super::crash::{crash_point, CrashPoint};
use super::{Engine, EngineResult};
use crate::command::{parse_reaction, Verdict};
use crate::domain::{MessageRef, StageKind, StageState};
use crate::engine::ports::{IncomingMessage, Reaction};
use crate::store::outbox::{self, ChatAction};
use crate::store::stages::{self, Stage};
use crate::store::{kv, requests};
use crate::t;

impl Engine {
    /// Applies a reaction (see `on_reaction` in `catchup.rs` for the de-duplication around it).
    pub(super) async fn apply_reaction(&self, r: &Reaction, added: bool) -> EngineResult<()> {
        let Some(verdict) = parse_reaction(
            &r.emoji,
            &self.cfg().approve_emojis,
            &self.cfg().deny_emojis,
        ) else {
            return Ok(());
        };
        let stage = {
            let mut conn = self.store().read().await?;
            stages::by_message(&mut conn, &r.message).await?
        };
        let Some(stage) = stage else {
            tracing::debug!(message = %r.message, "reaction on a message that is no approval; ignored");
            return Ok(());
        };
        if !added {
            return self.on_reaction_removed(r, &stage).await;
        }
        let actor = format!("chat:{}", r.user);
        let Some(request) = ({
            let mut conn = self.store().read().await?;
            requests::get(&mut conn, stage.request_id).await?
        }) else {
            return Ok(());
        };
        let approver = self.cfg().approver(&r.user).cloned();

        // Who may not decide at all: the requester, the person the licence is for, anyone who is
        // not a registered approver.
        let own = r.user == request.requester
            || approver.as_ref().is_some_and(|a| {
                Some(&a.upn) == request.requester_upn.as_ref()
                    || Some(&a.upn) == request.target_upn.as_ref()
            });
        // ... and by directory identity: an approver's own account under another UPN or
        // asked for from another chat account is still their own.
        let own = own
            || match (&approver, &request.target_object_id) {
                (Some(a), Some(target)) => match self.approver_object_id(&a.upn).await {
                    Ok(id) => &id == target,
                    Err(e) => {
                        tracing::warn!(approver = %a.chat_user, error = %e, "could not read an approver's object id");
                        let text = t!(self.texts(), "decision.roles_unavailable", id = request.id);
                        return self
                            .refuse_reaction(r, &stage, "decision_refused_role_lookup", &text)
                            .await;
                    }
                },
                _ => false,
            };
        if own {
            let text = t!(self.texts(), "decision.own_request", id = request.id);
            return self
                .refuse_reaction(r, &stage, "self_decision_refused", &text)
                .await;
        }
        let Some(approver) = approver else {
            let text = t!(self.texts(), "decision.not_approver", id = request.id);
            return self
                .refuse_reaction(r, &stage, "decision_ignored_not_approver", &text)
                .await;
        };

        if stage.state != StageState::Pending {
            return self.report_late(r, &stage).await;
        }

        // The approver's roles, read now; a failed lookup grants nothing.
        let roles = match self.inner.tenant.roles(&approver.upn).await {
            Ok(roles) => roles,
            Err(e) => {
                tracing::warn!(approver = %approver.chat_user, error = %e, "role check failed");
                let text = t!(self.texts(), "decision.roles_unavailable", id = request.id);
                return self
                    .refuse_reaction(r, &stage, "decision_refused_role_lookup", &text)
                    .await;
            }
        };
        let needed = self.cfg().roles_for(stage.kind);
        if !roles.iter().any(|x| needed.contains(x)) {
            let text = t!(
                self.texts(),
                "decision.missing_role",
                id = request.id,
                roles = self.role_names(needed)
            );
            return self
                .refuse_reaction(r, &stage, "decision_refused_missing_role", &text)
                .await;
        }

        // A purchase's target is fixed at approval from the seats seen now.
        let all = {
            let mut conn = self.store().read().await?;
            stages::for_request(&mut conn, stage.request_id).await?
        };
        let approving_purchase = verdict == Verdict::Approve
            && all.iter().any(|s| {
                s.kind == StageKind::Purchase
                    && s.state == StageState::Pending
                    && roles.iter().any(|x| self.cfg().purchase_roles.contains(x))
            });
        let enabled_now = if approving_purchase {
            match self.inner.tenant.seats().await {
                Ok(seats) => Some(seats.enabled),
                Err(e) => {
                    tracing::warn!(error = %e, "could not read seats to fix a purchase target");
                    let text = t!(self.texts(), "backend.seats_unavailable");
                    return self
                        .refuse_reaction(r, &stage, "decision_refused_seats_unavailable", &text)
                        .await;
                }
            }
        } else {
            None
        };

        let now = self.now();
        let mut w = self.store().write().await?;
        let note = match verdict {
            Verdict::Deny => kv::get(w.conn(), &draft_key(&stage, &r.user)).await?,
            Verdict::Approve => None,
        };
        let to = match verdict {
            Verdict::Approve => StageState::Approved,
            Verdict::Deny => StageState::Denied,
        };
        if !stages::decide(
            w.conn(),
            stage.id,
            to,
            &r.user,
            Some(&approver.upn),
            note.as_deref(),
            now,
        )
        .await?
        {
            drop(w);
            return self.report_late(r, &stage).await;
        }
        self.audit(
            w.conn(),
            Some(request.id),
            &actor,
            if verdict == Verdict::Approve { "stage_approved" } else { "stage_denied" },
            Some("pending"),
            Some(to.as_str()),
            &serde_json::json!({"stage": stage.seq, "kind": stage.kind.as_str(), "emoji": r.emoji, "note": note})
                .to_string(),
        )
        .await?;
        let who = self.mention(&r.user);
        match verdict {
            Verdict::Approve => {
                let status = t!(self.texts(), "status.approved_by", who = who);
                self.edit_stage(w.conn(), &stage, &status).await?;
                // One reaction clears every pending stage of the request whose role the approver holds.
                for other in all
                    .iter()
                    .filter(|s| s.id != stage.id && s.state == StageState::Pending)
                {
                    let holds = roles
                        .iter()
                        .any(|x| self.cfg().roles_for(other.kind).contains(x));
                    if holds
                        && stages::decide(
                            w.conn(),
                            other.id,
                            StageState::Approved,
                            &r.user,
                            Some(&approver.upn),
                            Some("same reaction"),
                            now,
                        )
                        .await?
                    {
                        self.audit(
                            w.conn(),
                            Some(request.id),
                            &actor,
                            "stage_approved",
                            Some("pending"),
                            Some("approved"),
                            &serde_json::json!({"stage": other.seq, "kind": other.kind.as_str(), "with_stage": stage.seq})
                                .to_string(),
                        )
                        .await?;
                        let status = t!(
                            self.texts(),
                            "status.approved_with",
                            who = who,
                            seq = stage.seq
                        );
                        self.edit_stage(w.conn(), other, &status).await?;
                    }
                }
                self.advance(w.conn(), request.id, enabled_now, &actor)
                    .await?;
            }
            Verdict::Deny => {
                let reason = self.reason_text(note.as_deref());
                let status = t!(self.texts(), "status.denied_by", who = who, reason = reason);
                self.edit_stage(w.conn(), &stage, &status).await?;
                let outcome = t!(self.texts(), "outcome.denied", who = who, reason = reason);
                for s in self
                    .close_stages(
                        w.conn(),
                        request.id,
                        StageState::Cancelled,
                        &outcome,
                        &actor,
                    )
                    .await?
                {
                    let status = t!(self.texts(), "status.cancelled_denied", who = who);
                    self.edit_stage(w.conn(), &s, &status).await?;
                }
                self.finish_request(w.conn(), request.id, &outcome, &actor)
                    .await?;
            }
        }
        w.commit().await?;
        crash_point(CrashPoint::AfterDecisionStored);
        self.wake();
        Ok(())
    }

    /// A decision that does not count: removed where possible, audited, and explained to the
    /// person who made it.
    async fn refuse_reaction(
        &self,
        r: &Reaction,
        stage: &Stage,
        action: &str,
        text: &str,
    ) -> EngineResult<()> {
        let now = self.now();
        let mut w = self.store().write().await?;
        self.audit(
            w.conn(),
            Some(stage.request_id),
            &format!("chat:{}", r.user),
            action,
            None,
            None,
            &serde_json::json!({"stage": stage.seq, "emoji": r.emoji, "message": r.message.as_str()}).to_string(),
        )
        .await?;
        outbox::push(
            w.conn(),
            &ChatAction::Unreact {
                channel: r
                    .channel
                    .clone()
                    .unwrap_or_else(|| self.cfg().approvals_channel.clone()),
                message: r.message.clone(),
                user: r.user.clone(),
                emoji: r.emoji.clone(),
            },
            now,
        )
        .await?;
        self.tell_user(w.conn(), &r.user, text).await?;
        w.commit().await?;
        Ok(())
    }

    /// A valid approver decided after the stage was already decided: say so, apply nothing.
    async fn report_late(&self, r: &Reaction, stage: &Stage) -> EngineResult<()> {
        let mut w = self.store().write().await?;
        let current = stages::get(w.conn(), stage.id)
            .await?
            .unwrap_or_else(|| stage.clone());
        let by = current
            .decided_by
            .as_ref()
            .map(|u| self.mention(u))
            .unwrap_or_else(|| t!(self.texts(), "decision.nobody"));
        let text = t!(
            self.texts(),
            "decision.already_decided",
            who = self.mention(&r.user),
            id = stage.request_id,
            state = self.stage_state_word(current.state),
            by = by
        );
        self.audit(
            w.conn(),
            Some(stage.request_id),
            &format!("chat:{}", r.user),
            "late_decision_reported",
            None,
            None,
            &serde_json::json!({"stage": stage.seq, "emoji": r.emoji, "state": current.state.as_str()}).to_string(),
        )
        .await?;
        outbox::push(
            w.conn(),
            &ChatAction::Send {
                channel: self.cfg().approvals_channel.clone(),
                content: text,
                reply_to: stage.approval_message.clone(),
                stage: None,
                mentions: vec![r.user.clone()],
            },
            self.now(),
        )
        .await?;
        w.commit().await?;
        Ok(())
    }

    /// Taking a reaction back after the decision does not undo it (the work may have run);
    /// it is recorded.
    async fn on_reaction_removed(&self, r: &Reaction, stage: &Stage) -> EngineResult<()> {
        if stage.decided_by.as_ref() != Some(&r.user) {
            return Ok(());
        }
        let mut w = self.store().write().await?;
        self.audit(
            w.conn(),
            Some(stage.request_id),
            &format!("chat:{}", r.user),
            "decision_reaction_removed",
            None,
            None,
            &serde_json::json!({"stage": stage.seq, "emoji": r.emoji, "note": "decisions are final; nothing undone"})
                .to_string(),
        )
        .await?;
        w.commit().await?;
        Ok(())
    }

    /// A reply to an approval message from the approver who denied it (or will deny it)
    /// is the denial's reason. Returns true when the message was taken as such.
    pub(super) async fn on_reply(
        &self,
        m: &IncomingMessage,
        parent: &MessageRef,
    ) -> EngineResult<bool> {
        if self.cfg().approver(&m.author).is_none() {
            return Ok(false);
        }
        if !matches!(
            crate::command::parse_message(&m.content, &self.cfg().parser),
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
        let now = self.now();
        let mut w = self.store().write().await?;
        let Some(stage) = stages::by_message(w.conn(), parent).await? else {
            return Ok(false);
        };
        match stage.state {
            StageState::Pending => {
                kv::set(w.conn(), &draft_key(&stage, &m.author), &reason).await?;
                outbox::push(
                    w.conn(),
                    &self.reply_action(
                        m,
                        t!(self.texts(), "decision.reason_noted", id = stage.request_id),
                    ),
                    now,
                )
                .await?;
            }
            StageState::Denied
                if stage.decided_by.as_ref() == Some(&m.author)
                    && stage.decision_note.is_none() =>
            {
                stages::set_note(w.conn(), stage.id, &reason).await?;
                self.audit(
                    w.conn(),
                    Some(stage.request_id),
                    &format!("chat:{}", m.author),
                    "denial_reason",
                    None,
                    None,
                    &reason,
                )
                .await?;
                let who = self.mention(&m.author);
                let reason = self.reason_text(Some(&reason));
                let status = t!(self.texts(), "status.denied_by", who = who, reason = reason);
                self.edit_stage(w.conn(), &stage, &status).await?;
                if let Some(r) = requests::get(w.conn(), stage.request_id).await? {
                    let text = t!(
                        self.texts(),
                        "tell.denial_reason",
                        id = r.id,
                        who = who,
                        reason = reason
                    );
                    self.tell_requester(w.conn(), &r, &text).await?;
                }
            }
            _ => return Ok(false),
        }
        w.commit().await?;
        Ok(true)
    }
}

fn draft_key(stage: &Stage, user: &crate::domain::ChatUserId) -> String {
    format!("denial_draft:{}:{}", stage.id.0, user.as_str())
}
