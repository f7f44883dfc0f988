//! Secrets: API keys from the environment, the OS keyring, or an owner-only file in the home.
//!
//! Keys are never written to config files, the database or logs. An environment variable wins;
//! then the OS keyring when this system has one; otherwise the secrets file in the MetaClaw home
//! (`secrets.toml`, mode 0600). Whether the keyring answers is asked once per process, off the
//! async runtime and with a timeout, so a slow or missing Secret Service never stalls a request
//! and its absence is reported once, in plain words.

mod file;
mod redact;

use std::path::Path;
use std::time::Duration;

pub use file::{SecretsFile, FILE_NAME};
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
    #[error(
        "the secrets file {path} can't be used: {why}. Fix it, or delete it and set the keys again (`metaclaw key set`)"
    )]
    Damaged { path: String, why: String },
    #[error("cannot save the key: {0}")]
    File(String),
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
    /// MetaClaw's owner-only secrets file, used when the OS keyring can't be reached.
    File,
    None,
}

impl SecretSource {
    /// Where the key is, in words for `metaclaw status`.
    pub fn label(self) -> &'static str {
        match self {
            SecretSource::Env => "key from the environment",
            SecretSource::Keyring => "key in the OS keyring",
            SecretSource::File => "key in MetaClaw's secrets file",
            SecretSource::None => "no key",
        }
    }
}

fn from_env(name: &SecretName) -> Option<String> {
    std::env::var(name.env_var()).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

const KEYRING_TIMEOUT: Duration = Duration::from_secs(5);

async fn keyring_get(name: SecretName) -> Result<Option<String>, SecretError> {
    blocking(move || {
        let entry = keyring::Entry::new(KEYRING_SERVICE, name.keyring_user()).map_err(|e| unavailable(&name, e))?;
        match entry.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(&name, e)),
        }
    })
    .await
}

fn unavailable(name: &SecretName, e: keyring::Error) -> SecretError {
    SecretError::Unavailable(e.to_string(), name.env_var().into())
}

/// Whether this process can use the OS keyring: asked once (a lookup of an entry that is never
/// stored), remembered for the life of the process. `METACLAW_NO_KEYRING` says no without asking.
async fn keyring_usable(file: &SecretsFile) -> bool {
    static PROBE: tokio::sync::OnceCell<bool> = tokio::sync::OnceCell::const_new();
    if std::env::var_os("METACLAW_NO_KEYRING").is_some() {
        return false;
    }
    *PROBE
        .get_or_init(|| async {
            let probe = SecretName { env: String::new(), user: "keyring-probe".into() };
            match keyring_get(probe).await {
                Ok(_) => true,
                Err(e) => {
                    tracing::info!(
                        "the OS keyring is not available here ({}); keys you set are kept in {}, readable only by you",
                        plain_keyring_error(&e),
                        tilde(file.path())
                    );
                    false
                }
            }
        })
        .await
}

/// Why the keyring can't be used, in words a user can act on.
fn plain_keyring_error(e: &SecretError) -> String {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("autolaunch") || lower.contains("dbus_session_bus_address") {
        "no desktop session bus (D-Bus) to reach a Secret Service".into()
    } else if lower.contains("org.freedesktop.secrets") || lower.contains("serviceunknown") {
        "no Secret Service such as GNOME Keyring or KWallet is running".into()
    } else if let SecretError::Timeout(t) = e {
        format!("it did not answer within {} s", t.as_secs())
    } else if let SecretError::Unavailable(reason, _) = e {
        reason.clone()
    } else {
        text
    }
}

/// `path` with the user's home directory written as `~`.
pub fn tilde(path: &Path) -> String {
    match dirs::home_dir().and_then(|h| path.strip_prefix(&h).ok().map(Path::to_path_buf)) {
        Some(rest) if !rest.as_os_str().is_empty() => format!("~/{}", rest.display()),
        _ => path.display().to_string(),
    }
}

/// Where secrets the engine itself writes (calendar addresses, keys entered in the UI or with
/// `metaclaw key`) are kept. Reads consult the environment first in every case.
#[derive(Clone, Default)]
pub enum Vault {
    /// The OS keyring only.
    #[default]
    Os,
    /// A MetaClaw home's vault: the OS keyring when it answered (see [`Vault::for_home`]), else
    /// the home's secrets file. Keys already in the file are read either way.
    Home { keyring: bool, file: SecretsFile },
    /// Memory, for tests.
    Memory(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>),
}

impl Vault {
    pub fn memory() -> Self {
        Self::Memory(Default::default())
    }

    /// The vault of the MetaClaw home at `root`: the OS keyring if this process can reach one
    /// (asked once), else `root/secrets.toml`.
    pub async fn for_home(root: &Path) -> Self {
        let file = SecretsFile::in_home(root);
        Self::Home { keyring: keyring_usable(&file).await, file }
    }

    /// The secrets file only, never the keyring.
    pub fn file(file: SecretsFile) -> Self {
        Self::Home { keyring: false, file }
    }

    /// Where a key set now is kept (the environment may still override it).
    pub fn keeps(&self) -> SecretSource {
        match self {
            Self::Home { keyring: false, .. } => SecretSource::File,
            _ => SecretSource::Keyring,
        }
    }

    /// The environment, then the store. Errors when the store can't be read (a keyring that
    /// doesn't answer, a damaged secrets file).
    pub async fn get(&self, name: &SecretName) -> Result<(Option<String>, SecretSource), SecretError> {
        if let Some(v) = from_env(name) {
            return Ok((Some(v), SecretSource::Env));
        }
        match self {
            Self::Os => {
                if std::env::var_os("METACLAW_NO_KEYRING").is_some() {
                    return Ok((None, SecretSource::None));
                }
                Ok(match keyring_get(name.clone()).await? {
                    Some(v) => (Some(v), SecretSource::Keyring),
                    None => (None, SecretSource::None),
                })
            }
            Self::Home { keyring, file } => {
                if *keyring {
                    match keyring_get(name.clone()).await {
                        Ok(Some(v)) => return Ok((Some(v), SecretSource::Keyring)),
                        Ok(None) => {}
                        // It answered the probe; the file may still hold the key.
                        Err(e) => tracing::debug!(secret = name.keyring_user(), error = %e, "keyring lookup failed"),
                    }
                }
                let (file, user) = (file.clone(), name.keyring_user().to_string());
                Ok(match blocking(move || file.get(&user)).await? {
                    Some(v) => (Some(v), SecretSource::File),
                    None => (None, SecretSource::None),
                })
            }
            Self::Memory(m) => {
                let v = m.lock().unwrap_or_else(|e| e.into_inner()).get(name.keyring_user()).cloned();
                Ok((v.clone(), if v.is_some() { SecretSource::Keyring } else { SecretSource::None }))
            }
        }
    }

    /// Like [`Vault::get`], but a store that can't be read counts as "not set" (the secrets
    /// file logs its problem once; a keyring failure is logged at debug level).
    pub async fn lookup(&self, name: &SecretName) -> (Option<String>, SecretSource) {
        match self.get(name).await {
            Ok(found) => found,
            Err(e) => {
                tracing::debug!(secret = name.keyring_user(), error = %e, "secret lookup failed");
                (None, SecretSource::None)
            }
        }
    }

    pub async fn set(&self, name: &SecretName, value: &str) -> Result<(), SecretError> {
        let (name, value) = (name.clone(), value.to_string());
        match self {
            Self::Os => blocking(move || keyring_set(&name, &value)).await,
            Self::Home { keyring, file } => {
                let file = file.clone();
                if *keyring {
                    let (n, v) = (name.clone(), value.clone());
                    match blocking(move || keyring_set(&n, &v)).await {
                        Ok(()) => {
                            // One copy only: an older one in the file would outlive a delete.
                            let _ = blocking(move || file.delete(name.keyring_user())).await;
                            return Ok(());
                        }
                        Err(e) => tracing::warn!(
                            "the OS keyring did not take the key ({}); it is kept in {} instead",
                            plain_keyring_error(&e),
                            tilde(file.path())
                        ),
                    }
                }
                blocking(move || file.set(name.keyring_user(), &value)).await
            }
            Self::Memory(m) => {
                m.lock().unwrap_or_else(|e| e.into_inner()).insert(name.keyring_user().into(), value);
                Ok(())
            }
        }
    }

    /// Removes the stored key (the keyring's and the file's copy); the environment is untouched.
    pub async fn delete(&self, name: &SecretName) -> Result<(), SecretError> {
        let name = name.clone();
        match self {
            Self::Os => blocking(move || keyring_delete(&name)).await,
            Self::Home { keyring, file } => {
                if *keyring {
                    let n = name.clone();
                    blocking(move || keyring_delete(&n)).await?;
                }
                let file = file.clone();
                blocking(move || file.delete(name.keyring_user())).await
            }
            Self::Memory(m) => {
                m.lock().unwrap_or_else(|e| e.into_inner()).remove(name.keyring_user());
                Ok(())
            }
        }
    }

    /// Where the key `name`, found at `source`, is kept, in plain words: "OS keyring",
    /// "file ~/.local/share/metaclaw/secrets.toml", "environment variable X" or "not set".
    pub fn location(&self, name: &SecretName, source: SecretSource) -> String {
        match (source, self) {
            (SecretSource::Env, _) => format!("environment variable {}", name.env_var()),
            (SecretSource::Keyring, Self::Memory(_)) => "memory (this run only)".into(),
            (SecretSource::Keyring, _) => "OS keyring".into(),
            (SecretSource::File, Self::Home { file, .. }) => format!("file {}", tilde(file.path())),
            (SecretSource::File, _) => "file".into(),
            (SecretSource::None, _) => "not set".into(),
        }
    }

    /// The secrets file of this vault, if it has one.
    pub fn file_path(&self) -> Option<&Path> {
        match self {
            Self::Home { file, .. } => Some(file.path()),
            _ => None,
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SecretError> + Send + 'static,
) -> Result<T, SecretError> {
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

    #[tokio::test]
    async fn without_a_keyring_keys_go_to_the_file_and_the_environment_still_wins() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::file(SecretsFile::in_home(dir.path()));
        let name = SecretName::upstream("unit-vault-file");
        assert_eq!(vault.keeps(), SecretSource::File);
        assert_eq!(vault.get(&name).await.unwrap(), (None, SecretSource::None));
        vault.set(&name, "sk-in-file").await.unwrap();
        assert_eq!(vault.get(&name).await.unwrap(), (Some("sk-in-file".into()), SecretSource::File));
        let loc = vault.location(&name, SecretSource::File);
        assert!(loc.starts_with("file ") && loc.ends_with("secrets.toml"), "{loc}");
        std::env::set_var(name.env_var(), " sk-from-env ");
        let got = vault.get(&name).await.unwrap();
        std::env::remove_var(name.env_var());
        assert_eq!(got, (Some("sk-from-env".into()), SecretSource::Env));
        assert_eq!(
            vault.location(&name, SecretSource::Env),
            "environment variable METACLAW_UPSTREAM_UNIT_VAULT_FILE_API_KEY"
        );
        vault.delete(&name).await.unwrap();
        assert_eq!(vault.get(&name).await.unwrap(), (None, SecretSource::None));
    }
}
