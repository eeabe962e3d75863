//! Several real `licensebot` processes on one PostgreSQL database and one fake Discord: one
//! leads (holds the gateway), the others stand by and take over when it dies. Run by
//! `tests/run.sh`, which starts the PostgreSQL server these tests need.

use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

use crate::support::discord_bot::{self, DiscordBot, TIMEOUT};
use crate::support::fake_discord::{FakeDiscord, Msg, APPROVALS, GENERAL};
use crate::support::postgres;

const NEEDS: &str = "needs PostgreSQL (LICENSEBOT_TEST_POSTGRES_URL); tests/run.sh runs it";

/// Bots on one database: their settings point at the same PostgreSQL database and the same
/// simulated tenant file, each in a directory of its own (settings, log, mailbox).
struct Cluster {
    fake: FakeDiscord,
    url: String,
    shared: tempfile::TempDir,
    dirs: Vec<tempfile::TempDir>,
}

impl Cluster {
    async fn new(bots: usize) -> Cluster {
        let server = postgres::server().expect(NEEDS);
        let url = postgres::fresh_database(&server).await;
        let fake = FakeDiscord::start().await;
        let shared = tempfile::tempdir().expect("tempdir");
        let dirs: Vec<tempfile::TempDir> = (0..bots)
            .map(|_| {
                let dir = tempfile::tempdir().expect("tempdir");
                discord_bot::write_config(dir.path(), &fake.url());
                dir
            })
            .collect();
        Cluster {
            fake,
            url,
            shared,
            dirs,
        }
    }

    /// Starts bot `n` with a gateway lease of `lease`, a 3-second job lease, a call to the
    /// tenant that takes a second and a half, read-backs tried twice, and its endpoint on a
    /// free port.
    fn start(&self, n: usize, lease: &str) -> DiscordBot {
        let tenant = format!(
            "sqlite://{}",
            self.shared.path().join("tenant.db").display()
        );
        let env: Vec<(String, String)> = [
            ("LICENSEBOT__STORE__URL", self.url.as_str()),
            ("LICENSEBOT__HA__LEASE", lease),
            ("LICENSEBOT__JOBS__LEASE", "3s"),
            ("LICENSEBOT__JOBS__VERIFY_ATTEMPTS", "2"),
            ("LICENSEBOT__JOBS__VERIFY_INTERVAL", "200ms"),
            ("LICENSEBOT__BACKEND__SIMULATED__DATABASE", tenant.as_str()),
            ("LICENSEBOT__BACKEND__SIMULATED__LATENCY", "1500ms"),
            ("LICENSEBOT__TELEMETRY__METRICS_ADDR", "127.0.0.1:0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        DiscordBot::start_with(self.dirs[n].path(), "info,licensebot=debug", &env)
    }

    async fn db(&self) -> PgConnection {
        PgConnection::connect(&self.url)
            .await
            .expect("the test database")
    }

    /// Waits until `sql` (one text value, or none) says `want`.
    async fn wait_db(&self, what: &str, sql: &str, want: &str) {
        let deadline = Instant::now() + TIMEOUT;
        let mut db = self.db().await;
        loop {
            let got: Option<String> = sqlx::query_scalar(sql)
                .fetch_optional(&mut db)
                .await
                .expect("query");
            if got.as_deref() == Some(want) {
                return;
            }
            if Instant::now() >= deadline {
                let logs: Vec<String> = self
                    .dirs
                    .iter()
                    .map(|d| std::fs::read_to_string(d.path().join("bot.log")).unwrap_or_default())
                    .collect();
                panic!(
                    "{what}: {got:?}, not {want:?}; the bots' logs:\n{}",
                    logs.join("\n----\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// One number from the simulated tenant's database (`$1` bound to `bind` when used).
    async fn tenant_number(&self, sql: &str, bind: &str) -> i64 {
        let path = self.shared.path().join("tenant.db");
        let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("the tenant");
        let q = sqlx::query_scalar(sql);
        let q = if sql.contains("$1") { q.bind(bind) } else { q };
        q.fetch_one(&mut db).await.expect("query")
    }

    /// Holders of `upn`'s Power BI Pro licence in the simulated tenant.
    async fn holders(&self, upn: &str) -> i64 {
        let sql =
            "SELECT COUNT(*) FROM assignments WHERE upn = $1 AND sku_part_number = 'POWER_BI_PRO'";
        self.tenant_number(sql, upn).await
    }

    /// Power BI Pro seats in the simulated tenant.
    async fn seats(&self) -> i64 {
        let sql = "SELECT enabled FROM skus WHERE sku_part_number = 'POWER_BI_PRO'";
        self.tenant_number(sql, "").await
    }

    /// Purchases that raised the seat count in the simulated tenant.
    async fn seat_rises(&self) -> i64 {
        let sql = "SELECT COUNT(*) FROM purchases WHERE to_seats > from_seats";
        self.tenant_number(sql, "").await
    }

    /// The roles `/healthz` of bots `ns` report, in order.
    async fn roles(&self, ns: &[usize]) -> Vec<String> {
        let mut roles = Vec::new();
        for &n in ns {
            let (code, body) = health(self.dirs[n].path()).await;
            assert_eq!(code, 200, "{body}");
            roles.push(body["role"].as_str().unwrap_or_default().to_string());
        }
        roles
    }

    /// Starts bot 0 with a gateway lease of `lease`, waits until it holds the gateway, then
    /// starts the other `standbys`; returns the leader and the others.
    async fn boot(&self, standbys: usize, lease: &str) -> (DiscordBot, Vec<DiscordBot>) {
        let mark = self.fake.start_mark();
        let leader = self.start(0, lease);
        self.fake.wait_started(mark, TIMEOUT).await;
        let others = (1..=standbys).map(|n| self.start(n, lease)).collect();
        (leader, others)
    }

    /// Alice links her account and asks; returns the approval message, once the bot reacted
    /// on it.
    async fn alice_asks(&self) -> Msg {
        let dir = self.dirs[0].path().to_path_buf();
        discord_bot::link(&self.fake, "alice", "alice@contoso.example", |to| {
            discord_bot::mailed_code(&dir, to)
        })
        .await;
        self.fake.say(
            "alice",
            GENERAL,
            "!pro request because I build the sales reports",
        );
        self.fake
            .ready_for_a_decision(APPROVALS, "Request #1", TIMEOUT)
            .await
    }

    /// Kills `leader` (kill -9) while it carries out the job of stage 1 (its call to the
    /// tenant takes 1.5 s), and waits until another bot holds the gateway.
    async fn kill_mid_job(&self, leader: DiscordBot) {
        let sql = "SELECT state FROM jobs WHERE stage_id = 1";
        self.wait_db("the job under way", sql, "running").await;
        let mark = self.fake.start_mark();
        leader.kill().await;
        self.fake.wait_started(mark, Duration::from_secs(30)).await;
    }

    /// Waits until request #1 is completed.
    async fn completed(&self) {
        let sql = "SELECT state FROM requests WHERE id = 1";
        self.wait_db("request #1", sql, "completed").await;
    }

    /// Alice is told once that her request is done, and no message the bot posted repeats.
    async fn told_once(&self) {
        self.fake
            .wait_for("the requester told", TIMEOUT, |v| {
                v.dms_to("alice")
                    .into_iter()
                    .find(|d| d.contains("is done"))
            })
            .await;
        let told = self.fake.view(|v| v.dms_to("alice"));
        let done = told.iter().filter(|d| d.contains("is done")).count();
        assert_eq!(done, 1, "told once: {told:?}");
        no_repeats(&self.fake.view(|v| v.messages_in(GENERAL)));
        no_repeats(&self.fake.view(|v| v.messages_in(APPROVALS)));
    }
}

/// `/healthz` of the bot whose log is in `dir`, once it serves it: status code and body.
async fn health(dir: &Path) -> (u16, serde_json::Value) {
    let deadline = Instant::now() + TIMEOUT;
    let base = loop {
        let log = std::fs::read_to_string(dir.join("bot.log")).unwrap_or_default();
        let addr = log
            .lines()
            .filter(|l| l.contains("serving /metrics and /healthz"))
            .find_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("addr=")));
        if let Some(addr) = addr {
            break format!("http://{addr}");
        }
        assert!(Instant::now() < deadline, "no endpoint served; log:\n{log}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let r = reqwest::get(format!("{base}/healthz")).await.expect("GET");
    let code = r.status().as_u16();
    (code, r.json().await.expect("JSON"))
}

/// No two messages the bot posted in `channel` say the same.
fn no_repeats(messages: &[Msg]) {
    let mut seen = std::collections::HashSet::new();
    for m in messages
        .iter()
        .filter(|m| m.author == crate::support::fake_discord::BOT)
    {
        assert!(
            seen.insert(m.content.clone()),
            "posted twice: {}",
            m.content
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (LICENSEBOT_TEST_POSTGRES_URL); tests/run.sh runs it"]
async fn a_standby_takes_over_a_leader_killed_between_approval_and_assignment() {
    let c = Cluster::new(2).await;
    let (leader, others) = c.boot(1, "3s").await;
    let (code, body) = health(c.dirs[1].path()).await;
    assert_eq!((code, &body["role"]), (200, &"standby".into()), "{body}");
    assert_eq!(body["checks"]["transport"], "standby", "{body}");
    assert_eq!(c.roles(&[0]).await, ["leader"]);
    let sessions = c.fake.view(|v| v.handshakes().0);
    assert_eq!(
        sessions, 1,
        "one session: the standby stays off the gateway"
    );

    let approval = c.alice_asks().await;
    c.fake.react("carol", approval.id, "✅");
    c.kill_mid_job(leader).await;

    c.completed().await;
    c.told_once().await;
    assert_eq!(c.roles(&[1]).await, ["leader"]);
    assert_eq!(c.holders("alice@contoso.example").await, 1);
    for bot in others {
        bot.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (LICENSEBOT_TEST_POSTGRES_URL); tests/run.sh runs it"]
async fn one_of_two_standbys_takes_over_a_leader_killed_during_a_purchase() {
    let c = Cluster::new(3).await;
    let (leader, others) = c.boot(2, "3s").await;
    assert_eq!(c.roles(&[0, 1, 2]).await, ["leader", "standby", "standby"]);
    let before = c.seats().await;

    c.fake.say("bob", GENERAL, "!pro buy 2");
    c.kill_mid_job(leader).await;

    c.completed().await;
    assert_eq!(c.seats().await, before + 2, "two seats bought, once");
    assert_eq!(c.seat_rises().await, 1);
    let mut roles = c.roles(&[1, 2]).await;
    roles.sort();
    assert_eq!(roles, ["leader", "standby"], "one of the two took over");
    let sessions = c.fake.view(|v| v.handshakes().0);
    assert_eq!(sessions, 2, "one session at a time");
    no_repeats(&c.fake.view(|v| v.messages_in(GENERAL)));
    no_repeats(&c.fake.view(|v| v.messages_in(APPROVALS)));
    for bot in others {
        bot.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (LICENSEBOT_TEST_POSTGRES_URL); tests/run.sh runs it"]
/// Restarts the server every test on it shares: `tests/run.sh` runs it alone, after the rest.
async fn the_bots_reconnect_when_postgres_restarts_mid_flow() {
    let restart = std::env::var("LICENSEBOT_TEST_POSTGRES_RESTART").expect(NEEDS);
    let c = Cluster::new(2).await;
    // A lease long enough that the leader rides out the restart.
    let (leader, others) = c.boot(1, "9s").await;
    assert_eq!(c.roles(&[0, 1]).await, ["leader", "standby"]);

    // Alice's request is stored (the bot reacted on its approval message); the server
    // restarts before anyone decides.
    let approval = c.alice_asks().await;
    let status = tokio::process::Command::new("sh")
        .args(["-c", &restart])
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .expect("restart PostgreSQL");
    assert!(status.success(), "{status}");

    c.fake.react("carol", approval.id, "✅");
    c.completed().await;
    c.told_once().await;
    assert_eq!(c.holders("alice@contoso.example").await, 1);
    let roles = c.roles(&[0, 1]).await;
    assert_eq!(
        roles,
        ["leader", "standby"],
        "both went on through the restart"
    );
    for bot in others {
        bot.stop().await;
    }
    leader.stop().await;
}

/// Write transactions of two instances on one database run one at a time: the second waits
/// on the writer's advisory lock, taken as its transaction begins, until the first commits,
/// and then begins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (LICENSEBOT_TEST_POSTGRES_URL); tests/run.sh runs it"]
async fn writes_of_two_instances_on_one_database_run_one_at_a_time() {
    use licensebot::store::Store;
    let server = postgres::server().expect(NEEDS);
    let url = postgres::fresh_database(&server).await;
    let first = Store::open(&url, false)
        .await
        .expect("the first instance's store");
    let second = Store::open(&url, false)
        .await
        .expect("the second instance's store");

    // A transaction takes the lock with its first statement.
    let mut held = first.write().await.expect("the first write");
    held.conn().await.expect("the first write begins");
    let waiting = tokio::spawn(async move {
        let mut w = second.write().await.expect("the second write");
        w.conn().await.expect("the second write begins");
        let began = Instant::now();
        w.commit().await.expect("the second write commits");
        began
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the second write waits while the first holds the lock"
    );
    let committed = Instant::now();
    held.commit().await.expect("the first write commits");
    let began = tokio::time::timeout(TIMEOUT, waiting)
        .await
        .expect("the second write begins once the first committed")
        .expect("the second write's task");
    assert!(began >= committed, "it began after the first committed");
}

/// Two instances append to the audit chain in turns, each placing its events after the head
/// it last committed without reading it: an event written after the other's is chained
/// again after the head as it is, so the chain stays whole and numbered without a gap.
#[tokio::test]
#[ignore = "needs PostgreSQL (LICENSEBOT_TEST_POSTGRES_URL); tests/run.sh runs it"]
async fn two_instances_appending_in_turn_keep_one_whole_audit_chain() {
    use licensebot::store::audit::{self, NewEvent};
    use licensebot::store::Store;
    let server = postgres::server().expect(NEEDS);
    let url = postgres::fresh_database(&server).await;
    let first = Store::open(&url, false).await.expect("the first store");
    first.migrate().await.expect("migrate");
    let second = Store::open(&url, false).await.expect("the second store");
    let details: Vec<String> = (1..=8).map(|i| format!("event {i}")).collect();
    for (i, detail) in details.iter().enumerate() {
        // first, first, second, second, first, first, ...: each instance's first event of a
        // turn follows the other's.
        let store = if (i / 2) % 2 == 0 { &first } else { &second };
        let mut w = store.write().await.expect("write");
        let e = NewEvent {
            request: None,
            actor: "system",
            action: "drift_found",
            before: None,
            after: None,
            detail,
        };
        w.append_audit(&e, chrono::Utc::now())
            .await
            .expect("append");
        w.commit().await.expect("commit");
    }
    let mut conn = first.read().await.expect("read");
    let check = audit::verify_chain(&mut conn).await.expect("verify");
    assert!(check.intact(), "{check:?}");
    assert_eq!(check.checked, 8);
    let written: Vec<String> = sqlx::query_scalar("SELECT detail FROM audit_events ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .expect("details");
    assert_eq!(written, details);
}

/// A transaction that only queues chat actions goes as one simple query: its BEGIN, the
/// writer lock (so it still waits for a writer of another instance), its writes and its
/// COMMIT. One whose write fails keeps nothing, and its connection, which the failure left
/// inside an aborted transaction, is not reused: the next write runs.
#[tokio::test]
#[ignore = "needs PostgreSQL (LICENSEBOT_TEST_POSTGRES_URL); tests/run.sh runs it"]
async fn a_transaction_of_held_writes_alone_commits_in_one_query_under_the_writer_lock() {
    use licensebot::domain::{ChannelRef, StageId};
    use licensebot::store::outbox::{self, ChatAction};
    use licensebot::store::{Store, WRITER_LOCK};
    let server = postgres::server().expect(NEEDS);
    let url = postgres::fresh_database(&server).await;
    let store = Store::open(&url, false).await.expect("store");
    store.migrate().await.expect("migrate");
    let send = |text: &str, stage: Option<StageId>| ChatAction::Send {
        channel: ChannelRef("general".into()),
        content: text.into(),
        reply_to: None,
        stage,
        mentions: Vec::new(),
    };
    let queue = |texts: Vec<ChatAction>| {
        let store = store.clone();
        async move {
            let mut w = store.write().await.expect("write");
            for action in &texts {
                outbox::push(&mut w, action, chrono::Utc::now()).expect("push");
            }
            w.commit().await
        }
    };
    let contents = || async {
        let texts: Vec<String> = sqlx::query_scalar("SELECT content FROM outbox ORDER BY id")
            .fetch_all(&mut *store.read().await.expect("read"))
            .await
            .expect("contents");
        texts
    };

    // Another instance's writer holds the lock: the commit waits for it.
    let mut admin = PgConnection::connect(&url).await.expect("admin");
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(WRITER_LOCK)
        .execute(&mut admin)
        .await
        .expect("lock");
    let commit = tokio::spawn(queue(vec![send("first", None), send("it's second", None)]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !commit.is_finished(),
        "the commit waits for the writer lock"
    );
    assert!(contents().await.is_empty());
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(WRITER_LOCK)
        .execute(&mut admin)
        .await
        .expect("unlock");
    let committed = tokio::time::timeout(TIMEOUT, commit).await;
    committed
        .expect("in time")
        .expect("joined")
        .expect("commit");
    assert_eq!(contents().await, ["first", "it's second"]);

    let failed = queue(vec![
        send("third", None),
        send("orphan", Some(StageId(999))),
    ])
    .await;
    assert!(failed.is_err(), "no stage 999: {failed:?}");
    assert_eq!(contents().await, ["first", "it's second"], "nothing kept");
    queue(vec![send("fourth", None)])
        .await
        .expect("the next write runs");
    assert_eq!(contents().await, ["first", "it's second", "fourth"]);
}

/// Held by each test here that breaks a connection of its own process: a broken connection
/// noted anywhere in the process makes every store test its kept connections, so one such
/// test running alongside another would hide what the other checks.
static BREAKING_CONNECTIONS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A read connection the store keeps whose server process ends (as in a restart): the read
/// on it fails, as a pooled connection's did, and says the connection broke; the next read
/// tests the kept connections first, closes the broken one and runs on a new one.
#[tokio::test]
#[ignore = "needs PostgreSQL (LICENSEBOT_TEST_POSTGRES_URL); tests/run.sh runs it"]
async fn a_kept_read_connection_whose_server_process_ended_is_replaced() {
    use licensebot::store::Store;
    let _alone = BREAKING_CONNECTIONS.lock().await;
    let server = postgres::server().expect(NEEDS);
    let url = postgres::fresh_database(&server).await;
    let store = Store::open(&url, false).await.expect("store");
    let first = {
        let mut conn = store.read().await.expect("read");
        backend_pid(&mut conn).await.expect("pid")
    };
    {
        let mut conn = store.read().await.expect("read");
        let again = backend_pid(&mut conn).await.expect("pid");
        assert_eq!(
            again, first,
            "kept: the next read runs on the same connection"
        );
    }
    let mut admin = PgConnection::connect(&server).await.expect("admin");
    end_backend(&mut admin, first).await;

    let failed = {
        let mut conn = store.read().await.expect("read");
        backend_pid(&mut conn).await
    };
    assert!(
        failed.is_err(),
        "the read on the ended connection fails: {failed:?}"
    );
    // The error becomes a store error, as the engine's reads meet it: that is where it is
    // noted, and the next read tests the kept connections.
    drop(licensebot::store::StoreError::from(failed.unwrap_err()));
    let mut conn = store.read().await.expect("read after the connection broke");
    let second = backend_pid(&mut conn)
        .await
        .expect("a read on the connection that replaced it");
    assert_ne!(second, first);
}

/// The connection a write transaction committed on is kept for the next one. When its
/// server process ends (as in a restart) while it sits idle a second or more, the next write
/// tests it first and runs on a new one; when it ends just after a commit, the next write
/// fails, as one on a pooled connection did, and the write after it runs on a new one.
#[tokio::test]
#[ignore = "needs PostgreSQL (LICENSEBOT_TEST_POSTGRES_URL); tests/run.sh runs it"]
async fn a_kept_write_connection_whose_server_process_ended_is_replaced() {
    use licensebot::store::{Store, WriteTx};
    let _alone = BREAKING_CONNECTIONS.lock().await;
    async fn pid_in(w: &mut WriteTx<'_>) -> i32 {
        backend_pid(w.conn().await.expect("conn"))
            .await
            .expect("pid")
    }
    async fn write_pid(store: &Store) -> i32 {
        let mut w = store.write().await.expect("write");
        let pid = pid_in(&mut w).await;
        w.commit().await.expect("commit");
        pid
    }
    let server = postgres::server().expect(NEEDS);
    let url = postgres::fresh_database(&server).await;
    let store = Store::open(&url, false).await.expect("store");
    let first = write_pid(&store).await;
    assert_eq!(
        write_pid(&store).await,
        first,
        "kept: the next write runs on the same connection"
    );

    let mut admin = PgConnection::connect(&server).await.expect("admin");
    end_backend(&mut admin, first).await;
    // Idle past the store's test interval (a second, as the pool's).
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let second = write_pid(&store).await;
    assert_ne!(second, first, "tested, found broken, replaced");

    end_backend(&mut admin, second).await;
    let failed = match store.write().await {
        Ok(mut w) => w.conn().await.map(drop),
        Err(e) => Err(e),
    };
    assert!(
        failed.is_err(),
        "the write on the connection ended just now fails: {failed:?}"
    );
    let third = write_pid(&store).await;
    assert_ne!(third, second);
}

/// Ends the server process `pid` and waits until it is gone.
async fn end_backend(admin: &mut PgConnection, pid: i32) {
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut *admin)
        .await
        .expect("terminate");
    assert!(ended);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let alive: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1")
            .bind(pid)
            .fetch_one(&mut *admin)
            .await
            .expect("activity");
        if alive == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the server process never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The server process a connection talks to.
async fn backend_pid(conn: &mut sqlx::AnyConnection) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(conn)
        .await
}
