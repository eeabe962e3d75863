//! Time-bound licences against the fake Microsoft: a licence asked for a week is released in
//! Graph when the week is over, directly or by leaving the licensing group.

use crate::support::bot::{approval_with, assert_dm_says, id, request_state};
use crate::support::fake_microsoft::{FakeMicrosoft, PRO_GROUP};
use crate::support::Bot;

const DAY: u64 = 24 * 3600;

/// A bot on the fake with `extra` settings; alice asks for a week and carol approves.
fn alice_gets_a_week(fake: &FakeMicrosoft, extra: &[(&str, &str)]) -> (tempfile::TempDir, Bot) {
    let (toml, env) = fake.bot_settings(false);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend_from_slice(extra);
    let (dir, mut bot) = Bot::start_with(&toml, &env);
    bot.link_with("alice", "alice@contoso.example", |to| fake.mailed_code(to));
    bot.say("alice", "!pro request for 7d");
    let got = bot.idle();
    let approval = approval_with(&got, "assign the licence");
    assert!(
        approval["content"]
            .as_str()
            .unwrap()
            .contains("Term: 7 days, until"),
        "{approval:#?}"
    );
    bot.react("carol", &id(approval), "✅");
    bot.idle();
    (dir, bot)
}

#[test]
fn a_week_long_licence_is_removed_in_graph_when_the_week_is_over() {
    let fake = FakeMicrosoft::start();
    let (dir, mut bot) = alice_gets_a_week(&fake, &[]);
    assert_eq!(fake.licences_of("alice@contoso.example"), ["POWER_BI_PRO"]);

    bot.advance(6 * DAY + 3600);
    let reminded = bot.idle();
    assert_dm_says(&reminded, "alice", &["ends on", "!pro extend"]);
    bot.advance(DAY);
    let ended = bot.idle();
    bot.finish();

    assert_dm_says(
        &ended,
        "alice",
        &["is done", "removed from alice@contoso.example"],
    );
    assert_eq!(request_state(dir.path(), 2), "completed");
    assert!(fake.licences_of("alice@contoso.example").is_empty());
    assert_eq!(
        fake.ops("POST", "/assignLicense"),
        2,
        "given, then taken away"
    );
}

#[test]
fn in_group_mode_the_end_of_the_term_takes_the_member_out() {
    let fake = FakeMicrosoft::start();
    fake.state().group_licence_delay = chrono::Duration::zero();
    let group = [
        ("LICENSEBOT__LICENSING__MODE", "group"),
        ("LICENSEBOT__LICENSING__GROUP_ID", PRO_GROUP),
        ("LICENSEBOT__JOBS__VERIFY_INTERVAL", "100ms"),
    ];
    let (dir, mut bot) = alice_gets_a_week(&fake, &group);
    assert!(fake
        .members_of(PRO_GROUP)
        .contains(&"alice@contoso.example".to_string()));

    bot.advance(7 * DAY + 60);
    bot.idle();
    bot.finish();

    assert_eq!(request_state(dir.path(), 2), "completed");
    assert!(!fake
        .members_of(PRO_GROUP)
        .contains(&"alice@contoso.example".to_string()));
    assert_eq!(fake.ops("POST", "/assignLicense"), 0);
}
