//! Licence assignment: `POST /users/{id}/assignLicense` with both `addLicenses` and
//! `removeLicenses` always present (Graph refuses a body missing either), one user at a time
//! or many through `$batch` (20 a call) with a result per user.

use reqwest::Method;
use serde_json::{json, Value};

use super::client::BatchRequest;
use super::directory::{user_key, user_path};
use super::GraphTenant;
use crate::backend::{BackendError, DirectoryUser};

fn add_body(sku_id: &str) -> Value {
    json!({ "addLicenses": [{ "disabledPlans": [], "skuId": sku_id }], "removeLicenses": [] })
}

fn remove_body(sku_id: &str) -> Value {
    json!({ "addLicenses": [], "removeLicenses": [sku_id] })
}

fn assign_path(user: &DirectoryUser) -> String {
    format!("{}/assignLicense", user_path(user_key(user)))
}

impl GraphTenant {
    /// Assigns the managed SKU to one user.
    pub(crate) async fn assign_licence(&self, user: &DirectoryUser) -> Result<(), BackendError> {
        self.change_licence(user, add_body).await
    }

    /// Removes the managed SKU from one user.
    pub(crate) async fn remove_licence(&self, user: &DirectoryUser) -> Result<(), BackendError> {
        self.change_licence(user, remove_body).await
    }

    /// Sends one user the `assignLicense` body `body` makes for the managed SKU.
    async fn change_licence(
        &self,
        user: &DirectoryUser,
        body: fn(&str) -> Value,
    ) -> Result<(), BackendError> {
        let sku_id = self.managed_sku_id().await?;
        self.client
            .write(Method::POST, &assign_path(user), &body(&sku_id))
            .await
            .map(|_| ())
    }

    /// Assigns the managed SKU to many users in batches of 20; one result per user.
    pub(crate) async fn assign_licences(
        &self,
        users: &[DirectoryUser],
    ) -> Vec<Result<(), BackendError>> {
        if users.is_empty() {
            return Vec::new();
        }
        let sku_id = match self.managed_sku_id().await {
            Ok(id) => id,
            Err(e) => return users.iter().map(|_| Err(e.clone())).collect(),
        };
        let requests: Vec<BatchRequest> = users
            .iter()
            .map(|u| BatchRequest {
                method: "POST",
                url: assign_path(u),
                body: Some(add_body(&sku_id)),
            })
            .collect();
        self.client
            .batch(&requests, false)
            .await
            .into_iter()
            .map(|r| r.map(|_| ()))
            .collect()
    }
}
