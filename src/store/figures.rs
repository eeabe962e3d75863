//! Figures for the operator's dashboard that only the database knows, read at scrape time:
//! how long approvers took to decide and how long requests took from asking to done. Read
//! from the stored rows, they survive restarts and count every instance's work.

use sqlx::{AnyConnection, Row};

use super::{Dialect, StoreResult};

/// How many durations fell at or under each bound (cumulative, as a Prometheus histogram
/// counts them), with their number and their sum in seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Durations {
    /// (upper bound in seconds, how many took at most that long), bounds ascending.
    pub buckets: Vec<(f64, u64)>,
    /// How many there are.
    pub count: u64,
    /// Their sum, in seconds.
    pub sum: f64,
}

/// From a stage's posting to approvers to an approver's decision on it, for the stages
/// decided by a reaction on their approval message (not those approved by the approver's
/// own command as they asked, by an automatic rule, or by no one).
pub async fn time_to_decision(
    conn: &mut AnyConnection,
    dialect: Dialect,
    bounds: &[f64],
) -> StoreResult<Durations> {
    durations(
        conn,
        dialect,
        ("routed_at", "decided_at"),
        "stages WHERE decided_at IS NOT NULL AND decided_via IN ('reaction', 'same_reaction')",
        bounds,
    )
    .await
}

/// From asking to done, for the requests that completed.
pub async fn time_to_done(
    conn: &mut AnyConnection,
    dialect: Dialect,
    bounds: &[f64],
) -> StoreResult<Durations> {
    durations(
        conn,
        dialect,
        ("created_at", "updated_at"),
        "requests WHERE state = 'completed'",
        bounds,
    )
    .await
}

/// The durations from column `span.0` to column `span.1` of the rows `rows` (a table and
/// its WHERE) selects, counted under each of `bounds` in one pass.
async fn durations(
    conn: &mut AnyConnection,
    dialect: Dialect,
    span: (&str, &str),
    rows: &str,
    bounds: &[f64],
) -> StoreResult<Durations> {
    let under: String = bounds
        .iter()
        .map(|b| format!(", COALESCE(SUM(CASE WHEN d <= {b:?} THEN 1 ELSE 0 END), 0)"))
        .collect();
    let sql = format!(
        "SELECT COUNT(*), CAST(COALESCE(SUM(d), 0) AS DOUBLE PRECISION){under}
         FROM (SELECT {} AS d FROM {rows}) AS spans",
        seconds_between(dialect, span.0, span.1)
    );
    let row = sqlx::query(&sql).fetch_one(conn).await?;
    let whole = |i: usize| -> StoreResult<u64> { Ok(row.try_get::<i64, _>(i)?.max(0) as u64) };
    let mut buckets = Vec::with_capacity(bounds.len());
    for (i, bound) in bounds.iter().enumerate() {
        buckets.push((*bound, whole(i + 2)?));
    }
    Ok(Durations {
        buckets,
        count: whole(0)?,
        sum: row.try_get(1)?,
    })
}

/// Seconds from the timestamp in column `from` to the one in column `to` (both stored as
/// RFC 3339 text), as an SQL expression.
fn seconds_between(dialect: Dialect, from: &str, to: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("((julianday({to}) - julianday({from})) * 86400.0)"),
        Dialect::Postgres => format!(
            "CAST(EXTRACT(EPOCH FROM (CAST({to} AS TIMESTAMPTZ) - CAST({from} AS TIMESTAMPTZ)))
                  AS DOUBLE PRECISION)"
        ),
    }
}
