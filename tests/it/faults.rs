//! Faults survived, as tables: every row names a fault, injects it into a run of the real
//! binary (or, for the database, of the engine in-process), and checks the outcome the row
//! expects. Each row is its own test and prints `FAULT-TABLE | fault | expected | observed`;
//! README's Reliability section shows them.
//!
//! - Microsoft Graph and Partner Center faults come from the fake Microsoft
//!   (tests/it/support/fake_microsoft/), with the bot in `console --jsonl` mode
//!   (`faults/microsoft.rs`).
//! - Discord faults come from the fake Discord, with the bot on the simulated tenant
//!   (`faults/discord.rs`).
//! - SQLite faults come from a second connection holding the write lock, and from a page
//!   limit on the bot's own connections (a full disk) (`faults/sqlite.rs`).
//! - A corrupt settings file stops start-up with a message naming file, key and problem
//!   (here).

macro_rules! table {
    ($runner:ident: $($name:ident => $case:ident;)*) => {$(
        #[test]
        fn $name() {
            $runner(&$case);
        }
    )*};
}

/// Prints one row of the fault table.
fn report(fault: &str, expected: &str, observed: &str) {
    println!("FAULT-TABLE | {fault} | {expected} | {observed}");
}

mod discord;
mod microsoft;
mod sqlite;

// ---------------------------------------------------------------------------------------
// A corrupt settings file: start-up stops with exit code 2 and names file, key and problem.

struct ConfigCase {
    fault: &'static str,
    /// Appended to the test settings file.
    text: &'static [u8],
    /// What the message must name (besides the file).
    names: &'static [&'static str],
}

fn run_config(case: &ConfigCase) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = crate::support::bot::write_config(dir.path(), "");
    let mut bytes = std::fs::read(&path).expect("read config");
    bytes.extend_from_slice(case.text);
    std::fs::write(&path, bytes).expect("write config");

    let out = crate::support::bot::command(dir.path(), &["console", "--jsonl"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run licensebot");

    let err = String::from_utf8_lossy(&out.stderr);
    let message = err.lines().nth(1).unwrap_or_default().to_string();
    report(
        case.fault,
        "start-up stops (exit 2) with one line naming the file, the key (or the line) and the problem",
        &format!("exit {:?}: {}", out.status.code(), message.replace(&path.display().to_string(), "licensebot.toml")),
    );
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
    for name in case.names {
        assert!(err.contains(name), "{name:?} not in {err}");
    }
    assert!(!dir.path().join("bot.db").exists(), "nothing was started");
}

const CONFIG_BROKEN_HEADER: ConfigCase = ConfigCase {
    fault: "settings file with a table header cut off (`[scheduler`)",
    text: b"\n[scheduler\ntick = \"30s\"\n",
    names: &["line", "`[scheduler`", "invalid table header"],
};

const CONFIG_CUT_OFF: ConfigCase = ConfigCase {
    fault: "settings file cut off inside a string",
    text: b"\n[bot]\nprefix = \"!pr",
    names: &["(bot.prefix)", "invalid basic string"],
};

const CONFIG_WRONG_TYPE: ConfigCase = ConfigCase {
    fault: "settings file with a number where a duration belongs",
    text: b"\n[scheduler]\ntick = 30\n",
    names: &["scheduler.tick", "expected a duration"],
};

const CONFIG_NOT_UTF8: ConfigCase = ConfigCase {
    fault: "settings file with bytes that are not UTF-8",
    text: b"\n[bot]\nprefix = \"!pro\xff\xfe\"\n",
    names: &["(bot.prefix)", "not UTF-8 text (byte 0xff)"],
};

table! { run_config:
    config_with_a_broken_table_header_stops_start_up_naming_the_line => CONFIG_BROKEN_HEADER;
    config_cut_off_stops_start_up_naming_the_key => CONFIG_CUT_OFF;
    config_with_a_wrong_type_stops_start_up_naming_the_key => CONFIG_WRONG_TYPE;
    config_not_utf8_stops_start_up_naming_the_key => CONFIG_NOT_UTF8;
}
