//! The fake Microsoft itself, spoken to with plain HTTP: the rules of the reference that our
//! client never breaks, so the fake's model of them would otherwise go unchecked.

use serde_json::{json, Value};

use crate::support::fake_microsoft::{
    FakeMicrosoft, CLIENT_ID, CLIENT_SECRET, CUSTOMER_ID, PC_CLIENT_ID, PC_CLIENT_SECRET,
    PC_TENANT_ID, PRO_SKU, SUBSCRIPTION_ID, TENANT_ID,
};

mod groups;
mod listings;
mod sign_ins;

/// Sends a request and reads its answer as JSON.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

struct Raw {
    http: reqwest::Client,
    fake: FakeMicrosoft,
}

impl Raw {
    fn new() -> Raw {
        Raw {
            http: reqwest::Client::new(),
            fake: FakeMicrosoft::start(),
        }
    }

    async fn token(&self, v1: bool) -> String {
        let url = if v1 {
            format!("{}/{PC_TENANT_ID}/oauth2/token", self.fake.base_url())
        } else {
            format!("{}/{TENANT_ID}/oauth2/v2.0/token", self.fake.base_url())
        };
        let form: Vec<(&str, &str)> = if v1 {
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", PC_CLIENT_ID),
                ("client_secret", PC_CLIENT_SECRET),
                ("resource", "https://api.partnercenter.microsoft.com"),
            ]
        } else {
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
            ]
        };
        let v = json_of(self.http.post(url).form(&form)).await;
        if v1 {
            assert!(v["expires_in"].is_string(), "v1 sends strings: {v}");
        } else {
            assert!(v["expires_in"].is_number(), "v2 sends numbers: {v}");
        }
        v["access_token"].as_str().unwrap().to_string()
    }

    /// Partner Center's address of the customer's subscription.
    fn subscription_url(&self) -> String {
        format!(
            "{}/v1/customers/{CUSTOMER_ID}/subscriptions/{SUBSCRIPTION_ID}",
            self.fake.base_url()
        )
    }

    /// A Graph GET with a valid token.
    async fn get(&self, path: &str) -> (u16, Value) {
        self.graph("GET", path, None).await
    }

    /// A Graph `GET` that must answer 200; its body.
    async fn get_ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// A Graph `$batch` of these requests, with a valid token.
    async fn batch(&self, requests: Value) -> (u16, Value) {
        self.graph("POST", "/$batch", Some(json!({ "requests": requests })))
            .await
    }

    async fn graph(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let token = self.token(false).await;
        let mut req = self
            .http
            .request(
                method.parse().unwrap(),
                format!("{}{path}", self.fake.graph_url()),
            )
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn get_item(id: &str, url: &str) -> Value {
    json!({"id": id, "method": "GET", "url": url})
}

#[tokio::test]
async fn graph_refuses_calls_without_a_valid_token() {
    let raw = Raw::new();

    let resp = raw
        .http
        .get(format!("{}/subscribedSkus", raw.fake.graph_url()))
        .send()
        .await
        .unwrap();

    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert!(body["error"]["innerError"]["request-id"].is_string());
}

#[tokio::test]
async fn subscribed_skus_refuse_a_filter_and_honour_select() {
    let raw = Raw::new();

    let (status, body) = raw
        .get("/subscribedSkus?$filter=skuPartNumber eq 'POWER_BI_PRO'")
        .await;
    assert_eq!(status, 400, "{body}");

    let (status, body) = raw
        .graph("GET", "/subscribedSkus?$select=skuId,consumedUnits", None)
        .await;
    assert_eq!(status, 200);
    let first = body["value"][0].as_object().unwrap();
    let mut keys: Vec<&String> = first.keys().collect();
    keys.sort();
    assert_eq!(keys, ["consumedUnits", "skuId"]);
}

#[tokio::test]
async fn users_default_to_the_default_properties_and_show_null_usage_location_on_select() {
    let raw = Raw::new();

    let (_, plain) = raw.get("/users/ivan@contoso.example").await;
    let (_, selected) = raw
        .graph(
            "GET",
            "/users/ivan@contoso.example?$select=id,usageLocation",
            None,
        )
        .await;

    assert!(plain.get("usageLocation").is_none(), "{plain}");
    assert!(plain["userPrincipalName"].is_string());
    assert!(selected["usageLocation"].is_null() && selected.get("usageLocation").is_some());
    assert!(selected["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("#users(id,usageLocation)/$entity"));
}

#[tokio::test]
async fn assign_license_needs_both_keys() {
    let raw = Raw::new();

    let (status, body) = raw
        .graph(
            "POST",
            "/users/alice@contoso.example/assignLicense",
            Some(json!({"addLicenses": [{"skuId": PRO_SKU, "disabledPlans": []}]})),
        )
        .await;

    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .ends_with("The missing parameters are: removeLicenses."));
}

#[tokio::test]
async fn a_batch_of_more_than_twenty_or_with_duplicate_ids_is_refused_whole() {
    let raw = Raw::new();
    let many: Vec<Value> = (0..21)
        .map(|i| get_item(&i.to_string(), "/users/alice@contoso.example"))
        .collect();

    let (too_many, _) = raw.batch(json!(many)).await;
    let (duplicate, _) = raw
        .batch(json!([
            get_item("1", "/subscribedSkus"),
            get_item("1", "/subscribedSkus")
        ]))
        .await;

    assert_eq!((too_many, duplicate), (400, 400));
}

#[tokio::test]
async fn batch_items_get_their_own_statuses_and_failed_dependencies_424() {
    let raw = Raw::new();

    let (status, body) = raw
        .batch(json!([
                get_item("1", "/users/nobody@contoso.example"),
                {"id": "2", "method": "POST", "url": "/users/alice@contoso.example/assignLicense",
                 "headers": {"Content-Type": "application/json"},
                 "body": {"addLicenses": [{"skuId": PRO_SKU, "disabledPlans": []}], "removeLicenses": []},
                 "dependsOn": ["1"]},
                get_item("3", "users/alice@contoso.example?$select=id"),
            ]))
        .await;

    assert_eq!(status, 200, "the batch parsed");
    let by_id = |id: &str| {
        body["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("1")["status"], 404);
    assert_eq!(by_id("2")["status"], 424);
    assert_eq!(by_id("3")["status"], 200);
    assert!(raw.fake.licences_of("alice@contoso.example").is_empty());
}

#[tokio::test]
async fn the_users_list_filters_by_upn_with_at_most_fifteen_values() {
    let raw = Raw::new();
    let list = |n: usize| {
        let values: Vec<String> = (0..n).map(|i| format!("'u{i}@contoso.example'")).collect();
        format!(
            "/users?$filter=userPrincipalName%20in%20({})&$select=id,userPrincipalName",
            values.join(",")
        )
    };

    let (ok, _) = raw.get(&list(15)).await;
    let (too_many, refused) = raw.get(&list(16)).await;
    let (_, found) = raw
        .graph(
            "GET",
            "/users?$filter=userPrincipalName%20in%20('ALICE@contoso.example','nobody@x.example')&$select=userPrincipalName,usageLocation",
            None,
        )
        .await;

    assert_eq!((ok, too_many), (200, 400));
    assert_eq!(refused["error"]["code"], "Request_UnsupportedQuery");
    assert_eq!(
        found["value"],
        json!([{"userPrincipalName": "alice@contoso.example", "usageLocation": "NL"}])
    );
    assert_eq!(
        found["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#users(userPrincipalName,usageLocation)"
    );
}

#[tokio::test]
async fn the_users_list_reads_a_quote_doubled_and_refuses_a_filter_it_does_not_know() {
    let raw = Raw::new();
    raw.fake
        .state()
        .users
        .push(crate::support::fake_microsoft::FakeUser::member(
            "o'brien@contoso.example",
            "Pat O'Brien",
        ));

    let doubled = raw
        .get_ok("/users?$filter=userPrincipalName%20eq%20'o''brien@contoso.example'")
        .await;
    let (injected, _) = raw
        .get("/users?$filter=userPrincipalName%20eq%20'x'%20or%20accountEnabled%20eq%20true")
        .await;

    assert_eq!(doubled["value"][0]["displayName"], "Pat O'Brien");
    assert_eq!(injected, 400);
}

#[tokio::test]
async fn the_users_list_pages_with_a_next_link_and_refuses_a_top_over_999() {
    let raw = Raw::new();
    raw.fake.add_members(30);

    let (_, first) = raw.get("/users?$top=25&$select=id").await;
    let next = first["@odata.nextLink"].as_str().unwrap().to_string();
    let path = next.strip_prefix(&raw.fake.graph_url()).unwrap();
    let (_, second) = raw.get(path).await;
    let (too_big, _) = raw.get("/users?$top=1000").await;

    let total = raw.fake.state().users.len();
    assert_eq!(first["value"].as_array().unwrap().len(), 25);
    assert_eq!(second["value"].as_array().unwrap().len(), total - 25);
    assert!(second.get("@odata.nextLink").is_none());
    assert_eq!(too_big, 400);
}

#[tokio::test]
async fn partner_center_replays_a_request_id_and_refuses_a_stale_etag() {
    let raw = Raw::new();
    let token = raw.token(true).await;
    let url = raw.subscription_url();
    let sub = json_of(
        raw.http
            .get(&url)
            .bearer_auth(&token)
            .header("MS-Contract-Version", "v1"),
    )
    .await;
    let etag = sub["attributes"]["etag"].as_str().unwrap().to_string();
    let mut body = sub.clone();
    body["quantity"] = json!(5);
    let patch = |request_id: &'static str, etag: String, body: Value| {
        let req = raw
            .http
            .patch(&url)
            .bearer_auth(&token)
            .header("MS-Contract-Version", "v1")
            .header("MS-RequestId", request_id)
            .header("If-Match", etag)
            .json(&body);
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };

    let first = patch(
        "11111111-1111-4111-8111-111111111111",
        etag.clone(),
        body.clone(),
    )
    .await;
    let replay = patch(
        "11111111-1111-4111-8111-111111111111",
        etag.clone(),
        body.clone(),
    )
    .await;
    let stale = patch("22222222-2222-4222-8222-222222222222", etag, body).await;

    assert_eq!(first.0, 200);
    assert_eq!(replay, first, "the same MS-RequestId gets the same answer");
    assert_eq!(stale.0, 400);
    assert_eq!(stale.1["code"], 2055);
    assert_eq!(stale.1["source"], "PartnerFD");
    assert_eq!(raw.fake.state().quantity_changes, [(2, 5)]);
}

#[tokio::test]
async fn partner_center_refuses_a_call_without_a_contract_version() {
    let raw = Raw::new();
    let token = raw.token(true).await;
    let url = raw.subscription_url();

    let resp = raw.http.get(&url).bearer_auth(&token).send().await.unwrap();

    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], 800002);
    assert_eq!(body["source"], "PartnerFD");
    assert!(
        body["data"][0]
            .as_str()
            .is_some_and(|d| d.contains("MS-Contract-Version")),
        "{body}"
    );
}

#[tokio::test]
async fn a_wrong_secret_gets_the_identity_platforms_error() {
    let raw = Raw::new();

    let resp = raw
        .http
        .post(format!(
            "{}/{TENANT_ID}/oauth2/v2.0/token",
            raw.fake.base_url()
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", "nope"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"][0], 7000215);
}
