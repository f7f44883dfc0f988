//! Turn ids: handed out on the request path from a block whose end is committed first, so no id
//! is ever handed out twice, not even across a crash.

use std::sync::Arc;

use rusqlite::Connection;

use super::{turns, Store, StoreError, WriteOp};

/// Turn ids are handed out from a block whose end is committed first (`meta.turn_ids_reserved`),
/// so a crash can never make an id be handed out twice. A new block is reserved through the
/// writer while half of the current one is still left.
pub(super) struct Ids {
    next: i64,
    /// End (exclusive) of the block known to be committed.
    reserved: i64,
    /// A reservation is queued and not yet committed.
    reserving: bool,
    /// Ids were handed out past the committed block (the writer fell far behind); warned once.
    warned: bool,
}

/// Ids per reserved block.
const ID_BLOCK: i64 = 1000;

/// The `meta` key of the end of the last block of turn ids reserved.
const RESERVED: &str = "turn_ids_reserved";

/// Reserves ids up to `end` (never lowering a reservation already made).
fn reserve_ids(conn: &Connection, end: i64) -> Result<(), StoreError> {
    super::meta::raise(conn, RESERVED, end)
}

impl Ids {
    /// The ids of a store just opened: after every turn recorded and every id reserved before
    /// (which may have been handed out before a crash), with the first block reserved.
    pub(super) fn reserve_first(conn: &Connection) -> Result<Self, StoreError> {
        let max_id = turns::max_id(conn)?.unwrap_or(0);
        // Every id below the last reservation may have been handed out before a crash.
        let reserved = super::meta::get(conn, RESERVED)?;
        let next = (max_id + 1).max(reserved.unwrap_or(0));
        reserve_ids(conn, next + ID_BLOCK)?;
        Ok(Self { next, reserved: next + ID_BLOCK, reserving: false, warned: false })
    }
}

impl Store {
    /// A fresh turn id, never handed out before (also across crashes); ids are allocated on the
    /// request path so clients can be told theirs.
    pub fn next_turn_id(&self) -> i64 {
        let mut ids = self.inner.ids.lock().unwrap_or_else(|p| p.into_inner());
        let id = ids.next;
        ids.next += 1;
        if ids.reserved - ids.next < ID_BLOCK / 2 && !ids.reserving {
            ids.reserving = true;
            let inner = Arc::downgrade(&self.inner);
            let op = WriteOp::Exec(Box::new(move |conn: &mut Connection| {
                let Some(inner) = inner.upgrade() else { return };
                // Measured when the writer gets to it, so ids handed out meanwhile are covered.
                let end = {
                    let ids = inner.ids.lock().unwrap_or_else(|p| p.into_inner());
                    ids.reserved.max(ids.next) + ID_BLOCK
                };
                let ok = match reserve_ids(conn, end) {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not reserve turn ids; will try again");
                        false
                    }
                };
                let mut ids = inner.ids.lock().unwrap_or_else(|p| p.into_inner());
                ids.reserving = false;
                if ok {
                    ids.reserved = ids.reserved.max(end);
                }
            }));
            if !self.inner.queue.push(op) {
                ids.reserving = false;
            }
        }
        if id >= ids.reserved && !ids.warned {
            ids.warned = true;
            tracing::warn!(turn = id, "the database is far behind: turn ids are handed out before they are reserved");
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn turn_ids_are_never_handed_out_twice_even_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut handed = Vec::new();
        for round in 0..3 {
            let store = Store::open(&path, Duration::from_millis(10)).unwrap();
            // Enough ids to need more than one reserved block in the last round.
            let n = if round == 2 { 2 * ID_BLOCK as usize + 10 } else { 5 };
            for _ in 0..n {
                handed.push(store.next_turn_id());
            }
            // Let reservations queued along the way commit, as they would while serving.
            store.flush().await.unwrap();
            // A crash: nothing recorded, nothing closed (the writer thread is left behind).
            std::mem::forget(store);
        }
        let store = Store::open(&path, Duration::from_millis(10)).unwrap();
        let next = store.next_turn_id();
        let mut sorted = handed.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), handed.len(), "no id was handed out twice");
        assert!(next > *sorted.last().unwrap(), "{next} comes after every id handed out before");
        store.close().await;
    }
}
