//! Skill folders on disk: reading a folder of skills, writing one atomically, the trash,
//! import and export.

use std::path::{Path, PathBuf};

use super::parse::{parse, render, Parsed, MAX_FILE_BYTES};
use super::{Origin, Skill};
use crate::home::{write_atomic, HomeError};

/// Deleted skills are moved here (next to the skills folder), restorable.
pub const TRASH_DIR: &str = "skills-trash";
/// Largest skill folder copied on import (scripts, references, assets included).
const MAX_IMPORT_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Home(#[from] HomeError),
    #[error("{action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> FileError + 'a {
    move |source| FileError::Io { action, path: path.to_path_buf(), source }
}

/// Reads one SKILL.md within [`MAX_FILE_BYTES`]: `Ok(None)` when there is none; an error (the
/// reason, for a Problem) when it is not a regular file (a device, a pipe, a folder, a link to
/// one), is too large, or is not UTF-8. The size is checked before reading and again while
/// reading, and the opened file itself must be regular, so a swapped-in device reads nothing.
pub(crate) fn read_skill_file(file: &Path) -> Result<Option<String>, String> {
    use std::io::Read;
    let too_large = |len: u64| format!("file is {} KiB; the limit is {} KiB", len / 1024, MAX_FILE_BYTES / 1024);
    let meta = match std::fs::metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read: {e}")),
    };
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_FILE_BYTES as u64 {
        return Err(too_large(meta.len()));
    }
    let f = std::fs::File::open(file).map_err(|e| format!("cannot read: {e}"))?;
    match f.metadata() {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err("not a regular file".into()),
        Err(e) => return Err(format!("cannot read: {e}")),
    }
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map(Some).map_err(|_| "not UTF-8 text".into())
}

/// Parses every `<dir>/<name>/SKILL.md` (one level deep, dot-folders skipped), sorted by name.
pub fn read_dir(dir: &Path, origin: Origin) -> Vec<(PathBuf, Parsed)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut folders: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')))
        .collect();
    folders.sort();
    folders
        .into_iter()
        .filter_map(|folder| {
            let file = folder.join("SKILL.md");
            let name = folder.file_name()?.to_str()?.to_string();
            let shown = file.display().to_string();
            let parsed = match read_skill_file(&file) {
                Ok(None) => return None,
                Ok(Some(text)) => parse(&text, &name, &shown, origin),
                Err(reason) => {
                    Parsed { skill: Err(super::Problem { file: shown, line: None, reason }), warnings: vec![] }
                }
            };
            Some((file, parsed))
        })
        .collect()
}

/// Checks a folder of skills without loading anything: each skill's problems and warnings.
pub fn validate_dir(dir: &Path) -> Result<Vec<Parsed>, FileError> {
    if !dir.is_dir() {
        return Err(FileError::NotFound(format!("{} is not a folder", dir.display())));
    }
    Ok(read_dir(dir, Origin::User).into_iter().map(|(_, p)| p).collect())
}

/// Writes `skill` as `<dir>/<name>/SKILL.md`, atomically.
pub fn write_skill(dir: &Path, skill: &Skill) -> Result<PathBuf, FileError> {
    let folder = dir.join(&skill.name);
    std::fs::create_dir_all(&folder).map_err(io("cannot create", &folder))?;
    let file = folder.join("SKILL.md");
    write_atomic(&file, render(skill).as_bytes(), 0o644)?;
    Ok(file)
}

/// Moves `<skills>/<name>` into the trash; returns where it went.
pub fn trash(skills: &Path, trash: &Path, name: &str) -> Result<PathBuf, FileError> {
    let from = skills.join(name);
    if !from.join("SKILL.md").exists() {
        return Err(FileError::NotFound(format!("no user skill {name:?} in {}", skills.display())));
    }
    std::fs::create_dir_all(trash).map_err(io("cannot create", trash))?;
    let to = trash.join(format!("{name}.{}", crate::clock::now_ms()));
    std::fs::rename(&from, &to).map_err(io("cannot move to the trash", &from))?;
    Ok(to)
}

/// Trashed skills, newest first: (name, folder in the trash, deleted at ms).
pub fn list_trash(trash: &Path) -> Vec<(String, PathBuf, i64)> {
    let Ok(entries) = std::fs::read_dir(trash) else { return Vec::new() };
    let mut out: Vec<_> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let n = e.file_name().to_str()?.to_string();
            let (name, ts) = n.rsplit_once('.')?;
            Some((name.to_string(), e.path(), ts.parse::<i64>().ok()?))
        })
        .collect();
    out.sort_by_key(|e| std::cmp::Reverse(e.2));
    out
}

/// Moves the most recently trashed `name` back.
pub fn restore(skills: &Path, trash: &Path, name: &str) -> Result<PathBuf, FileError> {
    let (_, from, _) = list_trash(trash)
        .into_iter()
        .find(|(n, _, _)| n == name)
        .ok_or_else(|| FileError::NotFound(format!("{name:?} is not in the trash")))?;
    let to = skills.join(name);
    if to.exists() {
        return Err(FileError::Conflict(format!("a skill named {name:?} exists; rename or delete it first")));
    }
    std::fs::create_dir_all(skills).map_err(io("cannot create", skills))?;
    std::fs::rename(&from, &to).map_err(io("cannot restore", &from))?;
    Ok(to)
}

/// What an import did.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ImportReport {
    pub imported: Vec<String>,
    pub skipped_existing: Vec<String>,
    pub invalid: Vec<super::Problem>,
    pub warnings: Vec<super::Problem>,
}

fn copy_dir(from: &Path, to: &Path, budget: &mut u64) -> Result<(), FileError> {
    std::fs::create_dir_all(to).map_err(io("cannot create", to))?;
    for e in std::fs::read_dir(from).map_err(io("cannot read", from))? {
        let e = e.map_err(io("cannot read", from))?;
        let ty = e.file_type().map_err(io("cannot read", &e.path()))?;
        let dest = to.join(e.file_name());
        if ty.is_dir() {
            copy_dir(&e.path(), &dest, budget)?;
        } else if ty.is_file() {
            let len = e.metadata().map(|m| m.len()).unwrap_or(0);
            *budget = budget.checked_sub(len).ok_or_else(|| {
                FileError::Invalid(format!("{} is larger than {} MiB", from.display(), MAX_IMPORT_BYTES >> 20))
            })?;
            std::fs::copy(e.path(), &dest).map_err(io("cannot copy", &e.path()))?;
        } // symlinks are not followed
    }
    Ok(())
}

/// Copies every valid skill folder of `src` into the user's skills folder `dest`.
pub fn import_from(src: &Path, dest: &Path, overwrite: bool) -> Result<ImportReport, FileError> {
    let mut report = ImportReport::default();
    for parsed in validate_dir(src)? {
        report.warnings.extend(parsed.warnings);
        match parsed.skill {
            Err(p) => report.invalid.push(p),
            Ok(skill) => {
                let target = dest.join(&skill.name);
                if target.exists() && !overwrite {
                    report.skipped_existing.push(skill.name);
                    continue;
                }
                // Copy to a temp folder and rename, so a half-copied skill is never loaded.
                let tmp = dest.join(format!(".import-{}", skill.name));
                let _ = std::fs::remove_dir_all(&tmp);
                let mut budget = MAX_IMPORT_BYTES;
                copy_dir(&src.join(&skill.name), &tmp, &mut budget)?;
                // Rewrite SKILL.md in spec form (a top-level `category` becomes metadata).
                write_atomic(&tmp.join("SKILL.md"), render(&skill).as_bytes(), 0o644)?;
                if target.exists() {
                    std::fs::remove_dir_all(&target).map_err(io("cannot replace", &target))?;
                }
                std::fs::rename(&tmp, &target).map_err(io("cannot move into place", &tmp))?;
                report.imported.push(skill.name);
            }
        }
    }
    Ok(report)
}

/// Writes `skills` as `<dest>/<name>/SKILL.md`.
pub fn export_to<'a>(skills: impl IntoIterator<Item = &'a Skill>, dest: &Path) -> Result<usize, FileError> {
    let mut n = 0;
    for s in skills {
        write_skill(dest, s)?;
        n += 1;
    }
    Ok(n)
}
