//! Seeding the simulated tenant's groups and its group-based licensing, on a tenant file.

use super::*;
use crate::domain::GroupFlags;

fn upn(s: &str) -> Upn {
    Upn::parse(s).expect("a UPN")
}

fn at() -> Timestamp {
    chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .expect("a time")
        .with_timezone(&chrono::Utc)
}

/// A tenant file with one Pro seat, five E5 seats, and Alice, Bob and Carol, none licensed.
async fn a_tenant() -> (tempfile::TempDir, TenantStore) {
    let dir = tempfile::tempdir().expect("a directory");
    let url = format!("sqlite://{}", dir.path().join("tenant.db").display());
    let tenant = TenantStore::open(&url, true).await.expect("the tenant");
    let sku = |part: &str, seats| SkuSeed {
        sku_part_number: part.to_string(),
        sku_id: "f8a1db68-be16-40ed-86d5-cb42ce701560".to_string(),
        seats,
        unit_price_monthly: 14.0,
        service_plans: Vec::new(),
    };
    let user = |name: &str| UserSeed::member(upn(&format!("{name}@contoso.example")), name);
    let mut w = tenant.write().await.expect("write");
    let skus = [sku("POWER_BI_PRO", 1), sku("SPE_E5", 5)];
    let users = [user("alice"), user("bob"), user("carol")];
    seed(
        w.conn().await.expect("the transaction's connection"),
        &skus,
        &users,
        at(),
    )
    .await
    .expect("seed");
    w.commit().await.expect("commit");
    (dir, tenant)
}

/// The Pro users group, owned by Carol, with these members and SKUs.
fn pro_users(members: &[&str], skus: &[&str]) -> GroupSeed {
    GroupSeed {
        group: Group {
            id: "3f6c2a1e-8b4d-4e7a-9c15-6d2b8e0f4a71".to_string(),
            display_name: "Power BI Pro users".to_string(),
            flags: GroupFlags::SECURITY,
            skus: skus.iter().map(|s| s.to_string()).collect(),
            owners: vec![upn("carol@contoso.example")],
        },
        members: members
            .iter()
            .map(|m| upn(&format!("{m}@contoso.example")))
            .collect(),
    }
}

async fn seed_with(tenant: &TenantStore, groups: &[GroupSeed]) {
    let mut w = tenant.write().await.expect("write");
    seed_groups(
        w.conn().await.expect("the transaction's connection"),
        groups,
        at(),
    )
    .await
    .expect("seed groups");
    w.commit().await.expect("commit");
}

/// A user's group states as (SKU, state word).
async fn states_of(tenant: &TenantStore, name: &str) -> Vec<(String, GroupLicenceState)> {
    let mut conn = tenant.read().await.expect("read");
    let u = user(&mut conn, &upn(&format!("{name}@contoso.example")))
        .await
        .expect("read")
        .expect("the user");
    u.group_states
        .into_iter()
        .map(|s| (s.sku_part_number, s.state))
        .collect()
}

async fn pro_consumed(tenant: &TenantStore) -> i64 {
    let mut conn = tenant.read().await.expect("read");
    let pro = sku(&mut conn, "POWER_BI_PRO").await.expect("read");
    pro.expect("Pro").consumed
}

fn active(part: &str) -> (String, GroupLicenceState) {
    (part.to_string(), GroupLicenceState::Active)
}

fn count_violation(part: &str) -> (String, GroupLicenceState) {
    let word = "CountViolation".to_string();
    (part.to_string(), GroupLicenceState::Error(word))
}

#[tokio::test]
async fn seeded_members_take_the_seats_in_order_and_the_next_is_in_count_violation() {
    let (_dir, tenant) = a_tenant().await;

    seed_with(&tenant, &[pro_users(&["bob", "alice"], &["POWER_BI_PRO"])]).await;

    assert_eq!(states_of(&tenant, "bob").await, [active("POWER_BI_PRO")]);
    let alice = states_of(&tenant, "alice").await;
    assert_eq!(alice, [count_violation("POWER_BI_PRO")]);
    assert_eq!(pro_consumed(&tenant).await, 1);
}

#[tokio::test]
async fn a_group_with_one_sku_short_gives_none_of_its_skus() {
    let (_dir, tenant) = a_tenant().await;
    seed_with(&tenant, &[pro_users(&["bob"], &["POWER_BI_PRO"])]).await;
    let mut both = pro_users(&["alice"], &["POWER_BI_PRO", "SPE_E5"]);
    both.group.id = "0a0b0c0d-1111-4222-8333-444455556666".to_string();

    seed_with(&tenant, &[both]).await;

    let alice = states_of(&tenant, "alice").await;
    let expected = [count_violation("POWER_BI_PRO"), count_violation("SPE_E5")];
    assert_eq!(alice, expected);
    let mut conn = tenant.read().await.expect("read");
    let e5 = sku(&mut conn, "SPE_E5").await.expect("read").expect("E5");
    assert_eq!(e5.consumed, 0);
}

#[tokio::test]
async fn rows_already_in_the_tenant_win_over_the_seed() {
    let (_dir, tenant) = a_tenant().await;
    seed_with(&tenant, &[pro_users(&["bob"], &["POWER_BI_PRO"])]).await;
    let mut renamed = pro_users(&[], &["POWER_BI_PRO"]);
    renamed.group.display_name = "Renamed".to_string();
    renamed.group.flags.dynamic = true;

    seed_with(&tenant, &[renamed]).await;

    let mut conn = tenant.read().await.expect("read");
    let g = group(&mut conn, "3F6C2A1E-8B4D-4E7A-9C15-6D2B8E0F4A71")
        .await
        .expect("read")
        .expect("the group, found whatever the case of its id");
    assert_eq!(
        (g.display_name.as_str(), g.flags.dynamic),
        ("Power BI Pro users", false)
    );
    assert_eq!(g.owners, [upn("carol@contoso.example")]);
    assert!(is_member(&mut conn, &g.id, &upn("bob@contoso.example"))
        .await
        .expect("read"));
    drop(conn);
    assert_eq!(states_of(&tenant, "bob").await, [active("POWER_BI_PRO")]);
}

#[tokio::test]
async fn a_sku_the_group_gains_goes_to_its_earlier_members() {
    let (_dir, tenant) = a_tenant().await;
    seed_with(&tenant, &[pro_users(&["bob"], &["POWER_BI_PRO"])]).await;

    seed_with(&tenant, &[pro_users(&["bob"], &["POWER_BI_PRO", "SPE_E5"])]).await;

    let bob = states_of(&tenant, "bob").await;
    assert_eq!(bob, [active("POWER_BI_PRO"), active("SPE_E5")]);
}

#[tokio::test]
async fn a_direct_and_a_group_source_consume_one_seat() {
    let (_dir, tenant) = a_tenant().await;
    let bob = upn("bob@contoso.example");
    let mut w = tenant.write().await.expect("write");
    assign(
        w.conn().await.expect("the transaction's connection"),
        &bob,
        "POWER_BI_PRO",
        at(),
    )
    .await
    .expect("assign");
    w.commit().await.expect("commit");

    seed_with(&tenant, &[pro_users(&["bob"], &["POWER_BI_PRO"])]).await;

    assert_eq!(states_of(&tenant, "bob").await, [active("POWER_BI_PRO")]);
    assert_eq!(pro_consumed(&tenant).await, 1);
    let mut conn = tenant.read().await.expect("read");
    let u = user(&mut conn, &bob).await.expect("read").expect("Bob");
    assert_eq!(u.licenses, ["POWER_BI_PRO"]);
    assert_eq!(u.direct, ["POWER_BI_PRO"]);
    let groups: Vec<&str> = u.groups_giving("POWER_BI_PRO").collect();
    assert_eq!(groups, ["3f6c2a1e-8b4d-4e7a-9c15-6d2b8e0f4a71"]);
}

#[tokio::test]
async fn each_holder_consumes_one_seat_whatever_their_sources_and_an_error_none() {
    let (_dir, tenant) = a_tenant().await;
    let alice = upn("alice@contoso.example");
    let mut w = tenant.write().await.expect("write");
    assign(
        w.conn().await.expect("the transaction's connection"),
        &alice,
        "SPE_E5",
        at(),
    )
    .await
    .expect("assign");
    w.commit().await.expect("commit");
    let mut first = pro_users(&["alice", "bob"], &["SPE_E5"]);
    first.group.id = "0a0b0c0d-1111-4222-8333-444455556666".to_string();
    let mut second = pro_users(&["bob", "carol"], &["SPE_E5"]);
    second.group.id = "1a1b1c1d-2222-4333-8444-555566667777".to_string();
    // Pro has one seat: Bob's group assignment takes it, Carol's is in error.
    let pro = pro_users(&["bob", "carol"], &["POWER_BI_PRO"]);

    seed_with(&tenant, &[first, second, pro]).await;

    let mut conn = tenant.read().await.expect("read");
    let e5 = sku(&mut conn, "SPE_E5").await.expect("read").expect("E5");
    // Alice: direct and a group; Bob: two groups; Carol: one group.
    assert_eq!(e5.consumed, 3);
    drop(conn);
    assert_eq!(pro_consumed(&tenant).await, 1);
    let carol = states_of(&tenant, "carol").await;
    assert!(
        carol.contains(&count_violation("POWER_BI_PRO")),
        "{carol:?}"
    );
}
