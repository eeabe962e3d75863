//! Licensing backends behind three traits: [`Tenant`] (directory, roles, seats, assignment),
//! [`Purchaser`] (raising the seat count) and [`Mailer`] (mail to a directory user's
//! mailbox, for proving a link). The engine knows only these traits; the simulated tenant
//! implements all three (its mailbox is a file); [`graph`] implements [`Tenant`] and
//! [`Mailer`] for a real tenant, [`partner_center`] and [`manual`] implement [`Purchaser`]
//! for CSP and other customers.

pub mod entra;
pub mod graph;
pub mod manual;
pub mod partner_center;
pub mod simulated;

use std::time::Duration;

use async_trait::async_trait;

use crate::domain::{BillingCycle, CountryCode, RequestId, RoleSet, Upn, UserType};

/// The service plan that grants Power BI Pro (commercial cloud).
pub const PRO_SERVICE_PLAN: &str = "BI_AZURE_P2";
/// The service plan that grants Power BI Pro in the US government clouds.
pub const PRO_SERVICE_PLAN_GOV: &str = "BI_AZURE_P_2_GOV";

/// True when a service plan name grants Power BI Pro.
pub fn plan_grants_pro(plan: &str) -> bool {
    plan.eq_ignore_ascii_case(PRO_SERVICE_PLAN) || plan.eq_ignore_ascii_case(PRO_SERVICE_PLAN_GOV)
}

/// Service plans of well-known SKUs, from Microsoft's "Product names and service plan
/// identifiers for licensing" list: the ones that include Power BI Pro, and common ones that
/// do not. Used where a backend knows a SKU only by its part number.
pub fn known_service_plans(sku_part_number: &str) -> &'static [&'static str] {
    const PRO: &[&str] = &["EXCHANGE_S_FOUNDATION", PRO_SERVICE_PLAN];
    const PPU: &[&str] = &["EXCHANGE_S_FOUNDATION", "BI_AZURE_P3", PRO_SERVICE_PLAN];
    const E5: &[&str] = &["EXCHANGE_S_ENTERPRISE", "TEAMS1", PRO_SERVICE_PLAN];
    const FREE: &[&str] = &["EXCHANGE_S_FOUNDATION", "BI_AZURE_P0"];
    const E3: &[&str] = &["EXCHANGE_S_ENTERPRISE", "TEAMS1"];
    match sku_part_number.to_ascii_uppercase().as_str() {
        "POWER_BI_PRO" | "POWER_BI_PRO_CE" | "POWER_BI_PRO_DEPT" | "POWER_BI_PRO_FACULTY" => PRO,
        "PBI_PREMIUM_PER_USER" | "PBI_PREMIUM_PER_USER_DEPT" | "PBI_PREMIUM_PER_USER_FACULTY" => {
            PPU
        }
        "SPE_E5"
        | "SPE_E5_NOPSTNCONF"
        | "SPE_E5_CALLINGMINUTES"
        | "MICROSOFT_365_E5"
        | "DEVELOPERPACK_E5"
        | "ENTERPRISEPREMIUM"
        | "ENTERPRISEPREMIUM_NOPSTNCONF"
        | "M365EDU_A5_FACULTY"
        | "M365EDU_A5_STUDENT"
        | "ENTERPRISEPREMIUM_FACULTY"
        | "ENTERPRISEPREMIUM_STUDENT" => E5,
        "POWER_BI_STANDARD" => FREE,
        "SPE_E3" | "ENTERPRISEPACK" | "SPB" => E3,
        _ => &[],
    }
}

/// A licence a directory user holds.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldLicence {
    /// e.g. `SPE_E5`.
    pub sku_part_number: String,
    /// True when its enabled service plans include Power BI Pro.
    pub grants_pro: bool,
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
}

impl DirectoryUser {
    /// The licence that already gives this user Power BI Pro, if any.
    pub fn pro_from(&self) -> Option<&HeldLicence> {
        self.licences.iter().find(|l| l.grants_pro)
    }

    /// Whether the user holds this SKU.
    pub fn holds(&self, sku_part_number: &str) -> bool {
        self.licences
            .iter()
            .any(|l| l.sku_part_number.eq_ignore_ascii_case(sku_part_number))
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

/// An order to raise the managed SKU's seat count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatOrder {
    /// The request it serves.
    pub request: RequestId,
    /// The absolute seat count to reach (decided at approval; a retry re-applies it).
    pub target_seats: i64,
    /// Seats added over the count seen at approval.
    pub quantity: i64,
    /// Monthly or annual.
    pub billing_cycle: BillingCycle,
    /// Key the backend uses to recognise a retry of the same order.
    pub idempotency_key: String,
}

/// Where a purchase is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurchaseProgress {
    /// The seat count is at (or above) the target.
    Done {
        /// Seats enabled now.
        enabled: i64,
    },
    /// Accepted but not finished (an order in progress); ask again later.
    InProgress {
        /// What is being waited for.
        detail: String,
    },
    /// A person has to buy the seats (direct or Enterprise Agreement customers): the engine
    /// hands the order to the billing approvers and asks again later.
    AwaitingPerson {
        /// Seats enabled now.
        enabled: i64,
        /// True when the seats are ordered through a reseller (Enterprise Agreement / volume
        /// licensing), false when bought in the Microsoft 365 admin center.
        via_reseller: bool,
    },
}

/// Buys seats.
#[async_trait]
pub trait Purchaser: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &'static str;

    /// Raises the seat count to the order's target; never lowers it.
    async fn raise_seats(&self, order: &SeatOrder) -> Result<PurchaseProgress, BackendError>;

    /// Lowers the seat count to the order's target (a reduction, `quantity` negative); never
    /// raises it. Microsoft allows reductions only within a short window after a purchase or
    /// renewal; outside it the backend refuses (`Invalid`, with its words).
    async fn lower_seats(&self, order: &SeatOrder) -> Result<PurchaseProgress, BackendError> {
        Err(BackendError::new(
            ErrorKind::Invalid,
            format!(
                "the {} purchase backend cannot remove seats (asked for {})",
                self.name(),
                order.target_seats
            ),
        ))
    }
}

/// A mail the bot sends: plain text, to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The one recipient: a directory user's own address, never one a chat user typed.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Sends mail from the bot's mailbox.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &'static str;

    /// Sends one mail. `Ok` means the mail service accepted it (not that it was delivered).
    async fn send(&self, mail: &Mail) -> Result<(), BackendError>;
}

/// The mailer when no mail sender is configured: every send is refused, and the engine does
/// not offer the proof by mailed code.
pub struct NoMail;

#[async_trait]
impl Mailer for NoMail {
    fn name(&self) -> &'static str {
        "none"
    }

    async fn send(&self, _mail: &Mail) -> Result<(), BackendError> {
        Err(BackendError::new(
            ErrorKind::Invalid,
            "no mail sender is configured (links.mail_sender)",
        ))
    }
}

/// What the sign-in proof sends a person's browser to the identity provider with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// Where the provider sends the browser back (`{public_url}/link/callback`).
    pub redirect_uri: String,
    /// Binds the answer to this attempt (single use).
    pub state: String,
    /// Echoed in the id_token.
    pub nonce: String,
    /// `BASE64URL(SHA256(verifier))` (PKCE, S256).
    pub code_challenge: String,
    /// The UPN to pre-fill (only a hint: the person may pick another account).
    pub login_hint: String,
}

/// The claims of an id_token that passed validation (signature, issuer, audience, times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdClaims {
    /// The tenant (GUID).
    pub tid: String,
    /// The user's object id in that tenant: the link's key.
    pub oid: String,
    /// The nonce of the request it answers.
    pub nonce: String,
    /// `preferred_username`, for display only (never for a decision).
    pub username: Option<String>,
}

/// Why a sign-in could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// The provider refused the code (used, expired, wrong verifier): start again.
    #[error("the sign-in was refused: {0}")]
    Refused(String),
    /// The id_token failed validation (signature, algorithm, key, issuer, audience, times).
    #[error("the sign-in answer is not valid: {0}")]
    Invalid(String),
    /// The provider could not be reached or answered nonsense; trying later may work.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
}

/// Proof of an account by signing in to it (OpenID Connect, authorization code with PKCE).
#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// The tenant whose accounts may sign in (its GUID).
    async fn tenant(&self) -> Result<String, SignInError>;

    /// The address the browser is sent to, to sign in.
    async fn authorize_url(&self, request: &AuthorizeRequest) -> Result<String, SignInError>;

    /// Redeems an authorization code (with the PKCE verifier) and validates the id_token.
    async fn redeem(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<IdClaims, SignInError>;
}
