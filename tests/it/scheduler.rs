//! The scheduler on the real binary: reminders, escalations and expiry happen once across
//! restarts (the crash rows are in crash.rs).

use std::io::Write;
use std::process::Stdio;

use crate::support::bot::{audit_json, audited, command, write_config};

/// Runs the console in human mode on `dir` with `input` typed at once, and returns what it
/// printed.
fn human_session(dir: &std::path::Path, input: &str) -> String {
    let mut child = command(dir, &["console"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start licensebot");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("type");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{:?}", out.status);
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The reported case, typed as a person would on the embedded default: the bot restarted on
/// the same database, `/advance 4h`, `/wait`. The console's `/advance` ticked the scheduler
/// while the background loop's first tick after start-up ran, and both sent the reminder
/// (2 of 3 tries). Five rounds, since it was a race.
#[test]
fn a_restarted_bot_reminds_once() {
    for round in 1..=5 {
        let dir = tempfile::tempdir().expect("tempdir");
        write_config(dir.path(), "");
        human_session(
            dir.path(),
            "alice: !pro link alice@contoso.example\n/wait\n",
        );
        let code = crate::support::bot::mailed_code(dir.path(), "alice@contoso.example");
        human_session(
            dir.path(),
            &format!("/dm alice: !pro verify {code}\nalice: !pro request\n/wait\n"),
        );

        let printed = human_session(dir.path(), "/advance 4h\n/wait\n/advance 1m\n/wait\n");

        assert_eq!(
            printed.matches("⏰ Reminder").count(),
            1,
            "round {round}: {printed}"
        );
        let audit = audit_json(dir.path(), 1);
        let sent = audited(&audit, "reminder_sent");
        assert_eq!(sent, 1, "round {round}: {audit:#}");
    }
}
