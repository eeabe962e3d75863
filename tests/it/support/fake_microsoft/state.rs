//! What the fake Microsoft knows: the test tenant's SKUs, users, groups and directory roles,
//! each user's licence assignments with where they come from and their state, the sign-in
//! logs, the CSP subscription, the tokens it issued, and what tests steer or read (faults,
//! read-back lag, the fake's clock, the recorded requests and mails).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::super::fake_http::{Faults, Log};
use super::idp::IdpState;
use super::partner_center::Subscription;
use super::sign_ins::SignInRecord;
use super::token::Audience;
use super::{FaultKind, SUBSCRIPTION_ID};

/// Power BI Pro's SKU id.
pub const PRO_SKU: &str = "f8a1db68-be16-40ed-86d5-cb42ce701560";
/// Microsoft 365 E5's SKU id.
pub const E5_SKU: &str = "06ebc4ee-1bb5-47dd-8120-11324bc54e06";
/// Power BI Premium Per User's SKU id.
pub const PPU_SKU: &str = "c1d032e0-5619-4761-9b5c-75b6831e1711";
/// A SKU whose plan cannot be combined with Pro's (for the mutually-exclusive error).
pub const EXCLUSIVE_SKU: &str = "9a1f2b3c-0000-4000-8000-00000000e001";
/// The security group that gives Power BI Pro to its members (Gina is one).
pub const PRO_GROUP: &str = "0f0f0f0f-1111-4222-8333-444455556666";
/// The BI_AZURE_P2 service plan (Power BI Pro).
pub const PLAN_PRO: &str = "70d33638-9c74-4d01-bfd3-562de28bd4ba";
const PLAN_EXCHANGE_FOUNDATION: &str = "113feb6c-3fe4-4440-bddc-54d774bf0318";
const PLAN_PPU: &str = "0bf3c642-7bb5-4ccc-884e-59d09df0266c";
const PLAN_EXCLUSIVE: &str = "9a1f2b3c-0000-4000-8000-0000000e0e01";

/// A SKU of the tenant.
#[derive(Debug, Clone)]
pub struct FakeSku {
    /// GUID.
    pub sku_id: String,
    /// e.g. `POWER_BI_PRO`.
    pub part: String,
    /// `prepaidUnits.enabled`.
    pub enabled: i64,
    /// `(servicePlanId, servicePlanName)`.
    pub plans: Vec<(String, String)>,
}

/// Why a group-based assignment failed: the `error` values of the licenseAssignmentState
/// resource (graph_groups_identity.md §1.4; Microsoft's resource page spells `Other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicenceError {
    /// No free seat.
    CountViolation,
    /// A plan conflicts with a plan the user already has.
    MutuallyExclusiveViolation,
    /// Another product depends on a plan being removed.
    DependencyViolation,
    /// The service is not offered in the user's usage location.
    ProhibitedInUsageLocationViolation,
    /// A unique attribute (a proxy address) is already in use.
    UniquenessViolation,
    /// Anything else.
    Other,
}

/// The `state` of a licence assignment. Microsoft's resource page lists `Active`,
/// `ActiveWithError`, `Disabled` and `Error`; `Processing` is this fake's word for a
/// group assignment the service has not evaluated yet (no documented value exists for it;
/// the reference's §1.5 tells a client to wait for `Active` or `Error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicenceState {
    /// Assigned; holds a seat.
    Active,
    /// Assigned with an error; holds a seat.
    ActiveWithError(LicenceError),
    /// Switched off.
    Disabled,
    /// Waiting for group-based licensing until this time of the fake's clock.
    Processing(DateTime<Utc>),
    /// Not assigned, for this reason; holds no seat.
    Error(LicenceError),
}

impl LicenceState {
    /// Whether an assignment in this state uses one of the SKU's seats.
    pub fn holds_seat(self) -> bool {
        matches!(
            self,
            LicenceState::Active | LicenceState::ActiveWithError(_)
        )
    }
}

/// One of a user's licence assignments: one per (SKU, source), as `licenseAssignmentStates`
/// lists them; `assignedLicenses` shows the seat-holding ones merged per SKU.
#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    /// SKU GUID.
    pub sku_id: String,
    /// Disabled service plan ids.
    pub disabled_plans: Vec<String>,
    /// The group it is inherited from, if any.
    pub by_group: Option<String>,
    /// Where group-based licensing (or a direct assignment) has got to.
    pub state: LicenceState,
    /// `lastUpdatedDateTime`: when the state last changed.
    pub updated: DateTime<Utc>,
    /// When an inherited assignment goes after its user left the group (fake's clock).
    pub removal_due: Option<DateTime<Utc>>,
}

impl Assigned {
    /// A direct assignment with every plan on.
    pub fn direct(sku_id: &str) -> Assigned {
        Assigned {
            sku_id: sku_id.to_string(),
            disabled_plans: Vec::new(),
            by_group: None,
            state: LicenceState::Active,
            updated: Utc::now(),
            removal_due: None,
        }
    }

    /// An active assignment inherited from this group.
    pub fn inherited(sku_id: &str, group_id: &str) -> Assigned {
        Assigned {
            by_group: Some(group_id.to_string()),
            ..Assigned::direct(sku_id)
        }
    }
}

/// A user's `signInActivity` (graph_groups_identity.md §2.1): `None` where the user never
/// signed in that way.
#[derive(Debug, Clone, Default)]
pub struct SignInActivity {
    /// `lastSignInDateTime`: the last interactive attempt, successful or not.
    pub last_sign_in: Option<DateTime<Utc>>,
    /// `lastNonInteractiveSignInDateTime`: the last non-interactive attempt.
    pub last_non_interactive: Option<DateTime<Utc>>,
    /// `lastSuccessfulSignInDateTime`: the last successful sign-in of either kind.
    pub last_successful: Option<DateTime<Utc>>,
}

/// A directory group (graph_groups_identity.md §1.1–1.3; Microsoft's group resource).
#[derive(Debug, Clone)]
pub struct FakeGroup {
    /// Object id.
    pub id: String,
    /// `displayName`.
    pub display_name: String,
    /// `groupTypes`: `Unified`, `DynamicMembership`, or none for a security group.
    pub group_types: Vec<String>,
    /// `membershipRule` of a dynamic group.
    pub membership_rule: Option<String>,
    /// `securityEnabled`.
    pub security_enabled: bool,
    /// `mailEnabled`.
    pub mail_enabled: bool,
    /// `isAssignableToRole`.
    pub is_assignable_to_role: bool,
    /// The group's `assignedLicenses`.
    pub licences: Vec<Assigned>,
    /// Object ids of its owners.
    pub owners: Vec<String>,
    /// Object ids of its (user) members.
    pub members: Vec<String>,
}

impl FakeGroup {
    /// A cloud security group without licences, owners or members.
    pub fn security(name: &str) -> FakeGroup {
        FakeGroup {
            id: uuid::Uuid::new_v4().to_string(),
            display_name: name.to_string(),
            group_types: Vec::new(),
            membership_rule: None,
            security_enabled: true,
            mail_enabled: false,
            is_assignable_to_role: false,
            licences: Vec::new(),
            owners: Vec::new(),
            members: Vec::new(),
        }
    }

    /// The same group, also licensing its members with this SKU (every plan on).
    pub fn licensing(mut self, sku_id: &str) -> FakeGroup {
        self.licences.push(Assigned::inherited(sku_id, &self.id));
        self
    }

    /// Whether its members are kept by a rule (Graph cannot change them).
    pub fn is_dynamic(&self) -> bool {
        self.group_types.iter().any(|t| t == "DynamicMembership")
    }

    /// A mail-enabled security group or a distribution group: read-only in Graph.
    pub fn is_read_only(&self) -> bool {
        self.mail_enabled && !self.group_types.iter().any(|t| t == "Unified")
    }
}

/// A directory user.
#[derive(Debug, Clone)]
pub struct FakeUser {
    /// Object id.
    pub id: String,
    /// UPN as created (Graph matches it case-insensitively).
    pub upn: String,
    /// Display name.
    pub display_name: String,
    /// None when unset (Graph returns `null`).
    pub usage_location: Option<String>,
    /// `Member` or `Guest`.
    pub user_type: String,
    /// Whether sign-in is allowed.
    pub account_enabled: bool,
    /// Licence assignments, one per (SKU, source).
    pub licenses: Vec<Assigned>,
    /// `signInActivity`; `None` for a user who never signed in.
    pub sign_in: Option<SignInActivity>,
    /// What reads still see while a change is not yet visible: (old licences, reads left).
    pub(super) stale: Option<(Vec<Assigned>, u32)>,
}

impl FakeUser {
    /// The licences a read sees now: the old ones while a change is not visible yet (each
    /// read uses up one of the lagging reads).
    pub(super) fn visible_licences(&mut self) -> Vec<Assigned> {
        match self.stale.as_mut() {
            Some((old, left)) if *left > 0 => {
                *left -= 1;
                old.clone()
            }
            _ => {
                self.stale = None;
                self.licenses.clone()
            }
        }
    }

    /// Whether the user uses a seat of this SKU (an active assignment from any source).
    pub fn holds_seat(&self, sku_id: &str) -> bool {
        self.licenses
            .iter()
            .any(|l| l.sku_id.eq_ignore_ascii_case(sku_id) && l.state.holds_seat())
    }

    /// A member in NL without licences.
    pub fn member(upn: &str, name: &str) -> FakeUser {
        FakeUser {
            id: uuid::Uuid::new_v4().to_string(),
            upn: upn.to_string(),
            display_name: name.to_string(),
            usage_location: Some("NL".into()),
            user_type: "Member".into(),
            account_enabled: true,
            licenses: Vec::new(),
            sign_in: None,
            stale: None,
        }
    }
}

/// A directory role assignment.
#[derive(Debug, Clone)]
pub struct FakeRoleAssignment {
    /// The user's object id.
    pub principal_id: String,
    /// The role template id.
    pub role_definition_id: String,
    /// `/` or `/administrativeUnits/{id}`.
    pub directory_scope_id: String,
}

/// Everything the fake knows.
#[derive(Debug)]
pub struct State {
    /// SKUs.
    pub skus: Vec<FakeSku>,
    /// Users.
    pub users: Vec<FakeUser>,
    /// Groups.
    pub groups: Vec<FakeGroup>,
    /// Role assignments.
    pub role_assignments: Vec<FakeRoleAssignment>,
    /// Pairs of SKU ids that cannot both be held.
    pub exclusive: Vec<(String, String)>,
    /// Reads of a user that still show the old licences after a change.
    pub readback_lag: u32,
    /// How far the fake's clock is ahead of the wall clock ([`State::now`]).
    pub clock_offset: chrono::Duration,
    /// How long group-based licensing takes to act on a membership change or a reprocess.
    pub group_licence_delay: chrono::Duration,
    /// The directory's country, which group-based licensing gives users without a usage
    /// location (graph_groups_identity.md §1.1); `None` makes them fail.
    pub directory_usage_location: Option<String>,
    /// (SKU id, country) pairs where the SKU's service is not offered.
    pub prohibited: Vec<(String, String)>,
    /// Whether the tenant has Entra ID P1 (needed for `signInActivity` and the sign-in
    /// logs).
    pub entra_p1: bool,
    /// Whether the app holds `AuditLog.Read.All` (needed for the same two).
    pub audit_log_granted: bool,
    /// The sign-in logs, in the order the sign-ins were recorded.
    pub sign_ins: Vec<SignInRecord>,
    /// Whether the app holds `RoleManagement.ReadWrite.Directory` (needed to change the
    /// members of a role-assignable group).
    pub role_management_granted: bool,
    /// `expires_in` of new tokens, in seconds.
    pub token_lifetime: u64,
    /// The CSP subscription.
    pub subscription: Subscription,
    /// Partner Center answers by `MS-RequestId`: (status, body, Location).
    pub idempotency: HashMap<String, (u16, Value, Option<String>)>,
    /// Every quantity change made: (from, to).
    pub quantity_changes: Vec<(i64, i64)>,
    /// The tokens issued and still valid, with the service each is for.
    pub(super) tokens: HashMap<String, Audience>,
    /// How many tokens were issued.
    pub(super) tokens_issued: u32,
    /// The faults waiting for requests.
    pub(super) faults: Faults<FaultKind>,
    /// Every request received, in order.
    pub requests: Log,
    /// Every `$batch` item received, in order (path with `/v1.0`, the item's body).
    pub batch_items: Log,
    /// Graph's base URL as the fake serves it, for `@odata.nextLink`.
    pub(super) graph_base: String,
    /// Every mail accepted by `sendMail`: (sender, the request body).
    pub mails: Vec<(String, Value)>,
    /// The identity platform's sign-in state.
    pub idp: IdpState,
}
impl Default for State {
    /// The test tenant of tests/it/support/tenant.toml, as Microsoft would hold it.
    fn default() -> State {
        let users = users();
        let role_assignments = role_assignments(&users);
        let groups = groups(&users);
        let mut state = State {
            skus: skus(),
            users,
            groups,
            role_assignments,
            exclusive: vec![(PRO_SKU.into(), EXCLUSIVE_SKU.into())],
            readback_lag: 0,
            clock_offset: chrono::Duration::zero(),
            group_licence_delay: chrono::Duration::minutes(2),
            directory_usage_location: Some("NL".into()),
            prohibited: Vec::new(),
            entra_p1: true,
            audit_log_granted: true,
            sign_ins: Vec::new(),
            role_management_granted: false,
            token_lifetime: 3599,
            subscription: Subscription::new(SUBSCRIPTION_ID, 1),
            idempotency: HashMap::new(),
            quantity_changes: Vec::new(),
            tokens: HashMap::new(),
            tokens_issued: 0,
            faults: Faults::default(),
            mails: Vec::new(),
            idp: Default::default(),
            requests: Log::default(),
            batch_items: Log::default(),
            graph_base: "https://graph.microsoft.com/v1.0".into(),
        };
        // Gina's inherited seat plus the one free seat: Pro has 2 bought.
        state.sku_mut(PRO_SKU).enabled = 2;
        state.subscription.quantity = 2;
        state
    }
}

/// A SKU with its service plans, `(id, name)`.
fn sku(sku_id: &str, part: &str, enabled: i64, plans: &[(&str, &str)]) -> FakeSku {
    FakeSku {
        sku_id: sku_id.into(),
        part: part.into(),
        enabled,
        plans: plans
            .iter()
            .map(|(id, name)| (id.to_string(), name.to_string()))
            .collect(),
    }
}

/// The tenant's SKUs: Pro, E5 and Premium Per User (both with Pro's plan inside), and an
/// add-on that cannot be held with Pro.
fn skus() -> Vec<FakeSku> {
    let foundation = (PLAN_EXCHANGE_FOUNDATION, "EXCHANGE_S_FOUNDATION");
    let pro = (PLAN_PRO, "BI_AZURE_P2");
    vec![
        sku(PRO_SKU, "POWER_BI_PRO", 1, &[foundation, pro]),
        sku(
            E5_SKU,
            "SPE_E5",
            5,
            &[
                (
                    "efb87545-963c-4e0d-99df-69c6916d9eb0",
                    "EXCHANGE_S_ENTERPRISE",
                ),
                ("57ff2da0-773e-42df-b2af-ffb7a2317929", "TEAMS1"),
                pro,
            ],
        ),
        sku(
            PPU_SKU,
            "PBI_PREMIUM_PER_USER",
            2,
            &[foundation, (PLAN_PPU, "BI_AZURE_P3"), pro],
        ),
        sku(
            EXCLUSIVE_SKU,
            "CONTOSO_EXCLUSIVE_ADDON",
            5,
            &[(PLAN_EXCLUSIVE, "CONTOSO_EXCLUSIVE")],
        ),
    ]
}

/// The tenant's people, each with what a test needs of them.
fn users() -> Vec<FakeUser> {
    vec![
        FakeUser::member("alice@contoso.example", "Alice Jansen"),
        FakeUser::member("judy@contoso.example", "Judy Bakker"),
        FakeUser {
            usage_location: Some("BE".into()),
            ..FakeUser::member("kim@contoso.example", "Kim de Wit")
        },
        FakeUser {
            usage_location: None,
            ..FakeUser::member("ivan@contoso.example", "Ivan Smit")
        },
        FakeUser {
            licenses: vec![Assigned::direct(E5_SKU)],
            ..FakeUser::member("frank@contoso.example", "Frank Visser")
        },
        FakeUser {
            licenses: vec![Assigned {
                disabled_plans: vec![PLAN_PRO.into()],
                ..Assigned::direct(E5_SKU)
            }],
            ..FakeUser::member("olga@contoso.example", "Olga (E5 without Power BI)")
        },
        FakeUser {
            user_type: "Guest".into(),
            ..FakeUser::member(
                "grace_fabrikam.example#EXT#@contoso.example",
                "Grace (Fabrikam)",
            )
        },
        FakeUser {
            account_enabled: false,
            ..FakeUser::member("heidi@contoso.example", "Heidi Mulder")
        },
        FakeUser {
            licenses: vec![Assigned::direct(EXCLUSIVE_SKU)],
            ..FakeUser::member("xavier@contoso.example", "Xavier (exclusive add-on)")
        },
        FakeUser {
            licenses: vec![Assigned::inherited(PRO_SKU, PRO_GROUP)],
            ..FakeUser::member("gina@contoso.example", "Gina (Pro from a group)")
        },
        FakeUser::member("bob@contoso.example", "Bob Billing"),
        FakeUser::member("carol@contoso.example", "Carol Licence"),
        FakeUser::member("dave@contoso.example", "Dave Global"),
        FakeUser::member("uma@contoso.example", "Uma (scoped admin)"),
        // The bot's own mailbox: proof codes are sent as this user.
        FakeUser::member("licensebot@contoso.example", "Licence bot"),
    ]
}

/// The tenant's groups: Gina's Pro licensing group, owned by Carol.
fn groups(users: &[FakeUser]) -> Vec<FakeGroup> {
    let id_of = |upn: &str| {
        users
            .iter()
            .find(|u| u.upn == upn)
            .map(|u| u.id.clone())
            .unwrap_or_default()
    };
    let pro = FakeGroup {
        id: PRO_GROUP.into(),
        owners: vec![id_of("carol@contoso.example")],
        members: vec![id_of("gina@contoso.example")],
        ..FakeGroup::security("Power BI Pro users")
    };
    vec![pro.licensing(PRO_SKU)]
}

/// The directory roles of the tenant's admins: Billing, License and Global Administrator,
/// a License Administrator scoped to an administrative unit, and a Global Reader.
fn role_assignments(users: &[FakeUser]) -> Vec<FakeRoleAssignment> {
    let role = |upn: &str, template: &str, scope: &str| FakeRoleAssignment {
        principal_id: users
            .iter()
            .find(|u| u.upn == upn)
            .map(|u| u.id.clone())
            .unwrap_or_default(),
        role_definition_id: template.into(),
        directory_scope_id: scope.into(),
    };
    let billing = "b0f54661-2d74-4c50-afa3-1ec803f12efe";
    let licence = "4d6ac14f-3453-41d0-bef9-a3e0c569773a";
    vec![
        role("bob@contoso.example", billing, "/"),
        role("carol@contoso.example", licence, "/"),
        // Global Reader too: not a licensing role, ignored.
        role(
            "carol@contoso.example",
            "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
            "/",
        ),
        role(
            "dave@contoso.example",
            "62e90394-69f5-4237-9190-012177145e10",
            "/",
        ),
        role(
            "uma@contoso.example",
            licence,
            "/administrativeUnits/2d2d2d2d-1111-4222-8333-444455556666",
        ),
    ]
}

impl State {
    fn sku_mut(&mut self, sku_id: &str) -> &mut FakeSku {
        self.skus
            .iter_mut()
            .find(|s| s.sku_id == sku_id)
            .expect("known sku")
    }

    /// Assigned units of a SKU, counted from the users: one per user holding it, however
    /// many sources give it (graph_groups_identity.md §1.1, "one seat per product").
    pub fn consumed(&self, sku_id: &str) -> i64 {
        self.users.iter().filter(|u| u.holds_seat(sku_id)).count() as i64
    }

    /// Sets the enabled units of a SKU by part number.
    pub fn set_enabled(&mut self, part: &str, enabled: i64) {
        if let Some(s) = self.skus.iter_mut().find(|s| s.part == part) {
            s.enabled = enabled;
        }
        if part == "POWER_BI_PRO" {
            self.subscription.quantity = enabled;
        }
    }

    /// The user with this UPN or id.
    pub fn user(&self, key: &str) -> Option<&FakeUser> {
        self.users
            .iter()
            .find(|u| u.id.eq_ignore_ascii_case(key) || u.upn.eq_ignore_ascii_case(key))
    }

    /// The user with this UPN or id, to change as an admin would outside the bot; panics
    /// when the fake has no such user.
    pub fn user_mut(&mut self, key: &str) -> &mut FakeUser {
        let i = self
            .user_index(key)
            .unwrap_or_else(|| panic!("no user {key} in the fake"));
        &mut self.users[i]
    }

    /// The group with this id, to change as an admin would outside the bot; panics when the
    /// fake has no such group.
    pub fn group_mut(&mut self, id: &str) -> &mut FakeGroup {
        let i = self
            .group_index(id)
            .unwrap_or_else(|| panic!("no group {id} in the fake"));
        &mut self.groups[i]
    }

    pub(super) fn user_index(&self, key: &str) -> Option<usize> {
        self.users
            .iter()
            .position(|u| u.id.eq_ignore_ascii_case(key) || u.upn.eq_ignore_ascii_case(key))
    }

    /// The identity platform's base: where the fake serves, without Graph's `/v1.0`.
    pub(super) fn authority(&self) -> String {
        self.graph_base.trim_end_matches("/v1.0").to_string()
    }
}
