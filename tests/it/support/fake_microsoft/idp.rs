//! A fake Microsoft identity platform for the sign-in proof, built from Microsoft's documents
//! (graph_groups_identity.md §4): the tenant's OpenID configuration, its JWKS (two RSA keys of
//! its own, test-only: `keys/key1.pem`, `keys/key2.pem`), the authorize endpoint (a sign-in page
//! with a form; a redirect URI must be registered, else an AADSTS50011 page that never goes
//! back to the app), and the token endpoint's authorization-code grant (client secret, a
//! single-use code bound to its redirect URI, the PKCE verifier checked against the S256
//! challenge; `invalid_grant` 54005 / 501481 otherwise), answering with an RS256 id_token
//! (`ver` 2.0, `iss`, `aud`, `exp`/`iat`/`nbf`, `tid`, `oid`, `nonce`, `preferred_username`).
//! A test may make the next id_tokens wrong in one way ([`Tamper`]).

use std::collections::HashMap;

use base64::Engine as _;
use serde_json::{json, Value};

use super::super::fake_http::form;
use super::answer::Answer;
use super::token::token_error;
use super::{State, CLIENT_ID, CLIENT_SECRET, TENANT_ID};

/// The fake's signing keys: PEM and the modulus (base64url), exponent 65537.
const KEY1_PEM: &str = include_str!("keys/key1.pem");
const KEY1_N: &str = include_str!("keys/key1.n");
const KEY2_PEM: &str = include_str!("keys/key2.pem");
const KEY2_N: &str = include_str!("keys/key2.n");

/// Another tenant's id, for tokens from elsewhere.
pub const OTHER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// One way to make the id_tokens wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// `tid` and `iss` of another tenant.
    OtherTenant,
    /// `aud` of another application.
    OtherAudience,
    /// Expired an hour ago.
    Expired,
    /// Signed with key 2 but naming key 1.
    BadSignature,
    /// `alg: none`, no signature.
    AlgNone,
    /// Signed with a key the JWKS does not hold.
    UnknownKid,
    /// A `nonce` other than the one asked for.
    OtherNonce,
}

/// A code handed out by the authorize endpoint.
#[derive(Debug, Clone)]
struct Issued {
    redirect_uri: String,
    challenge: String,
    nonce: String,
    upn: String,
    oid: String,
    used: bool,
}

/// The identity platform's state.
#[derive(Debug, Default)]
pub struct IdpState {
    /// The registered redirect URIs of the app.
    pub redirect_uris: Vec<String>,
    /// What to get wrong in the next id_tokens.
    pub tamper: Option<Tamper>,
    /// Every sign-in made (the UPN typed), in order.
    pub sign_ins: Vec<String>,
    codes: HashMap<String, Issued>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The issuer of a tenant on this fake.
fn issuer(base: &str, tenant: &str) -> String {
    format!("{base}/{tenant}/v2.0")
}

/// Handles the identity platform's paths (`/{tenant}/v2.0/…`, `/{tenant}/discovery/…`,
/// `/{tenant}/oauth2/v2.0/authorize`); `None` for other paths.
pub fn route(
    state: &mut State,
    base: &str,
    method: &str,
    segments: &[&str],
    query: &str,
    body: &[u8],
) -> Option<Answer> {
    let [tenant, rest @ ..] = segments else {
        return None;
    };
    if !tenant.eq_ignore_ascii_case(TENANT_ID) {
        return None;
    }
    Some(match (method, rest) {
        ("GET", ["v2.0", ".well-known", "openid-configuration"]) => Answer::json(
            200,
            json!({
                "issuer": issuer(base, TENANT_ID),
                "authorization_endpoint": format!("{base}/{TENANT_ID}/oauth2/v2.0/authorize"),
                "token_endpoint": format!("{base}/{TENANT_ID}/oauth2/v2.0/token"),
                "jwks_uri": format!("{base}/{TENANT_ID}/discovery/v2.0/keys"),
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "response_modes_supported": ["query", "fragment", "form_post"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "oid", "tid", "ver", "nonce", "preferred_username"],
                "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            }),
        ),
        ("GET", ["discovery", "v2.0", "keys"]) => Answer::json(
            200,
            json!({"keys": [
                {"kty": "RSA", "use": "sig", "kid": "k2", "n": KEY2_N.trim(), "e": "AQAB"},
                {"kty": "RSA", "use": "sig", "kid": "k1", "n": KEY1_N.trim(), "e": "AQAB"},
            ]}),
        ),
        ("GET", ["oauth2", "v2.0", "authorize"]) => authorize_page(state, base, query),
        ("POST", ["oauth2", "v2.0", "authorize"]) => sign_in(state, body),
        _ => return None,
    })
}

/// The checks Microsoft makes before showing its sign-in page; the error page when one fails
/// (it never goes back to an unregistered redirect URI).
fn authorize_problem(state: &State, q: &HashMap<String, String>) -> Option<String> {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != CLIENT_ID {
        return Some(format!(
            "AADSTS700016: Application with identifier '{}' was not found in the directory.",
            get("client_id")
        ));
    }
    if !state
        .idp
        .redirect_uris
        .iter()
        .any(|u| u == get("redirect_uri"))
    {
        return Some(format!(
            "AADSTS50011: The redirect URI '{}' specified in the request does not match the redirect URIs configured for the application.",
            get("redirect_uri")
        ));
    }
    if get("response_type") != "code" {
        return Some(
            "AADSTS700054: response_type 'id_token' is not enabled for the application.".into(),
        );
    }
    if !get("scope").split(' ').any(|s| s == "openid") {
        return Some("AADSTS90014: The required field 'scope' is missing or lacks openid.".into());
    }
    if get("code_challenge").is_empty() || get("code_challenge_method") != "S256" {
        return Some("AADSTS501491: Invalid size of Code_Challenge parameter.".into());
    }
    if get("state").is_empty() || get("nonce").is_empty() {
        return Some("AADSTS90014: The request lacks state or nonce.".into());
    }
    None
}

fn page(status: u16, title: &str, body: &str) -> Answer {
    Answer::html(
        status,
        format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body><h1>{t}</h1>{body}</body></html>",
            t = escape(title)
        ),
    )
}

fn authorize_page(state: &State, base: &str, query: &str) -> Answer {
    let q = form(query.as_bytes());
    if let Some(problem) = authorize_problem(state, &q) {
        return page(
            400,
            "Sign in",
            &format!("<p id=\"error\">{}</p>", escape(&problem)),
        );
    }
    let hidden: String = q
        .iter()
        .filter(|(k, _)| k.as_str() != "login_hint")
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect();
    let hint = q.get("login_hint").map(String::as_str).unwrap_or("");
    page(
        200,
        "Sign in to Contoso (fake Microsoft identity platform)",
        &format!(
            "<form method=\"post\" action=\"{base}/{TENANT_ID}/oauth2/v2.0/authorize\">{hidden}\
             <label>Account <input id=\"username\" name=\"username\" value=\"{}\"></label>\
             <button type=\"submit\" id=\"signin\">Sign in</button>\
             <button type=\"submit\" id=\"cancel\" name=\"cancel\" value=\"1\">Cancel</button></form>",
            escape(hint)
        ),
    )
}

/// The sign-in form posted: the user must exist and be enabled; the browser goes back to
/// the redirect URI with a code and the state (or `error=access_denied` on cancel).
fn sign_in(state: &mut State, body: &[u8]) -> Answer {
    let f = form(body);
    if let Some(problem) = authorize_problem(state, &f) {
        return page(
            400,
            "Sign in",
            &format!("<p id=\"error\">{}</p>", escape(&problem)),
        );
    }
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let redirect_uri = get("redirect_uri");
    let back = |params: &[(&str, &str)]| {
        let mut url = url::Url::parse(&redirect_uri).expect("registered redirect URIs parse");
        url.query_pairs_mut().extend_pairs(params);
        Answer::empty(302).header("Location", url.as_str())
    };
    if f.contains_key("cancel") {
        return back(&[
            ("error", "access_denied"),
            (
                "error_description",
                "AADSTS65004: User declined to consent to access the app.",
            ),
            ("state", &get("state")),
        ]);
    }
    let upn = get("username");
    state.idp.sign_ins.push(upn.clone());
    let Some(user) = state
        .users
        .iter()
        .find(|u| u.upn.eq_ignore_ascii_case(&upn) && u.account_enabled)
        .cloned()
    else {
        return page(
            400,
            "Sign in",
            &format!(
                "<p id=\"error\">AADSTS50034: The user account {} does not exist in the Contoso directory.</p>",
                escape(&upn)
            ),
        );
    };
    let code = b64(uuid::Uuid::new_v4().as_bytes()) + &b64(uuid::Uuid::new_v4().as_bytes());
    state.idp.codes.insert(
        code.clone(),
        Issued {
            redirect_uri: redirect_uri.clone(),
            challenge: get("code_challenge"),
            nonce: get("nonce"),
            upn: user.upn.clone(),
            oid: user.id.clone(),
            used: false,
        },
    );
    back(&[("code", &code), ("state", &get("state"))])
}

/// `grant_type=authorization_code` at the token endpoint.
pub fn redeem(state: &mut State, base: &str, body: &[u8]) -> Answer {
    use sha2::{Digest, Sha256};
    let f = form(body);
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != CLIENT_ID {
        return token_error(
            400,
            "unauthorized_client",
            700016,
            "Application not found in the directory.",
        );
    }
    if get("client_secret") != CLIENT_SECRET {
        return token_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided.",
        );
    }
    let Some(issued) = state.idp.codes.get_mut(get("code")) else {
        return token_error(
            400,
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to inactivity.",
        );
    };
    if issued.used {
        return token_error(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.");
    }
    issued.used = true;
    if issued.redirect_uri != get("redirect_uri") {
        return token_error(
            400,
            "invalid_grant",
            50148,
            "The redirect_uri doesn't match the one used in the authorization request.",
        );
    }
    if b64(&Sha256::digest(get("code_verifier").as_bytes())) != issued.challenge {
        return token_error(400, "invalid_grant", 501481, "The Code_Verifier doesn't match the code_challenge supplied in the authorization request.");
    }
    let issued = issued.clone();
    let id_token = id_token(state.idp.tamper, base, &issued);
    Answer::json(
        200,
        json!({
            "access_token": b64(uuid::Uuid::new_v4().as_bytes()),
            "token_type": "Bearer",
            "expires_in": 3599,
            "scope": "openid profile User.Read",
            "id_token": id_token,
        }),
    )
}

fn id_token(tamper: Option<Tamper>, base: &str, issued: &Issued) -> String {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    let now = chrono::Utc::now().timestamp();
    let tenant = if tamper == Some(Tamper::OtherTenant) {
        OTHER_TENANT
    } else {
        TENANT_ID
    };
    let (iat, exp) = if tamper == Some(Tamper::Expired) {
        (now - 7200, now - 3600)
    } else {
        (now, now + 3600)
    };
    let claims = json!({
        "ver": "2.0",
        "iss": issuer(base, tenant),
        "sub": b64(issued.oid.as_bytes()),
        "aud": if tamper == Some(Tamper::OtherAudience) { "11111111-2222-4333-8444-555555555555" } else { CLIENT_ID },
        "exp": exp, "iat": iat, "nbf": iat,
        "name": issued.upn, "preferred_username": issued.upn,
        "oid": issued.oid, "tid": tenant,
        "nonce": if tamper == Some(Tamper::OtherNonce) { "not-the-nonce".to_string() } else { issued.nonce.clone() },
    });
    if tamper == Some(Tamper::AlgNone) {
        let header = b64(json!({"typ": "JWT", "alg": "none", "kid": "k1"})
            .to_string()
            .as_bytes());
        return format!("{header}.{}.", b64(claims.to_string().as_bytes()));
    }
    let (pem, kid) = match tamper {
        Some(Tamper::BadSignature) => (KEY2_PEM, "k1"),
        Some(Tamper::UnknownKid) => (KEY2_PEM, "k3"),
        _ => (KEY1_PEM, "k1"),
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_string());
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("the fake's key");
    encode(&header, &claims, &key).expect("sign an id_token")
}

/// The fake's view of `value` as JSON, for tests that look at what it issued.
pub fn decode_unverified(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}
