//! The curator as a scheduler job: runs in the scheduler's windows, at most once a day.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::Curator;
use crate::api::types::curate::CurateKind;
use crate::clock::now_ms;
use crate::scheduler::runner::{Checkpoint, Job, JobCtx, Outcome};

/// How often the curator runs at most.
pub const EVERY: Duration = Duration::from_secs(24 * 3600);

/// Curation in windows, at most daily (`[curator] enabled`).
pub struct CurateJob {
    pub curator: Arc<Curator>,
}

impl CurateJob {
    async fn last_run(&self) -> i64 {
        Checkpoint::new(self.curator.evolver.store.clone(), "curate")
            .load()
            .await
            .ok()
            .flatten()
            .and_then(|v| v["last_run"].as_i64())
            .unwrap_or(0)
    }
}

impl Job for CurateJob {
    fn name(&self) -> &'static str {
        "curate"
    }
    fn default_estimate(&self) -> Duration {
        Duration::from_secs(60)
    }
    fn pending(&self) -> BoxFuture<'_, bool> {
        async move { self.curator.cfg.enabled && now_ms() - self.last_run().await >= EVERY.as_millis() as i64 }.boxed()
    }
    fn run(&self, ctx: JobCtx) -> BoxFuture<'_, Outcome> {
        async move {
            let report = tokio::select! {
                _ = ctx.cancel.cancelled() => return Outcome::Paused("curation stopped; it runs again in the next window".into()),
                r = self.curator.run(false) => match r {
                    Ok(r) => r,
                    Err(e) => return Outcome::Failed(e.to_string()),
                },
            };
            if let Err(e) = ctx.checkpoint.save(&serde_json::json!({"last_run": now_ms()})).await {
                return Outcome::Failed(format!("saving the checkpoint: {e}"));
            }
            let count = |k: CurateKind| report.actions.iter().filter(|a| a.kind == k && a.applied).count();
            Outcome::Done(format!(
                "{} archived, {} disable and {} merge proposals",
                count(CurateKind::Archive),
                count(CurateKind::Disable),
                count(CurateKind::Merge)
            ))
        }
        .boxed()
    }
}
