//! The chat command language: typed commands, and the pure parser that turns chat text and
//! reactions into them. Nothing here does I/O or holds texts for people: errors are typed
//! and the engine renders them through the message catalogue.

mod parse;
mod problem;

pub use parse::{parse_message, parse_reaction, same_emoji, ParserConfig};
pub use problem::ArgProblem;

use crate::domain::{BillingCycle, ChatUserId, Language, Month, RequestId, Term, Upn};

/// Longest chat message the parser looks at, in characters (Discord's own limit).
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// Longest reason kept with a request, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// Most targets one `assign` command may name.
pub const MAX_ASSIGN_TARGETS: usize = 100;
/// Most seats one `buy` command may ask for.
pub const MAX_SEATS_PER_BUY: u32 = 1000;

/// Who a command is about: a directory user by UPN, or a chat user by mention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A UPN typed out.
    Upn(Upn),
    /// A chat mention (`@bob` on the console, `<@123>` on Discord).
    Mention(ChatUserId),
}

/// The name of a command, for help and usage texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandName {
    Request,
    Link,
    Status,
    Cancel,
    Release,
    Help,
    Buy,
    Assign,
    Revoke,
    Seats,
    Pending,
    Away,
    Audit,
    Purchased,
    Unlink,
    Verify,
    Extend,
    Keep,
    Spend,
    Language,
}

impl CommandName {
    /// Every command, in the order help lists them.
    pub const ALL: [CommandName; 20] = [
        CommandName::Request,
        CommandName::Extend,
        CommandName::Keep,
        CommandName::Link,
        CommandName::Verify,
        CommandName::Unlink,
        CommandName::Status,
        CommandName::Cancel,
        CommandName::Release,
        CommandName::Language,
        CommandName::Help,
        CommandName::Buy,
        CommandName::Assign,
        CommandName::Revoke,
        CommandName::Seats,
        CommandName::Pending,
        CommandName::Away,
        CommandName::Audit,
        CommandName::Purchased,
        CommandName::Spend,
    ];

    /// The word a person types.
    pub fn word(self) -> &'static str {
        match self {
            CommandName::Request => "request",
            CommandName::Link => "link",
            CommandName::Status => "status",
            CommandName::Cancel => "cancel",
            CommandName::Release => "release",
            CommandName::Help => "help",
            CommandName::Buy => "buy",
            CommandName::Assign => "assign",
            CommandName::Revoke => "revoke",
            CommandName::Seats => "seats",
            CommandName::Pending => "pending",
            CommandName::Away => "away",
            CommandName::Audit => "audit",
            CommandName::Purchased => "purchased",
            CommandName::Unlink => "unlink",
            CommandName::Verify => "verify",
            CommandName::Extend => "extend",
            CommandName::Keep => "keep",
            CommandName::Spend => "spend",
            CommandName::Language => "language",
        }
    }

    /// True for commands only registered approvers may use.
    pub fn approvers_only(self) -> bool {
        matches!(
            self,
            CommandName::Buy
                | CommandName::Assign
                | CommandName::Revoke
                | CommandName::Seats
                | CommandName::Pending
                | CommandName::Away
                | CommandName::Audit
                | CommandName::Purchased
                | CommandName::Spend
        )
    }

    /// Looks a typed word up (case-insensitive).
    pub fn from_word(word: &str) -> Option<CommandName> {
        CommandName::ALL
            .into_iter()
            .find(|c| c.word().eq_ignore_ascii_case(word))
    }
}

/// A chat command, fully parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `request [for <upn|@user>] [for <term>] [reason…]`
    Request {
        target: Option<Target>,
        term: Option<Term>,
        reason: Option<String>,
    },
    /// `extend [for <term>]`: ask to keep your time-bound licence longer.
    Extend { term: Option<Term> },
    /// `keep`: keep your licence that an approver chose to move to someone else.
    Keep,
    /// `link <upn>`: start proving your own link. `link <@user> <upn>`: an approver attests
    /// someone's link.
    Link {
        /// The chat user an approver attests for; `None` for the speaker's own link.
        user: Option<ChatUserId>,
        /// The directory user.
        upn: Upn,
    },
    /// `verify <code>`: the code mailed to prove a link (eight digits).
    Verify {
        /// The digits, spaces and dashes taken out.
        code: String,
    },
    /// `status [id]`
    Status { id: Option<RequestId> },
    /// `cancel <id>`
    Cancel { id: RequestId },
    /// `release`
    Release,
    /// `help [command]`
    Help { topic: Option<CommandName> },
    /// `buy <n> [monthly|annual]`
    Buy {
        seats: u32,
        cycle: Option<BillingCycle>,
    },
    /// `assign <upn|@user>…`
    Assign { targets: Vec<Target> },
    /// `revoke <upn|@user> [reason…]`
    Revoke {
        target: Target,
        reason: Option<String>,
    },
    /// `unlink`: undo your own link; `unlink <upn|@user>`: an approver undoes someone's.
    Unlink { target: Option<Target> },
    /// `seats`
    Seats,
    /// `seats remove <n>`: lower the seat count by n.
    SeatsRemove { seats: u32 },
    /// `pending`
    Pending,
    /// `spend [YYYY-MM]`
    Spend { month: Option<Month> },
    /// `away on|off`
    Away { on: bool },
    /// `language [en|nl]`: the language the bot answers the speaker in, from now on (none:
    /// say which it is and which there are).
    Language { choice: Option<Language> },
    /// `audit <id>`
    Audit { id: RequestId },
    /// `purchased <id>`: a billing approver bought the seats of a manual purchase.
    Purchased { id: RequestId },
}

impl Command {
    /// The command's name.
    pub fn name(&self) -> CommandName {
        match self {
            Command::Request { .. } => CommandName::Request,
            Command::Extend { .. } => CommandName::Extend,
            Command::Keep => CommandName::Keep,
            Command::Link { .. } => CommandName::Link,
            Command::Status { .. } => CommandName::Status,
            Command::Cancel { .. } => CommandName::Cancel,
            Command::Release => CommandName::Release,
            Command::Help { .. } => CommandName::Help,
            Command::Buy { .. } => CommandName::Buy,
            Command::Assign { .. } => CommandName::Assign,
            Command::Revoke { .. } => CommandName::Revoke,
            Command::Seats | Command::SeatsRemove { .. } => CommandName::Seats,
            Command::Pending => CommandName::Pending,
            Command::Spend { .. } => CommandName::Spend,
            Command::Away { .. } => CommandName::Away,
            Command::Language { .. } => CommandName::Language,
            Command::Audit { .. } => CommandName::Audit,
            Command::Purchased { .. } => CommandName::Purchased,
            Command::Unlink { .. } => CommandName::Unlink,
            Command::Verify { .. } => CommandName::Verify,
        }
    }
}

/// What the parser made of one chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Not addressed to the bot; say nothing.
    Ignore,
    /// A well-formed command.
    Command(Command),
    /// A plain-language ask for Power BI Pro: suggest the `request` command.
    Suggest,
    /// A known command with bad arguments: answer with its usage line. `problem` says what
    /// was wrong when the parser can tell (e.g. an invalid UPN), in plain words.
    Usage {
        command: CommandName,
        problem: Option<ArgProblem>,
    },
    /// The prefix followed by something that is no command: answer with the help list.
    Unknown,
    /// The message is longer than [`MAX_MESSAGE_CHARS`].
    TooLong,
}

/// What an approver meant with a reaction on an approval message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Yes.
    Approve,
    /// No.
    Deny,
}
