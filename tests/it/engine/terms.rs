//! Time-bound licences on the engine's clock: the term on the approval, the reminders a week
//! and a day before the end, the release at the end (the seat stays bought), `!pro extend`
//! as a new approval, and `[policy] max_duration`.

use std::time::Duration;

use super::harness::Harness;

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Alice links and asks with `ask`; carol approves request #1; all runs.
async fn alice_gets(h: &Harness, ask: &str) {
    h.link_own("alice").await;
    h.say_and_settle("alice", ask).await;
    h.approve("carol", "Request #1").await;
    h.engine.settle().await;
    assert_eq!(h.state(1).await, "completed", "{}", h.text());
}

async fn alice_holds(h: &Harness) -> bool {
    h.holds_pro("alice@contoso.example").await
}

/// Moves the clock by `d` and lets everything due run.
async fn after(h: &Harness, d: Duration) {
    h.advance_and_settle(d).await;
}

#[tokio::test]
async fn a_licence_for_thirty_days_is_reminded_of_and_released_at_its_end() {
    let h = Harness::linked(&["alice"]).await;
    h.say_and_settle("alice", "!pro request for 30d for the quarter close")
        .await;
    assert!(h
        .sent_text("assign the licence")
        .contains("Term: 30 days, until"));
    h.approve("carol", "Request #1").await;
    h.engine.settle().await;
    h.assert_told("alice", "it runs until");
    let seats = h.pro_seats().await;

    after(&h, 22 * DAY).await;
    assert!(
        h.dms("alice").iter().all(|d| !d.contains("ends on")),
        "not yet"
    );
    after(&h, 2 * DAY).await;
    h.assert_told("alice", "ends on");
    after(&h, 5 * DAY + Duration::from_secs(3600)).await;
    let reminders = h
        .dms("alice")
        .iter()
        .filter(|d| d.contains("ends on"))
        .count();
    assert_eq!(reminders, 2, "a week and a day before");
    assert!(alice_holds(&h).await, "not before the end");

    after(&h, DAY).await;
    assert!(!alice_holds(&h).await, "released at the end");
    assert_eq!(h.state(2).await, "completed");
    h.assert_said("The term of a licence @alice asked for ended");
    h.assert_told("alice", "Power BI Pro removed from alice@contoso.example");
    assert_eq!(h.pro_seats().await, seats, "the seat stays bought");
    assert_eq!(h.audits("term_reminded").await, 2);
    assert_eq!(h.audits("term_ended").await, 1);

    // Nothing more happens, however often the clock ticks, in this engine or another.
    after(&h, 40 * DAY).await;
    h.another_engine().settle().await;
    assert_eq!(h.requests().await, 2);
    assert_eq!(h.audits("term_reminded").await, 2);
}

#[tokio::test]
async fn an_extension_is_a_new_approval_and_moves_the_end() {
    let h = Harness::new(&[]).await;
    alice_gets(&h, "!pro request for 30d").await;
    after(&h, 25 * DAY).await;
    h.assert_told("alice", "ends on");

    h.say_and_settle("alice", "!pro extend for 2w").await;
    let approval = h.sent_text("Extends the time-bound licence of request #1");
    assert!(approval.contains("by 14 days"), "{approval}");
    // Awaiting the decision, the licence is kept past its end.
    after(&h, 6 * DAY).await;
    assert!(alice_holds(&h).await, "kept while the extension is decided");
    h.approve("carol", "Request #2").await;
    h.engine.settle().await;
    assert_eq!(h.state(2).await, "completed", "{}", h.text());
    h.assert_told("alice", "extended until");

    after(&h, 10 * DAY).await;
    assert!(
        alice_holds(&h).await,
        "the new end is 14 days after the old one"
    );
    after(&h, 5 * DAY).await;
    assert!(!alice_holds(&h).await, "released at the new end");
    assert_eq!(h.requests().await, 3);
}

#[tokio::test]
async fn the_longest_term_is_given_to_requests_without_one_and_longer_ones_are_refused() {
    let h = Harness::new(&[("LICENSEBOT__POLICY__MAX_DURATION", "3m")]).await;
    h.link_own("alice").await;
    h.say_and_settle("alice", "!pro request for 6m").await;
    h.assert_said("at most 90 days here; you asked for 180");
    assert_eq!(h.requests().await, 0, "nothing opened");

    h.say_and_settle("alice", "!pro request").await;
    assert!(h
        .sent_text("assign the licence")
        .contains("Term: 90 days, until"));
}

#[tokio::test]
async fn extend_without_a_time_bound_licence_says_so() {
    let h = Harness::alice_holds_pro().await;
    h.settled_answer_says(
        "alice",
        "!pro extend",
        "You have no time-bound licence to extend",
    )
    .await;
    assert_eq!(h.requests().await, 1);
}

#[tokio::test]
async fn a_licence_gone_before_its_end_ends_without_a_release() {
    let h = Harness::new(&[]).await;
    alice_gets(&h, "!pro request for 7d").await;
    h.tenant_exec("DELETE FROM assignments WHERE upn = 'alice@contoso.example'")
        .await;
    after(&h, 8 * DAY).await;
    assert_eq!(h.requests().await, 1, "nothing to release");
    assert_eq!(h.audits("term_ended").await, 1);
}
