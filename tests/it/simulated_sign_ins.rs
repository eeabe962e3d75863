//! The simulated tenant's sign-ins (`Tenant::activity`), against the real simulated tenant
//! on a fresh SQLite file, seeded from the test tenant with users who signed in: a time, or a
//! duration before the tenant was first seeded (2 March 2026, 09:00 on the test clock).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use licensebot::backend::simulated::SimulatedTenant;
use licensebot::backend::{Activity, Tenant, UserActivity};
use licensebot::config::Settings;
use licensebot::domain::Upn;
use licensebot::engine::clock::ManualClock;
use licensebot::startup;

/// Users who signed in, as a settings file writes them.
const SIGNED_IN: &str = r#"
[[backend.simulated.users]]
# Has not used Power BI since long before the tenant was made.
upn = "pat@contoso.example"
display_name = "Pat Jacobs"
last_sign_in = "75d"
last_power_bi_sign_in = "100d"

[[backend.simulated.users]]
upn = "quinn@contoso.example"
display_name = "Quinn Dekker"
last_sign_in = "2026-02-27T08:00:00Z"
last_power_bi_sign_in = "2026-02-20T10:00:00+01:00"

[[backend.simulated.users]]
# Only a Power BI sign-in on record: it is the last sign-in too.
upn = "rosa@contoso.example"
display_name = "Rosa Vos"
last_power_bi_sign_in = "3d"
"#;

/// When the tenant is first seeded.
fn first_seeding() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn upn(name: &str) -> Upn {
    Upn::parse(&format!("{name}@contoso.example")).unwrap()
}

fn upns(names: &[&str]) -> Vec<Upn> {
    names.iter().map(|n| upn(n)).collect()
}

fn day(y: i32, m: u32, d: u32, h: u32, min: u32) -> Option<DateTime<Utc>> {
    Some(Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap())
}

/// The simulated tenant of the settings in `dir` (the test tenant and `extra`), started at
/// `now`: seeded then, unless the file was seeded before.
async fn start_in(dir: &std::path::Path, extra: &str, now: DateTime<Utc>) -> SimulatedTenant {
    let cfg = crate::support::bot::write_config(dir, extra);
    let settings = Settings::load_from(Some(&cfg), &[]).unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(ManualClock::new(now));
    let db = startup::open_simulated(&settings, clock.as_ref())
        .await
        .expect("the simulated tenant");
    SimulatedTenant::new(db, "POWER_BI_PRO", Duration::ZERO, clock)
}

/// The answer's entry for `name`.
fn entry<'a>(activity: &'a Activity, name: &str) -> &'a UserActivity {
    activity
        .users
        .iter()
        .find(|u| u.upn == upn(name))
        .unwrap_or_else(|| panic!("no entry for {name}: {activity:?}"))
}

fn times(u: &UserActivity) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    (u.last_sign_in, u.last_power_bi)
}

#[tokio::test]
async fn activity_gives_the_configured_sign_ins_both_known() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = start_in(dir.path(), SIGNED_IN, first_seeding()).await;
    let since = first_seeding() - chrono::Duration::days(30);

    let activity = tenant
        .activity(&upns(&["pat", "quinn", "rosa", "alice"]), since)
        .await
        .unwrap();

    assert_eq!(
        (&activity.sign_in_unknown, &activity.power_bi_unknown),
        (&None, &None)
    );
    assert_eq!(activity.users.len(), 4);
    assert_eq!(
        times(entry(&activity, "pat")),
        (day(2025, 12, 17, 9, 0), None),
        "75 days before the first seeding; Power BI 100 days before, earlier than asked"
    );
    assert_eq!(
        times(entry(&activity, "quinn")),
        (day(2026, 2, 27, 8, 0), day(2026, 2, 20, 9, 0))
    );
    assert_eq!(
        times(entry(&activity, "rosa")),
        (day(2026, 2, 27, 9, 0), day(2026, 2, 27, 9, 0)),
        "a sign-in to Power BI is a sign-in"
    );
    assert_eq!(times(entry(&activity, "alice")), (None, None));
}

#[tokio::test]
async fn users_not_asked_about_and_unknown_users_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = start_in(dir.path(), SIGNED_IN, first_seeding()).await;

    let activity = tenant
        .activity(&upns(&["zoe", "quinn", "quinn"]), first_seeding())
        .await
        .unwrap();

    let listed: Vec<&str> = activity.users.iter().map(|u| u.upn.as_str()).collect();
    assert_eq!(listed, ["quinn@contoso.example"]);
}

#[tokio::test]
async fn a_power_bi_sign_in_counts_from_the_time_asked_on() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = start_in(dir.path(), SIGNED_IN, first_seeding()).await;
    let at = day(2026, 2, 20, 9, 0).unwrap();

    let from_then = tenant.activity(&[upn("quinn")], at).await.unwrap();
    let just_after = tenant
        .activity(&[upn("quinn")], at + chrono::Duration::seconds(1))
        .await
        .unwrap();

    assert_eq!(entry(&from_then, "quinn").last_power_bi, Some(at));
    assert_eq!(entry(&just_after, "quinn").last_power_bi, None);
    assert_eq!(
        entry(&just_after, "quinn").last_sign_in,
        day(2026, 2, 27, 8, 0)
    );
}

#[tokio::test]
async fn a_later_start_keeps_the_sign_ins_counted_from_the_first_seeding() {
    let dir = tempfile::tempdir().unwrap();
    drop(start_in(dir.path(), "", first_seeding()).await);
    let later = first_seeding() + chrono::Duration::days(40);

    let tenant = start_in(dir.path(), SIGNED_IN, later).await;
    let activity = tenant.activity(&upns(&["pat"]), later).await.unwrap();

    assert_eq!(
        entry(&activity, "pat").last_sign_in,
        day(2025, 12, 17, 9, 0),
        "pat joined the settings later; 75d still counts from the first seeding"
    );
}

#[tokio::test]
async fn the_embedded_default_shows_ivan_as_a_pro_holder_who_has_not_used_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("licensebot.toml");
    let store = format!(
        "[store]\nurl = \"sqlite://{}\"\n",
        dir.path().join("bot.db").display()
    );
    std::fs::write(&cfg, store).unwrap();
    let settings = Settings::load_from(Some(&cfg), &[]).unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(ManualClock::new(first_seeding()));
    let db = startup::open_simulated(&settings, clock.as_ref())
        .await
        .unwrap();
    let tenant = SimulatedTenant::new(db, "POWER_BI_PRO", Duration::ZERO, clock);
    let ninety_days_ago = first_seeding() - chrono::Duration::days(90);

    let holders = tenant.holders().await.unwrap();
    let asked: Vec<Upn> = holders.iter().map(|h| h.upn.clone()).collect();
    let activity = tenant.activity(&asked, ninety_days_ago).await.unwrap();
    let alice = tenant
        .activity(&[upn("alice")], ninety_days_ago)
        .await
        .unwrap();

    assert_eq!(asked, [upn("ivan")]);
    assert_eq!(
        times(entry(&activity, "ivan")),
        (day(2025, 12, 17, 9, 0), None),
        "no Power BI in 90 days, no sign-in in 75"
    );
    let alice = entry(&alice, "alice");
    assert!(alice.last_power_bi.is_some() && alice.last_sign_in > alice.last_power_bi);
}
