//! Reads (and, for tamper tests, writes) a test bot's database directly.

use std::path::Path;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};

/// A direct connection to a test database.
pub struct Db {
    rt: tokio::runtime::Runtime,
    conn: std::cell::RefCell<SqliteConnection>,
}

/// Opens the database of a test directory, with the simulated tenant's database beside it
/// (when there is one) attached as `tenant`.
pub fn open(dir: &Path) -> Db {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let conn = rt.block_on(async {
        let mut conn = SqliteConnectOptions::new()
            .filename(dir.join("bot.db"))
            .connect()
            .await
            .expect("open test db");
        let tenant = dir.join("bot.simulated-tenant.db");
        if tenant.exists() {
            sqlx::query("ATTACH DATABASE ? AS tenant")
                .bind(tenant.to_string_lossy().into_owned())
                .execute(&mut conn)
                .await
                .expect("attach the simulated tenant");
        }
        conn
    });
    Db {
        rt,
        conn: std::cell::RefCell::new(conn),
    }
}

impl Db {
    fn scalar_i64(&self, sql: &str, bind: Option<&str>) -> i64 {
        let mut conn = self.conn.borrow_mut();
        self.rt.block_on(async {
            let q = sqlx::query_scalar::<_, i64>(sql);
            let q = match bind {
                Some(b) => q.bind(b.to_string()),
                None => q,
            };
            q.fetch_one(&mut *conn).await.expect("query")
        })
    }

    /// One number from SQL.
    pub fn scalar(&self, sql: &str) -> i64 {
        self.scalar_i64(sql, None)
    }

    /// One text column of every row from SQL.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        let mut conn = self.conn.borrow_mut();
        self.rt.block_on(async {
            sqlx::query_scalar::<_, String>(sql)
                .fetch_all(&mut *conn)
                .await
                .expect("query")
        })
    }

    /// Seats enabled of a SKU in the simulated tenant.
    pub fn seats_enabled(&self, sku: &str) -> i64 {
        self.scalar_i64(
            "SELECT enabled FROM tenant.skus WHERE sku_part_number = ?",
            Some(sku),
        )
    }

    /// Holders of a SKU in the simulated tenant.
    pub fn assignments(&self, sku: &str) -> i64 {
        self.scalar_i64(
            "SELECT COUNT(*) FROM tenant.assignments WHERE sku_part_number = ?",
            Some(sku),
        )
    }

    /// Purchases that changed the seat count.
    pub fn purchases(&self) -> i64 {
        self.scalar_i64(
            "SELECT COUNT(*) FROM tenant.purchases WHERE to_seats > from_seats",
            None,
        )
    }

    /// Backend calls of an operation that succeeded.
    pub fn calls(&self, operation: &str) -> i64 {
        self.scalar_i64(
            "SELECT COUNT(*) FROM backend_calls WHERE operation = ? AND outcome = 'ok'",
            Some(operation),
        )
    }

    /// `(outcome, backend_ref)` of every recorded backend call of an operation.
    pub fn call_refs(&self, operation: &str) -> Vec<(String, Option<String>)> {
        let mut conn = self.conn.borrow_mut();
        self.rt.block_on(async {
            sqlx::query_as::<_, (String, Option<String>)>(
                "SELECT outcome, backend_ref FROM backend_calls WHERE operation = ? ORDER BY id",
            )
            .bind(operation.to_string())
            .fetch_all(&mut *conn)
            .await
            .expect("query")
        })
    }

    /// A simulated user's usage location.
    pub fn usage_location(&self, upn: &str) -> Option<String> {
        let mut conn = self.conn.borrow_mut();
        self.rt.block_on(async {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT usage_location FROM tenant.users WHERE upn = ?",
            )
            .bind(upn)
            .fetch_one(&mut *conn)
            .await
            .expect("query")
        })
    }

    /// Changes an audit row behind the bot's back, as an attacker with the file would.
    pub fn tamper(&self, sql: &str) {
        let mut conn = self.conn.borrow_mut();
        self.rt.block_on(async {
            sqlx::query("DROP TRIGGER audit_events_no_update")
                .execute(&mut *conn)
                .await
                .expect("drop trigger");
            sqlx::query(sql).execute(&mut *conn).await.expect("tamper");
        });
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let conn = self.conn.get_mut();
        let _closed = self.rt.block_on(async { conn.ping().await });
    }
}
