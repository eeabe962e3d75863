//! The message catalogue: every sentence the bot says to a person, keyed and parameterised,
//! in English and Dutch (`locales/*.toml`). The engine and the transports never write a
//! sentence inline; they name a key and its parameters, so a language is added by adding a
//! file, without touching code.

mod quote;

use std::collections::HashMap;
use std::fmt::Display;

pub use crate::domain::Language;
pub use quote::{one_line, quoted, MAX_QUOTED_CHARS};

/// The catalogue file's text for `language`.
fn source(language: Language) -> &'static str {
    match language {
        Language::En => include_str!("../../locales/en.toml"),
        Language::Nl => include_str!("../../locales/nl.toml"),
    }
}

/// A loaded catalogue.
#[derive(Debug, Clone)]
pub struct Texts {
    map: HashMap<String, String>,
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.trim_end_matches('\n').to_string());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

impl Texts {
    /// Loads the embedded catalogue of a language.
    pub fn load(lang: Language) -> Texts {
        Texts::parse(source(lang)).unwrap_or_else(|e| {
            // The catalogues are embedded and checked by tests; a broken one is a build defect.
            tracing::error!(error = %e, "message catalogue does not parse");
            Texts {
                map: HashMap::new(),
            }
        })
    }

    /// Parses a catalogue from TOML.
    pub fn parse(source: &str) -> Result<Texts, toml::de::Error> {
        let table: toml::Table = toml::from_str(source)?;
        let mut map = HashMap::new();
        flatten("", &table, &mut map);
        Ok(Texts { map })
    }

    /// Every key in the catalogue.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// The raw template of a key.
    pub fn template(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    /// Renders a key with its parameters: `{name}` is replaced by the parameter `name`.
    /// A missing key renders as the key itself (and is logged), never as a panic.
    pub fn get(&self, key: &str, args: &[(&str, &(dyn Display + Sync))]) -> String {
        let Some(template) = self.map.get(key) else {
            tracing::error!(key, "message catalogue has no such key");
            return key.to_string();
        };
        render(template, args)
    }
}

fn render(template: &str, args: &[(&str, &(dyn Display + Sync))]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, v)) => out.push_str(&v.to_string()),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Renders a catalogue key: `t!(texts, "request.created", id = id, target = upn)`.
#[macro_export]
macro_rules! t {
    ($texts:expr, $key:literal $(, $name:ident = $value:expr)* $(,)?) => {
        $texts.get($key, &[$((stringify!($name), &$value as &(dyn ::std::fmt::Display + Sync))),*])
    };
}

/// A sentence from the catalogue kept to be said later, in the language of whoever reads it
/// then: its key and parameters, a parameter being words or another such sentence. What the
/// job worker found out (a licence assigned, seats bought) is one: it is stored in the bot's
/// language, posted in the approvals channel's and told in the requester's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said(Kept);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kept {
    /// A catalogue key with its parameters.
    Sentence {
        key: &'static str,
        args: Vec<(&'static str, Part)>,
    },
    /// Words no catalogue has (a backend's error message), the same in every language.
    Words(String),
}

/// One parameter of a [`Said`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Words said as they are (a UPN, a number, a backend's message).
    Words(String),
    /// A sentence of its own, said in the same language.
    Said(Said),
}

impl<T: Display> From<T> for Part {
    fn from(value: T) -> Part {
        Part::Words(value.to_string())
    }
}

impl From<&Said> for Part {
    fn from(said: &Said) -> Part {
        Part::Said(said.clone())
    }
}

impl Said {
    /// The sentence `key` with its parameters (see the [`said!`](crate::said) macro).
    pub fn new(key: &'static str, args: Vec<(&'static str, Part)>) -> Said {
        Said(Kept::Sentence { key, args })
    }

    /// Words said as they are in every language.
    pub fn words(words: impl Into<String>) -> Said {
        Said(Kept::Words(words.into()))
    }

    /// The sentence in the language of `texts`.
    pub fn render(&self, texts: &Texts) -> String {
        let (key, args) = match &self.0 {
            Kept::Words(w) => return w.clone(),
            Kept::Sentence { key, args } => (key, args),
        };
        let words: Vec<(&str, String)> = args
            .iter()
            .map(|(name, part)| match part {
                Part::Words(w) => (*name, w.clone()),
                Part::Said(s) => (*name, s.render(texts)),
            })
            .collect();
        let args: Vec<(&str, &(dyn Display + Sync))> = words
            .iter()
            .map(|(name, w)| (*name, w as &(dyn Display + Sync)))
            .collect();
        texts.get(key, &args)
    }
}

/// A sentence to say later: `said!("outcome.assigned", upn = upn)` (see [`Said`]).
#[macro_export]
macro_rules! said {
    ($key:literal $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::texts::Said::new(
            $key,
            vec![$((stringify!($name), $crate::texts::Part::from(&$value))),*],
        )
    };
}

/// The placeholders a template uses.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        names.push(after[..close].to_string());
        rest = &after[close + 1..];
    }
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_substituted() {
        let t = Texts::parse("[a]\nb = \"Request {id} for {upn}; {id}\"").unwrap();
        assert_eq!(
            t!(t, "a.b", id = 12, upn = "x@y.z"),
            "Request 12 for x@y.z; 12"
        );
    }

    #[test]
    fn a_sentence_kept_for_later_is_said_in_each_language_with_its_parts() {
        let en = Texts::parse("[a]\nb = \"{x} and {y}\"\nc = \"done for {upn}\"").unwrap();
        let nl = Texts::parse("[a]\nb = \"{x} en {y}\"\nc = \"klaar voor {upn}\"").unwrap();
        let said = crate::said!("a.b", x = 3, y = crate::said!("a.c", upn = "a@b.c"));
        assert_eq!(said.render(&en), "3 and done for a@b.c");
        assert_eq!(said.render(&nl), "3 en klaar voor a@b.c");
    }

    #[test]
    fn a_missing_key_renders_as_the_key() {
        let t = Texts::parse("").unwrap();
        assert_eq!(t!(t, "no.such"), "no.such");
    }

    #[test]
    fn every_command_has_an_example_and_a_name_on_discord_in_every_language() {
        for language in Language::ALL {
            let texts = Texts::load(*language);
            for c in crate::command::CommandName::ALL {
                for table in ["help", "help_example", "discord_name"] {
                    let key = format!("{table}.{}", c.word());
                    assert!(texts.template(&key).is_some(), "{language}: {key}");
                }
            }
        }
    }

    #[test]
    fn every_catalogue_names_every_language() {
        for language in Language::ALL {
            let texts = Texts::load(*language);
            for named in Language::ALL {
                let key = format!("language.{}", named.as_str());
                assert!(texts.template(&key).is_some(), "{language}: {key}");
            }
        }
    }

    #[test]
    fn every_language_has_the_same_keys_and_placeholders() {
        let en = Texts::parse(source(Language::En)).expect("en parses");
        for &lang in Language::ALL {
            let other = Texts::parse(source(lang)).expect("catalogue parses");
            for key in en.keys() {
                let theirs = other
                    .template(key)
                    .unwrap_or_else(|| panic!("{lang:?} lacks {key}"));
                assert_eq!(
                    placeholders(en.template(key).unwrap()),
                    placeholders(theirs),
                    "{lang:?} {key}"
                );
            }
            assert_eq!(
                en.keys().count(),
                other.keys().count(),
                "{lang:?} has extra keys"
            );
        }
    }
}
