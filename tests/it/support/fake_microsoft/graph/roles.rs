//! `GET /roleManagement/directory/roleAssignments`, with the one filter the bot needs
//! (`principalId eq '…'`).

use serde_json::{json, Value};

use super::super::answer::{graph_error, Answer};
use super::super::State;
use super::Query;

/// The role assignments, all of them or one principal's.
pub(super) fn role_assignments(state: &State, q: &Query, crid: &str) -> Answer {
    let principal = match q.get("$filter") {
        None => None,
        Some(f) => {
            let parsed = f
                .strip_prefix("principalId eq '")
                .and_then(|r| r.strip_suffix('\''));
            match parsed {
                Some(p) => Some(p.to_string()),
                None => return graph_error(400, "Request_UnsupportedQuery", &format!("Unsupported or invalid query filter clause specified for property 'principalId' of resource 'UnifiedRoleAssignment': {f}"), crid),
            }
        }
    };
    let value: Vec<Value> = state
        .role_assignments
        .iter()
        .filter(|a| principal.as_deref().is_none_or(|p| a.principal_id.eq_ignore_ascii_case(p)))
        .map(|a| json!({"id": format!("{}-{}", a.role_definition_id, a.principal_id), "principalId": a.principal_id,
            "resourceScope": a.directory_scope_id, "directoryScopeId": a.directory_scope_id, "roleDefinitionId": a.role_definition_id}))
        .collect();
    Answer::json(
        200,
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignments", "value": value}),
    )
}
