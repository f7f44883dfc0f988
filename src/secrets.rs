//! Secrets: API keys from the environment (headless servers) or the OS keyring (desktops).
//!
//! Keys are never read from or written to config files, the database or logs. The keyring is
//! asked once at start-up, off the async runtime, so a slow or missing Secret Service never
//! stalls a request.

mod redact;

use std::time::Duration;

pub use redact::{contains_secret, redact, REDACTED};

/// Service name under which MetaClaw's entries live in the OS keyring.
pub const KEYRING_SERVICE: &str = "metaclaw";

/// Why a secret could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the OS keyring is not available ({0}); on a headless server set the environment variable {1} instead")]
    Unavailable(String, String),
    #[error("the OS keyring did not answer within {0:?}")]
    Timeout(Duration),
}

/// A named secret MetaClaw uses: where it lives in the environment and in the keyring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretName {
    env: String,
    user: String,
}

impl SecretName {
    /// The key of an upstream. `default` (the `[upstream]` shorthand) is
    /// `METACLAW_UPSTREAM_API_KEY`; others are `METACLAW_UPSTREAM_<NAME>_API_KEY`.
    pub fn upstream(name: &str) -> Self {
        if name == "default" {
            return Self { env: "METACLAW_UPSTREAM_API_KEY".into(), user: "upstream-api-key".into() };
        }
        let env_name: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        Self { env: format!("METACLAW_UPSTREAM_{env_name}_API_KEY"), user: format!("upstream-api-key:{name}") }
    }

    /// The key agents must present to the proxy.
    pub fn proxy() -> Self {
        Self { env: "METACLAW_PROXY_API_KEY".into(), user: "proxy-api-key".into() }
    }

    /// The training service's key: `TINKER_API_KEY`, the name Tinker's own tools use.
    pub fn tinker() -> Self {
        Self { env: "TINKER_API_KEY".into(), user: "tinker-api-key".into() }
    }

    /// A calendar feed's secret address (Google's "secret address in iCal format" and the like):
    /// `METACLAW_CALENDAR_<SLUG>_URL`.
    pub fn calendar(slug: &str) -> Self {
        let env_name: String =
            slug.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        Self { env: format!("METACLAW_CALENDAR_{env_name}_URL"), user: format!("calendar-url:{slug}") }
    }

    /// A calendar account's password (CalDAV) or refresh token (Google, Microsoft):
    /// `METACLAW_CALENDAR_<SLUG>_SECRET`.
    pub fn calendar_secret(slug: &str) -> Self {
        let env_name: String =
            slug.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        Self { env: format!("METACLAW_CALENDAR_{env_name}_SECRET"), user: format!("calendar-secret:{slug}") }
    }

    pub fn env_var(&self) -> &str {
        &self.env
    }
    pub fn keyring_user(&self) -> &str {
        &self.user
    }
}

/// Where a secret was found, for status output (never the value itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum SecretSource {
    Env,
    Keyring,
    None,
}

impl SecretSource {
    /// Where the key is, in words for `metaclaw status`.
    pub fn label(self) -> &'static str {
        match self {
            SecretSource::Env => "key from the environment",
            SecretSource::Keyring => "key in the OS keyring",
            SecretSource::None => "no key",
        }
    }
}

/// Reads a secret: the environment first, then the keyring. A keyring that is missing or slow
/// counts as "not set" (logged at debug level).
pub async fn lookup(name: &SecretName) -> (Option<String>, SecretSource) {
    match lookup_strict(name).await {
        Ok(found) => found,
        Err(e) => {
            tracing::debug!(secret = name.keyring_user(), error = %e, "keyring lookup failed");
            (None, SecretSource::None)
        }
    }
}

/// Like [`lookup`], but a keyring that can't be asked is an error the caller can show.
pub async fn lookup_strict(name: &SecretName) -> Result<(Option<String>, SecretSource), SecretError> {
    if let Ok(v) = std::env::var(name.env_var()) {
        if !v.trim().is_empty() {
            return Ok((Some(v.trim().to_string()), SecretSource::Env));
        }
    }
    if std::env::var_os("METACLAW_NO_KEYRING").is_some() {
        return Ok((None, SecretSource::None));
    }
    Ok(match keyring_get(name.clone()).await? {
        Some(v) => (Some(v), SecretSource::Keyring),
        None => (None, SecretSource::None),
    })
}

const KEYRING_TIMEOUT: Duration = Duration::from_secs(5);

async fn keyring_get(name: SecretName) -> Result<Option<String>, SecretError> {
    let env = name.env_var().to_string();
    let task = tokio::task::spawn_blocking(move || {
        let entry = keyring::Entry::new(KEYRING_SERVICE, name.keyring_user()).map_err(|e| unavailable(&name, e))?;
        match entry.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(&name, e)),
        }
    });
    match tokio::time::timeout(KEYRING_TIMEOUT, task).await {
        Ok(joined) => joined.unwrap_or_else(|e| Err(SecretError::Unavailable(e.to_string(), env))),
        Err(_) => Err(SecretError::Timeout(KEYRING_TIMEOUT)),
    }
}

fn unavailable(name: &SecretName, e: keyring::Error) -> SecretError {
    SecretError::Unavailable(e.to_string(), name.env_var().into())
}

/// Where secrets the engine itself writes (calendar addresses, keys entered in the UI) are kept:
/// the OS keyring, or memory for tests and `METACLAW_NO_KEYRING` runs. Reads consult the
/// environment first either way.
#[derive(Clone, Default)]
pub enum Vault {
    #[default]
    Os,
    Memory(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>),
}

impl Vault {
    pub fn memory() -> Self {
        Self::Memory(Default::default())
    }

    /// The environment, then the store. Errors only when the keyring can't be asked.
    pub async fn get(&self, name: &SecretName) -> Result<(Option<String>, SecretSource), SecretError> {
        match self {
            Self::Os => lookup_strict(name).await,
            Self::Memory(m) => {
                if let Ok(v) = std::env::var(name.env_var()) {
                    if !v.trim().is_empty() {
                        return Ok((Some(v.trim().to_string()), SecretSource::Env));
                    }
                }
                let v = m.lock().expect("vault").get(name.keyring_user()).cloned();
                Ok((v.clone(), if v.is_some() { SecretSource::Keyring } else { SecretSource::None }))
            }
        }
    }

    pub async fn set(&self, name: &SecretName, value: &str) -> Result<(), SecretError> {
        match self {
            Self::Os => {
                let (name, value) = (name.clone(), value.to_string());
                blocking(move || keyring_set(&name, &value)).await
            }
            Self::Memory(m) => {
                m.lock().expect("vault").insert(name.keyring_user().into(), value.into());
                Ok(())
            }
        }
    }

    pub async fn delete(&self, name: &SecretName) -> Result<(), SecretError> {
        match self {
            Self::Os => {
                let name = name.clone();
                blocking(move || keyring_delete(&name)).await
            }
            Self::Memory(m) => {
                m.lock().expect("vault").remove(name.keyring_user());
                Ok(())
            }
        }
    }
}

async fn blocking(f: impl FnOnce() -> Result<(), SecretError> + Send + 'static) -> Result<(), SecretError> {
    match tokio::time::timeout(KEYRING_TIMEOUT, tokio::task::spawn_blocking(f)).await {
        Ok(joined) => joined.unwrap_or_else(|e| Err(SecretError::Unavailable(e.to_string(), String::new()))),
        Err(_) => Err(SecretError::Timeout(KEYRING_TIMEOUT)),
    }
}

/// Stores a secret in the OS keyring (blocking; call from the CLI or a blocking task).
pub fn keyring_set(name: &SecretName, value: &str) -> Result<(), SecretError> {
    let entry = keyring::Entry::new(KEYRING_SERVICE, name.keyring_user()).map_err(|e| unavailable(name, e))?;
    entry.set_password(value).map_err(|e| unavailable(name, e))
}

/// Removes a secret from the OS keyring; a missing entry is not an error.
pub fn keyring_delete(name: &SecretName) -> Result<(), SecretError> {
    let entry = keyring::Entry::new(KEYRING_SERVICE, name.keyring_user()).map_err(|e| unavailable(name, e))?;
    match entry.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(unavailable(name, e)),
    }
}

/// Compares a presented secret with the expected one in constant time.
pub fn constant_time_eq(presented: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presented_secrets_compare_in_constant_time() {
        assert!(constant_time_eq("abc", "abc") && !constant_time_eq("abc", "abd") && !constant_time_eq("ab", "abc"));
    }
}
