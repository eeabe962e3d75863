//! The composition root: opens the store, builds the backend, the transport and the engine,
//! runs them, and shuts down gracefully (in-flight jobs finish, queued ones stay queued).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};

use secrecy::SecretString;

use crate::backend::entra::{EntraIdentity, EntraOptions};
use crate::backend::graph::{Credentials, GraphMailer, GraphOptions, GraphTenant};
use crate::backend::manual::ManualPurchaser;
use crate::backend::partner_center::{PartnerCenterOptions, PartnerCenterPurchaser};
use crate::backend::simulated::{SimulatedMailbox, SimulatedTenant};
use crate::backend::{IdentityProvider, Mailer, NoMail, Purchaser, Tenant};
use crate::chat::console::{self, ConsoleOutput, Mode};
use crate::chat::discord::{Discord, DiscordConfig};
use crate::chat::ChatOutput;
use crate::config::{
    BackendKind, ChatTransport, LicensingMode, ManualOrderVia, PurchaseBackend, Settings,
    SignInTime,
};
use crate::domain::{ChannelRef, ChatUserId, MessageRef, Upn};
use crate::engine::clock::{AdjustableClock, Clock, SystemClock};
use crate::engine::ports::Ports;
use crate::engine::ports::{ChatError, Post};
use crate::engine::{DriftCheck, Engine, EngineConfig};
use crate::store::simulated::{self as sim, TenantStore};
use crate::store::{leases, Dialect, Store};
use crate::telemetry::metrics::{MeteredPurchaser, MeteredTenant, MetricsObserver};
use crate::texts::Texts;

mod background;
mod engine_settings;
pub mod leadership;
use background::Background;
pub use engine_settings::engine_config;

/// Opens (creating if needed) and migrates the database named in the settings.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::open(&settings.store.url, true)
        .await
        .with_context(|| format!("Failed to open the database {}", settings.store.url))?;
    store
        .migrate()
        .await
        .context("Failed to migrate the database")?;
    Ok(store)
}

/// Opens an existing database for reading (the `requests` and `audit` commands).
pub async fn open_existing_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::open(&settings.store.url, false)
        .await
        .with_context(|| format!("Failed to open the database {}", settings.store.url))?;
    Ok(store)
}

/// `check-config` on the simulated tenant: its live seats, read from its database (beside the
/// bot's), which is what the bot works with from its first start on (purchases and removals
/// change them there, not in the settings). Without a database yet, says that the seeded
/// figures are where it will start.
pub async fn check_simulated(settings: &Settings) -> Vec<String> {
    let part = &settings.backend.sku_part_number;
    let Ok(url) = simulated_url(settings) else {
        return vec![format!(
            "simulated tenant: store.url {} names no database file",
            settings.store.url
        )];
    };
    let Ok(tenant) = TenantStore::open(&url, false).await else {
        return vec![format!(
            "simulated tenant: no database at {url} yet; it will start with the seeded seats above"
        )];
    };
    let read = async {
        let mut conn = tenant.read().await?;
        sim::sku(&mut conn, part).await
    }
    .await;
    tenant.close().await;
    vec![match read {
        Ok(Some(s)) => format!(
            "simulated tenant, live from {url}: {part}: {} seats bought, {} assigned, {} free",
            s.enabled,
            s.consumed,
            s.enabled - s.consumed
        ),
        Ok(None) => format!(
            "simulated tenant: {url} holds no {part} yet; it will start with the seeded seats above"
        ),
        Err(e) => format!("simulated tenant: cannot read the seats from {url}: {e}"),
    }]
}

/// `licensebot reconcile`: compares the bot's records (the existing database) with the tenant
/// and changes nothing: no record, no message, nothing in the tenant (the running bot's
/// periodic check stores, corrects and reports).
pub async fn check_drift(settings: &Settings) -> anyhow::Result<DriftCheck> {
    let store = open_existing_store(settings).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let b = backends(settings, clock.clone()).await?;
    let ports = Ports {
        tenant: b.tenant,
        purchaser: b.purchaser,
        mailer: b.mailer,
        identity: b.identity,
        chat: Arc::new(NoChat),
        clock,
        observer: Arc::new(crate::engine::ports::Unobserved),
    };
    let engine = Engine::new(
        store.clone(),
        ports,
        texts_for(settings),
        engine_config(settings),
    );
    let check = engine.check_drift().await;
    store.close().await;
    check.map_err(|e| anyhow::anyhow!("{e}"))
}

/// The chat of a command that only prints: it posts nothing (and is never asked to).
struct NoChat;

#[async_trait::async_trait]
impl ChatOutput for NoChat {
    async fn send(&self, _post: Post<'_>) -> Result<MessageRef, ChatError> {
        Err(ChatError::Refused("this command posts nothing".into()))
    }
    async fn dm(&self, _user: &ChatUserId, _content: &str) -> Result<MessageRef, ChatError> {
        Err(ChatError::Refused("this command posts nothing".into()))
    }
    async fn edit(&self, _c: &ChannelRef, _m: &MessageRef, _t: &str) -> Result<(), ChatError> {
        Err(ChatError::Refused("this command posts nothing".into()))
    }
    async fn react(&self, _c: &ChannelRef, _m: &MessageRef, _e: &str) -> Result<(), ChatError> {
        Err(ChatError::Refused("this command posts nothing".into()))
    }
    async fn unreact(
        &self,
        _c: &ChannelRef,
        _m: &MessageRef,
        _u: &ChatUserId,
        _e: &str,
    ) -> Result<(), ChatError> {
        Err(ChatError::Refused("this command posts nothing".into()))
    }
    async fn delete(&self, _c: &ChannelRef, _m: &MessageRef) -> Result<(), ChatError> {
        Err(ChatError::Refused("this command posts nothing".into()))
    }
    fn mention(&self, user: &ChatUserId) -> String {
        format!("@{user}")
    }
}

/// What group mode's check of the licensing group found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupCheck {
    /// Direct mode: there is no licensing group.
    NotUsed,
    /// The group can license through the bot; a line saying so.
    Fit(String),
    /// The group cannot be used; what to fix, naming the group.
    Unfit(String),
    /// The group could not be read (the tenant did not answer); the reason.
    Unread(String),
}

/// Group mode's check of the licensing group before the bot licenses through it: found, with
/// assigned membership, changeable through Graph (not a mail-enabled security or
/// distribution group, not role-assignable: the bot is not given
/// RoleManagement.ReadWrite.Directory, not synced from on-premises), security-enabled, and
/// carrying the managed SKU itself among its licences (a bundle does not count).
pub async fn check_licensing_group(settings: &Settings, tenant: &dyn Tenant) -> GroupCheck {
    if settings.licensing.mode != LicensingMode::Group {
        return GroupCheck::NotUsed;
    }
    let id = settings.licensing.group_id.trim();
    let sku = settings.backend.managed_sku();
    let group = match tenant.licensing_group(id).await {
        Ok(g) => g,
        Err(e) if e.is_transient() => return GroupCheck::Unread(e.message),
        Err(e) => {
            return GroupCheck::Unfit(format!(
                "licensing.group_id {id}: the tenant has no such group that the bot may read \
                 ({}); name the object id of an existing group",
                e.message
            ))
        }
    };
    let mut fix = Vec::new();
    let flags = group.flags;
    if flags.dynamic {
        fix.push("its membership is dynamic (rule-based), so nobody can add or remove members; use a group with assigned membership".to_string());
    }
    if flags.mail_enabled && !flags.unified {
        fix.push("it is a mail-enabled security or distribution group, which Microsoft Graph cannot change; use a security group or a Microsoft 365 group".to_string());
    }
    if !flags.security_enabled {
        fix.push("it is not security-enabled, and group-based licensing needs a security group or a security-enabled Microsoft 365 group".to_string());
    }
    if flags.role_assignable {
        fix.push("it is role-assignable: changing its members needs RoleManagement.ReadWrite.Directory, which the bot is not given; use a group that is not role-assignable".to_string());
    }
    if flags.synced {
        fix.push("its members come from on-premises Active Directory and can only be changed there; use a cloud group".to_string());
    }
    if !group.skus.iter().any(|s| s.eq_ignore_ascii_case(sku)) {
        let has = if group.skus.is_empty() {
            "no licence".to_string()
        } else {
            group.skus.join(", ")
        };
        fix.push(format!("it does not assign {sku} itself (it assigns {has}); add {sku} to the group's licences in the Microsoft 365 admin center (a bundle such as E5 does not count)"));
    }
    let named = format!("licensing group \"{}\" ({})", group.display_name, group.id);
    if fix.is_empty() {
        GroupCheck::Fit(format!(
            "{named}: assigned membership, assigns {sku}; the bot licenses through it"
        ))
    } else {
        GroupCheck::Unfit(format!("{named} cannot be used: {}", fix.join("; ")))
    }
}

/// Holds the instance lock: one bot per database, so start-up may safely re-queue jobs that
/// a previous (dead) process left running.
pub struct InstanceLock {
    _file: Option<File>,
}

/// Takes the instance lock of the database at `db` (a `.lock` file beside it).
pub fn lock_instance(db: Option<&Path>) -> anyhow::Result<InstanceLock> {
    let Some(db) = db else {
        // An in-memory database has no other bot.
        crate::telemetry::metrics::LEADER.set(1);
        return Ok(InstanceLock { _file: None });
    };
    let mut path = PathBuf::from(db);
    let name = format!(
        "{}.lock",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    path.set_file_name(name);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("Failed to open the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {
            // The one bot on this database leads.
            crate::telemetry::metrics::LEADER.set(1);
            Ok(InstanceLock { _file: Some(file) })
        }
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another licensebot is already running on {} (lock file {} is held)",
            db.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("Failed to lock {}", path.display()))
        }
    }
}

/// The message catalogue of the configured language.
pub fn texts_for(settings: &Settings) -> Texts {
    Texts::load(settings.bot.language)
}

/// Opens (creating if needed) the simulated tenant beside the store named in the settings,
/// and seeds it from `[backend.simulated]`.
pub async fn open_simulated(settings: &Settings, clock: &dyn Clock) -> anyhow::Result<TenantStore> {
    let url = simulated_url(settings)
        .with_context(|| format!("store.url {} names no database", settings.store.url))?;
    let tenant = TenantStore::open(&url, true)
        .await
        .with_context(|| format!("Failed to open the simulated tenant's database {url}"))?;
    seed_simulated(&tenant, settings, clock).await?;
    Ok(tenant)
}

/// Where the simulated tenant keeps its database: `[backend.simulated] database`, else beside
/// the store.
fn simulated_url(settings: &Settings) -> crate::store::StoreResult<String> {
    match settings.backend.simulated.database.trim() {
        "" => TenantStore::url_beside(&settings.store.url),
        url => Ok(url.to_string()),
    }
}

/// Seeds the simulated tenant from `[backend.simulated]`: its SKUs, users, groups and the
/// users' sign-ins.
async fn seed_simulated(
    tenant: &TenantStore,
    settings: &Settings,
    clock: &dyn Clock,
) -> anyhow::Result<()> {
    let sim_cfg = &settings.backend.simulated;
    let skus: Vec<sim::SkuSeed> = sim_cfg
        .skus
        .iter()
        .map(|s| sim::SkuSeed {
            sku_part_number: s.sku_part_number.clone(),
            sku_id: s.sku_id.as_str().to_string(),
            seats: i64::from(s.seats),
            unit_price_monthly: s.unit_price_monthly,
            service_plans: s.service_plans.clone(),
        })
        .collect();
    let users: Vec<sim::UserSeed> = sim_cfg
        .users
        .iter()
        .map(|u| sim::UserSeed {
            upn: u.upn.clone(),
            display_name: u.display_name.clone(),
            usage_location: u.usage_location.clone(),
            user_type: u.user_type,
            account_enabled: u.account_enabled,
            licenses: u.licenses.clone(),
            roles: u.roles.clone(),
            mail: u.mail.clone(),
        })
        .collect();
    let groups: Vec<sim::GroupSeed> = sim_cfg
        .groups
        .iter()
        .map(|g| sim::GroupSeed {
            group: sim::Group {
                id: g.id.as_str().to_string(),
                display_name: g.display_name.clone(),
                flags: g.flags(),
                skus: g.licenses.clone(),
                owners: g.owners.clone(),
            },
            members: g.members.clone(),
        })
        .collect();
    let sign_ins = sign_in_seeds(settings)?;
    // One transaction: a start that fails half-way seeds nothing.
    let mut w = tenant.write().await?;
    let now = clock.now();
    sim::seed(w.conn().await?, &skus, &users, now).await?;
    sim::seed_groups(w.conn().await?, &groups, now).await?;
    sim::seed_sign_ins(w.conn().await?, &sign_ins, now).await?;
    w.commit().await?;
    Ok(())
}

/// The simulated users' sign-ins from `[[backend.simulated.users]]` (already checked when the
/// settings loaded).
fn sign_in_seeds(settings: &Settings) -> anyhow::Result<Vec<sim::SignInSeed>> {
    let seed = |t: Option<SignInTime>| {
        t.map(|t| match t {
            SignInTime::At(at) => sim::SignInAt::At(at),
            SignInTime::BeforeFirstSeeding(d) => sim::SignInAt::BeforeFirstSeeding(d),
        })
    };
    let mut out = Vec::new();
    for (i, u) in settings.backend.simulated.users.iter().enumerate() {
        let (any, power_bi) = u.sign_ins();
        let key = format!("backend.simulated.users[{i}]");
        out.push(sim::SignInSeed {
            upn: u.upn.clone(),
            last_sign_in: seed(any.with_context(|| format!("{key}.last_sign_in"))?),
            last_power_bi_sign_in: seed(
                power_bi.with_context(|| format!("{key}.last_power_bi_sign_in"))?,
            ),
        });
    }
    Ok(out)
}

/// A secret from the environment variable `var`, named by the settings key `key`.
pub fn secret_from_env(var: &str, key: &str) -> anyhow::Result<SecretString> {
    crate::config::secret_from_env(var, key).map_err(anyhow::Error::msg)
}

/// The Graph tenant's options from `[backend.graph]`, with the secret from the environment.
pub fn graph_options(settings: &Settings) -> anyhow::Result<GraphOptions> {
    let Some(g) = &settings.backend.graph else {
        bail!("backend.kind = \"graph\" needs a [backend.graph] table");
    };
    Ok(GraphOptions {
        credentials: Credentials {
            authority_url: g.authority_url.clone(),
            tenant_id: g.tenant_id.clone(),
            client_id: g.client_id.as_str().to_string(),
            client_secret: secret_from_env(
                &g.client_secret_env,
                "backend.graph.client_secret_env",
            )?,
        },
        graph_url: g.graph_url.clone(),
        sku_part_number: settings.backend.managed_sku().to_string(),
        role_cache_ttl: g.role_cache_ttl.get(),
        timeout: g.timeout.get(),
    })
}

/// The Partner Center purchaser's options from `[backend.partner_center]`, falling back to
/// `[backend.graph]` for the app's tenant, client id and authority.
pub fn partner_center_options(settings: &Settings) -> anyhow::Result<PartnerCenterOptions> {
    let Some(pc) = &settings.backend.partner_center else {
        bail!("backend.purchase = \"partner_center\" needs a [backend.partner_center] table");
    };
    let graph = settings.backend.graph.as_ref();
    let tenant_id = pc
        .tenant_id
        .clone()
        .or_else(|| graph.map(|g| g.tenant_id.clone()))
        .context("backend.partner_center.tenant_id is not set and there is no backend.graph")?;
    let client_id = pc
        .client_id
        .as_ref()
        .or(graph.map(|g| &g.client_id))
        .map(|c| c.as_str().to_string())
        .context("backend.partner_center.client_id is not set and there is no backend.graph")?;
    let authority_url = pc
        .authority_url
        .clone()
        .or_else(|| graph.map(|g| g.authority_url.clone()))
        .unwrap_or_else(|| crate::config::DEFAULT_AUTHORITY_URL.to_string());
    let timeout = graph.map_or(std::time::Duration::from_secs(30), |g| g.timeout.get());
    Ok(PartnerCenterOptions {
        credentials: Credentials {
            authority_url,
            tenant_id,
            client_id,
            client_secret: secret_from_env(
                &pc.client_secret_env,
                "backend.partner_center.client_secret_env",
            )?,
        },
        api_url: pc.api_url.clone(),
        customer_tenant_id: pc.customer_tenant_id.as_str().to_string(),
        subscription_id: pc.subscription_id.as_str().to_string(),
        timeout,
    })
}

/// Checks the Microsoft backends for `check-config`: a Graph token, the managed SKU's seats,
/// each approver's directory roles and, with Partner Center, the subscription. Returns one
/// line per fact and whether everything worked.
pub async fn check_microsoft(settings: &Settings) -> (Vec<String>, bool) {
    let mut report = CheckReport::default();
    if settings.backend.kind == BackendKind::Graph {
        match graph_options(settings).and_then(|o| Ok(GraphTenant::new(o)?)) {
            Err(e) => report.failed(format!("microsoft graph: FAILED: {e:#}")),
            Ok(graph) => check_graph(&graph, settings, &mut report).await,
        }
    }
    if settings.backend.purchase == PurchaseBackend::PartnerCenter {
        match partner_center_options(settings).and_then(|o| Ok(PartnerCenterPurchaser::new(o)?)) {
            Err(e) => report.failed(format!("partner center: FAILED: {e:#}")),
            Ok(pc) => match pc.subscription_quantity().await {
                Ok(q) => report.found(format!("partner center: the subscription has {q} seats")),
                Err(e) => report.failed(format!(
                    "partner center: subscription: FAILED: {}",
                    e.message
                )),
            },
        }
    }
    (report.lines, report.ok)
}

/// What `check-config` found: one line per fact, and whether every check worked.
struct CheckReport {
    lines: Vec<String>,
    ok: bool,
}

impl Default for CheckReport {
    fn default() -> Self {
        CheckReport {
            lines: Vec::new(),
            ok: true,
        }
    }
}

impl CheckReport {
    /// A fact a check found.
    fn found(&mut self, line: String) {
        self.lines.push(line);
    }

    /// A check that failed.
    fn failed(&mut self, line: String) {
        self.lines.push(line);
        self.ok = false;
    }
}

/// Checks Graph for `check-config`: a token, then the seats and each approver's roles.
async fn check_graph(graph: &GraphTenant, settings: &Settings, report: &mut CheckReport) {
    if let Err(e) = graph.check_token().await {
        return report.failed(format!("microsoft graph: token: FAILED: {}", e.message));
    }
    report.found("microsoft graph: token acquired".to_string());
    let sku = graph.sku_part_number();
    match graph.seats().await {
        Ok(s) => report.found(format!(
            "microsoft graph: {sku}: {} seats bought, {} assigned, {} free",
            s.enabled,
            s.consumed,
            s.free()
        )),
        Err(e) => report.failed(format!(
            "microsoft graph: seats of {sku}: FAILED: {}",
            e.message
        )),
    }
    match check_licensing_group(settings, graph).await {
        GroupCheck::NotUsed => {}
        GroupCheck::Fit(line) => report.found(format!("microsoft graph: {line}")),
        GroupCheck::Unfit(why) => report.failed(format!("microsoft graph: FAILED: {why}")),
        GroupCheck::Unread(why) => {
            report.failed(format!("microsoft graph: licensing group: FAILED: {why}"))
        }
    }
    for a in &settings.approvers {
        let who = format!("microsoft graph: approver {} ({})", a.chat_user, a.upn);
        match graph.roles_fresh(&a.upn).await {
            Ok(roles) if roles.is_empty() => report.found(format!("{who}: no licensing roles")),
            Ok(roles) => {
                let names: Vec<&str> = roles.iter().map(|r| r.name()).collect();
                report.found(format!("{who}: {}", names.join(", ")));
            }
            Err(e) => report.failed(format!("{who}: roles: FAILED: {}", e.message)),
        }
    }
}

/// What a transport starts from: the database, this process's right to act on it (the lock
/// file on SQLite, the gateway lease on PostgreSQL), the backends the engine talks to, and
/// the operator's endpoint, already answering.
struct Opened {
    store: Store,
    _lock: InstanceLock,
    held: Option<leases::Held>,
    backends: Backends,
    background: Background,
}

impl Opened {
    /// Opens the database, takes the instance lock (SQLite) and builds the backends on
    /// `clock`, starts the operator's endpoint, and on PostgreSQL stands by until this
    /// process leads. `None` when told to stop while standing by.
    async fn open(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Option<Opened>> {
        let store = open_store(settings).await?;
        let lock = match store.dialect() {
            Dialect::Sqlite => lock_instance(store.path())?,
            Dialect::Postgres => InstanceLock { _file: None },
        };
        let sink = settings.audit.sink.as_ref().map(|s| s.path());
        let store = store
            .with_audit_sink(sink)
            .await
            .context("Failed to open the audit sink")?;
        let backends = backends(settings, clock).await?;
        match check_licensing_group(settings, backends.tenant.as_ref()).await {
            GroupCheck::NotUsed => {}
            GroupCheck::Fit(line) => tracing::info!("{line}"),
            GroupCheck::Unfit(why) => bail!("{why}"),
            // Start anyway: a job that reaches the group says what fails, and a passing
            // outage must not keep the bot down.
            GroupCheck::Unread(why) => {
                tracing::warn!(error = %why, "could not check the licensing group at start-up")
            }
        }
        let background = Background::ops(settings, &store, backends.tenant.clone()).await?;
        let (store, held) = match store.dialect() {
            Dialect::Sqlite => (store, None),
            Dialect::Postgres => {
                let lease = settings.ha.clone().unwrap_or_default().lease.get();
                let held = tokio::select! {
                    held = leadership::lead(&store, lease) => held?,
                    _ = shutdown_signal() => {
                        tracing::info!("shutdown signal received while standing by");
                        background.stop_ops().await;
                        return Ok(None);
                    }
                };
                (store.fenced_by(held.clone()), Some(held))
            }
        };
        Ok(Some(Opened {
            store,
            _lock: lock,
            held,
            backends,
            background,
        }))
    }

    /// The engine on these backends, talking through `chat`, with what a previous run left
    /// unfinished recovered.
    async fn engine(
        &self,
        settings: &Settings,
        chat: Arc<dyn ChatOutput>,
        clock: Arc<dyn Clock>,
        cfg: EngineConfig,
    ) -> anyhow::Result<Engine> {
        let b = &self.backends;
        let ports = Ports {
            tenant: b.tenant.clone(),
            purchaser: b.purchaser.clone(),
            mailer: b.mailer.clone(),
            identity: b.identity.clone(),
            chat,
            clock,
            observer: Arc::new(MetricsObserver),
        };
        let engine = Engine::new(self.store.clone(), ports, texts_for(settings), cfg);
        // Jobs left running are queued again at once: only the process that holds the lock
        // file (SQLite) or the gateway lease (PostgreSQL) runs jobs, and a former leader
        // stops before its lease runs out, so whoever left them is gone. Their effects are
        // idempotent besides (absolute seat targets, a read-back before sending again).
        engine.recover().await?;
        engine.recover_reactions().await?;
        Ok(engine)
    }

    /// Starts the engine's background tasks (jobs, scheduler, deliveries, the sign-in pages)
    /// beside the operator's endpoint.
    async fn start(&mut self, settings: &Settings, engine: &Engine) -> anyhow::Result<()> {
        self.background.start(settings, engine).await
    }

    /// Stops everything: the background tasks, then (a leader) the gateway lease.
    async fn stop(self, engine: &Engine) {
        self.background
            .stop(engine, &self.store, self.held.as_ref())
            .await;
    }
}

/// The backends the engine talks to.
pub struct Backends {
    /// The directory and licences.
    pub tenant: Arc<dyn Tenant>,
    /// Seat purchases.
    pub purchaser: Arc<dyn Purchaser>,
    /// Mail to directory users (link proofs).
    pub mailer: Arc<dyn Mailer>,
    /// Sign-in to Microsoft Entra (link proofs), when `links.sign_in`.
    pub identity: Option<Arc<dyn IdentityProvider>>,
}

/// The sign-in proof's identity provider: the Graph app's registration as a confidential
/// client of the tenant's identity platform.
pub fn identity_provider(settings: &Settings) -> anyhow::Result<Option<Arc<dyn IdentityProvider>>> {
    if !settings.links.sign_in {
        return Ok(None);
    }
    let Some(g) = &settings.backend.graph else {
        bail!("links.sign_in needs a [backend.graph] table");
    };
    let options = EntraOptions {
        authority_url: g.authority_url.clone(),
        tenant_id: g.tenant_id.clone(),
        client_id: g.client_id.as_str().to_string(),
        client_secret: secret_from_env(&g.client_secret_env, "backend.graph.client_secret_env")?,
        timeout: g.timeout.get(),
    };
    let identity =
        EntraIdentity::new(options).context("Failed to set up the Entra sign-in proof")?;
    Ok(Some(Arc::new(identity)))
}

/// The backends named in the settings.
pub async fn backends(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Backends> {
    let latency = settings.backend.simulated.latency.get();
    let sku = settings.backend.managed_sku().to_string();
    let sender = settings.links.mail_sender.trim();
    // The simulated purchaser needs the simulated tenant (the settings check says so).
    let mut simulated = None;
    let (tenant, mailer): (Arc<dyn Tenant>, Arc<dyn Mailer>) = match settings.backend.kind {
        BackendKind::Simulated => {
            let db = open_simulated(settings, clock.as_ref()).await?;
            let tenant = Arc::new(SimulatedTenant::new(db, sku, latency, clock.clone()));
            simulated = Some(tenant.purchaser());
            let mailbox = Arc::new(SimulatedMailbox::new(
                PathBuf::from(settings.backend.simulated.mailbox.trim()),
                sender,
                clock.clone(),
            ));
            (tenant, mailbox)
        }
        BackendKind::Graph => {
            let graph = Arc::new(
                GraphTenant::new(graph_options(settings)?)
                    .context("Failed to set up the Microsoft Graph backend")?,
            );
            let mailer: Arc<dyn Mailer> = match Upn::parse(sender) {
                Ok(sender) => Arc::new(GraphMailer::new(graph.clone(), sender)),
                Err(_) => Arc::new(NoMail),
            };
            (graph, mailer)
        }
    };
    let purchaser: Arc<dyn Purchaser> = match settings.backend.purchase {
        PurchaseBackend::Simulated => {
            let Some(purchaser) = simulated else {
                bail!("backend.purchase = \"simulated\" needs backend.kind = \"simulated\"");
            };
            Arc::new(purchaser)
        }
        PurchaseBackend::PartnerCenter => Arc::new(
            PartnerCenterPurchaser::new(partner_center_options(settings)?)
                .context("Failed to set up the Partner Center backend")?,
        ),
        PurchaseBackend::Manual => Arc::new(ManualPurchaser::new(
            tenant.clone(),
            settings.backend.manual.order_via == ManualOrderVia::Reseller,
        )),
    };
    let tenant: Arc<dyn Tenant> = Arc::new(MeteredTenant::new(tenant));
    let purchaser: Arc<dyn Purchaser> = Arc::new(MeteredPurchaser::new(purchaser));
    Ok(Backends {
        tenant,
        purchaser,
        mailer,
        identity: identity_provider(settings)?,
    })
}

/// How to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// The transport named in `[chat] transport`.
    Configured,
    /// The console, human or JSONL.
    Console {
        /// JSON lines instead of text.
        jsonl: bool,
    },
}

/// Runs the bot until its input ends or it is told to stop.
pub async fn run(settings: Settings, mode: RunMode) -> anyhow::Result<()> {
    match crate::engine::crash::arm_from_env() {
        Ok(Some(armed)) => tracing::warn!(
            point = armed.point.name(),
            visit = armed.visit,
            "test hook: a crash point is armed; the process will abort there"
        ),
        Ok(None) => {}
        Err(e) => bail!(e),
    }
    match (mode, settings.chat.transport) {
        (RunMode::Console { jsonl }, _) => run_console(settings, jsonl).await,
        (RunMode::Configured, ChatTransport::Console) => run_console(settings, false).await,
        (RunMode::Configured, ChatTransport::Discord) => run_discord(settings).await,
    }
}

/// How long shutdown waits for events already received from Discord.
const DISCORD_DRAIN: Duration = Duration::from_secs(10);

/// Runs the bot on Discord until SIGINT or SIGTERM (or the gateway fails for good).
async fn run_discord(settings: Settings) -> anyhow::Result<()> {
    let Some(d) = settings.discord.clone() else {
        bail!("chat.transport = \"discord\" needs a [discord] table");
    };
    let Some(token) = d.token.clone() else {
        bail!(
            "the environment variable {} (the Discord bot token) is not set",
            d.token_env
        );
    };
    let clock = Arc::new(SystemClock);
    let Some(mut opened) = Opened::open(&settings, clock.clone()).await? else {
        return Ok(());
    };
    let discord = Discord::connect(DiscordConfig {
        token,
        guild_id: d.guild_id.get(),
        api_url: d.api_url.clone(),
        register_slash_commands: d.register_slash_commands,
        prefix: settings.bot.prefix.clone(),
    })
    .await?;
    let mut cfg = engine_config(&settings);
    cfg.parser.bot_mentions = discord.bot_mentions();
    cfg.approvals_channel = ChannelRef(d.approvals_channel_id.to_string());
    let engine = opened
        .engine(&settings, discord.output(), clock, cfg)
        .await?;
    tracing::info!(
        transport = "discord",
        guild = %d.guild_id,
        approvals_channel = %d.approvals_channel_id,
        bot = discord.bot_id(),
        store = %settings.store.url,
        backend = settings.backend.kind.as_str(),
        "licensebot started"
    );

    opened.start(&settings, &engine).await?;
    let result = discord
        .run(
            engine.clone(),
            texts_for(&settings),
            async {
                shutdown_signal().await;
                tracing::info!("shutdown signal received");
            },
            DISCORD_DRAIN,
        )
        .await;
    crate::telemetry::metrics::TRANSPORT_CONNECTED.set(0);
    opened.stop(&engine).await;
    result
}

/// Where the console saves pictures: `pictures/` beside the SQLite file, or `data/pictures`
/// (a database in memory or on PostgreSQL).
fn pictures_dir(store_url: &str) -> PathBuf {
    let file = store_url
        .strip_prefix("sqlite://")
        .or_else(|| store_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|path| !path.is_empty() && !path.starts_with(':'));
    let folder = file
        .and_then(|f| Path::new(f).parent())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("data"));
    folder.join("pictures")
}

/// Runs the bot on the console until its input ends or it is told to stop.
async fn run_console(settings: Settings, jsonl: bool) -> anyhow::Result<()> {
    let clock = Arc::new(AdjustableClock::new());
    let Some(mut opened) = Opened::open(&settings, clock.clone()).await? else {
        return Ok(());
    };
    let store = opened.store.clone();
    let output = Arc::new(ConsoleOutput::new(
        if jsonl { Mode::Jsonl } else { Mode::Human },
        settings.bot.name.clone(),
        store.clone(),
        Box::new(std::io::stdout()),
        pictures_dir(&settings.store.url),
    ));
    let engine = opened
        .engine(
            &settings,
            output.clone(),
            clock.clone(),
            engine_config(&settings),
        )
        .await?;
    tracing::info!(
        transport = "console",
        jsonl,
        store = %settings.store.url,
        backend = settings.backend.kind.as_str(),
        "licensebot started"
    );
    if !jsonl {
        output.emit(&console::Output::Note {
            text: format!(
                "licensebot on the console ({} tenant, database {}). Type /help for how to play; Ctrl-D ends.",
                match settings.backend.kind {
                    BackendKind::Simulated => "simulated",
                    BackendKind::Graph => "Microsoft Graph",
                },
                settings.store.url
            ),
        });
    }

    opened.start(&settings, &engine).await?;
    crate::telemetry::metrics::TRANSPORT_CONNECTED.set(1);

    let input = tokio::io::BufReader::new(tokio::io::stdin());
    let general = ChannelRef(settings.bot.general_channel.clone());
    let result = tokio::select! {
        r = console::run(engine.clone(), output.clone(), clock, input, general) => r,
        _ = shutdown_signal() => {
            tracing::info!("shutdown signal received");
            Ok(())
        }
    };
    crate::telemetry::metrics::TRANSPORT_CONNECTED.set(0);
    opened.stop(&engine).await;
    result
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pictures_dir;
    use std::path::PathBuf;

    #[test]
    fn the_console_saves_pictures_beside_the_database_file() {
        let dir = |url: &str| pictures_dir(url);
        assert_eq!(
            dir("sqlite://data/licensebot.db"),
            PathBuf::from("data/pictures")
        );
        assert_eq!(
            dir("sqlite:///var/lib/lb/bot.db?mode=rwc"),
            PathBuf::from("/var/lib/lb/pictures")
        );
        assert_eq!(dir("sqlite:bot.db"), PathBuf::from("data/pictures"));
        assert_eq!(dir("sqlite::memory:"), PathBuf::from("data/pictures"));
        assert_eq!(
            dir("postgres://bot@db/licensebot"),
            PathBuf::from("data/pictures")
        );
    }
}
