//! The users of the directory: `GET /users` (`$filter` as `filter.rs` reads it, `$select`,
//! paging as `paging.rs` does it), `GET` and `PATCH`
//! `/users/{id|upn}`, and a user's JSON as Graph writes it: `assignedLicenses` with
//! inherited licences merged in, one per SKU (graph_licensing.md §4.1),
//! `licenseAssignmentStates` one per (SKU, source) (graph_groups_identity.md §1.4), and
//! `signInActivity`, refused without Entra ID P1 or `AuditLog.Read.All`, 500 users a page at
//! most (graph_groups_identity.md §2.1–2.3).

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::super::answer::{graph_error, Answer};
use super::super::state::{LicenceState, SignInActivity};
use super::super::{Assigned, FakeUser, State};
use super::filter::UsersFilter;
use super::paging::{collection, Page};
use super::{not_found, unreadable_json, Query};

/// The properties Graph returns for a user when no `$select` is given.
const USER_DEFAULT: [&str; 11] = [
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

pub(crate) fn licence_json(l: &Assigned) -> Value {
    json!({"disabledPlans": l.disabled_plans, "skuId": l.sku_id})
}

/// `assignedLicenses`: the seat-holding assignments, one per SKU whatever the sources; a
/// plan is disabled only when every source disables it (the enabled plans are merged,
/// graph_groups_identity.md §1.1).
pub(crate) fn assigned_licences_json(licences: &[Assigned]) -> Vec<Value> {
    let mut merged: Vec<Assigned> = Vec::new();
    for l in licences.iter().filter(|l| l.state.holds_seat()) {
        match merged.iter_mut().find(|m| m.sku_id == l.sku_id) {
            Some(m) => m.disabled_plans.retain(|p| l.disabled_plans.contains(p)),
            None => merged.push(l.clone()),
        }
    }
    merged.iter().map(licence_json).collect()
}

/// A time as Graph writes it.
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One `licenseAssignmentStates` entry; `error` is null on success (Microsoft's resource
/// page), and the fake's `Processing` has no error either.
fn assignment_state_json(l: &Assigned) -> Value {
    let (state, error) = match l.state {
        LicenceState::Active => ("Active", None),
        LicenceState::ActiveWithError(e) => ("ActiveWithError", Some(e)),
        LicenceState::Disabled => ("Disabled", None),
        LicenceState::Processing(_) => ("Processing", None),
        LicenceState::Error(e) => ("Error", Some(e)),
    };
    json!({
        "assignedByGroup": l.by_group,
        "disabledPlans": l.disabled_plans,
        "error": error.map(|e| format!("{e:?}")),
        "lastUpdatedDateTime": stamp(l.updated),
        "skuId": l.sku_id,
        "state": state,
    })
}

/// `signInActivity`: the three times with their request ids; blank (all null) for a user
/// who never signed in (graph_groups_identity.md §2.1).
fn sign_in_json(user: &FakeUser) -> Value {
    let activity = user.sign_in.clone().unwrap_or_default();
    let SignInActivity {
        last_sign_in,
        last_non_interactive,
        last_successful,
    } = activity;
    let request_id = |at: Option<DateTime<Utc>>, kind: &str| {
        at.map(|t| {
            let name = format!("{}/{kind}/{}", user.id, stamp(t));
            uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
        })
    };
    json!({
        "lastSignInDateTime": last_sign_in.map(stamp),
        "lastSignInRequestId": request_id(last_sign_in, "interactive"),
        "lastNonInteractiveSignInDateTime": last_non_interactive.map(stamp),
        "lastNonInteractiveSignInRequestId": request_id(last_non_interactive, "non-interactive"),
        "lastSuccessfulSignInDateTime": last_successful.map(stamp),
        "lastSuccessfulSignInRequestId": request_id(last_successful, "successful"),
    })
}

/// Graph's 403 for `signInActivity` (or the sign-in logs) when the app lacks
/// `AuditLog.Read.All` (`Authorization_RequestDenied`) or the tenant lacks Entra ID P1
/// (graph_groups_identity.md §2.2, observed; clients match on the code). Which of the two
/// Graph checks first is not documented; the fake checks the permission first.
pub(super) fn refuses_audit_data(state: &State, crid: &str) -> Option<Answer> {
    if !state.audit_log_granted {
        return Some(graph_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            crid,
        ));
    }
    (!state.entra_p1).then(|| {
        graph_error(
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
            crid,
        )
    })
}

/// Whether the request asks for `signInActivity` (in `$select` or `$filter`).
fn asks_sign_in_activity(q: &Query) -> bool {
    ["$select", "$filter"]
        .iter()
        .filter_map(|k| q.get(*k))
        .any(|v| v.contains("signInActivity"))
}

/// The refusal of a request for `signInActivity`: the 403s of [`refuses_audit_data`].
fn refuses_sign_in_activity(state: &State, q: &Query, crid: &str) -> Option<Answer> {
    if !asks_sign_in_activity(q) {
        return None;
    }
    refuses_audit_data(state, crid)
}

/// The users list's refusal of pages over 500 when `signInActivity` is asked for
/// (graph_groups_identity.md §2.3: "with `signInActivity` the maximum is 500"). The words
/// follow the error observed when the limit was 120 ("Cannot query data for more than 120
/// users at a time."); its status and code are not documented: 400 `BadRequest` here.
fn refuses_sign_in_page(q: &Query, crid: &str) -> Option<Answer> {
    let top = q.get("$top")?.parse::<usize>().ok()?;
    (asks_sign_in_activity(q) && top > SIGN_IN_ACTIVITY_TOP).then(|| {
        graph_error(
            400,
            "BadRequest",
            &format!("Cannot query data for more than {SIGN_IN_ACTIVITY_TOP} users at a time."),
            crid,
        )
    })
}

/// The largest page of users Graph gives with `signInActivity`.
const SIGN_IN_ACTIVITY_TOP: usize = 500;

pub(crate) fn user_json(user: &FakeUser, licences: &[Assigned], select: Option<&str>) -> Value {
    let (given, surname) = user
        .display_name
        .split_once(' ')
        .map_or((user.display_name.as_str(), ""), |(g, s)| (g, s));
    let all: Map<String, Value> = json!({
        "businessPhones": [],
        "displayName": user.display_name,
        "givenName": given,
        "id": user.id,
        "jobTitle": null,
        "mail": if user.user_type == "Guest" { Value::Null } else { Value::from(user.upn.clone()) },
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": null,
        "surname": surname,
        "userPrincipalName": user.upn,
        "usageLocation": user.usage_location,
        "userType": user.user_type,
        "accountEnabled": user.account_enabled,
        "assignedLicenses": assigned_licences_json(licences),
        "licenseAssignmentStates": licences.iter().map(assignment_state_json).collect::<Vec<_>>(),
        "signInActivity": sign_in_json(user),
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    let (context, keys): (String, Vec<String>) = match select {
        Some(sel) => {
            let keys: Vec<String> = sel.split(',').map(|s| s.trim().to_string()).collect();
            (
                format!(
                    "https://graph.microsoft.com/v1.0/$metadata#users({})/$entity",
                    keys.join(",")
                ),
                keys,
            )
        }
        None => (
            "https://graph.microsoft.com/v1.0/$metadata#users/$entity".to_string(),
            USER_DEFAULT.iter().map(|s| s.to_string()).collect(),
        ),
    };
    let mut out = Map::new();
    out.insert("@odata.context".into(), Value::from(context));
    for k in keys {
        if let Some(v) = all.get(&k) {
            out.insert(k, v.clone());
        }
    }
    Value::Object(out)
}
/// `GET /users/{id|upn}`: the user with `$select` honoured (lagging reads see the licences
/// from before a change).
pub(super) fn get(state: &mut State, key: &str, q: &Query, crid: &str) -> Answer {
    let Some(i) = state.user_index(key) else {
        return not_found(key, crid);
    };
    if let Some(refused) = refuses_sign_in_activity(state, q, crid) {
        return refused;
    }
    let user = &mut state.users[i];
    let licences = user.visible_licences();
    Answer::json(
        200,
        user_json(user, &licences, q.get("$select").map(String::as_str)),
    )
}

/// `PATCH /users/{id|upn}`: only `usageLocation` is modelled (two capital letters); 204.
pub(super) fn update(state: &mut State, key: &str, body: &[u8], crid: &str) -> Answer {
    let Some(i) = state.user_index(key) else {
        return not_found(key, crid);
    };
    let Ok(Value::Object(changes)) = serde_json::from_slice::<Value>(body) else {
        return unreadable_json(crid);
    };
    if let Some(loc) = changes.get("usageLocation") {
        let ok = loc
            .as_str()
            .is_some_and(|s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()));
        if !ok {
            return graph_error(
                400,
                "Request_BadRequest",
                "Invalid value specified for property 'usageLocation' of resource 'User'.",
                crid,
            );
        }
        state.users[i].usage_location = loc.as_str().map(str::to_string);
    }
    Answer::empty(204)
}

/// `GET /users`: `$filter` (the clauses of `filter.rs`), `$select`, `$top` and
/// `@odata.nextLink` paging (`paging.rs`). Lagging reads apply as to a single user: each
/// user whose licences the answer looks at (to filter on them, or to show them on the
/// page) is read once, which uses up one of their lagging reads.
pub(super) fn list(state: &mut State, q: &Query, crid: &str) -> Answer {
    if let Some(refused) = refuses_sign_in_activity(state, q, crid) {
        return refused;
    }
    if let Some(refused) = refuses_sign_in_page(q, crid) {
        return refused;
    }
    let filter = match q.get("$filter").map(|f| UsersFilter::parse(f, crid)) {
        None => None,
        Some(Ok(filter)) => Some(filter),
        Some(Err(refused)) => return refused,
    };
    let page = match Page::of(q, crid) {
        Ok(page) => page,
        Err(refused) => return refused,
    };
    let reads_licences = filter.as_ref().is_some_and(UsersFilter::reads_licences);
    let mut read: HashMap<usize, Vec<Assigned>> = HashMap::new();
    let mut matching: Vec<usize> = Vec::new();
    for (i, user) in state.users.iter_mut().enumerate() {
        let licences = reads_licences.then(|| user.visible_licences());
        let seen = licences.as_deref().unwrap_or_default();
        if filter.as_ref().is_none_or(|f| f.admits(user, seen)) {
            matching.push(i);
            read.extend(licences.map(|l| (i, l)));
        }
    }
    let select = q.get("$select").map(String::as_str);
    let mut value = Vec::new();
    for &i in page.of_items(&matching) {
        let user = &mut state.users[i];
        let licences = read.remove(&i).unwrap_or_else(|| user.visible_licences());
        let mut item = user_json(user, &licences, select);
        if let Some(o) = item.as_object_mut() {
            o.remove("@odata.context");
        }
        value.push(item);
    }
    let context = match select {
        Some(sel) => format!("https://graph.microsoft.com/v1.0/$metadata#users({sel})"),
        None => "https://graph.microsoft.com/v1.0/$metadata#users".to_string(),
    };
    let next = page.next_link(matching.len(), &format!("{}/users", state.graph_base), q);
    collection(&context, value, next)
}
