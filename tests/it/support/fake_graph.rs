//! A stateful fake of Microsoft's side on 127.0.0.1: the identity platform's token endpoints
//! (v2 with `scope`, v1 with `resource`), Microsoft Graph v1.0 (users, usage location,
//! subscribedSkus, assignLicense, role assignments, `$batch`) and Partner Center's
//! subscription resource (in `fake_partner_center.rs`).
//!
//! It follows shared/reference/graph_licensing.md: real JSON shapes, real error bodies and
//! status codes, `@odata.context`, `innerError` with a `request-id`, `$select` honoured,
//! `%23` in guest UPNs decoded, `usageLocation: null` when unset, consumedUnits counted from
//! assignments, assignLicense's checks in the reference's §13.6 order, `$batch` rules. It is a
//! model of Microsoft, not of our client.
//!
//! Tests steer it: [`Fault`]s (429 with `Retry-After`, 503, slow answers, dropped
//! connections, Partner Center throttling and orders in progress), token expiry, read-back
//! lag, and holds that keep an answer back until released. Every request is recorded.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::fake_partner_center::{self, Subscription};

/// Power BI Pro's SKU id.
pub const PRO_SKU: &str = "f8a1db68-be16-40ed-86d5-cb42ce701560";
/// Microsoft 365 E5's SKU id.
pub const E5_SKU: &str = "06ebc4ee-1bb5-47dd-8120-11324bc54e06";
/// Power BI Premium Per User's SKU id.
pub const PPU_SKU: &str = "c1d032e0-5619-4761-9b5c-75b6831e1711";
/// A SKU whose plan cannot be combined with Pro's (for the mutually-exclusive error).
pub const EXCLUSIVE_SKU: &str = "9a1f2b3c-0000-4000-8000-00000000e001";
/// The BI_AZURE_P2 service plan (Power BI Pro).
pub const PLAN_PRO: &str = "70d33638-9c74-4d01-bfd3-562de28bd4ba";
const PLAN_EXCHANGE_FOUNDATION: &str = "113feb6c-3fe4-4440-bddc-54d774bf0318";
const PLAN_PPU: &str = "0bf3c642-7bb5-4ccc-884e-59d09df0266c";
const PLAN_EXCLUSIVE: &str = "9a1f2b3c-0000-4000-8000-0000000e0e01";

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

const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const PC_RESOURCE: &str = "https://api.partnercenter.microsoft.com";

/// A SKU of the tenant.
#[derive(Debug, Clone)]
pub struct FakeSku {
    /// GUID.
    pub sku_id: String,
    /// e.g. `POWER_BI_PRO`.
    pub part: String,
    /// `prepaidUnits.enabled`.
    pub enabled: i64,
    /// `(servicePlanId, servicePlanName)`.
    pub plans: Vec<(String, String)>,
}

/// One of a user's `assignedLicenses`.
#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    /// SKU GUID.
    pub sku_id: String,
    /// Disabled service plan ids.
    pub disabled_plans: Vec<String>,
    /// The group it is inherited from, if any.
    pub by_group: Option<String>,
}

impl Assigned {
    /// A direct assignment with every plan on.
    pub fn direct(sku_id: &str) -> Assigned {
        Assigned {
            sku_id: sku_id.to_string(),
            disabled_plans: Vec::new(),
            by_group: None,
        }
    }
}

/// A directory user.
#[derive(Debug, Clone)]
pub struct FakeUser {
    /// Object id.
    pub id: String,
    /// UPN as created (Graph matches it case-insensitively).
    pub upn: String,
    /// Display name.
    pub display_name: String,
    /// None when unset (Graph returns `null`).
    pub usage_location: Option<String>,
    /// `Member` or `Guest`.
    pub user_type: String,
    /// Whether sign-in is allowed.
    pub account_enabled: bool,
    /// Licences.
    pub licenses: Vec<Assigned>,
    /// What reads still see while a change is not yet visible: (old licences, reads left).
    stale: Option<(Vec<Assigned>, u32)>,
}

impl FakeUser {
    /// The licences a read sees now: the old ones while a change is not visible yet (each
    /// read uses up one of the lagging reads).
    fn visible_licences(&mut self) -> Vec<Assigned> {
        match self.stale.as_mut() {
            Some((old, left)) if *left > 0 => {
                *left -= 1;
                old.clone()
            }
            _ => {
                self.stale = None;
                self.licenses.clone()
            }
        }
    }

    /// A member in NL without licences.
    pub fn member(upn: &str, name: &str) -> FakeUser {
        FakeUser {
            id: uuid::Uuid::new_v4().to_string(),
            upn: upn.to_string(),
            display_name: name.to_string(),
            usage_location: Some("NL".into()),
            user_type: "Member".into(),
            account_enabled: true,
            licenses: Vec::new(),
            stale: None,
        }
    }
}

/// A directory role assignment.
#[derive(Debug, Clone)]
pub struct FakeRoleAssignment {
    /// The user's object id.
    pub principal_id: String,
    /// The role template id.
    pub role_definition_id: String,
    /// `/` or `/administrativeUnits/{id}`.
    pub directory_scope_id: String,
}

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

/// A fault for the next `times` matching requests.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Only this method (`GET`, `POST`, `PATCH`), or any.
    pub method: Option<&'static str>,
    /// The path (relative to `/v1.0` inside a `$batch`) must contain this.
    pub path_contains: String,
    /// How many requests it hits.
    pub times: u32,
    /// Whether it hits `$batch` items instead of whole HTTP requests.
    pub in_batch: bool,
    /// Only requests whose body contains this (a `$batch` with `assignLicense`), or any.
    pub body_contains: Option<String>,
    /// What it does.
    pub kind: FaultKind,
}

impl Fault {
    /// A fault on whole HTTP requests.
    pub fn on(method: &'static str, path_contains: &str, times: u32, kind: FaultKind) -> Fault {
        Fault {
            method: Some(method),
            path_contains: path_contains.to_string(),
            times,
            in_batch: false,
            body_contains: None,
            kind,
        }
    }

    /// The same fault, only for requests whose body contains `text`.
    pub fn with_body(self, text: &str) -> Fault {
        Fault {
            body_contains: Some(text.to_string()),
            ..self
        }
    }

    /// A fault on `$batch` items.
    pub fn on_batch_item(
        method: &'static str,
        path_contains: &str,
        times: u32,
        kind: FaultKind,
    ) -> Fault {
        Fault {
            in_batch: true,
            ..Fault::on(method, path_contains, times, kind)
        }
    }

    fn matches(&self, method: &str, path: &str, body: &str, in_batch: bool) -> bool {
        self.times > 0
            && self.in_batch == in_batch
            && self.method.is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.contains(&self.path_contains)
            && self
                .body_contains
                .as_ref()
                .is_none_or(|b| body.contains(b.as_str()))
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path, percent-encoded as sent.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Headers of interest, lower-case names.
    pub headers: BTreeMap<String, String>,
    /// The body as text.
    pub body: String,
    /// When it arrived.
    pub at: Instant,
}

impl Recorded {
    /// The body as a form, decoded (token requests).
    pub fn query_pairs_of_body(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The query, decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Audience {
    Graph,
    PartnerCenter,
}

/// Everything the fake knows.
#[derive(Debug)]
pub struct State {
    /// SKUs.
    pub skus: Vec<FakeSku>,
    /// Users.
    pub users: Vec<FakeUser>,
    /// Role assignments.
    pub role_assignments: Vec<FakeRoleAssignment>,
    /// Pairs of SKU ids that cannot both be held.
    pub exclusive: Vec<(String, String)>,
    /// Reads of a user that still show the old licences after a change.
    pub readback_lag: u32,
    /// `expires_in` of new tokens, in seconds.
    pub token_lifetime: u64,
    /// The CSP subscription.
    pub subscription: Subscription,
    /// Partner Center answers by `MS-RequestId`: (status, body, Location).
    pub idempotency: HashMap<String, (u16, Value, Option<String>)>,
    /// Every quantity change made: (from, to).
    pub quantity_changes: Vec<(i64, i64)>,
    tokens: HashMap<String, Audience>,
    tokens_issued: u32,
    faults: Vec<Fault>,
    /// Every request received, in order.
    pub requests: Vec<Recorded>,
    /// Every `$batch` item received, in order (path with `/v1.0`, the item's body).
    pub batch_items: Vec<Recorded>,
    /// Graph's base URL as the fake serves it, for `@odata.nextLink`.
    graph_base: String,
    /// Every mail accepted by `sendMail`: (sender, the request body).
    pub mails: Vec<(String, Value)>,
    /// The identity platform's sign-in state.
    pub idp: super::fake_idp::IdpState,
}

struct Hold {
    method: &'static str,
    path_contains: String,
    body_contains: Option<String>,
    armed: bool,
    released: tokio::sync::watch::Sender<bool>,
}

struct Shared {
    state: Mutex<State>,
    holds: Mutex<Vec<Hold>>,
}

/// A handle on a hold set with [`FakeMicrosoft::hold`].
#[derive(Debug, Clone, Copy)]
pub struct HoldId(usize);

/// The running fake.
pub struct FakeMicrosoft {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
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

fn now_stamp() -> String {
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

impl Default for State {
    /// The test tenant of tests/it/support/tenant.toml, as Microsoft would hold it.
    fn default() -> State {
        let skus = vec![
            FakeSku {
                sku_id: PRO_SKU.into(),
                part: "POWER_BI_PRO".into(),
                enabled: 1,
                plans: vec![
                    (
                        PLAN_EXCHANGE_FOUNDATION.into(),
                        "EXCHANGE_S_FOUNDATION".into(),
                    ),
                    (PLAN_PRO.into(), "BI_AZURE_P2".into()),
                ],
            },
            FakeSku {
                sku_id: E5_SKU.into(),
                part: "SPE_E5".into(),
                enabled: 5,
                plans: vec![
                    (
                        "efb87545-963c-4e0d-99df-69c6916d9eb0".into(),
                        "EXCHANGE_S_ENTERPRISE".into(),
                    ),
                    (
                        "57ff2da0-773e-42df-b2af-ffb7a2317929".into(),
                        "TEAMS1".into(),
                    ),
                    (PLAN_PRO.into(), "BI_AZURE_P2".into()),
                ],
            },
            FakeSku {
                sku_id: PPU_SKU.into(),
                part: "PBI_PREMIUM_PER_USER".into(),
                enabled: 2,
                plans: vec![
                    (
                        PLAN_EXCHANGE_FOUNDATION.into(),
                        "EXCHANGE_S_FOUNDATION".into(),
                    ),
                    (PLAN_PPU.into(), "BI_AZURE_P3".into()),
                    (PLAN_PRO.into(), "BI_AZURE_P2".into()),
                ],
            },
            FakeSku {
                sku_id: EXCLUSIVE_SKU.into(),
                part: "CONTOSO_EXCLUSIVE_ADDON".into(),
                enabled: 5,
                plans: vec![(PLAN_EXCLUSIVE.into(), "CONTOSO_EXCLUSIVE".into())],
            },
        ];
        let users = vec![
            FakeUser::member("alice@contoso.example", "Alice Jansen"),
            FakeUser::member("judy@contoso.example", "Judy Bakker"),
            FakeUser {
                usage_location: Some("BE".into()),
                ..FakeUser::member("kim@contoso.example", "Kim de Wit")
            },
            FakeUser {
                usage_location: None,
                ..FakeUser::member("ivan@contoso.example", "Ivan Smit")
            },
            FakeUser {
                licenses: vec![Assigned::direct(E5_SKU)],
                ..FakeUser::member("frank@contoso.example", "Frank Visser")
            },
            FakeUser {
                licenses: vec![Assigned {
                    disabled_plans: vec![PLAN_PRO.into()],
                    ..Assigned::direct(E5_SKU)
                }],
                ..FakeUser::member("olga@contoso.example", "Olga (E5 without Power BI)")
            },
            FakeUser {
                user_type: "Guest".into(),
                ..FakeUser::member(
                    "grace_fabrikam.example#EXT#@contoso.example",
                    "Grace (Fabrikam)",
                )
            },
            FakeUser {
                account_enabled: false,
                ..FakeUser::member("heidi@contoso.example", "Heidi Mulder")
            },
            FakeUser {
                licenses: vec![Assigned::direct(EXCLUSIVE_SKU)],
                ..FakeUser::member("xavier@contoso.example", "Xavier (exclusive add-on)")
            },
            FakeUser {
                licenses: vec![Assigned {
                    by_group: Some("0f0f0f0f-1111-4222-8333-444455556666".into()),
                    ..Assigned::direct(PRO_SKU)
                }],
                ..FakeUser::member("gina@contoso.example", "Gina (Pro from a group)")
            },
            FakeUser::member("bob@contoso.example", "Bob Billing"),
            FakeUser::member("carol@contoso.example", "Carol Licence"),
            FakeUser::member("dave@contoso.example", "Dave Global"),
            FakeUser::member("uma@contoso.example", "Uma (scoped admin)"),
            // The bot's own mailbox: proof codes are sent as this user.
            FakeUser::member("licensebot@contoso.example", "Licence bot"),
        ];
        let id = |upn: &str| {
            users
                .iter()
                .find(|u| u.upn == upn)
                .map(|u| u.id.clone())
                .unwrap_or_default()
        };
        let role = |upn: &str, template: &str, scope: &str| FakeRoleAssignment {
            principal_id: id(upn),
            role_definition_id: template.into(),
            directory_scope_id: scope.into(),
        };
        let role_assignments = vec![
            role(
                "bob@contoso.example",
                "b0f54661-2d74-4c50-afa3-1ec803f12efe",
                "/",
            ),
            role(
                "carol@contoso.example",
                "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
                "/",
            ),
            // Global Reader too: not a licensing role, ignored.
            role(
                "carol@contoso.example",
                "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
                "/",
            ),
            role(
                "dave@contoso.example",
                "62e90394-69f5-4237-9190-012177145e10",
                "/",
            ),
            role(
                "uma@contoso.example",
                "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
                "/administrativeUnits/2d2d2d2d-1111-4222-8333-444455556666",
            ),
        ];
        let mut state = State {
            skus,
            users,
            role_assignments,
            exclusive: vec![(PRO_SKU.into(), EXCLUSIVE_SKU.into())],
            readback_lag: 0,
            token_lifetime: 3599,
            subscription: Subscription::new(SUBSCRIPTION_ID, 1),
            idempotency: HashMap::new(),
            quantity_changes: Vec::new(),
            tokens: HashMap::new(),
            tokens_issued: 0,
            faults: Vec::new(),
            mails: Vec::new(),
            idp: Default::default(),
            requests: Vec::new(),
            batch_items: Vec::new(),
            graph_base: "https://graph.microsoft.com/v1.0".into(),
        };
        // Gina's inherited seat plus the one free seat: Pro has 2 bought.
        state.sku_mut(PRO_SKU).enabled = 2;
        state.subscription.quantity = 2;
        state
    }
}

impl State {
    fn sku_mut(&mut self, sku_id: &str) -> &mut FakeSku {
        self.skus
            .iter_mut()
            .find(|s| s.sku_id == sku_id)
            .expect("known sku")
    }

    /// Assigned units of a SKU, counted from the users.
    pub fn consumed(&self, sku_id: &str) -> i64 {
        self.users
            .iter()
            .filter(|u| u.licenses.iter().any(|l| l.sku_id == sku_id))
            .count() as i64
    }

    /// Sets the enabled units of a SKU by part number.
    pub fn set_enabled(&mut self, part: &str, enabled: i64) {
        if let Some(s) = self.skus.iter_mut().find(|s| s.part == part) {
            s.enabled = enabled;
        }
        if part == "POWER_BI_PRO" {
            self.subscription.quantity = enabled;
        }
    }

    /// The user with this UPN or id.
    pub fn user(&self, key: &str) -> Option<&FakeUser> {
        self.users
            .iter()
            .find(|u| u.id.eq_ignore_ascii_case(key) || u.upn.eq_ignore_ascii_case(key))
    }

    fn user_index(&self, key: &str) -> Option<usize> {
        self.users
            .iter()
            .position(|u| u.id.eq_ignore_ascii_case(key) || u.upn.eq_ignore_ascii_case(key))
    }

    /// Takes one use of the first matching fault.
    fn take_fault(
        &mut self,
        method: &str,
        path: &str,
        body: &str,
        in_batch: bool,
    ) -> Option<FaultKind> {
        let f = self
            .faults
            .iter_mut()
            .find(|f| f.matches(method, path, body, in_batch))?;
        f.times -= 1;
        Some(f.kind.clone())
    }

    fn issue_token(&mut self, audience: Audience) -> String {
        self.tokens_issued += 1;
        let token = format!(
            "eyJ0eXAiOiJKV1QifQ.fake-{}-{}",
            self.tokens_issued,
            uuid::Uuid::new_v4().simple()
        );
        self.tokens.insert(token.clone(), audience);
        token
    }

    fn authorised(&self, headers: &HeaderMap, audience: Audience) -> bool {
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|t| self.tokens.get(t))
            .is_some_and(|a| *a == audience)
    }
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
            holds: Mutex::new(Vec::new()),
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
        self.state().requests.clone()
    }

    /// Requests with this method whose path contains `path_contains`.
    pub fn count(&self, method: &str, path_contains: &str) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|r| r.method == method && r.path.contains(path_contains))
            .count()
    }

    /// Graph operations with this method whose path contains `path_contains`, whether sent
    /// alone or inside a `$batch`.
    pub fn ops(&self, method: &str, path_contains: &str) -> usize {
        let state = self.state();
        state
            .requests
            .iter()
            .chain(state.batch_items.iter())
            .filter(|r| r.method == method && r.path.contains(path_contains))
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

    /// Part numbers of the SKUs a user holds now.
    pub fn licences_of(&self, upn: &str) -> Vec<String> {
        let state = self.state();
        let Some(user) = state.user(upn) else {
            return Vec::new();
        };
        user.licenses
            .iter()
            .filter_map(|l| state.skus.iter().find(|s| s.sku_id == l.sku_id))
            .map(|s| s.part.clone())
            .collect()
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
        let (released, _) = tokio::sync::watch::channel(false);
        let mut holds = self.shared.holds.lock().expect("holds");
        holds.push(Hold {
            method,
            path_contains: path_contains.to_string(),
            body_contains: body_contains.map(str::to_string),
            armed: true,
            released,
        });
        HoldId(holds.len() - 1)
    }

    /// Whether a held answer is being kept back (a request matched the hold).
    pub fn holding(&self, id: HoldId) -> bool {
        !self.shared.holds.lock().expect("holds")[id.0].armed
    }

    /// Lets a held answer go.
    pub fn release(&self, id: HoldId) {
        let holds = self.shared.holds.lock().expect("holds");
        holds[id.0].released.send_replace(true);
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
            for h in holds.iter() {
                h.released.send_replace(true);
            }
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

async fn handle(
    shared: Arc<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let crid = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let fault = {
        let mut state = shared.state.lock().expect("fake state");
        state.requests.push(Recorded {
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            headers: RECORDED_HEADERS
                .iter()
                .filter_map(|h| {
                    headers
                        .get(*h)
                        .and_then(|v| v.to_str().ok())
                        .map(|v| (h.to_string(), v.to_string()))
                })
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
        });
        state.take_fault(
            method.as_str(),
            &path,
            &String::from_utf8_lossy(&body),
            false,
        )
    };
    let mut drop_connection = false;
    if let Some(kind) = fault {
        let early = match kind {
            FaultKind::Throttle(ra) => Some(throttled(&ra, &crid)),
            FaultKind::Unavailable(ra) => {
                let mut a = graph_error(
                    503,
                    "ServiceUnavailable",
                    "The service is temporarily unavailable.",
                    &crid,
                );
                if let Some(ra) = ra {
                    a = a.header("Retry-After", &ra);
                }
                Some(a)
            }
            FaultKind::GatewayTimeout => Some(graph_error(
                504,
                "GatewayTimeout",
                "The gateway did not receive a response in time.",
                &crid,
            )),
            FaultKind::ServerError => Some(graph_error(
                500,
                "InternalServerError",
                "An internal server error occurred.",
                &crid,
            )),
            FaultKind::Forbidden => Some(graph_error(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
                &crid,
            )),
            FaultKind::PcThrottle(ra) => Some(
                Answer::json(
                    429,
                    json!({"statusCode": 429, "message": format!("Rate limit is exceeded. Try again in {ra} seconds.")}),
                )
                .header("Retry-After", &ra),
            ),
            FaultKind::PcOrderInProgress => Some(fake_partner_center::error(
                409,
                800060,
                "Your order is in progress. Please check your order history for recent orders in few minutes",
            )),
            FaultKind::Slow(d) => {
                tokio::time::sleep(d).await;
                None
            }
            FaultKind::Drop => {
                drop_connection = true;
                None
            }
        };
        if let Some(a) = early {
            return respond(a, &crid);
        }
    }
    let answer = {
        let mut state = shared.state.lock().expect("fake state");
        route(&mut state, &method, &path, &query, &headers, &body, &crid)
    };
    let hold = {
        let mut holds = shared.holds.lock().expect("holds");
        holds
            .iter_mut()
            .find(|h| {
                h.armed
                    && h.method.eq_ignore_ascii_case(method.as_str())
                    && path.contains(&h.path_contains)
                    && h.body_contains
                        .as_ref()
                        .is_none_or(|b| String::from_utf8_lossy(&body).contains(b.as_str()))
            })
            .map(|h| {
                h.armed = false;
                h.released.subscribe()
            })
    };
    if let Some(mut released) = hold {
        if released.wait_for(|r| *r).await.is_err() {
            eprintln!("fake Microsoft: a hold was dropped");
        }
    }
    if drop_connection {
        let stream = futures_util::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped by the fake"))
        });
        return Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("content-length", "512")
            .body(Body::from_stream(stream))
            .expect("response");
    }
    respond(answer, &crid)
}

fn respond(answer: Answer, crid: &str) -> Response {
    let mut builder = Response::builder().status(answer.status);
    let mut has_request_id = false;
    for (k, v) in &answer.headers {
        has_request_id |= k.eq_ignore_ascii_case("request-id");
        builder = builder.header(k.as_str(), v.as_str());
    }
    if !has_request_id {
        builder = builder.header("request-id", uuid::Uuid::new_v4().to_string());
    }
    if !crid.is_empty() {
        builder = builder.header("client-request-id", crid);
    }
    if let Some(page) = answer.html {
        return builder
            .header("content-type", "text/html; charset=utf-8")
            .body(Body::from(page))
            .expect("response");
    }
    match answer.body {
        Some(body) => builder
            .header("content-type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
            .body(Body::from(body.to_string()))
            .expect("response"),
        None => builder.body(Body::empty()).expect("response"),
    }
}

fn route(
    state: &mut State,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    crid: &str,
) -> Answer {
    if let Some(rest) = path.strip_prefix("/v1.0") {
        if !state.authorised(headers, Audience::Graph) {
            let message = if headers.contains_key("authorization") {
                "Access token has expired or is not yet valid."
            } else {
                "Access token is empty."
            };
            return graph_error(401, "InvalidAuthenticationToken", message, crid);
        }
        if rest == "/$batch" && method == Method::POST {
            return batch(state, body, crid);
        }
        return graph(state, method.as_str(), rest, query, body, crid);
    }
    if path.starts_with("/v1/customers/") {
        if !state.authorised(headers, Audience::PartnerCenter) {
            return fake_partner_center::error(
                401,
                800001,
                "Partner Token missing in request context",
            );
        }
        return fake_partner_center::handle(state, method.as_str(), path, headers, body);
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let base = state.graph_base.trim_end_matches("/v1.0").to_string();
    if let Some(answer) =
        super::fake_idp::route(state, &base, method.as_str(), &segments, query, body)
    {
        return answer;
    }
    match (method.as_str(), segments.as_slice()) {
        ("POST", [tenant, "oauth2", "v2.0", "token"]) => token(state, tenant, body, false),
        ("POST", [tenant, "oauth2", "token"]) => token(state, tenant, body, true),
        _ => Answer::json(404, json!({"error": "not_found"})),
    }
}

fn token_error(status: u16, error: &str, code: u32, description: &str) -> Answer {
    let trace = uuid::Uuid::new_v4();
    let correlation = uuid::Uuid::new_v4();
    Answer::json(
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {}", now_stamp()),
            "error_codes": [code],
            "timestamp": now_stamp(),
            "trace_id": trace.to_string(),
            "correlation_id": correlation.to_string(),
        }),
    )
}

fn token(state: &mut State, tenant: &str, body: &[u8], v1: bool) -> Answer {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if !v1 && field("grant_type") == "authorization_code" && tenant.eq_ignore_ascii_case(TENANT_ID)
    {
        let base = state.graph_base.trim_end_matches("/v1.0").to_string();
        return super::fake_idp::redeem(state, &base, body);
    }
    if field("grant_type") != "client_credentials" {
        return token_error(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let (want_tenant, want_client, want_secret, audience) = if v1 {
        (
            PC_TENANT_ID,
            PC_CLIENT_ID,
            PC_CLIENT_SECRET,
            Audience::PartnerCenter,
        )
    } else {
        (TENANT_ID, CLIENT_ID, CLIENT_SECRET, Audience::Graph)
    };
    if !tenant.eq_ignore_ascii_case(want_tenant) {
        return token_error(
            400,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found."),
        );
    }
    if v1 {
        if field("resource") != PC_RESOURCE {
            return token_error(
                400,
                "invalid_resource",
                500011,
                "The resource principal was not found in the tenant.",
            );
        }
    } else if !field("scope").ends_with("/.default") || field("scope") != GRAPH_SCOPE {
        return token_error(400, "invalid_scope", 70011, &format!("The provided value for the input parameter 'scope' is not valid. The scope {} is not valid.", field("scope")));
    }
    if field("client_id") != want_client {
        return token_error(
            400,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{}' was not found in the directory.",
                field("client_id")
            ),
        );
    }
    if field("client_secret") != want_secret {
        return token_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.");
    }
    let token = state.issue_token(audience);
    let lifetime = state.token_lifetime;
    if v1 {
        let now = chrono::Utc::now().timestamp();
        Answer::json(
            200,
            json!({"token_type": "Bearer", "expires_in": lifetime.to_string(),
            "ext_expires_in": lifetime.to_string(), "expires_on": (now + lifetime as i64).to_string(),
            "not_before": now.to_string(), "resource": PC_RESOURCE, "access_token": token}),
        )
    } else {
        Answer::json(
            200,
            json!({"token_type": "Bearer", "expires_in": lifetime,
            "ext_expires_in": lifetime, "access_token": token}),
        )
    }
}

/// Decodes a path segment (`%23` in guest UPNs).
fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

fn query_map(query: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

const USER_DEFAULT: [&str; 11] = [
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

/// `POST /users/{id|upn}/sendMail` (graph_groups_identity.md §3): the sender must be a user
/// with a mailbox (else 404 `ErrorInvalidUser`); the body a `message` with a `Text` or `HTML`
/// body and at least one recipient address, `saveToSentItems` a JSON bool when present (else
/// 400). Accepted mail is kept; the answer is 202 with no body.
fn send_mail(state: &mut State, key: &str, body: &[u8], crid: &str) -> Answer {
    let sender = match state.user_index(key) {
        Some(i) if state.users[i].user_type != "Guest" => state.users[i].upn.clone(),
        _ => {
            return graph_error(
                404,
                "ErrorInvalidUser",
                &format!("The requested user '{key}' is invalid."),
                crid,
            )
        }
    };
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return graph_error(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", crid);
    };
    let message = &request["message"];
    let content_type_ok = matches!(
        message["body"]["contentType"].as_str(),
        Some(t) if t.eq_ignore_ascii_case("Text") || t.eq_ignore_ascii_case("HTML")
    );
    let recipients_ok = message["toRecipients"].as_array().is_some_and(|r| {
        !r.is_empty()
            && r.iter().all(|x| {
                x["emailAddress"]["address"]
                    .as_str()
                    .is_some_and(|a| a.contains('@'))
            })
    });
    let save_ok = request
        .get("saveToSentItems")
        .is_none_or(|v| v.is_boolean());
    if !message.is_object() || !content_type_ok || !recipients_ok || !save_ok {
        return graph_error(
            400,
            "ErrorInvalidRequest",
            "The request is invalid: message, its body and recipients are required.",
            crid,
        );
    }
    state.mails.push((sender, request));
    Answer::empty(202)
}

fn licence_json(l: &Assigned) -> Value {
    json!({"disabledPlans": l.disabled_plans, "skuId": l.sku_id})
}

fn user_json(user: &FakeUser, licences: &[Assigned], select: Option<&str>) -> Value {
    let (given, surname) = user
        .display_name
        .split_once(' ')
        .map_or((user.display_name.as_str(), ""), |(g, s)| (g, s));
    let all: Map<String, Value> = json!({
        "businessPhones": [],
        "displayName": user.display_name,
        "givenName": given,
        "id": user.id,
        "jobTitle": null,
        "mail": if user.user_type == "Guest" { Value::Null } else { Value::from(user.upn.clone()) },
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": null,
        "surname": surname,
        "userPrincipalName": user.upn,
        "usageLocation": user.usage_location,
        "userType": user.user_type,
        "accountEnabled": user.account_enabled,
        "assignedLicenses": licences.iter().map(licence_json).collect::<Vec<_>>(),
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    let (context, keys): (String, Vec<String>) = match select {
        Some(sel) => {
            let keys: Vec<String> = sel.split(',').map(|s| s.trim().to_string()).collect();
            (
                format!(
                    "https://graph.microsoft.com/v1.0/$metadata#users({})/$entity",
                    keys.join(",")
                ),
                keys,
            )
        }
        None => (
            "https://graph.microsoft.com/v1.0/$metadata#users/$entity".to_string(),
            USER_DEFAULT.iter().map(|s| s.to_string()).collect(),
        ),
    };
    let mut out = Map::new();
    out.insert("@odata.context".into(), Value::from(context));
    for k in keys {
        if let Some(v) = all.get(&k) {
            out.insert(k, v.clone());
        }
    }
    Value::Object(out)
}

/// The user key of `/users/{key}` or `/users('{key}')`.
fn user_key(segment: &str) -> String {
    let s = decode(segment);
    match s.strip_prefix("('").and_then(|r| r.strip_suffix("')")) {
        Some(inner) => inner.to_string(),
        None => s,
    }
}

fn not_found(key: &str, crid: &str) -> Answer {
    graph_error(
        404,
        "Request_ResourceNotFound",
        &format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."),
        crid,
    )
}

/// One Graph request (also a `$batch` item); `path` is relative to `/v1.0`.
pub(crate) fn graph(
    state: &mut State,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
    crid: &str,
) -> Answer {
    let q = query_map(query);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["subscribedSkus"]) => {
            if q.contains_key("$filter") {
                return graph_error(400, "Request_UnsupportedQuery", "Unsupported Query.", crid);
            }
            let select: Option<Vec<String>> = q
                .get("$select")
                .map(|s| s.split(',').map(|k| k.trim().to_string()).collect());
            let value: Vec<Value> = state
                .skus
                .iter()
                .map(|s| {
                    let full = json!({
                        "accountName": "Contoso", "accountId": "f97aeefc-af85-414d-8ae4-b457f90efc40",
                        "appliesTo": "User", "capabilityStatus": if s.enabled > 0 { "Enabled" } else { "Suspended" },
                        "consumedUnits": state.consumed(&s.sku_id),
                        "id": format!("{TENANT_ID}_{}", s.sku_id),
                        "prepaidUnits": {"enabled": s.enabled, "lockedOut": 0, "suspended": 0, "warning": 0},
                        "servicePlans": s.plans.iter().map(|(id, name)| json!({"servicePlanId": id, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User"})).collect::<Vec<_>>(),
                        "skuId": s.sku_id, "skuPartNumber": s.part,
                        "subscriptionIds": [SUBSCRIPTION_ID],
                    });
                    match &select {
                        Some(keys) => Value::Object(
                            full.as_object()
                                .map(|m| m.iter().filter(|(k, _)| keys.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect())
                                .unwrap_or_default(),
                        ),
                        None => full,
                    }
                })
                .collect();
            Answer::json(
                200,
                json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscribedSkus", "value": value}),
            )
        }
        ("GET", ["users"]) => list_users(state, &q, crid),
        ("GET", ["users", key]) => {
            let key = user_key(key);
            let Some(i) = state.user_index(&key) else {
                return not_found(&key, crid);
            };
            let user = &mut state.users[i];
            let licences = user.visible_licences();
            Answer::json(
                200,
                user_json(user, &licences, q.get("$select").map(String::as_str)),
            )
        }
        ("PATCH", ["users", key]) => {
            let key = user_key(key);
            let Some(i) = state.user_index(&key) else {
                return not_found(&key, crid);
            };
            let Ok(Value::Object(changes)) = serde_json::from_slice::<Value>(body) else {
                return graph_error(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", crid);
            };
            if let Some(loc) = changes.get("usageLocation") {
                let ok = loc
                    .as_str()
                    .is_some_and(|s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()));
                if !ok {
                    return graph_error(
                        400,
                        "Request_BadRequest",
                        "Invalid value specified for property 'usageLocation' of resource 'User'.",
                        crid,
                    );
                }
                state.users[i].usage_location = loc.as_str().map(str::to_string);
            }
            Answer::empty(204)
        }
        ("POST", ["users", key, "assignLicense"]) => {
            assign_license(state, &user_key(key), body, crid)
        }
        ("POST", ["users", key, "sendMail"]) => send_mail(state, &user_key(key), body, crid),
        ("GET", ["roleManagement", "directory", "roleAssignments"]) => {
            let principal = match q.get("$filter") {
                None => None,
                Some(f) => {
                    let parsed = f
                        .strip_prefix("principalId eq '")
                        .and_then(|r| r.strip_suffix('\''));
                    match parsed {
                        Some(p) => Some(p.to_string()),
                        None => return graph_error(400, "Request_UnsupportedQuery", &format!("Unsupported or invalid query filter clause specified for property 'principalId' of resource 'UnifiedRoleAssignment': {f}"), crid),
                    }
                }
            };
            let value: Vec<Value> = state
                .role_assignments
                .iter()
                .filter(|a| principal.as_deref().is_none_or(|p| a.principal_id.eq_ignore_ascii_case(p)))
                .map(|a| json!({"id": format!("{}-{}", a.role_definition_id, a.principal_id), "principalId": a.principal_id,
                    "resourceScope": a.directory_scope_id, "directoryScopeId": a.directory_scope_id, "roleDefinitionId": a.role_definition_id}))
                .collect();
            Answer::json(
                200,
                json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignments", "value": value}),
            )
        }
        _ => graph_error(
            400,
            "BadRequest",
            &format!(
                "Resource not found for the segment '{}'.",
                segments.last().copied().unwrap_or("")
            ),
            crid,
        ),
    }
}

/// Graph's default page size of the users list, and the largest `$top` it accepts.
const USERS_PAGE: usize = 100;
const USERS_TOP_MAX: usize = 999;
/// Values Graph accepts in one `in` filter by default (known issues: "limited to 15
/// expressions in the filter clause by default").
const IN_LIMIT: usize = 15;

/// One OData string literal at the start of `s` (`''` is a quote inside); the value and the
/// rest.
fn odata_literal(s: &str) -> Option<(String, &str)> {
    let mut rest = s.trim_start().strip_prefix('\'')?;
    let mut value = String::new();
    loop {
        let at = rest.find('\'')?;
        value.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        match rest.strip_prefix('\'') {
            Some(after) => {
                value.push('\'');
                rest = after;
            }
            None => return Some((value, rest)),
        }
    }
}

/// The UPNs of `userPrincipalName eq '…'` or `userPrincipalName in ('…', …)`, the filters
/// the users list supports by default on that property; `None` for anything else.
fn upn_filter(filter: &str) -> Option<Vec<String>> {
    let rest = filter.trim().strip_prefix("userPrincipalName")?;
    let rest = rest.trim_start();
    if let Some(rest) = rest.strip_prefix("eq ") {
        let (value, tail) = odata_literal(rest)?;
        return tail.trim().is_empty().then_some(vec![value]);
    }
    let mut rest = rest.strip_prefix("in")?.trim_start().strip_prefix('(')?;
    let mut values = Vec::new();
    loop {
        let (value, tail) = odata_literal(rest)?;
        values.push(value);
        let tail = tail.trim_start();
        if let Some(after) = tail.strip_prefix(',') {
            rest = after;
        } else {
            let end = tail.strip_prefix(')')?;
            return end.trim().is_empty().then_some(values);
        }
    }
}

/// `GET /users`: `$filter` on `userPrincipalName` (`eq`, `in` with at most 15 values),
/// `$select`, `$top` (1–999, default 100) and `@odata.nextLink` paging with `$skiptoken`.
/// Lagging reads apply as to a single user.
fn list_users(state: &mut State, q: &HashMap<String, String>, crid: &str) -> Answer {
    let wanted = match q.get("$filter") {
        None => None,
        Some(f) => match upn_filter(f) {
            Some(values) if values.len() > IN_LIMIT => {
                return graph_error(400, "Request_UnsupportedQuery", &format!("Too many child clauses specified in search filter expression containing 'OR' operators: {}. Max allowed: {IN_LIMIT}.", values.len()), crid);
            }
            Some(values) => Some(values),
            None => {
                return graph_error(400, "Request_UnsupportedQuery", &format!("Unsupported or invalid query filter clause specified for property 'userPrincipalName' of resource 'User': {f}"), crid);
            }
        },
    };
    let page = match q.get("$top") {
        None => USERS_PAGE,
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=USERS_TOP_MAX).contains(&n) => n,
            _ => {
                return graph_error(
                    400,
                    "Request_BadRequest",
                    &format!(
                        "Invalid page size specified: '{t}'. Must be between 1 and 999 inclusive."
                    ),
                    crid,
                )
            }
        },
    };
    let skip = match q.get("$skiptoken") {
        None => 0,
        Some(t) => match t.strip_prefix("o").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => return graph_error(400, "Request_BadRequest", "The specified page token value has expired and can no longer be included in your request.", crid),
        },
    };
    let select = q.get("$select").map(String::as_str);
    let matching: Vec<usize> = (0..state.users.len())
        .filter(|&i| {
            wanted.as_ref().is_none_or(|w| {
                w.iter()
                    .any(|upn| upn.eq_ignore_ascii_case(&state.users[i].upn))
            })
        })
        .collect();
    let mut value = Vec::new();
    for &i in matching.iter().skip(skip).take(page) {
        let user = &mut state.users[i];
        let licences = user.visible_licences();
        let mut item = user_json(user, &licences, select);
        if let Some(o) = item.as_object_mut() {
            o.remove("@odata.context");
        }
        value.push(item);
    }
    let context = match select {
        Some(sel) => format!("https://graph.microsoft.com/v1.0/$metadata#users({sel})"),
        None => "https://graph.microsoft.com/v1.0/$metadata#users".to_string(),
    };
    let mut body = json!({"@odata.context": context, "value": value});
    if matching.len() > skip + page {
        let mut next: Vec<(String, String)> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "$skiptoken")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        next.push(("$skiptoken".into(), format!("o{}", skip + page)));
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(next)
            .finish();
        body["@odata.nextLink"] = Value::from(format!("{}/users?{query}", state.graph_base));
    }
    Answer::json(200, body)
}

/// assignLicense with the reference's checks in its §13.6 order. Adding a SKU the user
/// already holds is a 200 no-op (the reference leaves it open; this fake picks that).
fn assign_license(state: &mut State, key: &str, body: &[u8], crid: &str) -> Answer {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let missing: Vec<&str> = ["addLicenses", "removeLicenses"]
        .into_iter()
        .filter(|k| parsed.get(*k).is_none())
        .collect();
    if !missing.is_empty() {
        return graph_error(400, "Request_BadRequest", &format!("One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: {}.", missing.join(", ")), crid);
    }
    let Some(i) = state.user_index(key) else {
        return not_found(key, crid);
    };
    let adds: Vec<Assigned> = parsed["addLicenses"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|a| Assigned {
            sku_id: a["skuId"].as_str().unwrap_or("").to_lowercase(),
            disabled_plans: a["disabledPlans"]
                .as_array()
                .map(|d| {
                    d.iter()
                        .filter_map(|p| p.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            by_group: None,
        })
        .collect();
    let removes: Vec<String> = parsed["removeLicenses"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| s.as_str().unwrap_or("").to_lowercase())
        .collect();
    for sku in adds.iter().map(|a| &a.sku_id).chain(removes.iter()) {
        if uuid::Uuid::parse_str(sku).is_err() {
            return graph_error(400, "Request_BadRequest", &format!("Cannot convert a primitive value to the expected type 'Edm.Guid'. See the inner exception for more details. ('{sku}')"), crid);
        }
        if !state.skus.iter().any(|s| &s.sku_id == sku) {
            return graph_error(
                400,
                "Request_BadRequest",
                &format!("License {sku} does not correspond to a valid company License."),
                crid,
            );
        }
    }
    let user = &state.users[i];
    let new_adds: Vec<&Assigned> = adds
        .iter()
        .filter(|a| !user.licenses.iter().any(|l| l.sku_id == a.sku_id))
        .collect();
    if !new_adds.is_empty() && user.usage_location.is_none() {
        return graph_error(
            400,
            "Request_BadRequest",
            "License assignment cannot be done for user with invalid usage location.",
            crid,
        );
    }
    for a in &new_adds {
        let sku = state
            .skus
            .iter()
            .find(|s| s.sku_id == a.sku_id)
            .expect("checked");
        if sku.enabled - state.consumed(&a.sku_id) <= 0 {
            return graph_error(
                400,
                "Request_BadRequest",
                &format!(
                    "Subscription with SKU {} does not have any available licenses.",
                    a.sku_id
                ),
                crid,
            );
        }
    }
    for a in &new_adds {
        for (x, y) in &state.exclusive {
            let other = if &a.sku_id == x {
                y
            } else if &a.sku_id == y {
                x
            } else {
                continue;
            };
            if user.licenses.iter().any(|l| &l.sku_id == other) {
                let plan = |sku: &str| {
                    state
                        .skus
                        .iter()
                        .find(|s| s.sku_id == sku)
                        .and_then(|s| s.plans.last())
                        .map(|p| p.0.clone())
                        .unwrap_or_default()
                };
                return graph_error(400, "Request_BadRequest", &format!("License assignment failed because service plans {},{} are mutually exclusive.", plan(&a.sku_id), plan(other)), crid);
            }
        }
    }
    for r in &removes {
        if user
            .licenses
            .iter()
            .any(|l| &l.sku_id == r && l.by_group.is_some())
        {
            return graph_error(400, "Request_BadRequest", "User license is inherited from a group membership and it cannot be removed directly from the user.", crid);
        }
    }
    let lag = state.readback_lag;
    let user = &mut state.users[i];
    let before = user.licenses.clone();
    user.licenses.retain(|l| !removes.contains(&l.sku_id));
    for a in adds {
        if !user.licenses.iter().any(|l| l.sku_id == a.sku_id) {
            user.licenses.push(a);
        }
    }
    if lag > 0 && user.licenses != before {
        user.stale = Some((before, lag));
    }
    let licences = user.licenses.clone();
    let mut reply = user_json(user, &licences, None);
    reply["assignedLicenses"] = Value::from(licences.iter().map(licence_json).collect::<Vec<_>>());
    reply["@odata.context"] =
        Value::from("https://graph.microsoft.com/v1.0/$metadata#users/$entity");
    Answer::json(200, reply)
}

/// `POST /$batch`: at most 20 requests with unique ids; items run in order, `dependsOn`
/// failures give 424, each item gets its own status, headers and body.
fn batch(state: &mut State, body: &[u8], crid: &str) -> Answer {
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return graph_error(400, "BadRequest", "Invalid batch payload format.", crid),
    };
    let Some(requests) = parsed["requests"].as_array() else {
        return graph_error(400, "BadRequest", "Invalid batch payload format.", crid);
    };
    if requests.len() > 20 {
        return graph_error(
            400,
            "BadRequest",
            "The number of batch requests exceeds the limit of 20.",
            crid,
        );
    }
    let mut ids: Vec<String> = Vec::new();
    for r in requests {
        let (Some(id), Some(_), Some(_)) =
            (r["id"].as_str(), r["method"].as_str(), r["url"].as_str())
        else {
            return graph_error(
                400,
                "BadRequest",
                "Invalid batch payload format: each request needs id, method and url.",
                crid,
            );
        };
        if ids.iter().any(|i| i.eq_ignore_ascii_case(id)) {
            return graph_error(
                400,
                "BadRequest",
                &format!("Batch request contains duplicate id '{id}'."),
                crid,
            );
        }
        ids.push(id.to_string());
    }
    let mut statuses: HashMap<String, u16> = HashMap::new();
    let mut responses = Vec::new();
    for r in requests {
        let id = r["id"].as_str().unwrap_or_default().to_string();
        let method = r["method"].as_str().unwrap_or_default().to_uppercase();
        let url = r["url"].as_str().unwrap_or_default();
        let url = if url.starts_with('/') {
            url.to_string()
        } else {
            format!("/{url}")
        };
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        let item_crid = uuid::Uuid::new_v4().to_string();
        state.batch_items.push(Recorded {
            method: method.clone(),
            path: format!("/v1.0{path}"),
            query: query.to_string(),
            headers: BTreeMap::new(),
            body: r.get("body").map(|b| b.to_string()).unwrap_or_default(),
            at: Instant::now(),
        });
        let failed_dependency = r["dependsOn"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|d| statuses.get(d).is_none_or(|s| *s >= 400));
        let answer = if failed_dependency {
            graph_error(424, "BadRequest", "Failed dependency", &item_crid)
        } else if r.get("body").is_some()
            && !r["headers"]
                .as_object()
                .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("content-type")))
        {
            graph_error(
                400,
                "BadRequest",
                &format!("Write request id : {id} does not contain Content-Type header or body."),
                &item_crid,
            )
        } else {
            let item_body = r.get("body").map(|b| b.to_string()).unwrap_or_default();
            match state.take_fault(&method, path, &item_body, true) {
                Some(FaultKind::Throttle(ra)) => throttled(&ra, &item_crid),
                Some(FaultKind::Unavailable(_)) => graph_error(
                    503,
                    "ServiceUnavailable",
                    "The service is temporarily unavailable.",
                    &item_crid,
                ),
                Some(FaultKind::Forbidden) => graph_error(
                    403,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                    &item_crid,
                ),
                _ => {
                    let body = r.get("body").map(|b| b.to_string()).unwrap_or_default();
                    graph(state, &method, path, query, body.as_bytes(), &item_crid)
                }
            }
        };
        statuses.insert(id.clone(), answer.status);
        let mut headers = Map::new();
        headers.insert("Cache-Control".into(), Value::from("no-cache"));
        for (k, v) in &answer.headers {
            headers.insert(k.clone(), Value::from(v.clone()));
        }
        let mut item = json!({"id": id, "status": answer.status, "headers": headers});
        if let Some(b) = answer.body {
            item["headers"]["Content-Type"] = Value::from("application/json");
            item["body"] = b;
        }
        responses.push(item);
    }
    Answer::json(200, json!({"responses": responses}))
}
