//! `POST /$batch` (graph_licensing.md): at most 20 requests with unique ids, run in order
//! through the same handlers as single requests; a failed `dependsOn` gives 424, and each
//! item gets its own status, headers and body. Items are recorded, and faults may strike
//! single items.

use std::collections::{HashMap, HashSet};

use axum::http::HeaderMap;
use serde_json::{json, Map, Value};

use super::super::super::fake_http::Recorded;
use super::super::answer::{graph_error, Answer};
use super::super::State;

/// The most requests one batch may hold.
const MAX_ITEMS: usize = 20;

/// The whole batch: checked, then its items one by one.
pub(super) fn batch(state: &mut State, body: &[u8], crid: &str) -> Answer {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(requests) = parsed["requests"].as_array() else {
        return graph_error(400, "BadRequest", "Invalid batch payload format.", crid);
    };
    if let Err(message) = check(requests) {
        return graph_error(400, "BadRequest", &message, crid);
    }
    let mut statuses: HashMap<String, u16> = HashMap::new();
    let responses: Vec<Value> = requests
        .iter()
        .map(|r| item(state, r, &mut statuses))
        .collect();
    Answer::json(200, json!({"responses": responses}))
}

/// What is wrong with the batch as a whole, if anything.
fn check(requests: &[Value]) -> Result<(), String> {
    if requests.len() > MAX_ITEMS {
        return Err(format!(
            "The number of batch requests exceeds the limit of {MAX_ITEMS}."
        ));
    }
    let mut ids = HashSet::new();
    for r in requests {
        let (Some(id), Some(_), Some(_)) =
            (r["id"].as_str(), r["method"].as_str(), r["url"].as_str())
        else {
            return Err(
                "Invalid batch payload format: each request needs id, method and url.".into(),
            );
        };
        if !ids.insert(id.to_lowercase()) {
            return Err(format!("Batch request contains duplicate id '{id}'."));
        }
    }
    Ok(())
}

/// One item: recorded, then answered (424 after a failed dependency, 400 for a body
/// without a `Content-Type`, a fault's error, or the handler's answer).
fn item(state: &mut State, r: &Value, statuses: &mut HashMap<String, u16>) -> Value {
    let id = r["id"].as_str().unwrap_or_default().to_string();
    let method = r["method"].as_str().unwrap_or_default().to_uppercase();
    let url = r["url"].as_str().unwrap_or_default();
    let url = if url.starts_with('/') {
        url.to_string()
    } else {
        format!("/{url}")
    };
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let body = r.get("body").map(|b| b.to_string()).unwrap_or_default();
    let crid = uuid::Uuid::new_v4().to_string();
    state.batch_items.push(Recorded::new(
        &method,
        &format!("/v1.0{path}"),
        query,
        &HeaderMap::new(),
        &[],
        body.as_bytes(),
    ));
    let failed_dependency = r["dependsOn"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|d| statuses.get(d).is_none_or(|s| *s >= 400));
    let has_content_type = r["headers"]
        .as_object()
        .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("content-type")));
    let answer = if failed_dependency {
        graph_error(424, "BadRequest", "Failed dependency", &crid)
    } else if r.get("body").is_some() && !has_content_type {
        graph_error(
            400,
            "BadRequest",
            &format!("Write request id : {id} does not contain Content-Type header or body."),
            &crid,
        )
    } else {
        let fault = state.faults.take(&method, path, &body, true);
        match fault.and_then(|kind| kind.graph_error(&crid)) {
            Some(error) => error,
            None => super::graph(state, &method, path, query, body.as_bytes(), &crid),
        }
    };
    statuses.insert(id.clone(), answer.status);
    item_json(&id, answer)
}

/// A batch item's answer as it stands in the batch's `responses`.
fn item_json(id: &str, answer: Answer) -> Value {
    let mut headers = Map::new();
    headers.insert("Cache-Control".into(), Value::from("no-cache"));
    for (k, v) in answer.headers {
        headers.insert(k, Value::from(v));
    }
    let mut item = json!({"id": id, "status": answer.status, "headers": headers});
    if let Some(b) = answer.body {
        item["headers"]["Content-Type"] = Value::from("application/json");
        item["body"] = b;
    }
    item
}
