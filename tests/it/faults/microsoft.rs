//! Microsoft Graph and Partner Center faults, from the fake Microsoft, with the bot in
//! `console --jsonl` mode.

use std::time::Duration;

use serde_json::Value;

use super::report;
use crate::support::bot::{approval_with, contents, dms_to, id, request_state};
use crate::support::db;
use crate::support::fake_microsoft::{FakeMicrosoft, Fault, FaultKind, HoldId};
use crate::support::Bot;

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
    /// What Graph and the job queue did in all.
    sent: Sent,
    /// Anything else the row checks, on what was observed.
    check: fn(&GraphObserved),
}

impl GraphCase {
    /// A row with no extra settings and no further checks.
    const fn new(
        fault: &'static str,
        expected: &'static str,
        inject: fn(&FakeMicrosoft),
        sent: Sent,
    ) -> GraphCase {
        GraphCase {
            fault,
            expected,
            inject,
            env: &[],
            sent,
            check: no_check,
        }
    }

    const fn with_env(self, env: &'static [(&'static str, &'static str)]) -> GraphCase {
        GraphCase { env, ..self }
    }

    const fn checking(self, check: fn(&GraphObserved)) -> GraphCase {
        GraphCase { check, ..self }
    }
}

/// How many `assignLicense` requests Graph receives in all, in how many job attempts.
#[derive(Debug, PartialEq)]
struct Sent {
    assign_requests: usize,
    attempts: i64,
}

/// Assigned by the first attempt, with one `assignLicense`.
const FIRST_ATTEMPT: Sent = Sent {
    assign_requests: 1,
    attempts: 1,
};

/// The first attempt's `assignLicense` is not made (or not known to be); the second attempt
/// sends it again.
const SENT_AGAIN: Sent = Sent {
    assign_requests: 2,
    attempts: 2,
};

/// The first attempt's `assignLicense` is made; the second attempt finds the licence and
/// does not send it again.
const FOUND_ON_THE_NEXT_ATTEMPT: Sent = Sent {
    assign_requests: 1,
    attempts: 2,
};

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

/// A fault on the first `$batch` carrying an `assignLicense` (the job's change).
fn on_the_assign_batch(kind: FaultKind) -> Fault {
    Fault::on("POST", "/$batch", 1, kind).with_body("assignLicense")
}

/// A fault on the first `assignLicense` item inside a `$batch` (the batch itself answers).
fn on_the_assign_item(kind: FaultKind) -> Fault {
    Fault::on_batch_item("POST", "/assignLicense", 1, kind)
}

/// A fault on the first `$batch` the job sends: its directory read.
fn on_the_directory_read(kind: FaultKind) -> Fault {
    Fault::on("POST", "/$batch", 1, kind)
}

/// A fault on the job's first role re-check.
fn on_the_role_check(kind: FaultKind) -> Fault {
    Fault::on("GET", "/roleManagement/", 1, kind)
}

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
        observed.assign_requests, case.sent.assign_requests,
        "{observed:#?}"
    );
    assert_eq!(observed.attempts, case.sent.attempts, "{observed:#?}");
    assert_eq!(observed.done_dms.len(), 1, "told once: {observed:#?}");
    assert!(
        observed.done_dms[0].contains(&format!("Power BI Pro assigned to {ALICE}")),
        "told what was done: {observed:#?}"
    );
    (case.check)(&observed);
}

const GRAPH_THROTTLED: GraphCase = GraphCase::new(
    "Graph 429 with Retry-After: 7 on assignLicense",
    "refused, not made; retried by the job queue no sooner than 7 s; assigned on the 2nd attempt; told once",
    |f| f.inject(on_the_assign_item(FaultKind::throttle("7"))),
    SENT_AGAIN,
)
.checking(|o| {
    assert!(
        o.retry_delays_ms.first().is_some_and(|ms| *ms >= 7000),
        "{o:#?}"
    )
});

const GRAPH_500: GraphCase = GraphCase::new(
    "Graph 500 on the $batch carrying assignLicense",
    "outcome unknown: the 2nd attempt reads back first, sees nothing, assigns; told once",
    |f| f.inject(on_the_assign_batch(FaultKind::ServerError)),
    SENT_AGAIN,
);

const GRAPH_503_READ: GraphCase = GraphCase::new(
    "Graph 503 with Retry-After: 0.2 on the job's directory read",
    "the client waits and reads again; one attempt, one assignLicense",
    |f| {
        f.inject(on_the_directory_read(FaultKind::Unavailable(Some(
            "0.2".into(),
        ))))
    },
    FIRST_ATTEMPT,
);

const GRAPH_READ_TIMEOUT: GraphCase = GraphCase::new(
    "Graph answers the role re-check after 3 s (timeout 2 s)",
    "the read times out and is repeated by the client; one attempt, one assignLicense",
    |f| f.inject(on_the_role_check(FaultKind::Slow(Duration::from_secs(3)))),
    FIRST_ATTEMPT,
);

const GRAPH_WRITE_TIMEOUT: GraphCase = GraphCase::new(
    "Graph does not answer the $batch carrying assignLicense within the bot's 2 s timeout (the fake drops the work when the client goes)",
    "not repeated by the client; outcome unknown: the 2nd attempt reads back first, sees nothing, assigns; told once",
    |f| f.inject(on_the_assign_batch(FaultKind::Slow(Duration::from_secs(4)))),
    SENT_AGAIN,
);

const GRAPH_DROPPED: GraphCase = GraphCase::new(
    "Graph makes the assignment, then drops the connection mid-answer",
    "outcome unknown: the 2nd attempt reads back, sees the licence and reports it assigned; assignLicense not sent again",
    |f| f.inject(on_the_assign_batch(FaultKind::Drop)),
    FOUND_ON_THE_NEXT_ATTEMPT,
);

const GRAPH_TOKEN_EXPIRED: GraphCase = GraphCase::new(
    "Graph's token expires between the request and the approval",
    "the first call gets 401, the token is renewed once and the call repeated; one attempt",
    |f| f.expire_tokens(),
    FIRST_ATTEMPT,
)
.checking(|o| assert_eq!(o.tokens_issued, 1, "{o:#?}"));

const GRAPH_LAG: GraphCase = GraphCase::new(
    "Graph shows the assignment only on the 4th read (read-back lag), 2 read-backs an attempt",
    "not visible yet: the job only verifies from then on and never assigns again; done on a later check",
    |f| f.state().readback_lag = 3,
    FOUND_ON_THE_NEXT_ATTEMPT,
)
.with_env(&[("LICENSEBOT__JOBS__VERIFY_ATTEMPTS", "2")])
.checking(|o| assert!(o.clock_moves >= 1, "{o:#?}"));

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

/// Injects a fault on Partner Center's first subscription `PATCH` (the purchase); nothing
/// is held.
fn on_the_patch(fake: &FakeMicrosoft, kind: FaultKind) -> Option<HoldId> {
    fake.inject(Fault::on("PATCH", "/subscriptions/", 1, kind));
    None
}

impl PcCase {
    /// judy's request, bought once (one seat added) and assigned in the end.
    const fn bought_once(
        fault: &'static str,
        expected: &'static str,
        arm: fn(&FakeMicrosoft) -> Option<HoldId>,
    ) -> PcCase {
        PcCase {
            fault,
            expected,
            arm,
            while_held: |_| {},
            reduction: false,
            state: "completed",
            changes: &[(1, 2)],
            says: "Power BI Pro assigned to judy@contoso.example",
        }
    }

    const fn while_held(self, while_held: fn(&FakeMicrosoft)) -> PcCase {
        PcCase { while_held, ..self }
    }
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

const PC_STALE_ETAG: PcCase = PcCase::bought_once(
    "Partner Center: the subscription changes between the bot's GET and its PATCH (ETag stale, 2055)",
    "transient: the next attempt reads the subscription again and buys once; then the assignment",
    |f| Some(f.hold("GET", "/subscriptions/")),
)
.while_held(|f| f.state().subscription.etag_version += 1);

const PC_ORDER_IN_PROGRESS: PcCase = PcCase::bought_once(
    "Partner Center: 409, code 800060 (order in progress) on the PATCH",
    "transient: retried later, bought once; then the assignment",
    |f| on_the_patch(f, FaultKind::PcOrderInProgress),
);

const PC_THROTTLED: PcCase = PcCase::bought_once(
    "Partner Center: 429 with Retry-After: 1 on the PATCH",
    "refused, not made: retried after the wait, bought once; then the assignment",
    |f| on_the_patch(f, FaultKind::PcThrottle("1".into())),
);

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
