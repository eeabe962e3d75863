//! The real Graph client's sign-in activity (`Tenant::activity`) against the fake Microsoft:
//! the last sign-in from `signInActivity` and the last Power BI sign-in from the sign-in
//! logs, read across every page of both, and unknown with Graph's words without Entra ID P1.

use chrono::{DateTime, Duration, Timelike, Utc};

use licensebot::backend::{Activity, Tenant, UserActivity};
use licensebot::domain::Upn;

use crate::graph_client::tenant;
use crate::support::fake_microsoft::{FakeMicrosoft, SignInApp};

fn upn(s: &str) -> Upn {
    Upn::parse(s).unwrap()
}

/// The fake's clock now, to the second (as `signInActivity` shows times).
fn now(fake: &FakeMicrosoft) -> DateTime<Utc> {
    let now = fake.state().now();
    now.with_nanosecond(0).unwrap_or(now)
}

/// The answer's entry for `who`.
fn entry<'a>(activity: &'a Activity, who: &str) -> &'a UserActivity {
    activity
        .users
        .iter()
        .find(|u| u.upn.as_str() == who)
        .unwrap_or_else(|| panic!("no entry for {who}: {activity:?}"))
}

#[tokio::test]
async fn activity_gives_the_last_sign_in_and_the_last_power_bi_sign_in_since_a_time() {
    let fake = FakeMicrosoft::start();
    let t = tenant(&fake);
    let now = now(&fake);
    let alice = "alice@contoso.example";
    let judy = "judy@contoso.example";
    fake.sign_in(alice, SignInApp::PowerBi, now - Duration::hours(2));
    fake.sign_in(alice, SignInApp::PowerBi, now - Duration::hours(30));
    fake.sign_in(alice, SignInApp::Teams, now - Duration::hours(1));
    fake.sign_in(judy, SignInApp::PowerBi, now - Duration::days(10));
    let asked = [upn(alice), upn(judy), upn("kim@contoso.example")];

    let activity = t.activity(&asked, now - Duration::days(5)).await.unwrap();

    assert_eq!(
        (&activity.sign_in_unknown, &activity.power_bi_unknown),
        (&None, &None)
    );
    let alice = entry(&activity, alice);
    assert_eq!(alice.last_sign_in, Some(now - Duration::hours(1)));
    assert_eq!(alice.last_power_bi, Some(now - Duration::hours(2)));
    let judy = entry(&activity, judy);
    assert_eq!(judy.last_sign_in, Some(now - Duration::days(10)));
    assert_eq!(judy.last_power_bi, None, "before the time asked from");
    let kim = entry(&activity, "kim@contoso.example");
    assert_eq!((kim.last_sign_in, kim.last_power_bi), (None, None));
}

#[tokio::test]
async fn activity_reads_every_page_of_users_and_of_sign_ins() {
    let fake = FakeMicrosoft::start();
    let t = tenant(&fake);
    let members = fake.add_members(600);
    let now = now(&fake);
    let last = members.last().unwrap().clone();
    {
        let mut state = fake.state();
        let first = state
            .users
            .iter()
            .position(|u| u.upn == members[0])
            .unwrap();
        // 1,500 Power BI sign-ins by others, newer than the one looked for: two pages.
        for i in 0..1_500 {
            state.record_sign_in(first, SignInApp::PowerBi, now - Duration::seconds(i));
        }
    }
    fake.sign_in(&last, SignInApp::PowerBi, now - Duration::hours(3));
    fake.clear_requests();

    let activity = t
        .activity(&[upn(&last)], now - Duration::days(1))
        .await
        .unwrap();

    let found = entry(&activity, &last);
    assert_eq!(found.last_sign_in, Some(now - Duration::hours(3)));
    assert_eq!(found.last_power_bi, Some(now - Duration::hours(3)));
    assert_eq!(fake.count("GET", "/v1.0/users"), 2, "615 users, 500 a page");
    assert_eq!(fake.count("GET", "/auditLogs/signIns"), 2);
}

#[tokio::test]
async fn activity_without_p1_is_unknown_with_graphs_words_not_an_error() {
    let fake = FakeMicrosoft::start();
    let t = tenant(&fake);
    fake.state().entra_p1 = false;
    let alice = upn("alice@contoso.example");

    let activity = t.activity(&[alice], Utc::now()).await.unwrap();

    for unknown in [&activity.sign_in_unknown, &activity.power_bi_unknown] {
        let words = unknown.as_deref().unwrap_or_default();
        assert!(words.contains("premium license"), "{activity:?}");
    }
    let alice = entry(&activity, "alice@contoso.example");
    assert_eq!((alice.last_sign_in, alice.last_power_bi), (None, None));
}
