//! What is wrong with the settings: [`ConfigProblem`] (source, key, message), and the
//! translation of TOML and serde errors into words an operator can act on.

use std::fmt;

use super::provenance::child_key;

/// One thing wrong with the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Where the offending value came from: a file path, `config/default.toml (embedded)` or
    /// `environment variable LICENSEBOT__…`.
    pub source: String,
    /// The key path, e.g. `policy.remind_after` or `approvers[0].upn`; for a TOML syntax
    /// error the position (`line 3, column 5`); empty when the whole source is at fault.
    pub key: String,
    /// What is wrong, in words an operator can act on.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.source, self.message)
        } else {
            write!(f, "{}: {}: {}", self.source, self.key, self.message)
        }
    }
}

/// The settings could not be loaded; every problem found is listed, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", one_per_line(.problems))]
pub struct ConfigError {
    /// Every problem found, in the order the layers and keys were read.
    pub problems: Vec<ConfigProblem>,
}

fn one_per_line(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Line and column (1-based) of a byte offset.
pub(super) fn position(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let at = format!("line {line}, column {column}");
    let shown: String = text
        .lines()
        .nth(line - 1)
        .unwrap_or("")
        .trim()
        .chars()
        .take(60)
        .collect();
    match key_on_line(text, line) {
        Some(key) => format!("{at} ({key})"),
        None if shown.is_empty() => at,
        None => format!("{at} (`{shown}`)"),
    }
}

/// The dotted key that line `line` (from 1) of a TOML text sets, with the table it is in:
/// `policy.remind_after` for `remind_after = …` under `[policy]`; `None` when the line sets
/// no plain key (a table header, a broken line).
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (key, _) = lines.get(line.checked_sub(1)?)?.split_once('=')?;
    let key = key.trim();
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    if !plain(key) {
        return None;
    }
    let table = lines[..line - 1].iter().rev().find_map(|l| {
        let l = l.trim();
        let inner = l.strip_prefix('[')?.strip_suffix(']')?;
        let inner = inner.trim_start_matches('[').trim_end_matches(']').trim();
        plain(inner).then_some(inner)
    });
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
}
// ---------------------------------------------------------------------------------------
// Turning serde's errors into problems
// ---------------------------------------------------------------------------------------

pub(super) fn ignored_key(prefix: &str, path: &serde_ignored::Path) -> String {
    use serde_ignored::Path as P;
    match path {
        P::Root => prefix.to_string(),
        P::Seq { parent, index } => format!("{}[{index}]", ignored_key(prefix, parent)),
        P::Map { parent, key } => child_key(&ignored_key(prefix, parent), key),
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            ignored_key(prefix, parent)
        }
    }
}

fn error_key(prefix: &str, path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut key = prefix.to_string();
    for segment in path {
        match segment {
            Segment::Seq { index } => key = format!("{key}[{index}]"),
            Segment::Map { key: k } => key = child_key(&key, k),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    key
}

/// The TOML parser's words for a syntax error, on one line. The parser can give none (a file
/// that ends right after `key =`): then the problem is still named, never left blank.
pub(super) fn toml_syntax_message(message: &str) -> String {
    let message = message.trim();
    if message.is_empty() {
        "not valid TOML here: a value is missing or malformed".to_string()
    } else {
        message.replace('\n', "; ")
    }
}

pub(super) fn describe(
    prefix: &str,
    err: &serde_path_to_error::Error<toml::de::Error>,
) -> (String, String) {
    let key = error_key(prefix, err.path());
    let message = err.inner().message();
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let is_approver = key.starts_with("approvers[") && !key.contains('.');
        if is_approver && field == "upn" {
            return (key, "an approver needs a upn".to_string());
        }
        return (
            child_key(&key, field),
            "required, but set nowhere".to_string(),
        );
    }
    (key, humanize(message))
}

/// Rewrites serde's wording (`invalid type: string "x", expected u32`) for operators.
fn humanize(message: &str) -> String {
    if let Some((found, expected)) = message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.rsplit_once(", expected "))
    {
        return format!(
            "expected {}, found {}",
            expected_words(expected),
            found_words(found)
        );
    }
    if let Some((found, expected)) = message
        .strip_prefix("invalid value: ")
        .and_then(|rest| rest.rsplit_once(", expected "))
    {
        let expected = if expected.starts_with('u') && expected.len() <= 5 {
            "a non-negative integer".to_string()
        } else {
            expected_words(expected)
        };
        return format!(
            "{} is out of range: expected {expected}",
            found_words(found)
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return format!("unknown value {rest}");
    }
    message.to_string()
}

fn expected_words(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128"
        | "isize" => "an integer".to_string(),
        "f32" | "f64" => "a number".to_string(),
        "a sequence" => "an array".to_string(),
        "a map" => "a table".to_string(),
        "a borrowed string" => "a string".to_string(),
        other if other.starts_with("struct ") => "a table".to_string(),
        other if other.starts_with("enum ") => "a string".to_string(),
        other => other.to_string(),
    }
}

fn found_words(found: &str) -> String {
    if let Some(s) = found.strip_prefix("string ") {
        return s.to_string();
    }
    for kind in ["integer ", "floating point ", "boolean "] {
        if let Some(v) = found.strip_prefix(kind) {
            return v.trim_matches('`').to_string();
        }
    }
    match found {
        "sequence" => "an array".to_string(),
        "map" => "a table".to_string(),
        other => other.to_string(),
    }
}
