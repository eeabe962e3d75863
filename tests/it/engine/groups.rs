//! Group mode on the simulated tenant, whose group-based licensing applies a membership at
//! once: the licence given through the embedded default's "Power BI Pro users" group and
//! taken back, no seat left for the group, and the reconciler's view of the group.

use super::harness::Harness;
use licensebot::domain::DriftKind;

/// The embedded default's licensing group.
const PRO_USERS: &str = "3f6c2a1e-8b4d-4e7a-9c15-6d2b8e0f4a71";

const GROUP_MODE: [(&str, &str); 2] = [
    ("LICENSEBOT__LICENSING__MODE", "group"),
    ("LICENSEBOT__LICENSING__GROUP_ID", PRO_USERS),
];

async fn is_member(h: &Harness, upn: &str) -> bool {
    h.tenant_scalar(&format!(
        "SELECT COUNT(*) FROM group_members WHERE group_id = '{PRO_USERS}' AND upn = '{upn}'"
    ))
    .await
        == 1
}

#[tokio::test]
async fn the_licence_comes_and_goes_with_the_membership_and_is_never_assigned_directly() {
    let h = Harness::new(&GROUP_MODE).await;
    h.alice_approved_by_carol().await;
    h.engine.settle().await;

    assert_eq!(h.state(1).await, "completed", "{}", h.text());
    h.assert_told("alice", "through the group Power BI Pro users");
    assert!(is_member(&h, "alice@contoso.example").await);
    assert_eq!(h.assign_calls(), 0, "never assigned directly");
    let direct: i64 = h
        .tenant_scalar("SELECT COUNT(*) FROM assignments WHERE upn = 'alice@contoso.example'")
        .await;
    assert_eq!(direct, 0);

    h.settled_answer_says("alice", "!pro status", "from the group Power BI Pro users")
        .await;
    h.say_and_settle("alice", "!pro release").await;
    assert_eq!(h.state(2).await, "completed", "{}", h.text());
    assert!(!is_member(&h, "alice@contoso.example").await);
    assert_eq!(h.pro_seats().await, 1, "the seat stays bought");
}

#[tokio::test]
async fn a_member_added_outside_the_bot_is_a_membership_difference() {
    let h = Harness::new(&GROUP_MODE).await;
    h.tenant_exec(&format!(
        "INSERT INTO group_members (group_id, upn, added_at) \
         VALUES ('{PRO_USERS}', 'kim@contoso.example', '2026-01-01T00:00:00.000Z')"
    ))
    .await;

    let check = h.engine.check_drift().await.unwrap();

    let kinds: Vec<(DriftKind, String)> = check
        .all()
        .map(|d| {
            (
                d.kind,
                d.upn.as_ref().map(|u| u.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [(DriftKind::Membership, "kim@contoso.example".to_string())]
    );
}
