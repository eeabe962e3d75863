//! The fake's sign-in logs (`GET /auditLogs/signIns`) and the sign-in activity they move,
//! spoken to with plain HTTP: Microsoft's fields, newest first, the documented filters and
//! the 400 for any other, `$select`, `$top` and `@odata.nextLink` paging, the 30 days the
//! logs keep, the 403s without Entra ID P1 or AuditLog.Read.All, and the users list's pages
//! of at most 500 when `signInActivity` is asked for.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::Raw;
use crate::support::fake_microsoft::{SignInApp, POWER_BI_SERVICE};

/// `/auditLogs/signIns` with these query options, encoded.
fn logs(options: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(options)
        .finish();
    format!("/auditLogs/signIns?{query}")
}

/// A time as the filters write it.
fn bare(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The `(userPrincipalName, appDisplayName)` of listed sign-ins, in order.
fn who_where(items: &[Value]) -> Vec<(&str, &str)> {
    items
        .iter()
        .map(|i| {
            (
                i["userPrincipalName"].as_str().unwrap(),
                i["appDisplayName"].as_str().unwrap_or(""),
            )
        })
        .collect()
}

/// The time a sign-in was made at, as listed.
fn created(item: &Value) -> DateTime<Utc> {
    let text = item["createdDateTime"].as_str().unwrap();
    DateTime::parse_from_rfc3339(text).unwrap().into()
}

impl Raw {
    /// A fake where each (who, app, hours ago) signed in (see [`Raw::signed_in`]).
    fn with_sign_ins(sign_ins: &[(&str, SignInApp, i64)]) -> Raw {
        let raw = Raw::new();
        raw.signed_in(sign_ins);
        raw
    }

    /// The fake's clock now.
    fn now(&self) -> DateTime<Utc> {
        self.fake.state().now()
    }

    /// Records these sign-ins, `hours` before now each.
    fn signed_in(&self, sign_ins: &[(&str, SignInApp, i64)]) {
        let now = self.now();
        for (who, app, hours) in sign_ins {
            let upn = format!("{who}@contoso.example");
            self.fake.sign_in(&upn, *app, now - Duration::hours(*hours));
        }
    }
}

#[tokio::test]
async fn the_logs_list_each_sign_in_newest_first_with_microsofts_fields() {
    let raw = Raw::with_sign_ins(&[
        ("alice", SignInApp::PowerBi, 5),
        ("judy", SignInApp::Teams, 1),
        ("kim", SignInApp::GraphExplorer, 3),
    ]);

    let body = raw.get_ok("/auditLogs/signIns").await;

    assert_eq!(
        body["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns"
    );
    let items = body["value"].as_array().unwrap();
    assert_eq!(
        who_where(items),
        [
            ("judy@contoso.example", "Microsoft Teams"),
            ("kim@contoso.example", "Graph explorer"),
            ("alice@contoso.example", "Microsoft Power BI"),
        ]
    );
    let alice = &items[2];
    assert_eq!(alice["resourceId"], POWER_BI_SERVICE);
    assert_eq!(alice["resourceDisplayName"], "Power BI Service");
    assert_eq!(alice["appId"], "871c010f-5e61-4fb1-83ac-98610a7e9110");
    let alice_id = raw
        .fake
        .state()
        .user("alice@contoso.example")
        .unwrap()
        .id
        .clone();
    assert_eq!(alice["userId"], alice_id.as_str());
    assert_eq!(alice["status"]["errorCode"], 0);
    assert!(alice["id"].is_string());
    let stamp = alice["createdDateTime"].as_str().unwrap();
    assert_eq!(stamp.len(), "2020-03-13T19:15:41.6195833Z".len(), "{stamp}");
    assert_eq!(items[1]["resourceDisplayName"], "Microsoft Graph");
    assert_eq!(items[0]["resourceDisplayName"], "Microsoft Teams Services");
}

#[tokio::test]
async fn power_bi_sign_ins_since_a_time_are_found_by_resource_and_time() {
    let raw = Raw::with_sign_ins(&[
        ("alice", SignInApp::PowerBi, 50),
        ("alice", SignInApp::PowerBi, 2),
        ("judy", SignInApp::Teams, 1),
        ("kim", SignInApp::PowerBi, 30),
    ]);
    let since = bare(raw.now() - Duration::hours(40));
    let filter = format!("resourceId eq '{POWER_BI_SERVICE}' and createdDateTime ge {since}");

    let body = raw
        .get_ok(&logs(&[
            ("$filter", &filter),
            ("$select", "userPrincipalName,createdDateTime"),
            ("$top", "1000"),
        ]))
        .await;

    let items = body["value"].as_array().unwrap();
    let upns: Vec<&str> = items
        .iter()
        .map(|i| i["userPrincipalName"].as_str().unwrap())
        .collect();
    assert_eq!(upns, ["alice@contoso.example", "kim@contoso.example"]);
    for item in items {
        let keys: BTreeSet<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from(["createdDateTime", "userPrincipalName"])
        );
    }
    assert_eq!(
        body["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns(userPrincipalName,createdDateTime)"
    );
}

#[tokio::test]
async fn each_documented_filter_narrows_the_logs() {
    let raw = Raw::with_sign_ins(&[
        ("alice", SignInApp::PowerBi, 1),
        ("alice", SignInApp::Teams, 2),
        ("judy", SignInApp::PowerBi, 3),
        ("kim", SignInApp::Teams, 4),
    ]);
    let (_, all) = raw.get("/auditLogs/signIns").await;
    let third = created(&all["value"][2]);
    let cases = [
        (
            "userPrincipalName eq 'ALICE@contoso.example'".to_string(),
            2,
        ),
        (
            "appId eq '1fec8e78-bce4-4aaf-ab1b-5451cc387264'".to_string(),
            2,
        ),
        ("appDisplayName eq 'Microsoft Power BI'".to_string(), 2),
        ("resourceDisplayName eq 'Power BI Service'".to_string(), 2),
        (format!("resourceId eq '{POWER_BI_SERVICE}'"), 2),
        (format!("createdDateTime le {}", third.to_rfc3339()), 2),
        (format!("createdDateTime eq {}", third.to_rfc3339()), 1),
        (
            "userPrincipalName eq 'alice@contoso.example' and appDisplayName eq 'Microsoft Teams'"
                .to_string(),
            1,
        ),
        ("appDisplayName eq 'Nobody''s app'".to_string(), 0),
    ];

    for (filter, expected) in cases {
        let (status, body) = raw.get(&logs(&[("$filter", &filter)])).await;

        assert_eq!(status, 200, "{filter}: {body}");
        assert_eq!(
            body["value"].as_array().unwrap().len(),
            expected,
            "{filter}"
        );
    }
}

#[tokio::test]
async fn a_filter_the_logs_do_not_take_is_refused_as_graph_refuses_it() {
    let raw = Raw::new();
    let now = bare(raw.now());
    let refused = [
        format!("createdDateTime gt {now}"),
        format!("createdDateTime ge '{now}'"),
        "createdDateTime ge yesterday".to_string(),
        "status/errorCode eq 0".to_string(),
        "startsWith(appDisplayName,'Power')".to_string(),
        "userPrincipalName ne 'alice@contoso.example'".to_string(),
        "appId eq 'a' or appId eq 'b'".to_string(),
        format!("resourceId eq '{POWER_BI_SERVICE}' and"),
        "ipAddress eq '131.107.159.37'".to_string(),
    ];

    for filter in refused {
        let (status, body) = raw.get(&logs(&[("$filter", &filter)])).await;

        assert_eq!(status, 400, "{filter}: {body}");
        assert_eq!(body["error"]["code"], "BadRequest", "{filter}");
        assert_eq!(
            body["error"]["message"], "Invalid filter clause",
            "{filter}"
        );
    }
}

#[tokio::test]
async fn the_logs_page_by_top_and_the_next_links_keep_the_filter() {
    let raw = Raw::new();
    for hours in 1..=5 {
        raw.signed_in(&[("alice", SignInApp::PowerBi, hours)]);
    }
    raw.signed_in(&[("judy", SignInApp::Teams, 0)]);
    let filter = format!("resourceId eq '{POWER_BI_SERVICE}'");

    let (sizes, items) = raw
        .every_page(&logs(&[("$filter", &filter), ("$top", "2")]))
        .await;
    let (oldest, _) = raw
        .get(&logs(&[("$orderby", "createdDateTime asc"), ("$top", "1")]))
        .await;
    let (too_big, body) = raw.get(&logs(&[("$top", "1001")])).await;

    assert_eq!(sizes, [2, 2, 1]);
    let times: Vec<DateTime<Utc>> = items.iter().map(created).collect();
    assert!(
        times.windows(2).all(|w| w[0] > w[1]),
        "newest first: {times:?}"
    );
    assert_eq!(oldest, 200);
    assert_eq!(too_big, 400, "{body}");
}

#[tokio::test]
async fn a_thousand_sign_ins_fill_one_page_without_top() {
    let raw = Raw::new();
    {
        let mut state = raw.fake.state();
        let now = state.now();
        for i in 0..1_001 {
            state.record_sign_in(0, SignInApp::PowerBi, now - Duration::minutes(i));
        }
    }

    let (sizes, _) = raw.every_page("/auditLogs/signIns").await;

    assert_eq!(sizes, [1_000, 1]);
}

#[tokio::test]
async fn sign_ins_older_than_thirty_days_are_never_listed() {
    let raw = Raw::new();
    let now = raw.now();
    raw.fake.sign_in(
        "alice@contoso.example",
        SignInApp::PowerBi,
        now - Duration::days(31),
    );
    raw.fake.sign_in(
        "judy@contoso.example",
        SignInApp::PowerBi,
        now - Duration::days(29),
    );
    let since_long_ago = format!("createdDateTime ge {}", bare(now - Duration::days(90)));

    let (_, before) = raw.get(&logs(&[("$filter", &since_long_ago)])).await;
    raw.fake
        .advance(std::time::Duration::from_secs(2 * 24 * 3600));
    let (_, after) = raw.get(&logs(&[("$filter", &since_long_ago)])).await;
    let (_, alice) = raw
        .get("/users/alice@contoso.example?$select=signInActivity")
        .await;

    assert_eq!(
        who_where(before["value"].as_array().unwrap()),
        [("judy@contoso.example", "Microsoft Power BI")]
    );
    assert_eq!(after["value"], Value::Array(Vec::new()));
    assert!(
        alice["signInActivity"]["lastSignInDateTime"].is_string(),
        "the activity keeps it: {alice}"
    );
}

#[tokio::test]
async fn the_logs_without_p1_or_the_permission_are_the_sign_in_activity_403s() {
    let raw = Raw::new();
    raw.fake.state().entra_p1 = false;

    let (logs_status, logs_body) = raw.get("/auditLogs/signIns").await;
    let (users_status, users_body) = raw.get("/users?$select=id,signInActivity").await;
    raw.fake.state().entra_p1 = true;
    raw.fake.state().audit_log_granted = false;
    let (denied, denied_body) = raw.get("/auditLogs/signIns").await;
    let (users_denied, _) = raw.get("/users?$select=id,signInActivity").await;
    let (plain_users, _) = raw.get("/users?$select=id").await;

    assert_eq!((logs_status, users_status), (403, 403));
    assert_eq!(logs_body["error"]["code"], users_body["error"]["code"]);
    assert_eq!(
        logs_body["error"]["code"],
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    );
    assert_eq!((denied, users_denied, plain_users), (403, 403, 200));
    assert_eq!(denied_body["error"]["code"], "Authorization_RequestDenied");
}

#[tokio::test]
async fn a_sign_in_moves_the_users_sign_in_activity_forward_never_back() {
    let raw = Raw::new();
    let now = raw.now();
    let later = now - Duration::hours(1);
    let earlier = now - Duration::days(3);

    raw.fake
        .sign_in("alice@contoso.example", SignInApp::PowerBi, later);
    raw.fake
        .sign_in("alice@contoso.example", SignInApp::Teams, earlier);
    let (_, alice) = raw
        .get("/users/alice@contoso.example?$select=signInActivity")
        .await;

    let activity = &alice["signInActivity"];
    let expected = bare(later);
    assert_eq!(activity["lastSignInDateTime"], expected.as_str());
    assert_eq!(activity["lastSuccessfulSignInDateTime"], expected.as_str());
    assert!(activity["lastNonInteractiveSignInDateTime"].is_null());
}

#[tokio::test]
async fn users_with_sign_in_activity_come_500_a_page_at_most() {
    let raw = Raw::new();
    raw.fake.add_members(600);
    let total = raw.fake.state().users.len();

    let (over, body) = raw
        .get("/users?$select=id,userPrincipalName,signInActivity&$top=501")
        .await;
    let (sizes, items) = raw
        .every_page("/users?$select=id,userPrincipalName,signInActivity&$top=500")
        .await;
    let (plain, _) = raw.get("/users?$select=id&$top=999").await;

    assert_eq!(over, 400);
    assert_eq!(
        body["error"]["message"],
        "Cannot query data for more than 500 users at a time."
    );
    assert_eq!(sizes, [500, total - 500]);
    assert_eq!(items.len(), total);
    assert_eq!(plain, 200);
}
