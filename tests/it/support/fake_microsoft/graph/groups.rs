//! Groups on Graph: `GET /groups/{id}` with `$select`, listing its members, adding and
//! removing user members through `members/$ref`, `membersWithLicenseErrors`, `owners`, and
//! `POST /users/{id}/reprocessLicenseAssignment`. What a membership change does to the
//! member's licences happens later, in `group_licensing.rs`.
//!
//! Which document each behaviour follows (graph_groups_identity.md unless said):
//! - §1.2 and Microsoft's group resource: `assignedLicenses` and `licenseProcessingState`
//!   (the newer object form `{"state": …}`) only on `$select`;
//! - §1.3.1: adding is `POST …/members/$ref` with `@odata.id` (`…/directoryObjects/{id}` or
//!   `…/users/{id}`), 204; §1.3.3: removing is `DELETE …/members/{id}/$ref`, 204;
//! - §1.3.4's catalogue: an existing member is 400 `Request_BadRequest` "One or more added
//!   object references already exist…"; an unknown group or user is 404
//!   `Request_ResourceNotFound`; a mail-enabled security or distribution group (read-only
//!   in Graph), and a role-assignable group without `RoleManagement.ReadWrite.Directory`,
//!   are 403 `Authorization_RequestDenied`; removing a non-member is 404 (the reference saw
//!   404 and 400; this fake picks 404);
//! - dynamic groups: "can't be managed through Microsoft Graph" (§1.3.3–1.3.4) with no
//!   documented code; this fake answers the reference's guess, the 403 above;
//! - Microsoft's "List group members" page: `GET /groups/{id}/members` lists the direct
//!   members as directory objects, each with its `@odata.type` (`#microsoft.graph.user`)
//!   and the `$select`ed properties (a user's default ones without it), `$top` and
//!   `@odata.nextLink` paging as the users list (`paging.rs`); an unknown group is 404
//!   `Request_ResourceNotFound`. The page also documents `$filter`, `$search` and
//!   `$count` (advanced queries); this fake does not model them and answers 400
//!   `Request_UnsupportedQuery` rather than ignore them;
//! - §1.6: `membersWithLicenseErrors` lists the members whose assignment from this group is
//!   in error (a collection of users with `@odata.type`); `reprocessLicenseAssignment` takes
//!   no body and answers 200 with the user;
//! - owners: a collection of directory objects as Microsoft's "List group owners" page shows.
//!
//! Not modelled: group `assignLicense`, bulk `members@odata.bind`, non-user members,
//! `onPremisesSyncEnabled` groups, `hasMembersWithLicenseErrors` filters, and the
//! `GET /auditLogs/signIns` report, which the reference does not document.

use serde_json::{json, Map, Value};

use super::super::answer::{graph_error, Answer};
use super::super::state::{FakeGroup, LicenceState};
use super::super::{FakeUser, State};
use super::paging::{collection, Page};
use super::users::{assigned_licences_json, licence_json, user_json};
use super::{no_segment, not_found, unreadable_json, user_key, Query};

/// The properties this fake returns for a group without `$select`. Microsoft's group-get
/// page says only a default subset comes back and the reference (§1.2) that
/// `assignedLicenses` and `licenseProcessingState` are `$select`-only; which others are in
/// the subset is this fake's choice (the ones a pre-flight check reads, §1.3.5).
const GROUP_DEFAULT: [&str; 12] = [
    "id",
    "createdDateTime",
    "description",
    "displayName",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "onPremisesSyncEnabled",
    "securityEnabled",
];

/// Requests under `/groups`; `segments` starts with `groups`.
pub(super) fn route(
    state: &mut State,
    method: &str,
    segments: &[&str],
    q: &Query,
    body: &[u8],
    crid: &str,
) -> Answer {
    let is_ref = |s: &str| s == "$ref" || s.eq_ignore_ascii_case("%24ref");
    match (method, segments) {
        ("GET", ["groups", id]) => get(state, id, q, crid),
        ("GET", ["groups", id, "members"]) => members(state, id, q, crid),
        ("POST", ["groups", id, "members", r]) if is_ref(r) => add_member(state, id, body, crid),
        ("DELETE", ["groups", id, "members", user, r]) if is_ref(r) => {
            remove_member(state, id, &user_key(user), crid)
        }
        ("GET", ["groups", id, "membersWithLicenseErrors"]) => {
            members_with_errors(state, id, q, crid)
        }
        ("GET", ["groups", id, "owners"]) => owners(state, id, q, crid),
        _ => no_segment(segments, crid),
    }
}

/// The keys `$select` asks for, or the defaults.
fn pick(all: Map<String, Value>, select: Option<&str>, default: &[&str]) -> Map<String, Value> {
    let keys: Vec<String> = match select {
        Some(sel) => sel.split(',').map(|s| s.trim().to_string()).collect(),
        None => default.iter().map(|s| s.to_string()).collect(),
    };
    keys.into_iter()
        .filter_map(|k| all.get(&k).cloned().map(|v| (k, v)))
        .collect()
}

/// A group's JSON, every property; `licenseProcessingState` says whether any member's
/// assignment from it is still being processed.
fn group_json(state: &State, g: &FakeGroup) -> Map<String, Value> {
    let processing = state.users.iter().any(|u| {
        u.licenses.iter().any(|l| {
            l.by_group.as_deref() == Some(g.id.as_str())
                && matches!(l.state, LicenceState::Processing(_))
        })
    });
    let nickname: String = g
        .display_name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let all = json!({
        "id": g.id,
        "createdDateTime": "2024-01-15T09:00:00Z",
        "description": null,
        "displayName": g.display_name,
        "groupTypes": g.group_types,
        "isAssignableToRole": g.is_assignable_to_role,
        "mail": g.mail_enabled.then(|| format!("{nickname}@contoso.example")),
        "mailEnabled": g.mail_enabled,
        "mailNickname": nickname,
        "membershipRule": g.membership_rule,
        "onPremisesSyncEnabled": null,
        "securityEnabled": g.security_enabled,
        "assignedLicenses": g.licences.iter().map(licence_json).collect::<Vec<_>>(),
        "licenseProcessingState": {"state": if processing { "ProcessingInProgress" } else { "ProcessingComplete" }},
    });
    all.as_object().cloned().unwrap_or_default()
}

/// `GET /groups/{id}`, `$select` honoured.
fn get(state: &State, id: &str, q: &Query, crid: &str) -> Answer {
    let Some(g) = state.group(id) else {
        return not_found(id, crid);
    };
    let select = q.get("$select").map(String::as_str);
    let context = match select {
        Some(sel) => format!("https://graph.microsoft.com/v1.0/$metadata#groups({sel})/$entity"),
        None => "https://graph.microsoft.com/v1.0/$metadata#groups/$entity".to_string(),
    };
    let mut out = Map::new();
    out.insert("@odata.context".into(), Value::from(context));
    out.extend(pick(group_json(state, g), select, &GROUP_DEFAULT));
    Answer::json(200, Value::Object(out))
}

/// Why this group's members cannot be changed through Graph by this app, if they cannot.
fn refuses_changes(state: &State, g: &FakeGroup, crid: &str) -> Option<Answer> {
    let refused = g.is_read_only()
        || g.is_dynamic()
        || (g.is_assignable_to_role && !state.role_management_granted);
    refused.then(|| {
        graph_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            crid,
        )
    })
}

/// The object id at the end of an `@odata.id` (`…/directoryObjects/{id}` or `…/users/{id}`).
fn referenced_id(body: &[u8]) -> Result<Option<String>, ()> {
    let parsed: Value = serde_json::from_slice(body).map_err(|_| ())?;
    Ok(parsed["@odata.id"]
        .as_str()
        .and_then(|r| r.trim_end_matches('/').rsplit('/').next())
        .map(user_key))
}

/// `POST /groups/{id}/members/$ref`.
fn add_member(state: &mut State, id: &str, body: &[u8], crid: &str) -> Answer {
    let Some(g) = state.group_index(id) else {
        return not_found(id, crid);
    };
    let member = match referenced_id(body) {
        Err(()) => return unreadable_json(crid),
        Ok(None) => {
            return graph_error(
                400,
                "Request_BadRequest",
                "Invalid request: the body must name the member in '@odata.id'.",
                crid,
            )
        }
        Ok(Some(member)) => member,
    };
    if let Some(refused) = refuses_changes(state, &state.groups[g], crid) {
        return refused;
    }
    let Some(u) = state.user_index(&member) else {
        return not_found(&member, crid);
    };
    let user_id = state.users[u].id.clone();
    if state.groups[g]
        .members
        .iter()
        .any(|m| m.eq_ignore_ascii_case(&user_id))
    {
        return graph_error(
            400,
            "Request_BadRequest",
            "One or more added object references already exist for the following modified properties: 'members'.",
            crid,
        );
    }
    state.join_group(u, g);
    Answer::empty(204)
}

/// `DELETE /groups/{id}/members/{user-id}/$ref`.
fn remove_member(state: &mut State, id: &str, member: &str, crid: &str) -> Answer {
    let Some(g) = state.group_index(id) else {
        return not_found(id, crid);
    };
    if let Some(refused) = refuses_changes(state, &state.groups[g], crid) {
        return refused;
    }
    let Some(u) = state.user_index(member) else {
        return not_found(member, crid);
    };
    let user_id = state.users[u].id.clone();
    let is_member = state.groups[g]
        .members
        .iter()
        .any(|m| m.eq_ignore_ascii_case(&user_id));
    if !is_member {
        return not_found(member, crid);
    }
    state.leave_group(u, g);
    Answer::empty(204)
}

/// A user as a directory object in a collection: its `@odata.type` and the `$select`ed
/// properties (the default ones without `$select`).
fn directory_object(user: &FakeUser, select: Option<&str>) -> Value {
    let mut item = user_json(user, &user.licenses, select);
    if let Some(o) = item.as_object_mut() {
        o.remove("@odata.context");
        o.insert("@odata.type".into(), Value::from("#microsoft.graph.user"));
    }
    item
}

/// The `@odata.context` of a collection of directory objects.
fn directory_objects_context(select: Option<&str>) -> String {
    match select {
        Some(sel) => format!("https://graph.microsoft.com/v1.0/$metadata#directoryObjects({sel})"),
        None => "https://graph.microsoft.com/v1.0/$metadata#directoryObjects".to_string(),
    }
}

/// A collection of users as directory objects, `$select` honoured.
fn user_collection(state: &State, ids: &[String], q: &Query) -> Answer {
    let select = q.get("$select").map(String::as_str);
    let value: Vec<Value> = ids
        .iter()
        .filter_map(|id| state.user(id))
        .map(|u| directory_object(u, select))
        .collect();
    collection(&directory_objects_context(select), value, None)
}

/// `GET /groups/{id}/members`: the user members as directory objects, `$select`, `$top`
/// and paging honoured.
fn members(state: &State, id: &str, q: &Query, crid: &str) -> Answer {
    let Some(g) = state.group(id) else {
        return not_found(id, crid);
    };
    if let Some(option) = ["$filter", "$search", "$count", "$orderby"]
        .into_iter()
        .find(|k| q.contains_key(*k))
    {
        return graph_error(
            400,
            "Request_UnsupportedQuery",
            &format!(
                "The query option '{option}' on a group's members is not modelled by this fake."
            ),
            crid,
        );
    }
    let page = match Page::of(q, crid) {
        Ok(page) => page,
        Err(refused) => return refused,
    };
    let select = q.get("$select").map(String::as_str);
    let users: Vec<&FakeUser> = g.members.iter().filter_map(|m| state.user(m)).collect();
    let value = page
        .of_items(&users)
        .iter()
        .map(|u| directory_object(u, select))
        .collect();
    let url = format!("{}/groups/{}/members", state.graph_base, g.id);
    let next = page.next_link(users.len(), &url, q);
    collection(&directory_objects_context(select), value, next)
}

/// `GET /groups/{id}/membersWithLicenseErrors`: members whose assignment from this group is
/// in error.
fn members_with_errors(state: &State, id: &str, q: &Query, crid: &str) -> Answer {
    let Some(g) = state.group(id) else {
        return not_found(id, crid);
    };
    let failed: Vec<String> = g
        .members
        .iter()
        .filter(|m| {
            state.user(m).is_some_and(|u| {
                u.licenses.iter().any(|l| {
                    l.by_group.as_deref() == Some(g.id.as_str())
                        && matches!(l.state, LicenceState::Error(_))
                })
            })
        })
        .cloned()
        .collect();
    user_collection(state, &failed, q)
}

/// `GET /groups/{id}/owners`.
fn owners(state: &State, id: &str, q: &Query, crid: &str) -> Answer {
    let Some(g) = state.group(id) else {
        return not_found(id, crid);
    };
    user_collection(state, &g.owners, q)
}

/// `POST /users/{id|upn}/reprocessLicenseAssignment`: 200 with the user (its default
/// properties and `assignedLicenses`, as assignLicense answers).
pub(super) fn reprocess(state: &mut State, key: &str, crid: &str) -> Answer {
    let Some(u) = state.user_index(key) else {
        return not_found(key, crid);
    };
    state.reprocess(u);
    let user = &state.users[u];
    let mut reply = user_json(user, &user.licenses, None);
    reply["assignedLicenses"] = Value::from(assigned_licences_json(&user.licenses));
    Answer::json(200, reply)
}
