//! Manual purchase: for customers who buy in the Microsoft 365 admin center (there is no API
//! that buys seats for them) or through a reseller (Enterprise Agreement, volume licensing).
//! An approved purchase becomes a task for the billing approvers; this purchaser only watches
//! the seat count and reports the order done once the seats are there.

use std::sync::Arc;

use async_trait::async_trait;

use super::{BackendError, PurchaseProgress, Purchaser, SeatOrder, Tenant};

/// Waits for a person to buy the seats.
pub struct ManualPurchaser {
    tenant: Arc<dyn Tenant>,
    via_reseller: bool,
}

impl ManualPurchaser {
    /// Watches `tenant`'s seats; `via_reseller` says how the person orders.
    pub fn new(tenant: Arc<dyn Tenant>, via_reseller: bool) -> Self {
        ManualPurchaser {
            tenant,
            via_reseller,
        }
    }
}

impl ManualPurchaser {
    /// Done when the tenant's seat count already satisfies `reached`; else a person must
    /// change it.
    async fn done_when(
        &self,
        reached: impl Fn(i64) -> bool + Send,
    ) -> Result<PurchaseProgress, BackendError> {
        let enabled = self.tenant.seats().await?.enabled;
        Ok(if reached(enabled) {
            PurchaseProgress::Done { enabled }
        } else {
            PurchaseProgress::AwaitingPerson {
                enabled,
                via_reseller: self.via_reseller,
            }
        })
    }
}

#[async_trait]
impl Purchaser for ManualPurchaser {
    fn name(&self) -> &'static str {
        "manual"
    }

    async fn lower_seats(&self, order: &SeatOrder) -> Result<PurchaseProgress, BackendError> {
        self.done_when(|enabled| enabled <= order.target_seats)
            .await
    }

    async fn raise_seats(&self, order: &SeatOrder) -> Result<PurchaseProgress, BackendError> {
        self.done_when(|enabled| enabled >= order.target_seats)
            .await
    }
}
