//! The `/pro` slash command: its definition (registered in the guild at start-up, described
//! in the configured language) and the rendering of an invocation into the equivalent text
//! command, so the one parser and the one engine path serve both.

use serenity::all::{CommandDataOption, CommandDataOptionValue};

use super::registration::{
    ApplicationCommand, IntegerOption, Localize, StringOption, SubCommand, Translation, UserOption,
};

use crate::command::MAX_REASON_CHARS;
use crate::t;
use crate::texts::{Language, Texts};

/// The top-level command's name.
pub const COMMAND: &str = "pro";

/// One option value of an invocation, as far as the bot reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A whole number.
    Integer(i64),
    /// A Discord user, by id.
    User(u64),
}

/// A `/pro <subcommand> [options…]` invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The subcommand, e.g. `request`.
    pub sub: String,
    /// Its options by name.
    pub options: Vec<(String, Value)>,
}

impl Invocation {
    fn get(&self, name: &str) -> Option<&Value> {
        self.options.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.get(name)? {
            Value::Text(s) => Some(s.split_whitespace().collect::<Vec<_>>().join(" ")),
            Value::Integer(n) => Some(n.to_string()),
            Value::User(id) => Some(format!("<@{id}>")),
        }
    }
}

/// An invocation rendered as a text command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The text command, e.g. `!pro status 12`.
    pub text: String,
    /// Whether the answer is private (an ephemeral response only the invoker sees).
    pub ephemeral: bool,
}

/// Reads a serenity invocation of `/pro`; `None` for another command or a shape the bot
/// never registered.
pub fn invocation(name: &str, options: &[CommandDataOption]) -> Option<Invocation> {
    if name != COMMAND {
        return None;
    }
    let [first] = options else { return None };
    let CommandDataOptionValue::SubCommand(sub_options) = &first.value else {
        return None;
    };
    let options = sub_options
        .iter()
        .filter_map(|o| {
            let v = match &o.value {
                CommandDataOptionValue::String(s) => Value::Text(s.clone()),
                CommandDataOptionValue::Integer(n) => Value::Integer(*n),
                CommandDataOptionValue::User(id) => Value::User(id.get()),
                CommandDataOptionValue::Boolean(b) => {
                    Value::Text(if *b { "on" } else { "off" }.to_string())
                }
                _ => return None,
            };
            Some((o.name.clone(), v))
        })
        .collect();
    Some(Invocation {
        sub: first.name.clone(),
        options,
    })
}

/// Subcommands whose answers only the invoker should see.
const PRIVATE: [&str; 11] = [
    "status", "link", "verify", "unlink", "help", "seats", "pending", "away", "audit", "spend",
    "language",
];

/// Renders an invocation as the text command it stands for, under `prefix`. Unknown
/// subcommands render as themselves, so the parser answers them as it answers text.
pub fn render(inv: &Invocation, prefix: &str) -> Rendered {
    let mut words = vec![prefix.to_string(), inv.sub.clone()];
    match inv.sub.as_str() {
        "request" => {
            if let Some(who) = inv.text("for") {
                words.push("for".into());
                words.push(who);
            }
            if let Some(term) = inv.text("term") {
                words.push("for".into());
                words.push(term);
            }
            if let Some(reason) = inv.text("reason").filter(|r| !r.is_empty()) {
                words.push(quoted(&reason));
            }
        }
        "extend" => {
            if let Some(term) = inv.text("term") {
                words.push("for".into());
                words.push(term);
            }
        }
        "status" | "cancel" | "audit" | "purchased" => words.extend(inv.text("id")),
        "link" => {
            words.extend(inv.text("user"));
            words.extend(inv.text("upn"));
        }
        "verify" | "language" => words.extend(inv.text("code")),
        "help" => words.extend(inv.text("command")),
        "buy" => {
            words.extend(inv.text("seats"));
            words.extend(inv.text("cycle"));
        }
        "assign" => words.extend(inv.text("users")),
        "revoke" => {
            words.extend(inv.text("user"));
            if let Some(reason) = inv.text("reason").filter(|r| !r.is_empty()) {
                words.push(quoted(&reason));
            }
        }
        "unlink" => words.extend(inv.text("user")),
        "away" => words.extend(inv.text("state")),
        "spend" => words.extend(inv.text("month")),
        "seats" => {
            if let Some(n) = inv.text("remove") {
                words.push("remove".into());
                words.push(n);
            }
        }
        _ => {}
    }
    Rendered {
        text: words.join(" "),
        ephemeral: PRIVATE.contains(&inv.sub.as_str()),
    }
}

/// A reason in quotes the parser takes off again, so a reason that starts with `for` stays a
/// reason rather than naming someone.
fn quoted(reason: &str) -> String {
    for q in ['"', '\''] {
        if !reason.contains(q) {
            return format!("{q}{reason}{q}");
        }
    }
    reason.to_string()
}

/// Discord's limit on a description.
const MAX_DESCRIPTION: usize = 100;

fn describe(text: String) -> String {
    if text.chars().count() <= MAX_DESCRIPTION {
        return text;
    }
    let mut s: String = text.chars().take(MAX_DESCRIPTION - 1).collect();
    s.push('…');
    s
}

fn sub(name: &str, description: String) -> SubCommand {
    SubCommand::new(name, describe(description))
}

fn text(name: &str, description: String) -> StringOption {
    StringOption::new(name, describe(description))
}

fn number(name: &str, description: String) -> IntegerOption {
    IntegerOption::new(name, describe(description))
}

fn user(name: &str, description: String) -> UserOption {
    UserOption::new(name, describe(description))
}

/// The `/pro` command with every subcommand, described in the language of `texts` and
/// translated into every language the bot has: the body of the guild registration, each
/// option carrying only the fields Discord defines for its type.
///
/// Names stay the ones the bot reads back (interactions carry a command's own names, not
/// the ones shown); a Dutch client shows the Dutch names and descriptions, an English one
/// the English (`name_localizations`, `description_localizations`).
pub fn definition(texts: &Texts) -> ApplicationCommand {
    let mut command = described(texts);
    for language in Language::ALL {
        let theirs = Texts::load(*language);
        let name = |n: &str| {
            let key = format!("discord_name.{n}");
            theirs.has(&key).then(|| theirs.get(&key, &[]))
        };
        let locales = discord_locales(&theirs);
        let locales: Vec<&str> = locales.iter().map(String::as_str).collect();
        let translation = Translation {
            locales: &locales,
            name: &name,
        };
        command.localize(&described(&theirs), &translation);
    }
    command
}

/// The Discord locales a catalogue's language is shown in, as the catalogue names them
/// (`discord-locales = en-US en-GB`).
fn discord_locales(texts: &Texts) -> Vec<String> {
    t!(texts, "discord.locales")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// The `/pro` command described in the language of `texts`, under its own names.
fn described(texts: &Texts) -> ApplicationCommand {
    let id = |key: &str| number("id", texts.get(key, &[])).min_value(1);
    let most_seats = i64::from(crate::command::MAX_SEATS_PER_BUY);
    ApplicationCommand::chat_input(COMMAND, describe(t!(texts, "discord.pro")))
        .subcommand(
            sub("request", t!(texts, "discord.request"))
                .option(
                    text("reason", t!(texts, "discord.request_reason"))
                        .max_length(MAX_REASON_CHARS as u16),
                )
                .option(user("for", t!(texts, "discord.request_for")))
                .option(terms(text("term", t!(texts, "discord.request_term")))),
        )
        .subcommand(
            sub("extend", t!(texts, "discord.extend"))
                .option(terms(text("term", t!(texts, "discord.extend_term")))),
        )
        .subcommand(sub("status", t!(texts, "discord.status")).option(id("discord.status_id")))
        .subcommand(
            sub("cancel", t!(texts, "discord.cancel")).option(id("discord.cancel_id").required()),
        )
        .subcommand(sub("release", t!(texts, "discord.release")))
        .subcommand(sub("keep", t!(texts, "discord.keep")))
        .subcommand(
            sub("link", t!(texts, "discord.link"))
                .option(text("upn", t!(texts, "discord.link_upn")).required())
                .option(user("user", t!(texts, "discord.link_user"))),
        )
        .subcommand(
            sub("verify", t!(texts, "discord.verify")).option(
                text("code", t!(texts, "discord.verify_code"))
                    .required()
                    .max_length(16),
            ),
        )
        .subcommand(language(texts))
        .subcommand(help(texts))
        .subcommand(
            sub("buy", t!(texts, "discord.buy"))
                .option(
                    number("seats", t!(texts, "discord.buy_seats"))
                        .required()
                        .min_value(1)
                        .max_value(most_seats),
                )
                .option(
                    text("cycle", t!(texts, "discord.buy_cycle"))
                        .choice(t!(texts, "cycle.monthly"), "monthly")
                        .choice(t!(texts, "cycle.annual"), "annual"),
                ),
        )
        .subcommand(
            sub("assign", t!(texts, "discord.assign"))
                .option(text("users", t!(texts, "discord.assign_users")).required()),
        )
        .subcommand(
            sub("revoke", t!(texts, "discord.revoke"))
                .option(text("user", t!(texts, "discord.revoke_user")).required())
                .option(
                    text("reason", t!(texts, "discord.revoke_reason"))
                        .max_length(MAX_REASON_CHARS as u16),
                ),
        )
        .subcommand(
            sub("unlink", t!(texts, "discord.unlink"))
                .option(text("user", t!(texts, "discord.unlink_user"))),
        )
        .subcommand(
            sub("seats", t!(texts, "discord.seats")).option(
                number("remove", t!(texts, "discord.seats_remove"))
                    .min_value(1)
                    .max_value(most_seats),
            ),
        )
        .subcommand(sub("pending", t!(texts, "discord.pending")))
        .subcommand(
            sub("spend", t!(texts, "discord.spend"))
                .option(text("month", t!(texts, "discord.spend_month")).max_length(7)),
        )
        .subcommand(
            sub("away", t!(texts, "discord.away")).option(
                text("state", t!(texts, "discord.away_state"))
                    .required()
                    .choice("on", "on")
                    .choice("off", "off"),
            ),
        )
        .subcommand(
            sub("audit", t!(texts, "discord.audit")).option(id("discord.audit_id").required()),
        )
        .subcommand(
            sub("purchased", t!(texts, "discord.purchased"))
                .option(id("discord.purchased_id").required()),
        )
}

/// The terms offered for a licence (typed commands take any, up to `[policy] max_duration`).
fn terms(option: StringOption) -> StringOption {
    ["7d", "30d", "3m", "6m", "12m"]
        .into_iter()
        .fold(option, |o, t| o.choice(t, t))
}

/// `/pro language`: each language offered by its own name ("English", "Nederlands").
fn language(texts: &Texts) -> SubCommand {
    let mut code = text("code", t!(texts, "discord.language_code"));
    for l in Language::ALL {
        let own_name = Texts::load(*l).get(&format!("language.{}", l.as_str()), &[]);
        code = code.choice(own_name, l.as_str());
    }
    sub("language", t!(texts, "discord.language")).option(code)
}

fn help(texts: &Texts) -> SubCommand {
    let mut command = text("command", t!(texts, "discord.help_command"));
    for c in crate::command::CommandName::ALL {
        command = command.choice(c.word(), c.word());
    }
    sub("help", t!(texts, "discord.help")).option(command)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{parse_message, Command, Parsed, ParserConfig, Target};
    use crate::domain::{ChatUserId, RequestId};

    fn inv(sub: &str, options: &[(&str, Value)]) -> Invocation {
        Invocation {
            sub: sub.to_string(),
            options: options
                .iter()
                .map(|(n, v)| (n.to_string(), v.clone()))
                .collect(),
        }
    }

    fn parsed(i: &Invocation) -> Parsed {
        let cfg = ParserConfig {
            prefix: "!pro".into(),
            bot_mentions: vec![],
        };
        parse_message(&render(i, "!pro").text, &cfg)
    }

    #[test]
    fn request_with_a_reason_is_a_request_with_that_reason() {
        let i = inv(
            "request",
            &[("reason", Value::Text("for the finance dashboards".into()))],
        );

        assert_eq!(
            render(&i, "!pro").text,
            "!pro request \"for the finance dashboards\""
        );
        assert_eq!(
            parsed(&i),
            Parsed::Command(Command::Request {
                target: None,
                term: None,
                reason: Some("for the finance dashboards".into())
            })
        );
        assert!(!render(&i, "!pro").ephemeral);
    }

    #[test]
    fn request_for_a_user_names_them_by_mention() {
        let i = inv(
            "request",
            &[
                ("for", Value::User(42)),
                ("reason", Value::Text("new hire".into())),
            ],
        );

        assert_eq!(
            parsed(&i),
            Parsed::Command(Command::Request {
                target: Some(Target::Mention(ChatUserId::new("42"))),
                term: None,
                reason: Some("new hire".into())
            })
        );
    }

    #[test]
    fn a_reason_with_both_quotes_and_newlines_still_parses() {
        let i = inv(
            "request",
            &[("reason", Value::Text("it's \"urgent\"\nreally".into()))],
        );

        let Parsed::Command(Command::Request { reason, .. }) = parsed(&i) else {
            panic!("{:?}", parsed(&i));
        };
        assert_eq!(reason.as_deref(), Some("it's \"urgent\" really"));
    }

    #[test]
    fn private_answers_are_ephemeral() {
        for sub in [
            "status", "link", "verify", "unlink", "help", "seats", "pending", "away", "audit",
        ] {
            assert!(render(&inv(sub, &[]), "!pro").ephemeral, "{sub}");
        }
        for sub in [
            "request",
            "cancel",
            "release",
            "buy",
            "assign",
            "revoke",
            "purchased",
        ] {
            assert!(!render(&inv(sub, &[]), "!pro").ephemeral, "{sub}");
        }
    }

    #[test]
    fn numbers_and_choices_render_as_words() {
        assert_eq!(
            parsed(&inv("cancel", &[("id", Value::Integer(7))])),
            Parsed::Command(Command::Cancel { id: RequestId(7) })
        );
        assert_eq!(
            render(
                &inv(
                    "buy",
                    &[
                        ("seats", Value::Integer(3)),
                        ("cycle", Value::Text("annual".into()))
                    ]
                ),
                "!pro"
            )
            .text,
            "!pro buy 3 annual"
        );
        assert_eq!(
            render(&inv("away", &[("state", Value::Text("on".into()))]), "!pro").text,
            "!pro away on"
        );
    }

    #[test]
    fn every_subcommand_the_parser_knows_is_defined() {
        let texts = Texts::load(crate::texts::Language::En);
        let def = serde_json::to_value(definition(&texts)).unwrap();
        let subs: Vec<&str> = def["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        for c in crate::command::CommandName::ALL {
            assert!(subs.contains(&c.word()), "{}", c.word());
        }
        for o in def["options"].as_array().unwrap() {
            let d = o["description"].as_str().unwrap();
            assert!(!d.is_empty() && d.chars().count() <= 100, "{o}");
        }
    }

    /// The registered form of `/pro` for a bot set to `language`.
    fn registered(language: crate::texts::Language) -> serde_json::Value {
        serde_json::to_value(definition(&Texts::load(language))).unwrap()
    }

    /// A subcommand of a registered `/pro`.
    fn subcommand<'a>(def: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
        def["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))
    }

    #[test]
    fn an_english_bot_shows_dutch_clients_dutch_names_and_descriptions() {
        let def = registered(crate::texts::Language::En);
        let nl = Texts::load(crate::texts::Language::Nl);

        let request = subcommand(&def, "request");
        assert_eq!(request["description"], "Ask for a Power BI Pro licence");
        assert_eq!(
            request["name_localizations"],
            serde_json::json!({"nl": "aanvragen"})
        );
        assert_eq!(
            request["description_localizations"],
            serde_json::json!({"nl": nl.get("discord.request", &[])})
        );
        let cycle = &subcommand(&def, "buy")["options"][1];
        assert_eq!(cycle["name_localizations"]["nl"], "facturering");
        assert_eq!(
            cycle["choices"][0]["name_localizations"]["nl"],
            nl.get("cycle.monthly", &[])
        );
        // Status is "status" in Dutch too: nothing to translate in its name.
        assert!(subcommand(&def, "status")
            .get("name_localizations")
            .is_none());
    }

    #[test]
    fn a_dutch_bot_keeps_the_names_it_reads_back_and_shows_english_clients_english() {
        let def = registered(crate::texts::Language::Nl);
        let en = Texts::load(crate::texts::Language::En);

        let request = subcommand(&def, "request");
        assert_eq!(request["name"], "request", "interactions carry this name");
        assert_eq!(request["name_localizations"]["nl"], "aanvragen");
        for locale in ["en-US", "en-GB"] {
            assert_eq!(
                request["description_localizations"][locale],
                en.get("discord.request", &[]),
                "{locale}"
            );
        }
        assert!(request["name_localizations"].get("en-US").is_none());
    }

    #[test]
    fn options_keep_their_limits_and_choices() {
        let texts = Texts::load(crate::texts::Language::En);

        let def = serde_json::to_value(definition(&texts)).unwrap();

        let option = |sub: &str, name: &str| {
            def["options"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["name"] == sub)
                .and_then(|o| o["options"].as_array())
                .and_then(|os| os.iter().find(|o| o["name"] == name))
                .cloned()
                .unwrap_or_else(|| panic!("{sub} {name}"))
        };
        let seats = option("buy", "seats");
        assert_eq!(seats["required"], true);
        assert_eq!(seats["min_value"], 1);
        assert_eq!(seats["max_value"], crate::command::MAX_SEATS_PER_BUY);
        assert_eq!(option("request", "reason")["max_length"], MAX_REASON_CHARS);
        assert_eq!(option("cancel", "id")["min_value"], 1);
        let cycle = option("buy", "cycle");
        let values: Vec<&str> = cycle["choices"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["value"].as_str())
            .collect();
        assert_eq!(values, ["monthly", "annual"]);
    }

    #[test]
    fn the_definition_is_described_in_dutch_too() {
        let texts = Texts::load(crate::texts::Language::Nl);
        let def = serde_json::to_value(definition(&texts)).unwrap();
        assert!(!def["description"].as_str().unwrap().is_empty());
    }
}
