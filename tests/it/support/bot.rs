//! Drives the real `licensebot` binary in `console --jsonl` mode: writes input events to its
//! stdin, reads its output records from stdout, and keeps its log (stderr) in a file.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long to wait for the bot before a test fails.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A running bot process.
pub struct Bot {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Value>,
    /// Every output record seen so far, in order.
    pub seen: Vec<Value>,
    /// The directory holding the database, config and log.
    pub dir: PathBuf,
}

/// The settings file for a test directory: the test tenant plus `extra`, with the store in
/// `dir`.
pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("licensebot.toml");
    let text = format!(
        "[store]\nurl = \"{}\"\n\n{}\n{}\n{}\n",
        store_url(dir),
        mailbox_setting(dir),
        super::TENANT,
        extra
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// The store of a test directory: `bot.db` in it, or, when the suite runs on PostgreSQL
/// (`LICENSEBOT_TEST_POSTGRES_URL`), a database of its own on that server, made the first
/// time and named in the directory's `store-url` file from then on.
pub fn store_url(dir: &Path) -> String {
    let named = dir.join("store-url");
    if let Ok(url) = std::fs::read_to_string(&named) {
        return url;
    }
    let Some(server) = super::postgres::server() else {
        return format!("sqlite://{}", dir.join("bot.db").display());
    };
    let url = super::postgres::fresh_database_blocking(&server);
    std::fs::write(&named, &url).expect("name the store");
    url
}

/// The simulated tenant's mailbox in a test directory, as a settings table (and, with the
/// store on PostgreSQL, the tenant's file where it would be beside a SQLite store, after a
/// short `[ha] lease`).
pub fn mailbox_setting(dir: &Path) -> String {
    let mut table = format!(
        "[backend.simulated]\nmailbox = \"{}\"\n",
        dir.join("mailbox.jsonl").display()
    );
    if super::postgres::server().is_some() {
        // A bot started again after one was killed takes the gateway lease within 3 s.
        table = format!(
            "[ha]\nlease = \"3s\"\n\n{table}database = \"sqlite://{}\"\n",
            dir.join("bot.simulated-tenant.db").display()
        );
    }
    table
}

/// Every mail the simulated tenant sent from a test directory, oldest first.
pub fn mails(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("mailbox.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a mailbox line is JSON"))
        .collect()
}

/// The code in the last mail to `to`: the line of eight digits.
pub fn mailed_code(dir: &Path, to: &str) -> String {
    let all = mails(dir);
    let mail = all
        .iter()
        .rev()
        .find(|m| m["to"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(to)))
        .unwrap_or_else(|| panic!("no mail to {to} in {all:#?}"));
    code_in(mail["body"].as_str().expect("a body"))
}

/// The proof code in a mail body: the line that is exactly eight digits.
pub fn code_in(body: &str) -> String {
    body.lines()
        .map(str::trim)
        .find(|l| l.len() == 8 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {body:?}"))
        .to_string()
}

/// A `licensebot` command with a clean environment and the test settings.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_licensebot"));
    for (k, _) in std::env::vars() {
        if k.starts_with("LICENSEBOT") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.arg("--config")
        .arg(dir.join("licensebot.toml"))
        .args(args);
    cmd
}

impl Bot {
    /// Starts a bot on a fresh directory with the test tenant and `extra` settings.
    pub fn start(extra: &str) -> (tempfile::TempDir, Bot) {
        Bot::start_with(extra, &[])
    }

    /// Starts a bot on a fresh directory with the test tenant, where each of `people` has
    /// linked their own account (`who@contoso.example`), in that order.
    pub fn linked(people: &[&str]) -> (tempfile::TempDir, Bot) {
        let (dir, mut bot) = Bot::start("");
        bot.link_own(people);
        (dir, bot)
    }

    /// Starts a bot with `extra` settings (new tables only: the tenant file already has
    /// `[policy]` and `[jobs]`) and `env` overrides (`LICENSEBOT__POLICY__…`).
    pub fn start_with(extra: &str, env: &[(&str, &str)]) -> (tempfile::TempDir, Bot) {
        let dir = tempfile::tempdir().expect("tempdir");
        write_config(dir.path(), extra);
        let bot = Bot::start_in(dir.path(), env);
        (dir, bot)
    }

    /// Starts a bot on an existing directory (a restart), with extra environment.
    pub fn start_in(dir: &Path, env: &[(&str, &str)]) -> Bot {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("bot.log"))
            .expect("log file");
        let mut cmd = command(dir, &["console", "--jsonl"]);
        // RUST_LOG defaults to info; a test may raise it through `env`.
        cmd.env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let mut child = cmd.spawn().expect("start licensebot");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                    panic!("bot printed a line that is not JSON ({e}): {line}")
                });
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Bot {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            seen: Vec::new(),
            dir: dir.to_path_buf(),
        }
    }

    /// Writes one input record.
    pub fn input(&mut self, v: Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{v}").expect("write to bot");
        stdin.flush().expect("flush");
    }

    /// Writes a raw input line.
    pub fn raw(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write to bot");
        stdin.flush().expect("flush");
    }

    fn next(&mut self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(v) => {
                self.seen.push(v.clone());
                v
            }
            Err(RecvTimeoutError::Timeout) => panic!(
                "bot said nothing for {TIMEOUT:?}; seen so far: {:#?}\nlog:\n{}",
                self.seen,
                self.log()
            ),
            Err(RecvTimeoutError::Disconnected) => {
                panic!(
                    "bot output ended; seen so far: {:#?}\nlog:\n{}",
                    self.seen,
                    self.log()
                )
            }
        }
    }

    /// Reads records until one matches, returning everything read (the match last).
    pub fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + TIMEOUT;
        let mut got = Vec::new();
        loop {
            let v = self.next(deadline);
            let done = pred(&v);
            got.push(v);
            if done {
                return got;
            }
        }
    }

    /// A chat message from `author` in `general`; returns the message id the bot gave it.
    pub fn say(&mut self, author: &str, content: &str) -> String {
        self.say_in("general", author, content)
    }

    /// `author` writes `content` in `general`; returns what the bot said until it was idle,
    /// joined (see [`contents`]).
    pub fn answer(&mut self, author: &str, content: &str) -> String {
        self.say(author, content);
        contents(&self.idle())
    }

    /// `who` asks for a licence (`!pro request`); returns the id of the approval message,
    /// once the bot is idle, whose text contains `needle` (such as `Request #1`).
    pub fn request(&mut self, who: &str, needle: &str) -> String {
        self.say(who, "!pro request");
        id(approval_with(&self.idle(), needle))
    }

    /// `user` reacts with `emoji` to `message`; returns the records printed until the bot was
    /// idle again.
    pub fn reacted(&mut self, user: &str, message: &str, emoji: &str) -> Vec<Value> {
        self.react(user, message, emoji);
        self.idle()
    }

    /// Each of `people` links their own account (`who@contoso.example`), in that order.
    pub fn link_own(&mut self, people: &[&str]) {
        for who in people {
            self.link(who, &format!("{who}@contoso.example"));
        }
    }

    /// `approver` reacts ✅ to the approval message in `records` whose text contains `needle`;
    /// returns the records printed until the bot was idle again.
    pub fn approve(&mut self, approver: &str, records: &[Value], needle: &str) -> Vec<Value> {
        self.react(approver, &id(approval_with(records, needle)), "✅");
        self.idle()
    }

    /// A chat message in a channel; returns its id.
    pub fn say_in(&mut self, channel: &str, author: &str, content: &str) -> String {
        self.input(
            json!({"type": "message", "channel": channel, "author": author, "content": content}),
        );
        let got = self.until(|v| v["type"] == "received");
        got.last().expect("received")["message_id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    /// A reply to a message; returns its id.
    pub fn reply(&mut self, author: &str, to: &str, content: &str) -> String {
        self.input(
            json!({"type": "message", "channel": "license-approvals", "author": author,
                          "content": content, "reply_to": to}),
        );
        let got = self.until(|v| v["type"] == "received");
        got.last().expect("received")["message_id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    /// Adds a reaction.
    pub fn react(&mut self, user: &str, message: &str, emoji: &str) {
        self.input(
            json!({"type": "reaction_add", "message_id": message, "user": user, "emoji": emoji}),
        );
    }

    /// Removes a reaction.
    pub fn unreact(&mut self, user: &str, message: &str, emoji: &str) {
        self.input(
            json!({"type": "reaction_remove", "message_id": message, "user": user, "emoji": emoji}),
        );
    }

    /// A direct message to the bot; returns its id.
    pub fn dm(&mut self, author: &str, content: &str) -> String {
        self.input(json!({"type": "message", "channel": "dm", "author": author,
                          "content": content, "direct": true}));
        let got = self.until(|v| v["type"] == "received");
        got.last().expect("received")["message_id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    /// Links a chat user to a UPN as a person does: `link`, then the code from the mail
    /// (the simulated tenant mails the UPN) answered in a direct message. Returns what the
    /// bot said meanwhile.
    pub fn link(&mut self, who: &str, upn: &str) -> Vec<Value> {
        let dir = self.dir.clone();
        self.link_with(who, upn, |to| mailed_code(&dir, to))
    }

    /// Like [`Bot::link`], reading the code with `code` (given the address it was mailed
    /// to): from the fake Graph's `sendMail`, say.
    pub fn link_with(
        &mut self,
        who: &str,
        upn: &str,
        code: impl FnOnce(&str) -> String,
    ) -> Vec<Value> {
        self.say(who, &format!("!pro link {upn}"));
        let mut got = self.idle();
        assert!(
            contents(&got).contains("I've mailed a code"),
            "{got:#?}\nlog:\n{}",
            self.log()
        );
        let code = code(upn);
        self.dm(who, &format!("!pro verify {code}"));
        let verified = self.idle();
        assert!(contents(&verified).contains("Verified"), "{verified:#?}");
        got.extend(verified);
        got
    }

    /// Moves the bot's clock.
    pub fn advance(&mut self, seconds: u64) {
        self.input(json!({"type": "advance", "seconds": seconds}));
    }

    /// Waits until everything due has run; returns the records printed meanwhile.
    pub fn idle(&mut self) -> Vec<Value> {
        self.input(json!({"type": "wait_idle"}));
        let mut got = self.until(|v| v["type"] == "idle");
        got.pop();
        got
    }

    /// Logs in the bot's stderr file so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("bot.log")).unwrap_or_default()
    }

    /// Ends input and waits for a graceful exit; returns the remaining records.
    pub fn finish(mut self) -> Vec<Value> {
        drop(self.stdin.take());
        let mut rest = Vec::new();
        while let Ok(v) = self.lines.recv_timeout(TIMEOUT) {
            rest.push(v);
        }
        let status = self.child.wait().expect("wait");
        assert!(
            status.success(),
            "bot exited with {status}; log:\n{}",
            self.log()
        );
        rest
    }

    /// Waits for the process to end by itself (a crash point), returning how it ended.
    pub fn wait_exit(mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the bot did not end; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        let _status = self.child.wait();
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _killed = self.child.kill();
            let _status = self.child.wait();
        }
    }
}

/// A bot on the simulated tenant where `who`, linked to `upn`, has asked for a licence
/// (`!pro request`): its directory, the bot, and the approval message of request #1.
pub fn asked(who: &str, upn: &str) -> (tempfile::TempDir, Bot, String) {
    asked_with(&[], who, upn)
}

/// [`asked`], and carol approves request #1: the directory, the bot, and what it said until
/// it was idle again.
pub fn approved(who: &str, upn: &str) -> (tempfile::TempDir, Bot, Vec<Value>) {
    let (dir, mut bot, m) = asked(who, upn);
    let got = bot.reacted("carol", &m, "✅");
    (dir, bot, got)
}

/// [`asked`], with the bot started with `env` on top of its test environment.
pub fn asked_with(env: &[(&str, &str)], who: &str, upn: &str) -> (tempfile::TempDir, Bot, String) {
    let (dir, mut bot) = Bot::start_with("", env);
    bot.link(who, upn);
    let approval = bot.request(who, "Request #1");
    (dir, bot, approval)
}

/// Runs `cmd`, which must exit 0 (`what` and its stderr are shown when it does not);
/// returns its output.
pub fn run_ok(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `text` says each of `phrases` (the whole text shown when it does not).
pub fn assert_says(text: &str, phrases: &[&str]) {
    for p in phrases {
        assert!(text.contains(p), "{p:?} in {text}");
    }
}

/// The bot said it bought one seat (the tenant then having `now`) and assigned Power BI Pro
/// to `upn`.
pub fn assert_bought_and_assigned(records: &[Value], now: u32, upn: &str) {
    assert_says(
        &contents(records),
        &[
            &format!("1 seat bought; the tenant now has {now}"),
            &format!("Power BI Pro assigned to {upn}"),
        ],
    );
}

/// The bot told `user` by DM something that says `needle`.
pub fn assert_dm(records: &[Value], user: &str, needle: &str) {
    assert_dm_says(records, user, &[needle]);
}

/// Asserts that one DM to `user` says every one of `phrases`.
pub fn assert_dm_says(records: &[Value], user: &str, phrases: &[&str]) {
    assert!(
        dms_to(records, user)
            .iter()
            .any(|d| phrases.iter().all(|p| d.contains(p))),
        "a DM to {user} saying {phrases:?} in {records:#?}"
    );
}

/// Asserts that a post to `channel` says `needle`.
pub fn assert_sent(records: &[Value], channel: &str, needle: &str) {
    assert!(
        sends_in(records, channel)
            .iter()
            .any(|c| c.contains(needle)),
        "a post to {channel} saying {needle:?} in {records:#?}"
    );
}

/// Asserts that message `message` was edited to a text containing `needle`.
pub fn assert_edited(records: &[Value], message: &str, needle: &str) {
    assert!(
        contents_where(records, "edit", "message_id", message)
            .iter()
            .any(|c| c.contains(needle)),
        "an edit of {message} saying {needle:?} in {records:#?}"
    );
}

/// The texts of `records`, one after another, for failure messages and searches.
pub fn contents(records: &[Value]) -> String {
    records
        .iter()
        .filter_map(|v| v["content"].as_str())
        .collect::<Vec<_>>()
        .join("\n---\n")
}

/// The approval message (`send` to the approvals channel) whose content contains `needle`.
pub fn approval_with<'a>(records: &'a [Value], needle: &str) -> &'a Value {
    records
        .iter()
        .find(|v| {
            v["type"] == "send"
                && v["channel"] == "license-approvals"
                && v["content"].as_str().is_some_and(|c| c.contains(needle))
        })
        .unwrap_or_else(|| panic!("no approval message containing {needle:?} in {records:#?}"))
}

/// The id of a record.
pub fn id(v: &Value) -> String {
    v["message_id"].as_str().expect("message_id").to_string()
}

/// The contents of the records of type `kind` whose `field` is `value`.
fn contents_where<'a>(records: &'a [Value], kind: &str, field: &str, value: &str) -> Vec<&'a str> {
    records
        .iter()
        .filter(|v| v["type"] == kind && v[field] == value)
        .filter_map(|v| v["content"].as_str())
        .collect()
}

/// Records of a type addressed to a user (DMs) or a channel.
pub fn dms_to<'a>(records: &'a [Value], user: &str) -> Vec<&'a str> {
    contents_where(records, "dm", "user", user)
}

/// Contents of `send` records in a channel.
pub fn sends_in<'a>(records: &'a [Value], channel: &str) -> Vec<&'a str> {
    contents_where(records, "send", "channel", channel)
}

/// How many events of `action` an audit export (`audit … --json`) holds.
pub fn audited(audit: &Value, action: &str) -> usize {
    audit["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == action)
        .count()
}

/// The actions of a list of audit events (an audit export's `events`, a link's `history`),
/// in order.
pub fn actions(events: &Value) -> Vec<&str> {
    events
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect()
}

/// Runs `licensebot audit <id> --json` on a test directory.
pub fn audit_json(dir: &Path, id: i64) -> Value {
    let out = command(dir, &["audit", &id.to_string(), "--json"])
        .output()
        .expect("run audit");
    json_output("audit", &out)
}

/// Runs `licensebot requests --json` on a test directory, page after page: every request,
/// newest first, as one array.
pub fn requests_json(dir: &Path) -> Value {
    let mut pages = RequestPages::default();
    while let Some(args) = pages.next_args() {
        let out = command(dir, &args.iter().map(String::as_str).collect::<Vec<_>>())
            .output()
            .expect("run requests");
        pages.add(&json_output("requests", &out));
    }
    pages.all()
}

/// The pages of `licensebot requests --json`, gathered: what to run next, and every request
/// so far.
#[derive(Default)]
pub struct RequestPages {
    requests: Vec<Value>,
    next: Option<i64>,
    done: bool,
}

impl RequestPages {
    /// The arguments of the next page's command, or `None` after the last page.
    pub fn next_args(&self) -> Option<Vec<String>> {
        if self.done {
            return None;
        }
        let mut args: Vec<String> = ["requests", "--json", "--limit", "500"]
            .map(String::from)
            .into();
        if let Some(before) = self.next {
            args.extend(["--before".to_string(), before.to_string()]);
        }
        Some(args)
    }

    /// One page's output.
    pub fn add(&mut self, page: &Value) {
        let listed = page["requests"].as_array().expect("a page lists requests");
        self.requests.extend(listed.iter().cloned());
        self.next = page["next_before"].as_i64();
        self.done = self.next.is_none();
    }

    /// Every request listed.
    pub fn all(self) -> Value {
        Value::Array(self.requests)
    }
}

/// The JSON a `licensebot … --json` command printed, once it succeeded.
pub fn json_output(what: &str, out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what} JSON: {e}"))
}

/// The state of request `id` per `licensebot requests --json`.
pub fn request_state(dir: &Path, id: i64) -> String {
    state_of(&requests_json(dir), id)
}

/// The state of request `id` in the output of `licensebot requests --json`.
pub fn state_of(all: &Value, id: i64) -> String {
    all.as_array()
        .expect("array")
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no request {id} in {all:#}"))["state"]
        .as_str()
        .expect("state")
        .to_string()
}
