//! Decisions: who may decide, first decision wins, policy before requests.

use licensebot::chat::ChatEvent;

use super::harness::{captured, reaction, Harness};

#[tokio::test]
async fn the_first_valid_decision_wins_and_the_second_is_reported() {
    let h = Harness::asked_by("alice").await;
    let m = h.approval("Request #1");
    // Two approvers react at the same moment.
    let react_now = |user: &str, emoji: &str| {
        let (engine, event) = (h.engine.clone(), reaction(user, &m, emoji));
        tokio::spawn(async move { engine.handle(ChatEvent::ReactionAdded(event)).await })
    };
    let deny = react_now("dave", "❌");
    let approve = react_now("carol", "✅");
    deny.await.unwrap();
    approve.await.unwrap();
    h.engine.settle().await;
    let decided = h
        .scalar("SELECT COUNT(*) FROM stages WHERE decided_by IS NOT NULL")
        .await;
    assert_eq!(decided, 1);
    let state = h.state(1).await;
    assert!(state == "completed" || state == "denied", "{state}");
    h.assert_said("your decision changes nothing");
    assert_eq!(h.audits("late_decision_reported").await, 1);
}

/// The same reaction delivered twice at once (a gateway replay racing the catch-up, say)
/// decides once; the second changes nothing and fails nothing, whether it found the
/// reaction applied when it read or only when it wrote (seen in the log).
#[tokio::test]
async fn the_same_reaction_twice_at_once_decides_once_and_the_second_fails_nothing() {
    let people = ["alice", "judy", "kim", "ivan"];
    let h = Harness::new(&[]).await;
    h.tenant_exec("UPDATE skus SET enabled = enabled + 3 WHERE sku_part_number = 'POWER_BI_PRO'")
        .await;
    // The replay's line and any error; no span (one dropped on sqlx's threads, under
    // another subscriber, would fail).
    let (log, _logged) = captured("licensebot::engine::catchup=debug,licensebot::engine=error");
    for (n, who) in people.iter().enumerate() {
        h.asks(who).await;
        h.engine.deliver().await;
        let m = h.approval(&format!("Request #{},", n + 1));
        let twice: Vec<_> = (0..2)
            .map(|_| {
                let (engine, event) = (h.engine.clone(), reaction("carol", &m, "✅"));
                tokio::spawn(async move { engine.handle(ChatEvent::ReactionAdded(event)).await })
            })
            .collect();
        for one in twice {
            one.await.unwrap();
        }
    }
    h.engine.settle().await;
    assert_eq!(
        h.audits("stage_approved").await,
        people.len() as i64,
        "{}",
        h.text()
    );
    h.assert_not_said("your decision changes nothing");
    let log = log.text();
    assert!(!log.contains("ERROR"), "{log}");
    assert!(
        log.contains("reaction applied meanwhile; replay ignored"),
        "the second found the reaction applied only when it wrote: {log}"
    );
    for n in 1..=people.len() as i64 {
        assert_eq!(h.state(n).await, "completed", "{}", h.text());
    }
}

#[tokio::test]
async fn one_open_request_per_person_and_a_limit_per_requester() {
    let h = Harness::new(&[("LICENSEBOT__POLICY__MAX_OPEN_REQUESTS_PER_USER", "1")]).await;
    h.asks("alice").await;
    h.answer_says(
        "alice",
        "!pro request again",
        "already an open request for alice@contoso.example: #1",
    )
    .await;
    h.say_and_deliver("dave", "!pro request for alice@contoso.example")
        .await;
    assert_eq!(h.requests().await, 1);
    // An approver asking for others is held to the limit on their own open requests.
    h.say_and_deliver("dave", "!pro request for kim@contoso.example")
        .await;
    assert_eq!(h.requests().await, 2);
    h.answer_says(
        "dave",
        "!pro request for ivan@contoso.example",
        "You have 1 open requests, and the limit is 1",
    )
    .await;
    assert_eq!(h.requests().await, 2);
    h.asks("judy").await;
    h.answer_says(
        "judy",
        "!pro request for kim@contoso.example",
        "Only approvers can ask for a licence for someone else",
    )
    .await;
}

#[tokio::test]
async fn a_non_approver_cannot_use_approver_commands_and_bad_input_changes_nothing() {
    let h = Harness::linked(&["alice"]).await;
    let before = h.scalar("SELECT COUNT(*) FROM audit_events").await;
    for bad in [
        "!pro buy 5",
        "!pro assign judy@contoso.example",
        "!pro revoke @judy",
        "!pro buy 0",
        "!pro buy -3",
        "!pro buy 99999999999999999999999",
        "!pro cancel 999",
        "!pro status 999",
        "!pro link nobody@contoso.example",
        "!pro link 'or 1=1--@x.y",
        "!pro frobnicate",
        "!pro request for x'or'1'='1@contoso.example",
    ] {
        h.say("alice", bad).await;
    }
    h.engine.deliver().await;
    assert_eq!(h.requests().await, 0);
    assert_eq!(h.scalar("SELECT COUNT(*) FROM audit_events").await, before);
    let replies = h.said().len();
    assert_eq!(
        replies,
        12 + 2,
        "each bad line got exactly one answer (plus the link's two: code mailed, verified)"
    );
    h.assert_said("Only approvers can use `buy`");
    h.assert_said("There is no request #999");
    h.assert_said("can't find nobody@contoso.example");
}

#[tokio::test]
async fn a_stage_is_routed_only_to_approvers_holding_its_role_and_not_away() {
    let h = Harness::new(&[]).await;
    h.say("dave", "!pro away on").await;
    h.asks("alice").await;
    let text = h.text();
    let line = text
        .lines()
        .find(|l| l.starts_with("May decide"))
        .unwrap()
        .to_string();
    assert!(
        line.contains("@carol") && !line.contains("@dave") && !line.contains("@bob"),
        "{line}"
    );
    h.answer_says("carol", "!pro pending", "1 approval waiting for you")
        .await;
    // dave, away, may still decide when he sees it.
    h.approve("dave", "Request #1").await;
    h.engine.settle().await;
    assert_eq!(h.state(1).await, "completed");
}

#[tokio::test]
async fn dutch_texts_come_from_the_catalogue() {
    let h = Harness::new(&[("LICENSEBOT__BOT__LANGUAGE", "nl")]).await;
    h.answer_says("alice", "!pro request", "Koppel eerst je chataccount")
        .await;
}

/// Whoever reacts is answered in the language they chose (read with the approval message,
/// in the same statement), and only they: the next person's answer is in the default.
#[tokio::test]
async fn a_reaction_is_answered_in_the_reacting_persons_language() {
    let h = Harness::asked_by("alice").await;
    h.answer_says("mallory", "!pro language nl", "Vanaf nu")
        .await;
    h.approve("mallory", "Request #1").await;
    h.assert_said("Alleen goedkeurders kunnen besluiten over aanvraag #1");
    h.approve("eve", "Request #1").await;
    h.assert_said("Only approvers can decide on request #1");
    assert_eq!(h.audits("decision_ignored_not_approver").await, 2);
    assert_eq!(h.state(1).await, "pending");
}
