//! The load benchmark: durable commit rate, whole request lifecycles per second, commits and
//! SQL statements per lifecycle, one statement's round trip, parser throughput, reaction → backend latency through the fake Discord and the
//! fake Graph, a bulk assignment of 1,000 users against the fake Graph, memory and cold start
//! of the real binary. Prints a table and writes `target/bench-results/load.json`.
//!
//! The `million` part stores a million requests (1 % pending) and measures, on that database,
//! the first page of `licensebot requests --state pending --json`, the bot's start-up to its
//! first answer, and its peak RSS after a few commands and an hour of ticks (issue 16).
//!
//! Run with `cargo bench --bench load` (every part, about a minute and a half on two cores
//! once built; the million's database is filled in seconds, so it stays in the default run).
//! Sizes can be changed with `LOAD_LIFECYCLES` (default 300), `LOAD_APPROVALS` (default 200),
//! `LOAD_BULK_USERS` (default 1000),
//! `LOAD_STORED_REQUESTS` (default 100000) and `LOAD_MILLION_REQUESTS` (default 1000000);
//! `LOAD_ONLY=latency,bulk` runs only the named parts (lifecycles, latency, parser, rss, cold,
//! bulk, million) and then writes no JSON;
//! `LICENSEBOT_BENCH_POSTGRES_URL` (a PostgreSQL server's maintenance database) runs the
//! lifecycles, latency and million parts on PostgreSQL too, each on a new database (all
//! dropped when the bench is done), and writes their figures under `"postgres"` in the JSON;
//! `LOAD_BOT_LOG` (a log filter such as `licensebot=debug`) and `LOAD_KEEP_LOG=FILE` keep the
//! log of the bot under the latency run, to see where the time goes; `LOAD_DEBUG=1` lists
//! the bulk run's HTTP calls with their times and contents; `LOAD_SQL_LOG=1` logs every SQL
//! statement of the in-process lifecycles (to count them).

#![recursion_limit = "256"]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use licensebot::backend::simulated::SimulatedTenant;
use licensebot::chat::{ChatError, ChatEvent, ChatOutput, IncomingMessage, Post, Reaction};
use licensebot::command::parse_message;
use licensebot::config::Settings;
use licensebot::domain::{ChannelRef, ChatUserId, MessageRef, Upn};
use licensebot::engine::clock::SystemClock;
use licensebot::engine::ports::Ports;
use licensebot::engine::Engine;
use licensebot::startup;
use licensebot::store::simulated::{seed, UserSeed};
use serde_json::{json, Value};

#[path = "common/messages.rs"]
mod messages;
// The integration tests' fakes of Discord and Microsoft, and their bot drivers.
#[path = "../tests/it/support/mod.rs"]
mod support;

use support::discord_bot::{self, DiscordBot};
use support::fake_discord::{FakeDiscord, APPROVALS, BOT, GENERAL};
use support::fake_microsoft::FakeMicrosoft;

/// A chat transport that only counts, and remembers the last approval message.
#[derive(Default)]
struct CountingChat {
    next: AtomicU64,
    last_approval: Mutex<Option<MessageRef>>,
}

#[async_trait]
impl ChatOutput for CountingChat {
    async fn send(&self, post: Post<'_>) -> Result<MessageRef, ChatError> {
        let id = MessageRef(format!("b{}", self.next.fetch_add(1, Ordering::Relaxed)));
        if post.channel.as_str() == "license-approvals" {
            *self.last_approval.lock().unwrap() = Some(id.clone());
        }
        Ok(id)
    }
    async fn dm(&self, _u: &ChatUserId, _c: &str) -> Result<MessageRef, ChatError> {
        Ok(MessageRef(format!(
            "b{}",
            self.next.fetch_add(1, Ordering::Relaxed)
        )))
    }
    async fn edit(&self, _c: &ChannelRef, _m: &MessageRef, _t: &str) -> Result<(), ChatError> {
        Ok(())
    }
    async fn react(&self, _c: &ChannelRef, _m: &MessageRef, _e: &str) -> Result<(), ChatError> {
        Ok(())
    }
    async fn unreact(
        &self,
        _c: &ChannelRef,
        _m: &MessageRef,
        _u: &ChatUserId,
        _e: &str,
    ) -> Result<(), ChatError> {
        Ok(())
    }
    async fn delete(&self, _c: &ChannelRef, _m: &MessageRef) -> Result<(), ChatError> {
        Ok(())
    }
    fn mention(&self, user: &ChatUserId) -> String {
        format!("@{user}")
    }
}

/// The bench's settings: its store a SQLite file in `dir`, or a new database on the
/// PostgreSQL `server` (its simulated tenant's file in `dir` then).
async fn settings_for(dir: &Path, server: Option<&str>) -> Settings {
    let tenant = format!("sqlite://{}", dir.join("tenant.db").display());
    let env = [
        (
            "LICENSEBOT__STORE__URL".into(),
            store_url(dir, server).await,
        ),
        ("LICENSEBOT__BACKEND__SIMULATED__DATABASE".into(), tenant),
    ];
    Settings::load_from(None, &env).expect("settings")
}

/// The PostgreSQL server the bench also runs on, when `LICENSEBOT_BENCH_POSTGRES_URL` names
/// one (its maintenance database, e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
fn postgres_server() -> Option<String> {
    std::env::var("LICENSEBOT_BENCH_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// Minimal durable commits through the bot's own write path (WAL, synchronous = FULL): one
/// insert a transaction.
struct RawCommits {
    store: licensebot::store::Store,
}

impl RawCommits {
    async fn open(dir: &Path, server: Option<&str>) -> RawCommits {
        let store = startup::open_store(&settings_for(dir, server).await)
            .await
            .expect("store");
        let id = match store.dialect() {
            licensebot::store::Dialect::Sqlite => "INTEGER PRIMARY KEY",
            licensebot::store::Dialect::Postgres => {
                "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
            }
        };
        let mut w = store.write().await.expect("write");
        sqlx::query(&format!("CREATE TABLE bench (id {id}, v TEXT NOT NULL)"))
            .execute(w.conn().await.expect("the transaction's connection"))
            .await
            .expect("create");
        w.commit().await.expect("commit");
        RawCommits { store }
    }

    /// Commits for `span`; returns (commits, seconds).
    async fn run_for(&self, span: Duration) -> (u64, f64) {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < span {
            let mut w = self.store.write().await.expect("write");
            sqlx::query("INSERT INTO bench (v) VALUES ('x')")
                .execute(w.conn().await.expect("the transaction's connection"))
                .await
                .expect("insert");
            w.commit().await.expect("commit");
            n += 1;
        }
        (n, start.elapsed().as_secs_f64())
    }
}

/// Whole lifecycles: request → approval → job → assignment on the simulated tenant →
/// notifications delivered, on a file database; `n` users linked beforehand.
struct Lifecycles {
    store: licensebot::store::Store,
    engine: Engine,
    chat: Arc<CountingChat>,
}

fn message(i: usize, author: &str, text: String) -> ChatEvent {
    ChatEvent::Message(IncomingMessage {
        id: MessageRef(format!("in{i}-{author}")),
        channel: ChannelRef("general".into()),
        author: ChatUserId(author.into()),
        author_name: author.into(),
        content: text,
        reply_to: None,
        direct: false,
        public: true,
        roles: Vec::new(),
        locale: None,
    })
}

impl Lifecycles {
    async fn open(dir: &Path, n: usize, server: Option<&str>) -> Lifecycles {
        let settings = settings_for(dir, server).await;
        let store = startup::open_store(&settings).await.expect("store");
        let clock = Arc::new(SystemClock);
        let tenant_db = startup::open_simulated(&settings, clock.as_ref())
            .await
            .expect("simulated tenant");
        let users: Vec<UserSeed> = (0..n)
            .map(|i| {
                let upn = Upn::parse(&format!("user{i}@contoso.example")).expect("upn");
                UserSeed {
                    usage_location: Some(licensebot::domain::CountryCode::parse("NL").expect("nl")),
                    ..UserSeed::member(upn, &format!("User {i}"))
                }
            })
            .collect();
        {
            let mut w = tenant_db.write().await.expect("write");
            seed(
                w.conn().await.expect("the transaction's connection"),
                &[],
                &users,
                chrono::Utc::now(),
            )
            .await
            .expect("seed users");
            sqlx::query(
                "UPDATE skus SET enabled = enabled + ? WHERE sku_part_number = 'POWER_BI_PRO'",
            )
            .bind(n as i64)
            .execute(w.conn().await.expect("the transaction's connection"))
            .await
            .expect("seats");
            w.commit().await.expect("commit");
        }
        let chat = Arc::new(CountingChat::default());
        let sku = settings.backend.sku_part_number.clone();
        let tenant = SimulatedTenant::new(tenant_db, sku, Duration::ZERO, clock.clone());
        let engine = Engine::new(
            store.clone(),
            Ports {
                purchaser: Arc::new(tenant.purchaser()),
                tenant: Arc::new(tenant),
                mailer: Arc::new(licensebot::backend::NoMail),
                identity: None,
                chat: chat.clone(),
                clock,
                observer: Arc::new(licensebot::engine::ports::Unobserved),
            },
            startup::texts_for(&settings),
            startup::engine_config(&settings),
        );
        // Every user's link verified beforehand (an approver's attestation), outside the
        // measure: the lifecycles start at the request.
        {
            let mut w = store.write().await.expect("write");
            for (i, u) in users.iter().enumerate() {
                licensebot::store::links::verify(
                    w.conn().await.expect("the transaction's connection"),
                    &licensebot::domain::ChatUserId(format!("user{i}")),
                    &u.upn,
                    &licensebot::store::simulated::object_id(&u.upn),
                    licensebot::domain::LinkMethod::Admin,
                    Some(&licensebot::domain::ChatUserId("dave".into())),
                    chrono::Utc::now(),
                )
                .await
                .expect("link");
            }
            w.commit().await.expect("commit");
        }
        Lifecycles {
            store,
            engine,
            chat,
        }
    }

    /// Runs the lifecycles of users `range`; returns (commits, seconds).
    async fn run(&self, range: std::ops::Range<usize>) -> (u64, f64) {
        let commits_before = self.store.commits();
        let start = Instant::now();
        for i in range {
            self.engine
                .handle(message(i, &format!("user{i}"), "!pro request".into()))
                .await;
            let approval = self
                .chat
                .last_approval
                .lock()
                .unwrap()
                .clone()
                .expect("approval posted");
            self.engine
                .handle(ChatEvent::ReactionAdded(Reaction {
                    message: approval,
                    channel: None,
                    user: ChatUserId("carol".into()),
                    emoji: "✅".into(),
                    pressed: None,
                }))
                .await;
            self.engine.run_due_jobs().await;
            self.engine.deliver().await;
        }
        (
            self.store.commits() - commits_before,
            start.elapsed().as_secs_f64(),
        )
    }

    async fn completed(&self) -> usize {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests WHERE state = 'completed'")
            .fetch_one(self.store.pool())
            .await
            .expect("count");
        n as usize
    }
}

/// While on, every SQL statement sqlx runs is counted (its `sqlx::query` event); while off,
/// the event is not even made, so sqlx formats nothing and the lifecycles are timed as the
/// bot runs. Nothing else passes this subscriber.
static COUNTING: AtomicBool = AtomicBool::new(false);
static STATEMENTS: AtomicU64 = AtomicU64::new(0);

struct StatementCounter;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StatementCounter {
    fn register_callsite(
        &self,
        metadata: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if metadata.target() == "sqlx::query" {
            tracing::subscriber::Interest::sometimes()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn enabled(
        &self,
        metadata: &tracing::Metadata<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        metadata.target() == "sqlx::query" && COUNTING.load(Ordering::Relaxed)
    }

    fn on_event(&self, _: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        STATEMENTS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Lifecycles run after the timed ones, with their statements counted.
const COUNTED_LIFECYCLES: usize = 10;

/// What the lifecycles part measures.
struct LifecycleFigures {
    raw_commits_per_s: f64,
    lifecycles_per_s: f64,
    commits_per_lifecycle: f64,
    statements_per_lifecycle: f64,
    /// Microseconds of one `SELECT 1` through the store's read path: the cost of a round
    /// trip to the database (to SQLite's connection thread, or to PostgreSQL's server),
    /// which each statement, BEGIN and COMMIT of a lifecycle pays once.
    round_trip_us: f64,
    /// The same after 1 ms asleep ([`round_trips_us`]).
    idle_round_trip_us: f64,
}

/// Microseconds of one `SELECT 1` on a connection from [`Store::read`](licensebot::store::Store::read):
/// back to back over 2,000 (the round trip itself), then each after the bench slept 1 ms
/// (at least: tokio's timer counts whole milliseconds) over 500. The second is what a statement pays once the connection's thread (SQLite's) or
/// server process (PostgreSQL's) and the bench's own thread have gone to sleep, as they do
/// between a lifecycle's steps and during a commit's flush: on a virtual machine, waking a
/// thread whose CPU halted costs tens of microseconds.
async fn round_trips_us(store: &licensebot::store::Store) -> (f64, f64) {
    const N: u32 = 2_000;
    const IDLE_N: u32 = 500;
    let mut conn = store.read().await.expect("a connection");
    let start = Instant::now();
    for _ in 0..N {
        select_one(&mut conn).await;
    }
    let busy = start.elapsed().as_secs_f64() * 1e6 / f64::from(N);
    let mut idle = Duration::ZERO;
    for _ in 0..IDLE_N {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let start = Instant::now();
        select_one(&mut conn).await;
        idle += start.elapsed();
    }
    (busy, idle.as_secs_f64() * 1e6 / f64::from(IDLE_N))
}

/// One `SELECT 1` on `conn`, its answer checked.
async fn select_one(conn: &mut sqlx::AnyConnection) {
    let one: i64 = sqlx::query_scalar("SELECT CAST(1 AS BIGINT)")
        .fetch_one(conn)
        .await
        .expect("select 1");
    assert_eq!(one, 1);
}

/// The durable commit rate and the lifecycle rate measured in turns (ten rounds of half a
/// second of raw commits and a tenth of the lifecycles), so both see the same machine; the
/// ratio is what the target is about. Then [`COUNTED_LIFECYCLES`] more, untimed, with their
/// SQL statements counted (the bot's and the simulated tenant's), and the round trip.
async fn commits_and_lifecycles(n: usize, server: Option<&str>) -> LifecycleFigures {
    let raw_dir = tempfile::tempdir().expect("tempdir");
    let life_dir = tempfile::tempdir().expect("tempdir");
    let raw = RawCommits::open(raw_dir.path(), server).await;
    let life = Lifecycles::open(life_dir.path(), n + COUNTED_LIFECYCLES, server).await;
    let rounds = 10;
    let (mut raw_n, mut raw_s, mut life_commits, mut life_s) = (0u64, 0.0, 0u64, 0.0);
    for r in 0..rounds {
        let (c, s) = raw.run_for(Duration::from_millis(500)).await;
        raw_n += c;
        raw_s += s;
        let (c, s) = life.run(r * n / rounds..(r + 1) * n / rounds).await;
        life_commits += c;
        life_s += s;
    }
    assert_eq!(life.completed().await, n, "every lifecycle completed");
    let before = STATEMENTS.load(Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    life.run(n..n + COUNTED_LIFECYCLES).await;
    COUNTING.store(false, Ordering::Relaxed);
    let statements = STATEMENTS.load(Ordering::Relaxed) - before;
    let (round_trip_us, idle_round_trip_us) = round_trips_us(&life.store).await;
    raw.store.close().await;
    life.store.close().await;
    LifecycleFigures {
        raw_commits_per_s: raw_n as f64 / raw_s,
        lifecycles_per_s: n as f64 / life_s,
        commits_per_lifecycle: life_commits as f64 / n as f64,
        statements_per_lifecycle: statements as f64 / COUNTED_LIFECYCLES as f64,
        round_trip_us,
        idle_round_trip_us,
    }
}

/// Messages parsed per second, the same mix as the criterion bench (`benches/parser.rs`).
fn parser_msgs_per_s() -> f64 {
    let cfg = messages::config();
    let msgs = messages::mixed();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        for m in &msgs {
            std::hint::black_box(parse_message(std::hint::black_box(m), &cfg));
        }
        n += msgs.len() as u64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// The `p`th percentile (0–100) of sorted samples, nearest rank.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The real bot on Discord and Graph (`transport = "discord"`, `backend.kind = "graph"`),
/// against the fake Discord and the fake Microsoft: bob asks for a licence for someone,
/// carol approves with ✅, and each approval is timed from the moment the fake Discord
/// dispatches MESSAGE_REACTION_ADD to the moment the fake Graph receives the assignLicense
/// (inside the `$batch` that carries it). carol reacts once the bot is idle, as it is when a
/// person reacts seconds after the approval message appears: everything it queued posted
/// and recorded ([`wait_until_said`]). The first `warmup` approvals are not counted.
/// Returns the latencies in ms, sorted.
async fn reaction_latencies(n: usize, warmup: usize, server: Option<&str>) -> Vec<f64> {
    let microsoft = FakeMicrosoft::start();
    let upns = microsoft.add_members(n + warmup);
    let discord = FakeDiscord::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = discord_bot::write_config(dir.path(), &discord.url());
    let (graph_toml, mut env) = microsoft.bot_settings(false);
    let url = store_url(dir.path(), server).await;
    env.push(("LICENSEBOT__STORE__URL".to_string(), url.clone()));
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&graph_toml);
    std::fs::write(&config, text).expect("config");
    // LOAD_BOT_LOG=licensebot=debug shows the timing of each step (with LOAD_KEEP_LOG=FILE).
    let filter = std::env::var("LOAD_BOT_LOG").unwrap_or_else(|_| "warn".into());
    let mark = discord.start_mark();
    let bot = DiscordBot::start_with(dir.path(), &filter, &env);
    let timeout = discord_bot::TIMEOUT;
    discord.wait_started(mark, timeout).await;
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&url)
        .await
        .expect("the bot's database");

    let mut latencies = Vec::with_capacity(n);
    for (i, upn) in upns.iter().enumerate() {
        let number = i + 1;
        discord.say("bob", GENERAL, &format!("!pro request for {upn}"));
        let needle = format!("Request #{number},");
        let approval = discord
            .wait_for(&format!("the approval of request {number}"), timeout, |v| {
                v.bot_message(APPROVALS, &needle).filter(|m| {
                    ["✅", "❌"]
                        .iter()
                        .all(|e| m.reactions.get(*e).is_some_and(|u| u.contains(&BOT)))
                })
            })
            .await;
        // An approver reacts once the bot has said everything about the request, as a
        // person would, seconds later: the bot is idle when the reaction comes.
        let answer = format!("Request #{number} is in");
        discord
            .wait_for(&format!("the answer to request {number}"), timeout, |v| {
                v.bot_message(GENERAL, &answer)
            })
            .await;
        wait_until_said(&db, timeout).await;
        let user_id = microsoft.state().user(upn).expect("member").id.clone();
        let path = format!("/users/{user_id}/assignLicense");
        discord.react("carol", approval.id, "✅");
        let dispatched = discord.reacted_at("carol", approval.id, "✅");
        let received = wait_for_graph(&microsoft, &path, timeout).await;
        if i >= warmup {
            latencies.push(received.saturating_duration_since(dispatched).as_secs_f64() * 1000.0);
        }
        discord
            .wait_for(&format!("request {number} to be done"), timeout, |v| {
                v.message(approval.id)
                    .filter(|m| m.content.contains("Done:"))
            })
            .await;
    }
    db.close().await;
    bot.stop().await;
    if let Ok(path) = std::env::var("LOAD_KEEP_LOG") {
        std::fs::copy(dir.path().join("bot.log"), path).expect("keep the bot's log");
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

/// Waits until the bot has posted every action it queued and recorded them posted. The last
/// post of a page shows in chat before the page's commit records it (and the approval
/// message's id with it); a reaction that came before that commit would wait for it.
async fn wait_until_said(db: &sqlx::AnyPool, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let mut conn = db
            .acquire()
            .await
            .expect("a connection to the bot's database");
        let left = licensebot::store::outbox::undelivered(&mut conn)
            .await
            .expect("the bot's outbox");
        if left == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the bot never posted {left} actions"
        );
        drop(conn);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// When the fake Graph received a request (or `$batch` item) whose path ends with `path`.
async fn wait_for_graph(microsoft: &FakeMicrosoft, path: &str, timeout: Duration) -> Instant {
    let deadline = Instant::now() + timeout;
    loop {
        {
            let state = microsoft.state();
            if let Some(r) = state
                .requests
                .iter()
                .chain(state.batch_items.iter())
                .find(|r| r.method == "POST" && r.path.ends_with(path))
            {
                return r.at;
            }
        }
        assert!(Instant::now() < deadline, "Graph never saw {path}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// What a bulk assignment cost.
struct Bulk {
    /// HTTP requests the fake Microsoft received (Graph and tokens).
    calls: usize,
    /// Of those, `$batch` calls carrying assignLicense.
    assign_calls: usize,
    /// Seconds from the first command to everything assigned, verified and reported.
    wall_s: f64,
}

/// The real bot (console, Graph backend) against the fake Microsoft: dave, a Global
/// Administrator, assigns Power BI Pro to `users` people with `!pro assign` commands of 100
/// names each, sent one after the other; the bot has run one earlier command, so its token
/// and the approvers' roles are cached as in a running bot. Counts every HTTP call the fake
/// received from the first command until the bot is idle, every assignment verified.
fn bulk_assignment(users: usize) -> Bulk {
    let microsoft = FakeMicrosoft::start();
    let upns = microsoft.add_members(users + 1);
    let (toml, env) = microsoft.bot_settings(false);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.push(("RUST_LOG", "warn"));
    let (dir, mut bot) = support::Bot::start_with(&toml, &env);
    let (warm, targets) = upns.split_last().expect("users");
    bot.say("dave", &format!("!pro assign {warm}"));
    bot.idle();
    microsoft.clear_requests();

    let started = Instant::now();
    for chunk in targets.chunks(100) {
        bot.say("dave", &format!("!pro assign {}", chunk.join(" ")));
    }
    bot.idle();
    let wall_s = started.elapsed().as_secs_f64();

    let calls = microsoft.requests().len();
    if std::env::var_os("LOAD_DEBUG").is_some() {
        for r in microsoft.requests() {
            let kinds: Vec<&str> = [
                "assignLicense",
                "roleManagement",
                "userPrincipalName in",
                "subscribedSkus",
            ]
            .into_iter()
            .filter(|k| r.body.contains(k) || r.query.contains(k) || r.path.contains(k))
            .collect();
            eprintln!(
                "{:>8.1} ms {} {} {:?} items={}",
                r.at.saturating_duration_since(started).as_secs_f64() * 1e3,
                r.method,
                r.path,
                kinds,
                r.body.matches("\"id\"").count()
            );
        }
    }
    let assign_calls = microsoft
        .requests()
        .iter()
        .filter(|r| r.path == "/v1.0/$batch" && r.body.contains("assignLicense"))
        .count();
    let missing: Vec<&String> = targets
        .iter()
        .filter(|u| microsoft.licences_of(u) != ["POWER_BI_PRO"])
        .collect();
    assert!(
        missing.is_empty(),
        "not assigned: {missing:?}\nwarnings:\n{}",
        bot.log()
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
    bot.finish();
    let completed = support::bot::requests_json(dir.path())
        .as_array()
        .expect("requests")
        .iter()
        .filter(|r| r["state"] == "completed")
        .count();
    assert_eq!(completed, users + 1, "every request completed (verified)");
    Bulk {
        calls,
        assign_calls,
        wall_s,
    }
}

/// A bot process in `console --jsonl` mode.
struct Proc {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Proc {
    fn start(dir: &Path) -> Proc {
        Proc::start_on(dir, &sqlite_url(dir))
    }

    /// A bot on the store at `url` (its simulated tenant's file in `dir`).
    fn start_on(dir: &Path, url: &str) -> Proc {
        let tenant = format!("sqlite://{}", dir.join("tenant.db").display());
        let mut child = Command::new(env!("CARGO_BIN_EXE_licensebot"))
            .args(["console", "--jsonl"])
            .env("LICENSEBOT__STORE__URL", url)
            .env("LICENSEBOT__BACKEND__SIMULATED__DATABASE", tenant)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start licensebot");
        let out = BufReader::new(child.stdout.take().expect("stdout"));
        Proc { child, out }
    }

    fn send(&mut self, v: Value) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{v}").expect("write");
        stdin.flush().expect("flush");
    }

    fn wait_idle(&mut self) {
        self.send(json!({"type": "wait_idle"}));
        let mut line = String::new();
        loop {
            line.clear();
            if self.out.read_line(&mut line).expect("read") == 0 {
                panic!("bot ended early");
            }
            if line.contains("\"idle\"") {
                return;
            }
        }
    }

    /// Peak resident set size so far, in MB (Linux `VmHWM`).
    fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    }

    fn stop(mut self) {
        drop(self.child.stdin.take());
        let _status = self.child.wait();
    }
}

/// Milliseconds from spawning the binary on a fresh database to its first answer.
fn cold_start_ms() -> f64 {
    let mut runs = Vec::new();
    for _ in 0..5 {
        let dir = tempfile::tempdir().expect("tempdir");
        let start = Instant::now();
        let mut p = Proc::start(dir.path());
        p.wait_idle();
        runs.push(start.elapsed().as_secs_f64() * 1000.0);
        p.stop();
    }
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

fn rss_idle_mb() -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut p = Proc::start(dir.path());
    p.wait_idle();
    p.send(json!({"type":"message","channel":"general","author":"alice","content":"!pro help"}));
    p.wait_idle();
    std::thread::sleep(Duration::from_millis(300));
    let rss = p.peak_rss_mb();
    p.stop();
    rss
}

/// The bench's SQLite store in `dir`.
fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("bot.db").display())
}

/// The store a part runs on: SQLite in `dir`, or a new database on the PostgreSQL `server`.
async fn store_url(dir: &Path, server: Option<&str>) -> String {
    match server {
        Some(server) => support::postgres::fresh_database(server).await,
        None => sqlite_url(dir),
    }
}

/// Fills the fresh database at `url` with `n` requests (1 % of them pending, the rest
/// completed), each with its stage, as the bot stores them: two statements, so a million
/// take seconds.
async fn seed_requests(url: &str, n: usize) {
    let settings = Settings::load_from(None, &[("LICENSEBOT__STORE__URL".into(), url.to_string())])
        .expect("settings");
    let store = startup::open_store(&settings).await.expect("store");
    let mut w = store.write().await.expect("write");
    let now = licensebot::store::ts(chrono::Utc::now());
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1)
         INSERT INTO requests (kind, state, requester, requester_upn, target_upn, target_name,
                               origin_channel, origin_message, created_at, updated_at)
         SELECT 'assign', CASE WHEN i % 100 = 0 THEN 'pending' ELSE 'completed' END,
                'user' || i, 'user' || i || '@contoso.example', 'user' || i || '@contoso.example',
                'Someone', 'general', 'x' || i, $2, $2
         FROM n",
    )
    .bind(n as i64)
    .bind(&now)
    .execute(w.conn().await.expect("the transaction's connection"))
    .await
    .expect("requests");
    sqlx::query(
        "INSERT INTO stages (request_id, seq, kind, state, body, routed_to, routed_at, approval_message)
         SELECT id, 1, 'assign', state, 'Request', '[\"carol\"]', created_at, 'a' || id
         FROM requests",
    )
    .execute(w.conn().await.expect("the transaction's connection"))
    .await
    .expect("stages");
    w.commit().await.expect("commit");
    if store.dialect() == licensebot::store::Dialect::Postgres {
        // What autovacuum does within a minute of a bulk load: without statistics the
        // planner guesses, and the first queries on the fresh million take a wrong plan.
        let mut conn = store.read().await.expect("read");
        sqlx::query("ANALYZE requests")
            .execute(&mut *conn)
            .await
            .expect("analyze");
        sqlx::query("ANALYZE stages")
            .execute(&mut *conn)
            .await
            .expect("analyze");
    }
    store.close().await;
}

/// Peak RSS of a bot whose database holds `n` requests (1 % of them pending), after it has
/// started, ticked its scheduler and answered a few commands.
async fn rss_with_requests_mb(n: usize) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    seed_requests(&sqlite_url(dir.path()), n).await;
    let mut p = Proc::start(dir.path());
    p.wait_idle();
    rss_after_work(p)
}

/// Answers a few commands and an hour of ticks; returns the peak RSS.
fn rss_after_work(mut p: Proc) -> f64 {
    for cmd in ["!pro status", "!pro pending", "!pro seats", "!pro audit 1"] {
        p.send(json!({"type":"message","channel":"general","author":"carol","content":cmd}));
        p.wait_idle();
    }
    p.send(json!({"type":"advance","seconds":3600}));
    p.wait_idle();
    let rss = p.peak_rss_mb();
    p.stop();
    rss
}

/// With `n` requests stored (1 % pending): milliseconds for `licensebot requests --state
/// pending --json` to answer with its first page (the median of three runs of the process),
/// milliseconds from spawning the bot to its first answer, and its peak RSS after some work.
async fn with_a_million_stored(n: usize, server: Option<&str>) -> (f64, f64, f64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = store_url(dir.path(), server).await;
    seed_requests(&url, n).await;
    let mut runs = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_licensebot"))
            .args(["requests", "--state", "pending", "--json"])
            .env("LICENSEBOT__STORE__URL", &url)
            .stderr(Stdio::null())
            .output()
            .expect("requests");
        runs.push(start.elapsed().as_secs_f64() * 1000.0);
        assert!(out.status.success(), "requests --state pending failed");
        let listed: Value = serde_json::from_slice(&out.stdout).expect("requests json");
        let pending = n.div_ceil(100);
        let page = listed["requests"].as_array().map(Vec::len);
        assert_eq!(page, Some(pending.min(100)), "the first page");
        assert_eq!(listed["next_before"].is_i64(), pending > 100, "a next page");
    }
    runs.sort_by(f64::total_cmp);
    let start = Instant::now();
    let mut p = Proc::start_on(dir.path(), &url);
    p.wait_idle();
    let ready_ms = start.elapsed().as_secs_f64() * 1000.0;
    (runs[1], ready_ms, rss_after_work(p))
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One figure of the table: its key, value, decimals and target.
struct Row {
    key: &'static str,
    value: f64,
    decimals: usize,
    target: String,
}

/// How large each part of the bench runs (environment overrides in the module doc).
struct Sizes {
    lifecycles: usize,
    approvals: usize,
    bulk_users: usize,
    stored: usize,
    /// Requests stored for the start-up and listing figures (issue 16: a million).
    million: usize,
}

/// The measured rows, in the order they are printed.
#[derive(Default)]
struct Rows(Vec<Row>);

impl Rows {
    fn add(&mut self, key: &'static str, value: f64, decimals: usize, target: String) {
        self.0.push(Row {
            key,
            value,
            decimals,
            target,
        });
    }
}

fn main() {
    // The integration tests' drivers put a bot's store on the server this variable names
    // (`tests/postgres.sh` exports it); the bench chooses its databases itself: SQLite, and
    // PostgreSQL only where `LICENSEBOT_BENCH_POSTGRES_URL` asks. Cleared before any thread
    // starts, so no SQLite figure is measured on PostgreSQL.
    std::env::remove_var(support::postgres::URL_VAR);
    // LOAD_SQL_LOG=1 logs every SQL statement the bench's own engine runs (to count them).
    // Otherwise the statements of a few lifecycles are counted (see `StatementCounter`).
    if std::env::var_os("LOAD_SQL_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("sqlx::query=debug"))
            .with_writer(std::io::stderr)
            .init();
    } else {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        tracing_subscriber::registry().with(StatementCounter).init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sizes = Sizes {
        lifecycles: env_usize("LOAD_LIFECYCLES", 300),
        approvals: env_usize("LOAD_APPROVALS", 200),
        bulk_users: env_usize("LOAD_BULK_USERS", 1000),
        stored: env_usize("LOAD_STORED_REQUESTS", 100_000),
        million: env_usize("LOAD_MILLION_REQUESTS", 1_000_000),
    };
    let only = std::env::var("LOAD_ONLY").ok();
    let run = |part: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|p| p.trim() == part))
    };
    let mut rows = Rows::default();
    if run("lifecycles") {
        measure_lifecycles(&rt, &sizes, &mut rows, None);
    }
    if run("latency") {
        measure_latency(&rt, &sizes, &mut rows, None);
    }
    if run("parser") {
        rows.add(
            "parser_msgs_per_s",
            parser_msgs_per_s(),
            0,
            ">= 500000".into(),
        );
    }
    if run("rss") {
        rows.add("rss_idle_mb", rss_idle_mb(), 1, "<= 25".into());
        rows.add(
            "rss_100k_mb",
            rt.block_on(rss_with_requests_mb(sizes.stored)),
            1,
            "<= 60".into(),
        );
    }
    if run("cold") {
        rows.add("cold_start_ms", cold_start_ms(), 1, "<= 300".into());
    }
    if run("bulk") {
        measure_bulk(&sizes, &mut rows);
    }
    if run("million") {
        measure_million(&rt, &sizes, &mut rows, None);
    }
    print_rows(&sizes, &rows);
    let mut postgres = Rows::default();
    if let Some(server) = postgres_server() {
        if run("lifecycles") {
            measure_lifecycles(&rt, &sizes, &mut postgres, Some(&server));
        }
        if run("latency") {
            measure_latency(&rt, &sizes, &mut postgres, Some(&server));
        }
        if run("million") {
            measure_million(&rt, &sizes, &mut postgres, Some(&server));
        }
        // The server outlives the bench: none of its databases is kept there.
        rt.block_on(support::postgres::drop_own_databases(&server));
        println!("on PostgreSQL:");
        for r in &postgres.0 {
            println!("{:<28} {:>14.*}  {}", r.key, r.decimals, r.value, r.target);
        }
    }
    if only.is_some() {
        println!("LOAD_ONLY is set: no results file written");
        return;
    }
    write_results(&rows, &postgres);
}

fn measure_lifecycles(
    rt: &tokio::runtime::Runtime,
    sizes: &Sizes,
    rows: &mut Rows,
    server: Option<&str>,
) {
    let LifecycleFigures {
        raw_commits_per_s: raw,
        lifecycles_per_s: lifecycles,
        commits_per_lifecycle: commits,
        statements_per_lifecycle: statements,
        round_trip_us,
        idle_round_trip_us,
    } = rt.block_on(commits_and_lifecycles(sizes.lifecycles, server));
    rows.add("raw_commits_per_s", raw, 0, String::new());
    rows.add(
        "lifecycles_per_s",
        lifecycles,
        1,
        format!(
            ">= {:.1} (raw / commits / 2); ratio {:.2} of raw / commits",
            raw / commits / 2.0,
            lifecycles * commits / raw
        ),
    );
    rows.add("commits_per_lifecycle", commits, 1, String::new());
    rows.add(
        "statements_per_lifecycle",
        statements,
        1,
        "SQL statements, the simulated tenant's included".into(),
    );
    rows.add(
        "round_trip_us",
        round_trip_us,
        1,
        "one SELECT 1 through the store".into(),
    );
    rows.add(
        "idle_round_trip_us",
        idle_round_trip_us,
        1,
        "the same after 1 ms asleep".into(),
    );
}

fn measure_latency(
    rt: &tokio::runtime::Runtime,
    sizes: &Sizes,
    rows: &mut Rows,
    server: Option<&str>,
) {
    let latencies = rt.block_on(reaction_latencies(sizes.approvals, 10, server));
    rows.add(
        "reaction_to_backend_p50_ms",
        percentile(&latencies, 50.0),
        2,
        String::new(),
    );
    rows.add(
        "reaction_to_backend_p99_ms",
        percentile(&latencies, 99.0),
        2,
        format!(
            "<= 10 (max {:.2} of {})",
            latencies.last().copied().unwrap_or(f64::NAN),
            latencies.len()
        ),
    );
}

fn measure_million(
    rt: &tokio::runtime::Runtime,
    sizes: &Sizes,
    rows: &mut Rows,
    server: Option<&str>,
) {
    let (pending_ms, ready_ms, rss) = rt.block_on(with_a_million_stored(sizes.million, server));
    rows.add("pending_list_1m_ms", pending_ms, 1, "<= 50".into());
    rows.add("start_1m_ms", ready_ms, 1, "<= 500".into());
    rows.add("rss_1m_mb", rss, 1, "<= 60".into());
}

fn measure_bulk(sizes: &Sizes, rows: &mut Rows) {
    let bulk = bulk_assignment(sizes.bulk_users);
    rows.add(
        "bulk_1000_http_calls",
        bulk.calls as f64,
        0,
        format!(
            "<= 60 ({} of them assignLicense batches)",
            bulk.assign_calls
        ),
    );
    rows.add("bulk_1000_wall_s", bulk.wall_s, 2, String::new());
}

fn print_rows(sizes: &Sizes, rows: &Rows) {
    println!(
        "licensebot load benchmark ({} lifecycles, {} approvals, {} bulk users, {} and {} stored requests)",
        sizes.lifecycles, sizes.approvals, sizes.bulk_users, sizes.stored, sizes.million
    );
    println!("{:<28} {:>14}  target", "measure", "value");
    for r in &rows.0 {
        println!("{:<28} {:>14.*}  {}", r.key, r.decimals, r.value, r.target);
    }
}

/// Writes `target/bench-results/load.json`: each measure rounded as printed, PostgreSQL's
/// under `"postgres"` when it ran.
fn write_results(rows: &Rows, postgres: &Rows) {
    let rounded = |rows: &Rows| -> BTreeMap<&str, Value> {
        rows.0
            .iter()
            .map(|r| {
                let scale = 10f64.powi(r.decimals as i32);
                (r.key, json!((r.value * scale).round() / scale))
            })
            .collect()
    };
    let mut results = rounded(rows);
    if !postgres.0.is_empty() {
        results.insert("postgres", json!(rounded(postgres)));
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-results");
    std::fs::create_dir_all(&out).expect("results dir");
    std::fs::write(
        out.join("load.json"),
        serde_json::to_string_pretty(&results).expect("json"),
    )
    .expect("write results");
    println!("written: target/bench-results/load.json");
}
