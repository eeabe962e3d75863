//! The parser: turns one chat message into a [`Parsed`] and one reaction into a [`Verdict`].
//!
//! A message is first normalised (see [`normalize`]), then checked for the prefix or a bot
//! mention. Text not addressed to the bot is only looked at for a plain-language ask for
//! Power BI Pro. Addressed text is `<command word> <args…>`, read left to right through a
//! small cursor that refuses leftovers. Everything here is total: any input gives an
//! answer, nothing panics, and work is bounded by [`MAX_MESSAGE_CHARS`].

mod normalize;

use std::sync::LazyLock;

use regex::Regex;

use super::{
    ArgProblem, Command, CommandName, Parsed, Target, Verdict, MAX_ASSIGN_TARGETS,
    MAX_MESSAGE_CHARS, MAX_REASON_CHARS, MAX_SEATS_PER_BUY,
};
use crate::domain::{BillingCycle, ChatUserId, Language, Month, RequestId, Term, Upn};
use normalize::normalize;

/// How the parser recognises messages meant for the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParserConfig {
    /// The command prefix, e.g. `!pro`. Matched with ASCII case folding only, and it must
    /// be followed by the end of the message or a space (`!professional` is not `!pro`).
    pub prefix: String,
    /// Literal tokens that address the bot, e.g. `@licensebot` on the console, or
    /// `<@123456>` and `<@!123456>` on Discord. Matched like the prefix.
    pub bot_mentions: Vec<String>,
}

/// Why a known command's arguments were refused; `None` when the usage line says enough.
type Problem = Option<ArgProblem>;

/// `power bi pro` with any spacing or hyphens, any case.
static POWER_BI_PRO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)power[\s\-]*bi[\s\-]*pro").expect("the Power BI Pro pattern is valid")
});

/// `licence`, `license` (English) or `licentie`, `licenties` (Dutch), any case.
static LICENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)licen[cs]e|licentie").expect("the licence pattern is valid"));

/// Parses one chat message.
///
/// Returns [`Parsed::Ignore`] for chatter, [`Parsed::Suggest`] for a plain-language ask
/// for a Power BI Pro licence, [`Parsed::TooLong`] for an addressed message over
/// [`MAX_MESSAGE_CHARS`] characters, and otherwise the command, [`Parsed::Unknown`] or
/// [`Parsed::Usage`].
pub fn parse_message(text: &str, cfg: &ParserConfig) -> Parsed {
    // `nth` stops after MAX_MESSAGE_CHARS + 1 characters, and `normalize` reads at most
    // MAX_MESSAGE_CHARS, so a huge message costs no more than a full-length one.
    let too_long = text.chars().nth(MAX_MESSAGE_CHARS).is_some();
    let text = normalize(text, MAX_MESSAGE_CHARS);
    let prefix = normalize(&cfg.prefix, MAX_MESSAGE_CHARS);
    match addressed_rest(&text, &prefix, &cfg.bot_mentions) {
        Some(_) if too_long => Parsed::TooLong,
        Some(rest) => parse_command(rest, &prefix),
        None if !too_long && asks_for_pro_licence(&text) => Parsed::Suggest,
        None => Parsed::Ignore,
    }
}

/// Maps a reaction emoji to a verdict, using the configured approve and deny emoji.
///
/// Variation selectors (U+FE0E, U+FE0F) and skin-tone modifiers (U+1F3FB..U+1F3FF) are
/// ignored on both sides; everything else must match exactly, so `✔` or `☑` is not `✅`.
/// An emoji found in both lists gives `None` rather than letting either side win.
pub fn parse_reaction(emoji: &str, approve: &[String], deny: &[String]) -> Option<Verdict> {
    // An emoji made only of modifiers names nothing, and must not match an empty entry.
    emoji_base(emoji).next()?;
    let listed = |list: &[String]| list.iter().any(|e| emoji_base(e).eq(emoji_base(emoji)));
    match (listed(approve), listed(deny)) {
        (true, false) => Some(Verdict::Approve),
        (false, true) => Some(Verdict::Deny),
        _ => None,
    }
}

/// Whether a reaction is `wanted`, presentation selectors and skin tones aside (as
/// [`parse_reaction`] compares): `♻` is `♻️`.
pub fn same_emoji(emoji: &str, wanted: &str) -> bool {
    emoji_base(emoji).next().is_some() && emoji_base(emoji).eq(emoji_base(wanted))
}

/// The characters of an emoji without presentation selectors and skin tones.
fn emoji_base(emoji: &str) -> impl Iterator<Item = char> + '_ {
    emoji
        .chars()
        .filter(|c| !matches!(c, '\u{FE0E}' | '\u{FE0F}' | '\u{1F3FB}'..='\u{1F3FF}'))
}

/// The text after the prefix or bot mention, if the (normalised) message starts with one.
fn addressed_rest<'a>(text: &'a str, prefix: &str, mentions: &[String]) -> Option<&'a str> {
    strip_lead(text, prefix).or_else(|| {
        mentions
            .iter()
            .find_map(|m| strip_lead(text, &normalize(m, MAX_MESSAGE_CHARS)))
    })
}

/// Strips `lead` (ASCII case-insensitive) from the start of `text` when it is followed by
/// the end of the text or a space. An empty `lead` never matches.
fn strip_lead<'a>(text: &'a str, lead: &str) -> Option<&'a str> {
    if lead.is_empty() {
        return None;
    }
    // `get` refuses a cut inside a character, so a look-alike can't slice a code point;
    // ASCII-only case folding keeps `!prо` (Cyrillic о) and the Kelvin sign from matching.
    let head = text.get(..lead.len())?;
    if !head.eq_ignore_ascii_case(lead) {
        return None;
    }
    let rest = text.get(lead.len()..)?;
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix(' ')
    }
}

/// True when unaddressed text mentions both Power BI Pro and a licence.
fn asks_for_pro_licence(text: &str) -> bool {
    POWER_BI_PRO.is_match(text) && LICENCE.is_match(text)
}

/// Parses the addressed part of a message: `<command word> <args…>`.
fn parse_command(rest: &str, prefix: &str) -> Parsed {
    let mut args = Args { rest };
    let Some(word) = args.next() else {
        return Parsed::Command(Command::Help { topic: None });
    };
    let Some(name) = CommandName::from_word(word) else {
        return Parsed::Unknown;
    };
    match parse_args(name, &mut args, prefix) {
        Ok(command) => Parsed::Command(command),
        Err(problem) => Parsed::Usage {
            command: name,
            problem,
        },
    }
}

/// A cursor over the space-separated arguments of a normalised message.
struct Args<'a> {
    rest: &'a str,
}

impl<'a> Args<'a> {
    /// The next argument, if any.
    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let (token, rest) = split_first(self.rest);
        self.rest = rest;
        Some(token)
    }

    /// Everything not read yet, as typed (after normalisation).
    fn take_rest(&mut self) -> &'a str {
        std::mem::take(&mut self.rest)
    }

    /// Refuses leftover arguments.
    fn finish(&mut self) -> Result<(), Problem> {
        match self.next() {
            None => Ok(()),
            Some(extra) => Err(Some(ArgProblem::Unexpected {
                token: shorten(extra),
            })),
        }
    }
}

/// Splits normalised text at its first space.
fn split_first(text: &str) -> (&str, &str) {
    text.split_once(' ').unwrap_or((text, ""))
}

/// Parses the arguments of a known command.
fn parse_args(name: CommandName, args: &mut Args<'_>, prefix: &str) -> Result<Command, Problem> {
    let command = match name {
        CommandName::Request => return request(args),
        CommandName::Extend => Command::Extend {
            term: extend_term(args)?,
        },
        CommandName::Assign => return assign(args),
        CommandName::Link => link(args)?,
        CommandName::Verify => return verify(args),
        CommandName::Status => Command::Status {
            id: args.next().map(request_id).transpose()?,
        },
        CommandName::Cancel => Command::Cancel {
            id: request_id(args.next().ok_or_else(need_request_id)?)?,
        },
        CommandName::Audit => Command::Audit {
            id: request_id(args.next().ok_or_else(need_request_id)?)?,
        },
        CommandName::Purchased => Command::Purchased {
            id: request_id(args.next().ok_or_else(need_request_id)?)?,
        },
        CommandName::Release => Command::Release,
        CommandName::Keep => Command::Keep,
        CommandName::Seats => match args.next() {
            None => Command::Seats,
            Some(word) if word.eq_ignore_ascii_case("remove") => Command::SeatsRemove {
                seats: seat_count(args.next())?,
            },
            Some(extra) => {
                return Err(Some(ArgProblem::Unexpected {
                    token: shorten(extra),
                }))
            }
        },
        CommandName::Pending => Command::Pending,
        CommandName::Spend => Command::Spend {
            month: args
                .next()
                .map(|w| {
                    Month::parse(w).ok_or_else(|| Some(ArgProblem::NotAMonth { token: shorten(w) }))
                })
                .transpose()?,
        },
        CommandName::Help => Command::Help {
            topic: args
                .next()
                .map(|w| help_topic(w, prefix))
                .transpose()?
                .flatten(),
        },
        CommandName::Buy => Command::Buy {
            seats: seat_count(args.next())?,
            cycle: args.next().map(billing_cycle).transpose()?,
        },
        CommandName::Revoke => return revoke(args),
        CommandName::Unlink => Command::Unlink {
            target: args.next().map(target).transpose()?,
        },
        CommandName::Away => Command::Away {
            on: on_off(args.next())?,
        },
        CommandName::Language => Command::Language {
            choice: args.next().map(language).transpose()?,
        },
    };
    args.finish()?;
    Ok(command)
}

/// `request`, then any of `for <target>` and `for <term>` (each once, in either order),
/// then the reason: `request for @erin for 30d because …`.
fn request(args: &mut Args<'_>) -> Result<Command, Problem> {
    let mut rest = args.take_rest();
    let mut who = None;
    let mut term = None;
    loop {
        let (first, after_for) = split_first(rest);
        if !first.eq_ignore_ascii_case("for") {
            break;
        }
        let (word, after) = split_first(after_for);
        if word.is_empty() {
            return Err(need_target());
        }
        // `request for bob@contoso.com: …` reads naturally; neither a UPN, a mention nor a
        // term can end in `:` or `,`, so dropping one is unambiguous.
        let bare = word
            .strip_suffix([':', ','])
            .filter(|w| !w.is_empty())
            .unwrap_or(word);
        if let Some(parsed) = Term::parse(bare) {
            if term.is_some() {
                return Err(Some(ArgProblem::Unexpected {
                    token: shorten(word),
                }));
            }
            term = Some(parsed.map_err(|_| {
                Some(ArgProblem::BadTerm {
                    token: shorten(word),
                    max: Term::MAX_DAYS,
                })
            })?);
        } else if word.contains('@') {
            if who.is_some() {
                return Err(Some(ArgProblem::OneAtATime {
                    token: shorten(word),
                }));
            }
            who = Some(target(bare)?);
        } else {
            // `request for the finance dashboards` is a reason: only a word that could be a
            // UPN or a mention (it holds an `@`) names someone, and only a number with a unit
            // is a term. A lone word after `for` (`request for bob`) is most likely a name
            // typed without `@`, so it gets the usage.
            if after.trim().is_empty() && who.is_none() && term.is_none() {
                return Err(Some(ArgProblem::NotAPerson {
                    token: word.chars().take(64).collect(),
                }));
            }
            break;
        }
        rest = after;
    }
    Ok(Command::Request {
        target: who,
        term,
        reason: reason(rest)?,
    })
}

/// `extend`, `extend 30d` or `extend for 30d`.
fn extend_term(args: &mut Args<'_>) -> Result<Option<Term>, Problem> {
    let mut word = args.next();
    if word.is_some_and(|w| w.eq_ignore_ascii_case("for")) {
        word = Some(args.next().ok_or(Some(ArgProblem::NeedTerm))?);
    }
    let Some(word) = word else { return Ok(None) };
    match Term::parse(word) {
        Some(Ok(term)) => Ok(Some(term)),
        Some(Err(_)) => Err(Some(ArgProblem::BadTerm {
            token: shorten(word),
            max: Term::MAX_DAYS,
        })),
        None => Err(Some(ArgProblem::NeedTerm)),
    }
}

/// `revoke <target> [reason…]`: one person, then the reason in free text. A reason that
/// starts with another person (`revoke @bob @carol`) is refused: revoke takes one at a time.
fn revoke(args: &mut Args<'_>) -> Result<Command, Problem> {
    let who = target(args.next().ok_or_else(need_target)?)?;
    let why = args.take_rest();
    let (first, _) = split_first(why);
    if first.contains('@') && target(first).is_ok() {
        return Err(Some(ArgProblem::OneAtATime {
            token: shorten(first),
        }));
    }
    Ok(Command::Revoke {
        target: who,
        reason: reason(why)?,
    })
}

/// The reason of a request or a revocation: trimmed, unquoted when wholly quoted, at most
/// [`MAX_REASON_CHARS`] characters; `None` when empty.
fn reason(text: &str) -> Result<Option<String>, Problem> {
    let text = unquote(text.trim()).trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().nth(MAX_REASON_CHARS).is_some() {
        return Err(Some(ArgProblem::ReasonTooLong {
            max: MAX_REASON_CHARS,
        }));
    }
    Ok(Some(text.to_string()))
}

/// Drops one pair of surrounding quotes, but only when they enclose the whole text:
/// `"a" and "b"` keeps its quotes.
fn unquote(text: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = text.strip_prefix(quote).and_then(|t| t.strip_suffix(quote)) {
            if !inner.contains(quote) {
                return inner;
            }
        }
    }
    text
}

/// `assign <target>…`: targets separated by spaces and/or commas, duplicates dropped.
fn assign(args: &mut Args<'_>) -> Result<Command, Problem> {
    let mut targets: Vec<Target> = Vec::new();
    for token in args.take_rest().split([' ', ',']).filter(|t| !t.is_empty()) {
        let next = target(token)?;
        if targets.contains(&next) {
            continue;
        }
        if targets.len() == MAX_ASSIGN_TARGETS {
            return Err(Some(ArgProblem::TooManyPeople {
                max: MAX_ASSIGN_TARGETS,
            }));
        }
        targets.push(next);
    }
    if targets.is_empty() {
        return Err(need_target());
    }
    Ok(Command::Assign { targets })
}

/// A UPN or a mention.
///
/// `<@123>` and `<@!123>` are Discord mentions; a token starting with `@` and holding no
/// other `@` is a console mention (`@Bob` names `bob`); any other token with an `@` is
/// read as a UPN, so `@alice@contoso.com` is an invalid UPN rather than a guess.
fn target(token: &str) -> Result<Target, Problem> {
    if let Some(inner) = token.strip_prefix("<@") {
        return discord_user(inner)
            .map(|id| Target::Mention(ChatUserId::new(id)))
            .ok_or_else(|| bad_mention(token));
    }
    if let Some(name) = token.strip_prefix('@') {
        if !name.contains('@') {
            return console_user(name)
                .map(|name| Target::Mention(ChatUserId::new(name)))
                .ok_or_else(|| bad_mention(token));
        }
    }
    if token.contains('@') {
        return upn(token).map(Target::Upn);
    }
    Err(Some(ArgProblem::NotAPerson {
        token: shorten(token),
    }))
}

/// The user id of a Discord mention body `123>` or `!123>`: 1 to 20 digits.
fn discord_user(inner: &str) -> Option<&str> {
    let digits = inner.strip_suffix('>')?;
    let digits = digits.strip_prefix('!').unwrap_or(digits);
    let ok = (1..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(digits)
}

/// A console user name (`[A-Za-z0-9_.-]{1,64}`), lower-cased: console names ignore case.
fn console_user(name: &str) -> Option<String> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    ok.then(|| name.to_ascii_lowercase())
}

/// `link <upn>` (the speaker's own) or `link <mention> <upn>` (an approver attests someone's
/// link).
fn link(args: &mut Args<'_>) -> Result<Command, Problem> {
    let first = args.next().ok_or_else(need_upn)?;
    if let Ok(Target::Mention(user)) = target(first) {
        return match args.next() {
            Some(upn) => Ok(Command::Link {
                user: Some(user),
                upn: link_upn(upn)?,
            }),
            None => Err(Some(ArgProblem::LinkNeedsUpn)),
        };
    }
    Ok(Command::Link {
        user: None,
        upn: link_upn(first)?,
    })
}

/// The length of a proof code.
pub const CODE_DIGITS: usize = 8;

/// `verify <code>`: eight digits, which may be written in groups (`1234 5678`, `1234-5678`).
/// A problem never repeats what was typed: it may be a code.
fn verify(args: &mut Args<'_>) -> Result<Command, Problem> {
    let code: String = args
        .take_rest()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    if code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(Command::Verify { code })
    } else {
        Err(Some(ArgProblem::NeedCode {
            digits: CODE_DIGITS,
        }))
    }
}

/// `link` takes the speaker's own UPN; a mention is refused with a reason.
fn link_upn(token: &str) -> Result<Upn, Problem> {
    match target(token) {
        Ok(Target::Upn(upn)) => Ok(upn),
        Ok(Target::Mention(_)) => Err(Some(ArgProblem::LinkNeedsUpn)),
        Err(_) => upn(token),
    }
}

/// A request number, `12` or `#12`.
fn request_id(token: &str) -> Result<RequestId, Problem> {
    token.parse().map_err(|_: crate::domain::ParseError| {
        Some(ArgProblem::NotARequestNumber {
            token: token.to_string(),
        })
    })
}

/// `help`'s optional topic; the prefix itself (`help !pro`) means no topic.
fn help_topic(word: &str, prefix: &str) -> Result<Option<CommandName>, Problem> {
    if word.eq_ignore_ascii_case(prefix) {
        return Ok(None);
    }
    CommandName::from_word(word).map(Some).ok_or_else(|| {
        Some(ArgProblem::NotACommand {
            token: shorten(word),
        })
    })
}

/// A seat count: plain decimal digits, 1 to [`MAX_SEATS_PER_BUY`].
fn seat_count(token: Option<&str>) -> Result<u32, Problem> {
    token
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        // Digits only, so `+5` is refused; an overflowing number is an `Err`, not a panic.
        .and_then(|t| t.parse::<u32>().ok())
        .filter(|n| (1..=MAX_SEATS_PER_BUY).contains(n))
        .ok_or(Some(ArgProblem::NeedSeats {
            max: MAX_SEATS_PER_BUY,
        }))
}

/// `monthly`, or `annual` / `annually` / `yearly`, any case.
fn billing_cycle(word: &str) -> Result<BillingCycle, Problem> {
    match word.to_ascii_lowercase().as_str() {
        "monthly" => Ok(BillingCycle::Monthly),
        "annual" | "annually" | "yearly" => Ok(BillingCycle::Annual),
        _ => Err(Some(ArgProblem::NotACycle {
            token: shorten(word),
        })),
    }
}

/// A language the bot speaks, by its locale tag (`nl`, `en-GB`, any case).
fn language(word: &str) -> Result<Language, Problem> {
    Language::from_locale(word).ok_or_else(|| {
        Some(ArgProblem::NotALanguage {
            token: shorten(word),
        })
    })
}

/// `on` or `off`, any case.
fn on_off(word: Option<&str>) -> Result<bool, Problem> {
    match word {
        Some(w) if w.eq_ignore_ascii_case("on") => Ok(true),
        Some(w) if w.eq_ignore_ascii_case("off") => Ok(false),
        _ => Err(Some(ArgProblem::SayOnOrOff)),
    }
}

fn need_target() -> Problem {
    Some(ArgProblem::NeedPerson)
}

fn need_upn() -> Problem {
    Some(ArgProblem::NeedUpn)
}

fn need_request_id() -> Problem {
    Some(ArgProblem::NeedRequestNumber)
}

fn bad_mention(token: &str) -> Problem {
    Some(ArgProblem::BadMention {
        token: shorten(token),
    })
}

/// A UPN, or which rule the token breaks.
fn upn(token: &str) -> Result<Upn, Problem> {
    Upn::check(token).map_err(|why| {
        Some(ArgProblem::BadUpn {
            token: shorten(token.trim()),
            why,
        })
    })
}

/// A token cut to 64 characters, so a problem text stays short whatever was typed.
fn shorten(token: &str) -> String {
    if token.chars().nth(64).is_some() {
        let cut: String = token.chars().take(61).collect();
        format!("{cut}...")
    } else {
        token.to_string()
    }
}

#[cfg(test)]
mod tests;
