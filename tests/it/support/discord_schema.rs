//! Discord's documented shape of a guild command registration (bulk overwrite,
//! `PUT /applications/{app}/guilds/{guild}/commands`), written from the developer docs'
//! "Application Commands" page, not from licensebot: the fields an application command may
//! carry, the fields each Application Command Option type may carry, and the fields of an
//! option choice. [`form_body_errors`] holds a body against them the way the fake Discord
//! does, answering in Discord's Invalid Form Body `errors` shape.
//!
//! Beyond the field lists the check asks that nothing be sent empty: no field is `null`, and
//! no array or object (`choices: []`, `options: []`, `name_localizations: {}`) is empty, since
//! a field left unset is left out. Discord documents `required` among the fields common to all
//! option types, but a subcommand or subcommand group is not a parameter that can be
//! required, so the table leaves it out for those two. The `code`s inside `errors` are the
//! fake's own names: Discord does not document what it answers to an undefined field.

use serde_json::{json, Map, Value};

/// The fields of an application command in a guild registration ("Create Guild Application
/// Command" JSON params; `default_permission` is deprecated but still listed).
const COMMAND_FIELDS: [&str; 9] = [
    "name",
    "name_localizations",
    "description",
    "description_localizations",
    "options",
    "default_member_permissions",
    "default_permission",
    "type",
    "nsfw",
];

/// The fields every option type may carry ("Application Command Option Structure").
const COMMON_OPTION_FIELDS: [&str; 5] = [
    "type",
    "name",
    "name_localizations",
    "description",
    "description_localizations",
];

/// The further fields of INTEGER and NUMBER options (the same list for both).
const NUMERIC_OPTION_FIELDS: [&str; 5] = [
    "required",
    "choices",
    "min_value",
    "max_value",
    "autocomplete",
];

/// Every option type's number, name and the fields it may carry beyond
/// [`COMMON_OPTION_FIELDS`] ("Application Command Option Structure"): `choices` only for
/// STRING, INTEGER and NUMBER; `options` only for SUB_COMMAND and SUB_COMMAND_GROUP;
/// `channel_types` only for CHANNEL; `min_value`/`max_value` only for INTEGER and NUMBER;
/// `min_length`/`max_length` only for STRING; `autocomplete` only for STRING, INTEGER and
/// NUMBER; `required` for every type but the two subcommand kinds.
const OPTION_FIELDS: [(u64, &str, &[&str]); 11] = [
    (1, "SUB_COMMAND", &["options"]),
    (2, "SUB_COMMAND_GROUP", &["options"]),
    (
        3,
        "STRING",
        &[
            "required",
            "choices",
            "min_length",
            "max_length",
            "autocomplete",
        ],
    ),
    (4, "INTEGER", &NUMERIC_OPTION_FIELDS),
    (5, "BOOLEAN", &["required"]),
    (6, "USER", &["required"]),
    (7, "CHANNEL", &["required", "channel_types"]),
    (8, "ROLE", &["required"]),
    (9, "MENTIONABLE", &["required"]),
    (10, "NUMBER", &NUMERIC_OPTION_FIELDS),
    (11, "ATTACHMENT", &["required"]),
];

/// The fields of an option choice ("Application Command Option Choice Structure").
const CHOICE_FIELDS: [&str; 3] = ["name", "name_localizations", "value"];

/// One thing wrong with a body: where (the keys and indexes down to the field), a code and a
/// message.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The path to the field, e.g. `["0", "options", "3", "choices"]`.
    pub path: Vec<String>,
    /// The fake's code for it.
    pub code: &'static str,
    /// What is wrong, in words.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.join("."), self.message)
    }
}

/// Everything in a bulk-overwrite body (an array of application commands) that the docs do
/// not define for where it stands, or that is sent null or empty.
pub fn problems(body: &Value) -> Vec<Problem> {
    let mut found = Vec::new();
    let Some(commands) = body.as_array() else {
        found.push(Problem {
            path: Vec::new(),
            code: "BASE_TYPE_ARRAY",
            message: "Must be an array of application commands.".into(),
        });
        return found;
    };
    for (i, command) in commands.iter().enumerate() {
        check_object(
            &mut found,
            &[i.to_string()],
            command,
            &COMMAND_FIELDS,
            "an application command",
        );
        check_localizations(&mut found, &[i.to_string()], command, false);
        for (j, option) in list(command, "options") {
            check_option(
                &mut found,
                &[i.to_string(), "options".into(), j.to_string()],
                option,
            );
        }
    }
    found
}

/// Discord's `errors` object for the problems of a body, or `None` when it has none: each
/// problem under its path, e.g. `{"0": {"options": {"1": {"min_value": {"_errors": [{code,
/// message}]}}}}}`.
pub fn form_body_errors(body: &Value) -> Option<Value> {
    let found = problems(body);
    if found.is_empty() {
        return None;
    }
    let mut errors = Value::Object(Map::new());
    for p in found {
        let mut at = &mut errors;
        for key in &p.path {
            at = at
                .as_object_mut()
                .expect("errors are objects all the way down")
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        let list = at
            .as_object_mut()
            .expect("errors are objects all the way down")
            .entry("_errors")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = list {
            list.push(json!({"code": p.code, "message": p.message}));
        }
    }
    Some(errors)
}

/// The elements of an array field, with their indexes (none when it is absent or not an
/// array).
fn list<'a>(v: &'a Value, field: &str) -> impl Iterator<Item = (usize, &'a Value)> {
    v.get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
}

/// The path to something below `path`.
fn below(path: &[String], keys: &[&str]) -> Vec<String> {
    path.iter()
        .cloned()
        .chain(keys.iter().map(|k| (*k).to_string()))
        .collect()
}

fn check_option(found: &mut Vec<Problem>, path: &[String], option: &Value) {
    let kind = option.get("type").and_then(Value::as_u64);
    let Some((number, name, extra)) = OPTION_FIELDS.iter().find(|(n, _, _)| Some(*n) == kind)
    else {
        found.push(Problem {
            path: below(path, &["type"]),
            code: "UNKNOWN_OPTION_TYPE",
            message: format!("Not an option type: {}", option["type"]),
        });
        return;
    };
    let what = format!("an option of type {number} ({name})");
    let fields: Vec<&str> = COMMON_OPTION_FIELDS.iter().chain(*extra).copied().collect();
    check_object(found, path, option, &fields, &what);
    check_localizations(found, path, option, false);
    for (i, nested) in list(option, "options") {
        check_option(found, &below(path, &["options", &i.to_string()]), nested);
    }
    for (i, choice) in list(option, "choices") {
        check_object(
            found,
            &below(path, &["choices", &i.to_string()]),
            choice,
            &CHOICE_FIELDS,
            "an option choice",
        );
        check_localizations(
            found,
            &below(path, &["choices", &i.to_string()]),
            choice,
            true,
        );
    }
}

/// Discord's locales ("Reference: Locales"): the keys a localization map may have.
const LOCALES: [&str; 32] = [
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th",
    "zh-CN", "ja", "zh-TW", "ko",
];

/// Whether `name` is a name Discord takes for a chat-input command or option: 1 to 32
/// letters, digits, `-`, `_` or `'`, in lowercase where the letter has a lowercase form
/// ("Application Command Naming").
fn is_command_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=32).contains(&n)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '\''))
        && name.to_lowercase() == name
}

/// A localization map's field, what its texts must be, and what is said when one is not.
type LocalizationRule = (&'static str, fn(&str) -> bool, &'static str);

/// Whether `text` is 1 to 100 characters long (a description, a choice's name).
fn is_display_text(text: &str) -> bool {
    (1..=100).contains(&text.chars().count())
}

/// The localization maps of `v`: keys among [`LOCALES`], names as [`is_command_name`] asks
/// (a choice's name is shown text, 1 to 100 characters), descriptions of 1 to 100 characters
/// ("Localization").
fn check_localizations(found: &mut Vec<Problem>, path: &[String], v: &Value, choice: bool) {
    let name_rule: fn(&str) -> bool = if choice {
        is_display_text
    } else {
        is_command_name
    };
    let maps: [LocalizationRule; 2] = [
        ("name_localizations", name_rule, "Not a valid name here."),
        (
            "description_localizations",
            is_display_text,
            "Must be between 1 and 100 characters long.",
        ),
    ];
    for (field, valid, message) in maps {
        let Some(map) = v.get(field).and_then(Value::as_object) else {
            continue;
        };
        for (locale, text) in map {
            let at = below(path, &[field, locale]);
            if !LOCALES.contains(&locale.as_str()) {
                found.push(Problem {
                    path: at.clone(),
                    code: "LOCALE_INVALID",
                    message: format!("Not a Discord locale: {locale}."),
                });
            }
            if !text.as_str().is_some_and(valid) {
                found.push(Problem {
                    path: at,
                    code: "BASE_TYPE_BAD_LENGTH",
                    message: message.to_string(),
                });
            }
        }
    }
}

/// Every field of `v` must be one of `allowed`, and none null or empty.
fn check_object(
    found: &mut Vec<Problem>,
    path: &[String],
    v: &Value,
    allowed: &[&str],
    what: &str,
) {
    let Some(fields) = v.as_object() else {
        found.push(Problem {
            path: path.to_vec(),
            code: "BASE_TYPE_DICT",
            message: format!("Must be an object: {what}."),
        });
        return;
    };
    for (key, value) in fields {
        let at = below(path, &[key]);
        if !allowed.contains(&key.as_str()) {
            found.push(Problem {
                path: at.clone(),
                code: "FIELD_NOT_DEFINED_FOR_TYPE",
                message: format!("Not a field of {what}."),
            });
        }
        let empty = match value {
            Value::Null => Some("null"),
            Value::Array(a) if a.is_empty() => Some("an empty array"),
            Value::Object(o) if o.is_empty() => Some("an empty object"),
            _ => None,
        };
        if let Some(empty) = empty {
            found.push(Problem {
                path: at,
                code: "FIELD_EMPTY",
                message: format!("Sent as {empty}; a field that is not set is left out."),
            });
        }
    }
}
