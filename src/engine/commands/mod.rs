//! Chat commands: who may run them, and what each one does, one file per command.
//!
//! [`Intake`] answers chat messages. It holds the shared context, the directory, a handle to
//! [`Opening`] (commands that open requests), a handle to [`Links`] (whom a chat account
//! acts for), and the chat output, used only to answer straight away when even a reply
//! cannot be queued. The commands share one struct rather than one each: they need the same
//! few handles, and a struct per command would repeat them fourteen times.

mod assign;
mod audit;
mod away;
mod buy;
mod cancel;
mod extend;
mod language;
mod pending;
mod purchased;
mod release;
mod request;
mod revoke;
mod seats;
mod spend;
mod status;

use super::alerts::SeatAlerts;
use super::reclaim::Reclaims;
use super::seat_history::SeatHistory;
use std::sync::Arc;

use tracing::Instrument;

use super::core::Core;
use super::directory::Directory;
use super::error::{EngineError, EngineResult};
use super::links::Links;
use super::opening::Opening;
use super::ports::{ChatOutput, Post};
use crate::command::{Command, CommandName, Target};
use crate::domain::{ChatUserId, Picture, Upn};
use crate::engine::ports::IncomingMessage;
use crate::store::outbox::{self, ChatAction};
use crate::t;

/// Chat messages in: commands parsed, run and answered. Built by the engine's root with
/// the use cases it hands commands to.
pub(super) struct Intake {
    pub(super) core: Arc<Core>,
    pub(super) directory: Arc<Directory>,
    /// Used only by `reply_now`, when a reply cannot be queued.
    pub(super) chat: Arc<dyn ChatOutput>,
    pub(super) opening: Arc<Opening>,
    pub(super) links: Arc<Links>,
    pub(super) reclaims: Arc<Reclaims>,
    /// Told the seats `!pro seats` read.
    pub(super) seats: SeatWatch,
}

/// Those told the seats `!pro seats` read: the seat alerts compare them, the history keeps
/// them and draws its chart.
pub(super) struct SeatWatch {
    pub(super) alerts: Arc<SeatAlerts>,
    pub(super) history: Arc<SeatHistory>,
}

impl Intake {
    /// Answers a message that is not a denial reason: a command, or why it is none.
    pub(super) async fn on_message(&self, m: &IncomingMessage) -> EngineResult<()> {
        use crate::command::{parse_message, Parsed};
        match parse_message(&m.content, &self.core.cfg().parser) {
            Parsed::Ignore => Ok(()),
            Parsed::Command(cmd) => self.run_command(m, cmd).await,
            Parsed::Suggest => {
                let text = t!(
                    self.core.texts(),
                    "parse.suggest",
                    prefix = self.core.cfg().parser.prefix
                );
                self.reply_now(m, text).await;
                Ok(())
            }
            Parsed::Usage { command, problem } => {
                let usage = self.usage_line(command);
                let text = match problem {
                    Some(p) => t!(
                        self.core.texts(),
                        "parse.usage_with_problem",
                        problem = p.render(self.core.texts()),
                        usage = usage
                    ),
                    None => t!(self.core.texts(), "parse.usage", usage = usage),
                };
                self.reply_now(m, text).await;
                Ok(())
            }
            Parsed::Unknown => {
                let text = format!(
                    "{}\n{}",
                    t!(self.core.texts(), "parse.unknown"),
                    self.help_list(&m.author)
                );
                self.reply_now(m, text).await;
                Ok(())
            }
            Parsed::TooLong => {
                let text = t!(
                    self.core.texts(),
                    "parse.too_long",
                    max = crate::command::MAX_MESSAGE_CHARS
                );
                self.reply_now(m, text).await;
                Ok(())
            }
        }
    }

    /// Queues a reply to a message in its own small transaction. When even that cannot be
    /// stored (the database is full, or locked for longer than its busy timeout), the reply
    /// is sent straight away instead, once and not kept: the person still hears why nothing
    /// happened. Failures are logged, never propagated.
    pub(super) async fn reply_now(&self, m: &IncomingMessage, text: String) {
        self.reply_now_with(m, text, None).await
    }

    /// [`Intake::reply_now`] with a picture the reply carries (sent without it when the
    /// reply cannot be queued).
    pub(super) async fn reply_now_with(
        &self,
        m: &IncomingMessage,
        text: String,
        picture: Option<&Picture>,
    ) {
        let action = self.core.reply_action(m, text);
        let result = async {
            let mut w = self.core.store().write().await?;
            outbox::push_with(w.conn().await?, &action, picture, self.core.now()).await?;
            w.commit().await
        }
        .await;
        let Err(e) = result else {
            return;
        };
        tracing::error!(error = %e, "could not queue a reply; sending it without the outbox");
        let chat = &self.chat;
        let sent = match &action {
            ChatAction::Dm { user, content, .. } => chat.dm(user, content).await.map(|_| ()),
            ChatAction::Send {
                channel,
                content,
                reply_to,
                mentions,
                ..
            } => chat
                .send(Post {
                    channel,
                    content,
                    reply_to: reply_to.as_ref(),
                    mentions,
                    decision: None,
                    picture: None,
                })
                .await
                .map(|_| ()),
            ChatAction::Edit { .. } | ChatAction::React { .. } | ChatAction::Unreact { .. } => {
                Ok(())
            }
        };
        if let Err(e) = sent {
            tracing::error!(error = %e, "could not send a reply either; it is lost");
        }
    }

    /// How command `c` is written, with what it does (`help.<command>`).
    pub(super) fn usage_line(&self, c: CommandName) -> String {
        let p = &self.core.cfg().parser.prefix;
        self.core
            .texts()
            .get(&format!("help.{}", c.word()), &[("prefix", p)])
    }

    pub(super) fn help_list(&self, user: &ChatUserId) -> String {
        let approver = self.core.cfg().approver(user).is_some();
        let mut lines = vec![t!(self.core.texts(), "help.header")];
        for c in CommandName::ALL.into_iter().filter(|c| !c.approvers_only()) {
            lines.push(self.usage_line(c));
        }
        if approver {
            lines.push(t!(self.core.texts(), "help.approver_header"));
            for c in CommandName::ALL.into_iter().filter(|c| c.approvers_only()) {
                lines.push(self.usage_line(c));
            }
        }
        let p = &self.core.cfg().parser.prefix;
        lines.push(t!(self.core.texts(), "help.more", prefix = p));
        lines.join("\n")
    }

    /// One command: how it is written, and an example. (The list holds no examples: with
    /// them it would pass Discord's 2,000 characters.)
    pub(super) fn help_topic(&self, c: CommandName) -> String {
        let p = &self.core.cfg().parser.prefix;
        let texts = self.core.texts();
        let example = texts.get(&format!("help_example.{}", c.word()), &[("prefix", p)]);
        format!(
            "{}\n{}",
            self.usage_line(c),
            t!(texts, "help.example", example = example)
        )
    }

    pub(super) async fn run_command(&self, m: &IncomingMessage, cmd: Command) -> EngineResult<()> {
        if cmd.name().approvers_only() && self.core.cfg().approver(&m.author).is_none() {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "command.approvers_only",
                command = cmd.name().word()
            )));
        }
        if !matches!(
            cmd.name(),
            CommandName::Link | CommandName::Verify | CommandName::Unlink
        ) {
            self.links.notice_unverified(m).await?;
        }
        let span = tracing::info_span!("command", command = cmd.name().word(), user = %m.author);
        self.dispatch(m, cmd).instrument(span).await
    }

    async fn dispatch(&self, m: &IncomingMessage, cmd: Command) -> EngineResult<()> {
        match cmd {
            Command::Help { topic } => {
                let text = match topic {
                    Some(c) => self.help_topic(c),
                    None => self.help_list(&m.author),
                };
                self.reply_now(m, text).await;
                Ok(())
            }
            Command::Link { user, upn } => self.links.link(m, user, upn).await,
            Command::Verify { code } => self.links.verify(m, &code).await,
            Command::Request {
                target,
                term,
                reason,
            } => self.request(m, target, term, reason).await,
            Command::Extend { term } => self.extend(m, term).await,
            Command::Keep => {
                let me = self.links.own_identity(m, "keep").await?;
                self.reclaims.keep(&m.author, &me).await?;
                self.reply_now(m, t!(self.core.texts(), "keep.done")).await;
                Ok(())
            }
            Command::Status { id } => self.status(m, id).await,
            Command::Cancel { id } => self.cancel(m, id).await,
            Command::Release => self.release(m).await,
            Command::Buy { seats, cycle } => self.buy(m, seats, cycle).await,
            Command::Assign { targets } => self.assign(m, targets).await,
            Command::Revoke { target, reason } => self.revoke(m, target, reason).await,
            Command::Unlink { target } => self.links.unlink(m, target).await,
            Command::Seats => self.seats_report(m).await,
            Command::SeatsRemove { seats } => self.seats_remove(m, seats).await,
            Command::Pending => self.pending_report(m).await,
            Command::Spend { month } => self.spend_report(m, month).await,
            Command::Away { on } => self.away(m, on).await,
            Command::Language { choice } => self.language(m, choice).await,
            Command::Audit { id } => self.audit_report(m, id).await,
            Command::Purchased { id } => self.purchased(m, id).await,
        }
    }

    /// The directory user a command names: a UPN as typed, or the account a mentioned chat
    /// user acts for through a verified link.
    async fn resolve_target(&self, target: &Target) -> EngineResult<Upn> {
        match target {
            Target::Upn(u) => Ok(u.clone()),
            Target::Mention(user) => match self.links.acting_identity(user).await {
                Ok(identity) => Ok(identity.upn),
                Err(EngineError::User(_)) => Err(EngineError::User(t!(
                    self.core.texts(),
                    "link.target_unlinked",
                    who = self.core.mention(user),
                    prefix = self.core.cfg().parser.prefix
                ))),
                Err(e) => Err(e),
            },
        }
    }
}
