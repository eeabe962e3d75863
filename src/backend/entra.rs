//! Proof of an account by signing in to Microsoft Entra: OpenID Connect, the authorization
//! code flow with PKCE, as a confidential client (graph_groups_identity.md §4).
//!
//! Discovery and keys come from the tenant-specific OpenID configuration
//! (`{authority}/{tenant}/v2.0/.well-known/openid-configuration`) and are kept: the keys by
//! `kid` for 24 hours; an unknown `kid` fetches them again, at most once in five minutes, then
//! the token is refused. A code is redeemed at the token endpoint with the PKCE verifier and
//! the client secret. The id_token is validated in Microsoft's order: `alg` must be RS256
//! (never `none`, never HMAC), `kid` must name a key of the tenant, the signature must hold,
//! `iss` must be exactly the discovered issuer, `aud` the client id, `exp`/`nbf` within two
//! minutes' skew, `ver` 2.0, `tid` the issuer's tenant, and `oid` present. The nonce is the
//! caller's to compare. Redirects are never followed; nothing secret is logged.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{AuthorizeRequest, IdClaims, IdentityProvider, SignInError};

/// How long discovered keys are trusted.
const KEYS_TTL: Duration = Duration::from_secs(24 * 3600);
/// The least time between two key fetches caused by an unknown `kid`.
const KEYS_REFRESH_MIN: Duration = Duration::from_secs(300);
/// The clock skew allowed on `exp` and `nbf`.
const SKEW_SECONDS: u64 = 120;

/// Where and as whom the bot signs people in.
#[derive(Debug, Clone)]
pub struct EntraOptions {
    /// The identity platform, e.g. `https://login.microsoftonline.com`.
    pub authority_url: String,
    /// The tenant whose accounts may sign in: a GUID or a domain.
    pub tenant_id: String,
    /// The application (client) id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: SecretString,
    /// The timeout of every call.
    pub timeout: Duration,
}

/// The parts of the OpenID configuration the bot uses.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Jwks {
    keys: Vec<jsonwebtoken::jwk::Jwk>,
}

struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    fetched: Instant,
}

/// The claims read from an id_token (validated by [`jsonwebtoken`] for signature, `iss`,
/// `aud`, `exp`, `nbf`).
#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    ver: Option<String>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_codes: Vec<i64>,
}

/// Microsoft Entra as the identity provider of the sign-in proof.
pub struct EntraIdentity {
    http: reqwest::Client,
    options: EntraOptions,
    discovery: tokio::sync::Mutex<Option<Discovery>>,
    keys: tokio::sync::Mutex<Option<Keys>>,
}

impl std::fmt::Debug for EntraIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntraIdentity")
            .field("authority_url", &self.options.authority_url)
            .field("tenant_id", &self.options.tenant_id)
            .field("client_id", &self.options.client_id)
            .finish_non_exhaustive()
    }
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> SignInError {
    SignInError::Unavailable(format!("{what}: {e}"))
}

impl EntraIdentity {
    /// A provider with these options; makes no call yet.
    pub fn new(options: EntraOptions) -> Result<EntraIdentity, SignInError> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("licensebot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| unavailable("cannot build the HTTP client", e))?;
        Ok(EntraIdentity {
            http,
            options,
            discovery: tokio::sync::Mutex::new(None),
            keys: tokio::sync::Mutex::new(None),
        })
    }

    /// The tenant's OpenID configuration, read once.
    async fn discovery(&self) -> Result<Discovery, SignInError> {
        let mut known = self.discovery.lock().await;
        if let Some(d) = known.as_ref() {
            return Ok(d.clone());
        }
        let url = format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            self.options.authority_url.trim_end_matches('/'),
            self.options.tenant_id
        );
        let d: Discovery = self.get_json(&url, "the OpenID configuration").await?;
        *known = Some(d.clone());
        Ok(d)
    }

    /// The JSON document at `url`, which a failure names as `what`.
    async fn get_json<T: DeserializeOwned>(&self, url: &str, what: &str) -> Result<T, SignInError> {
        self.http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unavailable(what, e))?
            .json()
            .await
            .map_err(|e| unavailable(what, e))
    }

    /// The tenant's signing key for `kid`: kept keys, or fetched again (expired keys, or an
    /// unknown `kid` at most once in five minutes).
    async fn key(&self, kid: &str) -> Result<DecodingKey, SignInError> {
        let mut keys = self.keys.lock().await;
        let stale = keys.as_ref().is_none_or(|k| k.fetched.elapsed() > KEYS_TTL);
        let known = keys.as_ref().and_then(|k| k.by_kid.get(kid).cloned());
        let may_refresh = keys
            .as_ref()
            .is_none_or(|k| k.fetched.elapsed() > KEYS_REFRESH_MIN);
        if let (Some(key), false) = (&known, stale) {
            return Ok(key.clone());
        }
        if stale || may_refresh {
            match self.fetch_keys().await {
                Ok(fresh) => *keys = Some(fresh),
                // Keep the last good keys when the fetch fails.
                Err(e) if keys.is_some() => {
                    tracing::warn!(error = %e, "could not refresh the signing keys")
                }
                Err(e) => return Err(e),
            }
        }
        keys.as_ref()
            .and_then(|k| k.by_kid.get(kid).cloned())
            .ok_or_else(|| {
                SignInError::Invalid(format!("no signing key {kid:?} in the tenant's keys"))
            })
    }

    async fn fetch_keys(&self) -> Result<Keys, SignInError> {
        let d = self.discovery().await?;
        let jwks: Jwks = self.get_json(&d.jwks_uri, "the signing keys").await?;
        let mut by_kid = HashMap::new();
        for jwk in &jwks.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    by_kid.insert(kid, key);
                }
                Err(e) => tracing::warn!(kid, error = %e, "a signing key the bot cannot use"),
            }
        }
        Ok(Keys {
            by_kid,
            fetched: Instant::now(),
        })
    }

    /// Validates an id_token; returns its claims.
    async fn validate(&self, token: &str) -> Result<IdClaims, SignInError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| SignInError::Invalid(format!("the token header: {e}")))?;
        ensure(header.alg == Algorithm::RS256, || {
            format!("algorithm {:?}, where RS256 is required", header.alg)
        })?;
        let kid = header
            .kid
            .ok_or_else(|| SignInError::Invalid("the token names no key (kid)".into()))?;
        let key = self.key(&kid).await?;
        let d = self.discovery().await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[self.options.client_id.as_str()]);
        validation.set_issuer(&[d.issuer.as_str()]);
        validation.leeway = SKEW_SECONDS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| SignInError::Invalid(e.to_string()))?;
        let c = data.claims;
        ensure(c.ver.as_deref() == Some("2.0"), || {
            format!("token version {:?}, where 2.0 is required", c.ver)
        })?;
        let tid = c
            .tid
            .ok_or_else(|| SignInError::Invalid("the token has no tenant (tid)".into()))?;
        ensure(d.issuer.contains(&format!("/{tid}/")), || {
            format!("tenant {tid} does not match the issuer {}", d.issuer)
        })?;
        let oid = c.oid.ok_or_else(|| {
            SignInError::Invalid("the token has no object id (oid): was `profile` granted?".into())
        })?;
        Ok(IdClaims {
            tid,
            oid,
            nonce: c.nonce.unwrap_or_default(),
            username: c.preferred_username,
        })
    }
}

/// A check an id_token must pass: fails validation, saying `why`, unless it `holds`.
fn ensure(holds: bool, why: impl FnOnce() -> String) -> Result<(), SignInError> {
    if holds {
        Ok(())
    } else {
        Err(SignInError::Invalid(why()))
    }
}

#[async_trait]
impl IdentityProvider for EntraIdentity {
    async fn tenant(&self) -> Result<String, SignInError> {
        let d = self.discovery().await?;
        // The issuer of a tenant-specific configuration is `{authority}/{tid}/v2.0`.
        d.issuer
            .trim_end_matches('/')
            .strip_suffix("/v2.0")
            .and_then(|s| s.rsplit('/').next())
            .map(str::to_string)
            .ok_or_else(|| SignInError::Unavailable(format!("an unexpected issuer {}", d.issuer)))
    }

    async fn authorize_url(&self, r: &AuthorizeRequest) -> Result<String, SignInError> {
        let d = self.discovery().await?;
        let mut url = url::Url::parse(&d.authorization_endpoint)
            .map_err(|e| unavailable("the authorization endpoint", e))?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.options.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &r.redirect_uri)
            .append_pair("response_mode", "query")
            .append_pair("scope", "openid profile")
            .append_pair("state", &r.state)
            .append_pair("nonce", &r.nonce)
            .append_pair("code_challenge", &r.code_challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("login_hint", &r.login_hint);
        Ok(url.to_string())
    }

    async fn redeem(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<IdClaims, SignInError> {
        let d = self.discovery().await?;
        let form = [
            ("client_id", self.options.client_id.as_str()),
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("scope", "openid profile"),
            ("client_secret", self.options.client_secret.expose_secret()),
        ];
        let response = self
            .http
            .post(&d.token_endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|e| unavailable("the token endpoint", e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| unavailable("the token endpoint", e))?;
        if !status.is_success() {
            return Err(match serde_json::from_slice::<TokenError>(&body) {
                Ok(e) if status.is_client_error() => SignInError::Refused(format!(
                    "{} (AADSTS{})",
                    e.error,
                    e.error_codes.first().copied().unwrap_or_default()
                )),
                _ => SignInError::Unavailable(format!("the token endpoint answered {status}")),
            });
        }
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|e| unavailable("the token endpoint's answer", e))?;
        let token = answer
            .id_token
            .ok_or_else(|| SignInError::Invalid("the answer holds no id_token".into()))?;
        self.validate(&token).await
    }
}
