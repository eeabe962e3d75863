//! The simulated tenant's own database (a file beside the bot's store, with its own
//! migrations in `migrations/simulated/`): its SKUs, users, assignments and purchases, so a
//! restart keeps what the bot bought and assigned, and the bot's production schema holds
//! nothing of it. [`carry_over`] moves the rows an older store kept in `sim_*` tables.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{Connection, Sqlite, SqliteConnection, SqlitePool};

use super::row::Columns;
use super::sql::{update, Table};
use super::{ts, Store, StoreResult, Timestamp, WriteTx};
use crate::domain::{BillingCycle, CountryCode, DirectoryRole, RoleSet, Upn, UserType};

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
    /// in memory has its tenant in memory too.
    pub fn url_beside(store_url: &str) -> StoreResult<String> {
        let opts = SqliteConnectOptions::from_str(store_url)?;
        Ok(match super::file_of(store_url, &opts) {
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

    /// A pooled connection for reads.
    pub async fn read(&self) -> StoreResult<PoolConnection<Sqlite>> {
        self.db.read().await
    }

    /// Starts the one write transaction allowed at a time.
    pub async fn write(&self) -> StoreResult<WriteTx<'_>> {
        self.db.write().await
    }

    /// The pool (tests read and change the tenant through it, as an admin would).
    pub fn pool(&self) -> &SqlitePool {
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

/// Before the store's migration 0010 drops its `sim_*` tables, copies any rows they hold into
/// the simulated tenant beside it (created if needed), so an existing simulated tenant keeps
/// its seats, users, assignments and purchases. Rows the tenant file already has win (it is
/// the newer copy); the copy is one transaction, and repeating it after a crash copies
/// nothing twice. Does nothing for a store in memory, a new store, or empty tables.
pub(super) async fn carry_over(store: &Store) -> StoreResult<()> {
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
async fn copy_legacy_rows(conn: &mut SqliteConnection, mail: &str) -> StoreResult<()> {
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
            "INSERT INTO skus (sku_part_number, sku_id, enabled, unit_price_monthly, service_plans)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (sku_part_number) DO UPDATE SET sku_id = excluded.sku_id,
                 unit_price_monthly = excluded.unit_price_monthly, service_plans = excluded.service_plans",
        )
        .bind(&s.sku_part_number)
        .bind(&s.sku_id)
        .bind(s.seats)
        .bind(s.unit_price_monthly)
        .bind(serde_json::to_string(&s.service_plans).map_err(|e| super::corrupt("skus", e))?)
        .execute(&mut *conn)
        .await?;
    }
    for u in users {
        let roles: Vec<&str> = u.roles.iter().map(|r| r.name()).collect();
        let roles = serde_json::to_string(&roles).map_err(|e| super::corrupt("users", e))?;
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

/// The SKUs with their counts.
const SKUS: Table<Sku> = Table {
    name: "skus s",
    columns: "s.sku_part_number, s.sku_id, s.enabled, s.unit_price_monthly, s.service_plans,
              (SELECT COUNT(*) FROM assignments a WHERE a.sku_part_number = s.sku_part_number)
                AS consumed",
    read: read_sku,
};

fn read_sku(r: &SqliteRow) -> StoreResult<Sku> {
    let c = Columns::new("skus", r);
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
    name: "users u",
    columns: "id, upn, display_name, usage_location, user_type, account_enabled, roles, mail,
              (SELECT json_group_array(sku_part_number)
                 FROM (SELECT sku_part_number FROM assignments a
                        WHERE a.upn = u.upn ORDER BY sku_part_number)) AS licenses",
    read: read_user,
};

fn read_user(r: &SqliteRow) -> StoreResult<User> {
    const T: &str = "users";
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
    update(conn, "users", "usage_location = ?", "upn = ?", &params).await?;
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
pub async fn unassign(conn: &mut SqliteConnection, upn: &Upn, part: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM assignments WHERE upn = ? AND sku_part_number = ?")
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
    async fn apply(self, conn: &mut SqliteConnection) -> StoreResult<PurchaseResult> {
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
pub async fn purchase_count(conn: &mut SqliteConnection) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM purchases WHERE to_seats > from_seats")
            .fetch_one(conn)
            .await?,
    )
}

/// The users who hold the SKU `part`, by UPN.
pub async fn holders(conn: &mut SqliteConnection, part: &str) -> StoreResult<Vec<Upn>> {
    let upns: Vec<String> =
        sqlx::query_scalar("SELECT upn FROM assignments WHERE sku_part_number = ? ORDER BY upn")
            .bind(part)
            .fetch_all(conn)
            .await?;
    upns.iter()
        .map(|u| Upn::parse(u).map_err(|e| super::corrupt("assignments", e.0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::store_at_version;

    /// Fills an older store's `sim_*` tables as a simulated tenant in use left them.
    async fn an_old_tenant(store: &Store, with_mail: bool) {
        let mut w = store.write().await.expect("write");
        let mail = if with_mail { ", mail" } else { "" };
        let mail_value = if with_mail {
            ", 'alice.mail@contoso.example'"
        } else {
            ""
        };
        let statements = [
            "INSERT INTO sim_skus VALUES ('POWER_BI_PRO', 'f8a1db68', 7, 9.99, '[\"BI_AZURE_P2\"]')"
                .to_string(),
            format!(
                "INSERT INTO sim_users (upn, id, display_name, usage_location, user_type, \
                 account_enabled, roles{mail}) VALUES ('alice@contoso.example', 'a-1', 'Alice', \
                 'NL', 'Member', 1, '[]'{mail_value})"
            ),
            "INSERT INTO sim_assignments VALUES ('alice@contoso.example', 'POWER_BI_PRO', \
             '2026-11-01T10:00:00.000Z')"
                .to_string(),
            "INSERT INTO sim_purchases VALUES ('job-3', 'POWER_BI_PRO', 5, 7, 'monthly', \
             '2026-11-01T09:00:00.000Z')"
                .to_string(),
        ];
        for sql in &statements {
            sqlx::query(sql).execute(w.conn()).await.expect(sql);
        }
        w.commit().await.expect("commit");
    }

    /// What the tenant beside `store` holds: Pro seats and holders, Alice's mail, purchases.
    async fn tenant_beside(store: &Store) -> (i64, i64, Option<String>, i64) {
        let url = format!(
            "sqlite://{}",
            beside(store.path().expect("a file")).display()
        );
        let tenant = TenantStore::open(&url, false)
            .await
            .expect("the tenant file");
        let mut conn = tenant.read().await.expect("read");
        let sku = sku(&mut conn, "POWER_BI_PRO")
            .await
            .expect("sku")
            .expect("Pro");
        let alice = Upn::parse("alice@contoso.example").expect("upn");
        let alice = user(&mut conn, &alice).await.expect("user").expect("Alice");
        assert_eq!(alice.licenses, vec!["POWER_BI_PRO".to_string()]);
        let purchases = purchase_count(&mut conn).await.expect("purchases");
        (sku.enabled, sku.consumed, alice.mail, purchases)
    }

    async fn legacy_tables(store: &Store) -> i64 {
        let mut conn = store.read().await.expect("read");
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'sim_%'")
            .fetch_one(&mut *conn)
            .await
            .expect("count")
    }

    /// A store made before 0010 keeps its simulated tenant: the rows move to the file beside
    /// it, and the store's schema holds no `sim_*` table any more.
    #[tokio::test]
    async fn an_old_stores_simulated_tenant_moves_to_its_own_file() {
        let (_dir, store) = store_at_version(9).await;
        an_old_tenant(&store, true).await;
        store.migrate().await.expect("upgrade");
        assert_eq!(legacy_tables(&store).await, 0);
        let mail = Some("alice.mail@contoso.example".to_string());
        assert_eq!(tenant_beside(&store).await, (7, 1, mail, 1));
    }

    /// Made before 0006, the users had no `mail`: they move with none (the UPN is used).
    #[tokio::test]
    async fn users_from_before_mail_existed_move_without_one() {
        let (_dir, store) = store_at_version(5).await;
        an_old_tenant(&store, false).await;
        store.migrate().await.expect("upgrade");
        assert_eq!(tenant_beside(&store).await, (7, 1, None, 1));
    }

    /// A start that stopped between the copy and the drop copies again without doubling
    /// anything, and rows the tenant file has since changed are kept.
    #[tokio::test]
    async fn copying_again_after_a_crash_doubles_nothing() {
        let (_dir, store) = store_at_version(9).await;
        an_old_tenant(&store, true).await;
        carry_over(&store).await.expect("first copy");
        let url = format!("sqlite://{}", beside(store.path().expect("file")).display());
        let tenant = TenantStore::open(&url, false).await.expect("tenant");
        sqlx::query("UPDATE skus SET enabled = 9")
            .execute(tenant.pool())
            .await
            .expect("a later change");
        tenant.close().await;
        store.migrate().await.expect("upgrade");
        let mail = Some("alice.mail@contoso.example".to_string());
        assert_eq!(tenant_beside(&store).await, (9, 1, mail, 1));
    }

    /// A new store, or one whose simulated tables were never used, makes no tenant file.
    #[tokio::test]
    async fn an_unused_tenant_makes_no_file() {
        let (dir, store) = store_at_version(9).await;
        store.migrate().await.expect("upgrade");
        assert_eq!(legacy_tables(&store).await, 0);
        assert!(!beside(&dir.path().join("t.db")).exists());
    }

    /// A store in memory is no file (sqlx names it `file:sqlx-in-memory-N`; nothing of that
    /// name is made), and its tenant is in memory too.
    #[tokio::test]
    async fn a_store_in_memory_makes_no_file() {
        let store = Store::open("sqlite::memory:", true).await.expect("open");
        store.migrate().await.expect("migrate");
        assert!(store.path().is_none());
        let url = TenantStore::url_beside("sqlite::memory:").expect("url");
        TenantStore::open(&url, true)
            .await
            .expect("a tenant in memory");
        let made = std::fs::read_dir(".")
            .expect("cwd")
            .filter_map(Result::ok)
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("file:sqlx-in-memory")
            });
        assert!(!made, "a file named after the in-memory database was made");
    }

    #[test]
    fn the_tenant_lives_beside_the_store() {
        let url = TenantStore::url_beside("sqlite://data/licensebot.db").expect("url");
        assert_eq!(url, "sqlite://data/licensebot.simulated-tenant.db");
        let url = TenantStore::url_beside("sqlite://state/bot").expect("url");
        assert_eq!(url, "sqlite://state/bot.simulated-tenant");
        let url = TenantStore::url_beside("sqlite::memory:").expect("url");
        assert_eq!(url, "sqlite::memory:");
    }
}
