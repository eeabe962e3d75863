//! The Discord side of [`ChatOutput`]: posts, edits, reactions and DMs over Discord's REST
//! API, with Discord's errors mapped onto [`ChatError`] so the outbox knows what to retry.
//!
//! Replies to slash commands: an interaction's message id is `interaction:<id>` (see
//! [`interaction_ref`]). The interaction's token lives only in memory, in
//! [`Interactions`], for Discord's 15 minutes. A reply to such an id fills the deferred
//! response (ephemeral or not, as decided when it was deferred), a second reply becomes a
//! follow-up, and once the token is gone (expired, or the process restarted) the reply is
//! posted in the interaction's channel instead. Nothing about interactions is stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serenity::all::{
    ButtonStyle, ChannelId, CreateActionRow, CreateAllowedMentions, CreateAttachment, CreateButton,
    CreateInteractionResponseFollowup, CreateMessage, EditInteractionResponse, EditMessage, Http,
    MessageId, MessageReference, MessageReferenceKind, Nonce, ReactionType, UserId,
};

use super::text::fit;
use crate::chat::{Buttons, ChatError, ChatOutput, DecisionLabels, Post, MAX_DELIVERY_KEY};
use crate::domain::{ChannelRef, ChatUserId, MessageRef, Picture};

/// Discord's JSON error code for "Cannot send messages to this user".
const CANNOT_DM: isize = 50007;

/// How long an interaction token is used: Discord's 15 minutes, less a margin.
const INTERACTION_TTL: Duration = Duration::from_secs(14 * 60);

/// The prefix of message ids that stand for a slash-command interaction.
const INTERACTION_PREFIX: &str = "interaction:";

/// The custom id of an approval message's Approve button.
pub const APPROVE_BUTTON: &str = "licensebot:approve";
/// The custom id of an approval message's Deny button.
pub const DENY_BUTTON: &str = "licensebot:deny";

/// An approval message's buttons: one row, Approve (green) and Deny (red).
fn decision_row(labels: &DecisionLabels) -> Vec<CreateActionRow> {
    vec![CreateActionRow::Buttons(vec![
        CreateButton::new(APPROVE_BUTTON)
            .label(labels.approve.as_str())
            .style(ButtonStyle::Success),
        CreateButton::new(DENY_BUTTON)
            .label(labels.deny.as_str())
            .style(ButtonStyle::Danger),
    ])]
}

/// The message id under which the engine knows a slash-command invocation.
pub fn interaction_ref(id: u64) -> MessageRef {
    MessageRef(format!("{INTERACTION_PREFIX}{id}"))
}

/// One deferred slash-command response.
struct Pending {
    token: String,
    ephemeral: bool,
    started: Instant,
    /// The deferred response was filled (or deleted): further replies are follow-ups.
    answered: bool,
}

/// The slash-command responses the bot still may write to, by interaction id.
#[derive(Default)]
pub struct Interactions {
    open: Mutex<HashMap<u64, Pending>>,
}

impl Interactions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Pending>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers a deferred response.
    pub fn begin(&self, id: u64, token: String, ephemeral: bool) {
        let mut open = self.lock();
        open.retain(|_, p| p.started.elapsed() < INTERACTION_TTL);
        open.insert(
            id,
            Pending {
                token,
                ephemeral,
                started: Instant::now(),
                answered: false,
            },
        );
    }

    /// How to answer interaction `id` now: `(token, ephemeral, first answer)`, or `None`
    /// when its token is gone. Marks the first answer as given.
    fn take_turn(&self, id: u64) -> Option<(String, bool, bool)> {
        let mut open = self.lock();
        let p = open.get_mut(&id)?;
        if p.started.elapsed() >= INTERACTION_TTL {
            open.remove(&id);
            return None;
        }
        let first = !p.answered;
        p.answered = true;
        Some((p.token.clone(), p.ephemeral, first))
    }

    /// Marks a deferred response as not answered again (its first answer failed).
    fn untake(&self, id: u64) {
        if let Some(p) = self.lock().get_mut(&id) {
            p.answered = false;
        }
    }

    /// The token of a response nobody answered yet, marking it answered; for clean-up.
    pub fn unanswered(&self, id: u64) -> Option<String> {
        let mut open = self.lock();
        let p = open.get_mut(&id)?;
        if p.answered {
            return None;
        }
        p.answered = true;
        Some(p.token.clone())
    }
}

/// Posts, edits, reacts and sends DMs on Discord.
pub struct DiscordOutput {
    http: Arc<Http>,
    dm_channels: tokio::sync::Mutex<HashMap<UserId, ChannelId>>,
    /// Open slash-command responses.
    pub interactions: Interactions,
}

/// Whom a message may ping: exactly the people the engine means to mention, and the author
/// of the message it replies to; never `@everyone`, `@here` or a role, nor a mention inside
/// text someone typed (a reason shown in the approvals channel). Discord parses nothing
/// itself when `parse` is empty: it pings only the listed users.
fn allowed(mentions: &[ChatUserId], reply: bool) -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .users(mentions.iter().filter_map(|u| user_id(u).ok()))
        .replied_user(reply)
}

fn snowflake(kind: &str, s: &str) -> Result<u64, ChatError> {
    match s.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ChatError::NotFound(format!(
            "{s:?} is not a Discord {kind} id"
        ))),
    }
}

fn channel_id(c: &ChannelRef) -> Result<ChannelId, ChatError> {
    snowflake("channel", c.as_str()).map(ChannelId::new)
}

fn message_id(m: &MessageRef) -> Result<MessageId, ChatError> {
    snowflake("message", m.as_str()).map(MessageId::new)
}

fn user_id(u: &ChatUserId) -> Result<UserId, ChatError> {
    snowflake("user", u.as_str()).map(UserId::new)
}

/// The reaction an emoji string names: a custom emoji `<:name:id>` or Unicode.
pub fn reaction_type(emoji: &str) -> Result<ReactionType, ChatError> {
    ReactionType::try_from(emoji.to_string())
        .map_err(|_| ChatError::Refused(format!("{emoji:?} is not an emoji")))
}

/// How the engine names a reaction's emoji: the Unicode text, or `<:name:id>`.
pub fn emoji_name(r: &ReactionType) -> String {
    match r {
        ReactionType::Unicode(s) => s.clone(),
        ReactionType::Custom { animated, id, name } => format!(
            "<{}:{}:{id}>",
            if *animated { "a" } else { "" },
            name.as_deref().unwrap_or("_")
        ),
        other => other.to_string(),
    }
}

/// Maps a serenity error onto what the outbox does with it: 429, 5xx and network trouble
/// are worth retrying, 50007 means closed DMs, 404 a missing message or channel, the rest
/// (400, 403) a refusal.
pub fn classify(e: &serenity::Error) -> ChatError {
    use serenity::http::HttpError;
    match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => {
            let status = r.status_code.as_u16();
            let what = format!(
                "{} {}: {} (code {})",
                r.method, status, r.error.message, r.error.code
            );
            match (status, r.error.code) {
                (_, CANNOT_DM) => ChatError::DmClosed,
                (429, _) | (500..=599, _) => ChatError::Transient(what),
                (404, _) => ChatError::NotFound(what),
                _ => ChatError::Refused(what),
            }
        }
        serenity::Error::Http(HttpError::Request(e)) => ChatError::Transient(e.to_string()),
        other => ChatError::Transient(other.to_string()),
    }
}

impl DiscordOutput {
    /// Output over `http`.
    pub fn new(http: Arc<Http>) -> Self {
        DiscordOutput {
            http,
            dm_channels: tokio::sync::Mutex::new(HashMap::new()),
            interactions: Interactions::default(),
        }
    }

    /// The REST client.
    pub fn http(&self) -> &Arc<Http> {
        &self.http
    }

    /// Posts a message. With a delivery `key`, it goes as the message's nonce with
    /// `enforce_nonce`: Discord then returns the message it already created with that nonce
    /// (from this bot, in the past few minutes) instead of creating a second one, so a retry
    /// after a lost answer does not post twice.
    async fn post(
        &self,
        channel: ChannelId,
        reply_to: Option<MessageId>,
        key: Option<&str>,
        post: &Post<'_>,
    ) -> Result<MessageRef, ChatError> {
        let mut msg = CreateMessage::new()
            .content(fit(post.content))
            .allowed_mentions(allowed(post.mentions, reply_to.is_some()));
        if let Some(labels) = post.decision {
            msg = msg.components(decision_row(labels));
        }
        let files = files(post.picture);
        for file in &files {
            msg = msg.add_file(file.clone());
        }
        if let Some(nonce) = key.and_then(nonce) {
            msg = msg.nonce(nonce).enforce_nonce(true);
        }
        if let Some(m) = reply_to {
            // A reply to a message deleted meanwhile is posted as a plain message.
            msg = msg.reference_message(
                MessageReference::new(MessageReferenceKind::Default, channel)
                    .message_id(m)
                    .fail_if_not_exists(false),
            );
        }
        let sent = self
            .http
            .send_message(channel, files, &msg)
            .await
            .map_err(|e| classify(&e))?;
        Ok(MessageRef(sent.id.to_string()))
    }

    /// Answers slash-command interaction `id`; `None` when its token is gone.
    async fn answer_interaction(
        &self,
        id: u64,
        post: &Post<'_>,
    ) -> Option<Result<MessageRef, ChatError>> {
        let (token, ephemeral, first) = self.interactions.take_turn(id)?;
        let files = files(post.picture);
        let result = if first {
            let mut edit = EditInteractionResponse::new()
                .content(fit(post.content))
                .allowed_mentions(allowed(post.mentions, false));
            for file in &files {
                edit = edit.new_attachment(file.clone());
            }
            let r = self
                .http
                .edit_original_interaction_response(&token, &edit, files)
                .await;
            if r.is_err() {
                self.interactions.untake(id);
            }
            r
        } else {
            let mut follow = CreateInteractionResponseFollowup::new()
                .content(fit(post.content))
                .ephemeral(ephemeral)
                .allowed_mentions(allowed(post.mentions, false));
            for file in &files {
                follow = follow.add_file(file.clone());
            }
            self.http
                .create_followup_message(&token, &follow, files)
                .await
        };
        Some(
            result
                .map(|m| MessageRef(m.id.to_string()))
                .map_err(|e| classify(&e)),
        )
    }

    /// Removes the "thinking…" placeholder of a slash command the engine did not answer (a
    /// command whose news went elsewhere, such as a cancellation told under the request).
    pub async fn close_interaction(&self, id: u64) {
        let Some(token) = self.interactions.unanswered(id) else {
            return;
        };
        if let Err(e) = self.http.delete_original_interaction_response(&token).await {
            tracing::warn!(interaction = id, error = %classify(&e), "could not remove an unanswered slash-command response");
        }
    }

    async fn dm_channel(&self, user: UserId) -> Result<ChannelId, ChatError> {
        let mut cache = self.dm_channels.lock().await;
        if let Some(c) = cache.get(&user) {
            return Ok(*c);
        }
        let channel = self
            .http
            .create_private_channel(&serde_json::json!({ "recipient_id": user.to_string() }))
            .await
            .map_err(|e| classify(&e))?;
        cache.insert(user, channel.id);
        Ok(channel.id)
    }

    async fn send_keyed(&self, key: Option<&str>, post: Post<'_>) -> Result<MessageRef, ChatError> {
        let channel = channel_id(post.channel)?;
        let Some(m) = post.reply_to else {
            return self.post(channel, None, key, &post).await;
        };
        match m.as_str().strip_prefix(INTERACTION_PREFIX) {
            Some(id) => {
                let id = snowflake("interaction", id)?;
                match self.answer_interaction(id, &post).await {
                    Some(result) => result,
                    // The token is gone: say it in the channel instead.
                    None => self.post(channel, None, key, &post).await,
                }
            }
            None => self.post(channel, Some(message_id(m)?), key, &post).await,
        }
    }

    async fn dm_keyed(
        &self,
        key: Option<&str>,
        user: &ChatUserId,
        content: &str,
        picture: Option<&Picture>,
    ) -> Result<MessageRef, ChatError> {
        let channel = self.dm_channel(user_id(user)?).await?;
        let post = Post {
            channel: &ChannelRef(channel.to_string()),
            content,
            reply_to: None,
            mentions: &[],
            decision: None,
            picture,
        };
        self.post(channel, None, key, &post).await
    }
}

/// A picture as the file a message uploads, with its description (alt text).
fn files(picture: Option<&Picture>) -> Vec<CreateAttachment> {
    picture
        .map(|p| {
            let mut file = CreateAttachment::bytes(p.png.clone(), p.file_name.as_str());
            file.description = Some(p.description.clone());
            file
        })
        .into_iter()
        .collect()
}

/// A delivery key as Discord's message nonce (a string of at most 25 characters); a longer
/// key (none is) goes without one.
fn nonce(key: &str) -> Option<Nonce> {
    if key.is_empty() || key.chars().count() > MAX_DELIVERY_KEY {
        tracing::warn!(
            key,
            "a delivery key that cannot be a Discord nonce; sent without one"
        );
        return None;
    }
    Some(Nonce::String(key.to_string()))
}

#[async_trait]
impl ChatOutput for DiscordOutput {
    async fn send(&self, post: Post<'_>) -> Result<MessageRef, ChatError> {
        self.send_keyed(None, post).await
    }

    async fn dm(&self, user: &ChatUserId, content: &str) -> Result<MessageRef, ChatError> {
        self.dm_keyed(None, user, content, None).await
    }

    async fn send_once(&self, key: &str, post: Post<'_>) -> Result<MessageRef, ChatError> {
        self.send_keyed(Some(key), post).await
    }

    async fn dm_once(
        &self,
        key: &str,
        user: &ChatUserId,
        content: &str,
    ) -> Result<MessageRef, ChatError> {
        self.dm_keyed(Some(key), user, content, None).await
    }

    async fn dm_picture_once(
        &self,
        key: &str,
        user: &ChatUserId,
        content: &str,
        picture: &Picture,
    ) -> Result<MessageRef, ChatError> {
        self.dm_keyed(Some(key), user, content, Some(picture)).await
    }

    async fn edit(
        &self,
        channel: &ChannelRef,
        message: &MessageRef,
        content: &str,
    ) -> Result<(), ChatError> {
        self.edit_approval(channel, message, content, Buttons::Leave)
            .await
    }

    async fn edit_approval(
        &self,
        channel: &ChannelRef,
        message: &MessageRef,
        content: &str,
        buttons: Buttons<'_>,
    ) -> Result<(), ChatError> {
        let mut edit = EditMessage::new()
            .content(fit(content))
            .allowed_mentions(allowed(&[], false));
        edit = match buttons {
            Buttons::Leave => edit,
            Buttons::Offer(labels) => edit.components(decision_row(labels)),
            Buttons::Remove => edit.components(Vec::new()),
        };
        self.http
            .edit_message(channel_id(channel)?, message_id(message)?, &edit, vec![])
            .await
            .map(|_| ())
            .map_err(|e| classify(&e))
    }

    async fn react(
        &self,
        channel: &ChannelRef,
        message: &MessageRef,
        emoji: &str,
    ) -> Result<(), ChatError> {
        self.http
            .create_reaction(
                channel_id(channel)?,
                message_id(message)?,
                &reaction_type(emoji)?,
            )
            .await
            .map_err(|e| classify(&e))
    }

    async fn unreact(
        &self,
        channel: &ChannelRef,
        message: &MessageRef,
        user: &ChatUserId,
        emoji: &str,
    ) -> Result<(), ChatError> {
        let result = self
            .http
            .delete_reaction(
                channel_id(channel)?,
                message_id(message)?,
                user_id(user)?,
                &reaction_type(emoji)?,
            )
            .await
            .map_err(|e| classify(&e));
        if let Err(ChatError::Refused(why)) = &result {
            // Without Manage Messages the reaction stays; the decision was refused anyway.
            tracing::warn!(message = %message, user = %user, reason = %why, "cannot remove a reaction (does the bot have Manage Messages?)");
        }
        result
    }

    async fn delete(&self, channel: &ChannelRef, message: &MessageRef) -> Result<(), ChatError> {
        self.http
            .delete_message(channel_id(channel)?, message_id(message)?, None)
            .await
            .map_err(|e| classify(&e))
    }

    fn mention(&self, user: &ChatUserId) -> String {
        format!("<@{user}>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interaction_turns_fill_then_follow_up() {
        let i = Interactions::default();
        i.begin(7, "tok".into(), true);

        assert_eq!(i.take_turn(7), Some(("tok".into(), true, true)));
        assert_eq!(i.take_turn(7), Some(("tok".into(), true, false)));
        assert_eq!(i.take_turn(8), None);
        assert_eq!(i.unanswered(7), None);
    }

    #[test]
    fn an_unanswered_interaction_is_handed_out_once_for_clean_up() {
        let i = Interactions::default();
        i.begin(9, "tok".into(), false);

        assert_eq!(i.unanswered(9), Some("tok".to_string()));
        assert_eq!(i.unanswered(9), None);
        assert_eq!(i.take_turn(9), Some(("tok".into(), false, false)));
    }

    #[test]
    fn emoji_round_trip() {
        assert_eq!(emoji_name(&reaction_type("✅").unwrap()), "✅");
        assert_eq!(
            emoji_name(&reaction_type("<:ok:123456789012345678>").unwrap()),
            "<:ok:123456789012345678>"
        );
    }

    #[test]
    fn ids_that_are_not_snowflakes_are_not_found() {
        assert!(matches!(
            channel_id(&ChannelRef::new("general")),
            Err(ChatError::NotFound(_))
        ));
    }
}
