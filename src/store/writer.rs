//! The writer thread: the only code that writes to the database. It commits queued operations in
//! batches (one transaction each), bounded by a maximum batch size and by the flush interval.
//! It survives any record: work that panics is logged and dropped, and should the thread die
//! anyway, the queue is abandoned so no one waits on it for ever.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
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

/// Commits batches until the queue is closed and drained. `interval_ms` is the flush interval in
/// force, read for each batch (a change applies from the next one).
pub(super) fn run(mut conn: Connection, queue: &Queue, counters: &Counters, interval_ms: &AtomicU64) {
    let _abandon = AbandonOnPanic(queue, counters);
    // Gather for a few milliseconds (one wake-up per batch under load), never more than half the
    // flush interval, so the commit fits in the rest of it.
    let tick = || (Duration::from_millis(interval_ms.load(Ordering::Relaxed)) / 2).min(Duration::from_millis(5));
    while let Some(mut batch) = queue.next_batch(tick()) {
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
            Ok(Ok(ids)) => {
                counters.committed(&ids);
                break;
            }
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

/// Runs a statement without results from the connection's cache of prepared statements: the
/// per-turn savepoint is not parsed again for every turn (`Transaction::savepoint` would).
fn run_cached(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Commits `batch` in one transaction; returns the ids of the turns it recorded.
fn commit(conn: &mut Connection, batch: &[WriteOp], counters: &Counters) -> Result<Vec<i64>, StoreError> {
    let mut tx = conn.transaction()?;
    let mut ids = Vec::new();
    for op in batch {
        match op {
            WriteOp::Turn(turn) => {
                // A savepoint per turn: one bad record must not sink the batch, nor kill the writer.
                run_cached(&tx, "SAVEPOINT turn")?;
                let inserted = catch_unwind(AssertUnwindSafe(|| super::turns::insert(&tx, turn)));
                if matches!(inserted, Ok(Ok(()))) {
                    run_cached(&tx, "RELEASE turn")?;
                    ids.push(turn.id);
                    continue;
                }
                run_cached(&tx, "ROLLBACK TO turn")?;
                run_cached(&tx, "RELEASE turn")?;
                counters.lost.fetch_add(1, Ordering::Relaxed);
                match inserted {
                    Ok(Err(e)) => tracing::error!(turn = turn.id, error = %e, "turn not recorded"),
                    Err(p) => tracing::error!(
                        turn = turn.id,
                        panic = panic_text(&*p),
                        "turn not recorded: its record could not be built"
                    ),
                    Ok(Ok(())) => {}
                }
            }
            WriteOp::Prune(before) => super::turns::prune(&tx, *before)?,
            WriteOp::Barrier(_) | WriteOp::Exec(_) => {}
        }
    }
    tx.set_drop_behavior(rusqlite::DropBehavior::Commit);
    tx.commit()?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::store::Store;
    use crate::turn::TurnRecord;

    #[tokio::test]
    async fn a_turn_that_fails_midway_leaves_nothing_behind_and_its_batch_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), Duration::from_millis(50)).unwrap();
        // The second turn reuses the first one's id: its blob and its session's count are written
        // before its row is refused, and must be undone.
        let turn = TurnRecord::sample;
        for t in [turn(1, "first"), turn(1, "a clash"), turn(2, "second"), turn(1, "again"), turn(3, "third")] {
            store.record(t);
        }
        store.flush().await.unwrap();
        let (turns, session_turns, blobs) = store
            .read(|c| {
                let one = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0));
                Ok((
                    crate::store::turns::counts(c, 0)?.0,
                    one("SELECT turns FROM sessions WHERE id = 's'")?,
                    one("SELECT COUNT(*) FROM blobs WHERE body LIKE '%\"content\":\"a%'")?,
                ))
            })
            .await
            .unwrap();
        assert_eq!((turns, session_turns, blobs), (3, 3, 0), "turns, the session's count, the failed turns' blobs");
        assert_eq!(store.lost_turns(), 2);
        store.close().await;
    }
}
