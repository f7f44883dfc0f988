//! Remembered rankings: the skills one snapshot chose for one query (its weighted parts, the
//! agent when skills are scoped, and the skills settings). Agents resend the same user messages
//! on every turn of a conversation (tool loops resend the latest one too), and a selection
//! replays up to [`super::snapshot::STABLE_TURNS`] earlier messages, so most rankings a request
//! needs were made before. A memo lives in its snapshot (a new generation starts empty), is
//! bounded (cleared when full) and never makes a request wait: when another request holds it,
//! the ranking is simply made again. It also keeps the skills blocks rendered for the sets it
//! chose, so a resent conversation's block is neither rendered nor escaped again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::inject::Block;
use super::snapshot::Candidate;
use crate::agent::AgentId;
use crate::config::SkillsConfig;

/// Most rankings one snapshot remembers.
const MAX_ENTRIES: usize = 1024;

/// Most rendered blocks one snapshot keeps.
const MAX_BLOCKS: usize = 256;

/// Longest query (all parts together, in bytes) worth remembering: a pasted log is ranked again
/// rather than kept.
const MAX_QUERY_BYTES: usize = 8 * 1024;

/// One query: its parts with their weights, and the agent its candidates were limited to.
#[derive(PartialEq)]
struct Query {
    parts: Vec<(String, f32)>,
    agent: Option<AgentId>,
}

struct Remembered {
    query: Query,
    chosen: Vec<Candidate>,
}

#[derive(Default)]
struct Inner {
    /// The settings the remembered rankings were made with; other settings clear them.
    cfg: Option<SkillsConfig>,
    by_hash: HashMap<u128, Remembered>,
}

/// A rendered block and the names of its skills (kept to rule out a hash clash).
struct KeptBlock {
    names: Vec<String>,
    block: Arc<Block>,
}

/// The rankings of one snapshot, by query.
#[derive(Default)]
pub struct Memo {
    inner: Mutex<Inner>,
    /// Rendered blocks by the hash of their skills' names.
    blocks: Mutex<HashMap<u128, KeptBlock>>,
    #[cfg(test)]
    pub(super) ranked: std::sync::atomic::AtomicUsize,
}

/// A query's key: its parts and agent, hashed.
fn hash(parts: &[(String, f32)], agent: Option<&AgentId>) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for (text, weight) in parts {
        h.update(&(text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
        h.update(&weight.to_bits().to_le_bytes());
    }
    if let Some(a) = agent {
        h.update(&[1]);
        h.update(a.as_str().as_bytes());
    }
    h.digest128()
}

impl Memo {
    /// The chosen candidates for `parts` (and `agent`) under `cfg`: remembered, or made by `rank`
    /// and remembered.
    pub fn get_or_rank(
        &self,
        parts: &[(String, f32)],
        agent: Option<&AgentId>,
        cfg: &SkillsConfig,
        rank: impl FnOnce() -> Vec<Candidate>,
    ) -> Vec<Candidate> {
        if parts.iter().map(|(t, _)| t.len()).sum::<usize>() > MAX_QUERY_BYTES {
            return self.rank(rank);
        }
        let key = hash(parts, agent);
        let same = |q: &Query| q.agent.as_ref() == agent && q.parts == parts;
        if let Ok(inner) = self.inner.try_lock() {
            if inner.cfg.as_ref() == Some(cfg) {
                if let Some(r) = inner.by_hash.get(&key).filter(|r| same(&r.query)) {
                    return r.chosen.clone();
                }
            }
        }
        let chosen = self.rank(rank);
        if let Ok(mut inner) = self.inner.try_lock() {
            if inner.cfg.as_ref() != Some(cfg) {
                inner.by_hash.clear();
                inner.cfg = Some(cfg.clone());
            }
            if inner.by_hash.len() >= MAX_ENTRIES {
                inner.by_hash.clear();
            }
            let query = Query { parts: parts.to_vec(), agent: agent.cloned() };
            inner.by_hash.insert(key, Remembered { query, chosen: chosen.clone() });
        }
        chosen
    }

    /// The block for the skills named `names` (in this order): remembered, or made by `render`
    /// and remembered.
    pub fn block(&self, names: &[&str], render: impl FnOnce() -> String) -> Arc<Block> {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for n in names {
            h.update(&(n.len() as u64).to_le_bytes());
            h.update(n.as_bytes());
        }
        let key = h.digest128();
        let same = |kept: &[String]| kept.len() == names.len() && kept.iter().zip(names).all(|(a, b)| a == b);
        if let Ok(blocks) = self.blocks.try_lock() {
            if let Some(kept) = blocks.get(&key).filter(|k| same(&k.names)) {
                return kept.block.clone();
            }
        }
        let block = Arc::new(Block::new(render()));
        if let Ok(mut blocks) = self.blocks.try_lock() {
            if blocks.len() >= MAX_BLOCKS {
                blocks.clear();
            }
            blocks
                .insert(key, KeptBlock { names: names.iter().map(|n| n.to_string()).collect(), block: block.clone() });
        }
        block
    }

    fn rank(&self, rank: impl FnOnce() -> Vec<Candidate>) -> Vec<Candidate> {
        #[cfg(test)]
        self.ranked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        rank()
    }
}
