//! The simulated tenant's own database (a file beside the bot's store, with its own
//! migrations in `migrations/simulated/`): its SKUs, users, direct assignments, groups with
//! their members' licence states, the users' sign-ins, and purchases, so a restart keeps
//! what the bot bought, assigned and changed, and the bot's production schema holds nothing
//! of it.
//! [`carry_over`] moves the rows an older store kept in `sim_*` tables.

mod carry_over;
mod groups;
#[cfg(test)]
mod groups_tests;
mod purchases;
mod seed;
mod sign_ins;
#[cfg(test)]
mod sign_ins_tests;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use sqlx::{AnyConnection, AnyPool};

use super::row::Columns;
use super::sql::{update, Table};
use super::{ts, Store, StoreResult, Timestamp, WriteTx};
use crate::domain::{CountryCode, DirectoryRole, RoleSet, Upn, UserType};

pub(super) use carry_over::carry_over;
use groups::StateRow;
pub use groups::{
    add_member, group, is_member, remove_member, reprocess, Group, GroupLicenceState, MemberState,
};
pub use purchases::{purchase, purchase_count, reduce, PurchaseResult};
pub use seed::{seed, seed_groups, GroupSeed, SkuSeed, UserSeed};
pub use sign_ins::{first_seeded, seed_sign_ins, sign_ins, SignInAt, SignInSeed, SignIns};

/// The simulated tenant's schema, apart from the bot's.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/simulated");

/// The simulated tenant's database: the same connection handling as the bot's [`Store`]
/// (one writer at a time, WAL, a private file), its own file and schema.
#[derive(Clone)]
pub struct TenantStore {
    db: Store,
}

impl TenantStore {
    /// The URL of the simulated tenant beside the store at `store_url`:
    /// `data/licensebot.db` has its tenant in `data/licensebot.simulated-tenant.db`. A store
    /// in memory has its tenant in memory too; a store on PostgreSQL has it in
    /// `data/licensebot.simulated-tenant.db` (a simulation keeps its file).
    pub fn url_beside(store_url: &str) -> StoreResult<String> {
        if super::Dialect::of_url(store_url) == Some(super::Dialect::Postgres) {
            return Ok("sqlite://data/licensebot.simulated-tenant.db".to_string());
        }
        Ok(match super::connect::file_of(store_url)? {
            Some(path) => format!("sqlite://{}", beside(&path).display()),
            None => "sqlite::memory:".to_string(),
        })
    }

    /// Opens the simulated tenant at `url` and brings its schema up to date. With `create`,
    /// a missing file is created (mode 0600).
    pub async fn open(url: &str, create: bool) -> StoreResult<TenantStore> {
        let db = Store::open(url, create).await?;
        db.run_migrations(&MIGRATOR).await?;
        Ok(TenantStore { db })
    }

    /// A connection for reads.
    pub async fn read(&self) -> StoreResult<super::ReadConn> {
        self.db.read().await
    }

    /// Starts the one write transaction allowed at a time.
    pub async fn write(&self) -> StoreResult<WriteTx<'_>> {
        self.db.write().await
    }

    /// The pool (tests read and change the tenant through it, as an admin would).
    pub fn pool(&self) -> &AnyPool {
        self.db.pool()
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.db.close().await;
    }
}

/// The tenant file beside the store file `store`.
fn beside(store: &Path) -> PathBuf {
    let stem = store.file_stem().unwrap_or_default().to_string_lossy();
    let name = match store.extension() {
        Some(ext) => format!("{stem}.simulated-tenant.{}", ext.to_string_lossy()),
        None => format!("{stem}.simulated-tenant"),
    };
    store.with_file_name(name)
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

/// A directory user with the SKUs they hold and where each comes from.
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
    /// SKU part numbers held from any source (assigned directly or from a group), in name
    /// order, each once.
    pub licenses: Vec<String>,
    /// SKU part numbers assigned directly, in name order.
    pub direct: Vec<String>,
    /// How each SKU of each group they are a member of stands for them, held or not, by
    /// group id then SKU.
    pub group_states: Vec<MemberState>,
    /// Mail address, when one of its own is set.
    pub mail: Option<String>,
}

impl User {
    /// Whether they hold the SKU, from any source.
    pub fn holds(&self, part: &str) -> bool {
        self.licenses.iter().any(|l| l == part)
    }

    /// Whether the SKU is assigned to them directly.
    pub fn holds_directly(&self, part: &str) -> bool {
        self.direct.iter().any(|l| l == part)
    }

    /// The groups (their ids) whose assignment of the SKU is in force for them.
    pub fn groups_giving<'u>(&'u self, part: &'u str) -> impl Iterator<Item = &'u str> + 'u {
        self.group_states
            .iter()
            .filter(move |s| s.sku_part_number == part && s.state == GroupLicenceState::Active)
            .map(|s| s.group.as_str())
    }
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

/// The SKUs with their counts: a seat is consumed by each user who holds the SKU, once
/// whatever the number of sources (a direct assignment, groups whose assignment is active):
/// the direct holders, and the users an active group gives it to without a direct one. Each
/// part is read from an index by SKU (`0004_seats_by_sku.sql`).
const SKUS: Table<Sku> = Table::new(
    "skus s",
    "s.sku_part_number, s.sku_id, s.enabled, s.unit_price_monthly, s.service_plans,
              (SELECT COUNT(*) FROM assignments a WHERE a.sku_part_number = s.sku_part_number)
              + (SELECT COUNT(DISTINCT g.upn) FROM group_assignments g
                  WHERE g.sku_part_number = s.sku_part_number AND g.state = 'Active'
                    AND NOT EXISTS (SELECT 1 FROM assignments a
                                     WHERE a.upn = g.upn
                                       AND a.sku_part_number = g.sku_part_number))
                AS consumed",
    read_sku,
);

fn read_sku(c: &Columns<'_>) -> StoreResult<Sku> {
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
pub async fn sku(conn: &mut AnyConnection, part: &str) -> StoreResult<Option<Sku>> {
    SKUS.first(conn, "WHERE s.sku_part_number = ?", &[part.into()])
        .await
}

/// The users with their licences: one statement for a user, their direct assignments (a JSON
/// array, in name order) and their groups' assignment states (a JSON array of objects, by
/// group then SKU).
const USERS: Table<User> = Table::new(
    "users u",
    "id, upn, display_name, usage_location, user_type, account_enabled, roles, mail,
              (SELECT json_group_array(sku_part_number)
                 FROM (SELECT sku_part_number FROM assignments a
                        WHERE a.upn = u.upn ORDER BY sku_part_number)) AS direct,
              (SELECT json_group_array(json_object('group', group_id,
                          'sku_part_number', sku_part_number, 'state', state, 'error', error))
                 FROM (SELECT group_id, sku_part_number, state, error FROM group_assignments g
                        WHERE g.upn = u.upn ORDER BY group_id, sku_part_number)) AS group_states",
    read_user,
);

fn read_user(c: &Columns<'_>) -> StoreResult<User> {
    const T: &str = "users";
    let roles: Vec<String> = c.json("roles")?;
    let roles = roles
        .iter()
        .map(|s| s.parse::<DirectoryRole>().map_err(|e| super::corrupt(T, e)))
        .collect::<StoreResult<RoleSet>>()?;
    let direct: Vec<String> = c.json("direct")?;
    let group_states = c
        .json::<Vec<StateRow>>("group_states")?
        .into_iter()
        .map(|s| s.into_state(T))
        .collect::<StoreResult<Vec<MemberState>>>()?;
    let mut licenses: Vec<String> = direct.clone();
    licenses.extend(
        group_states
            .iter()
            .filter(|s| s.state == GroupLicenceState::Active)
            .map(|s| s.sku_part_number.clone()),
    );
    licenses.sort();
    licenses.dedup();
    Ok(User {
        id: c.get("id")?,
        upn: c.word("upn")?,
        display_name: c.get("display_name")?,
        usage_location: c.opt_word("usage_location")?,
        user_type: c.word("user_type")?,
        account_enabled: c.flag("account_enabled")?,
        roles,
        licenses,
        direct,
        group_states,
        mail: c.get("mail")?,
    })
}

/// A user with their licences.
pub async fn user(conn: &mut AnyConnection, upn: &Upn) -> StoreResult<Option<User>> {
    USERS
        .first(conn, "WHERE upn = ?", &[upn.as_str().into()])
        .await
}

/// Sets a user's usage location.
pub async fn set_usage_location(
    conn: &mut AnyConnection,
    upn: &Upn,
    country: &CountryCode,
) -> StoreResult<()> {
    let params = [country.as_str().into(), upn.as_str().into()];
    update(conn, "users", "usage_location = ?", "upn = ?", &params).await?;
    Ok(())
}

/// Gives a user a SKU; false if they already held it.
pub async fn assign(
    conn: &mut AnyConnection,
    upn: &Upn,
    part: &str,
    at: Timestamp,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO assignments (upn, sku_part_number, assigned_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(upn.as_str())
    .bind(part)
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes a SKU from a user; false if they did not hold it.
pub async fn unassign(conn: &mut AnyConnection, upn: &Upn, part: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM assignments WHERE upn = ? AND sku_part_number = ?")
        .bind(upn.as_str())
        .bind(part)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The users who hold the SKU `part`, assigned directly or from a group, by UPN.
pub async fn holders(conn: &mut AnyConnection, part: &str) -> StoreResult<Vec<Upn>> {
    let upns: Vec<String> = sqlx::query_scalar(
        "SELECT upn FROM assignments WHERE sku_part_number = ?1
         UNION
         SELECT upn FROM group_assignments WHERE sku_part_number = ?1 AND state = 'Active'
         ORDER BY upn",
    )
    .bind(part)
    .fetch_all(conn)
    .await?;
    upns.iter()
        .map(|u| Upn::parse(u).map_err(|e| crate::store::corrupt("assignments", e.0)))
        .collect()
}

/// The UPNs of a group's members, in the order they joined.
pub async fn members(conn: &mut AnyConnection, group: &str) -> StoreResult<Vec<Upn>> {
    let upns: Vec<String> = sqlx::query_scalar(
        "SELECT upn FROM group_members WHERE group_id = lower(?) ORDER BY added_at, upn",
    )
    .bind(group)
    .fetch_all(conn)
    .await?;
    upns.iter()
        .map(|u| Upn::parse(u).map_err(|e| crate::store::corrupt("group_members", e.0)))
        .collect()
}
