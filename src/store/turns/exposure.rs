//! What per-skill effectiveness (`crate::effect`) reads of `main` turns: the turns that took
//! skills, and the last message of a turn that passes a test.

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

/// The last message under `hashes` (a turn's `message_hashes`) for which `keep` is true, read
/// from the end, one blob at a time.
pub fn last_message_where(
    conn: &Connection,
    hashes: &str,
    keep: impl Fn(&Value) -> bool,
) -> Result<Option<Value>, StoreError> {
    let hs: Vec<String> = serde_json::from_str(hashes).unwrap_or_default();
    let mut blob = conn.prepare_cached("SELECT body FROM blobs WHERE hash = ?1")?;
    for h in hs.iter().rev() {
        if let Some(b) = blob.query_row([h], |r| r.get::<_, String>(0)).optional()? {
            let v: Value = serde_json::from_str(&b).unwrap_or(Value::Null);
            if keep(&v) {
                return Ok(Some(v));
            }
        }
    }
    Ok(None)
}
