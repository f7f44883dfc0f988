//! The judge's tables: its queue of jobs (`judge_jobs`, one per successful `main` turn) and the
//! turns' scores (`turn_scores`, the judge's or the user's). The judge asks for due turns and
//! records votes here; it never names a column.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::read::{JudgeCounts, Judgement};
use super::turns::{self, JUDGEABLE_AFTER, LATER_MAIN_EXISTS, NEXT_MAIN_HASHES};
use super::{Store, StoreError};
use crate::clock::now_ms;
use crate::judge::JudgeStatus;

/// A turn whose job is due, with what the judge is shown.
#[derive(Debug, Clone)]
pub struct DueTurn {
    pub turn_id: i64,
    pub upstream: String,
    /// The messages as sent upstream.
    pub messages: Vec<Value>,
    pub response_text: String,
    /// The tool calls made (JSON), if any.
    pub tool_calls: Option<String>,
    /// The messages of the session's next `main` turn: the user's reaction, if there is one yet.
    pub next_messages: Option<Vec<Value>>,
}

/// A judgement attempt that got no valid vote.
#[derive(Debug, Clone)]
pub struct FailedAttempt {
    pub turn_id: i64,
    /// When to try again (ms).
    pub not_before: i64,
    /// The job is given up.
    pub give_up: bool,
    pub error: String,
    /// `unavailable`, `unparseable` or `timed out`.
    pub outcome: &'static str,
    /// The raw answers (JSON list), when any call answered.
    pub answers: Option<String>,
    pub unparseable: i64,
    pub timed_out: i64,
}

/// A judgement with a majority.
#[derive(Debug, Clone)]
pub struct Scored {
    pub turn_id: i64,
    pub score: i64,
    /// The valid votes (JSON list).
    pub votes: String,
    pub reason: String,
    /// The raw answers (JSON list).
    pub answers: String,
    pub unparseable: i64,
    pub timed_out: i64,
}

/// Due jobs: not scored yet, past their retry time, and the user answered, the session ended or
/// the judge waited `wait_ms` for that. `?1` is now, `?2` the wait.
const DUE: &str = "j.status = 'pending' AND j.not_before <= ?1
    AND NOT EXISTS (SELECT 1 FROM turn_scores sc WHERE sc.turn_id = t.id)
    AND (s.done_at IS NOT NULL OR t.finished_at <= ?1 - ?2 OR ";

fn due_clause() -> String {
    format!("{DUE}{LATER_MAIN_EXISTS})")
}

impl Store {
    /// Where the judge's queue ends: the last turn queued, or (on a first start) the latest
    /// turn, so history is not judged after the fact.
    pub async fn judge_queue_cursor(&self) -> Result<i64, StoreError> {
        self.read(|c| {
            let judged: Option<i64> = c.query_row("SELECT MAX(turn_id) FROM judge_jobs", [], |r| r.get(0))?;
            Ok(match judged {
                Some(j) => j,
                None => turns::max_id(c)?.unwrap_or(0),
            })
        })
        .await
    }

    /// Makes waiting jobs due now (a restart retries them at once).
    pub async fn judge_queue_retry_now(&self) -> Result<usize, StoreError> {
        self.write(|c| {
            Ok(c.execute(
                "UPDATE judge_jobs SET not_before = MIN(not_before, ?1) WHERE status = 'pending'",
                [now_ms()],
            )?)
        })
        .await
    }

    /// Queues the successful `main` turns recorded after `cursor`; returns the new cursor.
    pub async fn judge_queue_add(&self, cursor: i64) -> Result<i64, StoreError> {
        self.write(move |c| {
            c.execute(
                &format!(
                    "INSERT OR IGNORE INTO judge_jobs(turn_id, status, attempts, not_before, updated_at)
                     SELECT id, 'pending', 0, finished_at, ?2 FROM ({JUDGEABLE_AFTER})"
                ),
                params![cursor, now_ms()],
            )?;
            Ok(turns::max_id(c)?.unwrap_or(cursor))
        })
        .await
    }

    /// The next due turns, oldest first, at most `limit` (see [`DUE`]).
    pub async fn judge_queue_next(&self, wait_ms: i64, limit: i64) -> Result<Vec<DueTurn>, StoreError> {
        self.read(move |c| {
            let mut st = c.prepare(&format!(
                "SELECT t.id, t.upstream, t.message_hashes, COALESCE(t.response_text, ''), t.tool_calls, {NEXT_MAIN_HASHES}
                 FROM judge_jobs j JOIN turns t ON t.id = j.turn_id JOIN sessions s ON s.id = t.session_id
                 WHERE {} ORDER BY t.id LIMIT ?3",
                due_clause()
            ))?;
            let rows = st
                .query_map(params![now_ms(), wait_ms, limit], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (turn_id, upstream, hashes, response_text, tool_calls, next) in rows {
                out.push(DueTurn {
                    turn_id,
                    upstream,
                    messages: turns::load_messages(c, &hashes)?,
                    response_text,
                    tool_calls,
                    next_messages: next.map(|h| turns::load_messages(c, &h)).transpose()?,
                });
            }
            Ok(out)
        })
        .await
    }

    /// Whether a turn is due (as [`Store::judge_queue_next`] picks them).
    pub async fn judge_queue_has_due(&self, wait_ms: i64) -> Result<bool, StoreError> {
        self.read(move |c| {
            Ok(c.query_row(
                &format!(
                    "SELECT EXISTS(SELECT 1 FROM judge_jobs j JOIN turns t ON t.id = j.turn_id JOIN sessions s ON s.id = t.session_id
                     WHERE {})",
                    due_clause()
                ),
                params![now_ms(), wait_ms],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Records an attempt without a valid vote; `attempt` gets the attempts made so far (to
    /// back off and to decide whether to give up). Returns whether the job was given up.
    pub async fn judge_record_failure<F>(&self, turn_id: i64, attempt: F) -> Result<bool, StoreError>
    where
        F: FnOnce(i64) -> FailedAttempt + Send + 'static,
    {
        self.write(move |c| {
            let attempts: i64 =
                c.query_row("SELECT attempts FROM judge_jobs WHERE turn_id = ?1", [turn_id], |r| r.get(0))?;
            let a = attempt(attempts);
            c.execute(
                "UPDATE judge_jobs SET attempts = attempts + 1, not_before = ?2, last_error = ?3, status = ?4, updated_at = ?5,
                    outcome = ?6, last_answer = COALESCE(?7, last_answer), unparseable = unparseable + ?8, timed_out = timed_out + ?9
                 WHERE turn_id = ?1",
                params![
                    turn_id,
                    a.not_before,
                    a.error,
                    if a.give_up { "failed" } else { "pending" },
                    now_ms(),
                    a.outcome,
                    a.answers,
                    a.unparseable,
                    a.timed_out
                ],
            )?;
            Ok(a.give_up)
        })
        .await
    }

    /// Records the judge's score and closes the job; the user's own feedback, if any, stays.
    /// Returns whether the score was recorded.
    pub async fn judge_record_score(&self, s: Scored) -> Result<bool, StoreError> {
        self.write(move |c| {
            let n = c.execute(
                "INSERT OR IGNORE INTO turn_scores(turn_id, score, source, votes, reason, created_at) VALUES (?1, ?2, 'judge', ?3, ?4, ?5)",
                params![s.turn_id, s.score, s.votes, s.reason, now_ms()],
            )?;
            if n > 0 {
                super::effect::rescore(c, s.turn_id, None, Some(s.score))?;
            }
            c.execute(
                "UPDATE judge_jobs SET status = 'done', attempts = attempts + 1, updated_at = ?2, last_error = NULL, outcome = 'scored',
                    last_answer = ?3, unparseable = unparseable + ?4, timed_out = timed_out + ?5
                 WHERE turn_id = ?1",
                params![s.turn_id, now_ms(), s.answers, s.unparseable, s.timed_out],
            )?;
            Ok(n > 0)
        })
        .await
    }

    /// Records the user's verdict on a turn, replacing the judge's (its votes and reason go) and
    /// closing its job. Returns false when there is no such turn.
    pub async fn record_user_score(&self, turn_id: i64, score: i64, note: Option<String>) -> Result<bool, StoreError> {
        self.write(move |c| {
            if !turns::exists(c, turn_id)? {
                return Ok(false);
            }
            let old: Option<i64> = c
                .query_row("SELECT score FROM turn_scores WHERE turn_id = ?1", [turn_id], |r| r.get(0))
                .optional()?;
            super::effect::rescore(c, turn_id, old, Some(score))?;
            c.execute(
                "INSERT INTO turn_scores(turn_id, score, source, votes, reason, note, created_at) VALUES (?1, ?2, 'user', NULL, NULL, ?3, ?4)
                 ON CONFLICT(turn_id) DO UPDATE SET score = excluded.score, source = 'user', note = excluded.note,
                    votes = NULL, reason = NULL, created_at = excluded.created_at",
                params![turn_id, score, note, now_ms()],
            )?;
            c.execute("UPDATE judge_jobs SET status = 'done', updated_at = ?2 WHERE turn_id = ?1", params![turn_id, now_ms()])?;
            Ok(true)
        })
        .await
    }
}

/// How turn `id` was scored, if it was.
pub fn judgement(conn: &Connection, id: i64) -> Result<Option<Judgement>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT score, source, votes, reason, note, created_at FROM turn_scores WHERE turn_id = ?1",
            [id],
            |r| {
                Ok(Judgement {
                    score: r.get(0)?,
                    source: r.get(1)?,
                    votes: r.get::<_, Option<String>>(2)?.and_then(|v| serde_json::from_str(&v).ok()),
                    reason: r.get(3)?,
                    note: r.get(4)?,
                    created_at: r.get(5)?,
                })
            },
        )
        .optional()?)
}

/// The user's note on turn `id`, if the user scored it.
pub fn user_note(conn: &Connection, id: i64) -> Result<Option<Option<String>>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT note FROM turn_scores WHERE turn_id = ?1 AND source = 'user'")?
        .query_row([id], |r| r.get::<_, Option<String>>(0))
        .optional()?)
}

/// The queue's size by state, and how many turns are scored.
pub fn judge_counts(conn: &Connection) -> Result<JudgeCounts, StoreError> {
    Ok(conn.query_row(
        "SELECT (SELECT COUNT(*) FROM judge_jobs WHERE status = 'pending'), (SELECT COUNT(*) FROM judge_jobs WHERE status = 'done'),
                (SELECT COUNT(*) FROM judge_jobs WHERE status = 'failed'), (SELECT COUNT(*) FROM turn_scores)",
        [],
        |r| Ok(JudgeCounts { pending: r.get(0)?, done: r.get(1)?, failed: r.get(2)?, scored: r.get(3)? }),
    )?)
}

/// The queue and how the judge's answers went, as recorded (`last_answer` is the last attempt's
/// raw answers as a JSON list; `problem` is left for the judge to say).
pub fn judge_status(c: &Connection) -> Result<JudgeStatus, StoreError> {
    Ok(c.query_row(
        "SELECT (SELECT COUNT(*) FROM judge_jobs WHERE status = 'pending'), (SELECT COUNT(*) FROM judge_jobs WHERE status = 'done'),
            (SELECT COUNT(*) FROM judge_jobs WHERE status = 'failed'), (SELECT COUNT(*) FROM turn_scores),
            (SELECT COUNT(*) FROM turn_scores WHERE source = 'judge'),
            (SELECT COUNT(*) FROM judge_jobs WHERE status != 'done' AND outcome = 'unparseable'),
            (SELECT COUNT(*) FROM judge_jobs WHERE status != 'done' AND outcome = 'timed out'),
            (SELECT COALESCE(SUM(unparseable), 0) FROM judge_jobs), (SELECT COALESCE(SUM(timed_out), 0) FROM judge_jobs),
            (SELECT last_error FROM judge_jobs WHERE last_error IS NOT NULL ORDER BY updated_at DESC, turn_id DESC LIMIT 1),
            (SELECT last_answer FROM judge_jobs WHERE last_answer IS NOT NULL ORDER BY updated_at DESC, turn_id DESC LIMIT 1)",
        [],
        |r| {
            Ok(JudgeStatus {
                pending: r.get(0)?,
                done: r.get(1)?,
                failed: r.get(2)?,
                scored: r.get(3)?,
                scored_by_judge: r.get(4)?,
                unparseable: r.get(5)?,
                timed_out: r.get(6)?,
                unparseable_answers: r.get(7)?,
                timed_out_answers: r.get(8)?,
                last_error: r.get(9)?,
                last_answer: r.get::<_, Option<String>>(10)?,
                problem: None,
            })
        },
    )?)
}

/// Deletes every score and every job.
pub(super) fn clear(c: &Connection) -> Result<(), StoreError> {
    c.execute_batch("DELETE FROM turn_scores; DELETE FROM judge_jobs;")?;
    Ok(())
}

/// When the judge first scored a turn (ms), if it has; the first row by turn, not a scan.
pub fn first_judged_at(c: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(c.query_row("SELECT created_at FROM turn_scores WHERE source = 'judge' ORDER BY turn_id LIMIT 1", [], |r| {
        r.get(0)
    })
    .optional()?)
}
