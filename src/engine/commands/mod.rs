//! Chat commands: who may run them, and what each one does.

mod assign;
mod audit;
mod away;
mod buy;
mod cancel;
mod pending;
mod purchased;
mod release;
mod request;
mod revoke;
mod seats;
mod status;

use tracing::Instrument;

use super::{Engine, EngineError, EngineResult};
use crate::command::{Command, CommandName, Target};
use crate::domain::{ChatUserId, Upn};
use crate::engine::ports::IncomingMessage;
use crate::t;

impl Engine {
    pub(super) fn usage_line(&self, c: CommandName) -> String {
        let p = &self.core.cfg().parser.prefix;
        match c {
            CommandName::Request => t!(self.core.texts(), "help.request", prefix = p),
            CommandName::Link => t!(self.core.texts(), "help.link", prefix = p),
            CommandName::Status => t!(self.core.texts(), "help.status", prefix = p),
            CommandName::Cancel => t!(self.core.texts(), "help.cancel", prefix = p),
            CommandName::Release => t!(self.core.texts(), "help.release", prefix = p),
            CommandName::Help => t!(self.core.texts(), "help.help", prefix = p),
            CommandName::Buy => t!(self.core.texts(), "help.buy", prefix = p),
            CommandName::Assign => t!(self.core.texts(), "help.assign", prefix = p),
            CommandName::Revoke => t!(self.core.texts(), "help.revoke", prefix = p),
            CommandName::Seats => t!(self.core.texts(), "help.seats", prefix = p),
            CommandName::Pending => t!(self.core.texts(), "help.pending", prefix = p),
            CommandName::Away => t!(self.core.texts(), "help.away", prefix = p),
            CommandName::Audit => t!(self.core.texts(), "help.audit", prefix = p),
            CommandName::Purchased => t!(self.core.texts(), "help.purchased", prefix = p),
            CommandName::Unlink => t!(self.core.texts(), "help.unlink", prefix = p),
            CommandName::Verify => t!(self.core.texts(), "help.verify", prefix = p),
        }
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
        lines.join("\n")
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
            self.notice_unverified(m).await?;
        }
        let span = tracing::info_span!("command", command = cmd.name().word(), user = %m.author);
        self.dispatch(m, cmd).instrument(span).await
    }

    async fn dispatch(&self, m: &IncomingMessage, cmd: Command) -> EngineResult<()> {
        match cmd {
            Command::Help { topic } => {
                let text = match topic {
                    Some(c) => self.usage_line(c),
                    None => self.help_list(&m.author),
                };
                self.reply_now(m, text).await;
                Ok(())
            }
            Command::Link { user, upn } => self.link(m, user, upn).await,
            Command::Verify { code } => self.verify(m, &code).await,
            Command::Request { target, reason } => self.request(m, target, reason).await,
            Command::Status { id } => self.status(m, id).await,
            Command::Cancel { id } => self.cancel(m, id).await,
            Command::Release => self.release(m).await,
            Command::Buy { seats, cycle } => self.buy(m, seats, cycle).await,
            Command::Assign { targets } => self.assign(m, targets).await,
            Command::Revoke { target, reason } => self.revoke(m, target, reason).await,
            Command::Unlink { target } => self.unlink(m, target).await,
            Command::Seats => self.seats_report(m).await,
            Command::SeatsRemove { seats } => self.seats_remove(m, seats).await,
            Command::Pending => self.pending_report(m).await,
            Command::Away { on } => self.away(m, on).await,
            Command::Audit { id } => self.audit_report(m, id).await,
            Command::Purchased { id } => self.purchased(m, id).await,
        }
    }

    /// The directory user a command names: a UPN as typed, or the account a mentioned chat
    /// user acts for through a verified link.
    async fn resolve_target(&self, target: &Target) -> EngineResult<Upn> {
        match target {
            Target::Upn(u) => Ok(u.clone()),
            Target::Mention(user) => match self.acting_identity(user).await {
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
