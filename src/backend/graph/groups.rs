//! Groups, as far as the bot reads them: a licence inherited from a group can only be taken
//! away by taking the person out of it, so the bot names the group and its owners
//! (`GET /groups/{id}?$select=id,displayName`, `GET /groups/{id}/owners`; Graph's group
//! resource and its owners relationship). An owner is a user (named by UPN) or a service
//! principal (named by display name).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;

use super::GraphTenant;
use crate::backend::{BackendError, ErrorKind, GroupInfo};

/// What stays as it is in a group id's path segment: a GUID's characters.
const GUID: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-');

/// `/groups/{id}` with the id encoded for a path segment (an object id is a GUID; anything
/// else still cannot leave the segment).
fn group_path(id: &str) -> String {
    format!("/groups/{}", utf8_percent_encode(id, GUID))
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
