//! What the store's writer lock guards between write transactions: the audit chain's head
//! as this store last committed it, and the connection the last transaction committed on.
//! A transaction takes its connection here ([`Writer::take`]) and begins on it only at its
//! first statement ([`begin`]), or at its commit when it read nothing (its BEGIN, its writes
//! and its COMMIT then go in one call, see `WriteTx::commit`).
//!
//! sqlx's pool takes a connection given back in a task of its own, tests it there (a round
//! trip to SQLite's connection thread or PostgreSQL's server), and hands it out again only
//! once that is done. A write transaction began right after another committed waited for
//! all of it: on SQLite its `BEGIN` took about four times a statement in the load bench.
//! So the connection a transaction committed on is kept here, checked out of the pool, and
//! the next transaction begins on it at once. It goes back to the pool instead when its
//! transaction did not commit (the pool runs the rollback sqlx queued, and keeps the
//! connection only out of a transaction, see `connect::sqlite_pool`), and when the store
//! closes.
//!
//! A kept PostgreSQL connection is tested (a ping) before its next transaction as a kept
//! read connection is ([`super::readers::Tested`]): when it has not worked for a second, or
//! any connection of this process broke since. One that fails the test is closed and a
//! pooled one takes its place. On SQLite in memory nothing is kept: its one connection is
//! also the one reads take.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Database, TransactionManager};

use super::readers::Tested;
use super::StoreResult;

/// The audit chain's head (the last event's id and hash) as this store last committed it,
/// kept under the writer lock: a transaction's first event is placed after it without a
/// read, and written only if it is still the head ([`super::audit::insert_later`]; another
/// process on the same database may have appended since). None until this store has written
/// an event.
pub(super) type KnownHead = Option<(i64, String)>;

/// The sqlx transaction manager for the `Any` driver: what `sqlx::Transaction` itself calls
/// to begin, commit and roll back on its connection.
type Manager = <Any as Database>::TransactionManager;

/// A connection kept for the next write transaction.
struct Kept {
    conn: PoolConnection<Any>,
    tested: Tested,
}

/// Guarded by the store's writer lock.
pub(super) struct Writer {
    /// The audit chain's head as this store last committed it.
    pub(super) head: KnownHead,
    kept: Option<Kept>,
    /// Whether a connection is kept at all (not on SQLite in memory).
    keeps: bool,
    /// How long a kept connection goes untested ([`Tested::due`]); `None`: never tested.
    test_every: Option<Duration>,
}

impl Writer {
    /// Nothing known or kept yet; connections kept after a commit when `keeps`.
    pub(super) fn new(keeps: bool, test_every: Option<Duration>) -> Writer {
        Writer {
            head: None,
            kept: None,
            keeps,
            test_every,
        }
    }

    /// A connection for the next write transaction, nothing begun on it yet ([`begin`]
    /// does that): the kept one (tested first when due), else one from `pool`.
    pub(super) async fn take(&mut self, pool: &AnyPool) -> StoreResult<PoolConnection<Any>> {
        match self.take_tested().await {
            Some(conn) => Ok(conn),
            None => Ok(pool.acquire().await?),
        }
    }

    /// The kept connection, when there is one and it is not due a test or passes it.
    async fn take_tested(&mut self) -> Option<PoolConnection<Any>> {
        let mut kept = self.kept.take()?;
        if !kept.tested.due(self.test_every) {
            return Some(kept.conn);
        }
        match kept.conn.ping().await {
            Ok(()) => Some(kept.conn),
            Err(e) => {
                tracing::warn!(error = %e, "the kept write connection failed its test; replacing it");
                close(kept.conn).await;
                None
            }
        }
    }

    /// Keeps `conn`, whose transaction committed, for the next one (when this store keeps
    /// one at all); else it goes back to the pool.
    pub(super) fn keep(&mut self, conn: PoolConnection<Any>) {
        if self.keeps {
            self.kept = Some(Kept {
                conn,
                tested: Tested::now(),
            });
        }
    }

    /// Gives the kept connection back to the pool (before the pool closes, which waits for
    /// every connection out of it).
    pub(super) fn release(&mut self) {
        self.kept = None;
    }
}

/// Begins a transaction on `conn` with `statement`, as `sqlx::Transaction` does (sqlx then
/// knows the connection is in it: see [`roll_back`]).
pub(super) async fn begin(conn: &mut AnyConnection, statement: &'static str) -> StoreResult<()> {
    Ok(Manager::begin(conn, Some(Cow::Borrowed(statement))).await?)
}

/// Closes `conn` for good (the pool opens another when it needs one): one that failed its
/// test, or one a failed call may have left inside a transaction sqlx does not know of (one
/// begun and ended in the call's own text, see [`super::deferred::Held::commit_in_one`]),
/// which the database rolls back as the connection closes, where the pool would keep the
/// connection as it is.
pub(super) async fn close(conn: PoolConnection<Any>) {
    if let Err(e) = conn.close().await {
        tracing::debug!(error = %e, "closing a write connection");
    }
}

/// Commits the transaction open on `conn`. Until this returns success the transaction is
/// open as far as the caller knows: one that fails, or is dropped before it ends, is rolled
/// back as any unfinished transaction ([`roll_back`]).
pub(super) async fn commit(conn: &mut AnyConnection) -> StoreResult<()> {
    Ok(Manager::commit(conn).await?)
}

/// Gives `conn` back to the pool with the rollback of its open transaction queued, as a
/// `sqlx::Transaction` dropped unfinished does: the pool runs it before keeping the
/// connection.
pub(super) fn roll_back(mut conn: PoolConnection<Any>) {
    Manager::start_rollback(&mut conn);
}
