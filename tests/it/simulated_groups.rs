//! The simulated tenant's groups and group-based licensing, against the real simulated
//! tenant on a fresh SQLite file, seeded from the test tenant with these groups: one seat
//! of Power BI Pro and one of E5 (Frank's).

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};

use licensebot::backend::simulated::{SimulatedPurchaser, SimulatedTenant};
use licensebot::backend::{
    AssignmentError, AssignmentState, BackendError, DirectoryUser, ErrorKind, GroupState,
    LicenceSource, Purchaser, SeatOrder, Tenant,
};
use licensebot::config::Settings;
use licensebot::domain::GroupFlags;
use licensebot::domain::{BillingCycle, RequestId, Upn};
use licensebot::engine::clock::ManualClock;
use licensebot::startup;
use licensebot::store::simulated::TenantStore;

const PRO_USERS: &str = "3f6c2a1e-8b4d-4e7a-9c15-6d2b8e0f4a71";
const ANALYSTS: &str = "7d1e9b52-0c4a-4f38-b6e2-95a3c8d10f44";
const PRO_AND_E5: &str = "c2a8f4e6-5b1d-4a97-8e03-6f9b2d7c1a58";
const DYNAMIC: &str = "e4b7c9d1-2a6f-4c85-9d30-1b8e5f7a2c96";
const MAIL_SECURITY: &str = "91f3a6c8-7e2b-4d59-a014-3c6e8b9d5f27";
const SYNCED: &str = "5a8d2e7f-9c3b-4e16-b7a4-0d5c9f1e8b63";
const UNKNOWN: &str = "00000000-0000-4000-8000-000000000000";

/// The groups of these tests, as a settings file writes them.
const GROUPS: &str = r#"
[[backend.simulated.groups]]
id = "3f6c2a1e-8b4d-4e7a-9c15-6d2b8e0f4a71"
display_name = "Power BI Pro users"
licenses = ["POWER_BI_PRO"]
owners = ["carol@contoso.example"]

[[backend.simulated.groups]]
id = "7d1e9b52-0c4a-4f38-b6e2-95a3c8d10f44"
display_name = "Analysts"
licenses = ["POWER_BI_PRO"]
owners = ["bob@contoso.example", "dave@contoso.example"]

[[backend.simulated.groups]]
id = "c2a8f4e6-5b1d-4a97-8e03-6f9b2d7c1a58"
display_name = "Pro and E5"
licenses = ["POWER_BI_PRO", "SPE_E5"]

[[backend.simulated.groups]]
id = "e4b7c9d1-2a6f-4c85-9d30-1b8e5f7a2c96"
display_name = "Everyone in Sales"
licenses = ["POWER_BI_PRO"]
dynamic = true

[[backend.simulated.groups]]
id = "91f3a6c8-7e2b-4d59-a014-3c6e8b9d5f27"
display_name = "Finance (mail)"
licenses = ["POWER_BI_PRO"]
mail_enabled = true
role_assignable = true

[[backend.simulated.groups]]
id = "5a8d2e7f-9c3b-4e16-b7a4-0d5c9f1e8b63"
display_name = "On-premises BI"
licenses = ["POWER_BI_PRO"]
synced = true
"#;

/// A simulated tenant on a fresh file, with its purchaser.
struct Sim {
    tenant: SimulatedTenant,
    purchaser: SimulatedPurchaser,
    db: TenantStore,
    _dir: tempfile::TempDir,
}

impl Sim {
    /// The test tenant with [`GROUPS`] and `extra` settings.
    async fn start(extra: &str) -> Sim {
        let dir = tempfile::tempdir().expect("a directory");
        let cfg = crate::support::bot::write_config(dir.path(), &format!("{GROUPS}{extra}"));
        let settings = Settings::load_from(Some(&cfg), &[]).unwrap_or_else(|e| panic!("{e}"));
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        ));
        let db = startup::open_simulated(&settings, clock.as_ref())
            .await
            .expect("the simulated tenant");
        let tenant = SimulatedTenant::new(db.clone(), "POWER_BI_PRO", Duration::ZERO, clock);
        let purchaser = tenant.purchaser();
        Sim {
            tenant,
            purchaser,
            db,
            _dir: dir,
        }
    }

    /// The test tenant with [`GROUPS`] and nothing else.
    async fn new() -> Sim {
        Sim::start("").await
    }

    /// [`Sim::new`] with the one free Pro seat assigned to alice directly.
    async fn seat_taken() -> Sim {
        let sim = Sim::new().await;
        sim.assign("alice").await.expect("the one seat");
        sim
    }

    /// [`Sim::seat_taken`] with judy joined to Power BI Pro users, in count violation.
    async fn judy_waiting() -> Sim {
        let sim = Sim::seat_taken().await;
        sim.join(PRO_USERS, "judy").await;
        sim
    }

    /// [`Sim::new`] with alice a member of each of `groups`.
    async fn alice_in(groups: &[&str]) -> Sim {
        let sim = Sim::new().await;
        for group in groups {
            sim.join(group, "alice").await;
        }
        sim
    }

    async fn user(&self, name: &str) -> DirectoryUser {
        let upn = Upn::parse(&format!("{name}@contoso.example")).unwrap();
        self.tenant.user(&upn).await.expect("a simulated user")
    }

    async fn join(&self, group: &str, name: &str) {
        self.set_member(group, name, true).await;
    }

    async fn leave(&self, group: &str, name: &str) {
        self.set_member(group, name, false).await;
    }

    /// The user joins (`member`) or leaves the group, which must succeed.
    async fn set_member(&self, group: &str, name: &str, member: bool) {
        let user = self.user(name).await;
        let (done, what) = if member {
            (self.tenant.add_member(group, &user).await, "joins")
        } else {
            (self.tenant.remove_member(group, &user).await, "leaves")
        };
        done.unwrap_or_else(|e| panic!("{name} {what} the group {group}: {e:?}"));
    }

    async fn assign(&self, name: &str) -> Result<(), BackendError> {
        let user = self.user(name).await;
        self.tenant.assign(&user).await
    }

    async fn unassign(&self, name: &str) -> Result<(), BackendError> {
        let user = self.user(name).await;
        self.tenant.unassign(&user).await
    }

    async fn reprocess(&self, name: &str) {
        let user = self.user(name).await;
        self.tenant.reprocess(&user).await.expect("reprocessed");
    }

    /// Where the user's Power BI Pro comes from; empty when they do not hold it.
    async fn pro_sources(&self, name: &str) -> Vec<LicenceSource> {
        let user = self.user(name).await;
        user.licence("POWER_BI_PRO")
            .map(|l| l.sources.clone())
            .unwrap_or_default()
    }

    /// The user's Power BI Pro comes from `sources` and `consumed` seats are in use.
    async fn assert_pro(&self, name: &str, sources: &[LicenceSource], consumed: i64) {
        assert_eq!(
            self.pro_sources(name).await,
            sources,
            "{name}'s Pro sources"
        );
        assert_eq!(self.consumed().await, consumed, "Pro seats in use");
    }

    /// The user's group assignment states.
    async fn states(&self, name: &str) -> Vec<GroupState> {
        self.user(name).await.group_states
    }

    /// Power BI Pro seats in use.
    async fn consumed(&self) -> i64 {
        self.tenant.seats().await.expect("seats").consumed
    }

    /// Raises the Pro seats to `target`, as an approved purchase does.
    async fn buy_up_to(&self, target: i64) {
        let order = SeatOrder {
            request: RequestId(1),
            target_seats: target,
            quantity: 1,
            billing_cycle: BillingCycle::Monthly,
            idempotency_key: format!("test-{target}"),
        };
        self.purchaser.raise_seats(&order).await.expect("bought");
    }

    /// The tenant file's rows for the user's group memberships and states.
    async fn rows_of(&self, name: &str) -> (i64, i64) {
        let upn = format!("{name}@contoso.example");
        let count = |table: &str| format!("SELECT COUNT(*) FROM {table} WHERE upn = ?");
        let members: i64 = sqlx::query_scalar(&count("group_members"))
            .bind(&upn)
            .fetch_one(self.db.pool())
            .await
            .unwrap();
        let states: i64 = sqlx::query_scalar(&count("group_assignments"))
            .bind(&upn)
            .fetch_one(self.db.pool())
            .await
            .unwrap();
        (members, states)
    }
}

fn group(id: &str) -> LicenceSource {
    LicenceSource::Group(id.to_string())
}

fn pro_state(group: &str, state: AssignmentState) -> GroupState {
    GroupState {
        group: group.to_string(),
        sku_part_number: "POWER_BI_PRO".to_string(),
        state,
    }
}

fn count_violation() -> AssignmentState {
    AssignmentState::Failed(AssignmentError::CountViolation)
}

#[tokio::test]
async fn a_member_gets_the_groups_licence_at_once_and_uses_a_seat() {
    let sim = Sim::new().await;

    sim.join(PRO_USERS, "alice").await;

    let alice = sim.user("alice").await;
    assert_eq!(sim.pro_sources("alice").await, [group(PRO_USERS)]);
    assert!(alice.pro_from().is_some());
    let active = pro_state(PRO_USERS, AssignmentState::Active);
    assert_eq!(alice.group_states, [active]);
    assert_eq!(sim.consumed().await, 1);
}

#[tokio::test]
async fn a_direct_and_a_group_source_consume_one_seat() {
    let sim = Sim::seat_taken().await;

    sim.join(PRO_USERS, "alice").await;

    sim.assert_pro("alice", &[LicenceSource::Direct, group(PRO_USERS)], 1)
        .await;
}

#[tokio::test]
async fn two_groups_giving_one_licence_consume_one_seat() {
    let sim = Sim::new().await;

    sim.join(PRO_USERS, "alice").await;
    sim.join(ANALYSTS, "alice").await;

    sim.assert_pro("alice", &[group(PRO_USERS), group(ANALYSTS)], 1)
        .await;
}

#[tokio::test]
async fn a_member_without_a_free_seat_is_in_count_violation() {
    let sim = Sim::seat_taken().await;

    sim.join(PRO_USERS, "judy").await;

    let judy = sim.user("judy").await;
    assert!(!judy.holds("POWER_BI_PRO"));
    assert_eq!(judy.group_states, [pro_state(PRO_USERS, count_violation())]);
    assert_eq!(
        judy.from_group(PRO_USERS, "POWER_BI_PRO"),
        Some(&count_violation())
    );
    assert_eq!(sim.consumed().await, 1);
}

#[tokio::test]
async fn a_bought_seat_goes_to_a_failed_member_only_when_reprocessed() {
    let sim = Sim::judy_waiting().await;

    sim.buy_up_to(2).await;

    assert!(sim.pro_sources("judy").await.is_empty());
    sim.reprocess("judy").await;
    let judy = sim.user("judy").await;
    assert_eq!(
        judy.group_states,
        [pro_state(PRO_USERS, AssignmentState::Active)]
    );
    sim.assert_pro("judy", &[group(PRO_USERS)], 2).await;
}

#[tokio::test]
async fn a_freed_seat_goes_to_a_failed_member_when_reprocessed() {
    let sim = Sim::judy_waiting().await;

    sim.unassign("alice").await.expect("the seat is freed");
    sim.reprocess("judy").await;

    sim.assert_pro("judy", &[group(PRO_USERS)], 1).await;
}

#[tokio::test]
async fn reprocessing_without_a_seat_leaves_the_failure() {
    let sim = Sim::judy_waiting().await;

    sim.reprocess("judy").await;

    assert_eq!(
        sim.states("judy").await,
        [pro_state(PRO_USERS, count_violation())]
    );
}

#[tokio::test]
async fn a_group_with_one_sku_short_gives_none_of_its_skus() {
    let sim = Sim::new().await;

    // The one E5 seat is Frank's; the Pro seat is free.
    sim.join(PRO_AND_E5, "alice").await;

    let alice = sim.user("alice").await;
    assert!(alice.licences.is_empty(), "{:?}", alice.licences);
    let failed: Vec<(&str, &AssignmentState)> = alice
        .group_states
        .iter()
        .map(|s| (s.sku_part_number.as_str(), &s.state))
        .collect();
    let expected = [
        ("POWER_BI_PRO", &count_violation()),
        ("SPE_E5", &count_violation()),
    ];
    assert_eq!(failed, expected);
    assert_eq!(sim.consumed().await, 0);
}

#[tokio::test]
async fn a_member_without_usage_location_gets_the_licence_from_the_group() {
    let sim = Sim::new().await;
    assert_eq!(sim.user("ivan").await.usage_location, None);

    sim.join(PRO_USERS, "ivan").await;

    assert_eq!(sim.pro_sources("ivan").await, [group(PRO_USERS)]);
    assert_eq!(sim.user("ivan").await.usage_location, None);
}

#[tokio::test]
async fn leaving_the_group_takes_the_licence_and_frees_the_seat() {
    let sim = Sim::alice_in(&[PRO_USERS]).await;

    sim.leave(PRO_USERS, "alice").await;

    let alice = sim.user("alice").await;
    assert!(alice.licences.is_empty());
    assert!(alice.group_states.is_empty());
    assert_eq!(sim.rows_of("alice").await, (0, 0));
    assert_eq!(sim.consumed().await, 0);
}

#[tokio::test]
async fn leaving_one_group_keeps_the_licence_another_gives() {
    let sim = Sim::alice_in(&[PRO_USERS, ANALYSTS]).await;

    sim.leave(PRO_USERS, "alice").await;

    sim.assert_pro("alice", &[group(ANALYSTS)], 1).await;
}

#[tokio::test]
async fn leaving_the_group_keeps_a_direct_licence() {
    let sim = Sim::seat_taken().await;
    sim.join(PRO_USERS, "alice").await;

    sim.leave(PRO_USERS, "alice").await;

    sim.assert_pro("alice", &[LicenceSource::Direct], 1).await;
}

#[tokio::test]
async fn joining_twice_changes_nothing() {
    let sim = Sim::judy_waiting().await;
    sim.unassign("alice").await.expect("a seat is free again");

    // A second join is success and does not evaluate the member again (reprocess does).
    sim.join(PRO_USERS, "judy").await;

    assert_eq!(
        sim.states("judy").await,
        [pro_state(PRO_USERS, count_violation())]
    );
    assert_eq!(sim.rows_of("judy").await, (1, 1));
}

#[tokio::test]
async fn leaving_a_group_one_is_not_in_is_success() {
    let sim = Sim::alice_in(&[ANALYSTS]).await;

    sim.leave(PRO_USERS, "alice").await;
    sim.leave(PRO_USERS, "alice").await;

    assert_eq!(sim.pro_sources("alice").await, [group(ANALYSTS)]);
    assert_eq!(sim.rows_of("alice").await, (1, 1));
}

#[tokio::test]
async fn removing_a_licence_held_only_from_a_group_is_refused_and_changes_nothing() {
    let sim = Sim::alice_in(&[PRO_USERS]).await;

    let refused = sim.unassign("alice").await.expect_err("refused");

    assert_eq!(refused.kind, ErrorKind::Invalid);
    assert_eq!(
        refused.message,
        "User license is inherited from a group membership and it cannot be removed directly \
         from the user."
    );
    sim.assert_pro("alice", &[group(PRO_USERS)], 1).await;
}

#[tokio::test]
async fn removing_a_direct_licence_beside_a_group_removes_the_direct_source_only() {
    let sim = Sim::seat_taken().await;
    sim.join(PRO_USERS, "alice").await;

    sim.unassign("alice").await.expect("the direct source goes");

    sim.assert_pro("alice", &[group(PRO_USERS)], 1).await;
}

#[tokio::test]
async fn assigning_a_licence_held_from_a_group_adds_a_direct_source_without_a_seat() {
    let sim = Sim::alice_in(&[PRO_USERS]).await;
    assert_eq!(sim.tenant.seats().await.expect("seats").free(), 0);

    sim.assign("alice").await.expect("no seat needed");

    sim.assert_pro("alice", &[LicenceSource::Direct, group(PRO_USERS)], 1)
        .await;
}

#[tokio::test]
async fn a_licensing_group_is_read_with_its_flags_and_skus() {
    let sim = Sim::new().await;

    let g = sim
        .tenant
        .licensing_group(&PRO_AND_E5.to_ascii_uppercase())
        .await
        .expect("the group, whatever the case of its id");
    assert_eq!(
        (g.id.as_str(), g.display_name.as_str()),
        (PRO_AND_E5, "Pro and E5")
    );
    assert_eq!(g.skus, ["POWER_BI_PRO", "SPE_E5"]);
    assert_eq!(g.flags, GroupFlags::SECURITY);

    let mail = sim.tenant.licensing_group(MAIL_SECURITY).await.unwrap();
    let f = mail.flags;
    assert!(f.mail_enabled && f.role_assignable && f.security_enabled);
    assert!(
        sim.tenant
            .licensing_group(DYNAMIC)
            .await
            .unwrap()
            .flags
            .dynamic
    );
    assert!(
        sim.tenant
            .licensing_group(SYNCED)
            .await
            .unwrap()
            .flags
            .synced
    );
}

#[tokio::test]
async fn a_group_is_read_with_its_name_and_owners() {
    let sim = Sim::new().await;

    let g = sim.tenant.group(ANALYSTS).await.expect("the group");

    assert_eq!(
        (g.id.as_str(), g.display_name.as_str()),
        (ANALYSTS, "Analysts")
    );
    assert_eq!(g.owners, ["bob@contoso.example", "dave@contoso.example"]);
}

#[tokio::test]
async fn a_missing_group_is_not_found_and_not_a_missing_user() {
    let sim = Sim::new().await;
    let alice = sim.user("alice").await;
    let said = format!(
        "Resource '{UNKNOWN}' does not exist or one of its queried reference-property objects \
         are not present."
    );

    let errors = [
        sim.tenant.group(UNKNOWN).await.expect_err("no group"),
        sim.tenant
            .licensing_group(UNKNOWN)
            .await
            .expect_err("no group"),
        sim.tenant
            .add_member(UNKNOWN, &alice)
            .await
            .expect_err("no group"),
        sim.tenant
            .remove_member(UNKNOWN, &alice)
            .await
            .expect_err("no group"),
    ];

    for e in errors {
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::Invalid, said.as_str())
        );
    }
}

#[tokio::test]
async fn a_missing_user_cannot_join() {
    let sim = Sim::new().await;
    let mut zoe = sim.user("alice").await;
    zoe.upn = Upn::parse("zoe@contoso.example").unwrap();

    let joined = sim.tenant.add_member(PRO_USERS, &zoe).await;
    let reprocessed = sim.tenant.reprocess(&zoe).await;

    assert_eq!(joined.expect_err("no user").kind, ErrorKind::UserNotFound);
    assert_eq!(
        reprocessed.expect_err("no user").kind,
        ErrorKind::UserNotFound
    );
}

#[tokio::test]
async fn members_of_dynamic_and_mail_enabled_security_groups_cannot_be_changed() {
    let sim = Sim::new().await;
    let alice = sim.user("alice").await;

    for id in [DYNAMIC, MAIL_SECURITY] {
        let joined = sim
            .tenant
            .add_member(id, &alice)
            .await
            .expect_err("refused");
        let left = sim
            .tenant
            .remove_member(id, &alice)
            .await
            .expect_err("refused");
        for e in [joined, left] {
            assert_eq!(e.kind, ErrorKind::Forbidden, "{id}");
            assert_eq!(
                e.message,
                "Insufficient privileges to complete the operation."
            );
        }
    }
    assert_eq!(sim.rows_of("alice").await, (0, 0));
}

#[tokio::test]
async fn members_of_a_synced_group_cannot_be_changed_in_the_cloud() {
    let sim = Sim::new().await;
    let alice = sim.user("alice").await;

    let e = sim
        .tenant
        .add_member(SYNCED, &alice)
        .await
        .expect_err("refused");

    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(e.message.contains("on-premises mastered"), "{e:?}");
    assert_eq!(sim.rows_of("alice").await, (0, 0));
}

#[tokio::test]
async fn configured_members_are_seeded_in_order_beyond_the_seats_in_error() {
    let members = r#"
[[backend.simulated.groups]]
id = "0b6e3d9a-4c27-4f81-a5d3-8e2c7b1f9a04"
display_name = "Seeded"
licenses = ["POWER_BI_PRO"]
members = ["judy@contoso.example", "alice@contoso.example"]
"#;
    let sim = Sim::start(members).await;
    let seeded = "0b6e3d9a-4c27-4f81-a5d3-8e2c7b1f9a04";

    assert_eq!(sim.pro_sources("judy").await, [group(seeded)]);
    let alice = sim.user("alice").await;
    assert_eq!(alice.group_states, [pro_state(seeded, count_violation())]);
    assert_eq!(sim.consumed().await, 1);
}

#[tokio::test]
async fn the_embedded_default_group_is_seeded_without_members() {
    let dir = tempfile::tempdir().expect("a directory");
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let settings = Settings::load_from(None, &[("LICENSEBOT__STORE__URL".into(), url)])
        .unwrap_or_else(|e| panic!("{e}"));
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
    let db = startup::open_simulated(&settings, &clock).await.unwrap();
    let tenant = SimulatedTenant::new(db, "POWER_BI_PRO", Duration::ZERO, Arc::new(clock));

    let g = tenant.group(PRO_USERS).await.expect("the demo's group");

    assert_eq!(g.display_name, "Power BI Pro users");
    assert_eq!(g.owners, ["carol@contoso.example"]);
    let seats = tenant.seats().await.expect("seats");
    assert_eq!((seats.enabled, seats.consumed), (2, 1));
}
