//! Seeding the simulated tenant from `[backend.simulated]`.

use sqlx::SqliteConnection;

use super::object_id;
use crate::domain::{CountryCode, DirectoryRole, Upn, UserType};
use crate::store::{corrupt, ts, StoreResult, Timestamp};

/// A SKU as configured.
#[derive(Debug, Clone)]
pub struct SkuSeed {
    /// e.g. `POWER_BI_PRO`.
    pub sku_part_number: String,
    /// The product GUID.
    pub sku_id: String,
    /// Seats the tenant starts with.
    pub seats: i64,
    /// Price per seat per month.
    pub unit_price_monthly: f64,
    /// Service plans the SKU contains.
    pub service_plans: Vec<String>,
}

/// A directory user as configured.
#[derive(Debug, Clone)]
pub struct UserSeed {
    /// The UPN.
    pub upn: Upn,
    /// Display name.
    pub display_name: String,
    /// Usage location, if set.
    pub usage_location: Option<CountryCode>,
    /// Member or guest.
    pub user_type: UserType,
    /// Sign-in allowed.
    pub account_enabled: bool,
    /// SKUs held at the start.
    pub licenses: Vec<String>,
    /// Directory roles.
    pub roles: Vec<DirectoryRole>,
    /// Mail address; the UPN when absent.
    pub mail: Option<String>,
}

/// Seeds the tenant from configuration. SKUs and their start seats are inserted once;
/// directory facts (name, type, enabled, roles) follow the configuration on every start;
/// a usage location the bot set, and assignments, are kept; initial licences are given only
/// when a user first appears.
pub async fn seed(
    conn: &mut SqliteConnection,
    skus: &[SkuSeed],
    users: &[UserSeed],
    at: Timestamp,
) -> StoreResult<()> {
    for s in skus {
        sqlx::query(
            "INSERT INTO skus (sku_part_number, sku_id, enabled, unit_price_monthly, service_plans)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (sku_part_number) DO UPDATE SET sku_id = excluded.sku_id,
                 unit_price_monthly = excluded.unit_price_monthly, service_plans = excluded.service_plans",
        )
        .bind(&s.sku_part_number)
        .bind(&s.sku_id)
        .bind(s.seats)
        .bind(s.unit_price_monthly)
        .bind(serde_json::to_string(&s.service_plans).map_err(|e| corrupt("skus", e))?)
        .execute(&mut *conn)
        .await?;
    }
    for u in users {
        let roles: Vec<&str> = u.roles.iter().map(|r| r.name()).collect();
        let roles = serde_json::to_string(&roles).map_err(|e| corrupt("users", e))?;
        let inserted = sqlx::query(
            "INSERT INTO users (upn, id, display_name, usage_location, user_type, account_enabled, roles, mail)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (upn) DO NOTHING",
        )
        .bind(u.upn.as_str())
        .bind(object_id(&u.upn))
        .bind(&u.display_name)
        .bind(u.usage_location.as_ref().map(CountryCode::as_str))
        .bind(u.user_type.as_str())
        .bind(u.account_enabled)
        .bind(&roles)
        .bind(u.mail.as_deref())
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            for sku in &u.licenses {
                sqlx::query(
                    "INSERT INTO assignments (upn, sku_part_number, assigned_at) VALUES (?, ?, ?)
                     ON CONFLICT DO NOTHING",
                )
                .bind(u.upn.as_str())
                .bind(sku)
                .bind(ts(at))
                .execute(&mut *conn)
                .await?;
            }
        } else {
            sqlx::query(
                "UPDATE users SET display_name = ?, user_type = ?, account_enabled = ?, roles = ?,
                     mail = ?, usage_location = COALESCE(usage_location, ?)
                 WHERE upn = ?",
            )
            .bind(&u.display_name)
            .bind(u.user_type.as_str())
            .bind(u.account_enabled)
            .bind(&roles)
            .bind(u.mail.as_deref())
            .bind(u.usage_location.as_ref().map(CountryCode::as_str))
            .bind(u.upn.as_str())
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}
