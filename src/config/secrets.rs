//! The one way a secret is read: from an environment variable the settings name, trimmed,
//! and wrapped at once in a `SecretString` (its `Debug` prints `[REDACTED]`). A blank
//! variable counts as unset. Secrets are never read from a settings file (see `load`).

use secrecy::SecretString;

/// The secret a variable's value holds, or `None` when it is blank.
fn secret(value: &str) -> Option<SecretString> {
    let value = value.trim();
    (!value.is_empty()).then(|| SecretString::from(value.to_string()))
}

/// The secret in `var` among the environment pairs a load was given.
pub(super) fn secret_among(env: &[(String, String)], var: &str) -> Option<SecretString> {
    env.iter()
        .filter(|(name, _)| name == var)
        .find_map(|(_, value)| secret(value))
}

/// The secret in the process's environment variable `var`, named by the settings key `key`;
/// the error says which variable and key, never a value.
pub fn secret_from_env(var: &str, key: &str) -> Result<SecretString, String> {
    match std::env::var(var) {
        Ok(value) => secret(&value)
            .ok_or_else(|| format!("the environment variable {var} (named by {key}) is empty")),
        Err(_) => Err(format!(
            "the environment variable {var} (named by {key}) is not set; it must hold the client \
             secret"
        )),
    }
}
