//! Tests of the settings: layering, provenance, every problem a file or the environment can have, and the summary.

use std::collections::BTreeSet;
use std::time::Duration;

use toml::{Table, Value};

use super::load::env_value;
use super::provenance::child_key;
use super::*;
use crate::domain::{CountryCode, GroupFlags, Upn, UserType};
use std::io::Write;

use proptest::prelude::*;

/// Bob as the one approver, as a settings file writes him.
const BOB_APPROVES: &str = "[[approvers]]\nchat_user = \"bob\"\nupn = \"bob@contoso.example\"\n";

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn toml_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

fn name(file: &tempfile::NamedTempFile) -> String {
    file.path().display().to_string()
}

/// Loads `text` as the settings file with the given environment.
fn load(
    text: &str,
    vars: &[(&str, &str)],
) -> (tempfile::NamedTempFile, Result<Settings, ConfigError>) {
    let file = toml_file(text);
    let result = Settings::load_from(Some(file.path()), &env(vars));
    (file, result)
}

fn problems(result: Result<Settings, ConfigError>) -> Vec<ConfigProblem> {
    match result {
        Ok(_) => panic!("expected problems, the settings loaded"),
        Err(e) => e.problems,
    }
}

fn problem(source: &str, key: &str, message: &str) -> ConfigProblem {
    ConfigProblem {
        source: source.to_string(),
        key: key.to_string(),
        message: message.to_string(),
    }
}

/// The settings loaded from `text` as the settings file with the given environment.
fn settings(text: &str, vars: &[(&str, &str)]) -> Settings {
    let (_file, result) = load(text, vars);
    result.unwrap_or_else(|e| panic!("{e}"))
}

/// The keys of the problems found loading `text` with the given environment, in order.
fn problem_keys(text: &str, vars: &[(&str, &str)]) -> Vec<String> {
    let (_file, result) = load(text, vars);
    problems(result).into_iter().map(|p| p.key).collect()
}

/// The one problem found loading `text` with the given environment, asserted to be blamed
/// on the file.
fn sole_problem(text: &str, vars: &[(&str, &str)]) -> ConfigProblem {
    let (file, result) = load(text, vars);
    let mut found = problems(result);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].source, name(&file));
    found.remove(0)
}

/// The one problem found loading `text`, asserted to be blamed on the file at `key`;
/// returned for what else a test checks of its message.
fn sole_problem_at(text: &str, vars: &[(&str, &str)], key: &str) -> ConfigProblem {
    let found = sole_problem(text, vars);
    assert_eq!(found.key, key, "{found:?}");
    found
}

/// Asserts that loading `text` finds just one problem, in the file at `key`, whose message
/// contains `fragment`.
fn assert_sole_problem_says(text: &str, vars: &[(&str, &str)], key: &str, fragment: &str) {
    assert_says(&sole_problem_at(text, vars, key), fragment);
}

/// The first problem found loading `text` (with no environment).
fn first_problem(text: &str) -> ConfigProblem {
    let (_file, result) = load(text, &[]);
    problems(result).remove(0)
}

/// Asserts that loading `text` finds just one problem, in the file at `key`, saying `message`.
fn assert_only_problem(text: &str, key: &str, message: &str) {
    let (file, result) = load(text, &[]);
    assert_eq!(problems(result), [problem(&name(&file), key, message)]);
}

/// Asserts that the first problem found loading `text` is at `key` and says `message`.
fn assert_first_problem(text: &str, key: &str, message: &str) {
    let found = first_problem(text);
    assert_eq!((found.key.as_str(), found.message.as_str()), (key, message));
}

/// Asserts that `problem`'s message contains `fragment`.
fn assert_says(problem: &ConfigProblem, fragment: &str) {
    assert!(problem.message.contains(fragment), "{problem:?}");
}

/// Key paths with array indices written `[]`.
fn shapes(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Table(t) => {
            for (k, v) in t {
                let key = child_key(prefix, k);
                out.insert(key.clone());
                shapes(v, &key, out);
            }
        }
        Value::Array(items) => {
            for v in items.iter().filter(|v| v.is_table()) {
                shapes(v, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn embedded_default_loads_as_the_demo_tenant() {
    let s = Settings::embedded_default();
    assert_eq!(s.chat.transport, ChatTransport::Console);
    assert_eq!(s.store.url, "sqlite://data/licensebot.db");
    assert_eq!(s.bot.prefix, "!pro");
    assert_eq!(s.policy.remind_after.get(), Duration::from_secs(4 * 3600));
    assert_eq!(s.policy.expire_after.get(), Duration::from_secs(7 * 86400));
    assert_eq!(
        s.policy.default_usage_location,
        Some(CountryCode::parse("NL").unwrap())
    );
    let approvers: Vec<&str> = s.approvers.iter().map(|a| a.chat_user.as_str()).collect();
    assert_eq!(approvers, ["bob", "carol", "dave"]);
    assert_eq!(s.backend.simulated.skus.len(), 3);
    assert_eq!(s.backend.simulated.users.len(), 9);
    let grace = &s.backend.simulated.users[3];
    assert_eq!(
        grace.upn.as_str(),
        "grace_fabrikam.example#ext#@contoso.example"
    );
    assert_eq!(grace.user_type, UserType::Guest);
    assert!(!s.backend.simulated.users[4].account_enabled);
    assert_eq!(s.provenance.sources(), [DEFAULT_SOURCE]);
}

/// Found by fuzzing: tracing-subscriber's filter parser panicked on this value.
#[test]
fn a_log_filter_with_non_ascii_text_is_a_problem_not_a_panic() {
    // TOML values: raw non-ASCII characters, and a NUL written as a TOML escape.
    for level in [
        "\"hb[b\u{8b}bb\u{e2}b7g]\"",
        "\"info,licensebot=débug\"",
        "\"info\\u0000\"",
    ] {
        assert_sole_problem_says(
            &format!("[telemetry]\nlevel = {level}\n"),
            &[],
            "telemetry.level",
            "is not allowed",
        );
    }
}

#[test]
fn embedded_default_has_one_free_pro_seat() {
    let s = Settings::embedded_default();
    let sim = &s.backend.simulated;
    let pro = sim
        .skus
        .iter()
        .find(|k| k.sku_part_number == "POWER_BI_PRO")
        .unwrap();
    let held = sim
        .users
        .iter()
        .filter(|u| u.licenses.iter().any(|l| l == "POWER_BI_PRO"))
        .count();
    assert_eq!((pro.seats, held), (2, 1));
}

#[test]
fn every_setting_appears_in_default_toml() {
    let raw: Value = DEFAULT_TOML.parse::<Table>().map(Value::Table).unwrap();
    let typed = Value::try_from(Settings::embedded_default()).unwrap();
    let (mut in_file, mut in_type) = (BTreeSet::new(), BTreeSet::new());
    shapes(&raw, "", &mut in_file);
    shapes(&typed, "", &mut in_type);
    // Optional keys the types leave out when unset still have to be documented.
    for key in [
        "backend.simulated.users[].usage_location",
        "backend.simulated.skus[].service_plans",
        "policy.default_usage_location",
    ] {
        in_type.insert(key.to_string());
    }
    let missing: Vec<&String> = in_type.difference(&in_file).collect();
    assert!(missing.is_empty(), "not in default.toml: {missing:?}");
}

#[test]
fn documented_keys_are_in_default_toml() {
    let raw: Value = DEFAULT_TOML.parse::<Table>().map(Value::Table).unwrap();
    let mut in_file = BTreeSet::new();
    shapes(&raw, "", &mut in_file);
    for key in [
        "chat.transport",
        "store.url",
        "bot.name",
        "bot.prefix",
        "bot.language",
        "bot.general_channel",
        "bot.approvals_channel",
        "bot.approve_emojis",
        "bot.deny_emojis",
        "policy.allow_guests",
        "policy.default_usage_location",
        "policy.default_billing_cycle",
        "policy.remind_after",
        "policy.escalate_after",
        "policy.expire_after",
        "policy.max_open_requests_per_user",
        "policy.currency",
        "roles.purchase",
        "roles.assign",
        "jobs.max_attempts",
        "jobs.backoff_base",
        "jobs.backoff_max",
        "jobs.lease",
        "jobs.poll_interval",
        "jobs.verify_attempts",
        "jobs.verify_interval",
        "scheduler.tick",
        "telemetry.level",
        "telemetry.format",
        "telemetry.metrics_addr",
        "approvers[].chat_user",
        "approvers[].upn",
        "backend.kind",
        "backend.purchase",
        "backend.sku_part_number",
        "backend.simulated.latency",
        "backend.manual.order_via",
        "backend.simulated.skus[].sku_part_number",
        "backend.simulated.skus[].sku_id",
        "backend.simulated.skus[].seats",
        "backend.simulated.skus[].unit_price_monthly",
        "backend.simulated.skus[].service_plans",
        "backend.simulated.users[].upn",
        "backend.simulated.users[].display_name",
        "backend.simulated.users[].usage_location",
        "backend.simulated.users[].user_type",
        "backend.simulated.users[].account_enabled",
        "backend.simulated.users[].licenses",
        "backend.simulated.users[].roles",
        "backend.simulated.users[].last_sign_in",
        "backend.simulated.users[].last_power_bi_sign_in",
        "backend.simulated.groups[].id",
        "backend.simulated.groups[].display_name",
        "backend.simulated.groups[].licenses",
        "backend.simulated.groups[].members",
        "backend.simulated.groups[].owners",
        "backend.simulated.groups[].dynamic",
        "backend.simulated.groups[].unified",
        "backend.simulated.groups[].mail_enabled",
        "backend.simulated.groups[].security_enabled",
        "backend.simulated.groups[].role_assignable",
        "backend.simulated.groups[].synced",
    ] {
        assert!(in_file.contains(key), "{key} is not in default.toml");
    }
}

#[test]
fn sections_match_the_settings_fields() {
    let typed = Value::try_from(Settings::embedded_default()).unwrap();
    let keys: BTreeSet<&str> = typed
        .as_table()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // `discord` and `ha` are the optional sections, absent from the embedded default.
    let mut expected: BTreeSet<&str> = SECTIONS.into_iter().collect();
    expected.remove("discord");
    expected.remove("ha");
    assert_eq!(keys, expected);
}

const DISCORD: &str = r#"
        [chat]
        transport = "discord"
        [discord]
        guild_id = "123456789012345678"
        approvals_channel_id = "123456789012345679"
        [[approvers]]
        chat_user = "223456789012345678"
        upn = "bob@contoso.example"
    "#;

#[test]
fn discord_settings_load_with_the_token_from_the_environment() {
    let s = settings(DISCORD, &[("DISCORD_TOKEN", "secret-token-value")]);
    let d = s.discord.as_ref().unwrap();
    assert_eq!(d.guild_id.get(), 123456789012345678);
    assert_eq!(d.approvals_channel_id.to_string(), "123456789012345679");
    assert_eq!(d.api_url, "https://discord.com");
    assert!(d.is_real_discord());
    assert!(d.register_slash_commands);
    use secrecy::ExposeSecret;
    assert_eq!(
        d.token.as_ref().unwrap().expose_secret(),
        "secret-token-value"
    );
}

#[test]
fn the_discord_token_is_never_printed_or_serialized() {
    let s = settings(DISCORD, &[("DISCORD_TOKEN", "secret-token-value")]);

    let debug = format!("{s:?}");
    let summary = s.summary();
    let toml = toml::to_string(&s).unwrap();

    for text in [&debug, &summary, &toml] {
        assert!(!text.contains("secret-token-value"), "{text}");
    }
    assert!(
        summary.contains("token from $DISCORD_TOKEN (set)"),
        "{summary}"
    );
}

#[test]
fn discord_without_its_token_names_the_variable() {
    assert_only_problem(
        DISCORD,
        "discord.token_env",
        "the environment variable DISCORD_TOKEN (the bot token) is not set",
    );
}

#[test]
fn discord_transport_without_a_discord_table_is_refused() {
    let text = "[chat]\ntransport = \"discord\"\n[[approvers]]\nchat_user = \"1\"\nupn = \"bob@contoso.example\"\n";

    sole_problem_at(text, &[], "discord");
}

#[test]
fn discord_approvers_must_be_user_ids() {
    let text = DISCORD.replace("223456789012345678", "bob");

    assert_sole_problem_says(
        &text,
        &[("DISCORD_TOKEN", "t")],
        "approvers[0].chat_user",
        "is not a Discord user id",
    );
}

#[test]
fn bad_discord_ids_and_urls_are_named() {
    let text = DISCORD
        .replace("\"123456789012345678\"", "\"general\"")
        .replace("[discord]", "[discord]\napi_url = \"discord.com\"");
    let keys = problem_keys(&text, &[("DISCORD_TOKEN", "t")]);

    assert_eq!(keys, ["discord.guild_id"]);
    let text = DISCORD.replace("[discord]", "[discord]\napi_url = \"discord.com\"");
    let keys = problem_keys(&text, &[("DISCORD_TOKEN", "t")]);
    assert_eq!(keys, ["discord.api_url"]);
}

#[test]
fn a_discord_table_is_allowed_with_the_console() {
    let text = DISCORD.replace("transport = \"discord\"", "transport = \"console\"");
    let text = text.replace("223456789012345678", "bob");
    let s = settings(&text, &[]);
    assert!(s.discord.as_ref().unwrap().token.is_none());
}

#[test]
fn serialized_settings_load_back_unchanged() {
    let before = Settings::embedded_default();
    let text = toml::to_string(&before).unwrap();

    let after = settings(&text, &[]);
    assert_eq!(
        Value::try_from(&after).unwrap(),
        Value::try_from(&before).unwrap()
    );
}

#[test]
fn file_overrides_one_key_and_keeps_the_rest() {
    let (file, result) = load("[policy]\nremind_after = \"2h\"\n", &[]);

    let s = result.unwrap();
    assert_eq!(s.policy.remind_after.get(), Duration::from_secs(7200));
    assert_eq!(s.policy.escalate_after.get(), Duration::from_secs(86400));
    assert_eq!(s.bot.prefix, "!pro");
    assert_eq!(
        s.provenance.source_of("policy.remind_after"),
        Some(name(&file).as_str())
    );
    assert_eq!(
        s.provenance.source_of("policy.escalate_after"),
        Some(DEFAULT_SOURCE)
    );
}

#[test]
fn env_override_beats_the_file() {
    let var = "LICENSEBOT__POLICY__MAX_OPEN_REQUESTS_PER_USER";
    let s = settings("[policy]\nmax_open_requests_per_user = 5\n", &[(var, "7")]);
    assert_eq!(s.policy.max_open_requests_per_user, 7);
    assert_eq!(
        s.provenance.source_of("policy.max_open_requests_per_user"),
        Some(format!("environment variable {var}").as_str())
    );
}

#[test]
fn env_values_are_toml_when_they_can_be_and_strings_otherwise() {
    let vars = env(&[
        ("LICENSEBOT__POLICY__ALLOW_GUESTS", "true"),
        ("LICENSEBOT__BOT__APPROVE_EMOJIS", "[\"🆗\"]"),
        ("LICENSEBOT__BACKEND__SIMULATED__LATENCY", "250ms"),
        ("LICENSEBOT__STORE__URL", "sqlite::memory:"),
        ("LICENSEBOT__BOT__NAME", "\"probot\""),
    ]);

    let s = Settings::load_from(None, &vars).unwrap();

    assert!(s.policy.allow_guests);
    assert_eq!(s.bot.approve_emojis, ["🆗"]);
    assert_eq!(
        s.backend.simulated.latency.get(),
        Duration::from_millis(250)
    );
    assert_eq!(s.store.url, "sqlite::memory:");
    assert_eq!(s.bot.name, "probot");
}

#[test]
fn env_value_with_a_newline_stays_a_string() {
    assert_eq!(
        env_value("5\nother = 1"),
        Value::String("5\nother = 1".to_string())
    );
}

#[test]
fn other_env_vars_are_ignored() {
    let vars = env(&[
        ("LICENSEBOT_POLICY__ALLOW_GUESTS", "nonsense"),
        ("PATH", "/usr/bin"),
        ("licensebot__policy__allow_guests", "nonsense"),
    ]);

    assert!(Settings::load_from(None, &vars).is_ok());
}

#[test]
fn licensebot_config_names_the_file_when_none_is_given() {
    let file = toml_file("[bot]\nprefix = \"!lic\"\n");
    let vars = env(&[(CONFIG_FILE_ENV, &name(&file))]);

    let s = Settings::load_from(None, &vars).unwrap();

    assert_eq!(s.bot.prefix, "!lic");
}

#[test]
fn an_explicit_file_wins_over_licensebot_config() {
    let named = toml_file("[bot]\nprefix = \"!env\"\n");
    let given = toml_file("[bot]\nprefix = \"!cli\"\n");
    let vars = env(&[(CONFIG_FILE_ENV, &name(&named))]);

    let s = Settings::load_from(Some(given.path()), &vars).unwrap();

    assert_eq!(s.bot.prefix, "!cli");
}

#[test]
fn missing_file_is_a_problem_naming_it() {
    let path = Path::new("/nonexistent/licensebot.toml");

    let found = problems(Settings::load_from(Some(path), &[]));

    assert_eq!(found.len(), 1);
    assert_eq!(found[0].source, "/nonexistent/licensebot.toml");
    assert!(found[0].message.starts_with("cannot read the file"));
}

#[test]
fn unknown_key_in_file_names_file_and_key() {
    let (file, result) = load("[policy]\nremind_aftr = \"2h\"\n", &[]);

    let found = problems(result);

    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
            found[0].to_string(),
            format!(
                "{}: policy.remind_aftr: unknown key; config/default.toml lists every key this build reads",
                name(&file)
            )
        );
}

#[test]
fn every_unknown_key_is_reported() {
    let text = r#"
            colour = "blue"
            [bot]
            nmae = "x"
            [backend.simulated]
            latncy = "1s"
            [[approvers]]
            chat_user = "bob"
            upn = "bob@contoso.example"
            role = "boss"
        "#;
    let (file, result) = load(text, &[]);

    let keys: Vec<(String, String)> = problems(result)
        .into_iter()
        .map(|p| (p.source, p.key))
        .collect();

    let f = name(&file);
    for key in [
        "colour",
        "bot.nmae",
        "backend.simulated.latncy",
        "approvers[0].role",
    ] {
        assert!(
            keys.contains(&(f.clone(), key.to_string())),
            "{key}: {keys:?}"
        );
    }
    assert_eq!(keys.len(), 4, "{keys:?}");
}

#[test]
fn unknown_key_in_env_names_the_variable() {
    let var = "LICENSEBOT__POLICY__REMIND_AFTR";

    let found = problems(Settings::load_from(None, &env(&[(var, "2h")])));

    assert_eq!(found.len(), 1);
    assert_eq!(found[0].source, format!("environment variable {var}"));
    assert_eq!(found[0].key, "policy.remind_aftr");
}

#[test]
fn env_name_with_empty_part_is_a_problem() {
    let var = "LICENSEBOT__POLICY____X";

    let found = problems(Settings::load_from(None, &env(&[(var, "1")])));

    assert_eq!(found[0].source, format!("environment variable {var}"));
}

#[test]
fn bad_duration_names_key_and_source() {
    assert_only_problem(
        "[policy]\nremind_after = \"four hours\"\n",
        "policy.remind_after",
        "\"four hours\" is not a duration (use e.g. 30m, 4h, 7d)",
    );
}

#[test]
fn duration_given_as_number_says_what_is_expected() {
    assert_first_problem(
        "[jobs]\nlease = 300\n",
        "jobs.lease",
        "expected a duration such as \"30m\", \"4h\" or \"7d\", found 300",
    );
}

#[test]
fn type_error_from_env_names_the_variable() {
    let var = "LICENSEBOT__POLICY__MAX_OPEN_REQUESTS_PER_USER";

    let found = problems(Settings::load_from(None, &env(&[(var, "many")])));

    assert_eq!(
            found[0].to_string(),
            format!(
                "environment variable {var}: policy.max_open_requests_per_user: expected an integer, found \"many\""
            )
        );
}

#[test]
fn negative_count_is_out_of_range() {
    assert_first_problem(
        "[jobs]\nmax_attempts = -1\n",
        "jobs.max_attempts",
        "-1 is out of range: expected a non-negative integer",
    );
}

#[test]
fn type_errors_in_different_sections_are_all_reported() {
    let text = "[bot]\nprefix = 5\n[jobs]\nmax_attempts = \"x\"\n";
    let keys = problem_keys(text, &[]);

    assert_eq!(keys, ["bot.prefix", "jobs.max_attempts"]);
}

#[test]
fn bad_upn_in_first_approver_is_named() {
    let text = "[[approvers]]\nchat_user = \"bob\"\nupn = \"bob at contoso\"\n";

    assert_sole_problem_says(text, &[], "approvers[0].upn", "is not a valid UPN");
}

#[test]
fn approver_without_upn_is_named() {
    let text = format!("{BOB_APPROVES}[[approvers]]\nchat_user = \"carol\"\n");
    assert_only_problem(&text, "approvers[1]", "an approver needs a upn");
}

#[test]
fn missing_required_key_blames_the_file_holding_its_table() {
    let text = "[[approvers]]\nupn = \"bob@contoso.example\"\n";
    assert_only_problem(text, "approvers[0].chat_user", "required, but set nowhere");
}

#[test]
fn unknown_role_is_named() {
    assert_sole_problem_says(
        "[roles]\nassign = [\"LicenseAdministrator\", \"Janitor\"]\n",
        &[],
        "roles.assign[1]",
        "`Janitor` is not a directory role",
    );
}

#[test]
fn empty_role_list_is_refused() {
    assert_eq!(
        first_problem("[roles]\npurchase = []\n").key,
        "roles.purchase"
    );
}

#[test]
fn unknown_transport_lists_the_choices() {
    assert_first_problem(
        "[chat]\ntransport = \"slack\"\n",
        "chat.transport",
        "\"slack\" is not one of \"console\", \"discord\"",
    );
}

#[test]
fn non_string_transport_says_what_was_found() {
    assert_first_problem(
        "[chat]\ntransport = 5\n",
        "chat.transport",
        "expected a string, found 5",
    );
}

#[test]
fn reminding_after_escalation_blames_the_reminder_set_later() {
    assert_only_problem(
        "[policy]\nremind_after = \"30h\"\n",
        "policy.remind_after",
        "1day 6h must be shorter than policy.escalate_after (1day)",
    );
}

#[test]
fn expiring_before_escalation_blames_the_expiry_set_later() {
    assert_only_problem(
        "[policy]\nexpire_after = \"1h\"\n",
        "policy.expire_after",
        "1h must be longer than policy.escalate_after (1day)",
    );
}

#[test]
fn backoff_max_below_base_is_refused() {
    assert_first_problem(
        "[jobs]\nbackoff_max = \"1s\"\n",
        "jobs.backoff_max",
        "1s must be at least jobs.backoff_base (5s)",
    );
}

#[test]
fn zero_durations_are_refused_except_latency() {
    assert_eq!(
        first_problem("[scheduler]\ntick = \"0s\"\n").key,
        "scheduler.tick"
    );

    let (_file, result) = load("[backend.simulated]\nlatency = \"0s\"\n", &[]);
    assert!(result.is_ok());
}

#[test]
fn out_of_range_counts_and_bad_words_are_refused() {
    let text = r#"
            [bot]
            prefix = "! pro"
            [policy]
            max_open_requests_per_user = 0
            currency = "usd"
            [store]
            url = "mysql://db"
        "#;
    let keys = problem_keys(text, &[]);

    assert_eq!(
        keys,
        [
            "store.url",
            "bot.prefix",
            "policy.max_open_requests_per_user",
            "policy.currency"
        ]
    );
}

#[test]
fn duplicate_approver_is_refused() {
    let text = format!(
        "{BOB_APPROVES}[[approvers]]\nchat_user = \"bob\"\nupn = \"carol@contoso.example\"\n"
    );
    assert_only_problem(
        &text,
        "approvers[1].chat_user",
        "\"bob\" is already approvers[0]",
    );
}

#[test]
fn approver_who_is_not_a_simulated_user_is_refused() {
    let text = "[[approvers]]\nchat_user = \"zoe\"\nupn = \"zoe@contoso.example\"\n";
    assert_only_problem(
        text,
        "approvers[0].upn",
        "zoe@contoso.example is not a user of the simulated tenant (backend.simulated.users)",
    );
}

#[test]
fn managed_sku_must_be_simulated() {
    let found = first_problem("[backend]\nsku_part_number = \"POWER_BI_FREE\"\n");

    assert_eq!(found.key, "backend.sku_part_number");
    assert_says(&found, "is not among backend.simulated.skus");
}

/// A simulated tenant with one Power BI Pro seat, as a settings file writes it.
const ONE_PRO_SEAT: &str = r#"
            [[backend.simulated.skus]]
            sku_part_number = "POWER_BI_PRO"
            sku_id = "f8a1db68-be16-40ed-86d5-cb42ce701560"
            seats = 1
            unit_price_monthly = 14.0
        "#;

#[test]
fn more_holders_than_seats_is_refused() {
    let users = r#"
            [[backend.simulated.users]]
            upn = "bob@contoso.example"
            display_name = "Bob"
            licenses = ["POWER_BI_PRO"]
            [[backend.simulated.users]]
            upn = "carol@contoso.example"
            display_name = "Carol"
            licenses = ["POWER_BI_PRO"]
            [[backend.simulated.users]]
            upn = "dave@contoso.example"
            display_name = "Dave"
        "#;
    assert_only_problem(
        &format!("{ONE_PRO_SEAT}{users}"),
        "backend.simulated.skus[0].seats",
        "2 simulated users hold POWER_BI_PRO but it has only 1 seats",
    );
}

#[test]
fn bad_sku_guid_is_named() {
    let text = ONE_PRO_SEAT.replace("f8a1db68-be16-40ed-86d5-cb42ce701560", "not-a-guid");
    let found = first_problem(&text);

    assert_eq!(found.key, "backend.simulated.skus[0].sku_id");
    assert_says(&found, "is not a GUID");
}

/// The approvers as simulated users, as a settings file writes them (Dave's table stays open
/// for more keys).
const APPROVER_USERS: &str = r#"
            [[backend.simulated.users]]
            upn = "bob@contoso.example"
            display_name = "Bob"
            [[backend.simulated.users]]
            upn = "carol@contoso.example"
            display_name = "Carol"
            [[backend.simulated.users]]
            upn = "dave@contoso.example"
            display_name = "Dave"
        "#;

/// Dave's sign-ins as a settings file writes them: the keys' text, each only when given.
fn dave_signed_in(any: Option<&str>, power_bi: Option<&str>) -> String {
    let mut text = APPROVER_USERS.to_string();
    if let Some(any) = any {
        text.push_str(&format!("last_sign_in = \"{any}\"\n"));
    }
    if let Some(power_bi) = power_bi {
        text.push_str(&format!("last_power_bi_sign_in = \"{power_bi}\"\n"));
    }
    text
}

#[test]
fn a_simulated_users_sign_ins_are_times_or_durations_before_the_first_seeding() {
    let s = settings(
        &dave_signed_in(Some("2026-09-01T08:00:00+02:00"), Some("90d")),
        &[],
    );

    let dave = &s.backend.simulated.users[2];
    let (any, power_bi) = dave.sign_ins();
    let at = chrono::DateTime::parse_from_rfc3339("2026-09-01T06:00:00Z").unwrap();
    assert_eq!(any.unwrap(), Some(SignInTime::At(at.into())));
    assert_eq!(
        power_bi.unwrap(),
        Some(SignInTime::BeforeFirstSeeding(Duration::from_secs(
            90 * 86_400
        )))
    );
    let (none, also_none) = s.backend.simulated.users[0].sign_ins();
    assert_eq!((none.unwrap(), also_none.unwrap()), (None, None));
}

#[test]
fn a_sign_in_that_is_neither_a_time_nor_a_duration_is_named() {
    let (_file, result) = load(
        &dave_signed_in(Some("last tuesday"), Some("2026-13-01")),
        &[],
    );
    let found = problems(result);

    let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "backend.simulated.users[2].last_sign_in",
            "backend.simulated.users[2].last_power_bi_sign_in"
        ]
    );
    assert_says(&found[0], "\"last tuesday\" is neither an RFC 3339 time");
    assert_says(&found[1], "such as \"90d\"");
}

#[test]
fn a_sign_in_more_than_a_hundred_years_back_is_refused() {
    assert_sole_problem_says(
        &dave_signed_in(None, Some("36501d")),
        &[],
        "backend.simulated.users[2].last_power_bi_sign_in",
        "is more than 100 years (36500d) before the tenant was first seeded",
    );
}

#[test]
fn a_power_bi_sign_in_later_than_the_last_sign_in_is_refused() {
    for (any, power_bi) in [
        ("90d", "30d"),
        ("2026-09-01T08:00:00Z", "2026-09-02T08:00:00Z"),
    ] {
        assert_sole_problem_says(
            &dave_signed_in(Some(any), Some(power_bi)),
            &[],
            "backend.simulated.users[2].last_power_bi_sign_in",
            "is later than last_sign_in",
        );
    }
}

#[test]
fn a_power_bi_sign_in_alone_or_beside_a_time_of_the_other_kind_is_accepted() {
    for (any, power_bi) in [
        (None, Some("30d")),
        (Some("2020-01-01T00:00:00Z"), Some("30d")),
        (Some("30d"), Some("30d")),
        (Some("1d"), None),
    ] {
        settings(&dave_signed_in(any, power_bi), &[]);
    }
}

#[test]
fn embedded_default_has_ivan_as_a_pro_holder_who_has_not_used_it_for_a_while() {
    let s = Settings::embedded_default();
    let ivan = s
        .backend
        .simulated
        .users
        .iter()
        .find(|u| u.upn.as_str() == "ivan@contoso.example")
        .unwrap();
    let days = |d: u64| {
        Some(SignInTime::BeforeFirstSeeding(Duration::from_secs(
            d * 86_400,
        )))
    };

    let (any, power_bi) = ivan.sign_ins();

    assert_eq!(ivan.licenses, ["POWER_BI_PRO"]);
    assert_eq!((any.unwrap(), power_bi.unwrap()), (days(75), days(100)));
}

/// A simulated group as a settings file writes it (its table stays open for more keys).
const A_GROUP: &str = r#"
            [[backend.simulated.groups]]
            id = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
            display_name = "Pro users"
            licenses = ["POWER_BI_PRO"]
            members = ["alice@contoso.example"]
            owners = ["carol@contoso.example"]
        "#;

#[test]
fn embedded_default_has_the_pro_licensing_group_without_members() {
    let s = Settings::embedded_default();
    let groups = &s.backend.simulated.groups;
    assert_eq!(groups.len(), 1);
    let g = &groups[0];
    assert_eq!(g.display_name, "Power BI Pro users");
    assert_eq!(g.licenses, ["POWER_BI_PRO"]);
    assert!(g.members.is_empty());
    assert_eq!(g.owners, [Upn::parse("carol@contoso.example").unwrap()]);
    assert_eq!(g.flags(), GroupFlags::SECURITY);
}

#[test]
fn a_groups_flags_default_to_an_assigned_security_group() {
    let s = settings(A_GROUP, &[]);
    let g = &s.backend.simulated.groups[0];
    assert_eq!(g.id.as_str(), "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d");
    assert_eq!(g.flags(), GroupFlags::SECURITY);
}

#[test]
fn a_group_licensing_an_unknown_sku_is_refused() {
    let text = A_GROUP.replace("[\"POWER_BI_PRO\"]", "[\"POWER_BI_PREMIUM\"]");
    assert_only_problem(
        &text,
        "backend.simulated.groups[0].licenses",
        "\"POWER_BI_PREMIUM\" is not among backend.simulated.skus",
    );
}

#[test]
fn a_group_member_who_is_not_a_simulated_user_is_refused() {
    let text = A_GROUP.replace("alice@", "zoe@");
    assert_only_problem(
        &text,
        "backend.simulated.groups[0].members",
        "zoe@contoso.example is not a user of the simulated tenant (backend.simulated.users)",
    );
}

#[test]
fn a_group_owner_who_is_not_a_simulated_user_is_refused() {
    let text = A_GROUP.replace("carol@", "zoe@");
    assert_only_problem(
        &text,
        "backend.simulated.groups[0].owners",
        "zoe@contoso.example is not a user of the simulated tenant (backend.simulated.users)",
    );
}

#[test]
fn a_member_listed_twice_is_refused() {
    let text = A_GROUP.replace(
        "members = [\"alice@contoso.example\"]",
        "members = [\"alice@contoso.example\", \"Alice@contoso.example\"]",
    );
    assert_only_problem(
        &text,
        "backend.simulated.groups[0].members",
        "alice@contoso.example is listed twice",
    );
}

#[test]
fn a_duplicate_group_id_is_refused() {
    let second = A_GROUP.replace("Pro users", "Other Pro users");
    assert_only_problem(
        &format!("{A_GROUP}{second}"),
        "backend.simulated.groups[1].id",
        "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d is already backend.simulated.groups[0]",
    );
}

#[test]
fn a_group_id_in_upper_case_is_the_same_group() {
    let upper = A_GROUP
        .replace(
            "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
            "A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D",
        )
        .replace("Pro users", "Other Pro users");
    assert_only_problem(
        &format!("{A_GROUP}{upper}"),
        "backend.simulated.groups[1].id",
        "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d is already backend.simulated.groups[0]",
    );
}

#[test]
fn a_group_id_that_is_not_a_guid_is_named() {
    let text = A_GROUP.replace("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "pro-users");
    let found = first_problem(&text);
    assert_eq!(found.key, "backend.simulated.groups[0].id");
    assert_says(&found, "is not a GUID");
}

#[test]
fn a_group_without_a_name_is_refused() {
    let text = A_GROUP.replace("\"Pro users\"", "\" \"");
    assert_only_problem(
        &text,
        "backend.simulated.groups[0].display_name",
        "must not be empty",
    );
}

#[test]
fn a_licensing_group_must_be_a_security_group() {
    let text = format!("{A_GROUP}unified = true\nsecurity_enabled = false\n");
    let found = first_problem(&text);
    assert_eq!(found.key, "backend.simulated.groups[0].security_enabled");
    assert_says(&found, "must be a security group");
}

#[test]
fn more_group_members_than_seats_is_allowed() {
    let text = A_GROUP.replace(
        "members = [\"alice@contoso.example\"]",
        "members = [\"alice@contoso.example\", \"bob@contoso.example\", \"dave@contoso.example\"]",
    );
    // The one Pro seat is Ivan's (embedded default); Frank's E5 needs its SKU kept.
    let e5 = ONE_PRO_SEAT.replace("POWER_BI_PRO", "SPE_E5").replace(
        "f8a1db68-be16-40ed-86d5-cb42ce701560",
        "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
    );
    let s = settings(&format!("{ONE_PRO_SEAT}{e5}{text}"), &[]);
    assert_eq!(s.backend.simulated.groups[0].members.len(), 3);
}

#[test]
fn approve_and_deny_emojis_must_not_overlap() {
    assert_only_problem(
        "[bot]\ndeny_emojis = [\"❌\", \"👍\"]\n",
        "bot.deny_emojis",
        "\"👍\" also in bot.approve_emojis; a reaction must either approve or deny",
    );
}

#[test]
fn a_syntax_error_on_a_key_line_names_the_key() {
    let found = sole_problem("[jobs]\nmax_attempts = = 3\n", &[]);

    assert!(
        found.key.starts_with("line 2, column") && found.key.ends_with("(jobs.max_attempts)"),
        "{found:?}"
    );
}

#[test]
fn a_file_ending_after_an_equals_sign_still_names_its_problem() {
    assert_only_problem(
        "a=",
        "line 1, column 3 (a)",
        "not valid TOML here: a value is missing or malformed",
    );
}

#[test]
fn a_broken_table_header_is_quoted() {
    let found = first_problem("[bot]\nprefix = \"!pro\"\n[policy\n");

    assert!(found.key.ends_with("(`[policy`)"), "{found:?}");
}

#[test]
fn a_file_that_is_not_utf8_names_the_key_where_it_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("local.toml");
    std::fs::write(&file, b"[bot]\nprefix = \"!pro\xff\"\n").unwrap();

    let found = problems(Settings::load_from(Some(&file), &[]));

    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key, "line 2, column 15 (bot.prefix)");
    assert!(
        found[0].message.contains("not UTF-8 text (byte 0xff)"),
        "{:?}",
        found[0]
    );
}

#[test]
fn toml_syntax_error_names_file_and_line() {
    let found = sole_problem(
        "[policy]\nremind_after = \"4h\nescalate_after = \"1d\"\n",
        &[],
    );

    assert!(found.key.starts_with("line 2, column"), "{found:?}");
}

#[test]
fn array_of_tables_replaces_the_default() {
    let text = "[[approvers]]\nchat_user = \"carol\"\nupn = \"carol@contoso.example\"\n";
    let (file, result) = load(text, &[]);

    let s = result.unwrap();
    assert_eq!(s.approvers.len(), 1);
    assert_eq!(s.approvers[0].chat_user, "carol");
    assert_eq!(
        s.provenance.source_of("approvers[0].upn"),
        Some(name(&file).as_str())
    );
    assert_eq!(s.provenance.source_of("approvers[1].upn"), None);
}

#[test]
fn empty_default_usage_location_means_none() {
    let vars = env(&[("LICENSEBOT__POLICY__DEFAULT_USAGE_LOCATION", "")]);

    let s = Settings::load_from(None, &vars).unwrap();

    assert_eq!(s.policy.default_usage_location, None);
}

#[test]
fn production_example_loads_once_its_secrets_are_in_the_environment() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/production.example.toml");

    let settings = Settings::load_from(Some(&path), &env(&[("DISCORD_TOKEN", "not-a-real-token")]));

    let s = settings.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.chat.transport, ChatTransport::Discord);
    assert_eq!(s.backend.kind, BackendKind::Graph);
    assert_eq!(s.backend.purchase, PurchaseBackend::Manual);
}

#[test]
fn error_display_has_one_line_per_problem() {
    let err = ConfigError {
        problems: vec![
            problem("config/local.toml", "policy.remind_after", "bad"),
            problem("config/local.toml", "", "cannot read the file"),
        ],
    };

    assert_eq!(
        err.to_string(),
        "config/local.toml: policy.remind_after: bad\nconfig/local.toml: cannot read the file"
    );
}

#[test]
fn summary_names_transport_backend_and_approvers() {
    let summary = Settings::embedded_default().summary();

    assert!(summary.contains("chat transport: console"));
    assert!(summary.contains("store: sqlite://data/licensebot.db"));
    assert!(summary.contains("backend: simulated directory"));
    assert!(summary.contains("bob as bob@contoso.example"));
    assert!(
        summary.contains(
            "POWER_BI_PRO: seeded with 2 seats, 1 assigned, when the database is created"
        ),
        "{summary}"
    );
    assert!(summary.contains("remind after 4h, escalate after 1day, expire after 7days"));
}

#[test]
fn provenance_blames_the_table_for_keys_set_nowhere() {
    let mut prov = Provenance::default();
    let file = prov.add_source("f.toml");
    prov.record("approvers[0].chat_user", &Value::from("x"), file);

    assert_eq!(prov.nearest_source("approvers[0].upn"), "f.toml");
    assert_eq!(prov.nearest_source("policy.remind_after"), DEFAULT_SOURCE);
}

proptest! {
    #[test]
    fn durations_round_trip_through_their_text(secs in 0u64..10_000_000, millis in 0u32..1000) {
        let d = ConfigDuration(Duration::new(secs, millis * 1_000_000));

        let back = ConfigDuration::parse(&d.to_string()).unwrap();

        prop_assert_eq!(back, d);
    }

    #[test]
    fn guids_parse_case_insensitively(hex in "[0-9a-fA-F]{32}") {
        let text = format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);

        let guid = Guid::parse(&text).unwrap();

        prop_assert_eq!(guid.as_str(), text.to_ascii_lowercase());
    }
}

const GRAPH: &str = "[backend]\nkind = \"graph\"\npurchase = \"manual\"\n\n[backend.graph]\n\
        tenant_id = \"contoso.onmicrosoft.com\"\n\
        client_id = \"11111111-2222-3333-4444-555555555555\"\n";

#[test]
fn an_inline_discord_token_is_refused() {
    let found = sole_problem_at(
        "[discord]\ntoken = \"MTIz.abc.def\"\nguild_id = \"1\"\napprovals_channel_id = \"2\"\n",
        &[],
        "discord.token",
    );
    assert!(!found.message.contains("MTIz"), "{found:?}");
}

#[test]
fn simulated_purchases_need_the_simulated_tenant() {
    let (_file, result) = load(
        "[backend]\nkind = \"graph\"\npurchase = \"simulated\"\n\n[backend.graph]\n\
             tenant_id = \"contoso.onmicrosoft.com\"\n\
             client_id = \"11111111-2222-3333-4444-555555555555\"\n",
        &[("LICENSEBOT_GRAPH_CLIENT_SECRET", "x")],
    );

    let found = problems(result);

    assert!(
        found
            .iter()
            .any(|p| p.key == "backend.purchase" && p.message.contains("partner_center")),
        "{found:?}"
    );
}

#[test]
fn graph_kind_needs_a_graph_table() {
    assert_sole_problem_says(
        "[backend]\nkind = \"graph\"\npurchase = \"manual\"\n",
        &[],
        "backend.graph",
        "tenant_id and client_id",
    );
}

#[test]
fn graph_table_fills_in_defaults_and_its_sku_wins() {
    let s = settings(
        &format!("{GRAPH}sku_part_number = \"PBI_PREMIUM_PER_USER\"\n"),
        &[],
    );
    let g = s.backend.graph.as_ref().unwrap();
    assert_eq!(g.authority_url, DEFAULT_AUTHORITY_URL);
    assert_eq!(g.graph_url, DEFAULT_GRAPH_URL);
    assert_eq!(g.client_secret_env, "LICENSEBOT_GRAPH_CLIENT_SECRET");
    assert_eq!(g.role_cache_ttl.get(), Duration::from_secs(600));
    assert_eq!(g.timeout.get(), Duration::from_secs(30));
    assert_eq!(s.backend.managed_sku(), "PBI_PREMIUM_PER_USER");
}

#[test]
fn without_its_own_sku_graph_manages_the_backend_sku() {
    assert_eq!(settings(GRAPH, &[]).backend.managed_sku(), "POWER_BI_PRO");
}

#[test]
fn graph_urls_come_from_the_environment() {
    let s = settings(
        GRAPH,
        &[(
            "LICENSEBOT__BACKEND__GRAPH__GRAPH_URL",
            "http://127.0.0.1:9/v1.0",
        )],
    );
    assert_eq!(
        s.backend.graph.unwrap().graph_url,
        "http://127.0.0.1:9/v1.0"
    );
}

#[test]
fn a_secret_written_in_the_file_is_refused() {
    let found = sole_problem_at(
        &format!("{GRAPH}client_secret = \"abc~very-secret\"\n"),
        &[],
        "backend.graph.client_secret",
    );
    assert_says(&found, "client_secret_env");
    assert!(!found.message.contains("very-secret"));
}

#[test]
fn bad_graph_values_are_named_by_key() {
    let mut keys = problem_keys("[backend]\nkind = \"graph\"\npurchase = \"manual\"\n[backend.graph]\ntenant_id = \"a/b\"\n\
             client_id = \"11111111-2222-3333-4444-555555555555\"\n\
             client_secret_env = \"not a name\"\ngraph_url = \"ftp://x\"\ntimeout = \"0s\"\n", &[]);
    keys.sort();
    assert_eq!(
        keys,
        [
            "backend.graph.client_secret_env",
            "backend.graph.graph_url",
            "backend.graph.tenant_id",
            "backend.graph.timeout"
        ]
    );
}

#[test]
fn partner_center_needs_its_table_and_the_graph_backend() {
    let mut keys = problem_keys("[backend]\npurchase = \"partner_center\"\n", &[]);
    keys.sort();
    assert_eq!(keys, ["backend.partner_center", "backend.purchase"]);
}

#[test]
fn partner_center_with_graph_loads() {
    let s = settings(
        &format!(
            "{GRAPH}\n[backend.partner_center]\n\
                 customer_tenant_id = \"22222222-2222-3333-4444-555555555555\"\n\
                 subscription_id = \"33333333-2222-3333-4444-555555555555\"\n"
        ),
        &[("LICENSEBOT__BACKEND__PURCHASE", "partner_center")],
    );
    let pc = s.backend.partner_center.unwrap();
    assert_eq!(pc.api_url, DEFAULT_PARTNER_CENTER_URL);
    assert_eq!(pc.client_secret_env, "LICENSEBOT_PC_CLIENT_SECRET");
    assert_eq!(pc.tenant_id, None);
}

#[test]
fn group_mode_needs_a_group_id_that_is_a_guid() {
    assert_eq!(
        problem_keys("[licensing]\nmode = \"group\"\n", &[]),
        ["licensing.group_id"]
    );
    assert_sole_problem_says(
        "[licensing]\nmode = \"group\"\ngroup_id = \"Power BI Pro users\"\n",
        &[],
        "licensing.group_id",
        "is not a group's object id",
    );
    assert_sole_problem_says(
        "[licensing]\ngroup_wait = \"0s\"\n",
        &[],
        "licensing.group_wait",
        "longer than 0s",
    );
    let s = settings(
        "[licensing]\nmode = \"group\"\ngroup_id = \"0F0F0F0F-1111-4222-8333-444455556666\"\n",
        &[],
    );
    assert_eq!(s.licensing.mode, LicensingMode::Group);
    assert!(s
        .summary()
        .contains("licensing: through membership of group 0F0F0F0F-1111-4222-8333-444455556666"));
    let direct = settings("", &[]);
    assert_eq!(direct.licensing.mode, LicensingMode::Direct);
    assert!(direct.summary().contains("licensing: assigned directly"));
}

#[test]
fn the_rules_on_money_are_checked() {
    let text = r#"
            [policy]
            two_person_above_cost = -1
            monthly_budget = inf
            [roles]
            over_budget = []
            [[auto_approve]]
            name = "analysts"
            [[auto_approve]]
            name = "analysts"
            requesters = ["alice"]
            directory_groups = ["not-a-guid"]
        "#;
    let keys = problem_keys(text, &[]);
    assert_eq!(
        keys,
        [
            "roles.over_budget",
            "policy.two_person_above_cost",
            "policy.monthly_budget",
            "auto_approve[0]",
            "auto_approve[1].name",
            "auto_approve[1].directory_groups[0]",
        ]
    );
    let s = settings(
        "[policy]\ntwo_person_above_seats = 5\nmonthly_budget = 500\n[[auto_approve]]\nname = \"bi\"\nrequesters = [\"alice\"]\n",
        &[],
    );
    assert_eq!(
        (s.policy.two_person_above_seats, s.policy.monthly_budget),
        (5, 500.0)
    );
    assert_eq!(s.auto_approve[0].requesters, ["alice"]);
    assert!(Settings::embedded_default().auto_approve.is_empty());
}

/// PostgreSQL is named by its URL; its password comes from the variable `password_env`
/// names, never from the URL, and a named variable that is not set is a problem.
#[test]
fn a_postgres_store_takes_its_password_from_the_environment_only() {
    let pg = "[store]\nurl = \"postgres://licensebot@db.internal:5432/licensebot\"\n";
    let with_env = format!("{pg}password_env = \"LICENSEBOT_DB_PASSWORD\"\n");
    let env = [("LICENSEBOT_DB_PASSWORD", "s3cret")];
    let (_file, result) = load(&with_env, &env);
    let settings = result.unwrap_or_else(|e| panic!("{e}"));
    use secrecy::ExposeSecret;
    let password = settings.store.password.as_ref().map(|p| p.expose_secret());
    assert_eq!(password, Some("s3cret"));
    assert!(
        !format!("{settings:?}").contains("s3cret"),
        "the password is not printed"
    );

    assert_eq!(problem_keys(&with_env, &[]), ["store.password_env"]);
    let (_file, result) = load(pg, &[]);
    assert!(
        result.is_ok(),
        "a server asking no password needs no variable"
    );

    let in_url = "[store]\nurl = \"postgres://licensebot:s3cret@db.internal/licensebot\"\n";
    let problem = first_problem(in_url);
    assert_eq!(problem.key, "store.url");
    assert!(!problem.to_string().contains("s3cret"), "{problem}");
    assert_eq!(
        problem_keys("[store]\npassword_env = \"not a name\"\n", &[]),
        ["store.password_env"]
    );
    assert_eq!(
        problem_keys(
            "[backend.simulated]\ndatabase = \"postgres://db/sim\"\n",
            &[]
        ),
        ["backend.simulated.database"]
    );
}

/// `[ha]` runs several bots on one PostgreSQL database: refused on SQLite, its lease
/// between 3s and 10m, 15s when not given.
#[test]
fn ha_is_for_postgres_only_and_its_lease_is_bounded() {
    assert_eq!(problem_keys("[ha]\nlease = \"15s\"\n", &[]), ["ha"]);
    let pg = "[store]\nurl = \"postgres://licensebot@db.internal/licensebot\"\n";
    let (_file, result) = load(&format!("{pg}[ha]\n"), &[]);
    let settings = result.unwrap_or_else(|e| panic!("{e}"));
    let lease = settings.ha.map(|h| h.lease.get());
    assert_eq!(lease, Some(std::time::Duration::from_secs(15)));
    assert_eq!(
        problem_keys(&format!("{pg}[ha]\nlease = \"1s\"\n"), &[]),
        ["ha.lease"]
    );
}
