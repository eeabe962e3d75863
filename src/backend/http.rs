//! What the Microsoft backends (Graph, its tokens, Partner Center) share over HTTP: retrying
//! a read in place under the one [`RetryPolicy`] (a transient failure is tried again a bounded
//! number of times, after the wait the service asked for in `Retry-After`, else the policy's
//! capped exponential backoff with jitter), and reading an answer's body.

use std::future::Future;
use std::time::Duration;

use backon::Retryable;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::{BackendError, ErrorKind};
use crate::engine::ports::RetryPolicy;

/// How a Microsoft read is tried again in place: the shared [`RetryPolicy`] (its delays
/// and number of tries), and the longest `Retry-After` worth waiting for in the call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InPlaceRetry {
    /// Delays and tries.
    pub policy: RetryPolicy,
    /// The longest `Retry-After` worth waiting for in the call; a longer one ends the tries
    /// (the caller's own schedule waits instead). `None`: any.
    pub longest_wait: Option<Duration>,
}

impl InPlaceRetry {
    /// Reads from Microsoft: 200 ms doubling to 5 s, `times` tries after the first.
    pub(crate) fn reads(times: usize, longest_wait: Option<Duration>) -> InPlaceRetry {
        InPlaceRetry {
            policy: RetryPolicy {
                first: Duration::from_millis(200),
                max: Duration::from_secs(5),
                times,
            },
            longest_wait,
        }
    }

    /// Runs `call`, trying it again while it fails transiently; `on_retry` is told each
    /// failure and the wait before the next try.
    pub(crate) async fn run<T, F, Fut>(
        self,
        call: F,
        on_retry: impl FnMut(&BackendError, Duration),
    ) -> Result<T, BackendError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, BackendError>>,
    {
        call.retry(self.policy.backon())
            .when(BackendError::is_transient)
            .adjust(|e, backoff| backoff.and_then(|d| self.wait(e.retry_after, d)))
            .notify(on_retry)
            .await
    }

    /// The wait before the next try: what the service asked for, within `longest_wait`,
    /// else the backoff's `d`; `None` ends the tries.
    fn wait(self, asked: Option<Duration>, d: Duration) -> Option<Duration> {
        match (asked, self.longest_wait) {
            (Some(wait), Some(longest)) if wait > longest => None,
            (Some(wait), _) => Some(wait),
            (None, _) => Some(d),
        }
    }
}

/// Parses `Retry-After`: decimal seconds as Graph sends them (`2.128`, `10`), or an HTTP
/// date, which Graph does not document but HTTP allows.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(24.0 * 3600.0)));
        }
        return None;
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// The wait a response asked for in its `Retry-After` header.
pub(crate) fn asked_wait(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

/// The `Retry-After` worth keeping on a failure of `kind`: only a transient failure is
/// worth trying again.
pub(crate) fn transient_wait(kind: ErrorKind, asked: Option<Duration>) -> Option<Duration> {
    if kind == ErrorKind::Transient {
        asked
    } else {
        None
    }
}

/// A successful answer's JSON body (`null` when empty); a body that is not JSON is a
/// transient failure of `service`.
pub(crate) fn json_body(service: &str, bytes: &[u8]) -> Result<Value, BackendError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|e| {
        BackendError::new(
            ErrorKind::Transient,
            format!("{service} sent a body that is not JSON: {e}"),
        )
    })
}
