//! Reclaiming a seat nobody uses before buying one.
//!
//! - When an assignment needs a seat bought, its purchase stage lists up to five holders who
//!   have not signed in to Power BI for `[reclaim] inactive_after` (to Microsoft 365 at all
//!   when Power BI's sign-ins are unknown), the longest inactive first; never the requester
//!   or the person the licence is for, never `[reclaim] exempt`, and only licences the bot
//!   can take back (assigned directly, or from the licensing group in group mode). When the
//!   tenant cannot tell (no Entra ID P1, no permission), the stage says so.
//! - An approver with an assign role may react ♻️ (`[reclaim] emoji`) instead of buying, on
//!   a purchase of one seat for one request: the first listed holder who has not kept their
//!   licence is told (by direct message, when linked) that it moves after `[reclaim] grace`
//!   unless they answer `!pro keep`; the assignment stage counts as approved by the ♻️.
//! - `!pro keep` (in a DM or any channel) cancels the move: the purchase stage waits for a
//!   billing approver again, its message edited back.
//! - At the end of the grace period the purchase stage is approved by the move itself and
//!   one job takes the licence from the holder and gives it to the requester (worker,
//!   `move_seat.rs`); a purchase decided meanwhile, or a request that ended, cancels the move.

use std::sync::Arc;

use chrono::Duration as Days;

use super::core::Core;
use super::decisions::{Decisions, Seen};
use super::directory::Directory;
use super::error::{EngineError, EngineResult};
use super::links::Identity;
use crate::domain::{
    Actor, AuditAction, ChatUserId, DecisionSource, RequestKind, StageKind, StageState, Upn,
};
use crate::engine::ports::{LicenceSource, Reaction};
use crate::store::jobs::{self, JobPayload};
use crate::store::reclaims::{self, Candidate, Reclaim, ReclaimState};
use crate::store::stages::{self, Decided, Stage};
use crate::store::{links, requests, Timestamp, WriteTx};
use crate::t;

/// Most holders a purchase stage lists.
const MOST_CANDIDATES: usize = 5;

/// The holders a purchase stage could take a seat back from, and what the tenant could not
/// tell.
#[derive(Debug, Clone, Default)]
pub(super) struct ReclaimList {
    pub candidates: Vec<Candidate>,
    /// Why the last sign-ins are unknown, when they are.
    pub unknown: Option<String>,
    /// Whether Power BI's own sign-ins decided (else the sign-ins to Microsoft 365).
    pub by_power_bi: bool,
    /// Since when Power BI's sign-ins were looked at.
    pub since: Option<Timestamp>,
}

impl ReclaimList {
    /// No candidates: the tenant could not tell (`why`).
    fn unread(why: String) -> ReclaimList {
        ReclaimList {
            unknown: Some(why),
            ..ReclaimList::default()
        }
    }
}

impl Directory {
    /// The holders whose seat could move to someone asking now (`exclude`: the people the
    /// request is by and for). Never fails: what cannot be read is said in the list.
    pub(super) async fn reclaim_list(&self, exclude: &[&Upn]) -> ReclaimList {
        let cfg = self.core().cfg();
        let holders = match self.tenant.holders().await {
            Ok(h) => h,
            Err(e) => return ReclaimList::unread(e.message),
        };
        let group = cfg.licensing.group();
        let movable: Vec<Upn> = holders
            .iter()
            .filter(|h| {
                h.licence(&cfg.sku_part_number).is_some_and(|l| {
                    l.sources.iter().any(|s| match s {
                        LicenceSource::Direct => true,
                        LicenceSource::Group(g) => group.is_some_and(|m| m.eq_ignore_ascii_case(g)),
                    })
                })
            })
            .map(|h| h.upn.clone())
            .filter(|u| !exclude.contains(&u) && !cfg.reclaim.exempt.contains(u))
            .collect();
        if movable.is_empty() {
            return ReclaimList::default();
        }
        let now = self.core().now();
        let cutoff = now - Days::from_std(cfg.reclaim.inactive_after).unwrap_or(Days::days(60));
        let activity = match self.tenant.activity(&movable, cutoff).await {
            Ok(a) => a,
            Err(e) => return ReclaimList::unread(e.message),
        };
        let by_power_bi = activity.power_bi_unknown.is_none();
        if !by_power_bi && activity.sign_in_unknown.is_some() {
            return ReclaimList {
                unknown: activity.sign_in_unknown.or(activity.power_bi_unknown),
                ..ReclaimList::default()
            };
        }
        let used = |u: &crate::engine::ports::UserActivity| {
            if by_power_bi {
                u.last_power_bi
            } else {
                u.last_sign_in
            }
        };
        let mut idle: Vec<_> = activity
            .users
            .iter()
            .filter(|u| used(u).is_none_or(|at| at < cutoff))
            .collect();
        // Longest inactive first: never used before any date; then by upn for a stable order.
        idle.sort_by(|a, b| used(a).cmp(&used(b)).then_with(|| a.upn.cmp(&b.upn)));
        ReclaimList {
            candidates: idle
                .into_iter()
                .take(MOST_CANDIDATES)
                .enumerate()
                .map(|(i, u)| Candidate {
                    rank: i as i64 + 1,
                    upn: u.upn.clone(),
                    last_sign_in: u.last_sign_in,
                    last_power_bi: u.last_power_bi,
                })
                .collect(),
            unknown: activity.power_bi_unknown.filter(|_| !by_power_bi),
            by_power_bi,
            since: Some(cutoff),
        }
    }
}

impl Core {
    /// What a purchase stage says of its reclaim candidates (nothing when there is none and
    /// nothing unknown).
    pub(super) fn reclaim_lines(&self, list: &ReclaimList) -> Vec<String> {
        let texts = self.texts();
        let day = |t: Timestamp| self.day(t);
        let mut lines = Vec::new();
        if !list.candidates.is_empty() {
            let grace = self.cfg().reclaim.grace;
            let days = grace.as_secs() / 86_400;
            let grace = if days > 0 && grace.as_secs().is_multiple_of(86_400) {
                t!(texts, "reclaim.days", days = days)
            } else {
                humantime::format_duration(grace).to_string()
            };
            lines.push(t!(
                texts,
                "reclaim.header",
                emoji = self.cfg().reclaim.emoji,
                grace = grace,
                prefix = self.cfg().parser.prefix
            ));
        }
        for c in &list.candidates {
            let sign_in = match c.last_sign_in {
                Some(t) => day(t),
                None => t!(texts, "reclaim.never"),
            };
            lines.push(match (list.by_power_bi, list.since) {
                (true, Some(since)) => t!(
                    texts,
                    "reclaim.line_power_bi",
                    rank = c.rank,
                    upn = c.upn,
                    power_bi = c.last_power_bi.map(day).unwrap_or_else(|| t!(
                        texts,
                        "reclaim.none_since",
                        since = day(since)
                    )),
                    sign_in = sign_in
                ),
                _ => t!(
                    texts,
                    "reclaim.line",
                    rank = c.rank,
                    upn = c.upn,
                    sign_in = sign_in
                ),
            });
        }
        if let Some(why) = &list.unknown {
            lines.push(t!(texts, "reclaim.unknown", why = why));
        }
        lines
    }
}

impl Decisions {
    /// A ♻️ on a purchase stage: the seat of the first listed holder who has not kept it
    /// moves to the requester after the grace period (see the module docs).
    pub(super) async fn reclaim_reaction(&self, r: &Reaction) -> EngineResult<()> {
        let (stage, request) = {
            let mut conn = self.core().store().read().await?;
            let Some(stage) = stages::by_message(&mut conn, &r.message).await? else {
                return Ok(());
            };
            let Some(request) = requests::get(&mut conn, stage.request_id).await? else {
                return Ok(());
            };
            (stage, request)
        };
        let texts = self.core().texts();
        let movable = stage.kind == StageKind::Purchase
            && stage.state == StageState::Pending
            && stage.quantity == Some(1)
            && request.kind == RequestKind::Assign;
        if !movable || !self.alone_on(&stage).await? {
            let text = t!(texts, "reclaim.not_here", id = request.id);
            return self.refuse_reclaim(r, &stage, &text).await;
        }
        let approver = match self.reclaim_gate(r, &request).await? {
            Ok(a) => a,
            Err(text) => return self.refuse_reclaim(r, &stage, &text).await,
        };
        let candidate = {
            let mut conn = self.core().store().read().await?;
            let kept = reclaims::kept(&mut conn, stage.id).await?;
            reclaims::candidates(&mut conn, stage.id)
                .await?
                .into_iter()
                .find(|c| !kept.contains(&c.upn))
        };
        let Some(candidate) = candidate else {
            let text = t!(texts, "reclaim.nobody", id = request.id);
            return self.refuse_reclaim(r, &stage, &text).await;
        };
        self.start_reclaim(r, &stage, &request, &approver, &candidate.upn)
            .await
    }

    /// A ♻️ that does not count: removed, audited, the reactor told why.
    async fn refuse_reclaim(&self, r: &Reaction, stage: &Stage, text: &str) -> EngineResult<()> {
        let seen = Seen {
            r,
            stage,
            seal: None,
        };
        self.refuse_reaction(seen, AuditAction::ReclaimRefused, text)
            .await
    }

    /// Whether the stage's purchase is for its own request alone (no other request waits
    /// on it: moving one seat would not seat them).
    async fn alone_on(&self, stage: &Stage) -> EngineResult<bool> {
        let mut conn = self.core().store().read().await?;
        Ok(stages::dependents(&mut conn, stage.id)
            .await?
            .iter()
            .all(|d| d.request_id == stage.request_id))
    }

    /// A registered approver, not asking for themself, holding an assign role now; else the
    /// answer.
    async fn reclaim_gate(
        &self,
        r: &Reaction,
        request: &requests::Request,
    ) -> EngineResult<Result<super::config::Approver, String>> {
        let texts = self.core().texts();
        let Some(approver) = self.core().cfg().approver(&r.user).cloned() else {
            return Ok(Err(t!(texts, "decision.not_approver", id = request.id)));
        };
        if r.user == request.requester || request.target_upn.as_ref() == Some(&approver.upn) {
            return Ok(Err(t!(texts, "decision.own_request", id = request.id)));
        }
        let needed = self.core().cfg().roles_for(StageKind::Assign);
        match self.directory().tenant.roles(&approver.upn).await {
            Ok(roles) if roles.intersects(needed) => Ok(Ok(approver)),
            Ok(_) => Ok(Err(t!(
                texts,
                "decision.missing_role",
                id = request.id,
                roles = self.core().role_names(needed)
            ))),
            Err(e) => {
                tracing::warn!(error = %e, "role check for a reclaim failed");
                Ok(Err(t!(
                    texts,
                    "decision.roles_unavailable",
                    id = request.id
                )))
            }
        }
    }

    /// Records the move, approves the assignment stage by it, edits the purchase's message
    /// and tells the holder, the requester and the approver; all once.
    async fn start_reclaim(
        &self,
        r: &Reaction,
        stage: &Stage,
        request: &requests::Request,
        approver: &super::config::Approver,
        candidate: &Upn,
    ) -> EngineResult<()> {
        let core = self.core();
        let now = core.now();
        let due = now + Days::from_std(core.cfg().reclaim.grace).unwrap_or(Days::days(3));
        let mut w = core.store().write().await?;
        let started = reclaims::start(
            w.conn().await?,
            stage.id,
            request.id,
            candidate,
            &approver.chat_user,
            Some(&approver.upn),
            due,
            now,
        )
        .await?;
        if started.is_none() {
            return Ok(());
        }
        let actor = Actor::chat(&r.user);
        for s in stages::for_request(w.conn().await?, request.id).await? {
            if s.kind == StageKind::Assign && s.state == StageState::Pending {
                let by = Decided {
                    by: &approver.chat_user,
                    by_upn: Some(&approver.upn),
                    via: DecisionSource::Reaction,
                    note: None,
                };
                stages::decide(&mut w, s.id, StageState::Approved, by, now).await?;
                let status = || {
                    t!(
                        core.texts(),
                        "status.approved_by",
                        who = core.mention(&r.user)
                    )
                };
                core.edit_stage(&mut w, &s, &status).await?;
            }
        }
        let status = || {
            t!(
                core.texts(),
                "reclaim.chosen",
                who = core.mention(&r.user),
                upn = candidate,
                until = core.minute(due),
                prefix = core.cfg().parser.prefix
            )
        };
        core.edit_stage(&mut w, stage, &status).await?;
        let notice = || {
            t!(
                core.texts(),
                "reclaim.notice",
                until = core.minute(due),
                prefix = core.cfg().parser.prefix
            )
        };
        for holder in links::verified_users_for(w.conn().await?, candidate).await? {
            core.tell_user(&mut w, &holder, &notice).await?;
        }
        let told = || {
            t!(
                core.texts(),
                "reclaim.told_requester",
                id = request.id,
                until = core.minute(due)
            )
        };
        core.tell_requester(&mut w, request, &told).await?;
        let detail = serde_json::json!({"stage": stage.seq, "candidate": candidate.as_str(),
            "due_at": crate::store::ts(due)})
        .to_string();
        core.audit_note(
            &mut w,
            Some(request.id),
            &actor,
            AuditAction::ReclaimChosen,
            &detail,
        )
        .await?;
        core.advance(&mut w, request.id, None, &actor).await?;
        core.commit(w).await?;
        Ok(())
    }
}

/// `!pro keep` and the moves whose grace period is over.
pub(super) struct Reclaims {
    core: Arc<Core>,
    /// One pass at a time.
    lock: tokio::sync::Mutex<()>,
}

impl Reclaims {
    pub(super) fn new(core: Arc<Core>) -> Reclaims {
        Reclaims {
            core,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// `!pro keep`: every waiting move of `me`'s licence is cancelled; returns how many.
    pub(super) async fn keep(&self, who: &ChatUserId, me: &Identity) -> EngineResult<usize> {
        let core = &self.core;
        let now = core.now();
        let mut w = core.store().write().await?;
        let waiting = reclaims::waiting_for(w.conn().await?, &me.upn).await?;
        if waiting.is_empty() {
            return Err(EngineError::User(t!(core.texts(), "keep.nothing")));
        }
        let mut kept = 0;
        for r in &waiting {
            if !reclaims::transition(
                w.conn().await?,
                r.id,
                ReclaimState::Waiting,
                ReclaimState::Kept,
                now,
            )
            .await?
            {
                continue;
            }
            kept += 1;
            if let Some(stage) = stages::get(w.conn().await?, r.stage).await? {
                let status = || t!(core.texts(), "reclaim.kept", upn = me.upn);
                core.edit_stage(&mut w, &stage, &status).await?;
            }
            let told = || {
                t!(
                    core.texts(),
                    "reclaim.kept_told",
                    id = r.request,
                    upn = me.upn
                )
            };
            core.tell_user(&mut w, &r.decided_by, &told).await?;
            if let Some(request) = requests::get(w.conn().await?, r.request).await? {
                core.tell_requester(&mut w, &request, &told).await?;
            }
            let detail = serde_json::json!({"candidate": me.upn.as_str()}).to_string();
            core.audit_note(
                &mut w,
                Some(r.request),
                &Actor::chat(who),
                AuditAction::ReclaimKept,
                &detail,
            )
            .await?;
        }
        core.commit(w).await?;
        Ok(kept)
    }

    /// Starts the moves whose grace period is over. Errors are logged: the next tick tries
    /// again.
    pub(super) async fn tick(&self) {
        let _one_at_a_time = self.lock.lock().await;
        let due = match self.core.store().read().await {
            Ok(mut conn) => reclaims::due(&mut conn, self.core.now()).await,
            Err(e) => Err(e),
        };
        let due = match due {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the moves due");
                return;
            }
        };
        for r in due {
            if let Err(e) = self.start_move(&r).await {
                tracing::error!(error = %e, reclaim = r.id, "cannot start a seat's move");
            }
        }
    }

    /// The grace period is over: the purchase stage is approved by the move, and its job
    /// moves the licence; a purchase decided meanwhile or a request that ended cancels it.
    async fn start_move(&self, r: &Reclaim) -> EngineResult<()> {
        let core = &self.core;
        let now = core.now();
        let mut w = core.store().write().await?;
        if !reclaims::transition(
            w.conn().await?,
            r.id,
            ReclaimState::Waiting,
            ReclaimState::Moving,
            now,
        )
        .await?
        {
            return Ok(());
        }
        let stage = stages::get(w.conn().await?, r.stage)
            .await?
            .filter(|s| s.state == StageState::Pending);
        let target = requests::get(w.conn().await?, r.request)
            .await?
            .filter(|q| q.state.is_open())
            .and_then(|q| q.asked.target_upn);
        // The purchase was decided meanwhile, or the request ended: nothing to move.
        let (Some(stage), Some(target)) = (stage, target) else {
            let (from, to) = (ReclaimState::Moving, ReclaimState::Cancelled);
            reclaims::transition(w.conn().await?, r.id, from, to, now).await?;
            w.commit().await?;
            return Ok(());
        };
        let by = Decided {
            by: &r.decided_by,
            by_upn: r.decided_by_upn.as_ref(),
            via: DecisionSource::Reclaim,
            note: None,
        };
        stages::decide(&mut w, stage.id, StageState::Approved, by, now).await?;
        let payload = JobPayload::Move {
            from: r.candidate.clone(),
            to: target,
        };
        jobs::enqueue(&mut w, stage.id, &payload, now).await?;
        let status = || t!(core.texts(), "reclaim.moving", upn = r.candidate);
        core.edit_stage(&mut w, &stage, &status).await?;
        let detail =
            serde_json::to_string(&payload).map_err(|e| EngineError::Unexpected(e.into()))?;
        core.audit_note(
            &mut w,
            Some(r.request),
            &Actor::System,
            AuditAction::JobQueued,
            &detail,
        )
        .await?;
        core.advance(&mut w, r.request, None, &Actor::System)
            .await?;
        core.commit(w).await?;
        Ok(())
    }
}

/// Marks the move of `stage` done (its job completed): the holder is told.
pub(super) async fn moved(
    core: &Core,
    tx: &mut WriteTx<'_>,
    stage: &Stage,
    to: &Upn,
) -> EngineResult<()> {
    let Some(r) = reclaims::open_for_stage(tx.conn().await?, stage.id).await? else {
        return Ok(());
    };
    reclaims::transition(
        tx.conn().await?,
        r.id,
        ReclaimState::Moving,
        ReclaimState::Moved,
        core.now(),
    )
    .await?;
    let text = || t!(core.texts(), "reclaim.taken", upn = r.candidate, to = to);
    for holder in links::verified_users_for(tx.conn().await?, &r.candidate).await? {
        core.tell_user(tx, &holder, &text).await?;
    }
    Ok(())
}
