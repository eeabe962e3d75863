//! The real Microsoft Graph client against the fake Microsoft on loopback: every backend
//! operation, every error mapping, tokens, retries, timeouts and batching.

use std::time::{Duration, Instant};

use licensebot::backend::graph::{Credentials, GraphOptions, GraphTenant, READ_RETRIES};
use licensebot::backend::{
    BackendError, DirectoryUser, ErrorKind, GroupInfo, LicenceSource, Tenant,
};
use licensebot::domain::{CountryCode, DirectoryRole, Upn, UserType};
use secrecy::SecretString;

use crate::support::assert_backend_error;
use crate::support::fake_microsoft::{
    Assigned, FakeMicrosoft, Fault, FaultKind, CLIENT_ID, CLIENT_SECRET, PRO_GROUP, PRO_SKU,
    TENANT_ID,
};

fn options(fake: &FakeMicrosoft, timeout: Duration, ttl: Duration) -> GraphOptions {
    GraphOptions {
        credentials: Credentials {
            authority_url: fake.base_url(),
            tenant_id: TENANT_ID.to_string(),
            client_id: CLIENT_ID.to_string(),
            client_secret: SecretString::from(CLIENT_SECRET),
        },
        graph_url: fake.graph_url(),
        sku_part_number: "POWER_BI_PRO".to_string(),
        role_cache_ttl: ttl,
        timeout,
    }
}

/// The Graph tenant on this fake (2 s timeout, roles cached 10 minutes).
pub(crate) fn tenant(fake: &FakeMicrosoft) -> GraphTenant {
    GraphTenant::new(options(
        fake,
        Duration::from_secs(2),
        Duration::from_secs(600),
    ))
    .unwrap()
}

fn upn(s: &str) -> Upn {
    Upn::parse(s).unwrap()
}

async fn user(t: &GraphTenant, s: &str) -> DirectoryUser {
    t.user(&upn(s)).await.unwrap()
}

/// A fresh fake and the tenant on it.
fn started() -> (FakeMicrosoft, GraphTenant) {
    let fake = FakeMicrosoft::start();
    let t = tenant(&fake);
    (fake, t)
}

/// A fresh fake, the tenant on it, and one of its users as read from it.
async fn with_user(upn: &str) -> (FakeMicrosoft, GraphTenant, DirectoryUser) {
    let (fake, t) = started();
    let u = user(&t, upn).await;
    (fake, t, u)
}

/// A fresh fake with `n` more members, the tenant on it, and the members' UPNs.
fn with_members(n: usize) -> (FakeMicrosoft, GraphTenant, Vec<Upn>) {
    let (fake, t) = started();
    let upns = fake.add_members(n).iter().map(|u| upn(u)).collect();
    (fake, t, upns)
}

/// These users as read from the tenant, every one found.
async fn read_all(t: &GraphTenant, upns: &[Upn]) -> Vec<DirectoryUser> {
    t.users(upns)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

/// A write that failed on a fault with this `Retry-After` is transient, carries the wait,
/// and was sent once: the client leaves the retry to the engine's job queue.
fn assert_left_to_the_job_queue(
    e: &BackendError,
    retry_after: Duration,
    fake: &FakeMicrosoft,
    method: &str,
    path: &str,
) {
    assert_eq!(e.kind, ErrorKind::Transient);
    assert_eq!(e.retry_after, Some(retry_after));
    assert_eq!(fake.count(method, path), 1, "writes go back to the engine");
}

/// Changing `upn`'s licence (`assign` or `unassign`) fails with this kind of error, whose
/// message says each of `words`.
async fn refused_change(upn: &str, assign: bool, kind: ErrorKind, words: &[&str]) {
    let (_fake, t, u) = with_user(upn).await;
    let e = if assign {
        t.assign(&u).await.unwrap_err()
    } else {
        t.unassign(&u).await.unwrap_err()
    };
    assert_backend_error(&e, kind, words);
}

async fn refused_assign(upn: &str, kind: ErrorKind, words: &[&str]) {
    refused_change(upn, true, kind, words).await;
}

async fn refused_unassign(upn: &str, kind: ErrorKind, words: &[&str]) {
    refused_change(upn, false, kind, words).await;
}

// ---- directory ------------------------------------------------------------------------

#[tokio::test]
async fn a_user_is_read_with_the_properties_that_must_be_selected() {
    let (fake, t) = started();

    let alice = user(&t, "alice@contoso.example").await;

    assert_eq!(alice.display_name, "Alice Jansen");
    assert_eq!(
        alice.usage_location,
        Some(CountryCode::parse("NL").unwrap())
    );
    assert_eq!(alice.user_type, UserType::Member);
    assert!(alice.account_enabled);
    assert!(alice.licences.is_empty());
    let get = fake.wait_for(Duration::from_secs(1), |r| r.path.contains("/users/alice"));
    let select = get.query_param("$select").unwrap();
    for p in [
        "usageLocation",
        "userType",
        "accountEnabled",
        "assignedLicenses",
    ] {
        assert!(select.contains(p), "{select}");
    }
}

#[tokio::test]
async fn a_guest_upn_goes_out_with_an_encoded_hash() {
    let (fake, t) = started();

    let grace = user(&t, "grace_fabrikam.example#EXT#@contoso.example").await;

    assert_eq!(grace.user_type, UserType::Guest);
    assert_eq!(
        fake.count(
            "GET",
            "/users/grace_fabrikam.example%23ext%23@contoso.example"
        ),
        1,
        "{:#?}",
        fake.requests()
    );
}

#[tokio::test]
async fn unset_usage_location_and_disabled_accounts_are_read_as_such() {
    let (_fake, t) = started();

    assert_eq!(user(&t, "ivan@contoso.example").await.usage_location, None);
    assert!(!user(&t, "heidi@contoso.example").await.account_enabled);
}

#[tokio::test]
async fn e5_grants_pro_unless_its_power_bi_plan_is_disabled() {
    let (_fake, t) = started();

    let frank = user(&t, "frank@contoso.example").await;
    let olga = user(&t, "olga@contoso.example").await;

    assert_eq!(
        frank.pro_from().map(|l| l.sku_part_number.as_str()),
        Some("SPE_E5")
    );
    assert!(!frank.holds("POWER_BI_PRO"));
    assert!(olga.holds("SPE_E5"));
    assert_eq!(olga.pro_from(), None, "BI_AZURE_P2 is in disabledPlans");
}

#[tokio::test]
async fn an_unknown_user_is_user_not_found_with_graphs_request_id() {
    let (_fake, t) = started();

    let e = t.user(&upn("nobody@contoso.example")).await.unwrap_err();

    assert_backend_error(&e, ErrorKind::UserNotFound, &["does not exist"]);
    assert!(e.backend_ref.is_some());
}

#[tokio::test]
async fn usage_location_is_set_with_a_patch() {
    let (fake, t, ivan) = with_user("ivan@contoso.example").await;

    t.set_usage_location(&ivan, &CountryCode::parse("NL").unwrap())
        .await
        .unwrap();

    let patch = fake.wait_for(Duration::from_secs(1), |r| r.method == "PATCH");
    assert_eq!(patch.path, format!("/v1.0/users/{}", ivan.id));
    assert_eq!(patch.body, r#"{"usageLocation":"NL"}"#);
    assert_eq!(
        user(&t, "ivan@contoso.example").await.usage_location,
        Some(CountryCode::parse("NL").unwrap())
    );
}

// ---- seats and roles ------------------------------------------------------------------

#[tokio::test]
async fn seats_come_from_subscribed_skus_filtered_here() {
    let (fake, t) = started();

    let seats = t.seats().await.unwrap();

    assert_eq!((seats.enabled, seats.consumed, seats.free()), (2, 1, 1));
    let get = fake.wait_for(Duration::from_secs(1), |r| r.path == "/v1.0/subscribedSkus");
    assert!(
        get.query_pairs().iter().all(|(k, _)| k != "$filter"),
        "subscribedSkus does not support $filter: {get:?}"
    );
}

#[tokio::test]
async fn a_missing_sku_is_invalid_and_names_the_tenants_skus() {
    let fake = FakeMicrosoft::start();
    let mut o = options(&fake, Duration::from_secs(2), Duration::ZERO);
    o.sku_part_number = "POWER_BI_PRO_DEPT".into();
    let t = GraphTenant::new(o).unwrap();

    let e = t.seats().await.unwrap_err();

    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(
        e.message.contains("POWER_BI_PRO_DEPT") && e.message.contains("SPE_E5"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn roles_are_tenant_wide_role_assignments_matched_by_template_id() {
    let (fake, t) = started();

    let carol = t.roles(&upn("carol@contoso.example")).await.unwrap();
    let dave = t.roles(&upn("dave@contoso.example")).await.unwrap();
    let uma = t.roles(&upn("uma@contoso.example")).await.unwrap();

    assert_eq!(
        carol.into_iter().collect::<Vec<_>>(),
        [DirectoryRole::LicenseAdministrator]
    );
    assert_eq!(
        dave.into_iter().collect::<Vec<_>>(),
        [DirectoryRole::GlobalAdministrator]
    );
    assert!(
        uma.is_empty(),
        "a role scoped to an administrative unit does not count"
    );
    let carol_id = fake
        .state()
        .user("carol@contoso.example")
        .unwrap()
        .id
        .clone();
    let q = fake.wait_for(Duration::from_secs(1), |r| {
        r.path.ends_with("/roleAssignments")
    });
    assert!(q.query_pairs().contains(&(
        "$filter".to_string(),
        format!("principalId eq '{carol_id}'")
    )));
}

#[tokio::test]
async fn roles_are_cached_and_a_fresh_read_bypasses_the_cache() {
    let (fake, t) = started();
    let carol = upn("carol@contoso.example");
    t.roles(&carol).await.unwrap();
    let after_first = fake.graph_calls();

    t.roles(&carol).await.unwrap();
    assert_eq!(fake.graph_calls(), after_first, "served from the cache");

    fake.state().role_assignments.clear();
    assert!(!t.roles(&carol).await.unwrap().is_empty(), "still cached");
    assert!(
        t.roles_fresh(&carol).await.unwrap().is_empty(),
        "fresh read"
    );
    assert!(
        t.roles(&carol).await.unwrap().is_empty(),
        "the fresh read refreshed the cache"
    );
}

#[tokio::test]
async fn a_failed_role_lookup_is_an_error_never_a_grant() {
    let (fake, t) = started();
    fake.fail_once("GET", "/roleAssignments", FaultKind::Forbidden);

    let e = t.roles(&upn("dave@contoso.example")).await.unwrap_err();

    assert_eq!(e.kind, ErrorKind::Forbidden);
    let e = t.roles(&upn("nobody@contoso.example")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::UserNotFound);
}

// ---- assignment and its errors --------------------------------------------------------

#[tokio::test]
async fn assign_license_sends_both_keys_and_takes_a_seat() {
    let (fake, t, alice) = with_user("alice@contoso.example").await;

    t.assign(&alice).await.unwrap();

    let post = fake.wait_for(Duration::from_secs(1), |r| {
        r.path.ends_with("/assignLicense")
    });
    assert_eq!(post.path, format!("/v1.0/users/{}/assignLicense", alice.id));
    let body: serde_json::Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"addLicenses": [{"disabledPlans": [], "skuId": PRO_SKU}], "removeLicenses": []})
    );
    assert!(user(&t, "alice@contoso.example")
        .await
        .holds("POWER_BI_PRO"));
    assert_eq!(t.seats().await.unwrap().free(), 0);
}

#[tokio::test]
async fn unassign_removes_the_licence_and_frees_the_seat() {
    let (fake, t, alice) = with_user("alice@contoso.example").await;
    t.assign(&alice).await.unwrap();

    t.unassign(&alice).await.unwrap();

    assert!(fake.licences_of("alice@contoso.example").is_empty());
    let last = fake
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.ends_with("/assignLicense"))
        .unwrap();
    assert_eq!(
        last.body,
        format!(r#"{{"addLicenses":[],"removeLicenses":["{PRO_SKU}"]}}"#)
    );
    assert_eq!(t.seats().await.unwrap().free(), 1);
}

#[tokio::test]
async fn no_available_licenses_is_no_free_seat() {
    let fake = FakeMicrosoft::start();
    fake.state().set_enabled("POWER_BI_PRO", 1);
    let t = tenant(&fake);
    let alice = user(&t, "alice@contoso.example").await;

    let e = t.assign(&alice).await.unwrap_err();

    assert_backend_error(
        &e,
        ErrorKind::NoFreeSeat,
        &["does not have any available licenses"],
    );
    assert!(e.backend_ref.is_some());
}

#[tokio::test]
async fn a_user_without_usage_location_is_invalid_usage_location() {
    refused_assign("ivan@contoso.example", ErrorKind::InvalidUsageLocation, &[]).await;
}

#[tokio::test]
async fn mutually_exclusive_plans_are_a_conflict() {
    refused_assign(
        "xavier@contoso.example",
        ErrorKind::Conflict,
        &["mutually exclusive"],
    )
    .await;
}

#[tokio::test]
async fn assigning_to_a_deleted_user_is_user_not_found() {
    let (fake, t, mut judy) = with_user("judy@contoso.example").await;
    fake.state()
        .users
        .retain(|u| u.upn != "judy@contoso.example");
    judy.id = "00000000-0000-4000-8000-000000000000".into();

    let e = t.assign(&judy).await.unwrap_err();

    assert_eq!(e.kind, ErrorKind::UserNotFound);
}

#[tokio::test]
async fn a_missing_permission_is_forbidden() {
    let (fake, t, alice) = with_user("alice@contoso.example").await;
    fake.fail_once("POST", "/assignLicense", FaultKind::Forbidden);

    let e = t.assign(&alice).await.unwrap_err();

    assert_eq!(e.kind, ErrorKind::Forbidden);
}

#[tokio::test]
async fn removing_a_group_licence_is_invalid() {
    refused_unassign(
        "gina@contoso.example",
        ErrorKind::Invalid,
        &["inherited from a group"],
    )
    .await;
}

#[tokio::test]
async fn a_throttled_write_is_transient_and_not_repeated() {
    let (fake, t, alice) = with_user("alice@contoso.example").await;
    fake.fail_once("POST", "/assignLicense", FaultKind::throttle("2.128"));

    let e = t.assign(&alice).await.unwrap_err();

    assert_left_to_the_job_queue(
        &e,
        Duration::from_millis(2128),
        &fake,
        "POST",
        "/assignLicense",
    );
    assert!(fake.licences_of("alice@contoso.example").is_empty());
}

#[tokio::test]
async fn an_unavailable_service_on_a_write_is_transient() {
    let (fake, t, ivan) = with_user("ivan@contoso.example").await;
    fake.fail_once("PATCH", "/users/", FaultKind::unavailable("0.2"));

    let e = t
        .set_usage_location(&ivan, &CountryCode::parse("NL").unwrap())
        .await
        .unwrap_err();

    assert_left_to_the_job_queue(&e, Duration::from_millis(200), &fake, "PATCH", "/users/");
}

// ---- tokens ---------------------------------------------------------------------------

#[tokio::test]
async fn one_token_serves_many_calls() {
    let (fake, t) = started();

    t.seats().await.unwrap();
    user(&t, "alice@contoso.example").await;
    t.roles(&upn("dave@contoso.example")).await.unwrap();

    assert_eq!(fake.tokens_issued(), 1);
    let form = fake.wait_for(Duration::from_secs(1), |r| {
        r.path.ends_with("/oauth2/v2.0/token")
    });
    assert_eq!(form.path, format!("/{TENANT_ID}/oauth2/v2.0/token"));
    let pairs = form.query_pairs_of_body();
    assert!(pairs.contains(&(
        "scope".into(),
        "https://graph.microsoft.com/.default".into()
    )));
    assert!(pairs.contains(&("grant_type".into(), "client_credentials".into())));
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_and_the_call_repeated() {
    let (fake, t) = started();
    t.seats().await.unwrap();
    fake.expire_tokens();

    let seats = t.seats().await.unwrap();

    assert_eq!(seats.enabled, 2);
    assert_eq!(fake.tokens_issued(), 2);
    assert_eq!(fake.count("GET", "/subscribedSkus"), 3, "ok, 401, ok");
}

#[tokio::test]
async fn a_token_that_expires_soon_is_renewed_before_use() {
    let fake = FakeMicrosoft::start();
    fake.state().token_lifetime = 1;
    let t = tenant(&fake);
    t.seats().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    t.seats().await.unwrap();

    assert_eq!(fake.tokens_issued(), 2);
    assert_eq!(fake.count("GET", "/subscribedSkus"), 2, "no 401 round trip");
}

#[tokio::test]
async fn a_wrong_secret_is_forbidden_and_the_message_never_holds_it() {
    let fake = FakeMicrosoft::start();
    let mut o = options(&fake, Duration::from_secs(2), Duration::ZERO);
    o.credentials.client_secret = SecretString::from("wrong~secret-value");
    let t = GraphTenant::new(o).unwrap();

    let e = t.seats().await.unwrap_err();

    assert_backend_error(&e, ErrorKind::Forbidden, &["AADSTS7000215"]);
    assert!(!e.message.contains("wrong~secret-value"));
    assert!(!format!("{t:?}").contains("wrong~secret-value"));
}

// ---- retries and timeouts -------------------------------------------------------------

#[tokio::test]
async fn reads_wait_the_fractional_retry_after_of_a_429() {
    let (fake, t) = started();
    t.seats().await.unwrap();
    fake.clear_requests();
    fake.inject(Fault::on(
        "GET",
        "/subscribedSkus",
        2,
        FaultKind::throttle("0.3"),
    ));

    let started = Instant::now();
    t.seats().await.unwrap();
    let took = started.elapsed();

    let calls: Vec<Instant> = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/v1.0/subscribedSkus")
        .map(|r| r.at)
        .collect();
    assert_eq!(calls.len(), 3);
    for pair in calls.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(300), "retried after {gap:?}");
        assert!(gap < Duration::from_millis(1500), "retried after {gap:?}");
    }
    eprintln!("429 x2 with Retry-After 0.3: seats read in {took:?}");
}

#[tokio::test]
async fn reads_retry_503_and_504_then_succeed() {
    let (fake, t) = started();
    fake.fail_once("GET", "/users/alice", FaultKind::unavailable("0.2"));
    fake.fail_once("GET", "/users/alice", FaultKind::GatewayTimeout);

    let started = Instant::now();
    let alice = user(&t, "alice@contoso.example").await;

    assert_eq!(alice.display_name, "Alice Jansen");
    assert_eq!(fake.count("GET", "/users/alice"), 3);
    eprintln!(
        "503 (Retry-After 0.2) then 504: user read in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn read_retries_are_bounded() {
    let (fake, t) = started();
    fake.inject(Fault::on(
        "GET",
        "/users/alice",
        50,
        FaultKind::throttle("0.05"),
    ));

    let e = t.user(&upn("alice@contoso.example")).await.unwrap_err();

    assert_eq!(e.kind, ErrorKind::Transient);
    assert_eq!(fake.count("GET", "/users/alice"), READ_RETRIES + 1);
}

#[tokio::test]
async fn a_long_retry_after_goes_back_to_the_caller() {
    let (fake, t) = started();
    fake.fail_once("GET", "/subscribedSkus", FaultKind::throttle("120"));

    let started = Instant::now();
    let e = t.seats().await.unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(e.retry_after, Some(Duration::from_secs(120)));
    assert_eq!(fake.count("GET", "/subscribedSkus"), 1);
}

#[tokio::test]
async fn a_slow_read_times_out_and_is_tried_again() {
    let fake = FakeMicrosoft::start();
    let t = GraphTenant::new(options(&fake, Duration::from_millis(400), Duration::ZERO)).unwrap();
    t.seats().await.unwrap();
    fake.fail_once(
        "GET",
        "/users/alice",
        FaultKind::Slow(Duration::from_secs(2)),
    );

    let started = Instant::now();
    let alice = user(&t, "alice@contoso.example").await;

    assert_eq!(alice.display_name, "Alice Jansen");
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(fake.count("GET", "/users/alice"), 2);
}

#[tokio::test]
async fn a_slow_write_times_out_as_transient() {
    let fake = FakeMicrosoft::start();
    let t = GraphTenant::new(options(&fake, Duration::from_millis(400), Duration::ZERO)).unwrap();
    let alice = user(&t, "alice@contoso.example").await;
    fake.fail_once(
        "POST",
        "/assignLicense",
        FaultKind::Slow(Duration::from_secs(2)),
    );

    let e = t.assign(&alice).await.unwrap_err();

    assert_backend_error(&e, ErrorKind::Transient, &["did not answer within 400ms"]);
    assert_eq!(fake.count("POST", "/assignLicense"), 1);
}

#[tokio::test]
async fn a_dropped_connection_is_retried_on_reads_and_transient_on_writes() {
    let (fake, t) = started();
    fake.fail_once("GET", "/users/alice", FaultKind::Drop);

    let alice = user(&t, "alice@contoso.example").await;
    assert_eq!(fake.count("GET", "/users/alice"), 2);

    fake.fail_once("POST", "/assignLicense", FaultKind::Drop);
    let e = t.assign(&alice).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient);
    assert_eq!(fake.count("POST", "/assignLicense"), 1);
}

#[tokio::test]
async fn every_call_carries_its_own_client_request_id() {
    let (fake, t) = started();

    t.seats().await.unwrap();
    user(&t, "alice@contoso.example").await;

    let ids: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1.0/"))
        .map(|r| {
            r.headers
                .get("client-request-id")
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(
        ids.iter().all(|i| uuid::Uuid::parse_str(i).is_ok()),
        "{ids:?}"
    );
    assert_ne!(ids[0], ids[1]);
}

// ---- batching and read-back lag -------------------------------------------------------

#[tokio::test]
async fn a_hundred_users_are_read_in_one_call_of_lists_of_fifteen() {
    let (fake, t, upns) = with_members(100);
    t.seats().await.unwrap();
    fake.clear_requests();

    let users = t.users(&upns).await;

    assert_eq!(users.len(), 100);
    for (u, want) in users.iter().zip(&upns) {
        assert_eq!(&u.as_ref().unwrap().upn, want);
    }
    assert_eq!(fake.graph_calls(), 1, "{:#?}", fake.requests());
    let items = fake.state().batch_items.clone();
    assert_eq!(items.len(), 7, "100 users in lists of at most 15");
    for item in &items {
        assert_eq!(
            (item.method.as_str(), item.path.as_str()),
            ("GET", "/v1.0/users")
        );
        let filter = item.query_param("$filter").unwrap();
        assert!(filter.starts_with("userPrincipalName in ('"), "{filter}");
        assert!(filter.matches('\'').count() <= 30, "{filter}");
    }
}

#[tokio::test]
async fn users_missing_from_a_list_lookup_are_not_found() {
    let (_fake, t) = started();

    let users = t
        .users(&[
            upn("alice@contoso.example"),
            upn("nobody@contoso.example"),
            upn("judy@contoso.example"),
        ])
        .await;

    assert_eq!(users[0].as_ref().unwrap().display_name, "Alice Jansen");
    assert_eq!(users[1].as_ref().unwrap_err().kind, ErrorKind::UserNotFound);
    assert_eq!(users[2].as_ref().unwrap().display_name, "Judy Bakker");
}

#[tokio::test]
async fn guests_and_upns_with_a_quote_are_found_by_a_list_lookup() {
    let fake = FakeMicrosoft::start();
    fake.state()
        .users
        .push(crate::support::fake_microsoft::FakeUser::member(
            "o'brien@contoso.example",
            "Pat O'Brien",
        ));
    let t = tenant(&fake);
    let guest = "grace_fabrikam.example#EXT#@contoso.example";

    let users = t.users(&[upn(guest), upn("o'brien@contoso.example")]).await;

    let guest = users[0].as_ref().unwrap();
    assert_eq!(guest.user_type, UserType::Guest);
    assert_eq!(users[1].as_ref().unwrap().display_name, "Pat O'Brien");
}

#[tokio::test]
async fn users_roles_and_seats_looked_up_together_take_one_call() {
    let (fake, t, upns) = with_members(40);
    let carol = upn("carol@contoso.example");
    t.roles(&carol).await.unwrap();
    fake.clear_requests();
    fake.state().set_enabled("POWER_BI_PRO", 7);

    let found = t
        .look_up(&licensebot::backend::Lookup {
            users: upns.clone(),
            fresh_roles: vec![carol],
            seats: true,
        })
        .await;

    assert_eq!(fake.graph_calls(), 1, "{:#?}", fake.requests());
    assert!(found.users.iter().all(Result::is_ok));
    assert!(found.roles[0]
        .as_ref()
        .unwrap()
        .contains(&DirectoryRole::LicenseAdministrator));
    assert_eq!(found.seats.unwrap().unwrap().enabled, 7);
}

#[tokio::test]
async fn a_hundred_assignments_take_five_batch_calls() {
    let (fake, t, upns) = with_members(100);
    let users = read_all(&t, &upns).await;
    fake.clear_requests();

    let results = t.assign_many(&users).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(fake.count("POST", "/v1.0/$batch"), 5);
    assert_eq!(
        fake.graph_calls(),
        5,
        "{:#?}",
        fake.requests().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let biggest = fake
        .requests()
        .iter()
        .map(|r| {
            serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["requests"]
                .as_array()
                .unwrap()
                .len()
        })
        .max()
        .unwrap();
    assert_eq!(biggest, 20);
    assert_eq!(fake.state().consumed(PRO_SKU), 101);
}

#[tokio::test]
async fn batch_items_report_their_own_errors() {
    let (_fake, t) = started();
    let users = vec![
        user(&t, "xavier@contoso.example").await,
        user(&t, "ivan@contoso.example").await,
        user(&t, "alice@contoso.example").await,
        user(&t, "judy@contoso.example").await,
    ];

    let results = t.assign_many(&users).await;

    assert_eq!(results[0].as_ref().unwrap_err().kind, ErrorKind::Conflict);
    assert_eq!(
        results[1].as_ref().unwrap_err().kind,
        ErrorKind::InvalidUsageLocation
    );
    assert!(results[2].is_ok());
    assert_eq!(
        results[3].as_ref().unwrap_err().kind,
        ErrorKind::NoFreeSeat,
        "alice took the free seat"
    );
}

#[tokio::test]
async fn throttled_batch_assignments_come_back_transient_with_their_retry_after() {
    let (fake, t, upns) = with_members(5);
    let users = read_all(&t, &upns).await;
    fake.inject(Fault::on_batch_item(
        "POST",
        "/assignLicense",
        2,
        FaultKind::throttle("0.2"),
    ));

    let results = t.assign_many(&users).await;

    let throttled: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(throttled.len(), 2);
    assert!(throttled.iter().all(
        |e| e.kind == ErrorKind::Transient && e.retry_after == Some(Duration::from_millis(200))
    ));
    assert_eq!(fake.state().consumed(PRO_SKU), 1 + 3);
}

#[tokio::test]
async fn throttled_batch_reads_are_sent_again_after_their_retry_after() {
    let (fake, t, upns) = with_members(20);
    t.seats().await.unwrap();
    fake.inject(Fault::on_batch_item(
        "GET",
        "/users",
        1,
        FaultKind::throttle("0.2"),
    ));

    let started = Instant::now();
    let users = t.users(&upns).await;

    assert!(users.iter().all(Result::is_ok));
    assert_eq!(fake.count("POST", "/v1.0/$batch"), 2);
    let items = fake.state().batch_items.len();
    assert_eq!(items, 3, "two lists, the throttled one sent again");
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn read_back_shows_an_assignment_only_after_the_lag() {
    let fake = FakeMicrosoft::start();
    fake.state().readback_lag = 2;
    let t = tenant(&fake);
    let alice = user(&t, "alice@contoso.example").await;

    t.assign(&alice).await.unwrap();

    assert!(!user(&t, "alice@contoso.example")
        .await
        .holds("POWER_BI_PRO"));
    assert!(!user(&t, "alice@contoso.example")
        .await
        .holds("POWER_BI_PRO"));
    assert!(user(&t, "alice@contoso.example")
        .await
        .holds("POWER_BI_PRO"));
}

/// Where each Pro licence comes from, read from `licenseAssignmentStates`: a direct one,
/// gina's from the licensing group, and both for a user who holds it both ways.
#[tokio::test]
async fn licence_sources_are_read_from_the_assignment_states() {
    let (fake, t) = started();
    let give = |who: &str, licences: Vec<Assigned>| {
        fake.state().user_mut(who).licenses = licences;
    };
    give("ivan@contoso.example", vec![Assigned::direct(PRO_SKU)]);
    give(
        "judy@contoso.example",
        vec![
            Assigned::direct(PRO_SKU),
            Assigned::inherited(PRO_SKU, PRO_GROUP),
        ],
    );
    let sources = |u: &DirectoryUser| u.licence("POWER_BI_PRO").map(|l| l.sources.clone());
    let group = LicenceSource::Group(PRO_GROUP.to_string());

    let ivan = user(&t, "ivan@contoso.example").await;
    let gina = user(&t, "gina@contoso.example").await;
    let judy = user(&t, "judy@contoso.example").await;

    assert_eq!(sources(&ivan), Some(vec![LicenceSource::Direct]));
    assert_eq!(sources(&gina), Some(vec![group.clone()]));
    assert_eq!(sources(&judy), Some(vec![LicenceSource::Direct, group]));
    let groups = |u: &DirectoryUser| -> Vec<String> {
        u.licence("POWER_BI_PRO")
            .map(|l| l.groups().map(str::to_string).collect())
            .unwrap_or_default()
    };
    assert_eq!(groups(&gina), [PRO_GROUP]);
    assert!(groups(&ivan).is_empty());
}

/// A licensing group is named with its owners, by UPN.
#[tokio::test]
async fn a_group_is_read_with_its_owners() {
    let (_fake, t) = started();

    let group = t.group(PRO_GROUP).await.unwrap();

    assert_eq!(
        group,
        GroupInfo {
            id: PRO_GROUP.to_string(),
            display_name: "Power BI Pro users".to_string(),
            owners: vec!["carol@contoso.example".to_string()],
        }
    );
}

/// A group the tenant does not have is an error, never an empty answer.
#[tokio::test]
async fn an_unknown_group_is_an_error() {
    let (_fake, t) = started();

    let e = t
        .group("99999999-0000-4000-8000-000000000000")
        .await
        .unwrap_err();

    assert!(!e.is_transient(), "{e:?}");
}
