//! Snapshots: one immutable state of the skill library (skills, their index, the generation)
//! and what a request gets from it — ranked, filtered and budgeted skills — with the reasons.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::index::{Hit, Index};
use super::inject::{render_block, Block, Injected, HEADER};
use super::memo::Memo;
use super::parse::Problem;
use super::Skill;
use crate::agent::AgentId;
use crate::config::SkillsConfig;
use crate::fields::Fields;
use crate::transcript::user_text;

/// One skill in a snapshot, with its state.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Entry {
    #[serde(flatten)]
    pub skill: Skill,
    pub enabled: bool,
    /// The SKILL.md on disk (user skills), or `builtin:<name>`.
    pub path: String,
    /// A user skill that replaces a built-in of the same name.
    pub overrides_builtin: bool,
    /// The user pinned it: the curator keeps it whatever its use, and it is never held out.
    #[serde(default)]
    pub pinned: bool,
}

/// An immutable state of the library. Requests hold one for their whole duration.
pub struct Snapshot {
    pub entries: Vec<Entry>,
    /// Positions in `entries` of the active skills, in index order.
    active: Vec<usize>,
    index: Index,
    /// Some active skill is scoped to particular agents.
    scoped: bool,
    pub generation: i64,
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
    /// The rankings this snapshot made, by query.
    memo: Memo,
}

/// Why a candidate skill was or wasn't injected.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "ExplainCandidate"))]
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
#[cfg_attr(test, derive(ts_rs::TS))]
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
    /// The block for `injected` (shared with the snapshot, which keeps it for the next request
    /// choosing the same skills).
    pub block: Arc<Block>,
}

const PART_CHARS: usize = 2000;
/// A skill scoring under this share of the best match's score is noise next to it.
pub const RELATIVE_CUTOFF: f32 = 0.7;
/// A request with this many content terms or fewer ("List three colors.", "thanks!") is short:
/// one incidental match covers much of it, so it needs a higher score (lexical retrieval only:
/// a semantic score already measures how close the meaning is).
pub const SHORT_QUERY_TERMS: usize = 2;
/// The score a short request needs, whatever `min_score` is.
pub const SHORT_QUERY_MIN_SCORE: f32 = 0.35;
/// The score a request of a single content term needs ("What is two plus two?").
pub const ONE_TERM_MIN_SCORE: f32 = 0.5;
/// How many earlier user messages of a conversation are replayed to find the skills it already
/// has (see [`Snapshot::select`]).
pub const STABLE_TURNS: usize = 8;
/// How well a new message must match a skill the conversation doesn't have to change its set.
pub const SWITCH_MIN_SCORE: f32 = 0.35;
/// Cosine similarity that counts as evidence on its own when semantic retrieval is on.
pub const SEMANTIC_EVIDENCE: f32 = 0.3;

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
/// System prompts, tool schemas, tool output and agent envelopes are not part of it.
pub fn query_parts(messages: &[Value]) -> Vec<(String, f32)> {
    messages
        .iter()
        .rev()
        .filter(|m| m.field("role").and_then(Value::as_str) == Some("user"))
        .map(|m| clip(&user_text(m.field("content"))))
        .filter(|t| !t.trim().is_empty())
        .take(2)
        .zip([1.0, 0.35])
        .collect()
}

/// A user message of a selection's window, newest first.
struct UserText {
    /// Its words, clipped as a query part.
    clipped: String,
    /// It counts as a turn of the window: its words are not empty (before clipping).
    end: bool,
}

/// The user messages a selection reads, newest first: the latest [`STABLE_TURNS`] + 1 with words
/// (the window's turns), and those before them until the oldest turn's query has its two parts.
/// Each message's words are read once.
fn recent_users(messages: &[Value]) -> Vec<UserText> {
    let mut out = Vec::new();
    let (mut ends, mut words_since_end) = (0, 0);
    for m in messages.iter().rev().filter(|m| m.field("role").and_then(Value::as_str) == Some("user")) {
        if ends > STABLE_TURNS && words_since_end >= 2 {
            break;
        }
        let text = user_text(m.field("content"));
        let clipped = clip(&text);
        let end = ends <= STABLE_TURNS && !text.trim().is_empty();
        if end {
            ends += 1;
            words_since_end = 0;
        }
        words_since_end += usize::from(!clipped.trim().is_empty());
        out.push(UserText { clipped, end });
    }
    out
}

/// Whether a window turn's ranking `found` replaces the conversation's set `chosen`: when the
/// set is empty, when `found`'s best match is a skill the set lacks that scores
/// [`SWITCH_MIN_SCORE`] or more, or (`found` ranked on the message's own words) when it shares no
/// skill with the set: the conversation has moved on to something its skills don't cover.
fn replaces(chosen: &[Candidate], found: &[Candidate], own_words: bool) -> bool {
    let Some(top) = found.first() else { return false };
    let lacks = |name: &str| !chosen.iter().any(|c| c.name == name);
    chosen.is_empty()
        || (top.score >= SWITCH_MIN_SCORE && lacks(&top.name))
        || (own_words && found.iter().all(|f| lacks(&f.name)))
}

impl Snapshot {
    pub(super) fn build(entries: Vec<Entry>, generation: i64, problems: Vec<Problem>, warnings: Vec<Problem>) -> Self {
        let active: Vec<usize> = entries.iter().enumerate().filter(|(_, e)| e.enabled).map(|(i, _)| i).collect();
        let skills: Vec<Skill> = active.iter().map(|&i| entries[i].skill.clone()).collect();
        let index = Index::build(&skills);
        let scoped = skills.iter().any(|s| !s.agents.is_empty());
        Self { entries, active, index, scoped, generation, problems, warnings, memo: Memo::default() }
    }

    /// A snapshot of just these skills, all enabled (for tests, benchmarks and tools).
    pub fn from_skills(skills: Vec<Skill>) -> Self {
        let entries = skills
            .into_iter()
            .map(|s| Entry {
                path: format!("memory:{}", s.name),
                skill: s,
                enabled: true,
                overrides_builtin: false,
                pinned: false,
            })
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

    /// Ranks, filters and budgets candidates for weighted query parts; with an `agent`, only the
    /// skills it may see (shared ones and its own) are candidates.
    fn candidates(
        &self,
        parts: &[(String, f32)],
        cfg: &SkillsConfig,
        semantic: Option<Semantic>,
        agent: Option<&AgentId>,
    ) -> Vec<Candidate> {
        let refs: Vec<(&str, f32)> = parts.iter().map(|(t, w)| (t.as_str(), *w)).collect();
        let limit = (cfg.top_k * 4).max(12);
        // Other agents' skills must not crowd the visible ones out of the first `limit`.
        let agent = agent.filter(|_| self.scoped);
        let all = semantic.is_some() || agent.is_some();
        let mut hits = self.index.search(&refs, if all { self.active.len() } else { limit });
        if let Some(a) = agent {
            hits.retain(|h| self.skill_of(h).serves(a));
            hits.truncate(limit);
        }
        let mut similarity: HashMap<usize, f32> = HashMap::new();
        if let Some(sem) = semantic {
            // Combined score: (1 - w) * lexical + w * cosine, over every skill with a vector.
            let mut lexical: HashMap<usize, (f32, Vec<String>, bool)> =
                hits.drain(..).map(|h| (h.idx, (h.score, h.terms, h.distinctive))).collect();
            for (ai, &ei) in self.active.iter().enumerate() {
                if agent.is_some_and(|a| !self.entries[ei].skill.serves(a)) {
                    continue;
                }
                let lex = lexical.remove(&ai);
                let cos =
                    sem.vectors.get(&self.entries[ei].skill.hash).map(|v| super::embed::dot(sem.query, v).max(0.0));
                let (l, terms, distinctive) = lex.unwrap_or_default();
                let score = match cos {
                    Some(c) => {
                        similarity.insert(ai, c);
                        (1.0 - sem.weight) * l + sem.weight * c
                    }
                    None => l,
                };
                let distinctive = distinctive || cos.is_some_and(|c| c >= SEMANTIC_EVIDENCE);
                if score > 0.0 {
                    hits.push(Hit { idx: ai, score, terms, distinctive });
                }
            }
            hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.idx.cmp(&b.idx)));
            hits.truncate(limit);
        }
        let mut out: Vec<Candidate> = Vec::with_capacity(hits.len());
        let mut taken = 0;
        let mut tokens = HEADER.len().div_ceil(4);
        let best = hits.first().map(|h| h.score).unwrap_or(0.0);
        let content = parts.first().map_or(0, |(t, _)| self.index.content_terms(t));
        let short = content <= SHORT_QUERY_TERMS && semantic.is_none();
        let floor = match content {
            0 | 1 if short => cfg.min_score.max(ONE_TERM_MIN_SCORE),
            _ if short => cfg.min_score.max(SHORT_QUERY_MIN_SCORE),
            _ => cfg.min_score,
        };
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
            if !h.distinctive {
                c.dropped = Some("no distinctive term".into());
            } else if h.score < floor {
                c.dropped = Some(
                    if short && h.score >= cfg.min_score {
                        "below the bar for a short request"
                    } else {
                        "below min_score"
                    }
                    .into(),
                );
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

    /// The skills for a request's messages (hot path: no I/O, never waits on a lock; rankings
    /// made before are remembered in the snapshot's memo).
    ///
    /// Within a conversation the set stays the same from turn to turn (so the upstream's prefix
    /// cache keeps working, and a "thanks!" doesn't drop them), unless the latest message clearly
    /// matches a skill the conversation doesn't have. The set earlier turns got is found again by
    /// replaying up to [`STABLE_TURNS`] earlier user messages against this snapshot (lexically),
    /// so no per-session state is kept and a restart changes nothing.
    pub fn select(&self, messages: &[Value], cfg: &SkillsConfig, semantic: Option<Semantic>) -> Selection {
        self.select_for(messages, cfg, semantic, None)
    }

    /// [`Self::select`] for one agent: only shared skills and the agent's own are candidates.
    pub fn select_for(
        &self,
        messages: &[Value],
        cfg: &SkillsConfig,
        semantic: Option<Semantic>,
        agent: Option<&AgentId>,
    ) -> Selection {
        if self.active.is_empty() {
            return Selection::default();
        }
        let users = recent_users(messages);
        let Some(latest) = users.iter().position(|u| u.end) else { return Selection::default() };
        // Only the agent's own skills are set apart: without scoped skills every agent ranks alike.
        let scoped_agent = agent.filter(|_| self.scoped);
        let mut chosen: Vec<Candidate> = Vec::new();
        for (n, _) in users.iter().enumerate().rev().filter(|(_, u)| u.end) {
            let now = n == latest;
            // The latest two non-empty texts at or before this message, as `query_parts` gives them.
            let parts: Vec<(String, f32)> = users[n..]
                .iter()
                .filter(|u| !u.clipped.trim().is_empty())
                .take(2)
                .zip([1.0, 0.35])
                .map(|(u, w)| (u.clipped.clone(), w))
                .collect();
            let semantic = if now { semantic } else { None };
            let ranked = |parts: &[(String, f32)]| -> Vec<Candidate> {
                let rank = || self.candidates(parts, cfg, semantic, agent).into_iter().filter(|c| c.injected).collect();
                // A semantic ranking depends on the request's vector too: made afresh each time.
                match semantic {
                    None => self.memo.get_or_rank(parts, scoped_agent, cfg, rank),
                    Some(_) => rank(),
                }
            };
            let found = ranked(&parts);
            if replaces(&chosen, &found, parts.len() == 1) {
                chosen = found;
            } else if parts.len() > 1 {
                // The previous message weighs in the query and keeps the skills it brought on
                // top: whether this message asks for something new is also judged on its own
                // words, so a skill learned mid-conversation reaches the conversation's next turns.
                let alone = ranked(&parts[..1]);
                if replaces(&chosen, &alone, true) {
                    chosen = alone;
                }
            }
        }
        if chosen.is_empty() {
            return Selection::default();
        }
        let names: Vec<&str> = chosen.iter().map(|c| c.name.as_str()).collect();
        Selection {
            block: self.block_for(&names),
            injected: chosen
                .into_iter()
                .map(|c| Injected { name: c.name, score: c.score, terms: c.terms, similarity: c.similarity })
                .collect(),
        }
    }

    /// The skills block for the skills named `names`, in this order (rendered once per snapshot
    /// and set of skills; names it doesn't know are left out).
    pub fn block_for(&self, names: &[&str]) -> Arc<Block> {
        self.memo.block(names, || {
            let skills: Vec<&Skill> = names.iter().filter_map(|n| self.get(n).map(|e| &e.skill)).collect();
            render_block(&skills)
        })
    }

    /// What `query` (as the latest user message) would get, and why.
    pub fn explain(&self, query: &str, cfg: &SkillsConfig, semantic: Option<Semantic>) -> Explanation {
        let parts = vec![(clip(query), 1.0)];
        let candidates = self.candidates(&parts, cfg, semantic, None);
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::skills::Origin;

    fn skill(name: &str, description: &str, agents: &[&str]) -> Skill {
        let agents = agents.iter().map(|a| AgentId::parse(a).unwrap()).collect();
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
        .with_agents(agents)
    }

    fn names(snap: &Snapshot, text: &str, agent: Option<&str>) -> Vec<String> {
        let agent = agent.map(|a| AgentId::parse(a).unwrap());
        let messages = [json!({"role": "user", "content": text})];
        let sel = snap.select_for(&messages, &SkillsConfig::default(), None, agent.as_ref());
        sel.injected.into_iter().map(|i| i.name).collect()
    }

    #[test]
    fn an_agent_sees_shared_skills_and_its_own_only() {
        let snap = Snapshot::from_skills(vec![
            skill("codex-timestamps", "Use whenever writing timestamps: ISO 8601 with the offset.", &["codex"]),
            skill("cat-facts", "Use when asked about cats and their sleeping habits.", &[]),
        ]);
        let ask = "write the timestamps in ISO 8601 with the offset";
        assert_eq!(names(&snap, ask, Some("codex")), ["codex-timestamps"]);
        assert!(names(&snap, ask, Some("claude-code")).is_empty());
        assert!(names(&snap, ask, Some("unknown")).is_empty());
        assert_eq!(names(&snap, ask, None), ["codex-timestamps"], "no agent filter: every skill");
        assert_eq!(names(&snap, "how long do cats sleep", Some("claude-code")), ["cat-facts"]);
    }

    #[test]
    fn other_agents_skills_do_not_crowd_out_an_agents_own() {
        // Many skills of another agent match better than the one this agent may see.
        let mut skills: Vec<Skill> = (0..40)
            .map(|i| {
                skill(&format!("deploy-{i}"), "Use when deploying kubernetes clusters with helm charts.", &["codex"])
            })
            .collect();
        skills.extend((0..200).map(|i| skill(&format!("filler-{i}"), &format!("Use for topic{i} questions."), &[])));
        skills.push(skill("argocd-sync", "Use when an argocd application will not sync.", &[]));
        let snap = Snapshot::from_skills(skills);
        let ask = "deploying kubernetes clusters with helm charts, argocd";
        assert!(!names(&snap, ask, None).contains(&"argocd-sync".to_string()), "crowded out without a filter");
        assert_eq!(names(&snap, ask, Some("openclaw")), ["argocd-sync"]);
    }

    /// The selection as it was made before rankings were remembered: every window turn's query
    /// rebuilt from the whole conversation and ranked afresh.
    fn replayed(snap: &Snapshot, messages: &[Value], cfg: &SkillsConfig, agent: Option<&AgentId>) -> Vec<String> {
        let users: Vec<usize> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.get("role").and_then(Value::as_str) == Some("user"))
            .filter(|(_, m)| !user_text(m.get("content")).trim().is_empty())
            .map(|(i, _)| i)
            .collect();
        let mut chosen: Vec<Candidate> = Vec::new();
        for &end in &users[users.len().saturating_sub(STABLE_TURNS + 1)..] {
            let parts = query_parts(&messages[..=end]);
            let rank = |parts: &[(String, f32)]| -> Vec<Candidate> {
                snap.candidates(parts, cfg, None, agent).into_iter().filter(|c| c.injected).collect()
            };
            let found = rank(&parts);
            if replaces(&chosen, &found, parts.len() == 1) {
                chosen = found;
            } else if parts.len() > 1 {
                let alone = rank(&parts[..1]);
                if replaces(&chosen, &alone, true) {
                    chosen = alone;
                }
            }
        }
        chosen.into_iter().map(|c| c.name).collect()
    }

    fn conversation(users: &[&str]) -> Vec<Value> {
        let mut out = vec![json!({"role": "system", "content": "You are an agent."})];
        for u in users {
            out.push(json!({"role": "user", "content": u}));
            out.push(json!({"role": "assistant", "content": "ok"}));
        }
        out.pop();
        out
    }

    #[test]
    fn a_resent_conversation_gets_the_same_skills_and_is_ranked_only_for_its_new_message() {
        let snap = Snapshot::from_skills(crate::skills::builtin());
        let cfg = SkillsConfig::default();
        let asks = [
            "the checkout page got really slow after the deploy, can you profile it?",
            "thanks! now write a regex that matches ISO dates",
            "   ",
            "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>\nsessions\n<<<END_OPENCLAW_INTERNAL_CONTEXT>>>",
            "review this pull request for security problems",
            "the tests are flaky on CI, find out why",
            "ok",
            "write a commit message for these changes",
            "how do I profile memory in rust",
            "debug this segfault in the parser",
            "and now deploy it",
            "what was the first thing I asked?",
        ];
        let mut before = 0;
        for n in 1..=asks.len() {
            let messages = conversation(&asks[..n]);
            let first = snap.select(&messages, &cfg, None);
            let names: Vec<String> = first.injected.iter().map(|i| i.name.clone()).collect();
            assert_eq!(names, replayed(&snap, &messages, &cfg, None), "turn {n}");
            let ranked = snap.memo.ranked.load(std::sync::atomic::Ordering::Relaxed);
            // Each turn ranks at most its own new query (and its new message alone, when that
            // query kept the conversation's set); resending it ranks nothing.
            assert!(ranked - before <= 2, "turn {n} ranked {} queries", ranked - before);
            let again = snap.select(&messages, &cfg, None);
            assert_eq!(snap.memo.ranked.load(std::sync::atomic::Ordering::Relaxed), ranked, "turn {n} resent");
            assert_eq!((&again.block, again.injected.len()), (&first.block, first.injected.len()));
            // The block, and so its escaped form, is the one made for the first request.
            assert!(Arc::ptr_eq(&again.block, &first.block), "turn {n}: block made again");
            before = ranked;
        }
        // A long pasted message keeps the same clipped query.
        let long = format!("{} profile the slow checkout {}", " ".repeat(2500), "x ".repeat(2000));
        let messages = conversation(&[asks[0], &long, "   "]);
        assert_eq!(
            snap.select(&messages, &cfg, None).injected.into_iter().map(|i| i.name).collect::<Vec<_>>(),
            replayed(&snap, &messages, &cfg, None)
        );
    }

    #[test]
    fn a_skill_a_later_message_asks_for_joins_the_conversation_though_the_earlier_message_weighs_in() {
        let snap = Snapshot::from_skills(vec![
            skill("k8s-rollout", "Use when rolling out a kubernetes deployment to the production cluster.", &[]),
            skill("iso-timestamps", "Use whenever writing timestamps in ISO 8601 with the UTC offset.", &[]),
        ]);
        let cfg = SkillsConfig::default();
        let asks = [
            "roll out the new kubernetes deployment to the production cluster, then watch the pods, the \
             ingress, the load balancer's health probes, the autoscaler's limits and the error budget",
            "good. from now on write every timestamp as ISO 8601 with its UTC offset",
        ];
        let names = |m: &[Value]| snap.select(m, &cfg, None).injected.into_iter().map(|i| i.name).collect::<Vec<_>>();
        assert_eq!(names(&conversation(&asks[..1])), ["k8s-rollout"]);
        // With the earlier message in its query, the new skill is not a clear enough match to
        // change the conversation's set; on its own words it is.
        let messages = conversation(&asks);
        let blended = snap.candidates(&query_parts(&messages), &cfg, None, None);
        let top = blended.iter().find(|c| c.name == "iso-timestamps").map_or(0.0, |c| c.score);
        assert!(top < SWITCH_MIN_SCORE, "blended score {top}: the case this guards is gone");
        assert_eq!(names(&messages), ["iso-timestamps"]);
        assert_eq!(names(&messages), replayed(&snap, &messages, &cfg, None));
        // A message that asks for nothing new keeps the set it has.
        let thanks = conversation(&[asks[0], asks[1], "thanks, looks right"]);
        assert_eq!(names(&thanks), ["iso-timestamps"]);
    }

    #[test]
    fn a_conversation_that_moves_on_takes_the_new_messages_own_skills_even_below_the_switch_bar() {
        let snap = Snapshot::from_skills(vec![
            skill("sql-migrations", "Use when writing a SQL schema migration for the orders table.", &[]),
            skill("iso-timestamps", "Use whenever writing timestamps in ISO 8601 with the UTC offset.", &[]),
        ]);
        let cfg = SkillsConfig::default();
        let names = |m: &[Value]| snap.select(m, &cfg, None).injected.into_iter().map(|i| i.name).collect::<Vec<_>>();
        let later = "thanks. the old support tickets keep their created timestamps as bare times; write them \
                     with the offset";
        let alone = snap.candidates(&[(later.to_string(), 1.0)], &cfg, None, None);
        let top = alone.iter().find(|c| c.injected).map(|c| (c.name.as_str(), c.score));
        assert!(
            top.is_some_and(|(n, s)| n == "iso-timestamps" && s < SWITCH_MIN_SCORE),
            "{alone:?}: the case this guards is gone"
        );
        // The set of the first message covers nothing the later one asks: it is replaced.
        let moved_on = conversation(&["write the SQL schema migration for the orders table", later]);
        assert_eq!(names(&moved_on), ["iso-timestamps"]);
        assert_eq!(names(&moved_on), replayed(&snap, &moved_on, &cfg, None));
        // A conversation with no skills yet takes the later message's own match, though its
        // query with the earlier message (a question nothing covers) clears no bar.
        let from_none = conversation(&["what does the word quorum mean in a parliament debate, roughly", later]);
        assert_eq!(names(&from_none), ["iso-timestamps"]);
        assert_eq!(names(&from_none), replayed(&snap, &from_none, &cfg, None));
    }

    #[test]
    fn remembered_rankings_follow_the_skills_settings_and_the_agent() {
        let mut skills = vec![
            skill("codex-timestamps", "Use whenever writing timestamps: ISO 8601 with the offset.", &["codex"]),
            skill("iso-dates", "Use whenever writing timestamps: ISO 8601 with the offset.", &[]),
        ];
        skills.extend((0..6).map(|i| skill(&format!("filler-{i}"), &format!("Use for topic{i} questions."), &[])));
        let snap = Snapshot::from_skills(skills);
        let messages = conversation(&["write the timestamps in ISO 8601 with the offset"]);
        let pick = |cfg: &SkillsConfig, agent: Option<&str>| {
            let agent = agent.map(|a| AgentId::parse(a).unwrap());
            let got: Vec<String> =
                snap.select_for(&messages, cfg, None, agent.as_ref()).injected.into_iter().map(|i| i.name).collect();
            assert_eq!(got, replayed(&snap, &messages, cfg, agent.as_ref()));
            got
        };
        let cfg = SkillsConfig::default();
        let one = SkillsConfig { top_k: 1, ..SkillsConfig::default() };
        assert_eq!(pick(&cfg, Some("codex")).len(), 2);
        assert_eq!(pick(&one, Some("codex")).len(), 1, "new settings are not served the old ranking");
        assert_eq!(pick(&cfg, Some("codex")).len(), 2);
        assert_eq!(pick(&cfg, Some("claude-code")), ["iso-dates"], "another agent, another ranking");
        assert_eq!(pick(&cfg, Some("codex")).len(), 2);
    }
}
