//! Exposure in the background: follows newly recorded `main` turns and writes which skills each
//! carried, was withheld, or would have matched but did not carry (over the budget, switched
//! off, not written yet); when a skill is created or edited, scans back over the latest turns so
//! it has comparison turns at once. Never on the request path.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use crate::agent::AgentId;
use crate::config::SkillsConfig;
use crate::skills::{Injected, Snapshot};
use crate::store::effect::{Exposure, ExposureState};
use crate::store::turns::ExposureTurn;
use crate::store::{effect as table, generations, turns, Store, StoreError};

/// Turns read and classified at a time.
pub const BATCH: u32 = 500;
/// How many of the latest turns a new or edited skill is scanned back over.
pub const SCAN_BACK: u32 = 5_000;
/// A turn recorded this long after its id's successors is still picked up (ids are handed out
/// when a turn starts; a long turn is recorded after shorter later ones).
pub const LATE_MS: i64 = 60_000;
/// How far behind the cursor (in turn ids) a late turn is looked for: a turn recorded after this
/// many later ones is not seen (each pass reads this range by id, so it is kept small).
pub const LATE_IDS: i64 = 5_000;
/// Generations' active sets kept in memory.
const MAX_GENERATIONS: usize = 64;

/// Every skill of the library, switched on or off, ranked as the proxy ranks (lexically).
pub struct Ranker {
    pub generation: i64,
    snap: Snapshot,
    cfg: SkillsConfig,
    /// Name → (current hash, switched on now).
    current: HashMap<String, (String, bool)>,
    /// Name → when a version of it was first active (ms).
    first_active: HashMap<String, i64>,
}

impl Ranker {
    /// A ranker over every skill of `library` (on or off) under the proxy's settings `cfg`.
    pub fn new(library: &Snapshot, cfg: &SkillsConfig, first_active: HashMap<String, i64>) -> Self {
        let skills: Vec<_> = library.entries.iter().map(|e| e.skill.clone()).collect();
        let current =
            library.entries.iter().map(|e| (e.skill.name.clone(), (e.skill.hash.clone(), e.enabled))).collect();
        // Every skill that clears the bar is a candidate: none is dropped by top_k or the budget.
        let cfg = SkillsConfig { top_k: skills.len().max(1), max_tokens: usize::MAX, ..cfg.clone() };
        Self { generation: library.generation, snap: Snapshot::from_skills(skills), cfg, current, first_active }
    }

    /// The skills `query` matches (distinctive term, over the floor) that serve `agent`:
    /// name → retrieval score.
    fn matches(&self, query: &str, agent: &AgentId) -> Vec<(String, f32)> {
        if query.trim().is_empty() {
            return Vec::new();
        }
        self.snap
            .explain(query, &self.cfg, None)
            .candidates
            .into_iter()
            .filter(|c| c.injected || c.dropped.as_deref() == Some("far below the best match"))
            .filter(|c| self.snap.get(&c.name).is_some_and(|e| e.skill.serves(agent)))
            .map(|c| (c.name, c.score))
            .collect()
    }

    /// The exposure rows of one turn: what it carried and was withheld (unless `only` is given),
    /// and the skills it matched but did not carry (of `only`, when given). `active` is the
    /// turn's generation's active set (name → hash).
    pub fn classify(
        &self,
        t: &ExposureTurn,
        query: &str,
        active: &HashMap<String, String>,
        only: Option<&HashSet<String>>,
    ) -> Vec<Exposure> {
        let agent = AgentId::parse(&t.agent).unwrap_or(AgentId::UNKNOWN);
        self.classify_matched(t, self.matches(query, &agent), active, only)
    }

    /// [`Self::classify`] with the turn's matches already ranked (an agent's tool loop sends
    /// the same latest user message turn after turn: it is ranked once).
    fn classify_matched(
        &self,
        t: &ExposureTurn,
        matched: Vec<(String, f32)>,
        active: &HashMap<String, String>,
        only: Option<&HashSet<String>>,
    ) -> Vec<Exposure> {
        let injected: Vec<Injected> = serde_json::from_str(&t.skills).unwrap_or_default();
        let held: Vec<String> = serde_json::from_str(&t.held_out).unwrap_or_default();
        let row = |skill: &str, hash: Option<String>, state, score| Exposure {
            turn_id: t.id,
            skill: skill.to_string(),
            hash,
            state,
            score,
            agent: t.agent.clone(),
            at: t.started_at,
        };
        let mut out = Vec::new();
        if only.is_none() {
            for i in &injected {
                out.push(row(&i.name, active.get(&i.name).cloned(), ExposureState::Injected, i.score));
            }
            for h in &held {
                let score = matched.iter().find(|(n, _)| n == h).map_or(0.0, |m| m.1);
                out.push(row(h, active.get(h).cloned(), ExposureState::HeldOut, score));
            }
        }
        for (name, score) in matched {
            if injected.iter().any(|i| i.name == name) || held.contains(&name) {
                continue;
            }
            if only.is_some_and(|o| !o.contains(&name)) {
                continue;
            }
            let (state, hash) = match active.get(&name) {
                Some(h) => (ExposureState::Budget, Some(h.clone())),
                None => {
                    let (hash, on) = self.current.get(&name).cloned().unwrap_or_default();
                    let existed = match self.first_active.get(&name) {
                        Some(first) => *first <= t.started_at,
                        None => !on,
                    };
                    (if existed { ExposureState::Disabled } else { ExposureState::Absent }, Some(hash))
                }
            };
            out.push(row(&name, hash, state, score));
        }
        out
    }
}

/// The words of the turn's latest user message, as retrieval reads them; `seen` keeps what each
/// message (by hash) gave for the rest of the batch.
fn last_user_text(
    c: &rusqlite::Connection,
    hashes: &str,
    seen: &mut HashMap<String, Option<String>>,
) -> Result<String, StoreError> {
    let last = turns::last_message_picked(c, hashes, seen, |m| {
        let words = crate::transcript::user_text(m.get("content"));
        (m.get("role").and_then(Value::as_str) == Some("user") && !words.trim().is_empty()).then_some(words)
    })?;
    Ok(last.unwrap_or_default())
}

/// Turns with their query, read in one go, and the active sets of their generations not yet
/// known.
type Batch = (Vec<(ExposureTurn, String)>, Vec<(i64, HashMap<String, String>)>);

fn read_batch(c: &rusqlite::Connection, turns: Vec<ExposureTurn>, known: &HashSet<i64>) -> Result<Batch, StoreError> {
    // One read transaction for the batch: one snapshot, and one shared lock taken and released
    // (each statement outside one takes and drops its own, a dozen `fcntl` calls per turn).
    let _snapshot = c.unchecked_transaction()?;
    let mut gens = Vec::new();
    let mut asked = HashSet::new();
    let mut out = Vec::with_capacity(turns.len());
    let mut seen = HashMap::new();
    for t in turns {
        if !known.contains(&t.generation) && asked.insert(t.generation) {
            let active =
                generations::active(c, t.generation)?.and_then(|a| serde_json::from_str(&a).ok()).unwrap_or_default();
            gens.push((t.generation, active));
        }
        let q = last_user_text(c, &t.message_hashes, &mut seen)?;
        out.push((t, q));
    }
    Ok((out, gens))
}

/// The background follower's state between passes.
pub struct Follower {
    store: Store,
    ranker: Option<Arc<Ranker>>,
    generations: HashMap<i64, Arc<HashMap<String, String>>>,
    /// When the previous scan started (ms): turns finished since are read again if late.
    last_pass: i64,
    /// The first pass scans for the turns recorded since the saved cursor (and late ones);
    /// later passes read the turns the store committed since, each once. A pass scans again
    /// if the store could not keep every id for it.
    scanned: bool,
    /// Turns read and classified since the follower started.
    pub(crate) read: u64,
}

impl Follower {
    pub fn new(store: Store) -> Self {
        let last_pass = crate::clock::now_ms() - LATE_MS;
        Self { store, ranker: None, generations: HashMap::new(), last_pass, scanned: false, read: 0 }
    }

    async fn ranker(&mut self, library: &Snapshot, cfg: &SkillsConfig) -> Result<Arc<Ranker>, StoreError> {
        if let Some(r) = self.ranker.as_ref().filter(|r| r.generation == library.generation) {
            return Ok(r.clone());
        }
        let first = self.store.read(generations::first_active).await?;
        let r = Arc::new(Ranker::new(library, cfg, first));
        self.ranker = Some(r.clone());
        Ok(r)
    }

    /// Classifies `turns` (comparison rows for `only`'s skills alone, when given) and writes the
    /// rows; returns how many were written.
    async fn write_turns(
        &mut self,
        ranker: &Arc<Ranker>,
        turns: Vec<ExposureTurn>,
        only: Option<Arc<HashSet<String>>>,
    ) -> Result<usize, StoreError> {
        if self.generations.len() > MAX_GENERATIONS {
            self.generations.clear();
        }
        self.read += turns.len() as u64;
        let known: HashSet<i64> = self.generations.keys().copied().collect();
        let (batch, gens) = self.store.read(move |c| read_batch(c, turns, &known)).await?;
        for (g, a) in gens {
            self.generations.insert(g, Arc::new(a));
        }
        let gens = self.generations.clone();
        let r = ranker.clone();
        let rows = tokio::task::spawn_blocking(move || {
            let empty = HashMap::new();
            let mut ranked: HashMap<(&str, &str), Vec<(String, f32)>> = HashMap::new();
            batch
                .iter()
                .flat_map(|(t, q)| {
                    let active = gens.get(&t.generation).map_or(&empty, |a| a.as_ref());
                    let matched = ranked
                        .entry((q, &t.agent))
                        .or_insert_with(|| r.matches(q, &AgentId::parse(&t.agent).unwrap_or(AgentId::UNKNOWN)))
                        .clone();
                    r.classify_matched(t, matched, active, only.as_deref())
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?;
        if rows.is_empty() {
            return Ok(0);
        }
        self.store.write(move |c| table::insert(c, &rows)).await
    }

    /// One pass: the turns recorded since the last, then a scan back for skills created or
    /// edited since the last scan. Returns the turns whose exposure was written.
    pub async fn pass(&mut self, library: &Snapshot, cfg: &SkillsConfig) -> Result<u64, StoreError> {
        let ranker = self.ranker(library, cfg).await?;
        let cursor = self.store.read(table::cursor).await?;
        // Taken before a scan reads: what is committed after it is in the next take.
        let committed = self.store.take_committed();
        let (top, seen) = if self.scanned && !committed.overflowed {
            self.read_committed(&ranker, committed.ids, cursor).await?
        } else {
            let scan = self.scan(&ranker, cursor).await?;
            self.scanned = true;
            scan
        };
        if top > cursor {
            self.store.write(move |c| table::set_cursor(c, top)).await?;
        }
        self.scan_back(&ranker, top).await?;
        Ok(seen)
    }

    /// The turns committed since the last pass (`ids`), read once each. Returns the highest
    /// turn id known and how many turns were written.
    async fn read_committed(
        &mut self,
        ranker: &Arc<Ranker>,
        mut ids: Vec<i64>,
        cursor: i64,
    ) -> Result<(i64, u64), StoreError> {
        ids.sort_unstable();
        let (mut top, mut seen) = (cursor, 0u64);
        for chunk in ids.chunks(BATCH as usize) {
            let chunk = chunk.to_vec();
            let turns = self.store.read(move |c| turns::exposure_turns_by_id(c, &chunk)).await?;
            top = top.max(turns.last().map_or(top, |t| t.id));
            seen += turns.len() as u64;
            self.write_turns(ranker, turns, None).await?;
        }
        Ok((top, seen))
    }

    /// Every turn recorded above the saved `cursor`, and those below it that finished since the
    /// last scan (a turn is recorded when it ends, after later, shorter ones). Returns the
    /// highest turn id read and how many turns above the cursor were written.
    async fn scan(&mut self, ranker: &Arc<Ranker>, cursor: i64) -> Result<(i64, u64), StoreError> {
        let started = crate::clock::now_ms();
        let since = self.last_pass - LATE_MS;
        let (mut floor, mut top, mut seen) = (cursor.saturating_sub(LATE_IDS).max(0), cursor, 0u64);
        loop {
            let turns = self.store.read(move |c| turns::exposure_turns(c, floor, cursor, since, BATCH)).await?;
            let n = turns.len();
            let Some(last) = turns.last().map(|t| t.id) else { break };
            seen += turns.iter().filter(|t| t.id > cursor).count() as u64;
            self.write_turns(ranker, turns, None).await?;
            (floor, top) = (last, top.max(last));
            if n < BATCH as usize {
                break;
            }
        }
        self.last_pass = started;
        Ok((top, seen))
    }

    /// Comparison rows for the skills created or edited since the last scan, over the latest
    /// [`SCAN_BACK`] turns up to `upto`.
    async fn scan_back(&mut self, ranker: &Arc<Ranker>, upto: i64) -> Result<(), StoreError> {
        let scanned = self.store.read(table::scanned).await?;
        let Some(scanned) = scanned else {
            // The first pass reads every turn there is with the whole library: nothing to scan.
            let g = ranker.generation;
            return self.store.write(move |c| table::set_scanned(c, g)).await;
        };
        if scanned >= ranker.generation {
            return Ok(());
        }
        let changes = self.store.read(move |c| generations::changes_after(c, scanned)).await?;
        let mut names = HashSet::new();
        for (_, json) in &changes {
            let list: Vec<Value> = serde_json::from_str(json).unwrap_or_default();
            for ch in list {
                let kind = ch.get("change").and_then(Value::as_str);
                if matches!(kind, Some("added" | "modified")) {
                    if let Some(n) = ch.get("skill").and_then(Value::as_str) {
                        names.insert(n.to_string());
                    }
                }
            }
        }
        if !names.is_empty() {
            let only = Arc::new(names);
            let (mut upto, mut left) = (upto, SCAN_BACK);
            while left > 0 {
                let n = left.min(BATCH);
                let turns = self.store.read(move |c| turns::recent_exposure_turns(c, upto, n)).await?;
                let Some(oldest) = turns.last().map(|t| t.id) else { break };
                left -= turns.len() as u32;
                let short = turns.len() < n as usize;
                self.write_turns(ranker, turns, Some(only.clone())).await?;
                if short {
                    break;
                }
                upto = oldest - 1;
            }
        }
        let g = ranker.generation;
        self.store.write(move |c| table::set_scanned(c, g)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skills::{Origin, Skill};

    fn skill(name: &str, description: &str) -> Skill {
        Skill::new(
            name.into(),
            description.into(),
            "Do it.".into(),
            None,
            None,
            vec![],
            Default::default(),
            Origin::User,
        )
    }

    const ASK: &str = "write the meeting agenda timestamps in ISO 8601 with the offset";

    fn turn(id: i64, skills: &[&str], held: &[&str], at: i64) -> ExposureTurn {
        let injected: Vec<Injected> = skills
            .iter()
            .map(|n| Injected { name: n.to_string(), score: 0.5, terms: vec![], similarity: None })
            .collect();
        ExposureTurn {
            id,
            agent: "codex".into(),
            started_at: at,
            generation: 1,
            skills: serde_json::to_string(&injected).unwrap(),
            held_out: serde_json::to_string(held).unwrap(),
            message_hashes: "[]".into(),
        }
    }

    #[test]
    fn a_turn_is_classified_against_every_skill_on_or_off_and_when_each_existed() {
        let mut lib = Snapshot::from_skills(vec![
            skill("iso-timestamps", "Use whenever writing timestamps in ISO."),
            skill("meeting-notes", "Use when writing up a meeting."),
            skill("utc-offsets", "Use when writing an offset from UTC."),
            skill("held", "Use when writing an agenda."),
            skill("cats", "Use when asked how long cats sleep."),
        ]);
        lib.entries[1].enabled = false;
        let first: HashMap<String, i64> =
            [("iso-timestamps", 10), ("meeting-notes", 10), ("held", 10), ("utc-offsets", 500)]
                .into_iter()
                .map(|(n, t)| (n.to_string(), t))
                .collect();
        // A low floor: each skill here covers a small share of the request.
        let r = Ranker::new(&lib, &SkillsConfig { min_score: 0.1, ..SkillsConfig::default() }, first);
        let matched: Vec<String> = r.matches(ASK, &AgentId::UNKNOWN).into_iter().map(|m| m.0).collect();
        assert_eq!(matched.len(), 4, "{matched:?}");
        // The turn's generation had iso-timestamps and held (held out) active.
        let active: HashMap<String, String> =
            [("iso-timestamps", "h1"), ("held", "h2")].into_iter().map(|(n, h)| (n.into(), h.into())).collect();
        let mut rows = r.classify(&turn(7, &["iso-timestamps"], &["held"], 100), ASK, &active, None);
        rows.sort_by(|a, b| a.skill.cmp(&b.skill));
        let got: Vec<(&str, ExposureState, Option<&str>)> =
            rows.iter().map(|e| (e.skill.as_str(), e.state, e.hash.as_deref())).collect();
        assert_eq!(
            got,
            [
                ("held", ExposureState::HeldOut, Some("h2")),
                ("iso-timestamps", ExposureState::Injected, Some("h1")),
                ("meeting-notes", ExposureState::Disabled, Some(lib.entries[1].skill.hash.as_str())),
                ("utc-offsets", ExposureState::Absent, Some(lib.entries[2].skill.hash.as_str())),
            ]
        );
        assert!(rows.iter().all(|e| e.turn_id == 7 && e.agent == "codex" && e.at == 100));
        // A skill over the budget of the turn's generation; only the skills asked for when given.
        let all: HashMap<String, String> =
            lib.entries.iter().map(|e| (e.skill.name.clone(), e.skill.hash.clone())).collect();
        let only: HashSet<String> = ["utc-offsets".to_string()].into();
        let rows = r.classify(&turn(8, &["iso-timestamps"], &[], 1000), ASK, &all, Some(&only));
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].skill.as_str(), rows[0].state), ("utc-offsets", ExposureState::Budget));
        assert!(r.classify(&turn(9, &[], &[], 1000), "   ", &all, None).is_empty(), "no words, no match");
    }

    #[tokio::test]
    async fn each_turn_is_read_once_however_late_it_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), std::time::Duration::from_millis(5)).unwrap();
        let lib = Snapshot::from_skills(vec![skill("iso-timestamps", "Use whenever writing timestamps in ISO.")]);
        let cfg = SkillsConfig::default();
        let mut follower = Follower::new(store.clone());
        store.record(crate::turn::TurnRecord::sample(2, ASK));
        store.flush().await.unwrap();
        assert_eq!(follower.pass(&lib, &cfg).await.unwrap(), 1, "the first pass scans");
        // Turn 1 started first and ends after turns 2 and 3: it is recorded below the cursor.
        store.record(crate::turn::TurnRecord::sample(3, ASK));
        store.record(crate::turn::TurnRecord::sample(1, ASK));
        store.flush().await.unwrap();
        assert_eq!(follower.pass(&lib, &cfg).await.unwrap(), 2);
        for _ in 0..3 {
            assert_eq!(follower.pass(&lib, &cfg).await.unwrap(), 0);
        }
        assert_eq!(follower.read, 3, "each turn read once, none again for being recent");
        assert_eq!(store.read(table::count).await.unwrap(), 3, "an exposure row for each turn");
        // A follower that starts afresh (a restart) scans from the saved cursor: nothing is new.
        let mut again = Follower::new(store.clone());
        assert_eq!(again.pass(&lib, &cfg).await.unwrap(), 0);
        store.close().await;
    }
}
