//! Group mode end to end: the real binary in `console --jsonl` mode with
//! `[licensing] mode = "group"` on the fake Microsoft, whose group-based licensing applies a
//! membership's licence after a delay on its own clock (graph_groups_identity.md §1). The bot
//! adds and removes members and never assigns directly; what the group reports is handled
//! for what it means.

use std::time::Duration;

use serde_json::Value;

use crate::support::bot::{
    approval_with, assert_dm_says, command, contents, id, request_state, write_config,
};
use crate::support::fake_microsoft::{
    Assigned, FakeGroup, FakeMicrosoft, LicenceState, PRO_GROUP, PRO_SKU,
};
use crate::support::Bot;

/// The delay of the fake's group-based licensing, and a step past it.
const PAST_THE_DELAY: Duration = Duration::from_secs(180);

/// Group mode on the fake's Pro licensing group, read back fast.
fn group_env(group: &str) -> Vec<(String, String)> {
    [
        ("LICENSEBOT__LICENSING__MODE", "group"),
        ("LICENSEBOT__LICENSING__GROUP_ID", group),
        ("LICENSEBOT__JOBS__VERIFY_ATTEMPTS", "2"),
        ("LICENSEBOT__JOBS__VERIFY_INTERVAL", "100ms"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A bot in group mode on `fake` (Partner Center purchases when `pc`), `who` linked to `upn`.
fn start(fake: &FakeMicrosoft, pc: bool, who: &str, upn: &str) -> (tempfile::TempDir, Bot) {
    let (toml, mut env) = fake.bot_settings(pc);
    env.extend(group_env(PRO_GROUP));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (dir, mut bot) = Bot::start_with(&toml, &env);
    bot.link_with(who, upn, |to| fake.mailed_code(to));
    (dir, bot)
}

/// A fresh fake and a bot in group mode on it ([`start`]), `who` linked to their own account:
/// the fake, the bot's directory and the bot.
fn started(pc: bool, who: &str) -> (FakeMicrosoft, tempfile::TempDir, Bot) {
    let fake = FakeMicrosoft::start();
    let (dir, bot) = start(&fake, pc, who, &format!("{who}@contoso.example"));
    (fake, dir, bot)
}

/// Lets the fake's group-based licensing act and the bot look again.
fn let_the_group_act(fake: &FakeMicrosoft, bot: &mut Bot) -> Vec<Value> {
    fake.advance(PAST_THE_DELAY);
    bot.advance(PAST_THE_DELAY.as_secs());
    bot.idle()
}

/// `who` asks for Pro and carol approves: what the bot said to the approval.
fn asks_and_carol_approves(bot: &mut Bot, who: &str) -> Vec<Value> {
    bot.say(who, "!pro request for the sales reports");
    let got = bot.idle();
    bot.approve("carol", &got, "assign the licence")
}

/// The states of `upn`'s Pro licence from the licensing group.
fn pro_from_group(fake: &FakeMicrosoft, upn: &str) -> Vec<LicenceState> {
    fake.licence_states_of(upn)
        .into_iter()
        .filter(|(part, group, _)| part == "POWER_BI_PRO" && group.as_deref() == Some(PRO_GROUP))
        .map(|(_, _, state)| state)
        .collect()
}

#[test]
fn an_approved_request_adds_the_member_and_is_done_when_the_group_applies_it() {
    let (fake, dir, mut bot) = started(false, "alice");

    let approved = asks_and_carol_approves(&mut bot, "alice");
    assert!(
        !contents(&approved).contains("is done"),
        "not done before the group applies it: {approved:#?}"
    );
    assert_ne!(request_state(dir.path(), 1), "completed");
    assert!(fake
        .members_of(PRO_GROUP)
        .contains(&"alice@contoso.example".to_string()));

    let got = let_the_group_act(&fake, &mut bot);
    bot.finish();

    assert_dm_says(
        &got,
        "alice",
        &["is done", "through the group Power BI Pro users"],
    );
    assert_eq!(request_state(dir.path(), 1), "completed");
    assert_eq!(
        pro_from_group(&fake, "alice@contoso.example"),
        [LicenceState::Active]
    );
    assert_eq!(
        fake.ops("POST", "/assignLicense"),
        0,
        "never assigned directly"
    );
    assert_eq!(fake.ops("POST", "/members/$ref"), 1, "added once");
}

#[test]
fn no_seat_left_for_the_group_adds_a_purchase_stage_and_then_licenses() {
    let (fake, dir, mut bot) = started(true, "alice");
    bot.say("alice", "!pro request for the sales reports");
    let asked = bot.idle();
    // Another admin takes the last free seat between the approval and the processing.
    fake.state()
        .user_mut("judy@contoso.example")
        .licenses
        .push(Assigned::direct(PRO_SKU));
    bot.approve("carol", &asked, "assign the licence");

    let got = let_the_group_act(&fake, &mut bot);
    let purchase = approval_with(&got, "buy 1 seat");
    let text = purchase["content"].as_str().unwrap();
    assert!(text.contains("@bob") && !text.contains("@carol"), "{text}");
    assert_dm_says(&got, "alice", &["no seat was free", "billing approver"]);
    assert!(
        !fake
            .members_of(PRO_GROUP)
            .contains(&"alice@contoso.example".to_string()),
        "the membership is taken back while the seat is bought"
    );
    assert_eq!(request_state(dir.path(), 1), "pending");

    bot.react("bob", &id(purchase), "✅");
    bot.idle();
    let got = let_the_group_act(&fake, &mut bot);
    bot.finish();

    assert_dm_says(&got, "alice", &["is done", "through the group"]);
    assert_eq!(request_state(dir.path(), 1), "completed");
    assert_eq!(fake.state().subscription.quantity, 3, "one seat bought");
    assert_eq!(
        pro_from_group(&fake, "alice@contoso.example"),
        [LicenceState::Active]
    );
}

#[test]
fn a_usage_location_the_service_is_not_offered_in_gets_the_default_and_is_reprocessed() {
    let fake = FakeMicrosoft::start();
    {
        let mut state = fake.state();
        state.directory_usage_location = Some("KP".into());
        state.prohibited.push((PRO_SKU.into(), "KP".into()));
    }
    let (dir, mut bot) = start(&fake, false, "ivan", "ivan@contoso.example");
    asks_and_carol_approves(&mut bot, "ivan");

    let reprocessing = let_the_group_act(&fake, &mut bot);
    assert!(
        !contents(&reprocessing).contains("is done"),
        "{reprocessing:#?}"
    );
    assert_eq!(fake.ops("POST", "/reprocessLicenseAssignment"), 1);
    let got = let_the_group_act(&fake, &mut bot);
    bot.finish();

    assert_dm_says(&got, "ivan", &["is done"]);
    assert_eq!(request_state(dir.path(), 1), "completed");
    assert_eq!(
        fake.state()
            .user("ivan@contoso.example")
            .and_then(|u| u.usage_location.clone())
            .as_deref(),
        Some("NL"),
        "the configured default"
    );
}

#[test]
fn a_conflicting_licence_fails_naming_the_cause_and_takes_the_membership_back() {
    let (fake, dir, mut bot) = started(false, "xavier");
    asks_and_carol_approves(&mut bot, "xavier");

    let got = let_the_group_act(&fake, &mut bot);
    bot.finish();

    assert_dm_says(&got, "xavier", &["MutuallyExclusiveViolation", "taken out"]);
    assert_eq!(request_state(dir.path(), 1), "failed");
    assert!(!fake
        .members_of(PRO_GROUP)
        .contains(&"xavier@contoso.example".to_string()));
    assert_eq!(fake.ops("DELETE", "/members/"), 1);
}

#[test]
fn giving_back_a_licence_from_the_licensing_group_takes_the_member_out() {
    let (fake, dir, mut bot) = started(false, "gina");

    bot.say("gina", "!pro release");
    let started = bot.idle();
    assert!(
        contents(&started).contains("Giving your Power BI Pro licence back"),
        "the licensing group's own licence is the bot's to take: {started:#?}"
    );
    let got = let_the_group_act(&fake, &mut bot);
    bot.finish();

    assert_dm_says(
        &got,
        "gina",
        &["is done", "removed from gina@contoso.example"],
    );
    assert_eq!(fake.ops("DELETE", "/members/"), 1, "taken out once");
    assert_eq!(request_state(dir.path(), 1), "completed");
    assert!(fake.members_of(PRO_GROUP).is_empty());
    assert!(pro_from_group(&fake, "gina@contoso.example").is_empty());
    assert_eq!(fake.ops("POST", "/assignLicense"), 0);
}

#[test]
fn an_unfit_licensing_group_is_refused_at_check_config_and_start_up() {
    let fake = FakeMicrosoft::start();
    let dynamic = fake.add_group(FakeGroup {
        group_types: vec!["DynamicMembership".into()],
        membership_rule: Some("user.department -eq \"Sales\"".into()),
        ..FakeGroup::security("Sales (dynamic)").licensing(PRO_SKU)
    });
    let no_pro = fake.add_group(FakeGroup::security("Readers"));
    for (group, expected) in [
        (dynamic.as_str(), "membership is dynamic"),
        (no_pro.as_str(), "does not assign POWER_BI_PRO itself"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (toml, mut env) = fake.bot_settings(false);
        env.extend(group_env(group));
        write_config(dir.path(), &toml);
        let out = command(dir.path(), &["check-config"])
            .envs(env.clone())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{stdout}");
        assert!(
            stdout.contains(expected) && stdout.contains(group),
            "{stdout}"
        );
        let run = command(dir.path(), &["console", "--jsonl"])
            .envs(env)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }

    let dir = tempfile::tempdir().unwrap();
    let (toml, mut env) = fake.bot_settings(false);
    env.extend(group_env(PRO_GROUP));
    write_config(dir.path(), &toml);
    let out = command(dir.path(), &["check-config"])
        .envs(env)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("licensing group \"Power BI Pro users\"")
            && stdout.contains("the bot licenses through it"),
        "{stdout}"
    );
}

#[test]
fn a_group_that_does_not_apply_its_licence_in_time_fails_the_request_and_says_so() {
    let fake = FakeMicrosoft::start();
    fake.state().group_licence_delay = chrono::Duration::days(2);
    let (toml, mut env) = fake.bot_settings(false);
    env.extend(group_env(PRO_GROUP));
    env.push(("LICENSEBOT__LICENSING__GROUP_WAIT".into(), "1h".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (dir, mut bot) = Bot::start_with(&toml, &env);
    bot.link_with("alice", "alice@contoso.example", |to| fake.mailed_code(to));
    asks_and_carol_approves(&mut bot, "alice");

    let mut said = Vec::new();
    for _ in 0..8 {
        fake.advance(Duration::from_secs(900));
        bot.advance(900);
        said.extend(bot.idle());
    }
    bot.finish();

    assert_dm_says(
        &said,
        "alice",
        &["did not apply", "within 1h", "stays a member"],
    );
    assert_eq!(request_state(dir.path(), 1), "failed");
    assert_eq!(
        fake.ops("POST", "/members/$ref"),
        1,
        "added once, not again"
    );
}
