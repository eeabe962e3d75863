//! Directory roles from `GET /roleManagement/directory/roleAssignments?$filter=principalId eq
//! '{id}'`: only tenant-wide assignments (`directoryScopeId` `/`) of the built-in roles the
//! bot knows, matched by role template id. Results are cached for `role_cache_ttl`; a fresh
//! read bypasses the cache. A failed read is an error, never an empty or granted set.

use std::time::Instant;

use serde::Deserialize;
use serde_json::Value;

use super::client::BatchRequest;
use super::directory::{query_value, user_path};
use super::GraphTenant;
use crate::backend::{BackendError, ErrorKind};
use crate::domain::{DirectoryRole, RoleSet, Upn};

/// One `unifiedRoleAssignment`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleAssignment {
    #[serde(default)]
    role_definition_id: String,
    #[serde(default)]
    directory_scope_id: String,
}

/// A directory object id is a GUID; anything else never goes into a filter.
fn is_object_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

impl GraphTenant {
    /// Roles still in the cache, if fresh.
    pub(crate) fn cached_roles(&self, upn: &Upn) -> Option<RoleSet> {
        if self.role_cache_ttl.is_zero() {
            return None;
        }
        let cache = self.roles.lock().ok()?;
        let (roles, at) = cache.get(upn)?;
        (at.elapsed() < self.role_cache_ttl).then(|| roles.clone())
    }

    /// The user's object id: remembered, or read (`$select=id`).
    pub(crate) async fn user_object_id(&self, upn: &Upn) -> Result<String, BackendError> {
        if let Some(id) = self.known_id(upn) {
            return Ok(id);
        }
        let raw = self
            .client
            .get(&user_path(upn.as_str()), &[("$select", "id")])
            .await?;
        let id = raw["id"].as_str().unwrap_or_default().to_string();
        if !is_object_id(&id) {
            return Err(BackendError::new(
                ErrorKind::Transient,
                format!("Graph sent no usable object id for {upn}"),
            ));
        }
        self.remember_id(upn, &id);
        Ok(id)
    }

    /// Reads the roles now and caches them.
    pub(crate) async fn read_roles(&self, upn: &Upn) -> Result<RoleSet, BackendError> {
        let id = self.user_object_id(upn).await?;
        let filter = format!("principalId eq '{id}'");
        let page = self
            .client
            .get(
                "/roleManagement/directory/roleAssignments",
                &[("$filter", filter.as_str())],
            )
            .await?;
        self.roles_from(upn, page).await
    }

    /// The role assignments of a user whose object id is known, as a `$batch` item; `None`
    /// when the id is not known yet (it takes a read of its own first).
    pub(crate) fn roles_request(&self, upn: &Upn) -> Option<BatchRequest> {
        let id = self.known_id(upn).filter(|id| is_object_id(id))?;
        Some(BatchRequest {
            method: "GET",
            url: format!(
                "/roleManagement/directory/roleAssignments?$filter={}",
                query_value(&format!("principalId eq '{id}'"))
            ),
            body: None,
        })
    }

    /// The roles in the first page of a user's role assignments (reading the rest), cached.
    pub(crate) async fn roles_from(
        &self,
        upn: &Upn,
        mut page: Value,
    ) -> Result<RoleSet, BackendError> {
        let mut roles = RoleSet::new();
        loop {
            let items: Vec<RoleAssignment> = serde_json::from_value(page["value"].clone())
                .map_err(|e| {
                    BackendError::new(
                        ErrorKind::Transient,
                        format!("Graph sent role assignments in an unexpected shape: {e}"),
                    )
                })?;
            for a in items {
                // A role scoped to an administrative unit does not reach every user.
                if a.directory_scope_id != "/" {
                    continue;
                }
                if let Some(role) = DirectoryRole::from_template_id(&a.role_definition_id) {
                    roles.insert(role);
                }
            }
            match page.get("@odata.nextLink").and_then(Value::as_str) {
                Some(next) => page = self.client.get_next(next).await?,
                None => break,
            }
        }
        tracing::debug!(%upn, roles = ?roles, "directory roles read from Graph");
        match self.roles.lock() {
            Ok(mut cache) => {
                cache.insert(upn.clone(), (roles.clone(), Instant::now()));
            }
            Err(_) => tracing::warn!("the role cache is poisoned; not caching"),
        }
        Ok(roles)
    }
}
