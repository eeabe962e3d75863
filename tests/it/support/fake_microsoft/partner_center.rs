//! The Partner Center part of the fake Microsoft server: one CSP customer's subscription,
//! read with GET and changed with PATCH of the full resource, an ETag (`attributes.etag`,
//! checked against `If-Match` and the body), `MS-RequestId` idempotency (the same id gets the
//! same answer and no second change), 202 + `Location` when asked to answer asynchronously,
//! and Partner Center's error envelope `{code, description, data, source: "PartnerFD"}`.
//! Every call must carry `MS-Contract-Version: v1`, which Partner Center's REST headers page
//! marks required; without it the call is refused as invalid input (400, code 800002).
//!
//! Only answers to changes that went through are kept per `MS-RequestId`: the documentation
//! tells clients to reset the id after a business failure, so a failure is not replayed.

use axum::http::HeaderMap;
use serde_json::{json, Value};

use super::answer::Answer;
use super::token::Audience;
use super::{header, State, CUSTOMER_ID, PRO_SKU};

/// The customer's subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Its id.
    pub id: String,
    /// Seats (what reads show).
    pub quantity: i64,
    /// `P1M` or `P1Y`.
    pub term_duration: String,
    /// `monthly` or `annual`.
    pub billing_cycle: String,
    /// `active`, `suspended`, ….
    pub status: String,
    /// Changes the ETag on every change.
    pub etag_version: u32,
    /// The most seats allowed (code 2002 above it).
    pub max_quantity: i64,
    /// Answer changes with 202 + Location; the new quantity shows after this many reads.
    pub async_reads: Option<u32>,
    /// A change accepted with 202 and not yet visible: (new quantity, reads left).
    pub pending: Option<(i64, u32)>,
    /// Whether the new-commerce reduction window is open: Microsoft lets the quantity go
    /// down only within about 7 days after a purchase, renewal or seats added (code 800090
    /// outside it). Adding seats opens it; the subscription starts outside it.
    pub decrease_window_open: bool,
}

impl Subscription {
    /// An active monthly subscription with `quantity` seats.
    pub fn new(id: &str, quantity: i64) -> Subscription {
        Subscription {
            id: id.to_string(),
            quantity,
            term_duration: "P1M".into(),
            billing_cycle: "monthly".into(),
            status: "active".into(),
            decrease_window_open: false,
            etag_version: 1,
            max_quantity: 300,
            async_reads: None,
            pending: None,
        }
    }

    fn etag(&self) -> String {
        format!(
            "W/\"datetime'2025-06-0{}T10:00:00.000Z'\"",
            self.etag_version % 10
        ) + &format!("-{}", self.etag_version)
    }

    fn to_json(&self) -> Value {
        let base = format!("/customers/{CUSTOMER_ID}/subscriptions/{}", self.id);
        json!({
            "id": self.id,
            "offerId": "CFQ7TTC0L3PB:0001:CFQ7TTC0KDFH",
            "offerName": "Power BI Pro",
            "friendlyName": "Power BI Pro",
            "quantity": self.quantity,
            "unitType": "Licenses",
            "hasPurchasableAddons": false,
            "creationDate": "2025-01-15T00:00:00Z",
            "effectiveStartDate": "2025-01-15T00:00:00Z",
            "commitmentEndDate": "2026-01-14T00:00:00Z",
            "status": self.status,
            "autoRenewEnabled": true,
            "isTrial": false,
            "billingType": "license",
            "billingCycle": self.billing_cycle,
            "termDuration": self.term_duration,
            "renewalTermDuration": self.term_duration,
            "contractType": "subscription",
            "orderId": "5cf72f146967",
            "links": {
                "offer": {"uri": "/offers/CFQ7TTC0L3PB:0001:CFQ7TTC0KDFH?country=NL", "method": "GET", "headers": []},
                "entitlement": {"uri": format!("{base}/entitlement"), "method": "GET", "headers": []},
                "self": {"uri": base, "method": "GET", "headers": []}
            },
            "attributes": {"etag": self.etag(), "objectType": "Subscription"}
        })
    }
}

/// Partner Center's error envelope.
pub fn error(status: u16, code: i64, description: &str) -> Answer {
    error_with_data(status, code, description, &[])
}

/// Partner Center's error envelope with details in `data`.
fn error_with_data(status: u16, code: i64, description: &str, data: &[&str]) -> Answer {
    Answer::json(
        status,
        json!({"code": code, "description": description, "data": data, "source": "PartnerFD"}),
    )
}

/// The contract version the fake serves (its routes are all under `/v1`).
const CONTRACT_VERSION: &str = "v1";

/// The refusal of a call without `MS-Contract-Version: v1`. The documentation lists the
/// header as required but not the exact answer to its absence; the fake answers as Partner
/// Center does to other malformed input: 400, code 800002.
fn contract_version_refused(headers: &HeaderMap) -> Option<Answer> {
    let detail = match header(headers, "MS-Contract-Version") {
        Some(v) if v.eq_ignore_ascii_case(CONTRACT_VERSION) => return None,
        Some(_) => "The MS-Contract-Version header must be v1",
        None => "The MS-Contract-Version header is required",
    };
    Some(echo(
        error_with_data(400, 800002, "Invalid request input", &[detail]),
        headers,
    ))
}

/// A field whatever the case of its name.
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn echo(mut a: Answer, headers: &HeaderMap) -> Answer {
    for h in ["MS-RequestId", "MS-CorrelationId"] {
        if let Some(v) = header(headers, h) {
            a = a.header(h, v);
        }
    }
    a.header("MS-CV", "fake.0")
}

fn apply(state: &mut State, to: i64) {
    let from = state.subscription.quantity;
    if to > from {
        state.subscription.decrease_window_open = true;
    }
    state.quantity_changes.push((from, to));
    state.subscription.etag_version += 1;
    match state.subscription.async_reads {
        Some(reads) => state.subscription.pending = Some((to, reads)),
        None => show(state, to),
    }
}

/// The new quantity becomes visible, and Graph's seats follow.
fn show(state: &mut State, quantity: i64) {
    state.subscription.quantity = quantity;
    state.subscription.pending = None;
    if let Some(sku) = state.skus.iter_mut().find(|s| s.sku_id == PRO_SKU) {
        sku.enabled = quantity;
    }
}

/// Partner Center's 409 code 800060, "Your order is in progress".
pub(crate) fn order_in_progress() -> Answer {
    error(
        409,
        800060,
        "Your order is in progress. Please check your order history for recent orders in few minutes",
    )
}

/// `/v1/customers/{customer}/subscriptions/{id}`: a Partner Center token and the contract
/// version are required, the customer and subscription must be known.
pub(crate) fn serve(
    state: &mut State,
    method: &str,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Answer {
    if !state.authorised(headers, Audience::PartnerCenter) {
        return error(401, 800001, "Partner Token missing in request context");
    }
    if let Some(refused) = contract_version_refused(headers) {
        return refused;
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ["v1", "customers", customer, "subscriptions", id] = segments.as_slice() else {
        return error(404, 800002, "Invalid request input");
    };
    if !customer.eq_ignore_ascii_case(CUSTOMER_ID) {
        return error(403, 20002, &format!("The partner id 873452 has no commerce relationship with the customer id {customer}."));
    }
    if !id.eq_ignore_ascii_case(&state.subscription.id) {
        return error(404, 20003, &format!("Subscription with id {id} not found."));
    }
    let answer = match method {
        "GET" => read(state),
        "PATCH" => change(state, headers, body),
        _ => error(405, 800002, "Invalid request input"),
    };
    echo(answer, headers)
}

/// A read; an accepted change becomes visible after its reads.
fn read(state: &mut State) -> Answer {
    if let Some((to, left)) = state.subscription.pending {
        if left <= 1 {
            show(state, to);
        } else {
            state.subscription.pending = Some((to, left - 1));
        }
    }
    Answer::json(200, state.subscription.to_json())
}

/// A PATCH of the full resource: replayed by `MS-RequestId`, else checked and applied.
fn change(state: &mut State, headers: &HeaderMap, body: &[u8]) -> Answer {
    let request_id = header(headers, "MS-RequestId").map(str::to_string);
    if let Some((status, body, location)) = request_id
        .as_ref()
        .and_then(|r| state.idempotency.get(r))
        .cloned()
    {
        return with_location(Answer::json(status, body), location);
    }
    let to = match check_change(state, headers, body) {
        Ok(to) => to,
        Err(refused) => return refused,
    };
    apply(state, to);
    let (status, reply, location) = if state.subscription.async_reads.is_some() {
        let location = format!(
            "/customers/{CUSTOMER_ID}/subscriptions/{}",
            state.subscription.id
        );
        (202, Value::Null, Some(location))
    } else {
        (200, state.subscription.to_json(), None)
    };
    if let Some(r) = request_id {
        state
            .idempotency
            .insert(r, (status, reply.clone(), location.clone()));
    }
    let answer = if status == 202 {
        Answer::empty(status)
    } else {
        Answer::json(status, reply)
    };
    with_location(answer, location)
}

fn with_location(answer: Answer, location: Option<String>) -> Answer {
    match location {
        Some(l) => answer.header("Location", &l),
        None => answer,
    }
}

/// The checks of a change, in Partner Center's order; the new quantity when all pass.
fn check_change(state: &State, headers: &HeaderMap, body: &[u8]) -> Result<i64, Answer> {
    let invalid = || error(400, 800002, "Invalid request input");
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let full = ["id", "offerId", "quantity", "status", "attributes"]
        .iter()
        .all(|k| field(&parsed, k).is_some());
    if !full {
        return Err(invalid());
    }
    let sub = &state.subscription;
    let current = sub.etag();
    let body_etag = field(&parsed, "attributes")
        .and_then(|a| field(a, "etag"))
        .and_then(Value::as_str);
    let if_match = header(headers, "If-Match");
    if body_etag != Some(current.as_str()) || if_match.is_some_and(|m| m != current) {
        return Err(error(400, 2055, "Etag is no longer valid"));
    }
    if sub.pending.is_some() {
        return Err(order_in_progress());
    }
    if !sub.status.eq_ignore_ascii_case("active") {
        return Err(error(
            400,
            800091,
            "Cannot update a subscription with suspended status",
        ));
    }
    let Some(to) = field(&parsed, "quantity").and_then(Value::as_i64) else {
        return Err(invalid());
    };
    if to < sub.quantity && !sub.decrease_window_open {
        return Err(error(
            400,
            800090,
            "Subscription quantity cannot be decreased",
        ));
    }
    if to < 1 || to > sub.max_quantity {
        return Err(error(
            400,
            2002,
            "Subscription quantity is not within minimum and maximum allowed quantity",
        ));
    }
    Ok(to)
}
