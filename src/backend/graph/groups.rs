//! Groups: a licence inherited from a group can only be taken away by taking the person out
//! of it, so the bot names the group and its owners (`GET /groups/{id}?$select=id,displayName`,
//! `GET /groups/{id}/owners`; an owner is a user, named by UPN, or a service principal, named
//! by display name). In group mode the bot licenses through one group:
//! - it checks the group first (`GET /groups/{id}?$select=…,groupTypes,mailEnabled,…`);
//! - it adds a member with `POST /groups/{id}/members/$ref` and removes one with
//!   `DELETE /groups/{id}/members/{userId}/$ref`: built in [`member_ref_path`] only, because
//!   the same URL without `/$ref` deletes the user itself;
//! - both are idempotent as Microsoft's answers allow: adding a member Graph says already
//!   exists, or removing one it says is not there (404, or 400 naming the missing
//!   reference), is success (matched on the message: `Request_BadRequest` is shared by
//!   every malformed request);
//! - `POST /users/{id}/reprocessLicenseAssignment` has Entra ID try a failed group
//!   assignment again.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::directory::{user_key, user_path};
use super::GraphTenant;
use crate::backend::{BackendError, DirectoryUser, ErrorKind, GroupInfo, LicensingGroup};
use crate::domain::GroupFlags;
use crate::domain::Upn;

/// What stays as it is in a group id's path segment: a GUID's characters.
const GUID: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-');

/// `/groups/{id}` with the id encoded for a path segment (an object id is a GUID; anything
/// else still cannot leave the segment).
fn group_path(id: &str) -> String {
    format!("/groups/{}", utf8_percent_encode(id, GUID))
}

/// `/groups/{group}/members/{user}/$ref`: the one place the removal URL is built. Without
/// the `/$ref` the same DELETE removes the user from the directory.
fn member_ref_path(group: &str, user_id: &str) -> String {
    format!(
        "{}/members/{}/$ref",
        group_path(group),
        utf8_percent_encode(user_id, GUID)
    )
}

/// The properties the group check reads (`assignedLicenses` only comes on `$select`).
const LICENSING_SELECT: &str = "id,displayName,groupTypes,securityEnabled,mailEnabled,\
                                isAssignableToRole,onPremisesSyncEnabled,assignedLicenses";

/// The group as the check reads it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphLicensingGroup {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    group_types: Vec<String>,
    #[serde(default)]
    security_enabled: Option<bool>,
    #[serde(default)]
    mail_enabled: Option<bool>,
    #[serde(default)]
    is_assignable_to_role: Option<bool>,
    #[serde(default)]
    on_premises_sync_enabled: Option<bool>,
    #[serde(default)]
    assigned_licenses: Vec<GroupLicence>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupLicence {
    sku_id: String,
}

/// Whether a failed membership call on `group` means the membership already is as asked:
/// adding one Graph says exists, removing one it says is not there (a 404 naming the group
/// itself is a missing group, not a missing member).
fn already_so(adding: bool, group: &str, e: &BackendError) -> bool {
    let message = e.message.to_ascii_lowercase();
    if adding {
        e.kind == ErrorKind::Invalid && message.contains("added object references already exist")
    } else {
        (e.kind == ErrorKind::UserNotFound && !message.contains(&group.to_ascii_lowercase()))
            || (e.kind == ErrorKind::Invalid
                && message.contains("removed object references do not exist"))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphGroup {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Owner {
    #[serde(default)]
    user_principal_name: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Owners {
    #[serde(default)]
    value: Vec<Owner>,
}

fn unexpected(what: &str, e: serde_json::Error) -> BackendError {
    BackendError::new(
        ErrorKind::Transient,
        format!("Graph sent {what} in an unexpected shape: {e}"),
    )
}

impl Owner {
    /// How the owner is named to people: the UPN, else the display name.
    fn named(self) -> Option<String> {
        self.user_principal_name
            .filter(|u| !u.trim().is_empty())
            .or(self.display_name)
            .filter(|n| !n.trim().is_empty())
    }
}

impl GraphTenant {
    /// The group's name and its owners (the first page of owners: a group has few).
    pub(crate) async fn read_group(&self, id: &str) -> Result<GroupInfo, BackendError> {
        let path = group_path(id);
        let raw = self
            .client
            .get(&path, &[("$select", "id,displayName")])
            .await?;
        let group: GraphGroup =
            serde_json::from_value(raw).map_err(|e| unexpected("a group", e))?;
        let raw = self
            .client
            .get(
                &format!("{path}/owners"),
                &[("$select", "id,userPrincipalName,displayName")],
            )
            .await?;
        let owners: Owners =
            serde_json::from_value(raw).map_err(|e| unexpected("a group's owners", e))?;
        Ok(GroupInfo {
            display_name: group.display_name.unwrap_or_else(|| group.id.clone()),
            id: group.id,
            owners: owners.value.into_iter().filter_map(Owner::named).collect(),
        })
    }
}

impl GraphTenant {
    /// The group as the check before licensing through it needs it; its SKUs by part
    /// number (a SKU the tenant does not list keeps its id).
    pub(crate) async fn read_licensing_group(
        &self,
        id: &str,
    ) -> Result<LicensingGroup, BackendError> {
        let raw = self
            .client
            .get(&group_path(id), &[("$select", LICENSING_SELECT)])
            .await?;
        let g: GraphLicensingGroup =
            serde_json::from_value(raw).map_err(|e| unexpected("a group", e))?;
        let catalogue = self.catalogue().await?;
        let has = |t: &str| g.group_types.iter().any(|x| x.eq_ignore_ascii_case(t));
        Ok(LicensingGroup {
            display_name: g.display_name.clone().unwrap_or_else(|| g.id.clone()),
            flags: GroupFlags {
                dynamic: has("DynamicMembership"),
                unified: has("Unified"),
                mail_enabled: g.mail_enabled.unwrap_or(false),
                security_enabled: g.security_enabled.unwrap_or(false),
                role_assignable: g.is_assignable_to_role.unwrap_or(false),
                synced: g.on_premises_sync_enabled.unwrap_or(false),
            },
            skus: g
                .assigned_licenses
                .iter()
                .map(|l| {
                    catalogue
                        .by_id(&l.sku_id)
                        .map_or_else(|| l.sku_id.clone(), |s| s.sku_part_number.clone())
                })
                .collect(),
            id: g.id,
        })
    }

    /// Adds the user to the group; already a member is success.
    pub(crate) async fn join(&self, group: &str, user: &DirectoryUser) -> Result<(), BackendError> {
        let id = self.member_id(user).await?;
        let body = json!({ "@odata.id": format!("{}/directoryObjects/{id}", self.client.base()) });
        match self
            .client
            .write(
                Method::POST,
                &format!("{}/members/$ref", group_path(group)),
                &body,
            )
            .await
        {
            Err(e) if !already_so(true, group, &e) => Err(e),
            _ => Ok(()),
        }
    }

    /// Takes the user out of the group; not a member is success.
    pub(crate) async fn leave(
        &self,
        group: &str,
        user: &DirectoryUser,
    ) -> Result<(), BackendError> {
        let id = self.member_id(user).await?;
        match self
            .client
            .send_empty(Method::DELETE, &member_ref_path(group, &id))
            .await
        {
            Err(e) if !already_so(false, group, &e) => Err(e),
            _ => Ok(()),
        }
    }

    /// `POST /users/{id}/reprocessLicenseAssignment` (no body; 200 with the user).
    pub(crate) async fn reprocess_licences(
        &self,
        user: &DirectoryUser,
    ) -> Result<(), BackendError> {
        let path = format!("{}/reprocessLicenseAssignment", user_path(user_key(user)));
        self.client
            .send_empty(Method::POST, &path)
            .await
            .map(|_| ())
    }

    /// The UPNs of the group's user members (`GET /groups/{id}/members`, 999 a page, every
    /// page; members that are no users, such as devices, have no UPN and are left out).
    pub(crate) async fn list_members(&self, group: &str) -> Result<Vec<Upn>, BackendError> {
        let mut page = self
            .client
            .get(
                &format!("{}/members", group_path(group)),
                &[("$select", "id,userPrincipalName"), ("$top", "999")],
            )
            .await?;
        let mut out = Vec::new();
        loop {
            let Some(items) = page["value"].as_array() else {
                return Err(BackendError::new(
                    ErrorKind::Transient,
                    "Graph sent a member list without a `value` array",
                ));
            };
            for item in items {
                if let Some(upn) = item["userPrincipalName"].as_str() {
                    match Upn::parse(upn) {
                        Ok(u) => out.push(u),
                        Err(e) => {
                            tracing::warn!(upn, error = %e.0, "a group member's UPN does not parse; left out")
                        }
                    }
                }
            }
            match page
                .get("@odata.nextLink")
                .and_then(serde_json::Value::as_str)
            {
                Some(next) => page = self.client.get_next(next).await?,
                None => return Ok(out),
            }
        }
    }

    /// The user's object id: a member reference names the object, never a UPN.
    async fn member_id(&self, user: &DirectoryUser) -> Result<String, BackendError> {
        if !user.id.is_empty() {
            return Ok(user.id.clone());
        }
        self.user_object_id(&user.upn).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_path_keeps_a_guid_and_encodes_anything_else() {
        assert_eq!(
            group_path("1132b215-826f-42a9-8cfe-1643d19d17fd"),
            "/groups/1132b215-826f-42a9-8cfe-1643d19d17fd"
        );
        assert_eq!(group_path("a/../users"), "/groups/a%2F%2E%2E%2Fusers");
    }

    #[test]
    fn a_member_is_removed_by_its_reference_never_the_user_itself() {
        assert_eq!(
            member_ref_path(
                "1132b215-826f-42a9-8cfe-1643d19d17fd",
                "6e7b768e-07e2-4810-8459-485f84f8f204"
            ),
            "/groups/1132b215-826f-42a9-8cfe-1643d19d17fd/members/6e7b768e-07e2-4810-8459-485f84f8f204/$ref"
        );
        assert!(member_ref_path("g", "a/../b").ends_with("/members/a%2F%2E%2E%2Fb/$ref"));
    }

    #[test]
    fn a_membership_already_as_asked_is_success_and_nothing_else_is() {
        let e = |kind, message: &str| BackendError::new(kind, message);
        let exists = e(
            ErrorKind::Invalid,
            "One or more added object references already exist for the following modified properties: 'members'.",
        );
        let gone = e(
            ErrorKind::Invalid,
            "One or more removed object references do not exist for the following modified properties: 'members'.",
        );
        let not_found = e(ErrorKind::UserNotFound, "Resource 'u1' does not exist");
        let no_group = e(ErrorKind::UserNotFound, "Resource 'G1' does not exist");
        let malformed = e(ErrorKind::Invalid, "Invalid object identifier 'x'.");
        let denied = e(
            ErrorKind::Forbidden,
            "Insufficient privileges to complete the operation.",
        );
        assert!(already_so(true, "g1", &exists));
        assert!(!already_so(true, "g1", &gone));
        assert!(!already_so(true, "g1", &not_found));
        assert!(!already_so(true, "g1", &malformed));
        assert!(already_so(false, "g1", &gone));
        assert!(already_so(false, "g1", &not_found));
        assert!(!already_so(false, "g1", &no_group));
        assert!(!already_so(false, "g1", &exists));
        assert!(!already_so(false, "g1", &malformed));
        assert!(!already_so(false, "g1", &denied));
    }

    #[test]
    fn owners_are_named_by_upn_else_by_display_name() {
        let owners: Owners = serde_json::from_value(serde_json::json!({"value": [
            {"@odata.type": "#microsoft.graph.user", "id": "1",
             "userPrincipalName": "ann@contoso.example", "displayName": "Ann"},
            {"@odata.type": "#microsoft.graph.servicePrincipal", "id": "2",
             "displayName": "Provisioning app"},
            {"@odata.type": "#microsoft.graph.user", "id": "3"}
        ]}))
        .expect("owners");
        let named: Vec<String> = owners.value.into_iter().filter_map(Owner::named).collect();
        assert_eq!(named, vec!["ann@contoso.example", "Provisioning app"]);
    }
}
