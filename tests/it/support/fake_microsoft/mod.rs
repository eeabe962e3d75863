//! A stateful fake of Microsoft's side on 127.0.0.1, one server for all of it: the identity
//! platform's token endpoints (v2 with `scope`, v1 with `resource`; `token.rs`) and its
//! sign-in pages (`idp.rs`), Microsoft Graph v1.0 (users, usage location, subscribedSkus,
//! assignLicense, role assignments, sendMail, groups and their members, licence assignment
//! states, sign-in activity, the sign-in logs of `sign_ins.rs`, `$batch`; `graph/`) with
//! group-based licensing working in the background (`group_licensing.rs`), and Partner
//! Center's subscription resource (`partner_center.rs`).
//!
//! It follows shared/reference/graph_licensing.md and graph_groups_identity.md: real JSON
//! shapes, real error bodies and status codes, `@odata.context`, `innerError` with a
//! `request-id`, `$select` honoured, `%23` in guest UPNs decoded, `usageLocation: null` when
//! unset, consumedUnits counted from assignments, assignLicense's checks in the reference's
//! §13.6 order, `$batch` rules. It is a model of Microsoft, not of our client.
//!
//! Tests steer it: [`Fault`]s (429 with `Retry-After`, 503, slow answers, dropped
//! connections, Partner Center throttling and orders in progress), token expiry, read-back
//! lag, the fake's clock (group-based licensing's delay), and holds that keep an answer back until released (the toolkit of `fake_http.rs`).
//! Every request is recorded.

mod answer;
mod graph;
mod group_licensing;
pub mod idp;
pub mod partner_center;
pub mod sign_ins;
pub mod state;
mod token;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::json;

use super::fake_http::{self, Holds, Rule};
pub use super::fake_http::{HoldId, Recorded};
pub use answer::FaultKind;
use answer::{respond, Answer};
pub use idp::Tamper;
pub use sign_ins::{SignInApp, POWER_BI_SERVICE};
pub use state::{
    Assigned, FakeGroup, FakeUser, LicenceError, LicenceState, SignInActivity, State, PRO_GROUP,
    PRO_SKU,
};

/// A fault to inject with [`FakeMicrosoft::inject`].
pub type Fault = fake_http::Fault<FaultKind>;

/// The tenant the fake serves.
pub const TENANT_ID: &str = "7f3c1a2b-1111-4222-8333-944455556666";
/// The bot's Graph app.
pub const CLIENT_ID: &str = "0b2c3d4e-aaaa-4bbb-8ccc-0123456789ab";
/// The Graph app's secret.
pub const CLIENT_SECRET: &str = "gr4ph~S3cret.value-Do-Not-Log";
/// The partner's Partner Center app.
pub const PC_TENANT_ID: &str = "partner.onmicrosoft.com";
/// The Partner Center app's client id.
pub const PC_CLIENT_ID: &str = "5e6f7a8b-bbbb-4ccc-8ddd-abcdef012345";
/// The Partner Center app's secret.
pub const PC_CLIENT_SECRET: &str = "pc~P4rtner.secret-Do-Not-Log";
/// The customer's tenant id as Partner Center knows it.
pub const CUSTOMER_ID: &str = "c0ffee00-1234-4567-89ab-0123456789ab";
/// The customer's Power BI Pro subscription.
pub const SUBSCRIPTION_ID: &str = "5b0b5b0b-aaaa-4bbb-8ccc-ddddeeeeffff";

struct Shared {
    state: Mutex<State>,
    holds: Mutex<Holds>,
}

/// The running fake.
pub struct FakeMicrosoft {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeMicrosoft {
    /// Starts the fake with the default test tenant on a free loopback port.
    pub fn start() -> FakeMicrosoft {
        FakeMicrosoft::start_with(State::default())
    }

    /// Starts the fake with this state.
    pub fn start_with(mut state: State) -> FakeMicrosoft {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        state.graph_base = format!("http://{addr}/v1.0");
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            holds: Mutex::new(Holds::default()),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = shared.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("fake runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let shared = served.clone();
                        async move { handle(shared, method, uri, headers, body).await }
                    },
                );
                let server = axum::serve(listener, app).with_graceful_shutdown(async {
                    if stopped.await.is_err() {
                        // The handle was dropped without a stop: stop as well.
                    }
                });
                if let Err(e) = server.await {
                    eprintln!("fake Microsoft server ended: {e}");
                }
            });
        });
        FakeMicrosoft {
            addr,
            shared,
            stop: Some(stop),
        }
    }

    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().expect("fake state")
    }

    /// `http://127.0.0.1:PORT`: the authority and Partner Center base.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Graph's base URL on the fake.
    pub fn graph_url(&self) -> String {
        format!("http://{}/v1.0", self.addr)
    }

    /// Adds a fault.
    pub fn inject(&self, fault: Fault) {
        self.state().faults.push(fault);
    }

    /// Adds a fault on the next request with this method whose path contains
    /// `path_contains`.
    pub fn fail_once(&self, method: &'static str, path_contains: &str, kind: FaultKind) {
        self.inject(Fault::on(method, path_contains, 1, kind));
    }

    /// Makes every issued token invalid, as if it had expired.
    pub fn expire_tokens(&self) {
        self.state().tokens.clear();
    }

    /// How many tokens were issued.
    pub fn tokens_issued(&self) -> u32 {
        self.state().tokens_issued
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.to_vec()
    }

    /// Requests with this method whose path contains `path_contains`.
    pub fn count(&self, method: &str, path_contains: &str) -> usize {
        self.state()
            .requests
            .matching(method, path_contains)
            .count()
    }

    /// Graph operations with this method whose path contains `path_contains`, whether sent
    /// alone or inside a `$batch`.
    pub fn ops(&self, method: &str, path_contains: &str) -> usize {
        let state = self.state();
        state
            .requests
            .matching(method, path_contains)
            .chain(state.batch_items.matching(method, path_contains))
            .filter(|r| r.path != "/v1.0/$batch")
            .count()
    }

    /// The code in the last mail sent to `to`: the line of eight digits of its body.
    pub fn mailed_code(&self, to: &str) -> String {
        let state = self.state();
        let (_, mail) = state
            .mails
            .iter()
            .rev()
            .find(|(_, m)| {
                m["message"]["toRecipients"][0]["emailAddress"]["address"]
                    .as_str()
                    .is_some_and(|a| a.eq_ignore_ascii_case(to))
            })
            .unwrap_or_else(|| panic!("no mail to {to} in {:#?}", state.mails));
        super::bot::code_in(mail["message"]["body"]["content"].as_str().expect("a body"))
    }

    /// Every HTTP request made to Graph (`/v1.0/…`).
    pub fn graph_calls(&self) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|r| r.path.starts_with("/v1.0/"))
            .count()
    }

    /// Adds `n` members `u{i}@contoso.nl` (in NL, no licences) and raises Pro's seats
    /// by `n`; returns their UPNs.
    pub fn add_members(&self, n: usize) -> Vec<String> {
        let mut state = self.state();
        let mut upns = Vec::new();
        for i in 0..n {
            let upn = format!("u{i:02}@contoso.nl");
            state
                .users
                .push(FakeUser::member(&upn, &format!("User {i:03}")));
            upns.push(upn);
        }
        let enabled = state.skus[0].enabled + n as i64;
        state.set_enabled("POWER_BI_PRO", enabled);
        upns
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        let mut state = self.state();
        state.requests.clear();
        state.batch_items.clear();
    }

    /// Part numbers of the SKUs a user holds now (a seat, from any source, once each).
    pub fn licences_of(&self, upn: &str) -> Vec<String> {
        let mut state = self.state();
        state.settle();
        let Some(user) = state.user(upn) else {
            return Vec::new();
        };
        let mut parts: Vec<String> = Vec::new();
        for l in user.licenses.iter().filter(|l| l.state.holds_seat()) {
            if let Some(s) = state.skus.iter().find(|s| s.sku_id == l.sku_id) {
                if !parts.contains(&s.part) {
                    parts.push(s.part.clone());
                }
            }
        }
        parts
    }

    /// Holds the answer to the next request matching `method` and `path_contains` (after
    /// handling it) until [`FakeMicrosoft::release`].
    pub fn hold(&self, method: &'static str, path_contains: &str) -> HoldId {
        self.hold_with(method, path_contains, None)
    }

    /// Like [`FakeMicrosoft::hold`], for a request whose body also contains `body_contains`
    /// (an `assignLicense` inside a `$batch`, say).
    pub fn hold_with(
        &self,
        method: &'static str,
        path_contains: &str,
        body_contains: Option<&str>,
    ) -> HoldId {
        let mut rule = Rule::new(method, path_contains);
        rule.body_contains = body_contains.map(str::to_string);
        self.holds().hold(rule)
    }

    /// Whether a held answer is being kept back (a request matched the hold).
    pub fn holding(&self, id: HoldId) -> bool {
        self.holds().caught(id)
    }

    /// Lets a held answer go.
    pub fn release(&self, id: HoldId) {
        self.holds().release(id);
    }

    fn holds(&self) -> MutexGuard<'_, Holds> {
        self.shared.holds.lock().expect("holds")
    }

    /// Waits until a request matching `pred` has arrived; panics after `timeout`.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&Recorded) -> bool) -> Recorded {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.state().requests.iter().find(|r| pred(r)) {
                return r.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no such request within {timeout:?}; got {:#?}",
                self.requests()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Settings for a bot using this fake: an extra TOML table and environment variables
    /// (URLs and secrets), as an operator would give them.
    pub fn bot_settings(&self, partner_center: bool) -> (String, Vec<(String, String)>) {
        let mut toml = format!(
            "[backend.graph]\ntenant_id = \"{TENANT_ID}\"\nclient_id = \"{CLIENT_ID}\"\n\
             client_secret_env = \"FAKE_GRAPH_SECRET\"\nrole_cache_ttl = \"10m\"\ntimeout = \"2s\"\n"
        );
        let mut env = vec![
            ("LICENSEBOT__BACKEND__KIND".to_string(), "graph".to_string()),
            (
                "LICENSEBOT__BACKEND__GRAPH__GRAPH_URL".to_string(),
                self.graph_url(),
            ),
            (
                "LICENSEBOT__BACKEND__GRAPH__AUTHORITY_URL".to_string(),
                self.base_url(),
            ),
            ("FAKE_GRAPH_SECRET".to_string(), CLIENT_SECRET.to_string()),
        ];
        if partner_center {
            toml.push_str(&format!(
                "\n[backend.partner_center]\ncustomer_tenant_id = \"{CUSTOMER_ID}\"\n\
                 subscription_id = \"{SUBSCRIPTION_ID}\"\nclient_secret_env = \"FAKE_PC_SECRET\"\n\
                 tenant_id = \"{PC_TENANT_ID}\"\nclient_id = \"{PC_CLIENT_ID}\"\n"
            ));
            env.push((
                "LICENSEBOT__BACKEND__PURCHASE".to_string(),
                "partner_center".to_string(),
            ));
            env.push((
                "LICENSEBOT__BACKEND__PARTNER_CENTER__API_URL".to_string(),
                self.base_url(),
            ));
            env.push(("FAKE_PC_SECRET".to_string(), PC_CLIENT_SECRET.to_string()));
        } else {
            // Without Partner Center, seats on a Graph tenant are bought by a person.
            env.push((
                "LICENSEBOT__BACKEND__PURCHASE".to_string(),
                "manual".to_string(),
            ));
        }
        (toml, env)
    }
}

impl Drop for FakeMicrosoft {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The server may already be gone; nothing to do then.
            if stop.send(()).is_err() {
                eprintln!("fake Microsoft server had already stopped");
            }
        }
        if let Ok(holds) = self.shared.holds.lock() {
            holds.release_all();
        }
    }
}

const RECORDED_HEADERS: [&str; 10] = [
    "authorization",
    "client-request-id",
    "content-type",
    "ms-requestid",
    "ms-correlationid",
    "ms-contract-version",
    "if-match",
    "consistencylevel",
    "accept",
    "retry-after",
];

/// One request: recorded, then a fault may answer it early, slow it down or break it off;
/// otherwise it is routed, its answer held when a hold catches it.
async fn handle(
    shared: Arc<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let query = uri.query().unwrap_or("");
    let crid = header(&headers, "client-request-id")
        .unwrap_or("")
        .to_string();
    let text = String::from_utf8_lossy(&body).into_owned();
    let (at, fault) = {
        let mut state = shared.state.lock().expect("fake state");
        let recorded = Recorded::new(
            method.as_str(),
            path,
            query,
            &headers,
            &RECORDED_HEADERS,
            &body,
        );
        let at = state.requests.push(recorded);
        (at, state.faults.take(method.as_str(), path, &text, false))
    };
    let mut drop_connection = false;
    match fault.map(|kind| kind.strike(&crid)) {
        Some(answer::Strike::Answer(early)) => return finish(&shared, at, early, &crid),
        Some(answer::Strike::Slow(d)) => tokio::time::sleep(d).await,
        Some(answer::Strike::Drop) => drop_connection = true,
        None => {}
    }
    let answer = {
        let mut state = shared.state.lock().expect("fake state");
        let request = Request {
            method: method.as_str(),
            path,
            query,
            headers: &headers,
            body: &body,
            crid: &crid,
        };
        route(&mut state, &request)
    };
    let held = shared
        .holds
        .lock()
        .expect("holds")
        .catch(method.as_str(), path, &text);
    if let Some(held) = held {
        held.wait("fake Microsoft").await;
    }
    if drop_connection {
        return fake_http::dropped_connection();
    }
    finish(&shared, at, answer, &crid)
}

/// The response to the request recorded at `at`, its status noted in the log.
fn finish(shared: &Shared, at: usize, answer: Answer, crid: &str) -> Response {
    let mut state = shared.state.lock().expect("fake state");
    state.requests.answered(at, answer.status);
    respond(answer, crid)
}

/// A header's value, when it is text.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A request as the handlers see it.
#[derive(Clone, Copy)]
pub(crate) struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// The caller's `client-request-id`, which Graph echoes.
    pub crid: &'a str,
}

/// Which of Microsoft's services a path belongs to, and the handler there.
fn route(state: &mut State, r: &Request<'_>) -> Answer {
    if let Some(rest) = r.path.strip_prefix("/v1.0") {
        return graph::serve(state, &Request { path: rest, ..*r });
    }
    if r.path.starts_with("/v1/customers/") {
        return partner_center::serve(state, r.method, r.path, r.headers, r.body);
    }
    let segments: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
    let base = state.authority();
    if let Some(answer) = idp::route(state, &base, r.method, &segments, r.query, r.body) {
        return answer;
    }
    match (r.method, segments.as_slice()) {
        ("POST", [tenant, "oauth2", "v2.0", "token"]) => token::token(state, tenant, r.body, false),
        ("POST", [tenant, "oauth2", "token"]) => token::token(state, tenant, r.body, true),
        _ => Answer::json(404, json!({"error": "not_found"})),
    }
}
