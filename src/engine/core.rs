//! The context every use case shares: the store, the catalogue, the configuration, the clock,
//! the transport's way of writing a mention, the observer of the pace of decisions and
//! requests, and the bell that wakes the background loop.
//!
//! Why a shared context and not a copy per use case: nearly every use case reads these, they
//! never change after start-up (the store is a pool, the bell a `Notify`), and one `Arc`
//! costs nothing to share. What only some use cases need stays with them: the chat output's
//! sending half with `Delivery` (and the intake's last-resort reply), the
//! tenant with `Directory`, the purchaser, locks and caches with the use
//! case that guards them.
//!
//! Behaviour two use cases share is a method here, in three files by concern:
//! this one (time, audit, replies), `render.rs` (what messages say) and `requests.rs`
//! (moving a request along inside a transaction: stages, jobs, telling people).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use super::clock::Clock;
use super::config::EngineConfig;
use super::ports::{ChatOutput, IncomingMessage, Observer, Ports};
use crate::domain::{Actor, AuditAction, ChatUserId, Language, RequestId};
use crate::store::outbox::ChatAction;
use crate::store::{audit, languages, Store, StoreError, Timestamp, WriteTx};
use crate::texts::Texts;

tokio::task_local! {
    /// The language being spoken: the person's a reply or message is for. Set around the
    /// handling of what a person said ([`Core::speaking_to`]) and around each sentence for
    /// someone else ([`Core::in_language`]); where it is not set, the bot's language.
    static SPEAKING: Language;
}

/// What every use case reads. Built once by `Engine::new`, shared as `Arc<Core>`.
pub(super) struct Core {
    store: Store,
    /// One catalogue per language the bot has, in [`Language::ALL`]'s order.
    catalogues: Vec<Texts>,
    cfg: EngineConfig,
    /// The chat server's preferred language as the transport last said it (0: not known;
    /// else 1 + its place in [`Language::ALL`]).
    place: AtomicU8,
    clock: Arc<dyn Clock>,
    /// Used only for [`ChatOutput::mention`], which writes a mention in the transport's
    /// syntax; sending belongs to delivery.
    chat: Arc<dyn ChatOutput>,
    /// Hears how long decisions and requests took.
    observer: Arc<dyn Observer>,
    /// Wakes the background loop when there is new work.
    wake: Notify,
}

impl Core {
    /// The shared context over `store`, with the clock, the chat transport's mentions and
    /// the observer from `ports`.
    pub(super) fn new(store: Store, texts: Texts, cfg: EngineConfig, ports: &Ports) -> Core {
        // The configured language's catalogue is the one given (a test may give its own).
        let catalogues = Language::ALL
            .iter()
            .map(|l| {
                if *l == cfg.language {
                    texts.clone()
                } else {
                    Texts::load(*l)
                }
            })
            .collect();
        Core {
            store,
            catalogues,
            place: AtomicU8::new(0),
            cfg,
            clock: ports.clock.clone(),
            chat: ports.chat.clone(),
            observer: ports.observer.clone(),
            wake: Notify::new(),
        }
    }

    pub(super) fn store(&self) -> &Store {
        &self.store
    }
    pub(super) fn cfg(&self) -> &EngineConfig {
        &self.cfg
    }
    /// The catalogue in the language being spoken now (see [`SPEAKING`]).
    pub(super) fn texts(&self) -> &Texts {
        self.catalogue(self.spoken())
    }

    /// The language being spoken now (see [`SPEAKING`]).
    pub(super) fn spoken(&self) -> Language {
        SPEAKING.try_with(|l| *l).unwrap_or(self.cfg.language)
    }

    /// `said` as the store and the audit trail keep it: in the bot's language.
    pub(super) fn recorded(&self, said: &crate::texts::Said) -> String {
        said.render(self.catalogue(self.cfg.language))
    }

    /// The catalogue of `language`.
    pub(super) fn catalogue(&self, language: Language) -> &Texts {
        let i = Language::ALL
            .iter()
            .position(|l| *l == language)
            .unwrap_or(0);
        &self.catalogues[i]
    }

    /// Runs `f` (which renders sentences) speaking `language`.
    pub(super) fn in_language<T>(&self, language: Language, f: impl FnOnce() -> T) -> T {
        SPEAKING.sync_scope(language, f)
    }

    /// Runs `work`, everything it renders spoken in `language` unless it says otherwise.
    pub(super) async fn speaking_to<T>(
        &self,
        language: Language,
        work: impl std::future::Future<Output = T>,
    ) -> T {
        SPEAKING.scope(language, work).await
    }

    /// Renders `f` for the approvals channel, in `[bot] approvals_language`.
    pub(super) fn for_approvers<T>(&self, f: impl FnOnce() -> T) -> T {
        self.in_language(self.cfg.approvals_language, f)
    }

    /// Runs `work`, everything it renders written for the approvals channel.
    pub(super) async fn for_approvers_async<T>(
        &self,
        work: impl std::future::Future<Output = T>,
    ) -> T {
        self.speaking_to(self.cfg.approvals_language, work).await
    }

    /// What the transport said the chat server prefers (None: it prefers none the bot has).
    pub(super) fn set_place_language(&self, language: Option<Language>) {
        let code = language
            .and_then(|l| Language::ALL.iter().position(|x| *x == l))
            .map_or(0, |i| i as u8 + 1);
        self.place.store(code, Ordering::Relaxed);
    }

    /// The language of someone with no language of their own: the chat server's, else the
    /// bot's.
    pub(super) fn default_language(&self) -> Language {
        match self.place.load(Ordering::Relaxed) {
            0 => self.cfg.language,
            n => Language::ALL
                .get(usize::from(n) - 1)
                .copied()
                .unwrap_or(self.cfg.language),
        }
    }

    /// The language `user` is answered in: `client`'s (the language their chat app says,
    /// with a slash command), else the one they chose, else the server's, else the bot's.
    /// A failed read answers in the bot's language (and says so in the log).
    pub(super) async fn language_of(
        &self,
        user: &ChatUserId,
        client: Option<Language>,
    ) -> Language {
        if let Some(l) = client {
            return l;
        }
        let chosen = async {
            let mut conn = self.store.read().await?;
            languages::chosen(&mut conn, user).await
        };
        match chosen.await {
            Ok(chosen) => self.language_or_default(chosen),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the person's language; the bot's is used");
                self.cfg.language
            }
        }
    }

    /// The language of someone who chose `chosen` (None: no choice): it, else the server's,
    /// else the bot's.
    pub(super) fn language_or_default(&self, chosen: Option<Language>) -> Language {
        chosen.unwrap_or_else(|| self.default_language())
    }

    /// The language `user` is written to in `tx` (a direct message, a reply to them): the
    /// one they chose, else the server's, else the bot's.
    pub(super) async fn language_in(
        &self,
        tx: &mut WriteTx<'_>,
        user: &ChatUserId,
    ) -> Result<Language, StoreError> {
        let chosen = languages::chosen(tx.conn().await?, user).await?;
        Ok(self.language_or_default(chosen))
    }
    pub(super) fn now(&self) -> Timestamp {
        self.clock.now()
    }
    pub(super) fn mention(&self, user: &ChatUserId) -> String {
        self.chat.mention(user)
    }

    /// Tells the observer that an approver's reaction decided a stage posted at `posted`.
    pub(super) fn observe_decision(&self, posted: Timestamp) {
        self.observer.decided(self.since(posted));
    }

    /// Tells the observer that a request asked at `asked` completed.
    pub(super) fn observe_completion(&self, asked: Timestamp) {
        self.observer.completed(self.since(asked));
    }

    /// The time from `then` to now (none when `then` lies ahead, as a clock set back makes it).
    fn since(&self, then: Timestamp) -> std::time::Duration {
        (self.now() - then).to_std().unwrap_or_default()
    }

    /// Wakes the background loop (new work was stored).
    pub(super) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits until [`Core::wake`] is called.
    pub(super) async fn woken(&self) {
        self.wake.notified().await
    }

    /// The action that answers a message: a DM for a DM, else a reply in its channel.
    pub(super) fn reply_action(&self, m: &IncomingMessage, text: String) -> ChatAction {
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

    /// Commits what a use case changed and wakes the delivery and the worker for it.
    pub(super) async fn commit(&self, w: WriteTx<'_>) -> Result<(), StoreError> {
        w.commit().await?;
        self.wake();
        Ok(())
    }

    /// Queues `text` as the answer to `m` and commits the transaction it belongs to.
    pub(super) async fn reply_and_commit(
        &self,
        mut w: WriteTx<'_>,
        m: &IncomingMessage,
        text: String,
    ) -> super::EngineResult<()> {
        crate::store::outbox::push(&mut w, &self.reply_action(m, text), self.now())?;
        w.commit().await?;
        Ok(())
    }

    /// Appends an audit event that changes no recorded value: [`Core::audit`] with no
    /// before and after.
    pub(super) async fn audit_note(
        &self,
        tx: &mut WriteTx<'_>,
        request: Option<RequestId>,
        actor: &Actor,
        action: AuditAction,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.audit(tx, request, actor, action, None, None, detail)
            .await
    }

    /// Writes an event the bot did by itself about a request (a reminder, a repost, a
    /// queued job), with its detail as JSON.
    pub(super) async fn audit_by_bot(
        &self,
        tx: &mut WriteTx<'_>,
        request: RequestId,
        action: AuditAction,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        let detail = detail.to_string();
        self.audit_note(tx, Some(request), &Actor::System, action, &detail)
            .await
    }

    /// Writes one audit event inside a transaction.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn audit(
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
        let id = tx
            .append_audit(
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
}
