//! `POST /users/{id|upn}/sendMail`: the proof codes the bot mails.

use serde_json::Value;

use super::super::answer::{graph_error, Answer};
use super::super::State;
use super::unreadable_json;

/// `POST /users/{id|upn}/sendMail` (graph_groups_identity.md §3): the sender must be a user
/// with a mailbox (else 404 `ErrorInvalidUser`); the body a `message` with a `Text` or `HTML`
/// body and at least one recipient address, `saveToSentItems` a JSON bool when present (else
/// 400). Accepted mail is kept; the answer is 202 with no body.
pub(super) fn send_mail(state: &mut State, key: &str, body: &[u8], crid: &str) -> Answer {
    let sender = match state.user_index(key) {
        Some(i) if state.users[i].user_type != "Guest" => state.users[i].upn.clone(),
        _ => {
            return graph_error(
                404,
                "ErrorInvalidUser",
                &format!("The requested user '{key}' is invalid."),
                crid,
            )
        }
    };
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return unreadable_json(crid);
    };
    let message = &request["message"];
    let content_type_ok = matches!(
        message["body"]["contentType"].as_str(),
        Some(t) if t.eq_ignore_ascii_case("Text") || t.eq_ignore_ascii_case("HTML")
    );
    let recipients_ok = message["toRecipients"].as_array().is_some_and(|r| {
        !r.is_empty()
            && r.iter().all(|x| {
                x["emailAddress"]["address"]
                    .as_str()
                    .is_some_and(|a| a.contains('@'))
            })
    });
    let save_ok = request
        .get("saveToSentItems")
        .is_none_or(|v| v.is_boolean());
    if !message.is_object() || !content_type_ok || !recipients_ok || !save_ok {
        return graph_error(
            400,
            "ErrorInvalidRequest",
            "The request is invalid: message, its body and recipients are required.",
            crid,
        );
    }
    state.mails.push((sender, request));
    Answer::empty(202)
}
