//! Reclaiming a seat before buying, end to end: the real binary in `console --jsonl` mode on
//! the fake Microsoft (Graph's `signInActivity` and sign-in logs), as approvers and holders
//! would go through it.

use serde_json::Value;

use crate::support::bot::{
    approval_with, assert_dm_says, assert_says, contents, id, request_state,
};
use crate::support::fake_microsoft::{Assigned, FakeMicrosoft, SignInApp, PRO_SKU};
use crate::support::Bot;

/// A tenant with no Pro seat free: gina's (from a group) and alice's (direct, unused for
/// `idle_days`).
fn full_tenant(idle_days: i64) -> FakeMicrosoft {
    let fake = FakeMicrosoft::start();
    {
        let mut state = fake.state();
        state.set_enabled("POWER_BI_PRO", 2);
        let alice = state.user_mut("alice@contoso.example");
        alice.licenses.push(Assigned::direct(PRO_SKU));
    }
    // Her last sign-in was to Power BI (the logs keep 30 days of it).
    let then = chrono::Utc::now() - chrono::Duration::days(idle_days);
    fake.sign_in("alice@contoso.example", SignInApp::PowerBi, then);
    fake
}

/// A bot on `fake` with alice and judy linked; judy asks: the bot and what it said.
fn judy_asks(fake: &FakeMicrosoft) -> (tempfile::TempDir, Bot, Vec<Value>) {
    let (toml, env) = fake.bot_settings(false);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (dir, mut bot) = Bot::start_with(&toml, &env);
    bot.link_with("alice", "alice@contoso.example", |to| fake.mailed_code(to));
    bot.link_with("judy", "judy@contoso.example", |to| fake.mailed_code(to));
    bot.say("judy", "!pro request for the finance dashboards");
    let got = bot.idle();
    (dir, bot, got)
}

/// The text of the purchase stage's approval message once judy has asked on `fake`.
fn purchase_text_after_judy_asks(fake: &FakeMicrosoft) -> String {
    let (_dir, bot, asked) = judy_asks(fake);
    bot.finish();
    approval_with(&asked, "buy 1 seat")["content"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_purchase_lists_an_idle_holder_and_keep_puts_the_purchase_back() {
    let fake = full_tenant(100);
    let (dir, mut bot, asked) = judy_asks(&fake);
    let purchase = approval_with(&asked, "buy 1 seat");
    let text = purchase["content"].as_str().unwrap();
    assert!(
        text.contains("1. alice@contoso.example") && text.contains("react ♻️"),
        "{text}"
    );
    let m = id(purchase);

    bot.react("carol", &m, "♻️");
    let chosen = bot.idle();
    assert_dm_says(
        &chosen,
        "alice",
        &["move your Power BI Pro licence", "!pro keep"],
    );
    assert_dm_says(&chosen, "judy", &["instead of buying a seat"]);
    assert!(contents(&chosen).contains("chose to move the seat of alice@contoso.example"));

    bot.dm("alice", "!pro keep");
    let kept = bot.idle();
    assert_says(&contents(&kept), &["You keep your Power BI Pro licence"]);
    assert_says(
        &contents(&kept),
        &["keeps their licence; this purchase waits"],
    );
    assert_dm_says(&kept, "carol", &["keeps their licence"]);

    // Past the grace period nothing moves; a second ♻️ finds nobody left to move.
    bot.advance(4 * 24 * 3600);
    let later = bot.idle();
    bot.react("carol", &m, "♻️");
    let again = bot.idle();
    bot.finish();
    assert!(!contents(&later).contains("is done"), "{later:#?}");
    assert_says(&contents(&again), &["nobody to move a seat from"]);
    assert_eq!(fake.licences_of("alice@contoso.example"), ["POWER_BI_PRO"]);
    assert!(fake.licences_of("judy@contoso.example").is_empty());
    assert_eq!(request_state(dir.path(), 1), "pending");
}

#[test]
fn after_the_grace_period_the_seat_moves_to_the_requester() {
    let fake = full_tenant(100);
    let (dir, mut bot, asked) = judy_asks(&fake);
    bot.react("carol", &id(approval_with(&asked, "buy 1 seat")), "♻️");
    bot.idle();

    bot.advance(3 * 24 * 3600 + 60);
    let moved = bot.idle();
    bot.finish();

    assert_dm_says(
        &moved,
        "judy",
        &["is done", "the seat of alice@contoso.example was moved"],
    );
    assert_dm_says(&moved, "alice", &["was moved to judy@contoso.example"]);
    assert_eq!(request_state(dir.path(), 1), "completed");
    assert_eq!(fake.licences_of("judy@contoso.example"), ["POWER_BI_PRO"]);
    assert!(fake.licences_of("alice@contoso.example").is_empty());
    assert!(fake.state().quantity_changes.is_empty(), "nothing bought");
}

#[test]
fn a_recently_active_holder_is_not_listed_and_without_p1_the_stage_says_so() {
    let text = purchase_text_after_judy_asks(&full_tenant(5));
    assert!(!text.contains("alice@contoso.example"), "{text}");

    let fake = full_tenant(100);
    fake.state().entra_p1 = false;
    let text = purchase_text_after_judy_asks(&fake);
    assert!(text.contains("Last sign-in unknown:"), "{text}");
    assert!(!text.contains("1. alice"), "{text}");
}
