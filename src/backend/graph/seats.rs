//! Seats of the managed SKU from `GET /subscribedSkus` (which supports `$select` but not
//! `$filter`, so the SKU is picked here), and the tenant's SKU catalogue: each SKU's id,
//! part number and service plans, used to tell which held licences grant Power BI Pro.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::client::BatchRequest;
use super::GraphTenant;
use crate::backend::{BackendError, ErrorKind, Seats};

const SKU_SELECT: &str =
    "skuId,skuPartNumber,appliesTo,capabilityStatus,consumedUnits,prepaidUnits,servicePlans";

/// One entry of `subscribedSkus`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubscribedSku {
    pub sku_id: String,
    pub sku_part_number: String,
    #[serde(default)]
    pub consumed_units: i64,
    #[serde(default)]
    pub prepaid_units: PrepaidUnits,
    #[serde(default)]
    pub service_plans: Vec<ServicePlan>,
}

/// `prepaidUnits`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PrepaidUnits {
    #[serde(default)]
    pub enabled: i64,
}

/// One service plan of a SKU.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServicePlan {
    pub service_plan_id: String,
    pub service_plan_name: String,
}

/// The tenant's SKUs, as last read.
#[derive(Debug, Default)]
pub(crate) struct SkuCatalogue {
    pub skus: Vec<SubscribedSku>,
}

impl SkuCatalogue {
    /// The SKU with this id.
    pub fn by_id(&self, sku_id: &str) -> Option<&SubscribedSku> {
        self.skus
            .iter()
            .find(|s| s.sku_id.eq_ignore_ascii_case(sku_id))
    }

    /// The SKUs with this part number (a product bought twice can appear twice).
    pub fn by_part<'a>(&'a self, part: &'a str) -> impl Iterator<Item = &'a SubscribedSku> + 'a {
        self.skus
            .iter()
            .filter(move |s| s.sku_part_number.eq_ignore_ascii_case(part))
    }
}

impl GraphTenant {
    /// Reads `subscribedSkus` (following `@odata.nextLink`) and refreshes the catalogue.
    pub(crate) async fn load_catalogue(&self) -> Result<Arc<SkuCatalogue>, BackendError> {
        let page = self
            .client
            .get("/subscribedSkus", &[("$select", SKU_SELECT)])
            .await?;
        self.catalogue_from(page).await
    }

    /// `GET /subscribedSkus` as a `$batch` item.
    pub(crate) fn catalogue_request() -> BatchRequest {
        BatchRequest {
            method: "GET",
            url: format!("/subscribedSkus?$select={SKU_SELECT}"),
            body: None,
        }
    }

    /// Refreshes the catalogue from the first page of `subscribedSkus`, reading the rest.
    pub(crate) async fn catalogue_from(
        &self,
        mut page: Value,
    ) -> Result<Arc<SkuCatalogue>, BackendError> {
        let mut skus = Vec::new();
        loop {
            let items: Vec<SubscribedSku> =
                serde_json::from_value(page["value"].clone()).map_err(|e| {
                    BackendError::new(
                        ErrorKind::Transient,
                        format!("Graph sent subscribedSkus in an unexpected shape: {e}"),
                    )
                })?;
            skus.extend(items);
            match page.get("@odata.nextLink").and_then(Value::as_str) {
                Some(next) => page = self.client.get_next(next).await?,
                None => break,
            }
        }
        let catalogue = Arc::new(SkuCatalogue { skus });
        *self.catalogue.write().await = Some(catalogue.clone());
        Ok(catalogue)
    }

    /// The catalogue as last read, reading it when there is none yet.
    pub(crate) async fn catalogue(&self) -> Result<Arc<SkuCatalogue>, BackendError> {
        if let Some(c) = self.catalogue.read().await.as_ref() {
            return Ok(c.clone());
        }
        self.load_catalogue().await
    }

    /// The managed SKU's id, from the catalogue (read again once when it is not there).
    pub(crate) async fn managed_sku_id(&self) -> Result<String, BackendError> {
        let catalogue = self.catalogue().await?;
        if let Some(s) = catalogue.by_part(&self.sku).next() {
            return Ok(s.sku_id.clone());
        }
        let catalogue = self.load_catalogue().await?;
        let found = catalogue
            .by_part(&self.sku)
            .next()
            .map(|s| s.sku_id.clone());
        found.ok_or_else(|| self.no_such_sku(&catalogue))
    }

    fn no_such_sku(&self, catalogue: &SkuCatalogue) -> BackendError {
        let known: Vec<&str> = catalogue
            .skus
            .iter()
            .map(|s| s.sku_part_number.as_str())
            .collect();
        BackendError::new(
            ErrorKind::Invalid,
            format!(
                "the tenant has no subscription for {} (its SKUs: {})",
                self.sku,
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        )
    }

    /// Enabled and consumed units of the managed SKU, read now.
    pub(crate) async fn read_seats(&self) -> Result<Seats, BackendError> {
        let catalogue = self.load_catalogue().await?;
        self.seats_in(&catalogue)
    }

    /// Enabled and consumed units of the managed SKU in a freshly read catalogue.
    pub(crate) fn seats_in(&self, catalogue: &SkuCatalogue) -> Result<Seats, BackendError> {
        let mut found = false;
        let (mut enabled, mut consumed) = (0, 0);
        for sku in catalogue.by_part(&self.sku) {
            found = true;
            enabled += sku.prepaid_units.enabled;
            consumed += sku.consumed_units;
        }
        if !found {
            return Err(self.no_such_sku(catalogue));
        }
        Ok(Seats {
            enabled,
            consumed,
            unit_price_monthly: None,
        })
    }
}
