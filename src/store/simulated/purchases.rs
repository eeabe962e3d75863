//! Seat purchases and reductions, each applied once under its idempotency key.

use sqlx::AnyConnection;

use super::sku;
use crate::domain::BillingCycle;
use crate::store::sql::update;
use crate::store::{ts, StoreResult, Timestamp};

/// What a purchase did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurchaseResult {
    /// Seats before.
    pub from: i64,
    /// Seats after.
    pub to: i64,
    /// False when this key had been applied before (a retry).
    pub first_time: bool,
}

/// Raises a SKU's seats to `target` under an idempotency key: a repeated key returns the
/// first result, and the count never goes down.
pub async fn purchase(
    conn: &mut AnyConnection,
    key: &str,
    part: &str,
    target: i64,
    cycle: BillingCycle,
    at: Timestamp,
) -> StoreResult<Option<PurchaseResult>> {
    if let Some(first) = applied_before(&mut *conn, key).await? {
        return Ok(Some(first));
    }
    let current: Option<i64> =
        sqlx::query_scalar("SELECT enabled FROM skus WHERE sku_part_number = ?")
            .bind(part)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(current) = current else {
        return Ok(None);
    };
    let change = SeatChange {
        key,
        part,
        from: current,
        to: current.max(target),
        cycle,
        at,
    };
    Ok(Some(change.apply(conn).await?))
}

/// Lowers a SKU's seats to `target` under an idempotency key (a repeated key returns the
/// first result). Never raises the count, and never below the seats assigned: `Ok(Err(n))`
/// says `n` seats are assigned.
pub async fn reduce(
    conn: &mut AnyConnection,
    key: &str,
    part: &str,
    target: i64,
    at: Timestamp,
) -> StoreResult<Option<Result<PurchaseResult, i64>>> {
    if let Some(first) = applied_before(&mut *conn, key).await? {
        return Ok(Some(Ok(first)));
    }
    let Some(sku) = sku(&mut *conn, part).await? else {
        return Ok(None);
    };
    if target < sku.consumed {
        return Ok(Some(Err(sku.consumed)));
    }
    let change = SeatChange {
        key,
        part,
        from: sku.enabled,
        to: sku.enabled.min(target),
        cycle: BillingCycle::Monthly,
        at,
    };
    Ok(Some(Ok(change.apply(conn).await?)))
}

/// The result of the seat change made under `key` before, if any.
async fn applied_before(
    conn: &mut AnyConnection,
    key: &str,
) -> StoreResult<Option<PurchaseResult>> {
    let before: Option<(i64, i64)> =
        sqlx::query_as("SELECT from_seats, to_seats FROM purchases WHERE idempotency_key = ?")
            .bind(key)
            .fetch_optional(conn)
            .await?;
    Ok(before.map(|(from, to)| PurchaseResult {
        from,
        to,
        first_time: false,
    }))
}

/// A seat count change to make and record under its idempotency key.
struct SeatChange<'a> {
    key: &'a str,
    part: &'a str,
    from: i64,
    to: i64,
    cycle: BillingCycle,
    at: Timestamp,
}

impl SeatChange<'_> {
    async fn apply(self, conn: &mut AnyConnection) -> StoreResult<PurchaseResult> {
        let params = [self.to.into(), self.part.into()];
        update(
            &mut *conn,
            "skus",
            "enabled = ?",
            "sku_part_number = ?",
            &params,
        )
        .await?;
        sqlx::query(
            "INSERT INTO purchases (idempotency_key, sku_part_number, from_seats, to_seats, billing_cycle, at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(self.key)
        .bind(self.part)
        .bind(self.from)
        .bind(self.to)
        .bind(self.cycle.as_str())
        .bind(ts(self.at))
        .execute(conn)
        .await?;
        Ok(PurchaseResult {
            from: self.from,
            to: self.to,
            first_time: true,
        })
    }
}

/// Number of purchases that changed the seat count (tests count these).
pub async fn purchase_count(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM purchases WHERE to_seats > from_seats")
            .fetch_one(conn)
            .await?,
    )
}
