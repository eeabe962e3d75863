//! [`Settings`] and one struct per section of the file, as serde builds them.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use super::alerts::AlertSettings;
use super::provenance::Provenance;
use super::values::{from_str, AuditSinkTarget, ConfigDuration, DiscordId, Guid, SignInTime};
use super::values::{
    BackendKind, ChatTransport, LicensingMode, LogFormat, ManualOrderVia, PurchaseBackend,
};
use crate::domain::{
    BillingCycle, CountryCode, DirectoryRole, GroupFlags, Language, ParseError, Term, Upn, UserType,
};

/// All of licensebot's settings, as [`Settings::load`] builds them.
///
/// The only secret, the Discord bot token, is a `secrecy::SecretString` read from the
/// environment variable that `discord.token_env` names: its `Debug` prints `[REDACTED]`, it
/// is never serialized, and [`Settings::summary`] leaves it out. Everything else may be
/// printed.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Settings {
    /// `[chat]`: the chat transport.
    pub chat: ChatSettings,
    /// `[store]`: the database.
    pub store: StoreSettings,
    /// `[bot]`: how the bot appears and is addressed in chat.
    pub bot: BotSettings,
    /// `[policy]`: who may ask for what, and how long decisions may take.
    pub policy: PolicySettings,
    /// `[roles]`: which directory roles may approve which stage.
    pub roles: RoleSettings,
    /// `[jobs]`: retries and leases of backend work.
    pub jobs: JobSettings,
    /// `[scheduler]`: how often deadlines are checked.
    pub scheduler: SchedulerSettings,
    /// `[telemetry]`: logging.
    pub telemetry: TelemetrySettings,
    /// `[[approvers]]`: the chat accounts that may decide, each tied to a directory user.
    pub approvers: Vec<ApproverSettings>,
    /// `[links]`: how chat accounts prove the directory account they act for.
    pub links: LinkSettings,
    /// `[backend]`: the directory and purchasing backends.
    pub backend: BackendSettings,
    /// `[licensing]`: how the licence is given, directly or through a group.
    pub licensing: LicensingSettings,
    /// `[reconcile]`: comparing the bot's records with the tenant.
    pub reconcile: ReconcileSettings,
    /// `[reclaim]`: moving seats nobody uses instead of buying.
    pub reclaim: ReclaimSettings,
    /// `[[auto_approve]]`: rules that approve an assignment without an approver.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auto_approve: Vec<AutoApproveSettings>,
    /// `[alerts]`: messages in the approvals channel when seats run short.
    pub alerts: AlertSettings,
    /// `[audit]`: the live audit sink.
    pub audit: AuditSettings,
    /// `[discord]`: the Discord transport; required when `chat.transport = "discord"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discord: Option<DiscordSettings>,
    /// `[ha]`: several instances on one PostgreSQL database; refused on SQLite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ha: Option<HaSettings>,
    /// Which layer set each key; filled by [`Settings::load`], never read from a file.
    #[serde(skip)]
    pub provenance: Provenance,
}

/// `[chat]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ChatSettings {
    /// `"console"` or `"discord"`.
    pub transport: ChatTransport,
}

/// `[discord]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DiscordSettings {
    /// The environment variable that holds the bot token; the token itself is never in a file.
    #[serde(default = "default_token_env")]
    pub token_env: String,
    /// The server (guild) the bot serves; messages elsewhere are ignored, DMs excepted.
    pub guild_id: DiscordId,
    /// The channel where approval messages are posted.
    pub approvals_channel_id: DiscordId,
    /// Discord's base URL, `https://discord.com`; tests point it at a fake on loopback.
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// Whether to register the `/pro` slash commands in the guild at start-up.
    #[serde(default = "yes")]
    pub register_slash_commands: bool,
    /// The bot token, read from `token_env` when the settings load; never serialized.
    #[serde(skip)]
    pub token: Option<SecretString>,
}

impl DiscordSettings {
    /// Whether `api_url` is the real Discord (serenity's rate limiter stays on).
    pub fn is_real_discord(&self) -> bool {
        is_real_discord(&self.api_url)
    }
}

/// Whether a Discord base URL is the real Discord (not a fake on loopback): the one place
/// that decides, for the settings summary and the transport's rate limiter alike.
pub fn is_real_discord(api_url: &str) -> bool {
    api_url.trim_end_matches('/') == DISCORD_API_URL
}

/// The real Discord's base URL.
pub const DISCORD_API_URL: &str = "https://discord.com";

fn default_token_env() -> String {
    "DISCORD_TOKEN".to_string()
}

fn default_api_url() -> String {
    DISCORD_API_URL.to_string()
}

/// `[store]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StoreSettings {
    /// The database URL: `sqlite:…` (the default, one bot per file) or
    /// `postgres://user@host:port/db` (several bots may share it).
    pub url: String,
    /// PostgreSQL: the environment variable holding the database password; empty when the
    /// server asks for none.
    pub password_env: String,
    /// The password, read from `password_env` when the settings load; never serialized.
    #[serde(skip)]
    pub password: Option<SecretString>,
}

/// `[bot]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BotSettings {
    /// The bot's chat name; on the console `@licensebot` addresses it.
    pub name: String,
    /// The command prefix, e.g. `!pro`: non-empty, no whitespace, at most 16 characters.
    pub prefix: String,
    /// The language of replies to whoever has none of their own (a person's is the one their
    /// slash command carries, else the one they chose with `language`, else the server's).
    pub language: Language,
    /// The language approval messages are written in; absent: `language`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals_language: Option<Language>,
    /// Console: the channel a line without `#channel` is posted to.
    pub general_channel: String,
    /// The channel where approval requests are posted for approvers to react to.
    pub approvals_channel: String,
    /// Reactions that approve a stage; non-empty and disjoint from `deny_emojis`.
    pub approve_emojis: Vec<String>,
    /// Reactions that deny a stage; non-empty.
    pub deny_emojis: Vec<String>,
}

/// `[policy]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PolicySettings {
    /// Whether guest (B2B) accounts may receive a licence.
    pub allow_guests: bool,
    /// The usage location set on a user who has none; absent or `""` means "ask instead".
    #[serde(
        default,
        deserialize_with = "optional_country",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_usage_location: Option<CountryCode>,
    /// The billing cycle of purchased seats.
    #[serde(deserialize_with = "from_str")]
    pub default_billing_cycle: BillingCycle,
    /// Remind approvers after a stage has waited this long.
    pub remind_after: ConfigDuration,
    /// Escalate to more approvers after this long; longer than `remind_after`.
    pub escalate_after: ConfigDuration,
    /// Expire the request after this long; longer than `escalate_after`.
    pub expire_after: ConfigDuration,
    /// How many open requests one chat user may have at once, 1 to 100.
    pub max_open_requests_per_user: u32,
    /// The currency prices are shown in: three upper-case letters such as `USD`.
    pub currency: String,
    /// Who may ask for a licence at all: Discord role ids (any one of them), or console
    /// names; empty means everyone with a verified link.
    pub requesters: Vec<String>,
    /// The longest term a licence is given for (`90d`, `12w`, `3m`: months of 30 days);
    /// a request without a term gets it. Absent or `""`: no limit, and a licence without a
    /// term never ends.
    #[serde(
        default,
        deserialize_with = "optional_term",
        serialize_with = "as_optional_term",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_duration: Option<Term>,
    /// A purchase of more seats than this needs two approvers; 0 is off.
    pub two_person_above_seats: u32,
    /// A purchase costing more than this per month (in `currency`) needs two approvers; 0 is
    /// off.
    pub two_person_above_cost: f64,
    /// What the bot may buy per calendar month, in `currency` (monthly price × seats of
    /// each purchase); 0 is no budget.
    pub monthly_budget: f64,
    /// The monthly price of one seat, in `currency`; 0 means the backend's own (the
    /// simulated tenant's SKU price; Graph tells none).
    pub seat_price_monthly: f64,
}

/// `[[auto_approve]]`: an assignment whose requester and licence holder match every
/// condition given is approved by the rule when a seat is free.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AutoApproveSettings {
    /// The rule's name, shown on the approval and recorded as who approved; unique.
    pub name: String,
    /// Discord role ids (any one of them), or console names, of who may ask.
    #[serde(default)]
    pub requesters: Vec<String>,
    /// Directory group object ids; the licence's holder must be a member of one.
    #[serde(default)]
    pub directory_groups: Vec<String>,
}

fn optional_term<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Term>, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Ok(None);
    }
    match Term::parse(&s) {
        Some(Ok(term)) => Ok(Some(term)),
        Some(Err(e)) => Err(serde::de::Error::custom(e.0)),
        None => Err(serde::de::Error::custom(format!(
            "{s:?} is not a term; write e.g. \"90d\", \"12w\" or \"3m\" (months of 30 days), or \"\" for no limit"
        ))),
    }
}

fn as_optional_term<S: Serializer>(v: &Option<Term>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(t) => s.collect_str(t),
        None => s.serialize_str(""),
    }
}

/// `[links]`: how a chat account proves that it owns a directory account.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LinkSettings {
    /// The mailbox proof codes are mailed from (Graph: `POST /users/{mail_sender}/sendMail`);
    /// `""` turns the proof by mailed code off.
    pub mail_sender: String,
    /// Whether links may be proven by signing in to Microsoft Entra (the Graph app's
    /// registration, `[backend.graph]`, as a confidential client with a Web redirect URI).
    pub sign_in: bool,
    /// The sign-in pages' base URL as people's browsers reach it, e.g.
    /// `https://licensebot.contoso.com`; `{public_url}/link/callback` is the redirect URI.
    pub public_url: String,
    /// Where the sign-in pages are served, e.g. `127.0.0.1:8443` (behind a TLS proxy).
    pub listen_addr: String,
}

/// `[licensing]`: how the bot gives and takes the licence.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LicensingSettings {
    /// `"direct"`: the licence is assigned to the user; `"group"`: the user is made a member
    /// of the licensing group, whose licence Entra ID applies.
    pub mode: LicensingMode,
    /// The licensing group's object id (a GUID); required with `mode = "group"`.
    pub group_id: String,
    /// How long Entra ID may take to apply the group's licence to a new member before the
    /// request fails (the membership stays).
    pub group_wait: ConfigDuration,
}

/// `[reclaim]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ReclaimSettings {
    /// A holder counts as not using their licence after this long without signing in to
    /// Power BI (or to Microsoft 365, when Power BI's sign-ins are unknown).
    pub inactive_after: ConfigDuration,
    /// How long a holder has to keep their licence (`!pro keep`) once an approver chose to
    /// move it.
    pub grace: ConfigDuration,
    /// Holders never listed (UPNs).
    pub exempt: Vec<Upn>,
    /// The reaction that moves a seat instead of buying one.
    pub emoji: String,
}

/// `[ha]`: several instances on one PostgreSQL database.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct HaSettings {
    /// The gateway leadership lease: the leader renews it a third of the way through, and a
    /// standby takes over once it has run out (within this long of the leader's death).
    #[serde(default = "default_ha_lease")]
    pub lease: ConfigDuration,
}

impl Default for HaSettings {
    fn default() -> Self {
        HaSettings {
            lease: default_ha_lease(),
        }
    }
}

fn default_ha_lease() -> ConfigDuration {
    ConfigDuration(Duration::from_secs(15))
}

/// `[audit]`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AuditSettings {
    /// Where every audit event is also appended as a JSON line, fsync'd with the commit that
    /// wrote it (`file:PATH`); absent for no sink.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sink: Option<AuditSinkTarget>,
}

/// `[reconcile]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ReconcileSettings {
    /// How often the bot compares its records with the tenant and reports differences in the
    /// approvals channel; `"off"` for never (`licensebot reconcile` still works).
    #[serde(
        deserialize_with = "duration_or_off",
        serialize_with = "as_duration_or_off"
    )]
    pub every: Option<ConfigDuration>,
}

fn duration_or_off<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ConfigDuration>, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let every = ConfigDuration::parse(&s).map_err(serde::de::Error::custom)?;
    if every.get().is_zero() {
        return Err(serde::de::Error::custom(
            "must be longer than 0s; write \"off\" for never",
        ));
    }
    Ok(Some(every))
}

fn as_duration_or_off<S: Serializer>(v: &Option<ConfigDuration>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(d) => s.collect_str(d),
        None => s.serialize_str("off"),
    }
}

/// `[roles]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RoleSettings {
    /// Roles that may approve a purchase stage; non-empty.
    pub purchase: Vec<DirectoryRole>,
    /// Roles that may approve an assign or unassign stage; non-empty.
    pub assign: Vec<DirectoryRole>,
    /// Roles that may approve a purchase over `[policy] monthly_budget`; non-empty.
    pub over_budget: Vec<DirectoryRole>,
}

/// `[jobs]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct JobSettings {
    /// Attempts before a job fails for good, 1 to 100.
    pub max_attempts: u32,
    /// The first retry delay; it doubles per attempt.
    pub backoff_base: ConfigDuration,
    /// The longest retry delay; at least `backoff_base`.
    pub backoff_max: ConfigDuration,
    /// How long a worker owns a job before another may take it over.
    pub lease: ConfigDuration,
    /// How often an idle worker looks for due jobs.
    pub poll_interval: ConfigDuration,
    /// Read-backs after a change before the result counts as not yet visible, 1 to 50
    /// (Microsoft 365 is eventually consistent).
    pub verify_attempts: u32,
    /// The pause between two read-backs.
    pub verify_interval: ConfigDuration,
}

/// `[scheduler]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SchedulerSettings {
    /// How often reminders, escalations and expiry are checked in real time.
    pub tick: ConfigDuration,
}

/// `[telemetry]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TelemetrySettings {
    /// A tracing `EnvFilter` directive such as `info` or `info,licensebot=debug`.
    pub level: String,
    /// `"pretty"` or `"json"`.
    pub format: LogFormat,
    /// Where to serve `/metrics` and `/healthz`, e.g. `127.0.0.1:9464`; `""` for nowhere.
    pub metrics_addr: String,
}

impl TelemetrySettings {
    /// The address of the metrics endpoint, if one is configured (validated at load).
    pub fn metrics_socket(&self) -> Option<std::net::SocketAddr> {
        let a = self.metrics_addr.trim();
        if a.is_empty() {
            None
        } else {
            a.parse().ok()
        }
    }
}

/// One `[[approvers]]` entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ApproverSettings {
    /// The chat account: a console name, or a Discord user id (digits) when
    /// `chat.transport = "discord"`; unique.
    pub chat_user: String,
    /// The directory user whose roles decide what this approver may approve; unique.
    pub upn: Upn,
}

/// `[backend]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BackendSettings {
    /// `"simulated"` or `"graph"`.
    pub kind: BackendKind,
    /// `"simulated"`, `"partner_center"` or `"manual"`.
    pub purchase: PurchaseBackend,
    /// The SKU the bot manages, e.g. `POWER_BI_PRO`.
    pub sku_part_number: String,
    /// `[backend.simulated]`: the simulated tenant.
    pub simulated: SimulatedBackendSettings,
    /// `[backend.graph]`: Microsoft Graph; required when `kind = "graph"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<GraphSettings>,
    /// `[backend.partner_center]`: Partner Center; required when
    /// `purchase = "partner_center"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_center: Option<PartnerCenterSettings>,
    /// `[backend.manual]`: manual purchase mode.
    pub manual: ManualBackendSettings,
}

impl BackendSettings {
    /// The SKU the bot manages: `backend.graph.sku_part_number` when the Graph backend is in
    /// use and it is set, else `backend.sku_part_number`.
    pub fn managed_sku(&self) -> &str {
        match (&self.kind, &self.graph) {
            (
                BackendKind::Graph,
                Some(GraphSettings {
                    sku_part_number: Some(sku),
                    ..
                }),
            ) => sku,
            _ => &self.sku_part_number,
        }
    }
}

/// The identity platform's public endpoint.
pub const DEFAULT_AUTHORITY_URL: &str = "https://login.microsoftonline.com";
/// Microsoft Graph v1.0.
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com/v1.0";
/// Partner Center's REST API.
pub const DEFAULT_PARTNER_CENTER_URL: &str = "https://api.partnercenter.microsoft.com";

fn default_authority_url() -> String {
    DEFAULT_AUTHORITY_URL.to_string()
}

fn default_graph_url() -> String {
    DEFAULT_GRAPH_URL.to_string()
}

fn default_partner_center_url() -> String {
    DEFAULT_PARTNER_CENTER_URL.to_string()
}

fn default_graph_secret_env() -> String {
    "LICENSEBOT_GRAPH_CLIENT_SECRET".to_string()
}

fn default_pc_secret_env() -> String {
    "LICENSEBOT_PC_CLIENT_SECRET".to_string()
}

fn default_role_cache_ttl() -> ConfigDuration {
    ConfigDuration(Duration::from_secs(600))
}

fn default_timeout() -> ConfigDuration {
    ConfigDuration(Duration::from_secs(30))
}

/// `[backend.graph]`. The client secret is never here: only the name of the environment
/// variable that holds it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GraphSettings {
    /// The tenant (directory) id, a GUID or a domain such as `contoso.onmicrosoft.com`.
    pub tenant_id: String,
    /// The application (client) id of the bot's app registration.
    pub client_id: Guid,
    /// The environment variable holding the app's client secret.
    #[serde(default = "default_graph_secret_env")]
    pub client_secret_env: String,
    /// The identity platform, `https://login.microsoftonline.com` unless tests say otherwise.
    #[serde(default = "default_authority_url")]
    pub authority_url: String,
    /// Microsoft Graph's base URL, `https://graph.microsoft.com/v1.0` by default.
    #[serde(default = "default_graph_url")]
    pub graph_url: String,
    /// The managed SKU; when absent, `backend.sku_part_number`. When both are set, this one
    /// wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku_part_number: Option<String>,
    /// How long directory roles read from Graph are trusted (`0s`: read every time); a job
    /// always reads them afresh before it acts.
    #[serde(default = "default_role_cache_ttl")]
    pub role_cache_ttl: ConfigDuration,
    /// The timeout of every HTTP call to Microsoft.
    #[serde(default = "default_timeout")]
    pub timeout: ConfigDuration,
}

/// `[backend.partner_center]`: a CSP customer's subscription, changed by the partner's app.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PartnerCenterSettings {
    /// Partner Center's base URL.
    #[serde(default = "default_partner_center_url")]
    pub api_url: String,
    /// The customer's tenant id.
    pub customer_tenant_id: Guid,
    /// The customer's Power BI Pro subscription id.
    pub subscription_id: Guid,
    /// The environment variable holding the Partner Center app's client secret.
    #[serde(default = "default_pc_secret_env")]
    pub client_secret_env: String,
    /// The tenant of the Partner Center app (the partner's own tenant); when absent,
    /// `backend.graph.tenant_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The Partner Center app's client id; when absent, `backend.graph.client_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Guid>,
    /// The identity platform for the Partner Center token; when absent,
    /// `backend.graph.authority_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_url: Option<String>,
}

/// `[backend.manual]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ManualBackendSettings {
    /// `"admin_center"` or `"reseller"`: what the purchase task tells the billing approvers.
    pub order_via: ManualOrderVia,
}

/// `[backend.simulated]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SimulatedBackendSettings {
    /// A delay added to every simulated backend call (crash tests use it); may be `0s`.
    pub latency: ConfigDuration,
    /// The file every mail the bot sends is appended to, one JSON line each (relative paths
    /// from the working directory, like the database's).
    pub mailbox: String,
    /// The simulated tenant's own SQLite database URL; empty keeps it beside the store's
    /// file (or at `data/licensebot.simulated-tenant.db` when the store is PostgreSQL).
    pub database: String,
    /// `[[backend.simulated.skus]]`: the subscriptions of the tenant.
    pub skus: Vec<SimulatedSku>,
    /// `[[backend.simulated.users]]`: the directory users of the tenant.
    pub users: Vec<SimulatedUser>,
    /// `[[backend.simulated.groups]]`: the tenant's groups, whose licences Entra ID's
    /// group-based licensing gives their members.
    pub groups: Vec<SimulatedGroup>,
}

/// One `[[backend.simulated.skus]]` entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SimulatedSku {
    /// The SKU's part number, e.g. `POWER_BI_PRO`; unique.
    pub sku_part_number: String,
    /// The SKU's GUID.
    pub sku_id: Guid,
    /// Enabled units at start, 0 to 1,000,000.
    pub seats: u32,
    /// The monthly price of one seat, finite and not negative.
    pub unit_price_monthly: f64,
    /// Service plan names, e.g. `BI_AZURE_P2`; empty means the tenant's built-in table
    /// decides.
    #[serde(default)]
    pub service_plans: Vec<String>,
}

/// One `[[backend.simulated.users]]` entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SimulatedUser {
    /// The user's UPN; unique.
    pub upn: Upn,
    /// The name shown in chat.
    pub display_name: String,
    /// The user's usage location; absent means none is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_location: Option<CountryCode>,
    /// `"Member"` or `"Guest"`; `Member` when absent.
    #[serde(
        default = "member",
        deserialize_with = "from_str",
        serialize_with = "as_display"
    )]
    pub user_type: UserType,
    /// Whether the account may sign in; `true` when absent.
    #[serde(default = "yes")]
    pub account_enabled: bool,
    /// Part numbers of the SKUs the user already holds.
    #[serde(default)]
    pub licenses: Vec<String>,
    /// The user's directory roles.
    #[serde(default)]
    pub roles: Vec<DirectoryRole>,
    /// The user's mail address (Graph `mail`), where a link's proof code is mailed; the UPN
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<String>,
    /// When the user last signed in to anything (Graph `signInActivity`), as a
    /// [`SignInTime`] writes it: an RFC 3339 time or a duration before the tenant was first
    /// seeded; absent means none on record. Read by [`SimulatedUser::sign_ins`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sign_in: Option<String>,
    /// When the user last signed in to the Power BI service (the sign-in logs), written as
    /// `last_sign_in` is; absent means none on record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_power_bi_sign_in: Option<String>,
}

impl SimulatedUser {
    /// `last_sign_in` and `last_power_bi_sign_in`, each read (the settings checks name the
    /// key of one that does not read).
    pub fn sign_ins(
        &self,
    ) -> (
        Result<Option<SignInTime>, ParseError>,
        Result<Option<SignInTime>, ParseError>,
    ) {
        (
            SignInTime::parse_setting(self.last_sign_in.as_deref()),
            SignInTime::parse_setting(self.last_power_bi_sign_in.as_deref()),
        )
    }
}

/// One `[[backend.simulated.groups]]` entry: a group as Graph's group resource describes it
/// (`groupTypes`, `mailEnabled`, `securityEnabled`, `isAssignableToRole`,
/// `onPremisesSyncEnabled`, `assignedLicenses`), with its owners and members.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SimulatedGroup {
    /// The group's object id; unique.
    pub id: Guid,
    /// The group's display name.
    pub display_name: String,
    /// Part numbers of the SKUs the group assigns to its members.
    #[serde(default)]
    pub licenses: Vec<String>,
    /// UPNs of its members at the start.
    #[serde(default)]
    pub members: Vec<Upn>,
    /// UPNs of its owners (whom people are told to ask).
    #[serde(default)]
    pub owners: Vec<Upn>,
    /// Membership follows a rule (`groupTypes` has `DynamicMembership`); `false` when absent.
    #[serde(default)]
    pub dynamic: bool,
    /// A Microsoft 365 group (`groupTypes` has `Unified`); `false` when absent.
    #[serde(default)]
    pub unified: bool,
    /// `mailEnabled`; `false` when absent.
    #[serde(default)]
    pub mail_enabled: bool,
    /// `securityEnabled`; `true` when absent.
    #[serde(default = "yes")]
    pub security_enabled: bool,
    /// `isAssignableToRole`; `false` when absent.
    #[serde(default)]
    pub role_assignable: bool,
    /// Membership is mastered on-premises (`onPremisesSyncEnabled`); `false` when absent.
    #[serde(default)]
    pub synced: bool,
}

impl SimulatedGroup {
    /// The group's kind, as the tenant keeps it.
    pub fn flags(&self) -> GroupFlags {
        GroupFlags {
            dynamic: self.dynamic,
            unified: self.unified,
            mail_enabled: self.mail_enabled,
            security_enabled: self.security_enabled,
            role_assignable: self.role_assignable,
            synced: self.synced,
        }
    }
}

fn member() -> UserType {
    UserType::Member
}

fn yes() -> bool {
    true
}

fn as_display<S: Serializer, T: fmt::Display>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

fn optional_country<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CountryCode>, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        Ok(None)
    } else {
        CountryCode::parse(&s)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}
