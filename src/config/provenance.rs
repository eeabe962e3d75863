//! [`Provenance`]: which layer set each key, and the merge of one layer over another.

use std::collections::BTreeMap;

use toml::{Table, Value};

use super::DEFAULT_SOURCE;

/// Which layer set each leaf key (`policy.remind_after`, `approvers[0].upn`,
/// `bot.approve_emojis`): arrays of tables are followed into their entries, other arrays are
/// one leaf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    sources: Vec<String>,
    leaves: BTreeMap<String, usize>,
}

impl Provenance {
    /// The layers that were applied, earliest first.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// The source that set exactly this leaf key, if any did.
    pub fn source_of(&self, key: &str) -> Option<&str> {
        self.leaves.get(key).map(|&i| self.sources[i].as_str())
    }

    /// Every leaf key with its source, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.leaves
            .iter()
            .map(|(key, &i)| (key.as_str(), self.sources[i].as_str()))
    }

    /// The source to blame for `key`: the one that set it; else the latest one that set
    /// something under it; else the same for the table holding it; else the default.
    pub fn nearest_source(&self, key: &str) -> &str {
        self.nearest(key)
            .map_or(DEFAULT_SOURCE, |i| self.sources[i].as_str())
    }

    fn nearest(&self, key: &str) -> Option<usize> {
        let mut key = key;
        loop {
            if let Some(&i) = self.leaves.get(key) {
                return Some(i);
            }
            let under = self
                .leaves
                .iter()
                .filter(|(leaf, _)| is_under(leaf, key))
                .map(|(_, &i)| i)
                .max();
            if under.is_some() {
                return under;
            }
            key = parent_key(key)?;
        }
    }

    /// How late the layer that set `key` came; 0 for the default or nothing.
    pub(super) fn rank(&self, key: &str) -> usize {
        self.nearest(key).unwrap_or(0)
    }

    pub(super) fn add_source(&mut self, name: &str) -> usize {
        self.sources.push(name.to_string());
        self.sources.len() - 1
    }

    fn forget(&mut self, key: &str) {
        self.leaves.retain(|leaf, _| !is_under(leaf, key));
    }

    pub(super) fn record(&mut self, key: &str, value: &Value, source: usize) {
        match value {
            Value::Table(table) if !table.is_empty() => {
                for (k, v) in table {
                    self.record(&child_key(key, k), v, source);
                }
            }
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_table) => {
                for (i, v) in items.iter().enumerate() {
                    self.record(&format!("{key}[{i}]"), v, source);
                }
            }
            _ => {
                self.leaves.insert(key.to_string(), source);
            }
        }
    }
}

/// `key` itself or something inside it.
fn is_under(leaf: &str, key: &str) -> bool {
    if key.is_empty() {
        return true;
    }
    leaf.strip_prefix(key)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

fn parent_key(key: &str) -> Option<&str> {
    let cut = if key.ends_with(']') {
        key.rfind('[')
    } else {
        key.rfind('.')
    };
    cut.map(|i| &key[..i])
}

/// `parent.key`, quoting keys that are not bare TOML keys.
pub(super) fn child_key(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

pub(super) fn merge(
    base: &mut Table,
    overlay: Table,
    prefix: &str,
    source: usize,
    prov: &mut Provenance,
) {
    for (key, value) in overlay {
        let path = child_key(prefix, &key);
        match (base.get_mut(&key), value) {
            (Some(Value::Table(inner)), Value::Table(over)) => {
                merge(inner, over, &path, source, prov);
            }
            (_, value) => {
                prov.forget(&path);
                prov.record(&path, &value, source);
                base.insert(key, value);
            }
        }
    }
}
