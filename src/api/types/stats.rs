//! The `stats` resource: per-skill effectiveness — how often each skill was carried, how judged
//! turns with it went against comparable turns without it, and a verdict with its uncertainty
//! (`GET /api/skills-stats`, `GET /api/skills/{name}/stats`).

use serde::{Deserialize, Serialize};

use crate::agent::AgentId;

/// Whether a skill makes judged turns go better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The uplift's 95% interval is above zero.
    Helps,
    /// Too few judged turns on either side, or an interval that includes zero.
    NoEvidence,
    /// The uplift's 95% interval is below zero.
    Hurts,
}

impl Verdict {
    /// The verdict's wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Helps => "helps",
            Self::NoEvidence => "no_evidence",
            Self::Hurts => "hurts",
        }
    }
}

/// Judged outcomes of a set of turns: how many, how many were judged, won (score > 0) and lost
/// (score < 0); `rate` = wins / judged with its Wilson 95% interval (`None` with no judged turn).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Rate {
    pub turns: u64,
    pub judged: u64,
    pub wins: u64,
    pub losses: u64,
    pub rate: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// How many turns of one agent carried a skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AgentUse {
    pub agent: AgentId,
    pub injected: u64,
}

/// One skill's effectiveness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SkillStats {
    pub name: String,
    /// Turns that carried it.
    pub injected: u64,
    /// Matching turns it was withheld from for comparison.
    pub held_out: u64,
    /// Turns that carried it, per agent (most first).
    pub by_agent: Vec<AgentUse>,
    /// Turns that carried it.
    pub carried: Rate,
    /// Turns it would have matched but did not carry (held out, over the budget, disabled, not
    /// yet written).
    pub comparison: Rate,
    /// carried.rate − comparison.rate, with its Newcombe 95% interval.
    pub uplift: Option<f64>,
    pub uplift_low: Option<f64>,
    pub uplift_high: Option<f64>,
    pub verdict: Verdict,
    /// When a turn last carried it (ms since the epoch).
    pub last_injected: Option<i64>,
    /// The verdict and its numbers in plain words.
    pub summary: String,
}

/// Query of `GET /api/skills-stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StatsQuery {
    /// Only this agent's turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub agent: Option<AgentId>,
}

/// `GET /api/skills-stats`: every skill with exposure, and how long computing took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SkillStatsList {
    pub skills: Vec<SkillStats>,
    pub computed_ms: f64,
}

/// One UTC day of a skill's outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SkillStatsDay {
    /// ms since the epoch at 00:00 UTC.
    pub day: i64,
    pub carried: Rate,
    pub comparison: Rate,
}

/// `GET /api/skills/{name}/stats`: the skill's statistics and its per-day series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SkillStatsDetail {
    #[serde(flatten)]
    pub stats: SkillStats,
    /// Oldest first.
    pub days: Vec<SkillStatsDay>,
}

#[cfg(test)]
pub(crate) fn typescript(f: &mut super::ts::File) {
    f.add::<Verdict>();
    f.add::<Rate>();
    f.add::<AgentUse>();
    f.add::<SkillStats>();
    f.add::<StatsQuery>();
    f.add::<SkillStatsList>();
    f.add::<SkillStatsDay>();
    f.add::<SkillStatsDetail>();
}
