//! Reads on a SQLite file through connections the store keeps for them.
//!
//! sqlx's pool tests every connection when it goes back (a round trip to the connection's
//! thread, in a task of its own), and a connection is not handed out again until that test is
//! done: a read cost about ten times its statement. A SQLite file connection does not go
//! stale, and a read never leaves a transaction open, so the store keeps up to
//! [`KEPT`] of them out of the pool and hands them out again as they are given back. When
//! all of them are in use, a read takes a pooled connection as before (the pool's limit and
//! timeout apply). PostgreSQL's connections cross a network and may break: reads there stay
//! on the pool, whose test finds a broken one.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool};

use super::StoreResult;

/// The most connections kept out of the pool for reads.
pub(super) const KEPT: usize = 4;

/// The connections kept for reads on one SQLite file.
#[derive(Default)]
pub(super) struct Readers {
    /// Kept connections not in use now.
    idle: Mutex<Vec<AnyConnection>>,
    /// Kept connections, in use or not.
    kept: AtomicUsize,
    /// The store closed: connections given back are closed, not kept.
    closed: AtomicBool,
}

impl Readers {
    /// A connection for one read: a kept one, else a new one taken out of `pool` to keep, else
    /// (all kept ones in use) a pooled one.
    pub(super) async fn take(self: &Arc<Self>, pool: &AnyPool) -> StoreResult<ReadConn> {
        if let Some(conn) = self.lock().pop() {
            return Ok(self.kept_conn(conn));
        }
        let keep = self
            .kept
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < KEPT).then_some(n + 1)
            })
            .is_ok();
        match pool.acquire().await {
            Ok(conn) if keep => Ok(self.kept_conn(conn.detach())),
            Ok(conn) => Ok(ReadConn(Reading::Pooled(conn))),
            Err(e) => {
                if keep {
                    self.kept.fetch_sub(1, Ordering::SeqCst);
                }
                Err(e.into())
            }
        }
    }

    fn kept_conn(self: &Arc<Self>, conn: AnyConnection) -> ReadConn {
        ReadConn(Reading::Kept {
            conn: Some(conn),
            home: self.clone(),
        })
    }

    /// Closes the kept connections not in use; those in use are closed when given back.
    pub(super) async fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let idle: Vec<AnyConnection> = std::mem::take(&mut *self.lock());
        for conn in idle {
            if let Err(e) = sqlx::Connection::close(conn).await {
                tracing::warn!(error = %e, "could not close a read connection");
            }
        }
    }

    /// The idle list, also after a panic while it was held (a list of connections stays a
    /// list of connections).
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<AnyConnection>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes back a kept connection after a read.
    fn give_back(&self, conn: AnyConnection) {
        if self.closed.load(Ordering::SeqCst) {
            // Dropped, its thread ends and closes the file's handle.
            drop(conn);
            return;
        }
        self.lock().push(conn);
    }
}

/// A connection for reads outside the write transaction ([`super::Store::read`]); given
/// back when dropped.
pub struct ReadConn(Reading);

enum Reading {
    Kept {
        /// Always `Some` until dropped.
        conn: Option<AnyConnection>,
        home: Arc<Readers>,
    },
    Pooled(PoolConnection<Any>),
}

impl ReadConn {
    /// A connection from the pool (reads on PostgreSQL, or on SQLite in memory).
    pub(super) fn pooled(conn: PoolConnection<Any>) -> ReadConn {
        ReadConn(Reading::Pooled(conn))
    }
}

impl Deref for ReadConn {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            Reading::Kept { conn, .. } => conn.as_ref().expect("kept until dropped"),
            Reading::Pooled(conn) => conn,
        }
    }
}

impl DerefMut for ReadConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            Reading::Kept { conn, .. } => conn.as_mut().expect("kept until dropped"),
            Reading::Pooled(conn) => conn,
        }
    }
}

impl Drop for ReadConn {
    fn drop(&mut self) {
        if let Reading::Kept { conn, home } = &mut self.0 {
            if let Some(conn) = conn.take() {
                home.give_back(conn);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let mut w = store.write().await.expect("write");
        sqlx::query("CREATE TABLE t (v INTEGER)")
            .execute(w.conn().await.expect("conn"))
            .await
            .expect("create");
        w.commit().await.expect("commit");
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
            let mut w = store.write().await.expect("write");
            sqlx::query("INSERT INTO t (v) VALUES ($1)")
                .bind(v)
                .execute(w.conn().await.expect("conn"))
                .await
                .expect("insert");
            w.commit().await.expect("commit");
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

    #[tokio::test]
    async fn a_database_in_memory_reads_on_its_one_connection() {
        let store = with_table("sqlite::memory:").await;
        let mut r = store.read().await.expect("read");
        assert!(!kept(&r));
        assert_eq!(count(&mut r).await, 0);
    }
}
