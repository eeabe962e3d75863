//! The load benchmark: durable commit rate, whole request lifecycles per second, commits per
//! lifecycle, parser throughput, memory and cold start of the real binary. Prints a table and
//! writes `target/bench-results/load.json`.
//!
//! Run with `cargo bench --bench load`. Sizes can be changed with `LOAD_LIFECYCLES` (default
//! 300) and `LOAD_STORED_REQUESTS` (default 100000).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use licensebot::backend::simulated::{SimulatedPurchaser, SimulatedTenant};
use licensebot::chat::{ChatError, ChatEvent, ChatOutput, IncomingMessage, Reaction};
use licensebot::command::{parse_message, ParserConfig};
use licensebot::config::Settings;
use licensebot::domain::{ChannelRef, ChatUserId, MessageRef, Upn, UserType};
use licensebot::engine::clock::SystemClock;
use licensebot::engine::Engine;
use licensebot::startup;
use licensebot::store::simulated::{seed, UserSeed};
use serde_json::{json, Value};

/// A chat transport that only counts, and remembers the last approval message.
#[derive(Default)]
struct CountingChat {
    next: AtomicU64,
    last_approval: Mutex<Option<MessageRef>>,
}

#[async_trait]
impl ChatOutput for CountingChat {
    async fn send(
        &self,
        channel: &ChannelRef,
        _c: &str,
        _r: Option<&MessageRef>,
    ) -> Result<MessageRef, ChatError> {
        let id = MessageRef(format!("b{}", self.next.fetch_add(1, Ordering::Relaxed)));
        if channel.as_str() == "license-approvals" {
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
    fn mention(&self, user: &ChatUserId) -> String {
        format!("@{user}")
    }
}

fn settings_for(dir: &Path) -> Settings {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    Settings::load_from(None, &[("LICENSEBOT__STORE__URL".into(), url)]).expect("settings")
}

/// Durable commits per second through the bot's own write path (WAL, synchronous = FULL).
async fn raw_commits_per_s(dir: &Path) -> f64 {
    let store = startup::open_store(&settings_for(dir))
        .await
        .expect("store");
    let mut w = store.write().await.expect("write");
    sqlx::query("CREATE TABLE bench (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        .execute(w.conn())
        .await
        .expect("create");
    w.commit().await.expect("commit");
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(3) {
        let mut w = store.write().await.expect("write");
        sqlx::query("INSERT INTO bench (v) VALUES ('x')")
            .execute(w.conn())
            .await
            .expect("insert");
        w.commit().await.expect("commit");
        n += 1;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    store.close().await;
    rate
}

/// Whole lifecycles: request → approval → job → assignment on the simulated tenant →
/// notifications delivered, on a file database.
async fn lifecycles(dir: &Path, n: usize) -> (f64, f64) {
    let settings = settings_for(dir);
    let store = startup::open_store(&settings).await.expect("store");
    let clock = Arc::new(SystemClock);
    startup::seed_simulated(&store, &settings, clock.as_ref())
        .await
        .expect("seed");
    let users: Vec<UserSeed> = (0..n)
        .map(|i| UserSeed {
            upn: Upn::parse(&format!("user{i}@contoso.example")).expect("upn"),
            display_name: format!("User {i}"),
            usage_location: Some(licensebot::domain::CountryCode::parse("NL").expect("nl")),
            user_type: UserType::Member,
            account_enabled: true,
            licenses: Vec::new(),
            roles: Vec::new(),
        })
        .collect();
    {
        let mut w = store.write().await.expect("write");
        seed(w.conn(), &[], &users, chrono::Utc::now())
            .await
            .expect("seed users");
        sqlx::query(
            "UPDATE sim_skus SET enabled = enabled + ? WHERE sku_part_number = 'POWER_BI_PRO'",
        )
        .bind(n as i64)
        .execute(w.conn())
        .await
        .expect("seats");
        w.commit().await.expect("commit");
    }
    let chat = Arc::new(CountingChat::default());
    let sku = settings.backend.sku_part_number.clone();
    let engine = Engine::new(
        store.clone(),
        Arc::new(SimulatedTenant::new(
            store.clone(),
            sku.clone(),
            Duration::ZERO,
            clock.clone(),
        )),
        Arc::new(SimulatedPurchaser::new(
            store.clone(),
            sku,
            Duration::ZERO,
            clock.clone(),
        )),
        chat.clone(),
        clock,
        startup::texts_for(&settings),
        startup::engine_config(&settings),
    );
    let message = |i: usize, author: &str, text: String| {
        ChatEvent::Message(IncomingMessage {
            id: MessageRef(format!("in{i}-{author}")),
            channel: ChannelRef("general".into()),
            author: ChatUserId(author.into()),
            content: text,
            reply_to: None,
            direct: false,
        })
    };
    for i in 0..n {
        engine
            .handle(message(
                i,
                &format!("user{i}"),
                format!("!pro link user{i}@contoso.example"),
            ))
            .await;
    }
    let commits_before = store.commits();
    let start = Instant::now();
    for i in 0..n {
        engine
            .handle(message(i, &format!("user{i}"), "!pro request".into()))
            .await;
        let approval = chat
            .last_approval
            .lock()
            .unwrap()
            .clone()
            .expect("approval posted");
        engine
            .handle(ChatEvent::ReactionAdded(Reaction {
                message: approval,
                channel: None,
                user: ChatUserId("carol".into()),
                emoji: "✅".into(),
            }))
            .await;
        engine.run_due_jobs().await;
        engine.deliver().await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let commits = (store.commits() - commits_before) as f64 / n as f64;
    let completed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM requests WHERE state = 'completed'")
            .fetch_one(store.pool())
            .await
            .expect("count");
    assert_eq!(completed as usize, n, "every lifecycle completed");
    store.close().await;
    (n as f64 / elapsed, commits)
}

fn parser_msgs_per_s() -> f64 {
    let cfg = ParserConfig {
        prefix: "!pro".into(),
        bot_mentions: vec!["@licensebot".into()],
    };
    let msgs = [
        "!pro request because I build the sales reports",
        "!pro assign alice@contoso.example, bob@contoso.example @carol",
        "!pro buy 5 annual",
        "!pro status #12",
        "can I get a Power BI Pro license?",
        "lunch anyone?",
        "!pro req\u{200b}uest \u{201c}for the dashboards\u{201d}",
        "!pro frobnicate",
    ];
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

/// A bot process in `console --jsonl` mode.
struct Proc {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Proc {
    fn start(dir: &Path) -> Proc {
        let url = format!("sqlite://{}", dir.join("bot.db").display());
        let mut child = Command::new(env!("CARGO_BIN_EXE_licensebot"))
            .args(["console", "--jsonl"])
            .env("LICENSEBOT__STORE__URL", url)
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

/// Peak RSS of a bot whose database holds `n` requests (1 % of them pending), after it has
/// started, ticked its scheduler and answered a few commands.
async fn rss_with_requests_mb(n: usize) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let settings = Settings::load_from(
            None,
            &[(
                "LICENSEBOT__STORE__URL".into(),
                format!("sqlite://{}", dir.path().join("bot.db").display()),
            )],
        )
        .expect("settings");
        let store = startup::open_store(&settings).await.expect("store");
        let mut w = store.write().await.expect("write");
        let now = licensebot::store::ts(chrono::Utc::now());
        for i in 0..n {
            let state = if i % 100 == 0 { "pending" } else { "completed" };
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO requests (kind, state, requester, requester_upn, target_upn, target_name,
                                       origin_channel, origin_message, created_at, updated_at)
                 VALUES ('assign', ?, ?, ?, ?, 'Someone', 'general', ?, ?, ?) RETURNING id",
            )
            .bind(state)
            .bind(format!("user{i}"))
            .bind(format!("user{i}@contoso.example"))
            .bind(format!("user{i}@contoso.example"))
            .bind(format!("x{i}"))
            .bind(&now)
            .bind(&now)
            .fetch_one(w.conn())
            .await
            .expect("request");
            sqlx::query(
                "INSERT INTO stages (request_id, seq, kind, state, body, routed_to, routed_at, approval_message)
                 VALUES (?, 1, 'assign', ?, 'Request', '[\"carol\"]', ?, ?)",
            )
            .bind(id)
            .bind(state)
            .bind(&now)
            .bind(format!("a{i}"))
            .execute(w.conn())
            .await
            .expect("stage");
        }
        w.commit().await.expect("commit");
        store.close().await;
    }
    let mut p = Proc::start(dir.path());
    p.wait_idle();
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

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let n = env_usize("LOAD_LIFECYCLES", 300);
    let stored = env_usize("LOAD_STORED_REQUESTS", 100_000);

    let dir = tempfile::tempdir().expect("tempdir");
    let raw = rt.block_on(raw_commits_per_s(dir.path()));
    let dir = tempfile::tempdir().expect("tempdir");
    let (lifecycles, commits) = rt.block_on(lifecycles(dir.path(), n));
    let parser = parser_msgs_per_s();
    let cold = cold_start_ms();
    let idle = rss_idle_mb();
    let big = rt.block_on(rss_with_requests_mb(stored));

    let mut results: BTreeMap<&str, Value> = BTreeMap::new();
    results.insert("raw_commits_per_s", json!(raw.round()));
    results.insert(
        "lifecycles_per_s",
        json!((lifecycles * 10.0).round() / 10.0),
    );
    results.insert(
        "commits_per_lifecycle",
        json!((commits * 10.0).round() / 10.0),
    );
    results.insert("parser_msgs_per_s", json!(parser.round()));
    results.insert("rss_idle_mb", json!((idle * 10.0).round() / 10.0));
    results.insert("rss_100k_mb", json!((big * 10.0).round() / 10.0));
    results.insert("cold_start_ms", json!((cold * 10.0).round() / 10.0));
    let target = raw / commits / 2.0;

    println!("licensebot load benchmark ({n} lifecycles, {stored} stored requests)");
    println!("{:<28} {:>14}  target", "measure", "value");
    println!("{:<28} {:>14.0}", "raw_commits_per_s", raw);
    println!(
        "{:<28} {:>14.1}  >= {:.1} (raw / commits / 2)",
        "lifecycles_per_s", lifecycles, target
    );
    println!("{:<28} {:>14.1}", "commits_per_lifecycle", commits);
    println!("{:<28} {:>14.0}  >= 500000", "parser_msgs_per_s", parser);
    println!("{:<28} {:>14.1}  <= 25", "rss_idle_mb", idle);
    println!("{:<28} {:>14.1}  <= 60", "rss_100k_mb", big);
    println!("{:<28} {:>14.1}  <= 300", "cold_start_ms", cold);

    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-results");
    std::fs::create_dir_all(&out).expect("results dir");
    std::fs::write(
        out.join("load.json"),
        serde_json::to_string_pretty(&results).expect("json"),
    )
    .expect("write results");
    println!("written: target/bench-results/load.json");
}
