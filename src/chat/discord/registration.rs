//! The body of the guild command registration (Discord's bulk overwrite, `PUT
//! /applications/{app}/guilds/{guild}/commands`): a chat-input command and its options, each
//! option kind a type of its own that carries only the fields Discord's Application Command
//! Option structure documents for it, and leaves out every field that is not set.
//!
//! Serenity's `CreateCommandOption` sends every field of every option type (`choices: []`,
//! `min_value: null`, `channel_types: []` even on a subcommand), which Discord's schema does
//! not define for most of them; these types are serialized and sent as they are instead.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

/// A Discord type number fixed by the Rust type: serializes as `N`, so a value of one kind
/// can never carry another kind's number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeNumber<const N: u8>;

impl<const N: u8> Serialize for TypeNumber<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(N)
    }
}

/// Whether a flag is off, so an unset `required` is left out rather than sent as `false`.
fn is_false(flag: &bool) -> bool {
    !*flag
}

/// A name's and a description's translations, by Discord locale (`nl`, `en-US`, …); each
/// map left out while it is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Localizations {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    name_localizations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    description_localizations: BTreeMap<String, String>,
}

/// One language's translation of the whole command, as [`Localize::localize`] takes it.
pub struct Translation<'a> {
    /// The Discord locales the language is shown in (`nl`; `en-US` and `en-GB`).
    pub locales: &'a [&'a str],
    /// The name a command or option is shown under in the language, by its own name (names
    /// stay the ones interactions carry; only what people see is translated).
    pub name: &'a dyn Fn(&str) -> Option<String>,
}

impl Localizations {
    /// Adds `t`'s name for `name` and `described` for `description`, where they differ.
    fn add(&mut self, t: &Translation<'_>, name: &str, description: &str, described: &str) {
        let shown = (t.name)(name).filter(|n| n != name);
        for locale in t.locales {
            if let Some(n) = &shown {
                self.name_localizations
                    .insert((*locale).to_string(), n.clone());
            }
            if described != description {
                self.description_localizations
                    .insert((*locale).to_string(), described.to_string());
            }
        }
    }
}

/// A part of the command that takes the translation of its twin: the same part built in
/// another language.
pub trait Localize {
    /// Adds the translations `other` (this part, described in another language) gives.
    fn localize(&mut self, other: &Self, t: &Translation<'_>);
}

/// Localizes each of `parts` by its twin in `others` (the same list, built in another
/// language).
fn localize_all<T: Localize>(parts: &mut [T], others: &[T], t: &Translation<'_>) {
    for (part, other) in parts.iter_mut().zip(others) {
        part.localize(other, t);
    }
}

/// A chat-input application command (a slash command, `type` 1) made of subcommands, as
/// `/pro` is: `name`, `type`, `description` and, when there are any, `options`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplicationCommand {
    name: String,
    #[serde(rename = "type")]
    kind: TypeNumber<1>,
    description: String,
    #[serde(flatten)]
    localizations: Localizations,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    options: Vec<SubCommand>,
}

impl ApplicationCommand {
    /// A slash command with this name and description and no subcommands yet.
    pub fn chat_input(name: impl Into<String>, description: impl Into<String>) -> Self {
        ApplicationCommand {
            name: name.into(),
            kind: TypeNumber,
            description: description.into(),
            localizations: Localizations::default(),
            options: Vec::new(),
        }
    }

    /// Adds a subcommand.
    #[must_use]
    pub fn subcommand(mut self, sub: SubCommand) -> Self {
        self.options.push(sub);
        self
    }
}

/// A subcommand (option `type` 1): `type`, `name`, `description` and, when there are any, its
/// `options`. Never `required`: a subcommand is chosen, not a parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubCommand {
    #[serde(rename = "type")]
    kind: TypeNumber<1>,
    name: String,
    description: String,
    #[serde(flatten)]
    localizations: Localizations,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    options: Vec<ValueOption>,
}

impl SubCommand {
    /// A subcommand with this name and description and no options yet.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        SubCommand {
            kind: TypeNumber,
            name: name.into(),
            description: description.into(),
            localizations: Localizations::default(),
            options: Vec::new(),
        }
    }

    /// Adds an option.
    #[must_use]
    pub fn option(mut self, option: impl Into<ValueOption>) -> Self {
        self.options.push(option.into());
        self
    }
}

/// An option of a subcommand that takes a value, of one of the kinds `/pro` uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ValueOption {
    /// Text.
    String(StringOption),
    /// A whole number.
    Integer(IntegerOption),
    /// A member of the guild.
    User(UserOption),
}

impl From<StringOption> for ValueOption {
    fn from(option: StringOption) -> Self {
        ValueOption::String(option)
    }
}

impl From<IntegerOption> for ValueOption {
    fn from(option: IntegerOption) -> Self {
        ValueOption::Integer(option)
    }
}

impl From<UserOption> for ValueOption {
    fn from(option: UserOption) -> Self {
        ValueOption::User(option)
    }
}

/// A text option (`type` 3): `type`, `name`, `description`, and `required`, `choices` and
/// `max_length` where set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StringOption {
    #[serde(rename = "type")]
    kind: TypeNumber<3>,
    name: String,
    description: String,
    #[serde(flatten)]
    localizations: Localizations,
    #[serde(skip_serializing_if = "is_false")]
    required: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    choices: Vec<StringChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_length: Option<u16>,
}

impl StringOption {
    /// An optional text option with this name and description.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        StringOption {
            kind: TypeNumber,
            name: name.into(),
            description: description.into(),
            localizations: Localizations::default(),
            required: false,
            choices: Vec::new(),
            max_length: None,
        }
    }

    /// Makes the option required.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Adds a choice: `name` is shown, `value` is sent.
    #[must_use]
    pub fn choice(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.choices.push(StringChoice {
            name: name.into(),
            name_localizations: BTreeMap::new(),
            value: value.into(),
        });
        self
    }

    /// The most characters Discord lets the user type.
    #[must_use]
    pub fn max_length(mut self, chars: u16) -> Self {
        self.max_length = Some(chars);
        self
    }
}

/// A choice of a text option: `name` (shown) and `value` (sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StringChoice {
    name: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    name_localizations: BTreeMap<String, String>,
    value: String,
}

impl Localize for StringChoice {
    fn localize(&mut self, other: &Self, t: &Translation<'_>) {
        if other.name != self.name {
            for locale in t.locales {
                self.name_localizations
                    .insert((*locale).to_string(), other.name.clone());
            }
        }
    }
}

/// A whole-number option (`type` 4): `type`, `name`, `description`, and `required`,
/// `min_value` and `max_value` where set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegerOption {
    #[serde(rename = "type")]
    kind: TypeNumber<4>,
    name: String,
    description: String,
    #[serde(flatten)]
    localizations: Localizations,
    #[serde(skip_serializing_if = "is_false")]
    required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_value: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_value: Option<i64>,
}

impl IntegerOption {
    /// An optional whole-number option with this name and description.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        IntegerOption {
            kind: TypeNumber,
            name: name.into(),
            description: description.into(),
            localizations: Localizations::default(),
            required: false,
            min_value: None,
            max_value: None,
        }
    }

    /// Makes the option required.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The smallest number Discord accepts.
    #[must_use]
    pub fn min_value(mut self, min: i64) -> Self {
        self.min_value = Some(min);
        self
    }

    /// The largest number Discord accepts.
    #[must_use]
    pub fn max_value(mut self, max: i64) -> Self {
        self.max_value = Some(max);
        self
    }
}

/// A guild member option (`type` 6): `type`, `name`, `description`, and `required` where set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserOption {
    #[serde(rename = "type")]
    kind: TypeNumber<6>,
    name: String,
    description: String,
    #[serde(flatten)]
    localizations: Localizations,
    #[serde(skip_serializing_if = "is_false")]
    required: bool,
}

impl UserOption {
    /// An optional user option with this name and description.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        UserOption {
            kind: TypeNumber,
            name: name.into(),
            description: description.into(),
            localizations: Localizations::default(),
            required: false,
        }
    }
}

impl Localize for ApplicationCommand {
    fn localize(&mut self, other: &Self, t: &Translation<'_>) {
        self.localizations
            .add(t, &self.name, &self.description, &other.description);
        localize_all(&mut self.options, &other.options, t);
    }
}

impl Localize for SubCommand {
    fn localize(&mut self, other: &Self, t: &Translation<'_>) {
        self.localizations
            .add(t, &self.name, &self.description, &other.description);
        localize_all(&mut self.options, &other.options, t);
    }
}

impl Localize for ValueOption {
    fn localize(&mut self, other: &Self, t: &Translation<'_>) {
        let (localizations, name, description, described) = match (self, other) {
            (ValueOption::String(o), ValueOption::String(other)) => {
                localize_all(&mut o.choices, &other.choices, t);
                (
                    &mut o.localizations,
                    &o.name,
                    &o.description,
                    &other.description,
                )
            }
            (ValueOption::Integer(o), ValueOption::Integer(other)) => (
                &mut o.localizations,
                &o.name,
                &o.description,
                &other.description,
            ),
            (ValueOption::User(o), ValueOption::User(other)) => (
                &mut o.localizations,
                &o.name,
                &o.description,
                &other.description,
            ),
            // Twins are built by the same function: never of two kinds.
            _ => return,
        };
        localizations.add(t, name, description, described);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    /// What Discord is sent for `part`.
    fn body(part: impl Serialize) -> Value {
        serde_json::to_value(part).unwrap()
    }

    #[test]
    fn a_subcommand_without_options_is_its_type_name_and_description_only() {
        let sub = SubCommand::new("release", "Give your seat back");

        assert_eq!(
            body(&sub),
            json!({"type": 1, "name": "release", "description": "Give your seat back"})
        );
    }

    #[test]
    fn an_optional_text_option_without_limits_leaves_them_out() {
        let option = StringOption::new("reason", "Why you need it");

        assert_eq!(
            body(&option),
            json!({"type": 3, "name": "reason", "description": "Why you need it"})
        );
    }

    #[test]
    fn a_required_number_option_sends_its_limits_as_numbers() {
        let option = IntegerOption::new("seats", "How many")
            .required()
            .min_value(1)
            .max_value(50);

        assert_eq!(
            body(ValueOption::from(option)),
            json!({"type": 4, "name": "seats", "description": "How many", "required": true,
                   "min_value": 1, "max_value": 50})
        );
    }

    #[test]
    fn text_choices_are_sent_as_name_and_value() {
        let option = StringOption::new("state", "On or off")
            .required()
            .choice("on", "on")
            .choice("off", "off");

        assert_eq!(
            body(&option)["choices"],
            json!([{"name": "on", "value": "on"}, {"name": "off", "value": "off"}])
        );
    }

    #[test]
    fn the_command_is_a_chat_input_command() {
        let command = ApplicationCommand::chat_input("pro", "Power BI Pro");

        assert_eq!(
            body(&command),
            json!({"name": "pro", "type": 1, "description": "Power BI Pro"})
        );
    }
}
