//! The scheduler's side of a core: calendars (refreshed in the background), the OS signals (or
//! the hooks' stand-ins), policy training, and the scheduler with every job that waits for its
//! windows.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::learning::Learning;
use super::{EngineError, Hooks};
use crate::calendar::Calendars;
use crate::config::Config;
use crate::events::EventBus;
use crate::home::Home;
use crate::metrics::Metrics;
use crate::scheduler::Scheduler;
use crate::secrets::{SecretName, Vault};
use crate::store::Store;
use crate::upstream::SharedRoutes;

/// The calendars' zone: the scheduler's, UTC when it has no IANA name.
pub(super) fn calendar_zone(cfg: &Config) -> Result<chrono_tz::Tz, EngineError> {
    let zone = cfg.scheduler.time_zone().map_err(EngineError::Scheduler)?;
    cfg.scheduler.sleep_hours().map_err(EngineError::Scheduler)?;
    Ok(zone.iana_name().and_then(|n| n.parse::<chrono_tz::Tz>().ok()).unwrap_or(chrono_tz::Tz::UTC))
}

/// Opens the calendars (their cached schedules; no network).
pub(super) async fn open_calendars(
    cfg: &Config,
    store: &Store,
    vault: &Vault,
    events: &EventBus,
) -> Result<Arc<Calendars>, EngineError> {
    let zone = calendar_zone(cfg)?;
    Ok(Calendars::open(store.clone(), vault.clone(), zone, events.clone(), &cfg.calendar).await?)
}

/// Starts refreshing `calendars` every `[scheduler] calendar_refresh_minutes`.
pub(super) fn refresh_calendars(cfg: &Config, calendars: &Arc<Calendars>) -> JoinHandle<()> {
    calendars.spawn(Duration::from_secs(cfg.scheduler.calendar_refresh_minutes * 60))
}

/// Opens policy training when `[train]` is on (the serving policy is placed in `routes`).
pub(super) async fn open_training(
    cfg: &Config,
    home: &Home,
    tinker: Option<String>,
    store: &Store,
    events: &EventBus,
    routes: &SharedRoutes,
) -> Result<Option<Arc<crate::train::Training>>, EngineError> {
    Ok(crate::train::Training::open(cfg, home, store.clone(), routes.clone(), tinker, events.clone()).await?)
}

/// The training service's key: the host's, else the vault's.
pub(super) async fn tinker_key(given: Option<&String>, vault: &Vault) -> Option<String> {
    match given {
        Some(k) => Some(k.clone()),
        None => vault.get(&SecretName::tinker()).await.ok().and_then(|(k, _)| k),
    }
}

/// The scheduler running, and how to stop it.
pub(super) struct Running {
    pub scheduler: Arc<Scheduler>,
    pub task: JoinHandle<()>,
    pub stop: CancellationToken,
}

impl Running {
    /// Stops the scheduler; a running job is paused at its checkpoint first (it resumes under
    /// the next scheduler). Bounded: a job that does not stop in 5 s is cut.
    pub async fn stop(self) {
        self.stop.cancel();
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// What the scheduler works with.
pub(super) struct Parts<'a> {
    pub cfg: &'a Config,
    pub hooks: &'a Hooks,
    pub store: &'a Store,
    pub events: &'a EventBus,
    pub metrics: &'a Arc<Metrics>,
    pub learning: &'a Learning,
    pub calendars: &'a Arc<Calendars>,
    pub training: Option<&'a Arc<crate::train::Training>>,
}

/// Starts the scheduler with every job that waits for its windows: training, deferred evolution
/// and judging, and maintenance. Fails only on settings [`calendar_zone`] refuses, so a reload
/// that checked them first can't fail here.
pub(super) async fn start(p: Parts<'_>) -> Result<Running, EngineError> {
    let cfg = p.cfg;
    // A restart is not the user's activity: idle time counts from the last recorded turn.
    match p.store.read(crate::store::turns::last_started_at).await {
        Ok(last) => {
            p.metrics.last_request.fetch_max(last.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
        }
        Err(e) => tracing::warn!(error = %e, "could not read when the last turn was; idle time counts from now"),
    }
    let signals = p.hooks.signals.clone().unwrap_or_else(|| {
        if cfg.scheduler.os_idle {
            crate::scheduler::signals::Signals::detect(p.metrics.last_request.clone())
        } else {
            crate::scheduler::signals::Signals {
                os: None,
                power: Arc::new(crate::scheduler::signals::SysPower::default()),
                last_request: p.metrics.last_request.clone(),
            }
        }
    });
    let mut jobs: Vec<Arc<dyn crate::scheduler::Job>> = p.hooks.jobs.clone();
    if let Some(t) = p.training {
        jobs.push(Arc::new(crate::train::TrainJob(t.clone())));
    }
    let learning = p.learning;
    if learning.evolver.enabled() && learning.evolve_idle {
        jobs.push(Arc::new(crate::scheduler::jobs::EvolveJob { evolver: learning.evolver.clone() }));
    }
    if learning.judge.is_some() && learning.judge_idle {
        jobs.push(Arc::new(crate::judge::JudgeJob::new(p.store.clone(), learning.judge_gate.clone(), &cfg.judge)));
    }
    if cfg.curator.enabled {
        let curator = crate::curate::Curator::new(learning.evolver.clone(), cfg.curator.clone());
        jobs.push(Arc::new(crate::curate::CurateJob { curator: Arc::new(curator) }));
    }
    jobs.push(Arc::new(crate::scheduler::jobs::MaintenanceJob {
        store: p.store.clone(),
        retention_days: cfg.store.retention_days,
        every: Duration::from_secs(cfg.scheduler.maintenance_hours.max(1) * 3600),
    }));
    // The user's pause switch, as stored now (it may have changed since learning started).
    let paused = super::read_paused(p.store).await;
    let scheduler = Scheduler::new(
        cfg.scheduler.clone(),
        signals,
        Some(p.calendars.clone()),
        p.store.clone(),
        p.events.clone(),
        jobs,
        p.hooks.timing.unwrap_or_default(),
        paused,
    )
    .map_err(EngineError::Scheduler)?;
    let stop = CancellationToken::new();
    let task = scheduler.spawn(stop.clone());
    Ok(Running { scheduler, task, stop })
}
