//! Reads through connections the store keeps for them.
//!
//! sqlx's pool tests every connection when it goes back (a round trip to the connection's
//! thread or server, in a task of its own), and a connection is not handed out again until
//! that test is done: on SQLite a pooled read cost about ten times its statement. The store
//! keeps up to [`KEPT`] connections out of the pool and hands them out again as they are
//! given back; when all of them are in use, a read takes a pooled connection as before (the
//! pool's limit and timeout apply).
//!
//! A SQLite file connection does not go stale, and a read leaves no transaction open: its
//! kept connections are never tested. PostgreSQL's cross a network and break when the server
//! restarts. A kept one is tested (a ping) before it is handed out when its last test is a
//! second old (as the pool tests a connection idle that long), or when any connection of
//! this process has failed since its last test ([`note_error`]); one that fails the test is
//! closed and replaced. So after a restart the first read on a broken connection fails,
//! as the pool let one read fail on each, and every kept connection is tested before the
//! next.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection};

use super::StoreResult;

/// The most connections kept out of the pool for reads.
pub(super) const KEPT: usize = 4;

/// Errors that said a connection broke, seen by this process so far (any store).
static CONNECTION_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Notes `e` when it says its connection broke: every kept PostgreSQL connection is then
/// tested before it is handed out again.
pub(super) fn note_error(e: &sqlx::Error) {
    if breaks_connection(e) {
        CONNECTION_ERRORS.fetch_add(1, Ordering::SeqCst);
    }
}

/// Whether `e` says the connection it came from broke: an I/O, protocol or TLS failure, its
/// thread gone, or PostgreSQL's connection exceptions (class 08) and operator intervention
/// (57P, as a shutdown or restart ends every session).
fn breaks_connection(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

/// When a kept connection was last known to work (made, tested, or, for the writer's, a
/// commit on it), and whether it is due a test before its next use.
pub(super) struct Tested {
    at: Instant,
    /// [`CONNECTION_ERRORS`] then.
    errors: u64,
}

impl Tested {
    /// Known to work now.
    pub(super) fn now() -> Tested {
        Tested {
            at: Instant::now(),
            errors: CONNECTION_ERRORS.load(Ordering::SeqCst),
        }
    }

    /// Whether a connection known to work then is to be tested before its next use: when
    /// that was `every` ago or longer, or a connection of this process broke since; never
    /// when `every` is `None` (a SQLite file).
    pub(super) fn due(&self, every: Option<Duration>) -> bool {
        every.is_some_and(|every| {
            self.at.elapsed() >= every || self.errors != CONNECTION_ERRORS.load(Ordering::SeqCst)
        })
    }
}

/// A kept connection and when it was last known to work.
struct Held {
    conn: AnyConnection,
    tested: Tested,
}

impl Held {
    fn new(conn: AnyConnection) -> Held {
        Held {
            conn,
            tested: Tested::now(),
        }
    }
}

/// The connections kept for reads on one database.
pub(super) struct Readers {
    /// Kept connections not in use now, the last given back at the end.
    idle: Mutex<Vec<Held>>,
    /// Kept connections, in use or not.
    kept: AtomicUsize,
    /// The store closed: connections given back are closed, not kept.
    closed: AtomicBool,
    /// How old a kept connection's last test may be when it is handed out (PostgreSQL); never
    /// tested when `None` (a SQLite file).
    test_every: Option<Duration>,
}

impl Readers {
    /// Kept connections tested when their last test is `test_every` old or a connection
    /// broke since, or (`None`) never.
    pub(super) fn new(test_every: Option<Duration>) -> Readers {
        Readers {
            idle: Mutex::new(Vec::new()),
            kept: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            test_every,
        }
    }

    /// A connection for one read: a kept one (tested first when due), else a new one taken
    /// out of `pool` to keep, else (all kept ones in use) a pooled one.
    pub(super) async fn take(self: &Arc<Self>, pool: &AnyPool) -> StoreResult<ReadConn> {
        while let Some(held) = self.pop() {
            match self.tested(held).await {
                Some(held) => return Ok(self.kept_conn(held)),
                // Broken: closed, no longer kept; the next one is tried.
                None => {
                    self.kept.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
        let keep = self
            .kept
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < KEPT).then_some(n + 1)
            })
            .is_ok();
        match pool.acquire().await {
            Ok(conn) if keep => Ok(self.kept_conn(Held::new(conn.detach()))),
            Ok(conn) => Ok(ReadConn::pooled(conn)),
            Err(e) => {
                if keep {
                    self.kept.fetch_sub(1, Ordering::SeqCst);
                }
                Err(e.into())
            }
        }
    }

    fn pop(&self) -> Option<Held> {
        self.lock().pop()
    }

    /// `held` when its test is not due or it passes one now; `None` (closed) when it fails.
    async fn tested(&self, mut held: Held) -> Option<Held> {
        if !held.tested.due(self.test_every) {
            return Some(held);
        }
        match held.conn.ping().await {
            Ok(()) => {
                held.tested = Tested::now();
                Some(held)
            }
            Err(e) => {
                tracing::warn!(error = %e, "a kept read connection failed its test; replacing it");
                if let Err(e) = held.conn.close_hard().await {
                    tracing::debug!(error = %e, "closing the broken read connection");
                }
                None
            }
        }
    }

    fn kept_conn(self: &Arc<Self>, held: Held) -> ReadConn {
        ReadConn(Reading::Kept {
            held: Some(held),
            home: self.clone(),
        })
    }

    /// Closes the kept connections not in use; those in use are closed when given back.
    pub(super) async fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let idle: Vec<Held> = std::mem::take(&mut *self.lock());
        for held in idle {
            if let Err(e) = held.conn.close().await {
                tracing::warn!(error = %e, "could not close a read connection");
            }
        }
    }

    /// The idle list, also after a panic while it was held (a list of connections stays a
    /// list of connections).
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Held>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes back a kept connection after a read.
    fn give_back(&self, held: Held) {
        if self.closed.load(Ordering::SeqCst) {
            // Dropped: SQLite's thread ends and closes the file's handle; PostgreSQL's
            // socket closes.
            drop(held);
            return;
        }
        self.lock().push(held);
    }
}

/// A connection for reads outside the write transaction ([`super::Store::read`]); given
/// back when dropped.
pub struct ReadConn(Reading);

enum Reading {
    Kept {
        /// Always `Some` until dropped.
        held: Option<Held>,
        home: Arc<Readers>,
    },
    Pooled(PoolConnection<Any>),
}

impl ReadConn {
    /// A connection from the pool (reads on SQLite in memory).
    pub(super) fn pooled(conn: PoolConnection<Any>) -> ReadConn {
        ReadConn(Reading::Pooled(conn))
    }
}

impl Deref for ReadConn {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            Reading::Kept { held, .. } => &held.as_ref().expect("kept until dropped").conn,
            Reading::Pooled(conn) => conn,
        }
    }
}

impl DerefMut for ReadConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            Reading::Kept { held, .. } => &mut held.as_mut().expect("kept until dropped").conn,
            Reading::Pooled(conn) => conn,
        }
    }
}

impl Drop for ReadConn {
    fn drop(&mut self) {
        if let Reading::Kept { held, home } = &mut self.0 {
            if let Some(held) = held.take() {
                home.give_back(held);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::write_one;
    use crate::store::Store;

    fn kept(c: &ReadConn) -> bool {
        matches!(c.0, Reading::Kept { .. })
    }

    async fn count(c: &mut ReadConn) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&mut **c)
            .await
            .expect("count")
    }

    /// A store at `url` with an empty table `t`.
    async fn with_table(url: &str) -> Store {
        let store = Store::open(url, true).await.expect("store");
        write_one(&store, "CREATE TABLE t (v INTEGER)").await;
        store
    }

    #[tokio::test]
    async fn reads_reuse_kept_connections_see_every_commit_and_overflow_to_the_pool() {
        let dir = tempfile::tempdir().expect("a directory");
        let url = format!("sqlite://{}", dir.path().join("r.db").display());
        let store = with_table(&url).await;

        let mut held = Vec::new();
        for _ in 0..KEPT + 1 {
            held.push(store.read().await.expect("read"));
        }
        let kinds: Vec<bool> = held.iter().map(kept).collect();
        let mut expected = vec![true; KEPT];
        expected.push(false);
        assert_eq!(kinds, expected, "kept connections first, then the pool's");
        drop(held);

        // Given back and handed out again: no new connection is kept.
        for v in 1..=3 {
            write_one(&store, &format!("INSERT INTO t (v) VALUES ({v})")).await;
            let mut r = store.read().await.expect("read");
            assert!(kept(&r));
            assert_eq!(
                count(&mut r).await,
                v,
                "a kept connection sees the last commit"
            );
        }
        let readers = store.readers.clone().expect("readers on a file");
        assert_eq!(readers.kept.load(Ordering::SeqCst), KEPT);
        assert_eq!(readers.lock().len(), KEPT);

        // Closed: the idle ones are closed, one in use is closed when given back.
        let in_use = store.read().await.expect("read");
        store.close().await;
        assert_eq!(readers.lock().len(), 0);
        drop(in_use);
        assert_eq!(readers.lock().len(), 0);
        assert!(store.read().await.is_err(), "a closed store reads nothing");
    }

    #[test]
    fn only_errors_that_break_a_connection_count() {
        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
        assert!(breaks_connection(&io));
        assert!(breaks_connection(&sqlx::Error::Protocol("eof".into())));
        assert!(breaks_connection(&sqlx::Error::WorkerCrashed));
        assert!(!breaks_connection(&sqlx::Error::RowNotFound));
        assert!(!breaks_connection(&sqlx::Error::PoolTimedOut));
        let before = CONNECTION_ERRORS.load(Ordering::SeqCst);
        note_error(&io);
        assert!(CONNECTION_ERRORS.load(Ordering::SeqCst) > before);
    }

    #[tokio::test]
    async fn a_database_in_memory_reads_on_its_one_connection() {
        let store = with_table("sqlite::memory:").await;
        let mut r = store.read().await.expect("read");
        assert!(!kept(&r));
        assert_eq!(count(&mut r).await, 0);
    }
}
