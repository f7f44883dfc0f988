//! Per-skill effectiveness tables: which skills each `main` turn carried or would have matched
//! (`skill_exposure`), their per-day aggregate with the judged outcome (`skill_stats`, kept up to
//! date as exposure is written and as turns are scored or re-scored) and the holdout counters
//! (`skill_holdout`). The only module that names these tables.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

/// A UTC day is this many ms.
pub const DAY_MS: i64 = 86_400_000;

/// The `meta` key of the last turn id whose exposure was written.
const CURSOR: &str = "effect_cursor";
/// The `meta` key of the last library generation whose new skills were scanned back for.
const SCANNED: &str = "effect_scanned_generation";

/// Why a skill a turn carried or would have matched was, or was not, in its prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExposureState {
    /// The turn carried it.
    Injected,
    /// Withheld for comparison (holdout).
    HeldOut,
    /// Matched but dropped by top_k, the token budget or the relative cutoff.
    Budget,
    /// Matched but switched off at the turn's generation.
    Disabled,
    /// Matched but did not exist yet at the turn's generation.
    Absent,
}

impl ExposureState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Injected => "injected",
            Self::HeldOut => "held_out",
            Self::Budget => "budget",
            Self::Disabled => "disabled",
            Self::Absent => "absent",
        }
    }
}

crate::turn::text_enum! {
    ExposureState: Injected, HeldOut, Budget, Disabled, Absent;
}

/// One `skill_exposure` row to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    pub turn_id: i64,
    pub skill: String,
    pub hash: Option<String>,
    pub state: ExposureState,
    /// The retrieval score.
    pub score: f32,
    pub agent: String,
    /// When the turn started (ms).
    pub at: i64,
}

/// One `skill_stats` sum: a skill's turns in one state (summed over the rows asked for).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatRow {
    pub skill: String,
    pub state: String,
    pub turns: i64,
    pub judged: i64,
    pub wins: i64,
    pub losses: i64,
}

/// One day of a skill in one state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayRow {
    /// UTC day number (ms / [`DAY_MS`]).
    pub day: i64,
    pub state: String,
    pub turns: i64,
    pub judged: i64,
    pub wins: i64,
    pub losses: i64,
}

/// A holdout counter: one skill version's matches and how many were withheld.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutRow {
    pub skill: String,
    pub hash: String,
    pub matches: i64,
    pub held_out: i64,
    pub since: i64,
}

fn outcome(score: Option<i64>) -> (i64, i64, i64) {
    match score {
        None => (0, 0, 0),
        Some(s) => (1, i64::from(s > 0), i64::from(s < 0)),
    }
}

/// The turn's current score, if it has one.
fn score_of(c: &Connection, turn_id: i64) -> Result<Option<i64>, StoreError> {
    Ok(c.prepare_cached("SELECT score FROM turn_scores WHERE turn_id = ?1")?
        .query_row([turn_id], |r| r.get(0))
        .optional()?)
}

/// Writes exposure rows (a row already there for the same turn and skill is kept) and adds each
/// new one to `skill_stats` with its turn's score as it is now. Returns the rows written.
///
/// A batch's new rows are summed per skill, agent, day and state first: a pass over hundreds
/// of turns is a handful of `skill_stats` updates, not one per row.
pub fn insert(c: &Connection, rows: &[Exposure]) -> Result<usize, StoreError> {
    let mut ins = c.prepare_cached(
        "INSERT OR IGNORE INTO skill_exposure(turn_id, skill, hash, state, score, agent, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut sums: HashMap<(&str, &str, i64, ExposureState), [i64; 4]> = HashMap::new();
    let mut written = 0;
    let mut scored: Option<(i64, Option<i64>)> = None;
    for e in rows {
        if ins.execute(params![e.turn_id, e.skill, e.hash, e.state, f64::from(e.score), e.agent, e.at])? == 0 {
            continue;
        }
        written += 1;
        let score = match scored {
            Some((id, s)) if id == e.turn_id => s,
            _ => {
                let s = score_of(c, e.turn_id)?;
                scored = Some((e.turn_id, s));
                s
            }
        };
        let (judged, wins, losses) = outcome(score);
        let sum = sums.entry((&e.skill, &e.agent, e.at.div_euclid(DAY_MS), e.state)).or_default();
        for (s, n) in sum.iter_mut().zip([1, judged, wins, losses]) {
            *s += n;
        }
    }
    let mut add = c.prepare_cached(
        "INSERT INTO skill_stats(skill, agent, day, state, turns, judged, wins, losses) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(skill, agent, day, state) DO UPDATE SET turns = turns + excluded.turns,
            judged = judged + excluded.judged, wins = wins + excluded.wins, losses = losses + excluded.losses",
    )?;
    for ((skill, agent, day, state), [turns, judged, wins, losses]) in sums {
        add.execute(params![skill, agent, day, state, turns, judged, wins, losses])?;
    }
    Ok(written)
}

/// Moves turn `turn_id`'s exposure in `skill_stats` from its `old` score to its `new` one (a
/// first score, or the user's over the judge's): counted once, whatever the number of re-scores.
/// Call it in the transaction that changes the score.
pub fn rescore(c: &Connection, turn_id: i64, old: Option<i64>, new: Option<i64>) -> Result<(), StoreError> {
    let (j0, w0, l0) = outcome(old);
    let (j1, w1, l1) = outcome(new);
    let (dj, dw, dl) = (j1 - j0, w1 - w0, l1 - l0);
    if (dj, dw, dl) == (0, 0, 0) {
        return Ok(());
    }
    c.prepare_cached(
        "UPDATE skill_stats SET judged = judged + ?2, wins = wins + ?3, losses = losses + ?4
         WHERE (skill, agent, day, state) IN
            (SELECT skill, agent, at / 86400000, state FROM skill_exposure WHERE turn_id = ?1)",
    )?
    .execute(params![turn_id, dj, dw, dl])?;
    Ok(())
}

/// Forgets all exposure, its aggregate and the holdout counters (recorded turns were erased).
pub fn clear(c: &Connection) -> Result<(), StoreError> {
    c.execute_batch("DELETE FROM skill_exposure; DELETE FROM skill_stats; DELETE FROM skill_holdout;")?;
    Ok(())
}

/// The last turn id whose exposure was written (0 before the first).
pub fn cursor(c: &Connection) -> Result<i64, StoreError> {
    Ok(super::meta::get(c, CURSOR)?.unwrap_or(0))
}

pub fn set_cursor(c: &Connection, id: i64) -> Result<(), StoreError> {
    super::meta::set(c, CURSOR, id)
}

/// The last generation whose new and edited skills were scanned back for (`None`: never).
pub fn scanned(c: &Connection) -> Result<Option<i64>, StoreError> {
    super::meta::get(c, SCANNED)
}

pub fn set_scanned(c: &Connection, generation: i64) -> Result<(), StoreError> {
    super::meta::set(c, SCANNED, generation)
}

/// Every holdout counter.
pub fn holdout(c: &Connection) -> Result<Vec<HoldoutRow>, StoreError> {
    let mut st = c.prepare("SELECT skill, hash, matches, held_out, since FROM skill_holdout")?;
    let rows = st
        .query_map([], |r| {
            Ok(HoldoutRow {
                skill: r.get(0)?,
                hash: r.get(1)?,
                matches: r.get(2)?,
                held_out: r.get(3)?,
                since: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Stores holdout counters (replacing the counts kept for the same version).
pub fn save_holdout(c: &Connection, rows: &[HoldoutRow]) -> Result<(), StoreError> {
    let mut st = c.prepare_cached(
        "INSERT INTO skill_holdout(skill, hash, matches, held_out, since) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(skill, hash) DO UPDATE SET matches = MAX(matches, excluded.matches),
            held_out = MAX(held_out, excluded.held_out)",
    )?;
    for r in rows {
        st.execute(params![r.skill, r.hash, r.matches, r.held_out, r.since])?;
    }
    Ok(())
}

/// One `skill_stats` row as read by [`scan`], borrowed from the statement.
#[derive(Debug, Clone, Copy)]
pub struct Cell<'a> {
    pub skill: &'a str,
    pub agent: &'a str,
    /// UTC day number.
    pub day: i64,
    pub state: &'a str,
    pub turns: i64,
    pub judged: i64,
    pub wins: i64,
    pub losses: i64,
}

/// Calls `f` with every `skill_stats` row (of `skill`, and of `agent`, when given), in no
/// particular order, without copying them: one pass, summed by the caller.
pub fn scan(
    c: &Connection,
    skill: Option<&str>,
    agent: Option<&str>,
    mut f: impl FnMut(Cell<'_>),
) -> Result<(), StoreError> {
    let sql = match skill {
        Some(_) => "SELECT skill, agent, day, state, turns, judged, wins, losses FROM skill_stats WHERE skill = ?1",
        None => "SELECT skill, agent, day, state, turns, judged, wins, losses FROM skill_stats WHERE ?1 IS NULL",
    };
    let mut st = c.prepare_cached(sql)?;
    let mut rows = st.query([skill])?;
    while let Some(r) = rows.next()? {
        let text = |i| r.get_ref(i).and_then(|v| v.as_str().map_err(Into::into));
        let cell = Cell {
            skill: text(0)?,
            agent: text(1)?,
            day: r.get(2)?,
            state: text(3)?,
            turns: r.get(4)?,
            judged: r.get(5)?,
            wins: r.get(6)?,
            losses: r.get(7)?,
        };
        if agent.is_none_or(|a| a == cell.agent) {
            f(cell);
        }
    }
    Ok(())
}

/// Each skill's sums per state, over every agent or `agent`'s turns only.
pub fn sums(c: &Connection, agent: Option<&str>) -> Result<Vec<StatRow>, StoreError> {
    let sql = "SELECT skill, state, SUM(turns), SUM(judged), SUM(wins), SUM(losses) FROM skill_stats
         WHERE ?1 IS NULL OR agent = ?1 GROUP BY skill, state";
    let mut st = c.prepare_cached(sql)?;
    let rows = st
        .query_map([agent], |r| {
            Ok(StatRow {
                skill: r.get(0)?,
                state: r.get(1)?,
                turns: r.get(2)?,
                judged: r.get(3)?,
                wins: r.get(4)?,
                losses: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Turns that carried each skill, per agent: `(skill, agent, turns)`.
pub fn injected_by_agent(c: &Connection, agent: Option<&str>) -> Result<Vec<(String, String, i64)>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT skill, agent, SUM(turns) FROM skill_stats WHERE state = 'injected' AND (?1 IS NULL OR agent = ?1)
         GROUP BY skill, agent",
    )?;
    let rows = st.query_map([agent], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// When a turn (of `agent`, if given) last carried `skill` (ms), if one did.
pub fn last_injected(c: &Connection, skill: &str, agent: Option<&str>) -> Result<Option<i64>, StoreError> {
    Ok(c.prepare_cached(
        "SELECT at FROM skill_exposure WHERE skill = ?1 AND state = 'injected' AND (?2 IS NULL OR agent = ?2)
         ORDER BY at DESC LIMIT 1",
    )?
    .query_row(params![skill, agent], |r| r.get(0))
    .optional()?)
}

/// One skill's sums per day and state, oldest first.
pub fn days(c: &Connection, skill: &str, agent: Option<&str>) -> Result<Vec<DayRow>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT day, state, SUM(turns), SUM(judged), SUM(wins), SUM(losses) FROM skill_stats
         WHERE skill = ?1 AND (?2 IS NULL OR agent = ?2) GROUP BY day, state ORDER BY day",
    )?;
    let rows = st
        .query_map(params![skill, agent], |r| {
            Ok(DayRow {
                day: r.get(0)?,
                state: r.get(1)?,
                turns: r.get(2)?,
                judged: r.get(3)?,
                wins: r.get(4)?,
                losses: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The exposure rows of one turn: `(skill, state)`, by skill.
pub fn of_turn(c: &Connection, turn_id: i64) -> Result<Vec<(String, ExposureState)>, StoreError> {
    let mut st = c.prepare_cached("SELECT skill, state FROM skill_exposure WHERE turn_id = ?1 ORDER BY skill")?;
    let rows = st.query_map([turn_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// How many exposure rows there are (the benchmark's baseline).
pub fn count(c: &Connection) -> Result<i64, StoreError> {
    Ok(c.query_row("SELECT count(*) FROM skill_exposure", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut c).unwrap();
        // Exposure and scores of turns this test does not write.
        c.pragma_update(None, "foreign_keys", "OFF").unwrap();
        c
    }

    fn row(turn_id: i64, skill: &str, state: ExposureState) -> Exposure {
        Exposure {
            turn_id,
            skill: skill.into(),
            hash: None,
            state,
            score: 0.5,
            agent: "codex".into(),
            at: 3 * DAY_MS + 5,
        }
    }

    fn sums_of(c: &Connection, skill: &str) -> Vec<(String, i64, i64, i64, i64)> {
        let mut v: Vec<_> = sums(c, None)
            .unwrap()
            .into_iter()
            .filter(|r| r.skill == skill)
            .map(|r| (r.state, r.turns, r.judged, r.wins, r.losses))
            .collect();
        v.sort();
        v
    }

    fn score(c: &Connection, turn_id: i64, s: i64) {
        c.execute(
            "INSERT INTO turn_scores(turn_id, score, source, created_at) VALUES (?1, ?2, 'judge', 0)
             ON CONFLICT(turn_id) DO UPDATE SET score = excluded.score",
            params![turn_id, s],
        )
        .unwrap();
    }

    #[test]
    fn a_rescore_moves_the_counts_once_and_rows_written_twice_count_once() {
        let c = db();
        // Turn 3 was scored before its exposure was written: the score counts at once.
        score(&c, 3, 1);
        let rows = [
            row(1, "a", ExposureState::Injected),
            row(2, "a", ExposureState::Absent),
            row(3, "a", ExposureState::Injected),
        ];
        assert_eq!(insert(&c, &rows).unwrap(), 3);
        assert_eq!(insert(&c, &rows).unwrap(), 0, "written again: kept once");
        assert_eq!(sums_of(&c, "a"), [("absent".into(), 1, 0, 0, 0), ("injected".into(), 2, 1, 1, 0)]);
        // The judge scores turn 1 well; the user then says it went badly, twice.
        rescore(&c, 1, None, Some(1)).unwrap();
        score(&c, 1, 1);
        assert_eq!(sums_of(&c, "a")[1], ("injected".into(), 2, 2, 2, 0));
        for _ in 0..2 {
            let old = score_of(&c, 1).unwrap();
            rescore(&c, 1, old, Some(-1)).unwrap();
            score(&c, 1, -1);
            assert_eq!(sums_of(&c, "a")[1], ("injected".into(), 2, 2, 1, 1), "re-scored: moved, not doubled");
        }
        rescore(&c, 2, None, Some(0)).unwrap();
        assert_eq!(sums_of(&c, "a")[0], ("absent".into(), 1, 1, 0, 0), "a 0 is judged, neither win nor loss");
        assert_eq!(days(&c, "a", Some("codex")).unwrap().len(), 2);
        assert_eq!(days(&c, "a", None).unwrap()[0].day, 3);
        assert!(days(&c, "a", Some("claude-code")).unwrap().is_empty());
        assert_eq!(last_injected(&c, "a", None).unwrap(), Some(3 * DAY_MS + 5));
        assert_eq!(of_turn(&c, 2).unwrap(), [("a".to_string(), ExposureState::Absent)]);
        assert_eq!(count(&c).unwrap(), 3);
        clear(&c).unwrap();
        assert!(sums(&c, None).unwrap().is_empty());
    }

    #[test]
    fn a_batch_is_summed_per_skill_agent_day_and_state_as_row_by_row_writes_would_be() {
        let (batched, one_by_one) = (db(), db());
        score(&batched, 2, -1);
        score(&one_by_one, 2, -1);
        let mut rows = Vec::new();
        for id in 1..=6 {
            let mut r = row(id, if id % 2 == 0 { "a" } else { "b" }, ExposureState::Injected);
            r.at += (id % 3) * DAY_MS;
            r.agent = if id > 4 { "claude-code".into() } else { "codex".into() };
            rows.push(r);
            rows.push(row(id, "c", ExposureState::Budget));
        }
        // The second batch overlaps the first: its old rows are not counted again.
        assert_eq!(insert(&batched, &rows[..8]).unwrap(), 8);
        assert_eq!(insert(&batched, &rows[4..]).unwrap(), 4);
        for r in &rows {
            insert(&one_by_one, std::slice::from_ref(r)).unwrap();
        }
        let all = |c: &Connection| {
            let mut v: Vec<_> = ["a", "b", "c"]
                .iter()
                .flat_map(|s| [Some("codex"), Some("claude-code")].map(|a| (s, a, days(c, s, a).unwrap())))
                .map(|(s, a, d)| format!("{s} {a:?} {d:?}"))
                .collect();
            v.sort();
            v
        };
        assert_eq!(all(&batched), all(&one_by_one));
        assert_eq!(sums_of(&batched, "c"), [("budget".into(), 6, 1, 0, 1)]);
    }

    #[test]
    fn holdout_counters_only_grow() {
        let c = db();
        let r = |m, h| HoldoutRow { skill: "a".into(), hash: "h".into(), matches: m, held_out: h, since: 1 };
        save_holdout(&c, &[r(5, 1)]).unwrap();
        save_holdout(&c, &[r(3, 0)]).unwrap();
        assert_eq!(holdout(&c).unwrap(), [r(5, 1)]);
        save_holdout(&c, &[r(7, 2)]).unwrap();
        assert_eq!(holdout(&c).unwrap(), [r(7, 2)]);
    }
}
