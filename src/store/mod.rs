//! The store, on SQLite (the embedded default) or PostgreSQL, through sqlx's `Any` driver
//! ([`connect`]): one file per table, each returning domain types.
//!
//! Discipline: one writer at a time. Every write goes through [`Store::write`], which takes
//! an in-process lock and then the database's: SQLite's `BEGIN IMMEDIATE` (WAL,
//! `synchronous = FULL`, so a committed request survives a power cut), PostgreSQL's advisory
//! writer lock (so writes from several instances on one database run one after another). A
//! write never fails half-way on a lock upgrade or a serialization conflict. On a SQLite
//! file writes run on one connection kept for them, whose page cache stays warm. Readers
//! (the `requests` CLI included) use the pool freely and never block the writer.

pub mod approvers;
pub mod audit;
pub mod audit_sink;
pub mod bot_state;
mod connect;
pub mod drift;
pub mod governance;
pub mod jobs;
pub mod languages;
pub mod leases;
pub mod links;
pub mod outbox;
pub mod reactions;
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

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use audit_sink::AuditSink;
pub use connect::Dialect;

/// The PostgreSQL advisory lock every write transaction takes first, so writes from all
/// instances on one database run one at a time, as SQLite's `BEGIN IMMEDIATE` makes them:
/// each transaction reads and writes a consistent state, and none fails on a serialization
/// conflict. (The key is "licensebot" in ASCII, truncated to fit.)
const WRITER_LOCK: i64 = 0x6c69_6365_6e73_6562;

/// A point in time as the bot stores it.
pub type Timestamp = DateTime<Utc>;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database said no.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
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
    /// The open `BEGIN IMMEDIATE` transaction.
    tx: Transaction<'static, Any>,
    commits: &'a AtomicU64,
    /// The live audit sink, when one is set.
    sink: Option<&'a AuditSink>,
    /// The audit chain's head once this transaction read or moved it.
    audit_head: Option<(i64, String)>,
    /// The events this transaction chained, written in one statement when it commits.
    audit_events: Vec<audit::Chained>,
    _guard: MutexGuard<'a, ()>,
}

impl WriteTx<'_> {
    /// Commits the transaction. With a live audit sink, the events the sink does not hold
    /// yet (those this transaction added) are read on the transaction's own connection, and
    /// appended to the sink and fsync'd once the commit succeeded, before this returns and
    /// still under the writer lock, so the file keeps the chain's order. A sink that cannot
    /// be read for or written is logged, not returned (the transaction is committed), and
    /// caught up at the next commit or start.
    pub async fn commit(mut self) -> StoreResult<()> {
        audit::insert_all(&mut self.tx, &std::mem::take(&mut self.audit_events)).await?;
        let pending = match self.sink {
            Some(sink) => sink.pending(&mut self.tx).await,
            None => Ok(Vec::new()),
        };
        self.tx.commit().await?;
        self.commits.fetch_add(1, Ordering::Relaxed);
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

    /// The connection, for the per-table functions.
    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// Appends an event to the audit chain ([`audit::chain`]), reading the chain's head once
    /// per transaction; the transaction's events are written together when it commits (one
    /// statement, before the live sink reads them back), so nothing in it reads them first.
    pub async fn append_audit(
        &mut self,
        e: &audit::NewEvent<'_>,
        at: Timestamp,
    ) -> StoreResult<i64> {
        let event = audit::chain(&mut self.tx, &mut self.audit_head, e, at).await?;
        let id = event.id();
        self.audit_events.push(event);
        Ok(id)
    }
}

/// The bot's database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where write transactions run (see `connect::Opened::writer`).
    write_pool: AnyPool,
    dialect: Dialect,
    writer: Arc<Mutex<()>>,
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
        Ok(Store {
            pool: opened.pool,
            write_pool: opened.writer,
            dialect: opened.dialect,
            writer: Arc::new(Mutex::new(())),
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

    /// A pooled connection for reads outside the write transaction.
    pub async fn read(&self) -> StoreResult<sqlx::pool::PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// The database file, unless in memory.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    /// Starts the one write transaction allowed at a time.
    pub async fn write(&self) -> StoreResult<WriteTx<'_>> {
        let guard = self.writer.lock().await;
        let tx = match self.dialect {
            Dialect::Sqlite => self.write_pool.begin_with("BEGIN IMMEDIATE").await?,
            // The transaction and its lock in one round trip: the two statements go as one
            // simple query, and the transaction begins only if both succeed.
            Dialect::Postgres => {
                static BEGIN: LazyLock<String> =
                    LazyLock::new(|| format!("BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})"));
                self.write_pool.begin_with(BEGIN.as_str()).await?
            }
        };
        Ok(WriteTx {
            tx,
            commits: &self.commits,
            sink: self.sink.as_deref(),
            audit_head: None,
            audit_events: Vec::new(),
            _guard: guard,
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

    /// Closes the pools, waiting for connections to finish.
    pub async fn close(&self) {
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
mod tests {
    use super::*;
    use crate::domain::{RequestId, StageId};

    /// Every write transaction on a SQLite file runs on the one connection kept for writes
    /// (whose page cache then holds every change), however many readers the pool has open:
    /// a temporary table, which only the connection that made it sees, is there for each.
    #[tokio::test]
    async fn writes_on_a_file_run_on_one_connection_of_their_own() {
        let (_dir, store) = migrated().await;
        write_one(&store, "CREATE TEMP TABLE mine (n INTEGER)").await;
        for n in 0..6 {
            // Readers held open meanwhile make the pool open more connections.
            let mut readers = Vec::new();
            for _ in 0..=(n % 4) {
                readers.push(store.read().await.expect("read"));
            }
            let mut w = store.write().await.expect("write");
            sqlx::query("INSERT INTO mine (n) VALUES ($1)")
                .bind(n)
                .execute(w.conn())
                .await
                .expect("the writer's own table");
            w.commit().await.expect("commit");
            for mut r in readers {
                let seen = sqlx::query("SELECT n FROM mine").fetch_all(&mut *r).await;
                assert!(seen.is_err(), "a reader sees no writer's temporary table");
            }
        }
    }

    #[tokio::test]
    async fn actions_queued_together_are_delivered_in_their_order_as_given() {
        use crate::domain::{ChannelRef, ChatUserId, MessageRef};
        use outbox::ChatAction;
        let (_dir, store) = migrated().await;
        let (channel, at) = (ChannelRef("c1".into()), chrono::Utc::now());
        let together = [
            ChatAction::Send {
                channel: channel.clone(),
                content: "@alice it's in".into(),
                reply_to: Some(MessageRef("m0".into())),
                stage: None,
                mentions: vec![ChatUserId("alice".into())],
            },
            ChatAction::React {
                channel: channel.clone(),
                message: Some(MessageRef("m0".into())),
                stage: None,
                emoji: "✅".into(),
            },
            ChatAction::Dm {
                user: ChatUserId("alice".into()),
                content: "it's in".into(),
                fallback: Some(channel.clone()),
                fallback_reply_to: None,
            },
        ];
        let alone = ChatAction::Edit {
            channel,
            message: Some(MessageRef("m0".into())),
            stage: None,
            content: "edited".into(),
        };
        let mut w = store.write().await.expect("write");
        outbox::push_all(w.conn(), &together, at)
            .await
            .expect("together");
        outbox::push_all(w.conn(), &[], at).await.expect("nothing");
        outbox::push(w.conn(), &alone, at).await.expect("alone");
        w.commit().await.expect("commit");
        let mut conn = store.read().await.expect("read");
        let due = outbox::due(&mut conn, at, 0, 10).await.expect("due");
        let actions: Vec<ChatAction> = due.into_iter().map(|p| p.action).collect();
        let mut expected = together.to_vec();
        expected.push(alone);
        assert_eq!(actions, expected);
    }

    /// Listing by state finds only that state, newest first, at most `limit`; without a
    /// state, every request; with `before`, only those numbered below it (the next page).
    #[tokio::test]
    async fn requests_are_listed_by_state_newest_first() {
        use crate::domain::RequestState;
        let (_dir, store) = migrated().await;
        let mut w = store.write().await.expect("write");
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(a_request(&mut w).await);
        }
        sqlx::query("UPDATE requests SET state = 'completed' WHERE id IN ($1, $2)")
            .bind(ids[1].0)
            .bind(ids[3].0)
            .execute(w.conn())
            .await
            .expect("complete two");
        w.commit().await.expect("commit");
        let mut conn = store.read().await.expect("read");
        let listed = |rows: Vec<requests::Request>| rows.iter().map(|r| r.id).collect::<Vec<_>>();
        let pending = requests::list(&mut conn, Some(RequestState::Pending), None, 10)
            .await
            .expect("pending");
        assert_eq!(listed(pending), [ids[4], ids[2], ids[0]]);
        let done = requests::list(&mut conn, Some(RequestState::Completed), None, 1)
            .await
            .expect("completed");
        assert_eq!(listed(done), [ids[3]]);
        let all = requests::list(&mut conn, None, None, 10)
            .await
            .expect("all");
        assert_eq!(all.len(), 5);
        let next = requests::list(&mut conn, Some(RequestState::Pending), Some(ids[4]), 1)
            .await
            .expect("the next page");
        assert_eq!(listed(next), [ids[2]]);
        let older = requests::list(&mut conn, None, Some(ids[2]), 10)
            .await
            .expect("older");
        assert_eq!(listed(older), [ids[1], ids[0]]);
    }

    #[tokio::test]
    async fn writes_begin_again_after_a_full_disk_rolled_a_transaction_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let options = StoreOptions {
            page_size: Some(512),
            max_page_count: Some(64),
            ..StoreOptions::default()
        };
        let store = Store::open_with(&url, true, &options).await.expect("open");
        write_one(&store, "CREATE TABLE t (b BLOB)").await;

        let mut w = store.write().await.expect("write");
        let full = sqlx::query("INSERT INTO t VALUES (zeroblob(1000000))")
            .execute(w.conn())
            .await
            .expect_err("the disk is full");
        drop(w);

        assert!(full.to_string().contains("full"), "{full}");
        // Whichever connection the pool hands out, a new transaction begins and commits.
        for _ in 0..8 {
            write_one(&store, "INSERT INTO t VALUES (x'00')").await;
        }
    }

    /// Runs `sql` in a write transaction of its own and commits it.
    async fn write_one(store: &Store, sql: &str) {
        let mut w = store.write().await.expect("write");
        sqlx::query(sql).execute(w.conn()).await.expect(sql);
        w.commit().await.expect("commit");
    }

    /// A database with the migrations up to `version` applied, as an older licensebot left
    /// it (the same files, so the current migrator accepts their checksums).
    /// A store in a new file, every migration applied.
    async fn migrated() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::open(&url, true).await.expect("open");
        store.migrate().await.expect("migrate");
        (dir, store)
    }

    pub(super) async fn store_at_version(version: i64) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = dir.path().join("migrations-old");
        std::fs::create_dir(&old).expect("mkdir");
        for m in MIGRATOR.migrations.iter().filter(|m| m.version <= version) {
            let name = format!("{:04}_{}.sql", m.version, m.description.replace(' ', "_"));
            std::fs::write(old.join(name), m.sql.as_bytes()).expect("copy a migration");
        }
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::open(&url, true).await.expect("open");
        let before = sqlx::migrate::Migrator::new(old.as_path())
            .await
            .expect("old migrations");
        before
            .run(store.pool())
            .await
            .expect("migrate to the old version");
        (dir, store)
    }

    /// A request asked for by chat user 100, as every version since 0001 stores it.
    async fn a_request(w: &mut WriteTx<'_>) -> RequestId {
        use crate::domain::{ChatUserId, RequestKind};
        let new = requests::Asked {
            kind: RequestKind::Assign,
            requester: ChatUserId("100".into()),
            requester_upn: None,
            target_upn: None,
            target_name: None,
            quantity: None,
            billing_cycle: None,
            reason: None,
            origin_channel: None,
            origin_message: None,
            requester_link: None,
            target_object_id: None,
        };
        requests::insert(w.conn(), &new, chrono::Utc::now())
            .await
            .expect("request")
    }

    /// Stage `seq` of `request`, as every version since 0001 stores it (the columns 0001
    /// made, written by hand: the store's own insert writes columns later versions added).
    async fn a_stage(w: &mut WriteTx<'_>, request: RequestId, seq: i64) -> StageId {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO stages (request_id, seq, kind, state, body, routed_to, routed_at)
             VALUES ($1, $2, 'assign', 'pending', '', '[]', $3) RETURNING id",
        )
        .bind(request.0)
        .bind(seq)
        .bind(ts(chrono::Utc::now()))
        .fetch_one(w.conn())
        .await
        .expect("stage");
        StageId(id)
    }

    /// A request and its stages come back from one read, the stages in execution order
    /// whatever order they were written in, and with the right one of two tables' columns
    /// that share names (`id`, `kind`, `state`); likewise the context of an approval message.
    #[tokio::test]
    async fn a_request_is_read_with_its_stages_in_one_statement() {
        use crate::domain::{MessageRef, RequestKind, RequestState, StageState};
        let (_dir, store) = migrated().await;
        let mut w = store.write().await.expect("write");
        let (request, bare) = (a_request(&mut w).await, a_request(&mut w).await);
        let second = a_stage(&mut w, request, 2).await;
        let first = a_stage(&mut w, request, 1).await;
        let message = MessageRef("m-2".into());
        stages::set_approval_message(w.conn(), second, &message)
            .await
            .expect("approval message");
        stages::transition(w.conn(), first, StageState::Pending, StageState::Approved)
            .await
            .expect("first approved");
        w.commit().await.expect("commit");

        let mut conn = store.read().await.expect("read");
        let (r, all) = stages::of_request(&mut conn, request)
            .await
            .expect("read")
            .expect("the request");
        assert_eq!(
            (r.id, r.kind, r.state),
            (request, RequestKind::Assign, RequestState::Pending)
        );
        let seen: Vec<_> = all
            .iter()
            .map(|s| (s.id, s.seq, s.request_id, s.state))
            .collect();
        assert_eq!(
            seen,
            [
                (first, 1, request, StageState::Approved),
                (second, 2, request, StageState::Pending)
            ]
        );
        // (request read, its stage count), by request and by stage; None where there is none.
        let by_request = [bare, RequestId(bare.0 + 100)];
        for (id, want) in by_request.into_iter().zip([Some((bare, 0)), None]) {
            let read = stages::of_request(&mut conn, id).await.expect("read");
            assert_eq!(
                read.map(|(r, all)| (r.id, all.len())),
                want,
                "request {id:?}"
            );
        }
        let by_stage = [second, StageId(second.0 + 100)];
        for (id, want) in by_stage.into_iter().zip([Some((request, 2)), None]) {
            let read = stages::of_stage(&mut conn, id).await.expect("read");
            assert_eq!(read.map(|(r, all)| (r.id, all.len())), want, "stage {id:?}");
        }

        let context = stages::approval_context(&mut conn, &message)
            .await
            .expect("read")
            .expect("an approval message");
        assert_eq!(context.stage.id, second);
        assert_eq!(context.request.id, request);
        assert_eq!(context.all.len(), 2);
        let unknown = stages::approval_context(&mut conn, &MessageRef("m-9".into())).await;
        assert!(unknown.expect("read").is_none(), "no approval message");
    }

    /// The context of a reaction's approval message comes with what is known of the reaction
    /// itself, read in the same statement: never seen, there, gone again; and only that
    /// user's that emoji counts.
    #[tokio::test]
    async fn a_reactions_context_comes_with_whether_it_is_news() {
        use crate::domain::{ChatUserId, MessageRef};
        let (_dir, store) = migrated().await;
        let mut w = store.write().await.expect("write");
        let request = a_request(&mut w).await;
        let stage = a_stage(&mut w, request, 1).await;
        let message = MessageRef("m-1".into());
        stages::set_approval_message(w.conn(), stage, &message)
            .await
            .expect("approval message");
        w.commit().await.expect("commit");
        let (carol, dave) = (ChatUserId("carol".into()), ChatUserId("dave".into()));
        let reactions = [(&carol, "✅"), (&dave, "✅"), (&carol, "❌")];

        // (an add is news, a remove is news) for each of `reactions`.
        async fn news(
            store: &Store,
            message: &MessageRef,
            of: &[(&ChatUserId, &str)],
        ) -> Vec<(StageId, bool, bool)> {
            let mut conn = store.read().await.expect("read");
            let mut found = Vec::new();
            for (user, emoji) in of {
                let key = reactions::Key {
                    message,
                    user,
                    emoji,
                };
                let read = stages::reaction_context(&mut conn, key)
                    .await
                    .expect("read")
                    .expect("an approval message");
                found.push((
                    read.context.stage.id,
                    read.seen.is_news(true),
                    read.seen.is_news(false),
                ));
            }
            found
        }
        async fn claim(
            store: &Store,
            message: &MessageRef,
            user: &ChatUserId,
            added: bool,
        ) -> bool {
            let key = reactions::Key {
                message,
                user,
                emoji: "✅",
            };
            let mut w = store.write().await.expect("write");
            let news = reactions::claim(w.conn(), key, added, chrono::Utc::now())
                .await
                .expect("claim");
            w.commit().await.expect("commit");
            news
        }
        let never = (stage, true, false);
        assert_eq!(news(&store, &message, &reactions).await, [never; 3]);
        assert!(
            claim(&store, &message, &carol, true).await,
            "carol's ✅ is news"
        );
        let there = (stage, false, true);
        assert_eq!(
            news(&store, &message, &reactions).await,
            [there, never, never]
        );
        assert!(
            claim(&store, &message, &carol, false).await,
            "carol's ✅ gone is news"
        );
        assert_eq!(news(&store, &message, &reactions).await, [never; 3]);

        let mut conn = store.read().await.expect("read");
        let elsewhere = reactions::Key {
            message: &MessageRef("m-9".into()),
            user: &carol,
            emoji: "✅",
        };
        let unknown = stages::reaction_context(&mut conn, elsewhere).await;
        assert!(unknown.expect("read").is_none(), "no approval message");
    }

    /// The context of a reaction's approval message comes with the language the person who
    /// reacted chose, read in the same statement: theirs, not another person's; none when
    /// they chose none or their choice is a language no longer known.
    #[tokio::test]
    async fn a_reactions_context_comes_with_the_reactors_language() {
        use crate::domain::{ChatUserId, Language, MessageRef};
        let (_dir, store) = migrated().await;
        let mut w = store.write().await.expect("write");
        let request = a_request(&mut w).await;
        let stage = a_stage(&mut w, request, 1).await;
        let message = MessageRef("m-1".into());
        stages::set_approval_message(w.conn(), stage, &message)
            .await
            .expect("approval message");
        let (carol, dave, erin) = (
            ChatUserId("carol".into()),
            ChatUserId("dave".into()),
            ChatUserId("erin".into()),
        );
        let now = chrono::Utc::now();
        languages::choose(w.conn(), &carol, Language::Nl, now)
            .await
            .expect("carol's");
        sqlx::query(
            "INSERT INTO person_languages (chat_user, language, chosen_at) VALUES ($1, 'xx', $2)",
        )
        .bind(erin.as_str())
        .bind(ts(now))
        .execute(w.conn())
        .await
        .expect("erin's, of a catalogue since removed");
        w.commit().await.expect("commit");

        let mut conn = store.read().await.expect("read");
        let mut found = Vec::new();
        for user in [&carol, &dave, &erin] {
            let key = reactions::Key {
                message: &message,
                user,
                emoji: "✅",
            };
            let read = stages::reaction_context(&mut conn, key)
                .await
                .expect("read")
                .expect("an approval message");
            assert_eq!(read.context.stage.id, stage);
            found.push(read.language);
        }
        assert_eq!(found, [Some(Language::Nl), None, None]);
    }

    /// A database made before `decided_via` existed upgrades in place: the markers written
    /// into `decision_note` move to the new column, a denial's reason stays a reason.
    #[tokio::test]
    async fn stages_decided_before_decided_via_existed_keep_how_they_were_decided() {
        use crate::domain::DecisionSource::{self, *};
        let (_dir, store) = store_at_version(7).await;
        let mut w = store.write().await.expect("write");
        let request = a_request(&mut w).await;
        let notes = [
            ("approved", Some("command")),
            ("completed", Some("self_service")),
            ("approved", Some("same reaction")),
            ("approved", None),
            ("denied", Some("command")),
            ("denied", Some("too expensive")),
            ("pending", None),
        ];
        for (seq, (state, note)) in notes.iter().enumerate() {
            let id = a_stage(&mut w, request, seq as i64 + 1).await;
            let decided_by = (*state != "pending").then_some("200");
            sqlx::query(
                "UPDATE stages SET state = $1, decided_by = $2, decision_note = $3 WHERE id = $4",
            )
            .bind(state)
            .bind(decided_by)
            .bind(note)
            .bind(id.0)
            .execute(w.conn())
            .await
            .expect("an old decision");
        }
        w.commit().await.expect("commit");

        store
            .migrate()
            .await
            .expect("upgrade to the current schema");

        let mut conn = store.read().await.expect("read");
        let got: Vec<(Option<DecisionSource>, Option<String>)> =
            stages::for_request(&mut conn, request)
                .await
                .expect("stages")
                .into_iter()
                .map(|s| (s.decided_via, s.decision_note))
                .collect();
        assert_eq!(
            got,
            vec![
                (Some(Command), None),
                (Some(SelfService), None),
                (Some(SameReaction), None),
                (Some(Reaction), None),
                (Some(Reaction), Some("command".to_string())),
                (Some(Reaction), Some("too expensive".to_string())),
                (None, None),
            ]
        );
    }

    /// What `kv` held in a database made before 0009 moves to its typed homes, and `kv`
    /// goes.
    #[tokio::test]
    async fn what_kv_held_moves_to_its_own_tables() {
        use crate::domain::{ChatUserId, MessageRef};
        let (_dir, store) = store_at_version(8).await;
        let mut w = store.write().await.expect("write");
        let request = a_request(&mut w).await;
        let stage = a_stage(&mut w, request, 1).await;
        let job: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (stage_id, kind, payload, state, next_attempt_at, created_at, \
             updated_at) VALUES ($1, 'assign', '{}', 'queued', '2026-12-01T10:00:00.000Z', \
             '2026-12-01T10:00:00.000Z', '2026-12-01T10:00:00.000Z') RETURNING id",
        )
        .bind(stage.0)
        .fetch_one(w.conn())
        .await
        .expect("a job");
        let rows = [
            (format!("denial_draft:{}:300", stage.0), "too expensive"),
            ("denial_draft:999999:300".to_string(), "a stage long gone"),
            (
                "batch_told:100:4711".to_string(),
                "2026-12-01T10:00:00.000Z",
            ),
            (format!("purchase_task:{job}"), "2026-12-01T11:00:00.000Z"),
            ("delivery_key_salt".to_string(), "0badcafe"),
            ("console_message_ids".to_string(), "2048"),
            ("health_check".to_string(), "2026-12-01T12:00:00.000Z"),
        ];
        for (key, value) in &rows {
            sqlx::query("INSERT INTO kv (key, value) VALUES ($1, $2)")
                .bind(key)
                .bind(value)
                .execute(w.conn())
                .await
                .expect("an old kv row");
        }
        w.commit().await.expect("commit");

        store
            .migrate()
            .await
            .expect("upgrade to the current schema");

        let mut w = store.write().await.expect("write");
        let c = w.conn();
        let drafter = ChatUserId("300".into());
        let draft = stages::denial_draft(c, stage, &drafter)
            .await
            .expect("draft");
        assert_eq!(draft.as_deref(), Some("too expensive"));
        let (requester, message) = (ChatUserId("100".into()), MessageRef("4711".into()));
        let again = requests::claim_batch_summary(c, &requester, &message, chrono::Utc::now())
            .await
            .expect("claim");
        assert!(!again, "the batch was told before the upgrade");
        let posted = jobs::task_posted_at(c, job).await.expect("task posted");
        assert_eq!(posted.map(ts).as_deref(), Some("2026-12-01T11:00:00.000Z"));
        assert_eq!(bot_state::delivery_salt(c).await.expect("salt"), "0badcafe");
        let first = bot_state::reserve_console_ids(c, 10).await.expect("ids");
        assert_eq!(first, 2049, "ids go on after those handed out");
        let kv: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'kv'")
            .fetch_one(c)
            .await
            .expect("schema");
        assert_eq!(kv, 0, "kv is gone");
    }
}
