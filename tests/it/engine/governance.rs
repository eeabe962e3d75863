//! The rules on money: two approvals by two different people above a size or cost, and a
//! monthly budget only the over-budget roles may pass. bob is a Billing Administrator, dave
//! a Global Administrator (both may buy; only dave may pass the budget), carol a License
//! Administrator; a seat costs 14.00 USD a month and the tenant starts with one seat.

use super::harness::Harness;

const TWO_ABOVE_2_SEATS: (&str, &str) = ("LICENSEBOT__POLICY__TWO_PERSON_ABOVE_SEATS", "2");

/// A fresh engine with the two-person rule above 2 seats, where `buyer` asked to buy 3 seats
/// (request #1, left pending): the harness and the approval message's id.
async fn three_seats_asked_by(buyer: &str) -> (Harness, String) {
    let h = Harness::new(&[TWO_ABOVE_2_SEATS]).await;
    h.say_and_settle(buyer, "!pro buy 3").await;
    assert_eq!(h.state(1).await, "pending", "{}", h.text());
    let approval = h.approval("Request #1");
    (h, approval)
}

#[tokio::test]
async fn a_large_purchase_needs_a_second_person_and_the_first_twice_is_still_one() {
    // carol (no purchase role) asks for 3 seats: bob and dave must both approve.
    let (h, approval) = three_seats_asked_by("carol").await;
    h.assert_said("Two-person rule: this purchase needs approvals by two different people (more than 2 seats)");
    h.react_and_settle("bob", &approval, "✅").await;
    assert_eq!(h.state(1).await, "pending");
    h.assert_said("1 of 2 approvals: @bob. Waiting for a second approver.");
    assert_eq!(h.audits("stage_approval_counted").await, 1);
    // bob again is still one approval.
    h.react_and_settle("bob", &approval, "👍").await;
    assert_eq!(h.state(1).await, "pending");
    h.assert_told("bob", "you approved request #1 already");
    assert_eq!(h.audits("decision_refused_same_approver").await, 1);
    assert_eq!(h.pro_seats().await, 1);

    h.react_and_settle("dave", &approval, "✅").await;
    assert_eq!(h.state(1).await, "completed", "{}", h.text());
    assert_eq!(h.pro_seats().await, 4);
    h.assert_said("Approved by @bob and @dave");
    // A small purchase is one approval, as before.
    h.say_and_settle("bob", "!pro buy 2").await;
    assert_eq!(h.state(2).await, "completed");
}

/// The requester is no approver of their own purchase, even holding a purchase role: with
/// the two-person rule, bob's own `buy` is approved by neither his command nor his reaction.
#[tokio::test]
async fn the_requesters_command_and_reaction_count_for_nothing() {
    let (h, approval) = three_seats_asked_by("bob").await;
    h.assert_not_said("Approved by @bob with a command");
    h.react_and_settle("bob", &approval, "✅").await;
    assert_eq!(h.audits("self_decision_refused").await, 1);
    assert_eq!(h.scalar("SELECT COUNT(*) FROM stage_approvals").await, 0);
    h.react_and_settle("dave", &approval, "✅").await;
    assert_eq!(
        h.state(1).await,
        "pending",
        "one approval of two: {}",
        h.text()
    );
}

#[tokio::test]
async fn the_requester_counts_for_nothing_and_a_deny_by_either_ends_it() {
    let h = Harness::new(&[("LICENSEBOT__POLICY__TWO_PERSON_ABOVE_COST", "10")]).await;
    h.asks("alice").await; // takes the free seat
                           // bob (an approver, linked by the configuration) asks for himself: his purchase stage
                           // costs 14.00 a month, above 10.
    h.say_and_settle("bob", "!pro request").await;
    let purchase = h.approval("Request #2, stage 1");
    h.assert_said("14.00 USD per month, above 10.00 USD");
    h.react_and_settle("bob", &purchase, "✅").await;
    assert_eq!(h.audits("self_decision_refused").await, 1);
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM stage_approvals").await,
        0,
        "the requester's reaction is no approval"
    );
    h.react_and_settle("dave", &purchase, "✅").await;
    assert_eq!(h.scalar("SELECT COUNT(*) FROM stage_approvals").await, 1);
    // dave changes his mind: a deny by either ends it.
    h.react_and_settle("dave", &purchase, "❌").await;
    assert_eq!(h.state(2).await, "denied", "{}", h.text());
    assert_eq!(h.pro_seats().await, 1);
}

#[tokio::test]
async fn the_first_approval_survives_a_restart_and_the_second_completes_the_purchase() {
    let h = Harness::new(&[TWO_ABOVE_2_SEATS]).await;
    h.asks("alice").await;
    h.say_and_settle(
        "carol",
        "!pro assign judy@contoso.example kim@contoso.example ivan@contoso.example",
    )
    .await;
    // Three people wait on a purchase of three seats.
    let purchase = h.approval("buy 3 seats");
    h.react_and_settle("dave", &purchase, "✅").await;
    assert_eq!(h.scalar("SELECT COUNT(*) FROM stage_approvals").await, 1);

    let again = h.another_engine();
    again
        .handle(licensebot::chat::ChatEvent::ReactionAdded(
            super::harness::reaction("bob", &purchase, "✅"),
        ))
        .await;
    again.settle().await;
    assert_eq!(h.pro_seats().await, 4, "{}", h.text());
    let done = h
        .scalar("SELECT COUNT(*) FROM requests WHERE state = 'completed'")
        .await;
    assert_eq!(
        done,
        3,
        "the three assignments ran after the purchase: {}",
        h.text()
    );
}

#[tokio::test]
async fn a_purchase_over_the_budget_needs_an_over_budget_role_and_spend_is_reported() {
    let h = Harness::new(&[("LICENSEBOT__POLICY__MONTHLY_BUDGET", "20")]).await;
    h.say_and_settle("bob", "!pro buy 1").await;
    assert_eq!(
        h.state(1).await,
        "completed",
        "within the budget: {}",
        h.text()
    );
    // 14 bought, 14 more would pass 20: only a Global Administrator may approve it.
    h.say_and_settle("carol", "!pro buy 1").await;
    assert_eq!(h.state(2).await, "pending");
    h.assert_said("Over this month's budget: 14.00 USD bought or on order this month, budget 20.00 USD; this purchase goes 8.00 USD over. Only GlobalAdministrator may approve it.");
    let approval = h.approval("Request #2");
    h.react_and_settle("bob", &approval, "✅").await;
    assert_eq!(h.state(2).await, "pending");
    assert_eq!(h.audits("decision_refused_missing_role").await, 1);
    h.react_and_settle("dave", &approval, "✅").await;
    assert_eq!(h.state(2).await, "completed");

    h.answer_says("dave", "!pro spend", "2 purchases, 2 seats, 28.00 USD")
        .await;
    h.assert_said(
        "Budget for 2026-03: 20.00 USD; used 28.00 USD (including approved orders); left 0.00 USD",
    );
    h.answer_says("dave", "!pro spend 2019-01", "Nothing bought in 2019-01.")
        .await;
    // In Dutch: the counts in their forms, the money with a decimal comma.
    h.answer_says("dave", "!pro language nl", "Vanaf nu").await;
    h.answer_says("dave", "!pro spend", "2 aankopen, 2 licenties, 28,00 USD")
        .await;
    h.assert_said("Budget voor 2026-03: 20,00 USD; gebruikt 28,00 USD");
    h.answer_says("dave", "!pro language en", "From now on")
        .await;
    h.answer_says("dave", "!pro spend december", "`december` is not a month")
        .await;
    h.answer_says("alice", "!pro spend", "Only approvers can use `spend`")
        .await;
}

#[tokio::test]
async fn the_budget_is_checked_again_when_someone_approves() {
    let h = Harness::new(&[("LICENSEBOT__POLICY__MONTHLY_BUDGET", "20")]).await;
    h.asks("alice").await;
    h.link_own("judy").await;
    h.say_and_settle("judy", "!pro request").await;
    // Posted within the budget ...
    let purchase = h.approval("Request #2, stage 1");
    h.assert_not_said("Over this month's budget");
    // ... but another purchase takes the budget meanwhile.
    h.say_and_settle("bob", "!pro buy 1").await;
    assert_eq!(h.state(3).await, "completed");
    h.react_and_settle("bob", &purchase, "✅").await;
    h.assert_told(
        "bob",
        "Request #2 would go over this month's budget by 8.00 USD",
    );
    assert_eq!(h.audits("decision_refused_over_budget").await, 1);
    assert_eq!(h.state(2).await, "pending");
    // dave passes the budget (and, holding an assign role too, approves the assignment).
    h.react_and_settle("dave", &purchase, "✅").await;
    assert_eq!(h.state(2).await, "completed", "{}", h.text());
}

const ANALYSTS: &str = "5b7e3c9a-1d2f-4a6b-8c0e-9f1a2b3c4d5e";

/// A rule naming alice as a requester, and one for members of the Analysts group.
const RULES: [(&str, &str); 1] = [(
    "LICENSEBOT__AUTO_APPROVE",
    r#"[{ name = "alice asks", requesters = ["alice"] },
        { name = "analysts", directory_groups = ["5B7E3C9A-1D2F-4A6B-8C0E-9F1A2B3C4D5E"] }]"#,
)];

async fn with_analysts(h: &Harness, members: &[&str]) {
    h.tenant_exec(&format!(
        "INSERT INTO groups (id, display_name) VALUES ('{ANALYSTS}', 'Analysts')"
    ))
    .await;
    for m in members {
        h.tenant_exec(&format!(
            "INSERT INTO group_members (group_id, upn, added_at) VALUES ('{ANALYSTS}', '{m}', '2026-01-01T00:00:00.000Z')"
        ))
        .await;
    }
}

#[tokio::test]
async fn a_matching_assignment_with_a_free_seat_is_approved_by_the_rule() {
    let h = Harness::new(&RULES).await;
    h.link_own("alice").await;
    h.say_and_settle("alice", "!pro request").await;
    assert_eq!(h.state(1).await, "completed", "{}", h.text());
    h.assert_said("Approved by the rule “alice asks” (a seat was free)");
    let actor: i64 = h
        .scalar("SELECT COUNT(*) FROM audit_events WHERE actor = 'rule:alice asks' AND action = 'stage_approved'")
        .await;
    assert_eq!(actor, 1, "the audit names the rule as who approved");
    h.answer_says("alice", "!pro status 1", "decided by the rule “alice asks”")
        .await;
    // Approvers may still take it back.
    h.say_and_settle("carol", "!pro revoke alice@contoso.example")
        .await;
    assert_eq!(h.state(2).await, "completed", "{}", h.text());
}

#[tokio::test]
async fn a_rule_never_buys_and_leaves_others_to_the_approvers() {
    let h = Harness::new(&RULES).await;
    with_analysts(&h, &["judy@contoso.example"]).await;
    h.link_own("judy").await;
    h.link_own("kim").await;
    // kim is in no rule: the approvers decide.
    h.say_and_settle("kim", "!pro request").await;
    assert_eq!(h.state(1).await, "pending");
    // judy is an analyst, but no seat is free (kim's request holds it): a purchase is never
    // approved by a rule, so her request waits for the approvers.
    h.say_and_settle("judy", "!pro request").await;
    assert_eq!(h.state(2).await, "pending", "{}", h.text());
    h.assert_not_said("Approved by the rule");
    // With a seat free, the analyst's next request goes through by the rule.
    h.react_and_settle("carol", &h.approval("Request #1"), "❌")
        .await;
    h.say_and_settle("judy", "!pro cancel 2").await;
    h.say_and_settle("judy", "!pro request").await;
    assert_eq!(h.state(3).await, "completed", "{}", h.text());
    h.assert_said("Approved by the rule “analysts”");
}

/// After the first approval, the reminder and the escalation go to the others only.
#[tokio::test]
async fn the_second_approver_is_reminded_and_escalated_to_not_the_first() {
    let h = Harness::new(&[TWO_ABOVE_2_SEATS]).await;
    h.say_and_settle("carol", "!pro buy 3").await;
    h.react_and_settle("bob", &h.approval("Request #1"), "✅")
        .await;
    h.clear();
    h.advance_and_settle(std::time::Duration::from_secs(4 * 3600))
        .await;
    h.assert_said("Reminder @dave: request #1");
    h.advance_and_settle(std::time::Duration::from_secs(20 * 3600))
        .await;
    h.assert_said("📣 @dave: request #1 has waited");
    h.assert_not_said("@bob");
}
