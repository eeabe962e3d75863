//! Delivery of the outbox: what the engine decided to say is sent through the transport in
//! id order, each action marked when done, so a restart re-sends only what was not.
//!
//! [`Delivery`] is the one use case that sends through the chat port: it holds the port, the
//! lock that keeps one deliverer at a time, and this database's delivery-key salt.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::core::Core;
use super::crash::{crash_point, CrashPoint};
use crate::domain::{ChannelRef, ChatUserId, MessageRef, Picture, StageId};
use crate::engine::ports::{Buttons, ChatError, ChatOutput, DecisionLabels, Post};
use crate::store::outbox::{self, ChatAction, Pending};
use crate::store::{bot_state, stages, StoreResult};
use crate::t;

/// Actions read, carried out and marked together in one delivery page.
const PAGE: usize = 64;

/// Attempts before an action is given up.
const MAX_DELIVERY_ATTEMPTS: i64 = 10;

/// The key under which outbox row `id` is delivered: this database's salt (so a new or
/// restored database never repeats the key of another within Discord's nonce window), the
/// row id in base 36, and a suffix for a second message of the same row (a DM's fallback).
/// At most 8 + 1 + 13 + 1 characters, inside [`crate::engine::ports::MAX_DELIVERY_KEY`].
pub(crate) fn delivery_key(salt: &str, id: i64, suffix: &str) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = id.unsigned_abs();
    let mut digits = Vec::new();
    loop {
        digits.push(DIGITS[(n % 36) as usize] as char);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    let id36: String = digits.into_iter().rev().collect();
    format!("{salt}-{id36}{suffix}")
}

/// One page of a delivery pass: what became of each action, and the approval messages it
/// posted (an edit or a reaction later in the page finds its message there before the page
/// is stored).
#[derive(Default)]
struct Page {
    results: Vec<(Pending, Delivered)>,
    posted: HashMap<StageId, MessageRef>,
}

enum Delivered {
    Done(Option<MessageRef>),
    /// The approval message it refers to is not posted yet.
    NotYet,
    Failed(ChatError),
}

/// Carries the outbox out through the chat transport.
pub(super) struct Delivery {
    core: Arc<Core>,
    chat: Arc<dyn ChatOutput>,
    /// One deliverer at a time, so nothing is said twice.
    lock: tokio::sync::Mutex<()>,
    /// This database's delivery-key salt, once read.
    salt: tokio::sync::OnceCell<String>,
}

impl Delivery {
    pub(super) fn new(core: Arc<Core>, chat: Arc<dyn ChatOutput>) -> Delivery {
        Delivery {
            core,
            chat,
            lock: tokio::sync::Mutex::new(()),
            salt: tokio::sync::OnceCell::new(),
        }
    }

    /// Delivers every due outbox action. Failures are retried later or given up; never raised.
    pub(super) async fn deliver(&self) {
        let _one = self.lock.lock().await;
        if let Err(e) = self.deliver_inner().await {
            tracing::error!(error = %e, "outbox delivery failed");
        }
    }

    /// One pass over every due action in id order, in pages of 64. A page's actions are
    /// carried out one by one and marked together in one transaction: a crash between a post
    /// and the page's commit sends the page's posts again under the same delivery keys,
    /// which the transport answers with the message it made the first time (Discord's
    /// `enforce_nonce`). An action that waits for its approval message to be posted is
    /// skipped and looked at again on the next pass; the pass goes on past it, so nothing
    /// queued behind it starves.
    async fn deliver_inner(&self) -> StoreResult<()> {
        let mut after = 0;
        loop {
            let due = {
                let mut conn = self.core.store().read().await?;
                outbox::due(&mut conn, self.core.now(), after, PAGE as i64).await?
            };
            let Some(last) = due.last() else {
                return Ok(());
            };
            // Another instance that took the gateway over posts from here on; this one
            // posts nothing more (its token is stale). Checked only when there is a page to
            // post, so an idle pass costs no extra read.
            self.core.store().check_fence().await?;
            after = last.id;
            let salt = self.delivery_salt().await?;
            let mut page = Page::default();
            for item in due {
                let result = self.deliver_one(&item, &salt, &page).await?;
                if let Delivered::Done(Some(id)) = &result {
                    crash_point(CrashPoint::AfterMessagePosted);
                    if let ChatAction::Send {
                        stage: Some(stage), ..
                    } = &item.action
                    {
                        page.posted.insert(*stage, id.clone());
                    }
                }
                page.results.push((item, result));
            }
            let short = page.results.len() < PAGE;
            self.record_page(page).await?;
            // A short page was the last of what was due when it was read; what was queued
            // since is delivered by the pass its own writer asks for.
            if short {
                return Ok(());
            }
        }
    }

    /// Marks a page's actions in one transaction: done, given up, or due again later.
    async fn record_page(&self, page: Page) -> StoreResult<()> {
        if page
            .results
            .iter()
            .all(|(_, r)| matches!(r, Delivered::NotYet))
        {
            return Ok(());
        }
        let now = self.core.now();
        let mut w = self.core.store().write().await?;
        let done: Vec<(i64, Option<&MessageRef>)> = page
            .results
            .iter()
            .filter_map(|(item, result)| match result {
                Delivered::Done(id) => Some((item.id, id.as_ref())),
                _ => None,
            })
            .collect();
        outbox::delivered(&mut w, &done, now);
        for (item, result) in &page.results {
            match result {
                Delivered::Done(id) => {
                    super::catchup::after_delivery(&mut w, item, now).await?;
                    if let (
                        ChatAction::Send {
                            stage: Some(stage), ..
                        },
                        Some(id),
                    ) = (&item.action, id)
                    {
                        stages::set_approval_message(&mut w, *stage, id);
                    }
                }
                Delivered::NotYet => {}
                Delivered::Failed(e) => {
                    let permanent = !matches!(e, ChatError::Transient(_));
                    if permanent || item.attempts + 1 >= MAX_DELIVERY_ATTEMPTS {
                        tracing::warn!(outbox = item.id, error = %e, "giving up on a chat action");
                        outbox::give_up(w.conn().await?, item.id, &e.to_string(), now).await?;
                    } else {
                        let delay = Duration::from_secs(
                            2u64.saturating_pow(item.attempts.clamp(0, 10) as u32),
                        );
                        let at = now
                            + chrono::Duration::from_std(delay)
                                .unwrap_or(chrono::Duration::seconds(60));
                        tracing::warn!(outbox = item.id, error = %e, "chat action failed; will retry");
                        outbox::retry_at(w.conn().await?, item.id, &e.to_string(), at).await?;
                    }
                }
            }
        }
        w.commit().await
    }

    /// The approval message of a stage, or why there is none (yet).
    async fn stage_message(&self, stage: StageId) -> StoreResult<Result<MessageRef, Delivered>> {
        let mut conn = self.core.store().read().await?;
        match stages::get(&mut conn, stage)
            .await?
            .and_then(|s| s.approval_message)
        {
            Some(m) => Ok(Ok(m)),
            None if !outbox::stage_has_post(&mut conn, stage).await?
                || outbox::stage_post_given_up(&mut conn, stage).await? =>
            {
                Ok(Err(Delivered::Failed(ChatError::NotFound(
                    "the approval message was never posted".into(),
                ))))
            }
            None => Ok(Err(Delivered::NotYet)),
        }
    }

    /// This database's delivery-key salt, read (or made) once.
    async fn delivery_salt(&self) -> StoreResult<String> {
        self.salt
            .get_or_try_init(|| async {
                let mut w = self.core.store().write().await?;
                let salt = bot_state::delivery_salt(w.conn().await?).await?;
                w.commit().await?;
                Ok(salt)
            })
            .await
            .cloned()
    }

    #[tracing::instrument(name = "delivery", skip_all, fields(outbox = item.id, attempt = item.attempts + 1))]
    async fn deliver_one(&self, item: &Pending, salt: &str, page: &Page) -> StoreResult<Delivered> {
        let chat = &self.chat;
        let key = delivery_key(salt, item.id, "");
        // Only an approval message that waits for a decision has buttons to label.
        let labels = item.decidable.then(|| self.decision_labels());
        Ok(match &item.action {
            ChatAction::Send {
                channel,
                content,
                reply_to,
                mentions,
                stage,
            } => chat
                .send_once(
                    &key,
                    Post {
                        channel,
                        content,
                        reply_to: reply_to.as_ref(),
                        mentions,
                        decision: stage.and(labels.as_ref()),
                        picture: item.picture.as_ref(),
                    },
                )
                .await
                .into(),
            ChatAction::Dm {
                user,
                content,
                fallback,
                fallback_reply_to,
            } => match self.dm(&key, user, content, item.picture.as_ref()).await {
                Err(ChatError::DmClosed) => match fallback {
                    Some(channel) => {
                        let key = delivery_key(salt, item.id, "f");
                        let dm = (user, content.as_str(), item.picture.as_ref());
                        self.dm_in_channel(&key, dm, channel, fallback_reply_to)
                            .await
                    }
                    None => Delivered::Failed(ChatError::DmClosed),
                },
                sent => sent.into(),
            },
            ChatAction::Edit {
                channel,
                message,
                stage,
                content,
            } => match self
                .target(
                    message,
                    stage,
                    page,
                    ChatError::NotFound("no message to edit".into()),
                )
                .await?
            {
                Ok(m) => {
                    let buttons = match (stage, &labels) {
                        (None, _) => Buttons::Leave,
                        (Some(_), Some(labels)) => Buttons::Offer(labels),
                        (Some(_), None) => Buttons::Remove,
                    };
                    chat.edit_approval(channel, &m, content, buttons)
                        .await
                        .into()
                }
                Err(d) => d,
            },
            ChatAction::React {
                channel,
                message,
                stage,
                emoji,
            } => match self
                .target(
                    message,
                    stage,
                    page,
                    ChatError::NotFound("no message to react on".into()),
                )
                .await?
            {
                Ok(m) => chat.react(channel, &m, emoji).await.into(),
                Err(d) => d,
            },
            ChatAction::Unreact {
                channel,
                message,
                user,
                emoji,
            } => chat.unreact(channel, message, user, emoji).await.into(),
        })
    }

    /// The words on an approval message's buttons, in the approvals channel's language.
    fn decision_labels(&self) -> DecisionLabels {
        self.core.for_approvers(|| DecisionLabels {
            approve: t!(self.core.texts(), "approval.button_approve"),
            deny: t!(self.core.texts(), "approval.button_deny"),
        })
    }

    /// A direct message, with its picture if it has one.
    async fn dm(
        &self,
        key: &str,
        user: &ChatUserId,
        content: &str,
        picture: Option<&Picture>,
    ) -> Result<MessageRef, ChatError> {
        match picture {
            Some(p) => self.chat.dm_picture_once(key, user, content, p).await,
            None => self.chat.dm_once(key, user, content).await,
        }
    }

    /// A direct message that could not be sent, said in `channel` with a mention instead.
    async fn dm_in_channel(
        &self,
        key: &str,
        (user, content, picture): (&ChatUserId, &str, Option<&Picture>),
        channel: &ChannelRef,
        reply_to: &Option<MessageRef>,
    ) -> Delivered {
        let text = format!("{} {}", self.chat.mention(user), content);
        self.chat
            .send_once(
                key,
                Post {
                    channel,
                    content: &text,
                    reply_to: reply_to.as_ref(),
                    mentions: std::slice::from_ref(user),
                    decision: None,
                    picture,
                },
            )
            .await
            .into()
    }

    /// The message an edit or a reaction is for: named, or its stage's approval message
    /// (posted earlier in this `page`, or stored); `missing` is the failure when it is
    /// neither.
    async fn target(
        &self,
        message: &Option<MessageRef>,
        stage: &Option<StageId>,
        page: &Page,
        missing: ChatError,
    ) -> StoreResult<Result<MessageRef, Delivered>> {
        Ok(match (message, stage) {
            (Some(m), _) => Ok(m.clone()),
            (None, Some(s)) => match page.posted.get(s) {
                Some(m) => Ok(m.clone()),
                None => self.stage_message(*s).await?,
            },
            (None, None) => Err(Delivered::Failed(missing)),
        })
    }
}

impl From<Result<MessageRef, ChatError>> for Delivered {
    fn from(sent: Result<MessageRef, ChatError>) -> Self {
        match sent {
            Ok(id) => Delivered::Done(Some(id)),
            Err(e) => Delivered::Failed(e),
        }
    }
}

impl From<Result<(), ChatError>> for Delivered {
    fn from(done: Result<(), ChatError>) -> Self {
        match done {
            Ok(()) => Delivered::Done(None),
            Err(e) => Delivered::Failed(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::delivery_key;
    use crate::engine::ports::MAX_DELIVERY_KEY;

    #[test]
    fn delivery_keys_name_the_row_in_base_36() {
        assert_eq!(delivery_key("0a1b2c3d", 1, ""), "0a1b2c3d-1");
        assert_eq!(delivery_key("0a1b2c3d", 36 * 36, "f"), "0a1b2c3d-100f");
    }

    #[test]
    fn the_longest_delivery_key_fits_discords_nonce() {
        let key = delivery_key("ffffffff", i64::MAX, "f");
        assert!(key.chars().count() <= MAX_DELIVERY_KEY, "{key}");
    }
}
