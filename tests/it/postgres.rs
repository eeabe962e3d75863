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

    /// Starts bot `n` with a 3-second gateway lease and job lease, a call to the tenant that
    /// takes a second and a half, read-backs tried twice, and its endpoint on a free port.
    fn start(&self, n: usize) -> DiscordBot {
        let tenant = format!(
            "sqlite://{}",
            self.shared.path().join("tenant.db").display()
        );
        let env: Vec<(String, String)> = [
            ("LICENSEBOT__STORE__URL", self.url.as_str()),
            ("LICENSEBOT__HA__LEASE", "3s"),
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

    /// Holders of `upn`'s Power BI Pro licence in the simulated tenant.
    async fn holders(&self, upn: &str) -> i64 {
        let path = self.shared.path().join("tenant.db");
        let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("the tenant");
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM assignments WHERE upn = $1 AND sku_part_number = 'POWER_BI_PRO'",
        )
        .bind(upn)
        .fetch_one(&mut db)
        .await
        .expect("query")
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
    let mark = c.fake.start_mark();
    let leader = c.start(0);
    c.fake.wait_started(mark, TIMEOUT).await;
    let standby = c.start(1);
    let (code, body) = health(c.dirs[1].path()).await;
    assert_eq!((code, &body["role"]), (200, &"standby".into()), "{body}");
    assert_eq!(body["checks"]["transport"], "standby", "{body}");
    let (code, body) = health(c.dirs[0].path()).await;
    assert_eq!((code, &body["role"]), (200, &"leader".into()), "{body}");
    assert_eq!(
        c.fake.view(|v| v.handshakes().0),
        1,
        "one session: the standby stays off the gateway"
    );

    let dir = c.dirs[0].path().to_path_buf();
    discord_bot::link(&c.fake, "alice", "alice@contoso.example", |to| {
        discord_bot::mailed_code(&dir, to)
    })
    .await;
    c.fake.say(
        "alice",
        GENERAL,
        "!pro request because I build the sales reports",
    );
    let approval = c
        .fake
        .ready_for_a_decision(APPROVALS, "Request #1", TIMEOUT)
        .await;
    c.fake.react("carol", approval.id, "✅");
    // The leader took the assignment (its call to the tenant takes 1.5 s): kill it there.
    c.wait_db(
        "the assignment job",
        "SELECT state FROM jobs WHERE stage_id = 1",
        "running",
    )
    .await;
    let mark = c.fake.start_mark();
    leader.kill().await;

    c.fake.wait_started(mark, Duration::from_secs(30)).await;
    c.wait_db(
        "request #1",
        "SELECT state FROM requests WHERE id = 1",
        "completed",
    )
    .await;
    c.fake
        .wait_for("the requester told", TIMEOUT, |v| {
            v.dms_to("alice")
                .into_iter()
                .find(|d| d.contains("is done"))
        })
        .await;
    let (code, body) = health(c.dirs[1].path()).await;
    assert_eq!((code, &body["role"]), (200, &"leader".into()), "{body}");
    assert_eq!(c.holders("alice@contoso.example").await, 1);
    let told: Vec<String> = c.fake.view(|v| v.dms_to("alice"));
    assert_eq!(
        told.iter().filter(|d| d.contains("is done")).count(),
        1,
        "told once: {told:?}"
    );
    no_repeats(&c.fake.view(|v| v.messages_in(GENERAL)));
    no_repeats(&c.fake.view(|v| v.messages_in(APPROVALS)));
    let mut db = c.db().await;
    let assigned: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM backend_calls WHERE operation = 'assign_licence' AND outcome = 'ok'",
    )
    .fetch_one(&mut db)
    .await
    .expect("query");
    assert!(assigned <= 1, "assigned {assigned} times");
    standby.stop().await;
}
