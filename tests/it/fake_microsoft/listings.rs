//! The fake's directory listings, spoken to with plain HTTP: the users list filtered on a
//! held SKU (`assignedLicenses/any(…)`, graph_licensing.md §4.1) and a group's members
//! (Microsoft's "List group members"), with `$select`, `$top` and `@odata.nextLink` paging,
//! and the clauses and options they still refuse.

use std::collections::BTreeSet;

use chrono::Utc;
use serde_json::{json, Value};

use super::Raw;
use crate::support::fake_microsoft::state::E5_SKU;
use crate::support::fake_microsoft::{
    Assigned, FakeGroup, LicenceError, LicenceState, PRO_GROUP, PRO_SKU,
};

/// `/users` with this `$filter` and more query options, encoded.
fn users_where(filter: &str, more: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("$filter", filter);
    query.extend_pairs(more);
    format!("/users?{}", query.finish())
}

/// The filter for holders of `sku`, with this range variable.
fn holding(variable: &str, sku: &str) -> String {
    format!("assignedLicenses/any({variable}:{variable}/skuId eq {sku})")
}

/// The UPNs of listed users, in order.
fn upns(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|i| i["userPrincipalName"].as_str().unwrap())
        .collect()
}

/// The keys of a listed item.
fn keys(item: &Value) -> BTreeSet<&str> {
    item.as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

impl Raw {
    /// Every item of a collection, following `@odata.nextLink` to the end: the size of
    /// each page and the items.
    pub(super) async fn every_page(&self, path: &str) -> (Vec<usize>, Vec<Value>) {
        let (mut sizes, mut items) = (Vec::new(), Vec::new());
        let mut path = path.to_string();
        loop {
            let (status, body) = self.get(&path).await;
            assert_eq!(status, 200, "{path}: {body}");
            let value = body["value"].as_array().unwrap();
            sizes.push(value.len());
            items.extend(value.iter().cloned());
            let Some(next) = body["@odata.nextLink"].as_str() else {
                return (sizes, items);
            };
            let graph = self.fake.graph_url();
            path = next
                .strip_prefix(&graph)
                .expect("a link on the fake")
                .into();
        }
    }

    /// Gives the user this licence directly.
    fn give(&self, upn: &str, licence: Assigned) {
        let mut state = self.fake.state();
        let user = state.user_mut(upn);
        user.licenses.push(licence);
    }

    fn id_of(&self, upn: &str) -> String {
        self.fake.state().user(upn).unwrap().id.clone()
    }
}

#[tokio::test]
async fn the_sku_filter_lists_direct_and_inherited_holders() {
    let raw = Raw::new();
    raw.give("judy@contoso.example", Assigned::direct(PRO_SKU));

    let (_, pro) = raw
        .every_page(&users_where(&holding("x", PRO_SKU), &[]))
        .await;
    let (_, e5) = raw
        .every_page(&users_where(&holding("x", E5_SKU), &[]))
        .await;

    assert_eq!(upns(&pro), ["judy@contoso.example", "gina@contoso.example"]);
    assert_eq!(
        upns(&e5),
        ["frank@contoso.example", "olga@contoso.example"],
        "a plan disabled in the SKU does not matter"
    );
}

#[tokio::test]
async fn the_sku_filter_takes_any_variable_a_quoted_guid_and_any_case() {
    let raw = Raw::new();
    let upper = PRO_SKU.to_uppercase();
    let filters = [
        holding("x", PRO_SKU),
        holding("licence_1", &upper),
        format!("assignedLicenses/any(l: l/skuId  eq  '{PRO_SKU}' )"),
        format!("assignedLicenses/any(_:_/skuId eq '{upper}')"),
    ];

    for filter in filters {
        let (status, body) = raw.get(&users_where(&filter, &[])).await;

        assert_eq!(status, 200, "{filter}: {body}");
        let found = body["value"].as_array().unwrap();
        assert_eq!(upns(found), ["gina@contoso.example"], "{filter}");
    }
}

#[tokio::test]
async fn the_sku_filter_lists_only_assignments_holding_a_seat() {
    let raw = Raw::new();
    let failed = Assigned {
        state: LicenceState::Error(LicenceError::CountViolation),
        ..Assigned::inherited(PRO_SKU, PRO_GROUP)
    };
    let processing = Assigned {
        state: LicenceState::Processing(Utc::now() + chrono::Duration::days(1)),
        ..Assigned::inherited(PRO_SKU, PRO_GROUP)
    };
    raw.give("alice@contoso.example", failed);
    raw.give("kim@contoso.example", processing);

    let (_, pro) = raw
        .every_page(&users_where(&holding("x", PRO_SKU), &[]))
        .await;

    assert_eq!(upns(&pro), ["gina@contoso.example"]);
}

#[tokio::test]
async fn the_sku_filter_honours_select_and_pages_with_a_small_top() {
    let raw = Raw::new();
    for upn in raw.fake.add_members(5) {
        raw.give(&upn, Assigned::direct(PRO_SKU));
    }
    let options = [("$select", "id,userPrincipalName"), ("$top", "2")];

    let (sizes, items) = raw
        .every_page(&users_where(&holding("x", PRO_SKU), &options))
        .await;

    assert_eq!(sizes, [2, 2, 2], "the next links keep the filter");
    assert_eq!(
        upns(&items),
        [
            "gina@contoso.example",
            "u00@contoso.nl",
            "u01@contoso.nl",
            "u02@contoso.nl",
            "u03@contoso.nl",
            "u04@contoso.nl"
        ]
    );
    for item in &items {
        assert_eq!(keys(item), BTreeSet::from(["id", "userPrincipalName"]));
    }
}

#[tokio::test]
async fn the_sku_filter_pages_by_a_hundred_without_top() {
    let raw = Raw::new();
    for upn in raw.fake.add_members(100) {
        raw.give(&upn, Assigned::direct(PRO_SKU));
    }

    let (sizes, _) = raw
        .every_page(&users_where(
            &holding("x", PRO_SKU),
            &[("$select", "userPrincipalName")],
        ))
        .await;

    assert_eq!(sizes, [100, 1]);
}

#[tokio::test]
async fn the_sku_filter_sees_a_new_licence_once_the_lagging_read_is_used_up() {
    let raw = Raw::new();
    raw.fake.state().readback_lag = 1;
    let body =
        json!({"addLicenses": [{"skuId": PRO_SKU, "disabledPlans": []}], "removeLicenses": []});
    let (assigned, _) = raw
        .graph(
            "POST",
            "/users/alice@contoso.example/assignLicense",
            Some(body),
        )
        .await;
    let path = users_where(&holding("x", PRO_SKU), &[]);

    let (_, first) = raw.every_page(&path).await;
    let (_, second) = raw.every_page(&path).await;

    assert_eq!(assigned, 200);
    assert_eq!(upns(&first), ["gina@contoso.example"]);
    assert_eq!(
        upns(&second),
        ["alice@contoso.example", "gina@contoso.example"]
    );
}

#[tokio::test]
async fn other_filters_on_the_users_list_are_still_refused() {
    let raw = Raw::new();
    let refused = [
        "accountEnabled eq true".to_string(),
        format!("assignedLicenses/any(x:y/skuId eq {PRO_SKU})"),
        format!("assignedLicenses/any(x:x/skuId ne {PRO_SKU})"),
        format!("assignedLicenses/any(x:x/skuId eq {PRO_SKU}) or accountEnabled eq true"),
        format!(
            "assignedLicenses/any(x:x/skuId eq {})",
            PRO_SKU.replace('-', "")
        ),
        "assignedLicenses/any(x:x/skuId eq 'not-a-guid')".to_string(),
        format!("assignedLicenses/any(x:x/disabledPlans/any(p:p eq {PRO_SKU}))"),
        format!("assignedLicenses/any(1x:1x/skuId eq {PRO_SKU})"),
        "assignedLicenses/$count eq 0".to_string(),
    ];

    for filter in refused {
        let (status, body) = raw.get(&users_where(&filter, &[])).await;

        assert_eq!(status, 400, "{filter}: {body}");
        assert_eq!(
            body["error"]["code"], "Request_UnsupportedQuery",
            "{filter}"
        );
    }
    let too_big = users_where(&holding("x", PRO_SKU), &[("$top", "1000")]);
    let (status, body) = raw.get(&too_big).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("Request_BadRequest"))
    );
}

#[tokio::test]
async fn a_groups_members_are_users_with_only_the_selected_properties() {
    let raw = Raw::new();
    let path = format!("/groups/{PRO_GROUP}/members");

    let (status, selected) = raw
        .get(&format!("{path}?$select=id,userPrincipalName"))
        .await;
    let (_, plain) = raw.get(&path).await;

    assert_eq!(status, 200);
    assert_eq!(
        selected,
        json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects(id,userPrincipalName)",
            "value": [{
                "@odata.type": "#microsoft.graph.user",
                "id": raw.id_of("gina@contoso.example"),
                "userPrincipalName": "gina@contoso.example",
            }],
        })
    );
    let member = &plain["value"][0];
    assert_eq!(member["@odata.type"], "#microsoft.graph.user");
    assert_eq!(member["displayName"], "Gina (Pro from a group)");
    assert!(member.get("assignedLicenses").is_none(), "{member}");
}

#[tokio::test]
async fn a_groups_members_page_with_a_small_top() {
    let raw = Raw::new();
    let people = ["alice", "judy", "kim", "bob", "dave"].map(|p| format!("{p}@contoso.example"));
    let group = FakeGroup {
        members: people.iter().map(|p| raw.id_of(p)).collect(),
        ..FakeGroup::security("Report readers")
    };
    let id = raw.fake.add_group(group);

    let (sizes, items) = raw
        .every_page(&format!(
            "/groups/{id}/members?$top=2&$select=userPrincipalName"
        ))
        .await;

    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(upns(&items), people);
}

#[tokio::test]
async fn the_members_of_an_unknown_group_are_not_found() {
    let raw = Raw::new();
    let nobody = "3c3c3c3c-1111-4222-8333-444455556666";

    let (status, body) = raw
        .get(&format!("/groups/{nobody}/members?$select=id"))
        .await;

    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    assert!(body["error"]["message"].as_str().unwrap().contains(nobody));
}

#[tokio::test]
async fn a_members_top_out_of_range_or_a_members_filter_is_refused() {
    let raw = Raw::new();
    let path = format!("/groups/{PRO_GROUP}/members");

    let (zero, _) = raw.get(&format!("{path}?$top=0")).await;
    let (too_big, _) = raw.get(&format!("{path}?$top=1000")).await;
    let (filtered, body) = raw
        .get(&format!("{path}?$filter=accountEnabled%20eq%20true"))
        .await;

    assert_eq!((zero, too_big, filtered), (400, 400, 400));
    assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
}
