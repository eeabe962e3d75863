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
    fn a_missing_key_renders_as_the_key() {
        let t = Texts::parse("").unwrap();
        assert_eq!(t!(t, "no.such"), "no.such");
    }

    #[test]
    fn every_language_has_the_same_keys_and_placeholders() {
        let en = Texts::parse(source(Language::En)).expect("en parses");
        for lang in Language::ALL {
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

    /// Every `.rs` file under `dir`, however deep, with its text.
    fn sources(dir: &str) -> Vec<(std::path::PathBuf, String)> {
        let mut out = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(dir)];
        while let Some(d) = dirs.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    out.push((path, text));
                }
            }
        }
        out
    }

    #[test]
    fn every_key_the_code_uses_exists() {
        let en = Texts::parse(source(Language::En)).unwrap();
        let used = regex::Regex::new(r#"t!\(\s*[\w.()&]+\s*,\s*"([a-z0-9_.]+)""#).unwrap();
        let mut missing = Vec::new();
        let mut seen = 0;
        for (path, src) in sources("src") {
            let code = src.split("#[cfg(test)]").next().unwrap_or_default();
            for c in used.captures_iter(code) {
                seen += 1;
                if en.template(&c[1]).is_none() {
                    missing.push(format!("{}: {}", path.display(), &c[1]));
                }
            }
        }
        assert!(
            seen > 300,
            "only {seen} uses of t! found: is the walk broken?"
        );
        assert!(
            missing.is_empty(),
            "keys missing from locales/en.toml: {missing:#?}"
        );
    }

    /// Where a literal of four words or more is not said to a person: logs, errors for the
    /// operator (`#[error]`, anyhow, store and backend errors), audit details, failure
    /// reasons kept for the audit, chat errors (logged by delivery), panics in start-up code.
    const OPERATOR_CONTEXT: &str = r"tracing::|ChatError|#\[error\(|eprintln!|anyhow!|bail!|Unexpected|jobs::fail\(|not_valid\(|replayed\(|reason:|json!\(|panic!|\.expect\(|\.context\(|BackendError::new|corrupt\(";

    /// Literals that are not said to a person although no context above shows it, each
    /// with why.
    const NOT_SAID: &[(&str, &str)] = &[
        // The crash-injection switch of the crash tests, read from the environment.
        ("src/engine/crash.rs", "is not a visit number"),
        ("src/engine/crash.rs", "unknown crash point"),
        // A job's wait note, kept in the job's row for the operator.
        (
            "src/engine/worker/outcome.rs",
            "waiting for a person to buy seats",
        ),
        // The console transcript's framing of chat events (who posted, reacted, deleted),
        // not words of the bot.
        ("src/chat/console/io.rs", "[{message_id}]"),
        ("src/chat/console/io.rs", "deleted by {bot}"),
        ("src/chat/console/mod.rs", "cannot encode output"),
    ];

    #[test]
    fn no_reply_path_carries_a_literal_sentence() {
        let literal = regex::Regex::new(r#""((?:[^"\\]|\\.)*)""#).unwrap();
        let word = regex::Regex::new(r"[A-Za-z]{2,}").unwrap();
        let operator = regex::Regex::new(OPERATOR_CONTEXT).unwrap();
        let mut found = Vec::new();
        for dir in ["src/engine", "src/chat"] {
            for (path, src) in sources(dir) {
                let name = path.display().to_string();
                if name.ends_with("tests.rs") {
                    continue;
                }
                let lines: Vec<&str> = src.lines().collect();
                for (i, line) in lines.iter().enumerate() {
                    if line.starts_with("#[cfg(test)]") {
                        break;
                    }
                    if line.trim_start().starts_with("//") {
                        continue;
                    }
                    for c in literal.captures_iter(line) {
                        let text = &c[1];
                        if word.find_iter(text).count() < 4 || !text.contains(' ') {
                            continue;
                        }
                        let context = lines[i.saturating_sub(10)..=i].join(" ");
                        let allowed = operator.is_match(&context)
                            || NOT_SAID.iter().any(|(f, s)| name == *f && line.contains(s));
                        if !allowed {
                            found.push(format!("{name}:{}: {}", i + 1, line.trim()));
                        }
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "sentences for people belong in locales/*.toml, said through t!: {found:#?}"
        );
    }
}
