//! `[judge]` and `[evolve]`: the learning loop's judge, which scores turns, and evolver, which
//! turns failures into proposed skills; who approves them, when each runs, and the checks on them.

use serde::{Deserialize, Serialize};

/// The judge (process reward model) that scores `main` turns in the background.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct JudgeConfig {
    /// The judge's model; no model, no judging.
    pub model: Option<String>,
    /// The upstream that runs the judge (a `[[upstreams]]` name); default: the turn's own.
    pub upstream: Option<String>,
    /// Calls per turn; the majority wins, a tie is 0.
    pub votes: u32,
    pub temperature: f32,
    /// Wait this long for the user's next message (strong evidence) before judging without it.
    pub wait_for_next_secs: u64,
    /// Judge calls in flight at once.
    pub concurrency: usize,
    /// Seconds before a judge call is given up (then retried later).
    pub timeout_secs: u64,
    /// Tokens per judge answer: a sentence or two and a score (local upstreams are slow).
    pub max_tokens: u32,
    /// A judgement without a valid vote is retried after this many seconds, doubling each time.
    pub retry_secs: u64,
    /// When judging runs: as soon as a turn is due, or only in the scheduler's windows (a judge
    /// on a shared local server competes with the user).
    pub run_in: RunIn,
}

impl Default for JudgeConfig {
    fn default() -> Self {
        Self {
            model: None,
            upstream: None,
            votes: 3,
            temperature: 0.6,
            wait_for_next_secs: 300,
            concurrency: 2,
            timeout_secs: 60,
            max_tokens: 160,
            retry_secs: 10,
            run_in: RunIn::Now,
        }
    }
}

/// Who approves the evolver's candidates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    /// The user approves or rejects every candidate.
    #[default]
    Manual,
    /// Candidates whose verification replay improves on the failed answer apply at once.
    Verified,
    /// Every valid candidate applies at once.
    Auto,
}

/// The evolver: turns failures into proposed skills.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct EvolveConfig {
    /// The evolver's model; no model, no evolution.
    pub model: Option<String>,
    /// The upstream that runs it (a `[[upstreams]]` name); default: the default upstream.
    pub upstream: Option<String>,
    pub approval: Approval,
    /// Evolve as soon as a session has this many failed turns (sessions that end evolve too).
    pub failures_to_trigger: u32,
    /// Evolver, replay and comparison calls per hour, at most.
    pub max_calls_per_hour: u32,
    /// Candidates per evolution, at most.
    pub max_candidates: usize,
    /// A new skill this similar (0..1) to an existing one becomes an edit of it.
    pub similarity_threshold: f32,
    /// When evolution runs: as soon as it is triggered, or in the scheduler's windows.
    pub run_in: RunIn,
    /// Seconds before an evolver call is given up (local models write slowly).
    pub timeout_secs: u64,
    /// Tokens per evolver answer.
    pub max_tokens: u32,
    /// Existing skills shown to the evolver: the ones closest to the failures, at most this many.
    pub prompt_skills: usize,
    /// Earlier turns a candidate would have matched, replayed with it beside its failed turns
    /// before it is promoted (its validation set), at most this many.
    pub validation_turns: usize,
}

/// When deferrable learning work runs.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum RunIn {
    #[default]
    Now,
    /// Only while the user is away (an OMLS window).
    Idle,
}

impl Default for EvolveConfig {
    fn default() -> Self {
        Self {
            model: None,
            upstream: None,
            approval: Approval::Manual,
            failures_to_trigger: 2,
            max_calls_per_hour: 30,
            max_candidates: 3,
            similarity_threshold: 0.6,
            run_in: RunIn::Now,
            timeout_secs: 300,
            max_tokens: 1500,
            prompt_skills: 8,
            validation_turns: 4,
        }
    }
}

/// The first value of `[judge]` or `[evolve]` that parses but makes no sense, as (key, reason);
/// `upstream_names` are the configured upstreams either may name.
pub(super) fn problem(
    judge: &JudgeConfig,
    evolve: &EvolveConfig,
    upstream_names: &[String],
) -> Option<(&'static str, String)> {
    if !(1..=9).contains(&judge.votes) {
        return Some(("judge.votes", format!("{} is outside 1..=9", judge.votes)));
    }
    if judge.timeout_secs == 0 || evolve.timeout_secs == 0 {
        return Some(("timeout_secs", "[judge] and [evolve] timeout_secs must be at least 1".into()));
    }
    if !(16..=8192).contains(&judge.max_tokens) {
        return Some(("judge.max_tokens", format!("{} is outside 16..=8192", judge.max_tokens)));
    }
    if evolve.validation_turns > 50 {
        return Some(("evolve.validation_turns", format!("{} is more than 50", evolve.validation_turns)));
    }
    if evolve.prompt_skills > 100 {
        return Some(("evolve.prompt_skills", format!("{} is more than 100", evolve.prompt_skills)));
    }
    if !(64..=32768).contains(&evolve.max_tokens) {
        return Some(("evolve.max_tokens", format!("{} is outside 64..=32768", evolve.max_tokens)));
    }
    if !(1..=16).contains(&judge.concurrency) {
        return Some(("judge.concurrency", format!("{} is outside 1..=16", judge.concurrency)));
    }
    if let Some(u) = &judge.upstream {
        if !upstream_names.contains(u) {
            return Some(("judge.upstream", format!("no upstream is named {u:?}")));
        }
    }
    if let Some(u) = &evolve.upstream {
        if !upstream_names.contains(u) {
            return Some(("evolve.upstream", format!("no upstream is named {u:?}")));
        }
    }
    if evolve.failures_to_trigger == 0 {
        return Some(("evolve.failures_to_trigger", "must be at least 1".into()));
    }
    if !(1..=10).contains(&evolve.max_candidates) {
        return Some(("evolve.max_candidates", format!("{} is outside 1..=10", evolve.max_candidates)));
    }
    None
}
