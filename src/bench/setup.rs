//! Each mode's MetaClaw: the config a mode runs with (baseline = a plain recording proxy; skills =
//! skills, judge and evolver; skills+rl = skills plus training on the configured service), the
//! in-process engine in `--out/<mode>/home`, and the learning step between days: wait until the
//! judge has scored the day's turns, evolve from the day's session, train when asked — waiting on
//! the engine's events and API, never on fixed sleeps.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use super::results::{Learned, Mode};
use super::BenchError;
use crate::api::client::Client;
use crate::api::types::learning::EvolveArg;
use crate::api::types::status::TurnFilter;
use crate::config::{Approval, Config};
use crate::engine::{Engine, Keys};
use crate::events::Event;
use crate::home::Home;
use crate::turn::TurnType;

/// Longest wait for the judge to score a day's turns.
const JUDGE_WAIT: Duration = Duration::from_secs(15 * 60);
/// Longest wait for a training step.
const TRAIN_WAIT: Duration = Duration::from_secs(60 * 60);
/// Re-reads the turns at least this often while waiting for the judge (a missed event costs no
/// more than this).
const RECHECK: Duration = Duration::from_secs(2);

/// What the command line says about the engine.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    pub upstream: Option<String>,
    pub model: Option<String>,
    pub judge_model: Option<String>,
    pub evolver_model: Option<String>,
    pub approval: Option<Approval>,
}

/// The config a mode runs with: the user's upstreams (and training service), everything else at
/// its defaults, then the mode's learning settings.
pub fn mode_config(mode: Mode, user: &Config, opts: &EngineOptions) -> Result<Config, BenchError> {
    let mut cfg = Config {
        upstream: user.upstream.clone(),
        upstreams: user.upstreams.clone(),
        routing: user.routing.clone(),
        ..Config::default()
    };
    if let Some(u) = &opts.upstream {
        cfg.upstream.base_url = u.clone();
        cfg.upstreams.clear();
    }
    if let Some(m) = &opts.model {
        cfg.upstream.model = Some(m.clone());
    }
    cfg.proxy.port = 0;
    // Learning runs on demand between days: no idle detection, and turns reach the database fast.
    cfg.scheduler.os_idle = false;
    cfg.store.flush_interval_ms = cfg.store.flush_interval_ms.min(50);
    let model = cfg.upstream.model.clone().or_else(|| opts.model.clone());
    match mode {
        Mode::Baseline => {
            cfg.skills.enabled = false;
            cfg.judge.model = None;
            cfg.evolve.model = None;
        }
        Mode::Skills | Mode::SkillsRl => {
            cfg.skills.enabled = true;
            cfg.judge.model = opts.judge_model.clone().or_else(|| model.clone());
            cfg.evolve.model = opts.evolver_model.clone().or_else(|| model.clone());
            if cfg.judge.model.is_none() || cfg.evolve.model.is_none() {
                return Err(BenchError::Refused(format!(
                    "mode {mode} needs a model for the judge and the evolver: pass --model (or --judge-model and \
                     --evolver-model)"
                )));
            }
            cfg.evolve.approval = opts.approval.unwrap_or(Approval::Auto);
            // A 30-day run evolves every day; the hourly cap would stall it.
            cfg.evolve.max_calls_per_hour = cfg.evolve.max_calls_per_hour.max(600);
        }
    }
    if mode == Mode::SkillsRl {
        if user.train.active_model().is_none() {
            return Err(BenchError::Refused(
                "mode skills+rl trains the policy on a Tinker-compatible service, and none is configured: set \
                 [train] enabled = true and base_model (and its key) in MetaClaw's config, or run --mode skills"
                    .into(),
            ));
        }
        cfg.train = user.train.clone();
    }
    Ok(cfg)
}

/// A mode's running engine and a client of its admin API.
pub struct BenchEngine {
    pub engine: Engine,
    pub client: Client,
    pub mode: Mode,
    pub judge_timeout: Duration,
    events: broadcast::Receiver<Event>,
}

impl BenchEngine {
    /// Starts the engine for `mode` in `home_dir` with `cfg`; the upstream keys come from the
    /// usual sources of the user's `keys_home` (environment, keyring, secrets file), never from
    /// or into files under `--out`.
    pub async fn start(mode: Mode, home_dir: &Path, cfg: Config, keys_home: &Home) -> Result<Self, BenchError> {
        let home = Home::at(home_dir);
        home.ensure().map_err(crate::engine::EngineError::from)?;
        let path = home.config_path();
        crate::home::write_atomic(&path, cfg.to_toml().as_bytes(), 0o600).map_err(crate::engine::EngineError::from)?;
        let keys = Keys::lookup(&cfg, keys_home).await;
        let judge_timeout = Duration::from_secs(cfg.judge.timeout_secs);
        let engine = Engine::start(cfg, home, keys).await?;
        let events = engine.events().subscribe();
        let client = Client::new(format!("http://{}", engine.addr()), engine.admin_token());
        Ok(Self { engine, client, mode, judge_timeout, events })
    }

    /// The proxy's OpenAI base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.engine.addr())
    }

    /// The library generation served now.
    pub async fn generation(&self) -> Option<i64> {
        self.client.status().await.ok().map(|s| s.generation)
    }

    /// The learning step after a day: waits until the judge has scored every main turn of
    /// `session` but the last (which has no next message yet), evolves from that session, and
    /// for skills+rl runs one training step; returns what happened.
    pub async fn learn(&mut self, day: &str, session: &str) -> Learned {
        let started = Instant::now();
        let mut learned = Learned { day: day.to_string(), ..Learned::default() };
        learned.generation_before = self.generation().await.unwrap_or(0);
        match self.wait_judged(session).await {
            Ok(n) => learned.turns_judged = n,
            Err(note) => learned.note = Some(note),
        }
        match self.client.evolve(&EvolveArg { session: Some(session.to_string()) }).await {
            Ok(report) => learned.evolve = serde_json::to_value(&report).ok(),
            Err(e) => learned.note = Some(format!("evolution failed: {e}")),
        }
        if self.mode == Mode::SkillsRl {
            learned.train = Some(self.train_step().await);
        }
        learned.generation_after = self.generation().await.unwrap_or(learned.generation_before);
        learned.took_ms = started.elapsed().as_secs_f64() * 1000.0;
        learned
    }

    /// Waits for the judge; the number of the session's turns scored, or why it stopped waiting.
    async fn wait_judged(&mut self, session: &str) -> Result<usize, String> {
        let deadline = Instant::now() + JUDGE_WAIT;
        let mut given_up: HashSet<i64> = HashSet::new();
        loop {
            let filter = TurnFilter {
                session: Some(session.to_string()),
                turn_type: Some(TurnType::Main),
                limit: Some(1000),
                ..TurnFilter::default()
            };
            let turns = self.client.turns(&filter).await.map_err(|e| format!("cannot list the day's turns: {e}"))?;
            let last = turns.turns.iter().map(|t| t.id).max();
            let pending = turns
                .turns
                .iter()
                .filter(|t| Some(t.id) != last && t.score.is_none() && !given_up.contains(&t.id))
                .count();
            if pending == 0 {
                return Ok(turns.turns.iter().filter(|t| t.score.is_some()).count());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!("the judge left {pending} turn(s) unscored after {} s", JUDGE_WAIT.as_secs()));
            }
            let wait = RECHECK.min(deadline - now);
            match tokio::time::timeout(wait, self.events.recv()).await {
                Ok(Ok(Event::JudgeFailed { turn_id, retry_at_ms: None, .. })) => {
                    given_up.insert(turn_id);
                }
                Ok(Err(broadcast::error::RecvError::Closed)) => return Err("the engine stopped".into()),
                _ => {}
            }
        }
    }

    /// Asks for a training step now and waits for it to end: its end event, or the status no
    /// longer training (a run that could not start ends without one).
    async fn train_step(&mut self) -> String {
        if let Err(e) = self.client.train_now().await {
            return format!("training did not start: {e}");
        }
        let deadline = Instant::now() + TRAIN_WAIT;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return format!("no training result within {} min", TRAIN_WAIT.as_secs() / 60);
            }
            match tokio::time::timeout(RECHECK.min(deadline - now), self.events.recv()).await {
                Ok(Ok(Event::TrainRunEnded { status, detail, .. })) => return format!("{status:?}: {detail}"),
                Ok(Err(broadcast::error::RecvError::Closed)) => return "the engine stopped".into(),
                _ => match self.client.train_status().await {
                    Ok(s) if s.current_run.is_none() && s.state != crate::train::TrainState::Training => {
                        return format!("{:?}: {}", s.state, s.detail)
                    }
                    Ok(_) => {}
                    Err(e) => return format!("cannot read the training status: {e}"),
                },
            }
        }
    }

    pub async fn shutdown(self) {
        self.engine.shutdown().await;
    }
}
