//! The real Partner Center purchaser against the fake Microsoft on loopback: the absolute
//! target, ETag and If-Match, MS-RequestId idempotency, 202 + Location, terms, and errors.

use std::time::Duration;

use licensebot::backend::graph::Credentials;
use licensebot::backend::partner_center::{
    request_id_for, PartnerCenterOptions, PartnerCenterPurchaser,
};
use licensebot::backend::{BackendError, ErrorKind, PurchaseProgress, Purchaser, SeatOrder};
use licensebot::domain::{BillingCycle, RequestId};
use secrecy::SecretString;

use crate::support::assert_backend_error;
use crate::support::fake_microsoft::partner_center::Subscription;
use crate::support::fake_microsoft::{
    FakeMicrosoft, Fault, FaultKind, CUSTOMER_ID, PC_CLIENT_ID, PC_CLIENT_SECRET, PC_TENANT_ID,
    SUBSCRIPTION_ID,
};

fn purchaser_with(fake: &FakeMicrosoft, timeout: Duration) -> PartnerCenterPurchaser {
    PartnerCenterPurchaser::new(PartnerCenterOptions {
        credentials: Credentials {
            authority_url: fake.base_url(),
            tenant_id: PC_TENANT_ID.to_string(),
            client_id: PC_CLIENT_ID.to_string(),
            client_secret: SecretString::from(PC_CLIENT_SECRET),
        },
        api_url: fake.base_url(),
        customer_tenant_id: CUSTOMER_ID.to_string(),
        subscription_id: SUBSCRIPTION_ID.to_string(),
        timeout,
    })
    .unwrap()
}

fn purchaser(fake: &FakeMicrosoft) -> PartnerCenterPurchaser {
    purchaser_with(fake, Duration::from_secs(2))
}

fn order(target: i64, cycle: BillingCycle) -> SeatOrder {
    SeatOrder {
        request: RequestId(7),
        target_seats: target,
        quantity: 1,
        billing_cycle: cycle,
        idempotency_key: "licensebot-r7-s9-12345".to_string(),
    }
}

const SUB_PATH: &str = "/subscriptions/";

/// Raises the seats to `target` (monthly), which must work.
async fn raise(p: &PartnerCenterPurchaser, target: i64) -> PurchaseProgress {
    p.raise_seats(&order(target, BillingCycle::Monthly))
        .await
        .unwrap()
}

/// Raises the seats to `target` (monthly), which must fail.
async fn refused(p: &PartnerCenterPurchaser, target: i64) -> BackendError {
    p.raise_seats(&order(target, BillingCycle::Monthly))
        .await
        .unwrap_err()
}

/// Asserts that the purchase is done at `target` seats, reached by one change from the fake's
/// 2 seats.
fn assert_raised_once(fake: &FakeMicrosoft, done: PurchaseProgress, target: i64) {
    assert_eq!(done, PurchaseProgress::Done { enabled: target });
    assert_eq!(fake.state().quantity_changes, [(2, target)]);
}

/// A fake whose Partner Center subscription is set up by `setup`.
fn fake_with(setup: impl FnOnce(&mut Subscription)) -> FakeMicrosoft {
    let fake = FakeMicrosoft::start();
    setup(&mut fake.state().subscription);
    fake
}

/// A fake whose subscription accepts a change and shows it done after `reads` reads of its
/// location, and a purchaser on it.
fn answering_after(reads: u32) -> (FakeMicrosoft, PartnerCenterPurchaser) {
    let fake = fake_with(|s| s.async_reads = Some(reads));
    let p = purchaser(&fake);
    (fake, p)
}

/// [`answering_after`] `reads`, with the seats raised to `target` once: the change is
/// accepted and not done yet.
async fn raised_in_progress(reads: u32, target: i64) -> (FakeMicrosoft, PartnerCenterPurchaser) {
    let (fake, p) = answering_after(reads);
    assert_in_progress(&raise(&p, target).await);
    (fake, p)
}

/// The purchase was accepted and is not done yet.
fn assert_in_progress(progress: &PurchaseProgress) {
    assert!(
        matches!(progress, PurchaseProgress::InProgress { .. }),
        "{progress:?}"
    );
}

/// A fault on the next call to the subscription with this method.
fn on_subscription(method: &'static str, kind: FaultKind) -> Fault {
    Fault::on(method, SUB_PATH, 1, kind)
}

#[tokio::test]
async fn seats_are_raised_to_the_absolute_target_with_etag_and_request_id() {
    let fake = FakeMicrosoft::start();
    let p = purchaser(&fake);

    let done = raise(&p, 3).await;

    assert_raised_once(&fake, done, 3);
    assert_eq!(fake.state().skus[0].enabled, 3, "Graph shows the new seats");
    let patch = fake.wait_for(Duration::from_secs(1), |r| r.method == "PATCH");
    assert_eq!(
        patch.path,
        format!("/v1/customers/{CUSTOMER_ID}/subscriptions/{SUBSCRIPTION_ID}")
    );
    let body: serde_json::Value = serde_json::from_str(&patch.body).unwrap();
    assert_eq!(body["quantity"], 3);
    assert_eq!(
        body["offerId"], "CFQ7TTC0L3PB:0001:CFQ7TTC0KDFH",
        "the full resource"
    );
    let etag = body["attributes"]["etag"].as_str().unwrap();
    assert_eq!(
        patch.headers.get("if-match").map(String::as_str),
        Some(etag)
    );
    assert_eq!(
        patch.headers.get("ms-requestid").cloned(),
        Some(request_id_for("licensebot-r7-s9-12345").to_string())
    );
    let get = fake.wait_for(Duration::from_secs(1), |r| {
        r.method == "GET" && r.path.contains(SUB_PATH)
    });
    assert_ne!(
        get.headers.get("ms-correlationid"),
        patch.headers.get("ms-correlationid")
    );
}

#[tokio::test]
async fn every_partner_center_call_sends_contract_version_v1() {
    let fake = FakeMicrosoft::start();
    let p = purchaser(&fake);

    raise(&p, 3).await;

    let calls: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/customers/"))
        .collect();
    assert!(calls.iter().any(|r| r.method == "GET"), "{calls:#?}");
    assert!(calls.iter().any(|r| r.method == "PATCH"), "{calls:#?}");
    for call in &calls {
        assert_eq!(
            call.headers.get("ms-contract-version").map(String::as_str),
            Some("v1"),
            "{} {}",
            call.method,
            call.path
        );
    }
}

#[tokio::test]
async fn the_token_comes_from_the_v1_endpoint_for_partner_center() {
    let fake = FakeMicrosoft::start();
    let p = purchaser(&fake);

    raise(&p, 2).await;

    let form = fake.wait_for(Duration::from_secs(1), |r| {
        r.path.ends_with("/oauth2/token")
    });
    assert_eq!(form.path, format!("/{PC_TENANT_ID}/oauth2/token"));
    assert!(form.query_pairs_of_body().contains(&(
        "resource".into(),
        "https://api.partnercenter.microsoft.com".into()
    )));
}

#[tokio::test]
async fn a_subscription_already_at_the_target_is_done_without_a_change() {
    let fake = FakeMicrosoft::start();
    let p = purchaser(&fake);

    let done = raise(&p, 2).await;

    assert_eq!(done, PurchaseProgress::Done { enabled: 2 });
    assert_eq!(fake.count("PATCH", SUB_PATH), 0);
    assert!(fake.state().quantity_changes.is_empty());
}

#[tokio::test]
async fn the_same_order_twice_changes_the_quantity_once() {
    let fake = FakeMicrosoft::start();
    let p = purchaser(&fake);

    raise(&p, 4).await;
    raise(&p, 4).await;

    assert_eq!(fake.state().quantity_changes, [(2, 4)]);
    assert_eq!(fake.count("PATCH", SUB_PATH), 1);
}

#[tokio::test]
async fn a_timed_out_change_is_retried_without_buying_twice() {
    let fake = FakeMicrosoft::start();
    let p = purchaser_with(&fake, Duration::from_millis(500));
    let held = fake.hold("PATCH", SUB_PATH);

    let e = refused(&p, 3).await;
    assert_eq!(e.kind, ErrorKind::Transient, "{e:?}");
    fake.release(held);
    let done = raise(&p, 3).await;

    assert_raised_once(&fake, done, 3);
}

#[tokio::test]
async fn a_repeated_request_id_gets_the_same_answer_and_no_second_change() {
    let (fake, p) = raised_in_progress(10, 3).await;

    fake.state().subscription.pending = None;
    fake.state().subscription.etag_version += 1;
    let again = raise(&p, 3).await;

    assert_in_progress(&again);
    assert_eq!(fake.count("PATCH", SUB_PATH), 2);
    assert_eq!(
        fake.state().quantity_changes,
        [(2, 3)],
        "replayed by MS-RequestId"
    );
}

#[tokio::test]
async fn an_accepted_change_is_followed_through_its_location() {
    let (fake, p) = answering_after(2);

    let done = raise(&p, 5).await;

    assert_raised_once(&fake, done, 5);
}

#[tokio::test]
async fn a_slow_accepted_change_is_in_progress_and_done_later() {
    let (fake, p) = raised_in_progress(5, 3).await;

    let later = raise(&p, 3).await;

    assert_raised_once(&fake, later, 3);
}

#[tokio::test]
async fn a_term_that_differs_from_the_order_is_refused_without_buying() {
    let fake = fake_with(|s| {
        s.term_duration = "P1Y".into();
        s.billing_cycle = "monthly".into();
    });
    let p = purchaser(&fake);

    let e = refused(&p, 3).await;

    assert_backend_error(&e, ErrorKind::Invalid, &["annual", "P1Y"]);
    assert_eq!(fake.count("PATCH", SUB_PATH), 0);
    let ok = p
        .raise_seats(&order(3, BillingCycle::Annual))
        .await
        .unwrap();
    assert_eq!(ok, PurchaseProgress::Done { enabled: 3 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_etag_is_transient_and_the_next_attempt_reads_again() {
    let fake = std::sync::Arc::new(FakeMicrosoft::start());
    let p = purchaser(&fake);
    let held = fake.hold("GET", SUB_PATH);
    let meanwhile = {
        let fake = fake.clone();
        tokio::task::spawn_blocking(move || {
            fake.wait_for(Duration::from_secs(2), |r| {
                r.method == "GET" && r.path.contains(SUB_PATH)
            });
            // Someone else changes the subscription while our read is on its way.
            fake.state().subscription.etag_version += 1;
            fake.release(held);
        })
    };

    let result = p.raise_seats(&order(3, BillingCycle::Monthly)).await;
    meanwhile.await.unwrap();

    let e = result.unwrap_err();
    assert_backend_error(&e, ErrorKind::Transient, &["2055"]);
    let done = raise(&p, 3).await;
    assert_raised_once(&fake, done, 3);
}

#[tokio::test]
async fn an_order_in_progress_is_transient() {
    let fake = FakeMicrosoft::start();
    fake.inject(on_subscription("PATCH", FaultKind::PcOrderInProgress));
    let p = purchaser(&fake);

    let e = refused(&p, 3).await;

    assert_backend_error(&e, ErrorKind::Transient, &["800060"]);
}

#[tokio::test]
async fn a_quantity_out_of_range_is_invalid_with_partner_centers_words() {
    let fake = FakeMicrosoft::start();
    let p = purchaser(&fake);

    let e = refused(&p, 1000).await;

    assert_backend_error(&e, ErrorKind::Invalid, &["2002", "minimum and maximum"]);
    assert!(fake.state().quantity_changes.is_empty());
}

/// A suspended subscription, or one the customer does not have, cannot change.
#[tokio::test]
async fn a_suspended_or_unknown_subscription_is_invalid() {
    for (fake, says) in [
        (fake_with(|s| s.status = "suspended".into()), "suspended"),
        (fake_with(|s| s.id = "another".into()), "20003"),
    ] {
        let p = purchaser(&fake);

        let e = refused(&p, 3).await;

        assert_backend_error(&e, ErrorKind::Invalid, &[says]);
    }
}

#[tokio::test]
async fn throttled_reads_wait_and_throttled_changes_go_back_transient() {
    let fake = FakeMicrosoft::start();
    fake.inject(on_subscription("GET", FaultKind::PcThrottle("0.2".into())));
    fake.inject(on_subscription(
        "PATCH",
        FaultKind::PcThrottle("0.2".into()),
    ));
    let p = purchaser(&fake);

    let e = refused(&p, 3).await;

    assert_eq!(e.kind, ErrorKind::Transient);
    assert_eq!(e.retry_after, Some(Duration::from_millis(200)));
    assert_eq!(fake.count("GET", SUB_PATH), 2, "the read was retried");
    assert_eq!(fake.count("PATCH", SUB_PATH), 1, "the change was not");
}

fn reduction(target: i64, quantity: i64) -> SeatOrder {
    SeatOrder {
        request: RequestId(8),
        target_seats: target,
        quantity,
        billing_cycle: BillingCycle::Monthly,
        idempotency_key: "licensebot-r8-s10-777".to_string(),
    }
}

#[tokio::test]
async fn seats_are_lowered_inside_the_reduction_window_opened_by_a_purchase() {
    let fake = FakeMicrosoft::start();
    let p = purchaser(&fake);
    raise(&p, 4).await;

    let done = p.lower_seats(&reduction(3, -1)).await.unwrap();

    assert_eq!(done, PurchaseProgress::Done { enabled: 3 });
    assert_eq!(fake.state().quantity_changes, [(2, 4), (4, 3)]);
    // Asked again (a retry after a crash), nothing more changes.
    assert_eq!(
        p.lower_seats(&reduction(3, -1)).await.unwrap(),
        PurchaseProgress::Done { enabled: 3 }
    );
    assert_eq!(fake.state().quantity_changes.len(), 2);
}

#[tokio::test]
async fn a_reduction_outside_the_window_is_refused_in_partner_centers_words() {
    let fake = FakeMicrosoft::start();
    let p = purchaser(&fake);

    let err = p.lower_seats(&reduction(1, -1)).await.unwrap_err();

    assert_backend_error(&err, ErrorKind::Invalid, &["cannot be decreased"]);
    assert!(fake.state().quantity_changes.is_empty());
}
