//! The skill library's mirror in the database: the skills as loaded (`skills`), the user's
//! on/off switches (`skill_settings`) and cached embedding vectors (`embeddings`).

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

/// One skill as mirrored.
#[derive(Debug, Clone)]
pub struct Mirror {
    pub name: String,
    pub origin: &'static str,
    pub category: String,
    pub description: String,
    pub hash: String,
    pub enabled: bool,
    pub path: String,
    pub content: String,
}

/// Replaces the mirror with `skills`.
pub fn replace(c: &Connection, skills: &[Mirror], now: i64) -> Result<(), StoreError> {
    c.execute("DELETE FROM skills", [])?;
    let mut ins = c.prepare_cached(
        "INSERT INTO skills(name, origin, category, description, hash, enabled, path, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for s in skills {
        ins.execute(params![s.name, s.origin, s.category, s.description, s.hash, s.enabled, s.path, now])?;
    }
    Ok(())
}

/// The user's switches: skill name and whether it is on.
pub fn switches(c: &Connection) -> Result<Vec<(String, bool)>, StoreError> {
    let mut st = c.prepare("SELECT name, enabled FROM skill_settings")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Remembers that the user switched skill `name` on or off.
pub fn save_switch(c: &Connection, name: &str, on: bool, now: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO skill_settings(name, enabled, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
        params![name, on, now],
    )?;
    Ok(())
}

/// The cached vector (as stored) of the skill with content hash `hash` under `model`.
pub fn vector(c: &Connection, hash: &str, model: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(c.prepare_cached("SELECT vector FROM embeddings WHERE hash = ?1 AND model = ?2")?
        .query_row(params![hash, model], |r| r.get(0))
        .optional()?)
}

/// Caches vectors (content hash, stored vector) under `model`.
pub fn save_vectors(c: &Connection, model: &str, rows: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
    let mut st = c.prepare_cached("INSERT OR REPLACE INTO embeddings(hash, model, vector) VALUES (?1, ?2, ?3)")?;
    for (h, b) in rows {
        st.execute(params![h, model, b])?;
    }
    Ok(())
}
