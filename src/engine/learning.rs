//! Learning in the engine: the evolver and the judge, started from a core's configuration, and
//! which of their work waits for the scheduler's windows.

use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::config::Config;
use crate::events::EventBus;
use crate::evolve::{Deps as EvolveDeps, Evolver};
use crate::judge::Judge;
use crate::skills::Library;
use crate::store::Store;
use crate::upstream::{http_client, Routes};

/// The evolver and the judge, and which of their work waits for the scheduler's windows.
pub(super) struct Learning {
    pub evolver: Arc<Evolver>,
    /// The judge's worker, when a judge model is set.
    pub judge: Option<JoinHandle<()>>,
    pub judge_gate: Arc<crate::judge::Gate>,
    /// The judge calls its upstream only in windows (`[judge] run_in = "idle"`).
    pub judge_idle: bool,
    /// The evolver's watcher, when it runs as soon as it is triggered.
    pub evolving: Option<JoinHandle<()>>,
    /// Evolution runs only in windows (`[evolve] run_in = "idle"`).
    pub evolve_idle: bool,
    /// Per-skill effectiveness: holdout and the task that follows turns.
    pub effect: crate::effect::Running,
}

impl Learning {
    /// Stops the judge's worker and the evolver's watcher. Their work keeps its state in the
    /// database; the next learning started picks it up.
    pub fn stop(&self) {
        for task in [&self.judge, &self.evolving].into_iter().flatten() {
            task.abort();
        }
        self.effect.stop();
    }
}

/// Builds the evolver and starts the judge and the evolver's watcher; both are paused first
/// when the user paused learning, so a paused engine starts no evolution and no judging.
pub(super) async fn start(
    cfg: &Config,
    store: &Store,
    skills: &Arc<Library>,
    routes: &Routes,
    events: &EventBus,
    idle_gap_ms: i64,
) -> Learning {
    let deps = EvolveDeps {
        store: store.clone(),
        library: skills.clone(),
        routes: Arc::new(routes.clone()),
        client: http_client(&cfg.upstream),
        events: events.clone(),
    };
    let evolver = Evolver::new(deps, cfg.evolve.clone(), cfg.judge.clone(), idle_gap_ms);
    let paused = super::read_paused(store).await;
    evolver.set_paused(paused);
    let judge_idle = cfg.judge.run_in == crate::config::RunIn::Idle;
    let judge_gate = crate::judge::Gate::new(evolver.paused_flag(), judge_idle);
    let judge = cfg.judge.model.is_some().then(|| {
        Judge {
            store: store.clone(),
            routes: Arc::new(routes.clone()),
            client: http_client(&cfg.upstream),
            cfg: cfg.judge.clone(),
            events: events.clone(),
            gate: judge_gate.clone(),
        }
        .spawn()
    });
    let evolve_idle = cfg.evolve.run_in == crate::config::RunIn::Idle;
    let evolving = (evolver.enabled() && !evolve_idle).then(|| evolver.spawn());
    let effect = crate::effect::start(store, skills, events).await;
    Learning { evolver, judge, judge_gate, judge_idle, evolving, evolve_idle, effect }
}
