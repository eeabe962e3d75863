//! The tenant port: the directory and licence side of a Microsoft 365 tenant, as the engine
//! needs it ([`Tenant`]), with the directory users, seats and errors it deals in. The
//! simulated tenant and Microsoft Graph implement it.

use std::time::Duration;

use async_trait::async_trait;

use crate::domain::{CountryCode, GroupFlags, RoleSet, Upn, UserType};

/// A licence a directory user holds.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldLicence {
    /// e.g. `SPE_E5`.
    pub sku_part_number: String,
    /// True when its enabled service plans include Power BI Pro.
    pub grants_pro: bool,
    /// Where it comes from: assigned directly, inherited from groups, or both (Graph keeps one
    /// `licenseAssignmentStates` entry per source; the seat is consumed once).
    pub sources: Vec<LicenceSource>,
}

impl HeldLicence {
    /// The groups it is inherited from (their object ids). While any grants it, only leaving
    /// the group takes it away, and removing a direct assignment beside it frees no seat.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.sources.iter().filter_map(|s| match s {
            LicenceSource::Group(id) => Some(id.as_str()),
            LicenceSource::Direct => None,
        })
    }
}

/// Where a held licence comes from (Graph `licenseAssignmentStates[].assignedByGroup`: null
/// for a direct assignment, else the group's object id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenceSource {
    /// Assigned to the user directly.
    Direct,
    /// Inherited from membership of this group (its object id).
    Group(String),
}

/// How the assignment of one SKU from one group stands for a user (Graph
/// `licenseAssignmentStates[]` with `assignedByGroup` set: `state` and `error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    /// The group's object id.
    pub group: String,
    /// The SKU it assigns, e.g. `POWER_BI_PRO`.
    pub sku_part_number: String,
    /// Where its processing stands.
    pub state: AssignmentState,
}

/// Where Entra ID's processing of a group's licence for one member stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignmentState {
    /// In force: the member holds the licence (`Active`, or `ActiveWithError`: held, with a
    /// plan in error).
    Active,
    /// Not decided yet: any state Microsoft does not document as final.
    Processing,
    /// Not assigned, for this reason (`Error`, or `Disabled`).
    Failed(AssignmentError),
}

/// Why a group could not give a member its licence (`licenseAssignmentStates[].error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignmentError {
    /// No free seat.
    CountViolation,
    /// A plan conflicts with a plan the member already holds.
    MutuallyExclusiveViolation,
    /// Another product depends on a plan of this one (raised on removal).
    DependencyViolation,
    /// The service is not offered in the member's usage location.
    ProhibitedInUsageLocationViolation,
    /// A value that must be unique is not (e.g. a proxy address).
    UniquenessViolation,
    /// Anything else, with Microsoft's word for it (`Other`, `Disabled`, or a word not
    /// documented yet).
    Other(String),
}

impl AssignmentError {
    /// Microsoft's word for it.
    pub fn word(&self) -> &str {
        match self {
            AssignmentError::CountViolation => "CountViolation",
            AssignmentError::MutuallyExclusiveViolation => "MutuallyExclusiveViolation",
            AssignmentError::DependencyViolation => "DependencyViolation",
            AssignmentError::ProhibitedInUsageLocationViolation => {
                "ProhibitedInUsageLocationViolation"
            }
            AssignmentError::UniquenessViolation => "UniquenessViolation",
            AssignmentError::Other(word) => word,
        }
    }

    /// The error Microsoft's word names; an unknown word is [`AssignmentError::Other`].
    pub fn from_word(word: &str) -> AssignmentError {
        [
            AssignmentError::CountViolation,
            AssignmentError::MutuallyExclusiveViolation,
            AssignmentError::DependencyViolation,
            AssignmentError::ProhibitedInUsageLocationViolation,
            AssignmentError::UniquenessViolation,
        ]
        .into_iter()
        .find(|e| e.word().eq_ignore_ascii_case(word))
        .unwrap_or_else(|| AssignmentError::Other(word.to_string()))
    }
}

/// A group as the bot checks it before licensing through it (Graph's group resource:
/// `groupTypes`, `mailEnabled`, `securityEnabled`, `isAssignableToRole`,
/// `onPremisesSyncEnabled`, `assignedLicenses`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LicensingGroup {
    /// Object id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Its kind: dynamic, Microsoft 365, mail- or security-enabled, role-assignable, synced.
    pub flags: GroupFlags,
    /// The SKUs the group assigns, by part number.
    pub skus: Vec<String>,
}

/// When licence holders last signed in, as far as the tenant can tell (for reclaiming seats
/// nobody uses before buying more).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Activity {
    /// One entry per user asked about (a user the tenant does not know may be left out, or
    /// have no sign-in on record), in no particular order.
    pub users: Vec<UserActivity>,
    /// Why the last sign-in to Microsoft 365 is unknown for everyone (no Entra ID P1, a
    /// missing permission), when it is.
    pub sign_in_unknown: Option<String>,
    /// Why the last sign-in to Power BI is unknown for everyone, when it is.
    pub power_bi_unknown: Option<String>,
}

/// One user's last sign-ins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserActivity {
    /// The user.
    pub upn: Upn,
    /// The last sign-in to anything (Graph `signInActivity`: the latest of the successful,
    /// interactive and non-interactive ones); `None` when there is none on record.
    pub last_sign_in: Option<chrono::DateTime<chrono::Utc>>,
    /// The last sign-in to the Power BI service since `since` (the sign-in logs); `None`
    /// when there is none in that time.
    pub last_power_bi: Option<chrono::DateTime<chrono::Utc>>,
}

/// A group as people are told about it: a licence it grants can only be taken away by
/// taking the person out of it, which its owners (or an administrator) do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    /// Object id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Its owners, by UPN (or display name when they have none, e.g. an application).
    pub owners: Vec<String>,
}

/// A directory user as the backend reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryUser {
    /// Object id.
    pub id: String,
    /// UPN.
    pub upn: Upn,
    /// Display name.
    pub display_name: String,
    /// Usage location (needed before a licence can be assigned).
    pub usage_location: Option<CountryCode>,
    /// Member or guest.
    pub user_type: UserType,
    /// Whether sign-in is allowed.
    pub account_enabled: bool,
    /// The primary mail address (Graph `mail`), when the user has a mailbox.
    pub mail: Option<String>,
    /// Licences held.
    pub licences: Vec<HeldLicence>,
    /// How each group's licences stand for the user, held or not (failed and pending ones
    /// included).
    pub group_states: Vec<GroupState>,
}

impl DirectoryUser {
    /// The licence that already gives this user Power BI Pro, if any.
    pub fn pro_from(&self) -> Option<&HeldLicence> {
        self.licences.iter().find(|l| l.grants_pro)
    }

    /// Whether the user holds this SKU.
    pub fn holds(&self, sku_part_number: &str) -> bool {
        self.licence(sku_part_number).is_some()
    }

    /// How this group's assignment of this SKU stands for the user; `None` when the group
    /// assigns it nothing (not a member, or Entra ID has not started on the membership).
    pub fn from_group(&self, group: &str, sku_part_number: &str) -> Option<&AssignmentState> {
        self.group_states
            .iter()
            .find(|g| {
                g.group.eq_ignore_ascii_case(group)
                    && g.sku_part_number.eq_ignore_ascii_case(sku_part_number)
            })
            .map(|g| &g.state)
    }

    /// The user's licence of this SKU, if held.
    pub fn licence(&self, sku_part_number: &str) -> Option<&HeldLicence> {
        self.licences
            .iter()
            .find(|l| l.sku_part_number.eq_ignore_ascii_case(sku_part_number))
    }
}

/// Seats of the managed SKU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seats {
    /// Seats bought (`prepaidUnits.enabled`).
    pub enabled: i64,
    /// Seats assigned (`consumedUnits`).
    pub consumed: i64,
    /// List price per seat per month, when the backend knows it.
    pub unit_price_monthly: Option<f64>,
}

impl Seats {
    /// Seats bought and not assigned.
    pub fn free(&self) -> i64 {
        (self.enabled - self.consumed).max(0)
    }
}

/// Why a backend call failed, in the engine's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No directory user with that name or id.
    UserNotFound,
    /// The SKU has no free seat.
    NoFreeSeat,
    /// The user has no (valid) usage location.
    InvalidUsageLocation,
    /// The user's account is disabled.
    AccountDisabled,
    /// The licence conflicts with one the user holds (mutually exclusive plans).
    Conflict,
    /// The bot's identity lacks a permission.
    Forbidden,
    /// The request was refused as invalid.
    Invalid,
    /// Worth retrying later: throttling, timeouts, 5xx, dropped connections.
    Transient,
}

/// A failed backend call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The backend's own message (for logs and the audit trail).
    pub message: String,
    /// The backend's id of the call (Graph `request-id`), kept for the audit log.
    pub backend_ref: Option<String>,
    /// How long the backend asked us to wait (429/503 `Retry-After`).
    pub retry_after: Option<Duration>,
}

impl BackendError {
    /// A failure of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        BackendError {
            kind,
            message: message.into(),
            backend_ref: None,
            retry_after: None,
        }
    }

    /// True when trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }
}

/// The directory and licence side of a Microsoft 365 tenant.
#[async_trait]
pub trait Tenant: Send + Sync {
    /// A short name for logs (`simulated`, `graph`).
    fn name(&self) -> &'static str;

    /// Whether the backend can be reached with the bot's credentials now (for `/healthz`):
    /// Graph acquires (or reuses) its token. Nothing is changed.
    async fn health(&self) -> Result<(), BackendError> {
        Ok(())
    }

    /// Looks a directory user up by UPN.
    async fn user(&self, upn: &Upn) -> Result<DirectoryUser, BackendError>;

    /// The directory roles a user holds (a backend may cache them for a short time).
    /// A failure must never be read as a grant.
    async fn roles(&self, upn: &Upn) -> Result<RoleSet, BackendError>;

    /// The directory roles a user holds, read now, bypassing any cache (used right before a
    /// job acts on an approval).
    async fn roles_fresh(&self, upn: &Upn) -> Result<RoleSet, BackendError> {
        self.roles(upn).await
    }

    /// A directory user's object id (immutable; a backend may remember it).
    async fn object_id(&self, upn: &Upn) -> Result<String, BackendError> {
        self.user(upn).await.map(|u| u.id)
    }

    /// Looks several users up; one result per UPN, in order. Backends that can batch
    /// (Graph `$batch`) override this.
    async fn users(&self, upns: &[Upn]) -> Vec<Result<DirectoryUser, BackendError>> {
        let mut out = Vec::with_capacity(upns.len());
        for upn in upns {
            out.push(self.user(upn).await);
        }
        out
    }

    /// Seats of the managed SKU.
    async fn seats(&self) -> Result<Seats, BackendError>;

    /// A group a licence is inherited from: its name and owners, to tell people whom to ask.
    async fn group(&self, id: &str) -> Result<GroupInfo, BackendError>;

    /// Several reads needed at the same moment (users, deciders' roles read fresh, seats),
    /// answered together. Backends that can batch (Graph `$batch`) send them in as few
    /// calls as they can; the default reads them one by one.
    async fn look_up(&self, lookup: &Lookup) -> Found {
        let seats = if lookup.seats {
            Some(self.seats().await)
        } else {
            None
        };
        let mut roles = Vec::with_capacity(lookup.fresh_roles.len());
        for upn in &lookup.fresh_roles {
            roles.push(self.roles_fresh(upn).await);
        }
        let users = self.users(&lookup.users).await;
        Found {
            users,
            roles,
            seats,
        }
    }

    /// A group as it is set up, for the check before licensing through it.
    async fn licensing_group(&self, id: &str) -> Result<LicensingGroup, BackendError>;

    /// Makes the user a member of the group (its licences follow, asynchronously). Already
    /// being a member is success.
    async fn add_member(&self, group: &str, user: &DirectoryUser) -> Result<(), BackendError>;

    /// Takes the user out of the group (its licences go, asynchronously). Not being a member
    /// is success.
    async fn remove_member(&self, group: &str, user: &DirectoryUser) -> Result<(), BackendError>;

    /// Has Entra ID process the user's group licences again (after a seat was bought or the
    /// usage location fixed: a failed group assignment is not retried by itself).
    async fn reprocess(&self, user: &DirectoryUser) -> Result<(), BackendError>;

    /// Every directory user who holds the managed SKU now, from any source (for comparing the
    /// bot's records with the tenant).
    async fn holders(&self) -> Result<Vec<DirectoryUser>, BackendError>;

    /// The UPNs of a group's (user) members.
    async fn members(&self, group: &str) -> Result<Vec<Upn>, BackendError>;

    /// When these users last signed in, to Microsoft 365 and to the Power BI service (the
    /// latter looked for since `since`). Not knowing (no Entra ID P1, a missing permission)
    /// is said in the answer, never an error; only an outage is.
    async fn activity(
        &self,
        upns: &[Upn],
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Activity, BackendError>;

    /// Sets a user's usage location.
    async fn set_usage_location(
        &self,
        user: &DirectoryUser,
        country: &CountryCode,
    ) -> Result<(), BackendError>;

    /// Assigns the managed SKU to a user.
    async fn assign(&self, user: &DirectoryUser) -> Result<(), BackendError>;

    /// Removes the managed SKU from a user.
    async fn unassign(&self, user: &DirectoryUser) -> Result<(), BackendError>;

    /// Assigns the managed SKU to several users; one result per user, in order. Backends
    /// that can batch (Graph `$batch`, 20 per call) override this.
    async fn assign_many(&self, users: &[DirectoryUser]) -> Vec<Result<(), BackendError>> {
        let mut out = Vec::with_capacity(users.len());
        for user in users {
            out.push(self.assign(user).await);
        }
        out
    }
}

/// Reads the engine needs together: before opening a batch of requests (the targets and the
/// seats) or before acting on a batch of jobs (the deciders' roles and the targets).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    /// Directory users, by UPN.
    pub users: Vec<Upn>,
    /// Users whose directory roles are read now, bypassing any cache.
    pub fresh_roles: Vec<Upn>,
    /// Whether to read the managed SKU's seats.
    pub seats: bool,
}

/// The answers to a [`Lookup`], in its order.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// One result per [`Lookup::users`] entry.
    pub users: Vec<Result<DirectoryUser, BackendError>>,
    /// One result per [`Lookup::fresh_roles`] entry.
    pub roles: Vec<Result<RoleSet, BackendError>>,
    /// The seats, when asked for.
    pub seats: Option<Result<Seats, BackendError>>,
}
