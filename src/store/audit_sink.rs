//! The live audit sink (`[audit] sink = "file:PATH"`): every audit event appended to a file
//! as one JSON line, the shape `licensebot audit export --format jsonl` writes, for a
//! collector such as Vector or Fluent Bit to tail.
//!
//! The file is the truth about what it holds. At open, a partial last line (a crash in the
//! middle of a write) is cut off, the event on the last whole line is checked against the
//! database (the same id with the same hash: the file belongs to this chain), and every event
//! after it is appended. After a write transaction that added events commits, the store
//! appends them here and fsyncs before the commit returns ([`super::WriteTx::commit`]). A
//! crash between the database's commit and the file's is caught up at the next open, so the
//! file holds every event once, in chain order. A write that fails is logged and made again
//! at the next commit, after the file is cut back to its last whole line: the database stays
//! the record, and the bot does not stop for its sink.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sqlx::{AnyConnection, AnyPool};

use super::audit::{self, Record};
use super::{StoreError, StoreResult};

/// Events read from the database and written per batch when catching up at open.
const BATCH: i64 = 500;

/// The most events one commit appends; a sink further behind (after failed writes) catches
/// up over the next commits, or at the next start.
const PER_COMMIT: i64 = 10_000;

/// Why the sink cannot be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The file could not be opened, read, written or synced.
    #[error("cannot {doing} the audit sink {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What was being done.
        doing: &'static str,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The last whole line of the file is not an event this bot wrote.
    #[error(
        "the audit sink {path} ends with a line that is not an audit event ({why}); \
         move the file away to start a new one"
    )]
    NotAnEvent {
        /// The file.
        path: String,
        /// What is wrong with the line.
        why: String,
    },
    /// The file's last event is not the database's event of that id.
    #[error(
        "the audit sink {path} ends with event {id}, but {why}: the file belongs to another \
         database, or this database lost events (run `licensebot audit verify`)"
    )]
    Diverged {
        /// The file.
        path: String,
        /// The id of the file's last event.
        id: i64,
        /// How the database differs.
        why: String,
    },
}

/// The sink file and what it holds, used by one writer at a time.
struct SinkFile {
    file: File,
    /// The length of the file up to its last whole line that is known to be there.
    len: u64,
    /// The id of the last event in the file (0 for none).
    last_id: i64,
    /// A write failed part-way: the file is cut back to `len` before the next one.
    dirty: bool,
}

/// The open sink, shared by the store's clones.
pub struct AuditSink {
    path: PathBuf,
    file: Arc<Mutex<SinkFile>>,
}

impl AuditSink {
    /// Opens (creating, mode 0600) the sink at `path`, repairs a partial last line, checks
    /// the file's last event against the database and appends every event after it.
    pub async fn open(path: &Path, pool: &AnyPool) -> StoreResult<AuditSink> {
        let owned = path.to_path_buf();
        let (file, len, last) = blocking(path, move || open_file(&owned)).await?;
        let last_id = match last {
            Some((id, hash)) => {
                let mut conn = pool.acquire().await?;
                check_last(&mut conn, path, id, &hash).await?;
                id
            }
            None => 0,
        };
        let sink = AuditSink {
            path: path.to_path_buf(),
            file: Arc::new(Mutex::new(SinkFile {
                file,
                len,
                last_id,
                dirty: false,
            })),
        };
        sink.catch_up(pool).await?;
        Ok(sink)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The id of the last event written to the file.
    pub fn written(&self) -> StoreResult<i64> {
        Ok(self.lock()?.last_id)
    }

    fn lock(&self) -> StoreResult<std::sync::MutexGuard<'_, SinkFile>> {
        self.file.lock().map_err(|_| poisoned(&self.path))
    }

    /// Appends every event the database holds after the file's last, in batches, each
    /// fsync'd. Called at open with the store's writer lock held, so no event is appended
    /// twice.
    async fn catch_up(&self, pool: &AnyPool) -> StoreResult<()> {
        loop {
            let after = self.written()?;
            let batch = {
                let mut conn = pool.acquire().await?;
                audit::records_after(&mut conn, after, BATCH).await?
            };
            if batch.is_empty() {
                return Ok(());
            }
            let full = batch.len() as i64 == BATCH;
            self.append(&batch).await?;
            if !full {
                return Ok(());
            }
        }
    }

    /// The events the database holds after the file's last (at most [`PER_COMMIT`]), read
    /// on `conn`: inside a write transaction, those it added (and any the sink fell behind
    /// by), without taking a second connection while the writer lock is held.
    pub(super) async fn pending(&self, conn: &mut AnyConnection) -> StoreResult<Vec<Record>> {
        audit::records_after(conn, self.written()?, PER_COMMIT).await
    }

    /// Writes `records` (read after the file's last event, in chain order) as JSON lines
    /// and fsyncs the file; nothing when there are none.
    pub(super) async fn append(&self, records: &[Record]) -> StoreResult<()> {
        let Some(last) = records.last().map(|r| r.id) else {
            return Ok(());
        };
        let mut bytes = Vec::new();
        for r in records {
            serde_json::to_writer(&mut bytes, r).map_err(|e| super::corrupt("audit_events", e))?;
            bytes.push(b'\n');
        }
        let file = Arc::clone(&self.file);
        let path = self.path.display().to_string();
        blocking(&self.path, move || {
            let mut f = file.lock().map_err(|_| poisoned(Path::new(&path)))?;
            f.write(&bytes, last)
                .map_err(|(doing, source)| io_error(&path, doing, source))
        })
        .await
    }
}

impl SinkFile {
    /// Appends `bytes` and syncs them; on failure the file is cut back before the next write.
    fn write(&mut self, bytes: &[u8], last: i64) -> Result<(), (&'static str, std::io::Error)> {
        if self.dirty {
            self.file
                .set_len(self.len)
                .map_err(|e| ("cut a failed write from", e))?;
            self.dirty = false;
        }
        self.dirty = true;
        self.file.write_all(bytes).map_err(|e| ("write", e))?;
        self.file.sync_data().map_err(|e| ("fsync", e))?;
        self.dirty = false;
        self.len += bytes.len() as u64;
        self.last_id = last;
        Ok(())
    }
}

/// Runs blocking work on the file at `path` off the async runtime's threads.
async fn blocking<T: Send + 'static>(
    path: &Path,
    work: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        let name = path.display().to_string();
        io_error(&name, "use", std::io::Error::other(e))
    })?
}

fn io_error(path: &str, doing: &'static str, source: std::io::Error) -> StoreError {
    StoreError::AuditSink(SinkError::Io {
        path: path.to_string(),
        doing,
        source,
    })
}

fn poisoned(path: &Path) -> StoreError {
    let e = std::io::Error::other("a write panicked earlier");
    io_error(&path.display().to_string(), "use", e)
}

/// Opens the file, cuts off a partial last line, and reads the last whole line's event.
#[allow(clippy::type_complexity)]
fn open_file(path: &Path) -> StoreResult<(File, u64, Option<(i64, String)>)> {
    let name = path.display().to_string();
    let name = name.as_str();
    let io = |doing| move |e| io_error(name, doing, e);
    let mut file = create_private(path).map_err(io("open"))?;
    let len = file.metadata().map_err(io("read"))?.len();
    let Some(newline) = last_newline(&mut file, len).map_err(io("read"))? else {
        if len > 0 {
            cut(&mut file, 0).map_err(io("repair"))?;
            tracing::warn!(sink = %path.display(), "cut a partial line from the audit sink");
        }
        return Ok((file, 0, None));
    };
    if newline + 1 < len {
        cut(&mut file, newline + 1).map_err(io("repair"))?;
        tracing::warn!(sink = %path.display(), "cut a partial last line from the audit sink");
    }
    let start = match last_newline(&mut file, newline).map_err(io("read"))? {
        Some(n) => n + 1,
        None => 0,
    };
    let line = read_range(&mut file, start, newline).map_err(io("read"))?;
    let last = parse_tail(path, &line)?;
    Ok((file, newline + 1, Some(last)))
}

/// The id and hash of the event on `line`.
fn parse_tail(path: &Path, line: &[u8]) -> StoreResult<(i64, String)> {
    #[derive(serde::Deserialize)]
    struct Tail {
        id: i64,
        hash: String,
    }
    serde_json::from_slice::<Tail>(line)
        .map(|t| (t.id, t.hash))
        .map_err(|e| {
            StoreError::AuditSink(SinkError::NotAnEvent {
                path: path.display().to_string(),
                why: e.to_string(),
            })
        })
}

/// The file's last event must be the database's event of that id.
async fn check_last(conn: &mut AnyConnection, path: &Path, id: i64, hash: &str) -> StoreResult<()> {
    let why = match audit::hash_of_row(conn, id).await? {
        Some(h) if h == hash => return Ok(()),
        Some(_) => "the database's event of that id has another hash",
        None => "the database has no such event",
    };
    Err(StoreError::AuditSink(SinkError::Diverged {
        path: path.display().to_string(),
        id,
        why: why.to_string(),
    }))
}

/// Opens `path` to read and append, creating it (and its directory) with mode 0600, and
/// syncs the directory so a new file's name survives a crash.
fn create_private(path: &Path) -> std::io::Result<File> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path)?;
    #[cfg(unix)]
    File::open(dir.unwrap_or(Path::new(".")))?.sync_all()?;
    Ok(file)
}

/// The offset of the last `\n` before `end`, reading backwards a block at a time.
fn last_newline(file: &mut File, end: u64) -> std::io::Result<Option<u64>> {
    const BLOCK: u64 = 8192;
    let mut to = end;
    let mut buf = vec![0u8; BLOCK as usize];
    while to > 0 {
        let from = to.saturating_sub(BLOCK);
        let chunk = &mut buf[..(to - from) as usize];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            return Ok(Some(from + i as u64));
        }
        to = from;
    }
    Ok(None)
}

fn read_range(file: &mut File, from: u64, to: u64) -> std::io::Result<Vec<u8>> {
    let mut line = vec![0u8; (to - from) as usize];
    file.seek(SeekFrom::Start(from))?;
    file.read_exact(&mut line)?;
    Ok(line)
}

/// Cuts the file to `len` bytes and syncs it.
fn cut(file: &mut File, len: u64) -> std::io::Result<()> {
    file.set_len(len)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit::NewEvent;
    use crate::store::Store;

    async fn store_with_events(n: usize) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::open(&url, true).await.expect("open");
        store.migrate().await.expect("migrate");
        add_events(&store, n).await;
        (dir, store)
    }

    async fn add_events(store: &Store, n: usize) {
        let mut w = store.write().await.expect("write");
        for i in 0..n {
            let detail = format!("event {i}");
            let e = NewEvent {
                request: None,
                actor: "system",
                action: "drift_found",
                before: None,
                after: None,
                detail: &detail,
            };
            w.append_audit(&e, chrono::Utc::now())
                .await
                .expect("append");
        }
        w.commit().await.expect("commit");
    }

    /// The (id, hash) of every line of the file, in order.
    fn lines(path: &Path) -> Vec<(i64, String)> {
        std::fs::read_to_string(path)
            .expect("read the sink")
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
                (
                    v["id"].as_i64().expect("id"),
                    v["hash"].as_str().expect("hash").into(),
                )
            })
            .collect()
    }

    /// The (id, hash) of every event in the database, in chain order.
    async fn events(store: &Store) -> Vec<(i64, String)> {
        let mut conn = store.read().await.expect("read");
        audit::records_after(&mut conn, 0, 1_000)
            .await
            .expect("events")
            .into_iter()
            .map(|r| (r.id, r.hash))
            .collect()
    }

    #[tokio::test]
    async fn a_new_sink_is_filled_with_every_event_in_chain_order() {
        let (dir, store) = store_with_events(3).await;
        let path = dir.path().join("audit").join("sink.jsonl");

        let store = store.with_audit_sink(Some(&path)).await.expect("sink");

        assert_eq!(lines(&path), events(&store).await);
        assert_eq!(lines(&path).len(), 3);
    }

    #[tokio::test]
    async fn events_committed_later_are_appended_once_each() {
        let (dir, store) = store_with_events(2).await;
        let path = dir.path().join("sink.jsonl");
        let store = store.with_audit_sink(Some(&path)).await.expect("sink");

        add_events(&store, 2).await;
        store
            .write()
            .await
            .expect("write")
            .commit()
            .await
            .expect("no events");
        add_events(&store, 1).await;

        assert_eq!(lines(&path), events(&store).await);
        assert_eq!(lines(&path).len(), 5);
    }

    #[tokio::test]
    async fn a_sink_behind_the_database_is_caught_up_at_open() {
        let (dir, store) = store_with_events(2).await;
        let path = dir.path().join("sink.jsonl");
        let store = store.with_audit_sink(Some(&path)).await.expect("sink");
        store.close().await;
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let again = Store::open(&url, false).await.expect("open again");
        // Events committed while no sink was attached: as after a crash between the
        // database's commit and the file's.
        add_events(&again, 3).await;

        let again = again.with_audit_sink(Some(&path)).await.expect("sink");

        assert_eq!(lines(&path), events(&again).await);
        assert_eq!(lines(&path).len(), 5);
    }

    #[tokio::test]
    async fn a_partial_last_line_is_cut_and_its_event_written_again() {
        let (dir, store) = store_with_events(3).await;
        let path = dir.path().join("sink.jsonl");
        let store = store.with_audit_sink(Some(&path)).await.expect("sink");
        let whole = std::fs::read_to_string(&path).expect("read");
        let cut_at = whole.trim_end().rfind('\n').expect("two lines") + 1 + 10;
        std::fs::write(&path, &whole[..cut_at]).expect("a crash in the middle of a line");

        let store = store.with_audit_sink(Some(&path)).await.expect("sink");

        assert_eq!(std::fs::read_to_string(&path).expect("read"), whole);
        assert_eq!(lines(&path), events(&store).await);
    }

    /// Why a store with `events` events refuses a sink file that holds `text`.
    async fn refused_sink(events: usize, text: &str) -> StoreError {
        let (dir, store) = store_with_events(events).await;
        let path = dir.path().join("sink.jsonl");
        std::fs::write(&path, text).expect("a sink file");
        store
            .with_audit_sink(Some(&path))
            .await
            .err()
            .expect("refused")
    }

    #[tokio::test]
    async fn a_sink_ending_with_an_event_the_database_lacks_is_refused() {
        // A sink of another database.
        let line = format!("{{\"id\":9,\"hash\":\"{}\"}}\n", "0".repeat(64));
        let e = refused_sink(2, &line).await;

        assert!(
            matches!(&e, StoreError::AuditSink(SinkError::Diverged { id: 9, .. })),
            "{e}"
        );
        assert!(e.to_string().contains("has no such event"), "{e}");
    }

    #[tokio::test]
    async fn a_sink_whose_last_event_has_another_hash_is_refused() {
        // A sink of another chain.
        let line = format!("{{\"id\":2,\"hash\":\"{}\"}}\n", "0".repeat(64));
        let e = refused_sink(2, &line).await;

        assert!(e.to_string().contains("another hash"), "{e}");
    }

    #[tokio::test]
    async fn a_last_line_that_is_no_event_is_refused() {
        let e = refused_sink(1, "hello\n").await;

        assert!(
            matches!(&e, StoreError::AuditSink(SinkError::NotAnEvent { .. })),
            "{e}"
        );
    }

    #[test]
    fn a_write_after_a_failed_one_first_cuts_what_the_failed_one_left() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sink.jsonl");
        std::fs::write(&path, "{\"id\":1}\n{\"id\":2,\"ha").expect("a half-written batch");
        let mut f = SinkFile {
            file: create_private(&path).expect("open"),
            len: 9,
            last_id: 1,
            dirty: true,
        };

        f.write(b"{\"id\":2}\n", 2).expect("write");

        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text, "{\"id\":1}\n{\"id\":2}\n");
        assert_eq!((f.len, f.last_id, f.dirty), (18, 2, false));
    }
}
