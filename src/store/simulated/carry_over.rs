//! Moving an older store's `sim_*` rows into the simulated tenant's own file.

use sqlx::{AnyConnection, Connection};

use super::{beside, TenantStore};
use crate::store::{Store, StoreResult};

/// Before the store's migration 0010 drops its `sim_*` tables, copies any rows they hold into
/// the simulated tenant beside it (created if needed), so an existing simulated tenant keeps
/// its seats, users, assignments and purchases. Rows the tenant file already has win (it is
/// the newer copy); the copy is one transaction, and repeating it after a crash copies
/// nothing twice. Does nothing for a store in memory, a new store, or empty tables.
pub(in crate::store) async fn carry_over(store: &Store) -> StoreResult<()> {
    let Some(path) = store.path() else {
        return Ok(());
    };
    let mut conn = store.read().await?;
    let legacy: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sim_skus'",
    )
    .fetch_one(&mut *conn)
    .await?;
    if legacy == 0 {
        return Ok(());
    }
    let rows: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM sim_skus) + (SELECT COUNT(*) FROM sim_users)
              + (SELECT COUNT(*) FROM sim_purchases)",
    )
    .fetch_one(&mut *conn)
    .await?;
    if rows == 0 {
        return Ok(());
    }
    let tenant_path = beside(path);
    let tenant = TenantStore::open(&format!("sqlite://{}", tenant_path.display()), true).await?;
    tenant.close().await;
    // Before migration 0006 the users had no `mail`.
    let has_mail: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pragma_table_info('sim_users') WHERE name = 'mail'",
    )
    .fetch_one(&mut *conn)
    .await?;
    let mail = if has_mail == 1 { "mail" } else { "NULL" };
    sqlx::query("ATTACH DATABASE ? AS tenant")
        .bind(tenant_path.to_string_lossy().into_owned())
        .execute(&mut *conn)
        .await?;
    let copied = copy_legacy_rows(&mut conn, mail).await;
    sqlx::query("DETACH DATABASE tenant")
        .execute(&mut *conn)
        .await?;
    copied
}

/// Copies the `sim_*` rows into the attached `tenant`, in one transaction.
async fn copy_legacy_rows(conn: &mut AnyConnection, mail: &str) -> StoreResult<()> {
    let statements = [
        "INSERT OR IGNORE INTO tenant.skus (sku_part_number, sku_id, enabled, unit_price_monthly,
             service_plans)
         SELECT sku_part_number, sku_id, enabled, unit_price_monthly, service_plans FROM sim_skus"
            .to_string(),
        format!(
            "INSERT OR IGNORE INTO tenant.users (upn, id, display_name, usage_location, user_type,
                 account_enabled, roles, mail)
             SELECT upn, id, display_name, usage_location, user_type, account_enabled, roles,
                 {mail} FROM sim_users"
        ),
        "INSERT OR IGNORE INTO tenant.assignments (upn, sku_part_number, assigned_at)
         SELECT upn, sku_part_number, assigned_at FROM sim_assignments"
            .to_string(),
        "INSERT OR IGNORE INTO tenant.purchases (idempotency_key, sku_part_number, from_seats,
             to_seats, billing_cycle, at)
         SELECT idempotency_key, sku_part_number, from_seats, to_seats, billing_cycle, at
           FROM sim_purchases"
            .to_string(),
    ];
    let mut tx = conn.begin().await?;
    for sql in &statements {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
