//! Licences: `GET /subscribedSkus` (seats bought and used) and
//! `POST /users/{id|upn}/assignLicense`, with the reference's checks in its §13.6 order.
//! A direct assignment sits beside a group's for the same SKU and uses no second seat;
//! removing the direct one leaves the inherited one (graph_groups_identity.md §1.7).

use serde_json::{json, Value};

use super::super::answer::{graph_error, Answer};
use super::super::{Assigned, State, SUBSCRIPTION_ID, TENANT_ID};
use super::users::{assigned_licences_json, user_json};
use super::{not_found, Query};

/// `GET /subscribedSkus`: every SKU, consumedUnits counted from the users; `$select`
/// honoured, `$filter` refused as Graph does.
pub(super) fn subscribed_skus(state: &State, q: &Query, crid: &str) -> Answer {
    if q.contains_key("$filter") {
        return graph_error(400, "Request_UnsupportedQuery", "Unsupported Query.", crid);
    }
    let select: Option<Vec<String>> = q
        .get("$select")
        .map(|s| s.split(',').map(|k| k.trim().to_string()).collect());
    let value: Vec<Value> = state
        .skus
        .iter()
        .map(|s| {
            let full = json!({
                "accountName": "Contoso", "accountId": "f97aeefc-af85-414d-8ae4-b457f90efc40",
                "appliesTo": "User", "capabilityStatus": if s.enabled > 0 { "Enabled" } else { "Suspended" },
                "consumedUnits": state.consumed(&s.sku_id),
                "id": format!("{TENANT_ID}_{}", s.sku_id),
                "prepaidUnits": {"enabled": s.enabled, "lockedOut": 0, "suspended": 0, "warning": 0},
                "servicePlans": s.plans.iter().map(|(id, name)| json!({"servicePlanId": id, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User"})).collect::<Vec<_>>(),
                "skuId": s.sku_id, "skuPartNumber": s.part,
                "subscriptionIds": [SUBSCRIPTION_ID],
            });
            match &select {
                Some(keys) => Value::Object(
                    full.as_object()
                        .map(|m| m.iter().filter(|(k, _)| keys.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default(),
                ),
                None => full,
            }
        })
        .collect();
    Answer::json(
        200,
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscribedSkus", "value": value}),
    )
}

/// What an assignLicense body asks for.
struct Change {
    adds: Vec<Assigned>,
    /// SKU ids, lower case.
    removes: Vec<String>,
}

/// assignLicense with the reference's checks in its §13.6 order. Adding a SKU the user
/// already holds is a 200 no-op (the reference leaves it open; this fake picks that).
pub(super) fn assign_license(state: &mut State, key: &str, body: &[u8], crid: &str) -> Answer {
    let change = match parse_change(body) {
        Ok(change) => change,
        Err(missing) => return graph_error(400, "Request_BadRequest", &format!("One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: {missing}."), crid),
    };
    let Some(i) = state.user_index(key) else {
        return not_found(key, crid);
    };
    if let Err(message) = check_change(state, i, &change) {
        return graph_error(400, "Request_BadRequest", &message, crid);
    }
    apply_change(state, i, change)
}

/// The body's adds and removes; the names of the missing parameters when it lacks any.
fn parse_change(body: &[u8]) -> Result<Change, String> {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let missing: Vec<&str> = ["addLicenses", "removeLicenses"]
        .into_iter()
        .filter(|k| parsed.get(*k).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(missing.join(", "));
    }
    let list = |k: &str| parsed[k].as_array().cloned().unwrap_or_default();
    let text = |v: &Value| v.as_str().unwrap_or("").to_lowercase();
    let adds = list("addLicenses")
        .iter()
        .map(|a| Assigned {
            disabled_plans: a["disabledPlans"]
                .as_array()
                .map(|d| {
                    d.iter()
                        .filter_map(|p| p.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            ..Assigned::direct(&text(&a["skuId"]))
        })
        .collect();
    let removes = list("removeLicenses").iter().map(text).collect();
    Ok(Change { adds, removes })
}

/// The checks in the reference's order; the message of the first that fails (all are 400
/// `Request_BadRequest`).
fn check_change(state: &State, user: usize, change: &Change) -> Result<(), String> {
    let skus = change.adds.iter().map(|a| &a.sku_id);
    for sku in skus.chain(change.removes.iter()) {
        if uuid::Uuid::parse_str(sku).is_err() {
            return Err(format!("Cannot convert a primitive value to the expected type 'Edm.Guid'. See the inner exception for more details. ('{sku}')"));
        }
        if !state.skus.iter().any(|s| &s.sku_id == sku) {
            return Err(format!(
                "License {sku} does not correspond to a valid company License."
            ));
        }
    }
    let user = &state.users[user];
    let new_adds: Vec<&Assigned> = change
        .adds
        .iter()
        .filter(|a| !user.holds_seat(&a.sku_id))
        .collect();
    if !new_adds.is_empty() && user.usage_location.is_none() {
        return Err(
            "License assignment cannot be done for user with invalid usage location.".into(),
        );
    }
    for a in &new_adds {
        let sku = state
            .skus
            .iter()
            .find(|s| s.sku_id == a.sku_id)
            .expect("checked");
        if sku.enabled - state.consumed(&a.sku_id) <= 0 {
            return Err(format!(
                "Subscription with SKU {} does not have any available licenses.",
                a.sku_id
            ));
        }
    }
    let held: Vec<Assigned> = user
        .licenses
        .iter()
        .filter(|l| l.state.holds_seat())
        .cloned()
        .collect();
    for a in &new_adds {
        check_exclusive(state, &held, &a.sku_id)?;
    }
    let has = |r: &String, direct: bool| {
        user.licenses
            .iter()
            .any(|l| &l.sku_id == r && l.by_group.is_none() == direct)
    };
    let inherited = |r: &String| has(r, false) && !has(r, true);
    if change.removes.iter().any(inherited) {
        return Err("User license is inherited from a group membership and it cannot be removed directly from the user.".into());
    }
    Ok(())
}

/// Refuses a SKU whose plans cannot be held with a SKU the user has.
fn check_exclusive(state: &State, held: &[Assigned], sku_id: &str) -> Result<(), String> {
    let plan = |sku: &str| {
        state
            .skus
            .iter()
            .find(|s| s.sku_id == sku)
            .and_then(|s| s.plans.last())
            .map(|p| p.0.clone())
            .unwrap_or_default()
    };
    for (x, y) in &state.exclusive {
        let other = if sku_id == x {
            y
        } else if sku_id == y {
            x
        } else {
            continue;
        };
        if held.iter().any(|l| &l.sku_id == other) {
            return Err(format!(
                "License assignment failed because service plans {},{} are mutually exclusive.",
                plan(sku_id),
                plan(other)
            ));
        }
    }
    Ok(())
}

/// Makes the change (lagging reads keep seeing the old licences) and answers with the user.
fn apply_change(state: &mut State, i: usize, change: Change) -> Answer {
    let lag = state.readback_lag;
    let now = state.now();
    let user = &mut state.users[i];
    let before = user.licenses.clone();
    user.licenses
        .retain(|l| l.by_group.is_some() || !change.removes.contains(&l.sku_id));
    for a in change.adds {
        let direct = |l: &Assigned| l.sku_id == a.sku_id && l.by_group.is_none();
        if !user.licenses.iter().any(direct) {
            user.licenses.push(Assigned { updated: now, ..a });
        }
    }
    if lag > 0 && user.licenses != before {
        user.stale = Some((before, lag));
    }
    let licences = user.licenses.clone();
    let mut reply = user_json(user, &licences, None);
    reply["assignedLicenses"] = Value::from(assigned_licences_json(&licences));
    reply["@odata.context"] =
        Value::from("https://graph.microsoft.com/v1.0/$metadata#users/$entity");
    Answer::json(200, reply)
}
