//! The MetaClaw home: the one directory holding `config.toml`, the database, the admin token and
//! the user's `skills/`. `METACLAW_HOME` selects it; otherwise the OS's per-user data directory.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Errors touching files in the home directory.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    #[error("no home directory: set METACLAW_HOME to a writable directory")]
    NoDataDir,
    #[error("{action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> HomeError + 'a {
    move |source| HomeError::Io { action, path: path.to_path_buf(), source }
}

/// Paths inside one MetaClaw home.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// `METACLAW_HOME`, else `<data dir>/metaclaw` (e.g. `~/.local/share/metaclaw`).
    pub fn from_env() -> Result<Self, HomeError> {
        match std::env::var_os("METACLAW_HOME") {
            Some(p) if !p.is_empty() => Ok(Self::at(PathBuf::from(p))),
            _ => dirs::data_dir().map(|d| Self::at(d.join("metaclaw"))).ok_or(HomeError::NoDataDir),
        }
    }

    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Creates the directory (mode 0700 on Unix) if needed. A directory that already exists is
    /// never chmodded (it may be shared, e.g. a sticky 1777 one): a warning says when others
    /// can read it.
    pub fn ensure(&self) -> Result<(), HomeError> {
        if let Some(parent) = self.root.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io("cannot create", parent))?;
        }
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        match builder.create(&self.root) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && self.root.is_dir() => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    if let Ok(meta) = std::fs::metadata(&self.root) {
                        let mode = meta.permissions().mode() & 0o7777;
                        if mode & 0o077 != 0 {
                            tracing::warn!(
                                path = %self.root.display(),
                                mode = format_args!("{mode:o}"),
                                "the MetaClaw home can be read by other users; MetaClaw leaves a directory it did not create as it is"
                            );
                        }
                    }
                }
                Ok(())
            }
            Err(e) => Err(io("cannot create", &self.root)(e)),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    pub fn db_path(&self) -> PathBuf {
        self.root.join("metaclaw.db")
    }
    pub fn skills_dir(&self) -> PathBuf {
        self.root.join("skills")
    }
    pub fn token_path(&self) -> PathBuf {
        self.root.join("admin.token")
    }
    /// Written by a running `metaclaw serve` so the CLI can find it.
    pub fn runtime_path(&self) -> PathBuf {
        self.root.join("serve.json")
    }

    /// The admin token, created (32 random bytes, hex, mode 0600) on first use.
    pub fn admin_token(&self) -> Result<String, HomeError> {
        let path = self.token_path();
        match std::fs::read_to_string(&path) {
            Ok(t) if t.trim().len() >= 32 => return Ok(t.trim().to_string()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("cannot read", &path)(e)),
        }
        let token = random_hex(32);
        write_atomic(&path, token.as_bytes(), 0o600)?;
        Ok(token)
    }

    /// Writes the commented default config if there is none yet.
    pub fn write_default_config(&self) -> Result<bool, HomeError> {
        let path = self.config_path();
        if path.exists() {
            return Ok(false);
        }
        write_atomic(&path, crate::config::DEFAULT_FILE.as_bytes(), 0o600)?;
        Ok(true)
    }
}

/// `n` random bytes from the OS, as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the OS random source is available");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), HomeError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp =
        dir.join(format!(".{}.{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("file"), random_hex(4)));
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut f = opts.open(&tmp).map_err(io("cannot create", &tmp))?;
        f.write_all(bytes).map_err(io("cannot write", &tmp))?;
        f.sync_all().map_err(io("cannot sync", &tmp))?;
        std::fs::rename(&tmp, path).map_err(io("cannot replace", path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_stable_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let a = home.admin_token().unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(home.admin_token().unwrap(), a);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(home.token_path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn ensure_never_chmods_a_directory_it_did_not_create() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        Home::at(&shared).ensure().unwrap();
        let mode = std::fs::metadata(&shared).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o1777, "the sticky, shared directory is left as it was");

        // One it creates (parents included) is private.
        let fresh = shared.join("a/b/home");
        Home::at(&fresh).ensure().unwrap();
        assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o700);
        Home::at(&fresh).ensure().unwrap();
        std::fs::write(shared.join("a/file"), "x").unwrap();
        assert!(Home::at(shared.join("a/file")).ensure().is_err(), "a file is not a home");
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        write_atomic(&p, b"one", 0o644).unwrap();
        write_atomic(&p, b"two", 0o644).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
