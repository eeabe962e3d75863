//! Opening requests: policy limits, seat planning (one purchase stage covering every
//! request that waits on a seat), storing requests and stages, approvals given by the
//! command itself, approval messages for the rest, and queueing what can run, all in one
//! transaction.
//!
//! [`Opening`] holds the shared context, the directory (seats, approvers' roles) and the job
//! lock, which it holds while it plans seats so the worker cannot move them meanwhile.

mod auto_approve;

use super::directory::Candidate;
use super::links::Identity;
use super::reclaim::ReclaimList;
use super::render::SeatFigures;
use super::requests::{Approval, NewWork};
use std::sync::Arc;

use super::core::Core;
use super::directory::Directory;
use super::error::{EngineError, EngineResult};
use super::governance::PurchaseRule;
use super::worker::JobLock;
use crate::domain::{
    Actor, AuditAction, BillingCycle, ChatUserId, DecisionSource, LinkProof, RequestId,
    RequestKind, RequestState, StageId, StageKind, StageState, Term, Upn,
};
use crate::engine::ports::{IncomingMessage, Seats};
use crate::store::outbox::{self, ChatAction};
use crate::store::requests::{self, Asked, Request};
use crate::store::stages::{self, Decided, NewStage, SeatPipeline, Stage};
use crate::store::Timestamp;
use crate::store::WriteTx;
use crate::store::{reclaims, terms};
use crate::t;

/// What the requests of one batch share while they are opened.
struct Batch<'a> {
    m: &'a IncomingMessage,
    approval: Approval<'a>,
    requester_upn: Option<Upn>,
    requester_link: Option<LinkProof>,
    /// The issuing approver's directory object id, when their command approves licences.
    issuer_id: Option<String>,
    candidates: Vec<Candidate>,
    seats: Seats,
    figures: SeatFigures,
    /// Positions (in the batch) of the assignments that wait on a seat to be bought.
    waiting: Vec<usize>,
    /// Seats to buy so every waiting assignment gets one.
    shortfall: i64,
    now: Timestamp,
    actor: Actor,
    /// The purchase stage the batch's waiting assignments depend on, once stored.
    purchase_stage: Option<(StageId, RequestId)>,
    /// One line per stage the command itself approved, for one summary message.
    approved_by_command: Vec<String>,
    /// The holders a purchase stage could move a seat from instead (read when no seat is
    /// free).
    reclaim: Option<ReclaimList>,
    /// The auto-approval rule each request of the batch matches, if any (by position).
    auto: Vec<Option<String>>,
}

/// A stage to store: its kind, seats (purchases) and the stage it waits on.
struct PlannedStage {
    kind: StageKind,
    quantity: Option<i64>,
    depends_on: Option<StageId>,
}

/// The answer to the message that opened requests, made from each request opened and its
/// stages, and queued in the transaction that opens them (one commit for both).
pub(super) type Answer<'a> = &'a (dyn Fn(&Request, &[Stage]) -> String + Sync);

/// How requests are opened: who approves them, whether the person's open-request limit
/// applies, the seats read beforehand, and the answer to queue for each.
pub(super) struct Opened<'a> {
    pub(super) approval: Approval<'a>,
    pub(super) enforce_limit: bool,
    pub(super) seats: Seats,
    pub(super) answer: Option<Answer<'a>>,
}

/// Proof that the job worker is held off while seats are planned
/// (`seat_planning`).
pub(super) struct SeatPlanning<'a> {
    _worker_held_off: tokio::sync::MutexGuard<'a, ()>,
}

/// A stage as stored, with what its approval message and summary line say.
struct StoredStage {
    id: StageId,
    seq: i64,
    kind: StageKind,
    body: String,
    routed: Vec<ChatUserId>,
    title: String,
    rule: PurchaseRule,
}

/// Opens requests.
pub(super) struct Opening {
    core: Arc<Core>,
    directory: Arc<Directory>,
    job_lock: JobLock,
}

impl Opening {
    pub(super) fn new(core: Arc<Core>, directory: Arc<Directory>, job_lock: JobLock) -> Opening {
        Opening {
            core,
            directory,
            job_lock,
        }
    }

    /// Opens requests for `works` in one transaction: plans seats (a purchase stage covering
    /// every request that waits on a seat), stores requests and stages, posts the approval
    /// messages, applies command approvals and queues what can run.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn open_requests(
        &self,
        m: &IncomingMessage,
        requester: Option<Identity>,
        works: Vec<NewWork>,
        approval: Approval<'_>,
        enforce_limit: bool,
        answer: Option<Answer<'_>>,
    ) -> EngineResult<Vec<Request>> {
        let planning = self.seat_planning().await;
        let seats = self.directory.seats_or_user_error().await?;
        let opening = Opened {
            approval,
            enforce_limit,
            seats,
            answer,
        };
        self.open_requests_planned(&planning, m, requester, works, opening)
            .await
    }

    /// Keeps the job worker still while seats are planned, from reading the seats to
    /// storing the new requests. A batch of assignments in flight has made assignments the
    /// backend already counts as consumed while their stages still count as waiting for a
    /// seat; planning in between would count those seats twice and order seats nobody
    /// needs (or, the other way round, count seats freed by a batch recorded after the
    /// read nowhere).
    pub(super) async fn seat_planning(&self) -> SeatPlanning<'_> {
        SeatPlanning {
            _worker_held_off: self.job_lock.lock().await,
        }
    }

    /// [`Opening::open_requests`] with the seats read by the caller while it held
    /// `planning` (in the same lookup as the targets, say).
    pub(super) async fn open_requests_planned(
        &self,
        _planning: &SeatPlanning<'_>,
        m: &IncomingMessage,
        requester: Option<Identity>,
        works: Vec<NewWork>,
        opened: Opened<'_>,
    ) -> EngineResult<Vec<Request>> {
        let Opened {
            approval,
            enforce_limit,
            seats,
            answer,
        } = opened;
        let candidates = self.directory.candidates(false).await?;
        let issuer_id = self.issuer_object_id(approval, &works).await?;
        let auto = self.auto_rules(m, &works, approval).await;
        let reclaim = if seats.free() <= 0
            && works
                .iter()
                .any(|w| w.kind == RequestKind::Assign && !w.extends())
        {
            let mut exclude: Vec<&Upn> = works
                .iter()
                .filter_map(|w| w.target.as_ref().map(|t| &t.upn))
                .collect();
            exclude.extend(requester.as_ref().map(|r| &r.upn));
            Some(self.directory.reclaim_list(&exclude).await)
        } else {
            None
        };
        let mut w = self.core.store().write().await?;
        let pipeline = self
            .check_open_limits(&mut w, m, &works, enforce_limit)
            .await?;
        let mut available = seats.free() + pipeline.incoming() - pipeline.promised;
        let waiting: Vec<usize> = works
            .iter()
            .enumerate()
            // An extension keeps the seat its holder has.
            .filter(|(_, work)| work.kind == RequestKind::Assign && !work.extends())
            .filter_map(|(i, _)| {
                if available >= 1 {
                    available -= 1;
                    None
                } else {
                    Some(i)
                }
            })
            .collect();
        let mut batch = Batch {
            m,
            approval,
            requester_upn: requester.as_ref().map(|r| r.upn.clone()),
            requester_link: requester.map(|r| r.proof),
            issuer_id,
            candidates,
            figures: SeatFigures {
                free: seats.free(),
                enabled: seats.enabled,
                pipeline,
            },
            seats,
            shortfall: waiting.len() as i64 + (-available).max(0),
            waiting,
            now: self.core.now(),
            actor: Actor::chat(&m.author),
            purchase_stage: None,
            approved_by_command: Vec::new(),
            reclaim,
            auto,
        };
        let mut created = Vec::new();
        for (i, work) in works.into_iter().enumerate() {
            created.push(self.open_one(&mut w, &mut batch, i, work).await?);
        }
        self.core
            .for_approvers_async(self.post_command_approvals(&mut w, &mut batch))
            .await?;
        let mut advanced = Vec::new();
        for id in created {
            let moved = self
                .core
                .advance_with_stages(&mut w, id, Some(batch.seats.enabled), &batch.actor, None)
                .await?;
            advanced.extend(moved.map(|(request, all, _)| (request, all)));
        }
        if let Some(answer) = answer {
            for (r, all) in &advanced {
                let action = self.core.reply_action(m, answer(r, all));
                outbox::push(&mut w, &action, self.core.now())?;
            }
        }
        let out: Vec<Request> = advanced.into_iter().map(|(r, _)| r).collect();
        self.core.commit(w).await?;
        Ok(out)
    }

    /// An approver's command approves nothing for their own directory account, whatever UPN
    /// it was named by: compared by object id. Unknown (lookup failed) approves nothing of
    /// anyone's licence, so the command is refused.
    async fn issuer_object_id(
        &self,
        approval: Approval<'_>,
        works: &[NewWork],
    ) -> EngineResult<Option<String>> {
        match approval {
            Approval::ByIssuer(a, _) if works.iter().any(|w| w.target.is_some()) => {
                match self.directory.approver_object_id(&a.upn).await {
                    Ok(id) => Ok(Some(id)),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not read the issuer's object id");
                        Err(EngineError::User(t!(
                            self.core.texts(),
                            "backend.directory_unavailable"
                        )))
                    }
                }
            }
            _ => Ok(None),
        }
    }

    /// One open request per person, and (when `enforce_limit`) at most
    /// `policy.max_open_requests_per_user` open requests per requester; read with the seat
    /// pipeline, which is returned.
    async fn check_open_limits(
        &self,
        tx: &mut WriteTx<'_>,
        m: &IncomingMessage,
        works: &[NewWork],
        enforce_limit: bool,
    ) -> EngineResult<SeatPipeline> {
        let targets: Vec<&Upn> = works
            .iter()
            .filter_map(|w| w.target.as_ref().map(|t| &t.upn))
            .collect();
        let checks = stages::opening_checks(tx.conn().await?, &targets, &m.author).await?;
        if let Some((upn, id)) = checks.first_open(targets.iter().copied()) {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "policy.already_open",
                upn = upn,
                id = id
            )));
        }
        let open = checks.open_by_requester;
        if enforce_limit && open + works.len() as i64 > self.core.cfg().max_open_requests_per_user {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "policy.too_many_open",
                open = open,
                max = self.core.cfg().max_open_requests_per_user
            )));
        }
        Ok(checks.pipeline)
    }

    /// Stores the `i`th request of the batch with its stages, audits it, and approves its
    /// stages by the command or posts them for approval.
    #[tracing::instrument(name = "open_request", skip_all, fields(request))]
    async fn open_one(
        &self,
        tx: &mut WriteTx<'_>,
        batch: &mut Batch<'_>,
        i: usize,
        work: NewWork,
    ) -> EngineResult<RequestId> {
        let cycle = self.core.cfg().default_billing_cycle;
        let ended = matches!(batch.approval, Approval::TermEnded);
        let new = Asked {
            kind: work.kind,
            requester: batch.m.author.clone(),
            requester_upn: batch.requester_upn.clone(),
            target_upn: work.target.as_ref().map(|t| t.upn.clone()),
            target_name: work.target.as_ref().map(|t| t.display_name.clone()),
            quantity: work.quantity,
            billing_cycle: work
                .cycle
                .or((work.kind == RequestKind::Purchase).then_some(cycle)),
            reason: work.reason.clone(),
            // The end of a licence's term was asked for by nobody's message: the holder is
            // told by direct message.
            origin_channel: (!ended).then(|| batch.m.channel.clone()),
            origin_message: (!ended).then(|| batch.m.id.clone()),
            requester_link: batch.requester_link.clone(),
            target_object_id: work.target.as_ref().map(|t| t.id.clone()),
        };
        if let Some(grant) = work.ends {
            // The end of a time-bound licence opens one release, whatever ticks race for it.
            if !terms::claim_end(tx.conn().await?, grant, batch.now).await? {
                return Err(EngineError::User(t!(
                    self.core.texts(),
                    "term.already_ended"
                )));
            }
        }
        let id = requests::insert(tx.conn().await?, &new, batch.now).await?;
        if let Some((term, extends)) = work.term {
            terms::insert(tx.conn().await?, id, term, extends).await?;
        }
        tracing::Span::current().record("request", id.0);
        let request = new.stored(id, batch.now);
        let planned = plan_stages(&work, batch.waiting.contains(&i), batch);
        // Everything below is written for the approvals channel, in its language.
        self.core
            .for_approvers_async(self.store_and_route(tx, batch, i, work, &request, planned))
            .await?;
        Ok(id)
    }

    /// Stores the stages of the `i`th request of the batch, audits the request, and approves
    /// its stages by rule or command, or routes them to approvers.
    async fn store_and_route(
        &self,
        tx: &mut WriteTx<'_>,
        batch: &mut Batch<'_>,
        i: usize,
        work: NewWork,
        request: &Request,
        planned: Vec<PlannedStage>,
    ) -> EngineResult<()> {
        let cycle = self.core.cfg().default_billing_cycle;
        let term_line = match work.term {
            Some(term) => Some(self.term_line(tx, term, batch.now).await?),
            None => None,
        };
        let stored = self
            .store_stages(
                tx,
                batch,
                request,
                work.cycle.unwrap_or(cycle),
                planned,
                term_line.as_deref(),
            )
            .await?;
        self.audit_request_created(tx, batch, request, &stored)
            .await?;
        // A rule approves an assignment only when a seat is free for it.
        let rule = if batch.waiting.contains(&i) {
            None
        } else {
            batch.auto.get(i).cloned().flatten()
        };
        for stage in stored {
            if let (StageKind::Assign, Some(rule)) = (stage.kind, &rule) {
                self.approve_by_rule(tx, batch, request, stage, rule)
                    .await?;
                continue;
            }
            self.approve_or_route(tx, batch, request, stage).await?;
        }
        Ok(())
    }

    /// What an assignment's approval says of its term: how long, and until when (an
    /// extension: after the end of the licence it extends, or now if that is later).
    async fn term_line(
        &self,
        tx: &mut WriteTx<'_>,
        (term, extends): (Term, Option<RequestId>),
        now: Timestamp,
    ) -> EngineResult<String> {
        let day = |at: Timestamp| self.core.day(at);
        Ok(match extends {
            None => t!(
                self.core.texts(),
                "approval.term",
                days = term.days(),
                until = day(now + term.duration())
            ),
            Some(grant) => {
                let ends = terms::ends_at(tx.conn().await?, grant)
                    .await?
                    .unwrap_or(now);
                t!(
                    self.core.texts(),
                    "approval.extends",
                    id = grant,
                    ends = day(ends),
                    days = term.days(),
                    until = day(ends.max(now) + term.duration())
                )
            }
        })
    }

    /// Stores the planned stages of `request`, each with its approval message's body (and,
    /// for an assignment, `term_line`) and the approvers it is routed to.
    async fn store_stages(
        &self,
        tx: &mut WriteTx<'_>,
        batch: &mut Batch<'_>,
        request: &Request,
        cycle: BillingCycle,
        planned: Vec<PlannedStage>,
        term_line: Option<&str>,
    ) -> EngineResult<Vec<StoredStage>> {
        let of = planned.len() as i64;
        let exclude: Vec<&Upn> = [&batch.requester_upn, &request.target_upn]
            .into_iter()
            .flatten()
            .collect();
        let unit_price = self.core.seat_price(&batch.seats);
        let mut stored = Vec::new();
        for (seq0, p) in planned.into_iter().enumerate() {
            let seq = seq0 as i64 + 1;
            let kind = p.kind;
            let rule = self
                .core
                .purchase_rule(tx, kind, p.quantity, unit_price)
                .await?;
            let needed = self
                .core
                .cfg()
                .stage_roles(kind, rule.over_budget.is_some());
            let routed = self
                .core
                .eligible(&batch.candidates, needed, &batch.m.author, &exclude);
            let stage_cycle = (kind == StageKind::Purchase).then_some(cycle);
            let price = (kind == StageKind::Purchase).then_some(unit_price);
            let waits_on = p.depends_on.and(batch.purchase_stage.map(|(_, r)| r));
            let mut body = self.core.approval_body(
                request,
                seq,
                of,
                kind,
                p.quantity,
                price,
                stage_cycle,
                batch.figures,
                &routed,
                waits_on,
                rule.over_budget.is_some(),
            );
            if let (StageKind::Assign, Some(line)) = (kind, term_line) {
                body = format!("{body}\n{line}");
            }
            for line in self.core.rule_lines(&rule, p.quantity, unit_price) {
                body = format!("{body}\n{line}");
            }
            let reclaim = batch
                .reclaim
                .as_ref()
                .filter(|_| kind == StageKind::Purchase && request.kind == RequestKind::Assign);
            if let Some(list) = reclaim {
                for line in self.core.reclaim_lines(list) {
                    body = format!("{body}\n{line}");
                }
            }
            let new = NewStage {
                seq,
                kind,
                depends_on: p.depends_on,
                quantity: p.quantity,
                unit_price: price,
                billing_cycle: stage_cycle,
                routed_to: routed.clone(),
                body: body.clone(),
                approvals_needed: rule.approvals_needed,
                over_budget: rule.over_budget,
            };
            let id = stages::insert(tx.conn().await?, request.id, &new, batch.now).await?;
            if let Some(list) = reclaim {
                reclaims::set_candidates(tx.conn().await?, id, &list.candidates).await?;
            }
            if kind == StageKind::Purchase && request.kind == RequestKind::Assign {
                batch.purchase_stage = Some((id, request.id));
            }
            let mut title = self.core.stage_title(kind, p.quantity, stage_cycle);
            if let (Some(q), Some(p), Some(c)) = (p.quantity, price, stage_cycle) {
                title = format!("{title}, {}", self.core.cost_text(q, p, c));
            }
            stored.push(StoredStage {
                id,
                seq,
                kind,
                body,
                routed,
                title,
                rule,
            });
        }
        Ok(stored)
    }

    async fn audit_request_created(
        &self,
        tx: &mut WriteTx<'_>,
        batch: &Batch<'_>,
        request: &Request,
        stored: &[StoredStage],
    ) -> EngineResult<()> {
        let detail = serde_json::json!({
            "kind": request.kind.as_str(),
            "target": request.target_upn.as_ref().map(Upn::as_str),
            "quantity": request.quantity,
            "reason": request.reason,
            "stages": stored.iter().map(|s| serde_json::json!({
                "stage": s.seq, "kind": s.kind.as_str(),
                "routed_to": s.routed.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "seats_free": batch.seats.free(),
            "seats_enabled": batch.seats.enabled,
        })
        .to_string();
        self.core
            .audit(
                tx,
                Some(request.id),
                &batch.actor,
                AuditAction::RequestCreated,
                None,
                Some(RequestState::Pending.as_str()),
                &detail,
            )
            .await?;
        Ok(())
    }

    /// Approves `stage` by the command that opened it when the batch's approval allows,
    /// else posts its approval message to the approvers it is routed to.
    async fn approve_or_route(
        &self,
        tx: &mut WriteTx<'_>,
        batch: &mut Batch<'_>,
        request: &Request,
        stage: StoredStage,
    ) -> EngineResult<()> {
        let by_command = match batch.approval {
            Approval::Routed => None,
            Approval::SelfService => Some((
                batch.m.author.clone(),
                batch.requester_upn.clone(),
                DecisionSource::SelfService,
                AuditAction::ReleasedByHolder,
            )),
            Approval::TermEnded => Some((
                batch.m.author.clone(),
                None,
                DecisionSource::TermEnded,
                AuditAction::TermEnded,
            )),
            Approval::ByIssuer(a, roles) => {
                let needed = self
                    .core
                    .cfg()
                    .stage_roles(stage.kind, stage.rule.over_budget.is_some());
                let holds = roles.intersects(needed);
                let own = request.target_upn.as_ref() == Some(&a.upn)
                    || (batch.issuer_id.is_some() && request.target_object_id == batch.issuer_id);
                // Under the two-person rule the issuer is the requester, who approves
                // nothing: two others decide.
                let two_person = stage.rule.approvals_needed > 1;
                (holds && !own && !two_person).then(|| {
                    (
                        a.chat_user.clone(),
                        Some(a.upn.clone()),
                        DecisionSource::Command,
                        AuditAction::StageApproved,
                    )
                })
            }
        };
        let Some((who, who_upn, how, action)) = by_command else {
            return self
                .core
                .post_approval(tx, stage.id, stage.body, &stage.routed)
                .await;
        };
        stages::decide(
            tx,
            stage.id,
            StageState::Approved,
            Decided {
                by: &who,
                by_upn: who_upn.as_ref(),
                via: how,
                note: None,
            },
            batch.now,
        )
        .await?;
        self.core.audit(
            tx,
            Some(request.id),
            &Actor::chat(&who),
            action,
            Some(StageState::Pending.as_str()),
            Some(StageState::Approved.as_str()),
            &serde_json::json!({"stage": stage.seq, "kind": stage.kind.as_str(), "by": how.as_str()})
                .to_string(),
        )
        .await?;
        batch.approved_by_command.push(t!(
            self.core.texts(),
            "approval.by_command_line",
            id = request.id,
            stage = stage.title,
            subject = self.core.subject(request)
        ));
        Ok(())
    }

    /// An auto-approval rule approves an assignment stage: decided by the rule (its name
    /// stands where an approver's would), audited with the rule as the actor, and its approval
    /// message posted already decided, naming the rule, so approvers see it and may revoke.
    async fn approve_by_rule(
        &self,
        tx: &mut WriteTx<'_>,
        batch: &Batch<'_>,
        request: &Request,
        stage: StoredStage,
        rule: &str,
    ) -> EngineResult<()> {
        let by = ChatUserId(rule.to_string());
        let decided = Decided {
            by: &by,
            by_upn: None,
            via: DecisionSource::AutoRule,
            note: None,
        };
        stages::decide(tx, stage.id, StageState::Approved, decided, batch.now).await?;
        let detail = serde_json::json!({"stage": stage.seq, "kind": stage.kind.as_str(),
            "by": DecisionSource::AutoRule.as_str(), "rule": rule});
        self.core
            .audit(
                tx,
                Some(request.id),
                &Actor::Rule(rule.to_string()),
                AuditAction::StageApproved,
                Some(StageState::Pending.as_str()),
                Some(StageState::Approved.as_str()),
                &detail.to_string(),
            )
            .await?;
        let status = t!(
            self.core.texts(),
            "governance.auto_approved",
            rule = rule,
            prefix = self.core.cfg().parser.prefix
        );
        let post = ChatAction::Send {
            channel: self.core.cfg().approvals_channel.clone(),
            content: format!("{}\n{status}", stage.body),
            reply_to: None,
            stage: Some(stage.id),
            mentions: Vec::new(),
        };
        outbox::push(tx, &post, batch.now)?;
        Ok(())
    }

    /// Approvals given by the command itself are recorded in the approvals channel in one
    /// message, not one approval message each (a batch of a hundred would flood it). A
    /// holder giving their own licence back is no approval, and is not shown as one.
    async fn post_command_approvals(
        &self,
        tx: &mut WriteTx<'_>,
        batch: &mut Batch<'_>,
    ) -> EngineResult<()> {
        if batch.approved_by_command.is_empty() {
            return Ok(());
        }
        let who = self.core.mention(&batch.m.author);
        let mut lines = vec![match batch.approval {
            Approval::SelfService => t!(self.core.texts(), "approval.self_service", who = who),
            Approval::TermEnded => t!(self.core.texts(), "approval.term_ended", who = who),
            _ => t!(self.core.texts(), "approval.by_command", who = who),
        }];
        lines.append(&mut batch.approved_by_command);
        outbox::push(
            tx,
            &ChatAction::Send {
                channel: self.core.cfg().approvals_channel.clone(),
                content: lines.join("\n"),
                reply_to: None,
                stage: None,
                mentions: vec![batch.m.author.clone()],
            },
            batch.now,
        )?;
        Ok(())
    }
}

/// The stages a request needs: an assignment that waits on a seat gets the batch's purchase
/// stage (the first such request carries it, the others depend on it), then its assignment.
fn plan_stages(work: &NewWork, waits_on_seat: bool, batch: &Batch<'_>) -> Vec<PlannedStage> {
    let stage = |kind, quantity, depends_on| PlannedStage {
        kind,
        quantity,
        depends_on,
    };
    match work.kind {
        RequestKind::Assign if waits_on_seat => match batch.purchase_stage {
            None => vec![
                stage(StageKind::Purchase, Some(batch.shortfall), None),
                stage(StageKind::Assign, None, None),
            ],
            Some((sid, _)) => vec![stage(StageKind::Assign, None, Some(sid))],
        },
        RequestKind::Assign => vec![stage(StageKind::Assign, None, None)],
        RequestKind::Purchase => vec![stage(StageKind::Purchase, work.quantity, None)],
        RequestKind::Release | RequestKind::Revoke => vec![stage(StageKind::Unassign, None, None)],
    }
}
