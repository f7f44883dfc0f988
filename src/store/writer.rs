//! The writer thread: the only code that writes to the database. It commits queued operations in
//! batches (one transaction each), bounded by a maximum batch size and by the flush interval.
//! It survives any record: work that panics is logged and dropped, and should the thread die
//! anyway, the queue is abandoned so no one waits on it for ever.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::queue::Queue;
use super::{Counters, StoreError, WriteOp};
use crate::transcript::Transcript;
use crate::turn::{RawResponse, TurnRecord, TurnStatus};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::Value;

const MAX_ERROR_BODY: usize = 64 * 1024;

/// What a caught panic said.
fn panic_text(p: &(dyn std::any::Any + Send)) -> &str {
    p.downcast_ref::<&str>().copied().or_else(|| p.downcast_ref::<String>().map(String::as_str)).unwrap_or("a panic")
}

/// Abandons the queue if the writer thread unwinds, so waiters get an error, not a hang.
pub(super) struct AbandonOnPanic<'a>(pub(super) &'a Queue, pub(super) &'a Counters);

impl Drop for AbandonOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let turns = self.0.abandon();
            self.1.lost.fetch_add(turns, Ordering::Relaxed);
            tracing::error!(turns, "the database writer stopped unexpectedly; later writes are refused");
        }
    }
}

pub(super) fn run(mut conn: Connection, queue: &Queue, counters: &Counters, interval: Duration) {
    let _abandon = AbandonOnPanic(queue, counters);
    // Gather for a few milliseconds (one wake-up per batch under load), never more than half the
    // flush interval, so the commit fits in the rest of it.
    let tick = (interval / 2).min(Duration::from_millis(5));
    while let Some(mut batch) = queue.next_batch(tick) {
        commit_with_retry(&mut conn, &mut batch, counters);
    }
    tracing::debug!("store writer stopped");
}

fn commit_with_retry(conn: &mut Connection, batch: &mut Vec<WriteOp>, counters: &Counters) {
    let mut execs = Vec::new();
    batch.retain_mut(|op| match op {
        WriteOp::Exec(_) => {
            execs.push(std::mem::replace(op, WriteOp::Prune(i64::MIN)));
            false
        }
        _ => true,
    });
    let turns = batch.iter().filter(|op| matches!(op, WriteOp::Turn(_))).count() as u64;
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=6 {
        let outcome = catch_unwind(AssertUnwindSafe(|| commit(conn, batch, counters)));
        match outcome {
            Ok(Ok(())) => break,
            Err(p) => {
                // Not worth retrying: the same batch would fail the same way.
                counters.lost.fetch_add(turns, Ordering::Relaxed);
                tracing::error!(panic = panic_text(&*p), turns, "database commit failed; these turns are lost");
                break;
            }
            Ok(Err(e)) if attempt < 6 => {
                tracing::warn!(error = %e, attempt, "database commit failed; retrying");
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Ok(Err(e)) => {
                counters.lost.fetch_add(turns, Ordering::Relaxed);
                tracing::error!(error = %e, turns, "database commit failed; these turns are lost")
            }
        }
    }
    counters.queued.fetch_sub(turns, Ordering::Relaxed);
    for op in execs {
        if let WriteOp::Exec(f) = op {
            // A panicking write drops its reply: its caller gets an error, the writer goes on.
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| f(conn))) {
                tracing::error!(panic = panic_text(&*p), "a database write failed unexpectedly; dropped");
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
            }
        }
    }
    for op in batch.drain(..) {
        if let WriteOp::Barrier(tx) = op {
            let _ = tx.send(());
        }
    }
}

fn commit(conn: &mut Connection, batch: &[WriteOp], counters: &Counters) -> Result<(), StoreError> {
    let mut tx = conn.transaction()?;
    for op in batch {
        match op {
            WriteOp::Turn(turn) => {
                // A savepoint per turn: one bad record must not sink the batch, nor kill the writer.
                let sp = tx.savepoint()?;
                match catch_unwind(AssertUnwindSafe(|| insert_turn(&sp, turn))) {
                    Ok(Ok(())) => sp.commit()?,
                    Ok(Err(e)) => {
                        counters.lost.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(turn = turn.id, error = %e, "turn not recorded")
                    }
                    Err(p) => {
                        counters.lost.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(
                            turn = turn.id,
                            panic = panic_text(&*p),
                            "turn not recorded: its record could not be built"
                        )
                    }
                }
            }
            WriteOp::Prune(before) => prune(&tx, *before)?,
            WriteOp::Barrier(_) | WriteOp::Exec(_) => {}
        }
    }
    tx.set_drop_behavior(rusqlite::DropBehavior::Commit);
    tx.commit()?;
    Ok(())
}

/// Content hash used for message blobs and for session inference.
pub fn hash_json(v: &Value) -> (u128, String) {
    let text = serde_json::to_string(v).expect("JSON values serialise");
    (xxhash_rust::xxh3::xxh3_128(text.as_bytes()), text)
}

fn put_blob(tx: &Connection, v: &Value) -> Result<String, StoreError> {
    let (h, text) = hash_json(v);
    let hash = format!("{h:032x}");
    tx.prepare_cached("INSERT OR IGNORE INTO blobs(hash, body) VALUES (?1, ?2)")?.execute(params![hash, text])?;
    Ok(hash)
}

fn insert_turn(tx: &Connection, t: &TurnRecord) -> Result<(), StoreError> {
    let mut hashes = Vec::new();
    if let Some(msgs) = t.request.get("messages").and_then(Value::as_array) {
        for m in msgs {
            hashes.push(put_blob(tx, m)?);
        }
    }
    let params_hash = match &t.request {
        Value::Object(map) => {
            let rest: serde_json::Map<String, Value> =
                map.iter().filter(|(k, _)| k.as_str() != "messages").map(|(k, v)| (k.clone(), v.clone())).collect();
            Some(put_blob(tx, &Value::Object(rest))?)
        }
        _ => None,
    };

    let transcript = match (&t.response, t.status) {
        (RawResponse::Json(b), TurnStatus::Ok) => Transcript::from_json(b),
        (RawResponse::AnthropicJson(b), TurnStatus::Ok) => Transcript::from_anthropic_json(b),
        (RawResponse::Stream(chunks), _) => Some(Transcript::from_sse(chunks)),
        (RawResponse::AnthropicStream(chunks), _) => Some(Transcript::from_anthropic_sse(chunks)),
        _ => None,
    };
    let error_body = match (&t.response, t.status) {
        (RawResponse::Json(b) | RawResponse::AnthropicJson(b), s) if s != TurnStatus::Ok => {
            let b = &b[..b.len().min(MAX_ERROR_BODY)];
            Some(String::from_utf8_lossy(b).into_owned())
        }
        _ => None,
    };

    let turn_index: i64 = tx
        .prepare_cached(
            "INSERT INTO sessions(id, source, started_at, last_at, turns, done_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)
             ON CONFLICT(id) DO UPDATE SET last_at = MAX(last_at, excluded.last_at), turns = turns + 1,
                 done_at = excluded.done_at
             RETURNING turns",
        )?
        .query_row(
            params![
                t.session_id,
                t.session_source.as_str(),
                t.started_at_ms,
                t.finished_at_ms,
                t.session_done.then_some(t.finished_at_ms)
            ],
            |r| r.get(0),
        )?;

    // Tool calls past the bound are not kept; the record says so where the user looks for trouble.
    let error = match transcript.as_ref().map(|tr| tr.ignored_tool_deltas).filter(|n| *n > 0) {
        Some(n) => {
            let note = format!(
                "{n} tool-call deltas had an index of {} or more and were not recorded",
                crate::transcript::MAX_TOOL_CALLS
            );
            Some(t.error.as_ref().map_or(note.clone(), |e| format!("{e}; {note}")))
        }
        None => t.error.clone(),
    };

    let (text, reasoning, tool_calls, finish, usage) = match &transcript {
        Some(tr) => (
            Some(tr.text.as_str()),
            (!tr.reasoning.is_empty()).then_some(tr.reasoning.as_str()),
            (!tr.tool_calls.is_empty()).then(|| serde_json::to_string(&tr.tool_calls).expect("serialises")),
            tr.finish_reason.as_deref(),
            tr.usage,
        ),
        None => (None, None, None, None, Default::default()),
    };

    tx.prepare_cached(
        "INSERT INTO turns(id, session_id, turn_index, turn_type, protocol, upstream, model, stream,
            started_at, finished_at, status, http_status, error, latency_ms, upstream_ms, overhead_ms,
            message_hashes, params_hash, response_text, reasoning_text, tool_calls, finish_reason,
            prompt_tokens, completion_tokens, total_tokens, error_body, skills, generation, attempts, policy_model)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
            ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30)",
    )?
    .execute(params![
        t.id,
        t.session_id,
        turn_index,
        t.turn_type.as_str(),
        t.protocol,
        t.upstream,
        t.model,
        t.stream,
        t.started_at_ms,
        t.finished_at_ms,
        t.status.as_str(),
        t.http_status,
        error,
        t.latency_ms,
        t.upstream_ms,
        t.overhead_ms,
        serde_json::to_string(&hashes).expect("serialises"),
        params_hash,
        text,
        reasoning,
        tool_calls,
        finish,
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.total_tokens,
        error_body,
        serde_json::to_string(&t.skills).expect("serialises"),
        t.generation,
        t.attempts,
        t.policy_model,
    ])?;
    if let Some(tr) = transcript.as_ref().filter(|tr| !tr.sampled.is_empty() && t.status == TurnStatus::Ok) {
        tx.prepare_cached("INSERT OR REPLACE INTO turn_sampled(turn_id, tokens) VALUES (?1, ?2)")?
            .execute(params![t.id, serde_json::to_string(&tr.sampled).expect("serialises")])?;
    }
    Ok(())
}

fn prune(tx: &Transaction, before_ms: i64) -> Result<(), StoreError> {
    let turns = tx.execute("DELETE FROM turns WHERE started_at < ?1", [before_ms])?;
    if turns == 0 {
        return Ok(());
    }
    tx.execute(
        "DELETE FROM sessions WHERE last_at < ?1 AND NOT EXISTS (SELECT 1 FROM turns WHERE turns.session_id = sessions.id)",
        [before_ms],
    )?;
    let blobs = tx.execute(
        "DELETE FROM blobs WHERE hash NOT IN (
            SELECT j.value FROM turns, json_each(turns.message_hashes) AS j
            UNION SELECT params_hash FROM turns WHERE params_hash IS NOT NULL)",
        [],
    )?;
    let oldest: Option<i64> = tx.query_row("SELECT MIN(started_at) FROM turns", [], |r| r.get(0)).optional()?.flatten();
    tracing::info!(turns, blobs, ?oldest, "retention: old turns deleted");
    Ok(())
}
