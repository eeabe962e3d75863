//! The pace the engine tells its observer (the operator's time to decision and time to
//! done): how long an approver took to decide and a request to be done, told once each.

use std::time::Duration;

use super::harness::Harness;

#[tokio::test]
async fn a_reaction_after_ten_minutes_is_heard_as_ten_minutes_to_decide_and_to_be_done() {
    let h = Harness::linked(&["alice"]).await;
    h.say("alice", "!pro request").await;
    h.advance(Duration::from_secs(600));
    h.approve("carol", "Request #1").await;
    h.engine.settle().await;
    assert_eq!(h.state(1).await, "completed", "{}", h.text());

    // Carol reacted ten minutes after the approval message went out; the licence was
    // assigned at once after.
    let ten_minutes = [Duration::from_secs(600)];
    assert_eq!(*h.observed.decided.lock().unwrap(), ten_minutes);
    assert_eq!(*h.observed.completed.lock().unwrap(), ten_minutes);
}

#[tokio::test]
async fn an_approvers_own_command_is_no_decision_waited_for() {
    let h = Harness::linked(&["alice"]).await;
    h.say("dave", "!pro assign alice@contoso.example").await;
    h.engine.settle().await;
    assert_eq!(h.state(1).await, "completed", "{}", h.text());

    assert!(h.observed.decided.lock().unwrap().is_empty());
    assert_eq!(h.observed.completed.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_denial_is_a_decision_and_no_completion() {
    let h = Harness::linked(&["alice"]).await;
    h.say("alice", "!pro request").await;
    h.advance(Duration::from_secs(90));
    h.react("carol", &h.approval("Request #1"), "❌").await;
    h.engine.settle().await;
    assert_eq!(h.state(1).await, "denied", "{}", h.text());

    assert_eq!(
        *h.observed.decided.lock().unwrap(),
        [Duration::from_secs(90)]
    );
    assert!(h.observed.completed.lock().unwrap().is_empty());
}
