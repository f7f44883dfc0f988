//! The skill library's history: its generations (each change of the set of active skills, with
//! what changed) and the skill versions (content by hash) a generation names.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

/// One generation as stored: `changes` is a JSON list, `active` a JSON map of name to hash.
#[derive(Debug, Clone)]
pub struct GenerationRow {
    pub id: i64,
    pub created_at: i64,
    pub reason: String,
    pub changes: String,
    pub active: String,
}

/// The current generation (0 before the first).
pub fn current(c: &Connection) -> Result<i64, StoreError> {
    Ok(c.query_row("SELECT COALESCE(MAX(id), 0) FROM generations", [], |r| r.get(0))?)
}

/// The latest generation's id and active set (JSON), if there is one.
pub fn latest(c: &Connection) -> Result<Option<(i64, String)>, StoreError> {
    Ok(c.query_row("SELECT id, active FROM generations ORDER BY id DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Generation `id`'s active set (JSON), if it exists.
pub fn active(c: &Connection, id: i64) -> Result<Option<String>, StoreError> {
    Ok(c.query_row("SELECT active FROM generations WHERE id = ?1", [id], |r| r.get(0)).optional()?)
}

/// The newest `limit` generations, newest first.
pub fn list(c: &Connection, limit: u32) -> Result<Vec<GenerationRow>, StoreError> {
    let mut s =
        c.prepare("SELECT id, created_at, reason, changes, active FROM generations ORDER BY id DESC LIMIT ?1")?;
    let rows = s
        .query_map([limit], |r| {
            Ok(GenerationRow {
                id: r.get(0)?,
                created_at: r.get(1)?,
                reason: r.get(2)?,
                changes: r.get(3)?,
                active: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Records a new generation; returns its id.
pub fn record(c: &Connection, now: i64, reason: &str, changes: &str, active: &str) -> Result<i64, StoreError> {
    c.execute(
        "INSERT INTO generations(created_at, reason, changes, active) VALUES (?1, ?2, ?3, ?4)",
        params![now, reason, changes, active],
    )?;
    Ok(c.last_insert_rowid())
}

/// Keeps a skill's content under its hash (once).
pub fn put_version(c: &Connection, hash: &str, name: &str, content: &str, now: i64) -> Result<(), StoreError> {
    c.prepare_cached("INSERT OR IGNORE INTO skill_versions(hash, name, content, created_at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![hash, name, content, now])?;
    Ok(())
}

/// The skill content kept under `hash`, if any.
pub fn version(c: &Connection, hash: &str) -> Result<Option<String>, StoreError> {
    Ok(c.prepare_cached("SELECT content FROM skill_versions WHERE hash = ?1")?
        .query_row([hash], |r| r.get(0))
        .optional()?)
}

/// When a version of each skill was first active (ms): name → time.
pub fn first_active(c: &Connection) -> Result<std::collections::HashMap<String, i64>, StoreError> {
    let mut s = c.prepare("SELECT name, MIN(created_at) FROM skill_versions GROUP BY name")?;
    let rows = s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The generations after `after`, oldest first: `(id, changes JSON)`.
pub fn changes_after(c: &Connection, after: i64) -> Result<Vec<(i64, String)>, StoreError> {
    let mut s = c.prepare_cached("SELECT id, changes FROM generations WHERE id > ?1 ORDER BY id")?;
    let rows = s.query_map([after], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    Ok(rows)
}
