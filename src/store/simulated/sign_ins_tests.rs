//! Seeding and reading the simulated users' sign-ins, on a tenant file.

use std::time::Duration;

use super::*;

fn upn(s: &str) -> Upn {
    Upn::parse(&format!("{s}@contoso.example")).expect("a UPN")
}

fn time(s: &str) -> Timestamp {
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("a time")
        .with_timezone(&chrono::Utc)
}

fn days(n: u64) -> SignInAt {
    SignInAt::BeforeFirstSeeding(Duration::from_secs(n * 86_400))
}

/// The users `names`, none licensed, as configured.
fn users(names: &[&str]) -> Vec<UserSeed> {
    names
        .iter()
        .map(|name| UserSeed::member(upn(name), name))
        .collect()
}

fn signed_in(name: &str, any: Option<SignInAt>, power_bi: Option<SignInAt>) -> SignInSeed {
    SignInSeed {
        upn: upn(name),
        last_sign_in: any,
        last_power_bi_sign_in: power_bi,
    }
}

/// One start of the tenant at `at`: the users `names` and these sign-ins seeded.
async fn start(tenant: &TenantStore, names: &[&str], seeds: &[SignInSeed], at: &str) {
    let mut w = tenant.write().await.expect("write");
    seed(
        w.conn().await.expect("the transaction's connection"),
        &[],
        &users(names),
        time(at),
    )
    .await
    .expect("seed");
    seed_sign_ins(
        w.conn().await.expect("the transaction's connection"),
        seeds,
        time(at),
    )
    .await
    .expect("seed sign-ins");
    w.commit().await.expect("commit");
}

async fn a_tenant() -> (tempfile::TempDir, TenantStore) {
    let dir = tempfile::tempdir().expect("a directory");
    let url = format!("sqlite://{}", dir.path().join("tenant.db").display());
    let tenant = TenantStore::open(&url, true).await.expect("the tenant");
    (dir, tenant)
}

async fn read(tenant: &TenantStore, names: &[&str]) -> Vec<SignIns> {
    let asked: Vec<Upn> = names.iter().map(|n| upn(n)).collect();
    let mut conn = tenant.read().await.expect("read");
    sign_ins(&mut conn, &asked).await.expect("sign-ins")
}

fn of(found: &[SignIns], name: &str) -> (Option<Timestamp>, Option<Timestamp>) {
    let s = found.iter().find(|s| s.upn == upn(name)).expect("an entry");
    (s.last_sign_in, s.last_power_bi_sign_in)
}

#[tokio::test]
async fn durations_count_back_from_the_first_seeding_on_every_start() {
    let (_dir, tenant) = a_tenant().await;
    let ivan = signed_in("ivan", Some(days(75)), Some(days(100)));
    start(
        &tenant,
        &["ivan"],
        std::slice::from_ref(&ivan),
        "2026-03-02T09:00:00Z",
    )
    .await;

    let erin = signed_in("erin", Some(days(5)), None);
    start(
        &tenant,
        &["ivan", "erin"],
        &[ivan, erin],
        "2026-04-20T09:00:00Z",
    )
    .await;
    let found = read(&tenant, &["ivan", "erin"]).await;

    assert_eq!(
        of(&found, "ivan"),
        (
            Some(time("2025-12-17T09:00:00Z")),
            Some(time("2025-11-22T09:00:00Z"))
        )
    );
    assert_eq!(
        of(&found, "erin"),
        (Some(time("2026-02-25T09:00:00Z")), None),
        "a user added later counts from the tenant's first seeding too"
    );
}

#[tokio::test]
async fn values_in_the_file_win_and_missing_ones_are_filled_in() {
    let (_dir, tenant) = a_tenant().await;
    let first = SignInAt::At(time("2026-02-01T10:00:00Z"));
    start(
        &tenant,
        &["alice"],
        &[signed_in("alice", Some(first), None)],
        "2026-03-02T09:00:00Z",
    )
    .await;

    let changed = SignInAt::At(time("2026-02-20T10:00:00Z"));
    let power_bi = SignInAt::At(time("2026-01-15T10:00:00Z"));
    start(
        &tenant,
        &["alice"],
        &[signed_in("alice", Some(changed), Some(power_bi))],
        "2026-03-03T09:00:00Z",
    )
    .await;

    assert_eq!(
        of(&read(&tenant, &["alice"]).await, "alice"),
        (
            Some(time("2026-02-01T10:00:00Z")),
            Some(time("2026-01-15T10:00:00Z"))
        )
    );
}

#[tokio::test]
async fn sign_ins_are_read_for_known_users_in_the_order_asked_once_each() {
    let (_dir, tenant) = a_tenant().await;
    let alice = signed_in("alice", Some(days(1)), None);
    start(
        &tenant,
        &["alice", "bob", "carol"],
        &[alice],
        "2026-03-02T09:00:00Z",
    )
    .await;

    let found = read(&tenant, &["carol", "zoe", "alice", "carol"]).await;

    let order: Vec<&str> = found.iter().map(|s| s.upn.as_str()).collect();
    assert_eq!(order, ["carol@contoso.example", "alice@contoso.example"]);
    assert_eq!(of(&found, "carol"), (None, None), "none on record");
    assert_eq!(
        of(&found, "alice"),
        (Some(time("2026-03-01T09:00:00Z")), None)
    );
}

#[tokio::test]
async fn the_first_seeding_is_kept_from_the_first_start() {
    let (_dir, tenant) = a_tenant().await;
    start(&tenant, &["alice"], &[], "2026-03-02T09:00:00Z").await;
    start(&tenant, &["alice"], &[], "2026-05-02T09:00:00Z").await;

    let mut w = tenant.write().await.expect("write");
    let first = first_seeded(
        w.conn().await.expect("the transaction's connection"),
        time("2027-01-01T00:00:00Z"),
    )
    .await
    .expect("first seeding");

    assert_eq!(first, time("2026-03-02T09:00:00Z"));
}
