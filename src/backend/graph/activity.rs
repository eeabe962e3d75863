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
//! Reading everyone's sign-ins is slow (Graph allows 10 requests a minute with
//! `signInActivity`), so one read serves for [`SNAPSHOT_TTL`]: a purchase stage shows sign-ins
//! at most that old, which does not change who has been away for weeks.
//!
//! Both need Entra ID P1 and AuditLog.Read.All. Graph's 403 (no P1:
//! `Authentication_RequestFromNonPremiumTenantOrB2CTenant`; no permission:
//! `Authorization_RequestDenied`) makes the figure unknown, said with Graph's words, never a
//! failure.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::GraphTenant;
use crate::backend::{Activity, BackendError, ErrorKind, UserActivity};
use crate::domain::Upn;

/// The Power BI Service application (the resource people sign in to).
pub(crate) const POWER_BI_SERVICE: &str = "00000009-0000-0000-c000-000000000000";
/// Pages of Power BI sign-ins read at most (1000 each).
const MOST_SIGN_IN_PAGES: usize = 50;

/// How long one read of everyone's sign-ins serves.
pub(crate) const SNAPSHOT_TTL: Duration = Duration::from_secs(3600);

/// Everyone's sign-ins as last read: by lower-case UPN, or why they are unknown.
pub(crate) struct Snapshot {
    read_at: Instant,
    /// Power BI's sign-ins were read from this time on.
    since: DateTime<Utc>,
    general: Result<HashMap<String, Option<DateTime<Utc>>>, String>,
    power_bi: Result<HashMap<String, DateTime<Utc>>, String>,
}

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
    /// The last sign-ins of `upns` (Power BI's since `since`), from a read at most
    /// [`SNAPSHOT_TTL`] old that reaches back to `since`.
    pub(crate) async fn read_activity(
        &self,
        upns: &[Upn],
        since: DateTime<Utc>,
    ) -> Result<Activity, BackendError> {
        let mut cached = self.activity.lock().await;
        let fresh = cached
            .as_ref()
            .is_some_and(|s| s.read_at.elapsed() < SNAPSHOT_TTL && s.since <= since);
        if !fresh {
            *cached = Some(self.read_snapshot(since).await?);
        }
        let Some(snapshot) = cached.as_ref() else {
            return Ok(Activity::default());
        };
        let mut out = Activity {
            sign_in_unknown: snapshot.general.as_ref().err().cloned(),
            power_bi_unknown: snapshot.power_bi.as_ref().err().cloned(),
            ..Activity::default()
        };
        for upn in upns {
            let k = key(upn.as_str());
            out.users.push(UserActivity {
                upn: upn.clone(),
                last_sign_in: snapshot
                    .general
                    .as_ref()
                    .ok()
                    .and_then(|g| g.get(&k).copied().flatten()),
                last_power_bi: snapshot
                    .power_bi
                    .as_ref()
                    .ok()
                    .and_then(|p| p.get(&k).copied())
                    .filter(|at| *at >= since),
            });
        }
        Ok(out)
    }

    /// Reads everyone's sign-ins now; what is not known (no P1, no permission) is said, an
    /// outage is an error.
    async fn read_snapshot(&self, since: DateTime<Utc>) -> Result<Snapshot, BackendError> {
        let general = match self.sign_in_activity().await {
            Ok(found) => Ok(found),
            Err(e) if e.kind == ErrorKind::Forbidden => Err(e.message),
            Err(e) => return Err(e),
        };
        let power_bi = match self.power_bi_sign_ins(since).await {
            Ok(found) => Ok(found),
            // Anything but an outage leaves the figure unknown, said with Graph's words.
            Err(e) if !e.is_transient() => Err(e.message),
            Err(e) => return Err(e),
        };
        Ok(Snapshot {
            read_at: Instant::now(),
            since,
            general,
            power_bi,
        })
    }

    /// Every user's last sign-in, by lower-case UPN.
    async fn sign_in_activity(
        &self,
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
                found.insert(k, last_sign_in(&user["signInActivity"]));
            }
            match page.get("@odata.nextLink").and_then(Value::as_str) {
                Some(next) => page = self.client.get_next(next).await?,
                None => return Ok(found),
            }
        }
    }

    /// Everyone's latest sign-in to the Power BI service since `since`, by lower-case UPN.
    async fn power_bi_sign_ins(
        &self,
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
                if let Some(at) = when(&s["createdDateTime"]) {
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
