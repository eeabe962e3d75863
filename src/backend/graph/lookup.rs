//! Reads answered together: users (through `userPrincipalName in (…)` lists of at most 15),
//! deciders' role assignments and `subscribedSkus` go out as items of `$batch` calls, 20
//! items a call, so 100 users, a decider's roles and the seats take one HTTP call.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::directory::{users_request, IN_FILTER_LIMIT};
use super::GraphTenant;
use crate::backend::{BackendError, DirectoryUser, ErrorKind, Found, Lookup};
use crate::domain::Upn;

/// A user a list query did not return: Graph's words for a missing user.
fn not_found(upn: &Upn) -> BackendError {
    BackendError::new(
        ErrorKind::UserNotFound,
        format!(
            "Resource '{upn}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

impl GraphTenant {
    /// Answers a lookup with as few `$batch` calls as its items need.
    pub(crate) async fn look_up_batched(&self, lookup: &Lookup) -> Found {
        let mut requests = Vec::new();
        let seats_item = lookup.seats.then(|| {
            requests.push(GraphTenant::catalogue_request());
            requests.len() - 1
        });
        let role_items: Vec<Option<usize>> = lookup
            .fresh_roles
            .iter()
            .map(|upn| {
                self.roles_request(upn).map(|r| {
                    requests.push(r);
                    requests.len() - 1
                })
            })
            .collect();
        let mut seen = HashSet::new();
        let unique: Vec<&Upn> = lookup
            .users
            .iter()
            .filter(|u| seen.insert(u.as_str()))
            .collect();
        let first_user_item = requests.len();
        for chunk in unique.chunks(IN_FILTER_LIMIT) {
            requests.push(users_request(chunk));
        }
        let mut replies: Vec<Option<Result<Value, BackendError>>> = if requests.is_empty() {
            Vec::new()
        } else {
            self.client
                .batch(&requests, true)
                .await
                .into_iter()
                .map(Some)
                .collect()
        };
        let mut take = |i: usize| {
            replies[i].take().unwrap_or_else(|| {
                Err(BackendError::new(
                    ErrorKind::Transient,
                    "Graph's batch answer left this request out",
                ))
            })
        };

        // The seats first: users resolve their licences through the catalogue they refresh.
        let seats = match seats_item {
            None => None,
            Some(i) => Some(match take(i) {
                Ok(page) => match self.catalogue_from(page).await {
                    Ok(catalogue) => self.seats_in(&catalogue),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            }),
        };
        let mut roles = Vec::with_capacity(role_items.len());
        for (upn, item) in lookup.fresh_roles.iter().zip(role_items) {
            roles.push(match item.map(&mut take) {
                Some(Ok(page)) => self.roles_from(upn, page).await,
                Some(Err(e)) => Err(e),
                // The object id is not known yet: a read of its own.
                None => self.read_roles(upn).await,
            });
        }
        let mut by_upn: HashMap<String, Result<DirectoryUser, BackendError>> = HashMap::new();
        for (k, chunk) in unique.chunks(IN_FILTER_LIMIT).enumerate() {
            let listed = match take(first_user_item + k) {
                Ok(page) => self.users_from_list(page).await,
                Err(e) => Err(e),
            };
            match listed {
                Ok(list) => by_upn.extend(list),
                Err(e) => {
                    for upn in chunk {
                        by_upn.insert(upn.as_str().to_string(), Err(e.clone()));
                    }
                }
            }
        }
        let users = lookup
            .users
            .iter()
            .map(|upn| {
                by_upn
                    .get(upn.as_str())
                    .cloned()
                    .unwrap_or_else(|| Err(not_found(upn)))
            })
            .collect();
        Found {
            users,
            roles,
            seats,
        }
    }
}
