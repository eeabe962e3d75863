//! The Discord transport, on serenity (the only module that imports it).
//!
//! - Text commands come from MESSAGE_CREATE in the configured guild (prefix, or a mention of
//!   the bot, which the parser is told about) and from DMs to the bot; the bot's own
//!   messages, other bots' and other guilds' are ignored.
//! - The `/pro` slash command is registered in the guild at start-up (in a body that carries
//!   only the fields Discord documents for each option type, [`registration`]) and rendered
//!   into the equivalent text command ([`slash`]); its answers fill a deferred interaction
//!   response, ephemeral where the answer is private ([`output`] explains how a reply finds
//!   its interaction).
//! - Reactions (MESSAGE_REACTION_ADD / REMOVE) in the guild become the engine's reaction
//!   events; the bot's own are ignored.
//! - On READY and RESUMED a catch-up ([`catchup`]) reads the open approval messages over
//!   REST: reactions made while the bot was away are applied (each at most once: the engine
//!   de-duplicates), deleted approval messages are posted again, stale ones edited.
//! - Serenity reconnects and resumes the gateway by itself; the bot's state is in SQLite.
//! - Against anything but `https://discord.com` (tests use a fake on loopback) serenity's
//!   HTTP client is pointed there with its rate limiter off, so a 429 reaches the outbox,
//!   which retries later.

mod catchup;
mod events;
mod output;
mod registration;
mod slash;
mod text;

pub use output::{interaction_ref, DiscordOutput};
pub use registration::ApplicationCommand;
pub use slash::{
    definition as slash_definition, render as render_slash, Invocation, Rendered,
    Value as SlashValue,
};
pub use text::{fit, MAX_CONTENT};

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use secrecy::{ExposeSecret, SecretString};
use serenity::all::{ClientBuilder, GatewayIntents, GuildId, Http, HttpBuilder, UserId};

use tokio::sync::mpsc;

use crate::engine::Engine;
use crate::texts::Texts;

/// What the transport needs to know.
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    /// The bot token.
    pub token: SecretString,
    /// The guild served.
    pub guild_id: u64,
    /// Discord's base URL (`https://discord.com`, or a fake's).
    pub api_url: String,
    /// Whether to register `/pro` in the guild on READY.
    pub register_slash_commands: bool,
    /// The text command prefix.
    pub prefix: String,
}

impl DiscordConfig {
    fn is_real_discord(&self) -> bool {
        crate::config::is_real_discord(&self.api_url)
    }

    /// A REST client: the real Discord with serenity's rate limiter, anything else through
    /// serenity's proxy setting with the limiter off (the limiter would ignore the proxy).
    fn http(&self) -> Http {
        let builder = HttpBuilder::new(self.token.expose_secret());
        if self.is_real_discord() {
            builder.build()
        } else {
            builder
                .proxy(self.api_url.trim_end_matches('/'))
                .ratelimiter_disabled(true)
                .build()
        }
    }
}

/// The gateway intents the bot asks for. MESSAGE_CONTENT is privileged: enable it for the
/// application in the developer portal.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::GUILD_MESSAGE_REACTIONS
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
}

/// A connection to Discord's REST API, before the gateway is opened.
pub struct Discord {
    cfg: DiscordConfig,
    bot: UserId,
    output: Arc<DiscordOutput>,
}

impl Discord {
    /// Checks the token by asking Discord who the bot is (`GET /users/@me`).
    pub async fn connect(cfg: DiscordConfig) -> anyhow::Result<Discord> {
        let http = Arc::new(cfg.http());
        let me = http
            .get_current_user()
            .await
            .map_err(|e| anyhow::anyhow!(output::classify(&e)))
            .with_context(|| {
                format!(
                    "Failed to reach Discord at {} with the bot token",
                    cfg.api_url
                )
            })?;
        tracing::info!(bot = %me.id, name = %me.name, "Discord bot user");
        Ok(Discord {
            cfg,
            bot: me.id,
            output: Arc::new(DiscordOutput::new(http)),
        })
    }

    /// The bot's user id.
    pub fn bot_id(&self) -> u64 {
        self.bot.get()
    }

    /// The texts that address the bot in a message: its mention in both of Discord's forms.
    pub fn bot_mentions(&self) -> Vec<String> {
        vec![format!("<@{}>", self.bot), format!("<@!{}>", self.bot)]
    }

    /// The engine's chat output.
    pub fn output(&self) -> Arc<DiscordOutput> {
        self.output.clone()
    }

    /// Opens the gateway and feeds the engine until `shutdown` completes or the gateway
    /// fails for good; then stops taking events, closes the shard, and handles what was
    /// already received (for at most `drain`; the rest is lost to the log, reactions are
    /// found again by the next catch-up).
    ///
    /// The engine is driven here, on the caller's task, one event at a time in arrival
    /// order; serenity's event tasks only filter and queue.
    pub async fn run(
        self,
        engine: Engine,
        texts: Texts,
        shutdown: impl Future<Output = ()>,
        drain: Duration,
    ) -> anyhow::Result<()> {
        let accepting = Arc::new(AtomicBool::new(true));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let handler = events::Handler {
            work: tx,
            output: self.output.clone(),
            bot: self.bot,
            guild: GuildId::new(self.cfg.guild_id),
            prefix: self.cfg.prefix.clone(),
            texts,
            register_commands: self.cfg.register_slash_commands,
            accepting: accepting.clone(),
            registered: AtomicBool::new(false),
        };
        let mut client = ClientBuilder::new_with_http(self.cfg.http(), intents())
            .event_handler(handler)
            .await
            .context("Failed to build the Discord client")?;
        let shards = client.shard_manager.clone();
        let mut gateway = tokio::spawn(async move { client.start().await });
        let mut shutdown = std::pin::pin!(shutdown);
        let ended = loop {
            tokio::select! {
                r = &mut gateway => break Some(r),
                () = &mut shutdown => break None,
                Some(work) = rx.recv() => self.work(&engine, work).await,
            }
        };
        accepting.store(false, Ordering::SeqCst);
        if let Some(r) = ended {
            return match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(anyhow::anyhow!(e).context("The Discord gateway failed")),
                Err(e) => Err(anyhow::anyhow!(e).context("The Discord gateway task failed")),
            };
        }
        tracing::info!("closing the Discord gateway");
        shards.shutdown_all().await;
        match gateway.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the Discord gateway ended with an error"),
            Err(e) => tracing::warn!(error = %e, "the Discord gateway task ended abnormally"),
        }
        let drained = tokio::time::timeout(drain, async {
            while let Ok(work) = rx.try_recv() {
                self.work(&engine, work).await;
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!("events still waiting at shutdown were not handled");
        }
        Ok(())
    }

    async fn work(&self, engine: &Engine, work: events::Work) {
        match work {
            events::Work::Event(e) => engine.handle(e).await,
            events::Work::Slash { event, interaction } => {
                engine.handle(event).await;
                self.output.close_interaction(interaction).await;
            }
            events::Work::CatchUp(why) => {
                let started = std::time::Instant::now();
                let report = catchup::run(engine, self.output.http(), self.bot).await;
                tracing::info!(
                    after = why,
                    checked = report.checked,
                    reactions = report.reactions,
                    reposted = report.reposted,
                    refreshed = report.refreshed,
                    ms = started.elapsed().as_millis() as u64,
                    "discord catch-up done"
                );
            }
        }
    }
}
