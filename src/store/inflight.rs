//! Turns in flight: every turn whose record the store has been promised but not yet handed. A
//! clean shutdown waits (bounded) for them to finish, then has the rest record themselves as
//! they stand, before the store closes, so no turn is lost to a shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Records a turn as it stands now (the cut-off at shutdown).
pub type CutOff = Box<dyn FnOnce() + Send>;

/// The registry of open turns; cheap to share.
#[derive(Default)]
pub struct InFlight {
    open: Mutex<HashMap<u64, CutOff>>,
    next: AtomicU64,
    changed: Notify,
}

/// A turn's place in the registry; [`InFlight::leave`] it when the turn is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ticket(u64);

impl InFlight {
    /// Registers an open turn; `cut` records it as it stands if shutdown cannot wait for it.
    pub fn enter(&self, cut: CutOff) -> Ticket {
        let t = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(t, cut);
        Ticket(t)
    }

    /// The turn was recorded (or cut off): it no longer holds up shutdown.
    pub fn leave(&self, ticket: Ticket) {
        let removed = self.lock().remove(&ticket.0);
        drop(removed);
        self.changed.notify_waiters();
    }

    /// How many turns are open.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Waits until no turn is open or `deadline` passes; returns how many are still open.
    pub async fn wait_idle(&self, deadline: tokio::time::Instant) -> usize {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let n = self.count();
            if n == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return self.count();
            }
        }
    }

    /// Records every open turn as it stands; returns how many there were.
    pub fn cut_all(&self) -> usize {
        let open: Vec<CutOff> = self.lock().drain().map(|(_, c)| c).collect();
        let n = open.len();
        for cut in open {
            cut();
        }
        self.changed.notify_waiters();
        n
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, CutOff>> {
        // A panic elsewhere while holding this lock leaves the map usable.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Shared handle.
pub type SharedInFlight = Arc<InFlight>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn shutdown_waits_for_open_turns_then_cuts_off_the_rest() {
        let f = Arc::new(InFlight::default());
        let cut = Arc::new(AtomicU64::new(0));
        let c = cut.clone();
        let a = f.enter(Box::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
        }));
        let c = cut.clone();
        let _b = f.enter(Box::new(move || {
            c.fetch_add(10, Ordering::SeqCst);
        }));
        let f2 = f.clone();
        tokio::spawn(async move { f2.leave(a) });
        let start = tokio::time::Instant::now();
        let left = f.wait_idle(start + Duration::from_millis(200)).await;
        assert_eq!(left, 1);
        assert!(start.elapsed() >= Duration::from_millis(190));
        assert_eq!(f.cut_all(), 1);
        assert_eq!(cut.load(Ordering::SeqCst), 10, "only the open turn was cut off");
        assert_eq!(f.wait_idle(tokio::time::Instant::now()).await, 0);
    }
}
