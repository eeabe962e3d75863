//! `!pro assign`: an approver asks for the licence to be given to named people.

use super::Intake;
use crate::command::Target;
use crate::domain::{RequestKind, Upn};
use crate::engine::directory::left_out;
use crate::engine::error::{EngineError, EngineResult};
use crate::engine::links::Identity;
use crate::engine::opening::Opened;
use crate::engine::ports::{BackendError, DirectoryUser, IncomingMessage, Lookup};
use crate::engine::requests::{Approval, NewWork};
use crate::store::{requests, stages};
use crate::t;

impl Intake {
    pub(super) async fn assign(
        &self,
        m: &IncomingMessage,
        targets: Vec<Target>,
    ) -> EngineResult<()> {
        let (a, roles) = self.directory.issuer_roles(m).await?;
        let mut works = Vec::new();
        let mut lines = Vec::new();
        let resolved = self.resolve_targets(&targets).await?;
        // Every target and the seats in one lookup: a backend that batches sends it as one
        // call rather than one per person. The seats are planned with the worker held off.
        let planning = self.opening.seat_planning().await;
        let found = self
            .directory
            .tenant
            .look_up(&Lookup {
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
            let looked_up = users.next().unwrap_or_else(|| Err(left_out()));
            match self.assignable(&upn, looked_up).await? {
                Ok(user) => {
                    let mut work = NewWork::licence(RequestKind::Assign, user, None);
                    work.term = self.core.cfg().max_term.map(|t| (t, None));
                    works.push(work)
                }
                Err(text) => lines.push(text),
            }
        }
        if !works.is_empty() {
            let seats = self.directory.found_seats(found.seats).await?;
            let created = self
                .opening
                .open_requests_planned(
                    &planning,
                    m,
                    Some(Identity::of_approver(&a)),
                    works,
                    Opened {
                        approval: Approval::ByIssuer(&a, &roles),
                        enforce_limit: false,
                        seats,
                        answer: None,
                    },
                )
                .await?;
            drop(planning);
            let mut conn = self.core.store().read().await?;
            for r in &created {
                let all = stages::for_request(&mut conn, r.id).await?;
                lines.push(self.created_text(r, &all));
            }
        }
        self.reply_now(m, lines.join("\n")).await;
        Ok(())
    }

    /// Each target resolved to a UPN, or the answer why not; a person named twice is kept
    /// once, where first named.
    async fn resolve_targets(&self, targets: &[Target]) -> EngineResult<Vec<Result<Upn, String>>> {
        let mut resolved = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for t in targets {
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
        Ok(resolved)
    }

    /// The directory user `upn` if the licence may be assigned to them: found, allowed by
    /// policy and without an open request; else the answer that says why not.
    async fn assignable(
        &self,
        upn: &Upn,
        looked_up: Result<DirectoryUser, BackendError>,
    ) -> EngineResult<Result<DirectoryUser, String>> {
        let user = match self.directory.directory_answer(upn, looked_up) {
            Ok(u) => u,
            Err(EngineError::User(text)) => {
                return Ok(Err(text));
            }
            Err(e) => return Err(e),
        };
        if let Err(text) = self.directory.licence_policy(&user).await {
            return Ok(Err(text));
        }
        let open = {
            let mut conn = self.core.store().read().await?;
            requests::open_for_target(&mut conn, upn).await?
        };
        if let Some(r) = open {
            return Ok(Err(t!(
                self.core.texts(),
                "policy.already_open",
                upn = upn,
                id = r.id
            )));
        }
        Ok(Ok(user))
    }
}
