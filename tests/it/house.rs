//! The shape of the house, measured on every test run (ARCHITECTURE.md says why): the
//! engine names neither a transport, a backend nor SQLite; only the Discord transport uses
//! serenity; no source file over 1,000 lines and no function over 100 lines; every catalogue
//! key the code uses exists, and no reply path carries a literal sentence.

use std::path::{Path, PathBuf};

use licensebot::texts::{Language, Texts};

/// Most lines a function may have, from its `fn` line to its closing brace.
const MAX_FUNCTION_LINES: usize = 100;
/// Most lines a source file may have (test files aside).
const MAX_FILE_LINES: usize = 1_000;

/// Every `.rs` file below `dir`, relative to the crate root, with its text.
fn sources(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = vec![root.join(dir)];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).expect("read a source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                let name = path
                    .strip_prefix(root)
                    .expect("below the crate root")
                    .display()
                    .to_string();
                out.push((name, text));
            }
        }
    }
    out.sort();
    out
}

/// A file of tests: a `tests.rs` module or anything under `tests/`.
fn is_test_file(name: &str) -> bool {
    name.ends_with("tests.rs") || name.starts_with("tests/")
}

/// The code of `text` with comments, strings and character literals blanked (newlines
/// kept), so braces and `fn` in them count for nothing.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, s: &[char]| {
        out.extend(s.iter().map(|c| if *c == '\n' { '\n' } else { ' ' }));
    };
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        let end = if rest.starts_with(&['/', '/']) {
            rest.iter().position(|c| *c == '\n').unwrap_or(rest.len())
        } else if rest.starts_with(&['/', '*']) {
            (2..rest.len())
                .find(|k| rest[*k - 1] == '*' && rest[*k] == '/')
                .map_or(rest.len(), |k| k + 1)
        } else if let Some(n) = raw_string_len(rest, i > 0 && is_ident(chars[i - 1])) {
            n
        } else if rest[0] == '"' {
            let mut k = 1;
            while k < rest.len() && rest[k] != '"' {
                k += if rest[k] == '\\' { 2 } else { 1 };
            }
            (k + 1).min(rest.len())
        } else if let Some(n) = char_literal_len(rest) {
            n
        } else {
            out.push(rest[0]);
            i += 1;
            continue;
        };
        blank(&mut out, &rest[..end]);
        i += end;
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The length of a raw string (`r"…"`, `r#"…"#`, `br"…"`) starting here.
fn raw_string_len(rest: &[char], after_ident: bool) -> Option<usize> {
    if after_ident {
        return None;
    }
    let start = match rest {
        ['b', 'r', ..] => 2,
        ['r', ..] => 1,
        _ => return None,
    };
    let hashes = rest[start..].iter().take_while(|c| **c == '#').count();
    if rest.get(start + hashes) != Some(&'"') {
        return None;
    }
    let body = start + hashes + 1;
    (body..rest.len())
        .find(|k| rest[*k] == '"' && rest[k + 1..].iter().take(hashes).all(|c| *c == '#'))
        .map(|k| k + 1 + hashes)
}

/// The length of a character literal (`'x'`, `'\n'`, `'\u{1F600}'`) starting here; a
/// lifetime (`'a`) is none.
fn char_literal_len(rest: &[char]) -> Option<usize> {
    if rest.first() != Some(&'\'') {
        return None;
    }
    if rest.get(1) == Some(&'\\') {
        let close = rest.iter().skip(2).position(|c| *c == '\'')? + 2;
        return (close <= 12).then_some(close + 1);
    }
    (rest.get(2) == Some(&'\'')).then_some(3)
}

/// Each function of a file: its name, first line and length in lines.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let code = code_only(text);
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut search = 0;
    while let Some(at) = code[search..].find("fn ").map(|k| k + search) {
        search = at + 3;
        if at > 0 && is_ident(bytes[at - 1] as char) {
            continue;
        }
        let name: String = code[at + 3..]
            .chars()
            .take_while(|c| is_ident(*c))
            .collect();
        if name.is_empty() {
            continue;
        }
        // The body opens at the first `{` outside the signature's brackets; a `;` first
        // means a declaration without a body.
        let mut depth = 0i32;
        let mut open = None;
        for (k, c) in code[at..].char_indices() {
            match c {
                '(' | '[' | '<' => depth += 1,
                ')' | ']' | '>' => depth -= 1,
                ';' if depth <= 0 => break,
                '{' if depth <= 0 => {
                    open = Some(at + k);
                    break;
                }
                _ => {}
            }
        }
        let Some(open) = open else { continue };
        let mut braces = 0;
        let close = code[open..].char_indices().find_map(|(k, c)| {
            match c {
                '{' => braces += 1,
                '}' => braces -= 1,
                _ => {}
            }
            (braces == 0).then_some(open + k)
        });
        if let Some(close) = close {
            found.push((name, line_of(at), line_of(close) - line_of(at) + 1));
        }
    }
    found
}

#[test]
fn the_length_measure_counts_a_function_from_fn_to_its_brace() {
    let text = "fn a() {\n    let s = \"}\";\n    let c = '{';\n    // }\n}\nfn b<'x>(v: &'x str) -> Option<&'x str> { Some(v) }\n";
    assert_eq!(
        functions(text),
        vec![("a".to_string(), 1, 5), ("b".to_string(), 6, 1)]
    );
}

#[test]
fn the_engine_names_no_transport_backend_or_database() {
    let mut found = Vec::new();
    for (name, text) in sources("src/engine") {
        for banned in [
            "crate::chat",
            "crate::backend",
            "sqlx",
            "serenity",
            "reqwest",
        ] {
            if code_only(&text).contains(banned) {
                found.push(format!("{name} names {banned}"));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn only_the_discord_transport_uses_serenity() {
    let found: Vec<String> = sources("src")
        .into_iter()
        .filter(|(name, text)| {
            !name.starts_with("src/chat/discord/") && code_only(text).contains("serenity")
        })
        .map(|(name, _)| name)
        .collect();
    assert!(
        found.is_empty(),
        "serenity outside chat/discord: {found:#?}"
    );
}

#[test]
fn no_source_file_is_over_a_thousand_lines() {
    let found: Vec<String> = sources("src")
        .into_iter()
        .filter(|(name, _)| !is_test_file(name))
        .filter(|(_, text)| text.lines().count() > MAX_FILE_LINES)
        .map(|(name, text)| format!("{name}: {} lines", text.lines().count()))
        .collect();
    assert!(found.is_empty(), "over {MAX_FILE_LINES} lines: {found:#?}");
}

#[test]
fn no_function_is_over_a_hundred_lines() {
    let mut found = Vec::new();
    let mut measured = 0;
    for dir in ["src", "tests", "benches"] {
        for (name, text) in sources(dir) {
            for (function, line, lines) in functions(&text) {
                measured += 1;
                if lines > MAX_FUNCTION_LINES {
                    found.push(format!("{name}:{line} {function}: {lines} lines"));
                }
            }
        }
    }
    assert!(measured > 1_000, "only {measured} functions measured");
    assert!(
        found.is_empty(),
        "over {MAX_FUNCTION_LINES} lines: {found:#?}"
    );
}

#[test]
fn every_key_the_code_uses_exists() {
    let en = Texts::load(Language::En);
    let used = regex::Regex::new(r#"(?:t!\(\s*[\w.()&]+\s*,|said!\()\s*"([a-z0-9_.]+)""#).unwrap();
    let mut missing = Vec::new();
    let mut seen = 0;
    for (name, src) in sources("src") {
        let code = src.split("#[cfg(test)]").next().unwrap_or_default();
        for c in used.captures_iter(code) {
            seen += 1;
            if !en.has(&c[1]) {
                missing.push(format!("{name}: {}", &c[1]));
            }
        }
    }
    assert!(
        seen > 300,
        "only {seen} uses of t! found: is the walk broken?"
    );
    assert!(
        missing.is_empty(),
        "keys missing from locales/en.ftl: {missing:#?}"
    );
}

/// Where a literal of four words or more is not said to a person: logs, errors for the
/// operator (`#[error]`, anyhow, store and backend errors), audit details, failure
/// reasons kept for the audit, chat errors (logged by delivery), panics in start-up code.
const OPERATOR_CONTEXT: &str = r"tracing::|ChatError|#\[error\(|eprintln!|anyhow!|bail!|Unexpected|jobs::fail\(|not_valid\(|replayed\(|reason:|let reason = |let why = \[|json!\(|panic!|\.expect\(|\.context\(|BackendError::new|corrupt\(";

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
        for (name, src) in sources(dir) {
            if is_test_file(&name) {
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
        "sentences for people belong in locales/*.ftl, said through t!: {found:#?}"
    );
}
