//! What the engine reads from the directory on behalf of every use case: approvers and the
//! roles they hold now, the seats, directory users, said in chat words when they fail.
//!
//! `Directory` holds the tenant port and the one cache of the engine (approvers' object ids,
//! which never change); the worker reaches the tenant through it too, so the port is held
//! in one place.

use std::collections::HashMap;
use std::sync::Arc;

use super::config::Approver;
use super::core::Core;
use super::error::{EngineError, EngineResult};
use super::ports::{
    BackendError, DirectoryUser, ErrorKind, IncomingMessage, LicenceSource, Lookup, Seats, Tenant,
};
use crate::domain::{RoleSet, Upn};
use crate::t;

/// An approver and the roles they hold now.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub approver: Approver,
    pub roles: RoleSet,
}

/// The tenant port with the reads the use cases share.
pub(super) struct Directory {
    core: Arc<Core>,
    /// The directory, roles, seats and licences.
    pub(super) tenant: Arc<dyn Tenant>,
    /// Approvers' directory object ids, once read (they never change).
    approver_ids: std::sync::Mutex<HashMap<Upn, String>>,
    /// The licensing group's display name, once read (group mode).
    managed_name: std::sync::Mutex<Option<String>>,
}

impl Directory {
    pub(super) fn new(core: Arc<Core>, tenant: Arc<dyn Tenant>) -> Directory {
        Directory {
            core,
            tenant,
            approver_ids: std::sync::Mutex::new(HashMap::new()),
            managed_name: std::sync::Mutex::new(None),
        }
    }

    /// The approvers with their current directory roles. A role lookup that fails leaves the
    /// approver out (a failure never grants a role).
    pub(super) async fn candidates(&self, include_away: bool) -> EngineResult<Vec<Candidate>> {
        let away = {
            let mut conn = self.core.store().read().await?;
            crate::store::approvers::away(&mut conn).await?
        };
        let asked: Vec<&Approver> = self
            .core
            .cfg()
            .approvers
            .iter()
            .filter(|a| include_away || !away.contains(&a.chat_user))
            .collect();
        // Read together, not one after another: with the roles not cached (a bot just
        // started, or `role_cache_ttl` after the last read) each is a call to the directory,
        // and the request waits for all of them.
        let read =
            futures_util::future::join_all(asked.iter().map(|a| self.tenant.roles(&a.upn))).await;
        let mut out = Vec::new();
        for (a, roles) in asked.into_iter().zip(read) {
            match roles {
                Ok(roles) => out.push(Candidate {
                    approver: a.clone(),
                    roles,
                }),
                Err(e) => {
                    tracing::warn!(approver = %a.chat_user, error = %e, "could not read an approver's roles; leaving them out of routing")
                }
            }
        }
        Ok(out)
    }

    /// Reads the seats, or says in chat why it cannot.
    pub(super) async fn seats_or_user_error(&self) -> EngineResult<Seats> {
        let read = self.tenant.seats().await;
        self.seats_answer(read)
    }

    /// The seats a lookup read (read now when it left them out), their failure said in chat
    /// words.
    pub(super) async fn found_seats(
        &self,
        found: Option<Result<Seats, BackendError>>,
    ) -> EngineResult<Seats> {
        match found {
            Some(read) => self.seats_answer(read),
            None => self.seats_or_user_error().await,
        }
    }

    /// A read of the seats, its failure said in chat words.
    fn seats_answer(&self, read: Result<Seats, BackendError>) -> EngineResult<Seats> {
        read.map_err(|e| {
            tracing::warn!(error = %e, "could not read seats");
            EngineError::User(t!(self.core.texts(), "backend.seats_unavailable"))
        })
    }

    /// A directory user and the seats, in one lookup (one call to a backend that batches),
    /// each failure said in chat words: the user's first.
    pub(super) async fn user_and_seats(&self, upn: &Upn) -> EngineResult<(DirectoryUser, Seats)> {
        let found = self
            .tenant
            .look_up(&Lookup {
                users: vec![upn.clone()],
                fresh_roles: Vec::new(),
                seats: true,
            })
            .await;
        let looked_up = found
            .users
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(left_out()));
        let user = self.directory_answer(upn, looked_up)?;
        Ok((user, self.found_seats(found.seats).await?))
    }

    /// An approver's directory object id, read from the directory once and remembered.
    pub(super) async fn approver_object_id(&self, upn: &Upn) -> Result<String, BackendError> {
        let known = self
            .approver_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(upn)
            .cloned();
        if let Some(id) = known {
            return Ok(id);
        }
        let id = self.tenant.object_id(upn).await?;
        self.approver_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(upn.clone(), id.clone());
        Ok(id)
    }

    /// A directory user, or why not in chat words.
    pub(super) async fn directory_user(&self, upn: &Upn) -> EngineResult<DirectoryUser> {
        let looked_up = self.tenant.user(upn).await;
        self.directory_answer(upn, looked_up)
    }

    /// The shared context.
    pub(super) fn core(&self) -> &Core {
        &self.core
    }

    /// The licensing group's display name (group mode), read once; its id while it cannot
    /// be read.
    pub(super) async fn managed_group_name(&self) -> String {
        let Some(id) = self.core.cfg().licensing.group() else {
            return String::new();
        };
        if let Some(name) = self.managed_name.lock().ok().and_then(|n| n.clone()) {
            return name;
        }
        match self.tenant.licensing_group(id).await {
            Ok(g) => {
                if let Ok(mut name) = self.managed_name.lock() {
                    *name = Some(g.display_name.clone());
                }
                g.display_name
            }
            Err(e) => {
                tracing::warn!(group = id, error = %e, "could not read the licensing group's name");
                id.to_string()
            }
        }
    }

    /// The groups the user's managed licence is inherited from, named for people with their
    /// owners (`None` when it is not inherited): only leaving such a group takes the licence
    /// away. A group that cannot be read is named by its id (and the failure logged).
    pub(super) async fn inherited_from(&self, user: &DirectoryUser) -> Option<String> {
        self.name_groups(user, None).await
    }

    /// As [`Directory::inherited_from`], leaving out the licensing group of group mode: the
    /// groups whose licence the bot cannot take away (only their owners can).
    pub(super) async fn inherited_elsewhere(&self, user: &DirectoryUser) -> Option<String> {
        self.name_groups(user, self.core.cfg().licensing.group())
            .await
    }

    /// The groups (but `skip`) the user's managed licence is inherited from, named.
    async fn name_groups(&self, user: &DirectoryUser, skip: Option<&str>) -> Option<String> {
        let licence = user.licence(&self.core.cfg().sku_part_number)?;
        let mut named = Vec::new();
        let groups = licence
            .groups()
            .filter(|g| skip.is_none_or(|s| !s.eq_ignore_ascii_case(g)));
        for id in groups {
            named.push(match self.tenant.group(id).await {
                Ok(g) if g.owners.is_empty() => {
                    t!(
                        self.core.texts(),
                        "group.named_no_owners",
                        name = g.display_name
                    )
                }
                Ok(g) => t!(
                    self.core.texts(),
                    "group.named",
                    name = g.display_name,
                    owners = g.owners.join(", ")
                ),
                Err(e) => {
                    tracing::warn!(group = id, error = %e, "could not read a licensing group");
                    id.to_string()
                }
            });
        }
        (!named.is_empty()).then(|| named.join("; "))
    }

    /// Checks that a directory user may get a licence, the error being the chat answer: the
    /// licence policy, after a Pro licence inherited from a group (named with its owners).
    pub(super) async fn licence_policy(&self, user: &DirectoryUser) -> Result<(), String> {
        if let Some(groups) = self.inherited_from(user).await {
            return Err(t!(
                self.core.texts(),
                "policy.already_pro_group",
                upn = user.upn,
                groups = groups
            ));
        }
        self.core.licence_policy(user)
    }

    /// One line on the Power BI Pro a user has now and where it comes from: assigned
    /// directly, inherited from groups (named with their owners), both, or with another
    /// licence (E5); or that they have none.
    pub(super) async fn licence_line(&self, user: &DirectoryUser) -> String {
        let texts = self.core.texts();
        let sku = &self.core.cfg().sku_part_number;
        let Some(licence) = user.licence(sku) else {
            return match user.pro_from() {
                Some(l) => t!(texts, "status.licence_bundle", sku = l.sku_part_number),
                None => t!(texts, "status.licence_none"),
            };
        };
        let direct = licence.sources.contains(&LicenceSource::Direct);
        match self.inherited_from(user).await {
            None => t!(texts, "status.licence_direct", sku = sku),
            Some(groups) if direct => t!(texts, "status.licence_both", sku = sku, groups = groups),
            Some(groups) => t!(texts, "status.licence_group", sku = sku, groups = groups),
        }
    }

    /// A directory lookup's result, its failure said in chat words.
    pub(super) fn directory_answer(
        &self,
        upn: &Upn,
        looked_up: Result<DirectoryUser, BackendError>,
    ) -> EngineResult<DirectoryUser> {
        looked_up.map_err(|e| match e.kind {
            ErrorKind::UserNotFound => {
                EngineError::User(t!(self.core.texts(), "directory.not_found", upn = upn))
            }
            _ => {
                tracing::warn!(error = %e, "directory lookup failed");
                EngineError::User(t!(self.core.texts(), "backend.directory_unavailable"))
            }
        })
    }

    /// The approver who sent `m` and the roles they hold now; refused for anyone else.
    pub(super) async fn issuer_roles(
        &self,
        m: &IncomingMessage,
    ) -> EngineResult<(Approver, RoleSet)> {
        let a = self
            .core
            .cfg()
            .approver(&m.author)
            .cloned()
            .ok_or_else(|| {
                EngineError::User(t!(
                    self.core.texts(),
                    "command.approvers_only",
                    command = "-"
                ))
            })?;
        let roles = self.tenant.roles(&a.upn).await.map_err(|e| {
            tracing::warn!(error = %e, "role lookup failed");
            EngineError::User(t!(self.core.texts(), "backend.roles_unavailable"))
        })?;
        Ok((a, roles))
    }
}

/// The error for a user a lookup's answer left out (a backend that broke the port's
/// contract of one result per user asked).
pub(super) fn left_out() -> BackendError {
    BackendError::new(ErrorKind::Transient, "the lookup left this user out")
}
