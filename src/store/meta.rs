//! The `meta` table: small named facts the engine keeps (numbers, e.g. times in ms) that belong
//! to no other table, such as the first-run guide's state.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

/// The number stored under `key`, if any.
pub fn get(c: &Connection, key: &str) -> Result<Option<i64>, StoreError> {
    Ok(c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

/// Stores `value` under `key`, replacing what was there.
pub fn set(c: &Connection, key: &str, value: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
        params![key, value],
    )?;
    Ok(())
}

/// Raises the number under `key` to `value` (stores it if there is none; never lowers it).
pub fn raise(c: &Connection, key: &str, value: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = MAX(value, ?2)",
        params![key, value],
    )?;
    Ok(())
}

/// Forgets `key`.
pub fn delete(c: &Connection, key: &str) -> Result<(), StoreError> {
    c.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    Ok(())
}
