//! Group-based licensing on the fake: what Entra ID does in the background after a
//! membership change, and what tests use to seed and watch it.
//!
//! It follows graph_groups_identity.md:
//! - §1.1: membership drives licences; a user without a usage location gets the directory's
//!   (an existing value is never changed); one seat per product whatever the sources; all or
//!   nothing per group (one failing product fails the group's others for that user);
//! - §1.4: one `licenseAssignmentStates` entry per (SKU, source), errors `CountViolation`
//!   (no free seat), `MutuallyExclusiveViolation` (a conflicting plan already held) and
//!   `ProhibitedInUsageLocationViolation` (not offered in the user's country); the others
//!   (`DependencyViolation`, `UniquenessViolation`, `Other`) are only seeded by tests;
//! - §1.5: the membership call answers at once and licences follow "within minutes": here
//!   after [`State::group_licence_delay`] on the fake's clock, which tests move
//!   ([`FakeMicrosoft::advance`]); leaving a group takes the inherited licence away after the
//!   same delay;
//! - §1.6: a failed assignment is not retried when seats free up; `reprocessLicenseAssignment`
//!   puts the user's failed group assignments back to processing.
//!
//! The read-back lag of direct assignments (`readback_lag`) counts reads; this delay is time,
//! because the reference speaks of minutes and a client polls on a schedule.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::state::{FakeGroup, LicenceError, LicenceState, SignInActivity};
use super::{FakeMicrosoft, State};

impl State {
    /// The fake's clock: the wall clock moved on by what tests advanced.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock_offset
    }

    /// The group with this id.
    pub fn group(&self, id: &str) -> Option<&FakeGroup> {
        self.groups.iter().find(|g| g.id.eq_ignore_ascii_case(id))
    }

    pub(super) fn group_index(&self, id: &str) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.id.eq_ignore_ascii_case(id))
    }

    /// Makes the user a member; each of the group's licences starts processing for them.
    pub(super) fn join_group(&mut self, user: usize, group: usize) {
        let user_id = self.users[user].id.clone();
        self.groups[group].members.push(user_id);
        let due = self.now() + self.group_licence_delay;
        let now = self.now();
        let group = &self.groups[group];
        let licences = &mut self.users[user].licenses;
        for l in &group.licences {
            let from_group = |a: &&mut super::Assigned| {
                a.sku_id == l.sku_id && a.by_group.as_deref() == Some(group.id.as_str())
            };
            match licences.iter_mut().find(from_group) {
                Some(a) => {
                    a.removal_due = None;
                    if !a.state.holds_seat() {
                        a.state = LicenceState::Processing(due);
                    }
                }
                None => licences.push(super::Assigned {
                    state: LicenceState::Processing(due),
                    updated: now,
                    ..super::Assigned::inherited(&l.sku_id, &group.id)
                }),
            }
        }
    }

    /// Takes the user out of the group; what it gave them goes after the delay (at once
    /// when it never held a seat).
    pub(super) fn leave_group(&mut self, user: usize, group: usize) {
        let user_id = self.users[user].id.clone();
        self.groups[group]
            .members
            .retain(|m| !m.eq_ignore_ascii_case(&user_id));
        let due = self.now() + self.group_licence_delay;
        let group_id = self.groups[group].id.clone();
        let licences = &mut self.users[user].licenses;
        licences
            .retain(|a| a.by_group.as_deref() != Some(group_id.as_str()) || a.state.holds_seat());
        for a in licences.iter_mut() {
            if a.by_group.as_deref() == Some(group_id.as_str()) {
                a.removal_due = Some(due);
            }
        }
    }

    /// `reprocessLicenseAssignment`: the user's failed group assignments go back to
    /// processing.
    pub(super) fn reprocess(&mut self, user: usize) {
        let due = self.now() + self.group_licence_delay;
        for a in &mut self.users[user].licenses {
            if a.by_group.is_some() && matches!(a.state, LicenceState::Error(_)) {
                a.state = LicenceState::Processing(due);
            }
        }
    }

    /// Does what group-based licensing has had time for: removals due, then assignments
    /// due, user by user in directory order and, for each, group by group.
    pub fn settle(&mut self) {
        let now = self.now();
        for user in &mut self.users {
            user.licenses
                .retain(|a| a.removal_due.is_none_or(|due| due > now));
        }
        for u in 0..self.users.len() {
            let mut groups: Vec<String> = Vec::new();
            for a in &self.users[u].licenses {
                if let (LicenceState::Processing(due), Some(g)) = (a.state, &a.by_group) {
                    if due <= now && !groups.contains(g) {
                        groups.push(g.clone());
                    }
                }
            }
            for g in groups {
                self.evaluate(u, &g, now);
            }
        }
    }

    /// Evaluates the user's processing assignments from one group, all or nothing.
    fn evaluate(&mut self, u: usize, group: &str, now: DateTime<Utc>) {
        let pending = |a: &super::Assigned| {
            a.by_group.as_deref() == Some(group) && matches!(a.state, LicenceState::Processing(_))
        };
        let skus: Vec<String> = self.users[u]
            .licenses
            .iter()
            .filter(|a| pending(a))
            .map(|a| a.sku_id.clone())
            .collect();
        let verdict = self.check_group_licences(u, &skus);
        let user = &mut self.users[u];
        if verdict.is_ok() && user.usage_location.is_none() {
            user.usage_location = self.directory_usage_location.clone();
        }
        for a in user.licenses.iter_mut().filter(|a| pending(a)) {
            a.state = match verdict {
                Ok(()) => LicenceState::Active,
                Err(e) => LicenceState::Error(e),
            };
            a.updated = now;
        }
    }

    /// Why these SKUs cannot be given to the user now: usage location, then conflicting
    /// plans, then seats.
    fn check_group_licences(&self, u: usize, skus: &[String]) -> Result<(), LicenceError> {
        let user = &self.users[u];
        let location = user
            .usage_location
            .as_ref()
            .or(self.directory_usage_location.as_ref())
            .ok_or(LicenceError::ProhibitedInUsageLocationViolation)?;
        for sku in skus {
            let banned = self
                .prohibited
                .iter()
                .any(|(s, c)| s.eq_ignore_ascii_case(sku) && c.eq_ignore_ascii_case(location));
            if banned {
                return Err(LicenceError::ProhibitedInUsageLocationViolation);
            }
        }
        for sku in skus {
            let conflicts = self
                .exclusive
                .iter()
                .any(|(x, y)| (x == sku && user.holds_seat(y)) || (y == sku && user.holds_seat(x)));
            if conflicts {
                return Err(LicenceError::MutuallyExclusiveViolation);
            }
        }
        for sku in skus.iter().filter(|s| !user.holds_seat(s)) {
            let enabled = self
                .skus
                .iter()
                .find(|s| s.sku_id.eq_ignore_ascii_case(sku))
                .map_or(0, |s| s.enabled);
            if enabled - self.consumed(sku) <= 0 {
                return Err(LicenceError::CountViolation);
            }
        }
        Ok(())
    }
}

/// Tests' handles on groups, group-based licensing and sign-in activity.
impl FakeMicrosoft {
    /// Adds a group; returns its id.
    pub fn add_group(&self, group: FakeGroup) -> String {
        let id = group.id.clone();
        self.state().groups.push(group);
        id
    }

    /// Moves the fake's clock on; what group-based licensing has then had time for is done.
    pub fn advance(&self, by: Duration) {
        let mut state = self.state();
        state.clock_offset += chrono::Duration::from_std(by).expect("a sane duration");
        state.settle();
    }

    /// A user's `licenseAssignmentStates` now: (SKU part number, group id or `None` for
    /// direct, state).
    pub fn licence_states_of(&self, upn: &str) -> Vec<(String, Option<String>, LicenceState)> {
        let mut state = self.state();
        state.settle();
        let Some(user) = state.user(upn) else {
            return Vec::new();
        };
        user.licenses
            .iter()
            .map(|l| {
                let part = state
                    .skus
                    .iter()
                    .find(|s| s.sku_id.eq_ignore_ascii_case(&l.sku_id))
                    .map_or_else(|| l.sku_id.clone(), |s| s.part.clone());
                (part, l.by_group.clone(), l.state)
            })
            .collect()
    }

    /// The UPNs of a group's members.
    pub fn members_of(&self, group_id: &str) -> Vec<String> {
        let state = self.state();
        let Some(group) = state.group(group_id) else {
            return Vec::new();
        };
        group
            .members
            .iter()
            .filter_map(|m| state.user(m).map(|u| u.upn.clone()))
            .collect()
    }

    /// Sets a user's `signInActivity`.
    pub fn set_sign_in(&self, upn: &str, activity: SignInActivity) {
        let mut state = self.state();
        let i = state.user_index(upn).expect("a known user");
        state.users[i].sign_in = Some(activity);
    }
}
