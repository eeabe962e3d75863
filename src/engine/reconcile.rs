//! Drift reconciliation: the bot's records compared with the tenant as it is.
//!
//! A check reads who holds the managed SKU (and by which source), the licensing group's
//! members (group mode) and the seats, then the requests, and finds:
//! - `missing_licence`: a licence a completed request granted (no later removal) is gone;
//! - `unexplained_licence`: a licence the bot manages (assigned directly) that no request
//!   explains;
//! - `membership`: a member of the licensing group no request added;
//! - `seat_count`: more seats assigned than bought, or seats other than the bot's last seat
//!   change left;
//! - `stuck_request`: a request that failed while the tenant shows its licence.
//!
//! People with a request open are left out (their job is at work), and so is a licence
//! granted in the last hour (listings may lag). Licences from groups the bot does not manage,
//! or with a bundle, are no business of the bot's.
//!
//! The reconciler never changes the tenant. Where the tenant is the truth it corrects the
//! bot's own records, and audits each correction: a failed request whose licence shows is
//! completed, and a granted licence that is gone is recorded as ended. The periodic run
//! (`[reconcile] every`) stores the differences, posts one report in the approvals channel
//! and edits it when they change; `licensebot reconcile` only compares and prints.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use super::core::Core;
use super::directory::Directory;
use super::error::{EngineError, EngineResult};
use crate::domain::{Actor, AuditAction, DriftKind, RequestKind, RequestState, Upn};
use crate::engine::ports::{BackendError, DirectoryUser, LicenceSource, Seats};
use crate::store::drift::{self, Difference, LicenceRecord, Report};
use crate::store::standing::{self, Standing, WhenNone, Words};
use crate::store::{requests, Timestamp, WriteTx};
use crate::t;

/// A licence granted this recently is not called missing: Graph's listings may lag.
const SETTLING: Duration = Duration::from_secs(3600);
/// Lines of differences the channel report shows; the rest are counted.
const REPORT_LINES: usize = 20;
/// Differences (and corrections) one periodic check records at most; the rest wait for the
/// next checks, so one check stays short on a large or long-neglected tenant (each is
/// audited). `licensebot reconcile` prints them all.
const MOST_PER_CHECK: usize = 200;

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftCheck {
    /// When the tenant was read.
    pub checked_at: Timestamp,
    /// The differences that stay until the tenant or the records change.
    pub differences: Vec<Difference>,
    /// The differences the bot's records are corrected for (the tenant is the truth).
    pub corrections: Vec<Difference>,
}

impl DriftCheck {
    /// Every difference found, corrections included (what `licensebot reconcile` prints).
    pub fn all(&self) -> impl Iterator<Item = &Difference> {
        self.differences.iter().chain(&self.corrections)
    }
}

/// What the tenant holds, read for one check.
struct TenantView {
    holders: Vec<DirectoryUser>,
    members: Option<Vec<Upn>>,
    seats: Seats,
}

/// What the records say of one person: an open request, the request that grants them the
/// licence now, and a failed assignment since.
#[derive(Default)]
struct PersonRecord {
    open: bool,
    granted: Option<LicenceRecord>,
    failed_since: Option<LicenceRecord>,
}

/// What one pass over the records keeps: the people the tenant names (holders of the SKU,
/// members of the licensing group), and the granted licences found gone, at most `limit`.
/// Everyone else's requests are read, judged and let go, so a check holds what the tenant
/// holds, however many requests are stored.
struct Sweep {
    named: HashSet<String>,
    holds: HashSet<String>,
    people: HashMap<String, PersonRecord>,
    missing: Vec<LicenceRecord>,
    limit: usize,
    now: Timestamp,
}

/// Compares the records with the tenant, corrects the records, reports.
pub(super) struct Reconciler {
    core: Arc<Core>,
    directory: Arc<Directory>,
    /// When this engine started: the first periodic check is due `every` after it.
    started: Timestamp,
    /// One check at a time.
    lock: tokio::sync::Mutex<()>,
}

impl Reconciler {
    pub(super) fn new(core: Arc<Core>, directory: Arc<Directory>) -> Reconciler {
        let started = core.now();
        Reconciler {
            core,
            directory,
            started,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Compares the records with the tenant; changes nothing.
    pub(super) async fn compare(&self) -> EngineResult<DriftCheck> {
        self.compare_at_most(usize::MAX).await
    }

    /// Compares, collecting at most `limit` corrections of granted licences that are gone
    /// (a long-neglected store may hold a great many; a periodic check handles a few
    /// hundred at a time).
    async fn compare_at_most(&self, limit: usize) -> EngineResult<DriftCheck> {
        let view = self.read_tenant().await.map_err(|e| {
            tracing::warn!(error = %e, "could not read the tenant for a licence check");
            EngineError::User(t!(self.core.texts(), "backend.directory_unavailable"))
        })?;
        let now = self.core.now();
        let mut sweep = Sweep::new(&view, &self.core.cfg().sku_part_number, now, limit);
        let last_change = {
            let mut conn = self.core.store().read().await?;
            drift::each_person(&mut conn, |records| sweep.person(records)).await?;
            drift::last_seat_change(&mut conn).await?
        };
        let mut check = DriftCheck {
            checked_at: now,
            differences: Vec::new(),
            corrections: Vec::new(),
        };
        self.licences(&view, &sweep.people, &mut check);
        self.missing(sweep.missing, limit, &mut check);
        self.memberships(&view, &sweep.people, &mut check);
        self.seats(&view, last_change, &mut check);
        // A stable order, so a check that handles only the first ones handles the same.
        let order = |d: &Difference| (d.kind, d.upn.clone(), d.request_id.map(|r| r.0));
        check.differences.sort_by_key(order);
        check.corrections.sort_by_key(order);
        Ok(check)
    }

    /// A periodic check, when `[reconcile] every` has passed since the last (or since the
    /// start). Errors are logged: the next tick tries again.
    pub(super) async fn when_due(&self) {
        let Some(every) = self.core.cfg().reconcile_every else {
            return;
        };
        let last = match self.core.store().read().await {
            Ok(mut conn) => drift::report(&mut conn).await.map(|r| r.checked_at),
            Err(e) => Err(e),
        };
        let since = match last {
            Ok(last) => last.unwrap_or(self.started).max(self.started),
            Err(e) => {
                tracing::error!(error = %e, "cannot read when the tenant was last checked");
                return;
            }
        };
        if (self.core.now() - since).to_std().unwrap_or_default() < every {
            return;
        }
        if let Err(e) = self.reconcile().await {
            tracing::warn!(error = %e, "the periodic licence check failed; trying again later");
        }
    }

    /// Compares, corrects the records where the tenant is the truth, stores the differences
    /// and posts (or edits) the report, all in one transaction.
    pub(super) async fn reconcile(&self) -> EngineResult<DriftCheck> {
        let _one_at_a_time = self.lock.lock().await;
        let mut check = self.compare_at_most(MOST_PER_CHECK + 1).await?;
        let complete =
            check.differences.len() <= MOST_PER_CHECK && check.corrections.len() <= MOST_PER_CHECK;
        check.differences.truncate(MOST_PER_CHECK);
        check.corrections.truncate(MOST_PER_CHECK);
        let now = check.checked_at;
        let mut w = self.core.store().write().await?;
        for c in &check.corrections {
            self.correct(&mut w, c).await?;
        }
        let recorded = drift::record(w.conn().await?, &check.differences, complete, now).await?;
        for (d, action) in recorded
            .new
            .iter()
            .map(|d| (d, AuditAction::DriftFound))
            .chain(recorded.gone.iter().map(|d| (d, AuditAction::DriftGone)))
        {
            let detail = serde_json::json!({"kind": d.kind.as_str(), "upn": d.upn.as_ref().map(Upn::as_str), "detail": d.detail}).to_string();
            self.core
                .audit_note(&mut w, d.request_id, &Actor::System, action, &detail)
                .await?;
        }
        self.report(&mut w, &check).await?;
        self.core.commit(w).await?;
        tracing::info!(
            differences = check.differences.len(),
            corrected = check.corrections.len(),
            "licence check done"
        );
        Ok(check)
    }

    async fn read_tenant(&self) -> Result<TenantView, BackendError> {
        let tenant = &self.directory.tenant;
        let holders = tenant.holders().await?;
        let members = match self.core.cfg().licensing.group() {
            Some(group) => Some(tenant.members(group).await?),
            None => None,
        };
        let seats = tenant.seats().await?;
        Ok(TenantView {
            holders,
            members,
            seats,
        })
    }

    /// Licences held that the bot manages and no request explains, and failed requests the
    /// tenant contradicts.
    fn licences(
        &self,
        view: &TenantView,
        people: &HashMap<String, PersonRecord>,
        check: &mut DriftCheck,
    ) {
        let texts = self.core.texts();
        let sku = &self.core.cfg().sku_part_number;
        let group = self.core.cfg().licensing.group();
        let empty = PersonRecord::default();
        for user in &view.holders {
            let Some(licence) = user.licence(sku) else {
                continue;
            };
            let direct = licence.sources.contains(&LicenceSource::Direct);
            let from_group =
                group.is_some_and(|g| licence.groups().any(|x| x.eq_ignore_ascii_case(g)));
            let person = people.get(&key(&user.upn)).unwrap_or(&empty);
            if (!direct && !from_group) || person.open || person.granted.is_some() {
                continue;
            }
            let upn = user.upn.clone();
            if let Some(failed) = &person.failed_since {
                check.corrections.push(Difference {
                    kind: DriftKind::StuckRequest,
                    upn: Some(upn.clone()),
                    request_id: Some(failed.request),
                    detail: t!(
                        texts,
                        "drift.stuck_request",
                        id = failed.request,
                        upn = upn,
                        sku = sku
                    ),
                });
            } else if from_group {
                check.differences.push(Difference {
                    kind: DriftKind::Membership,
                    detail: t!(texts, "drift.membership_licensed", upn = upn, sku = sku),
                    upn: Some(upn),
                    request_id: None,
                });
            } else {
                check.differences.push(Difference {
                    kind: DriftKind::UnexplainedLicence,
                    detail: t!(texts, "drift.unexplained_licence", upn = upn, sku = sku),
                    upn: Some(upn),
                    request_id: None,
                });
            }
        }
    }

    /// Granted licences that are gone (`missing`, found by the sweep), as corrections: as many
    /// as leave the corrections at most `limit`.
    fn missing(&self, missing: Vec<LicenceRecord>, limit: usize, check: &mut DriftCheck) {
        let texts = self.core.texts();
        let sku = &self.core.cfg().sku_part_number;
        let room = limit.saturating_sub(check.corrections.len());
        for granted in missing.into_iter().take(room) {
            check.corrections.push(Difference {
                kind: DriftKind::MissingLicence,
                upn: Some(granted.upn.clone()),
                request_id: Some(granted.request),
                detail: t!(
                    texts,
                    "drift.missing_licence",
                    upn = granted.upn,
                    sku = sku,
                    id = granted.request
                ),
            });
        }
    }

    /// Members of the licensing group (group mode) that hold nothing from it and that no
    /// request added (those holding from it are reported with the licences).
    fn memberships(
        &self,
        view: &TenantView,
        people: &HashMap<String, PersonRecord>,
        check: &mut DriftCheck,
    ) {
        let Some(members) = &view.members else {
            return;
        };
        let sku = &self.core.cfg().sku_part_number;
        let holding: HashSet<String> = view.holders.iter().map(|h| key(&h.upn)).collect();
        for upn in members {
            let person = people.get(&key(upn));
            let explained = person.is_some_and(|p| p.open || p.granted.is_some());
            let holds = holding.contains(&key(upn));
            if explained || holds {
                continue;
            }
            check.differences.push(Difference {
                kind: DriftKind::Membership,
                upn: Some(upn.clone()),
                request_id: None,
                detail: t!(
                    self.core.texts(),
                    "drift.membership_unlicensed",
                    upn = upn,
                    sku = sku
                ),
            });
        }
    }

    /// More seats assigned than bought; seats other than the bot's last change left.
    fn seats(
        &self,
        view: &TenantView,
        last_change: Option<(crate::domain::RequestId, i64)>,
        check: &mut DriftCheck,
    ) {
        let texts = self.core.texts();
        let sku = &self.core.cfg().sku_part_number;
        let s = view.seats;
        if s.consumed > s.enabled {
            check.differences.push(Difference {
                kind: DriftKind::SeatCount,
                upn: None,
                request_id: None,
                detail: t!(
                    texts,
                    "drift.seats_over",
                    consumed = s.consumed,
                    enabled = s.enabled,
                    sku = sku
                ),
            });
        }
        if let Some((request, target)) = last_change {
            if target != s.enabled {
                check.differences.push(Difference {
                    kind: DriftKind::SeatCount,
                    upn: None,
                    request_id: Some(request),
                    detail: t!(
                        texts,
                        "drift.seats_changed",
                        id = request,
                        target = target,
                        enabled = s.enabled,
                        sku = sku
                    ),
                });
            }
        }
    }

    /// Corrects the records for `c` (the tenant is the truth), audited, and stores it as a
    /// difference resolved by the correction.
    async fn correct(&self, tx: &mut WriteTx<'_>, c: &Difference) -> EngineResult<()> {
        let (Some(request), Some(upn)) = (c.request_id, &c.upn) else {
            return Ok(());
        };
        let now = self.core.now();
        let (before, after) = match c.kind {
            DriftKind::StuckRequest => {
                let outcome = t!(self.core.texts(), "drift.corrected_completed");
                requests::set_state(tx, request, RequestState::Completed, Some(&outcome), now);
                (
                    Some(RequestState::Failed.as_str()),
                    Some(RequestState::Completed.as_str()),
                )
            }
            DriftKind::MissingLicence => {
                drift::end_licence(tx.conn().await?, request, upn, now).await?;
                (None, None)
            }
            _ => return Ok(()),
        };
        drift::record_corrected(tx.conn().await?, c, now).await?;
        let detail =
            serde_json::json!({"kind": c.kind.as_str(), "upn": upn.as_str(), "detail": c.detail})
                .to_string();
        self.core
            .audit(
                tx,
                Some(request),
                &Actor::System,
                AuditAction::Reconciled,
                before,
                after,
                &detail,
            )
            .await?;
        Ok(())
    }

    /// Posts the report in the approvals channel, or edits the one posted when what it says
    /// changed; says nothing while the records and the tenant have always agreed.
    async fn report(&self, tx: &mut WriteTx<'_>, check: &DriftCheck) -> EngineResult<()> {
        let open = drift::open(tx.conn().await?).await?;
        let last = drift::report(tx.conn().await?).await?;
        let body = self
            .core
            .for_approvers(|| self.report_body(&open, &check.corrections));
        let quiet = last.outbox_id.is_none() && open.is_empty() && check.corrections.is_empty();
        let mut message = Standing {
            outbox_id: last.outbox_id,
            says: last.content,
        };
        if !quiet {
            let checked = self.core.for_approvers(|| {
                let at = self.core.minute(check.checked_at);
                t!(self.core.texts(), "drift.report_checked", at = at)
            });
            let content = format!("{body}\n{checked}");
            let words = Words {
                channel: &self.core.cfg().approvals_channel,
                says: &body,
                content: &content,
            };
            let at = check.checked_at;
            standing::say(tx.conn().await?, &mut message, words, WhenNone::Post, at).await?;
        }
        let next = Report {
            outbox_id: message.outbox_id,
            content: message.says,
            checked_at: Some(check.checked_at),
        };
        drift::set_report(tx.conn().await?, &next).await?;
        Ok(())
    }

    /// What the report says (without the time of the check, so it is edited only when the
    /// differences change).
    fn report_body(&self, open: &[Difference], corrected: &[Difference]) -> String {
        let texts = self.core.texts();
        let mut lines = Vec::new();
        if open.is_empty() {
            lines.push(t!(texts, "drift.report_agree"));
        } else {
            lines.push(t!(texts, "drift.report_title", count = open.len()));
            for d in open.iter().take(REPORT_LINES) {
                lines.push(t!(texts, "drift.report_line", detail = d.detail));
            }
            if open.len() > REPORT_LINES {
                lines.push(t!(
                    texts,
                    "drift.report_more",
                    count = open.len() - REPORT_LINES
                ));
            }
        }
        if !corrected.is_empty() {
            lines.push(t!(texts, "drift.report_corrected"));
            for d in corrected.iter().take(REPORT_LINES) {
                lines.push(t!(texts, "drift.report_line", detail = d.detail));
            }
        }
        lines.join("\n")
    }
}

/// A UPN as a map key.
fn key(upn: &Upn) -> String {
    upn.as_str().to_ascii_lowercase()
}

impl Sweep {
    fn new(view: &TenantView, sku: &str, now: Timestamp, limit: usize) -> Sweep {
        let holders = view.holders.iter().map(|u| key(&u.upn));
        let members = view.members.iter().flatten().map(key);
        Sweep {
            named: holders.chain(members).collect(),
            holds: view
                .holders
                .iter()
                .filter(|u| u.holds(sku))
                .map(|u| key(&u.upn))
                .collect(),
            people: HashMap::new(),
            missing: Vec::new(),
            limit,
            now,
        }
    }

    /// One person's licence requests, oldest first: kept when the tenant names them; their
    /// granted licence noted when it is settled and gone.
    fn person(&mut self, records: &[LicenceRecord]) {
        let Some(first) = records.first() else {
            return;
        };
        // A parsed UPN is lower case already: its text is the key.
        let who = first.upn.as_str();
        let person = person_record(records);
        if let Some(granted) = &person.granted {
            let settled = (self.now - granted.at).to_std().unwrap_or_default() >= SETTLING;
            let gone = !person.open && settled && !self.holds.contains(who);
            if gone && self.missing.len() < self.limit {
                self.missing.push(granted.clone());
            }
        }
        if self.named.contains(who) {
            self.people.insert(who.to_owned(), person);
        }
    }
}

/// What the records say of one person, from their licence requests in order: the last
/// completed one decides whether a licence is granted (an assignment whose licence was not
/// seen gone), a failed assignment after it may be contradicted by the tenant.
fn person_record(records: &[LicenceRecord]) -> PersonRecord {
    let mut person = PersonRecord::default();
    for r in records {
        match r.state {
            RequestState::Pending | RequestState::Approved | RequestState::Executing => {
                person.open = true;
            }
            RequestState::Completed => {
                person.failed_since = None;
                person.granted = (r.kind == RequestKind::Assign && !r.ended).then(|| r.clone());
            }
            RequestState::Failed if r.kind == RequestKind::Assign => {
                person.failed_since = Some(r.clone());
            }
            _ => {}
        }
    }
    person
}
