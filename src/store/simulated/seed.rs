//! Seeding the simulated tenant from `[backend.simulated]`.

use sqlx::AnyConnection;

use super::groups::{evaluate, members, Group};
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

impl UserSeed {
    /// An enabled member with no usage location, licence, role or mail of their own.
    pub fn member(upn: Upn, display_name: &str) -> UserSeed {
        UserSeed {
            upn,
            display_name: display_name.to_string(),
            usage_location: None,
            user_type: UserType::Member,
            account_enabled: true,
            licenses: Vec::new(),
            roles: Vec::new(),
            mail: None,
        }
    }
}

/// Seeds the tenant from configuration, noting the first seeding's time (sign-ins configured
/// as durations count back from it). SKUs and their start seats are inserted once;
/// directory facts (name, type, enabled, roles) follow the configuration on every start;
/// a usage location the bot set, and assignments, are kept; initial licences are given only
/// when a user first appears.
pub async fn seed(
    conn: &mut AnyConnection,
    skus: &[SkuSeed],
    users: &[UserSeed],
    at: Timestamp,
) -> StoreResult<()> {
    super::first_seeded(conn, at).await?;
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

/// A group as configured: the group itself and its members at the start.
#[derive(Debug, Clone)]
pub struct GroupSeed {
    /// The group (its id a GUID in lower case), its SKUs and owners.
    pub group: Group,
    /// Its members at the start, in order.
    pub members: Vec<Upn>,
}

/// Seeds the tenant's groups after [`seed`] (its SKUs and users must be there). Rows the
/// tenant already has win: a group, and each of its SKUs, owners and members, is inserted
/// when missing and never changed or removed. A member inserted now gets the group's
/// licences as Entra ID would give them at once (in the configured order: a member without
/// a seat is in error with `CountViolation`); when a group gained a SKU, its earlier members
/// are given it too.
pub async fn seed_groups(
    conn: &mut AnyConnection,
    groups: &[GroupSeed],
    at: Timestamp,
) -> StoreResult<()> {
    for seed in groups {
        let g = &seed.group;
        sqlx::query(
            "INSERT OR IGNORE INTO groups (id, display_name, dynamic, unified, mail_enabled,
                 security_enabled, role_assignable, synced) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&g.id)
        .bind(&g.display_name)
        .bind(g.flags.dynamic)
        .bind(g.flags.unified)
        .bind(g.flags.mail_enabled)
        .bind(g.flags.security_enabled)
        .bind(g.flags.role_assignable)
        .bind(g.flags.synced)
        .execute(&mut *conn)
        .await?;
        let mut new_sku = false;
        for part in &g.skus {
            new_sku |= insert_pair(conn, "group_skus", "sku_part_number", &g.id, part).await?;
        }
        for owner in &g.owners {
            insert_pair(conn, "group_owners", "upn", &g.id, owner.as_str()).await?;
        }
        let earlier = if new_sku {
            members(conn, &g.id).await?
        } else {
            Vec::new()
        };
        let mut joined = Vec::new();
        for member in &seed.members {
            if super::groups::insert_member(conn, &g.id, member, at).await? {
                joined.push(member);
            }
        }
        for member in earlier.iter().chain(joined) {
            evaluate(conn, &g.id, member, at).await?;
        }
    }
    Ok(())
}

/// Inserts `(group_id, column) = (group, value)` into `table` unless there; true if it was
/// not.
async fn insert_pair(
    conn: &mut AnyConnection,
    table: &str,
    column: &str,
    group: &str,
    value: &str,
) -> StoreResult<bool> {
    let sql = format!("INSERT OR IGNORE INTO {table} (group_id, {column}) VALUES (?, ?)");
    let done = sqlx::query(&sql)
        .bind(group)
        .bind(value)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
