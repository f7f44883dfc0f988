//! The dataset for policy training, and the learning signal for the user.
//!
//! Support/query separation: turns an evolution learned from are its candidate's *support*; the
//! *query* split — the only one policy training may use — is scored turns served under the
//! current library generation and never used as support.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::agent::AgentId;
use crate::store::{candidates, generations, turns, StoreError};

/// Which turns to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Split {
    Support,
    Query,
}

/// One exported turn.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Example {
    pub turn_id: i64,
    pub session_id: String,
    pub generation: i64,
    pub model: Option<String>,
    pub messages: Vec<Value>,
    pub params: Value,
    pub response_text: Option<String>,
    pub tool_calls: Value,
    pub score: Option<i64>,
    pub score_source: Option<crate::turn::ScoreSource>,
    /// For support turns: the candidates they taught.
    pub candidates: Vec<i64>,
}

/// The current skill-library generation (0 before the first).
pub fn current_generation(conn: &Connection) -> Result<i64, StoreError> {
    generations::current(conn)
}

/// Exports a split (newest first, at most `limit`).
pub fn export(conn: &Connection, split: Split, limit: u32) -> Result<Vec<Example>, StoreError> {
    let ids = match split {
        Split::Query => turns::query_split(conn, current_generation(conn)?, limit)?,
        Split::Support => candidates::support_turns(conn, limit)?,
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(t) = turns::get_turn(conn, id)? else { continue };
        let candidates = candidates::supported_by(conn, id)?;
        out.push(Example {
            turn_id: id,
            session_id: t.summary.session_id,
            generation: t.summary.generation,
            model: t.summary.model,
            messages: t.messages,
            params: t.params,
            response_text: t.response_text,
            tool_calls: serde_json::to_value(&t.tool_calls).unwrap_or(Value::Null),
            score: t.summary.score,
            score_source: t.summary.score_source,
            candidates,
        });
    }
    Ok(out)
}

/// How the agent did under one library generation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct GenerationSignal {
    pub generation: i64,
    pub reason: String,
    pub created_at: i64,
    pub turns: i64,
    pub scored: i64,
    pub mean_score: Option<f64>,
    /// Share of scored turns that failed (-1).
    pub failure_rate: Option<f64>,
    /// Skills injected into turns that succeeded / failed, with counts.
    pub skills_in_success: BTreeMap<String, i64>,
    pub skills_in_failure: BTreeMap<String, i64>,
}

/// The learning signal for the most recent `limit` generations, newest first.
pub fn learning(conn: &Connection, limit: u32, agent: Option<&AgentId>) -> Result<Vec<GenerationSignal>, StoreError> {
    let mut out = Vec::new();
    for g in generations::list(conn, limit)? {
        let (generation, reason, created_at) = (g.id, g.reason, g.created_at);
        let rows = turns::outcomes_under(conn, generation, agent)?;
        let mut s = GenerationSignal {
            generation,
            reason,
            created_at,
            turns: rows.len() as i64,
            scored: 0,
            mean_score: None,
            failure_rate: None,
            skills_in_success: BTreeMap::new(),
            skills_in_failure: BTreeMap::new(),
        };
        let (mut sum, mut failed) = (0i64, 0i64);
        for (skills, score) in rows {
            let Some(score) = score else { continue };
            s.scored += 1;
            sum += score;
            let names: Vec<String> = serde_json::from_str::<Vec<Value>>(&skills)
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v["name"].as_str().map(str::to_string))
                .collect();
            let bucket = if score > 0 {
                &mut s.skills_in_success
            } else if score < 0 {
                failed += 1;
                &mut s.skills_in_failure
            } else {
                continue;
            };
            for n in names {
                *bucket.entry(n).or_default() += 1;
            }
        }
        if s.scored > 0 {
            s.mean_score = Some(sum as f64 / s.scored as f64);
            s.failure_rate = Some(failed as f64 / s.scored as f64);
        }
        out.push(s);
    }
    Ok(out)
}

/// How a skill changed between two generations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum ChangeKind {
    Added,
    Removed,
    Modified,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Modified => "modified",
        }
    }
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One skill's change between two generations.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SkillChange {
    pub name: String,
    pub change: ChangeKind,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What differs between generations `a` and `b` (`None` if either is unknown).
pub fn diff(conn: &Connection, a: i64, b: i64) -> Result<Option<Vec<SkillChange>>, StoreError> {
    let active = |g: i64| -> Result<Option<BTreeMap<String, String>>, StoreError> {
        Ok(generations::active(conn, g)?.map(|s| serde_json::from_str(&s).unwrap_or_default()))
    };
    let (Some(x), Some(y)) = (active(a)?, active(b)?) else { return Ok(None) };
    let text = |h: &str| -> Option<String> { generations::version(conn, h).ok().flatten() };
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
    for n in names {
        let (before, after) = (x.get(n), y.get(n));
        let change = match (before, after) {
            (None, Some(_)) => ChangeKind::Added,
            (Some(_), None) => ChangeKind::Removed,
            (Some(p), Some(q)) if p != q => ChangeKind::Modified,
            _ => continue,
        };
        out.push(SkillChange {
            name: n.clone(),
            change,
            before: before.and_then(|h| text(h)),
            after: after.and_then(|h| text(h)),
        });
    }
    Ok(Some(out))
}
