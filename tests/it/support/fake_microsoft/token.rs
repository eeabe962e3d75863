//! The identity platform's token endpoint for apps (the client-credentials grant): v2.0 with
//! `scope` for Graph, v1 with `resource` for Partner Center, and its `AADSTS` errors. The
//! authorization-code grant of the sign-in proof is in `idp.rs`.

use axum::http::HeaderMap;
use serde_json::json;

use super::super::fake_http;
use super::answer::{now_stamp, Answer};
use super::{
    idp, State, CLIENT_ID, CLIENT_SECRET, PC_CLIENT_ID, PC_CLIENT_SECRET, PC_TENANT_ID, TENANT_ID,
};

const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const PC_RESOURCE: &str = "https://api.partnercenter.microsoft.com";

/// The service a token is for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Audience {
    Graph,
    PartnerCenter,
}

impl State {
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

    /// Whether the request carries a valid bearer token for `audience`.
    pub(crate) fn authorised(&self, headers: &HeaderMap, audience: Audience) -> bool {
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|t| self.tokens.get(t))
            .is_some_and(|a| *a == audience)
    }
}

pub(crate) fn token_error(status: u16, error: &str, code: u32, description: &str) -> Answer {
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

pub(crate) fn token(state: &mut State, tenant: &str, body: &[u8], v1: bool) -> Answer {
    let form = fake_http::form(body);
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if !v1 && field("grant_type") == "authorization_code" && tenant.eq_ignore_ascii_case(TENANT_ID)
    {
        let base = state.authority();
        return idp::redeem(state, &base, body);
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
