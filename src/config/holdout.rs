//! `[skills.holdout]`: withholding a new or edited skill from a small share of its first matching
//! turns, so its effect can be measured against comparable turns without it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct HoldoutConfig {
    /// Withhold new and edited skills (user-written or evolved; never built-in, pinned or
    /// `critical: true` ones) from some of their first matching turns.
    pub enabled: bool,
    /// Share of the matching turns withheld, 0..=1 (decided per conversation, so a conversation
    /// keeps a stable set of skills).
    pub share: f64,
    /// Only a version's first this many matching turns are considered.
    pub first: u32,
}

impl Default for HoldoutConfig {
    fn default() -> Self {
        Self { enabled: true, share: 0.10, first: 100 }
    }
}

impl HoldoutConfig {
    /// What is wrong with it, as `(key, problem)`.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if !(0.0..=1.0).contains(&self.share) {
            return Some(("skills.holdout.share", format!("{} is outside 0..=1", self.share)));
        }
        if self.first > 1_000_000 {
            return Some(("skills.holdout.first", format!("{} is over 1000000", self.first)));
        }
        None
    }
}
