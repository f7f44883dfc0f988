//! What the curator reads about the library's use: when each skill was last carried by a turn
//! (from the per-day aggregate, which outlives pruned turns) and since when each skill has been
//! active (the latest generation that added it: created, restored, switched back on).

use std::collections::HashMap;

use rusqlite::Connection;

use super::effect::DAY_MS;
use super::StoreError;

/// Per skill, the end of the last UTC day on which a turn carried it (ms).
pub fn last_carried(c: &Connection) -> Result<HashMap<String, i64>, StoreError> {
    let mut st =
        c.prepare("SELECT skill, MAX(day) FROM skill_stats WHERE state = 'injected' AND turns > 0 GROUP BY skill")?;
    let rows = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .map(|r| r.map(|(s, day)| (s, (day + 1) * DAY_MS - 1)))
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Per skill, when it last became active: the newest generation whose changes added it.
pub fn active_since(c: &Connection) -> Result<HashMap<String, i64>, StoreError> {
    let mut st = c.prepare(
        "SELECT json_extract(j.value, '$.skill'), MAX(g.created_at) FROM generations g, json_each(g.changes) j
         WHERE json_valid(g.changes) AND json_extract(j.value, '$.change') = 'added'
         GROUP BY 1 HAVING json_extract(j.value, '$.skill') IS NOT NULL",
    )?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?.collect::<Result<_, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skill_is_carried_until_the_end_of_its_last_day_and_active_since_it_was_last_added() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut c).unwrap();
        let added = |skill: &str| format!(r#"[{{"skill": "{skill}", "change": "added", "hash": "h"}}]"#);
        crate::store::generations::record(&c, 100, "start", &added("a"), "{}").unwrap();
        crate::store::generations::record(&c, 200, "edit", r#"[{"skill": "a", "change": "modified"}]"#, "{}").unwrap();
        crate::store::generations::record(&c, 300, "restored b", &added("b"), "{}").unwrap();
        crate::store::generations::record(&c, 400, "restored a", &added("a"), "{}").unwrap();
        let since = active_since(&c).unwrap();
        assert_eq!((since["a"], since["b"]), (400, 300));

        c.execute_batch(
            "INSERT INTO skill_stats(skill, agent, day, state, turns) VALUES ('a', 'x', 3, 'injected', 2);
             INSERT INTO skill_stats(skill, agent, day, state, turns) VALUES ('a', 'y', 1, 'injected', 1);
             INSERT INTO skill_stats(skill, agent, day, state, turns) VALUES ('a', 'x', 9, 'held_out', 1);
             INSERT INTO skill_stats(skill, agent, day, state, turns) VALUES ('b', 'x', 9, 'budget', 1);",
        )
        .unwrap();
        let last = last_carried(&c).unwrap();
        assert_eq!(last.get("a"), Some(&(4 * DAY_MS - 1)), "the end of day 3; held out does not count");
        assert_eq!(last.get("b"), None, "matched but never carried");
    }
}
