//! Settings: typed, layered (the embedded default, an optional file, `LICENSEBOT__…`
//! environment variables) and validated at load, with problems that name their source
//! (file or environment variable), the key and what is wrong.
//!
//! Layers, later wins:
//! 1. `config/default.toml`, embedded in the binary: a complete demo tenant;
//! 2. an optional file (`--config FILE`, else the `LICENSEBOT_CONFIG` environment variable);
//! 3. environment variables `LICENSEBOT__SECTION__KEY=value` (double underscores between
//!    keys, keys lower-cased; the value is read as a TOML value when it is one, such as
//!    `true`, `5` or `["✅"]`, and as a string otherwise).
//!
//! Tables merge key by key; every other value, arrays and arrays of tables included,
//! replaces what the earlier layers said. [`Provenance`] remembers which layer set each key.
//!
//! Where each part lives: `load` reads the layers (file, environment) into one table and
//! remembers who set what (`provenance`); `sections` and `values` are the typed settings
//! serde builds from it; `checks` are the rules types cannot express; `problems` turns every
//! failure into a [`ConfigProblem`] that names its source, key and fix; `summary` prints what
//! `check-config` shows. Imports: `crate::domain` only (config knows no other part).
//!
//! Why not `figment`: it layers TOML and environment variables and keeps per-value metadata,
//! but its errors stop at "which provider, which key": they carry no line and column in the
//! operator's file, it cannot list every unknown key of every layer in one pass (we use
//! `serde_ignored` per section), and refusing a secret written into a file needs the raw
//! table of each layer before merging. The hand-written layering below is about 250 lines
//! and keeps those messages, which the tests pin; figment would replace only the merge and
//! still need all of the rest, so it was evaluated and not taken.

mod alerts;
mod checks;
mod load;
mod problems;
mod provenance;
mod secrets;
mod sections;
mod summary;
mod values;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use load::{env_source, is_ours, read_settings_file, Loader};

pub use problems::{ConfigError, ConfigProblem};
pub use provenance::Provenance;
pub use secrets::secret_from_env;
pub use sections::*;
pub use values::*;

/// The embedded default settings.
const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// How problems name the embedded default.
pub const DEFAULT_SOURCE: &str = "config/default.toml (embedded)";

/// The environment variable naming a settings file when the caller gives none.
pub const CONFIG_FILE_ENV: &str = "LICENSEBOT_CONFIG";

/// The prefix of environment variables that override single keys.
pub const ENV_PREFIX: &str = "LICENSEBOT__";

/// The top-level tables of [`Settings`], in the order they are read. `discord` (required
/// only with `chat.transport = "discord"`) and `ha` (PostgreSQL only) are optional; the
/// others are always present.
pub const SECTIONS: [&str; 18] = [
    "chat",
    "store",
    "bot",
    "policy",
    "roles",
    "jobs",
    "scheduler",
    "telemetry",
    "approvers",
    "links",
    "backend",
    "licensing",
    "reconcile",
    "reclaim",
    "alerts",
    "audit",
    "discord",
    "ha",
];

/// Parses a log filter (`info`, `info,licensebot=debug`). Only printable ASCII is taken:
/// the filter parser of tracing-subscriber 0.3 slices its input at byte offsets and panics
/// on some non-ASCII text (found by fuzzing the settings loader), and no target, span or
/// level name needs more. Field values in a filter match literally (see below).
pub fn log_filter(text: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    if let Some(c) = text.chars().find(|c| !(c.is_ascii_graphic() || *c == ' ')) {
        return Err(format!(
            "{c:?} is not allowed; a filter is made of ASCII letters, digits and punctuation"
        ));
    }
    // Field values are matched as plain text: with regexes on, a crafted value such as
    // `[{f=(a|b)*c{1000}}]` compiles to a dense DFA for minutes (also found by fuzzing).
    tracing_subscriber::EnvFilter::builder()
        .with_regex(false)
        .parse(text)
        .map_err(|e| e.to_string())
}

impl Settings {
    /// Loads the settings: the embedded default, then `file` (or, when `file` is `None`, the
    /// file named by `LICENSEBOT_CONFIG`), then `LICENSEBOT__…` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut env = Vec::new();
        let mut problems = Vec::new();
        for (name, value) in std::env::vars_os() {
            match (name.into_string(), value.into_string()) {
                (Ok(name), Ok(value)) => env.push((name, value)),
                (Ok(name), Err(_)) if is_ours(&name) => problems.push(ConfigProblem {
                    source: env_source(&name),
                    key: String::new(),
                    message: "the value is not valid UTF-8".to_string(),
                }),
                _ => {}
            }
        }
        match Settings::load_from(file, &env) {
            Ok(settings) if problems.is_empty() => Ok(settings),
            Ok(_) => Err(ConfigError { problems }),
            Err(mut e) => {
                problems.append(&mut e.problems);
                Err(ConfigError { problems })
            }
        }
    }

    /// [`Settings::load`] with the environment given as `(name, value)` pairs, so tests never
    /// touch the process environment. `LICENSEBOT_CONFIG` is looked up in `env` too.
    pub fn load_from(
        file: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<Settings, ConfigError> {
        let mut loader = Loader::with_embedded_default();

        let named_by_env = env
            .iter()
            .find(|(name, value)| name == CONFIG_FILE_ENV && !value.trim().is_empty())
            .map(|(_, value)| PathBuf::from(value));
        if let Some(path) = file.map(Path::to_path_buf).or(named_by_env) {
            let source = path.display().to_string();
            match read_settings_file(&path) {
                Ok(text) => loader.add_toml(&source, &text),
                Err((key, message)) => loader.problems.push(ConfigProblem {
                    source,
                    key,
                    message,
                }),
            }
        }
        Settings::finish_loading(loader, env)
    }

    /// [`Settings::load_from`] with the settings file given as text (named `source` in
    /// problems): the fuzz target and property tests feed the loader this way.
    pub fn load_from_text(
        source: &str,
        text: &str,
        env: &[(String, String)],
    ) -> Result<Settings, ConfigError> {
        let mut loader = Loader::with_embedded_default();
        loader.add_toml(source, text);
        Settings::finish_loading(loader, env)
    }

    fn finish_loading(
        mut loader: Loader,
        env: &[(String, String)],
    ) -> Result<Settings, ConfigError> {
        let mut overrides: Vec<&(String, String)> =
            env.iter().filter(|(name, _)| is_ours(name)).collect();
        overrides.sort();
        for (name, value) in overrides {
            loader.add_env(name, value);
        }

        if !loader.problems.is_empty() {
            return Err(loader.into_error());
        }
        let root = std::mem::take(&mut loader.root);
        match loader.build(root) {
            Some(mut settings) => {
                loader.check(&settings);
                loader.read_secrets(&mut settings, env);
                if loader.problems.is_empty() {
                    settings.provenance = loader.provenance;
                    Ok(settings)
                } else {
                    Err(loader.into_error())
                }
            }
            None => Err(loader.into_error()),
        }
    }

    /// The embedded default alone: the demo tenant on the console.
    ///
    /// # Panics
    /// Only if `config/default.toml` is broken, which a unit test rules out.
    pub fn embedded_default() -> Settings {
        match Settings::load_from(None, &[]) {
            Ok(settings) => settings,
            Err(e) => panic!("the embedded config/default.toml does not load:\n{e}"),
        }
    }
}
