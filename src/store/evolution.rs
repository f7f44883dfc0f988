//! The evolver's tables: its runs (`evolve_runs`) and the failed turns each run consumed
//! (`evolve_consumed`); also the failed turns still waiting to be learned from.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::candidates::{self, NewCandidate};
use super::turns::{self, NEXT_MAIN_HASHES};
use super::StoreError;
use crate::agent::AgentId;
use crate::evolve::{EvolverStatus, Run};

/// `evolve_runs` statuses of runs that failed for output or transport reasons (older builds
/// wrote `failed` for malformed answers too, and consumed their failures).
pub const FAILED_STATUSES: &str = "('failed', 'malformed', 'timed out')";

/// A failed turn (scored -1 by the judge or the user) not yet learned from.
#[derive(Debug, Clone)]
pub struct FailedTurn {
    pub turn_id: i64,
    pub messages: Vec<Value>,
    pub answer: String,
    /// The user's note when the user scored it, else the judge's reason (or a note).
    pub reason: Option<String>,
    pub by_user: bool,
    /// The messages of the session's next `main` turn, if there is one.
    pub next_messages: Option<Vec<Value>>,
    /// The agent that sent the turn.
    pub agent: AgentId,
}

/// One run to record.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub trigger: crate::evolve::Trigger,
    pub session: Option<String>,
    /// The failed turns the run looked at.
    pub turns: Vec<i64>,
    pub status: &'static str,
    pub error: Option<String>,
    /// The run's failed turns are learned from: later runs don't see them again.
    pub consumes: bool,
    /// The failures as the evolver saw them (JSON), kept as each candidate's evidence.
    pub evidence: String,
}

/// Per session holding failed turns not yet learned from: how many, and whether the session
/// ended (or has been idle since `idle_before`).
pub fn sessions_with_failures(c: &Connection, idle_before: i64) -> Result<Vec<(String, i64, bool)>, StoreError> {
    let mut st = c.prepare(
        "SELECT t.session_id, COUNT(*), s.done_at IS NOT NULL OR s.last_at < ?1
         FROM turn_scores sc JOIN turns t ON t.id = sc.turn_id JOIN sessions s ON s.id = t.session_id
         WHERE sc.score < 0 AND NOT EXISTS (SELECT 1 FROM evolve_consumed e WHERE e.turn_id = t.id)
         GROUP BY t.session_id",
    )?;
    let rows = st
        .query_map([idle_before], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, bool>(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The newest six failed turns not yet learned from, of one session or of all, oldest first.
pub fn failures(c: &Connection, session: Option<&str>) -> Result<Vec<FailedTurn>, StoreError> {
    let mut st = c.prepare(&format!(
        "SELECT t.id, t.message_hashes, COALESCE(t.response_text, ''),
            CASE WHEN sc.source = 'user' THEN sc.note ELSE COALESCE(sc.reason, sc.note) END, sc.source = 'user',
            {NEXT_MAIN_HASHES}, t.agent
         FROM turn_scores sc JOIN turns t ON t.id = sc.turn_id
         WHERE sc.score < 0 AND (?1 IS NULL OR t.session_id = ?1)
           AND NOT EXISTS (SELECT 1 FROM evolve_consumed e WHERE e.turn_id = t.id)
         ORDER BY t.id DESC LIMIT 6"
    ))?;
    let rows = st
        .query_map([&session], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (turn_id, hashes, answer, reason, by_user, next, agent) in rows {
        out.push(FailedTurn {
            turn_id,
            messages: turns::load_messages(c, &hashes)?,
            answer,
            reason,
            by_user,
            next_messages: next.map(|h| turns::load_messages(c, &h)).transpose()?,
            agent: AgentId::parse(&agent).unwrap_or_default(),
        });
    }
    out.reverse();
    Ok(out)
}

fn run_row(r: &rusqlite::Row) -> rusqlite::Result<Run> {
    let turns: String = r.get(4)?;
    Ok(Run {
        id: r.get(0)?,
        created_at: r.get(1)?,
        trigger: r.get(2)?,
        session_id: r.get(3)?,
        turns: serde_json::from_str(&turns).unwrap_or_default(),
        status: r.get(5)?,
        reason: r.get(6)?,
        candidates: r.get(7)?,
    })
}

const RUN_COLS: &str = "id, created_at, trigger, session_id, turns, status, error, candidates";

/// Recorded runs, newest first (at most 1000).
pub fn runs(c: &Connection, limit: u32) -> Result<Vec<Run>, StoreError> {
    let mut st = c.prepare(&format!("SELECT {RUN_COLS} FROM evolve_runs ORDER BY id DESC LIMIT ?1"))?;
    let rows = st.query_map([limit.clamp(1, 1000)], run_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Runs, failed runs, failed turns waiting, and the last run.
pub fn status(c: &Connection) -> Result<EvolverStatus, StoreError> {
    let (runs, failed_runs, failures_waiting) = c.query_row(
        &format!(
            "SELECT (SELECT COUNT(*) FROM evolve_runs), (SELECT COUNT(*) FROM evolve_runs WHERE status IN {FAILED_STATUSES}),
                (SELECT COUNT(*) FROM turn_scores sc WHERE sc.score < 0 AND NOT EXISTS (SELECT 1 FROM evolve_consumed e WHERE e.turn_id = sc.turn_id))"
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let last_run =
        c.query_row(&format!("SELECT {RUN_COLS} FROM evolve_runs ORDER BY id DESC LIMIT 1"), [], run_row).optional()?;
    Ok(EvolverStatus { runs, failed_runs, failures_waiting, last_run })
}

/// Records a run and the candidates it proposed (none under a name already waiting for
/// review); returns the run's id and the candidates' ids.
pub fn record_run(c: &Connection, run: &NewRun, proposed: &[NewCandidate]) -> Result<(i64, Vec<i64>), StoreError> {
    let now = crate::clock::now_ms();
    c.execute(
        "INSERT INTO evolve_runs(created_at, trigger, session_id, turns, status, error, candidates) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            now,
            run.trigger,
            run.session,
            serde_json::to_string(&run.turns).expect("json"),
            run.status,
            run.error,
            proposed.len() as i64
        ],
    )?;
    let id = c.last_insert_rowid();
    if run.consumes {
        for t in &run.turns {
            c.execute("INSERT OR IGNORE INTO evolve_consumed(turn_id, run_id) VALUES (?1, ?2)", params![t, id])?;
        }
    }
    let mut ids = Vec::new();
    for p in proposed {
        if let Some(cand) = candidates::propose(c, id, now, p, &run.evidence, &run.turns)? {
            ids.push(cand);
        }
    }
    Ok((id, ids))
}

/// Gives back the failed turns that failed runs consumed (as older builds did); returns how many.
pub fn release_failed(c: &Connection) -> Result<usize, StoreError> {
    Ok(c.execute(
        &format!("DELETE FROM evolve_consumed WHERE run_id IN (SELECT id FROM evolve_runs WHERE status IN {FAILED_STATUSES})"),
        [],
    )?)
}

/// Gives `turns` back to the evolver (a candidate learned from them went stale): the next run
/// of their session sees them again.
pub fn release_turns(c: &Connection, turns: &[i64]) -> Result<(), StoreError> {
    for t in turns {
        c.execute("DELETE FROM evolve_consumed WHERE turn_id = ?1", [t])?;
    }
    Ok(())
}

/// Deletes every run and what they consumed (after the candidates).
pub(super) fn clear(c: &Connection) -> Result<(), StoreError> {
    c.execute_batch("DELETE FROM evolve_consumed; DELETE FROM evolve_runs;")?;
    Ok(())
}
