//! Per-skill statistics from the aggregate: carried and comparison rates with their intervals,
//! the uplift and its verdict, in numbers and in plain words.

use std::collections::{BTreeMap, HashMap};

use rusqlite::Connection;

use super::math::{newcombe, wilson};
use crate::agent::AgentId;
use crate::api::types::stats::{AgentUse, Rate, SkillStats, SkillStatsDay, SkillStatsDetail, Verdict};
use crate::store::effect::{self as table, Cell, DAY_MS};
use crate::store::StoreError;

/// Judged turns each side needs before a verdict other than "no evidence yet".
pub const MIN_JUDGED: u64 = 5;

/// Sums of one side (carried, or comparison).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub turns: u64,
    pub judged: u64,
    pub wins: u64,
    pub losses: u64,
}

impl Counts {
    fn add(&mut self, turns: i64, judged: i64, wins: i64, losses: i64) {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        self.turns += n(turns);
        self.judged += n(judged);
        self.wins += n(wins);
        self.losses += n(losses);
    }

    /// With its win rate and Wilson interval.
    pub fn rate(self) -> Rate {
        let w = wilson(self.wins, self.judged);
        Rate {
            turns: self.turns,
            judged: self.judged,
            wins: self.wins,
            losses: self.losses,
            rate: w.map(|w| w.0),
            low: w.map(|w| w.1),
            high: w.map(|w| w.2),
        }
    }
}

/// Whether a state counts for the turns that carried the skill (`Some(true)`), for the
/// comparison (`Some(false)`), or for neither.
fn side(state: &str) -> Option<bool> {
    match state {
        "injected" => Some(true),
        "held_out" | "budget" | "disabled" | "absent" => Some(false),
        _ => None,
    }
}

/// A percentage in points, signed.
fn points(v: f64) -> String {
    format!("{:+.0}", v * 100.0)
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!(" ({:.0}%)", v * 100.0))
}

/// One skill's statistics from its carried and comparison counts.
pub fn skill_stats(
    name: String,
    carried: Counts,
    comparison: Counts,
    held_out: u64,
    by_agent: Vec<AgentUse>,
    last_injected: Option<i64>,
) -> SkillStats {
    let diff = newcombe(carried.wins, carried.judged, comparison.wins, comparison.judged);
    let enough = carried.judged >= MIN_JUDGED && comparison.judged >= MIN_JUDGED;
    let verdict = match diff {
        Some((_, low, _)) if enough && low > 0.0 => Verdict::Helps,
        Some((_, _, high)) if enough && high < 0.0 => Verdict::Hurts,
        _ => Verdict::NoEvidence,
    };
    let (carried, comparison) = (carried.rate(), comparison.rate());
    let lead = match verdict {
        Verdict::Helps => "helps",
        Verdict::Hurts => "hurts",
        Verdict::NoEvidence => "no evidence yet",
    };
    let with = if carried.judged == 0 {
        format!("{} turns carried it, none judged yet", carried.turns)
    } else {
        format!("{} of {} judged turns with it went well{}", carried.wins, carried.judged, percent(carried.rate))
    };
    let without = if comparison.judged == 0 {
        "no judged comparable turns without it".to_string()
    } else {
        format!("{} of {} without{}", comparison.wins, comparison.judged, percent(comparison.rate))
    };
    let mut summary = format!("{lead}: {with} against {without}");
    if let Some((d, low, high)) = diff {
        summary.push_str(&format!("; uplift {} points ({} to {})", points(d), points(low), points(high)));
    }
    if !enough {
        summary.push_str(&format!("; a verdict needs {MIN_JUDGED} judged turns with it and {MIN_JUDGED} without"));
    }
    SkillStats {
        name,
        injected: carried.turns,
        held_out,
        by_agent,
        carried,
        comparison,
        uplift: diff.map(|d| d.0),
        uplift_low: diff.map(|d| d.1),
        uplift_high: diff.map(|d| d.2),
        verdict,
        last_injected,
        summary,
    }
}

/// One skill's sums while the aggregate is read.
#[derive(Default)]
struct Acc {
    carried: Counts,
    comparison: Counts,
    held_out: u64,
    /// Turns that carried it, per agent.
    agents: Vec<(String, u64)>,
}

impl Acc {
    fn add(&mut self, cell: &Cell<'_>) {
        let Some(carried) = side(cell.state) else { return };
        if carried {
            self.carried.add(cell.turns, cell.judged, cell.wins, cell.losses);
            let n = u64::try_from(cell.turns).unwrap_or(0);
            match self.agents.iter_mut().find(|(a, _)| a == cell.agent) {
                Some(a) => a.1 += n,
                None => self.agents.push((cell.agent.to_string(), n)),
            }
        } else {
            self.comparison.add(cell.turns, cell.judged, cell.wins, cell.losses);
        }
        if cell.state == "held_out" {
            self.held_out += u64::try_from(cell.turns).unwrap_or(0);
        }
    }

    fn stats(self, name: String, last_injected: Option<i64>) -> SkillStats {
        let mut by_agent: Vec<AgentUse> = self
            .agents
            .into_iter()
            .filter_map(|(a, n)| Some(AgentUse { agent: AgentId::parse(&a).ok()?, injected: n }))
            .collect();
        by_agent.sort_by(|a, b| b.injected.cmp(&a.injected).then_with(|| a.agent.cmp(&b.agent)));
        skill_stats(name, self.carried, self.comparison, self.held_out, by_agent, last_injected)
    }
}

/// Every skill with exposure (of `agent`'s turns, if given), by name: one pass over the
/// aggregate, then each skill's latest carrying turn from the index.
pub fn list(c: &Connection, agent: Option<&AgentId>) -> Result<Vec<SkillStats>, StoreError> {
    let agent = agent.map(AgentId::as_str);
    let mut by: HashMap<String, Acc> = HashMap::new();
    table::scan(c, None, agent, |cell| {
        if side(cell.state).is_none() {
            return;
        }
        match by.get_mut(cell.skill) {
            Some(acc) => acc.add(&cell),
            None => by.entry(cell.skill.to_string()).or_default().add(&cell),
        }
    })?;
    let mut out = Vec::with_capacity(by.len());
    for (name, acc) in by {
        let last = if acc.carried.turns > 0 { table::last_injected(c, &name, agent)? } else { None };
        out.push(acc.stats(name, last));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// One skill's statistics and its per-day series (`None` when no turn ever matched it).
pub fn detail(c: &Connection, name: &str, agent: Option<&AgentId>) -> Result<Option<SkillStatsDetail>, StoreError> {
    let agent = agent.map(AgentId::as_str);
    let mut acc = Acc::default();
    let mut days: BTreeMap<i64, (Counts, Counts)> = BTreeMap::new();
    let mut any = false;
    table::scan(c, Some(name), agent, |cell| {
        let Some(carried) = side(cell.state) else { return };
        any = true;
        acc.add(&cell);
        let d = days.entry(cell.day).or_default();
        let side = if carried { &mut d.0 } else { &mut d.1 };
        side.add(cell.turns, cell.judged, cell.wins, cell.losses);
    })?;
    if !any {
        return Ok(None);
    }
    let last = table::last_injected(c, name, agent)?;
    Ok(Some(SkillStatsDetail {
        stats: acc.stats(name.to_string(), last),
        days: days
            .into_iter()
            .map(|(day, (a, b))| SkillStatsDay { day: day * DAY_MS, carried: a.rate(), comparison: b.rate() })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(judged: u64, wins: u64) -> Counts {
        Counts { turns: judged, judged, wins, losses: judged - wins }
    }

    #[test]
    fn the_verdict_follows_the_uplift_interval_and_needs_five_judged_turns_a_side() {
        let s = skill_stats("a".into(), counts(20, 18), counts(20, 9), 3, vec![], None);
        assert_eq!(s.verdict, Verdict::Helps);
        assert_eq!(
            s.summary,
            "helps: 18 of 20 judged turns with it went well (90%) against 9 of 20 without (45%); \
             uplift +45 points (+16 to +65)"
        );
        assert_eq!(skill_stats("a".into(), counts(20, 9), counts(20, 18), 0, vec![], None).verdict, Verdict::Hurts);
        assert_eq!(
            skill_stats("a".into(), counts(20, 10), counts(20, 11), 0, vec![], None).verdict,
            Verdict::NoEvidence
        );
        // Four judged turns without it: never a verdict, however large the difference.
        let few = skill_stats("a".into(), counts(40, 40), counts(4, 0), 0, vec![], None);
        assert_eq!(few.verdict, Verdict::NoEvidence);
        assert!(few.summary.starts_with("no evidence yet: 40 of 40"), "{}", few.summary);
        let none =
            skill_stats("a".into(), Counts { turns: 3, ..Counts::default() }, Counts::default(), 0, vec![], None);
        assert_eq!((none.verdict, none.uplift), (Verdict::NoEvidence, None));
        assert_eq!(
            none.summary,
            "no evidence yet: 3 turns carried it, none judged yet against no judged comparable turns without it; \
             a verdict needs 5 judged turns with it and 5 without"
        );
    }
}
