//! The REST API under `/api/v10`: the bot token checked, a fault or the route's handler
//! answers, the call is recorded and its answer held when a hold catches it. The handlers
//! are one per resource, in `messages.rs` (messages, reactions, DM channels) and
//! `interactions.rs` (commands, interaction responses, webhooks).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::super::fake_http::Recorded;
use super::json::{message_json, user_json};
use super::state::{Inner, Msg};
use super::uploads::{self, Body};
use super::{interactions, lock, messages, Shared, BOT, MAX_CONTENT, TOKEN};

/// The paging of a list (reaction users).
#[derive(serde::Deserialize, Default)]
pub(super) struct ListQuery {
    pub(super) limit: Option<usize>,
    pub(super) after: Option<u64>,
}

/// The headers the call log keeps.
const RECORDED_HEADERS: [&str; 3] = ["authorization", "content-type", "x-audit-log-reason"];

/// Every REST call.
pub(super) async fn rest(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(rest): Path<String>,
    Query(q): Query<ListQuery>,
    body: axum::body::Bytes,
) -> Response {
    let path = format!("/{}", uri.path().trim_start_matches("/api/v10/"));
    let method = method.as_str();
    let mut call = Recorded::new(
        method,
        &path,
        uri.query().unwrap_or(""),
        &headers,
        &RECORDED_HEADERS,
        &body,
    );
    let authorized = call
        .headers
        .get("authorization")
        .is_some_and(|h| *h == format!("Bot {TOKEN}"));
    let read = uploads::read(&headers, body).await;
    let (response, held) = {
        let mut g = lock(&shared);
        let fault = g.faults.take(method, &path, &call.body, false);
        let response = if !authorized {
            error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized")
        } else if let Some(status) = fault {
            fault_response(status)
        } else {
            match read {
                Ok(body) => route(&mut g, (method, &rest, &q), body, shared.port),
                Err(refused) => *refused,
            }
        };
        let held = g.holds.catch(method, &path, &call.body);
        call.status = response.status().as_u16();
        g.calls.push(call);
        (response, held)
    };
    shared.changed.notify_waiters();
    if let Some(held) = held {
        held.wait("fake Discord").await;
    }
    response
}

/// The handler of each route the fake models.
fn route(
    g: &mut Inner,
    (method, rest, q): (&str, &str, &ListQuery),
    Body { json, files }: Body,
    port: u16,
) -> Response {
    let body = &json;
    let parts: Vec<&str> = rest.split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["gateway"]) => {
            Json(json!({"url": format!("ws://127.0.0.1:{port}/gateway")})).into_response()
        }
        ("GET", ["users", "@me"]) => {
            checked::<serenity::all::CurrentUser>(g, "current user", user_json(BOT))
        }
        ("POST", ["users", "@me", "channels"]) => messages::open_dm(g, body),
        ("POST", ["channels", c, "messages"]) => messages::create(g, parse(c), body, files),
        ("GET", ["channels", _, "messages", m]) => messages::get(g, parse(m)),
        ("PATCH", ["channels", _, "messages", m]) => messages::edit(g, parse(m), body),
        ("DELETE", ["channels", _, "messages", m]) => messages::delete(g, parse(m)),
        ("PUT", ["channels", _, "messages", m, "reactions", emoji, "@me"]) => {
            messages::react(g, parse(m), emoji)
        }
        ("DELETE", ["channels", _, "messages", m, "reactions", emoji, user]) => {
            messages::unreact(g, parse(m), emoji, user)
        }
        ("GET", ["channels", _, "messages", m, "reactions", emoji]) => {
            messages::reactions(g, parse(m), emoji, q)
        }
        ("PUT", ["applications", app, "guilds", guild, "commands"]) => {
            interactions::register(g, parse(app), parse(guild), body)
        }
        ("POST", ["interactions", id, token, "callback"]) => {
            interactions::callback(g, parse(id), token, body)
        }
        ("PATCH", ["webhooks", app, token, "messages", "@original"]) => {
            interactions::edit_original(g, (parse(app), token), (body, files))
        }
        ("DELETE", ["webhooks", app, token, "messages", "@original"]) => {
            interactions::delete_original(g, parse(app), token)
        }
        ("POST", ["webhooks", app, token]) => {
            interactions::follow_up(g, (parse(app), token), (body, files))
        }
        _ => error(
            StatusCode::NOT_FOUND,
            0,
            "404: Not Found (the fake does not model this route)",
        ),
    }
}

/// A snowflake from the path (0 when it is none).
pub(super) fn parse(s: &str) -> u64 {
    s.parse().unwrap_or(0)
}

/// `body.content`, or nothing.
pub(super) fn content(body: &Value) -> String {
    body["content"].as_str().unwrap_or_default().to_string()
}

/// Discord's error body.
pub(super) fn error(status: StatusCode, code: u64, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

/// 404 code 10008, "Unknown Message".
pub(super) fn unknown_message() -> Response {
    error(StatusCode::NOT_FOUND, 10008, "Unknown Message")
}

/// 400 code 50035 with the per-field `errors` Discord gives.
pub(super) fn invalid_form(errors: Value) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"code": 50035, "message": "Invalid Form Body", "errors": errors})),
    )
        .into_response()
}

/// A field longer than Discord allows.
pub(super) fn too_long_field(field: &str, max: usize) -> Response {
    invalid_form(json!({field: {"_errors": [{
        "code": "BASE_TYPE_MAX_LENGTH",
        "message": format!("Must be {max} or fewer in length."),
    }]}}))
}

/// The refusal of message content over 2,000 characters.
pub(super) fn too_long(content: &str) -> Option<Response> {
    (content.chars().count() > MAX_CONTENT).then(|| too_long_field("content", MAX_CONTENT))
}

/// A JSON answer, checked against the serenity model `T` it will be read as.
pub(super) fn checked<T: serde::de::DeserializeOwned>(
    g: &mut Inner,
    what: &str,
    v: Value,
) -> Response {
    g.check::<T>(what, &v);
    Json(v).into_response()
}

/// A message's JSON, checked against serenity's `Message`.
pub(super) fn message_value(g: &mut Inner, m: &Msg) -> Value {
    let v = message_json(m);
    g.check::<serenity::all::Message>("message", &v);
    v
}

/// What an injected fault answers: 429 with Discord's rate-limit body and headers, 500, or
/// any other status.
fn fault_response(status: u16) -> Response {
    match status {
        429 => {
            let headers: HeaderMap = [
                ("retry-after", "1"),
                ("x-ratelimit-limit", "5"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset-after", "0.250"),
                ("x-ratelimit-bucket", "fake-bucket"),
                ("x-ratelimit-scope", "user"),
            ]
            .into_iter()
            .map(|(k, v)| {
                (
                    k.parse().expect("a header name"),
                    v.parse().expect("a value"),
                )
            })
            .collect();
            (
                StatusCode::TOO_MANY_REQUESTS,
                headers,
                Json(json!({"message": "You are being rate limited.", "retry_after": 0.25, "global": false})),
            )
                .into_response()
        }
        500 => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            0,
            "500: Internal Server Error",
        ),
        other => error(
            StatusCode::from_u16(other).unwrap_or(StatusCode::BAD_REQUEST),
            0,
            "injected fault",
        ),
    }
}
