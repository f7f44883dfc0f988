//! What training did, in the database (`train_runs`, `train_steps`, `train_samples`,
//! `train_serving`): runs, steps (with the checkpoints they saved), which turn went into which
//! step, and every change of the served adapter. Also the reads behind the admin API's training
//! views. Training reaches it as `train::record`.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::clock::now_ms;
use crate::train::data::Sample;

/// One training run: the work done in one window (or one manual start).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "TrainRun"))]
pub struct Run {
    pub id: i64,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub trigger: RunTrigger,
    /// Why the window was open (asleep, away, meeting, …).
    pub window: String,
    pub base_model: String,
    /// The service's id of the LoRA model trained in this run.
    pub model_id: Option<String>,
    /// The checkpoint the run started from.
    pub resumed_from: Option<String>,
    pub status: RunStatus,
    pub detail: Option<String>,
    pub steps: i64,
    pub samples: i64,
    pub mean_reward: Option<f64>,
    pub cost_usd: f64,
}

/// One optimiser step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "TrainStep"))]
pub struct Step {
    pub id: i64,
    pub run_id: i64,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub status: StepStatus,
    pub batch_size: i64,
    pub mean_reward: Option<f64>,
    pub loss: Option<f64>,
    pub tokens: i64,
    pub cost_usd: f64,
    pub duration_ms: Option<i64>,
    /// Full state (weights and optimiser), to resume from.
    pub state_path: Option<String>,
    /// Weights for sampling: what the policy upstream serves.
    pub sampler_path: Option<String>,
    pub error: Option<String>,
}

/// A change of the served adapter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ServingChange {
    pub id: i64,
    pub at: i64,
    pub model: String,
    pub step_id: Option<i64>,
    pub reason: ServingReason,
}

/// How a run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    /// In a scheduler window while the user was away.
    Window,
    /// Started by the user ("train now").
    Manual,
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "TrainRunStatus"))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Done,
    /// Stopped because the user came back; the unfinished step is redone in the next window.
    Paused,
    Failed,
    /// The engine stopped while it ran.
    Interrupted,
}

impl RunStatus {
    /// The status's wire and column form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Done => "done",
            Self::Paused => "paused",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }
}

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "TrainStepStatus"))]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Its batch is chosen, not yet applied.
    Pending,
    Done,
    /// Redone in a later run.
    Abandoned,
}

/// Why the served adapter changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ServingReason {
    /// A new step was saved.
    Step,
    /// The user chose an earlier step.
    Rollback,
    /// A step saved late (its sampler weights came after the step).
    Publish,
    /// What the engine started serving (no change recorded yet).
    Start,
}

/// Reads a status-like column through its serde name: what the recorder writes is exactly the
/// wire form, so one spelling holds for the database and the API.
fn from_text<T: serde::de::DeserializeOwned>(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<T> {
    let text = v.as_str()?;
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|e| rusqlite::types::FromSqlError::Other(format!("{text:?}: {e}").into()))
}

macro_rules! text_column {
    ($($t:ty),*) => {$(
        impl rusqlite::types::FromSql for $t {
            fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                from_text(v)
            }
        }
    )*};
}
text_column!(RunTrigger, RunStatus, StepStatus, ServingReason);

const RUN_COLS: &str = "r.id, r.started_at, r.ended_at, r.trigger, r.window, r.base_model, r.model_id, r.resumed_from,
    r.status, r.detail,
    (SELECT COUNT(*) FROM train_steps s WHERE s.run_id = r.id AND s.status = 'done'),
    (SELECT COUNT(*) FROM train_samples x JOIN train_steps s ON s.id = x.step_id WHERE s.run_id = r.id AND x.status = 'trained'),
    (SELECT AVG(s.mean_reward) FROM train_steps s WHERE s.run_id = r.id AND s.status = 'done'),
    (SELECT COALESCE(SUM(s.cost_usd), 0) FROM train_steps s WHERE s.run_id = r.id)";

fn run_row(r: &rusqlite::Row) -> rusqlite::Result<Run> {
    Ok(Run {
        id: r.get(0)?,
        started_at: r.get(1)?,
        ended_at: r.get(2)?,
        trigger: r.get(3)?,
        window: r.get(4)?,
        base_model: r.get(5)?,
        model_id: r.get(6)?,
        resumed_from: r.get(7)?,
        status: r.get(8)?,
        detail: r.get(9)?,
        steps: r.get(10)?,
        samples: r.get(11)?,
        mean_reward: r.get(12)?,
        cost_usd: r.get(13)?,
    })
}

const STEP_COLS: &str = "id, run_id, started_at, ended_at, status, batch_size, mean_reward, loss, tokens, cost_usd,
    duration_ms, state_path, sampler_path, error";

fn step_row(r: &rusqlite::Row) -> rusqlite::Result<Step> {
    Ok(Step {
        id: r.get(0)?,
        run_id: r.get(1)?,
        started_at: r.get(2)?,
        ended_at: r.get(3)?,
        status: r.get(4)?,
        batch_size: r.get(5)?,
        mean_reward: r.get(6)?,
        loss: r.get(7)?,
        tokens: r.get(8)?,
        cost_usd: r.get(9)?,
        duration_ms: r.get(10)?,
        state_path: r.get(11)?,
        sampler_path: r.get(12)?,
        error: r.get(13)?,
    })
}

pub fn start_run(
    c: &Connection,
    trigger: &str,
    window: &str,
    base_model: &str,
    resumed_from: Option<&str>,
) -> Result<i64, StoreError> {
    c.execute(
        "INSERT INTO train_runs(started_at, trigger, window, base_model, resumed_from, status) VALUES (?1, ?2, ?3, ?4, ?5, 'running')",
        params![now_ms(), trigger, window, base_model, resumed_from],
    )?;
    Ok(c.last_insert_rowid())
}

pub fn set_run_model(c: &Connection, run: i64, model_id: &str) -> Result<(), StoreError> {
    c.execute("UPDATE train_runs SET model_id = ?2 WHERE id = ?1", params![run, model_id])?;
    Ok(())
}

pub fn end_run(c: &Connection, run: i64, status: &str, detail: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE train_runs SET ended_at = ?2, status = ?3, detail = ?4 WHERE id = ?1",
        params![run, now_ms(), status, detail],
    )?;
    Ok(())
}

/// Runs left `running` by a process that stopped: they ended when it did.
pub fn close_orphans(c: &Connection) -> Result<usize, StoreError> {
    Ok(c.execute(
        "UPDATE train_runs SET ended_at = COALESCE(ended_at, started_at), status = 'interrupted',
             detail = COALESCE(detail, 'MetaClaw stopped during the run; its unfinished step is redone')
         WHERE status = 'running'",
        [],
    )?)
}

/// Chooses a batch: a pending step with its samples, and skipped turns with their reasons,
/// in one transaction. A turn already in `train_samples` makes the whole batch fail.
pub fn begin_step(c: &Connection, run: i64, batch: &[Sample], skipped: &[(i64, String)]) -> Result<i64, StoreError> {
    let tx = c;
    let now = now_ms();
    let tokens: usize = batch.iter().map(Sample::tokens).sum();
    tx.execute(
        "INSERT INTO train_steps(run_id, started_at, status, batch_size, tokens) VALUES (?1, ?2, 'pending', ?3, ?4)",
        params![run, now, batch.len() as i64, tokens as i64],
    )?;
    let step = tx.last_insert_rowid();
    {
        let mut ins = tx.prepare_cached(
            "INSERT INTO train_samples(turn_id, step_id, status, reason, reward, advantage, tokens, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for s in batch {
            ins.execute(params![
                s.turn_id,
                step,
                "batched",
                None::<String>,
                s.reward,
                s.advantage,
                s.tokens() as i64,
                now
            ])?;
        }
        for (turn, reason) in skipped {
            ins.execute(params![turn, None::<i64>, "skipped", reason, None::<f64>, None::<f64>, None::<i64>, now])?;
        }
    }
    Ok(step)
}

/// Records turns that cannot be trained on, so they are not looked at again.
pub fn skip(c: &Connection, skipped: &[(i64, String)]) -> Result<(), StoreError> {
    let tx = c;
    {
        let mut ins = tx.prepare_cached(
            "INSERT OR IGNORE INTO train_samples(turn_id, status, reason, at) VALUES (?1, 'skipped', ?2, ?3)",
        )?;
        for (turn, reason) in skipped {
            ins.execute(params![turn, reason, now_ms()])?;
        }
    }
    Ok(())
}

/// The step a stopped run left unfinished, with its turns.
pub fn pending_step(c: &Connection) -> Result<Option<(i64, Vec<i64>)>, StoreError> {
    let Some(step): Option<i64> = c
        .query_row("SELECT id FROM train_steps WHERE status = 'pending' ORDER BY id DESC LIMIT 1", [], |r| r.get(0))
        .optional()?
    else {
        return Ok(None);
    };
    let turns = c
        .prepare("SELECT turn_id FROM train_samples WHERE step_id = ?1 ORDER BY turn_id")?
        .query_map([step], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Some((step, turns)))
}

/// Moves an unfinished step's turns to a new step of `run` (the old one is abandoned).
pub fn redo_step(c: &Connection, old: i64, run: i64) -> Result<i64, StoreError> {
    let tx = c;
    let (batch, tokens): (i64, i64) =
        tx.query_row("SELECT batch_size, tokens FROM train_steps WHERE id = ?1", [old], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    tx.execute(
        "INSERT INTO train_steps(run_id, started_at, status, batch_size, tokens) VALUES (?1, ?2, 'pending', ?3, ?4)",
        params![run, now_ms(), batch, tokens],
    )?;
    let step = tx.last_insert_rowid();
    tx.execute("UPDATE train_samples SET step_id = ?2 WHERE step_id = ?1", params![old, step])?;
    tx.execute(
        "UPDATE train_steps SET status = 'abandoned', ended_at = ?2, error = 'redone as step ' || ?3 WHERE id = ?1",
        params![old, now_ms(), step],
    )?;
    Ok(step)
}

/// Forgets an unfinished step: its turns become eligible again (used when none of them can be
/// rebuilt, e.g. the tokenizer changed).
pub fn drop_step(c: &Connection, step: i64, why: &str) -> Result<(), StoreError> {
    let tx = c;
    tx.execute("DELETE FROM train_samples WHERE step_id = ?1", [step])?;
    tx.execute(
        "UPDATE train_steps SET status = 'abandoned', ended_at = ?2, error = ?3 WHERE id = ?1",
        params![step, now_ms(), why],
    )?;
    Ok(())
}

/// What a finished step measured and saved.
#[derive(Debug, Clone, Default)]
pub struct StepResult {
    pub mean_reward: f64,
    pub loss: Option<f64>,
    pub cost_usd: f64,
    pub duration_ms: i64,
    pub state_path: String,
}

/// The optimiser step is applied and its state saved: the batch's turns are trained.
pub fn commit_step(c: &Connection, step: i64, r: &StepResult) -> Result<(), StoreError> {
    let tx = c;
    tx.execute(
        "UPDATE train_steps SET status = 'done', ended_at = ?2, mean_reward = ?3, loss = ?4, cost_usd = ?5,
             duration_ms = ?6, state_path = ?7 WHERE id = ?1",
        params![step, now_ms(), r.mean_reward, r.loss, r.cost_usd, r.duration_ms, r.state_path],
    )?;
    tx.execute("UPDATE train_samples SET status = 'trained' WHERE step_id = ?1", [step])?;
    Ok(())
}

pub fn set_sampler_path(c: &Connection, step: i64, path: &str) -> Result<(), StoreError> {
    c.execute("UPDATE train_steps SET sampler_path = ?2 WHERE id = ?1", params![step, path])?;
    Ok(())
}

pub fn note_step_error(c: &Connection, step: i64, error: &str) -> Result<(), StoreError> {
    c.execute("UPDATE train_steps SET error = ?2 WHERE id = ?1", params![step, error])?;
    Ok(())
}

/// The checkpoint training of `base_model` continues from: the newest done step, unless the
/// user rolled back to an older one since. Checkpoints of other base models never qualify.
pub fn head(c: &Connection, base_model: &str) -> Result<Option<Step>, StoreError> {
    let cols: Vec<String> = STEP_COLS.split(',').map(|c| format!("s.{}", c.trim())).collect();
    let cols = cols.join(", ");
    let newest: Option<Step> = c
        .query_row(
            &format!(
                "SELECT {cols} FROM train_steps s JOIN train_runs r ON r.id = s.run_id
                 WHERE s.status = 'done' AND s.state_path IS NOT NULL AND r.base_model = ?1 ORDER BY s.id DESC LIMIT 1"
            ),
            [base_model],
            step_row,
        )
        .optional()?;
    let rollback: Option<(i64, i64)> = c
        .query_row(
            "SELECT v.at, v.step_id FROM train_serving v JOIN train_steps s ON s.id = v.step_id
               JOIN train_runs r ON r.id = s.run_id
             WHERE v.reason = 'rollback' AND r.base_model = ?1 ORDER BY v.id DESC LIMIT 1",
            [base_model],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match (newest, rollback) {
        (Some(n), Some((at, step))) if n.ended_at.unwrap_or(0) <= at => get_step(c, step),
        (newest, _) => Ok(newest),
    }
}

/// The base model a step was trained from.
pub fn base_of(c: &Connection, step: i64) -> Result<Option<String>, StoreError> {
    Ok(c.query_row(
        "SELECT r.base_model FROM train_steps s JOIN train_runs r ON r.id = s.run_id WHERE s.id = ?1",
        [step],
        |r| r.get(0),
    )
    .optional()?)
}

pub fn get_step(c: &Connection, id: i64) -> Result<Option<Step>, StoreError> {
    Ok(c.query_row(&format!("SELECT {STEP_COLS} FROM train_steps WHERE id = ?1"), [id], step_row).optional()?)
}

pub fn record_serving(c: &Connection, model: &str, step: Option<i64>, reason: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO train_serving(at, model, step_id, reason) VALUES (?1, ?2, ?3, ?4)",
        params![now_ms(), model, step, reason],
    )?;
    Ok(())
}

/// The adapter served last (survives restarts).
pub fn served(c: &Connection) -> Result<Option<ServingChange>, StoreError> {
    Ok(c.query_row(
        "SELECT id, at, model, step_id, reason FROM train_serving ORDER BY id DESC LIMIT 1",
        [],
        serving_row,
    )
    .optional()?)
}

fn serving_row(r: &rusqlite::Row) -> rusqlite::Result<ServingChange> {
    Ok(ServingChange { id: r.get(0)?, at: r.get(1)?, model: r.get(2)?, step_id: r.get(3)?, reason: r.get(4)? })
}

pub fn serving_history(c: &Connection, limit: u32) -> Result<Vec<ServingChange>, StoreError> {
    Ok(c.prepare("SELECT id, at, model, step_id, reason FROM train_serving ORDER BY id DESC LIMIT ?1")?
        .query_map([limit], serving_row)?
        .collect::<Result<_, _>>()?)
}

/// Steps done and estimated spend since `since_ms`.
pub fn usage_since(c: &Connection, since_ms: i64) -> Result<(i64, f64), StoreError> {
    Ok(c.query_row(
        "SELECT COUNT(*), COALESCE(SUM(cost_usd), 0) FROM train_steps WHERE status = 'done' AND started_at >= ?1",
        [since_ms],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

pub fn runs(c: &Connection, limit: u32, before: Option<i64>) -> Result<Vec<Run>, StoreError> {
    Ok(c.prepare(&format!("SELECT {RUN_COLS} FROM train_runs r WHERE r.id < ?2 ORDER BY r.id DESC LIMIT ?1"))?
        .query_map(params![limit, before.unwrap_or(i64::MAX)], run_row)?
        .collect::<Result<_, _>>()?)
}

pub fn get_run(c: &Connection, id: i64) -> Result<Option<Run>, StoreError> {
    Ok(c.query_row(&format!("SELECT {RUN_COLS} FROM train_runs r WHERE r.id = ?1"), [id], run_row).optional()?)
}

pub fn steps_of(c: &Connection, run: i64) -> Result<Vec<Step>, StoreError> {
    Ok(c.prepare(&format!("SELECT {STEP_COLS} FROM train_steps WHERE run_id = ?1 ORDER BY id"))?
        .query_map([run], step_row)?
        .collect::<Result<_, _>>()?)
}

/// Steps with a saved state, newest first: the checkpoints one can roll back to.
pub fn checkpoints(c: &Connection, limit: u32) -> Result<Vec<Step>, StoreError> {
    Ok(c.prepare(&format!(
        "SELECT {STEP_COLS} FROM train_steps WHERE status = 'done' AND state_path IS NOT NULL ORDER BY id DESC LIMIT ?1"
    ))?
    .query_map([limit], step_row)?
    .collect::<Result<_, _>>()?)
}

/// The turns of a step.
pub fn samples_of(c: &Connection, step: i64) -> Result<Vec<(i64, f64, f64)>, StoreError> {
    Ok(c.prepare("SELECT turn_id, COALESCE(reward, 0), COALESCE(advantage, 0) FROM train_samples WHERE step_id = ?1 ORDER BY turn_id")?
        .query_map([step], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?)
}

/// Counts by sample status, and skip reasons with counts.
pub fn sample_counts(c: &Connection) -> Result<crate::train::Samples, StoreError> {
    let (trained, skipped): (i64, i64) = c.query_row(
        "SELECT COALESCE(SUM(status = 'trained'), 0), COALESCE(SUM(status = 'skipped'), 0) FROM train_samples",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let skip_reasons = c
        .prepare(
            "SELECT reason, COUNT(*) FROM train_samples WHERE status = 'skipped' GROUP BY reason ORDER BY 2 DESC LIMIT 10",
        )?
        .query_map([], |r| Ok((r.get::<_, Option<String>>(0)?.unwrap_or_default(), r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(crate::train::Samples { trained, skipped, skip_reasons })
}

/// How long the last nine finished steps took (ms), newest first.
pub fn recent_step_durations(c: &Connection) -> Result<Vec<i64>, StoreError> {
    let mut q = c.prepare(
        "SELECT duration_ms FROM train_steps WHERE status = 'done' AND duration_ms IS NOT NULL ORDER BY id DESC LIMIT 9",
    )?;
    let v = q.query_map([], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
    Ok(v)
}
