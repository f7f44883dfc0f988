//! Holdout on the request path: a new or edited skill version (user-written or evolved; never
//! built-in, pinned or `critical: true`) is withheld from a share of its first matching turns,
//! decided per (session, skill, version) so a conversation keeps a stable set. Counting is in
//! memory (seeded from `skill_holdout`, saved by the background task); with no skill in its
//! holdout window a turn pays one atomic load and one comparison.

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::clock::now_ms;
use crate::config::HoldoutConfig;
use crate::skills::{render_block, Entry, Injected, Origin, Snapshot};
use crate::store::effect::HoldoutRow;

/// One skill version's holdout window.
#[derive(Debug)]
pub struct Slot {
    pub skill: String,
    pub hash: String,
    pub since: i64,
    matches: AtomicU32,
    held: AtomicU32,
    /// Counted since it was last saved.
    dirty: AtomicBool,
}

impl Slot {
    fn new(skill: String, hash: String, since: i64, matches: u32, held: u32) -> Self {
        Self {
            skill,
            hash,
            since,
            matches: AtomicU32::new(matches),
            held: AtomicU32::new(held),
            dirty: AtomicBool::new(false),
        }
    }

    fn row(&self) -> HoldoutRow {
        HoldoutRow {
            skill: self.skill.clone(),
            hash: self.hash.clone(),
            matches: i64::from(self.matches.load(Ordering::Relaxed)),
            held_out: i64::from(self.held.load(Ordering::Relaxed)),
            since: self.since,
        }
    }
}

/// What `refresh` compares each new snapshot with.
#[derive(Default)]
struct Known {
    /// The versions (name → hash) of the last snapshot seen.
    versions: HashMap<String, String>,
    /// Every version with a window, open or closed, by (name, hash).
    slots: HashMap<(String, String), Arc<Slot>>,
}

/// The holdout state of one engine configuration.
pub struct Holdout {
    cfg: HoldoutConfig,
    /// The library generation `open` was computed for.
    seen: AtomicI64,
    /// The versions in their window now, by skill name (empty: holdout costs nothing).
    open: ArcSwap<HashMap<String, Arc<Slot>>>,
    known: Mutex<Known>,
}

/// Whether a skill may be held out at all.
fn eligible(e: &Entry) -> bool {
    e.enabled
        && e.skill.origin != Origin::Builtin
        && !e.pinned
        && e.skill.metadata.get("critical").map(|v| v.trim().eq_ignore_ascii_case("true")) != Some(true)
}

/// The skills block for what is left of a selection once skills were held out (empty when
/// nothing is left).
pub fn block_text(library: &Snapshot, injected: &[Injected]) -> String {
    let skills: Vec<_> = injected.iter().filter_map(|i| library.get(&i.name).map(|e| &e.skill)).collect();
    if skills.is_empty() {
        String::new()
    } else {
        render_block(&skills)
    }
}

/// Whether `session` goes without (`skill`, `hash`): the same answer for the whole conversation.
pub fn withheld(session: &str, skill: &str, hash: &str, share: f64) -> bool {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for part in [session, skill, hash] {
        h.write(part.as_bytes());
        h.write_u8(0);
    }
    (h.finish() % 1_000_000) < (share * 1_000_000.0) as u64
}

impl Holdout {
    /// Holdout starting from the library as it is (its versions are not new) and the counters
    /// saved before.
    pub fn new(cfg: HoldoutConfig, library: &Snapshot, saved: Vec<HoldoutRow>) -> Self {
        let mut known = Known::default();
        for r in saved {
            let clamp = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
            let slot = Slot::new(r.skill.clone(), r.hash.clone(), r.since, clamp(r.matches), clamp(r.held_out));
            known.slots.insert((r.skill, r.hash), Arc::new(slot));
        }
        known.versions = library.entries.iter().map(|e| (e.skill.name.clone(), e.skill.hash.clone())).collect();
        let h = Self { cfg, seen: AtomicI64::new(i64::MIN), open: Default::default(), known: Mutex::new(known) };
        h.refresh(library);
        h
    }

    pub fn config(&self) -> &HoldoutConfig {
        &self.cfg
    }

    /// Brings the open windows up to `library`: a version not seen before opens one.
    fn refresh(&self, library: &Snapshot) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if self.seen.load(Ordering::Acquire) == library.generation {
            return;
        }
        let now = now_ms();
        let mut open = HashMap::new();
        for e in &library.entries {
            let (name, hash) = (&e.skill.name, &e.skill.hash);
            let new = known.versions.get(name) != Some(hash);
            let key = (name.clone(), hash.clone());
            if new && eligible(e) && !known.slots.contains_key(&key) {
                let slot = Slot::new(name.clone(), hash.clone(), now, 0, 0);
                slot.dirty.store(true, Ordering::Relaxed);
                known.slots.insert(key.clone(), Arc::new(slot));
            }
            match known.slots.get(&key) {
                Some(s) if eligible(e) && s.matches.load(Ordering::Relaxed) < self.cfg.first => {
                    open.insert(name.clone(), s.clone());
                }
                _ => {}
            }
        }
        known.versions = library.entries.iter().map(|e| (e.skill.name.clone(), e.skill.hash.clone())).collect();
        self.open.store(Arc::new(open));
        self.seen.store(library.generation, Ordering::Release);
    }

    /// Takes the held-out skills out of a turn's selection `injected`, counting the matches;
    /// returns their names (empty, without allocating, when none is held out: then the
    /// selection's block stands; otherwise render the new one with [`block_text`]).
    pub fn apply(&self, library: &Snapshot, session: &str, injected: &mut Vec<Injected>) -> Vec<String> {
        if !self.cfg.enabled || injected.is_empty() {
            return Vec::new();
        }
        if self.seen.load(Ordering::Acquire) != library.generation {
            self.refresh(library);
        }
        let open = self.open.load();
        if open.is_empty() {
            return Vec::new();
        }
        let mut held = Vec::new();
        for i in injected.iter() {
            let Some(slot) = open.get(&i.name) else { continue };
            // Pinning does not change the generation: checked turn by turn.
            if library.get(&i.name).is_none_or(|e| e.skill.hash != slot.hash || e.pinned) {
                continue;
            }
            if slot.matches.fetch_add(1, Ordering::Relaxed) >= self.cfg.first {
                continue;
            }
            slot.dirty.store(true, Ordering::Relaxed);
            if withheld(session, &slot.skill, &slot.hash, self.cfg.share) {
                slot.held.fetch_add(1, Ordering::Relaxed);
                held.push(i.name.clone());
            }
        }
        if !held.is_empty() {
            injected.retain(|i| !held.contains(&i.name));
        }
        held
    }

    /// The counters changed since the last call (for the background task to save); windows that
    /// closed meanwhile are no longer open.
    pub fn take_changed(&self) -> Vec<HoldoutRow> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        let rows: Vec<HoldoutRow> =
            known.slots.values().filter(|s| s.dirty.swap(false, Ordering::Relaxed)).map(|s| s.row()).collect();
        let open = self.open.load();
        if open.values().any(|s| s.matches.load(Ordering::Relaxed) >= self.cfg.first) {
            let still: HashMap<String, Arc<Slot>> = open
                .iter()
                .filter(|(_, s)| s.matches.load(Ordering::Relaxed) < self.cfg.first)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            self.open.store(Arc::new(still));
        }
        rows
    }

    /// How many versions are in their window now.
    pub fn open_count(&self) -> usize {
        self.open.load().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skills::Skill;

    fn skill(name: &str, origin: Origin, critical: bool, body: &str) -> Skill {
        let mut meta = std::collections::BTreeMap::new();
        if critical {
            meta.insert("critical".to_string(), "true".to_string());
        }
        Skill::new(name.into(), format!("Use for {name}."), body.into(), None, None, vec![], meta, origin)
    }

    fn snapshot(skills: Vec<Skill>, generation: i64, pinned: &[&str]) -> Snapshot {
        let mut s = Snapshot::from_skills(skills);
        for e in &mut s.entries {
            e.pinned = pinned.contains(&e.skill.name.as_str());
        }
        s.generation = generation;
        s
    }

    fn selection(names: &[&str]) -> Vec<Injected> {
        names.iter().map(|n| Injected { name: n.to_string(), score: 1.0, terms: vec![], similarity: None }).collect()
    }

    fn all() -> HoldoutConfig {
        HoldoutConfig { enabled: true, share: 1.0, first: 3 }
    }

    #[test]
    fn only_new_user_and_evolved_versions_are_held_out_and_only_for_their_first_matches() {
        let old = vec![skill("kept", Origin::User, false, "a")];
        let h = Holdout::new(all(), &snapshot(old.clone(), 1, &[]), vec![]);
        let mut sel = selection(&["kept"]);
        assert!(h.apply(&snapshot(old, 1, &[]), "s", &mut sel).is_empty(), "a skill from before is not new");
        let lib = snapshot(
            vec![
                skill("kept", Origin::User, false, "edited"),
                skill("fresh", Origin::Evolved, false, "b"),
                skill("builtin", Origin::Builtin, false, "c"),
                skill("critical", Origin::User, true, "d"),
                skill("pinned", Origin::User, false, "e"),
            ],
            2,
            &["pinned"],
        );
        let names = ["kept", "fresh", "builtin", "critical", "pinned"];
        for round in 0..3 {
            let mut sel = selection(&names);
            assert_eq!(h.apply(&lib, "s", &mut sel), ["kept", "fresh"], "round {round}");
            let left: Vec<&str> = sel.iter().map(|i| i.name.as_str()).collect();
            assert_eq!(left, ["builtin", "critical", "pinned"]);
            let block = block_text(&lib, &sel);
            assert!(block.contains("builtin") && !block.contains("fresh"));
        }
        let mut sel = selection(&names);
        assert!(h.apply(&lib, "s", &mut sel).is_empty(), "the window is the first 3 matches");
        let saved = h.take_changed();
        assert_eq!(saved.len(), 2);
        assert!(saved.iter().all(|r| r.matches == 4 && r.held_out == 3), "{saved:?}");
        assert_eq!(h.open_count(), 0);
        assert!(h.take_changed().is_empty(), "nothing changed since");
    }

    #[test]
    fn a_conversation_keeps_its_decision_and_the_share_is_about_right() {
        assert!((0..50).all(|_| withheld("s1", "k", "h", 0.5) == withheld("s1", "k", "h", 0.5)));
        let held = (0..10_000).filter(|i| withheld(&format!("session-{i}"), "k", "h", 0.1)).count();
        assert!((800..1200).contains(&held), "{held} of 10000 at 10%");
        assert!(!(0..1000).any(|i| withheld(&format!("s{i}"), "k", "h", 0.0)));
    }

    #[test]
    fn with_no_skill_in_its_window_a_turn_keeps_its_selection_untouched() {
        let lib = snapshot(vec![skill("kept", Origin::User, false, "a")], 1, &[]);
        let h = Holdout::new(all(), &lib, vec![]);
        let mut sel = selection(&["kept"]);
        let held = h.apply(&lib, "s", &mut sel);
        assert!(held.is_empty() && held.capacity() == 0, "no allocation");
        assert_eq!(sel.len(), 1);
        let off = Holdout::new(HoldoutConfig { enabled: false, ..all() }, &snapshot(vec![], 0, &[]), vec![]);
        let mut sel = selection(&["kept"]);
        assert!(off.apply(&lib, "s", &mut sel).is_empty());
        assert_eq!(sel.len(), 1, "off: nothing withheld even for a new skill");
    }
}
