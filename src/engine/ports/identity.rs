//! The proof ports: mail to a directory user's own mailbox ([`Mailer`]) and signing in to
//! the identity provider ([`IdentityProvider`]), by which a chat account proves the account
//! it acts for. The simulated mailbox, Microsoft Graph and Microsoft Entra implement them.

use async_trait::async_trait;

use super::tenant::BackendError;

/// A mail the bot sends: plain text, to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The one recipient: a directory user's own address, never one a chat user typed.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Sends mail from the bot's mailbox.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &'static str;

    /// Sends one mail. `Ok` means the mail service accepted it (not that it was delivered).
    async fn send(&self, mail: &Mail) -> Result<(), BackendError>;
}

/// What the sign-in proof sends a person's browser to the identity provider with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// Where the provider sends the browser back (`{public_url}/link/callback`).
    pub redirect_uri: String,
    /// Binds the answer to this attempt (single use).
    pub state: String,
    /// Echoed in the id_token.
    pub nonce: String,
    /// `BASE64URL(SHA256(verifier))` (PKCE, S256).
    pub code_challenge: String,
    /// The UPN to pre-fill (only a hint: the person may pick another account).
    pub login_hint: String,
}

/// The claims of an id_token that passed validation (signature, issuer, audience, times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdClaims {
    /// The tenant (GUID).
    pub tid: String,
    /// The user's object id in that tenant: the link's key.
    pub oid: String,
    /// The nonce of the request it answers.
    pub nonce: String,
    /// `preferred_username`, for display only (never for a decision).
    pub username: Option<String>,
}

/// Why a sign-in could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// The provider refused the code (used, expired, wrong verifier): start again.
    #[error("the sign-in was refused: {0}")]
    Refused(String),
    /// The id_token failed validation (signature, algorithm, key, issuer, audience, times).
    #[error("the sign-in answer is not valid: {0}")]
    Invalid(String),
    /// The provider could not be reached or answered nonsense; trying later may work.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
}

/// Proof of an account by signing in to it (OpenID Connect, authorization code with PKCE).
#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// The tenant whose accounts may sign in (its GUID).
    async fn tenant(&self) -> Result<String, SignInError>;

    /// The address the browser is sent to, to sign in.
    async fn authorize_url(&self, request: &AuthorizeRequest) -> Result<String, SignInError>;

    /// Redeems an authorization code (with the PKCE verifier) and validates the id_token.
    async fn redeem(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<IdClaims, SignInError>;
}
