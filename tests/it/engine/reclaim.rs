//! Reclaiming a seat before buying, on the simulated tenant: its sign-ins decide who is
//! listed, ♻️ moves the seat after the grace period, `!pro keep` keeps it.

use std::time::Duration;

use super::harness::Harness;

const DAY: Duration = Duration::from_secs(24 * 3600);

/// A fresh engine where ivan holds the only Pro seat and last used Power BI long ago, and
/// judy asks for one: the harness and the purchase stage's message id.
async fn judy_asks_while_ivan_idles() -> (Harness, String) {
    let h = Harness::new(&[]).await;
    h.set_pro_seats(1).await;
    h.tenant_exec(
        "INSERT INTO assignments (upn, sku_part_number, assigned_at) \
         VALUES ('ivan@contoso.example', 'POWER_BI_PRO', '2026-01-01T00:00:00.000Z')",
    )
    .await;
    h.tenant_exec(
        "INSERT OR REPLACE INTO sign_ins (upn, last_sign_in, last_power_bi_sign_in) \
         VALUES ('ivan@contoso.example', '2025-11-01T00:00:00.000Z', '2025-10-01T00:00:00.000Z')",
    )
    .await;
    h.link_own("ivan").await;
    h.link_own("judy").await;
    h.say_and_settle("judy", "!pro request").await;
    let text = h.sent_text("buy 1 seat");
    assert!(text.contains("1. ivan@contoso.example"), "{text}");
    let m = h.approval("buy 1 seat");
    (h, m)
}

#[tokio::test]
async fn an_idle_holders_seat_moves_after_the_grace_period_and_nothing_is_bought() {
    let (h, m) = judy_asks_while_ivan_idles().await;

    h.react_and_settle("carol", &m, "♻️").await;
    h.assert_told("ivan", "move your Power BI Pro licence");
    h.advance_and_settle(2 * DAY).await;
    assert!(
        h.holds_pro("ivan@contoso.example").await,
        "not before the grace period ends"
    );

    h.advance_and_settle(DAY + Duration::from_secs(60)).await;
    assert_eq!(h.state(1).await, "completed", "{}", h.text());
    assert!(h.holds_pro("judy@contoso.example").await);
    assert!(!h.holds_pro("ivan@contoso.example").await);
    assert_eq!(h.pro_seats().await, 1, "nothing bought");
    h.assert_told("ivan", "was moved to judy@contoso.example");
    h.assert_told("judy", "the seat of ivan@contoso.example was moved");
}

#[tokio::test]
async fn keep_cancels_the_move_and_a_billing_approver_can_still_buy() {
    let (h, m) = judy_asks_while_ivan_idles().await;
    h.react_and_settle("carol", &m, "♻️").await;

    h.settled_answer_says("ivan", "!pro keep", "You keep your Power BI Pro licence")
        .await;
    h.advance_and_settle(4 * DAY).await;
    assert!(h.holds_pro("ivan@contoso.example").await);

    h.react_and_settle("bob", &m, "✅").await;
    assert_eq!(h.state(1).await, "completed", "{}", h.text());
    assert!(h.holds_pro("judy@contoso.example").await);
    assert_eq!(h.pro_seats().await, 2, "bought after all");
}

#[tokio::test]
async fn a_reclaim_needs_an_assign_role() {
    let (h, m) = judy_asks_while_ivan_idles().await;
    h.react_and_settle("bob", &m, "♻️").await;
    h.assert_told("bob", "this step needs one of these roles");
    assert_eq!(h.audits("reclaim_refused").await, 1);
    assert_eq!(h.audits("reclaim_chosen").await, 0);
}
