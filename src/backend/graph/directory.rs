//! Directory users from `GET /users/{id | userPrincipalName}` with the properties that must
//! be `$select`ed (usageLocation, userType, accountEnabled, assignedLicenses), one at a time
//! or batched, and `PATCH /users/{id}` for the usage location. Held licences come from
//! `assignedLicenses` resolved through the SKU catalogue: a licence grants Power BI Pro when
//! one of its SKU's service plans is BI_AZURE_P2 (or BI_AZURE_P_2_GOV) and the assignment
//! does not list that plan in `disabledPlans`; where each comes from (assigned directly or
//! inherited from a group) is read from `licenseAssignmentStates`, which Graph returns only
//! on `$select` (one entry per SKU and source; `assignedByGroup` null for a direct one).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::client::BatchRequest;
use super::seats::SkuCatalogue;
use super::GraphTenant;
use crate::backend::{
    plan_grants_pro, AssignmentError, AssignmentState as Progress, BackendError, DirectoryUser,
    ErrorKind, GroupState, HeldLicence, LicenceSource,
};
use crate::domain::{CountryCode, Upn, UserType};

/// The properties the bot reads.
pub(crate) const USER_SELECT: &str =
    "id,userPrincipalName,displayName,mail,usageLocation,userType,accountEnabled,assignedLicenses,\
     licenseAssignmentStates";

/// Characters kept as they are in a path segment; everything else (`#` in guest UPNs
/// included, which must be `%23`) is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@')
    .remove(b'\'')
    .remove(b'!');

/// Graph's documented default limit on the values of one `in` filter ("limited to 15
/// expressions in the filter clause by default", Graph's known issues on query parameters).
pub(crate) const IN_FILTER_LIMIT: usize = 15;

/// Characters kept as they are in a query value inside a `$batch` item URL; everything else
/// (spaces, quotes, parentheses, the `#` of guest UPNs) is percent-encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// A query value encoded for a relative URL (a `$batch` item's `url`).
pub(crate) fn query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// An OData string literal: quoted, with a quote inside doubled (UPNs may hold `'`).
fn odata_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `GET /users?$filter=userPrincipalName in (…)` for at most [`IN_FILTER_LIMIT`] UPNs, as a
/// `$batch` item: a filter Graph supports by default on `userPrincipalName`, no advanced
/// query headers needed.
pub(crate) fn users_request(upns: &[&Upn]) -> BatchRequest {
    let list: Vec<String> = upns.iter().map(|u| odata_string(u.as_str())).collect();
    let filter = format!("userPrincipalName in ({})", list.join(","));
    BatchRequest {
        method: "GET",
        url: format!(
            "/users?$filter={}&$select={USER_SELECT}",
            query_value(&filter)
        ),
        body: None,
    }
}

/// `/users/{key}` with the key encoded for a path; a key starting with `$` uses the
/// `users('$…')` form Graph asks for.
pub(crate) fn user_path(key: &str) -> String {
    let encoded = utf8_percent_encode(key, SEGMENT).to_string();
    if key.starts_with('$') {
        format!("/users('{}')", encoded.replace("%24", "$"))
    } else {
        format!("/users/{encoded}")
    }
}

/// A user as Graph sends it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GraphUser {
    pub id: String,
    pub user_principal_name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub usage_location: Option<String>,
    #[serde(default)]
    pub user_type: Option<String>,
    #[serde(default)]
    pub account_enabled: Option<bool>,
    #[serde(default)]
    pub assigned_licenses: Vec<AssignedLicense>,
    /// Absent when Graph did not send it (then every licence counts as direct, as before
    /// the bot read sources).
    #[serde(default)]
    pub license_assignment_states: Option<Vec<AssignmentState>>,
}

/// One of `licenseAssignmentStates`: a SKU from one source, and how its assignment stands.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssignmentState {
    pub sku_id: String,
    #[serde(default)]
    pub assigned_by_group: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

impl AssignmentState {
    /// Where Entra ID's processing stands: `Active` and `ActiveWithError` hold the licence;
    /// `Error` fails with its `error` (`Other` when none is given) and `Disabled` fails as
    /// such; any other state, or none, is not decided yet.
    fn progress(&self) -> Progress {
        let state = self.state.as_deref().unwrap_or_default();
        let is = |word: &str| state.eq_ignore_ascii_case(word);
        if is("Active") || is("ActiveWithError") {
            Progress::Active
        } else if is("Error") {
            let word = self
                .error
                .as_deref()
                .filter(|w| !w.trim().is_empty() && !w.eq_ignore_ascii_case("None"))
                .unwrap_or("Other");
            Progress::Failed(AssignmentError::from_word(word))
        } else if is("Disabled") {
            Progress::Failed(AssignmentError::Other("Disabled".into()))
        } else {
            Progress::Processing
        }
    }
}

/// The group states of a user (entries with `assignedByGroup`), SKUs by part number where
/// the catalogue knows them.
fn group_states(states: Option<&[AssignmentState]>, catalogue: &SkuCatalogue) -> Vec<GroupState> {
    states
        .unwrap_or_default()
        .iter()
        .filter_map(|s| {
            let group = s.assigned_by_group.as_deref().filter(|g| !g.is_empty())?;
            Some(GroupState {
                group: group.to_string(),
                sku_part_number: catalogue
                    .by_id(&s.sku_id)
                    .map_or_else(|| s.sku_id.clone(), |k| k.sku_part_number.clone()),
                state: s.progress(),
            })
        })
        .collect()
}

/// Where a held SKU comes from: each source whose assignment is in force (`Active`, or
/// `ActiveWithError`: held, with a plan in error), GUIDs compared without case. Direct when
/// Graph sent no states, or none in force for this SKU (it is held all the same: it is in
/// `assignedLicenses`).
fn sources(sku_id: &str, states: Option<&[AssignmentState]>) -> Vec<LicenceSource> {
    let in_force = |s: &&AssignmentState| {
        s.sku_id.eq_ignore_ascii_case(sku_id)
            && s.state.as_deref().is_some_and(|st| {
                st.eq_ignore_ascii_case("Active") || st.eq_ignore_ascii_case("ActiveWithError")
            })
    };
    let mut out: Vec<LicenceSource> = Vec::new();
    for s in states.unwrap_or_default().iter().filter(in_force) {
        let source = match s.assigned_by_group.as_deref() {
            Some(group) if !group.is_empty() => LicenceSource::Group(group.to_string()),
            _ => LicenceSource::Direct,
        };
        if !out.contains(&source) {
            out.push(source);
        }
    }
    if out.is_empty() {
        out.push(LicenceSource::Direct);
    }
    out
}

/// One of `assignedLicenses`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssignedLicense {
    pub sku_id: String,
    #[serde(default)]
    pub disabled_plans: Vec<String>,
}

fn unexpected(what: &str, e: impl std::fmt::Display) -> BackendError {
    BackendError::new(
        ErrorKind::Transient,
        format!("Graph sent {what} in an unexpected shape: {e}"),
    )
}

/// The held licence an assignment stands for, or `None` when its SKU is not in the
/// catalogue.
fn held_licence(
    a: &AssignedLicense,
    catalogue: &SkuCatalogue,
    states: Option<&[AssignmentState]>,
) -> Option<HeldLicence> {
    let sku = catalogue.by_id(&a.sku_id)?;
    let grants_pro = sku.service_plans.iter().any(|p| {
        plan_grants_pro(&p.service_plan_name)
            && !a
                .disabled_plans
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&p.service_plan_id))
    });
    Some(HeldLicence {
        sku_part_number: sku.sku_part_number.clone(),
        grants_pro,
        sources: sources(&a.sku_id, states),
    })
}

impl GraphTenant {
    /// Turns Graph's user into the engine's, resolving licences through the catalogue (read
    /// again once when the user holds a SKU it does not know).
    async fn to_directory_user(&self, raw: Value) -> Result<DirectoryUser, BackendError> {
        let user: GraphUser = serde_json::from_value(raw).map_err(|e| unexpected("a user", e))?;
        let mut catalogue = self.catalogue().await?;
        if user
            .assigned_licenses
            .iter()
            .any(|a| catalogue.by_id(&a.sku_id).is_none())
        {
            catalogue = self.load_catalogue().await?;
        }
        // A SKU the tenant does not list (it should not happen) counts as not granting Pro.
        let states = user.license_assignment_states.as_deref();
        let group_states = group_states(states, &catalogue);
        let licences = user
            .assigned_licenses
            .iter()
            .map(|a| {
                held_licence(a, &catalogue, states).unwrap_or_else(|| HeldLicence {
                    sku_part_number: a.sku_id.clone(),
                    grants_pro: false,
                    sources: sources(&a.sku_id, states),
                })
            })
            .collect();
        let upn = Upn::parse(&user.user_principal_name).map_err(|e| unexpected("a UPN", e.0))?;
        let usage_location = match user.usage_location.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(code) => {
                Some(CountryCode::parse(code).map_err(|e| unexpected("a usage location", e.0))?)
            }
        };
        let user_type = match user.user_type.as_deref() {
            Some(t) if t.eq_ignore_ascii_case("Guest") => UserType::Guest,
            _ => UserType::Member,
        };
        self.remember_id(&upn, &user.id);
        Ok(DirectoryUser {
            id: user.id,
            display_name: user
                .display_name
                .or_else(|| user.mail.clone())
                .unwrap_or_else(|| upn.to_string()),
            mail: user.mail.filter(|m| !m.trim().is_empty()),
            upn,
            usage_location,
            user_type,
            account_enabled: user.account_enabled.unwrap_or(true),
            licences,
            group_states,
        })
    }

    pub(crate) fn remember_id(&self, upn: &Upn, id: &str) {
        match self.ids.lock() {
            Ok(mut ids) => {
                ids.insert(upn.clone(), id.to_string());
            }
            Err(_) => tracing::warn!("the user id cache is poisoned; not caching"),
        }
    }

    pub(crate) fn known_id(&self, upn: &Upn) -> Option<String> {
        self.ids.lock().ok().and_then(|ids| ids.get(upn).cloned())
    }

    /// Reads one user by UPN.
    pub(crate) async fn read_user(&self, upn: &Upn) -> Result<DirectoryUser, BackendError> {
        let raw = self
            .client
            .get(&user_path(upn.as_str()), &[("$select", USER_SELECT)])
            .await?;
        self.to_directory_user(raw).await
    }

    /// The users of a list page (`value`), reading further pages, by lower-case UPN.
    pub(crate) async fn users_from_list(
        &self,
        mut page: Value,
    ) -> Result<Vec<(String, Result<DirectoryUser, BackendError>)>, BackendError> {
        let mut out = Vec::new();
        loop {
            let Some(items) = page["value"].as_array().cloned() else {
                return Err(unexpected("a user list", "no `value` array"));
            };
            for raw in items {
                let key = raw["userPrincipalName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                out.push((key, self.to_directory_user(raw).await));
            }
            match page.get("@odata.nextLink").and_then(Value::as_str) {
                Some(next) => page = self.client.get_next(next).await?,
                None => return Ok(out),
            }
        }
    }

    /// Every user holding the managed SKU: `GET /users?$filter=assignedLicenses/any(x:x/skuId
    /// eq {id})` (a filter `assignedLicenses` supports by default), 999 a page, every page.
    pub(crate) async fn list_holders(&self) -> Result<Vec<DirectoryUser>, BackendError> {
        let sku_id = self.managed_sku_id().await?;
        let filter = format!("assignedLicenses/any(x:x/skuId eq {sku_id})");
        let page = self
            .client
            .get(
                "/users",
                &[
                    ("$filter", filter.as_str()),
                    ("$select", USER_SELECT),
                    ("$top", "999"),
                ],
            )
            .await?;
        self.users_from_list(page)
            .await?
            .into_iter()
            .map(|(_, user)| user)
            .collect()
    }

    /// Sets the usage location (`PATCH /users/{id}`, 204).
    pub(crate) async fn write_usage_location(
        &self,
        user: &DirectoryUser,
        country: &CountryCode,
    ) -> Result<(), BackendError> {
        self.client
            .write(
                Method::PATCH,
                &user_path(user_key(user)),
                &json!({ "usageLocation": country.as_str() }),
            )
            .await
            .map(|_| ())
    }
}

/// The key a write uses: the object id when known, else the UPN.
pub(crate) fn user_key(user: &DirectoryUser) -> &str {
    if user.id.is_empty() {
        user.upn.as_str()
    } else {
        &user.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_assignment_is_active_failed_with_its_error_or_not_decided_yet() {
        let state = |state: Option<&str>, error: Option<&str>| AssignmentState {
            sku_id: "s".into(),
            assigned_by_group: Some("g".into()),
            state: state.map(str::to_string),
            error: error.map(str::to_string),
        };
        let cases = [
            (Some("Active"), None, Progress::Active),
            (Some("ActiveWithError"), Some("Other"), Progress::Active),
            (
                Some("Error"),
                Some("CountViolation"),
                Progress::Failed(AssignmentError::CountViolation),
            ),
            (
                Some("error"),
                Some("ProhibitedInUsageLocationViolation"),
                Progress::Failed(AssignmentError::ProhibitedInUsageLocationViolation),
            ),
            (
                Some("Error"),
                Some("Others"),
                Progress::Failed(AssignmentError::Other("Others".into())),
            ),
            (
                Some("Error"),
                None,
                Progress::Failed(AssignmentError::Other("Other".into())),
            ),
            (
                Some("Disabled"),
                None,
                Progress::Failed(AssignmentError::Other("Disabled".into())),
            ),
            (Some("Processing"), None, Progress::Processing),
            (None, None, Progress::Processing),
        ];
        for (s, e, want) in cases {
            assert_eq!(state(s, e).progress(), want, "{s:?} {e:?}");
        }
    }

    #[test]
    fn guest_upns_encode_the_hash() {
        assert_eq!(
            user_path("adelevance_adatum.com#EXT#@contoso.com"),
            "/users/adelevance_adatum.com%23EXT%23@contoso.com"
        );
        assert_eq!(user_path("$x@y.com"), "/users('$x@y.com')");
    }
}
