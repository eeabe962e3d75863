//! The engine: policy, the request state machine, routing to approvers, decisions, the
//! scheduler (reminders, escalation, expiry) and the job worker. It knows neither Discord nor
//! Microsoft: it talks through its own ports ([`ports`]: chat, tenant, purchaser, mailer,
//! identity provider), which transports and backends implement; it keeps everything in the
//! [`Store`], and says everything through the message catalogue.
//!
//! [`Engine`] is a facade. Each use case is its own type holding only what it needs:
//!
//! - `Core` (`core.rs`): the context nearly every use case reads (store, catalogue,
//!   settings, clock, mentions, the wake-up bell), shared as one `Arc`; behaviour two use
//!   cases share is a method on it (`render.rs`: what messages say; `requests.rs`: moving a
//!   request along), never a copy;
//! - `Directory` (`directory.rs`): the tenant port and the approver-id cache, with the reads
//!   the use cases share (approvers' roles, seats, directory users);
//! - `Intake` (`commands/`): chat commands, one file each, with handles to `Opening`
//!   (`opening.rs`) and `Links` (`links.rs`, `signin.rs`: mailer, identity provider);
//! - `Decisions` (`decisions.rs`) and `Catchup` (`catchup.rs`, which hands a new reaction to
//!   `Decisions`);
//! - `Worker` (`worker/`: purchaser, job lock, lessee id), `Scheduler` (`scheduler.rs`: tick
//!   lock) and `Delivery` (`delivery.rs`: the chat output, delivery lock, key salt).
//!
//! What crosses use cases is done here, not through a back-reference: after a chat event the
//! engine delivers and wakes the worker; `settle` and the background loop run the scheduler,
//! the worker and delivery in turn. The one lock two use cases share, the job lock (the
//! worker runs jobs under it, `Opening` plans seats under it), is handed to both at start.

mod catchup;
pub mod clock;
mod commands;
mod core;
pub mod crash;
mod decisions;
mod delivery;
mod directory;
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

use crate::command::ParserConfig;
use crate::domain::{
    BillingCycle, ChannelRef, ChatUserId, CountryCode, MessageRef, RoleSet, StageId, StageKind, Upn,
};
use crate::engine::ports::{ChatEvent, IncomingMessage, Ports, RetryPolicy};
use crate::store::{Store, StoreError};
use crate::t;
use crate::texts::Texts;

pub use catchup::OpenApproval;
pub use worker::JobReport;

use self::core::Core;
use catchup::Catchup;
use commands::Intake;
use decisions::Decisions;
use delivery::Delivery;
use directory::Directory;
use links::Links;
use opening::Opening;
use scheduler::Scheduler;
use worker::{JobLock, Worker};

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

/// The engine: a facade over its use cases. Cheap to clone; clones share everything.
///
/// It composes the use cases and does what crosses them: after a chat event it delivers
/// what was said and wakes the worker; `settle` and the background loop run the scheduler,
/// the worker and delivery in turn.
#[derive(Clone)]
pub struct Engine {
    core: Arc<Core>,
    intake: Arc<Intake>,
    decisions: Arc<Decisions>,
    links: Arc<Links>,
    catchup: Arc<Catchup>,
    delivery: Arc<Delivery>,
    worker: Arc<Worker>,
    scheduler: Arc<Scheduler>,
}

impl Engine {
    /// Builds an engine on `store`, talking to the world through `ports`.
    pub fn new(store: Store, ports: Ports, texts: Texts, cfg: EngineConfig) -> Engine {
        let core = Arc::new(Core::new(
            store,
            texts,
            cfg,
            ports.clock.clone(),
            ports.chat.clone(),
        ));
        let directory = Arc::new(Directory::new(core.clone(), ports.tenant.clone()));
        let job_lock = JobLock::default();
        let decisions = Arc::new(Decisions::new(core.clone(), directory.clone()));
        let links = Arc::new(Links::new(
            core.clone(),
            directory.clone(),
            ports.mailer,
            ports.identity,
            ports.chat.clone(),
        ));
        let opening = Arc::new(Opening::new(
            core.clone(),
            directory.clone(),
            job_lock.clone(),
        ));
        Engine {
            intake: Arc::new(Intake::new(
                core.clone(),
                directory.clone(),
                ports.chat.clone(),
                opening,
                links.clone(),
            )),
            catchup: Arc::new(Catchup::new(core.clone(), decisions.clone())),
            decisions,
            links,
            delivery: Arc::new(Delivery::new(core.clone(), ports.chat)),
            worker: Arc::new(Worker::new(
                core.clone(),
                directory.clone(),
                ports.purchaser,
                job_lock,
            )),
            scheduler: Arc::new(Scheduler::new(core.clone(), directory)),
            core,
        }
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
            ChatEvent::ReactionAdded(r) => self.catchup.on_reaction(r, true).await,
            ChatEvent::ReactionRemoved(r) => self.catchup.on_reaction(r, false).await,
        };
        if let Err(e) = result {
            let reply_to = match &event {
                ChatEvent::Message(m) => Some(m),
                _ => None,
            };
            match e {
                EngineError::User(text) => {
                    if let Some(m) = reply_to {
                        self.intake.reply_now(m, text).await;
                    }
                }
                other => {
                    tracing::error!(error = %other, "failed to handle a chat event");
                    if let Some(m) = reply_to {
                        let text = t!(self.core.texts(), "error.internal");
                        self.intake.reply_now(m, text).await;
                    }
                }
            }
        }
        self.deliver().await;
        self.core.wake();
    }

    /// A denial reason given as a reply, else a command.
    async fn on_message(&self, m: &IncomingMessage) -> EngineResult<()> {
        if let Some(parent) = &m.reply_to {
            if self.decisions.on_reply(m, parent).await? {
                return Ok(());
            }
        }
        self.intake.on_message(m).await
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
        self.worker.recover().await
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
                _ = self.core.woken() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!("engine background loop stopped");
    }

    /// Wakes the background loop (new work was stored).
    pub fn wake(&self) {
        self.core.wake();
    }

    /// Delivers every due outbox action. Failures are retried later or given up; never raised.
    pub async fn deliver(&self) {
        self.delivery.deliver().await
    }

    /// Checks every pending stage once: reminders, escalations, expiry. Errors are logged,
    /// never raised: the next tick tries again.
    pub async fn tick(&self) {
        self.scheduler.tick().await
    }

    /// Runs due jobs until none is due; returns how many ran.
    pub async fn run_due_jobs(&self) -> usize {
        self.worker.run_due_jobs().await
    }

    /// Claims and runs the next due job (with the assignment jobs due alongside it, as one
    /// batch); returns the report of the first.
    pub async fn try_execute_job(&self) -> EngineResult<Option<JobReport>> {
        self.worker.try_execute_job().await
    }

    /// Start-up recovery of reactions a previous process claimed but did not finish: they are
    /// forgotten, so the transport's catch-up applies them. Call once, holding the instance lock.
    pub async fn recover_reactions(&self) -> EngineResult<u64> {
        self.catchup.recover_reactions().await
    }

    /// Every emoji that decides (approve first, then deny), as configured.
    pub fn decision_emojis(&self) -> Vec<String> {
        self.catchup.decision_emojis()
    }

    /// The approval messages to check after reconnecting, oldest first: those of open
    /// requests, and those whose latest post or edit was given up.
    pub async fn open_approvals(&self) -> EngineResult<Vec<OpenApproval>> {
        self.catchup.open_approvals().await
    }

    /// The users whose `emoji` on `message` the engine has applied and not seen removed.
    pub async fn known_reactors(
        &self,
        message: &MessageRef,
        emoji: &str,
    ) -> EngineResult<Vec<ChatUserId>> {
        self.catchup.known_reactors(message, emoji).await
    }

    /// Posts a stage's approval message again (someone deleted it, or its post was given up):
    /// its current text, and for a pending stage the approve and deny reactions. Audited.
    pub async fn repost_approval(&self, stage: StageId) -> EngineResult<()> {
        self.catchup.repost_approval(stage).await
    }

    /// Queues an edit that brings an approval message back to what it should say (it was
    /// changed while the transport could not deliver, or an edit was given up).
    pub async fn refresh_approval(&self, stage: StageId) -> EngineResult<()> {
        self.catchup.refresh_approval(stage).await
    }

    /// `GET /link/start?t=…`: the start link, once: on to the identity provider's sign-in.
    pub async fn sign_in_start(&self, token: &str) -> signin::Page {
        self.links.sign_in_start(token).await
    }

    /// `GET /link/callback?code=…&state=…` (or `?error=…`): the sign-in's answer, then a page
    /// that asks the person to confirm; nothing is linked yet.
    pub async fn sign_in_callback(
        &self,
        state: Option<&str>,
        code: Option<&str>,
        error: Option<&str>,
    ) -> signin::Page {
        self.links.sign_in_callback(state, code, error).await
    }

    /// `POST /link/confirm` (form `t`): the person confirms; the link is verified.
    pub async fn sign_in_confirm(&self, token: &str) -> signin::Page {
        self.links.sign_in_confirm(token).await
    }
}
