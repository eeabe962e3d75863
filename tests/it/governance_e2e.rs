//! The rules on money and access with the real binary on the console and the simulated
//! tenant: two approvals across a kill -9, a budget only a Global Administrator passes with
//! `licensebot spend` reading it back, and an auto-approval rule.

use serde_json::Value;

use crate::support::bot::{
    approval_with, assert_dm, assert_says, command, contents, id, request_state,
};
use crate::support::Bot;

const TWO_PERSON: (&str, &str) = ("LICENSEBOT__POLICY__TWO_PERSON_ABOVE_SEATS", "2");

#[test]
fn the_first_approval_survives_a_kill_and_the_second_buys_once() {
    let (dir, mut bot) = Bot::start_with("", &[TWO_PERSON]);
    bot.say("carol", "!pro buy 3");
    let got = bot.idle();
    let approval = id(approval_with(&got, "Two-person rule"));
    bot.react("bob", &approval, "✅");
    let got = bot.idle();
    assert_says(&contents(&got), &["1 of 2 approvals: @bob"]);
    bot.kill();

    let mut bot = Bot::start_in(dir.path(), &[TWO_PERSON]);
    bot.idle();
    // The same reaction again is the same event (ignored); another approve emoji is a second
    // approval by the same person: still one.
    bot.react("bob", &approval, "✅");
    bot.react("bob", &approval, "👍");
    let got = bot.idle();
    assert_dm(&got, "bob", "you approved request #1 already");
    assert_eq!(request_state(dir.path(), 1), "pending");
    bot.react("dave", &approval, "✅");
    let got = bot.idle();
    bot.finish();
    assert_says(&contents(&got), &["Approved by @bob and @dave"]);
    assert_eq!(request_state(dir.path(), 1), "completed");
    let spend = spend_json(dir.path());
    assert_eq!(spend["months"][0]["seats"], 3, "bought once: {spend:#}");
    assert_eq!(spend["months"][0]["purchases"], 1, "{spend:#}");
}

#[test]
fn a_purchase_past_the_budget_waits_for_a_global_administrator_and_spend_shows_it() {
    let budget = ("LICENSEBOT__POLICY__MONTHLY_BUDGET", "20");
    let (dir, mut bot) = Bot::start_with("", &[budget]);
    bot.say("bob", "!pro buy 1");
    bot.idle();
    assert_eq!(request_state(dir.path(), 1), "completed");
    bot.say("carol", "!pro buy 1");
    let got = bot.idle();
    let approval = approval_with(&got, "Over this month's budget");
    let text = approval["content"].as_str().unwrap_or_default().to_string();
    assert!(text.contains("goes 8.00 USD over"), "{text}");
    assert!(
        text.contains("May decide (GlobalAdministrator): @dave"),
        "{text}"
    );
    let approval = id(approval);
    bot.react("bob", &approval, "✅");
    bot.idle();
    assert_eq!(request_state(dir.path(), 2), "pending");
    bot.react("dave", &approval, "✅");
    bot.idle();
    bot.say("dave", "!pro spend");
    let got = bot.idle();
    bot.finish();
    assert_eq!(request_state(dir.path(), 2), "completed");
    assert_says(&contents(&got), &["2 purchases, 2 seats, 28.00 USD"]);

    let out = command(dir.path(), &["spend"])
        .env("LICENSEBOT__POLICY__MONTHLY_BUDGET", "20")
        .output()
        .expect("spend");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("2 purchase(s)  2 seat(s)  28.00 USD per month"),
        "{text}"
    );
    assert!(
        text.contains("used 28.00 (including approved orders); left 0.00"),
        "{text}"
    );
    let bad = command(dir.path(), &["spend", "--month", "december"])
        .output()
        .expect("spend");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a month"));
}

#[test]
fn an_auto_approval_rule_gives_the_licence_when_a_seat_is_free() {
    let rule = (
        "LICENSEBOT__AUTO_APPROVE",
        r#"[{ name = "analysts", requesters = ["alice"] }]"#,
    );
    let (dir, mut bot) = Bot::start_with("", &[rule]);
    bot.link("alice", "alice@contoso.example");
    bot.say("alice", "!pro request");
    let got = bot.idle();
    bot.finish();
    assert_says(
        &contents(&got),
        &["Approved by the rule “analysts” (a seat was free)"],
    );
    assert_dm(&got, "alice", "is done");
    assert_eq!(request_state(dir.path(), 1), "completed");
    let out = command(dir.path(), &["audit", "1", "--json"])
        .output()
        .expect("audit");
    let audit: Value = serde_json::from_slice(&out.stdout).expect("audit json");
    let by_rule = audit["events"]
        .as_array()
        .map(|e| e.iter().filter(|e| e["actor"] == "rule:analysts").count())
        .unwrap_or_default();
    assert_eq!(by_rule, 1, "{audit:#}");
}

fn spend_json(dir: &std::path::Path) -> Value {
    let out = command(dir, &["spend", "--json"]).output().expect("spend");
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).expect("spend json")
}
