//! Application commands and interactions: the guild's command registration (checked against
//! the documented option fields, `discord_schema.rs`), the interaction callback, and the
//! interaction webhook (edit or delete the original response, follow-up messages).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::super::discord_schema;
use super::rest::{
    checked, content, error, invalid_form, message_value, too_long, unknown_message,
};
use super::state::{Inner, Interaction};
use super::uploads::Upload;
use super::{APP, BOT, GUILD};

/// A message flag: only the person who ran the command sees it.
const EPHEMERAL: u64 = 64;
/// A message flag: the response is still "thinking" (a deferred callback).
const LOADING: u64 = 128;
/// The callback type of a deferred response.
const DEFERRED: u64 = 5;

/// `PUT /applications/{app}/guilds/{guild}/commands`: the whole set replaced.
pub(super) fn register(g: &mut Inner, app: u64, guild: u64, body: &Value) -> Response {
    if app != APP || guild != GUILD {
        return error(StatusCode::NOT_FOUND, 10002, "Unknown Application");
    }
    if let Some(errors) = discord_schema::form_body_errors(body) {
        return invalid_form(errors);
    }
    let mut out = Vec::new();
    for mut c in body.as_array().cloned().unwrap_or_default() {
        c["id"] = json!(g.id().to_string());
        c["application_id"] = json!(APP.to_string());
        c["guild_id"] = json!(GUILD.to_string());
        c["version"] = json!("1");
        c["default_member_permissions"] = Value::Null;
        c["type"] = json!(1);
        out.push(c);
    }
    g.commands = Some(body.clone());
    checked::<Vec<serenity::all::Command>>(g, "commands", Value::from(out))
}

/// `POST /interactions/{id}/{token}/callback`: once per interaction; the response becomes
/// a message in the interaction's channel ("thinking" when deferred).
pub(super) fn callback(g: &mut Inner, id: u64, token: &str, body: &Value) -> Response {
    let Some(i) = g
        .interactions
        .get(&id)
        .cloned()
        .filter(|i| i.token == token)
    else {
        return error(StatusCode::NOT_FOUND, 10062, "Unknown interaction");
    };
    if i.response.is_some() {
        return error(
            StatusCode::BAD_REQUEST,
            40060,
            "Interaction has already been acknowledged.",
        );
    }
    let kind = body["type"].as_u64().unwrap_or(0);
    let flags = body["data"]["flags"].as_u64().unwrap_or(0);
    let text = content(&body["data"]);
    let loading = if kind == DEFERRED { LOADING } else { 0 };
    let m = g.new_message(i.channel, BOT, &text, None, flags | loading);
    g.announce_create(m);
    let entry = g.interactions.get_mut(&id).expect("interaction");
    entry.response = Some((kind, flags));
    entry.original = Some(m);
    StatusCode::NO_CONTENT.into_response()
}

/// The answer `handler` gives, or the refusal it met on the way (an unknown webhook or
/// message, a text too long).
fn answer(handler: impl FnOnce() -> Result<Response, Box<Response>>) -> Response {
    handler().unwrap_or_else(|refused| *refused)
}

/// The interaction of a webhook token, when the webhook is the application's.
fn by_token(g: &Inner, app: u64, token: &str) -> Result<Interaction, Box<Response>> {
    let unknown = || Box::new(error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook"));
    if app != APP {
        return Err(unknown());
    }
    g.interactions
        .values()
        .find(|i| i.token == token)
        .cloned()
        .ok_or_else(unknown)
}

/// The original response's message of a webhook token.
fn original(g: &Inner, app: u64, token: &str) -> Result<u64, Box<Response>> {
    by_token(g, app, token)
        .ok()
        .and_then(|i| i.original)
        .ok_or_else(|| Box::new(unknown_message()))
}

/// The text a webhook call brings, refused when the webhook is not the app's or the text
/// is too long.
fn webhook_content(app: u64, body: &Value) -> Result<String, Box<Response>> {
    if app != APP {
        return Err(Box::new(error(
            StatusCode::NOT_FOUND,
            10015,
            "Unknown Webhook",
        )));
    }
    let content = content(body);
    match too_long(&content) {
        Some(refused) => Err(Box::new(refused)),
        None => Ok(content),
    }
}

/// `PATCH /webhooks/{app}/{token}/messages/@original`: the response's new text (no longer
/// "thinking"); announced unless ephemeral.
pub(super) fn edit_original(
    g: &mut Inner,
    (app, token): (u64, &str),
    (body, files): (&Value, Vec<Upload>),
) -> Response {
    answer(|| {
        let content = webhook_content(app, body)?;
        let m = original(g, app, token)?;
        let Some(msg) = g.messages.get_mut(&m).filter(|m| !m.deleted) else {
            return Ok(unknown_message());
        };
        msg.content = content;
        msg.flags &= !LOADING;
        msg.edits += 1;
        g.attach(m, files);
        let msg = g.messages[&m].clone();
        let v = message_value(g, &msg);
        if msg.flags & EPHEMERAL == 0 {
            g.dispatch("MESSAGE_UPDATE", v.clone());
        }
        Ok(Json(v).into_response())
    })
}

/// `DELETE /webhooks/{app}/{token}/messages/@original`.
pub(super) fn delete_original(g: &mut Inner, app: u64, token: &str) -> Response {
    if app != APP {
        return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
    }
    answer(|| {
        let m = original(g, app, token)?;
        if let Some(msg) = g.messages.get_mut(&m) {
            msg.deleted = true;
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

/// `POST /webhooks/{app}/{token}`: a follow-up message in the interaction's channel.
pub(super) fn follow_up(
    g: &mut Inner,
    (app, token): (u64, &str),
    (body, files): (&Value, Vec<Upload>),
) -> Response {
    answer(|| {
        let content = webhook_content(app, body)?;
        let i = by_token(g, app, token)?;
        let flags = body["flags"].as_u64().unwrap_or(0);
        let id = g.new_message(i.channel, BOT, &content, None, flags);
        g.attach(id, files);
        let v = message_value(g, &g.messages[&id].clone());
        g.announce_create(id);
        Ok(Json(v).into_response())
    })
}
