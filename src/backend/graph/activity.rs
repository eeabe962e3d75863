//! When licence holders last signed in, for reclaiming seats nobody uses before buying more
//! (graph_groups_identity.md §2):
//! - to Microsoft 365 at all: `GET /users?$select=id,userPrincipalName,signInActivity&$top=500`
//!   (500 is the page size Graph allows with `signInActivity`), every page, keeping the users
//!   asked about; the last sign-in is the latest of the successful, interactive and
//!   non-interactive ones, ignoring blanks and Graph's `0001-01-01` placeholder;
//! - to the Power BI service: the sign-in logs, `GET /auditLogs/signIns` filtered on the
//!   Power BI Service application as the resource (`resourceId`, its well-known app id) and
//!   on `createdDateTime` since a time, newest first, every page up to a bound.
//!
//! Both need Entra ID P1 and AuditLog.Read.All. Graph's 403 (no P1:
//! `Authentication_RequestFromNonPremiumTenantOrB2CTenant`; no permission:
//! `Authorization_RequestDenied`) makes the figure unknown, said with Graph's words, never a
//! failure.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::GraphTenant;
use crate::backend::{Activity, BackendError, ErrorKind, UserActivity};
use crate::domain::Upn;

/// The Power BI Service application (the resource people sign in to).
pub(crate) const POWER_BI_SERVICE: &str = "00000009-0000-0000-c000-000000000000";
/// Pages of Power BI sign-ins read at most (1000 each).
const MOST_SIGN_IN_PAGES: usize = 50;

/// A time Graph wrote, unless blank or its `0001-01-01` placeholder.
fn when(v: &Value) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(v.as_str()?)
        .ok()?
        .with_timezone(&Utc);
    (t.timestamp() > 0).then_some(t)
}

/// The latest sign-in `signInActivity` records.
fn last_sign_in(activity: &Value) -> Option<DateTime<Utc>> {
    [
        "lastSuccessfulSignInDateTime",
        "lastSignInDateTime",
        "lastNonInteractiveSignInDateTime",
    ]
    .iter()
    .filter_map(|k| when(&activity[*k]))
    .max()
}

fn key(upn: &str) -> String {
    upn.to_ascii_lowercase()
}

impl GraphTenant {
    /// The last sign-ins of `upns` (Power BI's since `since`).
    pub(crate) async fn read_activity(
        &self,
        upns: &[Upn],
        since: DateTime<Utc>,
    ) -> Result<Activity, BackendError> {
        let wanted: HashMap<String, &Upn> = upns.iter().map(|u| (key(u.as_str()), u)).collect();
        let mut out = Activity::default();
        let general = match self.sign_in_activity(&wanted).await {
            Ok(found) => found,
            Err(e) if e.kind == ErrorKind::Forbidden => {
                out.sign_in_unknown = Some(e.message);
                HashMap::new()
            }
            Err(e) => return Err(e),
        };
        let power_bi = match self.power_bi_sign_ins(&wanted, since).await {
            Ok(found) => found,
            // Anything but an outage leaves the figure unknown, said with Graph's words.
            Err(e) if !e.is_transient() => {
                out.power_bi_unknown = Some(e.message);
                HashMap::new()
            }
            Err(e) => return Err(e),
        };
        for (k, upn) in &wanted {
            out.users.push(UserActivity {
                upn: (*upn).clone(),
                last_sign_in: general.get(k).copied().flatten(),
                last_power_bi: power_bi.get(k).copied(),
            });
        }
        Ok(out)
    }

    /// Every user's `signInActivity`, kept for the users wanted.
    async fn sign_in_activity(
        &self,
        wanted: &HashMap<String, &Upn>,
    ) -> Result<HashMap<String, Option<DateTime<Utc>>>, BackendError> {
        let mut page = self
            .client
            .get(
                "/users",
                &[
                    ("$select", "id,userPrincipalName,signInActivity"),
                    ("$top", "500"),
                ],
            )
            .await?;
        let mut found = HashMap::new();
        loop {
            for user in page["value"].as_array().into_iter().flatten() {
                let k = key(user["userPrincipalName"].as_str().unwrap_or_default());
                if wanted.contains_key(&k) {
                    found.insert(k, last_sign_in(&user["signInActivity"]));
                }
            }
            match page.get("@odata.nextLink").and_then(Value::as_str) {
                Some(next) => page = self.client.get_next(next).await?,
                None => return Ok(found),
            }
        }
    }

    /// The latest sign-in to the Power BI service of each user wanted, since `since`.
    async fn power_bi_sign_ins(
        &self,
        wanted: &HashMap<String, &Upn>,
        since: DateTime<Utc>,
    ) -> Result<HashMap<String, DateTime<Utc>>, BackendError> {
        let filter = format!(
            "resourceId eq '{POWER_BI_SERVICE}' and createdDateTime ge {}",
            since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        let mut page = self
            .client
            .get(
                "/auditLogs/signIns",
                &[
                    ("$filter", filter.as_str()),
                    ("$select", "userPrincipalName,createdDateTime"),
                    ("$top", "1000"),
                ],
            )
            .await?;
        let mut found: HashMap<String, DateTime<Utc>> = HashMap::new();
        for _ in 0..MOST_SIGN_IN_PAGES {
            for s in page["value"].as_array().into_iter().flatten() {
                let k = key(s["userPrincipalName"].as_str().unwrap_or_default());
                if let (true, Some(at)) = (wanted.contains_key(&k), when(&s["createdDateTime"])) {
                    let latest = found.entry(k).or_insert(at);
                    *latest = (*latest).max(at);
                }
            }
            match page.get("@odata.nextLink").and_then(Value::as_str) {
                Some(next) => page = self.client.get_next(next).await?,
                None => return Ok(found),
            }
        }
        Err(BackendError::new(
            ErrorKind::Invalid,
            format!(
                "more than {} Power BI sign-ins since {}; not all were read",
                MOST_SIGN_IN_PAGES * 1000,
                since.format("%Y-%m-%d")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_sign_in_is_the_latest_recorded_and_placeholders_are_none() {
        let activity = serde_json::json!({
            "lastSignInDateTime": "2026-09-01T10:00:00Z",
            "lastNonInteractiveSignInDateTime": "2026-10-02T08:00:00Z",
            "lastSuccessfulSignInDateTime": "0001-01-01T00:00:00Z",
        });
        assert_eq!(
            last_sign_in(&activity).map(|t| t.to_rfc3339()),
            Some("2026-10-02T08:00:00+00:00".to_string())
        );
        let never = serde_json::json!({
            "lastSignInDateTime": null,
            "lastSuccessfulSignInDateTime": "0001-01-01T00:00:00Z",
        });
        assert_eq!(last_sign_in(&never), None);
        assert_eq!(last_sign_in(&Value::Null), None);
    }
}
