//! Drift reconciliation on the simulated tenant: the records compared with the tenant, one
//! report in the approvals channel edited as the differences change, the records corrected
//! where the tenant is the truth (audited), and the tenant never changed.

use std::time::Duration;

use super::harness::{Harness, Said};
use licensebot::domain::DriftKind;

/// Every hour, as the embedded default.
const HOURLY: [(&str, &str); 1] = [("LICENSEBOT__RECONCILE__EVERY", "1h")];

/// The kinds and people of what a check found, sorted.
fn found(check: &licensebot::engine::DriftCheck) -> Vec<(DriftKind, String)> {
    let mut out: Vec<(DriftKind, String)> = check
        .all()
        .map(|d| {
            let upn = d.upn.as_ref().map(|u| u.to_string()).unwrap_or_default();
            (d.kind, upn)
        })
        .collect();
    out.sort();
    out
}

/// The reports posted (sends) and their edits, in the approvals channel.
fn reports(h: &Harness) -> (Vec<String>, Vec<String>) {
    let mut sends = Vec::new();
    let mut edits = Vec::new();
    for s in h.said() {
        match s {
            Said::Send {
                channel, content, ..
            } if channel == "license-approvals" && content.contains("Licence check") => {
                sends.push(content)
            }
            Said::Edit { content, .. } if content.contains("Licence check") => edits.push(content),
            _ => {}
        }
    }
    (sends, edits)
}

#[tokio::test]
async fn a_licence_no_request_explains_is_reported_once_and_edited_when_it_changes() {
    let h = Harness::new(&HOURLY).await;
    // An administrator gives ivan Pro directly, outside the bot: no request explains it.
    h.tenant_exec(
        "INSERT INTO assignments (upn, sku_part_number, assigned_at) \
         VALUES ('ivan@contoso.example', 'POWER_BI_PRO', '2026-01-01T00:00:00.000Z')",
    )
    .await;
    let first = h.engine.check_drift().await.unwrap();
    assert_eq!(
        found(&first),
        [(
            DriftKind::UnexplainedLicence,
            "ivan@contoso.example".to_string()
        )]
    );

    h.engine.settle().await;
    assert!(
        reports(&h).0.is_empty(),
        "not due before an hour has passed"
    );
    h.advance_and_settle(Duration::from_secs(3600)).await;
    h.advance_and_settle(Duration::from_secs(3600)).await;
    let (sends, edits) = reports(&h);
    assert_eq!(sends.len(), 1, "posted once: {sends:#?}");
    assert!(sends[0].contains("ivan@contoso.example holds POWER_BI_PRO assigned directly"));
    assert!(
        edits.is_empty(),
        "nothing changed, nothing edited: {edits:#?}"
    );
    assert_eq!(h.audits("drift_found").await, 1);
    let open: i64 = h
        .scalar("SELECT COUNT(*) FROM drift WHERE resolved_at IS NULL")
        .await;
    assert_eq!(open, 1);

    // An administrator removes ivan's licence in the tenant: the difference goes.
    h.tenant_exec("DELETE FROM assignments WHERE upn = 'ivan@contoso.example'")
        .await;
    h.advance_and_settle(Duration::from_secs(3600)).await;
    let (sends, edits) = reports(&h);
    assert_eq!(sends.len(), 1, "edited, not reposted: {sends:#?}");
    assert_eq!(edits.len(), 1, "{edits:#?}");
    assert!(edits[0].contains("agree"), "{}", edits[0]);
    assert_eq!(h.audits("drift_gone").await, 1);
}

#[tokio::test]
async fn a_granted_licence_gone_from_the_tenant_is_recorded_as_ended_never_given_back() {
    let h = Harness::alice_holds_pro().await;
    h.tenant_exec("DELETE FROM assignments WHERE upn = 'alice@contoso.example'")
        .await;
    let soon = h.engine.check_drift().await.unwrap();
    assert!(
        !found(&soon).contains(&(DriftKind::MissingLicence, "alice@contoso.example".into())),
        "not within the hour after granting: listings may lag"
    );

    h.advance(Duration::from_secs(2 * 3600));
    let check = h.engine.reconcile().await.unwrap();
    assert!(found(&check).contains(&(DriftKind::MissingLicence, "alice@contoso.example".into())));
    assert_eq!(h.audits("reconciled").await, 1);
    let ended: i64 = h
        .scalar("SELECT COUNT(*) FROM licence_ends WHERE request_id = 1")
        .await;
    assert_eq!(ended, 1);
    h.engine.deliver().await;
    assert!(reports(&h).0[0].contains("Corrected in my records"));

    // Corrected once: the next check finds nothing of alice, and the tenant is untouched.
    let again = h.engine.reconcile().await.unwrap();
    assert!(found(&again)
        .iter()
        .all(|(_, upn)| upn != "alice@contoso.example"));
    let held: i64 = h
        .tenant_scalar("SELECT COUNT(*) FROM assignments WHERE upn = 'alice@contoso.example'")
        .await;
    assert_eq!(held, 0, "the reconciler never changes the tenant");
}

#[tokio::test]
async fn a_failed_request_whose_licence_shows_is_completed_with_an_audit() {
    let h = Harness::new(&[]).await;
    h.alice_approved_by_carol().await;
    // The request failed on the bot's side, yet the licence is in the tenant.
    h.engine.settle().await;
    h.exec("UPDATE requests SET state = 'failed', outcome = 'gave up' WHERE id = 1")
        .await;

    let check = h.engine.reconcile().await.unwrap();

    assert_eq!(
        found(&check),
        [(DriftKind::StuckRequest, "alice@contoso.example".into())]
    );
    assert_eq!(h.state(1).await, "completed");
    assert_eq!(h.audits("reconciled").await, 1);
    let again = h.engine.check_drift().await.unwrap();
    assert_eq!(found(&again), [], "corrected once");
}

#[tokio::test]
async fn seats_the_bot_did_not_leave_are_a_difference_and_the_seats_command_says_so() {
    let h = Harness::new(&[]).await;
    h.say_and_settle("bob", "!pro buy 2").await;
    // Someone lowers the subscription outside the bot.
    h.set_pro_seats(2).await;

    let check = h.engine.reconcile().await.unwrap();
    let seats: Vec<&str> = check
        .all()
        .filter(|d| d.kind == DriftKind::SeatCount)
        .map(|d| d.detail.as_str())
        .collect();
    assert_eq!(
        seats,
        ["my last seat change (request #1) left 3 seats of POWER_BI_PRO; the tenant has 2"]
    );
    h.settled_answer_says("bob", "!pro seats", "Differences with Microsoft 365: 1")
        .await;
}

#[tokio::test]
async fn a_check_records_at_most_two_hundred_and_the_next_goes_on() {
    let h = Harness::new(&[]).await;
    // 250 licences granted by requests long ago, none of them in the tenant any more.
    h.exec(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250)
         INSERT INTO requests (kind, state, requester, target_upn, created_at, updated_at)
         SELECT 'assign', 'completed', 'u' || i, 'gone' || i || '@contoso.example',
                '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' FROM n",
    )
    .await;

    let first = h.engine.reconcile().await.unwrap();
    assert_eq!(first.corrections.len(), 200);
    let second = h.engine.reconcile().await.unwrap();
    assert_eq!(second.corrections.len(), 50);
    let ended: i64 = h.scalar("SELECT COUNT(*) FROM licence_ends").await;
    assert_eq!(ended, 250);
    assert_eq!(h.audits("reconciled").await, 250);
    assert!(h.engine.check_drift().await.unwrap().all().next().is_none());
}
