//! The guide's state (open, done, dismissed) and its checklist, read from the store: the ticks
//! come from what was recorded (turns, scores, candidates), so they are live without any event.

use rusqlite::{params, Connection, OptionalExtension};

use crate::api::types::setup::{ChecklistItem, ChecklistStep, SetupAction, SetupState};
use crate::store::StoreError;

const DONE: &str = "setup_done_at";
const DISMISSED: &str = "setup_dismissed_at";
const KEY_OK: &str = "setup_key_ok_at";

fn meta(c: &Connection, key: &str) -> Result<Option<i64>, StoreError> {
    Ok(c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

fn set_meta(c: &Connection, key: &str, value: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
        params![key, value],
    )?;
    Ok(())
}

fn first(c: &Connection, sql: &str) -> Result<Option<i64>, StoreError> {
    Ok(c.query_row(sql, [], |r| r.get::<_, Option<i64>>(0)).optional()?.flatten())
}

/// Records that a test of the upstream succeeded at `now`.
pub fn key_worked(c: &Connection, now: i64) -> Result<(), StoreError> {
    set_meta(c, KEY_OK, now)
}

/// Applies what the user did with the guide.
pub fn set_state(c: &Connection, action: SetupAction, now: i64) -> Result<(), StoreError> {
    c.execute("DELETE FROM meta WHERE key IN (?1, ?2)", params![DONE, DISMISSED])?;
    match action {
        SetupAction::Done => set_meta(c, DONE, now),
        SetupAction::Dismissed => set_meta(c, DISMISSED, now),
        SetupAction::Reopen => Ok(()),
    }
}

/// The state, when it last changed, and the checklist.
pub fn read(c: &Connection) -> Result<(SetupState, Option<i64>, Vec<ChecklistItem>), StoreError> {
    let (state, changed_at) = match (meta(c, DONE)?, meta(c, DISMISSED)?) {
        (Some(t), _) => (SetupState::Done, Some(t)),
        (None, Some(t)) => (SetupState::Dismissed, Some(t)),
        (None, None) => (SetupState::Open, None),
    };
    // Each query stops at its first row (by an index or the primary key): cheap on a big store.
    let first_ok_turn = first(c, "SELECT started_at FROM turns WHERE status = 'ok' ORDER BY started_at LIMIT 1")?;
    let key_ok = match (meta(c, KEY_OK)?, first_ok_turn) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let item = |step, label: &str, done_at| ChecklistItem { step, label: label.into(), done_at };
    let checklist = vec![
        item(ChecklistStep::KeyWorks, "The upstream and its key work", key_ok),
        item(
            ChecklistStep::FirstTurn,
            "Your agent's first turn came through MetaClaw",
            first(c, "SELECT started_at FROM turns ORDER BY started_at LIMIT 1")?,
        ),
        item(
            ChecklistStep::FirstJudged,
            "The judge scored a turn",
            first(c, "SELECT created_at FROM turn_scores WHERE source = 'judge' ORDER BY turn_id LIMIT 1")?,
        ),
        item(
            ChecklistStep::FirstSkill,
            "The evolver proposed a skill",
            first(c, "SELECT created_at FROM candidates ORDER BY id LIMIT 1")?,
        ),
    ];
    Ok((state, changed_at, checklist))
}
