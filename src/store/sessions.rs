//! The sessions table: a session is touched by every turn recorded in it, listed for the admin
//! API, and its still-open inferred sessions seed the tracker at start-up.

use rusqlite::{params, Connection};

use super::read::{InferredSessionSeed, SessionRow};
use super::turns::{self, MAX_PAGE};
use super::StoreError;
use crate::turn::TurnRecord;

/// Creates or extends the session of turn `t`; returns the turn's index in it.
pub(super) fn touch(tx: &Connection, t: &TurnRecord) -> Result<i64, StoreError> {
    // An update, then its count read back (or an insert): about half the cost of an upsert with
    // RETURNING, which stages its one row in a temporary table for every turn.
    let done = t.session_done.then_some(t.finished_at_ms);
    let updated = tx
        .prepare_cached(
            "UPDATE sessions SET last_at = MAX(last_at, ?2), turns = turns + 1, done_at = ?3 WHERE id = ?1",
        )?
        .execute(params![t.session_id, t.finished_at_ms, done])?;
    if updated == 0 {
        tx.prepare_cached(
            "INSERT INTO sessions(id, source, started_at, last_at, turns, done_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)",
        )?
        .execute(params![t.session_id, t.session_source.as_str(), t.started_at_ms, t.finished_at_ms, done])?;
        return Ok(1);
    }
    Ok(tx.prepare_cached("SELECT turns FROM sessions WHERE id = ?1")?.query_row([&t.session_id], |r| r.get(0))?)
}

/// Deletes sessions last active before `before_ms` that no turn is left in.
pub(super) fn prune_emptied(tx: &Connection, before_ms: i64) -> Result<(), StoreError> {
    tx.execute(&format!("DELETE FROM sessions WHERE last_at < ?1 AND NOT {}", turns::SESSION_HAS_TURNS), [before_ms])?;
    Ok(())
}

/// Deletes every session (after their turns).
pub(super) fn clear(c: &Connection) -> Result<(), StoreError> {
    c.execute_batch("DELETE FROM sessions;")?;
    Ok(())
}

/// Sessions, most recently active first.
pub fn list_sessions(conn: &Connection, limit: u32, offset: u32) -> Result<Vec<SessionRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, source, started_at, last_at, turns, done_at FROM sessions ORDER BY last_at DESC LIMIT ?1 OFFSET ?2",
    )?;
    let rows = stmt
        .query_map([limit.clamp(1, MAX_PAGE), offset], |r| {
            Ok(SessionRow {
                id: r.get(0)?,
                source: r.get(1)?,
                started_at: r.get(2)?,
                last_at: r.get(3)?,
                turns: r.get(4)?,
                done_at: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// All sessions, and those active after `active_after_ms` and not ended.
pub fn counts(conn: &Connection, active_after_ms: i64) -> Result<(i64, i64), StoreError> {
    Ok(conn.query_row(
        "SELECT (SELECT COUNT(*) FROM sessions), (SELECT COUNT(*) FROM sessions WHERE last_at >= ?1 AND done_at IS NULL)",
        [active_after_ms],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Inferred sessions still open (active after `active_after_ms`), newest 64, each with the hashes
/// of its last request's messages, so conversations continue across restarts.
pub fn inferred_seeds(conn: &Connection, active_after_ms: i64) -> Result<Vec<InferredSessionSeed>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.id, s.last_at FROM sessions s WHERE s.source = 'inferred' AND s.done_at IS NULL AND s.last_at >= ?1
         ORDER BY s.last_at DESC LIMIT 64",
    )?;
    let rows = stmt
        .query_map([active_after_ms], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut seeds = Vec::new();
    for (id, last_at) in rows {
        let hashes = turns::last_message_hashes(conn, &id)?;
        // The same hashes the live tracker takes of a request's messages.
        let messages = turns::load_messages(conn, hashes.as_deref().unwrap_or("[]"))?;
        seeds.push(InferredSessionSeed { id, last_at, message_hashes: crate::session::conversation_hashes(&messages) });
    }
    Ok(seeds)
}
