//! Microsoft Graph v1.0 on the fake (shared/reference/graph_licensing.md and
//! graph_groups_identity.md): the bearer-token check, then one handler per resource —
//! users (`users.rs`, with the `$filter` clauses of `filter.rs`), licences and SKUs
//! (`licences.rs`), groups, their members and owners, reprocessing (`groups.rs`), directory
//! role assignments (`roles.rs`), mail (`mail.rs`), the sign-in logs (`sign_in_logs.rs`) —
//! and `$batch` (`batch.rs`), whose items go through the same handlers. Collections page as
//! `paging.rs` says.
//! Before each request, group-based licensing does what it has had time for.

mod batch;
mod filter;
mod groups;
mod licences;
mod mail;
mod paging;
mod roles;
mod sign_in_logs;
mod users;

use std::collections::HashMap;

use super::super::fake_http;
use super::answer::{graph_error, Answer};
use super::token::Audience;
use super::{Request, State};

/// One request to Graph; `path` is relative to `/v1.0`. Without a valid Graph token it is
/// refused with 401 `InvalidAuthenticationToken`.
pub(crate) fn serve(state: &mut State, r: &Request<'_>) -> Answer {
    if !state.authorised(r.headers, Audience::Graph) {
        let message = if r.headers.contains_key("authorization") {
            "Access token has expired or is not yet valid."
        } else {
            "Access token is empty."
        };
        return graph_error(401, "InvalidAuthenticationToken", message, r.crid);
    }
    state.settle();
    if r.path == "/$batch" && r.method == "POST" {
        return batch::batch(state, r.body, r.crid);
    }
    graph(state, r.method, r.path, r.query, r.body, r.crid)
}

/// One Graph request (also a `$batch` item); `path` is relative to `/v1.0`.
fn graph(
    state: &mut State,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
    crid: &str,
) -> Answer {
    let q = fake_http::form(query.as_bytes());
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["subscribedSkus"]) => licences::subscribed_skus(state, &q, crid),
        ("GET", ["users"]) => users::list(state, &q, crid),
        ("GET", ["users", key]) => users::get(state, &user_key(key), &q, crid),
        ("PATCH", ["users", key]) => users::update(state, &user_key(key), body, crid),
        ("POST", ["users", key, "assignLicense"]) => {
            licences::assign_license(state, &user_key(key), body, crid)
        }
        ("POST", ["users", key, "sendMail"]) => mail::send_mail(state, &user_key(key), body, crid),
        ("GET", ["roleManagement", "directory", "roleAssignments"]) => {
            roles::role_assignments(state, &q, crid)
        }
        ("GET", ["auditLogs", "signIns"]) => sign_in_logs::list(state, &q, crid),
        ("POST", ["users", key, "reprocessLicenseAssignment"]) => {
            groups::reprocess(state, &user_key(key), crid)
        }
        (_, ["groups", ..]) => groups::route(state, method, &segments, &q, body, crid),
        _ => no_segment(&segments, crid),
    }
}

/// Graph's 400 for a path it has no resource for.
fn no_segment(segments: &[&str], crid: &str) -> Answer {
    graph_error(
        400,
        "BadRequest",
        &format!(
            "Resource not found for the segment '{}'.",
            segments.last().copied().unwrap_or("")
        ),
        crid,
    )
}

/// The query of a request, decoded.
type Query = HashMap<String, String>;

/// The user key of `/users/{key}` or `/users('{key}')`, decoded (`%23` in guest UPNs).
fn user_key(segment: &str) -> String {
    let s = percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned();
    match s.strip_prefix("('").and_then(|r| r.strip_suffix("')")) {
        Some(inner) => inner.to_string(),
        None => s,
    }
}

/// Graph's 404 for a user that does not exist.
fn not_found(key: &str, crid: &str) -> Answer {
    graph_error(
        404,
        "Request_ResourceNotFound",
        &format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."),
        crid,
    )
}

/// Graph's 400 for a body that is not JSON.
fn unreadable_json(crid: &str) -> Answer {
    graph_error(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", crid)
}
