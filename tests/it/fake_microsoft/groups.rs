//! The fake's groups, group-based licensing and sign-in activity, spoken to with plain HTTP
//! (graph_groups_identity.md §1–2): each endpoint's success and documented errors, the
//! Processing → Active / Error transitions on the fake's clock, reprocessing, seats, and
//! `signInActivity` with and without Entra ID P1.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

use super::Raw;
use crate::support::fake_microsoft::{
    Assigned, FakeGroup, FaultKind, LicenceError, LicenceState, SignInActivity, PRO_GROUP, PRO_SKU,
};

/// Longer than the fake's default group-licensing delay (two minutes).
const LATER: Duration = Duration::from_secs(121);

impl Raw {
    fn user_id(&self, upn: &str) -> String {
        self.fake
            .state()
            .user(upn)
            .expect("a known user")
            .id
            .clone()
    }

    async fn add(&self, group: &str, upn: &str) -> (u16, Value) {
        let reference = format!(
            "https://graph.microsoft.com/v1.0/directoryObjects/{}",
            self.user_id(upn)
        );
        let body = json!({ "@odata.id": reference });
        self.graph("POST", &format!("/groups/{group}/members/$ref"), Some(body))
            .await
    }

    async fn remove(&self, group: &str, upn: &str) -> (u16, Value) {
        let path = format!("/groups/{group}/members/{}/$ref", self.user_id(upn));
        self.graph("DELETE", &path, None).await
    }

    /// Adds the user to the Pro licensing group and lets processing end ([`LATER`]); returns
    /// their licences (see [`Raw::licences`]).
    async fn in_the_group_later(&self, upn: &str) -> Value {
        self.add(PRO_GROUP, upn).await;
        self.fake.advance(LATER);
        self.licences(upn).await
    }

    /// The user's `assignedLicenses` and `licenseAssignmentStates`.
    async fn licences(&self, upn: &str) -> Value {
        let path =
            format!("/users/{upn}?$select=usageLocation,assignedLicenses,licenseAssignmentStates");
        self.get_ok(&path).await
    }

    /// `consumedUnits` of Power BI Pro.
    async fn pro_consumed(&self) -> i64 {
        let (_, body) = self
            .get("/subscribedSkus?$select=skuId,consumedUnits")
            .await;
        let skus = body["value"].as_array().unwrap();
        let pro = skus.iter().find(|s| s["skuId"] == PRO_SKU).unwrap();
        pro["consumedUnits"].as_i64().unwrap()
    }
}

/// The one assignment state of a user's body that comes from this group.
fn from_group<'a>(body: &'a Value, group: &str) -> &'a Value {
    let states = body["licenseAssignmentStates"].as_array().unwrap();
    let mut found = states.iter().filter(|s| s["assignedByGroup"] == group);
    let state = found
        .next()
        .unwrap_or_else(|| panic!("no state from {group}: {body}"));
    assert!(found.next().is_none(), "one per (SKU, source): {body}");
    state
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// Asserts that `answer` is the error `code` with `status`; returns its body.
fn assert_error((status, body): (u16, Value), expected: u16, code: &str) -> Value {
    assert_eq!(status, expected, "{body}");
    assert_eq!(error_code(&body), code, "{body}");
    body
}

/// A fake with `group` added, licensing Power BI Pro; and the group's id.
fn with_group(group: FakeGroup) -> (Raw, String) {
    let raw = Raw::new();
    let id = raw.fake.add_group(group.licensing(PRO_SKU));
    (raw, id)
}

#[tokio::test]
async fn a_group_shows_its_licences_only_on_select() {
    let raw = Raw::new();

    let (status, plain) = raw.get(&format!("/groups/{PRO_GROUP}")).await;
    let (_, selected) = raw
        .get(&format!(
            "/groups/{PRO_GROUP}?$select=id,assignedLicenses,licenseProcessingState"
        ))
        .await;

    assert_eq!(status, 200);
    assert!(plain.get("assignedLicenses").is_none(), "{plain}");
    assert_eq!(plain["securityEnabled"], true);
    assert_eq!(plain["groupTypes"], json!([]));
    assert_eq!(plain["isAssignableToRole"], false);
    assert_eq!(selected["assignedLicenses"][0]["skuId"], PRO_SKU);
    assert_eq!(
        selected["licenseProcessingState"]["state"],
        "ProcessingComplete"
    );
    assert!(selected.get("displayName").is_none(), "{selected}");
}

#[tokio::test]
async fn an_unknown_group_is_not_found_for_every_endpoint() {
    let raw = Raw::new();
    let nobody = "3c3c3c3c-1111-4222-8333-444455556666";

    let (get, body) = raw.get(&format!("/groups/{nobody}")).await;
    let (add, _) = raw.add(nobody, "alice@contoso.example").await;
    let (remove, _) = raw.remove(nobody, "alice@contoso.example").await;
    let (owners, _) = raw.get(&format!("/groups/{nobody}/owners")).await;
    let (errors, _) = raw
        .get(&format!("/groups/{nobody}/membersWithLicenseErrors"))
        .await;

    assert_eq!(
        (get, add, remove, owners, errors),
        (404, 404, 404, 404, 404)
    );
    assert_eq!(error_code(&body), "Request_ResourceNotFound");
    assert!(body["error"]["message"].as_str().unwrap().contains(nobody));
}

#[tokio::test]
async fn a_new_member_is_processing_then_active_and_takes_a_seat() {
    let raw = Raw::new();

    let (status, _) = raw.add(PRO_GROUP, "alice@contoso.example").await;
    let pending = raw.licences("alice@contoso.example").await;
    let (_, group) = raw
        .get(&format!(
            "/groups/{PRO_GROUP}?$select=licenseProcessingState"
        ))
        .await;
    let seats_while_pending = raw.pro_consumed().await;
    raw.fake.advance(LATER);
    let done = raw.licences("alice@contoso.example").await;

    assert_eq!(status, 204);
    assert_eq!(from_group(&pending, PRO_GROUP)["state"], "Processing");
    assert_eq!(pending["assignedLicenses"], json!([]));
    assert_eq!(
        group["licenseProcessingState"]["state"],
        "ProcessingInProgress"
    );
    assert_eq!(seats_while_pending, 1);
    let active = from_group(&done, PRO_GROUP);
    assert_eq!(active["state"], "Active");
    assert!(active["error"].is_null(), "{active}");
    assert_eq!(active["skuId"], PRO_SKU);
    let updated = active["lastUpdatedDateTime"].as_str().unwrap();
    assert!(
        updated.parse::<DateTime<Utc>>().unwrap() > Utc::now() + chrono::Duration::seconds(100)
    );
    assert_eq!(done["assignedLicenses"][0]["skuId"], PRO_SKU);
    assert_eq!(raw.pro_consumed().await, 2);
}

#[tokio::test]
async fn nothing_changes_before_the_delay_has_passed() {
    let raw = Raw::new();

    raw.add(PRO_GROUP, "alice@contoso.example").await;
    raw.fake.advance(Duration::from_secs(60));
    let body = raw.licences("alice@contoso.example").await;

    assert_eq!(from_group(&body, PRO_GROUP)["state"], "Processing");
}

#[tokio::test]
async fn adding_an_existing_member_is_the_documented_400() {
    let raw = Raw::new();

    let body = assert_error(
        raw.add(PRO_GROUP, "gina@contoso.example").await,
        400,
        "Request_BadRequest",
    );
    assert_eq!(
        body["error"]["message"],
        "One or more added object references already exist for the following modified properties: 'members'."
    );
}

#[tokio::test]
async fn adding_an_unknown_user_is_not_found() {
    let raw = Raw::new();
    let nobody = "9d9d9d9d-1111-4222-8333-444455556666";
    let body = json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/users/{nobody}") });

    let answer = assert_error(
        raw.graph(
            "POST",
            &format!("/groups/{PRO_GROUP}/members/$ref"),
            Some(body),
        )
        .await,
        404,
        "Request_ResourceNotFound",
    );
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains(nobody));
}

#[tokio::test]
async fn a_dynamic_group_refuses_adds_and_removes() {
    let (raw, group) = with_group(FakeGroup {
        group_types: vec!["DynamicMembership".into()],
        membership_rule: Some("user.department -eq \"BI\"".into()),
        ..FakeGroup::security("BI department")
    });

    let (add, body) = raw.add(&group, "alice@contoso.example").await;
    let (remove, _) = raw.remove(&group, "alice@contoso.example").await;
    let (_, shown) = raw.get(&format!("/groups/{group}")).await;

    assert_eq!((add, remove), (403, 403));
    assert_eq!(error_code(&body), "Authorization_RequestDenied");
    assert_eq!(shown["membershipRule"], "user.department -eq \"BI\"");
    assert!(raw.fake.members_of(&group).is_empty());
}

#[tokio::test]
async fn a_role_assignable_group_needs_role_management() {
    let (raw, group) = with_group(FakeGroup {
        is_assignable_to_role: true,
        ..FakeGroup::security("Licence admins")
    });

    let (without, body) = raw.add(&group, "alice@contoso.example").await;
    raw.fake.state().role_management_granted = true;
    let (with, _) = raw.add(&group, "alice@contoso.example").await;

    assert_eq!((without, with), (403, 204));
    assert_eq!(error_code(&body), "Authorization_RequestDenied");
    assert_eq!(raw.fake.members_of(&group), ["alice@contoso.example"]);
}

#[tokio::test]
async fn a_mail_enabled_security_group_is_read_only() {
    let (raw, group) = with_group(FakeGroup {
        mail_enabled: true,
        ..FakeGroup::security("BI news")
    });

    assert_error(
        raw.add(&group, "alice@contoso.example").await,
        403,
        "Authorization_RequestDenied",
    );
}

#[tokio::test]
async fn a_member_removed_loses_the_licence_after_processing() {
    let raw = Raw::new();

    let (status, _) = raw.remove(PRO_GROUP, "gina@contoso.example").await;
    let during = raw.licences("gina@contoso.example").await;
    raw.fake.advance(LATER);
    let after = raw.licences("gina@contoso.example").await;

    assert_eq!(status, 204);
    assert!(raw.fake.members_of(PRO_GROUP).is_empty());
    assert_eq!(from_group(&during, PRO_GROUP)["state"], "Active");
    assert_eq!(after["licenseAssignmentStates"], json!([]));
    assert_eq!(after["assignedLicenses"], json!([]));
    assert_eq!(raw.pro_consumed().await, 0);
}

#[tokio::test]
async fn removing_a_non_member_is_not_found() {
    let raw = Raw::new();

    assert_error(
        raw.remove(PRO_GROUP, "alice@contoso.example").await,
        404,
        "Request_ResourceNotFound",
    );
}

#[tokio::test]
async fn without_a_free_seat_the_member_is_in_count_violation_and_listed() {
    let raw = Raw::new();

    raw.add(PRO_GROUP, "alice@contoso.example").await;
    let judy = raw.in_the_group_later("judy@contoso.example").await;
    let (status, errors) = raw
        .get(&format!(
            "/groups/{PRO_GROUP}/membersWithLicenseErrors?$select=id,userPrincipalName"
        ))
        .await;

    let failed = from_group(&judy, PRO_GROUP);
    assert_eq!(
        (failed["state"].as_str(), failed["error"].as_str()),
        (Some("Error"), Some("CountViolation"))
    );
    assert_eq!(judy["assignedLicenses"], json!([]));
    assert_eq!(status, 200);
    assert_eq!(errors["value"].as_array().unwrap().len(), 1, "{errors}");
    assert_eq!(
        errors["value"][0]["userPrincipalName"],
        "judy@contoso.example"
    );
    assert_eq!(errors["value"][0]["@odata.type"], "#microsoft.graph.user");
    assert_eq!(raw.pro_consumed().await, 2);
}

#[tokio::test]
async fn a_failed_assignment_waits_for_reprocessing_once_a_seat_is_free() {
    let raw = Raw::new();
    raw.add(PRO_GROUP, "alice@contoso.example").await;
    raw.add(PRO_GROUP, "judy@contoso.example").await;
    raw.fake.advance(LATER);

    raw.fake.state().set_enabled("POWER_BI_PRO", 3);
    raw.fake.advance(LATER);
    let not_retried = raw.licences("judy@contoso.example").await;
    let (status, user) = raw
        .graph(
            "POST",
            "/users/judy@contoso.example/reprocessLicenseAssignment",
            None,
        )
        .await;
    let processing = raw.licences("judy@contoso.example").await;
    raw.fake.advance(LATER);
    let done = raw.licences("judy@contoso.example").await;

    assert_eq!(from_group(&not_retried, PRO_GROUP)["state"], "Error");
    assert_eq!(status, 200);
    assert_eq!(user["userPrincipalName"], "judy@contoso.example");
    assert_eq!(from_group(&processing, PRO_GROUP)["state"], "Processing");
    assert_eq!(from_group(&done, PRO_GROUP)["state"], "Active");
    assert_eq!(raw.pro_consumed().await, 3);
}

#[tokio::test]
async fn reprocessing_an_unknown_user_is_not_found() {
    let raw = Raw::new();

    assert_error(
        raw.graph(
            "POST",
            "/users/nobody@contoso.example/reprocessLicenseAssignment",
            None,
        )
        .await,
        404,
        "Request_ResourceNotFound",
    );
}

#[tokio::test]
async fn a_member_without_usage_location_gets_the_directorys() {
    let raw = Raw::new();

    let ivan = raw.in_the_group_later("ivan@contoso.example").await;

    assert_eq!(from_group(&ivan, PRO_GROUP)["state"], "Active");
    assert_eq!(ivan["usageLocation"], "NL");
}

#[tokio::test]
async fn without_any_usage_location_it_is_a_location_violation() {
    let raw = Raw::new();
    raw.fake.state().directory_usage_location = None;

    let ivan = raw.in_the_group_later("ivan@contoso.example").await;

    let failed = from_group(&ivan, PRO_GROUP);
    assert_eq!(failed["error"], "ProhibitedInUsageLocationViolation");
    assert!(ivan["usageLocation"].is_null());
}

#[tokio::test]
async fn a_service_not_offered_in_the_country_is_a_location_violation() {
    let raw = Raw::new();
    raw.fake
        .state()
        .prohibited
        .push((PRO_SKU.into(), "BE".into()));

    let kim = raw.in_the_group_later("kim@contoso.example").await;

    assert_eq!(
        from_group(&kim, PRO_GROUP)["error"],
        "ProhibitedInUsageLocationViolation"
    );
}

#[tokio::test]
async fn a_conflicting_plan_is_a_mutually_exclusive_violation() {
    let raw = Raw::new();

    let xavier = raw.in_the_group_later("xavier@contoso.example").await;

    let failed = from_group(&xavier, PRO_GROUP);
    assert_eq!(
        (failed["state"].as_str(), failed["error"].as_str()),
        (Some("Error"), Some("MutuallyExclusiveViolation"))
    );
    assert_eq!(raw.pro_consumed().await, 1);
}

#[tokio::test]
async fn direct_and_group_assignments_of_one_sku_use_one_seat() {
    let raw = Raw::new();
    let add =
        json!({"addLicenses": [{"skuId": PRO_SKU, "disabledPlans": []}], "removeLicenses": []});
    let remove = json!({"addLicenses": [], "removeLicenses": [PRO_SKU]});
    raw.graph(
        "POST",
        "/users/alice@contoso.example/assignLicense",
        Some(add),
    )
    .await;

    let both = raw.in_the_group_later("alice@contoso.example").await;
    let seats_with_both = raw.pro_consumed().await;
    let (status, _) = raw
        .graph(
            "POST",
            "/users/alice@contoso.example/assignLicense",
            Some(remove),
        )
        .await;
    let inherited = raw.licences("alice@contoso.example").await;

    assert_eq!(
        both["licenseAssignmentStates"].as_array().unwrap().len(),
        2,
        "{both}"
    );
    assert_eq!(from_group(&both, PRO_GROUP)["state"], "Active");
    let states = both["licenseAssignmentStates"].as_array().unwrap();
    let direct = states
        .iter()
        .find(|s| s["assignedByGroup"].is_null())
        .unwrap();
    assert_eq!(direct["state"], "Active");
    assert_eq!(
        both["assignedLicenses"].as_array().unwrap().len(),
        1,
        "{both}"
    );
    assert_eq!(seats_with_both, 2);
    assert_eq!(status, 200);
    assert_eq!(
        inherited["licenseAssignmentStates"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(from_group(&inherited, PRO_GROUP)["state"], "Active");
    assert_eq!(raw.pro_consumed().await, 2);
}

#[tokio::test]
async fn a_groups_owners_are_listed_as_directory_objects() {
    let raw = Raw::new();

    let (status, body) = raw
        .get(&format!(
            "/groups/{PRO_GROUP}/owners?$select=id,userPrincipalName"
        ))
        .await;

    assert_eq!(status, 200);
    assert_eq!(
        body["value"][0]["userPrincipalName"],
        "carol@contoso.example"
    );
    assert_eq!(body["value"][0]["@odata.type"], "#microsoft.graph.user");
}

#[tokio::test]
async fn sign_in_activity_is_read_on_select_with_p1() {
    let raw = Raw::new();
    let at = |d: u32| Utc.with_ymd_and_hms(2026, 11, d, 8, 30, 0).unwrap();
    raw.fake.set_sign_in(
        "alice@contoso.example",
        SignInActivity {
            last_sign_in: Some(at(2)),
            last_non_interactive: Some(at(20)),
            last_successful: Some(at(20)),
        },
    );

    let (status, alice) = raw
        .get("/users/alice@contoso.example?$select=id,signInActivity")
        .await;
    let (_, plain) = raw.get("/users/alice@contoso.example").await;
    let (_, judy) = raw
        .get("/users/judy@contoso.example?$select=signInActivity")
        .await;
    let (listed, _) = raw.get("/users?$select=id,signInActivity&$top=500").await;

    assert_eq!(status, 200);
    let activity = &alice["signInActivity"];
    assert_eq!(activity["lastSignInDateTime"], "2026-11-02T08:30:00Z");
    assert_eq!(
        activity["lastNonInteractiveSignInDateTime"],
        "2026-11-20T08:30:00Z"
    );
    assert_eq!(
        activity["lastSuccessfulSignInDateTime"],
        "2026-11-20T08:30:00Z"
    );
    assert!(activity["lastSignInRequestId"].is_string());
    assert!(
        plain.get("signInActivity").is_none(),
        "only on $select: {plain}"
    );
    assert!(
        judy["signInActivity"]["lastSignInDateTime"].is_null(),
        "{judy}"
    );
    assert_eq!(listed, 200);
}

#[tokio::test]
async fn sign_in_activity_without_p1_is_the_documented_403() {
    let raw = Raw::new();
    raw.fake.state().entra_p1 = false;

    let (status, body) = raw
        .get("/users/alice@contoso.example?$select=id,signInActivity")
        .await;
    let (listed, _) = raw.get("/users?$select=id,signInActivity").await;
    let (without, _) = raw.get("/users/alice@contoso.example?$select=id").await;

    assert_eq!((status, listed, without), (403, 403, 200));
    assert_eq!(
        error_code(&body),
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    );
}

#[tokio::test]
async fn faults_strike_the_group_endpoints_before_they_act() {
    let raw = Raw::new();
    raw.fake
        .fail_once("POST", "/members/$ref", FaultKind::throttle("3"));
    raw.fake
        .fail_once("POST", "/reprocessLicenseAssignment", FaultKind::Forbidden);

    let (throttled, body) = raw.add(PRO_GROUP, "alice@contoso.example").await;
    let (forbidden, _) = raw
        .graph(
            "POST",
            "/users/judy@contoso.example/reprocessLicenseAssignment",
            None,
        )
        .await;
    let (again, _) = raw.add(PRO_GROUP, "alice@contoso.example").await;

    assert_eq!((throttled, forbidden, again), (429, 403, 204));
    assert_eq!(error_code(&body), "TooManyRequests");
    assert_eq!(
        raw.fake.members_of(PRO_GROUP),
        ["gina@contoso.example", "alice@contoso.example"]
    );
}

#[tokio::test]
async fn two_groups_giving_one_sku_use_one_seat() {
    let (raw, second) = with_group(FakeGroup::security("Report builders"));

    let (status, _) = raw.add(&second, "gina@contoso.example").await;
    raw.fake.advance(LATER);
    let gina = raw.licences("gina@contoso.example").await;

    assert_eq!(status, 204);
    assert_eq!(from_group(&gina, PRO_GROUP)["state"], "Active");
    assert_eq!(from_group(&gina, &second)["state"], "Active");
    assert_eq!(gina["assignedLicenses"].as_array().unwrap().len(), 1);
    assert_eq!(raw.pro_consumed().await, 1);
}

#[tokio::test]
async fn a_member_back_before_the_removal_is_processed_keeps_the_licence() {
    let raw = Raw::new();

    raw.remove(PRO_GROUP, "gina@contoso.example").await;
    let (status, _) = raw.add(PRO_GROUP, "gina@contoso.example").await;
    raw.fake.advance(LATER);
    let gina = raw.licences("gina@contoso.example").await;

    assert_eq!(status, 204);
    assert_eq!(from_group(&gina, PRO_GROUP)["state"], "Active");
    assert_eq!(raw.pro_consumed().await, 1);
}

#[tokio::test]
async fn seeded_states_show_the_documented_error_words() {
    let raw = Raw::new();
    {
        let mut state = raw.fake.state();
        let i = state
            .users
            .iter()
            .position(|u| u.upn == "frank@contoso.example")
            .unwrap();
        let seeded = [
            LicenceState::Error(LicenceError::UniquenessViolation),
            LicenceState::ActiveWithError(LicenceError::DependencyViolation),
            LicenceState::Error(LicenceError::Other),
        ];
        state.users[i].licenses = seeded
            .into_iter()
            .map(|s| Assigned {
                state: s,
                ..Assigned::inherited(PRO_SKU, PRO_GROUP)
            })
            .collect();
    }

    let frank = raw.licences("frank@contoso.example").await;

    let words: Vec<(&str, &str)> = frank["licenseAssignmentStates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["state"].as_str().unwrap(), s["error"].as_str().unwrap()))
        .collect();
    assert_eq!(
        words,
        [
            ("Error", "UniquenessViolation"),
            ("ActiveWithError", "DependencyViolation"),
            ("Error", "Other")
        ]
    );
    assert_eq!(
        frank["assignedLicenses"].as_array().unwrap().len(),
        1,
        "ActiveWithError holds the seat"
    );
}

#[tokio::test]
async fn a_member_can_be_added_inside_a_batch() {
    let raw = Raw::new();
    let reference = format!(
        "https://graph.microsoft.com/v1.0/directoryObjects/{}",
        raw.user_id("alice@contoso.example")
    );
    let item = json!({
        "id": "1", "method": "POST", "url": format!("/groups/{PRO_GROUP}/members/$ref"),
        "headers": {"Content-Type": "application/json"}, "body": {"@odata.id": reference},
    });

    let (status, body) = raw.batch(json!([item])).await;

    assert_eq!(status, 200);
    assert_eq!(body["responses"][0]["status"], 204, "{body}");
    assert_eq!(
        raw.fake.members_of(PRO_GROUP),
        ["gina@contoso.example", "alice@contoso.example"]
    );
}
