//! Reactions are applied once: a replayed add (a gateway resume, a catch-up after a
//! restart) changes nothing, while a reaction removed and added again is a new event.
//! Driven on the console, where replays are easy to type.

use crate::support::bot::{asked, request_state, sends_in};

#[test]
fn a_replayed_reaction_is_applied_once_and_a_re_added_one_is_new() {
    let (dir, mut bot, m) = asked("alice", "alice@contoso.example");

    bot.react("carol", &m, "✅");
    bot.idle();
    bot.react("carol", &m, "✅");
    let replayed = bot.idle();

    assert!(replayed.is_empty(), "a replay says nothing: {replayed:#?}");
    assert_eq!(request_state(dir.path(), 1), "completed");

    bot.unreact("carol", &m, "✅");
    bot.react("carol", &m, "✅");
    let again = bot.idle();
    assert!(
        sends_in(&again, "license-approvals")
            .iter()
            .any(|c| c.contains("already")),
        "a new reaction after the decision is reported as late: {again:#?}"
    );
    bot.finish();
}
