//! SQLite faults: a second connection holding the write lock, and a page limit on the
//! bot's own connections (a full disk).

use std::time::Duration;

use licensebot::store::StoreOptions;
use serde_json::Value;

use super::report;
use crate::engine::harness::Harness;
use crate::support::bot::{approval_with, dms_to, id, request_state};
use crate::support::db;
use crate::support::Bot;

// ---------------------------------------------------------------------------------------
// SQLite: another process holds the write lock; the disk is full.

/// A second connection to a bot's database holding its write lock (`BEGIN IMMEDIATE`), as
/// another process would.
struct WriteLock {
    conn: sqlx::SqliteConnection,
}

impl WriteLock {
    async fn take(db: &std::path::Path) -> WriteLock {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(db)
            .connect()
            .await
            .expect("a second connection");
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .expect("take the write lock");
        WriteLock { conn }
    }

    async fn release(mut self) {
        sqlx::query("ROLLBACK")
            .execute(&mut self.conn)
            .await
            .expect("release the write lock");
    }
}

/// How long the second process keeps the lock in the rows that wait it out: well inside the
/// bot's 10 s busy timeout.
const LOCK_HELD: Duration = Duration::from_millis(1500);

/// A lock held while the bot takes in a request: it waits, then goes on; nothing is lost or
/// doubled.
#[test]
fn sqlite_write_lock_held_during_a_request_is_waited_for() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (dir, mut bot) = Bot::linked(&["alice"]);
    bot.idle();
    let lock = rt.block_on(WriteLock::take(&dir.path().join("bot.db")));

    let asked = std::time::Instant::now();
    bot.input(
        serde_json::json!({"type": "message", "channel": "general", "author": "alice",
        "content": "!pro request"}),
    );
    std::thread::sleep(LOCK_HELD);
    rt.block_on(lock.release());
    let got = bot.idle();
    let waited = asked.elapsed();
    let approval = id(approval_with(&got, "Request #1"));
    bot.react("carol", &approval, "✅");
    let got = [got, bot.idle()].concat();
    bot.finish();

    let db = db::open(dir.path());
    let requests = db.scalar("SELECT COUNT(*) FROM requests");
    let approvals = got
        .iter()
        .filter(|v| {
            v["type"] == "send"
                && v["content"]
                    .as_str()
                    .is_some_and(|c| c.contains("🔔 Request #1"))
        })
        .count();
    let done = times_told_done(&got);
    report(
        "another process holds the write lock for 1.5 s while a request comes in (busy timeout 10 s)",
        "the bot waits for the lock, then stores the request once and carries on",
        &format!(
            "waited {:.1} s; {requests} request; {approvals} approval message; {}; told done {done}x",
            waited.as_secs_f64(),
            request_state(dir.path(), 1)
        ),
    );
    assert!(waited >= LOCK_HELD, "{waited:?}");
    assert_eq!((requests, approvals, done), (1, 1, 1));
    assert_eq!(request_state(dir.path(), 1), "completed");
}

/// A lock held while a job runs (each simulated call takes 300 ms): its writes wait, the
/// assignment is made and recorded once.
#[test]
fn sqlite_write_lock_held_while_a_job_runs_is_waited_for() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (dir, mut bot) =
        Bot::start_with("", &[("LICENSEBOT__BACKEND__SIMULATED__LATENCY", "300ms")]);
    bot.link("alice", "alice@contoso.example");
    bot.say("alice", "!pro request");
    let got = bot.idle();
    let approval = id(approval_with(&got, "Request #1"));

    bot.react("carol", &approval, "✅");
    // The decision is stored and told; the job has started its calls.
    bot.until(|v| v["type"] == "edit" && v["message_id"] == approval.as_str());
    let lock = rt.block_on(WriteLock::take(&dir.path().join("bot.db")));
    std::thread::sleep(LOCK_HELD);
    rt.block_on(lock.release());
    let got = bot.idle();
    bot.finish();

    let db = db::open(dir.path());
    let assigned =
        db.scalar("SELECT COUNT(*) FROM tenant.assignments WHERE upn = 'alice@contoso.example'");
    let assign_calls =
        db.scalar("SELECT COUNT(*) FROM backend_calls WHERE operation = 'assign_licence'");
    let done = times_told_done(&got);
    report(
        "another process holds the write lock for 1.5 s while the job runs",
        "the job's writes wait; assigned and recorded once; told once",
        &format!(
            "{}; assignments {assigned}; assign calls recorded {assign_calls}; told done {done}x",
            request_state(dir.path(), 1)
        ),
    );
    assert_eq!(request_state(dir.path(), 1), "completed");
    assert_eq!((assigned, assign_calls, done), (1, 1, 1));
}

/// The engine in-process with a 200 ms busy timeout, so a lock can outlast it quickly.
async fn impatient_engine() -> Harness {
    Harness::with_store(
        &[],
        StoreOptions {
            busy_timeout: Duration::from_millis(200),
            ..StoreOptions::default()
        },
    )
    .await
}

const APOLOGY: &str = "Something went wrong on my side";

#[tokio::test]
async fn sqlite_write_lock_past_the_busy_timeout_fails_a_command_cleanly() {
    let h = impatient_engine().await;
    h.link("alice", "alice@contoso.example").await;
    let lock = WriteLock::take(&h.db_path()).await;

    h.say("alice", "!pro request").await;
    lock.release().await;
    let apologies = h.text().matches(APOLOGY).count();
    let stored = h.requests().await;
    h.say("alice", "!pro request").await;
    let approval = h.approval("Request #1");
    h.react("carol", &approval, "✅").await;
    h.engine.settle().await;

    report(
        "another process holds the write lock longer than the busy timeout while a command is handled",
        "the command fails as a whole with an apology (sent without the outbox, which cannot be written); nothing stored; the command works when repeated",
        &format!(
            "apologised {apologies}x; {stored} request stored; repeated: request #1 {}",
            h.state(1).await
        ),
    );
    assert_eq!((apologies, stored), (1, 0), "{}", h.text());
    assert_eq!(h.state(1).await, "completed");
}

#[tokio::test]
async fn sqlite_write_lock_past_the_busy_timeout_keeps_a_job_outcome_until_it_is_stored() {
    let h = impatient_engine().await;
    h.link("alice", "alice@contoso.example").await;
    h.say("alice", "!pro request").await;
    // The approval claims the job in its own transaction, for this process's worker.
    h.react("carol", &h.approval("Request #1"), "✅").await;
    let lock = WriteLock::take(&h.db_path()).await;

    let ran_locked = h.engine.run_due_jobs().await;
    let running = h
        .scalar("SELECT COUNT(*) FROM jobs WHERE state = 'running'")
        .await;
    let calls_locked = h
        .tenant
        .assign_calls
        .load(std::sync::atomic::Ordering::SeqCst);
    lock.release().await;
    let ran = h.engine.run_due_jobs().await;
    h.engine.deliver().await;

    let calls = h
        .tenant
        .assign_calls
        .load(std::sync::atomic::Ordering::SeqCst);
    report(
        "another process holds the write lock longer than the busy timeout while an approved job runs",
        "the change is made once; its outcome, which cannot be stored, is kept and stored once the lock is gone; the job is not run again",
        &format!(
            "locked: {ran_locked} recorded, {running} running, {calls_locked} assign call; released: {ran} recorded, {}; assign calls {calls}",
            h.state(1).await
        ),
    );
    assert_eq!((ran_locked, running, calls_locked), (0, 1, 1));
    assert_eq!((ran, calls), (1, 1));
    assert_eq!(h.state(1).await, "completed");
}

/// How many times alice was told her request is done.
fn times_told_done(records: &[Value]) -> usize {
    dms_to(records, "alice")
        .iter()
        .filter(|d| d.contains("is done"))
        .count()
}

/// Fills the database up to its page limit through the bot's own connections: a table of
/// blobs, written in shrinking pieces until not one more page can be had.
async fn fill_the_disk(h: &Harness) -> usize {
    h.exec("CREATE TABLE filler (b BLOB)").await;
    let mut size = 64 * 1024;
    let mut rows = 0;
    while size >= 256 {
        if store_a_blob(h, size).await {
            rows += 1;
        } else {
            size /= 2;
        }
    }
    rows
}

/// Writes a blob of `bytes` through the store's write path; false when the disk is full.
async fn store_a_blob(h: &Harness, bytes: i64) -> bool {
    let mut w = h.store.write().await.expect("write");
    let written = sqlx::query("INSERT INTO filler (b) VALUES (zeroblob(?))")
        .bind(bytes)
        .execute(w.conn().await.expect("the transaction's connection"))
        .await;
    match written {
        Ok(_) => {
            w.commit().await.expect("commit");
            true
        }
        Err(e) => {
            assert!(e.to_string().contains("full"), "{e}");
            false
        }
    }
}

#[tokio::test]
async fn sqlite_disk_full_fails_a_request_whole_and_the_bot_carries_on_after() {
    // Small pages (any row over ~480 bytes needs a page of its own) and a page limit.
    let h = Harness::with_store(
        &[],
        StoreOptions {
            page_size: Some(512),
            max_page_count: Some(2000),
            ..StoreOptions::default()
        },
    )
    .await;
    h.link("alice", "alice@contoso.example").await;
    fill_the_disk(&h).await;
    let before = h.scalar("SELECT COUNT(*) FROM outbox").await;
    let reason = "for the quarterly finance dashboards ".repeat(8);

    h.say("alice", &format!("!pro request {reason}")).await;
    let apologies = h.text().matches(APOLOGY).count();
    let requests = h.requests().await;
    let stages = h.scalar("SELECT COUNT(*) FROM stages").await;
    let outbox = h.scalar("SELECT COUNT(*) FROM outbox").await - before;
    let chain = {
        let mut conn = h.store.pool().acquire().await.unwrap();
        licensebot::store::audit::verify_chain(&mut conn)
            .await
            .unwrap()
    };
    // Space is back (an operator freed it).
    let mut w = h.store.write().await.unwrap();
    sqlx::query("DELETE FROM filler")
        .execute(w.conn().await.expect("the transaction's connection"))
        .await
        .unwrap();
    w.commit().await.unwrap();
    h.say("alice", &format!("!pro request {reason}")).await;
    h.react("carol", &h.approval("Request #1"), "✅").await;
    h.engine.settle().await;

    report(
        "the database's disk is full (SQLite page limit reached) when a request comes in",
        "the request fails as a whole with an apology; no request, stage or message half-stored; the audit chain intact; the same request works once space is back",
        &format!(
            "apologised {apologies}x; {requests} request, {stages} stage, {outbox} queued message(s) stored; audit chain intact: {}; after: request #1 {}",
            chain.intact(),
            h.state(1).await
        ),
    );
    assert_eq!(apologies, 1, "{}", h.text());
    assert!(
        requests == 0 && stages == 0 && outbox <= 1,
        "nothing half-stored (at most the apology queued): {requests} {stages} {outbox}"
    );
    assert!(chain.intact(), "{chain:?}");
    assert_eq!(h.state(1).await, "completed");
}
