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
//!   lock) and `Delivery` (`delivery.rs`: the chat output, delivery lock, key salt);
//! - `SeatAlerts` (`alerts.rs`): the one seat-alert message, compared by the worker after a
//!   job succeeded (under the job lock), on `!pro seats` (through `Intake`) and on the tick;
//! - `SeatHistory` (`seat_history.rs`): the seats kept once a day (on the tick and on
//!   `!pro seats`) and the chart `!pro seats` attaches.
//!
//! What crosses use cases is done here, not through a back-reference: after a chat event the
//! engine delivers and wakes the worker; `settle` and the background loop run the scheduler,
//! the worker and delivery in turn. The one lock two use cases share, the job lock (the
//! worker runs jobs under it, `Opening` plans seats under it), is handed to both at start.

mod alerts;
mod catchup;
pub mod clock;
mod commands;
mod config;
mod core;
pub mod crash;
mod decisions;
mod delivery;
mod directory;
mod error;
mod governance;
mod links;
mod opening;
pub mod ports;
mod reclaim;
mod reconcile;
mod render;
mod requests;
mod scheduler;
mod seat_history;
pub mod signin;
mod terms;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use crate::domain::{ChatUserId, MessageRef, StageId};
use crate::engine::ports::{ChatEvent, IncomingMessage, Ports};
use crate::store::Store;
use crate::t;
use crate::texts::Texts;

pub use catchup::OpenApproval;
pub use config::{
    Approver, AutoRule, EngineConfig, Governance, JobPolicy, Licensing, ReclaimPolicy,
    SeatThresholds,
};
pub use error::{EngineError, EngineResult};
pub use reconcile::DriftCheck;
pub use worker::JobReport;

use self::core::Core;
use alerts::SeatAlerts;
use catchup::Catchup;
use commands::{Intake, SeatWatch};
use decisions::Decisions;
use delivery::Delivery;
use directory::Directory;
use links::Links;
use opening::Opening;
use reclaim::Reclaims;
use reconcile::Reconciler;
use scheduler::Scheduler;
use seat_history::SeatHistory;
use terms::Terms;
use worker::{Handover, JobLock, Worker};

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
    reconciler: Arc<Reconciler>,
    terms: Arc<Terms>,
    reclaims: Arc<Reclaims>,
    alerts: Arc<SeatAlerts>,
    history: Arc<SeatHistory>,
}

impl Engine {
    /// Builds an engine on `store`, talking to the world through `ports`.
    pub fn new(store: Store, ports: Ports, texts: Texts, cfg: EngineConfig) -> Engine {
        let core = Arc::new(Core::new(store, texts, cfg, &ports));
        let directory = Arc::new(Directory::new(core.clone(), ports.tenant.clone()));
        let job_lock = JobLock::default();
        let handover = Arc::new(Handover::default());
        let decisions = Arc::new(Decisions::new(
            core.clone(),
            directory.clone(),
            handover.clone(),
        ));
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
        let terms = Arc::new(Terms::new(core.clone(), directory.clone(), opening.clone()));
        let reclaims = Arc::new(Reclaims::new(core.clone()));
        let alerts = Arc::new(SeatAlerts::new(core.clone(), directory.clone()));
        let history = Arc::new(SeatHistory::new(core.clone(), directory.clone()));
        Engine {
            intake: Arc::new(Intake {
                core: core.clone(),
                directory: directory.clone(),
                chat: ports.chat.clone(),
                opening,
                links: links.clone(),
                reclaims: reclaims.clone(),
                seats: SeatWatch {
                    alerts: alerts.clone(),
                    history: history.clone(),
                },
            }),
            terms,
            reclaims,
            catchup: Arc::new(Catchup::new(core.clone(), decisions.clone())),
            decisions,
            links,
            delivery: Arc::new(Delivery::new(core.clone(), ports.chat)),
            worker: Arc::new(Worker::new(
                core.clone(),
                directory.clone(),
                ports.purchaser,
                job_lock,
                handover,
                alerts.clone(),
            )),
            scheduler: Arc::new(Scheduler::new(core.clone(), directory.clone())),
            reconciler: Arc::new(Reconciler::new(core.clone(), directory)),
            alerts,
            history,
            core,
        }
    }

    /// Handles one chat event completely: decides, stores, and delivers what it has to say.
    /// Errors meant for the person become replies; others are logged and answered with an
    /// apology. Nothing here panics on any input.
    #[tracing::instrument(name = "chat_event", skip_all, fields(kind, user, message))]
    pub async fn handle(&self, event: ChatEvent) {
        let span = tracing::Span::current();
        let (kind, user, message, client) = match &event {
            ChatEvent::Message(m) => ("message", &m.author, &m.id, m.locale),
            ChatEvent::ReactionAdded(r) => ("reaction_added", &r.user, &r.message, None),
            ChatEvent::ReactionRemoved(r) => ("reaction_removed", &r.user, &r.message, None),
            ChatEvent::Pressed(p) => ("pressed", &p.user, &p.message, p.locale),
            ChatEvent::PlaceLanguage(language) => {
                self.core.set_place_language(*language);
                return;
            }
        };
        span.record("kind", kind);
        span.record("user", tracing::field::display(user));
        span.record("message", tracing::field::display(message));
        // Whoever spoke is answered in their language. A reaction's is read with its approval
        // message, in the same statement (see `Catchup::on_reaction`).
        if matches!(
            event,
            ChatEvent::ReactionAdded(_) | ChatEvent::ReactionRemoved(_)
        ) {
            self.apply_event(&event).await;
        } else {
            let language = self.core.language_of(user, client).await;
            self.core
                .speaking_to(language, self.apply_event(&event))
                .await;
        }
        self.deliver().await;
        self.core.wake();
    }

    /// What [`Engine::handle`] does with one event, spoken in the person's language.
    async fn apply_event(&self, event: &ChatEvent) {
        let result = match event {
            ChatEvent::Message(m) => self.on_message(m).await,
            ChatEvent::ReactionAdded(r) => self.catchup.on_reaction(r, true).await,
            ChatEvent::ReactionRemoved(r) => self.catchup.on_reaction(r, false).await,
            ChatEvent::Pressed(p) => self.decisions.apply_press(p).await,
            ChatEvent::PlaceLanguage(_) => Ok(()),
        };
        let Err(e) = result else {
            return;
        };
        let reply_to = match event {
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
        self.scheduler.tick().await;
        self.terms.tick().await;
        self.reclaims.tick().await;
        self.reconciler.when_due().await;
        self.alerts.when_due().await;
        self.history.when_due().await;
    }

    /// Compares the bot's records with the tenant; changes nothing (`licensebot reconcile`).
    pub async fn check_drift(&self) -> EngineResult<DriftCheck> {
        self.reconciler.compare().await
    }

    /// Compares the records with the tenant now, corrects the records where the tenant is
    /// the truth, stores the differences and posts or edits the report (what the periodic
    /// check does).
    pub async fn reconcile(&self) -> EngineResult<DriftCheck> {
        self.reconciler.reconcile().await
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
