//! The live library: built-in and user skills loaded into an immutable snapshot (skills, index,
//! generation), mirrored into SQLite, reloaded within a second of a file change and swapped
//! atomically. Every change of the set of active skills is a new, persisted generation.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::embed::Embedder;
use super::files::{self, FileError, ImportReport};
use super::index::{Hit, Index};
use super::inject::{render_block, Injected, HEADER};
use super::parse::{parse, render, Problem};
use super::{bank, Origin, Skill};
use crate::config::SkillsConfig;
use crate::store::{Store, StoreError};
use crate::transcript::content_text;

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

/// One skill in a snapshot, with its state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    #[serde(flatten)]
    pub skill: Skill,
    pub enabled: bool,
    /// The SKILL.md on disk (user skills), or `builtin:<name>`.
    pub path: String,
    /// A user skill that replaces a built-in of the same name.
    pub overrides_builtin: bool,
}

/// An immutable state of the library. Requests hold one for their whole duration.
pub struct Snapshot {
    pub entries: Vec<Entry>,
    /// Positions in `entries` of the active skills, in index order.
    active: Vec<usize>,
    index: Index,
    pub generation: i64,
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

/// Why a candidate skill was or wasn't injected.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Candidate {
    pub name: String,
    pub score: f32,
    pub terms: Vec<String>,
    pub injected: bool,
    /// Set when not injected: `below min_score`, `over top_k` or `over the token budget`.
    pub dropped: Option<String>,
    pub tokens: usize,
    /// Cosine similarity to the request, when semantic retrieval is on.
    pub similarity: Option<f32>,
}

/// Skill vectors by content hash.
pub type Vectors = HashMap<String, Arc<Vec<f32>>>;

/// The semantic side of a query: its vector, the skills' vectors and the weight of similarity.
#[derive(Clone, Copy)]
pub struct Semantic<'a> {
    pub query: &'a [f32],
    pub vectors: &'a Vectors,
    pub weight: f32,
}

/// `skills explain`: what a request would get, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Explanation {
    pub generation: i64,
    pub query_terms: Vec<String>,
    pub candidates: Vec<Candidate>,
    pub block: String,
    pub tokens: usize,
}

/// What one turn gets.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub injected: Vec<Injected>,
    pub block: String,
}

const PART_CHARS: usize = 2000;
/// A skill scoring under this share of the best match's score is noise next to it.
pub const RELATIVE_CUTOFF: f32 = 0.7;

/// The start and end of long texts: a pasted log shouldn't drown the request itself.
fn clip(text: &str) -> String {
    if text.len() <= 2 * PART_CHARS {
        return text.to_string();
    }
    let start = text.char_indices().nth(PART_CHARS).map(|(i, _)| i).unwrap_or(text.len());
    let end = text.char_indices().rev().nth(PART_CHARS).map(|(i, _)| i).unwrap_or(0).max(start);
    format!("{} {}", &text[..start], &text[end..])
}

/// The query for a request: the latest user message, plus the one before it at lower weight.
/// System prompts, tool schemas and tool output are not part of it.
pub fn query_parts(messages: &[Value]) -> Vec<(String, f32)> {
    messages
        .iter()
        .rev()
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .map(|m| clip(&content_text(m.get("content"))))
        .filter(|t| !t.trim().is_empty())
        .take(2)
        .zip([1.0, 0.35])
        .collect()
}

impl Snapshot {
    fn build(entries: Vec<Entry>, generation: i64, problems: Vec<Problem>, warnings: Vec<Problem>) -> Self {
        let active: Vec<usize> = entries.iter().enumerate().filter(|(_, e)| e.enabled).map(|(i, _)| i).collect();
        let skills: Vec<Skill> = active.iter().map(|&i| entries[i].skill.clone()).collect();
        let index = Index::build(&skills);
        Self { entries, active, index, generation, problems, warnings }
    }

    /// A snapshot of just these skills, all enabled (for tests, benchmarks and tools).
    pub fn from_skills(skills: Vec<Skill>) -> Self {
        let entries = skills
            .into_iter()
            .map(|s| Entry { path: format!("memory:{}", s.name), skill: s, enabled: true, overrides_builtin: false })
            .collect();
        Self::build(entries, 0, Vec::new(), Vec::new())
    }

    /// The stemmed, stop-worded terms of `text`, as retrieval sees them.
    pub fn terms(&self, text: &str) -> Vec<String> {
        self.index.terms(text)
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.skill.name == name)
    }

    pub fn active(&self) -> impl Iterator<Item = &Skill> {
        self.active.iter().map(|&i| &self.entries[i].skill)
    }

    fn skill_of(&self, hit: &Hit) -> &Skill {
        &self.entries[self.active[hit.idx]].skill
    }

    /// Ranks, filters and budgets candidates for weighted query parts.
    fn candidates(&self, parts: &[(String, f32)], cfg: &SkillsConfig, semantic: Option<Semantic>) -> Vec<Candidate> {
        let refs: Vec<(&str, f32)> = parts.iter().map(|(t, w)| (t.as_str(), *w)).collect();
        let limit = (cfg.top_k * 4).max(12);
        let mut hits = self.index.search(&refs, if semantic.is_some() { self.active.len() } else { limit });
        let mut similarity: HashMap<usize, f32> = HashMap::new();
        if let Some(sem) = semantic {
            // Combined score: (1 - w) * lexical + w * cosine, over every skill with a vector.
            let mut lexical: HashMap<usize, (f32, Vec<String>)> =
                hits.drain(..).map(|h| (h.idx, (h.score, h.terms))).collect();
            for (ai, &ei) in self.active.iter().enumerate() {
                let lex = lexical.remove(&ai);
                let cos =
                    sem.vectors.get(&self.entries[ei].skill.hash).map(|v| super::embed::dot(sem.query, v).max(0.0));
                let (l, terms) = lex.unwrap_or_default();
                let score = match cos {
                    Some(c) => {
                        similarity.insert(ai, c);
                        (1.0 - sem.weight) * l + sem.weight * c
                    }
                    None => l,
                };
                if score > 0.0 {
                    hits.push(Hit { idx: ai, score, terms });
                }
            }
            hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.idx.cmp(&b.idx)));
            hits.truncate(limit);
        }
        let mut out: Vec<Candidate> = Vec::with_capacity(hits.len());
        let mut taken = 0;
        let mut tokens = HEADER.len().div_ceil(4);
        let best = hits.first().map(|h| h.score).unwrap_or(0.0);
        for h in &hits {
            let s = self.skill_of(h);
            let mut c = Candidate {
                name: s.name.clone(),
                score: h.score,
                terms: h.terms.clone(),
                injected: false,
                dropped: None,
                tokens: s.tokens(),
                similarity: similarity.get(&h.idx).copied(),
            };
            if h.score < cfg.min_score {
                c.dropped = Some("below min_score".into());
            } else if h.score < RELATIVE_CUTOFF * best {
                c.dropped = Some("far below the best match".into());
            } else if taken >= cfg.top_k {
                c.dropped = Some("over top_k".into());
            } else {
                c.injected = true;
                taken += 1;
                tokens += c.tokens;
            }
            out.push(c);
        }
        // Over budget: drop whole skills, lowest score first.
        while tokens > cfg.max_tokens {
            let Some(last) = out.iter_mut().rev().find(|c| c.injected) else { break };
            last.injected = false;
            last.dropped = Some("over the token budget".into());
            tokens -= last.tokens;
        }
        out
    }

    /// The skills for a request's messages (hot path: no I/O, no locks).
    pub fn select(&self, messages: &[Value], cfg: &SkillsConfig, semantic: Option<Semantic>) -> Selection {
        let parts = query_parts(messages);
        if parts.is_empty() || self.active.is_empty() {
            return Selection::default();
        }
        let chosen: Vec<Candidate> =
            self.candidates(&parts, cfg, semantic).into_iter().filter(|c| c.injected).collect();
        if chosen.is_empty() {
            return Selection::default();
        }
        let skills: Vec<&Skill> = chosen.iter().filter_map(|c| self.get(&c.name).map(|e| &e.skill)).collect();
        Selection {
            block: render_block(&skills),
            injected: chosen
                .into_iter()
                .map(|c| Injected { name: c.name, score: c.score, terms: c.terms, similarity: c.similarity })
                .collect(),
        }
    }

    /// What `query` (as the latest user message) would get, and why.
    pub fn explain(&self, query: &str, cfg: &SkillsConfig, semantic: Option<Semantic>) -> Explanation {
        let parts = vec![(clip(query), 1.0)];
        let candidates = self.candidates(&parts, cfg, semantic);
        let skills: Vec<&Skill> =
            candidates.iter().filter(|c| c.injected).filter_map(|c| self.get(&c.name).map(|e| &e.skill)).collect();
        let block = if skills.is_empty() { String::new() } else { render_block(&skills) };
        Explanation {
            generation: self.generation,
            query_terms: self.index.terms(query),
            tokens: block.len().div_ceil(4),
            candidates,
            block,
        }
    }
}

/// The skill library: the current snapshot and what changes it.
pub struct Library {
    current: ArcSwap<Snapshot>,
    embedder: Option<Embedder>,
    vectors: ArcSwap<Vectors>,
    events: crate::events::EventBus,
    /// Wakes the task that embeds skills after a reload.
    refresh: tokio::sync::mpsc::UnboundedSender<()>,
    dir: PathBuf,
    trash: PathBuf,
    store: Store,
    cfg: SkillsConfig,
    reload_lock: tokio::sync::Mutex<()>,
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

/// The state of each skill to mirror into the database.
struct Mirror {
    name: String,
    origin: &'static str,
    category: String,
    description: String,
    hash: String,
    enabled: bool,
    path: String,
    content: String,
}

/// Records the library's state; returns its generation (a new one if the active set changed).
fn sync(conn: &rusqlite::Connection, skills: &[Mirror], reason: &str) -> Result<i64, StoreError> {
    let now = crate::turn::now_ms();
    let last: Option<(i64, String)> = conn
        .query_row("SELECT id, active FROM generations ORDER BY id DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
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
        let mut put = conn.prepare_cached(
            "INSERT OR IGNORE INTO skill_versions(hash, name, content, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for s in skills.iter().filter(|s| s.enabled) {
            put.execute(params![s.hash, s.name, s.content, now])?;
        }
        conn.execute(
            "INSERT INTO generations(created_at, reason, changes, active) VALUES (?1, ?2, ?3, ?4)",
            params![
                now,
                reason,
                serde_json::to_string(&changes).expect("json"),
                serde_json::to_string(&active).expect("json")
            ],
        )?;
        let id = conn.last_insert_rowid();
        tracing::info!(generation = id, reason, changes = changes.len(), "skill library changed");
        id
    };
    conn.execute("DELETE FROM skills", [])?;
    let mut ins = conn.prepare_cached(
        "INSERT INTO skills(name, origin, category, description, hash, enabled, path, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for s in skills {
        ins.execute(params![s.name, s.origin, s.category, s.description, s.hash, s.enabled, s.path, now])?;
    }
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
                let mut st = c.prepare_cached("SELECT vector FROM embeddings WHERE hash = ?1 AND model = ?2")?;
                let mut out = Vectors::new();
                for h in hashes {
                    if let Some(b) = st.query_row(params![h, model], |r| r.get::<_, Vec<u8>>(0)).optional()? {
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
                    self.store
                        .write(move |c| {
                            let mut st = c.prepare_cached(
                                "INSERT OR REPLACE INTO embeddings(hash, model, vector) VALUES (?1, ?2, ?3)",
                            )?;
                            for (h, b) in &rows {
                                st.execute(params![h, model, b])?;
                            }
                            Ok(())
                        })
                        .await?;
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
        let (dir, builtin) = (self.dir.clone(), self.cfg.builtin);
        let (builtins, users) = tokio::task::spawn_blocking(move || {
            let b = if builtin { bank::load() } else { Vec::new() };
            (b, files::read_dir(&dir, Origin::User))
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?;
        let settings: HashMap<String, bool> = self
            .store
            .read(|c| {
                let mut st = c.prepare("SELECT name, enabled FROM skill_settings")?;
                let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
                Ok(rows)
            })
            .await?;

        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let mut by_name: BTreeMap<String, Entry> = BTreeMap::new();
        for p in builtins {
            warnings.extend(p.warnings);
            match p.skill {
                Ok(s) => {
                    let path = format!("builtin:{}", s.name);
                    by_name.insert(s.name.clone(), Entry { skill: s, enabled: true, path, overrides_builtin: false });
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
                    by_name
                        .insert(s.name.clone(), Entry { skill: s, enabled: true, path, overrides_builtin: overrides });
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

    fn user_file(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("SKILL.md")
    }

    /// Switches a skill on or off (remembered across restarts and file changes).
    pub async fn set_enabled(&self, name: &str, enabled: bool) -> Result<i64, LibraryError> {
        if self.snapshot().get(name).is_none() {
            return Err(LibraryError::NotFound(name.into()));
        }
        let n = name.to_string();
        self.store
            .write(move |c| {
                c.execute(
                    "INSERT INTO skill_settings(name, enabled, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT(name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
                    params![n, enabled, crate::turn::now_ms()],
                )?;
                Ok(())
            })
            .await?;
        self.reload(&format!("{} {name}", if enabled { "enabled" } else { "disabled" })).await
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
        files::write_skill(&self.dir, &skill)?;
        self.reload(reason).await
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
        files::trash(&self.dir, &self.trash, name)?;
        self.reload(&format!("deleted {name}")).await
    }

    pub async fn restore(&self, name: &str) -> Result<i64, LibraryError> {
        files::restore(&self.dir, &self.trash, name)?;
        self.reload(&format!("restored {name}")).await
    }

    /// Makes the set of active skills what it was at `generation` (a new generation itself):
    /// skills added since are switched off, changed or removed ones written back from history.
    pub async fn rollback(&self, generation: i64) -> Result<i64, LibraryError> {
        let target: Option<(String, Vec<(String, String)>)> = self
            .store
            .read(move |c| {
                let active: Option<String> = c
                    .query_row("SELECT active FROM generations WHERE id = ?1", [generation], |r| r.get(0))
                    .optional()?;
                let Some(active) = active else { return Ok(None) };
                let map: BTreeMap<String, String> = serde_json::from_str(&active).unwrap_or_default();
                let mut st = c.prepare_cached("SELECT content FROM skill_versions WHERE hash = ?1")?;
                let mut contents = Vec::new();
                for (name, hash) in &map {
                    let content: String = st.query_row([hash], |r| r.get(0))?;
                    contents.push((name.clone(), content));
                }
                Ok(Some((active, contents)))
            })
            .await?;
        let (_, contents) = target.ok_or_else(|| LibraryError::NotFound(format!("generation {generation}")))?;
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
        self.store
            .write(move |c| {
                for (name, on) in &switches {
                    c.execute(
                        "INSERT INTO skill_settings(name, enabled, updated_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT(name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
                        params![name, on, crate::turn::now_ms()],
                    )?;
                }
                Ok(())
            })
            .await?;
        self.reload(&format!("rolled back to generation {generation}")).await
    }

    pub fn trash(&self) -> Vec<(String, PathBuf, i64)> {
        files::list_trash(&self.trash)
    }

    pub async fn import(&self, from: &Path, overwrite: bool) -> Result<(ImportReport, i64), LibraryError> {
        let report = files::import_from(from, &self.dir, overwrite)?;
        let g = self.reload(&format!("imported {} skills from {}", report.imported.len(), from.display())).await?;
        Ok((report, g))
    }
}
