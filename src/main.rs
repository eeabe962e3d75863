//! The `licensebot` command line: run the bot, drive it on the console, manage its database,
//! and read requests and their audit trail. Every line a subcommand prints goes through
//! [`output`]; the exit codes are listed in README.md, "Command line".

// The engine's use cases nest futures deeply (a chat event's handling runs inside the
// speaker's language, opening a request inside the approvals channel's): an optimized build
// lays the nested future of `console`'s dispatch out deeper than the default limit of 128.
#![recursion_limit = "256"]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use licensebot::audit_export::{self, Format, Window};
use licensebot::config::Settings;
use licensebot::domain::{RequestId, RequestState};
use licensebot::startup::{self, RunMode};
use licensebot::store::{audit, requests, Timestamp};

/// Standard output and standard error of the subcommands: every line they print goes
/// through here, so that a reader who goes away (a closed pipe: `licensebot audit 1 | head`)
/// is met in one place. Rust ignores SIGPIPE, so a write then fails with a broken pipe,
/// which `println!` turns into a panic; here it only drops the rest of that stream, and the
/// command finishes its work and ends with the exit code it would have had. Any other
/// failure to write standard output (a full disk) is kept, and the command ends with exit 1
/// (see `main`). The console transport writes its own records and drops failed writes too.
mod output {
    use std::fmt;
    use std::io::{self, Write};
    use std::sync::OnceLock;

    /// The first failure to write standard output, other than a closed pipe.
    static STDOUT_FAILED: OnceLock<String> = OnceLock::new();

    /// Prints one line on standard output.
    pub fn out(args: fmt::Arguments<'_>) {
        if let Err(e) = line(&mut io::stdout().lock(), args) {
            if e.kind() != io::ErrorKind::BrokenPipe {
                // Only the first failure is kept; later ones are its consequences.
                let _later = STDOUT_FAILED.set(e.to_string());
            }
        }
    }

    /// Prints one line on standard error. If that fails there is no one left to tell.
    pub fn err(args: fmt::Arguments<'_>) {
        let _unheard = line(&mut io::stderr().lock(), args);
    }

    fn line(w: &mut impl Write, args: fmt::Arguments<'_>) -> io::Result<()> {
        w.write_fmt(args)?;
        w.write_all(b"\n")?;
        w.flush()
    }

    /// Why standard output could not be written, unless its reader only went away.
    pub fn failure() -> Option<&'static str> {
        STDOUT_FAILED.get().map(String::as_str)
    }
}

/// `println!` through [`output`]: never panics.
macro_rules! outln {
    ($($arg:tt)*) => { output::out(format_args!($($arg)*)) };
}

/// `eprintln!` through [`output`]: never panics.
macro_rules! errln {
    ($($arg:tt)*) => { output::err(format_args!($($arg)*)) };
}

#[derive(Debug, Parser)]
#[command(
    name = "licensebot",
    version,
    about = "Power BI Pro licence requests, approved in chat and carried out in Microsoft 365"
)]
struct Cli {
    /// Settings file layered over the embedded default (else $LICENSEBOT_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the bot on the transport named in the settings (the default).
    Run,
    /// Run the bot on the console: type chat lines, or feed JSON lines with --jsonl.
    Console {
        /// Read and write one JSON object per line (for scripts and tests).
        #[arg(long)]
        jsonl: bool,
    },
    /// Create the database and apply its migrations.
    Migrate,
    /// Load and check the settings, and print what they say.
    CheckConfig,
    /// List requests, newest first, a page at a time: 100 unless --limit says otherwise. When
    /// more are stored, the page ends with how to get the next one (--before the last number
    /// shown; in JSON, "next_before").
    Requests {
        /// Only requests in this state (pending, approved, executing, completed, denied,
        /// cancelled, expired, failed).
        #[arg(long)]
        state: Option<RequestState>,
        /// Requests on a page.
        #[arg(long, value_name = "N", default_value_t = PAGE,
              value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
        /// Only requests numbered below this one: the page after the one that ended with it.
        #[arg(long, value_name = "ID")]
        before: Option<RequestId>,
        /// Print JSON: {"requests": [...], "next_before": the --before of the next page, or
        /// null on the last}.
        #[arg(long)]
        json: bool,
    },
    /// List the links between chat accounts and directory accounts, with how each was
    /// proven and its history.
    Links {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Compare the bot's records with the tenant and print the differences (changes
    /// nothing). Exit 0: none; 1: differences; 2: the check could not be made.
    Reconcile {
        /// Print JSON: {"checked_at", "differences": [{"kind", "upn", "request_id", "detail"}]}.
        #[arg(long)]
        json: bool,
    },
    /// Show what the bot bought per calendar month (UTC) and this month's budget left.
    Spend {
        /// Only this month (YYYY-MM); default: the last twelve with purchases.
        #[arg(long)]
        month: Option<String>,
        /// Print JSON: {"currency", "budget", "month", "used", "left", "months": [...]}.
        #[arg(long)]
        json: bool,
    },
    /// Show a request's audit trail and check the audit chain (`audit 12`); check the whole
    /// chain (`audit verify`); export the events of a time window (`audit export`).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Audit {
        /// The request number (12 or #12).
        #[arg(required = true)]
        request_id: Option<RequestId>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        whole: Option<AuditCmd>,
    },
}

/// What `audit` does with the whole trail.
#[derive(Debug, Subcommand)]
enum AuditCmd {
    /// Check the whole audit chain and print the first broken link: the row, the hash
    /// expected there and the hash found. Exit 0: intact; 1: broken; 2: not checked.
    Verify,
    /// Write every event from --since to --until to standard output, one JSON object per
    /// line, in chain order.
    Export {
        /// The first day (YYYY-MM-DD, from its start in UTC) or time (RFC 3339) included.
        #[arg(long, value_name = "DATE", value_parser = audit_export::parse_date)]
        since: Timestamp,
        /// The day or time where the window ends, itself not included (default: no end).
        #[arg(long, value_name = "DATE", value_parser = audit_export::parse_date)]
        until: Option<Timestamp>,
        /// jsonl: the events as stored, with the request's target; ocsf: OCSF 1.1.0 events
        /// (README, "Audit for a security team", has the mapping).
        #[arg(long, default_value = "jsonl")]
        format: Format,
    },
}

fn main() -> ExitCode {
    let code = run_cli();
    match output::failure() {
        None => code,
        Some(why) => {
            errln!("licensebot: cannot write to standard output: {why}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the command line (usage errors end the process here, exit 2) and runs the command.
fn run_cli() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            errln!("licensebot: the settings are not valid:\n{e}");
            return ExitCode::from(2);
        }
    };
    if matches!(cli.command, Some(Cmd::CheckConfig)) {
        outln!("settings are valid\n{}", settings.summary());
        return check_backends(&settings);
    }
    licensebot::telemetry::init(&settings.telemetry);
    let Some(runtime) = start_runtime(tokio::runtime::Builder::new_multi_thread()) else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(dispatch(cli.command.unwrap_or(Cmd::Run), settings)) {
        Ok(code) => code,
        Err(e) => {
            errln!("licensebot: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the async runtime `builder` describes, with every driver on; says why when it
/// cannot.
fn start_runtime(mut builder: tokio::runtime::Builder) -> Option<tokio::runtime::Runtime> {
    match builder.enable_all().build() {
        Ok(r) => Some(r),
        Err(e) => {
            errln!("licensebot: cannot start the async runtime: {e}");
            None
        }
    }
}

/// `check-config` reports live figures. With a Microsoft backend it talks to it: a token, the
/// seats, each approver's roles (and the Partner Center subscription), printing what it found
/// or what failed. On the simulated tenant it reads the seats from the database, where they
/// live once the bot has started.
fn check_backends(settings: &Settings) -> ExitCode {
    use licensebot::config::{BackendKind, PurchaseBackend};
    let microsoft = settings.backend.kind == BackendKind::Graph
        || settings.backend.purchase == PurchaseBackend::PartnerCenter;
    let Some(runtime) = start_runtime(tokio::runtime::Builder::new_current_thread()) else {
        return ExitCode::FAILURE;
    };
    if !microsoft {
        for line in runtime.block_on(startup::check_simulated(settings)) {
            outln!("{line}");
        }
        return ExitCode::SUCCESS;
    }
    let (lines, ok) = runtime.block_on(startup::check_microsoft(settings));
    for line in lines {
        outln!("{line}");
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        errln!("licensebot: the Microsoft backends could not be reached as configured");
        ExitCode::FAILURE
    }
}

async fn dispatch(cmd: Cmd, settings: Settings) -> anyhow::Result<ExitCode> {
    match cmd {
        Cmd::Run => startup::run(settings, RunMode::Configured)
            .await
            .map(|()| ExitCode::SUCCESS),
        Cmd::Console { jsonl } => startup::run(settings, RunMode::Console { jsonl })
            .await
            .map(|()| ExitCode::SUCCESS),
        Cmd::Migrate => {
            let store = startup::open_store(&settings).await?;
            outln!("database ready: {}", settings.store.url);
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::CheckConfig => Ok(ExitCode::SUCCESS),
        Cmd::Requests {
            state,
            limit,
            before,
            json,
        } => {
            let page = Page {
                state,
                limit,
                before,
            };
            list_requests(&settings, page, json).await
        }
        Cmd::Audit {
            request_id: Some(request_id),
            json,
            whole: None,
        } => show_audit(&settings, request_id, json).await,
        Cmd::Audit {
            whole: Some(AuditCmd::Verify),
            ..
        } => Ok(verify_audit(&settings).await),
        Cmd::Audit {
            whole:
                Some(AuditCmd::Export {
                    since,
                    until,
                    format,
                }),
            ..
        } => export_audit(&settings, since, until, format).await,
        // clap requires a request id when no subcommand is given; this is not reached.
        Cmd::Audit {
            request_id: None,
            whole: None,
            ..
        } => {
            errln!("licensebot: audit needs a request number, or verify or export");
            Ok(ExitCode::from(2))
        }
        Cmd::Links { json } => list_links(&settings, json).await,
        Cmd::Reconcile { json } => Ok(reconcile(&settings, json).await),
        Cmd::Spend { month, json } => show_spend(&settings, month.as_deref(), json).await,
    }
}

/// `reconcile [--json]`: the differences between the records and the tenant; exit 0 when
/// there is none, 1 when there are, 2 when the check could not be made.
async fn reconcile(settings: &Settings, json: bool) -> ExitCode {
    let check = match startup::check_drift(settings).await {
        Ok(c) => c,
        Err(e) => {
            errln!("licensebot: the records could not be compared with the tenant: {e:#}");
            return ExitCode::from(2);
        }
    };
    let found: Vec<&licensebot::store::drift::Difference> = check.all().collect();
    if json {
        let out = serde_json::json!({
            "checked_at": licensebot::store::ts(check.checked_at),
            "differences": found.iter().map(|d| serde_json::json!({
                "kind": d.kind.as_str(),
                "upn": d.upn.as_ref().map(|u| u.as_str()),
                "request_id": d.request_id.map(|r| r.0),
                "detail": d.detail,
            })).collect::<Vec<_>>(),
        });
        match serde_json::to_string_pretty(&out) {
            Ok(text) => outln!("{text}"),
            Err(e) => {
                errln!("licensebot: {e}");
                return ExitCode::from(2);
            }
        }
    } else if found.is_empty() {
        outln!("no differences: the records and the tenant agree");
    } else {
        for d in &found {
            outln!("{:<20} {}", d.kind.as_str(), d.detail);
        }
    }
    if found.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `spend [--month YYYY-MM] [--json]`: spend per month from the purchase ledger, and the
/// budget of the current month (what is bought or approved to buy counts as used).
async fn show_spend(
    settings: &Settings,
    month: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use licensebot::domain::Month;
    use licensebot::store::governance;
    let month = match month {
        None => None,
        Some(raw) => match Month::parse(raw) {
            Some(m) => Some(m.to_string()),
            None => {
                errln!("licensebot: {raw:?} is not a month; write it like 2026-12");
                return Ok(ExitCode::from(2));
            }
        },
    };
    let store = startup::open_existing_store(settings).await?;
    let mut conn = store.read().await.context("Failed to read the database")?;
    let now = chrono::Utc::now();
    let months = governance::spend_by_month(&mut conn, month.as_deref(), 12).await?;
    let used = governance::committed_this_month(&mut conn, now).await?;
    drop(conn);
    store.close().await;
    let (currency, budget) = (&settings.policy.currency, settings.policy.monthly_budget);
    let left = (budget > 0.0).then(|| (budget - used).max(0.0));
    if json {
        let out = serde_json::json!({
            "currency": currency, "budget": (budget > 0.0).then_some(budget),
            "month": Month::of(now).to_string(), "used": used, "left": left, "months": months,
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    if months.is_empty() {
        outln!(
            "nothing bought{}",
            month.map(|m| format!(" in {m}")).unwrap_or_default()
        );
    }
    for m in &months {
        outln!(
            "{}  {} purchase(s)  {} seat(s)  {:.2} {currency} per month",
            m.month,
            m.purchases,
            m.seats,
            m.spent
        );
    }
    match left {
        Some(left) => outln!(
            "budget {}: {budget:.2} {currency}; used {used:.2} (including approved orders); left {left:.2}",
            Month::of(now)
        ),
        None => outln!("no monthly budget is set"),
    }
    Ok(ExitCode::SUCCESS)
}

/// How a request's requester was linked, for `requests --json`: verified with a method and
/// time, or pending (requests made before links were verified).
fn link_json(proof: Option<&licensebot::domain::LinkProof>) -> serde_json::Value {
    match proof {
        Some(p) => serde_json::json!({
            "state": "verified",
            "method": p.method.as_str(),
            "verified_at": p.verified_at.map(licensebot::store::ts),
            "attested_by": p.attested_by.as_ref().map(|u| u.as_str()),
        }),
        None => serde_json::json!({
            "state": "pending", "method": null, "verified_at": null, "attested_by": null,
        }),
    }
}

/// `links [--json]`: every link, its state, how and when it was proven, and its history.
async fn list_links(settings: &Settings, json: bool) -> anyhow::Result<ExitCode> {
    use licensebot::store::{audit, links};
    let store = startup::open_existing_store(settings).await?;
    let mut conn = store.read().await.context("Failed to read the database")?;
    let all = links::all(&mut conn).await?;
    let mut rows = Vec::with_capacity(all.len());
    for l in all {
        let history = audit::for_link(&mut conn, &l.chat_user).await?;
        rows.push((l, history));
    }
    drop(conn);
    store.close().await;
    let ts = licensebot::store::ts;
    if json {
        let out: Vec<serde_json::Value> = rows
            .iter()
            .map(|(l, history)| {
                serde_json::json!({
                    "chat_user": l.chat_user.as_str(),
                    "upn": l.upn.as_str(),
                    "state": l.state.as_str(),
                    "method": l.method.map(|m| m.as_str()),
                    "verified_at": l.verified_at.map(ts),
                    "attested_by": l.attested_by.as_ref().map(|u| u.as_str()),
                    "linked_at": ts(l.linked_at),
                    "locked": l.locked,
                    "history": history.iter().map(|e| serde_json::json!({
                        "id": e.id, "at": ts(e.at), "actor": e.actor, "action": e.action,
                        "detail": serde_json::from_str::<serde_json::Value>(&e.detail)
                            .unwrap_or_else(|_| serde_json::json!(e.detail)),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else if rows.is_empty() {
        outln!("no links");
    } else {
        for (l, history) in &rows {
            let how = match (l.method, l.verified_at) {
                (Some(m), Some(at)) => format!("{} on {}", m.as_str(), ts(at)),
                _ if l.locked => "locked".to_string(),
                _ => "-".to_string(),
            };
            outln!(
                "{:<20} {:<36} {:<9} {}",
                l.chat_user.as_str(),
                l.upn.as_str(),
                l.state.as_str(),
                how
            );
            for e in history {
                outln!("    #{:<5} {} {:<18} {}", e.id, ts(e.at), e.actor, e.action);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Requests on a page of `licensebot requests` unless `--limit` says otherwise.
const PAGE: u32 = 100;

/// Which page of requests to list.
struct Page {
    state: Option<RequestState>,
    limit: u32,
    before: Option<RequestId>,
}

impl Page {
    /// The command that lists the page after one that ended with request `last`.
    fn next_command(&self, last: RequestId) -> String {
        let mut cmd = String::from("licensebot requests");
        if let Some(state) = self.state {
            cmd.push_str(&format!(" --state {}", state.as_str()));
        }
        if self.limit != PAGE {
            cmd.push_str(&format!(" --limit {}", self.limit));
        }
        cmd.push_str(&format!(" --before {}", last.0));
        cmd
    }
}

async fn list_requests(settings: &Settings, page: Page, json: bool) -> anyhow::Result<ExitCode> {
    let store = startup::open_existing_store(settings).await?;
    let mut conn = store.read().await.context("Failed to read the database")?;
    // One more than the page: whether there is a next page, without counting.
    let limit = i64::from(page.limit);
    let mut rows = requests::list(&mut conn, page.state, page.before, limit + 1).await?;
    drop(conn);
    store.close().await;
    let more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    let next = rows.last().map(|r| r.id).filter(|_| more);
    if json {
        let out: Vec<serde_json::Value> = rows.iter().map(request_json).collect();
        let out = serde_json::json!({ "requests": out, "next_before": next.map(|id| id.0) });
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else if rows.is_empty() {
        outln!("no requests");
    } else {
        print_requests(&rows);
        if let Some(last) = next {
            outln!(
                "{} shown, newest first; the next page: {}",
                rows.len(),
                page.next_command(last)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One request in `requests --json`.
fn request_json(r: &requests::Request) -> serde_json::Value {
    serde_json::json!({
        "id": r.id.0,
        "kind": r.kind.as_str(),
        "state": r.state.as_str(),
        "requester": r.requester.as_str(),
        "target_upn": r.target_upn.as_ref().map(|u| u.as_str()),
        "quantity": r.quantity,
        "billing_cycle": r.billing_cycle.map(|c| c.as_str()),
        "created_at": licensebot::store::ts(r.created_at),
        "updated_at": licensebot::store::ts(r.updated_at),
        "link": link_json(r.requester_link.as_ref()),
    })
}

/// The requests as a table, one line each.
fn print_requests(rows: &[requests::Request]) {
    outln!(
        "{:>5}  {:<9} {:<10} {:<12} {:<36} created",
        "id",
        "kind",
        "state",
        "requester",
        "target / quantity"
    );
    for r in rows {
        let what = match (&r.target_upn, r.quantity) {
            (Some(u), _) => u.to_string(),
            (None, Some(q)) => format!(
                "{q} seat(s), {}",
                r.billing_cycle.map(|c| c.as_str()).unwrap_or("-")
            ),
            _ => "-".into(),
        };
        outln!(
            "{:>5}  {:<9} {:<10} {:<12} {:<36} {}",
            r.id.0,
            r.kind.as_str(),
            r.state.as_str(),
            r.requester.as_str(),
            what,
            licensebot::store::ts(r.created_at)
        );
    }
}

async fn show_audit(settings: &Settings, id: RequestId, json: bool) -> anyhow::Result<ExitCode> {
    let store = startup::open_existing_store(settings).await?;
    let mut conn = store.read().await.context("Failed to read the database")?;
    let request = requests::get(&mut conn, id).await?;
    let events = audit::for_request(&mut conn, id).await?;
    let chain = audit::verify_chain(&mut conn).await?;
    drop(conn);
    store.close().await;
    let Some(request) = request else {
        errln!("licensebot: there is no request {id}");
        return Ok(ExitCode::from(4));
    };
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "request": request.id.0,
                "kind": request.kind.as_str(),
                "state": request.state.as_str(),
                "events": events,
                "chain": {
                    "intact": chain.intact(),
                    "checked": chain.checked,
                    "broken_at": chain.broken_at.as_ref().map(|(row, _)| row),
                    "reason": chain.broken_at.as_ref().map(|(_, why)| why),
                },
            }))?
        );
    } else {
        outln!(
            "request {} ({}, {})",
            request.id,
            request.kind,
            request.state
        );
        for e in &events {
            let change = match (&e.before, &e.after) {
                (Some(b), Some(a)) => format!(" {b} -> {a}"),
                (None, Some(a)) => format!(" -> {a}"),
                _ => String::new(),
            };
            outln!(
                "  #{:<5} {} {:<18} {}{} {}",
                e.id,
                licensebot::store::ts(e.at),
                e.actor,
                e.action,
                change,
                e.detail
            );
        }
        match &chain.broken_at {
            None => outln!("audit chain: intact ({} events checked)", chain.checked),
            Some((row, why)) => outln!("audit chain: BROKEN at event {row}: {why}"),
        }
    }
    Ok(if chain.intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

/// `audit verify`: the whole chain checked, streaming; exit 0 when intact, 1 at the first
/// broken link (printed with the hash expected there and the hash found), 2 when the check
/// could not be made.
async fn verify_audit(settings: &Settings) -> ExitCode {
    let chain = match check_whole_chain(settings).await {
        Ok(chain) => chain,
        Err(e) => {
            errln!("licensebot: the audit chain could not be checked: {e:#}");
            return ExitCode::from(2);
        }
    };
    let Some((row, why)) = &chain.broken_at else {
        outln!("audit chain: intact ({} events checked)", chain.checked);
        return ExitCode::SUCCESS;
    };
    outln!("audit chain: BROKEN at event {row}: {why}");
    if let Some(expected) = &chain.expected {
        outln!("  expected: {expected}");
    }
    if let Some(found) = &chain.found {
        outln!("  found:    {found}");
    }
    outln!("  ({} events checked up to the break)", chain.checked);
    ExitCode::from(1)
}

async fn check_whole_chain(settings: &Settings) -> anyhow::Result<audit::ChainCheck> {
    let store = startup::open_existing_store(settings).await?;
    let mut conn = store.read().await.context("Failed to read the database")?;
    let chain = audit::verify_chain(&mut conn)
        .await
        .context("Failed to read the audit events")?;
    drop(conn);
    store.close().await;
    Ok(chain)
}

/// `audit export`: every event of the window on standard output, one line each, streamed
/// from the database. A window that ends before it starts is a command-line error (exit 2).
async fn export_audit(
    settings: &Settings,
    since: Timestamp,
    until: Option<Timestamp>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let window = match Window::new(since, until) {
        Ok(w) => w,
        Err(e) => {
            errln!("licensebot: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let store = startup::open_existing_store(settings).await?;
    let mut conn = store.read().await.context("Failed to read the database")?;
    audit_export::export(&mut conn, window, format, |line| outln!("{line}"))
        .await
        .context("Failed to export the audit events")?;
    drop(conn);
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
