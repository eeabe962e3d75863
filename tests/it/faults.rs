//! Faults survived, as tables: every row names a fault, injects it into a run of the real
//! binary (or, for the database, of the engine in-process), and checks the outcome the row
//! expects. Each row is its own test and prints `FAULT-TABLE | fault | expected | observed`;
//! README's Reliability section shows them.
//!
//! - Microsoft Graph and Partner Center faults come from the fake Microsoft
//!   (tests/it/support/fake_microsoft/), with the bot in `console --jsonl` mode.
//! - Discord faults come from the fake Discord, with the bot on the simulated tenant.
//! - SQLite faults come from a second connection holding the write lock, and from a page
//!   limit on the bot's own connections (a full disk).
//! - A corrupt settings file stops start-up with a message naming file, key and problem.

use std::time::Duration;

use serde_json::Value;

use licensebot::store::StoreOptions;

use crate::engine::harness::Harness;
use crate::support::bot::{approval_with, contents, dms_to, id, request_state};
use crate::support::db;
use crate::support::discord_bot::{self, DiscordBot, TIMEOUT};
use crate::support::fake_discord::{self as fd, FakeDiscord, APPROVALS, BOT, GENERAL};
use crate::support::fake_microsoft::{FakeMicrosoft, Fault, FaultKind, HoldId};
use crate::support::Bot;

macro_rules! table {
    ($runner:ident: $($name:ident => $case:ident;)*) => {$(
        #[test]
        fn $name() {
            $runner(&$case);
        }
    )*};
}

/// Prints one row of the fault table.
fn report(fault: &str, expected: &str, observed: &str) {
    println!("FAULT-TABLE | {fault} | {expected} | {observed}");
}

// ---------------------------------------------------------------------------------------
// Microsoft Graph: alice asks with a seat free, carol approves; the fault is injected after
// the approval message is posted, so it hits the job.

/// One Graph row.
struct GraphCase {
    fault: &'static str,
    expected: &'static str,
    /// Sets the fault up on the fake (after the request, before the approval).
    inject: fn(&FakeMicrosoft),
    /// Extra settings (`LICENSEBOT__…`).
    env: &'static [(&'static str, &'static str)],
    /// `assignLicense` requests Graph receives in all.
    assign_requests: usize,
    /// Job attempts in all.
    attempts: i64,
    /// Anything else the row checks, on what was observed.
    check: fn(&GraphObserved),
}

/// What a Graph row observed.
#[derive(Debug)]
struct GraphObserved {
    state: String,
    assign_requests: usize,
    licences: Vec<String>,
    attempts: i64,
    done_dms: Vec<String>,
    /// The delays the job queue chose before retries (ms), from the audit trail.
    retry_delays_ms: Vec<u64>,
    tokens_issued: u32,
    /// How many times the bot's clock was moved on until the job ended.
    clock_moves: u32,
}

const ALICE: &str = "alice@contoso.example";

fn no_check(_: &GraphObserved) {}

/// HTTP requests that carried an `assignLicense` (alone or in a `$batch`), answered or not.
fn assign_requests(fake: &FakeMicrosoft) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.path.ends_with("/assignLicense") || r.body.contains("assignLicense"))
        .count()
}

fn run_graph(case: &GraphCase) {
    let fake = FakeMicrosoft::start();
    let (toml, env) = fake.bot_settings(false);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // A job that may have sent its change before a failure reads back before sending again:
    // briefly, here.
    env.push(("LICENSEBOT__JOBS__VERIFY_INTERVAL", "50ms"));
    env.extend_from_slice(case.env);
    let (dir, mut bot) = Bot::start_with(&toml, &env);
    bot.say("dave", &format!("!pro request for {ALICE}"));
    let got = bot.idle();
    let approval = id(approval_with(&got, "Request #1"));
    let tokens_before = fake.tokens_issued();
    (case.inject)(&fake);

    bot.react("carol", &approval, "✅");
    let mut said = bot.idle();
    let mut clock_moves = 0;
    while request_state(dir.path(), 1) != "completed" && clock_moves < 6 {
        // A retry is due after the job queue's backoff: move the bot's clock past it.
        bot.advance(30);
        clock_moves += 1;
        said.extend(bot.idle());
    }
    said.extend(bot.finish());

    let db = db::open(dir.path());
    let retry_delays_ms = db
        .texts("SELECT detail FROM audit_events WHERE action = 'job_retry_scheduled' ORDER BY id")
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|d| d["retry_in_ms"].as_u64())
        .collect();
    let observed = GraphObserved {
        state: request_state(dir.path(), 1),
        assign_requests: assign_requests(&fake),
        licences: fake.licences_of(ALICE),
        attempts: db.scalar("SELECT attempts FROM jobs"),
        done_dms: dms_to(&said, "dave")
            .into_iter()
            .filter(|d| d.contains("is done"))
            .map(str::to_string)
            .collect(),
        retry_delays_ms,
        tokens_issued: fake.tokens_issued() - tokens_before,
        clock_moves,
    };
    report(
        case.fault,
        case.expected,
        &format!(
            "{}; assignLicense requests {}; attempts {}; told done {}x{}",
            observed.state,
            observed.assign_requests,
            observed.attempts,
            observed.done_dms.len(),
            if observed.retry_delays_ms.is_empty() {
                String::new()
            } else {
                format!("; retry after {:?} ms", observed.retry_delays_ms)
            }
        ),
    );

    assert_eq!(
        observed.state,
        "completed",
        "{observed:#?}\n{}",
        contents(&said)
    );
    assert_eq!(observed.licences, ["POWER_BI_PRO"], "{observed:#?}");
    assert_eq!(
        observed.assign_requests, case.assign_requests,
        "{observed:#?}"
    );
    assert_eq!(observed.attempts, case.attempts, "{observed:#?}");
    assert_eq!(observed.done_dms.len(), 1, "told once: {observed:#?}");
    assert!(
        observed.done_dms[0].contains(&format!("Power BI Pro assigned to {ALICE}")),
        "told what was done: {observed:#?}"
    );
    (case.check)(&observed);
}

const GRAPH_THROTTLED: GraphCase = GraphCase {
    fault: "Graph 429 with Retry-After: 7 on assignLicense",
    expected: "refused, not made; retried by the job queue no sooner than 7 s; assigned on the 2nd attempt; told once",
    inject: |f| {
        f.inject(Fault::on_batch_item(
            "POST",
            "/assignLicense",
            1,
            FaultKind::Throttle(Some("7".into())),
        ))
    },
    env: &[],
    assign_requests: 2,
    attempts: 2,
    check: |o| {
        assert!(
            o.retry_delays_ms.first().is_some_and(|ms| *ms >= 7000),
            "{o:#?}"
        )
    },
};

const GRAPH_500: GraphCase = GraphCase {
    fault: "Graph 500 on the $batch carrying assignLicense",
    expected: "outcome unknown: the 2nd attempt reads back first, sees nothing, assigns; told once",
    inject: |f| {
        f.inject(Fault::on("POST", "/$batch", 1, FaultKind::ServerError).with_body("assignLicense"))
    },
    env: &[],
    assign_requests: 2,
    attempts: 2,
    check: no_check,
};

const GRAPH_503_READ: GraphCase = GraphCase {
    fault: "Graph 503 with Retry-After: 0.2 on the job's directory read",
    expected: "the client waits and reads again; one attempt, one assignLicense",
    inject: |f| {
        f.inject(Fault::on(
            "POST",
            "/$batch",
            1,
            FaultKind::Unavailable(Some("0.2".into())),
        ))
    },
    env: &[],
    assign_requests: 1,
    attempts: 1,
    check: no_check,
};

const GRAPH_READ_TIMEOUT: GraphCase = GraphCase {
    fault: "Graph answers the role re-check after 3 s (timeout 2 s)",
    expected: "the read times out and is repeated by the client; one attempt, one assignLicense",
    inject: |f| {
        f.inject(Fault::on(
            "GET",
            "/roleManagement/",
            1,
            FaultKind::Slow(Duration::from_secs(3)),
        ))
    },
    env: &[],
    assign_requests: 1,
    attempts: 1,
    check: no_check,
};

const GRAPH_WRITE_TIMEOUT: GraphCase = GraphCase {
    fault: "Graph does not answer the $batch carrying assignLicense within the bot's 2 s timeout (the fake drops the work when the client goes)",
    expected: "not repeated by the client; outcome unknown: the 2nd attempt reads back first, sees nothing, assigns; told once",
    inject: |f| {
        f.inject(
            Fault::on("POST", "/$batch", 1, FaultKind::Slow(Duration::from_secs(4)))
                .with_body("assignLicense"),
        )
    },
    env: &[],
    assign_requests: 2,
    attempts: 2,
    check: no_check,
};

const GRAPH_DROPPED: GraphCase = GraphCase {
    fault: "Graph makes the assignment, then drops the connection mid-answer",
    expected: "outcome unknown: the 2nd attempt reads back, sees the licence and reports it assigned; assignLicense not sent again",
    inject: |f| {
        f.inject(Fault::on("POST", "/$batch", 1, FaultKind::Drop).with_body("assignLicense"))
    },
    env: &[],
    assign_requests: 1,
    attempts: 2,
    check: no_check,
};

const GRAPH_TOKEN_EXPIRED: GraphCase = GraphCase {
    fault: "Graph's token expires between the request and the approval",
    expected:
        "the first call gets 401, the token is renewed once and the call repeated; one attempt",
    inject: |f| f.expire_tokens(),
    env: &[],
    assign_requests: 1,
    attempts: 1,
    check: |o| assert_eq!(o.tokens_issued, 1, "{o:#?}"),
};

const GRAPH_LAG: GraphCase = GraphCase {
    fault: "Graph shows the assignment only on the 4th read (read-back lag), 2 read-backs an attempt",
    expected: "not visible yet: the job only verifies from then on and never assigns again; done on a later check",
    inject: |f| f.state().readback_lag = 3,
    env: &[("LICENSEBOT__JOBS__VERIFY_ATTEMPTS", "2")],
    assign_requests: 1,
    attempts: 2,
    check: |o| assert!(o.clock_moves >= 1, "{o:#?}"),
};

table! { run_graph:
    graph_429_with_retry_after_is_retried_no_sooner_and_assigned_once => GRAPH_THROTTLED;
    graph_500_on_the_write_is_read_back_then_assigned_once => GRAPH_500;
    graph_503_on_a_read_is_waited_out_by_the_client => GRAPH_503_READ;
    graph_read_timeout_is_repeated_by_the_client => GRAPH_READ_TIMEOUT;
    graph_write_timeout_is_not_repeated_blindly => GRAPH_WRITE_TIMEOUT;
    graph_dropped_connection_after_the_change_is_verified_not_redone => GRAPH_DROPPED;
    graph_token_expiry_mid_run_renews_the_token => GRAPH_TOKEN_EXPIRED;
    graph_read_back_lag_is_verified_later_never_redone => GRAPH_LAG;
}

// ---------------------------------------------------------------------------------------
// Partner Center: judy asks with no seat free; dave, who holds both roles, approves the
// purchase and the assignment with one reaction. The fault hits the purchase job.

/// One Partner Center row.
struct PcCase {
    fault: &'static str,
    expected: &'static str,
    /// Sets the fault up; may return a hold the run waits for.
    arm: fn(&FakeMicrosoft) -> Option<HoldId>,
    /// Runs while the hold keeps an answer back, before it is released.
    while_held: fn(&FakeMicrosoft),
    /// `seats remove 1` by dave instead of judy's request.
    reduction: bool,
    /// The request's end state.
    state: &'static str,
    /// Quantity changes Partner Center made.
    changes: &'static [(i64, i64)],
    /// A text the bot must have said.
    says: &'static str,
}

fn no_hold(_: &FakeMicrosoft) -> Option<HoldId> {
    None
}

fn run_partner_center(case: &PcCase) {
    let fake = FakeMicrosoft::start();
    let (toml, env) = fake.bot_settings(true);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    if !case.reduction {
        fake.state().set_enabled("POWER_BI_PRO", 1);
    }
    let (dir, mut bot) = Bot::start_with(&toml, &env);
    if !case.reduction {
        bot.link_with("judy", "judy@contoso.example", |to| fake.mailed_code(to));
    }
    let hold = (case.arm)(&fake);
    let mut said = if case.reduction {
        bot.say("dave", "!pro seats remove 1");
        Vec::new()
    } else {
        bot.say("judy", "!pro request");
        let got = bot.idle();
        bot.react("dave", &id(approval_with(&got, "stage 1 of 2")), "✅");
        got
    };
    if let Some(h) = hold {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !fake.holding(h) {
            assert!(std::time::Instant::now() < deadline, "nothing was held");
            std::thread::sleep(Duration::from_millis(10));
        }
        (case.while_held)(&fake);
        fake.release(h);
    }
    said.extend(bot.idle());
    let mut clock_moves = 0;
    while !matches!(
        request_state(dir.path(), 1).as_str(),
        "completed" | "failed"
    ) && clock_moves < 6
    {
        bot.advance(60);
        clock_moves += 1;
        said.extend(bot.idle());
    }
    said.extend(bot.finish());

    let state = request_state(dir.path(), 1);
    let changes = fake.state().quantity_changes.clone();
    let patches = fake.count("PATCH", "/subscriptions/");
    let attempts = db::open(dir.path()).scalar("SELECT MAX(attempts) FROM jobs");
    let all = contents(&said);
    report(
        case.fault,
        case.expected,
        &format!(
            "{state}; quantity changes {changes:?}; PATCH requests {patches}; purchase attempts {attempts}"
        ),
    );
    assert_eq!(state, case.state, "{all}");
    assert_eq!(changes, case.changes, "{all}");
    assert!(
        all.contains(case.says),
        "{:?} not said in:\n{all}",
        case.says
    );
}

const PC_STALE_ETAG: PcCase = PcCase {
    fault: "Partner Center: the subscription changes between the bot's GET and its PATCH (ETag stale, 2055)",
    expected: "transient: the next attempt reads the subscription again and buys once; then the assignment",
    arm: |f| Some(f.hold("GET", "/subscriptions/")),
    while_held: |f| f.state().subscription.etag_version += 1,
    reduction: false,
    state: "completed",
    changes: &[(1, 2)],
    says: "Power BI Pro assigned to judy@contoso.example",
};

const PC_ORDER_IN_PROGRESS: PcCase = PcCase {
    fault: "Partner Center: 409, code 800060 (order in progress) on the PATCH",
    expected: "transient: retried later, bought once; then the assignment",
    arm: |f| {
        f.inject(Fault::on(
            "PATCH",
            "/subscriptions/",
            1,
            FaultKind::PcOrderInProgress,
        ));
        None
    },
    while_held: |_| {},
    reduction: false,
    state: "completed",
    changes: &[(1, 2)],
    says: "Power BI Pro assigned to judy@contoso.example",
};

const PC_THROTTLED: PcCase = PcCase {
    fault: "Partner Center: 429 with Retry-After: 1 on the PATCH",
    expected: "refused, not made: retried after the wait, bought once; then the assignment",
    arm: |f| {
        f.inject(Fault::on(
            "PATCH",
            "/subscriptions/",
            1,
            FaultKind::PcThrottle("1".into()),
        ));
        None
    },
    while_held: |_| {},
    reduction: false,
    state: "completed",
    changes: &[(1, 2)],
    says: "Power BI Pro assigned to judy@contoso.example",
};

const PC_CANNOT_DECREASE: PcCase = PcCase {
    fault: "Partner Center: 400, code 800090 (quantity cannot be decreased) on `!pro seats remove 1` outside the window",
    expected: "permanent: the request fails with Partner Center's words; nothing changes",
    arm: no_hold,
    while_held: |_| {},
    reduction: true,
    state: "failed",
    changes: &[],
    says: "cannot be decreased",
};

table! { run_partner_center:
    partner_center_stale_etag_is_read_again_and_bought_once => PC_STALE_ETAG;
    partner_center_order_in_progress_is_retried_and_bought_once => PC_ORDER_IN_PROGRESS;
    partner_center_429_is_retried_and_bought_once => PC_THROTTLED;
    partner_center_refused_decrease_fails_and_changes_nothing => PC_CANNOT_DECREASE;
}

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
    let (dir, mut bot) = Bot::start("");
    bot.link("alice", "alice@contoso.example");
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
    let done = dms_to(&got, "alice")
        .iter()
        .filter(|d| d.contains("is done"))
        .count();
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
        db.scalar("SELECT COUNT(*) FROM sim_assignments WHERE upn = 'alice@contoso.example'");
    let assign_calls =
        db.scalar("SELECT COUNT(*) FROM backend_calls WHERE operation = 'assign_licence'");
    let done = dms_to(&got, "alice")
        .iter()
        .filter(|d| d.contains("is done"))
        .count();
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
    let stored = h.scalar("SELECT COUNT(*) FROM requests").await;
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
async fn sqlite_write_lock_past_the_busy_timeout_leaves_a_due_job_queued() {
    let h = impatient_engine().await;
    h.link("alice", "alice@contoso.example").await;
    h.say("alice", "!pro request").await;
    h.react("carol", &h.approval("Request #1"), "✅").await;
    let lock = WriteLock::take(&h.db_path()).await;

    let ran_locked = h.engine.run_due_jobs().await;
    let queued = h
        .scalar("SELECT COUNT(*) FROM jobs WHERE state = 'queued'")
        .await;
    lock.release().await;
    let ran = h.engine.run_due_jobs().await;
    h.engine.deliver().await;

    let calls = h
        .tenant
        .assign_calls
        .load(std::sync::atomic::Ordering::SeqCst);
    report(
        "another process holds the write lock longer than the busy timeout when a job is due",
        "the job cannot be claimed and stays queued, untouched; it runs once the lock is gone",
        &format!(
            "locked: {ran_locked} run, {queued} queued; released: {ran} run, {} ; assign calls {calls}",
            h.state(1).await
        ),
    );
    assert_eq!((ran_locked, queued), (0, 1));
    assert_eq!((ran, calls), (1, 1));
    assert_eq!(h.state(1).await, "completed");
}

/// Fills the database up to its page limit through the bot's own connections: a table of
/// blobs, written in shrinking pieces until not one more page can be had.
async fn fill_the_disk(h: &Harness) -> usize {
    let mut w = h.store.write().await.expect("write");
    sqlx::query("CREATE TABLE filler (b BLOB)")
        .execute(w.conn())
        .await
        .expect("filler table");
    w.commit().await.expect("commit");
    let mut size = 64 * 1024;
    let mut rows = 0;
    while size >= 256 {
        let mut w = h.store.write().await.expect("write");
        let r = sqlx::query("INSERT INTO filler (b) VALUES (zeroblob(?))")
            .bind(size as i64)
            .execute(w.conn())
            .await;
        match r {
            Ok(_) => {
                w.commit().await.expect("commit");
                rows += 1;
            }
            Err(e) => {
                assert!(e.to_string().contains("full"), "{e}");
                drop(w);
                size /= 2;
            }
        }
    }
    rows
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
    let requests = h.scalar("SELECT COUNT(*) FROM requests").await;
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
        .execute(w.conn())
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

// ---------------------------------------------------------------------------------------
// Discord: the bot on the fake Discord and the simulated tenant; alice asks, carol approves.

/// The fake Discord and a connected bot.
struct OnDiscord {
    fake: FakeDiscord,
    dir: tempfile::TempDir,
    _bot: DiscordBot,
}

impl OnDiscord {
    /// Starts the fake (with `before` applied) and the bot, and waits until it is connected.
    async fn start(before: impl FnOnce(&FakeDiscord)) -> OnDiscord {
        let fake = FakeDiscord::start().await;
        before(&fake);
        let dir = tempfile::tempdir().expect("tempdir");
        discord_bot::write_config(dir.path(), &fake.url());
        let bot = DiscordBot::start(dir.path());
        fake.wait_for("the bot to connect", TIMEOUT, |v| {
            v.connected().then_some(())
        })
        .await;
        OnDiscord {
            fake,
            dir,
            _bot: bot,
        }
    }

    /// Alice links and asks; returns the approval message once the bot reacted on it.
    async fn alice_asks(&self) -> fd::Msg {
        self.alice_links().await;
        self.alice_requests().await
    }

    /// Alice proves her link (the mailed code, answered by DM).
    async fn alice_links(&self) {
        let dir = self.dir.path().to_path_buf();
        discord_bot::link(&self.fake, "alice", "alice@contoso.example", |to| {
            discord_bot::mailed_code(&dir, to)
        })
        .await;
    }

    /// Alice asks (her link proven); returns the approval message once the bot reacted on it.
    async fn alice_requests(&self) -> fd::Msg {
        self.fake.say("alice", GENERAL, "!pro request");
        self.fake
            .wait_for(
                "the approval message with the bot's reactions",
                TIMEOUT,
                |v| {
                    v.bot_message(APPROVALS, "Request #1").filter(|m| {
                        ["✅", "❌"]
                            .iter()
                            .all(|e| m.reactions.get(*e).is_some_and(|u| u.contains(&BOT)))
                    })
                },
            )
            .await
    }

    /// Waits until the approval message says it is done and nothing is owed in chat.
    async fn done(&self, approval: u64) {
        self.fake
            .wait_for("the approval marked done", TIMEOUT, |v| {
                v.message(approval).filter(|m| m.content.contains("Done"))
            })
            .await;
        let deadline = std::time::Instant::now() + TIMEOUT;
        while self.owed().await > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "{}",
                self.fake.describe()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Messages the bot still owes (undelivered, not given up).
    async fn owed(&self) -> i64 {
        use sqlx::{ConnectOptions, Connection};
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(self.dir.path().join("bot.db"))
            .connect()
            .await
            .expect("db");
        let n = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND gave_up_at IS NULL",
        )
        .fetch_one(&mut conn)
        .await
        .expect("query");
        conn.close().await.expect("close");
        n
    }

    /// Bot messages to alice that say it is done: (DMs, replies in #general).
    fn told_done(&self) -> (usize, usize) {
        self.fake.view(|v| {
            let dms = v
                .dms_to("alice")
                .iter()
                .filter(|d| d.contains("is done"))
                .count();
            let replies = v
                .messages_in(GENERAL)
                .iter()
                .filter(|m| m.author == BOT && m.content.contains("is done"))
                .count();
            (dms, replies)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_gateway_drop_is_resumed_and_the_missed_reaction_applied_once() {
    let d = OnDiscord::start(|_| {}).await;
    let approval = d.alice_asks().await;

    d.fake.disconnect_and_hold();
    d.fake
        .wait_for("the bot to try to resume", TIMEOUT, |v| {
            (v.handshakes().1 >= 1).then_some(())
        })
        .await;
    d.fake.react("carol", approval.id, "✅");
    d.fake.release_resume();
    d.done(approval.id).await;

    let (identifies, resumes) = d.fake.view(|v| v.handshakes());
    let approvals = discord_bot::audit(d.dir.path(), 1).await["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "stage_approved")
        .count();
    let told = d.told_done();
    report(
        "Discord gateway connection dropped (resumable close 4000); a reaction arrives while the bot is away",
        "serenity resumes the session; the missed reaction is replayed and applied once; the request completes",
        &format!(
            "identifies {identifies}, resumes {resumes}; approvals applied {approvals}; {}; told done {told:?} (DM, reply)",
            discord_bot::request_state(d.dir.path(), 1).await
        ),
    );
    assert_eq!((identifies, resumes), (1, 1));
    assert_eq!(approvals, 1);
    assert_eq!(told, (1, 1));
    d.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_rest_429_on_the_approval_post_is_retried_and_posted_once() {
    let d = OnDiscord::start(|f| {
        f.fail(fd::Fault::on(
            "POST",
            &format!("/channels/{APPROVALS}/messages"),
            1,
            429,
        ))
    })
    .await;
    let approval = d.alice_asks().await;

    let (statuses, posted) = d.fake.view(|v| {
        let statuses: Vec<u16> = v
            .calls_to("POST", &format!("/channels/{APPROVALS}/messages"))
            .iter()
            .map(|c| c.status)
            .collect();
        let posted = v
            .messages_in(APPROVALS)
            .iter()
            .filter(|m| m.content.contains("Request #1"))
            .count();
        (statuses, posted)
    });
    report(
        "Discord REST 429 (retry_after 0.25 s, rate-limit headers) on posting the approval message",
        "the outbox keeps the post and retries it; posted once, with the bot's reactions",
        &format!(
            "POST statuses {statuses:?}; approval messages {posted}; reactions on it: {:?}",
            approval.reactions.keys().collect::<Vec<_>>()
        ),
    );
    assert_eq!(statuses.first(), Some(&429));
    assert_eq!(posted, 1);
    d.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_500_on_the_approval_edit_is_retried_and_edited() {
    let d = OnDiscord::start(|_| {}).await;
    let approval = d.alice_asks().await;
    d.fake.fail(fd::Fault::on(
        "PATCH",
        &format!("/messages/{}", approval.id),
        1,
        500,
    ));

    d.fake.react("carol", approval.id, "✅");
    d.done(approval.id).await;

    let statuses: Vec<u16> = d.fake.view(|v| {
        v.calls_to("PATCH", &format!("/messages/{}", approval.id))
            .iter()
            .map(|c| c.status)
            .collect()
    });
    let told = d.told_done();
    report(
        "Discord REST 500 on editing the approval message",
        "the outbox retries the edit; the message ends showing the outcome; the requester told once",
        &format!("PATCH statuses {statuses:?}; told done {told:?} (DM, reply)"),
    );
    assert_eq!(statuses.first(), Some(&500));
    assert_eq!(told, (1, 1));
    d.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_closed_dms_leave_the_requester_told_once_by_reply() {
    // Alice proves her link first (its code is answered by DM); then her DMs close.
    let d = OnDiscord::start(|_| {}).await;
    d.alice_links().await;
    d.fake.close_dms("alice");
    let approval = d.alice_requests().await;

    d.fake.react("carol", approval.id, "✅");
    d.done(approval.id).await;

    let refused = d.fake.view(|v| {
        v.calls()
            .iter()
            .filter(|c| c.method == "POST" && c.status == 403)
            .count()
    });
    let told = d.told_done();
    let owed = d.owed().await;
    report(
        "the requester's DMs are closed (403, code 50007)",
        "the DM is given up at once, not retried; the requester is told once, by the reply under their request",
        &format!("DMs refused {refused}; told done {told:?} (DM, reply); messages still owed {owed}"),
    );
    assert!(refused >= 1);
    assert_eq!(told, (0, 1));
    assert_eq!(owed, 0);
    d.fake.assert_faithful();
}

// ---------------------------------------------------------------------------------------
// A corrupt settings file: start-up stops with exit code 2 and names file, key and problem.

struct ConfigCase {
    fault: &'static str,
    /// Appended to the test settings file.
    text: &'static [u8],
    /// What the message must name (besides the file).
    names: &'static [&'static str],
}

fn run_config(case: &ConfigCase) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = crate::support::bot::write_config(dir.path(), "");
    let mut bytes = std::fs::read(&path).expect("read config");
    bytes.extend_from_slice(case.text);
    std::fs::write(&path, bytes).expect("write config");

    let out = crate::support::bot::command(dir.path(), &["console", "--jsonl"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run licensebot");

    let err = String::from_utf8_lossy(&out.stderr);
    let message = err.lines().nth(1).unwrap_or_default().to_string();
    report(
        case.fault,
        "start-up stops (exit 2) with one line naming the file, the key (or the line) and the problem",
        &format!("exit {:?}: {}", out.status.code(), message.replace(&path.display().to_string(), "licensebot.toml")),
    );
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
    for name in case.names {
        assert!(err.contains(name), "{name:?} not in {err}");
    }
    assert!(!dir.path().join("bot.db").exists(), "nothing was started");
}

const CONFIG_BROKEN_HEADER: ConfigCase = ConfigCase {
    fault: "settings file with a table header cut off (`[scheduler`)",
    text: b"\n[scheduler\ntick = \"30s\"\n",
    names: &["line", "`[scheduler`", "invalid table header"],
};

const CONFIG_CUT_OFF: ConfigCase = ConfigCase {
    fault: "settings file cut off inside a string",
    text: b"\n[bot]\nprefix = \"!pr",
    names: &["(bot.prefix)", "invalid basic string"],
};

const CONFIG_WRONG_TYPE: ConfigCase = ConfigCase {
    fault: "settings file with a number where a duration belongs",
    text: b"\n[scheduler]\ntick = 30\n",
    names: &["scheduler.tick", "expected a duration"],
};

const CONFIG_NOT_UTF8: ConfigCase = ConfigCase {
    fault: "settings file with bytes that are not UTF-8",
    text: b"\n[bot]\nprefix = \"!pro\xff\xfe\"\n",
    names: &["(bot.prefix)", "not UTF-8 text (byte 0xff)"],
};

table! { run_config:
    config_with_a_broken_table_header_stops_start_up_naming_the_line => CONFIG_BROKEN_HEADER;
    config_cut_off_stops_start_up_naming_the_key => CONFIG_CUT_OFF;
    config_with_a_wrong_type_stops_start_up_naming_the_key => CONFIG_WRONG_TYPE;
    config_not_utf8_stops_start_up_naming_the_key => CONFIG_NOT_UTF8;
}
