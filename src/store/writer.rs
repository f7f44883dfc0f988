//! The writer thread: the only code that writes to the database. It commits queued operations in
//! batches (one transaction each), bounded by a maximum batch size and by the flush interval.
//! It survives any record: work that panics is logged and dropped, and should the thread die
//! anyway, the queue is abandoned so no one waits on it for ever.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::queue::Queue;
use super::{Counters, StoreError, WriteOp};
use rusqlite::Connection;

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
                match catch_unwind(AssertUnwindSafe(|| super::turns::insert(&sp, turn))) {
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
            WriteOp::Prune(before) => super::turns::prune(&tx, *before)?,
            WriteOp::Barrier(_) | WriteOp::Exec(_) => {}
        }
    }
    tx.set_drop_behavior(rusqlite::DropBehavior::Commit);
    tx.commit()?;
    Ok(())
}
