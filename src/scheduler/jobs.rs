//! The jobs the scheduler runs in windows today: evolution batches (with their verification
//! replays) when `[evolve] run_in = "idle"`, and database maintenance (retention, optimise,
//! WAL checkpoint, vacuum). Policy training registers the same way.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::runner::{Checkpoint, Job, JobCtx, Outcome};
use crate::clock::now_ms;
use crate::evolve::{EvolveError, Evolver};
use crate::store::Store;

/// Evolution deferred to windows: every session due for evolution, one at a time. Progress is
/// the evolver's own record of consumed turns, so a paused batch resumes where it stopped.
pub struct EvolveJob {
    pub evolver: Arc<Evolver>,
}

impl Job for EvolveJob {
    fn name(&self) -> &'static str {
        "evolve"
    }
    fn default_estimate(&self) -> Duration {
        Duration::from_secs(120)
    }
    fn pending(&self) -> BoxFuture<'_, bool> {
        async move { self.evolver.due_sessions().await.is_ok_and(|d| !d.is_empty()) }.boxed()
    }
    fn run(&self, ctx: JobCtx) -> BoxFuture<'_, Outcome> {
        async move {
            let due = match self.evolver.due_sessions().await {
                Ok(d) => d,
                Err(e) => return Outcome::Failed(e.to_string()),
            };
            let (mut done, total) = (0, due.len());
            for (session, trigger) in due {
                tokio::select! {
                    _ = ctx.cancel.cancelled() => {
                        return Outcome::Paused(format!("{done} of {total} sessions evolved; the rest wait for the next window"));
                    }
                    r = self.evolver.evolve(Some(&session), trigger) => match r {
                        Ok(_) => done += 1,
                        Err(EvolveError::Budget(n)) => return Outcome::Done(format!("{done} sessions evolved; daily budget of {n} runs reached")),
                        Err(e) => return Outcome::Failed(format!("after {done} of {total} sessions: {e}")),
                    }
                }
            }
            Outcome::Done(format!("{done} sessions evolved"))
        }
        .boxed()
    }
}

/// Database upkeep: prune turns past retention, `PRAGMA optimize`, truncate the WAL, and
/// vacuum when a quarter of the file is free pages. Runs at most every `every`.
pub struct MaintenanceJob {
    pub store: Store,
    pub retention_days: u32,
    pub every: Duration,
}

impl MaintenanceJob {
    async fn last_run(&self) -> i64 {
        Checkpoint::new(self.store.clone(), "maintenance")
            .load()
            .await
            .ok()
            .flatten()
            .and_then(|v| v["last_run"].as_i64())
            .unwrap_or(0)
    }
}

impl Job for MaintenanceJob {
    fn name(&self) -> &'static str {
        "maintenance"
    }
    fn default_estimate(&self) -> Duration {
        Duration::from_secs(60)
    }
    fn pending(&self) -> BoxFuture<'_, bool> {
        async move { now_ms() - self.last_run().await >= self.every.as_millis() as i64 }.boxed()
    }
    fn run(&self, ctx: JobCtx) -> BoxFuture<'_, Outcome> {
        async move {
            let mut notes = Vec::new();
            if self.retention_days > 0 {
                let cutoff = now_ms() - i64::from(self.retention_days) * 86_400_000;
                if let Err(e) = self.store.prune(cutoff) {
                    return Outcome::Failed(format!("retention: {e}"));
                }
                notes.push(format!("pruned turns older than {} days", self.retention_days));
            }
            if ctx.cancel.is_cancelled() {
                return Outcome::Paused("stopped after pruning".into());
            }
            let r = self.store.optimise().await;
            match r {
                Ok(vacuumed) => notes.push(if vacuumed { "optimised and vacuumed" } else { "optimised" }.into()),
                Err(e) => return Outcome::Failed(format!("maintenance: {e}")),
            }
            if let Err(e) = ctx.checkpoint.save(&serde_json::json!({"last_run": now_ms()})).await {
                return Outcome::Failed(format!("saving the checkpoint: {e}"));
            }
            Outcome::Done(notes.join("; "))
        }
        .boxed()
    }
}
