//! Messages and their reactions (Discord's Message and Reaction resources), and DM
//! channels: what the bot creates, edits and deletes is kept and echoed on the gateway as
//! Discord does.

use std::time::Instant;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::json::{in_guild, user_json};
use super::rest::{
    checked, content, error, message_value, parse, too_long, too_long_field, unknown_message,
    ListQuery,
};
use super::state::Inner;
use super::uploads::Upload;
use super::{BOT, MAX_NONCE, NONCE_WINDOW};

/// `POST /users/@me/channels`: the DM channel with `recipient_id`, opened if need be.
pub(super) fn open_dm(g: &mut Inner, body: &Value) -> Response {
    let user = parse(body["recipient_id"].as_str().unwrap_or_default());
    let channel = g.dm_channel(user);
    let v = json!({"id": channel.to_string(), "type": 1, "last_message_id": null, "recipients": [user_json(user)]});
    checked::<serenity::all::PrivateChannel>(g, "DM channel", v)
}

/// `POST /channels/{channel}/messages`: content at most 2,000 characters, a channel the bot
/// can write in, a reply to a live message (unless `fail_if_not_exists: false`), and a
/// nonce of at most 25 characters that, with `enforce_nonce`, makes a second create return
/// the first message.
pub(super) fn create(g: &mut Inner, channel: u64, body: &Value, files: Vec<Upload>) -> Response {
    let content = content(body);
    if let Some(r) = too_long(&content) {
        return r;
    }
    if let Some(refused) = cannot_write(g, channel) {
        return refused;
    }
    let reply_to = match reply_to(g, body) {
        Ok(reply_to) => reply_to,
        Err(refused) => return *refused,
    };
    let nonce = match &body["nonce"] {
        Value::String(n) => Some(n.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if nonce
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NONCE)
    {
        return too_long_field("nonce", MAX_NONCE);
    }
    let components = match super::components::of(body) {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let enforced = body["enforce_nonce"].as_bool() == Some(true);
    let nonce = nonce.map(|n| (n, enforced));
    if let Some(earlier) = nonce.as_ref().and_then(|n| made_with(g, n)) {
        // The message made the first time, and nothing new.
        let v = message_value(g, &earlier);
        return Json(v).into_response();
    }
    if content.is_empty() && files.is_empty() && components.is_none() {
        return super::rest::error(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        );
    }
    let id = g.new_message(channel, BOT, &content, reply_to, 0);
    g.attach(id, files);
    if let (Some(m), Some(c)) = (g.messages.get_mut(&id), components) {
        m.pressable.extend(super::components::custom_ids(&c));
        m.components = c;
    }
    if let Some((n, enforced)) = nonce {
        if let Some(m) = g.messages.get_mut(&id) {
            m.nonce = Some(n.clone());
        }
        if enforced {
            g.nonces.insert((BOT, n), (id, Instant::now()));
        }
    }
    let v = message_value(g, &g.messages[&id].clone());
    g.announce_create(id);
    Json(v).into_response()
}

/// Why the bot cannot write in `channel`: a DM channel whose person closed their DMs, or a
/// channel it does not know.
fn cannot_write(g: &Inner, channel: u64) -> Option<Response> {
    match g.dm_channels.iter().find(|(_, ch)| **ch == channel) {
        Some((user, _)) if g.dm_closed.contains(user) => Some(error(
            StatusCode::FORBIDDEN,
            50007,
            "Cannot send messages to this user",
        )),
        Some(_) => None,
        None if !in_guild(channel) => Some(error(StatusCode::NOT_FOUND, 10003, "Unknown Channel")),
        None => None,
    }
}

/// The message a create replies to: none when it names none, or names a message that is
/// gone and says `fail_if_not_exists: false`; refused when it is gone otherwise.
fn reply_to(g: &Inner, body: &Value) -> Result<Option<u64>, Box<Response>> {
    let reference = &body["message_reference"];
    let Some(r) = reference["message_id"].as_str().map(parse) else {
        return Ok(None);
    };
    if g.messages.get(&r).is_some_and(|m| !m.deleted) {
        return Ok(Some(r));
    }
    if reference["fail_if_not_exists"].as_bool() == Some(false) {
        return Ok(None);
    }
    Err(Box::new(error(
        StatusCode::BAD_REQUEST,
        50035,
        "Invalid Form Body: Unknown message",
    )))
}

/// The message the bot created earlier with this enforced nonce, within the window.
fn made_with(g: &Inner, (nonce, enforced): &(String, bool)) -> Option<super::Msg> {
    if !enforced {
        return None;
    }
    let (m, at) = g.nonces.get(&(BOT, nonce.clone()))?;
    if at.elapsed() >= NONCE_WINDOW {
        return None;
    }
    g.messages.get(m).cloned()
}

/// `GET /channels/{channel}/messages/{message}`.
pub(super) fn get(g: &mut Inner, id: u64) -> Response {
    match g.messages.get(&id).cloned() {
        Some(msg) if !msg.deleted => {
            let v = message_value(g, &msg);
            Json(v).into_response()
        }
        _ => unknown_message(),
    }
}

/// `PATCH /channels/{channel}/messages/{message}`: only the bot's own messages; the edit is
/// announced as MESSAGE_UPDATE.
pub(super) fn edit(g: &mut Inner, id: u64, body: &Value) -> Response {
    let content = content(body);
    if let Some(r) = too_long(&content) {
        return r;
    }
    let components = match super::components::of(body) {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let Some(msg) = g.messages.get_mut(&id).filter(|m| !m.deleted) else {
        return unknown_message();
    };
    if msg.author != BOT {
        return error(
            StatusCode::FORBIDDEN,
            50005,
            "Cannot edit a message authored by another user",
        );
    }
    msg.content = content;
    msg.edits += 1;
    if let Some(c) = components {
        msg.pressable.extend(super::components::custom_ids(&c));
        msg.components = c;
    }
    let msg = msg.clone();
    let v = message_value(g, &msg);
    g.dispatch("MESSAGE_UPDATE", v.clone());
    Json(v).into_response()
}

/// `DELETE /channels/{channel}/messages/{message}`: another user's message needs
/// MANAGE_MESSAGES; 204 and a MESSAGE_DELETE to the gateway.
pub(super) fn delete(g: &mut Inner, id: u64) -> Response {
    let Some(msg) = g.messages.get(&id).filter(|m| !m.deleted).cloned() else {
        return unknown_message();
    };
    if msg.author != BOT && g.no_manage_messages {
        return missing_permissions();
    }
    g.delete_message(id);
    StatusCode::NO_CONTENT.into_response()
}

/// `PUT …/reactions/{emoji}/@me`.
pub(super) fn react(g: &mut Inner, message: u64, emoji: &str) -> Response {
    if g.add_reaction(message, BOT, emoji) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        unknown_message()
    }
}

/// `DELETE …/reactions/{emoji}/{user|@me}`: removing another's needs MANAGE_MESSAGES.
pub(super) fn unreact(g: &mut Inner, message: u64, emoji: &str, user: &str) -> Response {
    let user = if user == "@me" { BOT } else { parse(user) };
    if user != BOT && g.no_manage_messages {
        return missing_permissions();
    }
    if g.remove_reaction(message, user, emoji) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        unknown_message()
    }
}

/// `GET …/reactions/{emoji}`: the users who reacted, by id, paged with `after` and `limit`
/// (25 by default, at most 100).
pub(super) fn reactions(g: &mut Inner, message: u64, emoji: &str, q: &ListQuery) -> Response {
    let Some(msg) = g.messages.get(&message).filter(|m| !m.deleted) else {
        return unknown_message();
    };
    let mut users: Vec<u64> = msg.reactions.get(emoji).cloned().unwrap_or_default();
    users.sort_unstable();
    let after = q.after.unwrap_or(0);
    let v: Vec<Value> = users
        .into_iter()
        .filter(|u| *u > after)
        .take(q.limit.unwrap_or(25).min(100))
        .map(user_json)
        .collect();
    checked::<Vec<serenity::all::User>>(g, "reaction users", Value::from(v))
}

fn missing_permissions() -> Response {
    error(StatusCode::FORBIDDEN, 50013, "Missing Permissions")
}
