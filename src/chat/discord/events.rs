//! Gateway events in, work for the engine out: messages (text commands), reactions, slash
//! commands, and READY / RESUMED, which ask for a catch-up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use serenity::all::{
    CommandInteraction, ComponentInteraction, ConnectionStage, Context, CreateInteractionResponse,
    CreateInteractionResponseMessage, EventHandler, Guild, GuildId, Interaction, InteractionId,
    Message, PartialGuild, Reaction as DiscordReaction, Ready, ResumedEvent, RoleId,
    ShardStageUpdateEvent, User, UserId,
};
use tokio::sync::mpsc;

use super::output::{
    classify, emoji_name, interaction_ref, DiscordOutput, APPROVE_BUTTON, DENY_BUTTON,
};
use super::slash;
use crate::chat::{ChatEvent, IncomingMessage, Press, Reaction};
use crate::domain::{ChannelRef, ChatUserId, Language, MessageRef};
use crate::texts::Texts;

/// Work for the engine, handed from serenity's event tasks to the one loop that drives the
/// engine (in arrival order, one at a time, as the console does).
#[derive(Debug)]
pub enum Work {
    /// A chat event.
    Event(ChatEvent),
    /// An interaction (a slash command rendered as a message, or a decision button pressed);
    /// its deferred response is cleaned up after, when the engine did not answer it.
    Slash {
        /// What it stands for.
        event: ChatEvent,
        /// The interaction id.
        interaction: u64,
    },
    /// A catch-up after READY or RESUMED.
    CatchUp(&'static str),
}

/// The serenity event handler of the Discord transport: filters, acknowledges slash
/// commands at once, and queues the rest for the engine loop.
pub struct Handler {
    /// Where work for the engine goes.
    pub work: mpsc::UnboundedSender<Work>,
    /// The output (interaction replies, the REST client).
    pub output: Arc<DiscordOutput>,
    /// The bot's own user id.
    pub bot: UserId,
    /// The guild served.
    pub guild: GuildId,
    /// The text command prefix slash commands are rendered with.
    pub prefix: String,
    /// The catalogue slash commands are described from.
    pub texts: Texts,
    /// Whether to register the slash commands on READY.
    pub register_commands: bool,
    /// Cleared at shutdown: events that arrive after it are left alone.
    pub accepting: Arc<AtomicBool>,
    /// The slash commands were registered in this process.
    pub registered: AtomicBool,
}

impl Handler {
    fn accepting(&self) -> bool {
        self.accepting.load(Ordering::SeqCst)
    }

    /// Whether a message is for the bot to read: not its own, not another bot's, and in the
    /// configured guild or a DM.
    fn wanted(&self, msg: &Message) -> bool {
        msg.author.id != self.bot
            && !msg.author.bot
            && msg.webhook_id.is_none()
            && msg.guild_id.is_none_or(|g| g == self.guild)
    }

    fn reaction(&self, r: &DiscordReaction) -> Option<Reaction> {
        let user = r.user_id?;
        if user == self.bot
            || r.guild_id != Some(self.guild)
            || r.member.as_ref().is_some_and(|m| m.user.bot)
        {
            return None;
        }
        Some(Reaction {
            message: MessageRef(r.message_id.to_string()),
            channel: Some(ChannelRef(r.channel_id.to_string())),
            user: ChatUserId(user.to_string()),
            emoji: emoji_name(&r.emoji),
            pressed: None,
        })
    }

    /// Tells the engine the guild's preferred language (a locale it does not speak: none).
    ///
    /// Only a Community guild chooses its preferred locale; every other guild reports
    /// Discord's default, `en-US`, which says nothing of its people, so it counts as none
    /// (else `[bot] language = "nl"` would never be heard on Discord).
    fn place_language(&self, features: &[String], locale: &str) {
        let community = features.iter().any(|f| f == "COMMUNITY");
        tracing::debug!(locale, community, "the guild's preferred locale");
        let language = community.then(|| Language::from_locale(locale)).flatten();
        self.queue(Work::Event(ChatEvent::PlaceLanguage(language)));
    }

    fn queue(&self, work: Work) {
        if !self.accepting() {
            return;
        }
        if let Err(e) = self.work.send(work) {
            tracing::warn!(work = ?e.0, "the engine loop has stopped; event dropped");
        }
    }

    async fn register(&self) {
        if !self.register_commands || self.registered.swap(true, Ordering::SeqCst) {
            return;
        }
        let commands = [slash::definition(&self.texts)];
        match self
            .output
            .http()
            .create_guild_commands(self.guild, &commands)
            .await
        {
            Ok(_) => tracing::info!(guild = %self.guild, "slash command /pro registered"),
            Err(e) => {
                self.registered.store(false, Ordering::SeqCst);
                tracing::error!(guild = %self.guild, error = %classify(&e), "could not register the slash commands; text commands still work");
            }
        }
    }

    async fn slash_command(&self, cmd: CommandInteraction) {
        if cmd.guild_id != Some(self.guild) || cmd.user.bot {
            return;
        }
        let Some(inv) = slash::invocation(&cmd.data.name, &cmd.data.options) else {
            tracing::debug!(command = %cmd.data.name, "not our slash command");
            return;
        };
        let rendered = slash::render(&inv, &self.prefix);
        let id = cmd.id.get();
        self.defer(cmd.id, &cmd.token, rendered.ephemeral).await;
        tracing::debug!(interaction = id, sub = %inv.sub, "slash command");
        self.queue(Work::Slash {
            event: ChatEvent::Message(IncomingMessage {
                id: interaction_ref(id),
                channel: ChannelRef(cmd.channel_id.to_string()),
                author: ChatUserId(cmd.user.id.to_string()),
                content: rendered.text,
                reply_to: None,
                direct: false,
                public: false,
                author_name: shown_name(&cmd.user),
                roles: role_ids(cmd.member.as_ref().map(|m| m.roles.as_slice())),
                locale: Language::from_locale(&cmd.locale),
            }),
            interaction: id,
        });
    }

    /// Acknowledges interaction `id` at once (Discord wants an answer within 3 seconds):
    /// "thinking…", filled in when the engine answers, or removed when it does not.
    async fn defer(&self, id: InteractionId, token: &str, ephemeral: bool) {
        let defer = CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new().ephemeral(ephemeral),
        );
        if let Err(e) = self
            .output
            .http()
            .create_interaction_response(id, token, &defer, vec![])
            .await
        {
            tracing::warn!(interaction = id.get(), error = %classify(&e), "could not acknowledge an interaction; its answer goes to the channel");
        } else {
            self.output
                .interactions
                .begin(id.get(), token.to_string(), ephemeral);
        }
    }

    /// An approval message's Approve or Deny button: the decision its reaction would be.
    /// Acknowledged privately, so what the bot says to the presser only they see.
    async fn pressed(&self, press: ComponentInteraction) {
        let approve = match press.data.custom_id.as_str() {
            APPROVE_BUTTON => true,
            DENY_BUTTON => false,
            other => {
                tracing::debug!(custom_id = other, "not our button");
                return;
            }
        };
        if press.guild_id != Some(self.guild) || press.user.bot {
            return;
        }
        let id = press.id.get();
        self.defer(press.id, &press.token, true).await;
        tracing::debug!(interaction = id, approve, message = %press.message.id, "decision button");
        self.queue(Work::Slash {
            event: ChatEvent::Pressed(Press {
                message: MessageRef(press.message.id.to_string()),
                channel: ChannelRef(press.channel_id.to_string()),
                user: ChatUserId(press.user.id.to_string()),
                approve,
                interaction: interaction_ref(id),
                locale: Language::from_locale(&press.locale),
            }),
            interaction: id,
        });
    }
}

/// The name a Discord user goes by: their display name, else their user name.
fn shown_name(user: &User) -> String {
    user.global_name
        .clone()
        .unwrap_or_else(|| user.name.clone())
}

/// The ids of a member's server roles (none outside a server).
fn role_ids(roles: Option<&[RoleId]>) -> Vec<String> {
    roles
        .map(|roles| roles.iter().map(|r| r.to_string()).collect())
        .unwrap_or_default()
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        tracing::info!(user = %ready.user.id, guilds = ready.guilds.len(), "connected to the Discord gateway");
        crate::telemetry::metrics::TRANSPORT_CONNECTED.set(1);
        self.output.http().set_application_id(ready.application.id);
        self.register().await;
        self.queue(Work::CatchUp("ready"));
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        tracing::info!("Discord gateway session resumed");
        crate::telemetry::metrics::TRANSPORT_CONNECTED.set(1);
        self.queue(Work::CatchUp("resumed"));
    }

    async fn shard_stage_update(&self, _ctx: Context, event: ShardStageUpdateEvent) {
        let connected = matches!(event.new, ConnectionStage::Connected);
        crate::telemetry::metrics::TRANSPORT_CONNECTED.set(i64::from(connected));
        if !connected {
            tracing::warn!(stage = ?event.new, "the Discord gateway connection is down");
        }
    }

    async fn message(&self, _ctx: Context, msg: Message) {
        if !self.wanted(&msg) {
            return;
        }
        let reply_to = msg
            .message_reference
            .as_ref()
            .and_then(|r| r.message_id)
            .map(|m| MessageRef(m.to_string()));
        let direct = msg.guild_id.is_none();
        self.queue(Work::Event(ChatEvent::Message(IncomingMessage {
            id: MessageRef(msg.id.to_string()),
            channel: ChannelRef(msg.channel_id.to_string()),
            author: ChatUserId(msg.author.id.to_string()),
            author_name: shown_name(&msg.author),
            roles: role_ids(msg.member.as_ref().map(|m| m.roles.as_slice())),
            content: msg.content,
            reply_to,
            direct,
            public: !direct,
            // A message says nothing of its author's app language.
            locale: None,
        })));
    }

    async fn guild_create(&self, _ctx: Context, guild: Guild, _is_new: Option<bool>) {
        if guild.id == self.guild {
            self.place_language(&guild.features, &guild.preferred_locale);
        }
    }

    async fn guild_update(&self, _ctx: Context, _old: Option<Guild>, guild: PartialGuild) {
        if guild.id == self.guild {
            self.place_language(&guild.features, &guild.preferred_locale);
        }
    }

    async fn reaction_add(&self, _ctx: Context, r: DiscordReaction) {
        if let Some(r) = self.reaction(&r) {
            self.queue(Work::Event(ChatEvent::ReactionAdded(r)));
        }
    }

    async fn reaction_remove(&self, _ctx: Context, r: DiscordReaction) {
        if let Some(r) = self.reaction(&r) {
            self.queue(Work::Event(ChatEvent::ReactionRemoved(r)));
        }
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        if !self.accepting() {
            return;
        }
        match interaction {
            Interaction::Command(cmd) => self.slash_command(cmd).await,
            Interaction::Component(press) => self.pressed(press).await,
            _ => {}
        }
    }
}
