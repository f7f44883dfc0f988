//! `[curator]`: the job that keeps the skill library lean: it archives skills unused for a long
//! time, proposes switching off skills whose turns went worse with them, and asks the evolver to
//! merge near-duplicates (proposals go to Review). Applied live.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct CuratorConfig {
    /// Run the curator in the scheduler's windows (at most once a day). `metaclaw curate` works
    /// either way.
    pub enabled: bool,
    /// A skill no turn carried for this many days (and active at least that long) is archived.
    /// Pinned and built-in skills never are.
    pub unused_days: u32,
    /// Also archive skills you wrote or imported (by default only evolved skills are).
    pub include_hand_written: bool,
    /// Skills at least this similar (0..=1, word overlap of name, description and text) are
    /// proposed for merging into one.
    pub merge_similarity: f64,
}

impl Default for CuratorConfig {
    fn default() -> Self {
        Self { enabled: true, unused_days: 60, include_hand_written: false, merge_similarity: 0.6 }
    }
}

impl CuratorConfig {
    /// What is wrong with it, as `(key, problem)`.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if self.unused_days == 0 || self.unused_days > 36_500 {
            return Some(("curator.unused_days", format!("{} is outside 1..=36500", self.unused_days)));
        }
        if !(self.merge_similarity > 0.0 && self.merge_similarity <= 1.0) {
            return Some(("curator.merge_similarity", format!("{} is outside (0, 1]", self.merge_similarity)));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_out_of_range_values_name_their_key() {
        assert_eq!(CuratorConfig::default().problem(), None);
        let days = CuratorConfig { unused_days: 0, ..Default::default() };
        assert_eq!(days.problem().map(|p| p.0), Some("curator.unused_days"));
        for s in [0.0, 1.5, f64::NAN] {
            let sim = CuratorConfig { merge_similarity: s, ..Default::default() };
            assert_eq!(sim.problem().map(|p| p.0), Some("curator.merge_similarity"), "{s}");
        }
        let toml: crate::config::Config =
            toml::from_str("[curator]\nunused_days = 30\ninclude_hand_written = true\n").unwrap();
        assert_eq!((toml.curator.unused_days, toml.curator.include_hand_written), (30, true));
        assert!(toml::from_str::<crate::config::Config>("[curator]\nunused = 3\n").is_err(), "unknown keys refused");
    }
}
