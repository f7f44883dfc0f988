//! The store: one SQLite database (WAL) holding sessions and turns.
//!
//! Writes go through a channel to one writer thread that commits in batches, so the proxy never
//! waits on disk. Reads use their own connection on the blocking pool. Committed turns survive a
//! crash of the process (WAL with `synchronous = NORMAL`); a clean shutdown drains the queue.
//!
//! This module is the handle ([`Store`]): opening, queueing writes, reads. Its own children: the
//! database file ([`file`]), turn ids ([`ids`]), upkeep ([`maintenance`]), the write queue and
//! the writer thread; each table's SQL is in the module named after it.

pub mod archive;
pub mod calendars;
pub mod candidates;
pub mod curate;
pub mod effect;
pub mod evolution;
mod file;
pub mod generations;
mod ids;
pub mod inflight;
pub mod judge;
mod maintenance;
pub mod meta;
mod queue;
pub mod read;
pub mod scheduler;
mod schema;
pub mod sessions;
pub mod skills;
pub mod training;
pub mod turns;
mod writer;
pub use turns::{content_hash, hash_json};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use file::open_conn;
#[cfg(unix)]
use file::restrict_mode;
use ids::Ids;
use queue::Queue;

pub use inflight::InFlight;
pub use read::{InferredSessionSeed, SessionRow, TurnDetail, TurnFilter, TurnPage, TurnSummary};
pub use schema::CURRENT_VERSION as SCHEMA_VERSION;

use crate::turn::TurnRecord;

/// Store failures, with the database path where it helps.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot open database {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("the database was written by a newer MetaClaw (schema {found}; this build knows up to {supported}); upgrade MetaClaw")]
    TooNew { found: i64, supported: i64 },
    #[error("the store is shut down")]
    Closed,
    #[error("the database writer dropped this write (see the log)")]
    Dropped,
    #[error("database task failed: {0}")]
    Task(String),
}

enum WriteOp {
    Turn(Box<TurnRecord>),
    /// Delete turns started before this time (ms), and what only they referenced.
    Prune(i64),
    /// Answered once everything queued before it is committed.
    Barrier(oneshot::Sender<()>),
    /// Any other write: run on the writer thread in its own transaction, after the batch's turns.
    Exec(Box<dyn FnOnce(&mut Connection) + Send>),
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    queue: Arc<Queue>,
    reader: Arc<Mutex<Connection>>,
    ids: Mutex<Ids>,
    counters: Arc<Counters>,
    /// Most turns queued and not yet committed; past this (the disk is full or stuck) new turns
    /// are dropped and counted instead of piling up in memory.
    max_queued: u64,
    in_flight: Arc<InFlight>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The flush interval in force (milliseconds), read by the writer for each batch.
    flush_ms: Arc<AtomicU64>,
}

/// Counts shared with the writer thread.
#[derive(Default)]
pub(crate) struct Counters {
    /// Turns handed to the writer and not yet committed (or given up on).
    pub queued: AtomicU64,
    /// Turns that could not be recorded since the store opened.
    pub lost: AtomicU64,
    /// Ids of the turns committed since their reader last took them (see [`Store::take_committed`]).
    pub committed: std::sync::Mutex<Committed>,
}

/// Ids of turns committed since they were last taken, in commit order, so a follower of new
/// turns reads each once instead of scanning for late ones. At most [`MAX_COMMITTED`] are kept:
/// past that, `overflowed` says some are missing and the reader must scan.
#[derive(Debug, Default)]
pub struct Committed {
    pub ids: Vec<i64>,
    pub overflowed: bool,
}

/// Most committed turn ids kept for a reader that does not take them.
pub const MAX_COMMITTED: usize = 1 << 16;

impl Counters {
    /// Notes turns the writer has just committed.
    pub(crate) fn committed(&self, ids: &[i64]) {
        let mut c = self.committed.lock().unwrap_or_else(|p| p.into_inner());
        if c.ids.len() + ids.len() > MAX_COMMITTED {
            c.overflowed = true;
            return;
        }
        c.ids.extend_from_slice(ids);
    }
}

/// Most turns waiting for the writer before new ones are dropped (see [`Inner::max_queued`]).
pub const MAX_QUEUED_TURNS: u64 = 4096;
/// A flush interval in whole milliseconds, at least one.
fn interval_ms(interval: Duration) -> u64 {
    u64::try_from(interval.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `path` and starts the writer.
    pub fn open(path: &Path, flush_interval: Duration) -> Result<Self, StoreError> {
        #[cfg(unix)]
        restrict_mode(path)?;
        let mut conn = open_conn(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        schema::migrate(&mut conn)?;
        let ids = Ids::reserve_first(&conn)?;
        let reader = open_conn(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;

        let queue = Arc::new(Queue::default());
        let counters = Arc::new(Counters::default());
        let flush_ms = Arc::new(AtomicU64::new(interval_ms(flush_interval)));
        let (q, c, f) = (queue.clone(), counters.clone(), flush_ms.clone());
        let handle = std::thread::Builder::new()
            .name("metaclaw-store".into())
            .spawn(move || writer::run(conn, &q, &c, &f))
            .map_err(|e| StoreError::Task(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.into(),
                queue,
                reader: Arc::new(Mutex::new(reader)),
                ids: Mutex::new(ids),
                counters,
                max_queued: MAX_QUEUED_TURNS,
                in_flight: Arc::default(),
                writer: Mutex::new(Some(handle)),
                flush_ms,
            }),
        })
    }

    /// Changes the flush interval (the longest a queued turn waits before its commit starts);
    /// the writer uses it from its next batch.
    pub fn set_flush_interval(&self, interval: Duration) {
        self.inner.flush_ms.store(interval_ms(interval), Ordering::Relaxed);
    }

    /// The flush interval in force.
    pub fn flush_interval(&self) -> Duration {
        Duration::from_millis(self.inner.flush_ms.load(Ordering::Relaxed))
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }
    /// Turns handed to the writer and not yet committed.
    pub fn pending_writes(&self) -> u64 {
        self.inner.counters.queued.load(Ordering::Relaxed)
    }

    /// Turns that could not be recorded since the store opened (queue full, commit failed, bad
    /// record, or finished after the store closed).
    pub fn lost_turns(&self) -> u64 {
        self.inner.counters.lost.load(Ordering::Relaxed)
    }

    /// The turns in flight, which a clean shutdown waits for.
    pub fn in_flight(&self) -> &Arc<InFlight> {
        &self.inner.in_flight
    }

    fn send(&self, op: WriteOp) -> Result<(), StoreError> {
        let turn = matches!(op, WriteOp::Turn(_));
        if turn {
            self.inner.counters.queued.fetch_add(1, Ordering::Relaxed);
        }
        if !self.inner.queue.push(op) {
            if turn {
                self.inner.counters.queued.fetch_sub(1, Ordering::Relaxed);
            }
            return Err(StoreError::Closed);
        }
        Ok(())
    }

    /// Queues a finished turn; never blocks. When the writer is far behind (a full or stuck
    /// disk), the turn is dropped, counted and logged rather than held in memory.
    pub fn record(&self, turn: TurnRecord) {
        let id = turn.id;
        let c = &self.inner.counters;
        if c.queued.load(Ordering::Relaxed) >= self.inner.max_queued {
            let lost = c.lost.fetch_add(1, Ordering::Relaxed) + 1;
            if lost.is_power_of_two() || lost % 1000 == 0 {
                tracing::error!(
                    turn = id,
                    queued = self.inner.max_queued,
                    lost,
                    "the database is not keeping up (disk full?); turn dropped"
                );
            }
            return;
        }
        if let Err(e) = self.send(WriteOp::Turn(Box::new(turn))) {
            c.lost.fetch_add(1, Ordering::Relaxed);
            tracing::error!(turn = id, error = %e, "turn could not be queued for the database");
        }
    }

    /// Queues deletion of turns older than `before_ms`.
    pub fn prune(&self, before_ms: i64) -> Result<(), StoreError> {
        self.send(WriteOp::Prune(before_ms))
    }

    /// The ids of the turns committed since the last call (a single reader: the skill-exposure
    /// follower), and whether some were not kept.
    pub fn take_committed(&self) -> Committed {
        std::mem::take(&mut *self.inner.counters.committed.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Waits until everything queued so far is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(WriteOp::Barrier(tx))?;
        rx.await.map_err(|_| StoreError::Dropped)
    }

    /// Runs `f` on the writer thread in its own transaction; returns once it is committed (or
    /// rolled back, if `f` failed).
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        self.send(WriteOp::Exec(Box::new(move |conn: &mut Connection| {
            let result = (|| {
                let tx = conn.transaction()?;
                let v = f(&tx)?;
                tx.commit()?;
                Ok(v)
            })();
            let _ = reply.send(result);
        })))?;
        rx.await.map_err(|_| StoreError::Dropped)?
    }

    /// Runs `f` on the writer thread outside any transaction (VACUUM, checkpoints).
    pub async fn maintain<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        self.send(WriteOp::Exec(Box::new(move |conn: &mut Connection| {
            let _ = reply.send(f(conn));
        })))?;
        rx.await.map_err(|_| StoreError::Dropped)?
    }

    /// Drains the queue, commits it and stops the writer. Later `record` calls are logged and dropped.
    pub async fn close(&self) {
        self.inner.queue.close();
        let handle = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }

    /// Runs a read on the blocking pool with the read-only connection.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let reader = self.inner.reader.clone();
        tokio::task::spawn_blocking(move || {
            let conn = reader.lock().expect("store reader lock");
            f(&conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::turn::RawResponse;

    fn turn(id: i64, response: RawResponse) -> TurnRecord {
        let now = crate::clock::now_ms();
        TurnRecord { stream: true, started_at_ms: now, finished_at_ms: now, response, ..TurnRecord::sample(id, "hi") }
    }

    async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(20), f).await.unwrap_or_else(|_| panic!("{what} hung"))
    }

    #[tokio::test]
    async fn the_writer_survives_a_write_that_panics_and_no_waiter_hangs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), Duration::from_millis(10)).unwrap();
        let r: Result<(), _> = within("a panicking write", store.maintain(|_| panic!("boom"))).await;
        assert!(matches!(r, Err(StoreError::Dropped)), "{r:?}");
        let r: Result<(), _> = within("a panicking transaction", store.write(|_| panic!("boom"))).await;
        assert!(r.is_err());
        // The queue keeps draining.
        store.record(turn(store.next_turn_id(), RawResponse::None));
        within("flush", store.flush()).await.unwrap();
        let v = within("a write", store.write(|c| Ok(turns::counts(c, 0)?.0))).await;
        assert_eq!(v.unwrap(), 1);
        within("close", store.close()).await;
    }

    #[tokio::test]
    async fn waiters_get_an_error_if_the_writer_thread_died() {
        let q = Queue::default();
        let c = Counters::default();
        let (tx, rx) = oneshot::channel();
        assert!(q.push(WriteOp::Barrier(tx)));
        assert!(q.push(WriteOp::Turn(Box::new(turn(1, RawResponse::None)))));
        std::thread::scope(|s| {
            let dying = s.spawn(|| {
                let _guard = writer::AbandonOnPanic(&q, &c);
                panic!("the writer dies");
            });
            assert!(dying.join().is_err());
        });
        assert!(within("a barrier", rx).await.is_err(), "the waiter is told, not left hanging");
        assert_eq!(c.lost.load(Ordering::Relaxed), 1);
        assert!(!q.push(WriteOp::Prune(0)), "later writes are refused");
    }

    #[tokio::test]
    async fn a_hostile_tool_call_index_is_recorded_without_killing_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), Duration::from_millis(10)).unwrap();
        for index in ["18446744073709551615", "1000000000000000"] {
            let chunk = format!(
                "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":{index},\"function\":{{\"name\":\"f\"}}}}]}}}}]}}\n\ndata: [DONE]\n\n"
            );
            store.record(turn(store.next_turn_id(), RawResponse::Stream(vec![bytes::Bytes::from(chunk)])));
        }
        within("flush", store.flush()).await.unwrap();
        let page = store.read(|c| turns::list_turns(c, &TurnFilter::default())).await.unwrap();
        let mut errors = Vec::new();
        for t in page.turns {
            errors.push(store.read(move |c| turns::get_turn(c, t.id)).await.unwrap().unwrap().error);
        }
        assert_eq!(errors.len(), 2);
        assert!(errors.iter().all(|e| e.as_deref().is_some_and(|e| e.contains("not recorded"))), "{errors:?}");
        assert_eq!(store.lost_turns(), 0);
        store.close().await;
    }

    #[tokio::test]
    async fn the_write_queue_is_bounded_when_the_disk_is_stuck() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), Duration::from_millis(10)).unwrap();
        // Hold the writer, as a commit retrying on a full disk does.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = oneshot::channel();
        let s2 = store.clone();
        let stuck = tokio::spawn(async move {
            s2.maintain(move |_| {
                let _ = started_tx.send(());
                let _ = held.recv();
                Ok(())
            })
            .await
        });
        within("the writer to hold", started).await.unwrap();
        let extra = 25;
        for _ in 0..MAX_QUEUED_TURNS + extra {
            store.record(turn(store.next_turn_id(), RawResponse::None));
        }
        assert_eq!(store.pending_writes(), MAX_QUEUED_TURNS, "the queue stops growing");
        assert_eq!(store.lost_turns(), extra, "what could not be queued is counted");
        release.send(()).unwrap();
        within("the held write", stuck).await.unwrap().unwrap();
        within("flush", store.flush()).await.unwrap();
        let n = store.read(|c| Ok(turns::counts(c, 0)?.0)).await.unwrap();
        assert_eq!(n as u64, MAX_QUEUED_TURNS, "every queued turn is recorded once the disk recovers");
        assert_eq!(store.pending_writes(), 0);
        // And recording goes on.
        store.record(turn(store.next_turn_id(), RawResponse::None));
        within("flush", store.flush()).await.unwrap();
        assert_eq!(store.lost_turns(), extra);
        store.close().await;
    }
}
