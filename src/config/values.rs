//! The value types settings are written in: durations, GUIDs, Discord ids and the
//! closed word lists (transport, backend, store mode…).

use std::fmt;
use std::time::Duration;

use serde::de::{Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::{checked_text, setting_enum, ParseError};

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
        d.deserialize_str(ParsedText {
            expecting: "a duration such as \"30m\", \"4h\" or \"7d\"",
            parse: ConfigDuration::parse,
            numbers: false,
        })
    }
}

/// Reads a setting written as text through the value's own parser, so a problem says what
/// is wrong with the text; with `numbers`, a whole number is read as its digits.
struct ParsedText<T> {
    /// What the setting should look like.
    expecting: &'static str,
    parse: fn(&str) -> Result<T, ParseError>,
    numbers: bool,
}

impl<T> ParsedText<T> {
    fn number<E: serde::de::Error>(
        self,
        n: impl fmt::Display,
        as_found: Unexpected,
    ) -> Result<T, E> {
        if self.numbers {
            (self.parse)(&n.to_string()).map_err(E::custom)
        } else {
            Err(E::invalid_type(as_found, &self))
        }
    }
}

impl<T> Visitor<'_> for ParsedText<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
        (self.parse)(s).map_err(E::custom)
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<T, E> {
        self.number(n, Unexpected::Signed(n))
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<T, E> {
        self.number(n, Unexpected::Unsigned(n))
    }
}

/// A GUID in its 8-4-4-4-12 hexadecimal form, stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
}

checked_text!(Guid);

/// Where the live audit sink writes, as `[audit] sink` says it: `file:PATH`, the only
/// scheme (a path relative to the working directory, like the database's).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuditSinkTarget(String);

impl AuditSinkTarget {
    /// Parses `file:data/audit.jsonl`.
    pub fn parse(s: &str) -> Result<AuditSinkTarget, ParseError> {
        let t = s.trim();
        match t.split_once(':') {
            Some(("file", path)) if !path.trim().is_empty() => Ok(AuditSinkTarget(t.to_string())),
            Some(("file", _)) => Err(ParseError(format!(
                "{t:?} names no file; write file:PATH, such as \"file:data/audit.jsonl\""
            ))),
            _ => Err(ParseError(format!(
                "{t:?} is not a sink this build writes to; the only scheme is file:PATH, such \
                 as \"file:data/audit.jsonl\""
            ))),
        }
    }

    /// The file the events are appended to.
    pub fn path(&self) -> &std::path::Path {
        std::path::Path::new(self.0.split_once(':').map_or("", |(_, p)| p.trim()))
    }
}

checked_text!(AuditSinkTarget);

/// When a simulated user last signed in, as `[[backend.simulated.users]]` writes it: an RFC
/// 3339 time, or a duration such as `90d` meaning that long before the simulated tenant was
/// first seeded (so a demo tenant stays the same however long ago it was made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInTime {
    /// At this time.
    At(chrono::DateTime<chrono::Utc>),
    /// This long before the tenant was first seeded.
    BeforeFirstSeeding(Duration),
}

impl SignInTime {
    /// The longest time back a duration may go: a hundred years of 365 days.
    pub const LONGEST: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

    /// Parses `2026-09-01T08:00:00Z` or `90d`.
    pub fn parse(s: &str) -> Result<SignInTime, ParseError> {
        let t = s.trim();
        if let Ok(at) = chrono::DateTime::parse_from_rfc3339(t) {
            return Ok(SignInTime::At(at.with_timezone(&chrono::Utc)));
        }
        match humantime::parse_duration(t) {
            Ok(d) if d <= SignInTime::LONGEST => Ok(SignInTime::BeforeFirstSeeding(d)),
            Ok(_) => Err(ParseError(format!(
                "{t:?} is more than 100 years (36500d) before the tenant was first seeded"
            ))),
            Err(_) => Err(ParseError(format!(
                "{t:?} is neither an RFC 3339 time (such as \"2026-09-01T08:00:00Z\") nor a \
                 duration before the tenant was first seeded (such as \"90d\")"
            ))),
        }
    }

    /// Parses an optional setting; absent is `None`.
    pub fn parse_setting(s: Option<&str>) -> Result<Option<SignInTime>, ParseError> {
        s.map(SignInTime::parse).transpose()
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
        d.deserialize_any(ParsedText {
            expecting: "a Discord id such as \"123456789012345678\"",
            parse: DiscordId::parse,
            numbers: true,
        })
    }
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
    /// How the licence is given and taken.
    LicensingMode {
        /// Assigned to the user and removed from them (`assignLicense`).
        Direct => "direct",
        /// Through membership of the licensing group (Entra ID group-based licensing).
        Group => "group",
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

/// Deserializes a value through its `FromStr`, so its problem text is the one serde shows.
pub(super) fn from_str<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}
