//! Reads (and, for tamper tests, writes) a test bot's database directly: its store (SQLite in
//! the test directory, or the PostgreSQL database [`super::bot::write_config`] made for it)
//! and the simulated tenant's file beside it. A statement naming `tenant.` tables goes to the
//! tenant's file, the others to the store.

use std::cell::RefCell;
use std::path::Path;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, SqliteConnection};

/// A direct connection to a test database.
pub struct Db {
    rt: tokio::runtime::Runtime,
    store: RefCell<AnyConnection>,
    tenant: Option<RefCell<SqliteConnection>>,
    postgres: bool,
}

/// Opens the database of a test directory, with the simulated tenant's database beside it
/// (when there is one).
pub fn open(dir: &Path) -> Db {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = super::bot::store_url(dir);
    let postgres = url.starts_with("postgres");
    let (store, tenant) = rt.block_on(async {
        sqlx::any::install_default_drivers();
        let store = AnyConnection::connect(&url).await.expect("open test db");
        let path = dir.join("bot.simulated-tenant.db");
        let tenant = if path.exists() {
            let url = format!("sqlite://{}", path.display());
            Some(
                SqliteConnection::connect(&url)
                    .await
                    .expect("open the tenant"),
            )
        } else {
            None
        };
        (store, tenant)
    });
    Db {
        rt,
        store: RefCell::new(store),
        tenant: tenant.map(RefCell::new),
        postgres,
    }
}

impl Db {
    /// The rows of `sql` (`$1` bound to `bind`), on the store or, for `tenant.` tables, the
    /// tenant's file.
    fn rows(&self, sql: &str, bind: Option<&str>) -> Vec<AnyRow> {
        assert!(
            !sql.contains("tenant."),
            "the tenant's tables are read one number at a time: {sql}"
        );
        let mut conn = self.store.borrow_mut();
        self.rt.block_on(async {
            let q = sqlx::query(sql);
            let q = match bind {
                Some(b) => q.bind(b.to_string()),
                None => q,
            };
            q.fetch_all(&mut *conn).await.expect("query")
        })
    }

    /// One number from the simulated tenant's file (`tenant.` dropped from `sql`).
    fn tenant_i64(&self, sql: &str, bind: Option<&str>) -> i64 {
        let tenant = self
            .tenant
            .as_ref()
            .expect("no simulated tenant beside the store");
        let mut conn = tenant.borrow_mut();
        let sql = sql.replace("tenant.", "");
        self.rt.block_on(async {
            let q = sqlx::query_scalar::<_, i64>(&sql);
            let q = match bind {
                Some(b) => q.bind(b.to_string()),
                None => q,
            };
            q.fetch_one(&mut *conn).await.expect("query")
        })
    }

    fn scalar_i64(&self, sql: &str, bind: Option<&str>) -> i64 {
        if sql.contains("tenant.") {
            return self.tenant_i64(sql, bind);
        }
        use sqlx::Row;
        let rows = self.rows(sql, bind);
        rows.first().expect("a row").try_get(0).expect("a number")
    }

    /// One number from SQL.
    pub fn scalar(&self, sql: &str) -> i64 {
        self.scalar_i64(sql, None)
    }

    /// One text column of every row from SQL.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        use sqlx::Row;
        self.rows(sql, None)
            .iter()
            .map(|r| r.try_get(0).expect("text"))
            .collect()
    }

    /// Seats enabled of a SKU in the simulated tenant.
    pub fn seats_enabled(&self, sku: &str) -> i64 {
        self.tenant_i64(
            "SELECT enabled FROM tenant.skus WHERE sku_part_number = $1",
            Some(sku),
        )
    }

    /// Holders of a SKU in the simulated tenant.
    pub fn assignments(&self, sku: &str) -> i64 {
        self.tenant_i64(
            "SELECT COUNT(*) FROM tenant.assignments WHERE sku_part_number = $1",
            Some(sku),
        )
    }

    /// Purchases that changed the seat count.
    pub fn purchases(&self) -> i64 {
        self.tenant_i64(
            "SELECT COUNT(*) FROM tenant.purchases WHERE to_seats > from_seats",
            None,
        )
    }

    /// Backend calls of an operation that succeeded.
    pub fn calls(&self, operation: &str) -> i64 {
        self.scalar_i64(
            "SELECT COUNT(*) FROM backend_calls WHERE operation = $1 AND outcome = 'ok'",
            Some(operation),
        )
    }

    /// `(outcome, backend_ref)` of every recorded backend call of an operation.
    pub fn call_refs(&self, operation: &str) -> Vec<(String, Option<String>)> {
        use sqlx::Row;
        let sql = "SELECT outcome, backend_ref FROM backend_calls WHERE operation = $1 ORDER BY id";
        self.rows(sql, Some(operation))
            .iter()
            .map(|r| (r.try_get(0).expect("outcome"), r.try_get(1).expect("ref")))
            .collect()
    }

    /// A simulated user's usage location.
    pub fn usage_location(&self, upn: &str) -> Option<String> {
        let tenant = self
            .tenant
            .as_ref()
            .expect("no simulated tenant beside the store");
        let mut conn = tenant.borrow_mut();
        self.rt.block_on(async {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT usage_location FROM users WHERE upn = $1",
            )
            .bind(upn)
            .fetch_one(&mut *conn)
            .await
            .expect("query")
        })
    }

    /// Changes an audit row behind the bot's back, as an attacker with the database would.
    pub fn tamper(&self, sql: &str) {
        self.drop_guard("audit_events_no_update");
        self.execute(sql);
    }

    /// Drops the audit table's guard `trigger`, as each database spells it.
    pub fn drop_guard(&self, trigger: &str) {
        if self.postgres {
            self.execute(&format!("DROP TRIGGER {trigger} ON audit_events"));
        } else {
            self.execute(&format!("DROP TRIGGER {trigger}"));
        }
    }

    /// Runs one statement on the store.
    pub fn execute(&self, sql: &str) {
        let mut conn = self.store.borrow_mut();
        self.rt.block_on(async {
            sqlx::query(sql).execute(&mut *conn).await.expect(sql);
        });
    }

    /// Every audit row as (id, at, action, hash), in chain order.
    pub fn audit_chain(&self) -> Vec<(i64, String, String, String)> {
        use sqlx::Row;
        self.rows(
            "SELECT id, at, action, hash FROM audit_events ORDER BY id",
            None,
        )
        .iter()
        .map(|r| {
            (
                r.try_get(0).expect("id"),
                r.try_get(1).expect("at"),
                r.try_get(2).expect("action"),
                r.try_get(3).expect("hash"),
            )
        })
        .collect()
    }
}

impl Drop for Db {
    /// Lets anything the connections still owe (a rollback a failed statement queued) run
    /// before they go; a connection that no longer answers fails the test, unless it is
    /// failing already.
    fn drop(&mut self) {
        let store = self.store.get_mut();
        let store = self.rt.block_on(async { store.ping().await });
        let tenant = match &mut self.tenant {
            Some(tenant) => {
                let tenant = tenant.get_mut();
                self.rt.block_on(async { tenant.ping().await })
            }
            None => Ok(()),
        };
        if let Err(e) = store.and(tenant) {
            if !std::thread::panicking() {
                panic!("a test database stopped answering: {e}");
            }
        }
    }
}
