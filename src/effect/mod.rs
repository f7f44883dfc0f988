//! Per-skill effectiveness: which skills each turn carried or would have matched (written in the
//! background, never on the request path), holdout of new and edited skills for comparison, and
//! the statistics — per skill, how judged turns with it went against comparable turns without
//! it, with a verdict and its uncertainty.

pub mod exposure;
pub mod holdout;
pub mod math;
pub mod report;

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

pub use holdout::Holdout;

use crate::events::{Event, EventBus};
use crate::skills::Library;
use crate::store::{effect as table, Store};

/// The longest the background task waits between passes when nothing wakes it.
pub const TICK: Duration = Duration::from_secs(5);
/// How long the task lets turns gather once one wakes it: a burst (or a steady stream) of turns
/// is one pass, one commit and one read, not one per turn on the proxy's cores.
pub const SETTLE: Duration = Duration::from_millis(500);

/// Effectiveness for one engine configuration: its holdout (read by the proxy) and its
/// background task.
pub struct Running {
    pub holdout: Arc<Holdout>,
    task: JoinHandle<()>,
}

impl Running {
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// Seeds holdout from the saved counters and starts following turns.
pub async fn start(store: &Store, library: &Arc<Library>, events: &EventBus) -> Running {
    let saved = match store.read(table::holdout).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "holdout counters could not be read; counting afresh");
            Vec::new()
        }
    };
    let cfg = library.config().holdout.clone();
    let holdout = Arc::new(Holdout::new(cfg, &library.snapshot(), saved));
    let task = tokio::spawn(follow(store.clone(), Arc::downgrade(library), holdout.clone(), events.clone()));
    Running { holdout, task }
}

/// The background task: a pass when a turn is recorded or the library changes (or every
/// [`TICK`]), saving the holdout counters each time.
async fn follow(store: Store, library: std::sync::Weak<Library>, holdout: Arc<Holdout>, events: EventBus) {
    let mut rx = events.subscribe();
    let mut follower = exposure::Follower::new(store.clone());
    loop {
        let Some(lib) = library.upgrade() else { return };
        // Everything recorded so far is committed before it is read.
        let _ = store.flush().await;
        match follower.pass(&lib.snapshot(), lib.config()).await {
            Ok(turns) if turns > 0 => events.publish(Event::SkillStatsUpdated { turns }),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "skill exposure not brought up to date; trying again"),
        }
        let rows = holdout.take_changed();
        if !rows.is_empty() {
            if let Err(e) = store.write(move |c| table::save_holdout(c, &rows)).await {
                tracing::warn!(error = %e, "holdout counters not saved");
            }
        }
        drop(lib);
        let woken = tokio::time::timeout(TICK, async {
            loop {
                match rx.recv().await {
                    Ok(Event::TurnRecorded { .. } | Event::GenerationChanged { .. }) => return true,
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return false,
                }
            }
        })
        .await;
        match woken {
            Ok(false) => tokio::time::sleep(TICK).await,
            Ok(true) => tokio::time::sleep(SETTLE).await,
            Err(_) => {}
        }
        // A burst of turns is one pass.
        while rx.try_recv().is_ok() {}
    }
}
