//! The guide's state (open, done, dismissed) and its checklist, read from the store: the ticks
//! come from what was recorded (turns, scores, candidates), so they are live without any event.

use rusqlite::Connection;

use crate::api::types::setup::{ChecklistItem, ChecklistStep, SetupAction, SetupState};
use crate::store::{candidates, judge, meta, turns, StoreError};

const DONE: &str = "setup_done_at";
const DISMISSED: &str = "setup_dismissed_at";
const KEY_OK: &str = "setup_key_ok_at";

/// Records that a test of the upstream succeeded at `now`.
pub fn key_worked(c: &Connection, now: i64) -> Result<(), StoreError> {
    meta::set(c, KEY_OK, now)
}

/// Applies what the user did with the guide.
pub fn set_state(c: &Connection, action: SetupAction, now: i64) -> Result<(), StoreError> {
    meta::delete(c, DONE)?;
    meta::delete(c, DISMISSED)?;
    match action {
        SetupAction::Done => meta::set(c, DONE, now),
        SetupAction::Dismissed => meta::set(c, DISMISSED, now),
        SetupAction::Reopen => Ok(()),
    }
}

/// The state, when it last changed, and the checklist.
pub fn read(c: &Connection) -> Result<(SetupState, Option<i64>, Vec<ChecklistItem>), StoreError> {
    let (state, changed_at) = match (meta::get(c, DONE)?, meta::get(c, DISMISSED)?) {
        (Some(t), _) => (SetupState::Done, Some(t)),
        (None, Some(t)) => (SetupState::Dismissed, Some(t)),
        (None, None) => (SetupState::Open, None),
    };
    // Each read stops at its first row (by an index or the primary key): cheap on a big store.
    let first_ok_turn = turns::first_started_at(c, true)?;
    let key_ok = match (meta::get(c, KEY_OK)?, first_ok_turn) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let item = |step, label: &str, done_at| ChecklistItem { step, label: label.into(), done_at };
    let checklist = vec![
        item(ChecklistStep::KeyWorks, "The upstream and its key work", key_ok),
        item(
            ChecklistStep::FirstTurn,
            "Your agent's first turn came through MetaClaw",
            turns::first_started_at(c, false)?,
        ),
        item(ChecklistStep::FirstJudged, "The judge scored a turn", judge::first_judged_at(c)?),
        item(ChecklistStep::FirstSkill, "The evolver proposed a skill", candidates::first_created_at(c)?),
    ];
    Ok((state, changed_at, checklist))
}
