//! Time-bound licences at their end, on the engine's clock: the holder is reminded seven days
//! and one day before (by direct message, and in a reply where the licence was asked for),
//! and at the end the licence is released as `!pro release` would (the seat stays bought).
//!
//! Each step happens once, across ticks running together and across restarts: a reminder is
//! claimed by a conditional update in the transaction that says it, and the end is claimed
//! in the transaction that opens the release. An extension asked before the end keeps the
//! licence until it is decided (an open request for the holder defers the end). A licence
//! that is already gone from the tenant ends without a release.

use std::sync::Arc;

use super::core::Core;
use super::directory::Directory;
use super::error::{EngineError, EngineResult};
use super::opening::Opening;
use super::requests::{Approval, NewWork};
use crate::domain::{AuditAction, ChannelRef, MessageRef, RequestKind};
use crate::engine::ports::IncomingMessage;
use crate::store::outbox::{self, ChatAction};
use crate::store::terms::{self, Reminder, Running};
use crate::store::{links, requests, WriteTx};
use crate::t;

/// Reminders and the end of time-bound licences.
pub(super) struct Terms {
    core: Arc<Core>,
    directory: Arc<Directory>,
    opening: Arc<Opening>,
    /// One pass at a time.
    lock: tokio::sync::Mutex<()>,
}

impl Terms {
    pub(super) fn new(core: Arc<Core>, directory: Arc<Directory>, opening: Arc<Opening>) -> Terms {
        Terms {
            core,
            directory,
            opening,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Sends the reminders due and ends the terms due. Errors are logged: the next tick
    /// tries again.
    pub(super) async fn tick(&self) {
        let _one_at_a_time = self.lock.lock().await;
        if let Err(e) = self.tick_inner().await {
            tracing::error!(error = %e, "checking licence terms failed");
        }
    }

    async fn tick_inner(&self) -> EngineResult<()> {
        let running = {
            let mut conn = self.core.store().read().await?;
            terms::running(&mut conn).await?
        };
        for r in running {
            let left = r.ends_at - self.core.now();
            if left <= chrono::Duration::zero() {
                self.end(&r).await?;
            } else if left <= chrono::Duration::days(1) && !r.reminded_day {
                self.remind(&r, Reminder::Day).await?;
            } else if left <= chrono::Duration::days(7) && !r.reminded_week && !r.reminded_day {
                self.remind(&r, Reminder::Week).await?;
            }
        }
        Ok(())
    }

    /// Reminds the holder once of the coming end.
    async fn remind(&self, r: &Running, which: Reminder) -> EngineResult<()> {
        let now = self.core.now();
        let mut w = self.core.store().write().await?;
        if !terms::claim_reminder(w.conn().await?, r.request, which, now).await? {
            return Ok(());
        }
        // The week's reminder is not owed any more once the day's is sent.
        if which == Reminder::Day {
            terms::claim_reminder(w.conn().await?, r.request, Reminder::Week, now).await?;
        }
        let text = || {
            t!(
                self.core.texts(),
                "term.reminder",
                upn = r.upn,
                until = self.core.minute(r.ends_at),
                prefix = self.core.cfg().parser.prefix
            )
        };
        self.tell_holder(&mut w, r, &text).await?;
        let before = match which {
            Reminder::Week => "7d",
            Reminder::Day => "1d",
        };
        let detail = serde_json::json!({"ends_at": crate::store::ts(r.ends_at), "before": before});
        let action = AuditAction::TermReminded;
        self.core
            .audit_by_bot(&mut w, r.request, action, detail)
            .await?;
        self.core.commit(w).await?;
        Ok(())
    }

    /// The holder of `r` by direct message (the chat accounts with a verified link to them,
    /// else whoever asked), and a reply where the licence was asked for.
    /// `text` is rendered in each one's language (the reply in the first one's).
    async fn tell_holder(
        &self,
        w: &mut WriteTx<'_>,
        r: &Running,
        text: &(dyn Fn() -> String + Sync),
    ) -> EngineResult<()> {
        let mut holders = links::verified_users_for(w.conn().await?, &r.upn).await?;
        if holders.is_empty() {
            holders.push(r.requester.clone());
        }
        for holder in &holders {
            self.core.tell_user(w, holder, text).await?;
        }
        if let (Some(channel), Some(message)) = (&r.origin_channel, &r.origin_message) {
            let language = self.core.language_in(w, &holders[0]).await?;
            let text = self.core.in_language(language, text);
            let post = ChatAction::Send {
                channel: channel.clone(),
                content: format!("{} {text}", self.core.mention(&holders[0])),
                reply_to: Some(message.clone()),
                stage: None,
                mentions: vec![holders[0].clone()],
            };
            outbox::push(w, &post, self.core.now())?;
        }
        Ok(())
    }

    /// Ends the term: opens the release (approved by the end itself), unless a request for
    /// the holder is open (an extension being decided) or the licence is gone already.
    async fn end(&self, r: &Running) -> EngineResult<()> {
        {
            let mut conn = self.core.store().read().await?;
            if requests::open_for_target(&mut conn, &r.upn)
                .await?
                .is_some()
            {
                return Ok(());
            }
        }
        let user = match self.directory.tenant.user(&r.upn).await {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e, upn = %r.upn, "cannot read a holder whose term ended; trying again later");
                return Ok(());
            }
        };
        if !user.holds(&self.core.cfg().sku_part_number) {
            return self.end_without_release(r).await;
        }
        let m = IncomingMessage {
            id: MessageRef(format!("term-end-{}", r.request.0)),
            channel: r
                .origin_channel
                .clone()
                .unwrap_or_else(|| ChannelRef(self.core.cfg().approvals_channel.0.clone())),
            author: r.requester.clone(),
            content: String::new(),
            reply_to: None,
            direct: false,
            public: false,
            author_name: r.requester.to_string(),
            roles: Vec::new(),
            locale: None,
        };
        let reason = t!(self.core.texts(), "term.reason", id = r.request);
        let mut work = NewWork::licence(RequestKind::Release, user, Some(reason));
        work.ends = Some(r.request);
        match self
            .opening
            .open_requests(&m, None, vec![work], Approval::TermEnded, false, None)
            .await
        {
            Ok(_) => Ok(()),
            // Ended by another tick meanwhile, or the seats could not be read: nothing to do
            // now.
            Err(EngineError::User(why)) => {
                tracing::debug!(
                    request = r.request.0,
                    why,
                    "a term's end was not opened now"
                );
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// The licence is gone already: the term ends with nothing to release.
    async fn end_without_release(&self, r: &Running) -> EngineResult<()> {
        let now = self.core.now();
        let mut w = self.core.store().write().await?;
        if !terms::claim_end(w.conn().await?, r.request, now).await? {
            return Ok(());
        }
        let detail = serde_json::json!({"ends_at": crate::store::ts(r.ends_at),
            "released": false, "why": "the licence was gone already"});
        let action = AuditAction::TermEnded;
        self.core
            .audit_by_bot(&mut w, r.request, action, detail)
            .await?;
        w.commit().await?;
        Ok(())
    }
}
