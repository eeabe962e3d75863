//! Message components, written from the developer docs' "Message Components" page (not from
//! licensebot): an action row (type 1) holds one to five buttons (type 2); a button has a
//! style from 1 to 5, a label of at most 80 characters, and a `custom_id` of 1 to 100
//! characters, unique in the message, unless it is a link button (style 5), which has a
//! `url` instead. A message carries at most five action rows.

use axum::response::Response;
use serde_json::{json, Map, Value};

use super::rest::invalid_form;

/// The fields an action row may carry.
const ROW_FIELDS: [&str; 3] = ["type", "components", "id"];
/// The fields a button may carry.
const BUTTON_FIELDS: [&str; 9] = [
    "type",
    "style",
    "label",
    "emoji",
    "custom_id",
    "sku_id",
    "url",
    "disabled",
    "id",
];

/// A message body's components checked: `None` when it sends none (an edit then keeps the
/// message's), the rows when they are well formed, and Discord's Invalid Form Body when not.
pub(super) fn of(body: &Value) -> Result<Option<Value>, Box<Response>> {
    let Some(rows) = body.get("components") else {
        return Ok(None);
    };
    let mut errors = Map::new();
    let Some(rows) = rows.as_array() else {
        return Err(refused("components", "an array"));
    };
    if rows.len() > 5 {
        return Err(refused("components", "at most 5 action rows"));
    }
    let mut ids = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if let Err(why) = row_ok(row, &mut ids) {
            errors.insert(
                i.to_string(),
                json!({"_errors": [{"code": "COMPONENT_INVALID", "message": why}]}),
            );
        }
    }
    if errors.is_empty() {
        Ok(Some(Value::Array(rows.clone())))
    } else {
        Err(Box::new(invalid_form(json!({ "components": errors }))))
    }
}

fn refused(field: &str, what: &str) -> Box<Response> {
    Box::new(invalid_form(json!({
        field: {"_errors": [{"code": "COMPONENT_INVALID", "message": format!("must be {what}")}]}
    })))
}

/// An action row: type 1, one to five buttons, nothing else.
fn row_ok(row: &Value, ids: &mut Vec<String>) -> Result<(), String> {
    let fields = row.as_object().ok_or("an action row is an object")?;
    if let Some(f) = fields.keys().find(|k| !ROW_FIELDS.contains(&k.as_str())) {
        return Err(format!("an action row has no field {f:?}"));
    }
    if row["type"] != 1 {
        return Err("a top-level component must be an action row (type 1)".into());
    }
    let buttons = row["components"]
        .as_array()
        .ok_or("an action row's components are an array")?;
    if buttons.is_empty() || buttons.len() > 5 {
        return Err("an action row holds 1 to 5 buttons".into());
    }
    buttons.iter().try_for_each(|b| button_ok(b, ids))
}

/// A button: type 2, a style 1–5, a label of at most 80 characters, a unique `custom_id` of
/// 1–100 characters (a link button: a `url` and no `custom_id`).
fn button_ok(b: &Value, ids: &mut Vec<String>) -> Result<(), String> {
    let fields = b.as_object().ok_or("a button is an object")?;
    if let Some(f) = fields.keys().find(|k| !BUTTON_FIELDS.contains(&k.as_str())) {
        return Err(format!("a button has no field {f:?}"));
    }
    if b["type"] != 2 {
        return Err("only buttons (type 2) are modelled".into());
    }
    let style = b["style"].as_u64().ok_or("a button needs a style")?;
    if !(1..=5).contains(&style) {
        return Err(format!("no button style {style}"));
    }
    if b["label"].as_str().is_some_and(|l| l.chars().count() > 80) {
        return Err("a label is at most 80 characters".into());
    }
    if style == 5 {
        return match (b.get("url"), b.get("custom_id")) {
            (Some(_), None) => Ok(()),
            _ => Err("a link button has a url and no custom_id".into()),
        };
    }
    let id = b["custom_id"]
        .as_str()
        .ok_or("a non-link button needs a custom_id")?;
    if id.is_empty() || id.chars().count() > 100 {
        return Err("a custom_id has 1 to 100 characters".into());
    }
    if ids.iter().any(|i| i == id) {
        return Err(format!("custom_id {id:?} is used twice in the message"));
    }
    ids.push(id.to_string());
    Ok(())
}

/// The `custom_id`s of the buttons a message's components hold.
pub(super) fn custom_ids(components: &Value) -> Vec<String> {
    components
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["custom_id"].as_str().map(str::to_string))
        .collect()
}
