//! The audit trail for a security team, through the real binary: `audit verify` finds the
//! first broken link of a chain edited in the database (SQLite or PostgreSQL), `audit
//! export` writes the events of a window as JSON lines or OCSF events, and the live sink
//! (`[audit] sink`) holds exactly the database's events, in order, across a kill -9 and a
//! restart.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::bot::{command, request_state, store_url, write_config};
use crate::support::db;
use crate::support::Bot;

/// The stored fields of an audit row: (id, at, action, hash).
type Row = (i64, String, String, String);

/// A test directory whose database holds alice's request #1, approved by carol and
/// completed, after the bot ran with `extra` settings.
fn completed_request(extra: impl Fn(&Path) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(dir.path(), &extra(dir.path()));
    let mut bot = Bot::start_in(dir.path(), &[]);
    bot.link("alice", "alice@contoso.example");
    let m = bot.request("alice", "Request #1");
    bot.react("carol", &m, "✅");
    bot.idle();
    bot.finish();
    assert_eq!(request_state(dir.path(), 1), "completed");
    dir
}

fn no_settings(_: &Path) -> String {
    String::new()
}

/// `[audit] sink` on a file in the test directory.
fn sink_setting(dir: &Path) -> String {
    format!("[audit]\nsink = \"file:{}\"\n", sink_path(dir).display())
}

fn sink_path(dir: &Path) -> PathBuf {
    dir.join("audit").join("events.jsonl")
}

/// Every audit row in the database, in chain order, read as someone with access to the
/// database would.
fn rows(dir: &Path) -> Vec<Row> {
    db::open(dir).audit_chain()
}

/// Alice's completed request (see [`completed_request`]), then the guard `trigger` dropped
/// and `statement` run on the database, then `audit verify`, which must find the chain
/// broken (exit 1) and say `broken`. Returns the audit rows from before the edit and what
/// verify printed.
fn verify_after_editing(trigger: &str, statement: &str, broken: &str) -> (Vec<Row>, String) {
    let dir = completed_request(no_settings);
    let before = rows(dir.path());
    let db = db::open(dir.path());
    db.drop_guard(trigger);
    db.execute(statement);
    drop(db);
    let out = run(dir.path(), &["audit", "verify"]);
    exits(&out, 1);
    let text = stdout(&out);
    assert!(text.contains(broken), "{text}");
    (before, text)
}

/// The (id, at, action, hash) of JSON lines.
fn rows_of(lines: &[Value]) -> Vec<Row> {
    lines
        .iter()
        .map(|l| {
            let text = |k: &str| {
                l[k].as_str()
                    .unwrap_or_else(|| panic!("{k} in {l}"))
                    .to_string()
            };
            (
                l["id"].as_i64().expect("id"),
                text("at"),
                text("action"),
                text("hash"),
            )
        })
        .collect()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn run(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("run licensebot")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn exits(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn verify_passes_an_untouched_chain_and_audit_of_a_request_still_works() {
    let dir = completed_request(no_settings);

    let verified = run(dir.path(), &["audit", "verify"]);
    let one = run(dir.path(), &["audit", "1"]);

    exits(&verified, 0);
    let n = rows(dir.path()).len();
    assert!(
        stdout(&verified).contains(&format!("audit chain: intact ({n} events checked)")),
        "{}",
        stdout(&verified)
    );
    exits(&one, 0);
    assert!(stdout(&one).contains("request #1"), "{}", stdout(&one));
}

#[test]
fn verify_reports_an_edited_row_with_the_hash_expected_and_the_hash_found() {
    let (before, text) = verify_after_editing(
        "audit_events_no_update",
        "UPDATE audit_events SET detail = 'nothing to see' WHERE id = 3",
        "audit chain: BROKEN at event 3: its contents do not match its hash",
    );

    let stored = &before[2].3;
    assert!(text.contains(&format!("found:    {stored}")), "{text}");
    let expected = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("expected: "))
        .unwrap_or_else(|| panic!("an expected hash in {text}"));
    assert_eq!(expected.len(), 64, "{text}");
    assert_ne!(expected, stored.as_str());
}

#[test]
fn verify_reports_a_deleted_row() {
    let (before, text) = verify_after_editing(
        "audit_events_no_delete",
        "DELETE FROM audit_events WHERE id = 4",
        "audit chain: BROKEN at event 5: row 4 is missing",
    );

    // Row 5 still names the deleted row's hash as the one before it.
    assert!(
        text.contains(&format!("found:    {}", before[3].3)),
        "{text}"
    );
    assert!(
        text.contains(&format!("expected: {}", before[2].3)),
        "{text}"
    );
}

#[test]
fn verify_without_a_database_cannot_check_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    // On PostgreSQL: a database the server does not have (the operator makes it).
    let url = store_url(dir.path());
    let on_postgres = url.starts_with("postgres");
    if on_postgres {
        let (server, _) = url.rsplit_once('/').expect("a database name");
        std::fs::write(
            dir.path().join("store-url"),
            format!("{server}/no_such_database"),
        )
        .expect("name a missing database");
    }
    write_config(dir.path(), "");

    let out = run(dir.path(), &["audit", "verify"]);

    exits(&out, 2);
    let said = if on_postgres {
        "\"no_such_database\" does not exist"
    } else {
        "no database at"
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(said), "{err}");
}

#[test]
fn export_writes_every_event_as_stored_with_the_target_of_its_request() {
    let dir = completed_request(no_settings);

    let out = run(dir.path(), &["audit", "export", "--since", "2000-01-01"]);

    exits(&out, 0);
    let lines = json_lines(&stdout(&out));
    assert_eq!(rows_of(&lines), rows(dir.path()));
    let first = stdout(&out).lines().next().expect("a line").to_string();
    let keys = [
        "id",
        "at",
        "actor",
        "action",
        "target",
        "request_id",
        "before",
        "after",
        "detail",
        "prev_hash",
        "hash",
    ];
    assert_eq!(
        lines[0].as_object().expect("an object").len(),
        keys.len(),
        "{first}"
    );
    let at: Vec<usize> = keys
        .iter()
        .map(|k| {
            first
                .find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("{k} in {first}"))
        })
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "the fields in order: {first}"
    );
    let approved = lines
        .iter()
        .find(|l| l["action"] == "stage_approved")
        .expect("the approval");
    assert_eq!(approved["target"], "alice@contoso.example");
    assert_eq!(approved["request_id"], 1);
    assert_eq!(approved["actor"], "chat:carol");
    assert_eq!(approved["after"], "approved");
    for pair in lines.windows(2) {
        assert_eq!(
            pair[1]["prev_hash"], pair[0]["hash"],
            "the chain holds in the export"
        );
    }
}

#[test]
fn export_keeps_to_its_window_with_until_excluded() {
    let dir = completed_request(no_settings);
    let all = rows(dir.path());
    let (first, last) = (&all[0].1, &all[all.len() - 1].1);
    let middle = all
        .iter()
        .find(|r| r.1 > *first && r.1 < *last)
        .map(|r| r.1.clone());
    let Some(cut) = middle else {
        panic!("the events all share one of two times: {all:#?}")
    };

    let out = run(
        dir.path(),
        &["audit", "export", "--since", first, "--until", &cut],
    );
    let rest = run(dir.path(), &["audit", "export", "--since", &cut]);

    exits(&out, 0);
    exits(&rest, 0);
    let before: Vec<Row> = all.iter().filter(|r| r.1 < cut).cloned().collect();
    let after: Vec<Row> = all.iter().filter(|r| r.1 >= cut).cloned().collect();
    assert_eq!(rows_of(&json_lines(&stdout(&out))), before);
    assert_eq!(rows_of(&json_lines(&stdout(&rest))), after);
    assert!(!before.is_empty() && !after.is_empty());
}

#[test]
fn export_refuses_a_date_that_is_none_and_a_window_that_ends_first() {
    let dir = completed_request(no_settings);

    let bad = run(dir.path(), &["audit", "export", "--since", "last week"]);
    let backwards = run(
        dir.path(),
        &[
            "audit",
            "export",
            "--since",
            "2026-05-02",
            "--until",
            "2026-05-01",
        ],
    );
    let format = run(
        dir.path(),
        &[
            "audit",
            "export",
            "--since",
            "2026-05-02",
            "--format",
            "csv",
        ],
    );

    for out in [&bad, &backwards, &format] {
        exits(out, 2);
        assert!(out.stdout.is_empty());
    }
    let says = |out: &Output, what: &str| {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(what), "{what:?} in {err}");
    };
    says(&bad, "write YYYY-MM-DD or an RFC 3339 time");
    says(&backwards, "must come after --since");
    says(&format, "use jsonl or ocsf");
}

#[test]
fn export_in_ocsf_maps_the_assignment_to_an_account_change_of_its_target() {
    let dir = completed_request(no_settings);

    let out = run(
        dir.path(),
        &[
            "audit",
            "export",
            "--since",
            "2000-01-01",
            "--format",
            "ocsf",
        ],
    );

    exits(&out, 0);
    let events = json_lines(&stdout(&out));
    assert_eq!(events.len(), rows(dir.path()).len());
    let done = events
        .iter()
        .find(|e| {
            e["unmapped"]["action"] == "request_state" && e["unmapped"]["after"] == "completed"
        })
        .expect("the request completed");
    assert_eq!(done["class_uid"], 3001);
    assert_eq!(done["type_uid"], 300107);
    assert_eq!(done["user"]["name"], "alice@contoso.example");
    assert_eq!(done["status_id"], 1);
    let approved = events
        .iter()
        .find(|e| e["unmapped"]["action"] == "stage_approved")
        .expect("the approval");
    assert_eq!(approved["class_uid"], 3005);
    assert_eq!(approved["actor"]["user"]["name"], "chat:carol");
    for e in &events {
        let class = e["class_uid"].as_u64().expect("class");
        assert_eq!(
            e["type_uid"],
            class * 100 + e["activity_id"].as_u64().expect("activity")
        );
        assert_eq!(e["category_uid"], 3);
        assert!(e["time"].as_i64().expect("time") > 0);
        assert_eq!(e["metadata"]["product"]["name"], "licensebot");
        assert_eq!(e["unmapped"]["hash"].as_str().map(str::len), Some(64));
    }
}

#[test]
fn a_sink_that_is_not_a_file_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(dir.path(), "[audit]\nsink = \"syslog://127.0.0.1:514\"\n");

    let out = run(dir.path(), &["check-config"]);

    exits(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("audit.sink") && err.contains("file:PATH"),
        "{err}"
    );
}

#[test]
fn the_sink_holds_exactly_the_database_events_in_order() {
    let dir = completed_request(sink_setting);

    let file = std::fs::read_to_string(sink_path(dir.path())).expect("the sink");
    let export = run(dir.path(), &["audit", "export", "--since", "2000-01-01"]);

    assert_eq!(rows_of(&json_lines(&file)), rows(dir.path()));
    assert_eq!(
        file,
        stdout(&export),
        "the sink's lines are the jsonl export's"
    );
}

/// Starts a bot with the sink on a new test directory, with `env`; alice links and asks
/// (request #1) and carol approves.
fn approved_with_sink(env: &[(&str, &str)]) -> (tempfile::TempDir, Bot) {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(dir.path(), &sink_setting(dir.path()));
    let mut bot = Bot::start_in(dir.path(), env);
    bot.link("alice", "alice@contoso.example");
    let m = bot.request("alice", "Request #1");
    bot.react("carol", &m, "✅");
    (dir, bot)
}

/// After a restart the request completes and the sink holds every event once, in order.
fn restarted_sink_matches_the_database(dir: &Path) {
    let mut bot = Bot::start_in(dir, &[]);
    bot.idle();
    bot.finish();
    let file = std::fs::read_to_string(sink_path(dir)).expect("the sink");
    assert_eq!(request_state(dir, 1), "completed");
    assert_eq!(rows_of(&json_lines(&file)), rows(dir));
}

#[test]
fn the_sink_has_no_gap_or_duplicate_after_a_crash_point_and_a_restart() {
    use std::os::unix::process::ExitStatusExt;
    let crash = [("LICENSEBOT_CRASH_AT", "after_decision_stored")];
    let (dir, bot) = approved_with_sink(&crash);

    let status = bot.wait_exit();

    assert_eq!(status.signal(), Some(6), "aborted at the crash point");
    restarted_sink_matches_the_database(dir.path());
}

#[test]
fn the_sink_has_no_gap_or_duplicate_after_a_kill_9_during_a_job_and_a_restart() {
    let slow = [("LICENSEBOT__BACKEND__SIMULATED__LATENCY", "400ms")];
    let (dir, bot) = approved_with_sink(&slow);

    let deadline = std::time::Instant::now() + crate::support::bot::TIMEOUT;
    while !rows(dir.path()).iter().any(|r| r.2 == "job_started") {
        assert!(
            std::time::Instant::now() < deadline,
            "the job never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    bot.kill();

    restarted_sink_matches_the_database(dir.path());
}

#[test]
fn the_sink_catches_up_at_restart_after_a_crash_between_the_database_and_the_file() {
    let dir = completed_request(sink_setting);
    let path = sink_path(dir.path());
    let whole = std::fs::read_to_string(&path).expect("the sink");
    // As the file is when the process dies after the database committed the last three
    // events and in the middle of writing the first of them.
    let kept: Vec<&str> = whole.lines().collect();
    let cut = kept.len() - 3;
    let mut partial = kept[..cut].join("\n");
    partial.push('\n');
    partial.push_str(&kept[cut][..kept[cut].len() / 2]);
    std::fs::write(&path, partial).expect("a crash's leftovers");

    let bot = Bot::start_in(dir.path(), &[]);
    bot.finish();

    assert_eq!(std::fs::read_to_string(&path).expect("the sink"), whole);
}

#[test]
fn a_sink_from_another_database_stops_the_start() {
    let dir = completed_request(sink_setting);
    let path = sink_path(dir.path());
    let mut file = std::fs::read_to_string(&path).expect("the sink");
    file.push_str(&format!(
        "{{\"id\":9999,\"hash\":\"{}\"}}\n",
        "f".repeat(64)
    ));
    std::fs::write(&path, file).expect("a sink ahead of the database");

    let out = run(dir.path(), &["console", "--jsonl"]);

    exits(&out, 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ends with event 9999"), "{err}");
}
