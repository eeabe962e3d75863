//! The command line: check-config, migrate, requests, audit; their exit codes (README,
//! "Command line"), and what they do when the reader of their output goes away.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::support::bot::{actions, assert_says, command, write_config};
use crate::support::fake_microsoft::{CLIENT_ID, TENANT_ID};
use crate::support::Bot;

#[test]
fn check_config_accepts_the_embedded_default() {
    let dir = configured_dir();
    let out = command(dir.path(), &["check-config"]).output().unwrap();
    assert_exit(&out, 0, &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("settings are valid"));
}

/// On the simulated tenant the seats live in the database once the bot has started:
/// check-config says where its figures come from, the seed before the first start and the
/// database's live count after (here 2 seats, after bob bought one more than the seeded 1).
#[test]
fn check_config_reports_the_live_seats_of_the_simulated_tenant() {
    let dir = configured_dir();
    let before = command(dir.path(), &["check-config"]).output().unwrap();
    let before = String::from_utf8_lossy(&before.stdout).to_string();
    assert!(
        before.contains(
            "POWER_BI_PRO: seeded with 1 seats, 0 assigned, when the database is created"
        ) && before.contains("no database at"),
        "{before}"
    );

    let mut bot = Bot::start_in(dir.path(), &[]);
    bot.say("bob", "!pro buy 1");
    bot.idle();
    bot.finish();
    let after = command(dir.path(), &["check-config"]).output().unwrap();

    assert!(after.status.success());
    let after = String::from_utf8_lossy(&after.stdout);
    assert!(
        after.contains("POWER_BI_PRO: 2 seats bought, 0 assigned, 2 free"),
        "{after}"
    );
}

#[test]
fn check_config_names_the_file_the_key_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        "[scheduler]\ntick = \"soon\"\n\n[bot]\nprefx = \"!x\"\n",
    );
    let out = command(dir.path(), &["check-config"]).output().unwrap();
    assert_exit(
        &out,
        2,
        &[&path.display().to_string(), "scheduler.tick", "bot.prefx"],
    );
}

#[test]
fn start_up_fails_on_a_bad_config_and_names_the_env_var() {
    let dir = configured_dir();
    let out = command(dir.path(), &["console", "--jsonl"])
        .env("LICENSEBOT__POLICY__REMIND_AFTER", "four hours")
        .output()
        .unwrap();
    assert_exit(
        &out,
        2,
        &["LICENSEBOT__POLICY__REMIND_AFTER", "policy.remind_after"],
    );
}

#[test]
fn migrate_creates_the_database_and_requests_lists_nothing() {
    let dir = configured_dir();
    let missing = command(dir.path(), &["requests"]).output().unwrap();
    assert_exit(&missing, 1, &["no database"]);
    let out = command(dir.path(), &["migrate"]).output().unwrap();
    assert_exit(&out, 0, &[]);
    assert!(dir.path().join("bot.db").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("bot.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the database is private to its owner");
    }
    let out = command(dir.path(), &["requests", "--json"])
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        listed,
        serde_json::json!({"requests": [], "next_before": null})
    );
}

/// A migrated database holding `n` requests numbered 1 to `n`; every tenth is pending.
fn directory_with_requests(n: usize) -> tempfile::TempDir {
    let dir = configured_dir();
    let out = command(dir.path(), &["migrate"]).output().unwrap();
    assert_exit(&out, 0, &[]);
    crate::support::db::open(dir.path()).execute(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
         INSERT INTO requests (kind, state, requester, target_upn, created_at, updated_at)
         SELECT 'assign', CASE WHEN i % 10 = 0 THEN 'pending' ELSE 'completed' END,
                'user' || i, 'user' || i || '@contoso.example',
                '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
         FROM n"
    ));
    dir
}

/// The numbers of the requests on a `requests --json` page, and its `next_before`.
fn page(dir: &std::path::Path, args: &[&str]) -> (Vec<i64>, Option<i64>) {
    let out = command(dir, args).output().unwrap();
    assert_exit(&out, 0, &[]);
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids = page["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    (ids, page["next_before"].as_i64())
}

#[test]
fn requests_lists_a_hundred_newest_first_and_the_pages_before_follow_to_the_first() {
    let dir = directory_with_requests(250);

    let first = page(dir.path(), &["requests", "--json"]);
    let second = page(dir.path(), &["requests", "--json", "--before", "151"]);
    let last = page(dir.path(), &["requests", "--json", "--before", "51"]);

    assert_eq!(first, ((151..=250).rev().collect(), Some(151)));
    assert_eq!(second, ((51..=150).rev().collect(), Some(51)));
    assert_eq!(last, ((1..=50).rev().collect(), None));
}

#[test]
fn a_page_of_requests_ends_with_the_command_for_the_next_one_and_the_last_without() {
    let dir = directory_with_requests(40);

    let out = command(
        dir.path(),
        &["requests", "--state", "pending", "--limit", "3"],
    )
    .output()
    .unwrap();
    let last = command(
        dir.path(),
        &[
            "requests", "--state", "pending", "--limit", "3", "--before", "20",
        ],
    )
    .output()
    .unwrap();

    assert_exit(&out, 0, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        5,
        "a header, three requests, the next page: {text}"
    );
    assert!(
        lines[1].contains("user40@") && lines[3].contains("user20@"),
        "{text}"
    );
    assert_eq!(
        lines[4],
        "3 shown, newest first; the next page: licensebot requests --state pending --limit 3 --before 20"
    );
    assert_exit(&last, 0, &[]);
    let text = String::from_utf8_lossy(&last.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "a header and request 10, and no next page: {text}"
    );
    assert!(lines[1].contains("user10@contoso.example"), "{text}");
}

#[test]
fn requests_refuses_a_page_of_no_requests() {
    let dir = directory_with_requests(1);

    let out = command(dir.path(), &["requests", "--limit", "0"])
        .output()
        .unwrap();

    assert_exit(&out, 2, &["--limit"]);
}

#[test]
fn the_database_and_its_journal_files_are_private_to_their_owner() {
    use std::io::Write;
    let dir = configured_dir();
    let mut child = command(dir.path(), &["console", "--jsonl"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    {
        let stdin = child.stdin.as_mut().unwrap();
        writeln!(stdin, r#"{{"type":"message","channel":"general","author":"alice","content":"!pro link alice@contoso.example"}}"#).unwrap();
        writeln!(stdin, r#"{{"type":"wait_idle"}}"#).unwrap();
    }
    // Look while the bot runs: the WAL and shared-memory files exist only while it is open.
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("\"idle\"") {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0,
            "bot ended early"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut seen = 0;
        let names = [
            "bot.db",
            "bot.db-wal",
            "bot.db-shm",
            "bot.simulated-tenant.db",
            "bot.simulated-tenant.db-wal",
            "bot.simulated-tenant.db-shm",
        ];
        for name in names {
            if let Ok(meta) = std::fs::metadata(dir.path().join(name)) {
                seen += 1;
                assert_eq!(
                    meta.permissions().mode() & 0o077,
                    0,
                    "{name} is readable by others"
                );
            }
        }
        assert!(
            seen >= 4,
            "the databases (the bot's, the simulated tenant's) and their WALs exist while the bot runs"
        );
    }
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

/// A fresh test directory with a settings file (the test tenant) and no database yet.
fn configured_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    dir
}

/// Asserts that the command behind `out` exited with `code` and said each of `says` on
/// standard error.
fn assert_exit(out: &Output, code: i32, says: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert_says(&err, says);
}

/// A test directory whose database holds request #1 (alice's, pending).
fn directory_with_a_request() -> tempfile::TempDir {
    let (dir, mut bot) = Bot::linked(&["alice"]);
    bot.say("alice", "!pro request");
    bot.idle();
    bot.finish();
    dir
}

/// Runs `cmd` with `input` on its standard input, standard output or standard error
/// (`closed`) a pipe whose reader is already gone, and the other one captured.
fn run_with_closed(mut cmd: Command, closed: Stream, input: &[u8]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    cmd.stdin(Stdio::piped());
    match closed {
        Stream::Stdout => cmd.stdout(writer).stderr(Stdio::piped()),
        Stream::Stderr => cmd.stderr(writer).stdout(Stdio::piped()),
    };
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    drop(stdin);
    // The parent's copy of the write end went into `cmd`; drop it so only the child holds it.
    drop(cmd);
    child.wait_with_output().unwrap()
}

/// What is wrong with how `what` ended, if anything: an exit code other than `expected`, or a
/// panic on standard error (where that was captured).
fn wrong_ending(what: &str, out: &Output, expected: i32) -> Option<String> {
    let err = String::from_utf8_lossy(&out.stderr);
    (out.status.code() != Some(expected) || err.contains("panicked")).then(|| {
        format!(
            "{what}: expected exit {expected}, got {:?}\n{err}",
            out.status
        )
    })
}

/// Which of its output streams a test closes under a command.
#[derive(Clone, Copy, Debug)]
enum Stream {
    Stdout,
    Stderr,
}

/// The printing subcommands, what they are fed and the exit code each has with a reader.
fn printing_subcommands() -> Vec<(Vec<&'static str>, &'static [u8], i32)> {
    vec![
        (vec!["check-config"], b"", 0),
        (vec!["migrate"], b"", 0),
        (vec!["requests"], b"", 0),
        (vec!["requests", "--json"], b"", 0),
        (vec!["audit", "1"], b"", 0),
        (vec!["audit", "1", "--json"], b"", 0),
        (vec!["audit", "99"], b"", 4),
        (vec!["requests", "--state", "bogus"], b"", 2),
        (vec!["--help"], b"", 0),
        (vec!["console"], b"bob: !pro help\n/wait\n", 0),
        (
            vec!["console", "--jsonl"],
            b"{\"type\":\"message\",\"channel\":\"general\",\"author\":\"bob\",\"content\":\"!pro help\"}\n{\"type\":\"wait_idle\"}\n",
            0,
        ),
    ]
}

#[test]
fn every_printing_subcommand_ends_quietly_with_its_own_exit_code_when_stdout_is_closed() {
    let dir = directory_with_a_request();
    let mut failures = Vec::new();
    for (args, input, expected) in printing_subcommands() {
        let out = run_with_closed(command(dir.path(), &args), Stream::Stdout, input);

        failures.extend(wrong_ending(&format!("{args:?}"), &out, expected));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn subcommands_end_with_their_own_exit_code_when_stderr_is_closed() {
    let dir = directory_with_a_request();
    let mut failures = Vec::new();
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["audit", "99"], 4),
        (vec!["requests", "--state", "bogus"], 2),
        (vec!["audit", "1"], 0),
    ];
    for (args, expected) in cases {
        let out = run_with_closed(command(dir.path(), &args), Stream::Stderr, b"");

        failures.extend(wrong_ending(&format!("{args:?}"), &out, expected));
    }
    let mut invalid = command(dir.path(), &["requests"]);
    invalid.env("LICENSEBOT__POLICY__REMIND_AFTER", "four hours");
    let out = run_with_closed(invalid, Stream::Stderr, b"");
    failures.extend(wrong_ending("invalid settings", &out, 2));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_console_ends_with_exit_0_when_stderr_is_closed() {
    let dir = configured_dir();

    let out = run_with_closed(
        command(dir.path(), &["console"]),
        Stream::Stderr,
        b"bob: !pro help\n/wait\n",
    );

    assert_eq!(out.status.code(), Some(0));
}

#[cfg(target_os = "linux")]
#[test]
fn a_failed_write_to_stdout_other_than_a_closed_pipe_exits_1_and_says_so() {
    let dir = directory_with_a_request();
    let full = std::fs::File::create("/dev/full").unwrap();

    let out = command(dir.path(), &["requests"])
        .stdout(full)
        .output()
        .unwrap();

    assert_exit(&out, 1, &["cannot write to standard output"]);
}

/// A usage error (a missing argument, an unknown state, a request number that is no number)
/// exits 2 and says what is wrong; a database that is not there exits 1.
#[test]
fn a_subcommand_that_cannot_run_exits_with_its_code_and_says_why() {
    let dir = configured_dir();
    for (args, code, says) in [
        (&["audit"][..], 2, &["Usage:"][..]),
        (
            &["requests", "--state", "bogus"],
            2,
            &["--state", "`bogus` is not one of pending"],
        ),
        (&["audit", "abc"], 2, &["`abc` is not a request number"]),
    ] {
        let out = command(dir.path(), args).output().unwrap();

        assert_exit(&out, code, says);
    }
}

#[test]
fn audit_of_an_unknown_request_exits_4() {
    let dir = directory_with_a_request();

    let out = command(dir.path(), &["audit", "99"]).output().unwrap();

    assert_exit(&out, 4, &[]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "licensebot: there is no request #99"
    );
}

#[test]
fn a_second_bot_on_the_same_database_exits_1_and_says_so() {
    let (dir, mut bot) = Bot::start("");
    bot.idle();

    let out = command(dir.path(), &["console", "--jsonl"])
        .stdin(Stdio::null())
        .output()
        .unwrap();

    assert_exit(&out, 1, &["another licensebot is already running"]);
    bot.finish();
}

#[test]
fn check_config_exits_1_when_microsoft_cannot_be_reached() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &format!(
            "[backend.graph]\ntenant_id = \"{TENANT_ID}\"\nclient_id = \"{CLIENT_ID}\"\n\
             client_secret_env = \"LICENSEBOT_TEST_UNSET_SECRET\"\n"
        ),
    );

    let out = command(dir.path(), &["check-config"])
        .env("LICENSEBOT__BACKEND__KIND", "graph")
        .env("LICENSEBOT__BACKEND__PURCHASE", "manual")
        .output()
        .unwrap();

    assert_exit(&out, 1, &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("microsoft graph: FAILED"));
}

/// `links --json` lists every link with its state, how and when it was proven, and its
/// history; `requests --json` carries how the requester's link was proven.
#[test]
fn links_and_requests_show_how_each_link_was_proven() {
    let dir = configured_dir();
    let mut bot = Bot::start_in(dir.path(), &[]);
    bot.link("alice", "alice@contoso.example");
    bot.say("mallory", "!pro link ivan@contoso.example");
    bot.idle();
    bot.say("alice", "!pro request");
    bot.idle();
    bot.finish();

    let out = command(dir.path(), &["links", "--json"]).output().unwrap();
    assert!(out.status.success());
    let links: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let by = |who: &str| {
        links
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["chat_user"] == who)
            .unwrap_or_else(|| panic!("{who} in {links:#}"))
            .clone()
    };
    let alice = by("alice");
    assert_eq!(alice["state"], "verified");
    assert_eq!(alice["method"], "mail_code");
    assert!(alice["verified_at"].is_string());
    assert_eq!(
        actions(&alice["history"]),
        ["link_started", "proof_sent", "link_verified"]
    );
    let mallory = by("mallory");
    assert_eq!(mallory["state"], "pending");
    assert!(mallory["method"].is_null());

    let requests = crate::support::bot::requests_json(dir.path());
    let link = &requests[0]["link"];
    assert_eq!(link["state"], "verified");
    assert_eq!(link["method"], "mail_code");
    assert!(link["verified_at"].is_string());
    assert!(link["attested_by"].is_null());

    let text = command(dir.path(), &["links"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("alice") && text.contains("verified") && text.contains("mail_code"),
        "{text}"
    );
}

/// A proof code reaches the mailbox and nothing else: not the log (at trace level), not the
/// audit trail, not the database in clear, not a chat message.
#[test]
fn a_proof_code_never_reaches_the_log_the_audit_or_chat() {
    let dir = configured_dir();
    let mut bot = Bot::start_in(dir.path(), &[("RUST_LOG", "trace")]);
    let said = bot.link("alice", "alice@contoso.example");
    bot.finish();
    let code = crate::support::bot::code_in(
        crate::support::bot::mails(dir.path())[0]["body"]
            .as_str()
            .unwrap(),
    );

    let log = std::fs::read_to_string(dir.path().join("bot.log")).unwrap();
    assert!(log.contains("DEBUG"), "the log is verbose (RUST_LOG=trace)");
    assert!(!log.contains(&code), "the code is in the log");
    assert!(
        !crate::support::bot::contents(&said).contains(&code),
        "the code is in a chat message"
    );
    let stored = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(crate::support::discord_bot::store_contents(dir.path()));
    assert!(
        stored.contains("alice@contoso.example"),
        "the store was read"
    );
    assert!(!stored.contains(&code), "the code is in the database");
    let links = command(dir.path(), &["links", "--json"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&links.stdout).contains(&code));
}
