//! The store, on SQLite (the embedded default) or PostgreSQL, through sqlx's `Any` driver
//! ([`connect`]): one file per table, each returning domain types.
//!
//! Discipline: one writer at a time. Every write goes through [`Store::write`], which takes
//! an in-process lock and then the database's: SQLite's `BEGIN IMMEDIATE` (WAL,
//! `synchronous = FULL`, so a committed request survives a power cut), PostgreSQL's advisory
//! writer lock (so writes from several instances on one database run one after another). A
//! write never fails half-way on a lock upgrade or a serialization conflict. On a SQLite
//! file writes run on one connection kept for them, whose page cache stays warm. Reads run
//! on connections kept for them ([`readers`]), without the pool's test of each one given
//! back. Readers (the `requests` CLI included) never block the writer.

pub mod approvers;
pub mod audit;
pub mod audit_sink;
pub mod bot_state;
mod connect;
mod deferred;
pub mod drift;
pub mod governance;
pub mod jobs;
pub mod languages;
pub mod leases;
pub mod links;
pub mod outbox;
pub mod reactions;
mod readers;
pub mod reclaims;
pub mod requests;
mod row;
pub mod seat_alerts;
pub mod seat_history;
pub mod signins;
pub mod simulated;
mod sql;
pub mod stages;
pub mod standing;
pub mod terms;
mod writer;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool};
use tokio::sync::{Mutex, MutexGuard};

use audit_sink::AuditSink;
pub use connect::Dialect;
pub use readers::ReadConn;
use writer::Writer;

/// The PostgreSQL advisory lock every write transaction takes first, so writes from all
/// instances on one database run one at a time, as SQLite's `BEGIN IMMEDIATE` makes them:
/// each transaction reads and writes a consistent state, and none fails on a serialization
/// conflict. (The key is "licensebot" in ASCII, truncated to fit; an operator sees it in
/// `pg_locks`.)
pub const WRITER_LOCK: i64 = 0x6c69_6365_6e73_6562;

/// Every sqlx error becomes a store error here, where one that says its connection broke is
/// noted (the connections kept for reads are tested again, [`readers::note_error`]).
impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        readers::note_error(&e);
        StoreError::Sqlx(e)
    }
}

/// A point in time as the bot stores it.
pub type Timestamp = DateTime<Utc>;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database said no.
    #[error("database error: {0}")]
    Sqlx(#[source] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A row held a value the bot cannot read back (a bug or a hand-edited database).
    #[error("corrupt row in {table}: {detail}")]
    Corrupt {
        /// Table of the row.
        table: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The database file does not exist and the caller did not ask to create it.
    #[error("no database at {0}; start the bot or run `licensebot migrate` first")]
    Missing(String),
    /// This instance no longer holds the lease it acts under: another took it over.
    #[error("the {lease} lease is no longer held with token {token}; another instance took over")]
    Fenced {
        /// The lease's name.
        lease: &'static str,
        /// The stale token.
        token: i64,
    },
    /// A write held back to go with others changed another number of rows than its
    /// transaction had read it would: the transaction is rolled back.
    #[error("{what} changed {changed} rows where {expected} were expected")]
    Unapplied {
        /// What the write does.
        what: &'static str,
        /// The rows it was to change.
        expected: u64,
        /// The rows it changed.
        changed: u64,
    },
    /// A write of this transaction failed before: it can only be rolled back.
    #[error("an earlier write of this transaction failed; it is rolled back")]
    Broken,
    /// The live audit sink could not be opened or written.
    #[error(transparent)]
    AuditSink(#[from] audit_sink::SinkError),
}

pub(crate) fn corrupt(table: &'static str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table,
        detail: detail.to_string(),
    }
}

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// A write transaction, holding the store's single-writer lock until it ends: the store's
/// own transaction type. The engine passes it along and to the per-table functions (through
/// [`WriteTx::conn`]); it never names SQLite itself. Dropped without [`WriteTx::commit`], it
/// rolls back.
pub struct WriteTx<'a> {
    /// The connection of the transaction; taken when it commits.
    conn: Option<PoolConnection<Any>>,
    /// The statement that begins the transaction (`BEGIN IMMEDIATE` on SQLite). It goes
    /// before the transaction's first statement, or with its writes and COMMIT in one call
    /// when it reads nothing ([`WriteTx::commit`]).
    begin: &'static str,
    /// Whether `begin` went.
    begun: bool,
    commits: &'a AtomicU64,
    /// The live audit sink, when one is set.
    sink: Option<&'a AuditSink>,
    /// The audit chain's head once this transaction read or moved it.
    audit_head: Option<(i64, String)>,
    /// The events this transaction chained, written in one statement when it commits.
    audit_events: Vec<audit::Chained>,
    /// The first of them was placed after the head this store knew ([`writer::KnownHead`]), not
    /// one read in this transaction: their insert checks it ([`audit::insert_later`]).
    head_unread: bool,
    /// The writer lock, and under it the chain's head as this store last committed it and
    /// the connection kept for writes ([`writer`]).
    writer: MutexGuard<'a, Writer>,
    /// The writes held back until the transaction's next statement or its commit
    /// ([`deferred`]).
    held: deferred::Held,
    /// A send of held writes failed: the transaction can only be rolled back (a caller that
    /// went on past the error must not commit what the failed send left out).
    broken: bool,
    dialect: Dialect,
}

impl WriteTx<'_> {
    /// Commits the transaction. With a live audit sink, the events the sink does not hold
    /// yet (those this transaction added) are read on the transaction's own connection, and
    /// appended to the sink and fsync'd once the commit succeeded, before this returns and
    /// still under the writer lock, so the file keeps the chain's order. A sink that cannot
    /// be read for or written is logged, not returned (the transaction is committed), and
    /// caught up at the next commit or start.
    ///
    /// A transaction that read nothing and only holds writes back (one that marks chat
    /// actions delivered, say) goes as one call: its BEGIN, its writes and its COMMIT
    /// ([`deferred::Held::commit_in_one`]), when the writes allow it and no live sink has
    /// to read it first. One that did nothing at all commits nothing.
    pub async fn commit(mut self) -> StoreResult<()> {
        if self.broken {
            return Err(StoreError::Broken);
        }
        if !self.begun {
            // Every way to an audit event begins the transaction first.
            debug_assert!(
                self.audit_events.is_empty(),
                "events in a transaction never begun"
            );
            if self.held.is_empty() {
                // Nothing read, nothing written: nothing to commit.
                return Ok(());
            }
            if self.sink.is_none() && self.held.commit_foldable(self.dialect) {
                return self.commit_in_one().await;
            }
        }
        let events = std::mem::take(&mut self.audit_events);
        let audited = audit::insert_later(&events, self.head_unread);
        let head_checked = audited.is_some() && self.head_unread;
        if let Some(write) = audited {
            self.held.push(write);
        }
        let changed = self.send_held().await?;
        let events = match changed.last() {
            Some(&n) if head_checked && n != events.len() as u64 => {
                audit::chain_again(self.begun().await?, events).await?
            }
            _ => events,
        };
        let pending = match self.sink {
            Some(sink) => sink.pending(open(&mut self.conn)?).await,
            None => Ok(Vec::new()),
        };
        // Dropped or failed before it ends, the transaction rolls back as any unfinished
        // one (`Drop`); committed, its connection is kept for the next.
        writer::commit(open(&mut self.conn)?).await?;
        if let Some(conn) = self.conn.take() {
            self.writer.keep(conn);
        }
        self.commits.fetch_add(1, Ordering::Relaxed);
        if let Some(last) = events.last() {
            self.writer.head = Some(last.head());
        }
        if let Some(sink) = self.sink {
            let appended = match pending {
                Ok(events) => sink.append(&events).await,
                Err(e) => Err(e),
            };
            if let Err(e) = appended {
                tracing::error!(
                    error = %e,
                    sink = %sink.path().display(),
                    "the audit sink is behind the database; it is caught up at the next commit"
                );
            }
        }
        Ok(())
    }

    /// Commits a transaction that read nothing: its BEGIN, the writes it holds and its
    /// COMMIT in one call. When that call fails the connection may be left inside the
    /// transaction, where sqlx does not know of it, so it is closed, never given back.
    async fn commit_in_one(mut self) -> StoreResult<()> {
        let mut conn = self.conn.take().ok_or(StoreError::Broken)?;
        match self
            .held
            .commit_in_one(&mut conn, self.dialect, self.begin)
            .await
        {
            Ok(()) => {
                self.writer.keep(conn);
                self.commits.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                writer::close(conn).await;
                Err(e)
            }
        }
    }

    /// The connection with the transaction begun on it (its BEGIN goes now, unless it went).
    async fn begun(&mut self) -> StoreResult<&mut AnyConnection> {
        begun(&mut self.conn, &mut self.begun, self.begin).await
    }

    /// The connection, for the per-table functions, once the writes held back so far have
    /// gone (so what runs on it sees them).
    pub async fn conn(&mut self) -> StoreResult<&mut sqlx::AnyConnection> {
        self.send_held().await?;
        self.begun().await
    }

    /// The connection for a statement that reads or writes only `tables`: when no write
    /// held back so far changes one of them, they stay held (to go, in their order, with the
    /// next statement that needs them or at commit), so this statement costs no round trip
    /// of theirs; otherwise they all go first, as for [`WriteTx::conn`]. `tables` must also
    /// name every table whose rows the statement's rows refer to (an insert's foreign keys),
    /// and a statement that removes rows must name the tables that refer to them: a held
    /// write and this statement never meet then, whichever runs first.
    pub(crate) async fn conn_for(
        &mut self,
        tables: &[&str],
    ) -> StoreResult<&mut sqlx::AnyConnection> {
        if self.broken {
            return Err(StoreError::Broken);
        }
        if !self.held.clear_of(tables) {
            self.send_held().await?;
        }
        self.begun().await
    }

    /// Sends the writes held back so far; how many rows each changed. Once a send failed
    /// every later one fails too, so the transaction cannot commit without the writes that
    /// send left out (on SQLite a failed statement leaves its transaction open).
    async fn send_held(&mut self) -> StoreResult<Vec<u64>> {
        if self.broken {
            return Err(StoreError::Broken);
        }
        if self.held.is_empty() {
            return Ok(Vec::new());
        }
        let sent = match begun(&mut self.conn, &mut self.begun, self.begin).await {
            Ok(conn) => self.held.send(conn, self.dialect).await,
            Err(e) => Err(e),
        };
        self.broken = sent.is_err();
        sent
    }

    /// Runs `write` now, after the writes held back so far and in the same call (one round
    /// trip for all); returns the rows it changed. Fails as a held write does when it (or
    /// one held) changes another number of rows than it expects.
    pub(crate) async fn run(&mut self, write: sql::Write) -> StoreResult<u64> {
        self.held.push(write);
        let changed = self.send_held().await?;
        changed
            .last()
            .copied()
            .ok_or_else(|| corrupt("deferred writes", "a write ran without an answer"))
    }

    /// Holds `write` back until the transaction's next statement or its commit, to go with
    /// the others held then in one round trip ([`deferred`]).
    pub(crate) fn defer(&mut self, write: sql::Write) {
        self.held.push(write);
    }

    /// Appends an event to the audit chain ([`audit::chain`]), after the head this store
    /// knows ([`writer::KnownHead`]), else reading the chain's head once per transaction; the
    /// transaction's events are written together when it commits (one statement, before
    /// the live sink reads them back), so nothing in it reads them first. Returns the
    /// event's id, which it keeps unless another process appended since the known head
    /// (it is chained again then, at commit).
    pub async fn append_audit(
        &mut self,
        e: &audit::NewEvent<'_>,
        at: Timestamp,
    ) -> StoreResult<i64> {
        if self.audit_head.is_none() {
            if let Some(known) = self.writer.head.clone() {
                self.audit_head = Some(known);
                self.head_unread = true;
            }
        }
        if self.audit_head.is_none() {
            // The head is read below: the writes held so far go first.
            self.send_held().await?;
        }
        let conn = begun(&mut self.conn, &mut self.begun, self.begin).await?;
        let event = audit::chain(conn, &mut self.audit_head, e, at).await?;
        let id = event.id();
        self.audit_events.push(event);
        Ok(id)
    }
}

/// The connection of a transaction still open (`Some` until it commits).
fn open(conn: &mut Option<PoolConnection<Any>>) -> StoreResult<&mut AnyConnection> {
    conn.as_deref_mut().ok_or(StoreError::Broken)
}

/// The connection of a transaction still open, `begin` sent on it first unless `begun`.
async fn begun<'c>(
    conn: &'c mut Option<PoolConnection<Any>>,
    begun: &mut bool,
    begin: &'static str,
) -> StoreResult<&'c mut AnyConnection> {
    let conn = open(conn)?;
    if !*begun {
        writer::begin(conn, begin).await?;
        *begun = true;
    }
    Ok(conn)
}

impl Drop for WriteTx<'_> {
    /// Not committed: the connection goes back to the pool with its rollback queued (none
    /// when the transaction never began: sqlx knows of no transaction on it then).
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            writer::roll_back(conn);
        }
    }
}

/// The bot's database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// The connections kept for reads ([`readers`]); none on SQLite in memory (where the
    /// one connection is the database).
    readers: Option<Arc<readers::Readers>>,
    /// Where write transactions run (see `connect::Opened::writer`).
    write_pool: AnyPool,
    dialect: Dialect,
    /// The writer lock ([`Store::write`]) and what it guards between transactions.
    writer: Arc<Mutex<Writer>>,
    commits: Arc<AtomicU64>,
    path: Option<PathBuf>,
    sink: Option<Arc<AuditSink>>,
    fence: Option<Arc<leases::Held>>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// PostgreSQL's migrations: one that makes the schema SQLite's first 19 build, then the
/// later ones under the same numbers as SQLite's.
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How the store's connections are set up. The bot always uses [`StoreOptions::default`];
/// the other values exist for tests that make the database busy or full.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a write waits for another process's write lock before it fails with
    /// "database is locked".
    pub busy_timeout: Duration,
    /// The database password (PostgreSQL), read from the environment variable
    /// `[store] password_env` names; never written in the URL.
    pub password: Option<secrecy::SecretString>,
    /// Test hook: the page size of a database created now (SQLite's default when `None`).
    pub page_size: Option<u32>,
    /// Test hook: the most pages the database may grow to (`PRAGMA max_page_count`, on every
    /// connection); a write that needs more fails with "database or disk is full", as on a
    /// full disk.
    pub max_page_count: Option<u32>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            busy_timeout: Duration::from_secs(10),
            password: None,
            page_size: None,
            max_page_count: None,
        }
    }
}

impl Store {
    /// Opens the database at `url` (`sqlite://path` or `sqlite::memory:`). With `create`,
    /// a missing file (and its directory) is created with mode 0600.
    pub async fn open(url: &str, create: bool) -> StoreResult<Store> {
        Store::open_with(url, create, &StoreOptions::default()).await
    }

    /// Opens the database at `url` with these connection options.
    pub async fn open_with(url: &str, create: bool, options: &StoreOptions) -> StoreResult<Store> {
        let opened = connect::open(url, create, options).await?;
        // Connections are kept out of the pool for reads and writes, except on SQLite in
        // memory (one connection, shared by both); PostgreSQL's are tested when idle a while.
        let test_every = match opened.dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(connect::POSTGRES_PING_AFTER_IDLE),
        };
        let keeps = opened.dialect == Dialect::Postgres || opened.path.is_some();
        let readers = keeps.then(|| Arc::new(readers::Readers::new(test_every)));
        Ok(Store {
            pool: opened.pool,
            readers,
            write_pool: opened.writer,
            dialect: opened.dialect,
            writer: Arc::new(Mutex::new(Writer::new(keeps, test_every))),
            commits: Arc::new(AtomicU64::new(0)),
            path: opened.path,
            sink: None,
            fence: None,
        })
    }

    /// Applies the migrations: `migrations/` on SQLite (first carrying the simulated
    /// tenant's rows out of an older database: migration 0010 drops its `sim_*` tables),
    /// `migrations/postgres/` on PostgreSQL.
    pub async fn migrate(&self) -> StoreResult<()> {
        match self.dialect {
            Dialect::Sqlite => {
                simulated::carry_over(self).await?;
                self.run_migrations(&MIGRATOR).await
            }
            Dialect::Postgres => self.run_migrations(&POSTGRES_MIGRATOR).await,
        }
    }

    /// Applies a set of migrations (the bot's, or the simulated tenant's in its own file).
    async fn run_migrations(&self, migrator: &sqlx::migrate::Migrator) -> StoreResult<()> {
        let _guard = self.writer.lock().await;
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// The pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection for reads outside the write transaction: one the store keeps for reads
    /// ([`readers`]), or one from the pool.
    pub async fn read(&self) -> StoreResult<ReadConn> {
        match &self.readers {
            Some(readers) => readers.take(&self.pool).await,
            None => Ok(ReadConn::pooled(self.pool.acquire().await?)),
        }
    }

    /// The database file, unless in memory.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    /// Starts the one write transaction allowed at a time: the writer lock of this store
    /// now, the database's (`BEGIN IMMEDIATE` on SQLite, the advisory lock on PostgreSQL) at
    /// the transaction's first statement, or at its commit when it read nothing.
    pub async fn write(&self) -> StoreResult<WriteTx<'_>> {
        let mut writer = self.writer.lock().await;
        let begin = match self.dialect {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            // The transaction and its lock in one round trip: the two statements go as one
            // simple query, and the transaction begins only if both succeed.
            Dialect::Postgres => {
                static BEGIN: LazyLock<String> =
                    LazyLock::new(|| format!("BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})"));
                BEGIN.as_str()
            }
        };
        let conn = writer.take(&self.write_pool).await?;
        Ok(WriteTx {
            conn: Some(conn),
            begin,
            begun: false,
            commits: &self.commits,
            sink: self.sink.as_deref(),
            audit_head: None,
            audit_events: Vec::new(),
            head_unread: false,
            writer,
            held: deferred::Held::default(),
            broken: false,
            dialect: self.dialect,
        })
    }

    /// This store with the live audit sink at `path` (see [`audit_sink`]), or as it is
    /// without one: opened, repaired and caught up with the database now, appended to by
    /// every commit from now on. Only the process holding the instance lock may set it, so
    /// one writer appends to the file.
    pub async fn with_audit_sink(mut self, path: Option<&std::path::Path>) -> StoreResult<Store> {
        let Some(path) = path else {
            return Ok(self);
        };
        let guard = self.writer.lock().await;
        let sink = AuditSink::open(path, &self.pool).await?;
        drop(guard);
        self.sink = Some(Arc::new(sink));
        Ok(self)
    }

    /// This store fenced by `held`: [`Store::check_fence`] refuses once another instance has
    /// taken the lease over.
    pub fn fenced_by(mut self, held: leases::Held) -> Store {
        self.fence = Some(Arc::new(held));
        self
    }

    /// Refuses with [`StoreError::Fenced`] when this store is fenced by a lease this instance
    /// no longer holds now (the host's wall clock, as leases are kept); does nothing unfenced
    /// (one bot on SQLite). Called before whatever one instance alone may do (posting to
    /// chat).
    pub async fn check_fence(&self) -> StoreResult<()> {
        let Some(held) = &self.fence else {
            return Ok(());
        };
        let mut conn = self.read().await?;
        leases::check(&mut conn, held, chrono::Utc::now()).await
    }

    /// The database this store runs on.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Write transactions committed through this store so far (benchmarks count them).
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Closes the pools and the connections kept for reads, waiting for connections to
    /// finish.
    pub async fn close(&self) {
        if let Some(readers) = &self.readers {
            readers.close().await;
        }
        self.writer.lock().await.release();
        self.write_pool.close().await;
        self.pool.close().await;
    }
}

/// Formats a timestamp the way the store keeps it (fixed width, so text order is time order).
pub fn ts(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads a stored timestamp.
pub fn parse_ts(table: &'static str, s: &str) -> StoreResult<Timestamp> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(table, format!("bad timestamp {s:?}: {e}")))
}

/// Reads an optional stored timestamp.
pub fn parse_opt_ts(table: &'static str, s: Option<&str>) -> StoreResult<Option<Timestamp>> {
    s.map(|s| parse_ts(table, s)).transpose()
}

/// Parses a stored word into a domain enum.
pub fn parse_word<T: FromStr>(table: &'static str, s: &str) -> StoreResult<T>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>().map_err(|e| corrupt(table, e))
}

/// Parses an optional stored word into a domain enum.
pub fn parse_opt_word<T: FromStr>(table: &'static str, s: Option<&str>) -> StoreResult<Option<T>>
where
    T::Err: std::fmt::Display,
{
    s.map(|s| parse_word(table, s)).transpose()
}

#[cfg(test)]
mod tests;
