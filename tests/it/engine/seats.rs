//! Seat reductions: never below the seats in use or promised, not while buying, with
//! Microsoft's reduction window spelled out.

use super::harness::Harness;

/// bob asks to remove one seat and is refused, told `needle`; the requests stay `requests`
/// (no reduction is opened).
async fn refused_removing_one(h: &Harness, needle: &str, requests: i64) {
    h.settled_answer_says("bob", "!pro seats remove 1", needle)
        .await;
    assert_eq!(h.requests().await, requests, "no reduction opened");
}

#[tokio::test]
async fn a_billing_approver_removes_seats_down_to_what_is_in_use() {
    let h = Harness::new(&[]).await;
    h.say_and_settle("bob", "!pro buy 3").await;
    assert_eq!(h.pro_seats().await, 4);
    h.say_and_settle("dave", "!pro assign alice@contoso.example")
        .await;

    h.say_and_settle("bob", "!pro seats remove 3").await;

    assert_eq!(h.pro_seats().await, 1);
    assert_eq!(h.state(3).await, "completed");
    h.assert_said("remove 3 seats");
    // The window is spelled out.
    h.assert_said("only within a short window");
    h.assert_said("3 seats removed; the tenant now has 1");
    let q: i64 = h.scalar("SELECT quantity FROM requests WHERE id = 3").await;
    assert_eq!(
        q, -3,
        "a reduction is a purchase request with a negative quantity"
    );
}

#[tokio::test]
async fn seats_in_use_or_promised_are_never_removed() {
    let h = Harness::new(&[]).await;
    // Alice's pending request is promised the only seat.
    h.asks("alice").await;
    refused_removing_one(&h, "fewer than the 1 in use or promised", 1).await;
    assert_eq!(h.pro_seats().await, 1);
}

/// A purchase nobody approved yet is not "being bought": the refusal says it waits for
/// approval, and in which request.
#[tokio::test]
async fn a_reduction_waits_for_a_purchase_that_awaits_approval_and_says_so() {
    let h = Harness::linked(&["alice", "judy"]).await;
    h.say("alice", "!pro request").await;
    h.say("judy", "!pro request").await;
    // Judy's request waits on a purchase stage.
    refused_removing_one(&h, "A change of 1 seat waits for approval in request #2", 2).await;
    h.assert_not_said("Seats are being bought");
}

/// An approved purchase that a person still has to make (manual mode) is on order: no
/// reduction until it is done.
#[tokio::test]
async fn no_reduction_while_seats_are_on_order() {
    let h = Harness::manual(&[]).await;
    h.say_and_settle("bob", "!pro buy 2").await;
    assert_eq!(h.state(1).await, "approved", "{}", h.text());
    refused_removing_one(&h, "Request #1 is changing the seat count right now", 1).await;
}

#[tokio::test]
async fn an_approver_without_a_purchase_role_asks_the_billing_approvers() {
    let h = Harness::new(&[]).await;
    h.say_and_settle("bob", "!pro buy 1").await;
    h.say_and_settle("carol", "!pro seats remove 1").await;
    let approval = h.approval("remove 1 seat");
    assert_eq!(h.state(2).await, "pending");
    h.react_and_settle("bob", &approval, "✅").await;
    assert_eq!(h.state(2).await, "completed");
    assert_eq!(h.pro_seats().await, 1);
}

#[tokio::test]
async fn in_manual_mode_a_reduction_is_a_task_for_a_person() {
    let h = Harness::manual(&[]).await;
    h.set_pro_seats(3).await;
    h.settled_answer_says(
        "bob",
        "!pro seats remove 2",
        "remove 2 Power BI Pro seats, so that the tenant has 1",
    )
    .await;
    assert_eq!(h.state(1).await, "approved");
    h.set_pro_seats(1).await;
    h.say_and_settle("bob", "!pro purchased 1").await;
    assert_eq!(h.state(1).await, "completed", "{}", h.text());
}
