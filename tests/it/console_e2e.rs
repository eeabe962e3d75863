//! Whole conversations with the real binary in `console --jsonl` mode, on the simulated
//! tenant and a fresh database each.

use serde_json::Value;

use std::io::Write;
use std::process::{Output, Stdio};

use crate::support::bot::{
    actions, approval_with, approved, asked, asked_with, assert_bought_and_assigned, assert_dm,
    assert_dm_says, assert_edited, assert_says, assert_sent, audit_json, command, contents, id,
    request_state, requests_json, run_ok, sends_in, write_config,
};
use crate::support::Bot;

#[test]
fn request_with_a_free_seat_is_approved_assigned_and_reported() {
    let (dir, mut bot) = Bot::linked(&["alice"]);

    bot.say("alice", "!pro request because I build the sales reports");
    let got = bot.idle();
    let approval = approval_with(&got, "assign the licence");
    let text = approval["content"].as_str().unwrap();
    assert_says(
        text,
        &[
            "Request #1, stage 1 of 1",
            "alice@contoso.example",
            "Seats: 1 free of 1",
        ],
    );
    assert!(
        text.contains("@carol") && text.contains("@dave"),
        "routed to assign roles: {text}"
    );
    assert!(!text.contains("@bob"), "bob only buys: {text}");
    let m = id(approval);
    assert!(got
        .iter()
        .any(|v| v["type"] == "react" && v["message_id"] == m.as_str() && v["emoji"] == "✅"));
    assert!(got
        .iter()
        .any(|v| v["type"] == "react" && v["message_id"] == m.as_str() && v["emoji"] == "❌"));
    assert_eq!(request_state(dir.path(), 1), "pending");

    let got = bot.reacted("carol", &m, "✅");
    assert_edited(&got, &m, "Approved by @carol");
    assert_edited(&got, &m, "Done");
    assert_dm_says(&got, "alice", &["is done", "alice@contoso.example"]);
    assert!(
        sends_in(&got, "general")
            .iter()
            .any(|c| c.contains("@alice") && c.contains("is done")),
        "the requester also gets a reply in the channel: {got:#?}"
    );
    assert_eq!(request_state(dir.path(), 1), "completed");

    assert_says(
        &bot.answer("carol", "!pro seats"),
        &["1 seats bought, 1 assigned, 0 free"],
    );
    bot.finish();
}

/// Alice and judy link; alice's request #1, approved by `approver`, takes the only seat; then
/// judy writes `request`. Returns the directory, the bot and what it said to judy's request.
fn judy_asks_after_alice_took_the_seat(
    approver: &str,
    request: &str,
) -> (tempfile::TempDir, Bot, Vec<Value>) {
    let (dir, mut bot) = Bot::linked(&["alice", "judy"]);
    let m = bot.request("alice", "Request #1");
    bot.react(approver, &m, "✅");
    bot.idle();
    assert_eq!(request_state(dir.path(), 1), "completed");

    bot.say("judy", request);
    let got = bot.idle();
    (dir, bot, got)
}

/// No request was made in the test directory.
fn assert_no_requests(dir: &tempfile::TempDir) {
    assert_eq!(requests_json(dir.path()), serde_json::json!([]));
}

/// `user`'s reaction was taken away again.
fn assert_unreacted(got: &[Value], user: &str) {
    assert!(
        got.iter()
            .any(|v| v["type"] == "unreact" && v["user"] == user),
        "{got:#?}"
    );
}

#[test]
fn no_free_seat_means_a_purchase_stage_then_an_assignment_stage_for_different_roles() {
    let (dir, mut bot, got) =
        judy_asks_after_alice_took_the_seat("carol", "!pro request for the finance dashboards");
    let purchase = approval_with(&got, "stage 1 of 2: buy 1 seat, monthly");
    let text = purchase["content"].as_str().unwrap();
    assert!(text.contains("Seats: 0 free of 1"), "{text}");
    assert!(text.contains("14.00 USD per month"), "cost shown: {text}");
    assert!(
        text.contains("@bob") && text.contains("@dave") && !text.contains("@carol"),
        "{text}"
    );
    let assign = approval_with(&got, "stage 2 of 2: assign the licence");
    let (pm, am) = (id(purchase), id(assign));
    assert_sent(&got, "general", "1 seat must be bought first");

    // The licence approver may decide first; nothing runs before the seat is bought.
    let got = bot.reacted("carol", &am, "✅");
    assert!(!contents(&got).contains("Done"), "{got:#?}");
    assert_eq!(request_state(dir.path(), 2), "pending");

    let got = bot.reacted("bob", &pm, "✅");
    assert_bought_and_assigned(&got, 2, "judy@contoso.example");
    assert_eq!(request_state(dir.path(), 2), "completed");

    assert_says(
        &bot.answer("bob", "!pro seats"),
        &["2 seats bought, 2 assigned, 0 free"],
    );
    bot.finish();
}

#[test]
fn an_approver_holding_both_roles_clears_both_stages_with_one_reaction() {
    let (dir, mut bot, got) = judy_asks_after_alice_took_the_seat("dave", "!pro request");
    let pm = id(approval_with(&got, "stage 1 of 2"));
    let am = id(approval_with(&got, "stage 2 of 2"));
    let got = bot.reacted("dave", &pm, "✅");
    assert_edited(&got, &am, "together with stage 1");
    assert_eq!(request_state(dir.path(), 2), "completed");
    bot.finish();
}

#[test]
fn a_denial_carries_the_reason_given_as_a_reply() {
    let (dir, mut bot, m) = asked("alice", "alice@contoso.example");

    bot.reply("carol", &m, "No budget left this quarter");
    bot.idle();
    let got = bot.reacted("carol", &m, "❌");
    assert_eq!(request_state(dir.path(), 1), "denied");
    assert_dm_says(&got, "alice", &["denied", "No budget left this quarter"]);
    assert_edited(&got, &m, "Denied by @carol: `No budget left this quarter`");
    bot.finish();
}

#[test]
fn a_reason_given_after_the_denial_reaches_the_requester() {
    let (dir, mut bot, m) = asked("alice", "alice@contoso.example");
    let got = bot.reacted("dave", &m, "👎");
    assert_dm(&got, "alice", "no reason given");
    bot.reply("dave", &m, "Use the shared workspace instead");
    let got = bot.idle();
    assert_dm(&got, "alice", "Use the shared workspace instead");
    assert_eq!(request_state(dir.path(), 1), "denied");
    bot.finish();
}

#[test]
fn an_approver_cannot_approve_their_own_request() {
    let (dir, mut bot) = Bot::start(
        r#"
[[approvers]]
chat_user = "erin"
upn = "erin@contoso.example"

[[backend.simulated.users]]
upn = "erin@contoso.example"
display_name = "Erin Licence"
usage_location = "NL"
roles = ["LicenseAdministrator"]
"#,
    );
    bot.say("erin", "!pro request");
    let got = bot.idle();
    let approval = approval_with(&got, "Request #1");
    let deciders = approval["content"]
        .as_str()
        .unwrap()
        .lines()
        .find(|l| l.starts_with("May decide"))
        .unwrap();
    assert!(
        !deciders.contains("@erin"),
        "never routed to the requester: {deciders}"
    );
    let m = id(approval);
    let got = bot.reacted("erin", &m, "✅");
    assert!(
        got.iter().any(|v| v["type"] == "unreact"
            && v["user"] == "erin"
            && v["message_id"] == m.as_str()),
        "{got:#?}"
    );
    assert_dm(&got, "erin", "You can't decide");
    assert_eq!(request_state(dir.path(), 1), "pending");
    bot.finish();
}

#[test]
fn a_reaction_from_a_non_approver_is_ignored_removed_and_audited() {
    let (dir, mut bot, m) = asked("alice", "alice@contoso.example");
    bot.react("mallory", &m, "✅");
    // bob is an approver, but only for purchases.
    let got = bot.reacted("bob", &m, "✅");
    assert_unreacted(&got, "mallory");
    assert_unreacted(&got, "bob");
    assert_dm(&got, "bob", "needs one of these roles");
    assert_eq!(request_state(dir.path(), 1), "pending");
    let audit = audit_json(dir.path(), 1);
    let actions = actions(&audit["events"]);
    assert!(
        actions.contains(&"decision_ignored_not_approver"),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"decision_refused_missing_role"),
        "{actions:?}"
    );
    bot.finish();
}

#[test]
fn a_user_with_e5_is_told_they_already_have_pro_and_no_request_is_made() {
    let (dir, mut bot) = Bot::linked(&["frank"]);
    bot.say("frank", "!pro request");
    let got = bot.idle();
    assert_sent(&got, "general", "already has Power BI Pro through SPE_E5");
    assert!(sends_in(&got, "license-approvals").is_empty(), "{got:#?}");
    assert_no_requests(&dir);
    bot.finish();
}

#[test]
fn a_guest_is_refused_unless_policy_allows_guests() {
    let (dir, mut bot) = Bot::start("");
    // A guest can neither link (no code is mailed) nor be asked for by an approver.
    bot.say(
        "grace",
        "!pro link grace_fabrikam.example#EXT#@contoso.example",
    );
    let mut got = bot.idle();
    bot.say(
        "dave",
        "!pro request for grace_fabrikam.example#EXT#@contoso.example",
    );
    got.extend(bot.idle());
    let refusals = sends_in(&got, "general")
        .iter()
        .filter(|c| c.contains("is a guest account"))
        .count();
    assert_eq!(refusals, 2, "{got:#?}");
    assert!(crate::support::bot::mails(dir.path()).is_empty());
    assert_no_requests(&dir);
    bot.finish();

    let (_dir, mut bot) = Bot::start_with("", &[("LICENSEBOT__POLICY__ALLOW_GUESTS", "true")]);
    bot.link("grace", "grace_fabrikam.example#EXT#@contoso.example");
    bot.say("grace", "!pro request");
    let got = bot.idle();
    approval_with(&got, "Request #1");
    bot.finish();
}

#[test]
fn a_disabled_account_cannot_get_a_licence() {
    let (dir, mut bot) = Bot::start("");
    bot.say("dave", "!pro request for heidi@contoso.example");
    let got = bot.idle();
    assert_sent(&got, "general", "is disabled");
    assert_no_requests(&dir);
    bot.finish();
}

#[test]
fn a_missing_usage_location_is_set_from_the_default_before_assigning() {
    let (dir, bot, got) = approved("ivan", "ivan@contoso.example");
    assert_says(
        &contents(&got),
        &["Power BI Pro assigned to ivan@contoso.example"],
    );
    assert_eq!(request_state(dir.path(), 1), "completed");
    let db = crate::support::db::open(dir.path());
    assert_eq!(
        db.usage_location("ivan@contoso.example"),
        Some("NL".to_string())
    );
    assert_eq!(db.calls("set_usage_location"), 1);
    bot.finish();
}

#[test]
fn without_a_default_usage_location_the_request_fails_with_a_clear_reason() {
    let no_default = [("LICENSEBOT__POLICY__DEFAULT_USAGE_LOCATION", "")];
    let (dir, mut bot, approval) = asked_with(&no_default, "ivan", "ivan@contoso.example");
    let got = bot.reacted("carol", &approval, "✅");
    assert_eq!(request_state(dir.path(), 1), "failed");
    assert_dm(&got, "ivan", "no usage location");
    assert_dm(&got, "carol", "failed");
    bot.finish();
}

#[test]
fn reminder_then_escalation_then_expiry_follow_the_clock() {
    let (dir, mut bot) = Bot::linked(&["alice"]);
    bot.input(serde_json::json!({"type": "message", "channel": "general", "author": "dave", "content": "!pro away on"}));
    bot.idle();
    bot.say("alice", "!pro request");
    let got = bot.idle();
    let approval = approval_with(&got, "Request #1");
    assert!(
        !approval["content"].as_str().unwrap().contains("@dave"),
        "away approvers are not routed to"
    );
    let m = id(approval);

    bot.advance(3 * 3600);
    assert!(
        sends_in(&bot.idle(), "license-approvals").is_empty(),
        "nothing before 4h"
    );
    bot.advance(3600 + 60);
    let got = bot.idle();
    let reminder = got
        .iter()
        .find(|v| v["type"] == "send" && v["reply_to"] == m.as_str())
        .unwrap_or_else(|| panic!("reminder: {got:#?}"));
    assert!(
        reminder["content"]
            .as_str()
            .unwrap()
            .contains("Reminder @carol"),
        "{reminder}"
    );

    bot.advance(20 * 3600);
    let got = bot.idle();
    let escalation = got
        .iter()
        .find(|v| v["type"] == "send" && v["reply_to"] == m.as_str())
        .unwrap_or_else(|| panic!("escalation: {got:#?}"));
    let text = escalation["content"].as_str().unwrap();
    assert!(
        text.contains("@carol") && text.contains("@dave"),
        "escalation reaches everyone eligible: {text}"
    );

    bot.advance(6 * 24 * 3600);
    let got = bot.idle();
    assert_eq!(request_state(dir.path(), 1), "expired");
    assert_dm(&got, "alice", "expired");
    assert_edited(&got, &m, "Expired");
    // A late reaction changes nothing.
    let got = bot.reacted("carol", &m, "✅");
    assert_says(&contents(&got), &["already expired"]);
    assert_eq!(request_state(dir.path(), 1), "expired");
    bot.finish();
}

#[test]
fn the_requester_can_cancel_a_pending_request() {
    let (dir, mut bot, m) = asked("alice", "alice@contoso.example");
    assert_says(&bot.answer("judy", "!pro cancel 1"), &["is not yours"]);
    bot.say("alice", "!pro cancel #1");
    let got = bot.idle();
    assert_eq!(request_state(dir.path(), 1), "cancelled");
    assert_edited(&got, &m, "Cancelled by @alice");
    bot.react("carol", &m, "✅");
    bot.idle();
    assert_eq!(request_state(dir.path(), 1), "cancelled");
    bot.finish();
}

#[test]
fn release_gives_the_seat_back() {
    let (dir, mut bot) = Bot::linked(&["alice"]);
    assert_says(
        &bot.answer("alice", "!pro release"),
        &["no Power BI Pro licence to give back"],
    );
    let approval = bot.request("alice", "Request #1");
    bot.react("carol", &approval, "✅");
    bot.idle();
    assert_says(
        &bot.answer("alice", "!pro release"),
        &["Power BI Pro removed from alice@contoso.example"],
    );
    assert_eq!(request_state(dir.path(), 2), "completed");
    let all = requests_json(dir.path());
    assert_eq!(all[0]["kind"], "release");
    assert_says(
        &bot.answer("carol", "!pro seats"),
        &["1 seats bought, 0 assigned, 1 free"],
    );
    bot.finish();
}

#[test]
fn a_restart_between_approval_and_execution_runs_the_job_once() {
    // Every simulated call takes 1.5 s, so the kill lands while the job is in flight. A job
    // cut off after sending its change reads back before sending it again: briefly here.
    let quick_read_back = [
        ("LICENSEBOT__JOBS__VERIFY_INTERVAL", "100ms"),
        ("LICENSEBOT__JOBS__VERIFY_ATTEMPTS", "2"),
    ];
    let slow = [
        quick_read_back[0],
        quick_read_back[1],
        ("LICENSEBOT__BACKEND__SIMULATED__LATENCY", "1500ms"),
    ];
    let (dir, mut bot) = Bot::start_with("", &slow);
    bot.link_own(&["alice", "judy"]);
    let m = bot.request("judy", "Request #1");
    bot.say("alice", "!pro request");
    let got = bot.idle();
    let pm = id(approval_with(&got, "Request #2, stage 1 of 2"));
    bot.react("carol", &m, "✅");
    bot.react("dave", &pm, "✅");
    // Wait until the approvals are stored and told, then crash.
    bot.until(|v| v["type"] == "edit" && v["message_id"] == pm.as_str());
    assert_ne!(request_state(dir.path(), 1), "completed");
    bot.kill();

    let mut bot = Bot::start_in(dir.path(), &quick_read_back);
    assert_says(
        &contents(&bot.idle()),
        &[
            "Power BI Pro assigned to judy@contoso.example",
            "Power BI Pro assigned to alice@contoso.example",
        ],
    );
    assert_eq!(request_state(dir.path(), 1), "completed");
    assert_eq!(request_state(dir.path(), 2), "completed");
    let db = crate::support::db::open(dir.path());
    assert_eq!(db.purchases(), 1, "exactly one quantity change");
    assert_eq!(db.seats_enabled("POWER_BI_PRO"), 2);
    assert_eq!(db.assignments("POWER_BI_PRO"), 2);
    bot.finish();
}

#[test]
fn a_tampered_audit_row_is_detected() {
    let (dir, bot, _) = approved("alice", "alice@contoso.example");
    bot.finish();

    let ok = run_ok(&mut command(dir.path(), &["audit", "1"]), "audit 1");
    assert!(String::from_utf8_lossy(&ok.stdout).contains("audit chain: intact"));

    let db = crate::support::db::open(dir.path());
    db.tamper("UPDATE audit_events SET actor = 'chat:mallory' WHERE action = 'stage_approved'");

    let bad = command(dir.path(), &["audit", "1"]).output().unwrap();
    assert_eq!(
        bad.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("audit chain: BROKEN"),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );

    let mut bot = Bot::start_in(dir.path(), &[]);
    assert_says(&bot.answer("dave", "!pro audit 1"), &["BROKEN"]);
    bot.finish();
}

#[test]
fn malformed_input_lines_get_an_error_and_the_bot_goes_on() {
    let (_dir, mut bot) = Bot::start("");
    bot.raw("{not json");
    let got = bot.until(|v| v["type"] == "error");
    assert!(got.last().unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("bad input line"));
    bot.raw(r#"{"type":"message","channel":"general","author":"a b","content":"x"}"#);
    bot.until(|v| v["type"] == "error");
    assert_says(&bot.answer("alice", "!pro help"), &["!pro request"]);
    bot.finish();
}

#[test]
fn a_billing_approver_buys_and_then_removes_seats() {
    let (dir, mut bot) = Bot::start("");
    bot.say("bob", "!pro buy 2");
    bot.idle();
    assert_eq!(request_state(dir.path(), 1), "completed");
    assert_says(
        &bot.answer("bob", "!pro seats remove 2"),
        &[
            "only within a short window",
            "2 seats removed; the tenant now has 1",
        ],
    );
    assert_eq!(request_state(dir.path(), 2), "completed");
    let requests = requests_json(dir.path());
    assert_eq!(requests[0]["kind"], "purchase");
    assert_eq!(requests[0]["quantity"], -2);
    bot.finish();
}

/// Runs the real binary with `args` on a fresh test directory, feeding it `input` (raw bytes)
/// and then the end of input; returns what it printed and how it ended.
fn console_with_input(args: &[&str], input: &[u8]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    let mut child = command(dir.path(), args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn a_jsonl_line_that_is_not_utf8_is_answered_and_the_lines_after_it_are_read() {
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"type\":\"wait_idle\"}\n");
    input.extend_from_slice(
        b"{\"type\":\"message\",\"channel\":\"general\",\"author\":\"alice\",\"content\":\"caf\xe9\"}\n",
    );
    input.extend_from_slice(
        b"{\"type\":\"message\",\"channel\":\"general\",\"author\":\"bob\",\"content\":\"!pro help\"}\n",
    );
    input.extend_from_slice(b"{\"type\":\"wait_idle\"}\n");

    let out = console_with_input(&["console", "--jsonl"], &input);

    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}; log:\n{log}", out.status);
    let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = records.iter().filter_map(|r| r["type"].as_str()).collect();
    assert_eq!(types.first(), Some(&"idle"), "{records:#?}");
    assert_eq!(types.get(1), Some(&"error"), "{records:#?}");
    assert!(
        records[1]["message"]
            .as_str()
            .unwrap()
            .starts_with(r"input line is not UTF-8: \xe9 at byte"),
        "{records:#?}"
    );
    assert_eq!(types.last(), Some(&"idle"), "{records:#?}");
    assert!(
        contents(&records[2..]).contains("!pro request"),
        "{records:#?}"
    );
}

#[test]
fn a_human_line_that_is_not_utf8_is_answered_and_the_lines_after_it_are_read() {
    let input = b"/wait\nalice: caf\xe9\nbob: !pro help\n/wait\n";

    let out = console_with_input(&["console"], input);

    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}; log:\n{log}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let refused = lines
        .iter()
        .position(|l| *l == r"! input line is not UTF-8: \xe9 at byte 10")
        .unwrap_or_else(|| panic!("no error line in:\n{text}"));
    let answered = lines
        .iter()
        .position(|l| l.contains("#general licensebot ↪"))
        .unwrap_or_else(|| panic!("no answer to bob in:\n{text}"));
    assert!(refused < answered, "{text}");
    assert!(
        text[text.find("↪").unwrap()..].contains("!pro request"),
        "{text}"
    );
    assert_eq!(lines.last(), Some(&"(idle)"), "{text}");
}

#[test]
fn a_jsonl_channel_with_a_nul_is_refused_naming_the_field_and_showing_the_nul_escaped() {
    let (_dir, mut bot) = Bot::start("");

    bot.raw(r#"{"type":"message","channel":"gen\u0000eral","author":"alice","content":"hi"}"#);
    let got = bot.until(|v| v["type"] == "error");

    assert_eq!(
        got.last().unwrap()["message"],
        r#"channel: "gen\u{0}eral" is not a console name (use 1-64 letters, digits, _ . -)"#
    );
    bot.finish();
}
