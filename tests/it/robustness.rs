//! Property tests that random and malformed input never panics the console reader or the
//! settings loader (the parser has its own in `src/command/parse/tests.rs`). CI runs the
//! default number of cases; for a long run, `PROPTEST_CASES=10000000 cargo test --release
//! --test it robustness` (see README, Reliability).

use licensebot::chat::console::{Input, InputError, LineReader};
use licensebot::config::Settings;
use licensebot::domain::ChannelRef;
use proptest::prelude::*;

/// Field names a console line may carry, and two it may not.
const CONSOLE_FIELDS: &[&str] = &[
    "type",
    "channel",
    "author",
    "content",
    "reply_to",
    "direct",
    "message_id",
    "user",
    "emoji",
    "seconds",
    "extra",
    "",
];

/// JSON values a console field may be given: the record types, and values of every other
/// type, out of range or empty.
const JSON_VALUES: &[&str] = &[
    r#""message""#,
    r#""reaction_add""#,
    r#""reaction_remove""#,
    r#""advance""#,
    r#""wait_idle""#,
    "null",
    "true",
    "-1",
    "18446744073709551616",
    "1e309",
    "[]",
    "{}",
];

/// One of `values`, each as likely as one of the generated values beside it (the weight is
/// how many there are).
fn one_of(values: &'static [&'static str]) -> (u32, BoxedStrategy<String>) {
    let weight = u32::try_from(values.len()).expect("a short list");
    (
        weight,
        prop::sample::select(values)
            .prop_map(str::to_string)
            .boxed(),
    )
}

/// JSON-ish lines: real field names and types mixed with wrong ones and junk.
fn jsonish() -> impl Strategy<Value = String> {
    let key = prop::sample::select(CONSOLE_FIELDS);
    let (weight, known) = one_of(JSON_VALUES);
    let value = prop_oneof![
        weight => known,
        1 => any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => "[a-z]{0,12}".prop_map(|s| format!("\"{s}\"")),
    ];
    let obj = proptest::collection::vec((key, value), 0..8).prop_map(|kvs| {
        let body: Vec<String> = kvs.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", body.join(","))
    });
    prop_oneof![
        obj.clone(),
        obj.prop_map(|s| s.chars().take(s.chars().count() / 2).collect::<String>()),
        any::<String>()
    ]
}

/// Setting keys: real ones of every type, an unknown one and a secret that must come from the environment.
const SETTING_KEYS: &[&str] = &[
    "chat.transport",
    "store.url",
    "bot.prefix",
    "bot.language",
    "bot.approve_emojis",
    "policy.remind_after",
    "policy.expire_after",
    "policy.max_open_requests_per_user",
    "policy.default_usage_location",
    "roles.purchase",
    "jobs.max_attempts",
    "jobs.backoff_base",
    "backend.kind",
    "backend.purchase",
    "backend.simulated.latency",
    "telemetry.metrics_addr",
    "discord.guild_id",
    "backend.graph.tenant_id",
    "nonsense.key",
    "bot.client_secret",
];

/// TOML values a setting may be given: durations, numbers, words and addresses the settings
/// use, and values of every other type.
const TOML_VALUES: &[&str] = &[
    "\"4h\"",
    "\"0s\"",
    "\"-3d\"",
    "5",
    "-1",
    "99999999999999999999",
    "true",
    "[]",
    "[\"✅\", 3]",
    "\"graph\"",
    "\"discord\"",
    "{ a = 1 }",
    "\"127.0.0.1:0\"",
    "1979-05-27T07:32:00Z",
];

/// TOML-ish settings: real keys with values of every type, unknown keys, broken syntax.
fn tomlish() -> impl Strategy<Value = String> {
    let key = prop::sample::select(SETTING_KEYS);
    let (weight, known) = one_of(TOML_VALUES);
    let value = prop_oneof![
        weight => known,
        1 => any::<String>().prop_map(|s| format!("{:?}", s)),
    ];
    let line = (key, value).prop_map(|(k, v)| format!("{k} = {v}"));
    prop_oneof![
        proptest::collection::vec(line, 0..6).prop_map(|l| l.join("\n")),
        Just("[[approvers]]\nchat_user = \"x\"\n".to_string()),
        any::<String>(),
    ]
}

/// Every line `LineReader` gives for `input`, to the end.
fn read_lines(input: &[u8]) -> Vec<Result<String, InputError>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut reader = LineReader::new(input);
        let mut lines = Vec::new();
        while let Some(line) = reader.next_line().await.expect("read from memory") {
            lines.push(line);
        }
        lines
    })
}

proptest! {
    #[test]
    fn the_line_reader_answers_every_line_whatever_its_bytes(
        lines in proptest::collection::vec(
            proptest::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..64),
            0..16,
        )
    ) {
        let input: Vec<u8> = lines.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect();

        let got = read_lines(&input);

        prop_assert_eq!(got.len(), lines.len());
        for (sent, read) in lines.iter().zip(&got) {
            let sent = sent.strip_suffix(b"\r").unwrap_or(sent);
            match std::str::from_utf8(sent) {
                Ok(text) => prop_assert_eq!(read.as_deref(), Ok(text)),
                Err(_) => prop_assert!(matches!(read, Err(InputError::NotUtf8(_))), "{:?}", read),
            }
        }
    }

    #[test]
    fn the_jsonl_reader_never_panics(line in jsonish()) {
        if let Ok(Some(Input::Message { author, channel, .. })) = Input::from_json(&line) {
            prop_assert!(!author.is_empty() && author.len() <= 64);
            prop_assert!(!channel.is_empty() && channel.len() <= 64);
        }
    }

    #[test]
    fn the_human_reader_never_panics(line in any::<String>()) {
        let general = ChannelRef("general".into());
        if let Ok(Some(Input::Message { author, .. })) = Input::from_human(&line, &general) {
            prop_assert!(!author.is_empty());
        }
    }

    #[test]
    fn the_settings_loader_never_panics_and_names_every_problem(text in tomlish()) {
        match Settings::load_from_text("fuzz.toml", &text, &[]) {
            Ok(settings) => prop_assert!(!settings.bot.prefix.is_empty()),
            Err(e) => {
                prop_assert!(!e.problems.is_empty());
                for p in &e.problems {
                    prop_assert!(!p.source.is_empty() && !p.message.is_empty(), "{p}");
                }
            }
        }
    }
}
