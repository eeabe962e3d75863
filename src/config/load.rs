//! Reading the layers (embedded default, file, environment) into one table, and building
//! the typed [`Settings`] from it with every problem collected.

use std::path::Path;

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use super::problems::{
    describe, ignored_key, position, toml_syntax_message, ConfigError, ConfigProblem,
};
use super::provenance::{child_key, merge, Provenance};
use super::sections::Settings;
use super::{DEFAULT_SOURCE, DEFAULT_TOML, ENV_PREFIX};

pub(super) fn is_ours(env_name: &str) -> bool {
    env_name.starts_with(ENV_PREFIX)
}

pub(super) fn env_source(name: &str) -> String {
    format!("environment variable {name}")
}

/// An environment value: a TOML value when it is one, else the text as a string.
pub(super) fn env_value(raw: &str) -> Value {
    match format!("v = {raw}").parse::<Table>() {
        Ok(mut table) => match table.remove("v") {
            // A value with a newline could smuggle in more keys; then it is plain text.
            Some(value) if table.is_empty() => value,
            _ => Value::String(raw.to_string()),
        },
        Err(_) => Value::String(raw.to_string()),
    }
}

/// Whether a key name says its value is a secret (`client_secret`, `password`, …); the
/// names of the variables that hold secrets (`client_secret_env`) are not.
fn names_a_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    !k.ends_with("_env") && (k.contains("secret") || k.contains("password") || k.contains("token"))
}

/// Keys of `table` (recursively) that name a secret and carry a value.
fn inline_secrets(table: &Table, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in table {
        let key = child_key(prefix, k);
        match v {
            Value::Table(t) => inline_secrets(t, &key, out),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Table(t) = item {
                        inline_secrets(t, &format!("{key}[{i}]"), out);
                    }
                }
            }
            Value::String(text) if text.trim().is_empty() => {}
            _ if names_a_secret(k) => out.push(key),
            _ => {}
        }
    }
}

/// A settings file's text, or what is wrong with it: unreadable, or not UTF-8 (then where).
pub(super) fn read_settings_file(path: &Path) -> Result<String, (String, String)> {
    let bytes =
        std::fs::read(path).map_err(|e| (String::new(), format!("cannot read the file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let prefix = String::from_utf8_lossy(&bytes[..good]);
        (
            position(&prefix, good),
            format!(
                "not UTF-8 text (byte 0x{:02x}); a settings file must be UTF-8",
                bytes.get(good).copied().unwrap_or_default()
            ),
        )
    })
}

#[derive(Default, Clone)]
pub(super) struct Loader {
    pub(super) root: Table,
    pub(super) provenance: Provenance,
    pub(super) problems: Vec<ConfigProblem>,
}

impl Loader {
    /// A loader holding the embedded default, parsed once per process (a load parses the
    /// operator's file and the environment on top of a copy).
    pub(super) fn with_embedded_default() -> Loader {
        static DEFAULT: std::sync::OnceLock<Loader> = std::sync::OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                let mut loader = Loader::default();
                loader.add_toml(DEFAULT_SOURCE, DEFAULT_TOML);
                loader
            })
            .clone()
    }

    pub(super) fn into_error(self) -> ConfigError {
        ConfigError {
            problems: self.problems,
        }
    }

    /// Records a problem with `key`, blaming the source that set it.
    pub(super) fn problem(&mut self, key: impl Into<String>, message: impl Into<String>) {
        let key = key.into();
        self.problems.push(ConfigProblem {
            source: self.provenance.nearest_source(&key).to_string(),
            key,
            message: message.into(),
        });
    }

    pub(super) fn add_toml(&mut self, source: &str, text: &str) {
        match toml::from_str::<Table>(text) {
            Ok(table) => {
                let mut secrets = Vec::new();
                inline_secrets(&table, "", &mut secrets);
                if !secrets.is_empty() {
                    for key in secrets {
                        self.problems.push(ConfigProblem {
                            source: source.to_string(),
                            key,
                            message: "a secret must not be written in a settings file; put it \
                                      in the environment variable its *_env key names \
                                      (client_secret_env, token_env) and delete this key"
                                .to_string(),
                        });
                    }
                    return;
                }
                let index = self.provenance.add_source(source);
                merge(&mut self.root, table, "", index, &mut self.provenance);
            }
            Err(e) => self.problems.push(ConfigProblem {
                source: source.to_string(),
                key: e
                    .span()
                    .map(|s| position(text, s.start))
                    .unwrap_or_default(),
                message: toml_syntax_message(e.message()),
            }),
        }
    }

    pub(super) fn add_env(&mut self, name: &str, raw: &str) {
        let source = env_source(name);
        let segments: Vec<String> = name
            .strip_prefix(ENV_PREFIX)
            .unwrap_or_default()
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        let Some((last, parents)) = segments.split_last() else {
            return;
        };
        if segments.iter().any(String::is_empty) {
            self.problems.push(ConfigProblem {
                source,
                key: String::new(),
                message: "the name must look like LICENSEBOT__SECTION__KEY, with no empty parts"
                    .to_string(),
            });
            return;
        }
        let mut overlay = Table::new();
        overlay.insert(last.clone(), env_value(raw));
        for segment in parents.iter().rev() {
            let mut outer = Table::new();
            outer.insert(segment.clone(), Value::Table(overlay));
            overlay = outer;
        }
        let index = self.provenance.add_source(&source);
        merge(&mut self.root, overlay, "", index, &mut self.provenance);
    }

    /// Deserializes each section on its own, so one type error does not hide the others.
    pub(super) fn build(&mut self, mut root: Table) -> Option<Settings> {
        let chat = self.section(&mut root, "chat");
        let store = self.section(&mut root, "store");
        let bot = self.section(&mut root, "bot");
        let policy = self.section(&mut root, "policy");
        let roles = self.section(&mut root, "roles");
        let jobs = self.section(&mut root, "jobs");
        let scheduler = self.section(&mut root, "scheduler");
        let telemetry = self.section(&mut root, "telemetry");
        let approvers = self.list(&mut root, "approvers");
        let links = self.section(&mut root, "links");
        let backend = self.section(&mut root, "backend");
        let licensing = self.section(&mut root, "licensing");
        let reconcile = self.section(&mut root, "reconcile");
        let reclaim = self.section(&mut root, "reclaim");
        let auto_approve = if root.contains_key("auto_approve") {
            self.list(&mut root, "auto_approve")
        } else {
            Some(Vec::new())
        };
        let alerts = self.section(&mut root, "alerts");
        let audit = self.section(&mut root, "audit");
        let discord = match root.remove("discord") {
            Some(value) => self.value(value, "discord").map(Some),
            None => Some(None),
        };
        let ha = match root.remove("ha") {
            Some(value) => self.value(value, "ha").map(Some),
            None => Some(None),
        };
        let unknown: Vec<String> = root.keys().map(|k| child_key("", k)).collect();
        for key in unknown {
            self.unknown_key(key);
        }
        Some(Settings {
            chat: chat?,
            store: store?,
            bot: bot?,
            policy: policy?,
            roles: roles?,
            jobs: jobs?,
            scheduler: scheduler?,
            telemetry: telemetry?,
            approvers: approvers?,
            links: links?,
            backend: backend?,
            licensing: licensing?,
            reconcile: reconcile?,
            reclaim: reclaim?,
            auto_approve: auto_approve?,
            alerts: alerts?,
            audit: audit?,
            discord: discord?,
            ha: ha?,
            provenance: Provenance::default(),
        })
    }

    fn unknown_key(&mut self, key: String) {
        self.problem(
            key,
            "unknown key; config/default.toml lists every key this build reads",
        );
    }

    fn section<T: DeserializeOwned>(&mut self, root: &mut Table, name: &str) -> Option<T> {
        match root.remove(name) {
            Some(value) => self.value(value, name),
            None => {
                self.problem(name, "this table is missing");
                None
            }
        }
    }

    /// An array of tables, each entry read on its own.
    fn list<T: DeserializeOwned>(&mut self, root: &mut Table, name: &str) -> Option<Vec<T>> {
        match root.remove(name) {
            Some(Value::Array(items)) => {
                let entries: Vec<Option<T>> = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| self.value(item, &format!("{name}[{i}]")))
                    .collect();
                entries.into_iter().collect()
            }
            Some(other) => self.value(other, name),
            None => {
                self.problem(name, "this array is missing");
                None
            }
        }
    }

    fn value<T: DeserializeOwned>(&mut self, value: Value, prefix: &str) -> Option<T> {
        let mut ignored = Vec::new();
        let mut note_ignored = |path: serde_ignored::Path| ignored.push(ignored_key(prefix, &path));
        let result: Result<T, _> = serde_path_to_error::deserialize(
            serde_ignored::Deserializer::new(value, &mut note_ignored),
        );
        for key in ignored {
            self.unknown_key(key);
        }
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                let (key, message) = describe(prefix, &e);
                self.problem(key, message);
                None
            }
        }
    }
}
