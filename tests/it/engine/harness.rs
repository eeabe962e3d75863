//! An engine wired to a fresh database, the simulated tenant (with injectable faults), a
//! recording chat transport and a manual clock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};

use licensebot::backend::simulated::{SimulatedMailbox, SimulatedTenant};
use licensebot::backend::{
    BackendError, DirectoryUser, ErrorKind, GroupInfo, LicensingGroup, Seats, Tenant,
};
use licensebot::chat::{ChatError, ChatEvent, ChatOutput, IncomingMessage, Post, Reaction};
use licensebot::config::Settings;
use licensebot::domain::{ChannelRef, ChatUserId, CountryCode, MessageRef, RoleSet, Upn};
use licensebot::engine::clock::ManualClock;
use licensebot::engine::ports::Ports;
use licensebot::engine::{Engine, JobReport};
use licensebot::startup;
use licensebot::store::simulated::TenantStore;
use licensebot::store::{Store, StoreOptions};

/// One thing the bot did in chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    Send {
        channel: String,
        id: String,
        content: String,
        reply_to: Option<String>,
    },
    Dm {
        user: String,
        id: String,
        content: String,
    },
    Edit {
        id: String,
        content: String,
    },
    React {
        id: String,
        emoji: String,
    },
    Unreact {
        id: String,
        user: String,
        emoji: String,
    },
    Delete {
        id: String,
    },
}

/// A chat transport that records what it is asked to do and can fail on demand.
#[derive(Default)]
pub struct RecordingChat {
    pub said: Mutex<Vec<Said>>,
    next: AtomicUsize,
    /// Errors to return from the next calls (any action), front first.
    pub failures: Mutex<VecDeque<ChatError>>,
    /// Users whose DMs are closed.
    pub dm_closed: Mutex<Vec<String>>,
    /// The delivery key of every post and DM attempted, in order.
    pub keys: Mutex<Vec<String>>,
    /// Every post attempted with the people it was allowed to ping.
    pub mentions: Mutex<Vec<(String, Vec<ChatUserId>)>>,
}

impl RecordingChat {
    fn fail(&self) -> Result<(), ChatError> {
        match self.failures.lock().unwrap().pop_front() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
    fn id(&self) -> String {
        format!("c{}", self.next.fetch_add(1, Ordering::SeqCst) + 1)
    }
    fn push(&self, s: Said) {
        self.said.lock().unwrap().push(s);
    }
    /// Fails with the next failure queued, or records `s`.
    fn record(&self, s: Said) -> Result<(), ChatError> {
        self.fail()?;
        self.push(s);
        Ok(())
    }
}

#[async_trait]
impl ChatOutput for RecordingChat {
    async fn send(&self, post: Post<'_>) -> Result<MessageRef, ChatError> {
        self.mentions
            .lock()
            .unwrap()
            .push((post.content.to_string(), post.mentions.to_vec()));
        self.fail()?;
        let id = self.id();
        self.push(Said::Send {
            channel: post.channel.to_string(),
            id: id.clone(),
            content: post.content.to_string(),
            reply_to: post.reply_to.map(|m| m.to_string()),
        });
        Ok(MessageRef(id))
    }
    async fn dm(&self, user: &ChatUserId, content: &str) -> Result<MessageRef, ChatError> {
        self.fail()?;
        if self.dm_closed.lock().unwrap().contains(&user.0) {
            return Err(ChatError::DmClosed);
        }
        let id = self.id();
        self.push(Said::Dm {
            user: user.to_string(),
            id: id.clone(),
            content: content.to_string(),
        });
        Ok(MessageRef(id))
    }
    async fn edit(
        &self,
        _c: &ChannelRef,
        message: &MessageRef,
        content: &str,
    ) -> Result<(), ChatError> {
        self.record(Said::Edit {
            id: message.to_string(),
            content: content.to_string(),
        })
    }
    async fn react(
        &self,
        _c: &ChannelRef,
        message: &MessageRef,
        emoji: &str,
    ) -> Result<(), ChatError> {
        self.record(Said::React {
            id: message.to_string(),
            emoji: emoji.to_string(),
        })
    }
    async fn unreact(
        &self,
        _c: &ChannelRef,
        message: &MessageRef,
        user: &ChatUserId,
        emoji: &str,
    ) -> Result<(), ChatError> {
        self.record(Said::Unreact {
            id: message.to_string(),
            user: user.to_string(),
            emoji: emoji.to_string(),
        })
    }
    async fn delete(&self, _c: &ChannelRef, message: &MessageRef) -> Result<(), ChatError> {
        self.record(Said::Delete {
            id: message.to_string(),
        })
    }
    async fn send_once(&self, key: &str, post: Post<'_>) -> Result<MessageRef, ChatError> {
        self.keys.lock().unwrap().push(key.to_string());
        self.send(post).await
    }
    async fn dm_once(
        &self,
        key: &str,
        user: &ChatUserId,
        content: &str,
    ) -> Result<MessageRef, ChatError> {
        self.keys.lock().unwrap().push(key.to_string());
        self.dm(user, content).await
    }
    fn mention(&self, user: &ChatUserId) -> String {
        format!("@{user}")
    }
}

/// The simulated tenant with faults injected in front of it.
pub struct FaultyTenant {
    pub inner: SimulatedTenant,
    /// Transient failures left for `assign`.
    pub assign_failures: AtomicUsize,
    /// Calls of `assign`/`assign_many` items.
    pub assign_calls: AtomicUsize,
    /// Batched assignment calls.
    pub assign_many_calls: AtomicUsize,
    /// After an assignment, this many reads still show the user without the licence
    /// (Microsoft 365 is eventually consistent).
    pub read_lag: AtomicUsize,
    lag_left: AtomicUsize,
    /// While false, a batched assignment is made but its answer is held back (the worker
    /// waits, as it would on a slow backend).
    pub answers_flow: tokio::sync::watch::Sender<bool>,
}

impl FaultyTenant {
    fn lagging(&self, mut user: DirectoryUser) -> DirectoryUser {
        let left = self.lag_left.load(Ordering::SeqCst);
        if left > 0 {
            self.lag_left.store(left - 1, Ordering::SeqCst);
            user.licences
                .retain(|l| l.sku_part_number != "POWER_BI_PRO");
        }
        user
    }
}

#[async_trait]
impl Tenant for FaultyTenant {
    fn name(&self) -> &'static str {
        "faulty-simulated"
    }
    async fn user(&self, upn: &Upn) -> Result<DirectoryUser, BackendError> {
        self.inner.user(upn).await.map(|u| self.lagging(u))
    }
    async fn roles(&self, upn: &Upn) -> Result<RoleSet, BackendError> {
        self.inner.roles(upn).await
    }
    async fn seats(&self) -> Result<Seats, BackendError> {
        self.inner.seats().await
    }
    async fn group(&self, id: &str) -> Result<GroupInfo, BackendError> {
        self.inner.group(id).await
    }
    async fn licensing_group(&self, id: &str) -> Result<LicensingGroup, BackendError> {
        self.inner.licensing_group(id).await
    }
    async fn add_member(&self, group: &str, user: &DirectoryUser) -> Result<(), BackendError> {
        self.inner.add_member(group, user).await
    }
    async fn remove_member(&self, group: &str, user: &DirectoryUser) -> Result<(), BackendError> {
        self.inner.remove_member(group, user).await
    }
    async fn activity(
        &self,
        upns: &[Upn],
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<licensebot::backend::Activity, BackendError> {
        self.inner.activity(upns, since).await
    }
    async fn holders(&self) -> Result<Vec<DirectoryUser>, BackendError> {
        self.inner.holders().await
    }
    async fn members(&self, group: &str) -> Result<Vec<Upn>, BackendError> {
        self.inner.members(group).await
    }
    async fn reprocess(&self, user: &DirectoryUser) -> Result<(), BackendError> {
        self.inner.reprocess(user).await
    }
    async fn set_usage_location(
        &self,
        user: &DirectoryUser,
        country: &CountryCode,
    ) -> Result<(), BackendError> {
        self.inner.set_usage_location(user, country).await
    }
    async fn assign(&self, user: &DirectoryUser) -> Result<(), BackendError> {
        self.assign_calls.fetch_add(1, Ordering::SeqCst);
        let left = self.assign_failures.load(Ordering::SeqCst);
        if left > 0 {
            self.assign_failures.store(left - 1, Ordering::SeqCst);
            let mut e = BackendError::new(ErrorKind::Transient, "Please retry again later.");
            e.retry_after = Some(Duration::from_millis(100));
            e.backend_ref = Some(format!("req-{left}"));
            return Err(e);
        }
        let r = self.inner.assign(user).await;
        if r.is_ok() {
            self.lag_left
                .store(self.read_lag.load(Ordering::SeqCst), Ordering::SeqCst);
        }
        r
    }
    async fn unassign(&self, user: &DirectoryUser) -> Result<(), BackendError> {
        self.inner.unassign(user).await
    }
    async fn assign_many(&self, users: &[DirectoryUser]) -> Vec<Result<(), BackendError>> {
        self.assign_many_calls.fetch_add(1, Ordering::SeqCst);
        let mut out = Vec::new();
        for u in users {
            out.push(self.assign(u).await);
        }
        let mut flowing = self.answers_flow.subscribe();
        if flowing.wait_for(|open| *open).await.is_err() {
            panic!("the harness dropped the answer gate");
        }
        out
    }
}

/// `user`'s reaction `emoji` on `message` (in any channel).
pub fn reaction(user: &str, message: &str, emoji: &str) -> Reaction {
    Reaction {
        message: MessageRef(message.into()),
        channel: None,
        user: ChatUserId(user.into()),
        emoji: emoji.into(),
        pressed: None,
    }
}

/// An engine under test.
/// An observer that keeps what it hears: the waits for decisions and the times to done.
#[derive(Default)]
pub struct RecordingObserver {
    pub decided: Mutex<Vec<Duration>>,
    pub completed: Mutex<Vec<Duration>>,
}

impl licensebot::engine::ports::Observer for RecordingObserver {
    fn decided(&self, waited: Duration) {
        self.decided.lock().unwrap().push(waited);
    }
    fn completed(&self, took: Duration) {
        self.completed.lock().unwrap().push(took);
    }
}

pub struct Harness {
    pub engine: Engine,
    pub store: Store,
    pub chat: Arc<RecordingChat>,
    /// What the engine told of the pace of decisions and requests.
    pub observed: Arc<RecordingObserver>,
    pub clock: Arc<ManualClock>,
    pub tenant: Arc<FaultyTenant>,
    /// The simulated tenant's own database.
    pub tenant_db: TenantStore,
    purchaser: Arc<dyn licensebot::backend::Purchaser>,
    mailer: Arc<dyn licensebot::backend::Mailer>,
    settings: Settings,
    dir: tempfile::TempDir,
    next_msg: AtomicUsize,
}

impl Harness {
    /// A fresh engine on the test tenant, with `env` setting overrides.
    pub async fn new(env: &[(&str, &str)]) -> Harness {
        Harness::build(env, false).await
    }

    /// A fresh engine whose purchases wait for a person (manual mode).
    pub async fn manual(env: &[(&str, &str)]) -> Harness {
        Harness::build(env, true).await
    }

    /// A fresh engine whose store is opened with these options (a short busy timeout, a
    /// page limit that makes the disk "full").
    pub async fn with_store(env: &[(&str, &str)], options: StoreOptions) -> Harness {
        Harness::build_with(env, false, options).await
    }

    async fn build(env: &[(&str, &str)], manual: bool) -> Harness {
        Harness::build_with(env, manual, StoreOptions::default()).await
    }

    async fn build_with(env: &[(&str, &str)], manual: bool, options: StoreOptions) -> Harness {
        // Another test may have installed the subscriber already; one is enough.
        tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn")
            .try_init()
            .unwrap_or(());
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::support::bot::write_config(dir.path(), "");
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(server) = crate::support::postgres::server() {
            let url = crate::support::postgres::fresh_database(&server).await;
            let tenant = format!("sqlite://{}", dir.path().join("tenant.db").display());
            env.push(("LICENSEBOT__STORE__URL".into(), url));
            env.push(("LICENSEBOT__BACKEND__SIMULATED__DATABASE".into(), tenant));
        }
        let settings = Settings::load_from(Some(&cfg), &env).unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open_with(&settings.store.url, true, &options)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        ));
        let tenant_db = startup::open_simulated(&settings, clock.as_ref())
            .await
            .unwrap();
        let sku = settings.backend.sku_part_number.clone();
        let simulated = SimulatedTenant::new(tenant_db.clone(), sku, Duration::ZERO, clock.clone());
        let simulated_purchaser = simulated.purchaser();
        let tenant = Arc::new(FaultyTenant {
            inner: simulated,
            assign_failures: AtomicUsize::new(0),
            assign_calls: AtomicUsize::new(0),
            assign_many_calls: AtomicUsize::new(0),
            read_lag: AtomicUsize::new(0),
            lag_left: AtomicUsize::new(0),
            answers_flow: tokio::sync::watch::Sender::new(true),
        });
        let purchaser: Arc<dyn licensebot::backend::Purchaser> = if manual {
            Arc::new(licensebot::backend::manual::ManualPurchaser::new(
                tenant.clone(),
                false,
            ))
        } else {
            Arc::new(simulated_purchaser)
        };
        let chat = Arc::new(RecordingChat::default());
        let mailer: Arc<dyn licensebot::backend::Mailer> = Arc::new(SimulatedMailbox::new(
            dir.path().join("mailbox.jsonl"),
            settings.links.mail_sender.clone(),
            clock.clone(),
        ));
        let observed = Arc::new(RecordingObserver::default());
        let engine = Engine::new(
            store.clone(),
            Ports {
                tenant: tenant.clone(),
                purchaser: purchaser.clone(),
                mailer: mailer.clone(),
                identity: None,
                chat: chat.clone(),
                clock: clock.clone(),
                observer: observed.clone(),
            },
            startup::texts_for(&settings),
            startup::engine_config(&settings),
        );
        Harness {
            engine,
            store,
            chat,
            observed,
            clock,
            tenant,
            tenant_db,
            purchaser,
            mailer,
            settings,
            dir,
            next_msg: AtomicUsize::new(0),
        }
    }

    /// A second engine on the same database, tenant, chat and clock: what a process started
    /// again beside (or after) the first one sees. It shares no in-memory state with it.
    pub fn another_engine(&self) -> Engine {
        Engine::new(
            self.store.clone(),
            Ports {
                tenant: self.tenant.clone(),
                purchaser: self.purchaser.clone(),
                mailer: self.mailer.clone(),
                identity: None,
                chat: self.chat.clone(),
                clock: self.clock.clone(),
                observer: self.observed.clone(),
            },
            startup::texts_for(&self.settings),
            startup::engine_config(&self.settings),
        )
    }

    /// Someone writes in `general`; returns the message id.
    pub async fn say(&self, author: &str, content: &str) -> String {
        self.write(author, content, false).await
    }

    /// Someone writes to the bot directly; returns the message id.
    pub async fn dm_bot(&self, author: &str, content: &str) -> String {
        self.write(author, content, true).await
    }

    async fn write(&self, author: &str, content: &str, direct: bool) -> String {
        let id = format!("u{}", self.next_msg.fetch_add(1, Ordering::SeqCst) + 1);
        self.engine
            .handle(ChatEvent::Message(IncomingMessage {
                id: MessageRef(id.clone()),
                channel: ChannelRef(if direct { "dm" } else { "general" }.into()),
                author: ChatUserId(author.into()),
                author_name: author.into(),
                content: content.into(),
                reply_to: None,
                direct,
                public: !direct,
                roles: Vec::new(),
                locale: None,
            }))
            .await;
        id
    }

    /// Someone reacts.
    pub async fn react(&self, user: &str, message: &str, emoji: &str) {
        self.engine
            .handle(ChatEvent::ReactionAdded(reaction(user, message, emoji)))
            .await;
    }

    /// Someone reacts and the engine settles all that follows (jobs, delivery).
    pub async fn react_and_settle(&self, user: &str, message: &str, emoji: &str) {
        self.react(user, message, emoji).await;
        self.engine.settle().await;
    }

    /// Someone removes a reaction.
    pub async fn unreact(&self, user: &str, message: &str, emoji: &str) {
        self.engine
            .handle(ChatEvent::ReactionRemoved(reaction(user, message, emoji)))
            .await;
    }

    /// Alice's request #`first` takes the free seat (carol approves it); then Judy asks and
    /// `buyer` approves the purchase stage of her request (#`first` + 1). Both are linked.
    pub async fn judy_needs_a_seat_bought(&self, first: u32, buyer: &str) {
        self.say("alice", "!pro request").await;
        self.react("carol", &self.approval(&format!("Request #{first}")), "✅")
            .await;
        self.engine.settle().await;
        self.say("judy", "!pro request").await;
        let purchase = self.approval(&format!("Request #{}, stage 1", first + 1));
        self.react(buyer, &purchase, "✅").await;
        self.engine.settle().await;
    }

    /// Links a chat user.
    pub async fn link(&self, who: &str, upn: &str) {
        self.say(who, &format!("!pro link {upn}")).await;
        let code = crate::support::bot::mailed_code(self.dir.path(), upn);
        self.dm_bot(who, &format!("!pro verify {code}")).await;
        assert!(
            self.dms(who).iter().any(|d| d.contains("Verified")),
            "{:#?}",
            self.said()
        );
    }

    /// Asks for a link without proving it: the link stays pending.
    pub async fn link_pending(&self, who: &str, upn: &str) {
        self.say(who, &format!("!pro link {upn}")).await;
    }

    /// The directory of the test (its mailbox is `mailbox.jsonl` there).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Everything said so far.
    pub fn said(&self) -> Vec<Said> {
        self.chat.said.lock().unwrap().clone()
    }

    /// Forgets what was said so far.
    pub fn clear(&self) {
        self.chat.said.lock().unwrap().clear();
    }

    /// The id of the approval message whose text contains `needle`.
    pub fn approval(&self, needle: &str) -> String {
        self.sent(needle, Some("license-approvals")).0
    }

    /// The text of the first message sent (to any channel) that contains `needle`.
    pub fn sent_text(&self, needle: &str) -> String {
        self.sent(needle, None).1
    }

    /// The id and text of the first message sent to `channel` (or any) containing `needle`.
    fn sent(&self, needle: &str, channel: Option<&str>) -> (String, String) {
        self.said()
            .into_iter()
            .find_map(|s| match s {
                Said::Send {
                    channel: to,
                    id,
                    content,
                    ..
                } if channel.is_none_or(|c| c == to) && content.contains(needle) => {
                    Some((id, content))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("nothing sent containing {needle:?}: {:#?}", self.said()))
    }

    /// All texts said (sends, DMs, edits), joined.
    pub fn text(&self) -> String {
        self.said()
            .into_iter()
            .filter_map(|s| match s {
                Said::Send { content, .. }
                | Said::Dm { content, .. }
                | Said::Edit { content, .. } => Some(content),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n---\n")
    }

    /// The texts posted to `channel`, in order.
    pub fn posts_in(&self, channel: &str) -> Vec<String> {
        self.said()
            .into_iter()
            .filter_map(|s| match s {
                Said::Send {
                    channel: to,
                    content,
                    ..
                } if to == channel => Some(content),
                _ => None,
            })
            .collect()
    }

    /// DMs to a user.
    pub fn dms(&self, user: &str) -> Vec<String> {
        self.said()
            .into_iter()
            .filter_map(|s| match s {
                Said::Dm {
                    user: u, content, ..
                } if u == user => Some(content),
                _ => None,
            })
            .collect()
    }

    /// A request's state.
    pub async fn state(&self, id: i64) -> String {
        let mut conn = self.store.pool().acquire().await.unwrap();
        licensebot::store::requests::get(&mut conn, licensebot::domain::RequestId(id))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no request {id}"))
            .state
            .as_str()
            .to_string()
    }

    /// One integer from SQL on the bot's database.
    pub async fn scalar(&self, sql: &str) -> i64 {
        scalar_in(self.store.pool(), sql).await
    }

    /// Runs SQL against the bot's database.
    pub async fn exec(&self, sql: &str) {
        sqlx::query(sql).execute(self.store.pool()).await.unwrap();
    }

    /// One integer from SQL on the simulated tenant's database.
    pub async fn tenant_scalar(&self, sql: &str) -> i64 {
        scalar_in(self.tenant_db.pool(), sql).await
    }

    /// Runs SQL against the simulated tenant's database (to change the directory, as an
    /// admin would in the Microsoft 365 admin center).
    pub async fn tenant_exec(&self, sql: &str) {
        sqlx::query(sql)
            .execute(self.tenant_db.pool())
            .await
            .unwrap();
    }

    /// The database file.
    pub fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("bot.db")
    }

    /// Moves the clock.
    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }

    /// Moves the clock, and the engine settles all that is due then.
    pub async fn advance_and_settle(&self, d: Duration) {
        self.advance(d);
        self.engine.settle().await;
    }

    /// `who` links their own account (`who@contoso.example`).
    pub async fn link_own(&self, who: &str) {
        self.link(who, &format!("{who}@contoso.example")).await;
    }

    /// `who` links their own account (`who@contoso.example`) and asks for a licence.
    pub async fn asks(&self, who: &str) {
        self.link_own(who).await;
        self.say(who, "!pro request").await;
    }

    /// Someone writes in `general` and the engine settles all that follows (jobs, delivery).
    pub async fn say_and_settle(&self, author: &str, content: &str) {
        self.say(author, content).await;
        self.engine.settle().await;
    }

    /// Someone writes in `general` and the engine delivers its answers.
    pub async fn say_and_deliver(&self, author: &str, content: &str) {
        self.say(author, content).await;
        self.engine.deliver().await;
    }

    /// Someone writes in `general`, the engine settles all that follows, and the bot has said
    /// `needle` (see [`Harness::assert_said`]).
    pub async fn settled_answer_says(&self, author: &str, content: &str, needle: &str) {
        self.say_and_settle(author, content).await;
        self.assert_said(needle);
    }

    /// Someone writes in `general`, the engine delivers its answers, and the bot has said
    /// `needle` (see [`Harness::assert_said`]).
    pub async fn answer_says(&self, author: &str, content: &str, needle: &str) {
        self.say_and_deliver(author, content).await;
        self.assert_said(needle);
    }

    /// `approver` approves the approval message whose text contains `needle`.
    pub async fn approve(&self, approver: &str, needle: &str) {
        self.react(approver, &self.approval(needle), "✅").await;
    }

    /// Alice asks and carol approves: her assignment job is queued (not run yet).
    pub async fn alice_approved_by_carol(&self) {
        self.asks("alice").await;
        self.approve("carol", "Request #1").await;
    }

    /// A fresh engine on the test tenant where each of `people` has linked their own account
    /// (`who@contoso.example`), in that order.
    pub async fn linked(people: &[&str]) -> Harness {
        let h = Harness::new(&[]).await;
        for who in people {
            h.link_own(who).await;
        }
        h
    }

    /// A fresh engine on the test tenant where `who` linked their own account and asked for a
    /// licence (request #1).
    pub async fn asked_by(who: &str) -> Harness {
        let h = Harness::new(&[]).await;
        h.asks(who).await;
        h
    }

    /// Alice asks and carol approves: alice holds Power BI Pro (request #1).
    pub async fn alice_holds_pro() -> Harness {
        let h = Harness::new(&[]).await;
        h.alice_approved_by_carol().await;
        h.engine.settle().await;
        assert_eq!(h.state(1).await, "completed", "{}", h.text());
        h
    }

    /// Runs the next due job, if any, and says how it went.
    pub async fn next_job(&self) -> Option<JobReport> {
        self.engine.try_execute_job().await.unwrap()
    }

    /// Asserts that the next due job failed and is to be retried.
    pub async fn assert_next_job_retries(&self) {
        let report = self.next_job().await;
        assert!(matches!(report, Some(JobReport::Retrying(_))), "{report:?}");
    }

    /// Asserts that the bot said `needle` somewhere (a post, a DM or an edit).
    pub fn assert_said(&self, needle: &str) {
        let text = self.text();
        assert!(text.contains(needle), "{needle:?} was not said:\n{text}");
    }

    /// Asserts that the bot never said `needle`.
    pub fn assert_not_said(&self, needle: &str) {
        let text = self.text();
        assert!(!text.contains(needle), "{needle:?} was said:\n{text}");
    }

    /// Asserts that one of the DMs to `user` contains `needle`.
    pub fn assert_told(&self, user: &str, needle: &str) {
        let dms = self.dms(user);
        assert!(
            dms.iter().any(|d| d.contains(needle)),
            "{user} was not told {needle:?}: {dms:#?}"
        );
    }

    /// Runs the due jobs in the background once their first assignment call is under way
    /// (the test holds the tenant's answers: `tenant.answers_flow`).
    pub async fn jobs_under_way(&self) -> tokio::task::JoinHandle<usize> {
        let worker = tokio::spawn({
            let engine = self.engine.clone();
            async move { engine.run_due_jobs().await }
        });
        while self.assign_calls() == 0 {
            tokio::task::yield_now().await;
        }
        worker
    }

    /// How many audit events of this action were written.
    pub async fn audits(&self, action: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = $1")
            .bind(action)
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }

    /// How many requests exist.
    pub async fn requests(&self) -> i64 {
        self.scalar("SELECT COUNT(*) FROM requests").await
    }

    /// Whether the simulated tenant has Power BI Pro assigned to `upn` directly.
    pub async fn holds_pro(&self, upn: &str) -> bool {
        self.tenant_scalar(&format!(
            "SELECT COUNT(*) FROM assignments WHERE upn = '{upn}' AND sku_part_number = 'POWER_BI_PRO'"
        ))
        .await
            == 1
    }

    /// The Power BI Pro seats the simulated tenant has.
    pub async fn pro_seats(&self) -> i64 {
        self.tenant_scalar("SELECT enabled FROM skus WHERE sku_part_number = 'POWER_BI_PRO'")
            .await
    }

    /// Changes the Power BI Pro seats of the simulated tenant, as in the admin center.
    pub async fn set_pro_seats(&self, seats: i64) {
        sqlx::query("UPDATE skus SET enabled = $1 WHERE sku_part_number = 'POWER_BI_PRO'")
            .bind(seats)
            .execute(self.tenant_db.pool())
            .await
            .unwrap();
    }

    /// How many licence assignments reached the tenant (one a user, batched or not).
    pub fn assign_calls(&self) -> usize {
        self.tenant.assign_calls.load(Ordering::SeqCst)
    }
}

/// One integer from SQL on a database.
async fn scalar_in(pool: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// What a test's own subscriber wrote (see [`captured`]), kept to be read.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("the log")).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("the log").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Logs what `filter` lets through into the buffer returned, from this thread (a
/// `#[tokio::test]` runs its tasks on it) until the guard is dropped.
pub fn captured(filter: &str) -> (LogBuffer, tracing::subscriber::DefaultGuard) {
    let log = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer({
            let log = log.clone();
            move || log.clone()
        })
        .finish();
    (log, tracing::subscriber::set_default(subscriber))
}
