//! What per-skill effectiveness (`crate::effect`) reads of `main` turns: the turns that took
//! skills, and the last message of a turn that passes a test.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use crate::store::StoreError;

/// What per-skill effectiveness reads of a `main` turn.
#[derive(Debug, Clone)]
pub struct ExposureTurn {
    pub id: i64,
    pub agent: String,
    pub started_at: i64,
    pub generation: i64,
    /// The skills injected (JSON list of `Injected`).
    pub skills: String,
    /// The skills held out (JSON list of names).
    pub held_out: String,
    pub message_hashes: String,
}

/// `main` turns that took skills (injection not turned off), oldest first, at most `limit`, with
/// an id above `floor` and either above `cursor` or finished at `since` or later (a long turn
/// recorded after later ones).
pub fn exposure_turns(
    conn: &Connection,
    floor: i64,
    cursor: i64,
    since: i64,
    limit: u32,
) -> Result<Vec<ExposureTurn>, StoreError> {
    exposure_query(
        conn,
        "id > ?1 AND (id > ?2 OR finished_at >= ?3) AND turn_type = 'main' AND inject_off = 0 ORDER BY id LIMIT ?4",
        params![floor, cursor, since, limit],
    )
}

/// The `main` turns that took skills among `ids`, oldest first.
pub fn exposure_turns_by_id(conn: &Connection, ids: &[i64]) -> Result<Vec<ExposureTurn>, StoreError> {
    let ids = serde_json::to_string(ids).map_err(|e| StoreError::Task(e.to_string()))?;
    exposure_query(
        conn,
        "id IN (SELECT value FROM json_each(?1)) AND turn_type = 'main' AND inject_off = 0 ORDER BY id",
        params![ids],
    )
}

/// The newest `limit` `main` turns that took skills with an id up to `upto`, newest first.
pub fn recent_exposure_turns(conn: &Connection, upto: i64, limit: u32) -> Result<Vec<ExposureTurn>, StoreError> {
    exposure_query(
        conn,
        "id <= ?1 AND turn_type = 'main' AND inject_off = 0 ORDER BY id DESC LIMIT ?2",
        params![upto, limit],
    )
}

fn exposure_query(conn: &Connection, filter: &str, p: impl rusqlite::Params) -> Result<Vec<ExposureTurn>, StoreError> {
    let sql =
        format!("SELECT id, agent, started_at, generation, skills, held_out, message_hashes FROM turns WHERE {filter}");
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st
        .query_map(p, |r| {
            Ok(ExposureTurn {
                id: r.get(0)?,
                agent: r.get(1)?,
                started_at: r.get(2)?,
                generation: r.get(3)?,
                skills: r.get(4)?,
                held_out: r.get(5)?,
                message_hashes: r.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The latest message under `hashes` (a turn's `message_hashes`) that `pick` makes something
/// of, read from the end, one blob at a time. `seen` remembers what `pick` made of each blob (by
/// hash) across calls: an agent's tool loop sends the same messages turn after turn, and each is
/// read and parsed once.
pub fn last_message_picked<T: Clone>(
    conn: &Connection,
    hashes: &str,
    seen: &mut HashMap<String, Option<T>>,
    pick: impl Fn(&Value) -> Option<T>,
) -> Result<Option<T>, StoreError> {
    let hs: Vec<String> = serde_json::from_str(hashes).unwrap_or_default();
    let mut blob = conn.prepare_cached("SELECT body FROM blobs WHERE hash = ?1")?;
    for h in hs.into_iter().rev() {
        let picked = match seen.get(&h) {
            Some(p) => p.clone(),
            None => {
                let Some(b) = blob.query_row([&h], |r| r.get::<_, String>(0)).optional()? else { continue };
                let p = pick(&serde_json::from_str(&b).unwrap_or(Value::Null));
                seen.insert(h, p.clone());
                p
            }
        };
        if picked.is_some() {
            return Ok(picked);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_latest_picked_message_is_found_and_each_blob_is_read_once() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut c).unwrap();
        let ask = json!({"role": "user", "content": "profile the checkout"});
        let tool = json!({"role": "tool", "content": "42 ms"});
        let (a, t) =
            (super::super::blobs::put_message(&c, &ask).unwrap(), super::super::blobs::put_message(&c, &tool).unwrap());
        let user = |m: &Value| (m["role"] == "user").then(|| m["content"].as_str().unwrap_or("").to_string());
        let mut seen = HashMap::new();
        // A tool loop: the same question, then more tool output each turn; a missing blob is skipped.
        let first = format!(r#"["{a}","{t}","nowhere"]"#);
        assert_eq!(last_message_picked(&c, &first, &mut seen, user).unwrap().as_deref(), Some("profile the checkout"));
        assert_eq!(seen.len(), 2, "the missing blob is not remembered");
        c.execute("DELETE FROM blobs", []).unwrap();
        // Read from memory now: the blobs are gone from the table.
        let later = format!(r#"["{a}","{t}","{t}"]"#);
        assert_eq!(last_message_picked(&c, &later, &mut seen, user).unwrap().as_deref(), Some("profile the checkout"));
        assert_eq!(last_message_picked(&c, &format!(r#"["{t}"]"#), &mut seen, user).unwrap(), None);
        assert_eq!(last_message_picked(&c, "not json", &mut seen, user).unwrap(), None);
    }
}
