//! Chat commands: who may run them, and what each one does.

use tracing::Instrument;

use super::links::Identity;
use super::requests::{Approval, NewWork};
use super::{Engine, EngineError, EngineResult};
use crate::command::{Command, CommandName, Target};
use crate::domain::{ChatUserId, RequestId, RequestKind, StageKind, StageState, Upn};
use crate::engine::ports::IncomingMessage;
use crate::store::outbox;
use crate::store::{approvers, audit, requests, stages};
use crate::t;

impl Engine {
    pub(super) fn usage_line(&self, c: CommandName) -> String {
        let p = &self.cfg().parser.prefix;
        match c {
            CommandName::Request => t!(self.texts(), "help.request", prefix = p),
            CommandName::Link => t!(self.texts(), "help.link", prefix = p),
            CommandName::Status => t!(self.texts(), "help.status", prefix = p),
            CommandName::Cancel => t!(self.texts(), "help.cancel", prefix = p),
            CommandName::Release => t!(self.texts(), "help.release", prefix = p),
            CommandName::Help => t!(self.texts(), "help.help", prefix = p),
            CommandName::Buy => t!(self.texts(), "help.buy", prefix = p),
            CommandName::Assign => t!(self.texts(), "help.assign", prefix = p),
            CommandName::Revoke => t!(self.texts(), "help.revoke", prefix = p),
            CommandName::Seats => t!(self.texts(), "help.seats", prefix = p),
            CommandName::Pending => t!(self.texts(), "help.pending", prefix = p),
            CommandName::Away => t!(self.texts(), "help.away", prefix = p),
            CommandName::Audit => t!(self.texts(), "help.audit", prefix = p),
            CommandName::Purchased => t!(self.texts(), "help.purchased", prefix = p),
            CommandName::Unlink => t!(self.texts(), "help.unlink", prefix = p),
            CommandName::Verify => t!(self.texts(), "help.verify", prefix = p),
        }
    }

    pub(super) fn help_list(&self, user: &ChatUserId) -> String {
        let approver = self.cfg().approver(user).is_some();
        let mut lines = vec![t!(self.texts(), "help.header")];
        for c in CommandName::ALL.into_iter().filter(|c| !c.approvers_only()) {
            lines.push(self.usage_line(c));
        }
        if approver {
            lines.push(t!(self.texts(), "help.approver_header"));
            for c in CommandName::ALL.into_iter().filter(|c| c.approvers_only()) {
                lines.push(self.usage_line(c));
            }
        }
        lines.join("\n")
    }

    pub(super) async fn run_command(&self, m: &IncomingMessage, cmd: Command) -> EngineResult<()> {
        if cmd.name().approvers_only() && self.cfg().approver(&m.author).is_none() {
            return Err(EngineError::User(t!(
                self.texts(),
                "command.approvers_only",
                command = cmd.name().word()
            )));
        }
        if !matches!(
            cmd.name(),
            CommandName::Link | CommandName::Verify | CommandName::Unlink
        ) {
            self.notice_unverified(m).await?;
        }
        let span = tracing::info_span!("command", command = cmd.name().word(), user = %m.author);
        self.dispatch(m, cmd).instrument(span).await
    }

    async fn dispatch(&self, m: &IncomingMessage, cmd: Command) -> EngineResult<()> {
        match cmd {
            Command::Help { topic } => {
                let text = match topic {
                    Some(c) => self.usage_line(c),
                    None => self.help_list(&m.author),
                };
                self.reply_now(m, text).await;
                Ok(())
            }
            Command::Link { user, upn } => self.link(m, user, upn).await,
            Command::Verify { code } => self.verify(m, &code).await,
            Command::Request { target, reason } => self.request(m, target, reason).await,
            Command::Status { id } => self.status(m, id).await,
            Command::Cancel { id } => self.cancel(m, id).await,
            Command::Release => self.release(m).await,
            Command::Buy { seats, cycle } => self.buy(m, seats, cycle).await,
            Command::Assign { targets } => self.assign(m, targets).await,
            Command::Revoke { target, reason } => self.revoke(m, target, reason).await,
            Command::Unlink { target } => self.unlink(m, target).await,
            Command::Seats => self.seats_report(m).await,
            Command::SeatsRemove { seats } => self.seats_remove(m, seats).await,
            Command::Pending => self.pending_report(m).await,
            Command::Away { on } => self.away(m, on).await,
            Command::Audit { id } => self.audit_report(m, id).await,
            Command::Purchased { id } => self.purchased(m, id).await,
        }
    }

    /// The directory user a command names: a UPN as typed, or the account a mentioned chat
    /// user acts for through a verified link.
    async fn resolve_target(&self, target: &Target) -> EngineResult<Upn> {
        match target {
            Target::Upn(u) => Ok(u.clone()),
            Target::Mention(user) => match self.acting_identity(user).await {
                Ok(identity) => Ok(identity.upn),
                Err(EngineError::User(_)) => Err(EngineError::User(t!(
                    self.texts(),
                    "link.target_unlinked",
                    who = self.mention(user),
                    prefix = self.cfg().parser.prefix
                ))),
                Err(e) => Err(e),
            },
        }
    }

    pub(super) async fn directory_user(
        &self,
        upn: &Upn,
    ) -> EngineResult<crate::engine::ports::DirectoryUser> {
        let looked_up = self.inner.tenant.user(upn).await;
        self.directory_answer(upn, looked_up)
    }

    /// A directory lookup's result, its failure said in chat words.
    fn directory_answer(
        &self,
        upn: &Upn,
        looked_up: Result<crate::engine::ports::DirectoryUser, crate::engine::ports::BackendError>,
    ) -> EngineResult<crate::engine::ports::DirectoryUser> {
        looked_up.map_err(|e| match e.kind {
            crate::engine::ports::ErrorKind::UserNotFound => {
                EngineError::User(t!(self.texts(), "directory.not_found", upn = upn))
            }
            _ => {
                tracing::warn!(error = %e, "directory lookup failed");
                EngineError::User(t!(self.texts(), "backend.directory_unavailable"))
            }
        })
    }

    async fn request(
        &self,
        m: &IncomingMessage,
        target: Option<Target>,
        reason: Option<String>,
    ) -> EngineResult<()> {
        self.may_request(m)?;
        let requester = self.own_identity(m, "request").await?;
        let target_upn = match &target {
            None => requester.upn.clone(),
            Some(t) => {
                if self.cfg().approver(&m.author).is_none() {
                    return Err(EngineError::User(t!(
                        self.texts(),
                        "request.for_others_approvers_only"
                    )));
                }
                self.resolve_target(t).await?
            }
        };
        let user = self.directory_user(&target_upn).await?;
        self.licence_policy(&user).map_err(EngineError::User)?;
        self.open_and_reply(
            m,
            requester,
            NewWork::licence(RequestKind::Assign, user, reason),
            Approval::Routed,
            true,
        )
        .await
    }

    /// `[policy] requesters`: when set, only the chat users named (console) or holding one of
    /// the roles (Discord) may ask.
    fn may_request(&self, m: &IncomingMessage) -> EngineResult<()> {
        let allowed = &self.cfg().requesters;
        if allowed.is_empty()
            || allowed.iter().any(|r| r == m.author.as_str())
            || m.roles.iter().any(|r| allowed.contains(r))
        {
            return Ok(());
        }
        Err(EngineError::User(t!(
            self.texts(),
            "request.not_a_requester"
        )))
    }

    /// Opens one request and answers with what became of it.
    async fn open_and_reply(
        &self,
        m: &IncomingMessage,
        requester: Identity,
        work: NewWork,
        approval: Approval<'_>,
        enforce_limit: bool,
    ) -> EngineResult<()> {
        let created = self
            .open_requests(m, Some(requester), vec![work], approval, enforce_limit)
            .await?;
        for r in created {
            let text = self.created_text(&r).await?;
            self.reply_now(m, text).await;
        }
        Ok(())
    }

    async fn created_text(&self, r: &requests::Request) -> EngineResult<String> {
        let mut conn = self.store().read().await?;
        let all = stages::for_request(&mut conn, r.id).await?;
        let purchase = all.iter().find(|s| s.kind == StageKind::Purchase);
        let pending = all.iter().any(|s| s.state == StageState::Pending);
        Ok(match (purchase, pending) {
            (Some(p), true) => t!(
                self.texts(),
                "request.created_with_purchase",
                id = r.id,
                subject = self.subject(r),
                quantity = p.quantity.unwrap_or(0)
            ),
            (None, true) if all.iter().any(|s| s.depends_on.is_some()) => {
                t!(
                    self.texts(),
                    "request.created_waiting",
                    id = r.id,
                    subject = self.subject(r)
                )
            }
            (_, true) => t!(
                self.texts(),
                "request.created",
                id = r.id,
                subject = self.subject(r)
            ),
            (_, false) => t!(
                self.texts(),
                "request.created_approved",
                id = r.id,
                subject = self.subject(r)
            ),
        })
    }

    async fn status(&self, m: &IncomingMessage, id: Option<RequestId>) -> EngineResult<()> {
        let mut conn = self.store().read().await?;
        let text = match id {
            None => {
                let mine = requests::by_requester(&mut conn, &m.author, 5).await?;
                if mine.is_empty() {
                    t!(
                        self.texts(),
                        "status.none",
                        prefix = self.cfg().parser.prefix
                    )
                } else {
                    let mut lines = vec![t!(self.texts(), "status.yours")];
                    lines.extend(mine.iter().map(|r| self.summary_line(r)));
                    lines.join("\n")
                }
            }
            Some(id) => {
                let r = requests::get(&mut conn, id).await?.ok_or_else(|| {
                    EngineError::User(t!(self.texts(), "request.unknown", id = id))
                })?;
                // Only a verified link shows the status of its account's licence.
                let me = match self.acting_identity(&m.author).await {
                    Ok(identity) => Some(identity.upn),
                    Err(EngineError::User(_)) => None,
                    Err(e) => return Err(e),
                };
                let allowed = r.requester == m.author
                    || self.cfg().approver(&m.author).is_some()
                    || (me.is_some() && me == r.target_upn);
                if !allowed {
                    return Err(EngineError::User(t!(
                        self.texts(),
                        "request.not_yours",
                        id = id
                    )));
                }
                let mut lines = vec![self.summary_line(&r)];
                for s in stages::for_request(&mut conn, id).await? {
                    let by = s
                        .decided_by
                        .as_ref()
                        .map(|u| self.mention(u))
                        .unwrap_or_else(|| "-".into());
                    let stage = self.stage_title(s.kind, s.quantity, s.billing_cycle);
                    let state = self.stage_state_word(s.state);
                    lines.push(
                        if s.decision_note.as_deref() == Some(super::requests::SELF_SERVICE) {
                            t!(
                                self.texts(),
                                "status.stage_line_own",
                                seq = s.seq,
                                stage = stage,
                                state = state,
                                by = by
                            )
                        } else {
                            t!(
                                self.texts(),
                                "status.stage_line",
                                seq = s.seq,
                                stage = stage,
                                state = state,
                                by = by
                            )
                        },
                    );
                }
                if let Some(o) = &r.outcome {
                    lines.push(t!(self.texts(), "status.outcome", outcome = o));
                }
                lines.join("\n")
            }
        };
        drop(conn);
        self.reply_now(m, text).await;
        Ok(())
    }

    async fn cancel(&self, m: &IncomingMessage, id: RequestId) -> EngineResult<()> {
        let actor = format!("chat:{}", m.author);
        let mut w = self.store().write().await?;
        let r = requests::get(w.conn(), id)
            .await?
            .ok_or_else(|| EngineError::User(t!(self.texts(), "request.unknown", id = id)))?;
        if r.requester != m.author && self.cfg().approver(&m.author).is_none() {
            return Err(EngineError::User(t!(
                self.texts(),
                "request.not_yours",
                id = id
            )));
        }
        if !r.state.is_open() {
            return Err(EngineError::User(t!(
                self.texts(),
                "cancel.closed",
                id = id,
                state = self.state_word(r.state)
            )));
        }
        let all = stages::for_request(w.conn(), id).await?;
        if all.iter().any(|s| s.state == StageState::Executing) {
            return Err(EngineError::User(t!(
                self.texts(),
                "cancel.executing",
                id = id
            )));
        }
        let outcome = t!(
            self.texts(),
            "outcome.cancelled",
            who = self.mention(&m.author)
        );
        let closed = self
            .close_stages(w.conn(), id, StageState::Cancelled, &outcome, &actor)
            .await?;
        if closed.is_empty() {
            return Err(EngineError::User(t!(
                self.texts(),
                "cancel.nothing",
                id = id
            )));
        }
        for s in &closed {
            let status = t!(
                self.texts(),
                "status.cancelled_by",
                who = self.mention(&m.author)
            );
            self.edit_stage(w.conn(), s, &status).await?;
        }
        self.finish_request(w.conn(), id, &outcome, &actor).await?;
        w.commit().await?;
        Ok(())
    }

    async fn release(&self, m: &IncomingMessage) -> EngineResult<()> {
        let me = self.own_identity(m, "release").await?;
        let user = self.directory_user(&me.upn).await?;
        if !user.holds(&self.cfg().sku_part_number) {
            return Err(EngineError::User(match user.pro_from() {
                Some(l) => t!(self.texts(), "release.included", sku = l.sku_part_number),
                None => t!(self.texts(), "release.nothing"),
            }));
        }
        let created = self
            .open_requests(
                m,
                Some(me),
                vec![NewWork::licence(RequestKind::Release, user, None)],
                Approval::SelfService,
                false,
            )
            .await?;
        for r in created {
            self.reply_now(m, t!(self.texts(), "release.started", id = r.id))
                .await;
        }
        Ok(())
    }

    pub(super) async fn issuer_roles(
        &self,
        m: &IncomingMessage,
    ) -> EngineResult<(super::Approver, crate::domain::RoleSet)> {
        let a = self.cfg().approver(&m.author).cloned().ok_or_else(|| {
            EngineError::User(t!(self.texts(), "command.approvers_only", command = "-"))
        })?;
        let roles = self.inner.tenant.roles(&a.upn).await.map_err(|e| {
            tracing::warn!(error = %e, "role lookup failed");
            EngineError::User(t!(self.texts(), "backend.roles_unavailable"))
        })?;
        Ok((a, roles))
    }

    async fn buy(
        &self,
        m: &IncomingMessage,
        seats: u32,
        cycle: Option<crate::domain::BillingCycle>,
    ) -> EngineResult<()> {
        let (a, roles) = self.issuer_roles(m).await?;
        let cycle = cycle.unwrap_or(self.cfg().default_billing_cycle);
        self.open_and_reply(
            m,
            Identity::of_approver(&a),
            NewWork::purchase(i64::from(seats), cycle),
            Approval::ByIssuer(&a, &roles),
            false,
        )
        .await
    }

    async fn assign(&self, m: &IncomingMessage, targets: Vec<Target>) -> EngineResult<()> {
        let (a, roles) = self.issuer_roles(m).await?;
        let mut works = Vec::new();
        let mut lines = Vec::new();
        // Each target resolved to a UPN (or the answer why not), first mentions only.
        let mut resolved: Vec<Result<Upn, String>> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for t in &targets {
            match self.resolve_target(t).await {
                Ok(upn) => {
                    if seen.insert(upn.clone()) {
                        resolved.push(Ok(upn));
                    }
                }
                Err(EngineError::User(text)) => resolved.push(Err(text)),
                Err(e) => return Err(e),
            }
        }
        // Every target and the seats in one lookup: a backend that batches sends it as one
        // call rather than one per person. The seats are planned with the worker held off.
        let planning = self.seat_planning().await;
        let found = self
            .inner
            .tenant
            .look_up(&crate::engine::ports::Lookup {
                users: resolved.iter().filter_map(|r| r.clone().ok()).collect(),
                fresh_roles: Vec::new(),
                seats: true,
            })
            .await;
        let mut users = found.users.into_iter();
        for target in resolved {
            let upn = match target {
                Ok(upn) => upn,
                Err(text) => {
                    lines.push(text);
                    continue;
                }
            };
            let looked_up = users.next().unwrap_or_else(|| {
                Err(crate::engine::ports::BackendError::new(
                    crate::engine::ports::ErrorKind::Transient,
                    "the lookup left this user out",
                ))
            });
            let user = match self.directory_answer(&upn, looked_up) {
                Ok(u) => u,
                Err(EngineError::User(text)) => {
                    lines.push(text);
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let Err(text) = self.licence_policy(&user) {
                lines.push(text);
                continue;
            }
            let open = {
                let mut conn = self.store().read().await?;
                requests::open_for_target(&mut conn, &upn).await?
            };
            if let Some(r) = open {
                lines.push(t!(
                    self.texts(),
                    "policy.already_open",
                    upn = upn,
                    id = r.id
                ));
                continue;
            }
            works.push(NewWork::licence(RequestKind::Assign, user, None));
        }
        if !works.is_empty() {
            let seats = match found.seats {
                Some(Ok(seats)) => seats,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "could not read seats");
                    return Err(EngineError::User(t!(
                        self.texts(),
                        "backend.seats_unavailable"
                    )));
                }
                None => self.seats_or_user_error().await?,
            };
            let created = self
                .open_requests_planned(
                    &planning,
                    m,
                    Some(Identity::of_approver(&a)),
                    works,
                    Approval::ByIssuer(&a, &roles),
                    false,
                    seats,
                )
                .await?;
            drop(planning);
            for r in &created {
                lines.push(self.created_text(r).await?);
            }
        }
        self.reply_now(m, lines.join("\n")).await;
        Ok(())
    }

    async fn revoke(
        &self,
        m: &IncomingMessage,
        target: Target,
        reason: Option<String>,
    ) -> EngineResult<()> {
        let (a, roles) = self.issuer_roles(m).await?;
        let upn = self.resolve_target(&target).await?;
        let user = self.directory_user(&upn).await?;
        if !user.holds(&self.cfg().sku_part_number) {
            return Err(EngineError::User(t!(
                self.texts(),
                "revoke.nothing",
                upn = upn
            )));
        }
        self.open_and_reply(
            m,
            Identity::of_approver(&a),
            NewWork::licence(RequestKind::Revoke, user, reason),
            Approval::ByIssuer(&a, &roles),
            false,
        )
        .await
    }

    /// A billing approver says the seats of a manual purchase are bought: check the seat
    /// count now and carry on if they are there.
    async fn purchased(&self, m: &IncomingMessage, id: RequestId) -> EngineResult<()> {
        let (_, roles) = self.issuer_roles(m).await?;
        if !roles.iter().any(|r| self.cfg().purchase_roles.contains(r)) {
            return Err(EngineError::User(t!(
                self.texts(),
                "decision.missing_role",
                id = id,
                roles = self.role_names(&self.cfg().purchase_roles)
            )));
        }
        let waiting = {
            let mut conn = self.store().read().await?;
            let mut found = None;
            for s in stages::for_request(&mut conn, id).await? {
                if s.kind == StageKind::Purchase && s.state == StageState::Approved {
                    if let Some(job) = crate::store::jobs::for_stage(&mut conn, s.id).await? {
                        if job.state == crate::store::jobs::JobState::Queued {
                            found = Some(job);
                        }
                    }
                }
            }
            found
        };
        let Some(job) = waiting else {
            return Err(EngineError::User(t!(
                self.texts(),
                "purchase.none",
                id = id
            )));
        };
        let crate::store::jobs::JobPayload::Purchase {
            target_seats,
            quantity,
            ..
        } = job.payload
        else {
            return Err(EngineError::User(t!(
                self.texts(),
                "purchase.none",
                id = id
            )));
        };
        let seats = self.seats_or_user_error().await?;
        let now = self.now();
        let mut w = self.store().write().await?;
        let there = if quantity < 0 {
            seats.enabled <= target_seats
        } else {
            seats.enabled >= target_seats
        };
        if there {
            crate::store::jobs::due_now(w.conn(), job.id, now).await?;
        }
        self.audit(
            w.conn(),
            Some(id),
            &format!("chat:{}", m.author),
            "purchase_reported_done",
            None,
            None,
            &serde_json::json!({"enabled": seats.enabled, "target": target_seats, "seen": there})
                .to_string(),
        )
        .await?;
        let text = if there {
            t!(
                self.texts(),
                "purchase.confirmed",
                enabled = seats.enabled,
                id = id
            )
        } else {
            t!(
                self.texts(),
                "purchase.not_yet",
                id = id,
                enabled = seats.enabled,
                target = target_seats
            )
        };
        outbox::push(w.conn(), &self.reply_action(m, text), now).await?;
        w.commit().await?;
        self.wake();
        Ok(())
    }

    /// Lowers the seat count, never below the seats in use or promised to open requests,
    /// and not while seats are being bought. Microsoft allows reductions only within a short
    /// window after a purchase or renewal; the reply and the approval say so.
    async fn seats_remove(&self, m: &IncomingMessage, seats: u32) -> EngineResult<()> {
        let (a, roles) = self.issuer_roles(m).await?;
        let now_seats = self.seats_or_user_error().await?;
        let (busy, pipeline) = {
            let mut conn = self.store().read().await?;
            let busy = stages::open_seat_change(&mut conn).await?;
            (busy, stages::seat_pipeline(&mut conn).await?)
        };
        // One seat change at a time: seat targets are absolute, fixed at approval from the
        // count seen then, so a purchase approved while a removal is open (or the other way
        // round) would count from the wrong number.
        match busy {
            Some((id, StageState::Pending, quantity)) => {
                return Err(EngineError::User(t!(
                    self.texts(),
                    "seats.reduce_awaiting",
                    id = id,
                    seats = quantity.abs()
                )))
            }
            Some((id, _, _)) => {
                return Err(EngineError::User(t!(
                    self.texts(),
                    "seats.reduce_busy",
                    id = id
                )))
            }
            None => {}
        }
        let target = now_seats.enabled - i64::from(seats);
        let floor = now_seats.consumed + pipeline.promised;
        if target < floor {
            return Err(EngineError::User(t!(
                self.texts(),
                "seats.reduce_floor",
                seats = seats,
                enabled = now_seats.enabled,
                floor = floor
            )));
        }
        self.open_and_reply(
            m,
            Identity::of_approver(&a),
            NewWork::purchase(-i64::from(seats), self.cfg().default_billing_cycle),
            Approval::ByIssuer(&a, &roles),
            false,
        )
        .await?;
        self.reply_now(m, t!(self.texts(), "approval.reduce_window"))
            .await;
        Ok(())
    }

    async fn seats_report(&self, m: &IncomingMessage) -> EngineResult<()> {
        let seats = self.seats_or_user_error().await?;
        let pipeline = {
            let mut conn = self.store().read().await?;
            stages::seat_pipeline(&mut conn).await?
        };
        let mut text = t!(
            self.texts(),
            "seats.report",
            sku = self.cfg().sku_part_number,
            enabled = seats.enabled,
            consumed = seats.consumed,
            free = seats.free(),
            promised = pipeline.promised,
            on_order = pipeline.on_order,
            awaiting = pipeline.awaiting_approval
        );
        if pipeline.removing > 0 {
            text.push(' ');
            text.push_str(&t!(
                self.texts(),
                "seats.report_removing",
                seats = pipeline.removing
            ));
        }
        self.reply_now(m, text).await;
        Ok(())
    }

    async fn pending_report(&self, m: &IncomingMessage) -> EngineResult<()> {
        let mut conn = self.store().read().await?;
        let pending = stages::in_state(&mut conn, StageState::Pending).await?;
        let mut lines = Vec::new();
        for s in pending.iter().filter(|s| s.routed_to.contains(&m.author)) {
            if let Some(r) = requests::get(&mut conn, s.request_id).await? {
                lines.push(t!(
                    self.texts(),
                    "pending.line",
                    id = r.id,
                    subject = self.subject(&r),
                    stage = self.stage_title(s.kind, s.quantity, s.billing_cycle),
                    message = s
                        .approval_message
                        .as_ref()
                        .map(|m| m.as_str())
                        .unwrap_or("-")
                ));
            }
        }
        drop(conn);
        let text = if lines.is_empty() {
            t!(self.texts(), "pending.none")
        } else {
            let mut all = vec![t!(self.texts(), "pending.header", count = lines.len())];
            all.extend(lines);
            all.join("\n")
        };
        self.reply_now(m, text).await;
        Ok(())
    }

    async fn away(&self, m: &IncomingMessage, on: bool) -> EngineResult<()> {
        let now = self.now();
        let mut w = self.store().write().await?;
        approvers::set_away(w.conn(), &m.author, on, now).await?;
        self.audit(
            w.conn(),
            None,
            &format!("chat:{}", m.author),
            if on { "away_on" } else { "away_off" },
            None,
            None,
            "",
        )
        .await?;
        let text = if on {
            t!(self.texts(), "away.on")
        } else {
            t!(self.texts(), "away.off")
        };
        outbox::push(w.conn(), &self.reply_action(m, text), now).await?;
        w.commit().await?;
        Ok(())
    }

    async fn audit_report(&self, m: &IncomingMessage, id: RequestId) -> EngineResult<()> {
        let mut conn = self.store().read().await?;
        if requests::get(&mut conn, id).await?.is_none() {
            return Err(EngineError::User(t!(
                self.texts(),
                "request.unknown",
                id = id
            )));
        }
        let events = audit::for_request(&mut conn, id).await?;
        let check = audit::verify_request(&mut conn, id).await?;
        drop(conn);
        let mut lines = vec![t!(
            self.texts(),
            "audit.header",
            id = id,
            count = events.len()
        )];
        for e in &events {
            lines.push(format!(
                "{} {} {} {}{}",
                e.at.format("%Y-%m-%d %H:%M:%S"),
                e.actor,
                e.action,
                match (&e.before, &e.after) {
                    (Some(b), Some(a)) => format!("{b} → {a} "),
                    (None, Some(a)) => format!("→ {a} "),
                    _ => String::new(),
                },
                shorten(&e.detail, 160)
            ));
        }
        lines.push(match &check.broken_at {
            None => t!(self.texts(), "audit.intact"),
            Some((row, why)) => t!(self.texts(), "audit.broken", row = row, why = why),
        });
        let mut text = lines.join("\n");
        if text.chars().count() > 1900 {
            text = shorten(&text, 1900);
        }
        self.reply_now(m, text).await;
        Ok(())
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
