//! Bulk assignment and coalesced purchases.

use std::time::Duration;

use licensebot::chat::{ChatEvent, IncomingMessage};
use licensebot::domain::{ChannelRef, ChatUserId, MessageRef};

use crate::support::bot::assert_says;

use super::harness::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_are_not_planned_while_assignments_are_in_flight() {
    let h = Harness::new(&[]).await;
    // Two free seats: alice takes one, judy needs the other; nobody needs to buy any.
    h.set_pro_seats(3).await;
    h.tenant.answers_flow.send_replace(false);
    h.say("dave", "!pro assign alice@contoso.example").await;
    let worker = h.jobs_under_way().await;

    // alice's seat is taken in the tenant while her stage is still executing.
    let mut second = tokio::spawn({
        let engine = h.engine.clone();
        async move {
            engine
                .handle(ChatEvent::Message(IncomingMessage {
                    id: MessageRef("u-judy".into()),
                    channel: ChannelRef("general".into()),
                    author: ChatUserId("dave".into()),
                    content: "!pro assign judy@contoso.example".into(),
                    reply_to: None,
                    direct: false,
                    public: true,
                    author_name: "dave".into(),
                    roles: Vec::new(),
                    locale: None,
                }))
                .await
        }
    });
    let planned_meanwhile = tokio::time::timeout(Duration::from_millis(300), &mut second)
        .await
        .is_ok();
    h.tenant.answers_flow.send_replace(true);
    worker.await.unwrap();
    if !planned_meanwhile {
        second.await.unwrap();
    }
    h.engine.settle().await;

    assert!(!planned_meanwhile, "planned while a batch was in flight");
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM stages WHERE kind = 'purchase'")
            .await,
        0,
        "{}",
        h.text()
    );
    assert_eq!(h.state(1).await, "completed");
    assert_eq!(h.state(2).await, "completed", "{}", h.text());
}

/// Three people in one command, with one free seat: one fits, two wait on a purchase.
const ALICE_JUDY_KIM: &str =
    "!pro assign alice@contoso.example judy@contoso.example kim@contoso.example";

/// The only text of `texts` (what it is, `what`, is said when there is not exactly one).
fn only<'a>(texts: &'a [String], what: &str) -> &'a str {
    assert_eq!(texts.len(), 1, "{what}: {texts:#?}");
    &texts[0]
}

/// A fresh engine where `approver` wrote `command` (an `!pro assign` of several people) and
/// the engine settled all that followed.
async fn assigned_by(approver: &str, command: &str) -> Harness {
    let h = Harness::new(&[]).await;
    h.say_and_settle(approver, command).await;
    h
}

#[tokio::test]
async fn a_batch_beyond_the_free_seats_gets_one_purchase_covering_every_waiting_request() {
    // One free seat, four people: one fits, three wait on a single purchase of three seats.
    let four = "!pro assign alice@contoso.example, judy@contoso.example kim@contoso.example \
                ivan@contoso.example";
    let h = assigned_by("dave", four).await;
    assert_eq!(h.requests().await, 4, "{}", h.text());
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM stages WHERE kind = 'purchase'")
            .await,
        1
    );
    assert_eq!(
        h.scalar("SELECT quantity FROM stages WHERE kind = 'purchase'")
            .await,
        3
    );
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM stages WHERE depends_on IS NOT NULL")
            .await,
        2
    );
    for id in 1..=4 {
        assert_eq!(h.state(id).await, "completed", "request {id}: {}", h.text());
    }
    assert_eq!(h.pro_seats().await, 4);
    assert_eq!(h.tenant_scalar("SELECT COUNT(*) FROM purchases").await, 1);
}

#[tokio::test]
async fn when_the_batch_purchase_is_denied_the_waiting_requests_end_too() {
    // carol may assign but not buy: the purchase goes to bob and dave.
    let h = assigned_by("carol", ALICE_JUDY_KIM).await;
    assert_eq!(h.state(1).await, "completed", "{}", h.text());
    let purchase = h.approval("buy 2 seats");
    h.react_and_settle("bob", &purchase, "❌").await;
    assert_eq!(h.state(2).await, "denied");
    assert_eq!(h.state(3).await, "cancelled");
    h.assert_said("did not go through");
    assert_eq!(h.tenant_scalar("SELECT COUNT(*) FROM purchases").await, 0);
}

#[tokio::test]
async fn a_batch_reports_each_person_it_cannot_serve() {
    let mixed = "!pro assign frank@contoso.example heidi@contoso.example \
                 nobody@contoso.example @ghost alice@contoso.example";
    let h = assigned_by("dave", mixed).await;
    let text = h.text();
    assert_says(
        &text,
        &[
            "through SPE_E5",
            "is disabled",
            "can't find nobody@contoso.example",
            "@ghost has not verified a link",
        ],
    );
    assert_eq!(h.requests().await, 1);
    assert_eq!(h.state(1).await, "completed");
}

#[tokio::test]
async fn a_batch_is_reported_to_its_requester_once_when_all_of_it_has_ended() {
    let h = assigned_by("dave", ALICE_JUDY_KIM).await;
    let dms = h.dms("dave");
    let summary = only(&dms, "one summary, not a message per request");
    assert!(
        summary.contains("Your requests #1 to #3: 3 of 3 done"),
        "{dms:#?}"
    );
    let approvals = h.posts_in("license-approvals");
    let record = only(&approvals, "one record of the command's approvals");
    assert!(
        record.contains("Approved by @dave with a command"),
        "{approvals:#?}"
    );
    assert!(
        record.contains("buy 2 seats, monthly, 28.00 USD per month"),
        "{approvals:#?}"
    );
}
