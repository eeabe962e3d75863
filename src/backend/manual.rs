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

#[async_trait]
impl Purchaser for ManualPurchaser {
    fn name(&self) -> &'static str {
        "manual"
    }

    async fn lower_seats(&self, order: &SeatOrder) -> Result<PurchaseProgress, BackendError> {
        let seats = self.tenant.seats().await?;
        if seats.enabled <= order.target_seats {
            Ok(PurchaseProgress::Done {
                enabled: seats.enabled,
            })
        } else {
            Ok(PurchaseProgress::AwaitingPerson {
                enabled: seats.enabled,
                via_reseller: self.via_reseller,
            })
        }
    }

    async fn raise_seats(&self, order: &SeatOrder) -> Result<PurchaseProgress, BackendError> {
        let seats = self.tenant.seats().await?;
        if seats.enabled >= order.target_seats {
            Ok(PurchaseProgress::Done {
                enabled: seats.enabled,
            })
        } else {
            Ok(PurchaseProgress::AwaitingPerson {
                enabled: seats.enabled,
                via_reseller: self.via_reseller,
            })
        }
    }
}
