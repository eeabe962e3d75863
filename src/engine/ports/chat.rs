//! The chat port: what happens in chat, as the engine hears it ([`ChatEvent`]), and what
//! the engine can do there ([`ChatOutput`]). Transports (the console, Discord) implement it.

use async_trait::async_trait;

use crate::domain::{ChannelRef, ChatUserId, Language, MessageRef, Picture};

/// A chat message someone wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// The message's id.
    pub id: MessageRef,
    /// Where it was written.
    pub channel: ChannelRef,
    /// Who wrote it.
    pub author: ChatUserId,
    /// What it says.
    pub content: String,
    /// The message it replies to, if any.
    pub reply_to: Option<MessageRef>,
    /// True for a direct message to the bot.
    pub direct: bool,
    /// True when others can read it: a message in a channel. False for a direct message and
    /// for a slash command's options, which only the bot sees.
    pub public: bool,
    /// The name the author goes by in chat, to show a person (a mail names the chat account
    /// that asked for it).
    pub author_name: String,
    /// The author's roles in the chat server (Discord role ids); empty where there are none.
    pub roles: Vec<String>,
    /// The language the author's chat app is set to, when the chat says it (a slash
    /// command's locale) and the bot speaks it: the reply is in it.
    pub locale: Option<Language>,
}

/// A reaction someone added to or removed from a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    /// The message.
    pub message: MessageRef,
    /// Its channel, when the transport knows it.
    pub channel: Option<ChannelRef>,
    /// Who reacted.
    pub user: ChatUserId,
    /// The emoji.
    pub emoji: String,
    /// When the decision came by a button rather than a reaction: the press's interaction,
    /// which is answered (only its presser sees the answer) instead of a direct message.
    pub pressed: Option<MessageRef>,
}

/// Someone pressed an approval message's Approve or Deny button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Press {
    /// The approval message.
    pub message: MessageRef,
    /// Its channel.
    pub channel: ChannelRef,
    /// Who pressed.
    pub user: ChatUserId,
    /// Approve (true) or Deny (false).
    pub approve: bool,
    /// The press's interaction: what the bot says to the presser answers it.
    pub interaction: MessageRef,
    /// The language of the presser's chat app, when the chat says it.
    pub locale: Option<Language>,
}

/// Something that happened in chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    /// A message was written.
    Message(IncomingMessage),
    /// A reaction was added.
    ReactionAdded(Reaction),
    /// A reaction was removed.
    ReactionRemoved(Reaction),
    /// A decision's button was pressed: the same decision as its reaction.
    Pressed(Press),
    /// The chat server's preferred language (a Discord guild's preferred locale), when the
    /// transport learns it; None when it prefers one the bot does not speak.
    PlaceLanguage(Option<Language>),
}

/// Why a chat action failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// The person does not accept direct messages.
    #[error("the user does not accept direct messages")]
    DmClosed,
    /// The message or channel is gone.
    #[error("not found: {0}")]
    NotFound(String),
    /// The platform refused the action for good.
    #[error("refused: {0}")]
    Refused(String),
    /// Worth trying again later.
    #[error("temporary failure: {0}")]
    Transient(String),
}

/// A message to post: where, what, in reply to what, and whom it may ping. Only the people in
/// `mentions` (and the author of `reply_to`) may be pinged by it: a mention inside text
/// someone typed, `@everyone` and role mentions ping nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Post<'a> {
    /// Where it goes.
    pub channel: &'a ChannelRef,
    /// What it says.
    pub content: &'a str,
    /// The message it answers, if any.
    pub reply_to: Option<&'a MessageRef>,
    /// Who may be pinged.
    pub mentions: &'a [ChatUserId],
    /// Buttons to decide by, on an approval message that waits for a decision.
    pub decision: Option<&'a DecisionLabels>,
    /// A picture it carries (the seat chart); a transport that shows none sends the text.
    pub picture: Option<&'a Picture>,
}

/// The words on an approval message's buttons, in the approvals channel's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionLabels {
    /// The Approve button's.
    pub approve: String,
    /// The Deny button's.
    pub deny: String,
}

/// What an edit does with an approval message's buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buttons<'a> {
    /// Not an approval message: whatever it carries stays.
    Leave,
    /// Its stage still waits for a decision: the buttons stand.
    Offer(&'a DecisionLabels),
    /// Its stage is decided (or closed): the buttons go.
    Remove,
}

/// The longest delivery key (Discord's limit on a message nonce).
pub const MAX_DELIVERY_KEY: usize = 25;

/// What the engine can do in chat.
#[async_trait]
pub trait ChatOutput: Send + Sync {
    /// Posts a message, optionally as a reply; returns its id. It pings only whom the
    /// [`Post`] names.
    async fn send(&self, post: Post<'_>) -> Result<MessageRef, ChatError>;

    /// Sends a direct message; returns its id. It pings nobody but its reader.
    async fn dm(&self, user: &ChatUserId, content: &str) -> Result<MessageRef, ChatError>;

    /// Posts like [`ChatOutput::send`], as the outbox action `key`: the same key on every
    /// attempt of one action and on no other action (at most [`MAX_DELIVERY_KEY`]
    /// characters). A transport that can recognise a repeat by it (Discord's message nonce)
    /// posts the message at most once, even when the answer to an earlier attempt was lost
    /// to a crash or a dropped connection. The default ignores the key.
    async fn send_once(&self, _key: &str, post: Post<'_>) -> Result<MessageRef, ChatError> {
        self.send(post).await
    }

    /// Sends a direct message like [`ChatOutput::dm`], as the outbox action `key` (see
    /// [`ChatOutput::send_once`]).
    async fn dm_once(
        &self,
        _key: &str,
        user: &ChatUserId,
        content: &str,
    ) -> Result<MessageRef, ChatError> {
        self.dm(user, content).await
    }

    /// Sends a direct message with a picture, like [`ChatOutput::dm_once`]. The default
    /// sends the text alone (a transport that shows no pictures).
    async fn dm_picture_once(
        &self,
        key: &str,
        user: &ChatUserId,
        content: &str,
        _picture: &Picture,
    ) -> Result<MessageRef, ChatError> {
        self.dm_once(key, user, content).await
    }

    /// Edits a message the bot posted. An edit pings nobody.
    async fn edit(
        &self,
        channel: &ChannelRef,
        message: &MessageRef,
        content: &str,
    ) -> Result<(), ChatError>;

    /// Edits an approval message like [`ChatOutput::edit`], and its decision buttons as
    /// `buttons` says. The default leaves buttons alone (a transport without them).
    async fn edit_approval(
        &self,
        channel: &ChannelRef,
        message: &MessageRef,
        content: &str,
        _buttons: Buttons<'_>,
    ) -> Result<(), ChatError> {
        self.edit(channel, message, content).await
    }

    /// Adds the bot's reaction to a message.
    async fn react(
        &self,
        channel: &ChannelRef,
        message: &MessageRef,
        emoji: &str,
    ) -> Result<(), ChatError>;

    /// Removes someone's reaction from a message.
    async fn unreact(
        &self,
        channel: &ChannelRef,
        message: &MessageRef,
        user: &ChatUserId,
        emoji: &str,
    ) -> Result<(), ChatError>;

    /// Deletes someone's message (a one-time code typed where others can read it), where
    /// the platform lets the bot; `Refused` where it does not.
    async fn delete(&self, channel: &ChannelRef, message: &MessageRef) -> Result<(), ChatError>;

    /// How to mention a user in a message (`@bob`, `<@123>`).
    fn mention(&self, user: &ChatUserId) -> String;
}
