//! The archive: skills moved out of the active library (by the curator, or a merge that replaced
//! them), never deleted. Each one's folder goes to `<skills>/.archive/<name>` (a dot-folder, so
//! the library does not load it) and its SKILL.md text to the database, so it can be restored
//! even when that folder was deleted by hand. Every archiving and restoring is one generation.

use std::path::{Path, PathBuf};

use super::files::{self, FileError};
use super::library::{Library, LibraryError};
use super::parse::{parse, render};
use super::Origin;
use crate::events::Event;
use crate::store::archive::{self as store, ArchiveRow};

/// The archive folder inside the skills folder.
pub const ARCHIVE_DIR: &str = ".archive";

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> FileError + 'a {
    move |source| FileError::Io { action, path: path.to_path_buf(), source }
}

/// Moves `<skills>/<name>` to `<skills>/.archive/<name>` (one rename). An older archived folder
/// of that name is moved aside to `<name>.<ms>`, not deleted.
fn move_in(skills: &Path, name: &str) -> Result<(), FileError> {
    let root = skills.join(ARCHIVE_DIR);
    std::fs::create_dir_all(&root).map_err(io("cannot create", &root))?;
    let to = root.join(name);
    if to.exists() {
        let aside = root.join(format!("{name}.{}", crate::clock::now_ms()));
        std::fs::rename(&to, &aside).map_err(io("cannot move aside", &to))?;
    }
    let from = skills.join(name);
    std::fs::rename(&from, &to).map_err(io("cannot move to the archive", &from))
}

/// Moves `<skills>/.archive/<name>` back; false when that folder is gone.
fn move_out(skills: &Path, name: &str) -> Result<bool, FileError> {
    let from = skills.join(ARCHIVE_DIR).join(name);
    if !from.join("SKILL.md").is_file() {
        return Ok(false);
    }
    let to = skills.join(name);
    std::fs::rename(&from, &to).map_err(io("cannot restore from the archive", &from))?;
    Ok(true)
}

/// One change of the library made by the curator or an approved curator proposal: skills to
/// archive (each with its own reason) and a skill to write, applied as one generation.
#[derive(Debug, Default, Clone)]
pub struct Curation {
    /// (name, why) of each skill to move to the archive.
    pub archive: Vec<(String, String)>,
    /// (name, SKILL.md) to write after archiving (a merge's new skill).
    pub write: Option<(String, String)>,
}

impl Library {
    /// Archives skills and writes one (optional), then reloads once: one generation with
    /// `reason`. Built-in skills are never archived (they ship with MetaClaw: switch one off
    /// instead). Nothing is deleted: a failure to move a folder leaves the rest as it was.
    pub async fn curate(&self, change: Curation, reason: &str) -> Result<i64, LibraryError> {
        let snap = self.snapshot();
        let mut archived = Vec::new();
        for (name, _) in &change.archive {
            let e = snap.get(name).ok_or_else(|| LibraryError::NotFound(name.clone()))?;
            if e.skill.origin == Origin::Builtin {
                return Err(LibraryError::Conflict(format!(
                    "{name} is a built-in skill: built-ins are not archived; switch it off instead"
                )));
            }
            archived.push((name.clone(), render(&e.skill)));
        }
        let written = match &change.write {
            Some((name, text)) => {
                if !super::valid_name(name) {
                    return Err(LibraryError::Conflict(format!("{name:?} is not a valid skill name")));
                }
                let parsed = parse(text, name, &format!("{name}/SKILL.md"), Origin::User);
                Some(parsed.skill.map_err(|p| LibraryError::Invalid(vec![p]))?)
            }
            None => None,
        };
        let _guard = self.reload_lock.lock().await;
        let now = crate::clock::now_ms();
        let rows: Vec<(String, String, String)> = change
            .archive
            .iter()
            .zip(&archived)
            .map(|((name, why), (_, content))| (name.clone(), content.clone(), why.clone()))
            .collect();
        let keep = rows.clone();
        self.store
            .write(move |c| {
                for (name, content, why) in &keep {
                    store::put(c, name, content, why, now)?;
                }
                Ok(())
            })
            .await?;
        let mut moved: Vec<String> = Vec::new();
        for (name, _, _) in &rows {
            if let Err(e) = move_in(&self.dir, name) {
                // Put back what moved, forget the rows: the library stays as it was.
                for m in &moved {
                    let _ = move_out(&self.dir, m);
                }
                let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
                let _ = self
                    .store
                    .write(move |c| {
                        for n in &names {
                            store::remove(c, n)?;
                        }
                        Ok(())
                    })
                    .await;
                return Err(e.into());
            }
            moved.push(name.clone());
        }
        if let Some(skill) = &written {
            files::write_skill(&self.dir, skill)?;
        }
        let generation = self.reload_locked(reason).await?;
        let names = moved.clone();
        self.store.write(move |c| store::set_generation(c, &names, generation)).await?;
        for name in moved {
            self.events.publish(Event::SkillArchived { name, archived: true });
        }
        Ok(generation)
    }

    /// Switches a skill off as a generation with `reason` (an approved curator proposal).
    pub async fn disable(&self, name: &str, reason: &str) -> Result<i64, LibraryError> {
        if self.snapshot().get(name).is_none() {
            return Err(LibraryError::NotFound(name.into()));
        }
        let _guard = self.reload_lock.lock().await;
        self.save_switches(vec![(name.to_string(), false)]).await?;
        self.reload_locked(reason).await
    }

    /// Archives skills, each with its reason, as one generation.
    pub async fn archive(&self, skills: Vec<(String, String)>, reason: &str) -> Result<i64, LibraryError> {
        self.curate(Curation { archive: skills, write: None }, reason).await
    }

    /// The archive, newest first.
    pub async fn archived(&self) -> Result<Vec<ArchiveRow>, LibraryError> {
        Ok(self.store.read(store::list).await?)
    }

    /// Brings an archived skill back as a new generation: its folder if it is still in the
    /// archive, else its text from the database. Refuses when a skill of that name exists.
    pub async fn unarchive(&self, name: &str) -> Result<i64, LibraryError> {
        let n = name.to_string();
        let row = self
            .store
            .read(move |c| store::get(c, &n))
            .await?
            .ok_or_else(|| LibraryError::NotFound(format!("{name} (not in the archive)")))?;
        let _guard = self.reload_lock.lock().await;
        if self.snapshot().get(name).is_some() || self.user_file(name).exists() {
            return Err(LibraryError::Conflict(format!(
                "a skill named {name:?} exists; rename or delete it before restoring the archived one"
            )));
        }
        if !move_out(&self.dir, name)? {
            let skill = parse(&row.content, name, &format!("archive: {name}"), Origin::User)
                .skill
                .map_err(|p| LibraryError::Invalid(vec![p]))?;
            files::write_skill(&self.dir, &skill)?;
        }
        let n = name.to_string();
        self.store.write(move |c| store::remove(c, &n)).await?;
        let generation = self.reload_locked(&format!("restored {name} from the archive")).await?;
        self.events.publish(Event::SkillArchived { name: name.to_string(), archived: false });
        Ok(generation)
    }
}

/// Where archived skill `name`'s folder is kept.
pub fn archived_folder(skills: &Path, name: &str) -> PathBuf {
    skills.join(ARCHIVE_DIR).join(name)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::SkillsConfig;
    use crate::store::{generations, Store};

    const TEXT: &str = "---\nname: old-habit\ndescription: Use when formatting weekly reports.\nmetadata:\n  origin: evolved\n---\nPut the totals first.\n";

    async fn library(dir: &Path) -> Arc<Library> {
        let store = Store::open(&dir.join("db.sqlite"), std::time::Duration::from_millis(5)).unwrap();
        let cfg = SkillsConfig { builtin: false, ..Default::default() };
        Library::open(dir.join("skills"), dir.join("trash"), store, cfg, None, Default::default()).await.unwrap()
    }

    async fn last_reason(lib: &Library) -> String {
        lib.store.read(|c| generations::list(c, 1)).await.unwrap().remove(0).reason
    }

    #[tokio::test]
    async fn an_archived_skill_leaves_the_library_as_a_generation_and_comes_back_even_without_its_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let lib = library(tmp.path()).await;
        let created = lib.write("old-habit", TEXT, "created old-habit").await.unwrap();
        let g = lib
            .archive(vec![("old-habit".into(), "no turn carried it for 90 days".into())], "curator: archived 1 skill")
            .await
            .unwrap();
        assert!(g > created, "archiving is a new generation");
        assert_eq!(last_reason(&lib).await, "curator: archived 1 skill");
        assert!(lib.snapshot().get("old-habit").is_none(), "the library no longer has it");
        let folder = archived_folder(lib.dir(), "old-habit");
        assert!(folder.join("SKILL.md").is_file(), "its folder moved to the archive");
        assert!(!lib.dir().join("old-habit").exists());
        let rows = lib.archived().await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].reason.as_str(), rows[0].generation), ("no turn carried it for 90 days", Some(g)));
        // A reload (e.g. the watcher's) does not load it from the archive folder.
        lib.reload("files changed on disk").await.unwrap();
        assert!(lib.snapshot().get("old-habit").is_none());

        // The archive folder deleted by hand: the text in the database brings it back.
        std::fs::remove_dir_all(lib.dir().join(ARCHIVE_DIR)).unwrap();
        lib.reload("files changed on disk").await.unwrap();
        let restored = lib.unarchive("old-habit").await.unwrap();
        assert!(restored > g);
        assert_eq!(last_reason(&lib).await, "restored old-habit from the archive");
        let e = lib.snapshot().get("old-habit").cloned().expect("restored");
        assert_eq!((e.skill.origin, e.skill.body.trim()), (Origin::Evolved, "Put the totals first."));
        assert!(lib.archived().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn restoring_is_refused_while_a_skill_of_that_name_exists_and_built_ins_are_never_archived() {
        let tmp = tempfile::tempdir().unwrap();
        let lib = library(tmp.path()).await;
        lib.write("old-habit", TEXT, "created").await.unwrap();
        lib.archive(vec![("old-habit".into(), "unused".into())], "archived").await.unwrap();
        lib.write("old-habit", TEXT, "written again").await.unwrap();
        let e = lib.unarchive("old-habit").await.unwrap_err();
        assert!(matches!(e, LibraryError::Conflict(ref m) if m.contains("exists")), "{e}");
        assert_eq!(lib.archived().await.unwrap().len(), 1, "still archived");
        assert!(matches!(lib.unarchive("never-archived").await, Err(LibraryError::NotFound(_))));

        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("db.sqlite"), std::time::Duration::from_millis(5)).unwrap();
        let lib = Library::open(
            tmp.path().join("skills"),
            tmp.path().join("trash"),
            store,
            SkillsConfig::default(),
            None,
            Default::default(),
        )
        .await
        .unwrap();
        let builtin = lib.snapshot().entries[0].skill.name.clone();
        let e = lib.archive(vec![(builtin, "unused".into())], "archived").await.unwrap_err();
        assert!(matches!(e, LibraryError::Conflict(ref m) if m.contains("built-in")), "{e}");
    }
}
