//! Auto-approval rules (`[[auto_approve]]`): an assignment whose requester and licence holder
//! match a rule is approved by the rule when a seat is free for it.
//!
//! A rule is checked with live data when the request is opened (which is when it decides):
//! the requester's chat roles as the message carries them, and the holder's membership of
//! the rule's directory groups read from the tenant then. A group that cannot be read matches
//! nobody (the request goes to the approvers as usual). Membership is direct membership of
//! the group, as Graph's `/groups/{id}/members` lists it. A purchase is never approved by a
//! rule, an extension is (it is an assignment), and approvers may revoke afterwards.

use std::collections::HashMap;

use super::Opening;
use crate::domain::{RequestKind, Upn};
use crate::engine::config::AutoRule;
use crate::engine::ports::IncomingMessage;
use crate::engine::requests::{Approval, NewWork};

impl Opening {
    /// The first rule each work matches (by position); all None when approvers decide anyway.
    pub(super) async fn auto_rules(
        &self,
        m: &IncomingMessage,
        works: &[NewWork],
        approval: Approval<'_>,
    ) -> Vec<Option<String>> {
        let rules = &self.core.cfg().governance.auto_approve;
        if rules.is_empty() || !matches!(approval, Approval::Routed) {
            return vec![None; works.len()];
        }
        let mut members: HashMap<String, Option<Vec<Upn>>> = HashMap::new();
        let mut out = Vec::with_capacity(works.len());
        for work in works {
            let target = work
                .target
                .as_ref()
                .filter(|_| work.kind == RequestKind::Assign);
            let mut found = None;
            if let Some(t) = target {
                for rule in rules {
                    if self.matches(rule, m, &t.upn, &mut members).await {
                        found = Some(rule.name.clone());
                        break;
                    }
                }
            }
            out.push(found);
        }
        out
    }

    /// Whether `rule` holds for a request by `m`'s author for `upn`.
    async fn matches(
        &self,
        rule: &AutoRule,
        m: &IncomingMessage,
        upn: &Upn,
        members: &mut HashMap<String, Option<Vec<Upn>>>,
    ) -> bool {
        let requester = rule.requesters.is_empty()
            || rule.requesters.iter().any(|r| r == m.author.as_str())
            || m.roles.iter().any(|r| rule.requesters.contains(r));
        if !requester {
            return false;
        }
        if rule.directory_groups.is_empty() {
            return true;
        }
        for group in &rule.directory_groups {
            if !members.contains_key(group) {
                let read = match self.directory.tenant.members(group).await {
                    Ok(list) => Some(list),
                    Err(e) => {
                        tracing::warn!(group = %group, rule = %rule.name, error = %e,
                            "could not read an auto-approval group's members; the rule matches nobody");
                        None
                    }
                };
                members.insert(group.clone(), read);
            }
            if members[group].as_ref().is_some_and(|l| l.contains(upn)) {
                return true;
            }
        }
        false
    }
}
