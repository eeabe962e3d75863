//! The fake-HTTP toolkit every fake server of the tests shares (Discord's REST API, Microsoft
//! Graph, the identity platform, Partner Center): which requests a rule hits, faults queued
//! for the next matching requests, holds that keep an answer back until the test releases
//! it, the log of every request received, and the answers that do not depend on whose API
//! it is (a JSON body, a connection broken off mid-answer).
//!
//! What a fault does is the fake's own business (Graph's 429 envelope is not Discord's), so
//! [`Fault`] carries a kind of the fake's choosing; when and how often it strikes is decided
//! here, the same way for all.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

/// Which requests something applies to: a method (or any), a piece of the path, and
/// optionally a piece of the body.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Only this method (`GET`, `POST`, …), or any.
    pub method: Option<&'static str>,
    /// The path must contain this.
    pub path_contains: String,
    /// Only requests whose body contains this, or any.
    pub body_contains: Option<String>,
    /// Whether it hits requests nested inside another (the items of a Graph `$batch`)
    /// instead of whole HTTP requests.
    pub nested: bool,
}

impl Rule {
    /// Whole HTTP requests with this method whose path contains `path_contains`.
    pub fn new(method: &'static str, path_contains: &str) -> Rule {
        Rule {
            method: Some(method),
            path_contains: path_contains.to_string(),
            body_contains: None,
            nested: false,
        }
    }

    /// Whether the request is one this rule speaks of.
    pub fn matches(&self, method: &str, path: &str, body: &str, nested: bool) -> bool {
        self.nested == nested
            && self.method.is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.contains(&self.path_contains)
            && self
                .body_contains
                .as_ref()
                .is_none_or(|b| body.contains(b.as_str()))
    }
}

/// A fault for the next `times` requests that match its rule; `kind` says what it does, in
/// the dialect of the fake it is injected into.
#[derive(Debug, Clone)]
pub struct Fault<K> {
    /// Which requests it hits.
    pub rule: Rule,
    /// How many more requests it hits.
    pub times: u32,
    /// What it does.
    pub kind: K,
}

impl<K: Clone> Fault<K> {
    /// A fault on whole HTTP requests.
    pub fn on(method: &'static str, path_contains: &str, times: u32, kind: K) -> Fault<K> {
        Fault {
            rule: Rule::new(method, path_contains),
            times,
            kind,
        }
    }

    /// A fault on requests nested in a batch (Graph's `$batch` items).
    pub fn on_batch_item(
        method: &'static str,
        path_contains: &str,
        times: u32,
        kind: K,
    ) -> Fault<K> {
        let mut fault = Fault::on(method, path_contains, times, kind);
        fault.rule.nested = true;
        fault
    }

    /// The same fault, only for requests whose body contains `text`.
    pub fn with_body(mut self, text: &str) -> Fault<K> {
        self.rule.body_contains = Some(text.to_string());
        self
    }
}

/// The faults waiting for requests, first injected first.
#[derive(Debug)]
pub struct Faults<K>(Vec<Fault<K>>);

impl<K> Default for Faults<K> {
    fn default() -> Self {
        Faults(Vec::new())
    }
}

impl<K: Clone> Faults<K> {
    /// Queues a fault.
    pub fn push(&mut self, fault: Fault<K>) {
        self.0.push(fault);
    }

    /// Takes one use of the first fault that hits this request.
    pub fn take(&mut self, method: &str, path: &str, body: &str, nested: bool) -> Option<K> {
        let fault = self
            .0
            .iter_mut()
            .find(|f| f.times > 0 && f.rule.matches(method, path, body, nested))?;
        fault.times -= 1;
        Some(fault.kind.clone())
    }
}

/// A handle on a hold, to ask whether it caught a request and to release it.
#[derive(Debug, Clone, Copy)]
pub struct HoldId(usize);

struct Hold {
    rule: Rule,
    /// Caught a request (and no longer armed).
    caught: bool,
    released: tokio::sync::watch::Sender<bool>,
}

/// Answers kept back: the next request matching a hold is handled as usual, but its answer
/// goes out only once the test releases the hold (the client that asked may be gone by then).
#[derive(Default)]
pub struct Holds(Vec<Hold>);

/// An answer being kept back by a hold; [`Held::wait`] returns once it is released.
pub struct Held(tokio::sync::watch::Receiver<bool>);

impl Holds {
    /// Arms a hold for the next request matching `rule`.
    pub fn hold(&mut self, rule: Rule) -> HoldId {
        let (released, _) = tokio::sync::watch::channel(false);
        self.0.push(Hold {
            rule,
            caught: false,
            released,
        });
        HoldId(self.0.len() - 1)
    }

    /// The first armed hold this request matches, now caught.
    pub fn catch(&mut self, method: &str, path: &str, body: &str) -> Option<Held> {
        let hold = self
            .0
            .iter_mut()
            .find(|h| !h.caught && h.rule.matches(method, path, body, false))?;
        hold.caught = true;
        Some(Held(hold.released.subscribe()))
    }

    /// Whether the hold has caught a request (whose answer it keeps back until released).
    pub fn caught(&self, id: HoldId) -> bool {
        self.0[id.0].caught
    }

    /// Lets a held answer go.
    pub fn release(&self, id: HoldId) {
        self.0[id.0].released.send_replace(true);
    }

    /// Lets every held answer go (the fake is stopping).
    pub fn release_all(&self) {
        for h in &self.0 {
            h.released.send_replace(true);
        }
    }
}

impl Held {
    /// Waits until the hold is released (or the fake holding it is gone); `fake` names the
    /// fake in the note written when it is gone.
    pub async fn wait(mut self, fake: &str) {
        if self.0.wait_for(|released| *released).await.is_err() {
            eprintln!("{fake}: a hold was dropped");
        }
    }
}

/// One request a fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path, percent-encoded as sent (the fake may leave out a prefix all its paths share).
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// The headers the fake records, lower-case names.
    pub headers: BTreeMap<String, String>,
    /// The body as text.
    pub body: String,
    /// The status answered; 0 while the answer is still being made or held.
    pub status: u16,
    /// When it arrived.
    pub at: Instant,
}

impl Recorded {
    /// A request as it arrived, with the headers named in `keep` (lower-case).
    pub fn new(
        method: &str,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        keep: &[&str],
        body: &[u8],
    ) -> Recorded {
        Recorded {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            headers: keep
                .iter()
                .filter_map(|h| {
                    let value = headers.get(*h)?.to_str().ok()?;
                    Some((h.to_string(), value.to_string()))
                })
                .collect(),
            body: String::from_utf8_lossy(body).into_owned(),
            status: 0,
            at: Instant::now(),
        }
    }

    /// The body as JSON (`null` when it is none).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The body as a form, decoded (token requests).
    pub fn query_pairs_of_body(&self) -> Vec<(String, String)> {
        pairs(self.body.as_bytes())
    }

    /// The query, decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        pairs(self.query.as_bytes())
    }

    /// The first value of this query parameter, decoded.
    pub fn query_param(&self, key: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Whether it has this method and its path contains `path_contains`.
    pub fn is(&self, method: &str, path_contains: &str) -> bool {
        self.method == method && self.path.contains(path_contains)
    }
}

/// Every request a fake received, in order of arrival; reads as a slice of them.
#[derive(Debug, Default, Clone)]
pub struct Log(Vec<Recorded>);

impl<'a> IntoIterator for &'a Log {
    type Item = &'a Recorded;
    type IntoIter = std::slice::Iter<'a, Recorded>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl std::ops::Deref for Log {
    type Target = [Recorded];

    fn deref(&self) -> &[Recorded] {
        &self.0
    }
}

impl Log {
    /// Adds a request; its place, for [`Log::answered`].
    pub fn push(&mut self, request: Recorded) -> usize {
        self.0.push(request);
        self.0.len() - 1
    }

    /// Notes the status the request at `at` was answered with.
    pub fn answered(&mut self, at: usize, status: u16) {
        if let Some(r) = self.0.get_mut(at) {
            r.status = status;
        }
    }

    /// The requests with this method whose path contains `path_contains`.
    pub fn matching<'a>(
        &'a self,
        method: &'a str,
        path_contains: &'a str,
    ) -> impl Iterator<Item = &'a Recorded> + 'a {
        self.0.iter().filter(move |r| r.is(method, path_contains))
    }

    /// Forgets every request.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// A form or query string, decoded into pairs.
pub fn pairs(encoded: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(encoded)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A form or query string, decoded into a map (the last of a repeated name wins).
pub fn form(encoded: &[u8]) -> HashMap<String, String> {
    pairs(encoded).into_iter().collect()
}

/// A JSON answer with extra headers; `content_type` names the JSON flavour (Graph adds its
/// OData parameters).
pub fn json_response(
    status: u16,
    content_type: &str,
    headers: &[(String, String)],
    body: &Value,
) -> Response {
    with_headers(status, headers)
        .header("content-type", content_type)
        .body(Body::from(body.to_string()))
        .expect("a response")
}

/// A response builder with this status and these headers.
pub fn with_headers(status: u16, headers: &[(String, String)]) -> axum::http::response::Builder {
    headers
        .iter()
        .fold(Response::builder().status(status), |b, (k, v)| {
            b.header(k.as_str(), v.as_str())
        })
}

/// An answer that breaks off: a 200 whose body promises more bytes than ever come, the
/// connection failing mid-answer as a dropped network connection does.
pub fn dropped_connection() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped by the fake"))
    });
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("content-length", "512")
        .body(Body::from_stream(stream))
        .expect("a response")
}
