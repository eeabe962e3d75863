//! Replays and catch-up: reactions are applied once (de-duplicated by message, user and
//! emoji in `seen_reactions`), and a transport that was disconnected can ask which approval
//! messages are open, who is known to have reacted, re-post a deleted approval message and
//! bring an out-of-date one back in line.
//!
//! [`Catchup`] holds the shared context and a handle to [`Decisions`], to which it passes a
//! reaction once it knows it is new.

use std::sync::Arc;

use super::core::Core;
use super::decisions::{Decisions, Seal};
use super::error::{EngineError, EngineResult};
use crate::command::parse_reaction;
use crate::domain::{
    AuditAction, ChannelRef, ChatUserId, MessageRef, RequestId, StageId, StageState,
};
use crate::engine::ports::Reaction;
use crate::store::outbox::{self, ChatAction, Pending};
use crate::store::reactions::{self, Key};
use crate::store::{stages, StoreResult, WriteTx};

/// An approval message to check after reconnecting (of an open request, or one whose last
/// update was given up), as the engine knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenApproval {
    /// The stage it belongs to.
    pub stage: StageId,
    /// The stage's request.
    pub request: RequestId,
    /// The approvals channel.
    pub channel: ChannelRef,
    /// The message, once posted.
    pub message: Option<MessageRef>,
    /// True while the stage waits for a decision (reactions count).
    pub pending: bool,
    /// What the message should say now: its post or latest edit.
    pub content: String,
    /// A post or edit of it still waits in the outbox (it will be brought up to date anyway).
    pub update_queued: bool,
    /// Its post was given up, so it was never posted.
    pub post_given_up: bool,
}

/// Bookkeeping after an outbox action was delivered: a reaction the bot removed is gone.
pub(super) async fn after_delivery(
    tx: &mut WriteTx<'_>,
    item: &Pending,
    now: crate::store::Timestamp,
) -> StoreResult<()> {
    if let ChatAction::Unreact {
        message,
        user,
        emoji,
        ..
    } = &item.action
    {
        let key = Key {
            message,
            user,
            emoji,
        };
        reactions::forget(tx.conn().await?, key, now).await?;
    }
    Ok(())
}

/// Reactions applied once, and approval messages brought back in line after a restart.
pub(super) struct Catchup {
    core: Arc<Core>,
    decisions: Arc<Decisions>,
}

impl Catchup {
    pub(super) fn new(core: Arc<Core>, decisions: Arc<Decisions>) -> Catchup {
        Catchup { core, decisions }
    }

    /// Applies a reaction at most once: a replayed add (the reaction is already known to be
    /// there) and a remove of a reaction not known to be there are no-ops. Only reactions on
    /// approval messages with a decision emoji are recorded.
    pub(super) async fn on_reaction(&self, r: &Reaction, added: bool) -> EngineResult<()> {
        let decision = parse_reaction(
            &r.emoji,
            &self.core.cfg().approve_emojis,
            &self.core.cfg().deny_emojis,
        );
        if decision.is_none() {
            return self.undecided(r, added).await;
        }
        let key = Key {
            message: &r.message,
            user: &r.user,
            emoji: &r.emoji,
        };
        // A replay is usually known before any work; the seal's own check, in the
        // transaction that applies the reaction, is the one that holds. The reacting person's
        // language comes in the same read.
        let read = {
            let mut conn = self.core.store().read().await?;
            stages::reaction_context(&mut conn, key).await?
        };
        let Some(read) = read else {
            if crate::command::same_emoji(&r.emoji, &self.core.cfg().reclaim.emoji) {
                return self.undecided(r, added).await;
            }
            // A decision emoji on a message that is no approval: nothing to decide (and
            // nothing to read again).
            tracing::debug!(message = %r.message, "reaction on a message that is no approval; ignored");
            return Ok(());
        };
        if !read.seen.is_news(added) {
            tracing::debug!(message = %r.message, user = %r.user, emoji = %r.emoji, added, "reaction already applied; replay ignored");
            return Ok(());
        }
        let language = self.core.language_or_default(read.language);
        // Boxed: a decision's future is large, and the caller's stack need not hold it.
        let apply = Box::pin(self.apply_news(r, added, read.context));
        self.core.speaking_to(language, apply).await
    }

    /// Applies a reaction that is news on an approval message, sealed so that it is applied
    /// once, in the reacting person's language.
    async fn apply_news(
        &self,
        r: &Reaction,
        added: bool,
        context: stages::ApprovalContext,
    ) -> EngineResult<()> {
        let seal = Seal::new(r, added);
        let applied = async {
            self.decisions
                .apply_reaction(r, added, Some(&seal), Some(context))
                .await?;
            if !seal.recorded() {
                // Applied with nothing to write (a reaction taken away by someone who did
                // not decide, say): still recorded, so an add after it is news.
                let mut w = self.core.store().write().await?;
                seal.record(&mut w, self.core.now());
                w.commit().await?;
            }
            Ok(())
        };
        match applied.await {
            // Applied by another event between the read and the write (the same reaction
            // replayed at once): its transaction was rolled back, nothing is done twice.
            Err(EngineError::Store(e)) if reactions::is_replay(&e) => {
                tracing::debug!(message = %r.message, user = %r.user, emoji = %r.emoji, added, "reaction applied meanwhile; replay ignored");
                Ok(())
            }
            other => other,
        }
    }

    /// A reaction that decides nothing by its emoji (a ♻️, say), applied unsealed in the
    /// reacting person's language, read first.
    async fn undecided(&self, r: &Reaction, added: bool) -> EngineResult<()> {
        let language = self.core.language_of(&r.user, None).await;
        let apply = Box::pin(self.decisions.apply_reaction(r, added, None, None));
        self.core.speaking_to(language, apply).await
    }

    /// Start-up recovery of reactions a previous process claimed but did not finish: they are
    /// forgotten, so the transport's catch-up applies them. Call once, holding the instance lock.
    #[tracing::instrument(name = "catch_up", skip_all)]
    pub(super) async fn recover_reactions(&self) -> EngineResult<u64> {
        let mut w = self.core.store().write().await?;
        let n = reactions::revert_unsettled(w.conn().await?).await?;
        w.commit().await?;
        if n > 0 {
            tracing::warn!(
                reactions = n,
                "reactions left half-applied by a previous process will be looked at again"
            );
        }
        Ok(n)
    }

    /// Every emoji that decides (approve, then deny, then the reclaim), as configured.
    pub(super) fn decision_emojis(&self) -> Vec<String> {
        self.core
            .cfg()
            .approve_emojis
            .iter()
            .chain(&self.core.cfg().deny_emojis)
            .chain(std::iter::once(&self.core.cfg().reclaim.emoji))
            .cloned()
            .collect()
    }

    /// The approval messages to check after reconnecting, oldest first: those of open
    /// requests, and those whose latest post or edit was given up.
    pub(super) async fn open_approvals(&self) -> EngineResult<Vec<OpenApproval>> {
        let mut conn = self.core.store().read().await?;
        let mut out = Vec::new();
        for s in stages::to_check(&mut conn).await? {
            let (content, update_queued) = outbox::stage_latest_content(&mut conn, s.id)
                .await?
                .unwrap_or_else(|| (s.body.clone(), false));
            let post_given_up = s.approval_message.is_none()
                && outbox::stage_post_given_up(&mut conn, s.id).await?;
            out.push(OpenApproval {
                stage: s.id,
                request: s.request_id,
                channel: self.core.cfg().approvals_channel.clone(),
                message: s.approval_message.clone(),
                pending: s.state == StageState::Pending,
                content,
                update_queued,
                post_given_up,
            });
        }
        Ok(out)
    }

    /// The users whose `emoji` on `message` the engine has applied and not seen removed.
    pub(super) async fn known_reactors(
        &self,
        message: &MessageRef,
        emoji: &str,
    ) -> EngineResult<Vec<ChatUserId>> {
        let mut conn = self.core.store().read().await?;
        Ok(reactions::present_users(&mut conn, message, emoji).await?)
    }

    /// Posts a stage's approval message again (someone deleted it, or its post was given up):
    /// its current text, and for a pending stage the approve and deny reactions. Audited.
    #[tracing::instrument(skip(self))]
    pub(super) async fn repost_approval(&self, stage: StageId) -> EngineResult<()> {
        let now = self.core.now();
        let mut w = self.core.store().write().await?;
        let Some(s) = stages::get(w.conn().await?, stage).await? else {
            return Ok(());
        };
        if s.state.is_final() {
            return Ok(());
        }
        let content = outbox::stage_latest_content(w.conn().await?, stage)
            .await?
            .map_or_else(|| s.body.clone(), |(c, _)| c);
        stages::clear_approval_message(w.conn().await?, stage).await?;
        let channel = self.core.cfg().approvals_channel.clone();
        outbox::push(
            &mut w,
            &ChatAction::Send {
                channel: channel.clone(),
                content,
                reply_to: None,
                stage: Some(stage),
                mentions: s.routed_to.clone(),
            },
            now,
        )?;
        if s.state == StageState::Pending {
            self.core
                .queue_decision_reactions(&mut w, &channel, stage)
                .await?;
        }
        let old = s.approval_message.as_ref().map(MessageRef::as_str);
        let detail = serde_json::json!({"stage": s.seq, "old_message": old});
        let action = AuditAction::ApprovalReposted;
        self.core
            .audit_by_bot(&mut w, s.request_id, action, detail)
            .await?;
        self.core.commit(w).await?;
        Ok(())
    }

    /// Queues an edit that brings an approval message back to what it should say (it was
    /// changed while the transport could not deliver, or an edit was given up).
    #[tracing::instrument(skip(self))]
    pub(super) async fn refresh_approval(&self, stage: StageId) -> EngineResult<()> {
        let now = self.core.now();
        let mut w = self.core.store().write().await?;
        let Some(s) = stages::get(w.conn().await?, stage).await? else {
            return Ok(());
        };
        let Some(message) = s.approval_message.clone() else {
            return Ok(());
        };
        let content = outbox::stage_latest_content(w.conn().await?, stage)
            .await?
            .map_or_else(|| s.body.clone(), |(c, _)| c);
        outbox::push(
            &mut w,
            &ChatAction::Edit {
                channel: self.core.cfg().approvals_channel.clone(),
                message: Some(message),
                stage: Some(stage),
                content,
            },
            now,
        )?;
        self.core.commit(w).await?;
        Ok(())
    }
}
