//! Partner Center's failures in the engine's terms: the `{code, description, data, source}`
//! envelope (the code may be a number or a string), throttling's `{statusCode, message}`, and
//! the business codes that mean "try again" or "this can never work".

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use crate::backend::http::transient_wait;
use crate::backend::{BackendError, ErrorKind};

/// Codes worth retrying: the ETag went stale (read the subscription again) or an order for
/// it is still in progress.
const RETRY_CODES: [i64; 2] = [2055, 800060];

#[derive(Debug, Default, Deserialize)]
struct Envelope {
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    message: Option<String>,
}

/// Undoes the HTML entities Partner Center leaves in descriptions (`We&#39;re sorry`).
fn unescape(s: &str) -> String {
    s.replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The numeric code of an envelope, whether sent as a number or a string.
fn code_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Maps a Partner Center error response; `reference` names the call for the audit log.
pub(crate) fn from_response(
    status: StatusCode,
    retry_after: Option<Duration>,
    reference: String,
    body: &[u8],
) -> BackendError {
    let env: Envelope = serde_json::from_slice(body).unwrap_or_default();
    let code = env.code.as_ref().and_then(code_of);
    let mut message = env
        .description
        .or(env.message)
        .map(|d| unescape(&d))
        .unwrap_or_else(|| format!("Partner Center answered {status}"));
    if let Some(code) = code {
        message = format!("Partner Center error {code}: {message}");
    }
    if let Some(Value::Array(data)) = &env.data {
        let details: Vec<String> = data
            .iter()
            .filter_map(Value::as_str)
            .map(unescape)
            .collect();
        if !details.is_empty() {
            message = format!("{message} ({})", details.join("; "));
        }
    }
    let kind = match code {
        Some(c) if RETRY_CODES.contains(&c) => ErrorKind::Transient,
        _ if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() => {
            ErrorKind::Transient
        }
        _ if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN => {
            ErrorKind::Forbidden
        }
        _ => ErrorKind::Invalid,
    };
    BackendError {
        kind,
        message,
        backend_ref: Some(reference),
        retry_after: transient_wait(kind, retry_after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(status: u16, body: Value) -> BackendError {
        from_response(
            StatusCode::from_u16(status).unwrap(),
            Some(Duration::from_millis(200)),
            "ref".into(),
            body.to_string().as_bytes(),
        )
    }

    #[test]
    fn stale_etag_and_order_in_progress_are_transient() {
        let e = map(
            400,
            serde_json::json!({"code": 2055, "description": "Etag is no longer valid", "data": [], "source": "PartnerFD"}),
        );
        assert_eq!(e.kind, ErrorKind::Transient);
        let e = map(
            409,
            serde_json::json!({"code": "800060", "description": "Your order is in progress.", "source": "PartnerFD"}),
        );
        assert_eq!(e.kind, ErrorKind::Transient);
    }

    #[test]
    fn quantity_rules_are_invalid_with_the_description() {
        for code in [800090, 800095, 2002] {
            let e = map(
                400,
                serde_json::json!({"code": code, "description": "Subscription quantity cannot be decreased", "data": [], "source": "PartnerFD"}),
            );
            assert_eq!(e.kind, ErrorKind::Invalid, "{code}");
            assert!(
                e.message.contains(&code.to_string()) && e.message.contains("cannot be decreased"),
                "{}",
                e.message
            );
            assert_eq!(e.retry_after, None);
        }
    }

    #[test]
    fn throttling_keeps_retry_after_and_entities_are_undone() {
        let e = map(
            429,
            serde_json::json!({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."}),
        );
        assert_eq!(e.kind, ErrorKind::Transient);
        assert_eq!(e.retry_after, Some(Duration::from_millis(200)));
        let e = map(
            400,
            serde_json::json!({"code": 60012, "description": "We&#39;re sorry", "data": [], "source": "PartnerFD"}),
        );
        assert!(e.message.contains("We're sorry"), "{}", e.message);
    }
}
