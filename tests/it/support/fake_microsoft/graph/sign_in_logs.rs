//! The sign-in logs: `GET /auditLogs/signIns` as Microsoft's "List signIns" page and signIn
//! resource describe it:
//! - newest first (descending `createdDateTime`); `$orderby=createdDateTime [asc|desc]`;
//! - pages of 1,000 by default and at most ("the maximum and default page size is 1,000
//!   objects"), `@odata.nextLink` with a `$skiptoken` while more follow (`paging.rs`);
//! - `$select`;
//! - `$filter` clauses joined by `and`: `createdDateTime` with `eq`, `ge` or `le` and a bare
//!   date-time (the resource: "Supports `$orderby`, `$filter` (`eq`, `le`, and `ge`)");
//!   `userPrincipalName`, `appId`, `appDisplayName`, `resourceId` and `resourceDisplayName`
//!   with `eq` and a quoted string, compared without case. Anything else, `or`, `gt` and the
//!   documented `startsWith` included, is refused with the 400 observed from Graph for a
//!   clause it does not take: `BadRequest`, "Invalid filter clause";
//! - only what the retention period keeps: entries older than 30 days (Entra ID P1) on the
//!   fake's clock are never returned. Graph has been seen refusing a `createdDateTime` bound
//!   before its retention with the same 400; the fake returns nothing older instead;
//! - Entra ID P1 and `AuditLog.Read.All`: without them, the 403s of `signInActivity`.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

use super::super::answer::{graph_error, Answer};
use super::super::sign_ins::SignInRecord;
use super::super::State;
use super::filter::odata_literal;
use super::paging::{collection, Page};
use super::users::refuses_audit_data;
use super::Query;

/// How long the logs keep a sign-in (Entra ID P1 and P2).
const RETENTION_DAYS: i64 = 30;
/// Entries on a page without `$top`, and at most.
const PAGE: usize = 1_000;

/// A field of a sign-in compared with `eq` and a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    UserPrincipalName,
    AppId,
    AppDisplayName,
    ResourceId,
    ResourceDisplayName,
}

impl Field {
    fn named(name: &str) -> Option<Field> {
        Some(match name {
            "userPrincipalName" => Field::UserPrincipalName,
            "appId" => Field::AppId,
            "appDisplayName" => Field::AppDisplayName,
            "resourceId" => Field::ResourceId,
            "resourceDisplayName" => Field::ResourceDisplayName,
            _ => return None,
        })
    }

    fn of(self, r: &SignInRecord) -> &str {
        match self {
            Field::UserPrincipalName => &r.upn,
            Field::AppId => r.app.client().0,
            Field::AppDisplayName => r.app.client().1,
            Field::ResourceId => r.app.resource().0,
            Field::ResourceDisplayName => r.app.resource().1,
        }
    }
}

/// How `createdDateTime` is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Eq,
    Ge,
    Le,
}

/// One clause of a `$filter`.
#[derive(Debug, Clone, PartialEq)]
enum Clause {
    Created(Compare, DateTime<Utc>),
    Text(Field, String),
}

impl Clause {
    fn admits(&self, r: &SignInRecord) -> bool {
        match self {
            Clause::Created(Compare::Eq, t) => r.created == *t,
            Clause::Created(Compare::Ge, t) => r.created >= *t,
            Clause::Created(Compare::Le, t) => r.created <= *t,
            Clause::Text(field, value) => field.of(r).eq_ignore_ascii_case(value),
        }
    }
}

/// The clauses of a `$filter`; `None` when any is not one the logs take.
fn clauses(filter: &str) -> Option<Vec<Clause>> {
    let mut out = Vec::new();
    let mut rest = filter.trim_start();
    loop {
        let (clause, tail) = clause(rest)?;
        out.push(clause);
        let tail = tail.trim_start();
        if tail.is_empty() {
            return Some(out);
        }
        rest = tail.strip_prefix("and")?;
        if !rest.starts_with(char::is_whitespace) {
            return None;
        }
        rest = rest.trim_start();
    }
}

/// One clause at the start of `s`, and the rest.
fn clause(s: &str) -> Option<(Clause, &str)> {
    let (property, rest) = s.split_once(char::is_whitespace)?;
    let (op, rest) = rest.trim_start().split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    if property == "createdDateTime" {
        let compare = match op {
            "eq" => Compare::Eq,
            "ge" => Compare::Ge,
            "le" => Compare::Le,
            _ => return None,
        };
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let at = DateTime::parse_from_rfc3339(&rest[..end]).ok()?;
        return Some((
            Clause::Created(compare, at.with_timezone(&Utc)),
            &rest[end..],
        ));
    }
    let field = Field::named(property)?;
    if op != "eq" {
        return None;
    }
    let (value, rest) = odata_literal(rest)?;
    Some((Clause::Text(field, value), rest))
}

/// Whether `$orderby` asks for the oldest first; `None` for an order the logs do not take.
fn oldest_first(orderby: Option<&String>) -> Option<bool> {
    let Some(orderby) = orderby else {
        return Some(false);
    };
    let words: Vec<&str> = orderby.split_whitespace().collect();
    match words.as_slice() {
        ["createdDateTime"] | ["createdDateTime", "desc"] => Some(false),
        ["createdDateTime", "asc"] => Some(true),
        _ => None,
    }
}

/// A time as the sign-in logs write it: seven decimals, as in Microsoft's example
/// (`2020-03-13T19:15:41.6195833Z`).
fn stamp(t: DateTime<Utc>) -> String {
    format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.timestamp_subsec_nanos() / 100
    )
}

/// A sign-in as the logs show it, with only the `$select`ed properties when given.
fn record_json(r: &SignInRecord, select: Option<&str>) -> Value {
    let (app_id, app_name) = r.app.client();
    let (resource_id, resource_name) = r.app.resource();
    let all = json!({
        "id": r.id,
        "createdDateTime": stamp(r.created),
        "userDisplayName": r.display_name,
        "userPrincipalName": r.upn,
        "userId": r.user_id,
        "appId": app_id,
        "appDisplayName": app_name,
        "resourceId": resource_id,
        "resourceDisplayName": resource_name,
        "isInteractive": true,
        "status": {"errorCode": 0, "failureReason": null, "additionalDetails": null},
    });
    let Some(select) = select else {
        return all;
    };
    let mut out = Map::new();
    for key in select.split(',').map(str::trim) {
        if let Some(v) = all.get(key) {
            out.insert(key.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// `GET /auditLogs/signIns`.
pub(super) fn list(state: &State, q: &Query, crid: &str) -> Answer {
    if let Some(refused) = refuses_audit_data(state, crid) {
        return refused;
    }
    let filter = match q.get("$filter").map(|f| clauses(f)) {
        None => Vec::new(),
        Some(Some(clauses)) => clauses,
        Some(None) => return graph_error(400, "BadRequest", "Invalid filter clause", crid),
    };
    let Some(oldest_first) = oldest_first(q.get("$orderby")) else {
        return graph_error(400, "BadRequest", "Invalid orderby clause", crid);
    };
    let page = match Page::sized(q, crid, PAGE, PAGE) {
        Ok(page) => page,
        Err(refused) => return refused,
    };
    let kept_from = state.now() - Duration::days(RETENTION_DAYS);
    let mut found: Vec<&SignInRecord> = state
        .sign_ins
        .iter()
        .filter(|r| r.created >= kept_from && filter.iter().all(|c| c.admits(r)))
        .collect();
    // Stable: sign-ins at the same instant keep the order they were recorded in.
    found.sort_by_key(|r| r.created);
    if !oldest_first {
        found.reverse();
    }
    let select = q.get("$select").map(String::as_str);
    let value = page
        .of_items(&found)
        .iter()
        .map(|r| record_json(r, select))
        .collect();
    let context = match select {
        Some(sel) => format!("https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns({sel})"),
        None => "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns".to_string(),
    };
    let url = format!("{}/auditLogs/signIns", state.graph_base);
    collection(&context, value, page.next_link(found.len(), &url, q))
}
