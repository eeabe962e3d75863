//! The purchase port: raising (and lowering) the managed SKU's seat count ([`Purchaser`]).
//! The simulated tenant, Partner Center and the manual purchase task implement it.

use async_trait::async_trait;

use super::tenant::{BackendError, ErrorKind};
use crate::domain::{BillingCycle, RequestId};

/// An order to raise the managed SKU's seat count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatOrder {
    /// The request it serves.
    pub request: RequestId,
    /// The absolute seat count to reach (decided at approval; a retry re-applies it).
    pub target_seats: i64,
    /// Seats added over the count seen at approval.
    pub quantity: i64,
    /// Monthly or annual.
    pub billing_cycle: BillingCycle,
    /// Key the backend uses to recognise a retry of the same order.
    pub idempotency_key: String,
}

/// Where a purchase is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurchaseProgress {
    /// The seat count is at (or above) the target.
    Done {
        /// Seats enabled now.
        enabled: i64,
    },
    /// Accepted but not finished (an order in progress); ask again later.
    InProgress {
        /// What is being waited for.
        detail: String,
    },
    /// A person has to buy the seats (direct or Enterprise Agreement customers): the engine
    /// hands the order to the billing approvers and asks again later.
    AwaitingPerson {
        /// Seats enabled now.
        enabled: i64,
        /// True when the seats are ordered through a reseller (Enterprise Agreement / volume
        /// licensing), false when bought in the Microsoft 365 admin center.
        via_reseller: bool,
    },
}

/// Buys seats.
#[async_trait]
pub trait Purchaser: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &'static str;

    /// Raises the seat count to the order's target; never lowers it.
    async fn raise_seats(&self, order: &SeatOrder) -> Result<PurchaseProgress, BackendError>;

    /// Lowers the seat count to the order's target (a reduction, `quantity` negative); never
    /// raises it. Microsoft allows reductions only within a short window after a purchase or
    /// renewal; outside it the backend refuses (`Invalid`, with its words).
    async fn lower_seats(&self, order: &SeatOrder) -> Result<PurchaseProgress, BackendError> {
        Err(BackendError::new(
            ErrorKind::Invalid,
            format!(
                "the {} purchase backend cannot remove seats (asked for {})",
                self.name(),
                order.target_seats
            ),
        ))
    }
}
