//! Timestamped backups of an agent's config before `connect` changes it, and the way back.
//!
//! Per agent, `<MetaClaw home>/connect/<agent>/` holds the original file (`<time>.orig`, mode
//! 0600) and `record.json`: which file was changed, whether it existed, and a hash of what
//! MetaClaw wrote. `disconnect` puts the original back byte for byte only while the file is
//! still exactly what MetaClaw wrote; if the user edited it since, it refuses and writes a
//! three-way result (the original plus the user's later edits) beside the file instead.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::diff;
use super::ConnectError;
use crate::home::{write_atomic, Home};

/// What `connect` remembers about one change it made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    /// The agent's config file as changed (symlinks resolved).
    pub path: PathBuf,
    /// The backup's file name in the agent's backup folder; `None`: there was no file.
    pub backup: Option<String>,
    /// The original file's Unix permission bits.
    pub mode: Option<u32>,
    /// xxh3-64 (hex) of the bytes MetaClaw wrote.
    pub written: String,
    /// A copy of those bytes in the backup folder (the base of a three-way merge).
    pub connected: String,
    /// When, in Unix milliseconds.
    pub at_ms: i64,
}

/// How `disconnect` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    /// The original bytes are back.
    Original { path: PathBuf },
    /// There was no file before `connect`; the one it created is gone.
    Removed { path: PathBuf },
}

pub fn hash(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))
}

fn dir(home: &Home, agent: &str) -> PathBuf {
    home.root().join("connect").join(agent)
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ConnectError + 'a {
    move |source| ConnectError::Io { action, path: path.to_path_buf(), source }
}

/// Reads a file, `None` when it does not exist; refuses files over [`super::MAX_CONFIG_BYTES`].
pub fn read_limited(path: &Path) -> Result<Option<Vec<u8>>, ConnectError> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > super::MAX_CONFIG_BYTES => {
            return Err(ConnectError::TooLarge { path: path.to_path_buf(), limit: super::MAX_CONFIG_BYTES })
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("cannot read", path)(e)),
    }
    match std::fs::read(path) {
        Ok(b) if b.len() as u64 > super::MAX_CONFIG_BYTES => {
            Err(ConnectError::TooLarge { path: path.to_path_buf(), limit: super::MAX_CONFIG_BYTES })
        }
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("cannot read", path)(e)),
    }
}

fn mode_of(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The record of the last `connect` of `agent`, if it was not undone.
pub fn load(home: &Home, agent: &str) -> Result<Option<Record>, ConnectError> {
    let path = dir(home, agent).join("record.json");
    match read_limited(&path)? {
        None => Ok(None),
        Some(b) => {
            serde_json::from_slice(&b).map(Some).map_err(|e| ConnectError::Record { path, reason: e.to_string() })
        }
    }
}

/// Backs up `before` (the file's current bytes, `None` if absent), then writes `after` to
/// `path` atomically with the original's permissions (0600 for a new file).
pub fn write_with_backup(
    home: &Home,
    agent: &str,
    path: &Path,
    before: Option<&[u8]>,
    after: &[u8],
) -> Result<Record, ConnectError> {
    let d = dir(home, agent);
    home.ensure().map_err(ConnectError::Home)?;
    std::fs::create_dir_all(&d).map_err(io("cannot create", &d))?;
    let at_ms = crate::clock::now_ms();
    let mode = before.and(mode_of(path));
    let first = jiff::Timestamp::from_millisecond(at_ms)
        .map(|t| t.strftime("%Y%m%dT%H%M%S%.3fZ").to_string())
        .unwrap_or_else(|_| at_ms.to_string());
    let mut stamp = first.clone();
    let mut n = 1;
    while d.join(format!("{stamp}.orig")).exists() || d.join(format!("{stamp}.connected")).exists() {
        n += 1;
        stamp = format!("{first}-{n}");
    }
    let backup = match before {
        None => None,
        Some(bytes) => {
            let name = format!("{stamp}.orig");
            write_atomic(&d.join(&name), bytes, 0o600).map_err(ConnectError::Home)?;
            Some(name)
        }
    };
    let connected = format!("{stamp}.connected");
    write_atomic(&d.join(&connected), after, 0o600).map_err(ConnectError::Home)?;
    let record = Record { path: path.to_path_buf(), backup, mode, written: hash(after), connected, at_ms };
    let rec_path = d.join("record.json");
    let json = serde_json::to_vec_pretty(&record)
        .map_err(|e| ConnectError::Record { path: rec_path.clone(), reason: e.to_string() })?;
    write_atomic(&rec_path, &json, 0o600).map_err(ConnectError::Home)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io("cannot create", parent))?;
    }
    if let Err(e) = write_atomic(path, after, mode.unwrap_or(0o600)) {
        let _ = std::fs::remove_file(&rec_path);
        return Err(ConnectError::Home(e));
    }
    Ok(record)
}

/// Puts the original back, or refuses (writing the three-way proposal) if the file changed
/// since MetaClaw wrote it.
pub fn restore(home: &Home, agent: &str) -> Result<Restored, ConnectError> {
    let d = dir(home, agent);
    let record = load(home, agent)?.ok_or_else(|| ConnectError::NotConnected { agent: agent.to_string() })?;
    let original = match &record.backup {
        None => None,
        Some(name) => {
            let p = d.join(name);
            Some(read_limited(&p)?.ok_or(ConnectError::BackupMissing { path: p })?)
        }
    };
    let current = read_limited(&record.path)?;
    let unchanged = current.as_deref().is_some_and(|c| hash(c) == record.written);
    if !unchanged {
        let base = read_limited(&d.join(&record.connected))?;
        return Err(edited(&record, base.as_deref(), original.as_deref(), current.as_deref()));
    }
    let result = match &original {
        Some(bytes) => {
            write_atomic(&record.path, bytes, record.mode.unwrap_or(0o600)).map_err(ConnectError::Home)?;
            Restored::Original { path: record.path.clone() }
        }
        None => {
            std::fs::remove_file(&record.path).map_err(io("cannot remove", &record.path))?;
            Restored::Removed { path: record.path.clone() }
        }
    };
    let rec_path = d.join("record.json");
    std::fs::remove_file(&rec_path).map_err(io("cannot remove", &rec_path))?;
    Ok(result)
}

/// The refusal when the user edited the file after `connect`: the three-way result (base: what
/// `connect` wrote; theirs: the original; ours: the file now) is written beside the file as
/// `<name>.metaclaw-restore`.
fn edited(record: &Record, base: Option<&[u8]>, original: Option<&[u8]>, current: Option<&[u8]>) -> ConnectError {
    let proposal = proposal_path(&record.path);
    let (merged, conflicts) = match (base, current) {
        (Some(base), Some(now)) => {
            diff::merge3(base, now, original.unwrap_or_default(), "your edits", "before metaclaw connect")
        }
        // The file is gone (or the copy of what connect wrote is): propose the original.
        _ => (original.unwrap_or_default().to_vec(), 0),
    };
    match write_atomic(&proposal, &merged, record.mode.unwrap_or(0o600)) {
        Ok(()) => ConnectError::EditedSince { path: record.path.clone(), proposal, conflicts },
        Err(e) => ConnectError::Home(e),
    }
}

/// Where `disconnect` puts its three-way result for `path`.
pub fn proposal_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".metaclaw-restore");
    path.with_file_name(name)
}
