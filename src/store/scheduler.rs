//! The scheduler's tables: each job's checkpoint (`job_state`) and its runs (`job_runs`).

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;
use crate::scheduler::runner::RunInfo;

/// A job's saved checkpoint (JSON text), if it saved one.
pub fn checkpoint(c: &Connection, job: &str) -> Result<Option<String>, StoreError> {
    let raw: Option<Option<String>> =
        c.query_row("SELECT checkpoint FROM job_state WHERE name = ?1", [job], |r| r.get(0)).optional()?;
    Ok(raw.flatten())
}

/// Saves a job's checkpoint (JSON text).
pub fn save_checkpoint(c: &Connection, job: &str, checkpoint: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO job_state(name, checkpoint, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(name) DO UPDATE SET checkpoint = ?2, updated_at = ?3",
        params![job, checkpoint, crate::clock::now_ms()],
    )?;
    Ok(())
}

/// How long a job's last nine finished runs took (ms), newest first.
pub fn recent_durations(c: &Connection, job: &str) -> Result<Vec<i64>, StoreError> {
    let mut q = c.prepare_cached(
        "SELECT ended_at - started_at FROM job_runs WHERE job = ?1 AND outcome = 'done' ORDER BY id DESC LIMIT 9",
    )?;
    let v = q.query_map([job], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
    Ok(v)
}

/// A job's latest run, if it ran.
pub fn last_run(c: &Connection, job: &str) -> Result<Option<RunInfo>, StoreError> {
    Ok(c.query_row(
        "SELECT id, started_at, ended_at, outcome, window, detail FROM job_runs WHERE job = ?1 ORDER BY id DESC LIMIT 1",
        [job],
        |r| {
            Ok(RunInfo {
                id: r.get(0)?,
                started_at: r.get(1)?,
                ended_at: r.get(2)?,
                outcome: r.get(3)?,
                window: r.get(4)?,
                detail: r.get(5)?,
            })
        },
    )
    .optional()?)
}

/// Records that `job` started in `window` at `now`; returns the run's id.
pub fn record_start(c: &Connection, job: &str, window: &str, now: i64) -> Result<i64, StoreError> {
    c.execute("INSERT INTO job_runs(job, started_at, window) VALUES (?1, ?2, ?3)", params![job, now, window])?;
    Ok(c.last_insert_rowid())
}

/// Records how run `id` ended.
pub fn record_end(c: &Connection, id: i64, now: i64, outcome: &str, detail: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE job_runs SET ended_at = ?1, outcome = ?2, detail = ?3 WHERE id = ?4",
        params![now, outcome, detail, id],
    )?;
    Ok(())
}

/// Deletes every recorded run (checkpoints stay).
pub(super) fn clear_runs(c: &Connection) -> Result<(), StoreError> {
    c.execute_batch("DELETE FROM job_runs;")?;
    Ok(())
}
