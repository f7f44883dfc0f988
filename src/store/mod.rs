//! The store: one SQLite database (WAL) holding sessions and turns.
//!
//! Writes go through a channel to one writer thread that commits in batches, so the proxy never
//! waits on disk. Reads use their own connection on the blocking pool. Committed turns survive a
//! crash of the process (WAL with `synchronous = NORMAL`); a clean shutdown drains the queue.

mod queue;
pub mod read;
mod schema;
mod writer;
pub use writer::hash_json;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use queue::Queue;

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
    next_turn_id: AtomicI64,
    queued: Arc<AtomicU64>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

fn open_conn(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn =
        Connection::open_with_flags(path, flags).map_err(|source| StoreError::Open { path: path.into(), source })?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `path` and starts the writer.
    pub fn open(path: &Path, flush_interval: Duration) -> Result<Self, StoreError> {
        let mut conn = open_conn(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        schema::migrate(&mut conn)?;
        let max_id: i64 = conn.query_row("SELECT COALESCE(MAX(id), 0) FROM turns", [], |r| r.get(0))?;
        let reader = open_conn(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;

        let queue = Arc::new(Queue::default());
        let queued = Arc::new(AtomicU64::new(0));
        let (q, counter) = (queue.clone(), queued.clone());
        let handle = std::thread::Builder::new()
            .name("metaclaw-store".into())
            .spawn(move || writer::run(conn, &q, &counter, flush_interval))
            .map_err(|e| StoreError::Task(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.into(),
                queue,
                reader: Arc::new(Mutex::new(reader)),
                next_turn_id: AtomicI64::new(max_id + 1),
                queued,
                writer: Mutex::new(Some(handle)),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// A fresh turn id; ids are allocated on the request path so clients can be told theirs.
    pub fn next_turn_id(&self) -> i64 {
        self.inner.next_turn_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Turns handed to the writer and not yet committed.
    pub fn pending_writes(&self) -> u64 {
        self.inner.queued.load(Ordering::Relaxed)
    }

    fn send(&self, op: WriteOp) -> Result<(), StoreError> {
        let turn = matches!(op, WriteOp::Turn(_));
        if !self.inner.queue.push(op) {
            return Err(StoreError::Closed);
        }
        if turn {
            self.inner.queued.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Queues a finished turn; never blocks.
    pub fn record(&self, turn: TurnRecord) {
        let id = turn.id;
        if let Err(e) = self.send(WriteOp::Turn(Box::new(turn))) {
            tracing::error!(turn = id, error = %e, "turn could not be queued for the database");
        }
    }

    /// Queues deletion of turns older than `before_ms`.
    pub fn prune(&self, before_ms: i64) -> Result<(), StoreError> {
        self.send(WriteOp::Prune(before_ms))
    }

    /// Waits until everything queued so far is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(WriteOp::Barrier(tx))?;
        rx.await.map_err(|_| StoreError::Closed)
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
        rx.await.map_err(|_| StoreError::Closed)?
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
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Drains the queue, commits it and stops the writer. Later `record` calls are logged and dropped.
    pub async fn close(&self) {
        self.inner.queue.close();
        let handle = self.inner.writer.lock().expect("store writer lock").take();
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
