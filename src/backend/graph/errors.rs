//! Turns Microsoft Graph's failures (error bodies, status codes, `Retry-After`, transport
//! faults) into the engine's [`BackendError`] kinds, keeping Graph's `request-id`.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;

pub(crate) use crate::backend::http::parse_retry_after;
use crate::backend::http::transient_wait;
use crate::backend::{BackendError, ErrorKind};

/// Graph's error envelope: `{"error":{"code","message","innerError":{"request-id",…}}}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GraphErrorBody {
    #[serde(default)]
    pub error: GraphError,
}

/// The `error` object of Graph's envelope.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GraphError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "innerError")]
    pub inner_error: Option<InnerError>,
}

/// `innerError`, where Graph puts the id of the call.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct InnerError {
    #[serde(default, rename = "request-id")]
    pub request_id: Option<String>,
}

/// Graph's `request-id` response header.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Maps a Graph error response. `header_request_id` is the `request-id` response header;
/// the body's `innerError.request-id` wins when both are there.
pub(crate) fn from_response(
    status: StatusCode,
    retry_after: Option<Duration>,
    header_request_id: Option<String>,
    body: &[u8],
) -> BackendError {
    let parsed: GraphErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let GraphError {
        code,
        message,
        inner_error,
    } = parsed.error;
    let backend_ref = inner_error.and_then(|i| i.request_id).or(header_request_id);
    let message = if message.is_empty() {
        format!(
            "Microsoft Graph answered {status}{}",
            if code.is_empty() {
                String::new()
            } else {
                format!(" ({code})")
            }
        )
    } else {
        message
    };
    let kind = classify(status, &code, &message);
    BackendError {
        kind,
        message,
        backend_ref,
        retry_after: transient_wait(kind, retry_after),
    }
}

/// The error kind of a Graph status, error code and message.
pub(crate) fn classify(status: StatusCode, code: &str, message: &str) -> ErrorKind {
    let lower = message.to_ascii_lowercase();
    if status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
    {
        return ErrorKind::Transient;
    }
    if status == StatusCode::NOT_FOUND || code.eq_ignore_ascii_case("Request_ResourceNotFound") {
        return ErrorKind::UserNotFound;
    }
    if status == StatusCode::FORBIDDEN
        || status == StatusCode::UNAUTHORIZED
        || code.eq_ignore_ascii_case("Authorization_RequestDenied")
    {
        return ErrorKind::Forbidden;
    }
    if lower.contains("does not have any available licenses") {
        return ErrorKind::NoFreeSeat;
    }
    if lower.contains("invalid usage location") {
        return ErrorKind::InvalidUsageLocation;
    }
    if lower.contains("mutually exclusive") {
        return ErrorKind::Conflict;
    }
    ErrorKind::Invalid
}

/// Maps a transport failure (timeout, refused or dropped connection, unreadable body).
pub(crate) fn from_transport(service: &str, e: &reqwest::Error, timeout: Duration) -> BackendError {
    let message = if e.is_timeout() {
        format!(
            "{service} did not answer within {}",
            humantime::format_duration(timeout)
        )
    } else if e.is_connect() {
        format!("cannot connect to {service}: {}", root_cause(e))
    } else if e.is_body() || e.is_decode() {
        format!(
            "the connection to {service} broke off mid-answer: {}",
            root_cause(e)
        )
    } else {
        format!("the call to {service} failed: {}", root_cause(e))
    };
    if e.is_builder() {
        return BackendError::new(ErrorKind::Invalid, message);
    }
    BackendError::new(ErrorKind::Transient, message)
}

/// The innermost cause, without the URL reqwest adds (it may carry a query string).
fn root_cause(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str, message: &str) -> Vec<u8> {
        serde_json::json!({"error": {"code": code, "message": message,
            "innerError": {"date": "2025-02-13T10:21:18", "request-id": "rid-1", "client-request-id": "c"}}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn retry_after_accepts_decimal_seconds() {
        assert_eq!(
            parse_retry_after("2.128"),
            Some(Duration::from_millis(2128))
        );
        assert_eq!(parse_retry_after("10"), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn retry_after_accepts_a_past_http_date_as_zero() {
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn graph_messages_map_to_kinds() {
        let cases = [
            (400, "Request_BadRequest", "Subscription with SKU f8a1db68-be16-40ed-86d5-cb42ce701560 does not have any available licenses.", ErrorKind::NoFreeSeat),
            (400, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location.", ErrorKind::InvalidUsageLocation),
            (400, "Request_BadRequest", "License assignment failed because service plans a,b are mutually exclusive", ErrorKind::Conflict),
            (404, "Request_ResourceNotFound", "Resource 'x' does not exist", ErrorKind::UserNotFound),
            (403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", ErrorKind::Forbidden),
            (429, "TooManyRequests", "Please retry again later.", ErrorKind::Transient),
            (503, "ServiceUnavailable", "", ErrorKind::Transient),
            (504, "GatewayTimeout", "", ErrorKind::Transient),
            (400, "Request_BadRequest", "License x does not correspond to a valid company License.", ErrorKind::Invalid),
        ];
        for (status, code, message, kind) in cases {
            let e = from_response(
                StatusCode::from_u16(status).unwrap(),
                Some(Duration::from_secs(1)),
                None,
                &body(code, message),
            );
            assert_eq!(e.kind, kind, "{status} {code} {message}");
            assert_eq!(e.backend_ref.as_deref(), Some("rid-1"));
            assert_eq!(e.retry_after.is_some(), kind == ErrorKind::Transient);
        }
    }

    #[test]
    fn an_unreadable_body_still_maps_by_status() {
        let e = from_response(StatusCode::BAD_GATEWAY, None, Some("hdr".into()), b"<html>");
        assert_eq!(e.kind, ErrorKind::Transient);
        assert_eq!(e.backend_ref.as_deref(), Some("hdr"));
        assert!(e.message.contains("502"), "{}", e.message);
    }
}
