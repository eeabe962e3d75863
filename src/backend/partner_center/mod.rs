//! Buying seats for a CSP customer through Partner Center: the customer's Power BI Pro
//! subscription is raised to the absolute target seat count of the order.
//!
//! One attempt: GET the subscription (its ETag is in `attributes.etag`); when its quantity is
//! already at or above the target, the order is done without a change (so a retry after a
//! crash or timeout can never buy twice); when its term (monthly or annual) differs from the
//! order's, the order fails with a clear message instead of buying on other terms; otherwise
//! PATCH the full resource with the new quantity, `If-Match` the ETag, `MS-RequestId` derived
//! from the order's idempotency key (the same on every retry) and a new `MS-CorrelationId`.
//! Every call carries `MS-Contract-Version: v1`, which Partner Center requires.
//! A 202 is followed through its `Location` for a short, bounded time, after which the order
//! is reported in progress and the engine asks again later. The engine then confirms the
//! seats in Microsoft Graph's subscribedSkus.
//!
//! The token comes from the v1 endpoint with `resource=https://api.partnercenter.microsoft.com`
//! for the partner's own app (app-only credentials may change quantities).

mod errors;

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use super::graph::token::{AccessToken, TokenSource};
use super::graph::{http_client, Audience, Credentials};
use super::http::{asked_wait, json_body, InPlaceRetry};
use super::{BackendError, ErrorKind, PurchaseProgress, Purchaser, SeatOrder};
use crate::domain::BillingCycle;

/// The audience of Partner Center tokens (v1 `resource`).
pub const PARTNER_CENTER_RESOURCE: &str = "https://api.partnercenter.microsoft.com";

/// The `MS-Contract-Version` sent on every Partner Center REST call: the headers page marks
/// it required, and every path used here is under `/v1`. The token call to the identity
/// platform is not a Partner Center call and goes without it.
const CONTRACT_VERSION: &str = "v1";

/// Namespace of the name-based UUIDs sent as `MS-RequestId` for idempotency keys that are
/// not UUIDs themselves.
const REQUEST_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6c1c_e2a4_5d0b_4b7e_9a43_7b1f_0c55_d3e1);

/// How often a 202's `Location` is read, and how far apart, before the attempt ends
/// "in progress".
const FOLLOW_POLLS: u32 = 3;
const FOLLOW_SPACING: Duration = Duration::from_millis(300);

/// What the purchaser needs to know.
#[derive(Debug, Clone)]
pub struct PartnerCenterOptions {
    /// The partner app's identity (its tenant is the partner's, not the customer's).
    pub credentials: Credentials,
    /// Partner Center's base URL, e.g. `https://api.partnercenter.microsoft.com`.
    pub api_url: String,
    /// The customer's tenant id.
    pub customer_tenant_id: String,
    /// The customer's Power BI Pro subscription.
    pub subscription_id: String,
    /// The timeout of every HTTP call.
    pub timeout: Duration,
}

/// Raises a CSP customer's seat count through Partner Center.
pub struct PartnerCenterPurchaser {
    http: reqwest::Client,
    api: String,
    token: TokenSource,
    customer: String,
    subscription: String,
    timeout: Duration,
}

impl std::fmt::Debug for PartnerCenterPurchaser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerCenterPurchaser")
            .field("api", &self.api)
            .field("customer", &self.customer)
            .field("subscription", &self.subscription)
            .finish_non_exhaustive()
    }
}

/// The `MS-RequestId` for an idempotency key: the key itself when it is a UUID, else a
/// name-based UUID of it, so the same order always sends the same id.
pub fn request_id_for(idempotency_key: &str) -> Uuid {
    Uuid::parse_str(idempotency_key)
        .unwrap_or_else(|_| Uuid::new_v5(&REQUEST_ID_NAMESPACE, idempotency_key.as_bytes()))
}

/// A field of a Partner Center resource, whatever the case of its name (responses are
/// camelCase, the documented PATCH sample is PascalCase).
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn text(v: &Value, name: &str) -> Option<String> {
    field(v, name).and_then(Value::as_str).map(str::to_string)
}

/// The subscription as the purchaser reads it.
#[derive(Debug)]
struct Subscription {
    raw: Value,
    quantity: i64,
    etag: Option<String>,
    status: String,
}

impl Subscription {
    fn parse(raw: Value) -> Result<Subscription, BackendError> {
        let quantity = field(&raw, "quantity")
            .and_then(Value::as_i64)
            .ok_or_else(|| {
                BackendError::new(
                    ErrorKind::Transient,
                    "Partner Center sent a subscription without a quantity",
                )
            })?;
        let etag = field(&raw, "attributes").and_then(|a| text(a, "etag"));
        let status = text(&raw, "status").unwrap_or_default();
        Ok(Subscription {
            raw,
            quantity,
            etag,
            status,
        })
    }

    /// Monthly or annual, from `termDuration` (P1M, P1Y, P3Y) or else `billingCycle`.
    fn term(&self) -> Option<(BillingCycle, String)> {
        if let Some(term) = text(&self.raw, "termDuration") {
            let cycle = match term.to_ascii_uppercase().as_str() {
                "P1M" => Some(BillingCycle::Monthly),
                "P1Y" | "P3Y" => Some(BillingCycle::Annual),
                _ => None,
            };
            return cycle.map(|c| (c, format!("termDuration {term}")));
        }
        let billing = text(&self.raw, "billingCycle")?;
        let cycle = match billing.to_ascii_lowercase().as_str() {
            "monthly" => Some(BillingCycle::Monthly),
            "annual" => Some(BillingCycle::Annual),
            _ => None,
        };
        cycle.map(|c| (c, format!("billingCycle {billing}")))
    }

    /// The full resource with the new quantity, keeping the key's own spelling.
    fn with_quantity(&self, quantity: i64) -> Value {
        let mut body = self.raw.clone();
        if let Some(obj) = body.as_object_mut() {
            let key = obj
                .keys()
                .find(|k| k.eq_ignore_ascii_case("quantity"))
                .cloned()
                .unwrap_or_else(|| "quantity".to_string());
            obj.insert(key, Value::from(quantity));
        }
        body
    }
}

impl PartnerCenterPurchaser {
    /// A purchaser with these options. Makes no call yet.
    pub fn new(options: PartnerCenterOptions) -> Result<PartnerCenterPurchaser, BackendError> {
        let http = http_client(options.timeout)?;
        let token = TokenSource::new(
            http.clone(),
            options.credentials,
            Audience::Resource(PARTNER_CENTER_RESOURCE.to_string()),
            options.timeout,
        );
        Ok(PartnerCenterPurchaser {
            http,
            api: options.api_url.trim_end_matches('/').to_string(),
            token,
            customer: options.customer_tenant_id,
            subscription: options.subscription_id,
            timeout: options.timeout,
        })
    }

    fn subscription_path(&self) -> String {
        format!(
            "/v1/customers/{}/subscriptions/{}",
            self.customer, self.subscription
        )
    }

    /// Reads the subscription now (retried a bounded number of times when transient).
    pub async fn subscription_quantity(&self) -> Result<i64, BackendError> {
        Ok(self.read(&self.subscription_path()).await?.quantity)
    }

    async fn read(&self, path: &str) -> Result<Subscription, BackendError> {
        let retry = InPlaceRetry::reads(
            crate::backend::graph::READ_RETRIES,
            Some(Duration::from_secs(10)),
        );
        let reply = retry
            .run(
                || self.call(Method::GET, path, None, None),
                |e, wait| {
                    tracing::warn!(error = %e.message, ?wait, "Partner Center read failed; retrying");
                },
            )
            .await?;
        Subscription::parse(reply.1)
    }

    /// One exchange; a 401 renews the token and repeats once (the same `MS-RequestId`).
    /// Returns the status, the body and the `Location` header.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency: Option<(Uuid, &str)>,
    ) -> Result<(StatusCode, Value, Option<String>), BackendError> {
        let url = format!("{}{path}", self.api);
        let mut token: AccessToken = self.token.get().await?;
        let mut renewed = false;
        loop {
            let correlation = Uuid::new_v4();
            let request_id = idempotency.map_or_else(Uuid::new_v4, |(id, _)| id);
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(token.expose())
                .header("Accept", "application/json")
                .header("MS-Contract-Version", CONTRACT_VERSION)
                .header("MS-RequestId", request_id.to_string())
                .header("MS-CorrelationId", correlation.to_string());
            if let Some((_, etag)) = idempotency {
                request = request.header("If-Match", etag);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let reference = format!("MS-RequestId {request_id}, MS-CorrelationId {correlation}");
            tracing::info!(%method, path, ms_request_id = %request_id, ms_correlation_id = %correlation, "Partner Center call");
            let transport = |e: reqwest::Error| {
                let mut err =
                    super::graph::errors_from_transport("Partner Center", &e, self.timeout);
                err.backend_ref = Some(reference.clone());
                err
            };
            let response = request.send().await.map_err(transport)?;
            let status = response.status();
            let retry_after = asked_wait(response.headers());
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let bytes = response.bytes().await.map_err(transport)?;
            if status.is_success() {
                let value = json_body("Partner Center", &bytes)?;
                return Ok((status, value, location));
            }
            let err = errors::from_response(status, retry_after, reference, &bytes);
            if status == StatusCode::UNAUTHORIZED && !renewed {
                token = self.token.renew(&token).await?;
                renewed = true;
                continue;
            }
            tracing::warn!(%method, path, %status, error = %err.message, "Partner Center call failed");
            return Err(err);
        }
    }

    /// Reads the 202's `Location` a few times until the quantity reaches the target (from
    /// below when raising, from above when lowering).
    async fn follow(
        &self,
        location: &str,
        target: i64,
        up: bool,
    ) -> Result<PurchaseProgress, BackendError> {
        let path = match location.strip_prefix(&self.api) {
            Some(rest) => rest.to_string(),
            None if location.starts_with("/v1/") => location.to_string(),
            None if location.starts_with('/') => format!("/v1{location}"),
            None => {
                return Err(BackendError::new(
                    ErrorKind::Invalid,
                    format!(
                        "Partner Center sent a Location outside {}: {location}",
                        self.api
                    ),
                ))
            }
        };
        let mut last = None;
        for _ in 0..FOLLOW_POLLS {
            tokio::time::sleep(FOLLOW_SPACING).await;
            let sub = self.read(&path).await?;
            if reached(sub.quantity, target, up) {
                return Ok(PurchaseProgress::Done {
                    enabled: sub.quantity,
                });
            }
            last = Some(sub.quantity);
        }
        Ok(PurchaseProgress::InProgress {
            detail: format!(
                "Partner Center accepted the change to {target} seats and is still processing it (the subscription shows {})",
                last.map_or_else(|| "nothing yet".to_string(), |q| q.to_string())
            ),
        })
    }

    /// Sets the subscription's quantity to the order's absolute target, up (a purchase) or
    /// down (a reduction). A quantity already at or past the target is done without a change.
    async fn change(&self, order: &SeatOrder, up: bool) -> Result<PurchaseProgress, BackendError> {
        let path = self.subscription_path();
        let sub = self.read(&path).await?;
        // Only a purchase must match the subscription's term; a reduction keeps it.
        if up {
            let Some((cycle, term)) = sub.term() else {
                return Err(BackendError::new(
                    ErrorKind::Invalid,
                    format!(
                        "cannot tell whether subscription {} is monthly or annual; nothing was bought",
                        self.subscription
                    ),
                ));
            };
            if cycle != order.billing_cycle {
                return Err(BackendError::new(
                    ErrorKind::Invalid,
                    format!(
                        "subscription {} is {cycle} ({term}) but the request is for {} billing; \
                         nothing was bought",
                        self.subscription, order.billing_cycle
                    ),
                ));
            }
        }
        if reached(sub.quantity, order.target_seats, up) {
            tracing::info!(
                quantity = sub.quantity,
                target = order.target_seats,
                "the subscription already has the target quantity"
            );
            return Ok(PurchaseProgress::Done {
                enabled: sub.quantity,
            });
        }
        if !sub.status.eq_ignore_ascii_case("active") {
            return Err(BackendError::new(
                ErrorKind::Invalid,
                format!(
                    "subscription {} is {}, not active; its quantity cannot be changed",
                    self.subscription,
                    if sub.status.is_empty() {
                        "in an unknown state"
                    } else {
                        &sub.status
                    }
                ),
            ));
        }
        let Some(etag) = sub.etag.clone() else {
            return Err(BackendError::new(
                ErrorKind::Transient,
                "Partner Center sent the subscription without an ETag",
            ));
        };
        let request_id = request_id_for(&order.idempotency_key);
        let body = sub.with_quantity(order.target_seats);
        let (status, reply, location) = self
            .call(Method::PATCH, &path, Some(&body), Some((request_id, &etag)))
            .await?;
        if status == StatusCode::ACCEPTED {
            let location = location.unwrap_or(path);
            return self.follow(&location, order.target_seats, up).await;
        }
        let now = Subscription::parse(reply).map(|s| s.quantity).ok();
        match now {
            Some(q) if reached(q, order.target_seats, up) => {
                Ok(PurchaseProgress::Done { enabled: q })
            }
            _ => {
                let read = self.read(&path).await?;
                if reached(read.quantity, order.target_seats, up) {
                    Ok(PurchaseProgress::Done {
                        enabled: read.quantity,
                    })
                } else {
                    Ok(PurchaseProgress::InProgress {
                        detail: format!(
                            "Partner Center accepted the change to {} seats; the subscription shows {} so far",
                            order.target_seats, read.quantity
                        ),
                    })
                }
            }
        }
    }
}

/// Whether a quantity has reached a target, from below (`up`) or from above.
fn reached(quantity: i64, target: i64, up: bool) -> bool {
    if up {
        quantity >= target
    } else {
        quantity <= target
    }
}

#[async_trait]
impl Purchaser for PartnerCenterPurchaser {
    fn name(&self) -> &'static str {
        "partner_center"
    }

    async fn raise_seats(&self, order: &SeatOrder) -> Result<PurchaseProgress, BackendError> {
        self.change(order, true).await
    }

    /// A quantity decrease: Partner Center allows it only within a short window after a
    /// purchase or renewal and answers 800090 otherwise, which reaches the approver as is.
    async fn lower_seats(&self, order: &SeatOrder) -> Result<PurchaseProgress, BackendError> {
        self.change(order, false).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_id_is_stable_per_idempotency_key() {
        let a = request_id_for("licensebot-r1-s2-99");
        assert_eq!(a, request_id_for("licensebot-r1-s2-99"));
        assert_ne!(a, request_id_for("licensebot-r1-s2-98"));
        let u = Uuid::new_v4();
        assert_eq!(request_id_for(&u.to_string()), u);
    }

    #[test]
    fn the_term_comes_from_term_duration_before_billing_cycle() {
        let s = Subscription::parse(
            serde_json::json!({"quantity": 2, "billingCycle": "monthly", "termDuration": "P1Y"}),
        )
        .unwrap();
        assert_eq!(s.term().map(|t| t.0), Some(BillingCycle::Annual));
        let s = Subscription::parse(serde_json::json!({"Quantity": 2, "BillingCycle": "monthly"}))
            .unwrap();
        assert_eq!(s.term().map(|t| t.0), Some(BillingCycle::Monthly));
        assert_eq!(s.with_quantity(5)["Quantity"], 5);
    }
}
