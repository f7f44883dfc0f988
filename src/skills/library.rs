//! The live library: built-in and user skills loaded into an immutable [`Snapshot`], mirrored
//! into SQLite, reloaded within a second of a file change and swapped atomically. Every change of
//! the set of active skills is a new, persisted generation.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use super::embed::Embedder;
use super::files::{self, FileError, ImportReport};
use super::parse::{parse, render, Problem};
use super::{bank, Origin};
use crate::config::SkillsConfig;
use crate::store::generations;
use crate::store::skills::{self as mirror, Mirror};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("no skill named {0:?}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("invalid skill: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

use super::snapshot::{Entry, Snapshot, Vectors};

/// The skill library: the current snapshot and what changes it.
pub struct Library {
    current: ArcSwap<Snapshot>,
    embedder: Option<Embedder>,
    vectors: ArcSwap<Vectors>,
    pub(super) events: crate::events::EventBus,
    /// Wakes the task that embeds skills after a reload.
    refresh: tokio::sync::mpsc::UnboundedSender<()>,
    pub(super) dir: PathBuf,
    trash: PathBuf,
    pub(super) store: Store,
    cfg: SkillsConfig,
    pub(super) reload_lock: tokio::sync::Mutex<()>,
}

/// Keeps skill vectors up to date after each reload (one pass per burst of reloads).
async fn embed_task(lib: std::sync::Weak<Library>, mut rx: tokio::sync::mpsc::UnboundedReceiver<()>) {
    while rx.recv().await.is_some() {
        while rx.try_recv().is_ok() {}
        let Some(lib) = lib.upgrade() else { break };
        if let Err(e) = lib.refresh_vectors().await {
            tracing::warn!(error = %e, "skill embeddings not refreshed");
        }
    }
}

/// Records the library's state; returns its generation (a new one if the active set changed).
fn sync(conn: &rusqlite::Connection, skills: &[Mirror], reason: &str) -> Result<i64, StoreError> {
    let now = crate::clock::now_ms();
    let last = generations::latest(conn)?;
    let active: BTreeMap<&str, &str> =
        skills.iter().filter(|s| s.enabled).map(|s| (s.name.as_str(), s.hash.as_str())).collect();
    let before: BTreeMap<String, String> =
        last.as_ref().and_then(|(_, a)| serde_json::from_str(a).ok()).unwrap_or_default();
    let same = last.is_some()
        && before.len() == active.len()
        && active.iter().all(|(k, v)| before.get(*k).map(String::as_str) == Some(*v));
    let generation = if same {
        last.map(|(id, _)| id).unwrap_or(0)
    } else {
        let mut changes = Vec::new();
        for (name, hash) in &active {
            match before.get(*name) {
                None => changes.push(serde_json::json!({"skill": name, "change": "added", "hash": hash})),
                Some(old) if old != hash => {
                    changes.push(serde_json::json!({"skill": name, "change": "modified", "from": old, "hash": hash}))
                }
                _ => {}
            }
        }
        for (name, hash) in &before {
            if !active.contains_key(name.as_str()) {
                changes.push(serde_json::json!({"skill": name, "change": "removed", "from": hash}));
            }
        }
        for s in skills.iter().filter(|s| s.enabled) {
            generations::put_version(conn, &s.hash, &s.name, &s.content, now)?;
        }
        let id = generations::record(
            conn,
            now,
            reason,
            &serde_json::to_string(&changes).expect("json"),
            &serde_json::to_string(&active).expect("json"),
        )?;
        tracing::info!(generation = id, reason, changes = changes.len(), "skill library changed");
        id
    };
    mirror::replace(conn, skills, now)?;
    Ok(generation)
}

impl Library {
    /// Loads the library (built-ins, then `dir`, which overrides them) and records its generation.
    pub async fn open(
        dir: PathBuf,
        trash: PathBuf,
        store: Store,
        cfg: SkillsConfig,
        embedder: Option<Embedder>,
        events: crate::events::EventBus,
    ) -> Result<Arc<Self>, LibraryError> {
        std::fs::create_dir_all(&dir).map_err(|source| FileError::Io {
            action: "cannot create",
            path: dir.clone(),
            source,
        })?;
        let (refresh, rx) = tokio::sync::mpsc::unbounded_channel();
        let lib = Arc::new(Self {
            current: ArcSwap::from_pointee(Snapshot::build(Vec::new(), 0, Vec::new(), Vec::new())),
            embedder,
            vectors: Default::default(),
            refresh,
            events,
            dir,
            trash,
            store,
            cfg,
            reload_lock: Default::default(),
        });
        if lib.embedder.is_some() {
            tokio::spawn(embed_task(Arc::downgrade(&lib), rx));
        }
        lib.reload("start").await?;
        Ok(lib)
    }

    /// True when skills are also ranked by meaning.
    pub fn semantic_on(&self) -> bool {
        self.embedder.is_some()
    }

    /// The skills' vectors known so far (skills without one are ranked lexically).
    pub fn vectors(&self) -> Arc<Vectors> {
        self.vectors.load_full()
    }

    /// The request's vector, or `None` (semantic retrieval off, slow or failing upstream).
    pub async fn embed_query(&self, text: &str) -> Option<Vec<f32>> {
        let e = self.embedder.as_ref()?;
        let timeout = Duration::from_millis(self.cfg.embedding_timeout_ms);
        match e.embed(&[text.to_string()], Some(timeout)).await {
            Ok(mut v) => v.pop(),
            Err(err) => {
                tracing::warn!(error = %err, "request embedding failed; ranking skills lexically");
                None
            }
        }
    }

    /// Embeds the active skills that have no cached vector, saving them, then publishes the map.
    async fn refresh_vectors(&self) -> Result<(), LibraryError> {
        let Some(e) = &self.embedder else { return Ok(()) };
        let snap = self.snapshot();
        let want: Vec<(String, String)> =
            snap.active().map(|s| (s.hash.clone(), super::embed::skill_text(s))).collect();
        let model = e.model.clone();
        let hashes: Vec<String> = want.iter().map(|(h, _)| h.clone()).collect();
        let cached: Vectors = self
            .store
            .read(move |c| {
                let mut out = Vectors::new();
                for h in hashes {
                    if let Some(b) = mirror::vector(c, &h, &model)? {
                        out.insert(h, Arc::new(super::embed::from_blob(&b)));
                    }
                }
                Ok(out)
            })
            .await?;
        let mut vectors = cached;
        let missing: Vec<&(String, String)> = want.iter().filter(|(h, _)| !vectors.contains_key(h)).collect();
        for chunk in missing.chunks(super::embed::BATCH) {
            let texts: Vec<String> = chunk.iter().map(|(_, t)| t.clone()).collect();
            match e.embed(&texts, None).await {
                Ok(vs) => {
                    let rows: Vec<(String, Vec<u8>)> =
                        chunk.iter().zip(&vs).map(|((h, _), v)| (h.clone(), super::embed::to_blob(v))).collect();
                    let model = e.model.clone();
                    self.store.write(move |c| mirror::save_vectors(c, &model, &rows)).await?;
                    for ((h, _), v) in chunk.iter().zip(vs) {
                        vectors.insert(h.clone(), Arc::new(v));
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, skills = chunk.len(), "skill embeddings unavailable; those skills rank lexically");
                    break;
                }
            }
        }
        self.vectors.store(Arc::new(vectors));
        Ok(())
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    pub fn config(&self) -> &SkillsConfig {
        &self.cfg
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Re-reads every skill and the user's switches, records the generation, swaps the snapshot.
    pub async fn reload(&self, reason: &str) -> Result<i64, LibraryError> {
        let _guard = self.reload_lock.lock().await;
        self.reload_locked(reason).await
    }

    /// [`Self::reload`] for a caller that holds `reload_lock`. Every change to the files or the
    /// switches holds the lock from the change through its reload, so the watcher's reload (or
    /// another change's) can never record that change under its own reason.
    pub(super) async fn reload_locked(&self, reason: &str) -> Result<i64, LibraryError> {
        let (dir, builtin) = (self.dir.clone(), self.cfg.builtin);
        let (builtins, users) = tokio::task::spawn_blocking(move || {
            let b = if builtin { bank::load() } else { Vec::new() };
            (b, files::read_dir(&dir, Origin::User))
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?;
        let (settings, pins): (HashMap<String, bool>, std::collections::HashSet<String>) = self
            .store
            .read(|c| Ok((mirror::switches(c)?.into_iter().collect(), mirror::pins(c)?.into_iter().collect())))
            .await?;

        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let mut by_name: BTreeMap<String, Entry> = BTreeMap::new();
        for p in builtins {
            warnings.extend(p.warnings);
            match p.skill {
                Ok(s) => {
                    let path = format!("builtin:{}", s.name);
                    by_name.insert(
                        s.name.clone(),
                        Entry { skill: s, enabled: true, path, overrides_builtin: false, pinned: false },
                    );
                }
                Err(e) => problems.push(e),
            }
        }
        for (file, p) in users {
            warnings.extend(p.warnings);
            match p.skill {
                Ok(s) => {
                    let overrides = by_name.get(&s.name).is_some_and(|e| e.skill.origin == Origin::Builtin);
                    let path = file.display().to_string();
                    let e = Entry { skill: s, enabled: true, path, overrides_builtin: overrides, pinned: false };
                    by_name.insert(e.skill.name.clone(), e);
                }
                Err(e) => {
                    tracing::warn!(problem = %e, "skill skipped");
                    problems.push(e);
                }
            }
        }
        for e in by_name.values_mut() {
            if let Some(on) = settings.get(&e.skill.name) {
                e.enabled = *on;
            }
            e.pinned = pins.contains(&e.skill.name);
        }
        let entries: Vec<Entry> = by_name.into_values().collect();
        let mirror: Vec<Mirror> = entries
            .iter()
            .map(|e| Mirror {
                name: e.skill.name.clone(),
                origin: e.skill.origin.as_str(),
                category: e.skill.category().to_string(),
                description: e.skill.description.clone(),
                hash: e.skill.hash.clone(),
                enabled: e.enabled,
                path: e.path.clone(),
                content: render(&e.skill),
            })
            .collect();
        let reason_owned = reason.to_string();
        let generation = self.store.write(move |c| sync(c, &mirror, &reason_owned)).await?;
        let changed = generation != self.current.load().generation;
        self.current.store(Arc::new(Snapshot::build(entries, generation, problems, warnings)));
        if changed {
            self.events.publish(crate::events::Event::GenerationChanged { generation, reason: reason.to_string() });
        }
        let _ = self.refresh.send(());
        Ok(generation)
    }

    /// Watches the user's folder and reloads within a second of a change. Runs until dropped.
    pub fn watch(self: &Arc<Self>) -> Result<tokio::task::JoinHandle<()>, LibraryError> {
        use notify::Watcher;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            if ev.is_ok_and(|e| !matches!(e.kind, notify::EventKind::Access(_))) {
                let _ = tx.send(());
            }
        })
        .map_err(|e| FileError::Invalid(format!("cannot watch {}: {e}", self.dir.display())))?;
        watcher
            .watch(&self.dir, notify::RecursiveMode::Recursive)
            .map_err(|e| FileError::Invalid(format!("cannot watch {}: {e}", self.dir.display())))?;
        let lib = Arc::downgrade(self);
        Ok(tokio::spawn(async move {
            let _watcher = watcher; // lives as long as the task
            while rx.recv().await.is_some() {
                // Let a burst of events (an editor's save, a copy) settle, then reload once.
                tokio::time::sleep(Duration::from_millis(150)).await;
                while rx.try_recv().is_ok() {}
                let Some(lib) = lib.upgrade() else { break };
                if let Err(e) = lib.reload("files changed on disk").await {
                    tracing::warn!(error = %e, "skill reload failed; keeping the previous library");
                }
            }
        }))
    }

    pub(super) fn user_file(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("SKILL.md")
    }

    /// Switches a skill on or off (remembered across restarts and file changes).
    pub async fn set_enabled(&self, name: &str, enabled: bool) -> Result<i64, LibraryError> {
        if self.snapshot().get(name).is_none() {
            return Err(LibraryError::NotFound(name.into()));
        }
        let _guard = self.reload_lock.lock().await;
        self.save_switches(vec![(name.to_string(), enabled)]).await?;
        self.reload_locked(&format!("{} {name}", if enabled { "enabled" } else { "disabled" })).await
    }

    /// Pins or unpins a skill (kept by the curator whatever its use, never held out). The set of
    /// active skills does not change, so neither does the generation returned.
    pub async fn set_pinned(&self, name: &str, pinned: bool) -> Result<i64, LibraryError> {
        let enabled = self.snapshot().get(name).ok_or_else(|| LibraryError::NotFound(name.into()))?.enabled;
        let _guard = self.reload_lock.lock().await;
        let n = name.to_string();
        self.store.write(move |c| mirror::save_pin(c, &n, pinned, enabled, crate::clock::now_ms())).await?;
        self.reload_locked(&format!("{} {name}", if pinned { "pinned" } else { "unpinned" })).await
    }

    /// Remembers which skills the user (or a rollback) switched on or off.
    pub(super) async fn save_switches(&self, switches: Vec<(String, bool)>) -> Result<(), LibraryError> {
        self.store
            .write(move |c| {
                for (name, on) in &switches {
                    mirror::save_switch(c, name, *on, crate::clock::now_ms())?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Writes a new user skill from SKILL.md text. Fails if a skill of that name exists.
    pub async fn create(&self, name: &str, text: &str) -> Result<i64, LibraryError> {
        if self.snapshot().get(name).is_some() || self.user_file(name).exists() {
            return Err(LibraryError::Conflict(format!("a skill named {name:?} exists; edit it instead")));
        }
        self.write_text(name, text, "created").await
    }

    /// Replaces a skill's SKILL.md. Editing a built-in writes a user copy that overrides it.
    pub async fn update(&self, name: &str, text: &str) -> Result<i64, LibraryError> {
        if self.snapshot().get(name).is_none() {
            return Err(LibraryError::NotFound(name.into()));
        }
        self.write_text(name, text, "edited").await
    }

    /// Writes a user skill's SKILL.md (validated) and reloads, recording `reason` for the
    /// generation it makes.
    pub async fn write(&self, name: &str, text: &str, reason: &str) -> Result<i64, LibraryError> {
        if !super::valid_name(name) {
            return Err(LibraryError::Invalid(vec![Problem {
                file: name.into(),
                line: None,
                reason: "a skill name is 1-64 lowercase letters, digits and single hyphens".into(),
            }]));
        }
        let parsed = parse(text, name, &format!("{name}/SKILL.md"), Origin::User);
        let skill = parsed.skill.map_err(|p| LibraryError::Invalid(vec![p]))?;
        let _guard = self.reload_lock.lock().await;
        files::write_skill(&self.dir, &skill)?;
        self.reload_locked(reason).await
    }

    async fn write_text(&self, name: &str, text: &str, verb: &str) -> Result<i64, LibraryError> {
        self.write(name, text, &format!("{verb} {name}")).await
    }

    /// Deletes a user skill (to the trash, restorable). A built-in can't be deleted; it is
    /// disabled instead.
    pub async fn delete(&self, name: &str) -> Result<i64, LibraryError> {
        let snap = self.snapshot();
        let entry = snap.get(name).ok_or_else(|| LibraryError::NotFound(name.into()))?;
        if entry.skill.origin == Origin::Builtin {
            return self.set_enabled(name, false).await;
        }
        let _guard = self.reload_lock.lock().await;
        files::trash(&self.dir, &self.trash, name)?;
        self.reload_locked(&format!("deleted {name}")).await
    }

    pub async fn restore(&self, name: &str) -> Result<i64, LibraryError> {
        let _guard = self.reload_lock.lock().await;
        files::restore(&self.dir, &self.trash, name)?;
        self.reload_locked(&format!("restored {name}")).await
    }

    /// Makes the set of active skills what it was at `generation` (a new generation itself):
    /// skills added since are switched off, changed or removed ones written back from history.
    pub async fn rollback(&self, generation: i64) -> Result<i64, LibraryError> {
        let target: Option<(String, Vec<(String, String)>)> = self
            .store
            .read(move |c| {
                let Some(active) = generations::active(c, generation)? else { return Ok(None) };
                let map: BTreeMap<String, String> = serde_json::from_str(&active).unwrap_or_default();
                let mut contents = Vec::new();
                for (name, hash) in &map {
                    // A generation names only versions it kept: one missing is a broken database.
                    let content = generations::version(c, hash)?
                        .ok_or(StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows))?;
                    contents.push((name.clone(), content));
                }
                Ok(Some((active, contents)))
            })
            .await?;
        let (_, contents) = target.ok_or_else(|| LibraryError::NotFound(format!("generation {generation}")))?;
        let _guard = self.reload_lock.lock().await;
        let snap = self.snapshot();
        let wanted: HashMap<&str, &str> = contents.iter().map(|(n, c)| (n.as_str(), c.as_str())).collect();
        let mut switches: Vec<(String, bool)> = Vec::new();
        for e in &snap.entries {
            if e.enabled && !wanted.contains_key(e.skill.name.as_str()) {
                switches.push((e.skill.name.clone(), false));
            }
        }
        for (name, content) in &contents {
            let current = snap.get(name);
            if current.is_some_and(|e| render(&e.skill) == *content) {
                if current.is_some_and(|e| !e.enabled) {
                    switches.push((name.clone(), true));
                }
                continue;
            }
            let parsed = parse(content, name, &format!("generation {generation}: {name}"), Origin::User);
            let skill = parsed.skill.map_err(|p| LibraryError::Invalid(vec![p]))?;
            files::write_skill(&self.dir, &skill)?;
            switches.push((name.clone(), true));
        }
        self.save_switches(switches).await?;
        self.reload_locked(&format!("rolled back to generation {generation}")).await
    }

    pub fn trash(&self) -> Vec<(String, PathBuf, i64)> {
        files::list_trash(&self.trash)
    }

    pub async fn import(&self, from: &Path, overwrite: bool) -> Result<(ImportReport, i64), LibraryError> {
        let _guard = self.reload_lock.lock().await;
        let report = files::import_from(from, &self.dir, overwrite)?;
        let g =
            self.reload_locked(&format!("imported {} skills from {}", report.imported.len(), from.display())).await?;
        Ok((report, g))
    }
}
