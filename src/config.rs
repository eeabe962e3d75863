//! Settings: typed, layered (the embedded default, an optional file, `LICENSEBOT__…`
//! environment variables) and validated at load, with problems that name their source
//! (file or environment variable), the key and what is wrong.
//!
//! Layers, later wins:
//! 1. `config/default.toml`, embedded in the binary: a complete demo tenant;
//! 2. an optional file (`--config FILE`, else the `LICENSEBOT_CONFIG` environment variable);
//! 3. environment variables `LICENSEBOT__SECTION__KEY=value` (double underscores between
//!    keys, keys lower-cased; the value is read as a TOML value when it is one, such as
//!    `true`, `5` or `["✅"]`, and as a string otherwise).
//!
//! Tables merge key by key; every other value, arrays and arrays of tables included,
//! replaces what the earlier layers said. [`Provenance`] remembers which layer set each key.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::de::{DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use toml::{Table, Value};

use crate::domain::{BillingCycle, CountryCode, DirectoryRole, ParseError, Upn, UserType};

/// The embedded default settings.
const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// How problems name the embedded default.
pub const DEFAULT_SOURCE: &str = "config/default.toml (embedded)";

/// The environment variable naming a settings file when the caller gives none.
pub const CONFIG_FILE_ENV: &str = "LICENSEBOT_CONFIG";

/// The prefix of environment variables that override single keys.
pub const ENV_PREFIX: &str = "LICENSEBOT__";

/// The top-level tables of [`Settings`], in the order they are read. `discord` is optional
/// (required only with `chat.transport = "discord"`); the others are always present.
pub const SECTIONS: [&str; 12] = [
    "chat",
    "store",
    "bot",
    "policy",
    "roles",
    "jobs",
    "scheduler",
    "telemetry",
    "approvers",
    "links",
    "backend",
    "discord",
];

/// Parses a log filter (`info`, `info,licensebot=debug`). Only printable ASCII is taken:
/// the filter parser of tracing-subscriber 0.3 slices its input at byte offsets and panics
/// on some non-ASCII text (found by fuzzing the settings loader), and no target, span or
/// level name needs more. Field values in a filter match literally (see below).
pub fn log_filter(text: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    if let Some(c) = text.chars().find(|c| !(c.is_ascii_graphic() || *c == ' ')) {
        return Err(format!(
            "{c:?} is not allowed; a filter is made of ASCII letters, digits and punctuation"
        ));
    }
    // Field values are matched as plain text: with regexes on, a crafted value such as
    // `[{f=(a|b)*c{1000}}]` compiles to a dense DFA for minutes (also found by fuzzing).
    tracing_subscriber::EnvFilter::builder()
        .with_regex(false)
        .parse(text)
        .map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// One thing wrong with the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Where the offending value came from: a file path, `config/default.toml (embedded)` or
    /// `environment variable LICENSEBOT__…`.
    pub source: String,
    /// The key path, e.g. `policy.remind_after` or `approvers[0].upn`; for a TOML syntax
    /// error the position (`line 3, column 5`); empty when the whole source is at fault.
    pub key: String,
    /// What is wrong, in words an operator can act on.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.source, self.message)
        } else {
            write!(f, "{}: {}: {}", self.source, self.key, self.message)
        }
    }
}

/// The settings could not be loaded; every problem found is listed, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", one_per_line(.problems))]
pub struct ConfigError {
    /// Every problem found, in the order the layers and keys were read.
    pub problems: Vec<ConfigProblem>,
}

fn one_per_line(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------
// Value types
// ---------------------------------------------------------------------------------------

/// A duration written the humantime way: `30m`, `4h`, `7d`, `1h 30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigDuration(pub Duration);

impl ConfigDuration {
    /// Parses a humantime duration such as `4h` or `1h 30m`.
    pub fn parse(s: &str) -> Result<ConfigDuration, ParseError> {
        humantime::parse_duration(s.trim())
            .map(ConfigDuration)
            .map_err(|_| ParseError(format!("{s:?} is not a duration (use e.g. 30m, 4h, 7d)")))
    }

    /// The standard-library duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl From<ConfigDuration> for Duration {
    fn from(d: ConfigDuration) -> Duration {
        d.0
    }
}

impl fmt::Display for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for ConfigDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DurationVisitor;

        impl Visitor<'_> for DurationVisitor {
            type Value = ConfigDuration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"30m\", \"4h\" or \"7d\"")
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<ConfigDuration, E> {
                ConfigDuration::parse(s).map_err(E::custom)
            }
        }

        d.deserialize_str(DurationVisitor)
    }
}

/// A GUID in its 8-4-4-4-12 hexadecimal form, stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Guid(String);

impl Guid {
    /// Parses `F8A1DB68-BE16-40ED-86D5-CB42CE701560` into its lower-case form.
    pub fn parse(s: &str) -> Result<Guid, ParseError> {
        let t = s.trim();
        let parts: Vec<&str> = t.split('-').collect();
        let well_formed = parts.len() == 5
            && parts.iter().zip([8, 4, 4, 4, 12]).all(|(part, len)| {
                part.len() == len && part.bytes().all(|b| b.is_ascii_hexdigit())
            });
        if well_formed {
            Ok(Guid(t.to_ascii_lowercase()))
        } else {
            Err(ParseError(format!(
                "{t:?} is not a GUID (8-4-4-4-12 hexadecimal digits)"
            )))
        }
    }

    /// The lower-case GUID.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Guid {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Guid::parse(&s)
    }
}

impl From<Guid> for String {
    fn from(g: Guid) -> String {
        g.0
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Discord id (a "snowflake"): 1 to 20 decimal digits, written as a string (TOML integers
/// cannot hold every id) or, when it fits, an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DiscordId(u64);

impl DiscordId {
    /// Parses `"123456789012345678"`; zero is not an id.
    pub fn parse(s: &str) -> Result<DiscordId, ParseError> {
        let t = s.trim();
        let digits = (1..=20).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit());
        match t.parse::<u64>() {
            Ok(n) if digits && n > 0 => Ok(DiscordId(n)),
            _ => Err(ParseError(format!(
                "{t:?} is not a Discord id (Developer Mode > Copy ID gives digits such as \"123456789012345678\")"
            ))),
        }
    }

    /// The id as a number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for DiscordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for DiscordId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DiscordId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct IdVisitor;

        impl Visitor<'_> for IdVisitor {
            type Value = DiscordId;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Discord id such as \"123456789012345678\"")
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<DiscordId, E> {
                DiscordId::parse(s).map_err(E::custom)
            }

            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<DiscordId, E> {
                DiscordId::parse(&n.to_string()).map_err(E::custom)
            }

            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<DiscordId, E> {
                DiscordId::parse(&n.to_string()).map_err(E::custom)
            }
        }

        d.deserialize_any(IdVisitor)
    }
}

macro_rules! setting_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $word)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word used in settings files.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| ParseError(unknown_word(s, $name::ALL.iter().map(|v| v.as_str()))))
            }
        }

        // Through a string rather than serde's enum support, whose TOML error for a
        // non-string value does not say what was found.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                from_str(d)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

setting_enum!(
    /// Where people talk to the bot.
    ChatTransport {
        /// Standard input and output: demos, tests, development.
        Console => "console",
        /// A Discord server.
        Discord => "discord",
    }
);

setting_enum!(
    /// The language of the bot's replies.
    Language {
        /// English.
        En => "en",
        /// Dutch.
        Nl => "nl",
    }
);

setting_enum!(
    /// How log lines are written.
    LogFormat {
        /// Human-readable, coloured lines for a terminal.
        Pretty => "pretty",
        /// One JSON object per line, for a log collector.
        Json => "json",
    }
);

setting_enum!(
    /// Which directory the bot reads users and licences from and assigns them in.
    BackendKind {
        /// The in-process simulated tenant of `[backend.simulated]`.
        Simulated => "simulated",
        /// Microsoft Graph against a real tenant.
        Graph => "graph",
    }
);

setting_enum!(
    /// How seats are bought.
    PurchaseBackend {
        /// The simulated tenant adds seats itself.
        Simulated => "simulated",
        /// Microsoft Partner Center buys them.
        PartnerCenter => "partner_center",
        /// A person buys them by hand and tells the bot when done.
        Manual => "manual",
    }
);

setting_enum!(
    /// How a person buys seats in manual purchase mode.
    ManualOrderVia {
        /// In the Microsoft 365 admin center (direct customers).
        AdminCenter => "admin_center",
        /// Through a reseller (Enterprise Agreement, volume licensing).
        Reseller => "reseller",
    }
);

// ---------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------

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
    /// `[discord]`: the Discord transport; required when `chat.transport = "discord"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discord: Option<DiscordSettings>,
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
        self.api_url.trim_end_matches('/') == DISCORD_API_URL
    }
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
    /// The SQLite database URL; starts with `sqlite:`.
    pub url: String,
}

/// `[bot]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BotSettings {
    /// The bot's chat name; on the console `@licensebot` addresses it.
    pub name: String,
    /// The command prefix, e.g. `!pro`: non-empty, no whitespace, at most 16 characters.
    pub prefix: String,
    /// The language of replies.
    pub language: Language,
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

/// `[roles]`
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RoleSettings {
    /// Roles that may approve a purchase stage; non-empty.
    pub purchase: Vec<DirectoryRole>,
    /// Roles that may approve an assign or unassign stage; non-empty.
    pub assign: Vec<DirectoryRole>,
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
    /// `[[backend.simulated.skus]]`: the subscriptions of the tenant.
    pub skus: Vec<SimulatedSku>,
    /// `[[backend.simulated.users]]`: the directory users of the tenant.
    pub users: Vec<SimulatedUser>,
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
}

fn unknown_word<'a>(s: &str, words: impl Iterator<Item = &'a str>) -> String {
    let words: Vec<String> = words.map(|w| format!("{w:?}")).collect();
    format!("{s:?} is not one of {}", words.join(", "))
}

fn member() -> UserType {
    UserType::Member
}

fn yes() -> bool {
    true
}

fn from_str<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
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

impl Settings {
    /// Loads the settings: the embedded default, then `file` (or, when `file` is `None`, the
    /// file named by `LICENSEBOT_CONFIG`), then `LICENSEBOT__…` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut env = Vec::new();
        let mut problems = Vec::new();
        for (name, value) in std::env::vars_os() {
            match (name.into_string(), value.into_string()) {
                (Ok(name), Ok(value)) => env.push((name, value)),
                (Ok(name), Err(_)) if is_ours(&name) => problems.push(ConfigProblem {
                    source: env_source(&name),
                    key: String::new(),
                    message: "the value is not valid UTF-8".to_string(),
                }),
                _ => {}
            }
        }
        match Settings::load_from(file, &env) {
            Ok(settings) if problems.is_empty() => Ok(settings),
            Ok(_) => Err(ConfigError { problems }),
            Err(mut e) => {
                problems.append(&mut e.problems);
                Err(ConfigError { problems })
            }
        }
    }

    /// [`Settings::load`] with the environment given as `(name, value)` pairs, so tests never
    /// touch the process environment. `LICENSEBOT_CONFIG` is looked up in `env` too.
    pub fn load_from(
        file: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<Settings, ConfigError> {
        let mut loader = Loader::with_embedded_default();

        let named_by_env = env
            .iter()
            .find(|(name, value)| name == CONFIG_FILE_ENV && !value.trim().is_empty())
            .map(|(_, value)| PathBuf::from(value));
        if let Some(path) = file.map(Path::to_path_buf).or(named_by_env) {
            let source = path.display().to_string();
            match read_settings_file(&path) {
                Ok(text) => loader.add_toml(&source, &text),
                Err((key, message)) => loader.problems.push(ConfigProblem {
                    source,
                    key,
                    message,
                }),
            }
        }
        Settings::finish_loading(loader, env)
    }

    /// [`Settings::load_from`] with the settings file given as text (named `source` in
    /// problems): the fuzz target and property tests feed the loader this way.
    pub fn load_from_text(
        source: &str,
        text: &str,
        env: &[(String, String)],
    ) -> Result<Settings, ConfigError> {
        let mut loader = Loader::with_embedded_default();
        loader.add_toml(source, text);
        Settings::finish_loading(loader, env)
    }

    fn finish_loading(
        mut loader: Loader,
        env: &[(String, String)],
    ) -> Result<Settings, ConfigError> {
        let mut overrides: Vec<&(String, String)> =
            env.iter().filter(|(name, _)| is_ours(name)).collect();
        overrides.sort();
        for (name, value) in overrides {
            loader.add_env(name, value);
        }

        if !loader.problems.is_empty() {
            return Err(loader.into_error());
        }
        let root = std::mem::take(&mut loader.root);
        match loader.build(root) {
            Some(mut settings) => {
                loader.check(&settings);
                loader.read_secrets(&mut settings, env);
                if loader.problems.is_empty() {
                    settings.provenance = loader.provenance;
                    Ok(settings)
                } else {
                    Err(loader.into_error())
                }
            }
            None => Err(loader.into_error()),
        }
    }

    /// The embedded default alone: the demo tenant on the console.
    ///
    /// # Panics
    /// Only if `config/default.toml` is broken, which a unit test rules out.
    pub fn embedded_default() -> Settings {
        match Settings::load_from(None, &[]) {
            Ok(settings) => settings,
            Err(e) => panic!("the embedded config/default.toml does not load:\n{e}"),
        }
    }

    /// A human summary for `licensebot check-config`, one fact per line.
    pub fn summary(&self) -> String {
        let mut lines = Vec::new();
        if !self.provenance.sources().is_empty() {
            lines.push(format!("sources: {}", self.provenance.sources().join(", ")));
        }
        lines.push(format!("chat transport: {}", self.chat.transport));
        if let Some(d) = &self.discord {
            lines.push(format!(
                "discord: guild {}, approvals channel {}, api {}, slash commands {}, token from ${} ({})",
                d.guild_id,
                d.approvals_channel_id,
                d.api_url,
                if d.register_slash_commands { "registered" } else { "not registered" },
                d.token_env,
                if d.token.is_some() { "set" } else { "not set" }
            ));
        }
        lines.push(format!("store: {}", self.store.url));
        lines.push(format!(
            "bot: @{} with prefix {}, language {}, channels #{} and #{}",
            self.bot.name,
            self.bot.prefix,
            self.bot.language,
            self.bot.general_channel,
            self.bot.approvals_channel
        ));
        lines.push(format!(
            "reactions: approve {}, deny {}",
            self.bot.approve_emojis.join(" "),
            self.bot.deny_emojis.join(" ")
        ));
        lines.push(format!(
            "backend: {} directory, {} purchases, managing {}",
            self.backend.kind,
            self.backend.purchase,
            self.backend.managed_sku()
        ));
        if let Some(g) = &self.backend.graph {
            lines.push(format!(
                "microsoft graph: {} for tenant {} as app {}, token from {}, secret from ${}, \
                 roles cached {}, timeout {}",
                g.graph_url,
                g.tenant_id,
                g.client_id.as_str(),
                g.authority_url,
                g.client_secret_env,
                g.role_cache_ttl,
                g.timeout
            ));
        }
        if let Some(pc) = &self.backend.partner_center {
            lines.push(format!(
                "partner center: {} for customer {}, subscription {}, secret from ${}",
                pc.api_url,
                pc.customer_tenant_id.as_str(),
                pc.subscription_id.as_str(),
                pc.client_secret_env
            ));
        }
        if self.backend.kind == BackendKind::Simulated {
            let sim = &self.backend.simulated;
            lines.push(format!(
                "simulated tenant: {} skus, {} users, latency {}",
                sim.skus.len(),
                sim.users.len(),
                sim.latency
            ));
            for sku in &sim.skus {
                let held = sim
                    .users
                    .iter()
                    .filter(|u| u.licenses.contains(&sku.sku_part_number))
                    .count();
                // These are the seed: the simulated tenant's seats live in the database from
                // its first start on (purchases and removals change them there).
                lines.push(format!(
                    "  {}: seeded with {} seats, {held} assigned, when the database is created; \
                     {:.2} {} a month",
                    sku.sku_part_number, sku.seats, sku.unit_price_monthly, self.policy.currency
                ));
            }
        }
        lines.push(match self.links.mail_sender.trim() {
            "" => "links: proven by an approver's attestation (no mail sender)".to_string(),
            sender => format!(
                "links: proven by a code mailed from {sender}, or an approver's attestation"
            ),
        });
        if self.links.sign_in {
            lines.push(format!(
                "links: also proven by signing in, pages at {} (served on {})",
                self.links.public_url, self.links.listen_addr
            ));
        }
        if !self.policy.requesters.is_empty() {
            lines.push(format!(
                "requesters: only {}",
                self.policy.requesters.join(", ")
            ));
        }
        lines.push(format!("approvers ({}):", self.approvers.len()));
        for approver in &self.approvers {
            lines.push(format!("  {} as {}", approver.chat_user, approver.upn));
        }
        let roles = |roles: &[DirectoryRole]| {
            roles
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        lines.push(format!("purchase roles: {}", roles(&self.roles.purchase)));
        lines.push(format!("assign roles: {}", roles(&self.roles.assign)));
        let p = &self.policy;
        lines.push(format!(
            "policy: guests {}, default usage location {}, {} billing, at most {} open requests per user",
            if p.allow_guests { "allowed" } else { "not allowed" },
            p.default_usage_location
                .as_ref()
                .map_or("none", CountryCode::as_str),
            p.default_billing_cycle,
            p.max_open_requests_per_user
        ));
        lines.push(format!(
            "deadlines: remind after {}, escalate after {}, expire after {}",
            p.remind_after, p.escalate_after, p.expire_after
        ));
        let j = &self.jobs;
        lines.push(format!(
            "jobs: up to {} attempts, backoff {} to {}, lease {}, poll every {}, {} read-backs {} apart",
            j.max_attempts,
            j.backoff_base,
            j.backoff_max,
            j.lease,
            j.poll_interval,
            j.verify_attempts,
            j.verify_interval
        ));
        lines.push(format!("scheduler: tick every {}", self.scheduler.tick));
        lines.push(format!(
            "telemetry: {} ({})",
            self.telemetry.level, self.telemetry.format
        ));
        lines.join("\n")
    }
}

// ---------------------------------------------------------------------------------------
// Provenance
// ---------------------------------------------------------------------------------------

/// Which layer set each leaf key (`policy.remind_after`, `approvers[0].upn`,
/// `bot.approve_emojis`): arrays of tables are followed into their entries, other arrays are
/// one leaf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    sources: Vec<String>,
    leaves: BTreeMap<String, usize>,
}

impl Provenance {
    /// The layers that were applied, earliest first.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// The source that set exactly this leaf key, if any did.
    pub fn source_of(&self, key: &str) -> Option<&str> {
        self.leaves.get(key).map(|&i| self.sources[i].as_str())
    }

    /// Every leaf key with its source, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.leaves
            .iter()
            .map(|(key, &i)| (key.as_str(), self.sources[i].as_str()))
    }

    /// The source to blame for `key`: the one that set it; else the latest one that set
    /// something under it; else the same for the table holding it; else the default.
    pub fn nearest_source(&self, key: &str) -> &str {
        self.nearest(key)
            .map_or(DEFAULT_SOURCE, |i| self.sources[i].as_str())
    }

    fn nearest(&self, key: &str) -> Option<usize> {
        let mut key = key;
        loop {
            if let Some(&i) = self.leaves.get(key) {
                return Some(i);
            }
            let under = self
                .leaves
                .iter()
                .filter(|(leaf, _)| is_under(leaf, key))
                .map(|(_, &i)| i)
                .max();
            if under.is_some() {
                return under;
            }
            key = parent_key(key)?;
        }
    }

    /// How late the layer that set `key` came; 0 for the default or nothing.
    fn rank(&self, key: &str) -> usize {
        self.nearest(key).unwrap_or(0)
    }

    fn add_source(&mut self, name: &str) -> usize {
        self.sources.push(name.to_string());
        self.sources.len() - 1
    }

    fn forget(&mut self, key: &str) {
        self.leaves.retain(|leaf, _| !is_under(leaf, key));
    }

    fn record(&mut self, key: &str, value: &Value, source: usize) {
        match value {
            Value::Table(table) if !table.is_empty() => {
                for (k, v) in table {
                    self.record(&child_key(key, k), v, source);
                }
            }
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_table) => {
                for (i, v) in items.iter().enumerate() {
                    self.record(&format!("{key}[{i}]"), v, source);
                }
            }
            _ => {
                self.leaves.insert(key.to_string(), source);
            }
        }
    }
}

/// `key` itself or something inside it.
fn is_under(leaf: &str, key: &str) -> bool {
    if key.is_empty() {
        return true;
    }
    leaf.strip_prefix(key)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

fn parent_key(key: &str) -> Option<&str> {
    let cut = if key.ends_with(']') {
        key.rfind('[')
    } else {
        key.rfind('.')
    };
    cut.map(|i| &key[..i])
}

/// `parent.key`, quoting keys that are not bare TOML keys.
fn child_key(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

fn merge(base: &mut Table, overlay: Table, prefix: &str, source: usize, prov: &mut Provenance) {
    for (key, value) in overlay {
        let path = child_key(prefix, &key);
        match (base.get_mut(&key), value) {
            (Some(Value::Table(inner)), Value::Table(over)) => {
                merge(inner, over, &path, source, prov);
            }
            (_, value) => {
                prov.forget(&path);
                prov.record(&path, &value, source);
                base.insert(key, value);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

fn is_ours(env_name: &str) -> bool {
    env_name.starts_with(ENV_PREFIX)
}

fn env_source(name: &str) -> String {
    format!("environment variable {name}")
}

/// An environment value: a TOML value when it is one, else the text as a string.
fn env_value(raw: &str) -> Value {
    match format!("v = {raw}").parse::<Table>() {
        Ok(mut table) => match table.remove("v") {
            // A value with a newline could smuggle in more keys; then it is plain text.
            Some(value) if table.is_empty() => value,
            _ => Value::String(raw.to_string()),
        },
        Err(_) => Value::String(raw.to_string()),
    }
}

/// Whether a key name says its value is a secret (`client_secret`, `password`, …); the
/// names of the variables that hold secrets (`client_secret_env`) are not.
fn names_a_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    !k.ends_with("_env") && (k.contains("secret") || k.contains("password") || k.contains("token"))
}

/// Keys of `table` (recursively) that name a secret and carry a value.
fn inline_secrets(table: &Table, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in table {
        let key = child_key(prefix, k);
        match v {
            Value::Table(t) => inline_secrets(t, &key, out),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Table(t) = item {
                        inline_secrets(t, &format!("{key}[{i}]"), out);
                    }
                }
            }
            Value::String(text) if text.trim().is_empty() => {}
            _ if names_a_secret(k) => out.push(key),
            _ => {}
        }
    }
}

/// Line and column (1-based) of a byte offset.
fn position(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let at = format!("line {line}, column {column}");
    let shown: String = text
        .lines()
        .nth(line - 1)
        .unwrap_or("")
        .trim()
        .chars()
        .take(60)
        .collect();
    match key_on_line(text, line) {
        Some(key) => format!("{at} ({key})"),
        None if shown.is_empty() => at,
        None => format!("{at} (`{shown}`)"),
    }
}

/// The dotted key that line `line` (from 1) of a TOML text sets, with the table it is in:
/// `policy.remind_after` for `remind_after = …` under `[policy]`; `None` when the line sets
/// no plain key (a table header, a broken line).
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (key, _) = lines.get(line.checked_sub(1)?)?.split_once('=')?;
    let key = key.trim();
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    if !plain(key) {
        return None;
    }
    let table = lines[..line - 1].iter().rev().find_map(|l| {
        let l = l.trim();
        let inner = l.strip_prefix('[')?.strip_suffix(']')?;
        let inner = inner.trim_start_matches('[').trim_end_matches(']').trim();
        plain(inner).then_some(inner)
    });
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
}

/// A settings file's text, or what is wrong with it: unreadable, or not UTF-8 (then where).
fn read_settings_file(path: &Path) -> Result<String, (String, String)> {
    let bytes =
        std::fs::read(path).map_err(|e| (String::new(), format!("cannot read the file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let prefix = String::from_utf8_lossy(&bytes[..good]);
        (
            position(&prefix, good),
            format!(
                "not UTF-8 text (byte 0x{:02x}); a settings file must be UTF-8",
                bytes.get(good).copied().unwrap_or_default()
            ),
        )
    })
}

#[derive(Default, Clone)]
struct Loader {
    root: Table,
    provenance: Provenance,
    problems: Vec<ConfigProblem>,
}

impl Loader {
    /// A loader holding the embedded default, parsed once per process (a load parses the
    /// operator's file and the environment on top of a copy).
    fn with_embedded_default() -> Loader {
        static DEFAULT: std::sync::OnceLock<Loader> = std::sync::OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                let mut loader = Loader::default();
                loader.add_toml(DEFAULT_SOURCE, DEFAULT_TOML);
                loader
            })
            .clone()
    }

    fn into_error(self) -> ConfigError {
        ConfigError {
            problems: self.problems,
        }
    }

    /// Records a problem with `key`, blaming the source that set it.
    fn problem(&mut self, key: impl Into<String>, message: impl Into<String>) {
        let key = key.into();
        self.problems.push(ConfigProblem {
            source: self.provenance.nearest_source(&key).to_string(),
            key,
            message: message.into(),
        });
    }

    fn add_toml(&mut self, source: &str, text: &str) {
        match toml::from_str::<Table>(text) {
            Ok(table) => {
                let mut secrets = Vec::new();
                inline_secrets(&table, "", &mut secrets);
                if !secrets.is_empty() {
                    for key in secrets {
                        self.problems.push(ConfigProblem {
                            source: source.to_string(),
                            key,
                            message: "a secret must not be written in a settings file; put it \
                                      in the environment variable its *_env key names \
                                      (client_secret_env, token_env) and delete this key"
                                .to_string(),
                        });
                    }
                    return;
                }
                let index = self.provenance.add_source(source);
                merge(&mut self.root, table, "", index, &mut self.provenance);
            }
            Err(e) => self.problems.push(ConfigProblem {
                source: source.to_string(),
                key: e
                    .span()
                    .map(|s| position(text, s.start))
                    .unwrap_or_default(),
                message: toml_syntax_message(e.message()),
            }),
        }
    }

    fn add_env(&mut self, name: &str, raw: &str) {
        let source = env_source(name);
        let segments: Vec<String> = name
            .strip_prefix(ENV_PREFIX)
            .unwrap_or_default()
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        let Some((last, parents)) = segments.split_last() else {
            return;
        };
        if segments.iter().any(String::is_empty) {
            self.problems.push(ConfigProblem {
                source,
                key: String::new(),
                message: "the name must look like LICENSEBOT__SECTION__KEY, with no empty parts"
                    .to_string(),
            });
            return;
        }
        let mut overlay = Table::new();
        overlay.insert(last.clone(), env_value(raw));
        for segment in parents.iter().rev() {
            let mut outer = Table::new();
            outer.insert(segment.clone(), Value::Table(overlay));
            overlay = outer;
        }
        let index = self.provenance.add_source(&source);
        merge(&mut self.root, overlay, "", index, &mut self.provenance);
    }

    /// Deserializes each section on its own, so one type error does not hide the others.
    fn build(&mut self, mut root: Table) -> Option<Settings> {
        let chat = self.section(&mut root, "chat");
        let store = self.section(&mut root, "store");
        let bot = self.section(&mut root, "bot");
        let policy = self.section(&mut root, "policy");
        let roles = self.section(&mut root, "roles");
        let jobs = self.section(&mut root, "jobs");
        let scheduler = self.section(&mut root, "scheduler");
        let telemetry = self.section(&mut root, "telemetry");
        let approvers = self.list(&mut root, "approvers");
        let links = self.section(&mut root, "links");
        let backend = self.section(&mut root, "backend");
        let discord = match root.remove("discord") {
            Some(value) => self.value(value, "discord").map(Some),
            None => Some(None),
        };
        let unknown: Vec<String> = root.keys().map(|k| child_key("", k)).collect();
        for key in unknown {
            self.unknown_key(key);
        }
        Some(Settings {
            chat: chat?,
            store: store?,
            bot: bot?,
            policy: policy?,
            roles: roles?,
            jobs: jobs?,
            scheduler: scheduler?,
            telemetry: telemetry?,
            approvers: approvers?,
            links: links?,
            backend: backend?,
            discord: discord?,
            provenance: Provenance::default(),
        })
    }

    fn unknown_key(&mut self, key: String) {
        self.problem(
            key,
            "unknown key; config/default.toml lists every key this build reads",
        );
    }

    fn section<T: DeserializeOwned>(&mut self, root: &mut Table, name: &str) -> Option<T> {
        match root.remove(name) {
            Some(value) => self.value(value, name),
            None => {
                self.problem(name, "this table is missing");
                None
            }
        }
    }

    /// An array of tables, each entry read on its own.
    fn list<T: DeserializeOwned>(&mut self, root: &mut Table, name: &str) -> Option<Vec<T>> {
        match root.remove(name) {
            Some(Value::Array(items)) => {
                let entries: Vec<Option<T>> = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| self.value(item, &format!("{name}[{i}]")))
                    .collect();
                entries.into_iter().collect()
            }
            Some(other) => self.value(other, name),
            None => {
                self.problem(name, "this array is missing");
                None
            }
        }
    }

    fn value<T: DeserializeOwned>(&mut self, value: Value, prefix: &str) -> Option<T> {
        let mut ignored = Vec::new();
        let mut note_ignored = |path: serde_ignored::Path| ignored.push(ignored_key(prefix, &path));
        let result: Result<T, _> = serde_path_to_error::deserialize(
            serde_ignored::Deserializer::new(value, &mut note_ignored),
        );
        for key in ignored {
            self.unknown_key(key);
        }
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                let (key, message) = describe(prefix, &e);
                self.problem(key, message);
                None
            }
        }
    }

    /// The checks types cannot express.
    fn check(&mut self, s: &Settings) {
        if !s.store.url.starts_with("sqlite:") {
            self.problem(
                "store.url",
                format!(
                    "{:?} is not a SQLite URL; it must start with sqlite:",
                    s.store.url
                ),
            );
        }
        self.check_bot(&s.bot);
        self.check_policy(&s.policy);
        if s.roles.purchase.is_empty() {
            self.problem("roles.purchase", "name at least one directory role");
        }
        if s.roles.assign.is_empty() {
            self.problem("roles.assign", "name at least one directory role");
        }
        self.check_jobs(&s.jobs);
        if s.scheduler.tick.0.is_zero() {
            self.problem("scheduler.tick", "must be longer than 0s");
        }
        let addr = s.telemetry.metrics_addr.trim();
        if !addr.is_empty() && addr.parse::<std::net::SocketAddr>().is_err() {
            self.problem(
                "telemetry.metrics_addr",
                format!("{addr:?} is not an address with a port, such as 127.0.0.1:9464"),
            );
        }
        if s.telemetry.level.trim().is_empty() {
            self.problem("telemetry.level", "must not be empty; use e.g. \"info\"");
        } else if let Err(e) = log_filter(&s.telemetry.level) {
            self.problem(
                "telemetry.level",
                format!("{:?} is not a tracing filter: {e}", s.telemetry.level),
            );
        }
        self.check_approvers(&s.approvers);
        self.check_discord(s);
        self.check_backend(s);
        self.check_links(s);
    }

    fn check_links(&mut self, s: &Settings) {
        let sender = s.links.mail_sender.trim();
        if !sender.is_empty() {
            if let Err(e) = Upn::parse(sender) {
                self.problem(
                    "links.mail_sender",
                    format!("{sender:?} is not a mailbox address (user@domain): {e}"),
                );
            }
        }
        if s.backend.kind == BackendKind::Simulated && s.backend.simulated.mailbox.trim().is_empty()
        {
            self.problem(
                "backend.simulated.mailbox",
                "must name a file, such as \"data/mailbox.jsonl\"",
            );
        }
        if s.links.sign_in {
            if s.backend.graph.is_none() {
                self.problem(
                    "links.sign_in",
                    "the sign-in proof uses the Graph app's registration: it needs [backend.graph]",
                );
            }
            let url = s.links.public_url.trim();
            if url::Url::parse(url).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
                self.problem(
                    "links.public_url",
                    format!(
                        "{url:?} is not an http(s) URL, such as \"https://licensebot.contoso.com\""
                    ),
                );
            }
            if s.links
                .listen_addr
                .trim()
                .parse::<std::net::SocketAddr>()
                .is_err()
            {
                self.problem(
                    "links.listen_addr",
                    format!(
                        "{:?} is not an address with a port, such as 127.0.0.1:8443",
                        s.links.listen_addr
                    ),
                );
            }
        }
        for (i, r) in s.policy.requesters.iter().enumerate() {
            if r.trim().is_empty() {
                self.problem(
                    format!("policy.requesters[{i}]"),
                    "must not be empty: a Discord role id or a console name",
                );
            }
        }
    }

    fn check_bot(&mut self, bot: &BotSettings) {
        for (key, value) in [
            ("bot.name", &bot.name),
            ("bot.general_channel", &bot.general_channel),
            ("bot.approvals_channel", &bot.approvals_channel),
        ] {
            if value.is_empty() || value.chars().any(char::is_whitespace) {
                self.problem(
                    key,
                    format!("{value:?} must be non-empty without whitespace"),
                );
            }
        }
        let prefix = &bot.prefix;
        if prefix.is_empty()
            || prefix.chars().any(char::is_whitespace)
            || prefix.chars().count() > 16
        {
            self.problem(
                "bot.prefix",
                format!("{prefix:?} must be 1 to 16 characters without whitespace"),
            );
        }
        for (key, emojis) in [
            ("bot.approve_emojis", &bot.approve_emojis),
            ("bot.deny_emojis", &bot.deny_emojis),
        ] {
            if emojis.is_empty() {
                self.problem(key, "name at least one emoji");
            }
            if emojis.iter().any(|e| e.trim().is_empty()) {
                self.problem(key, "an emoji must not be empty");
            }
        }
        let overlap: Vec<&String> = bot
            .deny_emojis
            .iter()
            .filter(|e| bot.approve_emojis.contains(e))
            .collect();
        if !overlap.is_empty() {
            let list = overlap
                .iter()
                .map(|e| format!("{e:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            let (key, other) = self.later_of("bot.approve_emojis", "bot.deny_emojis");
            self.problem(
                key,
                format!("{list} also in {other}; a reaction must either approve or deny"),
            );
        }
    }

    fn check_policy(&mut self, p: &PolicySettings) {
        for (key, d) in [
            ("policy.remind_after", p.remind_after),
            ("policy.escalate_after", p.escalate_after),
            ("policy.expire_after", p.expire_after),
        ] {
            if d.0.is_zero() {
                self.problem(key, "must be longer than 0s");
            }
        }
        self.check_order(
            ("policy.remind_after", p.remind_after),
            ("policy.escalate_after", p.escalate_after),
            true,
        );
        self.check_order(
            ("policy.escalate_after", p.escalate_after),
            ("policy.expire_after", p.expire_after),
            true,
        );
        if !(1..=100).contains(&p.max_open_requests_per_user) {
            self.problem(
                "policy.max_open_requests_per_user",
                format!("{} is not between 1 and 100", p.max_open_requests_per_user),
            );
        }
        if p.currency.len() != 3 || !p.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            self.problem(
                "policy.currency",
                format!(
                    "{:?} is not three upper-case letters such as USD",
                    p.currency
                ),
            );
        }
    }

    fn check_jobs(&mut self, j: &JobSettings) {
        if !(1..=100).contains(&j.max_attempts) {
            self.problem(
                "jobs.max_attempts",
                format!("{} is not between 1 and 100", j.max_attempts),
            );
        }
        if !(1..=50).contains(&j.verify_attempts) {
            self.problem(
                "jobs.verify_attempts",
                format!("{} is not between 1 and 50", j.verify_attempts),
            );
        }
        for (key, d) in [
            ("jobs.backoff_base", j.backoff_base),
            ("jobs.backoff_max", j.backoff_max),
            ("jobs.lease", j.lease),
            ("jobs.poll_interval", j.poll_interval),
            ("jobs.verify_interval", j.verify_interval),
        ] {
            if d.0.is_zero() {
                self.problem(key, "must be longer than 0s");
            }
        }
        self.check_order(
            ("jobs.backoff_base", j.backoff_base),
            ("jobs.backoff_max", j.backoff_max),
            false,
        );
    }

    /// `shorter` must be shorter than (`strict`) or at most `longer`; the problem names the
    /// key set by the later layer, since that is the one that broke the order.
    fn check_order(
        &mut self,
        shorter: (&str, ConfigDuration),
        longer: (&str, ConfigDuration),
        strict: bool,
    ) {
        let broken = if strict {
            shorter.1 >= longer.1
        } else {
            shorter.1 > longer.1
        };
        if !broken {
            return;
        }
        let (blamed, _) = self.later_of(shorter.0, longer.0);
        if blamed == shorter.0 {
            let relation = if strict { "shorter than" } else { "at most" };
            self.problem(
                shorter.0,
                format!(
                    "{} must be {relation} {} ({})",
                    shorter.1, longer.0, longer.1
                ),
            );
        } else {
            let relation = if strict { "longer than" } else { "at least" };
            self.problem(
                longer.0,
                format!(
                    "{} must be {relation} {} ({})",
                    longer.1, shorter.0, shorter.1
                ),
            );
        }
    }

    /// Of two keys, the one set by the later layer (the second on a tie), and the other.
    fn later_of<'k>(&self, first: &'k str, second: &'k str) -> (&'k str, &'k str) {
        if self.provenance.rank(first) > self.provenance.rank(second) {
            (first, second)
        } else {
            (second, first)
        }
    }

    fn check_approvers(&mut self, approvers: &[ApproverSettings]) {
        if approvers.is_empty() {
            self.problem(
                "approvers",
                "name at least one approver; nobody could decide",
            );
        }
        let mut chat_users: HashMap<&str, usize> = HashMap::new();
        let mut upns: HashMap<&Upn, usize> = HashMap::new();
        for (i, a) in approvers.iter().enumerate() {
            if a.chat_user.trim().is_empty() {
                self.problem(format!("approvers[{i}].chat_user"), "must not be empty");
            } else if let Some(first) = chat_users.insert(a.chat_user.as_str(), i) {
                self.problem(
                    format!("approvers[{i}].chat_user"),
                    format!("{:?} is already approvers[{first}]", a.chat_user),
                );
            }
            if let Some(first) = upns.insert(&a.upn, i) {
                self.problem(
                    format!("approvers[{i}].upn"),
                    format!("{} is already approvers[{first}]", a.upn),
                );
            }
        }
    }

    /// `[discord]` must be there for the Discord transport, and approvers are Discord ids.
    fn check_discord(&mut self, s: &Settings) {
        if let Some(d) = &s.discord {
            let name = d.token_env.trim();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                self.problem(
                    "discord.token_env",
                    format!(
                        "{:?} is not an environment variable name (letters, digits, _)",
                        d.token_env
                    ),
                );
            }
            let url = d.api_url.trim();
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains('?') {
                self.problem(
                    "discord.api_url",
                    format!("{url:?} is not an http(s) URL such as \"{DISCORD_API_URL}\""),
                );
            }
        }
        if s.chat.transport != ChatTransport::Discord {
            return;
        }
        if s.discord.is_none() {
            // Blame the layer that chose Discord: that is where the table is missing.
            self.problems.push(ConfigProblem {
                source: self.provenance.nearest_source("chat.transport").to_string(),
                key: "discord".to_string(),
                message: "chat.transport is \"discord\", so a [discord] table with guild_id and approvals_channel_id is required".to_string(),
            });
        }
        for (i, a) in s.approvers.iter().enumerate() {
            if !a.chat_user.trim().is_empty() && DiscordId::parse(&a.chat_user).is_err() {
                self.problem(
                    format!("approvers[{i}].chat_user"),
                    format!(
                        "{:?} is not a Discord user id; with chat.transport = \"discord\" approvers are named by id (Developer Mode > Copy User ID)",
                        a.chat_user
                    ),
                );
            }
        }
    }

    /// Reads the Discord token from the environment variable `discord.token_env` names;
    /// with the Discord transport a missing token is a problem.
    fn read_secrets(&mut self, s: &mut Settings, env: &[(String, String)]) {
        let transport = s.chat.transport;
        let Some(d) = s.discord.as_mut() else {
            return;
        };
        let name = d.token_env.trim().to_string();
        match env.iter().find(|(k, v)| *k == name && !v.trim().is_empty()) {
            Some((_, value)) => d.token = Some(SecretString::from(value.trim().to_string())),
            None if transport == ChatTransport::Discord => self.problem(
                "discord.token_env",
                format!("the environment variable {name} (the bot token) is not set"),
            ),
            None => {}
        }
    }

    /// `backend.graph` and `backend.partner_center`: present when chosen, and sane.
    fn check_microsoft(&mut self, b: &BackendSettings) {
        if b.kind == BackendKind::Graph && b.graph.is_none() {
            self.problem(
                "backend.graph",
                "required when backend.kind = \"graph\": add a [backend.graph] table with at \
                 least tenant_id and client_id",
            );
        }
        if b.purchase == PurchaseBackend::Simulated && b.kind != BackendKind::Simulated {
            self.problem(
                "backend.purchase",
                "\"simulated\" buys seats only in the simulated tenant; with backend.kind = \"graph\" \
                 use \"partner_center\" or \"manual\"",
            );
        }
        if b.purchase == PurchaseBackend::PartnerCenter {
            if b.partner_center.is_none() {
                self.problem(
                    "backend.partner_center",
                    "required when backend.purchase = \"partner_center\": add a \
                     [backend.partner_center] table with customer_tenant_id and subscription_id",
                );
            }
            if b.kind != BackendKind::Graph {
                self.problem(
                    "backend.purchase",
                    "\"partner_center\" needs backend.kind = \"graph\": the seats it buys are \
                     confirmed in Microsoft Graph",
                );
            }
        }
        if let Some(g) = &b.graph {
            self.check_tenant_id("backend.graph.tenant_id", &g.tenant_id);
            self.check_env_name("backend.graph.client_secret_env", &g.client_secret_env);
            self.check_url("backend.graph.authority_url", &g.authority_url);
            self.check_url("backend.graph.graph_url", &g.graph_url);
            if g.sku_part_number
                .as_deref()
                .is_some_and(|s| s.trim().is_empty())
            {
                self.problem(
                    "backend.graph.sku_part_number",
                    "must not be empty; leave it out to use backend.sku_part_number",
                );
            }
            if g.timeout.0.is_zero() {
                self.problem("backend.graph.timeout", "must be longer than 0s");
            }
        }
        if let Some(pc) = &b.partner_center {
            self.check_url("backend.partner_center.api_url", &pc.api_url);
            self.check_env_name(
                "backend.partner_center.client_secret_env",
                &pc.client_secret_env,
            );
            if let Some(t) = &pc.tenant_id {
                self.check_tenant_id("backend.partner_center.tenant_id", t);
            }
            if let Some(u) = &pc.authority_url {
                self.check_url("backend.partner_center.authority_url", u);
            }
        }
    }

    fn check_tenant_id(&mut self, key: &str, tenant: &str) {
        let ok = !tenant.is_empty()
            && tenant.len() <= 253
            && tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !ok {
            self.problem(
                key,
                format!(
                    "{tenant:?} is not a tenant id: give the directory's GUID or a domain such as \
                     contoso.onmicrosoft.com"
                ),
            );
        }
    }

    fn check_env_name(&mut self, key: &str, name: &str) {
        let ok = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            self.problem(
                key,
                format!(
                    "{name:?} is not an environment variable name (letters, digits and _); \
                     give the name of the variable, not the secret"
                ),
            );
        }
    }

    fn check_url(&mut self, key: &str, value: &str) {
        match url::Url::parse(value) {
            Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.has_host() => {}
            _ => self.problem(
                key,
                format!("{value:?} is not an http(s) URL such as https://graph.microsoft.com/v1.0"),
            ),
        }
    }

    fn check_backend(&mut self, s: &Settings) {
        let b = &s.backend;
        self.check_microsoft(b);
        let sim = &b.simulated;
        if b.sku_part_number.trim().is_empty() {
            self.problem("backend.sku_part_number", "must not be empty");
        }
        let mut skus: HashMap<&str, usize> = HashMap::new();
        for (i, sku) in sim.skus.iter().enumerate() {
            let key = format!("backend.simulated.skus[{i}]");
            if sku.sku_part_number.trim().is_empty() {
                self.problem(format!("{key}.sku_part_number"), "must not be empty");
            } else if let Some(first) = skus.insert(sku.sku_part_number.as_str(), i) {
                self.problem(
                    format!("{key}.sku_part_number"),
                    format!(
                        "{:?} is already backend.simulated.skus[{first}]",
                        sku.sku_part_number
                    ),
                );
            }
            if sku.seats > 1_000_000 {
                self.problem(
                    format!("{key}.seats"),
                    format!("{} is not between 0 and 1000000", sku.seats),
                );
            }
            if !sku.unit_price_monthly.is_finite() || sku.unit_price_monthly < 0.0 {
                self.problem(
                    format!("{key}.unit_price_monthly"),
                    format!(
                        "{} must be a finite price of 0 or more",
                        sku.unit_price_monthly
                    ),
                );
            }
            if sku.service_plans.iter().any(|p| p.trim().is_empty()) {
                self.problem(
                    format!("{key}.service_plans"),
                    "a service plan name must not be empty",
                );
            }
        }

        let mut users: HashMap<&Upn, usize> = HashMap::new();
        let mut holders: HashMap<&str, u64> = HashMap::new();
        for (i, user) in sim.users.iter().enumerate() {
            let key = format!("backend.simulated.users[{i}]");
            if let Some(first) = users.insert(&user.upn, i) {
                self.problem(
                    format!("{key}.upn"),
                    format!("{} is already backend.simulated.users[{first}]", user.upn),
                );
            }
            if user.display_name.trim().is_empty() {
                self.problem(format!("{key}.display_name"), "must not be empty");
            }
            let mut held = BTreeSet::new();
            for license in &user.licenses {
                if !held.insert(license.as_str()) {
                    self.problem(
                        format!("{key}.licenses"),
                        format!("{license:?} is listed twice"),
                    );
                } else if !skus.contains_key(license.as_str()) {
                    self.problem(
                        format!("{key}.licenses"),
                        format!("{license:?} is not among backend.simulated.skus"),
                    );
                } else {
                    *holders.entry(license.as_str()).or_default() += 1;
                }
            }
        }
        for (i, sku) in sim.skus.iter().enumerate() {
            let held = holders
                .get(sku.sku_part_number.as_str())
                .copied()
                .unwrap_or(0);
            if held > u64::from(sku.seats) {
                self.problem(
                    format!("backend.simulated.skus[{i}].seats"),
                    format!(
                        "{held} simulated users hold {} but it has only {} seats",
                        sku.sku_part_number, sku.seats
                    ),
                );
            }
        }

        if b.kind == BackendKind::Simulated {
            if !b.sku_part_number.trim().is_empty()
                && !skus.contains_key(b.sku_part_number.as_str())
            {
                let known: Vec<&str> = sim
                    .skus
                    .iter()
                    .map(|s| s.sku_part_number.as_str())
                    .collect();
                self.problem(
                    "backend.sku_part_number",
                    format!(
                        "{:?} is not among backend.simulated.skus ({})",
                        b.sku_part_number,
                        known.join(", ")
                    ),
                );
            }
            for (i, a) in s.approvers.iter().enumerate() {
                if !users.contains_key(&a.upn) {
                    self.problem(
                        format!("approvers[{i}].upn"),
                        format!(
                            "{} is not a user of the simulated tenant (backend.simulated.users)",
                            a.upn
                        ),
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Turning serde's errors into problems
// ---------------------------------------------------------------------------------------

fn ignored_key(prefix: &str, path: &serde_ignored::Path) -> String {
    use serde_ignored::Path as P;
    match path {
        P::Root => prefix.to_string(),
        P::Seq { parent, index } => format!("{}[{index}]", ignored_key(prefix, parent)),
        P::Map { parent, key } => child_key(&ignored_key(prefix, parent), key),
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            ignored_key(prefix, parent)
        }
    }
}

fn error_key(prefix: &str, path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut key = prefix.to_string();
    for segment in path {
        match segment {
            Segment::Seq { index } => key = format!("{key}[{index}]"),
            Segment::Map { key: k } => key = child_key(&key, k),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    key
}

/// The TOML parser's words for a syntax error, on one line. The parser can give none (a file
/// that ends right after `key =`): then the problem is still named, never left blank.
fn toml_syntax_message(message: &str) -> String {
    let message = message.trim();
    if message.is_empty() {
        "not valid TOML here: a value is missing or malformed".to_string()
    } else {
        message.replace('\n', "; ")
    }
}

fn describe(prefix: &str, err: &serde_path_to_error::Error<toml::de::Error>) -> (String, String) {
    let key = error_key(prefix, err.path());
    let message = err.inner().message();
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let is_approver = key.starts_with("approvers[") && !key.contains('.');
        if is_approver && field == "upn" {
            return (key, "an approver needs a upn".to_string());
        }
        return (
            child_key(&key, field),
            "required, but set nowhere".to_string(),
        );
    }
    (key, humanize(message))
}

/// Rewrites serde's wording (`invalid type: string "x", expected u32`) for operators.
fn humanize(message: &str) -> String {
    if let Some((found, expected)) = message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.rsplit_once(", expected "))
    {
        return format!(
            "expected {}, found {}",
            expected_words(expected),
            found_words(found)
        );
    }
    if let Some((found, expected)) = message
        .strip_prefix("invalid value: ")
        .and_then(|rest| rest.rsplit_once(", expected "))
    {
        let expected = if expected.starts_with('u') && expected.len() <= 5 {
            "a non-negative integer".to_string()
        } else {
            expected_words(expected)
        };
        return format!(
            "{} is out of range: expected {expected}",
            found_words(found)
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return format!("unknown value {rest}");
    }
    message.to_string()
}

fn expected_words(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128"
        | "isize" => "an integer".to_string(),
        "f32" | "f64" => "a number".to_string(),
        "a sequence" => "an array".to_string(),
        "a map" => "a table".to_string(),
        "a borrowed string" => "a string".to_string(),
        other if other.starts_with("struct ") => "a table".to_string(),
        other if other.starts_with("enum ") => "a string".to_string(),
        other => other.to_string(),
    }
}

fn found_words(found: &str) -> String {
    if let Some(s) = found.strip_prefix("string ") {
        return s.to_string();
    }
    for kind in ["integer ", "floating point ", "boolean "] {
        if let Some(v) = found.strip_prefix(kind) {
            return v.trim_matches('`').to_string();
        }
    }
    match found {
        "sequence" => "an array".to_string(),
        "map" => "a table".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    use proptest::prelude::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn toml_file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    fn name(file: &tempfile::NamedTempFile) -> String {
        file.path().display().to_string()
    }

    /// Loads `text` as the settings file with the given environment.
    fn load(
        text: &str,
        vars: &[(&str, &str)],
    ) -> (tempfile::NamedTempFile, Result<Settings, ConfigError>) {
        let file = toml_file(text);
        let result = Settings::load_from(Some(file.path()), &env(vars));
        (file, result)
    }

    fn problems(result: Result<Settings, ConfigError>) -> Vec<ConfigProblem> {
        match result {
            Ok(_) => panic!("expected problems, the settings loaded"),
            Err(e) => e.problems,
        }
    }

    fn problem(source: &str, key: &str, message: &str) -> ConfigProblem {
        ConfigProblem {
            source: source.to_string(),
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    /// Key paths with array indices written `[]`.
    fn shapes(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Table(t) => {
                for (k, v) in t {
                    let key = child_key(prefix, k);
                    out.insert(key.clone());
                    shapes(v, &key, out);
                }
            }
            Value::Array(items) => {
                for v in items.iter().filter(|v| v.is_table()) {
                    shapes(v, &format!("{prefix}[]"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn embedded_default_loads_as_the_demo_tenant() {
        let s = Settings::embedded_default();
        assert_eq!(s.chat.transport, ChatTransport::Console);
        assert_eq!(s.store.url, "sqlite://data/licensebot.db");
        assert_eq!(s.bot.prefix, "!pro");
        assert_eq!(s.policy.remind_after.get(), Duration::from_secs(4 * 3600));
        assert_eq!(s.policy.expire_after.get(), Duration::from_secs(7 * 86400));
        assert_eq!(
            s.policy.default_usage_location,
            Some(CountryCode::parse("NL").unwrap())
        );
        let approvers: Vec<&str> = s.approvers.iter().map(|a| a.chat_user.as_str()).collect();
        assert_eq!(approvers, ["bob", "carol", "dave"]);
        assert_eq!(s.backend.simulated.skus.len(), 3);
        assert_eq!(s.backend.simulated.users.len(), 9);
        let grace = &s.backend.simulated.users[3];
        assert_eq!(
            grace.upn.as_str(),
            "grace_fabrikam.example#ext#@contoso.example"
        );
        assert_eq!(grace.user_type, UserType::Guest);
        assert!(!s.backend.simulated.users[4].account_enabled);
        assert_eq!(s.provenance.sources(), [DEFAULT_SOURCE]);
    }

    /// Found by fuzzing: tracing-subscriber's filter parser panicked on this value.
    #[test]
    fn a_log_filter_with_non_ascii_text_is_a_problem_not_a_panic() {
        // TOML values: raw non-ASCII characters, and a NUL written as a TOML escape.
        for level in [
            "\"hb[b\u{8b}bb\u{e2}b7g]\"",
            "\"info,licensebot=débug\"",
            "\"info\\u0000\"",
        ] {
            let (file, result) = load(&format!("[telemetry]\nlevel = {level}\n"), &[]);
            let got = problems(result);
            assert_eq!(got.len(), 1, "{level:?}: {got:?}");
            assert_eq!(got[0].source, name(&file));
            assert_eq!(got[0].key, "telemetry.level");
            assert!(got[0].message.contains("is not allowed"), "{got:?}");
        }
    }

    #[test]
    fn embedded_default_has_one_free_pro_seat() {
        let s = Settings::embedded_default();
        let sim = &s.backend.simulated;
        let pro = sim
            .skus
            .iter()
            .find(|k| k.sku_part_number == "POWER_BI_PRO")
            .unwrap();
        let held = sim
            .users
            .iter()
            .filter(|u| u.licenses.iter().any(|l| l == "POWER_BI_PRO"))
            .count();
        assert_eq!((pro.seats, held), (2, 1));
    }

    #[test]
    fn every_setting_appears_in_default_toml() {
        let raw: Value = DEFAULT_TOML.parse::<Table>().map(Value::Table).unwrap();
        let typed = Value::try_from(Settings::embedded_default()).unwrap();
        let (mut in_file, mut in_type) = (BTreeSet::new(), BTreeSet::new());
        shapes(&raw, "", &mut in_file);
        shapes(&typed, "", &mut in_type);
        // Optional keys the types leave out when unset still have to be documented.
        for key in [
            "backend.simulated.users[].usage_location",
            "backend.simulated.skus[].service_plans",
            "policy.default_usage_location",
        ] {
            in_type.insert(key.to_string());
        }
        let missing: Vec<&String> = in_type.difference(&in_file).collect();
        assert!(missing.is_empty(), "not in default.toml: {missing:?}");
    }

    #[test]
    fn documented_keys_are_in_default_toml() {
        let raw: Value = DEFAULT_TOML.parse::<Table>().map(Value::Table).unwrap();
        let mut in_file = BTreeSet::new();
        shapes(&raw, "", &mut in_file);
        for key in [
            "chat.transport",
            "store.url",
            "bot.name",
            "bot.prefix",
            "bot.language",
            "bot.general_channel",
            "bot.approvals_channel",
            "bot.approve_emojis",
            "bot.deny_emojis",
            "policy.allow_guests",
            "policy.default_usage_location",
            "policy.default_billing_cycle",
            "policy.remind_after",
            "policy.escalate_after",
            "policy.expire_after",
            "policy.max_open_requests_per_user",
            "policy.currency",
            "roles.purchase",
            "roles.assign",
            "jobs.max_attempts",
            "jobs.backoff_base",
            "jobs.backoff_max",
            "jobs.lease",
            "jobs.poll_interval",
            "jobs.verify_attempts",
            "jobs.verify_interval",
            "scheduler.tick",
            "telemetry.level",
            "telemetry.format",
            "telemetry.metrics_addr",
            "approvers[].chat_user",
            "approvers[].upn",
            "backend.kind",
            "backend.purchase",
            "backend.sku_part_number",
            "backend.simulated.latency",
            "backend.manual.order_via",
            "backend.simulated.skus[].sku_part_number",
            "backend.simulated.skus[].sku_id",
            "backend.simulated.skus[].seats",
            "backend.simulated.skus[].unit_price_monthly",
            "backend.simulated.skus[].service_plans",
            "backend.simulated.users[].upn",
            "backend.simulated.users[].display_name",
            "backend.simulated.users[].usage_location",
            "backend.simulated.users[].user_type",
            "backend.simulated.users[].account_enabled",
            "backend.simulated.users[].licenses",
            "backend.simulated.users[].roles",
        ] {
            assert!(in_file.contains(key), "{key} is not in default.toml");
        }
    }

    #[test]
    fn sections_match_the_settings_fields() {
        let typed = Value::try_from(Settings::embedded_default()).unwrap();
        let keys: BTreeSet<&str> = typed
            .as_table()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        // `discord` is the one optional section, absent from the embedded default.
        let mut expected: BTreeSet<&str> = SECTIONS.into_iter().collect();
        expected.remove("discord");
        assert_eq!(keys, expected);
    }

    const DISCORD: &str = r#"
        [chat]
        transport = "discord"
        [discord]
        guild_id = "123456789012345678"
        approvals_channel_id = "123456789012345679"
        [[approvers]]
        chat_user = "223456789012345678"
        upn = "bob@contoso.example"
    "#;

    #[test]
    fn discord_settings_load_with_the_token_from_the_environment() {
        let (_file, result) = load(DISCORD, &[("DISCORD_TOKEN", "secret-token-value")]);

        let s = result.unwrap();
        let d = s.discord.as_ref().unwrap();
        assert_eq!(d.guild_id.get(), 123456789012345678);
        assert_eq!(d.approvals_channel_id.to_string(), "123456789012345679");
        assert_eq!(d.api_url, "https://discord.com");
        assert!(d.is_real_discord());
        assert!(d.register_slash_commands);
        use secrecy::ExposeSecret;
        assert_eq!(
            d.token.as_ref().unwrap().expose_secret(),
            "secret-token-value"
        );
    }

    #[test]
    fn the_discord_token_is_never_printed_or_serialized() {
        let (_file, result) = load(DISCORD, &[("DISCORD_TOKEN", "secret-token-value")]);
        let s = result.unwrap();

        let debug = format!("{s:?}");
        let summary = s.summary();
        let toml = toml::to_string(&s).unwrap();

        for text in [&debug, &summary, &toml] {
            assert!(!text.contains("secret-token-value"), "{text}");
        }
        assert!(
            summary.contains("token from $DISCORD_TOKEN (set)"),
            "{summary}"
        );
    }

    #[test]
    fn discord_without_its_token_names_the_variable() {
        let (file, result) = load(DISCORD, &[]);

        assert_eq!(
            problems(result),
            [problem(
                &name(&file),
                "discord.token_env",
                "the environment variable DISCORD_TOKEN (the bot token) is not set"
            )]
        );
    }

    #[test]
    fn discord_transport_without_a_discord_table_is_refused() {
        let text = "[chat]\ntransport = \"discord\"\n[[approvers]]\nchat_user = \"1\"\nupn = \"bob@contoso.example\"\n";
        let (file, result) = load(text, &[]);

        let found = problems(result);

        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].source, name(&file));
        assert_eq!(found[0].key, "discord");
    }

    #[test]
    fn discord_approvers_must_be_user_ids() {
        let text = DISCORD.replace("223456789012345678", "bob");
        let (file, result) = load(&text, &[("DISCORD_TOKEN", "t")]);

        let found = problems(result);

        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].source, name(&file));
        assert_eq!(found[0].key, "approvers[0].chat_user");
        assert!(
            found[0].message.contains("is not a Discord user id"),
            "{found:?}"
        );
    }

    #[test]
    fn bad_discord_ids_and_urls_are_named() {
        let text = DISCORD
            .replace("\"123456789012345678\"", "\"general\"")
            .replace("[discord]", "[discord]\napi_url = \"discord.com\"");
        let (_file, result) = load(&text, &[("DISCORD_TOKEN", "t")]);

        let keys: Vec<String> = problems(result).into_iter().map(|p| p.key).collect();

        assert_eq!(keys, ["discord.guild_id"]);
        let text = DISCORD.replace("[discord]", "[discord]\napi_url = \"discord.com\"");
        let (_file, result) = load(&text, &[("DISCORD_TOKEN", "t")]);
        let keys: Vec<String> = problems(result).into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["discord.api_url"]);
    }

    #[test]
    fn a_discord_table_is_allowed_with_the_console() {
        let text = DISCORD.replace("transport = \"discord\"", "transport = \"console\"");
        let text = text.replace("223456789012345678", "bob");
        let (_file, result) = load(&text, &[]);

        let s = result.unwrap();
        assert!(s.discord.as_ref().unwrap().token.is_none());
    }

    #[test]
    fn serialized_settings_load_back_unchanged() {
        let before = Settings::embedded_default();
        let text = toml::to_string(&before).unwrap();

        let (_file, result) = load(&text, &[]);

        let after = result.unwrap();
        assert_eq!(
            Value::try_from(&after).unwrap(),
            Value::try_from(&before).unwrap()
        );
    }

    #[test]
    fn file_overrides_one_key_and_keeps_the_rest() {
        let (file, result) = load("[policy]\nremind_after = \"2h\"\n", &[]);

        let s = result.unwrap();
        assert_eq!(s.policy.remind_after.get(), Duration::from_secs(7200));
        assert_eq!(s.policy.escalate_after.get(), Duration::from_secs(86400));
        assert_eq!(s.bot.prefix, "!pro");
        assert_eq!(
            s.provenance.source_of("policy.remind_after"),
            Some(name(&file).as_str())
        );
        assert_eq!(
            s.provenance.source_of("policy.escalate_after"),
            Some(DEFAULT_SOURCE)
        );
    }

    #[test]
    fn env_override_beats_the_file() {
        let var = "LICENSEBOT__POLICY__MAX_OPEN_REQUESTS_PER_USER";
        let (_file, result) = load("[policy]\nmax_open_requests_per_user = 5\n", &[(var, "7")]);

        let s = result.unwrap();
        assert_eq!(s.policy.max_open_requests_per_user, 7);
        assert_eq!(
            s.provenance.source_of("policy.max_open_requests_per_user"),
            Some(format!("environment variable {var}").as_str())
        );
    }

    #[test]
    fn env_values_are_toml_when_they_can_be_and_strings_otherwise() {
        let vars = env(&[
            ("LICENSEBOT__POLICY__ALLOW_GUESTS", "true"),
            ("LICENSEBOT__BOT__APPROVE_EMOJIS", "[\"🆗\"]"),
            ("LICENSEBOT__BACKEND__SIMULATED__LATENCY", "250ms"),
            ("LICENSEBOT__STORE__URL", "sqlite::memory:"),
            ("LICENSEBOT__BOT__NAME", "\"probot\""),
        ]);

        let s = Settings::load_from(None, &vars).unwrap();

        assert!(s.policy.allow_guests);
        assert_eq!(s.bot.approve_emojis, ["🆗"]);
        assert_eq!(
            s.backend.simulated.latency.get(),
            Duration::from_millis(250)
        );
        assert_eq!(s.store.url, "sqlite::memory:");
        assert_eq!(s.bot.name, "probot");
    }

    #[test]
    fn env_value_with_a_newline_stays_a_string() {
        assert_eq!(
            env_value("5\nother = 1"),
            Value::String("5\nother = 1".to_string())
        );
    }

    #[test]
    fn other_env_vars_are_ignored() {
        let vars = env(&[
            ("LICENSEBOT_POLICY__ALLOW_GUESTS", "nonsense"),
            ("PATH", "/usr/bin"),
            ("licensebot__policy__allow_guests", "nonsense"),
        ]);

        assert!(Settings::load_from(None, &vars).is_ok());
    }

    #[test]
    fn licensebot_config_names_the_file_when_none_is_given() {
        let file = toml_file("[bot]\nprefix = \"!lic\"\n");
        let vars = env(&[(CONFIG_FILE_ENV, &name(&file))]);

        let s = Settings::load_from(None, &vars).unwrap();

        assert_eq!(s.bot.prefix, "!lic");
    }

    #[test]
    fn an_explicit_file_wins_over_licensebot_config() {
        let named = toml_file("[bot]\nprefix = \"!env\"\n");
        let given = toml_file("[bot]\nprefix = \"!cli\"\n");
        let vars = env(&[(CONFIG_FILE_ENV, &name(&named))]);

        let s = Settings::load_from(Some(given.path()), &vars).unwrap();

        assert_eq!(s.bot.prefix, "!cli");
    }

    #[test]
    fn missing_file_is_a_problem_naming_it() {
        let path = Path::new("/nonexistent/licensebot.toml");

        let found = problems(Settings::load_from(Some(path), &[]));

        assert_eq!(found.len(), 1);
        assert_eq!(found[0].source, "/nonexistent/licensebot.toml");
        assert!(found[0].message.starts_with("cannot read the file"));
    }

    #[test]
    fn unknown_key_in_file_names_file_and_key() {
        let (file, result) = load("[policy]\nremind_aftr = \"2h\"\n", &[]);

        let found = problems(result);

        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].to_string(),
            format!(
                "{}: policy.remind_aftr: unknown key; config/default.toml lists every key this build reads",
                name(&file)
            )
        );
    }

    #[test]
    fn every_unknown_key_is_reported() {
        let text = r#"
            colour = "blue"
            [bot]
            nmae = "x"
            [backend.simulated]
            latncy = "1s"
            [[approvers]]
            chat_user = "bob"
            upn = "bob@contoso.example"
            role = "boss"
        "#;
        let (file, result) = load(text, &[]);

        let keys: Vec<(String, String)> = problems(result)
            .into_iter()
            .map(|p| (p.source, p.key))
            .collect();

        let f = name(&file);
        for key in [
            "colour",
            "bot.nmae",
            "backend.simulated.latncy",
            "approvers[0].role",
        ] {
            assert!(
                keys.contains(&(f.clone(), key.to_string())),
                "{key}: {keys:?}"
            );
        }
        assert_eq!(keys.len(), 4, "{keys:?}");
    }

    #[test]
    fn unknown_key_in_env_names_the_variable() {
        let var = "LICENSEBOT__POLICY__REMIND_AFTR";

        let found = problems(Settings::load_from(None, &env(&[(var, "2h")])));

        assert_eq!(found.len(), 1);
        assert_eq!(found[0].source, format!("environment variable {var}"));
        assert_eq!(found[0].key, "policy.remind_aftr");
    }

    #[test]
    fn env_name_with_empty_part_is_a_problem() {
        let var = "LICENSEBOT__POLICY____X";

        let found = problems(Settings::load_from(None, &env(&[(var, "1")])));

        assert_eq!(found[0].source, format!("environment variable {var}"));
    }

    #[test]
    fn bad_duration_names_key_and_source() {
        let (file, result) = load("[policy]\nremind_after = \"four hours\"\n", &[]);

        assert_eq!(
            problems(result),
            [problem(
                &name(&file),
                "policy.remind_after",
                "\"four hours\" is not a duration (use e.g. 30m, 4h, 7d)"
            )]
        );
    }

    #[test]
    fn duration_given_as_number_says_what_is_expected() {
        let (_file, result) = load("[jobs]\nlease = 300\n", &[]);

        let found = problems(result);

        assert_eq!(found[0].key, "jobs.lease");
        assert_eq!(
            found[0].message,
            "expected a duration such as \"30m\", \"4h\" or \"7d\", found 300"
        );
    }

    #[test]
    fn type_error_from_env_names_the_variable() {
        let var = "LICENSEBOT__POLICY__MAX_OPEN_REQUESTS_PER_USER";

        let found = problems(Settings::load_from(None, &env(&[(var, "many")])));

        assert_eq!(
            found[0].to_string(),
            format!(
                "environment variable {var}: policy.max_open_requests_per_user: expected an integer, found \"many\""
            )
        );
    }

    #[test]
    fn negative_count_is_out_of_range() {
        let (_file, result) = load("[jobs]\nmax_attempts = -1\n", &[]);

        let found = problems(result);

        assert_eq!(found[0].key, "jobs.max_attempts");
        assert_eq!(
            found[0].message,
            "-1 is out of range: expected a non-negative integer"
        );
    }

    #[test]
    fn type_errors_in_different_sections_are_all_reported() {
        let text = "[bot]\nprefix = 5\n[jobs]\nmax_attempts = \"x\"\n";
        let (_file, result) = load(text, &[]);

        let keys: Vec<String> = problems(result).into_iter().map(|p| p.key).collect();

        assert_eq!(keys, ["bot.prefix", "jobs.max_attempts"]);
    }

    #[test]
    fn bad_upn_in_first_approver_is_named() {
        let text = "[[approvers]]\nchat_user = \"bob\"\nupn = \"bob at contoso\"\n";
        let (file, result) = load(text, &[]);

        let found = problems(result);

        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].source, name(&file));
        assert_eq!(found[0].key, "approvers[0].upn");
        assert!(
            found[0].message.contains("is not a valid UPN"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn approver_without_upn_is_named() {
        let text = r#"
            [[approvers]]
            chat_user = "bob"
            upn = "bob@contoso.example"
            [[approvers]]
            chat_user = "carol"
        "#;
        let (file, result) = load(text, &[]);

        assert_eq!(
            problems(result),
            [problem(
                &name(&file),
                "approvers[1]",
                "an approver needs a upn"
            )]
        );
    }

    #[test]
    fn missing_required_key_blames_the_file_holding_its_table() {
        let text = "[[approvers]]\nupn = \"bob@contoso.example\"\n";
        let (file, result) = load(text, &[]);

        assert_eq!(
            problems(result),
            [problem(
                &name(&file),
                "approvers[0].chat_user",
                "required, but set nowhere"
            )]
        );
    }

    #[test]
    fn unknown_role_is_named() {
        let (_file, result) = load(
            "[roles]\nassign = [\"LicenseAdministrator\", \"Janitor\"]\n",
            &[],
        );

        let found = problems(result);

        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, "roles.assign[1]");
        assert!(found[0]
            .message
            .contains("`Janitor` is not a directory role"));
    }

    #[test]
    fn empty_role_list_is_refused() {
        let (_file, result) = load("[roles]\npurchase = []\n", &[]);

        assert_eq!(problems(result)[0].key, "roles.purchase");
    }

    #[test]
    fn unknown_transport_lists_the_choices() {
        let (_file, result) = load("[chat]\ntransport = \"slack\"\n", &[]);

        let found = problems(result);

        assert_eq!(found[0].key, "chat.transport");
        assert_eq!(
            found[0].message,
            "\"slack\" is not one of \"console\", \"discord\""
        );
    }

    #[test]
    fn non_string_transport_says_what_was_found() {
        let (_file, result) = load("[chat]\ntransport = 5\n", &[]);

        let found = problems(result);

        assert_eq!(found[0].key, "chat.transport");
        assert_eq!(found[0].message, "expected a string, found 5");
    }

    #[test]
    fn reminding_after_escalation_blames_the_reminder_set_later() {
        let (file, result) = load("[policy]\nremind_after = \"30h\"\n", &[]);

        assert_eq!(
            problems(result),
            [problem(
                &name(&file),
                "policy.remind_after",
                "1day 6h must be shorter than policy.escalate_after (1day)"
            )]
        );
    }

    #[test]
    fn expiring_before_escalation_blames_the_expiry_set_later() {
        let (_file, result) = load("[policy]\nexpire_after = \"1h\"\n", &[]);

        let found = problems(result);

        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key, "policy.expire_after");
        assert_eq!(
            found[0].message,
            "1h must be longer than policy.escalate_after (1day)"
        );
    }

    #[test]
    fn backoff_max_below_base_is_refused() {
        let (_file, result) = load("[jobs]\nbackoff_max = \"1s\"\n", &[]);

        let found = problems(result);

        assert_eq!(found[0].key, "jobs.backoff_max");
        assert_eq!(
            found[0].message,
            "1s must be at least jobs.backoff_base (5s)"
        );
    }

    #[test]
    fn zero_durations_are_refused_except_latency() {
        let (_file, result) = load("[scheduler]\ntick = \"0s\"\n", &[]);
        assert_eq!(problems(result)[0].key, "scheduler.tick");

        let (_file, result) = load("[backend.simulated]\nlatency = \"0s\"\n", &[]);
        assert!(result.is_ok());
    }

    #[test]
    fn out_of_range_counts_and_bad_words_are_refused() {
        let text = r#"
            [bot]
            prefix = "! pro"
            [policy]
            max_open_requests_per_user = 0
            currency = "usd"
            [store]
            url = "postgres://db"
        "#;
        let (_file, result) = load(text, &[]);

        let keys: Vec<String> = problems(result).into_iter().map(|p| p.key).collect();

        assert_eq!(
            keys,
            [
                "store.url",
                "bot.prefix",
                "policy.max_open_requests_per_user",
                "policy.currency"
            ]
        );
    }

    #[test]
    fn duplicate_approver_is_refused() {
        let text = r#"
            [[approvers]]
            chat_user = "bob"
            upn = "bob@contoso.example"
            [[approvers]]
            chat_user = "bob"
            upn = "carol@contoso.example"
        "#;
        let (file, result) = load(text, &[]);

        assert_eq!(
            problems(result),
            [problem(
                &name(&file),
                "approvers[1].chat_user",
                "\"bob\" is already approvers[0]"
            )]
        );
    }

    #[test]
    fn approver_who_is_not_a_simulated_user_is_refused() {
        let text = "[[approvers]]\nchat_user = \"zoe\"\nupn = \"zoe@contoso.example\"\n";
        let (file, result) = load(text, &[]);

        assert_eq!(
            problems(result),
            [problem(
                &name(&file),
                "approvers[0].upn",
                "zoe@contoso.example is not a user of the simulated tenant (backend.simulated.users)"
            )]
        );
    }

    #[test]
    fn managed_sku_must_be_simulated() {
        let (_file, result) = load("[backend]\nsku_part_number = \"POWER_BI_FREE\"\n", &[]);

        let found = problems(result);

        assert_eq!(found[0].key, "backend.sku_part_number");
        assert!(found[0]
            .message
            .contains("is not among backend.simulated.skus"));
    }

    #[test]
    fn more_holders_than_seats_is_refused() {
        let text = r#"
            [[backend.simulated.skus]]
            sku_part_number = "POWER_BI_PRO"
            sku_id = "f8a1db68-be16-40ed-86d5-cb42ce701560"
            seats = 1
            unit_price_monthly = 14.0
            [[backend.simulated.users]]
            upn = "bob@contoso.example"
            display_name = "Bob"
            licenses = ["POWER_BI_PRO"]
            [[backend.simulated.users]]
            upn = "carol@contoso.example"
            display_name = "Carol"
            licenses = ["POWER_BI_PRO"]
            [[backend.simulated.users]]
            upn = "dave@contoso.example"
            display_name = "Dave"
        "#;
        let (_file, result) = load(text, &[]);

        assert_eq!(
            problems(result)
                .into_iter()
                .map(|p| (p.key, p.message))
                .collect::<Vec<_>>(),
            [(
                "backend.simulated.skus[0].seats".to_string(),
                "2 simulated users hold POWER_BI_PRO but it has only 1 seats".to_string()
            )]
        );
    }

    #[test]
    fn bad_sku_guid_is_named() {
        let text = r#"
            [[backend.simulated.skus]]
            sku_part_number = "POWER_BI_PRO"
            sku_id = "not-a-guid"
            seats = 1
            unit_price_monthly = 14.0
        "#;
        let (_file, result) = load(text, &[]);

        let found = problems(result);

        assert_eq!(found[0].key, "backend.simulated.skus[0].sku_id");
        assert!(found[0].message.contains("is not a GUID"));
    }

    #[test]
    fn approve_and_deny_emojis_must_not_overlap() {
        let (file, result) = load("[bot]\ndeny_emojis = [\"❌\", \"👍\"]\n", &[]);

        assert_eq!(
            problems(result),
            [problem(
                &name(&file),
                "bot.deny_emojis",
                "\"👍\" also in bot.approve_emojis; a reaction must either approve or deny"
            )]
        );
    }

    #[test]
    fn a_syntax_error_on_a_key_line_names_the_key() {
        let (_, result) = load("[jobs]\nmax_attempts = = 3\n", &[]);

        let found = problems(result);

        assert_eq!(found.len(), 1);
        assert!(
            found[0].key.starts_with("line 2, column")
                && found[0].key.ends_with("(jobs.max_attempts)"),
            "{:?}",
            found[0]
        );
    }

    #[test]
    fn a_file_ending_after_an_equals_sign_still_names_its_problem() {
        let (_, result) = load("a=", &[]);

        let found = problems(result);

        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, "line 1, column 3 (a)");
        assert_eq!(
            found[0].message,
            "not valid TOML here: a value is missing or malformed"
        );
    }

    #[test]
    fn a_broken_table_header_is_quoted() {
        let (_, result) = load("[bot]\nprefix = \"!pro\"\n[policy\n", &[]);

        let found = problems(result);

        assert!(found[0].key.ends_with("(`[policy`)"), "{:?}", found[0]);
    }

    #[test]
    fn a_file_that_is_not_utf8_names_the_key_where_it_breaks() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("local.toml");
        std::fs::write(&file, b"[bot]\nprefix = \"!pro\xff\"\n").unwrap();

        let found = problems(Settings::load_from(Some(&file), &[]));

        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, "line 2, column 15 (bot.prefix)");
        assert!(
            found[0].message.contains("not UTF-8 text (byte 0xff)"),
            "{:?}",
            found[0]
        );
    }

    #[test]
    fn toml_syntax_error_names_file_and_line() {
        let (file, result) = load(
            "[policy]\nremind_after = \"4h\nescalate_after = \"1d\"\n",
            &[],
        );

        let found = problems(result);

        assert_eq!(found.len(), 1);
        assert_eq!(found[0].source, name(&file));
        assert!(found[0].key.starts_with("line 2, column"), "{:?}", found[0]);
    }

    #[test]
    fn array_of_tables_replaces_the_default() {
        let text = "[[approvers]]\nchat_user = \"carol\"\nupn = \"carol@contoso.example\"\n";
        let (file, result) = load(text, &[]);

        let s = result.unwrap();
        assert_eq!(s.approvers.len(), 1);
        assert_eq!(s.approvers[0].chat_user, "carol");
        assert_eq!(
            s.provenance.source_of("approvers[0].upn"),
            Some(name(&file).as_str())
        );
        assert_eq!(s.provenance.source_of("approvers[1].upn"), None);
    }

    #[test]
    fn empty_default_usage_location_means_none() {
        let vars = env(&[("LICENSEBOT__POLICY__DEFAULT_USAGE_LOCATION", "")]);

        let s = Settings::load_from(None, &vars).unwrap();

        assert_eq!(s.policy.default_usage_location, None);
    }

    #[test]
    fn production_example_loads_once_its_secrets_are_in_the_environment() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/production.example.toml");

        let settings =
            Settings::load_from(Some(&path), &env(&[("DISCORD_TOKEN", "not-a-real-token")]));

        let s = settings.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.chat.transport, ChatTransport::Discord);
        assert_eq!(s.backend.kind, BackendKind::Graph);
        assert_eq!(s.backend.purchase, PurchaseBackend::Manual);
    }

    #[test]
    fn error_display_has_one_line_per_problem() {
        let err = ConfigError {
            problems: vec![
                problem("config/local.toml", "policy.remind_after", "bad"),
                problem("config/local.toml", "", "cannot read the file"),
            ],
        };

        assert_eq!(
            err.to_string(),
            "config/local.toml: policy.remind_after: bad\nconfig/local.toml: cannot read the file"
        );
    }

    #[test]
    fn summary_names_transport_backend_and_approvers() {
        let summary = Settings::embedded_default().summary();

        assert!(summary.contains("chat transport: console"));
        assert!(summary.contains("store: sqlite://data/licensebot.db"));
        assert!(summary.contains("backend: simulated directory"));
        assert!(summary.contains("bob as bob@contoso.example"));
        assert!(
            summary.contains(
                "POWER_BI_PRO: seeded with 2 seats, 1 assigned, when the database is created"
            ),
            "{summary}"
        );
        assert!(summary.contains("remind after 4h, escalate after 1day, expire after 7days"));
    }

    #[test]
    fn provenance_blames_the_table_for_keys_set_nowhere() {
        let mut prov = Provenance::default();
        let file = prov.add_source("f.toml");
        prov.record("approvers[0].chat_user", &Value::from("x"), file);

        assert_eq!(prov.nearest_source("approvers[0].upn"), "f.toml");
        assert_eq!(prov.nearest_source("policy.remind_after"), DEFAULT_SOURCE);
    }

    proptest! {
        #[test]
        fn durations_round_trip_through_their_text(secs in 0u64..10_000_000, millis in 0u32..1000) {
            let d = ConfigDuration(Duration::new(secs, millis * 1_000_000));

            let back = ConfigDuration::parse(&d.to_string()).unwrap();

            prop_assert_eq!(back, d);
        }

        #[test]
        fn guids_parse_case_insensitively(hex in "[0-9a-fA-F]{32}") {
            let text = format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);

            let guid = Guid::parse(&text).unwrap();

            prop_assert_eq!(guid.as_str(), text.to_ascii_lowercase());
        }
    }

    const GRAPH: &str = "[backend]\nkind = \"graph\"\npurchase = \"manual\"\n\n[backend.graph]\n\
        tenant_id = \"contoso.onmicrosoft.com\"\n\
        client_id = \"11111111-2222-3333-4444-555555555555\"\n";

    #[test]
    fn an_inline_discord_token_is_refused() {
        let (file, result) = load(
            "[discord]\ntoken = \"MTIz.abc.def\"\nguild_id = \"1\"\napprovals_channel_id = \"2\"\n",
            &[],
        );

        let found = problems(result);

        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key, "discord.token");
        assert_eq!(found[0].source, file.path().display().to_string());
        assert!(!found[0].message.contains("MTIz"), "{found:?}");
    }

    #[test]
    fn simulated_purchases_need_the_simulated_tenant() {
        let (_file, result) = load(
            "[backend]\nkind = \"graph\"\npurchase = \"simulated\"\n\n[backend.graph]\n\
             tenant_id = \"contoso.onmicrosoft.com\"\n\
             client_id = \"11111111-2222-3333-4444-555555555555\"\n",
            &[("LICENSEBOT_GRAPH_CLIENT_SECRET", "x")],
        );

        let found = problems(result);

        assert!(
            found
                .iter()
                .any(|p| p.key == "backend.purchase" && p.message.contains("partner_center")),
            "{found:?}"
        );
    }

    #[test]
    fn graph_kind_needs_a_graph_table() {
        let (file, result) = load("[backend]\nkind = \"graph\"\npurchase = \"manual\"\n", &[]);

        let found = problems(result);

        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key, "backend.graph");
        assert_eq!(found[0].source, name(&file));
        assert!(
            found[0].message.contains("tenant_id and client_id"),
            "{found:?}"
        );
    }

    #[test]
    fn graph_table_fills_in_defaults_and_its_sku_wins() {
        let (_file, result) = load(
            &format!("{GRAPH}sku_part_number = \"PBI_PREMIUM_PER_USER\"\n"),
            &[],
        );

        let s = result.unwrap();
        let g = s.backend.graph.as_ref().unwrap();
        assert_eq!(g.authority_url, DEFAULT_AUTHORITY_URL);
        assert_eq!(g.graph_url, DEFAULT_GRAPH_URL);
        assert_eq!(g.client_secret_env, "LICENSEBOT_GRAPH_CLIENT_SECRET");
        assert_eq!(g.role_cache_ttl.get(), Duration::from_secs(600));
        assert_eq!(g.timeout.get(), Duration::from_secs(30));
        assert_eq!(s.backend.managed_sku(), "PBI_PREMIUM_PER_USER");
    }

    #[test]
    fn without_its_own_sku_graph_manages_the_backend_sku() {
        let (_file, result) = load(GRAPH, &[]);

        assert_eq!(result.unwrap().backend.managed_sku(), "POWER_BI_PRO");
    }

    #[test]
    fn graph_urls_come_from_the_environment() {
        let (_file, result) = load(
            GRAPH,
            &[(
                "LICENSEBOT__BACKEND__GRAPH__GRAPH_URL",
                "http://127.0.0.1:9/v1.0",
            )],
        );

        let s = result.unwrap();
        assert_eq!(
            s.backend.graph.unwrap().graph_url,
            "http://127.0.0.1:9/v1.0"
        );
    }

    #[test]
    fn a_secret_written_in_the_file_is_refused() {
        let (file, result) = load(
            &format!("{GRAPH}client_secret = \"abc~very-secret\"\n"),
            &[],
        );

        let found = problems(result);

        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key, "backend.graph.client_secret");
        assert_eq!(found[0].source, name(&file));
        assert!(found[0].message.contains("client_secret_env"), "{found:?}");
        assert!(!found[0].message.contains("very-secret"));
    }

    #[test]
    fn bad_graph_values_are_named_by_key() {
        let (_file, result) = load(
            "[backend]\nkind = \"graph\"\npurchase = \"manual\"\n[backend.graph]\ntenant_id = \"a/b\"\n\
             client_id = \"11111111-2222-3333-4444-555555555555\"\n\
             client_secret_env = \"not a name\"\ngraph_url = \"ftp://x\"\ntimeout = \"0s\"\n",
            &[],
        );

        let mut keys: Vec<String> = problems(result).into_iter().map(|p| p.key).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "backend.graph.client_secret_env",
                "backend.graph.graph_url",
                "backend.graph.tenant_id",
                "backend.graph.timeout"
            ]
        );
    }

    #[test]
    fn partner_center_needs_its_table_and_the_graph_backend() {
        let (_file, result) = load("[backend]\npurchase = \"partner_center\"\n", &[]);

        let mut keys: Vec<String> = problems(result).into_iter().map(|p| p.key).collect();
        keys.sort();
        assert_eq!(keys, ["backend.partner_center", "backend.purchase"]);
    }

    #[test]
    fn partner_center_with_graph_loads() {
        let (_file, result) = load(
            &format!(
                "{GRAPH}\n[backend.partner_center]\n\
                 customer_tenant_id = \"22222222-2222-3333-4444-555555555555\"\n\
                 subscription_id = \"33333333-2222-3333-4444-555555555555\"\n"
            ),
            &[("LICENSEBOT__BACKEND__PURCHASE", "partner_center")],
        );

        let s = result.unwrap();
        let pc = s.backend.partner_center.unwrap();
        assert_eq!(pc.api_url, DEFAULT_PARTNER_CENTER_URL);
        assert_eq!(pc.client_secret_env, "LICENSEBOT_PC_CLIENT_SECRET");
        assert_eq!(pc.tenant_id, None);
    }
}
