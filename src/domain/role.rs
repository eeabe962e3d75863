//! Microsoft Entra directory roles that matter for licensing.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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

/// The set of directory roles one person holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoleSet(BTreeSet<DirectoryRole>);

impl RoleSet {
    /// No role.
    pub fn new() -> RoleSet {
        RoleSet::default()
    }

    /// Whether the two sets share a role: a person holding `self` may do what needs any
    /// role of `needed`.
    pub fn intersects(&self, needed: &RoleSet) -> bool {
        self.0.iter().any(|r| needed.0.contains(r))
    }

    /// Whether every role of `other` is in this set.
    pub fn covers(&self, other: &RoleSet) -> bool {
        other.0.is_subset(&self.0)
    }

    /// Adds a role; false when it was there already.
    pub fn insert(&mut self, role: DirectoryRole) -> bool {
        self.0.insert(role)
    }
}

impl std::ops::Deref for RoleSet {
    type Target = BTreeSet<DirectoryRole>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl FromIterator<DirectoryRole> for RoleSet {
    fn from_iter<I: IntoIterator<Item = DirectoryRole>>(iter: I) -> Self {
        RoleSet(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a RoleSet {
    type Item = &'a DirectoryRole;
    type IntoIter = std::collections::btree_set::Iter<'a, DirectoryRole>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for RoleSet {
    type Item = DirectoryRole;
    type IntoIter = std::collections::btree_set::IntoIter<DirectoryRole>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

super::text_value!(DirectoryRole);

#[cfg(test)]
mod tests {
    use super::DirectoryRole::*;
    use super::*;

    fn set(roles: &[DirectoryRole]) -> RoleSet {
        roles.iter().copied().collect()
    }

    #[test]
    fn a_role_set_intersects_when_one_role_is_shared() {
        let assign = set(&[LicenseAdministrator, UserAdministrator, GlobalAdministrator]);
        assert!(set(&[BillingAdministrator, UserAdministrator]).intersects(&assign));
        assert!(!set(&[BillingAdministrator]).intersects(&assign));
        assert!(!RoleSet::new().intersects(&assign));
    }

    #[test]
    fn a_role_set_covers_only_when_it_holds_every_role() {
        let held = set(&[BillingAdministrator, LicenseAdministrator]);
        assert!(held.covers(&set(&[LicenseAdministrator])));
        assert!(held.covers(&RoleSet::new()));
        assert!(!held.covers(&set(&[LicenseAdministrator, GlobalAdministrator])));
    }
}
