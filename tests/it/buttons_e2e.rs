//! Approve / Deny buttons on approval messages, on the real binary against the fake Discord:
//! a press is the same decision as the reaction, by the same rules; whoever may not decide
//! is told privately (an ephemeral answer to their press) and nothing is posted in the
//! channel; a press after a restart still decides.

use crate::discord_e2e::{mention, Setup};
use crate::support::discord_bot::{request_state, TIMEOUT};
use crate::support::fake_discord::{Msg, APPROVALS, BOT, GENERAL};

const APPROVE: &str = "licensebot:approve";
const DENY: &str = "licensebot:deny";
/// The message flag EPHEMERAL: only the presser sees it.
const EPHEMERAL: u64 = 64;

/// The buttons on a message: (custom id, label, style).
fn buttons(m: &Msg) -> Vec<(String, String, u64)> {
    m.components
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|b| {
            (
                b["custom_id"].as_str().unwrap_or_default().to_string(),
                b["label"].as_str().unwrap_or_default().to_string(),
                b["style"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

/// The bot's messages everyone in `channel` sees (not the ephemeral answers to a press).
fn public_posts(s: &Setup, channel: u64) -> Vec<Msg> {
    s.fake.view(|v| {
        v.messages_in(channel)
            .into_iter()
            .filter(|m| m.author == BOT && m.flags & EPHEMERAL == 0)
            .collect()
    })
}

/// Waits for the private answer to press `id` saying `needle`: acknowledged as deferred
/// and ephemeral (callback type 5, flags 64), then filled in.
async fn told_privately(s: &Setup, id: u64, needle: &str) -> Msg {
    let (_, answer) = s
        .fake
        .wait_for(
            &format!("the answer to press {id} with {needle:?}"),
            TIMEOUT,
            |v| {
                v.interaction(id).filter(|(response, m)| {
                    *response == Some((5, EPHEMERAL))
                        && m.as_ref()
                            .is_some_and(|m| m.content.contains(needle) && !m.deleted)
                })
            },
        )
        .await;
    let answer = answer.expect("an answer");
    assert_eq!(
        answer.flags & EPHEMERAL,
        EPHEMERAL,
        "only the presser sees it"
    );
    answer
}

/// Waits until press `id`'s "thinking…" is gone: the bot had nothing to say to the presser.
async fn answered_silently(s: &Setup, id: u64) {
    s.fake
        .wait_for(&format!("press {id}'s placeholder to go"), TIMEOUT, |v| {
            v.interaction(id).and_then(|(response, m)| {
                (response == Some((5, EPHEMERAL)) && m.is_some_and(|m| m.deleted)).then_some(())
            })
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_decide_like_reactions_and_refusals_are_private() {
    let (s, approval) = Setup::alice_asked().await;
    assert_eq!(
        buttons(&approval),
        [
            (APPROVE.to_string(), "Approve".to_string(), 3),
            (DENY.to_string(), "Deny".to_string(), 4)
        ],
        "Approve (green) and Deny (red)"
    );
    let in_general = public_posts(&s, GENERAL).len();
    let in_approvals = public_posts(&s, APPROVALS).len();

    // Someone who is no approver: told privately, nothing posted, no DM, still pending.
    let press = s.fake.press("mallory", approval.id, APPROVE);
    told_privately(&s, press, "Only approvers can decide on request #1").await;
    assert_eq!(request_state(s.dir.path(), 1).await, "pending");
    assert_eq!(public_posts(&s, GENERAL).len(), in_general);
    assert_eq!(public_posts(&s, APPROVALS).len(), in_approvals);
    assert!(s.fake.view(|v| v.dms_to("mallory")).is_empty());

    // An approver approves by button; a second approver's Deny, pressed on the message as
    // their app still showed it, changes nothing and is said to them alone.
    let approve = s.fake.press("carol", approval.id, APPROVE);
    answered_silently(&s, approve).await;
    let deny = s.fake.press("dave", approval.id, DENY);
    told_privately(&s, deny, "your decision changes nothing").await;
    let done = s.edited(approval.id, "Done").await;
    assert!(
        buttons(&done).is_empty(),
        "a decided stage has no buttons: {done:?}"
    );
    // It said who approved before it said done (the edit may be overtaken by then).
    let approved_by = format!("Approved by {}", mention("carol"));
    let edits = s.fake.view(|v| {
        v.calls_to("PATCH", &format!("/messages/{}", approval.id))
            .iter()
            .filter_map(|c| c.json()["content"].as_str().map(str::to_string))
            .collect::<Vec<_>>()
    });
    assert!(edits.iter().any(|t| t.contains(&approved_by)), "{edits:#?}");
    s.dm("alice", "is done").await;
    assert_eq!(request_state(s.dir.path(), 1).await, "completed");
    assert!(
        !public_posts(&s, APPROVALS)
            .iter()
            .any(|m| m.content.contains("already")),
        "a late press is not announced in the channel"
    );
    s.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_cannot_approve_their_own_request_by_button() {
    let s = Setup::start().await;
    let approval = s.asks("carol", "!pro request for my own reports", 1).await;
    let press = s.fake.press("carol", approval.id, APPROVE);
    told_privately(&s, press, "it is yours").await;
    assert_eq!(request_state(s.dir.path(), 1).await, "pending");
    assert!(s.fake.view(|v| v.dms_to("carol")).is_empty());
    let now = s.fake.view(|v| v.message(approval.id)).expect("approval");
    assert!(!now.content.contains("Approved"), "{}", now.content);
    assert_eq!(buttons(&now).len(), 2, "the stage still waits: {now:?}");
    s.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_button_denies_and_buttons_still_decide_after_a_restart() {
    let (mut s, approval) = Setup::alice_asked().await;
    s.stop().await;
    s.boot().await;
    let press = s.fake.press("dave", approval.id, DENY);
    s.edited(approval.id, &format!("Denied by {}", mention("dave")))
        .await;
    answered_silently(&s, press).await;
    s.dm("alice", "denied").await;
    assert_eq!(request_state(s.dir.path(), 1).await, "denied");
    let denied = s.fake.view(|v| v.message(approval.id)).expect("approval");
    assert!(buttons(&denied).is_empty(), "{denied:?}");
    s.fake.assert_faithful();
}
