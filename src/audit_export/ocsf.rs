//! Audit events as OCSF 1.1.0 events (Open Cybersecurity Schema Framework), all in category
//! 3, Identity & Access Management. Each [`AuditAction`] maps to one class ([`mapping`]
//! matches every action by name, so a new action does not compile until it is mapped here
//! and below):
//!
//! | audit actions | OCSF class | activity |
//! |---|---|---|
//! | `request_state` to `completed` or `failed`, of an assign request | Account Change (3001) | Attach Policy (7): the licence given |
//! | `request_state` to `completed` or `failed`, of a release or revoke request | Account Change (3001) | Detach Policy (8): the licence taken away |
//! | `stage_approved`, `stage_denied`, `denial_reason`, `released_by_holder`, `term_ended`, `reclaim_chosen`, `reclaim_refused`, `self_decision_refused`, `decision_ignored_not_approver`, `decision_refused_missing_role`, `decision_refused_role_lookup`, `decision_refused_seats_unavailable`, `decision_reaction_removed`, `late_decision_reported`, `stage_approval_counted`, `decision_refused_same_approver`, `decision_refused_over_budget` | User Access Management (3005) | Assign Privileges (1) for an assign request, Revoke Privileges (2) for a release or revoke, Other (99) for a purchase: the decision to give or take the licence |
//! | `link_started`, `proof_sent`, `proof_failed`, `link_verified`, `link_attested`, `link_refused`, `link_moved` | Authentication (3002) | Other (99): proving which directory account a chat account is |
//! | `request_created` | Entity Management (3004) | Create (1) |
//! | `unlinked` | Entity Management (3004) | Delete (4) |
//! | `request_state` to any other state or of a purchase request, `stage_completed`, `stage_failed`, `job_queued`, `job_started`, `job_waiting`, `job_retry_scheduled`, `job_unverified`, `escalated`, `reminder_sent`, `approval_reposted`, `away_on`, `away_off`, `seat_needed`, `seat_left_free`, `purchase_awaiting_person`, `purchase_task_posted`, `purchase_task_reminded`, `purchase_reported_done`, `term_reminded`, `reclaim_kept`, `drift_found`, `drift_gone`, `reconciled` | Entity Management (3004) | Update (3): the request, its stages and jobs, the approvers, the licence checks |
//!
//! Why these classes: Account Change reports changes made to a user account, and attaching
//! or detaching a policy is the closest of its activities to a licence assigned or removed;
//! OCSF has no class for an approval, and User Access Management ("management updates to a
//! user's privileges") is where a decision to grant or revoke one belongs (Authorize Session
//! is about privileges given to a logon session, which an approval is not); a link proof is
//! an authentication of the person behind a chat account; the rest is the life of a managed
//! entity, the request.
//!
//! `status_id` is Failure (2) for a denial, a refusal, a failed proof, a failed stage or
//! retried job, and a request that ended denied, expired or failed; Success (1) otherwise.
//! `severity_id` is Medium (3) for someone deciding who may not (their own request, no
//! approver, no role), Low (2) for failures and differences found, Informational (1)
//! otherwise. `time` is the event's time in epoch milliseconds; `actor.user.name` is the
//! audit actor (`chat:<user>`, `system`, `web`, `rule:<name>`); `user.name` is the request's target (or the
//! `upn` in a link event's detail); `unmapped` carries the audit action, request id, states,
//! detail and both chain hashes, so the chain can be checked from the export.

use serde_json::{json, Map, Value};

use crate::domain::{AuditAction, RequestKind, RequestState};
use crate::store::audit::Record;

/// The OCSF version the events follow.
pub const VERSION: &str = "1.1.0";

/// The licence the bot hands out, as the privilege a decision is about.
const PRIVILEGE: &str = "Power BI Pro";

/// The OCSF classes the events map to (all in category 3, Identity & Access Management).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// 3001: changes to a user account.
    AccountChange,
    /// 3002: authentication activity.
    Authentication,
    /// 3004: create, update and delete of a managed entity.
    EntityManagement,
    /// 3005: management updates to a user's privileges.
    UserAccessManagement,
}

impl Class {
    /// `class_uid`.
    pub fn uid(self) -> u32 {
        match self {
            Class::AccountChange => 3001,
            Class::Authentication => 3002,
            Class::EntityManagement => 3004,
            Class::UserAccessManagement => 3005,
        }
    }

    /// `class_name`.
    pub fn name(self) -> &'static str {
        match self {
            Class::AccountChange => "Account Change",
            Class::Authentication => "Authentication",
            Class::EntityManagement => "Entity Management",
            Class::UserAccessManagement => "User Access Management",
        }
    }
}

/// `category_uid` of every class used.
pub const CATEGORY_UID: u32 = 3;

/// What an audit action is, for OCSF: its class follows, and for some the request's kind
/// or end state decides the activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A request's state changed: the licence given or taken when it ends completed or
    /// failed (Account Change), else an update of the request.
    RequestState,
    /// A decision on giving or taking the licence (User Access Management).
    Decision,
    /// Proving a link (Authentication).
    Proof,
    /// A request opened (Entity Management: Create).
    Created,
    /// Something of the request or the bot changed (Entity Management: Update).
    Updated,
    /// A link removed (Entity Management: Delete).
    Removed,
}

/// How an action ends, for `status_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Success (1).
    Success,
    /// Failure (2).
    Failure,
    /// Success, unless the request ended denied, expired or failed.
    FromState,
}

/// `severity_id`: Informational (1), Low (2) or Medium (3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// 1.
    Informational,
    /// 2.
    Low,
    /// 3.
    Medium,
}

/// The OCSF mapping of every audit action: what it is, how it ends, how severe it is.
pub fn mapping(action: AuditAction) -> (Kind, Outcome, Severity) {
    use AuditAction as A;
    use Kind::{Created, Decision, Proof, Removed, Updated};
    use Outcome::{Failure as Fail, FromState, Success as Done};
    use Severity::{Informational as Info, Low, Medium};
    match action {
        A::RequestState => (Kind::RequestState, FromState, Info),
        A::StageApproved | A::ReleasedByHolder | A::TermEnded | A::ReclaimChosen => {
            (Decision, Done, Info)
        }
        A::DecisionReactionRemoved => (Decision, Done, Info),
        A::StageDenied | A::DenialReason | A::LateDecisionReported => (Decision, Fail, Info),
        A::ReclaimRefused | A::DecisionRefusedRoleLookup => (Decision, Fail, Low),
        A::DecisionRefusedSeatsUnavailable => (Decision, Fail, Low),
        A::SelfDecisionRefused | A::DecisionIgnoredNotApprover => (Decision, Fail, Medium),
        A::DecisionRefusedMissingRole | A::DecisionRefusedOverBudget => (Decision, Fail, Medium),
        A::StageApprovalCounted => (Decision, Done, Info),
        A::DecisionRefusedSameApprover => (Decision, Fail, Low),
        A::LinkStarted | A::ProofSent | A::LinkVerified | A::LinkAttested => (Proof, Done, Info),
        A::LinkMoved => (Proof, Done, Low),
        A::ProofFailed | A::LinkRefused => (Proof, Fail, Low),
        A::RequestCreated => (Created, Done, Info),
        A::Unlinked => (Removed, Done, Info),
        A::StageFailed | A::JobRetryScheduled => (Updated, Fail, Low),
        A::DriftFound | A::Reconciled | A::JobUnverified | A::Escalated => (Updated, Done, Low),
        A::ApprovalReposted | A::AwayOff | A::AwayOn | A::DriftGone => (Updated, Done, Info),
        A::JobQueued | A::JobStarted | A::JobWaiting | A::StageCompleted => (Updated, Done, Info),
        A::PurchaseAwaitingPerson | A::PurchaseReportedDone => (Updated, Done, Info),
        A::PurchaseTaskPosted | A::PurchaseTaskReminded => (Updated, Done, Info),
        A::ReminderSent | A::TermReminded | A::ReclaimKept => (Updated, Done, Info),
        A::SeatLeftFree | A::SeatNeeded => (Updated, Done, Info),
    }
}

/// The class and activity (`activity_id`, `activity_name`) of an event of `kind`, given
/// its request's kind and the state it moved to.
pub fn class_and_activity(
    kind: Kind,
    request: Option<RequestKind>,
    after: Option<RequestState>,
) -> (Class, u32, &'static str) {
    let ended = matches!(after, Some(RequestState::Completed | RequestState::Failed));
    match (kind, request) {
        (Kind::RequestState, Some(RequestKind::Assign)) if ended => {
            (Class::AccountChange, 7, "Attach Policy")
        }
        (Kind::RequestState, Some(RequestKind::Release | RequestKind::Revoke)) if ended => {
            (Class::AccountChange, 8, "Detach Policy")
        }
        (Kind::Decision, Some(RequestKind::Assign)) => {
            (Class::UserAccessManagement, 1, "Assign Privileges")
        }
        (Kind::Decision, Some(RequestKind::Release | RequestKind::Revoke)) => {
            (Class::UserAccessManagement, 2, "Revoke Privileges")
        }
        (Kind::Decision, Some(RequestKind::Purchase) | None) => {
            (Class::UserAccessManagement, 99, "Other")
        }
        (Kind::Proof, _) => (Class::Authentication, 99, "Other"),
        (Kind::Created, _) => (Class::EntityManagement, 1, "Create"),
        (Kind::Removed, _) => (Class::EntityManagement, 4, "Delete"),
        (Kind::RequestState | Kind::Updated, _) => (Class::EntityManagement, 3, "Update"),
    }
}

/// The OCSF event of one audit record. An action this build does not know (written by a
/// newer one) is an Entity Management update with an unknown status.
pub fn event(r: &Record) -> Value {
    let action = r.action.parse::<AuditAction>().ok();
    let after = r
        .after
        .as_deref()
        .and_then(|a| a.parse::<RequestState>().ok());
    let (kind, outcome, severity) = action.map_or(
        (Kind::Updated, Outcome::FromState, Severity::Informational),
        mapping,
    );
    let (class, activity_id, activity_name) = class_and_activity(kind, r.request_kind, after);
    let (status_id, status) = status(action.is_some(), outcome, after);
    let (severity_id, severity) = match severity {
        Severity::Informational => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
    };
    let mut e = json!({
        "class_uid": class.uid(),
        "class_name": class.name(),
        "category_uid": CATEGORY_UID,
        "category_name": "Identity & Access Management",
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": class.uid() * 100 + activity_id,
        "type_name": format!("{}: {activity_name}", class.name()),
        "time": r.at.timestamp_millis(),
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "actor": actor(&r.actor),
        "metadata": metadata(r),
        "unmapped": unmapped(r),
    });
    if let Value::Object(fields) = &mut e {
        about(fields, class, r);
    }
    e
}

/// `status_id` and `status`.
fn status(known: bool, outcome: Outcome, after: Option<RequestState>) -> (u32, &'static str) {
    let failed = matches!(
        after,
        Some(RequestState::Denied | RequestState::Expired | RequestState::Failed)
    );
    match outcome {
        Outcome::Success => (1, "Success"),
        Outcome::Failure => (2, "Failure"),
        Outcome::FromState if failed => (2, "Failure"),
        Outcome::FromState if known => (1, "Success"),
        Outcome::FromState => (0, "Unknown"),
    }
}

/// `actor`: the audit actor as the user's name; a chat account's id as its `uid`.
fn actor(who: &str) -> Value {
    match who.strip_prefix("chat:") {
        Some(uid) => json!({"user": {"name": who, "uid": uid}}),
        None => json!({"user": {"name": who}}),
    }
}

fn metadata(r: &Record) -> Value {
    json!({
        "product": {
            "name": "licensebot",
            "vendor_name": "licensebot",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "version": VERSION,
        "uid": r.id.to_string(),
        "original_time": crate::store::ts(r.at),
    })
}

fn unmapped(r: &Record) -> Value {
    json!({
        "action": r.action,
        "audit_id": r.id,
        "request_id": r.request_id,
        "before": r.before,
        "after": r.after,
        "detail": r.detail,
        "prev_hash": r.prev_hash,
        "hash": r.hash,
    })
}

/// What the event is about, as its class asks: the `user` (the request's target, or the
/// `upn` in a link event's detail), the `privileges` a decision is about, or the managed
/// `entity` (the request, or the bot itself).
fn about(fields: &mut Map<String, Value>, class: Class, r: &Record) {
    let target = r.target.clone().or_else(|| {
        serde_json::from_str::<Value>(&r.detail)
            .ok()
            .and_then(|d| d.get("upn").and_then(Value::as_str).map(str::to_string))
    });
    if let Some(upn) = target {
        fields.insert("user".into(), json!({ "name": upn }));
    }
    match class {
        Class::UserAccessManagement => {
            fields.insert("privileges".into(), json!([PRIVILEGE]));
        }
        Class::EntityManagement => {
            let entity = match r.request_id {
                Some(id) => json!({"type": "licence request", "uid": id.to_string()}),
                None => json!({"type": "licensebot", "name": r.action}),
            };
            fields.insert("entity".into(), entity);
        }
        Class::AccountChange | Class::Authentication => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit::GENESIS;

    fn record(action: &str, kind: Option<RequestKind>, after: Option<&str>) -> Record {
        Record {
            id: 7,
            at: crate::store::parse_ts("t", "2026-05-01T08:00:00.250Z").expect("time"),
            actor: "chat:carol".into(),
            action: action.into(),
            target: kind.map(|_| "alice@contoso.example".into()),
            request_id: kind.map(|_| 3),
            before: None,
            after: after.map(str::to_string),
            detail: String::new(),
            prev_hash: GENESIS.into(),
            hash: "ab".repeat(32),
            request_kind: kind,
        }
    }

    #[test]
    fn every_action_maps_to_a_class_of_identity_and_access_management() {
        let requests = [None, Some(RequestKind::Assign), Some(RequestKind::Revoke)];
        for action in AuditAction::ALL {
            for kind in requests {
                let e = event(&record(action.as_str(), kind, Some("completed")));
                let (class, activity) = (&e["class_uid"], &e["activity_id"]);
                assert!(
                    [3001, 3002, 3004, 3005].contains(&class.as_u64().expect("class")),
                    "{action}: {e}"
                );
                assert_eq!(e["category_uid"], 3, "{action}");
                let type_uid =
                    class.as_u64().expect("class") * 100 + activity.as_u64().expect("id");
                assert_eq!(e["type_uid"], type_uid, "{action}");
                assert!(
                    [1, 2].contains(&e["status_id"].as_u64().expect("status")),
                    "{action}"
                );
                assert_eq!(e["unmapped"]["action"], action.as_str());
            }
        }
    }

    /// The rows of the mapping table in `text` (lines starting with `|`) that name `class`.
    fn table_rows<'a>(text: &'a str, prefix: &str, class: Class) -> Vec<&'a str> {
        let name = format!("{} ({})", class.name(), class.uid());
        text.lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .filter(|l| l.trim_start().starts_with('|') && l.contains(&name))
            .collect()
    }

    /// Each action is named in the row of its class, in the module doc and in README.
    #[test]
    fn the_mapping_tables_name_every_action_in_the_row_of_its_class() {
        let doc = include_str!("ocsf.rs");
        let readme = include_str!("../../README.md");
        for action in AuditAction::ALL {
            let (kind, _, _) = mapping(*action);
            let (class, _, _) = class_and_activity(kind, Some(RequestKind::Assign), None);
            let word = format!("`{}`", action.as_str());
            for (text, prefix, name) in [(doc, "//! ", "module doc"), (readme, "", "README")] {
                assert!(
                    table_rows(text, prefix, class)
                        .iter()
                        .any(|r| r.contains(&word)),
                    "{name}: {word} is not in a row of {}",
                    class.name()
                );
            }
        }
    }

    #[test]
    fn a_completed_assignment_is_an_account_change_attaching_the_licence_to_its_target() {
        let e = event(&record(
            "request_state",
            Some(RequestKind::Assign),
            Some("completed"),
        ));

        assert_eq!(e["class_uid"], 3001);
        assert_eq!(e["activity_id"], 7);
        assert_eq!(e["type_uid"], 300107);
        assert_eq!(e["status_id"], 1);
        assert_eq!(e["user"]["name"], "alice@contoso.example");
        assert_eq!(e["actor"]["user"]["name"], "chat:carol");
        assert_eq!(e["time"], 1_777_622_400_250_i64);
        assert_eq!(e["metadata"]["version"], VERSION);
        assert_eq!(e["metadata"]["product"]["name"], "licensebot");
        assert_eq!(e["unmapped"]["hash"], "ab".repeat(32));
        assert_eq!(e["unmapped"]["request_id"], 3);
    }

    #[test]
    fn a_failed_revocation_is_an_account_change_detaching_the_licence_that_failed() {
        let e = event(&record(
            "request_state",
            Some(RequestKind::Revoke),
            Some("failed"),
        ));

        assert_eq!(
            (e["class_uid"].clone(), e["activity_id"].clone()),
            (json!(3001), json!(8))
        );
        assert_eq!(e["status_id"], 2);
    }

    #[test]
    fn a_request_moving_on_before_its_end_is_an_update_of_the_request() {
        let e = event(&record(
            "request_state",
            Some(RequestKind::Assign),
            Some("approved"),
        ));

        assert_eq!(
            (e["class_uid"].clone(), e["activity_id"].clone()),
            (json!(3004), json!(3))
        );
        assert_eq!(e["entity"]["uid"], "3");
    }

    #[test]
    fn a_denial_is_a_failed_privilege_assignment() {
        let e = event(&record(
            "stage_denied",
            Some(RequestKind::Assign),
            Some("denied"),
        ));

        assert_eq!(
            (e["class_uid"].clone(), e["activity_id"].clone()),
            (json!(3005), json!(1))
        );
        assert_eq!(e["status_id"], 2);
        assert_eq!(e["privileges"], json!([PRIVILEGE]));
    }

    #[test]
    fn deciding_ones_own_request_is_of_medium_severity() {
        let e = event(&record(
            "self_decision_refused",
            Some(RequestKind::Assign),
            None,
        ));

        assert_eq!(e["severity_id"], 3);
        assert_eq!(e["status_id"], 2);
    }

    #[test]
    fn a_verified_link_is_an_authentication_of_the_upn_in_its_detail() {
        let mut r = record("link_verified", None, None);
        r.detail = r#"{"chat_user":"alice","upn":"alice@contoso.example"}"#.into();

        let e = event(&r);

        assert_eq!(
            (e["class_uid"].clone(), e["activity_id"].clone()),
            (json!(3002), json!(99))
        );
        assert_eq!(e["user"]["name"], "alice@contoso.example");
    }

    #[test]
    fn an_action_of_a_newer_build_is_an_update_with_an_unknown_status() {
        let e = event(&record("something_new", None, None));

        assert_eq!(
            (e["class_uid"].clone(), e["activity_id"].clone()),
            (json!(3004), json!(3))
        );
        assert_eq!(e["status_id"], 0);
    }
}
