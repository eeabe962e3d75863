//! Runs the real `licensebot` binary with `chat.transport = "discord"` against a
//! [`FakeDiscord`](super::fake_discord::FakeDiscord): the Discord variant of the test
//! tenant (approvers named by Discord user id), a fresh database per test directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use super::bot::{json_output, state_of, RequestPages};
use super::fake_discord::{uid, APPROVALS, GUILD, TOKEN};

/// How long to wait for the bot before a test fails.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The test tenant with approvers named by Discord user id.
pub fn discord_tenant() -> String {
    let mut t = super::TENANT.to_string();
    for name in ["bob", "carol", "dave"] {
        let from = format!("chat_user = \"{name}\"");
        assert!(t.contains(&from), "tenant.toml has no approver {name}");
        t = t.replace(&from, &format!("chat_user = \"{}\"", uid(name)));
    }
    t
}

/// Writes the settings of a Discord test bot in `dir`, talking to the fake at `api_url`.
pub fn write_config(dir: &Path, api_url: &str) -> PathBuf {
    write_config_with(dir, api_url, "")
}

/// Like [`write_config`], with `extra` settings (new tables, such as `[backend.graph]`).
pub fn write_config_with(dir: &Path, api_url: &str, extra: &str) -> PathBuf {
    let path = dir.join("licensebot.toml");
    let text = format!(
        "[store]\nurl = \"{db}\"\n\n{mailbox}\n{tenant}\n\n[chat]\ntransport = \"discord\"\n\n\
         [discord]\nguild_id = \"{GUILD}\"\napprovals_channel_id = \"{APPROVALS}\"\n\
         api_url = \"{api_url}\"\nregister_slash_commands = true\n\n{extra}\n",
        db = super::bot::store_url(dir),
        mailbox = super::bot::mailbox_setting(dir),
        tenant = discord_tenant(),
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// A `licensebot` command on a test directory, with the token in the environment.
pub fn command(dir: &Path, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_licensebot"));
    for (k, _) in std::env::vars() {
        if k.starts_with("LICENSEBOT") || k == "RUST_LOG" || k == "DISCORD_TOKEN" {
            cmd.env_remove(k);
        }
    }
    cmd.arg("--config")
        .arg(dir.join("licensebot.toml"))
        .args(args)
        .env("DISCORD_TOKEN", TOKEN)
        .env("NO_PROXY", "127.0.0.1")
        // Workers look for due jobs often, so tests are quick.
        .env("LICENSEBOT__JOBS__POLL_INTERVAL", "100ms");
    cmd
}

/// A running bot process.
pub struct DiscordBot {
    child: tokio::process::Child,
    /// Its directory (database, settings, log).
    pub dir: PathBuf,
}

impl DiscordBot {
    /// Starts the bot on `dir` (settings written by [`write_config`]).
    pub fn start(dir: &Path) -> DiscordBot {
        DiscordBot::start_logging(dir, "info,licensebot=debug")
    }

    /// Starts the bot with a log filter (`trace` for the secrets test).
    pub fn start_logging(dir: &Path, filter: &str) -> DiscordBot {
        DiscordBot::start_with(dir, filter, &[])
    }

    /// Starts the bot on `dir` with a log filter and extra environment (`LICENSEBOT__…`
    /// overrides, secrets, a crash point). It runs in `dir`, so nothing it leaves behind
    /// lands elsewhere.
    pub fn start_with(dir: &Path, filter: &str, env: &[(String, String)]) -> DiscordBot {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("bot.log"))
            .expect("log file");
        let child = command(dir, &["run"])
            .env("RUST_LOG", filter)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("start licensebot");
        DiscordBot {
            child,
            dir: dir.to_path_buf(),
        }
    }

    /// The bot's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("bot.log")).unwrap_or_default()
    }

    /// Kills the process at once (SIGKILL), as a crash would, and reaps it.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("kill -9");
        let status = tokio::time::timeout(TIMEOUT, self.child.wait())
            .await
            .expect("the bot did not die")
            .expect("wait");
        assert!(!status.success(), "{status}");
    }

    /// Waits for the process to end by itself (a crash point) and returns how it ended.
    pub async fn exited(mut self) -> std::process::ExitStatus {
        match tokio::time::timeout(TIMEOUT, self.child.wait()).await {
            Ok(status) => status.expect("wait"),
            Err(_) => panic!("the bot did not stop by itself; log:\n{}", self.log()),
        }
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub async fn stop(mut self) {
        let pid = self.child.id().expect("running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let exit = tokio::time::timeout(TIMEOUT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the bot did not stop on SIGTERM; log:\n{}", self.log()))
            .expect("wait");
        assert!(
            exit.success(),
            "bot exited with {exit}; log:\n{}",
            self.log()
        );
    }
}

/// `licensebot requests --json` on a test directory.
pub async fn requests(dir: &Path) -> Value {
    let mut pages = RequestPages::default();
    while let Some(args) = pages.next_args() {
        let out = command(dir, &args.iter().map(String::as_str).collect::<Vec<_>>())
            .output()
            .await
            .expect("run requests");
        pages.add(&json_output("requests", &out));
    }
    pages.all()
}

/// The state of request `id`.
pub async fn request_state(dir: &Path, id: i64) -> String {
    state_of(&requests(dir).await, id)
}

/// One number from a test bot's store (its SQLite file, or its PostgreSQL database), on a
/// connection of its own, as an operator's query would read it.
pub async fn store_scalar(dir: &Path, sql: &str) -> i64 {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&super::bot::store_url(dir))
        .await
        .expect("open the bot's store");
    let n = sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&mut conn)
        .await
        .expect("query");
    conn.close().await.expect("close");
    n
}

/// Everything a test bot's store holds, as text: its SQLite file and write-ahead log read as
/// bytes, or every row of every table of its PostgreSQL database. For checks that a secret
/// was never stored.
pub async fn store_contents(dir: &Path) -> String {
    use sqlx::{Connection, Row};
    let url = super::bot::store_url(dir);
    if !url.starts_with("postgres") {
        return ["bot.db", "bot.db-wal"]
            .iter()
            .filter_map(|f| std::fs::read(dir.join(f)).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .collect();
    }
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&url)
        .await
        .expect("open the bot's store");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables");
    let mut text = String::new();
    for table in tables {
        let rows = sqlx::query(&format!(
            "SELECT COALESCE(string_agg(t::text, E'\\n'), '') FROM \"{table}\" t"
        ))
        .fetch_one(&mut conn)
        .await
        .expect("rows");
        text.push_str(&rows.get::<String, _>(0));
        text.push('\n');
    }
    conn.close().await.expect("close");
    text
}

/// `licensebot audit <id> --json`.
pub async fn audit(dir: &Path, id: i64) -> Value {
    let out = command(dir, &["audit", &id.to_string(), "--json"])
        .output()
        .await
        .expect("run audit");
    json_output("audit", &out)
}

/// Links `who` to `upn` on the fake Discord as a person does: `!pro link` in the general
/// channel, then the mailed code (read with `code`, given the address it went to) sent to the
/// bot in a direct message; waits until the bot says it is verified.
pub async fn link(
    fake: &super::fake_discord::FakeDiscord,
    who: &str,
    upn: &str,
    code: impl FnOnce(&str) -> String,
) {
    use super::fake_discord::{BOT, GENERAL};
    fake.say(who, GENERAL, &format!("!pro link {upn}"));
    fake.wait_for("the bot to mail a code", TIMEOUT, |v| {
        v.messages_in(GENERAL).into_iter().find(|m| {
            m.author == BOT && m.content.contains("I've mailed a code") && m.content.contains(upn)
        })
    })
    .await;
    let code = code(upn);
    fake.dm_bot(who, &format!("!pro verify {code}"));
    fake.wait_for("the link to be verified", TIMEOUT, |v| {
        v.dms_to(who).into_iter().find(|d| d.contains("Verified"))
    })
    .await;
}

/// The code the simulated tenant mailed to `to` from a test directory.
pub fn mailed_code(dir: &Path, to: &str) -> String {
    super::bot::mailed_code(dir, to)
}
