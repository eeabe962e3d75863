//! The store's own tests: its pool and transactions, reads that join tables, and upgrades
//! of databases made by earlier versions.

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
            .execute(w.conn().await.expect("the transaction's connection"))
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
    outbox::push_all(&mut w, &together, at).expect("together");
    outbox::push_all(&mut w, &[], at).expect("nothing");
    outbox::push(&mut w, &alone, at).expect("alone");
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
        .execute(w.conn().await.expect("the transaction's connection"))
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
        .execute(w.conn().await.expect("the transaction's connection"))
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
pub(super) async fn write_one(store: &Store, sql: &str) {
    let mut w = store.write().await.expect("write");
    sqlx::query(sql)
        .execute(w.conn().await.expect("the transaction's connection"))
        .await
        .expect(sql);
    w.commit().await.expect("commit");
}

/// The connection a write transaction committed on is kept for the next one, out of the
/// pool; one whose transaction was dropped unfinished goes back to the pool, which runs its
/// rollback; closing the store gives the kept one back, so the pool's close ends.
#[tokio::test]
async fn the_write_connection_is_kept_after_a_commit_and_given_back_unfinished() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("w.db").display());
    let store = Store::open(&url, true).await.expect("store");
    write_one(&store, "CREATE TABLE t (v INTEGER)").await;
    // Time enough for a connection given back to be in the pool again (its test is one
    // round trip to the connection's thread).
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        (store.write_pool.size(), store.write_pool.num_idle()),
        (1, 0),
        "the committed-on connection is kept out of the pool"
    );

    let mut w = store.write().await.expect("write");
    sqlx::query("INSERT INTO t (v) VALUES (1)")
        .execute(w.conn().await.expect("conn"))
        .await
        .expect("insert");
    drop(w);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while store.write_pool.num_idle() != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the unfinished transaction's connection never went back to the pool"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
        .fetch_one(&mut *store.read().await.expect("read"))
        .await
        .expect("count");
    assert_eq!(rows, 0, "rolled back");

    write_one(&store, "INSERT INTO t (v) VALUES (2)").await;
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
        .fetch_one(&mut *store.read().await.expect("read"))
        .await
        .expect("count");
    assert_eq!(rows, 1, "the next write runs, on the pool's connection");
    tokio::time::timeout(Duration::from_secs(5), store.close())
        .await
        .expect("the store closes with a write connection kept");
}

/// A transaction that reads nothing and only holds writes back takes the database's write
/// lock only when it commits (its BEGIN goes with its writes and COMMIT, in one call), so
/// another connection may write meanwhile. When that call fails, none of its writes is kept
/// and the connection, which the failure may have left inside the transaction, is not
/// reused: the next write runs. A transaction that did nothing commits nothing.
#[tokio::test]
async fn a_transaction_of_held_writes_alone_begins_and_commits_in_its_commit() {
    use super::sql::Write;
    let insert = |v: i64| Write::new("a row", "INSERT INTO t (v) VALUES (?)".into(), &[v.into()]);
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("w.db").display());
    let store = Store::open(&url, true).await.expect("store");
    write_one(&store, "CREATE TABLE t (v INTEGER PRIMARY KEY)").await;
    let other = Store::open(&url, false)
        .await
        .expect("a second store on the file");
    let rows = |store: Store| async move {
        let values: Vec<i64> = sqlx::query_scalar("SELECT v FROM t ORDER BY v")
            .fetch_all(&mut *store.read().await.expect("read"))
            .await
            .expect("rows");
        values
    };

    let commits = store.commits();
    let mut w = store.write().await.expect("write");
    w.defer(insert(1));
    w.defer(insert(2));
    // The database is not locked yet: another writer on the file does not wait.
    tokio::time::timeout(
        Duration::from_secs(2),
        write_one(&other, "INSERT INTO t (v) VALUES (10)"),
    )
    .await
    .expect("another connection writes while the transaction only holds writes");
    w.commit().await.expect("commit in one call");
    assert_eq!(rows(store.clone()).await, [1, 2, 10]);
    assert_eq!(store.commits(), commits + 1);

    let mut w = store.write().await.expect("write");
    w.defer(insert(3));
    w.defer(insert(1));
    let failed = w.commit().await;
    assert!(
        failed.is_err(),
        "a duplicate key fails the commit: {failed:?}"
    );
    assert_eq!(rows(store.clone()).await, [1, 2, 10], "nothing of it kept");
    assert_eq!(store.commits(), commits + 1);
    tokio::time::timeout(
        Duration::from_secs(2),
        write_one(&other, "INSERT INTO t (v) VALUES (11)"),
    )
    .await
    .expect("the failed transaction holds no lock");
    let mut w = store.write().await.expect("write");
    w.defer(insert(4));
    w.commit().await.expect("the next write runs");
    assert_eq!(rows(store.clone()).await, [1, 2, 4, 10, 11]);

    let w = store.write().await.expect("write");
    w.commit().await.expect("an empty transaction commits");
    assert_eq!(store.commits(), commits + 2, "and is not counted");
    other.close().await;
    store.close().await;
}

/// A store in a new file, every migration applied.
async fn migrated() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Store::open(&url, true).await.expect("open");
    store.migrate().await.expect("migrate");
    (dir, store)
}

/// A database with the migrations up to `version` applied, as an older licensebot left
/// it (the same files, so the current migrator accepts their checksums).
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
    let new = asked(crate::domain::RequestKind::Assign, "100", None);
    requests::insert(
        w.conn().await.expect("the transaction's connection"),
        &new,
        chrono::Utc::now(),
    )
    .await
    .expect("request")
}

/// What `requester` asks for: `kind`, for `target` (a purchase is of one seat).
fn asked(
    kind: crate::domain::RequestKind,
    requester: &str,
    target: Option<&crate::domain::Upn>,
) -> requests::Asked {
    let purchase = kind == crate::domain::RequestKind::Purchase;
    requests::Asked {
        kind,
        requester: crate::domain::ChatUserId(requester.into()),
        requester_upn: None,
        target_upn: target.cloned(),
        target_name: None,
        quantity: purchase.then_some(1),
        billing_cycle: None,
        reason: None,
        origin_channel: None,
        origin_message: None,
        requester_link: None,
        target_object_id: None,
    }
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
    .fetch_one(w.conn().await.expect("the transaction's connection"))
    .await
    .expect("stage");
    StageId(id)
}

/// Stage 1 of a new request, with its approval message `m-1`.
async fn an_approval_message(w: &mut WriteTx<'_>) -> (StageId, crate::domain::MessageRef) {
    let request = a_request(w).await;
    let stage = a_stage(w, request, 1).await;
    let message = crate::domain::MessageRef("m-1".into());
    stages::set_approval_message(w, stage, &message);
    (stage, message)
}

/// Writes held back stay held past a statement on other tables (chat actions past the
/// request's read and a job's insert; the job's backend calls past a licence term's read
/// and the job's claim), and land at commit; a held write to a table the statement reads
/// goes first, with all the others, in order, and the read sees it.
#[tokio::test]
async fn held_writes_wait_past_statements_on_other_tables_and_not_past_those_on_theirs() {
    use crate::domain::{ChannelRef, RequestState};
    let (_dir, store) = migrated().await;
    let mut w = store.write().await.expect("write");
    let id = a_request(&mut w).await;
    let stage = a_stage(&mut w, id, 1).await;
    let now = chrono::Utc::now();
    let say = outbox::ChatAction::Send {
        channel: ChannelRef("c1".into()),
        content: "hi".into(),
        reply_to: None,
        stage: None,
        mentions: Vec::new(),
    };
    // What the transaction's connection holds, read on it without sending anything held.
    async fn sent(w: &mut WriteTx<'_>) -> (i64, String) {
        let queued: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) + 10 * (SELECT COUNT(*) FROM backend_calls) FROM outbox",
        )
        .fetch_one(super::open(&mut w.conn).expect("open"))
        .await
        .expect("count");
        let state: String = sqlx::query_scalar("SELECT state FROM requests")
            .fetch_one(super::open(&mut w.conn).expect("open"))
            .await
            .expect("state");
        (queued, state)
    }
    outbox::push(&mut w, &say, now).expect("queued");
    stages::of_request_told(&mut w, id)
        .await
        .expect("read")
        .expect("the request");
    let payload = jobs::JobPayload::Assign {
        upn: crate::domain::Upn::parse("a@contoso.example").expect("upn"),
    };
    assert!(jobs::enqueue(&mut w, stage, &payload, now)
        .await
        .expect("job"));
    assert_eq!(
        sent(&mut w).await,
        (0, "pending".into()),
        "the action is still held"
    );
    let call = jobs::CallRecord {
        operation: "assign_licence",
        outcome: "ok",
        detail: None,
        backend_ref: None,
    };
    jobs::record_calls(&mut w, None, Some(id.0), &[call], now);
    let term = crate::store::terms::of_request_in(&mut w, id).await;
    assert_eq!(term.expect("the term's read"), None);
    let lease = ("me", now + chrono::Duration::minutes(1));
    let kind = crate::domain::StageKind::Assign;
    let claimed = jobs::claim_next(&mut w, lease, now, kind, 10).await;
    assert_eq!(claimed.expect("the claim").len(), 1);
    assert_eq!(
        sent(&mut w).await,
        (0, "pending".into()),
        "the action and the call are still held"
    );
    requests::set_state(&mut w, id, RequestState::Approved, None, now);
    outbox::push(&mut w, &say, now).expect("queued");
    let (request, _, _) = stages::of_request_told(&mut w, id)
        .await
        .expect("read")
        .expect("the request");
    assert_eq!(
        request.state,
        RequestState::Approved,
        "the read saw the held state"
    );
    assert_eq!(
        sent(&mut w).await,
        (12, "approved".into()),
        "all held went, in order"
    );
    outbox::push(&mut w, &say, now).expect("queued");
    w.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    let queued: Vec<String> = sqlx::query_scalar("SELECT action FROM outbox ORDER BY id")
        .fetch_all(&mut *r)
        .await
        .expect("queued");
    assert_eq!(queued.len(), 3, "the last action landed at commit");
}

/// What opening requests checks comes from one read: the open licence requests of the
/// targets asked about (no purchase, nothing finished, no one else), in id order, the
/// requester's open requests, and the seat pipeline as [`stages::seat_pipeline`] reads it;
/// with no target and no request of the requester's, still the one row.
/// A job queued claimed (as a decision queues the job it runs next) is running under the
/// lease in one statement: its first attempt counted, marked in the row as one that may
/// send, and read back as sent by no earlier attempt, as a claim reads it. Nothing is queued
/// when the stage has its job already, nor when another job is due: the oldest due goes
/// first then, claimed the usual way.
#[tokio::test]
async fn a_job_is_queued_claimed_only_when_no_other_job_is_due() {
    let (_dir, store) = migrated().await;
    let mut w = store.write().await.expect("write");
    let id = a_request(&mut w).await;
    let (first, second, third) = (
        a_stage(&mut w, id, 1).await,
        a_stage(&mut w, id, 2).await,
        a_stage(&mut w, id, 3).await,
    );
    let now = chrono::Utc::now();
    let lease = ("me", now + chrono::Duration::minutes(5));
    let payload = jobs::JobPayload::Assign {
        upn: crate::domain::Upn::parse("a@contoso.example").expect("upn"),
    };
    let job = jobs::enqueue_claimed(&mut w, first, &payload, now, lease)
        .await
        .expect("the insert")
        .expect("claimed");
    assert_eq!(
        (job.state, job.attempts, job.change_sent, job.verify_only),
        (jobs::JobState::Running, 1, false, false)
    );
    assert_eq!((job.stage_id, &job.payload), (first, &payload));
    let stored: (String, String, i64) =
        sqlx::query_as("SELECT lease_owner, lease_until, change_sent FROM jobs WHERE id = $1")
            .bind(job.id)
            .fetch_one(w.conn().await.expect("conn"))
            .await
            .expect("the job");
    assert_eq!(stored, ("me".into(), ts(lease.1), 1));
    async fn count(w: &mut WriteTx<'_>) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
            .fetch_one(super::open(&mut w.conn).expect("open"))
            .await
            .expect("count")
    }
    let again = jobs::enqueue_claimed(&mut w, first, &payload, now, lease).await;
    assert_eq!(again.expect("the insert"), None, "the stage has its job");
    assert_eq!(count(&mut w).await, 1);
    assert!(jobs::enqueue(&mut w, second, &payload, now)
        .await
        .expect("queued"));
    let behind = jobs::enqueue_claimed(&mut w, third, &payload, now, lease).await;
    assert_eq!(behind.expect("the insert"), None, "another job is due");
    assert_eq!(count(&mut w).await, 2);
    let claimed = jobs::claim_next(&mut w, lease, now, crate::domain::StageKind::Assign, 10)
        .await
        .expect("the claim");
    let stages: Vec<_> = claimed.iter().map(|j| j.stage_id).collect();
    assert_eq!(stages, [second], "the job due is claimed the usual way");
}

#[tokio::test]
async fn opening_checks_read_targets_requests_the_requesters_count_and_the_pipeline() {
    use crate::domain::{ChatUserId, RequestKind, RequestState, Upn};
    let (_dir, store) = migrated().await;
    let mut w = store.write().await.expect("write");
    let upn = |s: &str| Upn::parse(&format!("{s}@contoso.example")).expect("upn");
    let (a, b, c, d) = (upn("a"), upn("b"), upn("c"), upn("d"));
    let ask = |kind, target: &Upn, requester: &str| asked(kind, requester, Some(target));
    let mut ids = Vec::new();
    for asked in [
        ask(RequestKind::Assign, &d, "200"),
        ask(RequestKind::Assign, &a, "100"),
        ask(RequestKind::Assign, &b, "100"),
        ask(RequestKind::Purchase, &c, "100"),
    ] {
        let conn = w.conn().await.expect("the transaction's connection");
        ids.push(
            requests::insert(conn, &asked, chrono::Utc::now())
                .await
                .expect("request"),
        );
    }
    let now = chrono::Utc::now();
    requests::set_state(&mut w, ids[2], RequestState::Completed, None, now);
    a_stage(&mut w, ids[1], 1).await;
    let conn = w.conn().await.expect("the transaction's connection");
    let checks = stages::opening_checks(conn, &[&b, &c, &a, &d], &ChatUserId("100".into()))
        .await
        .expect("checks");
    assert_eq!(
        checks.open_for,
        vec![(d.clone(), ids[0]), (a.clone(), ids[1])]
    );
    assert_eq!(checks.first_open([&b, &c, &a, &d]), Some((&a, ids[1])));
    assert_eq!(checks.first_open([&b, &c]), None);
    assert_eq!(checks.open_by_requester, 2, "a's and the purchase");
    let pipeline = stages::seat_pipeline(conn).await.expect("pipeline");
    assert_eq!(checks.pipeline, pipeline);
    assert_eq!(pipeline.promised, 1);
    let none = stages::opening_checks(conn, &[], &ChatUserId("300".into()))
        .await
        .expect("checks");
    assert_eq!(none.open_for, Vec::new());
    assert_eq!(none.open_by_requester, 0);
    assert_eq!(none.pipeline, pipeline);
}

/// A reaction's record goes with the decision it makes, in one call: the decision is
/// answered (it changed the stage); a replayed record fails its transaction as a replay,
/// even when the decision in the same call changed a row, and nothing of it is kept.
#[tokio::test]
async fn a_reactions_record_goes_with_its_decision_and_a_replay_keeps_nothing() {
    use crate::domain::{ChatUserId, DecisionSource, StageState};
    let (_dir, store) = migrated().await;
    let mut w = store.write().await.expect("write");
    let (stage, message) = an_approval_message(&mut w).await;
    let other = a_request(&mut w).await;
    let other = a_stage(&mut w, other, 1).await;
    w.commit().await.expect("commit");
    let carol = ChatUserId("carol".into());
    let key = reactions::Key {
        message: &message,
        user: &carol,
        emoji: "✅",
    };
    let decided = |note| stages::Decided {
        by: &carol,
        by_upn: None,
        via: DecisionSource::Reaction,
        note,
    };
    let now = chrono::Utc::now();
    let mut w = store.write().await.expect("write");
    reactions::claim(&mut w, key, true, now);
    let to = StageState::Approved;
    let first = stages::decide(&mut w, stage, to, decided(None), now).await;
    assert!(first.expect("the record and the decision"), "decided");
    w.commit().await.expect("commit");

    let mut w = store.write().await.expect("write");
    reactions::claim(&mut w, key, true, now);
    let replayed = stages::decide(&mut w, other, to, decided(Some("again")), now).await;
    let e = replayed.expect_err("a replay fails its transaction");
    assert!(reactions::is_replay(&e), "{e}");
    assert!(w.commit().await.is_err(), "nothing of it can be committed");
    let mut r = store.read().await.expect("read");
    let states: Vec<String> = sqlx::query_scalar("SELECT state FROM stages ORDER BY id")
        .fetch_all(&mut *r)
        .await
        .expect("states");
    assert_eq!(states, ["approved", "pending"]);
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
    stages::set_approval_message(&mut w, second, &message);
    stages::transition(
        w.conn().await.expect("the transaction's connection"),
        first,
        StageState::Pending,
        StageState::Approved,
    )
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
    let (stage, message) = an_approval_message(&mut w).await;
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
    async fn claim(store: &Store, message: &MessageRef, user: &ChatUserId, added: bool) -> bool {
        let key = reactions::Key {
            message,
            user,
            emoji: "✅",
        };
        let mut w = store.write().await.expect("write");
        reactions::claim(&mut w, key, added, chrono::Utc::now());
        match w.commit().await {
            Ok(()) => true,
            Err(e) if reactions::is_replay(&e) => false,
            Err(e) => panic!("the claim failed: {e}"),
        }
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
    use crate::domain::{ChatUserId, Language};
    let (_dir, store) = migrated().await;
    let mut w = store.write().await.expect("write");
    let (stage, message) = an_approval_message(&mut w).await;
    let (carol, dave, erin) = (
        ChatUserId("carol".into()),
        ChatUserId("dave".into()),
        ChatUserId("erin".into()),
    );
    let now = chrono::Utc::now();
    languages::choose(
        w.conn().await.expect("the transaction's connection"),
        &carol,
        Language::Nl,
        now,
    )
    .await
    .expect("carol's");
    sqlx::query(
        "INSERT INTO person_languages (chat_user, language, chosen_at) VALUES ($1, 'xx', $2)",
    )
    .bind(erin.as_str())
    .bind(ts(now))
    .execute(w.conn().await.expect("the transaction's connection"))
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

/// What telling a requester needs, read with their request as it moves on, is what the
/// read of its own finds: their language, and how many requests their message opened
/// (two here; none counted for a request without a message).
#[tokio::test]
async fn a_request_is_read_with_what_telling_its_requester_needs() {
    use crate::domain::{ChannelRef, ChatUserId, Language, MessageRef, RequestKind};
    let (_dir, store) = migrated().await;
    let mut w = store.write().await.expect("write");
    let requester = ChatUserId("100".into());
    let message = MessageRef("m-7".into());
    let mut ids = Vec::new();
    for _ in 0..2 {
        let asked = requests::Asked {
            kind: RequestKind::Assign,
            requester: requester.clone(),
            requester_upn: None,
            target_upn: None,
            target_name: None,
            quantity: None,
            billing_cycle: None,
            reason: None,
            origin_channel: Some(ChannelRef("general".into())),
            origin_message: Some(message.clone()),
            requester_link: None,
            target_object_id: None,
        };
        ids.push(
            requests::insert(
                w.conn().await.expect("the transaction's connection"),
                &asked,
                chrono::Utc::now(),
            )
            .await
            .expect("request"),
        );
    }
    let alone = a_request(&mut w).await;
    languages::choose(
        w.conn().await.expect("the transaction's connection"),
        &requester,
        Language::Nl,
        chrono::Utc::now(),
    )
    .await
    .expect("a language");
    let mut found = Vec::new();
    for id in [ids[0], ids[1], alone] {
        let (request, _, told) = stages::of_request_told(&mut w, id)
            .await
            .expect("read")
            .expect("the request");
        let own = languages::told(
            w.conn().await.expect("the transaction's connection"),
            &requester,
            request.origin_message.as_ref(),
        )
        .await
        .expect("read");
        assert_eq!(told, own, "request {id:?}");
        found.push(told.batch);
    }
    assert_eq!(found, [2, 2, 0]);
    assert_eq!(
        stages::of_request_told(&mut w, ids[0])
            .await
            .expect("read")
            .map(|r| r.2.language),
        Some(Some(Language::Nl))
    );
    assert!(stages::of_request_told(&mut w, RequestId(999))
        .await
        .expect("read")
        .is_none());
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
        .execute(w.conn().await.expect("the transaction's connection"))
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
    .fetch_one(w.conn().await.expect("the transaction's connection"))
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
            .execute(w.conn().await.expect("the transaction's connection"))
            .await
            .expect("an old kv row");
    }
    w.commit().await.expect("commit");

    store
        .migrate()
        .await
        .expect("upgrade to the current schema");

    let mut w = store.write().await.expect("write");
    let c = w.conn().await.expect("the transaction's connection");
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

/// A transaction places its events after the head its store last committed, without
/// reading it; when another process appended since, they are chained again after the head
/// as it is, so the chain stays whole and numbered without a gap. A rolled-back
/// transaction teaches its store nothing.
#[tokio::test]
async fn events_placed_after_a_known_head_are_chained_again_when_another_process_appended() {
    let (dir, one) = migrated().await;
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let other = Store::open(&url, false).await.expect("a second store");
    async fn append(store: &Store, detail: &str, commit: bool) -> i64 {
        let mut w = store.write().await.expect("write");
        let e = audit::NewEvent {
            request: None,
            actor: "system",
            action: "drift_found",
            before: None,
            after: None,
            detail,
        };
        let id = w
            .append_audit(&e, chrono::Utc::now())
            .await
            .expect("append");
        if commit {
            w.commit().await.expect("commit");
        }
        id
    }
    assert_eq!(append(&one, "first, head read", true).await, 1);
    assert_eq!(append(&one, "second, head known", true).await, 2);
    assert_eq!(append(&other, "third, elsewhere", true).await, 3);
    assert_eq!(
        append(&one, "rolled back", false).await,
        3,
        "placed after its known head"
    );
    // Placed after the head `one` knows (2), written after the one there is (3).
    assert_eq!(append(&one, "fourth, chained again", true).await, 3);
    assert_eq!(append(&one, "fifth, head known again", true).await, 5);
    // `other` knows its own third as the head: placed at 4, written at 6.
    assert_eq!(append(&other, "sixth, elsewhere again", true).await, 4);

    let mut conn = one.read().await.expect("read");
    let check = audit::verify_chain(&mut conn).await.expect("verify");
    assert!(check.intact(), "{check:?}");
    assert_eq!(check.checked, 6);
    let details: Vec<String> = sqlx::query_scalar("SELECT detail FROM audit_events ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .expect("details");
    assert_eq!(
        details,
        [
            "first, head read",
            "second, head known",
            "third, elsewhere",
            "fourth, chained again",
            "fifth, head known again",
            "sixth, elsewhere again"
        ]
    );
}

/// Writes a transaction holds back go before its next statement, so that statement sees
/// them; a held write that must change one row and changes none fails the commit, and
/// nothing of the transaction stays, the writes held with it included; after a failed send
/// the transaction cannot commit at all.
#[tokio::test]
async fn held_writes_are_seen_by_the_next_statement_and_a_wrong_count_undoes_them_all() {
    use crate::domain::{ChannelRef, RequestState, StageState};
    use outbox::ChatAction;
    let (_dir, store) = migrated().await;
    let at = chrono::Utc::now();
    let post = ChatAction::Send {
        channel: ChannelRef("c1".into()),
        content: "held".into(),
        reply_to: None,
        stage: None,
        mentions: Vec::new(),
    };
    let mut w = store.write().await.expect("write");
    let request = a_request(&mut w).await;
    let stage = a_stage(&mut w, request, 1).await;
    w.commit().await.expect("commit");

    let mut w = store.write().await.expect("write");
    outbox::push(&mut w, &post, at).expect("push");
    requests::set_state(&mut w, request, RequestState::Approved, None, at);
    let conn = w.conn().await.expect("the held writes sent");
    assert_eq!(outbox::undelivered(&mut *conn).await.expect("count"), 1);
    let read = requests::get(&mut *conn, request).await.expect("get");
    assert_eq!(read.expect("the request").state, RequestState::Approved);
    w.commit().await.expect("commit");

    // The stage is pending, not approved: the held move finds no row in `approved`.
    let mut w = store.write().await.expect("write");
    outbox::push(&mut w, &post, at).expect("push");
    requests::set_state(&mut w, request, RequestState::Executing, None, at);
    stages::transition_later(&mut w, stage, StageState::Approved, StageState::Executing);
    let err = w.commit().await.expect_err("a held write changed no row");
    assert!(
        matches!(
            err,
            StoreError::Unapplied {
                expected: 1,
                changed: 0,
                ..
            }
        ),
        "{err}"
    );
    let mut conn = store.read().await.expect("read");
    assert_eq!(outbox::undelivered(&mut conn).await.expect("count"), 1);
    let read = requests::get(&mut conn, request).await.expect("get");
    assert_eq!(read.expect("the request").state, RequestState::Approved);
    let read = stages::get(&mut conn, stage).await.expect("stage");
    assert_eq!(read.expect("the stage").state, StageState::Pending);
    drop(conn);

    // A caller that goes on past a failed send cannot commit what it left out.
    let mut w = store.write().await.expect("write");
    stages::transition_later(&mut w, stage, StageState::Approved, StageState::Executing);
    outbox::push(&mut w, &post, at).expect("push");
    let err = w.conn().await.expect_err("the held move changed no row");
    assert!(matches!(err, StoreError::Unapplied { .. }), "{err}");
    requests::set_state(&mut w, request, RequestState::Executing, None, at);
    let err = w.commit().await.expect_err("an earlier send failed");
    assert!(matches!(err, StoreError::Broken), "{err}");
    let mut conn = store.read().await.expect("read");
    assert_eq!(outbox::undelivered(&mut conn).await.expect("count"), 1);
    let read = requests::get(&mut conn, request).await.expect("get");
    assert_eq!(read.expect("the request").state, RequestState::Approved);
}
