//! The records behind the rules on money: the first of two approvals a purchase stage needs
//! (`stage_approvals`) and what the bot bought (`purchases`), from which spend per calendar
//! month (UTC) is read.

use serde::Serialize;
use sqlx::AnyConnection;

use super::{ts, StoreResult, Timestamp};
use crate::domain::{BillingCycle, ChatUserId, RequestId, StageId, Upn};

/// One approval of a stage that needs more than one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageApproval {
    /// The chat account that approved.
    pub approver: ChatUserId,
    /// Its directory user.
    pub approver_upn: Upn,
}

/// Records an approval of `stage`; false when this person (by chat account or directory
/// user) approved it already.
pub async fn add_approval(
    conn: &mut AnyConnection,
    stage: StageId,
    approver: &ChatUserId,
    upn: &Upn,
    at: Timestamp,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO stage_approvals (stage_id, approver, approver_upn, at)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(stage.0)
    .bind(approver.as_str())
    .bind(upn.as_str())
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The approvals a stage has collected, first first.
pub async fn approvals(
    conn: &mut AnyConnection,
    stage: StageId,
) -> StoreResult<Vec<StageApproval>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT approver, approver_upn FROM stage_approvals WHERE stage_id = $1 ORDER BY at, approver",
    )
    .bind(stage.0)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(approver, upn)| {
            Ok(StageApproval {
                approver: ChatUserId(approver),
                approver_upn: Upn::parse(&upn)
                    .map_err(|e| super::corrupt("stage_approvals", e.0))?,
            })
        })
        .collect()
}

/// A purchase the bot carried out.
#[derive(Debug, Clone)]
pub struct Purchase {
    /// The purchase stage.
    pub stage: StageId,
    /// Its request.
    pub request: RequestId,
    /// Seats added.
    pub quantity: i64,
    /// Monthly price of one seat, as shown on the approval.
    pub unit_price: f64,
    /// How it is billed.
    pub cycle: BillingCycle,
}

/// Records a purchase carried out (once per stage: a job that runs again records nothing).
pub async fn record_purchase(
    conn: &mut AnyConnection,
    p: &Purchase,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO purchases (stage_id, request_id, quantity, unit_price, billing_cycle, at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(p.stage.0)
    .bind(p.request.0)
    .bind(p.quantity)
    .bind(p.unit_price)
    .bind(p.cycle.as_str())
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// What was bought in one calendar month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthSpend {
    /// `YYYY-MM`.
    pub month: String,
    /// Purchases made.
    pub purchases: i64,
    /// Seats bought.
    pub seats: i64,
    /// Their monthly price, summed.
    pub spent: f64,
}

/// Spend per calendar month, latest first, at most `months` of them; only `month` when given.
pub async fn spend_by_month(
    conn: &mut AnyConnection,
    month: Option<&str>,
    months: i64,
) -> StoreResult<Vec<MonthSpend>> {
    let rows: Vec<(String, i64, i64, f64)> = sqlx::query_as(
        "SELECT substr(at, 1, 7) AS month, COUNT(*), CAST(SUM(quantity) AS BIGINT),
                SUM(quantity * unit_price)
         FROM purchases
         WHERE $1 IS NULL OR substr(at, 1, 7) = $1
         GROUP BY month ORDER BY month DESC LIMIT $2",
    )
    .bind(month)
    .bind(months)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(month, purchases, seats, spent)| MonthSpend {
            month,
            purchases,
            seats,
            spent,
        })
        .collect())
}

/// What the budget of `now`'s month has taken: purchases made this month, and purchases
/// approved and not yet carried out (so two approvals in a row cannot both pass the budget).
pub async fn committed_this_month(conn: &mut AnyConnection, now: Timestamp) -> StoreResult<f64> {
    let month = now.format("%Y-%m").to_string();
    let spent: f64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(quantity * unit_price), 0.0) FROM purchases WHERE substr(at, 1, 7) = $1",
    )
    .bind(&month)
    .fetch_one(&mut *conn)
    .await?;
    let on_order: f64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(s.quantity * COALESCE(s.unit_price, 0.0)), 0.0)
         FROM stages s
         WHERE s.kind = 'purchase' AND s.quantity > 0 AND s.state IN ('approved', 'executing')
           AND NOT EXISTS (SELECT 1 FROM purchases p WHERE p.stage_id = s.id)",
    )
    .fetch_one(conn)
    .await?;
    Ok(spent + on_order)
}
