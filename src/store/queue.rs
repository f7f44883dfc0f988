//! The write queue between the request path and the writer thread.
//!
//! Pushing never blocks on I/O and wakes the writer only when the queue goes from empty to
//! non-empty (or for an urgent barrier or shutdown); the writer then gathers a batch for up to a
//! tick. Under load that is one wake-up per batch instead of one per turn, and none when idle.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use super::WriteOp;

#[derive(Default)]
struct State {
    ops: Vec<WriteOp>,
    urgent: bool,
    closed: bool,
}

#[derive(Default)]
pub(super) struct Queue {
    state: Mutex<State>,
    wake: Condvar,
}

impl Queue {
    /// Adds an operation; `false` once the queue is closed.
    pub fn push(&self, op: WriteOp) -> bool {
        let urgent = matches!(op, WriteOp::Barrier(_));
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.closed {
            return false;
        }
        let was_empty = s.ops.is_empty();
        s.ops.push(op);
        s.urgent |= urgent;
        drop(s);
        if was_empty || urgent {
            self.wake.notify_one();
        }
        true
    }

    /// Stops accepting operations; the writer drains what is queued and exits.
    pub fn close(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
        self.wake.notify_one();
    }

    /// The writer is gone for good (it panicked): refuse further operations and drop the queued
    /// ones, so everyone waiting on one gets an error instead of waiting for ever. Returns how
    /// many turns were dropped.
    pub fn abandon(&self) -> u64 {
        let ops = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.closed = true;
            std::mem::take(&mut s.ops)
        };
        ops.iter().filter(|op| matches!(op, WriteOp::Turn(_))).count() as u64
    }

    /// Waits for work, then up to `tick` more to gather a batch (cut short by a barrier or
    /// shutdown). Returns `None` when closed and drained.
    pub fn next_batch(&self, tick: Duration) -> Option<Vec<WriteOp>> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s = self.wake.wait_while(s, |s| s.ops.is_empty() && !s.closed).unwrap_or_else(|p| p.into_inner());
        if s.ops.is_empty() {
            return None; // closed and drained
        }
        if !s.urgent && !s.closed {
            s = self.wake.wait_timeout_while(s, tick, |s| !s.urgent && !s.closed).unwrap_or_else(|p| p.into_inner()).0;
        }
        s.urgent = false;
        Some(std::mem::take(&mut s.ops))
    }
}
