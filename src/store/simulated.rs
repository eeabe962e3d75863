//! `sim_*`: the state of the simulated tenant (SKUs, users, assignments, purchases), so a
//! restart keeps what the bot bought and assigned.

use sqlx::sqlite::SqliteRow;
use sqlx::SqliteConnection;

use super::row::Columns;
use super::sql::{update, Table};
use super::{ts, StoreResult, Timestamp};
use crate::domain::{BillingCycle, CountryCode, DirectoryRole, RoleSet, Upn, UserType};

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

/// A SKU with its current counts.
#[derive(Debug, Clone)]
pub struct Sku {
    /// e.g. `POWER_BI_PRO`.
    pub sku_part_number: String,
    /// The product GUID.
    pub sku_id: String,
    /// Seats bought.
    pub enabled: i64,
    /// Seats assigned.
    pub consumed: i64,
    /// Price per seat per month.
    pub unit_price_monthly: f64,
    /// Service plans.
    pub service_plans: Vec<String>,
}

/// A directory user with the SKUs they hold.
#[derive(Debug, Clone)]
pub struct User {
    /// Object id.
    pub id: String,
    /// The UPN.
    pub upn: Upn,
    /// Display name.
    pub display_name: String,
    /// Usage location.
    pub usage_location: Option<CountryCode>,
    /// Member or guest.
    pub user_type: UserType,
    /// Sign-in allowed.
    pub account_enabled: bool,
    /// Directory roles.
    pub roles: RoleSet,
    /// SKU part numbers held.
    pub licenses: Vec<String>,
    /// Mail address, when one of its own is set.
    pub mail: Option<String>,
}

/// A stable object id for a simulated user, shaped like an Entra GUID.
pub fn object_id(upn: &Upn) -> String {
    use sha2::{Digest, Sha256};
    let h = hex::encode(Sha256::digest(upn.as_str().as_bytes()));
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
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
            "INSERT INTO sim_skus (sku_part_number, sku_id, enabled, unit_price_monthly, service_plans)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (sku_part_number) DO UPDATE SET sku_id = excluded.sku_id,
                 unit_price_monthly = excluded.unit_price_monthly, service_plans = excluded.service_plans",
        )
        .bind(&s.sku_part_number)
        .bind(&s.sku_id)
        .bind(s.seats)
        .bind(s.unit_price_monthly)
        .bind(serde_json::to_string(&s.service_plans).map_err(|e| super::corrupt("sim_skus", e))?)
        .execute(&mut *conn)
        .await?;
    }
    for u in users {
        let roles: Vec<&str> = u.roles.iter().map(|r| r.name()).collect();
        let roles = serde_json::to_string(&roles).map_err(|e| super::corrupt("sim_users", e))?;
        let inserted = sqlx::query(
            "INSERT INTO sim_users (upn, id, display_name, usage_location, user_type, account_enabled, roles, mail)
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
                    "INSERT INTO sim_assignments (upn, sku_part_number, assigned_at) VALUES (?, ?, ?)
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
                "UPDATE sim_users SET display_name = ?, user_type = ?, account_enabled = ?, roles = ?,
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

/// The SKUs with their counts.
const SKUS: Table<Sku> = Table {
    name: "sim_skus s",
    columns: "s.sku_part_number, s.sku_id, s.enabled, s.unit_price_monthly, s.service_plans,
              (SELECT COUNT(*) FROM sim_assignments a WHERE a.sku_part_number = s.sku_part_number)
                AS consumed",
    read: read_sku,
};

fn read_sku(r: &SqliteRow) -> StoreResult<Sku> {
    let c = Columns::new("sim_skus", r);
    Ok(Sku {
        sku_part_number: c.get("sku_part_number")?,
        sku_id: c.get("sku_id")?,
        enabled: c.get("enabled")?,
        consumed: c.get("consumed")?,
        unit_price_monthly: c.get("unit_price_monthly")?,
        service_plans: c.json("service_plans")?,
    })
}

/// A SKU with its counts.
pub async fn sku(conn: &mut SqliteConnection, part: &str) -> StoreResult<Option<Sku>> {
    SKUS.first(conn, "WHERE s.sku_part_number = ?", &[part.into()])
        .await
}

/// The users with their licences: one statement for a user and their licences (a JSON array,
/// in name order).
const USERS: Table<User> = Table {
    name: "sim_users u",
    columns: "id, upn, display_name, usage_location, user_type, account_enabled, roles, mail,
              (SELECT json_group_array(sku_part_number)
                 FROM (SELECT sku_part_number FROM sim_assignments a
                        WHERE a.upn = u.upn ORDER BY sku_part_number)) AS licenses",
    read: read_user,
};

fn read_user(r: &SqliteRow) -> StoreResult<User> {
    const T: &str = "sim_users";
    let c = Columns::new(T, r);
    let roles: Vec<String> = c.json("roles")?;
    let roles = roles
        .iter()
        .map(|s| s.parse::<DirectoryRole>().map_err(|e| super::corrupt(T, e)))
        .collect::<StoreResult<RoleSet>>()?;
    Ok(User {
        id: c.get("id")?,
        upn: c.word("upn")?,
        display_name: c.get("display_name")?,
        usage_location: c.opt_word("usage_location")?,
        user_type: c.word("user_type")?,
        account_enabled: c.get("account_enabled")?,
        roles,
        licenses: c.json("licenses")?,
        mail: c.get("mail")?,
    })
}

/// A user with their licences.
pub async fn user(conn: &mut SqliteConnection, upn: &Upn) -> StoreResult<Option<User>> {
    USERS
        .first(conn, "WHERE upn = ?", &[upn.as_str().into()])
        .await
}

/// Sets a user's usage location.
pub async fn set_usage_location(
    conn: &mut SqliteConnection,
    upn: &Upn,
    country: &CountryCode,
) -> StoreResult<()> {
    let params = [country.as_str().into(), upn.as_str().into()];
    update(conn, "sim_users", "usage_location = ?", "upn = ?", &params).await?;
    Ok(())
}

/// Gives a user a SKU; false if they already held it.
pub async fn assign(
    conn: &mut SqliteConnection,
    upn: &Upn,
    part: &str,
    at: Timestamp,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO sim_assignments (upn, sku_part_number, assigned_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(upn.as_str())
    .bind(part)
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes a SKU from a user; false if they did not hold it.
pub async fn unassign(conn: &mut SqliteConnection, upn: &Upn, part: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM sim_assignments WHERE upn = ? AND sku_part_number = ?")
        .bind(upn.as_str())
        .bind(part)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

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
    conn: &mut SqliteConnection,
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
        sqlx::query_scalar("SELECT enabled FROM sim_skus WHERE sku_part_number = ?")
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
    conn: &mut SqliteConnection,
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
    conn: &mut SqliteConnection,
    key: &str,
) -> StoreResult<Option<PurchaseResult>> {
    let before: Option<(i64, i64)> =
        sqlx::query_as("SELECT from_seats, to_seats FROM sim_purchases WHERE idempotency_key = ?")
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
    async fn apply(self, conn: &mut SqliteConnection) -> StoreResult<PurchaseResult> {
        let params = [self.to.into(), self.part.into()];
        update(
            &mut *conn,
            "sim_skus",
            "enabled = ?",
            "sku_part_number = ?",
            &params,
        )
        .await?;
        sqlx::query(
            "INSERT INTO sim_purchases (idempotency_key, sku_part_number, from_seats, to_seats, billing_cycle, at)
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
pub async fn purchase_count(conn: &mut SqliteConnection) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM sim_purchases WHERE to_seats > from_seats")
            .fetch_one(conn)
            .await?,
    )
}
