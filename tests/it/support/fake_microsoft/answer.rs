//! What the fake answers with, in Microsoft's dialects: an answer being built, Graph's error
//! envelope (with `innerError` and a `request-id`), its 429, what each injected fault does,
//! and the HTTP response an answer becomes.

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use serde_json::{json, Value};

use super::super::fake_http;
use super::partner_center;

/// What a fault does.
#[derive(Debug, Clone)]
pub enum FaultKind {
    /// Graph's 429 `TooManyRequests`, with this `Retry-After` (none when `None`).
    Throttle(Option<String>),
    /// 503 `ServiceUnavailable`, with an optional `Retry-After`.
    Unavailable(Option<String>),
    /// 504 `GatewayTimeout`.
    GatewayTimeout,
    /// 500 `InternalServerError`, answered before the request is handled.
    ServerError,
    /// Answer only after this long (handled normally otherwise).
    Slow(Duration),
    /// Handle the request, then break the connection off mid-answer.
    Drop,
    /// Partner Center's 429 `{statusCode, message}` with this `Retry-After`.
    PcThrottle(String),
    /// Partner Center's 409 code 800060, "Your order is in progress".
    PcOrderInProgress,
    /// 403 `Authorization_RequestDenied`: the app lacks a permission.
    Forbidden,
}

/// What a fault does to the request it strikes.
pub(crate) enum Strike {
    /// Answers at once with this, instead of handling the request.
    Answer(Answer),
    /// Handles the request, but only after this long.
    Slow(Duration),
    /// Handles the request, then breaks the connection off mid-answer.
    Drop,
}

impl FaultKind {
    /// Graph's 429 with this `Retry-After` (seconds).
    pub fn throttle(retry_after: &str) -> FaultKind {
        FaultKind::Throttle(Some(retry_after.into()))
    }

    /// 503 with this `Retry-After` (seconds).
    pub fn unavailable(retry_after: &str) -> FaultKind {
        FaultKind::Unavailable(Some(retry_after.into()))
    }

    /// What this fault does to a whole HTTP request.
    pub(crate) fn strike(&self, crid: &str) -> Strike {
        match self {
            FaultKind::Slow(d) => Strike::Slow(*d),
            FaultKind::Drop => Strike::Drop,
            FaultKind::PcThrottle(ra) => Strike::Answer(
                Answer::json(
                    429,
                    json!({"statusCode": 429, "message": format!("Rate limit is exceeded. Try again in {ra} seconds.")}),
                )
                .header("Retry-After", ra),
            ),
            FaultKind::PcOrderInProgress => Strike::Answer(partner_center::order_in_progress()),
            FaultKind::Unavailable(Some(ra)) => Strike::Answer(
                self.graph_error(crid)
                    .expect("a Graph error")
                    .header("Retry-After", ra),
            ),
            _ => Strike::Answer(self.graph_error(crid).expect("a Graph error")),
        }
    }

    /// The Graph error this fault answers with (`Retry-After` of a 429 included); `None`
    /// for the faults that are not Graph errors (slow, dropped, Partner Center's).
    pub(crate) fn graph_error(&self, crid: &str) -> Option<Answer> {
        let (status, code, message) = match self {
            FaultKind::Throttle(ra) => return Some(throttled(ra, crid)),
            FaultKind::Unavailable(_) => (
                503,
                "ServiceUnavailable",
                "The service is temporarily unavailable.",
            ),
            FaultKind::GatewayTimeout => (
                504,
                "GatewayTimeout",
                "The gateway did not receive a response in time.",
            ),
            FaultKind::ServerError => (
                500,
                "InternalServerError",
                "An internal server error occurred.",
            ),
            FaultKind::Forbidden => (
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ),
            FaultKind::Slow(_)
            | FaultKind::Drop
            | FaultKind::PcThrottle(_)
            | FaultKind::PcOrderInProgress => return None,
        };
        Some(graph_error(status, code, message, crid))
    }
}

/// An answer being built.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// An HTML page instead of JSON (the identity platform's sign-in pages).
    pub html: Option<String>,
}

impl Answer {
    pub(crate) fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: Some(body),
            html: None,
        }
    }

    pub(crate) fn empty(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: None,
            html: None,
        }
    }

    pub(crate) fn html(status: u16, page: String) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: None,
            html: Some(page),
        }
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

pub(crate) fn now_stamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Graph's error envelope; the answer carries the same `request-id` header.
pub(crate) fn graph_error(
    status: u16,
    code: &str,
    message: &str,
    client_request_id: &str,
) -> Answer {
    let request_id = uuid::Uuid::new_v4().to_string();
    Answer::json(
        status,
        json!({"error": {"code": code, "message": message, "innerError": {
            "date": now_stamp(), "request-id": request_id, "client-request-id": client_request_id}}}),
    )
    .header("request-id", &request_id)
}

fn throttled(retry_after: &Option<String>, crid: &str) -> Answer {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut a = Answer::json(
        429,
        json!({"error": {"code": "TooManyRequests", "innerError": {"code": "429", "date": now_stamp(),
            "message": "Please retry after", "request-id": request_id, "client-request-id": crid, "status": "429"},
            "message": "Please retry again later."}}),
    )
    .header("request-id", &request_id);
    if let Some(ra) = retry_after {
        a = a.header("Retry-After", ra);
    }
    a
}
/// The HTTP response of an answer: a `request-id` always (Graph's), the caller's
/// `client-request-id` echoed, HTML or Graph's JSON.
pub(crate) fn respond(answer: Answer, crid: &str) -> Response {
    let mut headers = answer.headers;
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("request-id"))
    {
        headers.push(("request-id".into(), uuid::Uuid::new_v4().to_string()));
    }
    if !crid.is_empty() {
        headers.push(("client-request-id".into(), crid.to_string()));
    }
    if let Some(page) = answer.html {
        return fake_http::with_headers(answer.status, &headers)
            .header("content-type", "text/html; charset=utf-8")
            .body(Body::from(page))
            .expect("response");
    }
    match answer.body {
        Some(body) => fake_http::json_response(answer.status, GRAPH_JSON, &headers, &body),
        None => fake_http::with_headers(answer.status, &headers)
            .body(Body::empty())
            .expect("response"),
    }
}

/// The content type of Graph's JSON answers.
const GRAPH_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
