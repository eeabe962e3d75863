//! OAuth 2.0 client-credentials tokens from the Microsoft identity platform: the v2 endpoint
//! with a `scope` (Microsoft Graph) or the v1 endpoint with a `resource` (Partner Center).
//! A token is cached until shortly before it expires and fetched again when a service
//! rejects it. Neither the client secret nor a token is ever logged or shown by `Debug`.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::errors;
use crate::backend::http::{asked_wait, transient_wait, InPlaceRetry};
use crate::backend::{BackendError, ErrorKind};

/// What the token is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// v2 endpoint (`/oauth2/v2.0/token`) with `scope`, e.g.
    /// `https://graph.microsoft.com/.default`.
    Scope(String),
    /// v1 endpoint (`/oauth2/token`) with `resource`, e.g.
    /// `https://api.partnercenter.microsoft.com`.
    Resource(String),
}

/// Who asks for tokens, and where.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Base URL of the identity platform, e.g. `https://login.microsoftonline.com`.
    pub authority_url: String,
    /// The tenant that issues the token (GUID or domain).
    pub tenant_id: String,
    /// The application (client) id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: SecretString,
}

/// A bearer token, kept secret.
#[derive(Clone)]
pub struct AccessToken(SecretString);

impl AccessToken {
    /// The token text, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken([REDACTED])")
    }
}

struct Cached {
    token: AccessToken,
    refresh_at: Instant,
}

/// Fetches and caches tokens for one audience.
pub(crate) struct TokenSource {
    http: reqwest::Client,
    endpoint: String,
    credentials: Credentials,
    audience: Audience,
    timeout: Duration,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.credentials.client_id)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// `expires_in` is a number on the v2 endpoint and a string on v1.
#[derive(Deserialize)]
#[serde(untagged)]
enum Seconds {
    Number(f64),
    Text(String),
}

impl Seconds {
    fn get(&self) -> Option<Duration> {
        let secs = match self {
            Seconds::Number(n) => *n,
            Seconds::Text(s) => s.trim().parse().ok()?,
        };
        (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Seconds,
}

#[derive(Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    correlation_id: Option<String>,
}

impl TokenSource {
    /// A token source; `http` carries the timeout.
    pub(crate) fn new(
        http: reqwest::Client,
        credentials: Credentials,
        audience: Audience,
        timeout: Duration,
    ) -> TokenSource {
        let base = credentials.authority_url.trim_end_matches('/');
        let path = match audience {
            Audience::Scope(_) => "oauth2/v2.0/token",
            Audience::Resource(_) => "oauth2/token",
        };
        let endpoint = format!("{base}/{}/{path}", credentials.tenant_id);
        TokenSource {
            http,
            endpoint,
            credentials,
            audience,
            timeout,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// A valid token: the cached one, or a new one.
    pub(crate) async fn get(&self) -> Result<AccessToken, BackendError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            if Instant::now() < c.refresh_at {
                return Ok(c.token.clone());
            }
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// A new token after a service rejected `rejected` (401); when another caller has
    /// already replaced it, that newer token is returned without a second fetch.
    pub(crate) async fn renew(&self, rejected: &AccessToken) -> Result<AccessToken, BackendError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            if c.token.expose() != rejected.expose() && Instant::now() < c.refresh_at {
                return Ok(c.token.clone());
            }
        }
        tracing::info!(endpoint = %self.endpoint, "the access token was rejected; fetching a new one");
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    async fn fetch(&self) -> Result<Cached, BackendError> {
        InPlaceRetry::reads(2, None)
            .run(
                || self.fetch_once(),
                |e, wait| {
                    tracing::warn!(endpoint = %self.endpoint, error = %e.message, ?wait, "token request failed; retrying");
                },
            )
            .await
    }

    async fn fetch_once(&self) -> Result<Cached, BackendError> {
        let secret = self.credentials.client_secret.expose_secret();
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "client_credentials"),
            ("client_id", &self.credentials.client_id),
            ("client_secret", secret),
        ];
        match &self.audience {
            Audience::Scope(s) => form.push(("scope", s)),
            Audience::Resource(r) => form.push(("resource", r)),
        }
        let started = Instant::now();
        let response = self
            .http
            .post(&self.endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|e| errors::from_transport("the token endpoint", &e, self.timeout))?;
        let status = response.status();
        let retry_after = asked_wait(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| errors::from_transport("the token endpoint", &e, self.timeout))?;
        if status.is_success() {
            let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
                BackendError::new(
                    ErrorKind::Transient,
                    format!("the token endpoint sent an answer without a usable token: {e}"),
                )
            })?;
            let lifetime = parsed.expires_in.get().ok_or_else(|| {
                BackendError::new(
                    ErrorKind::Transient,
                    "the token endpoint sent an unreadable expires_in",
                )
            })?;
            // Refresh a little early: 5 minutes, or a tenth of a short lifetime.
            let margin = (lifetime / 10).min(Duration::from_secs(300));
            tracing::debug!(endpoint = %self.endpoint, ?lifetime, "access token acquired");
            return Ok(Cached {
                token: AccessToken(SecretString::from(parsed.access_token)),
                refresh_at: started + lifetime.saturating_sub(margin),
            });
        }
        let err: TokenError = serde_json::from_slice(&body).unwrap_or_default();
        // The first line of the description names the AADSTS code and its meaning; the
        // rest is trace and correlation ids.
        let description = err.error_description.lines().next().unwrap_or("").trim();
        let message = format!(
            "the token request for client {} was refused ({status}{}{}{})",
            self.credentials.client_id,
            if err.error.is_empty() { "" } else { ", " },
            err.error,
            if description.is_empty() {
                String::new()
            } else {
                format!(": {description}")
            }
        );
        let kind = if status.is_server_error() || status.as_u16() == 429 {
            ErrorKind::Transient
        } else {
            ErrorKind::Forbidden
        };
        Err(BackendError {
            kind,
            message,
            backend_ref: err.correlation_id,
            retry_after: transient_wait(kind, retry_after),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_is_read_as_a_number_or_a_string() {
        let v2: TokenResponse =
            serde_json::from_str(r#"{"token_type":"Bearer","expires_in":3599,"access_token":"a"}"#)
                .unwrap();
        assert_eq!(v2.expires_in.get(), Some(Duration::from_secs(3599)));
        let v1: TokenResponse = serde_json::from_str(
            r#"{"token_type":"Bearer","expires_in":"3600","ext_expires_in":"3600","access_token":"a"}"#,
        )
        .unwrap();
        assert_eq!(v1.expires_in.get(), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn debug_output_hides_secret_and_token() {
        let source = TokenSource::new(
            reqwest::Client::new(),
            Credentials {
                authority_url: "http://127.0.0.1:1".into(),
                tenant_id: "t".into(),
                client_id: "c".into(),
                client_secret: SecretString::from("very-secret-value"),
            },
            Audience::Scope("https://graph.microsoft.com/.default".into()),
            Duration::from_secs(1),
        );
        let shown = format!(
            "{source:?} {:?}",
            AccessToken(SecretString::from("tok-123"))
        );
        assert!(
            !shown.contains("very-secret-value") && !shown.contains("tok-123"),
            "{shown}"
        );
    }
}
