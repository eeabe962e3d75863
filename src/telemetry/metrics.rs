//! Prometheus metrics. Counts that live in the database (requests by kind and state,
//! decisions, jobs by outcome) are read from it at scrape time, so they survive restarts and
//! never drift; what only the process sees (backend call latency, the last seat count, the
//! gateway connection) is kept in process-wide collectors here.

use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntGauge, IntGaugeVec,
    Opts, Registry,
};

use crate::backend::{
    BackendError, DirectoryUser, Found, GroupInfo, LicensingGroup, Lookup, PurchaseProgress,
    Purchaser, SeatOrder, Seats, Tenant,
};
use crate::domain::{CountryCode, DriftKind, RequestKind, RequestState, RoleSet, Upn};
use crate::engine::ports::Observer;
use crate::store::jobs::JobState;
use crate::store::Store;

/// The process's registry.
pub static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

fn register<C: prometheus::core::Collector + Clone + 'static>(c: C) -> C {
    if let Err(e) = REGISTRY.register(Box::new(c.clone())) {
        tracing::error!(error = %e, "cannot register a metric");
    }
    c
}

/// Registers a metric whose definition is a constant, so making it cannot fail.
fn register_constant<C: prometheus::core::Collector + Clone + 'static>(
    made: prometheus::Result<C>,
) -> C {
    register(made.unwrap_or_else(|e| unreachable!("constant metric definition: {e}")))
}

/// A registered whole-number gauge.
fn gauge(name: &str, help: &str) -> IntGauge {
    register_constant(IntGauge::new(name, help))
}

/// A registered whole-number gauge with one series per value of `labels`.
fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    register_constant(IntGaugeVec::new(Opts::new(name, help), labels))
}

/// Backend call latency by operation and outcome.
pub static BACKEND_CALL_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_constant(HistogramVec::new(
        HistogramOpts::new(
            "licensebot_backend_call_seconds",
            "Duration of licensing backend calls",
        )
        .buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ]),
        &["operation", "outcome"],
    ))
});

/// Free seats of the managed SKU, as last read from the backend.
pub static FREE_SEATS: LazyLock<IntGauge> = LazyLock::new(|| {
    gauge(
        "licensebot_free_seats",
        "Free seats of the managed SKU at the last read",
    )
});

/// 1 while the Discord gateway is connected (always 1 on the console).
pub static TRANSPORT_CONNECTED: LazyLock<IntGauge> = LazyLock::new(|| {
    gauge(
        "licensebot_transport_connected",
        "1 while the chat transport (the Discord gateway) is connected",
    )
});

/// 1 while this instance leads: it holds the gateway and runs the jobs. One bot per SQLite
/// database (its lock file) is always the leader.
pub static LEADER: LazyLock<IntGauge> = LazyLock::new(|| {
    gauge(
        "licensebot_leader",
        "1 while this instance leads (holds the chat gateway and runs the jobs), else 0",
    )
});

/// Seconds since the process started.
pub static UPTIME: LazyLock<Gauge> = LazyLock::new(|| {
    register_constant(Gauge::new(
        "licensebot_uptime_seconds",
        "Seconds since the bot started",
    ))
});

static STARTED: LazyLock<Instant> = LazyLock::new(Instant::now);

/// When the free-seat gauge was last read from the backend; `None` once the bot changed
/// assignments or seats since (the next scrape reads again).
static SEATS_READ_AT: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);

/// How old the free-seat figure may be before a scrape reads it again (other admins change
/// seats too).
const SEATS_MAX_AGE: Duration = Duration::from_secs(60);

fn seats_read(at: Option<Instant>) {
    *SEATS_READ_AT.lock().unwrap_or_else(|p| p.into_inner()) = at;
}

fn seats_fresh() -> bool {
    SEATS_READ_AT
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_some_and(|t| t.elapsed() < SEATS_MAX_AGE)
}

static REQUESTS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "licensebot_requests",
        "Requests by kind and state",
        &["kind", "state"],
    )
});

static DECISIONS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "licensebot_decisions",
        "Stages decided, by verdict (approve, deny)",
        &["verdict"],
    )
});

static JOBS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "licensebot_jobs",
        "Jobs by state (queued, running, succeeded, failed)",
        &["state"],
    )
});

static DRIFT: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "licensebot_drift_differences",
        "Open differences between the bot's records and the tenant, by kind",
        &["kind"],
    )
});

/// 1 while a seat alert of that kind stands (`[alerts]`), read from the database.
static SEAT_ALERT: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    let alert = gauge_vec(
        "licensebot_seat_alert",
        "1 while a seat alert stands, by kind (free_seats, usage)",
        &["kind"],
    );
    // Both kinds are shown from start-up, at 0 until an alert stands.
    for (kind, _) in crate::store::seat_alerts::SeatAlert::default().kinds() {
        alert.with_label_values(&[kind]).set(0);
    }
    alert
});

/// Job attempts beyond each job's first, over every stored job.
static JOB_RETRIES: LazyLock<IntGauge> = LazyLock::new(|| {
    gauge(
        "licensebot_job_retries",
        "Job attempts beyond each job's first (retries after a transient failure), all jobs",
    )
});

/// Graph's 429 answers since the process started, copied from the Graph client at scrape.
static GRAPH_THROTTLED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_constant(IntCounter::new(
        "licensebot_graph_throttled_total",
        "Answers in which Microsoft Graph throttled the bot (429), whole calls and batch items",
    ))
});

/// The bounds, in seconds, of the time-to-decision and time-to-done histograms: ten seconds
/// to a week.
const DURATION_BOUNDS: [f64; 12] = [
    10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14400.0, 28800.0, 86400.0, 259200.0, 604800.0,
];

/// A registered histogram over [`DURATION_BOUNDS`].
fn durations(name: &str, help: &str) -> Histogram {
    register_constant(Histogram::with_opts(
        HistogramOpts::new(name, help).buckets(DURATION_BOUNDS.to_vec()),
    ))
}

/// From a stage's approval message to the reaction that decided it.
static TIME_TO_DECISION: LazyLock<Histogram> = LazyLock::new(|| {
    durations(
        "licensebot_time_to_decision_seconds",
        "From a stage's approval message to the approver's reaction that decided it",
    )
});

/// From asking to done.
static TIME_TO_DONE: LazyLock<Histogram> = LazyLock::new(|| {
    durations(
        "licensebot_time_to_done_seconds",
        "From asking to done, for the requests that completed",
    )
});

/// The engine's observer: keeps the pace of decisions and requests in the histograms above
/// (this process's, since it started).
pub struct MetricsObserver;

impl Observer for MetricsObserver {
    fn decided(&self, waited: Duration) {
        TIME_TO_DECISION.observe(waited.as_secs_f64());
    }

    fn completed(&self, took: Duration) {
        TIME_TO_DONE.observe(took.as_secs_f64());
    }
}

static OUTBOX_UNDELIVERED: LazyLock<IntGauge> = LazyLock::new(|| {
    gauge(
        "licensebot_outbox_undelivered",
        "Chat actions not delivered yet",
    )
});

/// Touches every collector so they are registered before the first scrape.
pub fn init() {
    LazyLock::force(&STARTED);
    LazyLock::force(&BACKEND_CALL_SECONDS);
    LazyLock::force(&FREE_SEATS);
    LazyLock::force(&TRANSPORT_CONNECTED);
    LazyLock::force(&LEADER);
    LazyLock::force(&UPTIME);
    LazyLock::force(&REQUESTS);
    LazyLock::force(&DECISIONS);
    LazyLock::force(&JOBS);
    LazyLock::force(&OUTBOX_UNDELIVERED);
    LazyLock::force(&DRIFT);
    LazyLock::force(&SEAT_ALERT);
    LazyLock::force(&JOB_RETRIES);
    LazyLock::force(&GRAPH_THROTTLED);
    LazyLock::force(&TIME_TO_DECISION);
    LazyLock::force(&TIME_TO_DONE);
    zero_known_series();
}

/// Every series whose labels are known in advance, at zero, so a dashboard shows 0 rather
/// than no data before the first event of its kind.
fn zero_known_series() {
    for kind in RequestKind::ALL {
        for state in RequestState::ALL {
            REQUESTS
                .with_label_values(&[kind.as_str(), state.as_str()])
                .set(0);
        }
    }
    for verdict in VERDICTS {
        DECISIONS.with_label_values(&[verdict]).set(0);
    }
    for state in JobState::ALL {
        JOBS.with_label_values(&[state.as_str()]).set(0);
    }
    for kind in DriftKind::ALL {
        DRIFT.with_label_values(&[kind.as_str()]).set(0);
    }
}

/// The verdicts `licensebot_decisions` counts.
const VERDICTS: [&str; 2] = ["approve", "deny"];

/// Reads the database-backed figures (and the seats, when the last read is stale) and renders
/// every metric in Prometheus text format.
pub async fn render(
    store: &Store,
    tenant: &dyn Tenant,
) -> Result<String, crate::store::StoreError> {
    if !seats_fresh() {
        if let Err(e) = tenant.seats().await {
            tracing::warn!(error = %e, "cannot read seats for the metrics");
        }
    }
    let pool = store.pool();
    let requests: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT kind, state, COUNT(*) FROM requests GROUP BY kind, state")
            .fetch_all(pool)
            .await?;
    REQUESTS.reset();
    DECISIONS.reset();
    JOBS.reset();
    zero_known_series();
    for (kind, state, n) in requests {
        REQUESTS
            .with_label_values(&[kind.as_str(), state.as_str()])
            .set(n);
    }
    let decisions: Vec<(String, i64)> = sqlx::query_as(
        "SELECT CASE WHEN state = 'denied' THEN 'deny' ELSE 'approve' END AS verdict, COUNT(*)
         FROM stages WHERE decided_by IS NOT NULL GROUP BY verdict",
    )
    .fetch_all(pool)
    .await?;
    for (verdict, n) in decisions {
        DECISIONS.with_label_values(&[verdict.as_str()]).set(n);
    }
    let jobs: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
            .fetch_all(pool)
            .await?;
    for (state, n) in jobs {
        JOBS.with_label_values(&[state.as_str()]).set(n);
    }
    let mut conn = pool.acquire().await?;
    OUTBOX_UNDELIVERED.set(crate::store::outbox::undelivered(&mut conn).await?);
    for (kind, n) in crate::store::drift::open_counts(&mut conn).await? {
        DRIFT.with_label_values(&[kind.as_str()]).set(n);
    }
    for (kind, stands) in crate::store::seat_alerts::get(&mut conn).await?.kinds() {
        SEAT_ALERT.with_label_values(&[kind]).set(i64::from(stands));
    }
    JOB_RETRIES.set(
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(attempts - 1), 0) AS BIGINT) FROM jobs WHERE attempts > 1",
        )
        .fetch_one(&mut *conn)
        .await?,
    );
    let seen = crate::backend::graph::throttled_answers();
    GRAPH_THROTTLED.inc_by(seen.saturating_sub(GRAPH_THROTTLED.get()));
    UPTIME.set(STARTED.elapsed().as_secs_f64());
    let mut out = Vec::new();
    let encoder = prometheus::TextEncoder::new();
    if let Err(e) = encoder.encode(&REGISTRY.gather(), &mut out) {
        tracing::error!(error = %e, "cannot encode metrics");
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Runs one backend call, timed into [`BACKEND_CALL_SECONDS`] as `operation`.
async fn timed<T>(
    operation: &str,
    call: impl Future<Output = Result<T, BackendError>>,
) -> Result<T, BackendError> {
    let started = Instant::now();
    let r = call.await;
    observe(operation, started, &r);
    r
}

/// Runs one backend call with a result per item, timed as `operation`; its outcome is that of
/// the first item that failed.
async fn timed_batch<T>(
    operation: &str,
    call: impl Future<Output = Vec<Result<T, BackendError>>>,
) -> Vec<Result<T, BackendError>> {
    let started = Instant::now();
    let r = call.await;
    let all: Result<(), BackendError> = r
        .iter()
        .find_map(|x| x.as_ref().err().cloned())
        .map_or(Ok(()), Err);
    observe(operation, started, &all);
    r
}

/// Records the seats just read from the backend.
fn seats_seen(seats: &Seats) {
    FREE_SEATS.set(seats.free());
    seats_read(Some(Instant::now()));
}

/// The bot changed assignments or seats: the next scrape reads them again.
fn seats_changed() {
    seats_read(None);
}

fn observe<T>(operation: &str, started: Instant, r: &Result<T, BackendError>) {
    let outcome = match r {
        Ok(_) => "ok",
        Err(e) if e.is_transient() => "transient",
        Err(_) => "error",
    };
    BACKEND_CALL_SECONDS
        .with_label_values(&[operation, outcome])
        .observe(started.elapsed().as_secs_f64());
}

/// A tenant whose every call is timed into [`BACKEND_CALL_SECONDS`].
pub struct MeteredTenant {
    inner: Arc<dyn Tenant>,
}

impl MeteredTenant {
    /// Wraps a tenant.
    pub fn new(inner: Arc<dyn Tenant>) -> Self {
        MeteredTenant { inner }
    }
}

#[async_trait]
impl Tenant for MeteredTenant {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    async fn health(&self) -> Result<(), BackendError> {
        timed("health", self.inner.health()).await
    }
    async fn user(&self, upn: &Upn) -> Result<DirectoryUser, BackendError> {
        timed("get_user", self.inner.user(upn)).await
    }
    async fn roles(&self, upn: &Upn) -> Result<RoleSet, BackendError> {
        timed("roles", self.inner.roles(upn)).await
    }
    async fn roles_fresh(&self, upn: &Upn) -> Result<RoleSet, BackendError> {
        timed("roles_fresh", self.inner.roles_fresh(upn)).await
    }
    async fn object_id(&self, upn: &Upn) -> Result<String, BackendError> {
        timed("object_id", self.inner.object_id(upn)).await
    }
    async fn users(&self, upns: &[Upn]) -> Vec<Result<DirectoryUser, BackendError>> {
        timed_batch("get_users", self.inner.users(upns)).await
    }
    async fn seats(&self) -> Result<Seats, BackendError> {
        let r = timed("seats", self.inner.seats()).await;
        if let Ok(s) = &r {
            seats_seen(s);
        }
        r
    }
    async fn group(&self, id: &str) -> Result<GroupInfo, BackendError> {
        timed("get_group", self.inner.group(id)).await
    }
    async fn licensing_group(&self, id: &str) -> Result<LicensingGroup, BackendError> {
        timed("get_licensing_group", self.inner.licensing_group(id)).await
    }
    async fn add_member(&self, group: &str, user: &DirectoryUser) -> Result<(), BackendError> {
        let r = timed("add_member", self.inner.add_member(group, user)).await;
        seats_changed();
        r
    }
    async fn remove_member(&self, group: &str, user: &DirectoryUser) -> Result<(), BackendError> {
        let r = timed("remove_member", self.inner.remove_member(group, user)).await;
        seats_changed();
        r
    }
    async fn activity(
        &self,
        upns: &[Upn],
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::backend::Activity, BackendError> {
        timed("activity", self.inner.activity(upns, since)).await
    }
    async fn holders(&self) -> Result<Vec<DirectoryUser>, BackendError> {
        timed("list_holders", self.inner.holders()).await
    }
    async fn members(&self, group: &str) -> Result<Vec<Upn>, BackendError> {
        timed("list_members", self.inner.members(group)).await
    }
    async fn reprocess(&self, user: &DirectoryUser) -> Result<(), BackendError> {
        let r = timed("reprocess", self.inner.reprocess(user)).await;
        seats_changed();
        r
    }
    /// Forwarded whole, so a backend that answers a lookup in one call (Graph `$batch`)
    /// still does behind the meter; timed as one `look_up` operation.
    async fn look_up(&self, lookup: &Lookup) -> Found {
        let t = Instant::now();
        let found = self.inner.look_up(lookup).await;
        let first_error = found
            .users
            .iter()
            .map(|r| r.as_ref().err())
            .chain(found.roles.iter().map(|r| r.as_ref().err()))
            .chain(found.seats.iter().map(|r| r.as_ref().err()))
            .find_map(|e| e.cloned())
            .map_or(Ok(()), Err);
        observe("look_up", t, &first_error);
        if let Some(Ok(s)) = &found.seats {
            seats_seen(s);
        }
        found
    }
    async fn set_usage_location(
        &self,
        user: &DirectoryUser,
        country: &CountryCode,
    ) -> Result<(), BackendError> {
        timed(
            "set_usage_location",
            self.inner.set_usage_location(user, country),
        )
        .await
    }
    async fn assign(&self, user: &DirectoryUser) -> Result<(), BackendError> {
        let r = timed("assign", self.inner.assign(user)).await;
        seats_changed();
        r
    }
    async fn unassign(&self, user: &DirectoryUser) -> Result<(), BackendError> {
        let r = timed("unassign", self.inner.unassign(user)).await;
        seats_changed();
        r
    }
    async fn assign_many(&self, users: &[DirectoryUser]) -> Vec<Result<(), BackendError>> {
        let r = timed_batch("assign_many", self.inner.assign_many(users)).await;
        seats_changed();
        r
    }
}

/// A purchaser whose calls are timed into [`BACKEND_CALL_SECONDS`].
pub struct MeteredPurchaser {
    inner: Arc<dyn Purchaser>,
}

impl MeteredPurchaser {
    /// Wraps a purchaser.
    pub fn new(inner: Arc<dyn Purchaser>) -> Self {
        MeteredPurchaser { inner }
    }
}

#[async_trait]
impl Purchaser for MeteredPurchaser {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    async fn raise_seats(&self, order: &SeatOrder) -> Result<PurchaseProgress, BackendError> {
        let r = timed("raise_seats", self.inner.raise_seats(order)).await;
        seats_changed();
        r
    }
    async fn lower_seats(&self, order: &SeatOrder) -> Result<PurchaseProgress, BackendError> {
        let r = timed("lower_seats", self.inner.lower_seats(order)).await;
        seats_changed();
        r
    }
}

/// How long a health check may take before it counts as failed.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BillingCycle, RequestId};

    /// A purchaser that can lower seats (not the trait's default refusal).
    struct Lowering;

    #[async_trait]
    impl Purchaser for Lowering {
        fn name(&self) -> &'static str {
            "lowering"
        }
        async fn raise_seats(&self, _: &SeatOrder) -> Result<PurchaseProgress, BackendError> {
            Ok(PurchaseProgress::Done { enabled: 3 })
        }
        async fn lower_seats(&self, _: &SeatOrder) -> Result<PurchaseProgress, BackendError> {
            Ok(PurchaseProgress::Done { enabled: 1 })
        }
    }

    #[tokio::test]
    async fn the_metered_purchaser_forwards_seat_reductions() {
        let metered = MeteredPurchaser::new(Arc::new(Lowering));
        let order = SeatOrder {
            request: RequestId(1),
            target_seats: 1,
            quantity: -1,
            billing_cycle: BillingCycle::Monthly,
            idempotency_key: "k".into(),
        };

        assert_eq!(
            metered.lower_seats(&order).await,
            Ok(PurchaseProgress::Done { enabled: 1 })
        );
    }
}
