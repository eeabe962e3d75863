//! The HTTP client for Microsoft Graph: bearer tokens (renewed once on a 401), a timeout on
//! every call, a fresh `client-request-id` per call (logged with Graph's `request-id`),
//! bounded retries of reads that honour `Retry-After`, and JSON batching (`$batch`, at most
//! 20 requests a call). Writes are never retried here: a write that fails transiently goes
//! back to the engine, whose job queue re-reads the state before trying again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::backend::http::{asked_wait, json_body, InPlaceRetry};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use super::errors;
use super::token::TokenSource;
use crate::backend::{BackendError, ErrorKind};

/// Graph's limit of requests in one `$batch` call.
pub const BATCH_LIMIT: usize = 20;

/// The longest `Retry-After` a read waits for inside the client; a longer one goes back to
/// the caller as a transient error.
const MAX_WAIT_IN_CLIENT: Duration = Duration::from_secs(10);

/// Answers in which Graph said 429 Too Many Requests (whole calls, and items of a batch)
/// since the process started: the operator's throttling figure.
static THROTTLED: AtomicU64 = AtomicU64::new(0);

/// How many answers Graph throttled (429) since the process started.
pub fn throttled_answers() -> u64 {
    THROTTLED.load(Ordering::Relaxed)
}

fn count_if_throttled(status: u64) {
    if status == u64::from(StatusCode::TOO_MANY_REQUESTS.as_u16()) {
        THROTTLED.fetch_add(1, Ordering::Relaxed);
    }
}

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The JSON body; `Null` for 204 and empty bodies.
    pub body: Value,
}

/// One request inside a `$batch`.
#[derive(Debug, Clone)]
pub(crate) struct BatchRequest {
    /// `GET`, `POST`, `PATCH`.
    pub method: &'static str,
    /// Relative to the Graph base, e.g. `/users/{id}/assignLicense`.
    pub url: String,
    /// JSON body, if any.
    pub body: Option<Value>,
}

/// Talks to one Microsoft Graph endpoint.
pub(crate) struct GraphClient {
    http: reqwest::Client,
    base: String,
    token: TokenSource,
    timeout: Duration,
    read_retries: usize,
}

impl GraphClient {
    /// A client for `base` (e.g. `https://graph.microsoft.com/v1.0`); `http` carries the
    /// timeout, `read_retries` bounds the retries of a read.
    pub(crate) fn new(
        http: reqwest::Client,
        base: &str,
        token: TokenSource,
        timeout: Duration,
        read_retries: usize,
    ) -> GraphClient {
        GraphClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
            timeout,
            read_retries,
        }
    }

    /// Runs a read, retrying transient failures a bounded number of times; the wait is
    /// Graph's `Retry-After` when it sent one, else capped exponential backoff with jitter.
    async fn retrying<T, F, Fut>(&self, what: &str, call: F) -> Result<T, BackendError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, BackendError>>,
    {
        InPlaceRetry::reads(self.read_retries, Some(MAX_WAIT_IN_CLIENT))
            .run(call, |e, wait| {
                tracing::warn!(call = what, error = %e.message, request_id = ?e.backend_ref, ?wait, "Graph read failed; retrying");
            })
            .await
    }

    /// Acquires a token (or uses the cached one), to check the credentials.
    pub(crate) async fn check_token(&self) -> Result<(), BackendError> {
        self.token.get().await.map(|_| ())
    }

    /// `GET {base}{path}` with `query`, retried when transient.
    pub(crate) async fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, BackendError> {
        self.retrying(path, || self.once(Method::GET, path, query, None))
            .await
            .map(|r| r.body)
    }

    /// A GET of an absolute URL Graph gave us (`@odata.nextLink`), retried when transient.
    pub(crate) async fn get_next(&self, url: &str) -> Result<Value, BackendError> {
        let Some(path) = url.strip_prefix(&self.base) else {
            return Err(BackendError::new(
                ErrorKind::Invalid,
                format!("Graph sent a next link outside {}: {url}", self.base),
            ));
        };
        let path = path.to_string();
        self.retrying("nextLink", || self.once(Method::GET, &path, &[], None))
            .await
            .map(|r| r.body)
    }

    /// A write (`POST`, `PATCH`), tried once.
    pub(crate) async fn write(
        &self,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<Value, BackendError> {
        self.once(method, path, &[], Some(body))
            .await
            .map(|r| r.body)
    }

    /// The base URL, e.g. `https://graph.microsoft.com/v1.0` (references to directory objects
    /// in a body name it).
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// A call without a body (`DELETE`, or a `POST` action that takes none), tried once.
    pub(crate) async fn send_empty(
        &self,
        method: Method,
        path: &str,
    ) -> Result<Value, BackendError> {
        self.once(method, path, &[], None).await.map(|r| r.body)
    }

    /// One HTTP exchange; a 401 `InvalidAuthenticationToken` renews the token and repeats
    /// the call once (the service refused it unread, so repeating a write is safe).
    async fn once(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Reply, BackendError> {
        let url = format!("{}{path}", self.base);
        let mut token = self.token.get().await?;
        let mut renewed = false;
        loop {
            let client_request_id = Uuid::new_v4().to_string();
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(token.expose())
                .header("client-request-id", &client_request_id)
                .header("return-client-request-id", "true");
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            tracing::debug!(%method, path, %client_request_id, "Graph call");
            let response = request
                .send()
                .await
                .map_err(|e| self.transport(&method, path, &client_request_id, &e))?;
            let status = response.status();
            count_if_throttled(u64::from(status.as_u16()));
            let retry_after = asked_wait(response.headers());
            let request_id = errors::request_id(response.headers());
            let bytes = response
                .bytes()
                .await
                .map_err(|e| self.transport(&method, path, &client_request_id, &e))?;
            if status.is_success() {
                tracing::debug!(%method, path, %client_request_id, request_id = ?request_id, %status, "Graph answered");
                let body = json_body("Graph", &bytes)?;
                return Ok(Reply { body });
            }
            let err = errors::from_response(status, retry_after, request_id, &bytes);
            if status == StatusCode::UNAUTHORIZED && !renewed {
                tracing::info!(%method, path, %client_request_id, error = %err.message, "Graph refused the token");
                token = self.token.renew(&token).await?;
                renewed = true;
                continue;
            }
            tracing::warn!(%method, path, %client_request_id, request_id = ?err.backend_ref, %status, error = %err.message, "Graph call failed");
            return Err(err);
        }
    }

    fn transport(
        &self,
        method: &Method,
        path: &str,
        client_request_id: &str,
        e: &reqwest::Error,
    ) -> BackendError {
        let mut err = errors::from_transport("Microsoft Graph", e, self.timeout);
        err.backend_ref = Some(format!("client-request-id {client_request_id}"));
        tracing::warn!(%method, path, %client_request_id, error = %err.message, "Graph call failed");
        err
    }

    /// Sends `requests` as JSON batches of at most [`BATCH_LIMIT`]; one result per request,
    /// in order. With `reads_only`, a batch that fails transiently is sent again, and items
    /// that Graph throttled (per-item 429 with its own `Retry-After`) are sent again in a
    /// new batch after the longest wait, both a bounded number of times. Batches holding
    /// writes are sent once: their failures go back to the caller.
    pub(crate) async fn batch(
        &self,
        requests: &[BatchRequest],
        reads_only: bool,
    ) -> Vec<Result<Value, BackendError>> {
        let mut out = Vec::with_capacity(requests.len());
        for chunk in requests.chunks(BATCH_LIMIT) {
            out.extend(self.batch_chunk(chunk, reads_only).await);
        }
        out
    }

    async fn batch_chunk(
        &self,
        requests: &[BatchRequest],
        reads_only: bool,
    ) -> Vec<Result<Value, BackendError>> {
        let mut results: Vec<Option<Result<Value, BackendError>>> = vec![None; requests.len()];
        let mut pending: Vec<usize> = (0..requests.len()).collect();
        let mut rounds = 0;
        loop {
            let items: Vec<Value> = pending
                .iter()
                .map(|&i| {
                    let r = &requests[i];
                    let mut item = json!({"id": i.to_string(), "method": r.method, "url": r.url});
                    if let Some(body) = &r.body {
                        item["headers"] = json!({"Content-Type": "application/json"});
                        item["body"] = body.clone();
                    }
                    item
                })
                .collect();
            let envelope = json!({ "requests": items });
            let sent = if reads_only {
                self.retrying("$batch", || {
                    self.once(Method::POST, "/$batch", &[], Some(&envelope))
                })
                .await
            } else {
                self.once(Method::POST, "/$batch", &[], Some(&envelope))
                    .await
            };
            let reply = match sent {
                Ok(r) => r.body,
                Err(e) => {
                    for &i in &pending {
                        results[i] = Some(Err(e.clone()));
                    }
                    break;
                }
            };
            let responses = reply["responses"].as_array().cloned().unwrap_or_default();
            let mut throttled = Vec::new();
            let mut longest = Duration::ZERO;
            for response in responses {
                let Some(i) = response["id"]
                    .as_str()
                    .and_then(|id| id.parse::<usize>().ok())
                    .filter(|i| pending.contains(i))
                else {
                    tracing::warn!(id = %response["id"], "Graph's batch answered an id that was not asked");
                    continue;
                };
                count_if_throttled(response["status"].as_u64().unwrap_or_default());
                let result = item_result(&response);
                if let Err(e) = &result {
                    if reads_only && e.kind == ErrorKind::Transient {
                        let wait = e.retry_after.unwrap_or(Duration::from_millis(500));
                        if wait <= MAX_WAIT_IN_CLIENT {
                            longest = longest.max(wait);
                            throttled.push(i);
                        }
                    }
                }
                results[i] = Some(result);
            }
            rounds += 1;
            if throttled.is_empty() || rounds > self.read_retries {
                break;
            }
            tracing::warn!(items = throttled.len(), wait = ?longest, "Graph throttled batch items; sending them again");
            tokio::time::sleep(longest).await;
            pending = throttled;
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(BackendError::new(
                        ErrorKind::Transient,
                        "Graph's batch answer left this request out",
                    ))
                })
            })
            .collect()
    }
}

/// The result of one batch item: its body on a 2xx, else the mapped error (with the item's
/// own `Retry-After`).
fn item_result(response: &Value) -> Result<Value, BackendError> {
    let status = response["status"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let body = response.get("body").cloned().unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let header = |name: &str| {
        response["headers"].as_object().and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str().map(str::to_string))
        })
    };
    let retry_after = header("retry-after").and_then(|v| errors::parse_retry_after(&v));
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut err = errors::from_response(status, retry_after, header("request-id"), &bytes);
    if status == StatusCode::FAILED_DEPENDENCY {
        err.kind = ErrorKind::Transient;
    }
    err.backend_ref
        .get_or_insert_with(|| format!("batch item {}", response["id"]));
    Err(err)
}
