//! The skill library's mirror in the database: the skills as loaded (`skills`), the user's
//! on/off switches and pins (`skill_settings`) and cached embedding vectors (`embeddings`).

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

/// The skills the user pinned (kept by the curator whatever their use, never held out).
pub fn pins(c: &Connection) -> Result<Vec<String>, StoreError> {
    let mut st = c.prepare("SELECT name FROM skill_settings WHERE pinned != 0 ORDER BY name")?;
    let rows = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Pins or unpins skill `name`. `enabled` is its current state, recorded only when the skill has
/// no switch yet (a pin never switches a skill on or off).
pub fn save_pin(c: &Connection, name: &str, pinned: bool, enabled: bool, now: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO skill_settings(name, enabled, updated_at, pinned) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(name) DO UPDATE SET pinned = excluded.pinned, updated_at = excluded.updated_at",
        params![name, enabled, now, pinned],
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

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut c).unwrap();
        c
    }

    #[test]
    fn a_pin_keeps_the_switch_it_finds_and_an_unpin_keeps_the_row() {
        let c = db();
        save_switch(&c, "off-skill", false, 1).unwrap();
        save_pin(&c, "off-skill", true, true, 2).unwrap();
        save_pin(&c, "new-skill", true, true, 2).unwrap();
        assert_eq!(pins(&c).unwrap(), vec!["new-skill".to_string(), "off-skill".to_string()]);
        let mut sw = switches(&c).unwrap();
        sw.sort();
        assert_eq!(sw, vec![("new-skill".to_string(), true), ("off-skill".to_string(), false)]);
        save_pin(&c, "off-skill", false, true, 3).unwrap();
        assert_eq!(pins(&c).unwrap(), vec!["new-skill".to_string()]);
        assert!(switches(&c).unwrap().contains(&("off-skill".to_string(), false)));
    }
}
