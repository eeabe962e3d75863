//! The Microsoft Graph tenant: directory users, directory roles, seats and licence
//! assignment of a real Microsoft 365 tenant, through Graph v1.0 with an app-only token.
//!
//! One file per concern: [`token`] (client-credentials tokens), `client` (HTTP, retries,
//! timeouts, `$batch`), `errors` (Graph errors to [`ErrorKind`](crate::backend::ErrorKind)),
//! `directory` (users, usage location, held licences), `roles` (role assignments, cached),
//! `seats` (subscribedSkus), `lookup` (several reads in one `$batch`) and `assign`
//! (assignLicense, one by one or batched); `mail` sends mail from the bot's mailbox
//! (`sendMail`, for proving a link).
//!
//! The application needs these Graph application permissions, admin-consented:
//! `User.Read.All` (users), `Organization.Read.All` (subscribedSkus),
//! `RoleManagement.Read.Directory` (roles), `LicenseAssignment.ReadWrite.All` (assignLicense)
//! and `User.ReadWrite.All` (usageLocation); `Mail.Send` when links are proven by mailed
//! code.

mod activity;
mod assign;
mod client;
mod directory;
mod errors;
mod groups;
mod lookup;
mod mail;
mod roles;
mod seats;
pub mod token;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

pub use client::{throttled_answers, BATCH_LIMIT};
pub use mail::GraphMailer;
use seats::SkuCatalogue;
pub use token::{Audience, Credentials};

use super::{BackendError, DirectoryUser, Found, GroupInfo, LicensingGroup, Lookup, Seats, Tenant};
use crate::domain::{CountryCode, RoleSet, Upn};

/// The scope of an app-only Microsoft Graph token.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// How many times a read is retried inside the client before the caller sees the error.
pub const READ_RETRIES: usize = 3;

/// What the Graph tenant needs to know.
#[derive(Debug, Clone)]
pub struct GraphOptions {
    /// The app's identity.
    pub credentials: Credentials,
    /// Graph's base URL, e.g. `https://graph.microsoft.com/v1.0`.
    pub graph_url: String,
    /// The managed SKU, e.g. `POWER_BI_PRO`.
    pub sku_part_number: String,
    /// How long directory roles read from Graph are trusted; zero reads them every time.
    pub role_cache_ttl: Duration,
    /// The timeout of every HTTP call.
    pub timeout: Duration,
}

/// A Microsoft 365 tenant reached through Microsoft Graph.
pub struct GraphTenant {
    client: client::GraphClient,
    sku: String,
    role_cache_ttl: Duration,
    catalogue: tokio::sync::RwLock<Option<Arc<SkuCatalogue>>>,
    roles: std::sync::Mutex<HashMap<Upn, (RoleSet, Instant)>>,
    ids: std::sync::Mutex<HashMap<Upn, String>>,
    /// The last read of everyone's sign-ins (reading them is slow and rate-limited).
    activity: tokio::sync::Mutex<Option<activity::Snapshot>>,
}

impl std::fmt::Debug for GraphTenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphTenant")
            .field("sku", &self.sku)
            .field("role_cache_ttl", &self.role_cache_ttl)
            .finish_non_exhaustive()
    }
}

/// An HTTP client with the timeout on every call, and no redirects (Graph does not send
/// them; following one could carry the token elsewhere).
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, BackendError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("licensebot/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            BackendError::new(
                super::ErrorKind::Invalid,
                format!("cannot build the HTTP client: {e}"),
            )
        })
}

impl GraphTenant {
    /// A tenant talking to Graph with these options. Makes no call yet.
    pub fn new(options: GraphOptions) -> Result<GraphTenant, BackendError> {
        let http = http_client(options.timeout)?;
        let token = token::TokenSource::new(
            http.clone(),
            options.credentials.clone(),
            Audience::Scope(GRAPH_SCOPE.to_string()),
            options.timeout,
        );
        Ok(GraphTenant {
            client: client::GraphClient::new(
                http,
                &options.graph_url,
                token,
                options.timeout,
                READ_RETRIES,
            ),
            sku: options.sku_part_number,
            role_cache_ttl: options.role_cache_ttl,
            catalogue: tokio::sync::RwLock::new(None),
            roles: std::sync::Mutex::new(HashMap::new()),
            ids: std::sync::Mutex::new(HashMap::new()),
            activity: tokio::sync::Mutex::new(None),
        })
    }

    /// Acquires an access token, to check the app's credentials (`check-config`).
    pub async fn check_token(&self) -> Result<(), BackendError> {
        self.client.check_token().await
    }

    /// The managed SKU's part number.
    pub fn sku_part_number(&self) -> &str {
        &self.sku
    }
}

#[async_trait]
impl Tenant for GraphTenant {
    fn name(&self) -> &'static str {
        "graph"
    }

    async fn health(&self) -> Result<(), BackendError> {
        self.check_token().await
    }

    async fn user(&self, upn: &Upn) -> Result<DirectoryUser, BackendError> {
        self.read_user(upn).await
    }

    async fn roles(&self, upn: &Upn) -> Result<RoleSet, BackendError> {
        if let Some(roles) = self.cached_roles(upn) {
            return Ok(roles);
        }
        self.read_roles(upn).await
    }

    async fn roles_fresh(&self, upn: &Upn) -> Result<RoleSet, BackendError> {
        self.read_roles(upn).await
    }

    async fn object_id(&self, upn: &Upn) -> Result<String, BackendError> {
        self.user_object_id(upn).await
    }

    async fn users(&self, upns: &[Upn]) -> Vec<Result<DirectoryUser, BackendError>> {
        if upns.is_empty() {
            return Vec::new();
        }
        let lookup = Lookup {
            users: upns.to_vec(),
            ..Lookup::default()
        };
        self.look_up_batched(&lookup).await.users
    }

    async fn group(&self, id: &str) -> Result<GroupInfo, BackendError> {
        self.read_group(id).await
    }

    async fn licensing_group(&self, id: &str) -> Result<LicensingGroup, BackendError> {
        self.read_licensing_group(id).await
    }

    async fn add_member(&self, group: &str, user: &DirectoryUser) -> Result<(), BackendError> {
        self.join(group, user).await
    }

    async fn remove_member(&self, group: &str, user: &DirectoryUser) -> Result<(), BackendError> {
        self.leave(group, user).await
    }

    async fn activity(
        &self,
        upns: &[Upn],
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::backend::Activity, BackendError> {
        self.read_activity(upns, since).await
    }

    async fn holders(&self) -> Result<Vec<DirectoryUser>, BackendError> {
        self.list_holders().await
    }

    async fn members(&self, group: &str) -> Result<Vec<Upn>, BackendError> {
        self.list_members(group).await
    }

    async fn reprocess(&self, user: &DirectoryUser) -> Result<(), BackendError> {
        self.reprocess_licences(user).await
    }

    async fn look_up(&self, lookup: &Lookup) -> Found {
        self.look_up_batched(lookup).await
    }

    async fn seats(&self) -> Result<Seats, BackendError> {
        self.read_seats().await
    }

    async fn set_usage_location(
        &self,
        user: &DirectoryUser,
        country: &CountryCode,
    ) -> Result<(), BackendError> {
        self.write_usage_location(user, country).await
    }

    async fn assign(&self, user: &DirectoryUser) -> Result<(), BackendError> {
        self.assign_licence(user).await
    }

    async fn unassign(&self, user: &DirectoryUser) -> Result<(), BackendError> {
        self.remove_licence(user).await
    }

    async fn assign_many(&self, users: &[DirectoryUser]) -> Vec<Result<(), BackendError>> {
        self.assign_licences(users).await
    }
}

/// Maps a transport failure of a Microsoft service call (used by Partner Center too).
pub(crate) fn errors_from_transport(
    service: &str,
    e: &reqwest::Error,
    timeout: Duration,
) -> BackendError {
    errors::from_transport(service, e, timeout)
}
