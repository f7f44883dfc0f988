//! The secrets file: where keys go when the OS keyring can't be reached (a desktop without a
//! Secret Service, a container, a server). One owner-only (0600) TOML file in the MetaClaw home,
//! replaced atomically on every change, with a header saying what it is.
//!
//! Values never appear in errors or logs: a damaged file is reported by line number only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::SecretError;

/// The file's name inside the MetaClaw home.
pub const FILE_NAME: &str = "secrets.toml";

/// Larger than this, the file is not ours (a key is at most a few KiB): refuse to read it.
const MAX_BYTES: u64 = 1024 * 1024;

const HEADER: &str = "\
# MetaClaw secrets: API keys stored here because the OS keyring is not available on this system.
# Only your user can read this file (mode 0600). Do not share it, commit it or copy it elsewhere.
# Change keys with `metaclaw key set|delete` or in the web UI's Settings; environment variables
# (METACLAW_UPSTREAM_API_KEY and the like) override what is stored here.
";

#[derive(serde::Serialize, serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Body {
    #[serde(default)]
    keys: BTreeMap<String, String>,
}

/// One secrets file. Clones share the lock that keeps this process's writes in order.
#[derive(Clone)]
pub struct SecretsFile {
    path: PathBuf,
    /// Serializes read-modify-write cycles; also remembers the last problem logged, so a damaged
    /// file is reported once, not on every lookup.
    state: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for SecretsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsFile").field("path", &self.path).finish_non_exhaustive()
    }
}

impl SecretsFile {
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), state: Arc::default() }
    }

    /// `secrets.toml` in the MetaClaw home `root`.
    pub fn in_home(root: &Path) -> Self {
        Self::at(root.join(FILE_NAME))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored value of `user` (the keyring user name of a [`super::SecretName`]), if any.
    /// Blocking: call off the async runtime.
    pub fn get(&self, user: &str) -> Result<Option<String>, SecretError> {
        let mut last = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let read = self.read();
        note_problem(&mut last, &read);
        Ok(read?.keys.get(user).cloned())
    }

    /// Stores `value` under `user`, creating the file (0600) if needed. Blocking.
    pub fn set(&self, user: &str, value: &str) -> Result<(), SecretError> {
        let mut last = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let _other_processes_wait = self.lock()?;
        let read = self.read();
        note_problem(&mut last, &read);
        let mut body = read?;
        body.keys.insert(user.to_string(), value.to_string());
        self.write(&body)
    }

    /// Removes `user`; a missing file or entry is not an error. Blocking.
    pub fn delete(&self, user: &str) -> Result<(), SecretError> {
        let mut last = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !self.exists() {
            return Ok(());
        }
        let _other_processes_wait = self.lock()?;
        let read = self.read();
        note_problem(&mut last, &read);
        let mut body = read?;
        if body.keys.remove(user).is_some() {
            self.write(&body)?;
        }
        Ok(())
    }

    fn exists(&self) -> bool {
        std::fs::symlink_metadata(&self.path).is_ok()
    }

    fn read(&self) -> Result<Body, SecretError> {
        let meta = match std::fs::symlink_metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Body::default()),
            Err(e) => return Err(self.damaged(format!("it can't be opened ({e})"))),
        };
        if !meta.is_file() {
            return Err(self.damaged("it is not a regular file (a link or a folder?)".into()));
        }
        if meta.len() > MAX_BYTES {
            return Err(self.damaged("it is larger than 1 MiB, far more than any set of keys".into()));
        }
        self.tighten(&meta);
        let bytes = std::fs::read(&self.path).map_err(|e| self.damaged(format!("it can't be read ({e})")))?;
        if bytes.len() as u64 > MAX_BYTES {
            return Err(self.damaged("it is larger than 1 MiB, far more than any set of keys".into()));
        }
        let text = String::from_utf8(bytes).map_err(|_| self.damaged("it is not UTF-8 text".into()))?;
        toml::from_str::<Body>(&text).map_err(|e| {
            // Never the parser's own message: it quotes the offending line, which may hold a key.
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            self.damaged(match line {
                Some(n) => format!("line {n} is not a `name = \"key\"` entry under [keys]"),
                None => "it is not a list of `name = \"key\"` entries under [keys]".into(),
            })
        })
    }

    /// Creates the home (owner-only) if it is not there yet.
    fn ensure_dir(&self) -> Result<(), SecretError> {
        if let Some(dir) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !dir.is_dir() {
                crate::home::Home::at(dir).ensure().map_err(|e| SecretError::File(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// An exclusive lock on `.secrets.toml.lock` beside the file, held until the returned file is
    /// dropped: another process (a `metaclaw key` run, the desktop app) changing the file at the
    /// same moment waits, so neither loses the other's key. Writes hold it for milliseconds.
    fn lock(&self) -> Result<std::fs::File, SecretError> {
        self.ensure_dir()?;
        let name = self.path.file_name().and_then(|n| n.to_str()).unwrap_or(FILE_NAME);
        let path = self.path.with_file_name(format!(".{name}.lock"));
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let fail = |e: std::io::Error| SecretError::File(format!("cannot lock {}: {e}", path.display()));
        let file = opts.open(&path).map_err(fail)?;
        // flock, not File::lock: that needs Rust 1.89, newer than the MSRV. Elsewhere (Windows)
        // only this process's writes are ordered.
        #[cfg(unix)]
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).map_err(|e| fail(e.into()))?;
        Ok(file)
    }

    fn write(&self, body: &Body) -> Result<(), SecretError> {
        self.ensure_dir()?;
        let toml = toml::to_string(body).map_err(|_| SecretError::File("cannot encode the secrets file".into()))?;
        let text = format!("{HEADER}\n{toml}");
        crate::home::write_atomic(&self.path, text.as_bytes(), 0o600).map_err(|e| SecretError::File(e.to_string()))
    }

    /// A file others can read (copied, restored from a backup) is made owner-only again.
    #[cfg(unix)]
    fn tighten(&self, meta: &std::fs::Metadata) {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            match std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o600)) {
                Ok(()) => tracing::warn!(
                    path = %self.path.display(),
                    was = format_args!("{mode:o}"),
                    "the secrets file could be read by other users; it is owner-only (0600) again"
                ),
                Err(e) => tracing::warn!(path = %self.path.display(), error = %e,
                    "the secrets file can be read by other users and its mode can't be changed; fix it with chmod 600"),
            }
        }
    }

    #[cfg(not(unix))]
    fn tighten(&self, _meta: &std::fs::Metadata) {}

    fn damaged(&self, why: String) -> SecretError {
        SecretError::Damaged { path: self.path.display().to_string(), why }
    }
}

/// Logs a problem reading the file the first time it is seen (and again only once it changed).
fn note_problem(last: &mut Option<String>, read: &Result<Body, SecretError>) {
    match read {
        Ok(_) => *last = None,
        Err(e) => {
            let msg = e.to_string();
            if last.as_deref() != Some(msg.as_str()) {
                tracing::warn!("{msg}");
                *last = Some(msg);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> (tempfile::TempDir, SecretsFile) {
        let dir = tempfile::tempdir().unwrap();
        let f = SecretsFile::in_home(dir.path());
        (dir, f)
    }

    #[test]
    fn stored_keys_survive_a_reread_and_the_file_is_owner_only_with_a_header() {
        let (_dir, f) = temp();
        assert_eq!(f.get("upstream-api-key").unwrap(), None, "no file yet: nothing stored");
        f.set("upstream-api-key", "sk-one \"quoted\" \\ back").unwrap();
        f.set("proxy-api-key", "pk-two").unwrap();
        let again = SecretsFile::at(f.path());
        assert_eq!(again.get("upstream-api-key").unwrap().as_deref(), Some("sk-one \"quoted\" \\ back"));
        assert_eq!(again.get("proxy-api-key").unwrap().as_deref(), Some("pk-two"));
        let text = std::fs::read_to_string(f.path()).unwrap();
        assert!(text.starts_with("# MetaClaw secrets"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(f.path()).unwrap().permissions().mode() & 0o777, 0o600);
        }
        again.delete("upstream-api-key").unwrap();
        assert_eq!(f.get("upstream-api-key").unwrap(), None);
        assert_eq!(f.get("proxy-api-key").unwrap().as_deref(), Some("pk-two"));
    }

    #[test]
    fn a_damaged_secrets_file_is_a_clear_error_that_never_quotes_a_key() {
        let (_dir, f) = temp();
        let cases: &[&[u8]] = &[
            b"[keys]\nupstream-api-key = \"sk-secret-value\nproxy = 1\n",
            b"[keys]\nupstream-api-key = 12345678\n",
            b"[other]\nx = \"sk-secret-value\"\n",
            b"keys = \"sk-secret-value\"\n",
            b"\xff\xfe\x00sk-secret-value",
            b"[keys]\n[keys]\n",
        ];
        for bytes in cases {
            std::fs::write(f.path(), bytes).unwrap();
            let e = f.get("upstream-api-key").unwrap_err().to_string();
            assert!(e.contains("secrets.toml") && e.contains("delete"), "{e}");
            assert!(!e.contains("sk-secret-value") && !e.contains("12345678"), "a key leaked into {e}");
            // A write refuses to replace what it can't read (the user's other keys are in it).
            assert!(f.set("proxy-api-key", "x").is_err());
            assert_eq!(std::fs::read(f.path()).unwrap(), *bytes);
        }
        std::fs::write(f.path(), vec![b'#'; (MAX_BYTES + 1) as usize]).unwrap();
        assert!(f.get("x").unwrap_err().to_string().contains("larger than 1 MiB"));
        std::fs::remove_file(f.path()).unwrap();
        std::fs::create_dir(f.path()).unwrap();
        assert!(f.get("x").unwrap_err().to_string().contains("not a regular file"));
    }

    #[cfg(unix)]
    #[test]
    fn a_secrets_file_others_can_read_is_made_owner_only_again() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, f) = temp();
        f.set("proxy-api-key", "pk").unwrap();
        std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(f.get("proxy-api-key").unwrap().as_deref(), Some("pk"));
        assert_eq!(std::fs::metadata(f.path()).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
