//! Microsoft Entra directory roles that matter for licensing.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ParseError;

/// A built-in directory role. Which roles a stage needs is configuration (`[roles]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DirectoryRole {
    /// Global Administrator: everything.
    GlobalAdministrator,
    /// Billing Administrator: purchases and subscriptions, no licence assignment.
    BillingAdministrator,
    /// License Administrator: licence assignment and usage location.
    LicenseAdministrator,
    /// User Administrator: users and groups, licences included.
    UserAdministrator,
}

impl DirectoryRole {
    /// Every role the bot knows, in a stable order.
    pub const ALL: [DirectoryRole; 4] = [
        DirectoryRole::GlobalAdministrator,
        DirectoryRole::BillingAdministrator,
        DirectoryRole::LicenseAdministrator,
        DirectoryRole::UserAdministrator,
    ];

    /// The configuration name, e.g. `BillingAdministrator`.
    pub fn name(self) -> &'static str {
        match self {
            DirectoryRole::GlobalAdministrator => "GlobalAdministrator",
            DirectoryRole::BillingAdministrator => "BillingAdministrator",
            DirectoryRole::LicenseAdministrator => "LicenseAdministrator",
            DirectoryRole::UserAdministrator => "UserAdministrator",
        }
    }

    /// The role template id Microsoft Graph uses for the built-in role.
    pub fn template_id(self) -> &'static str {
        match self {
            DirectoryRole::GlobalAdministrator => "62e90394-69f5-4237-9190-012177145e10",
            DirectoryRole::BillingAdministrator => "b0f54661-2d74-4c50-afa3-1ec803f12efe",
            DirectoryRole::LicenseAdministrator => "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
            DirectoryRole::UserAdministrator => "fe930be7-5e62-47db-91af-98c3a49a38b1",
        }
    }

    /// The role whose template id this is, if the bot knows it.
    pub fn from_template_id(id: &str) -> Option<DirectoryRole> {
        DirectoryRole::ALL
            .into_iter()
            .find(|r| r.template_id().eq_ignore_ascii_case(id))
    }
}

impl fmt::Display for DirectoryRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DirectoryRole {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DirectoryRole::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                ParseError(format!(
                    "`{s}` is not a directory role; use one of GlobalAdministrator, \
                     BillingAdministrator, LicenseAdministrator, UserAdministrator"
                ))
            })
    }
}

impl Serialize for DirectoryRole {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for DirectoryRole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The set of directory roles one person holds.
pub type RoleSet = BTreeSet<DirectoryRole>;
