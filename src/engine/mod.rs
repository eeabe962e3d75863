//! The engine: policy, the request state machine, routing to approvers, decisions, the
//! scheduler (reminders, escalation, expiry) and the job worker. It knows neither Discord nor
//! Microsoft: it talks through its own ports ([`ports`]: chat, tenant, purchaser, mailer,
//! identity provider), which transports and backends implement; it keeps everything in the
//! [`Store`], and says everything
//! through the message catalogue.

mod catchup;
pub mod clock;
mod commands;
pub mod crash;
mod decisions;
mod delivery;
mod links;
mod opening;
pub mod ports;
mod render;
mod requests;
mod scheduler;
pub mod signin;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Notify};

use crate::command::ParserConfig;
use crate::domain::{
    Actor, AuditAction, BillingCycle, ChannelRef, ChatUserId, CountryCode, RequestId, RoleSet,
    StageKind, Upn,
};
use crate::engine::ports::{ChatEvent, IncomingMessage, Ports, RetryPolicy};
use crate::store::outbox::{self, ChatAction};
use crate::store::{audit, Store, StoreError, Timestamp, WriteTx};
use crate::t;
use crate::texts::Texts;

pub use catchup::OpenApproval;
pub use worker::JobReport;

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

/// What the engine needs from configuration.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Prefix and bot mentions.
    pub parser: ParserConfig,
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
    /// Who may ask for a licence: chat user names or chat roles; empty means everyone.
    pub requesters: Vec<String>,
    /// Whether links are proven by a mailed code (a mail sender is configured).
    pub mail_proof: bool,
    /// The public base URL of the sign-in pages, when links are proven by signing in.
    pub sign_in_url: Option<String>,
    /// Retry policy of jobs.
    pub jobs: JobPolicy,
}

impl EngineConfig {
    /// The roles a stage of this kind needs.
    pub fn roles_for(&self, kind: StageKind) -> &RoleSet {
        match kind {
            StageKind::Purchase => &self.purchase_roles,
            StageKind::Assign | StageKind::Unassign => &self.assign_roles,
        }
    }

    /// The approver registered for a chat account.
    pub fn approver(&self, user: &ChatUserId) -> Option<&Approver> {
        self.approvers.iter().find(|a| &a.chat_user == user)
    }
}

/// Why handling something failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Something the person in chat should read (already rendered from the catalogue).
    #[error("{0}")]
    User(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Result of engine operations.
pub type EngineResult<T> = Result<T, EngineError>;

/// The engine. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    ports: Ports,
    texts: Texts,
    cfg: EngineConfig,
    worker_id: String,
    /// One job at a time: purchases must apply in order, and a job's steps never interleave.
    job_lock: Mutex<()>,
    /// One deliverer at a time, so nothing is said twice.
    delivery_lock: Mutex<()>,
    /// One scheduler tick at a time (the console ticks beside the background loop).
    tick_lock: Mutex<()>,
    /// This database's delivery-key salt, once read.
    delivery_salt: tokio::sync::OnceCell<String>,
    /// Wakes the background loops when there is new work.
    wake: Notify,
    /// Approvers' directory object ids, once read (they never change).
    approver_ids: std::sync::Mutex<std::collections::HashMap<Upn, String>>,
}

impl Engine {
    /// Builds an engine on `store`, talking to the world through `ports`.
    pub fn new(store: Store, ports: Ports, texts: Texts, cfg: EngineConfig) -> Engine {
        let worker_id = format!("worker-{}-{}", std::process::id(), rand::random::<u32>());
        Engine {
            inner: Arc::new(Inner {
                store,
                ports,
                texts,
                cfg,
                worker_id,
                job_lock: Mutex::new(()),
                delivery_lock: Mutex::new(()),
                tick_lock: Mutex::new(()),
                delivery_salt: tokio::sync::OnceCell::new(),
                wake: Notify::new(),
                approver_ids: std::sync::Mutex::new(std::collections::HashMap::new()),
            }),
        }
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }
    fn cfg(&self) -> &EngineConfig {
        &self.inner.cfg
    }
    fn texts(&self) -> &Texts {
        &self.inner.texts
    }
    fn now(&self) -> Timestamp {
        self.inner.ports.clock.now()
    }
    fn mention(&self, user: &ChatUserId) -> String {
        self.inner.ports.chat.mention(user)
    }

    /// Handles one chat event completely: decides, stores, and delivers what it has to say.
    /// Errors meant for the person become replies; others are logged and answered with an
    /// apology. Nothing here panics on any input.
    #[tracing::instrument(name = "chat_event", skip_all, fields(kind, user, message))]
    pub async fn handle(&self, event: ChatEvent) {
        let span = tracing::Span::current();
        let (kind, user, message) = match &event {
            ChatEvent::Message(m) => ("message", &m.author, &m.id),
            ChatEvent::ReactionAdded(r) => ("reaction_added", &r.user, &r.message),
            ChatEvent::ReactionRemoved(r) => ("reaction_removed", &r.user, &r.message),
        };
        span.record("kind", kind);
        span.record("user", tracing::field::display(user));
        span.record("message", tracing::field::display(message));
        let result = match &event {
            ChatEvent::Message(m) => self.on_message(m).await,
            ChatEvent::ReactionAdded(r) => self.on_reaction(r, true).await,
            ChatEvent::ReactionRemoved(r) => self.on_reaction(r, false).await,
        };
        if let Err(e) = result {
            let reply_to = match &event {
                ChatEvent::Message(m) => Some(m),
                _ => None,
            };
            match e {
                EngineError::User(text) => {
                    if let Some(m) = reply_to {
                        self.reply_now(m, text).await;
                    }
                }
                other => {
                    tracing::error!(error = %other, "failed to handle a chat event");
                    if let Some(m) = reply_to {
                        let text = t!(self.texts(), "error.internal");
                        self.reply_now(m, text).await;
                    }
                }
            }
        }
        self.deliver().await;
        self.inner.wake.notify_one();
    }

    async fn on_message(&self, m: &IncomingMessage) -> EngineResult<()> {
        use crate::command::{parse_message, Parsed};
        if let Some(parent) = &m.reply_to {
            if self.on_reply(m, parent).await? {
                return Ok(());
            }
        }
        match parse_message(&m.content, &self.cfg().parser) {
            Parsed::Ignore => Ok(()),
            Parsed::Command(cmd) => self.run_command(m, cmd).await,
            Parsed::Suggest => {
                let text = t!(
                    self.texts(),
                    "parse.suggest",
                    prefix = self.cfg().parser.prefix
                );
                self.reply_now(m, text).await;
                Ok(())
            }
            Parsed::Usage { command, problem } => {
                let usage = self.usage_line(command);
                let text = match problem {
                    Some(p) => t!(
                        self.texts(),
                        "parse.usage_with_problem",
                        problem = p.render(self.texts()),
                        usage = usage
                    ),
                    None => t!(self.texts(), "parse.usage", usage = usage),
                };
                self.reply_now(m, text).await;
                Ok(())
            }
            Parsed::Unknown => {
                let text = format!(
                    "{}\n{}",
                    t!(self.texts(), "parse.unknown"),
                    self.help_list(&m.author)
                );
                self.reply_now(m, text).await;
                Ok(())
            }
            Parsed::TooLong => {
                let text = t!(
                    self.texts(),
                    "parse.too_long",
                    max = crate::command::MAX_MESSAGE_CHARS
                );
                self.reply_now(m, text).await;
                Ok(())
            }
        }
    }

    /// Queues a reply to a message in its own small transaction. When even that cannot be
    /// stored (the database is full, or locked for longer than its busy timeout), the reply
    /// is sent straight away instead, once and not kept: the person still hears why nothing
    /// happened. Failures are logged, never propagated.
    async fn reply_now(&self, m: &IncomingMessage, text: String) {
        let action = self.reply_action(m, text);
        let result = async {
            let mut w = self.store().write().await?;
            outbox::push(w.conn(), &action, self.now()).await?;
            w.commit().await
        }
        .await;
        let Err(e) = result else {
            return;
        };
        tracing::error!(error = %e, "could not queue a reply; sending it without the outbox");
        let chat = &self.inner.ports.chat;
        let sent = match &action {
            ChatAction::Dm { user, content, .. } => chat.dm(user, content).await.map(|_| ()),
            ChatAction::Send {
                channel,
                content,
                reply_to,
                mentions,
                ..
            } => chat
                .send(channel, content, reply_to.as_ref(), mentions)
                .await
                .map(|_| ()),
            ChatAction::Edit { .. } | ChatAction::React { .. } | ChatAction::Unreact { .. } => {
                Ok(())
            }
        };
        if let Err(e) = sent {
            tracing::error!(error = %e, "could not send a reply either; it is lost");
        }
    }

    /// The action that answers a message: a DM for a DM, else a reply in its channel.
    /// Queues `text` as the answer to `m` and commits the transaction it belongs to.
    async fn reply_and_commit(
        &self,
        mut w: WriteTx<'_>,
        m: &IncomingMessage,
        text: String,
    ) -> EngineResult<()> {
        outbox::push(w.conn(), &self.reply_action(m, text), self.now()).await?;
        w.commit().await?;
        Ok(())
    }

    fn reply_action(&self, m: &IncomingMessage, text: String) -> ChatAction {
        if m.direct {
            ChatAction::Dm {
                user: m.author.clone(),
                content: text,
                fallback: None,
                fallback_reply_to: None,
            }
        } else {
            ChatAction::Send {
                channel: m.channel.clone(),
                content: text,
                reply_to: Some(m.id.clone()),
                stage: None,
                mentions: Vec::new(),
            }
        }
    }

    /// Writes one audit event inside a transaction.
    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        tx: &mut WriteTx<'_>,
        request: Option<RequestId>,
        actor: &Actor,
        action: AuditAction,
        before: Option<&str>,
        after: Option<&str>,
        detail: &str,
    ) -> Result<(), StoreError> {
        let actor = actor.to_string();
        let id = audit::append(
            tx.conn(),
            &audit::NewEvent {
                request,
                actor: &actor,
                action: action.as_str(),
                before,
                after,
                detail,
            },
            self.now(),
        )
        .await?;
        tracing::info!(
            request = request.map(|r| r.0),
            actor = %actor,
            action = action.as_str(),
            before,
            after,
            audit_id = id,
            "transition"
        );
        Ok(())
    }

    /// Runs everything that is due now until nothing is left: scheduler, jobs, delivery.
    /// The console's `wait_idle` and the tests use it to reach a quiet state.
    pub async fn settle(&self) {
        for _ in 0..1000 {
            self.tick().await;
            let ran = self.run_due_jobs().await;
            self.deliver().await;
            if ran == 0 {
                break;
            }
        }
    }

    /// Start-up recovery: jobs leased by a previous process go back in the queue. Call once,
    /// while holding the instance lock.
    pub async fn recover(&self) -> EngineResult<u64> {
        let mut w = self.store().write().await?;
        let n = crate::store::jobs::release_all_leases(w.conn(), self.now()).await?;
        w.commit().await?;
        if n > 0 {
            tracing::warn!(
                jobs = n,
                "re-queued jobs left running by a previous process"
            );
        }
        Ok(n)
    }

    /// Runs the worker, scheduler and delivery loops until `shutdown` fires; a job in flight
    /// finishes first, queued work stays queued.
    pub async fn run_background(
        &self,
        tick: Duration,
        poll: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut last_tick = std::time::Instant::now() - tick;
        loop {
            if *shutdown.borrow() {
                break;
            }
            if last_tick.elapsed() >= tick {
                self.tick().await;
                last_tick = std::time::Instant::now();
            }
            self.run_due_jobs().await;
            self.deliver().await;
            tokio::select! {
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!("engine background loop stopped");
    }

    /// An approver's directory object id, read from the directory once and remembered.
    async fn approver_object_id(
        &self,
        upn: &Upn,
    ) -> Result<String, crate::engine::ports::BackendError> {
        let known = self
            .inner
            .approver_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(upn)
            .cloned();
        if let Some(id) = known {
            return Ok(id);
        }
        let id = self.inner.ports.tenant.object_id(upn).await?;
        self.inner
            .approver_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(upn.clone(), id.clone());
        Ok(id)
    }

    /// Wakes the background loop (new work was stored).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }
}
