//! Opening the store's pool on either database the bot runs on: SQLite (the embedded
//! default, one file) or PostgreSQL (several instances on one server).
//!
//! Both go through sqlx's `Any` driver, so the per-table functions are written once, in the
//! SQL both databases share (`$N` placeholders, `ON CONFLICT`, `CASE`, `CAST(… AS BIGINT)`,
//! timestamps as fixed-width text). What differs lives here and in [`Dialect`]: SQLite's
//! pragmas and its private file, PostgreSQL's password from the environment.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::ExposeSecret;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, AnyPool, Connection, Executor};

use super::{StoreError, StoreOptions, StoreResult};

/// The database a store runs on, for the few statements the two write differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: one file, one bot.
    Sqlite,
    /// PostgreSQL: one server, any number of bots.
    Postgres,
}

impl Dialect {
    /// The database `url` names (`sqlite:` or `postgres:`/`postgresql:`), if either.
    pub fn of_url(url: &str) -> Option<Dialect> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Some(Dialect::Sqlite),
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            _ => None,
        }
    }

    /// The database this connection talks to.
    pub fn of(conn: &AnyConnection) -> Dialect {
        if conn.backend_name() == "PostgreSQL" {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        }
    }
}

/// The most connections a bot opens to PostgreSQL: one writer at a time (the advisory lock)
/// and a few readers, so a handful serve it; many instances stay far below the server's
/// limit.
const POSTGRES_CONNECTIONS: u32 = 8;

/// How long a PostgreSQL connection may sit idle in the pool and still be handed out
/// without a ping first. A connection in steady use is not pinged (a round trip saved on
/// every statement outside a transaction); one that waited longer is, so a pool that sat
/// through a server restart finds its dead connections before using them.
pub(super) const POSTGRES_PING_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// An opened pool, the connection writes go through, and the file it keeps its data in
/// (SQLite on disk only).
pub(super) struct Opened {
    pub pool: AnyPool,
    /// Where write transactions run: on a SQLite file, a pool of its own with one
    /// connection; elsewhere the pool itself. In WAL mode a connection drops its whole page
    /// cache when another connection has written since its last read, and the pool hands
    /// its connections out in turn: writes that always ran on the one connection that made
    /// every change find their pages cached (a lifecycle's statements ran in half the
    /// time in the load bench). One write at a time is the store's rule already
    /// ([`super::Store::write`]), so one connection costs writes no waiting.
    pub writer: AnyPool,
    pub path: Option<PathBuf>,
    pub dialect: Dialect,
}

/// Opens the pool `url` names. With `create`, a missing SQLite file (and its directory) is
/// made with mode 0600; a PostgreSQL database must exist already (the operator makes it).
pub(super) async fn open(url: &str, create: bool, options: &StoreOptions) -> StoreResult<Opened> {
    sqlx::any::install_default_drivers();
    match Dialect::of_url(url) {
        Some(Dialect::Postgres) => open_postgres(url, options).await,
        _ => open_sqlite(url, create, options).await,
    }
}

async fn open_postgres(url: &str, options: &StoreOptions) -> StoreResult<Opened> {
    let mut opts = AnyConnectOptions::from_str(url)?;
    if let Some(password) = &options.password {
        opts.database_url
            .set_password(Some(password.expose_secret()))
            .map_err(|()| {
                StoreError::Sqlx(sqlx::Error::Configuration("bad database URL".into()))
            })?;
    }
    let pool = AnyPoolOptions::new()
        .max_connections(POSTGRES_CONNECTIONS)
        .min_connections(1)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= POSTGRES_PING_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .acquire_timeout(options.busy_timeout)
        .connect_with(opts)
        .await?;
    Ok(Opened {
        writer: pool.clone(),
        pool,
        path: None,
        dialect: Dialect::Postgres,
    })
}

async fn open_sqlite(url: &str, create: bool, options: &StoreOptions) -> StoreResult<Opened> {
    let path = file_of(url)?;
    if let Some(p) = &path {
        if !p.exists() {
            if !create {
                return Err(StoreError::Missing(p.display().to_string()));
            }
            create_private_file(p).map_err(|e| StoreError::Sqlx(sqlx::Error::Io(e)))?;
        }
    }
    let pragmas = sqlite_pragmas(options);
    let options = AnyConnectOptions::from_str(url)?;
    // A database in memory lives as long as its one connection: writes share it.
    let (pool, writer) = if path.is_some() {
        let pool = sqlite_pool(&pragmas, SQLITE_READERS)
            .connect_with(options.clone())
            .await?;
        let writer = sqlite_pool(&pragmas, 1).connect_with(options).await?;
        (pool, writer)
    } else {
        let pool = sqlite_pool(&pragmas, 1).connect_with(options).await?;
        (pool.clone(), pool)
    };
    Ok(Opened {
        pool,
        writer,
        path,
        dialect: Dialect::Sqlite,
    })
}

/// Connections for reads on a SQLite file (the writer has one more of its own).
const SQLITE_READERS: u32 = 4;

/// The options of a SQLite pool of `max` connections, each starting with `pragmas`.
fn sqlite_pool(pragmas: &str, max: u32) -> AnyPoolOptions {
    let pragmas = pragmas.to_string();
    AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(1)
        // A connection to a local file does not go stale the way a network connection
        // does, and a connection is kept only out of a transaction (`after_release`):
        // no ping, a round trip to the connection's thread, before every use.
        .test_before_acquire(false)
        .after_connect(move |conn, _| {
            let pragmas = pragmas.clone();
            Box::pin(async move {
                conn.execute(pragmas.as_str()).await?;
                Ok(())
            })
        })
        .after_release(|conn, _| {
            Box::pin(async move {
                // Out of any transaction (the common case: committed, or reads only),
                // nothing can be pending: keep it without a round trip to its thread.
                if !conn.is_in_transaction() {
                    return Ok(true);
                }
                // A transaction dropped unfinished has its ROLLBACK queued. After some
                // errors (a full disk, an I/O error) SQLite rolls the transaction back by
                // itself; sqlx's own ROLLBACK then fails and it goes on believing the
                // connection is in a transaction, so every later BEGIN on it fails. Let
                // the pending rollback run, then keep the connection only if it is really
                // out of its transaction.
                conn.ping().await?;
                Ok(!conn.is_in_transaction())
            })
        })
}

/// The pragmas every SQLite connection starts with: WAL, `synchronous = FULL` (a committed
/// request survives a power cut), foreign keys, the busy timeout, and the test hooks. The
/// page size comes first: it cannot change once the file is in WAL mode.
fn sqlite_pragmas(options: &StoreOptions) -> String {
    let mut pragmas = String::new();
    if let Some(size) = options.page_size {
        pragmas.push_str(&format!("PRAGMA page_size = {size}; "));
    }
    pragmas.push_str(&format!(
        "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
         PRAGMA foreign_keys = ON;",
        options.busy_timeout.as_millis()
    ));
    if let Some(pages) = options.max_page_count {
        pragmas.push_str(&format!(" PRAGMA max_page_count = {pages};"));
    }
    pragmas
}

/// The file a SQLite URL names, or `None` for a database in memory (which sqlx names
/// `file:sqlx-in-memory-N`).
pub(super) fn file_of(url: &str) -> StoreResult<Option<PathBuf>> {
    let opts = SqliteConnectOptions::from_str(url)?;
    let name = opts.get_filename().to_string_lossy();
    let memory = name.is_empty()
        || name == ":memory:"
        || name.starts_with("file:sqlx-in-memory-")
        || url.contains("mode=memory");
    Ok((!memory).then(|| opts.get_filename().to_path_buf()))
}

fn create_private_file(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
