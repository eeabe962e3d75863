//! The command line: check-config, migrate, requests.

use crate::support::bot::{command, write_config};

#[test]
fn check_config_accepts_the_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    let out = command(dir.path(), &["check-config"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("settings are valid"));
}

#[test]
fn check_config_names_the_file_the_key_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        "[scheduler]\ntick = \"soon\"\n\n[bot]\nprefx = \"!x\"\n",
    );
    let out = command(dir.path(), &["check-config"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("scheduler.tick"), "{err}");
    assert!(err.contains("bot.prefx"), "{err}");
}

#[test]
fn start_up_fails_on_a_bad_config_and_names_the_env_var() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    let out = command(dir.path(), &["console", "--jsonl"])
        .env("LICENSEBOT__POLICY__REMIND_AFTER", "four hours")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("LICENSEBOT__POLICY__REMIND_AFTER") && err.contains("policy.remind_after"),
        "{err}"
    );
}

#[test]
fn migrate_creates_the_database_and_requests_lists_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    let missing = command(dir.path(), &["requests"]).output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no database"));
    let out = command(dir.path(), &["migrate"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    let bad = command(dir.path(), &["requests", "--state", "bogus"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[test]
fn the_database_and_its_journal_files_are_private_to_their_owner() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
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
        for name in ["bot.db", "bot.db-wal", "bot.db-shm"] {
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
            seen >= 2,
            "the database and its WAL exist while the bot runs"
        );
    }
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}
