//! Opportunistic policy optimisation: the base model itself improves by LoRA updates on a
//! Tinker-compatible cloud service, trained on the user's judged conversations while the user is
//! away, and the improved adapter is served to the agent without a restart.
//!
//! - [`tokens`]: chat template and tokenizer; the policy's sampled tokens.
//! - [`data`]: which turns are eligible (the query split), advantages, datums.
//! - [`backend`], [`tinker`], [`wire`]: the service.
//! - [`serve`]: the policy upstream and its atomic swap.
//! - [`run`]: one training run (the scheduler's `train` job, or a manual start).
//! - [`record`]: runs, steps, checkpoints and serving changes in the database.
//! - [`distill`]: optional on-policy distillation from a teacher.

pub mod backend;
pub mod data;
pub mod distill;
/// What training did, in the database (its SQL lives with the store).
pub use crate::store::training as record;
pub mod run;
pub mod serve;
pub mod tinker;
pub mod tokens;
pub mod wire;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::config::TrainConfig;
use crate::events::{Event, EventBus};
use crate::scheduler::runner::{Checkpoint, Job, JobCtx, Outcome};
use crate::store::{Store, StoreError};
use backend::Backend;
use record::{Run, ServingChange};
use serve::Serving;
use tokens::Tokens;

/// Why a training action could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("training is off: set [train] enabled = true and base_model in config.toml")]
    Off,
    #[error("a training run is already going")]
    Busy,
    #[error("no step {0} with a saved checkpoint")]
    NoCheckpoint(i64),
    #[error("step {0} has no weights saved for sampling, so it cannot be served")]
    NotServable(i64),
    #[error("the policy serves no models: set [train] serve_models")]
    NotServing,
    #[error("no training run {0}")]
    NoRun(i64),
    #[error("run {0} never created a model on the service")]
    NoModel(i64),
    #[error(transparent)]
    Service(#[from] backend::BackendError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What training is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TrainState {
    /// Not configured (`[train] enabled = false`).
    Off,
    Idle,
    /// Waiting for something (turns, a window, the service), said in the status's detail.
    Waiting,
    Training,
    Paused,
}

impl TrainState {
    /// The state's wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Idle => "idle",
            Self::Waiting => "waiting",
            Self::Training => "training",
            Self::Paused => "paused",
        }
    }
}

/// Training as the status shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "TrainStatus"))]
pub struct Status {
    pub enabled: bool,
    pub base_model: Option<String>,
    pub base_url: String,
    pub state: TrainState,
    /// What training is doing or waiting for, in a sentence.
    pub detail: String,
    pub paused: bool,
    pub serving: Option<ServingChange>,
    pub serve_models: Vec<String>,
    pub eligible: i64,
    /// Judged turns of this generation another upstream answered (not trainable).
    pub unsampled: i64,
    pub min_batch: u32,
    pub today: Today,
    pub samples: Samples,
    pub current_run: Option<Run>,
    pub last_run: Option<Run>,
}

/// Today's use against the daily limits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "TrainToday"))]
pub struct Today {
    pub steps: i64,
    pub max_steps: u32,
    pub spend_usd: f64,
    pub max_spend_usd: f64,
}

/// Turns trained on and skipped.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "TrainSamples"))]
pub struct Samples {
    pub trained: i64,
    pub skipped: i64,
    /// (reason, turns), the most common first.
    pub skip_reasons: Vec<(String, i64)>,
}

/// The training service: owns the backend, the tokenizer, the serving slot and the one run
/// that may be going.
pub struct Training {
    cfg: TrainConfig,
    store: Store,
    backend: Arc<dyn Backend>,
    /// The Tinker client, for its queue state.
    tinker: Option<Arc<tinker::Tinker>>,
    serving: Option<Serving>,
    events: EventBus,
    http: reqwest::Client,
    tokens_dir: PathBuf,
    tokens: tokio::sync::OnceCell<Arc<Tokens>>,
    paused: AtomicBool,
    /// The run going now, and how to stop it.
    active: Mutex<Option<(i64, CancellationToken)>>,
    /// The last thing worth telling the user (waiting for data, an error).
    note: Mutex<String>,
    /// Failed runs in a row, and when the scheduler may try again.
    failures: Mutex<(u32, Option<std::time::Instant>)>,
}

const PAUSE_KEY: &str = "train_paused";

impl Training {
    /// Builds the service; `None` when `[train]` is off.
    pub async fn open(
        cfg: &crate::config::Config,
        home: &crate::home::Home,
        store: Store,
        routes: crate::upstream::SharedRoutes,
        key: Option<String>,
        events: EventBus,
    ) -> Result<Option<Arc<Self>>, StoreError> {
        let t = &cfg.train;
        let Some(base_model) = t.active_model() else { return Ok(None) };
        let tinker = tinker::Tinker::new(&t.base_url, key.clone(), Duration::from_secs(t.save_timeout_secs));
        let tokens_dir = match &t.tokenizer_dir {
            Some(d) => d.clone(),
            None => {
                tokens::cache_dir(&home.root().join("tokenizers"), t.tokenizer_repo.as_deref().unwrap_or(base_model))
            }
        };
        // Tinker itself needs a key: without one, serving through it would only answer 401.
        let keyless = key.is_none() && t.base_url.trim_end_matches('/') == crate::config::TINKER_BASE_URL;
        let serving = if keyless { None } else { Serving::new(routes, cfg, key) };
        let mut me = Self::build(t.clone(), store, Arc::new(tinker.clone()), serving, events, tokens_dir);
        me.tinker = Some(tinker);
        if keyless {
            tracing::warn!("[train] is on but there is no Tinker key: `metaclaw key set tinker` (or TINKER_API_KEY)");
            me.set_note("no Tinker key: add it with `metaclaw key set tinker` (or TINKER_API_KEY) and restart");
        }
        let me = Arc::new(me);
        me.restore().await?;
        Ok(Some(me))
    }

    fn build(
        cfg: TrainConfig,
        store: Store,
        backend: Arc<dyn Backend>,
        serving: Option<Serving>,
        events: EventBus,
        tokens_dir: PathBuf,
    ) -> Self {
        Self {
            cfg,
            store,
            backend,
            tinker: None,
            serving,
            events,
            http: reqwest::Client::new(),
            tokens_dir,
            tokens: tokio::sync::OnceCell::new(),
            paused: AtomicBool::new(false),
            active: Mutex::new(None),
            note: Mutex::new(String::new()),
            failures: Mutex::new((0, None)),
        }
    }

    /// After a restart: runs left open are closed, the pause switch is read back, and the
    /// adapter served last is served again.
    async fn restore(&self) -> Result<(), StoreError> {
        self.store.write(|c| record::close_orphans(c).map(|_| ())).await?;
        let paused =
            Checkpoint::new(self.store.clone(), PAUSE_KEY).load().await?.and_then(|v| v.as_bool()).unwrap_or(false);
        self.paused.store(paused, Ordering::Relaxed);
        if let Some(s) = &self.serving {
            let served = self.store.read(record::served).await?;
            let base = match served.as_ref().and_then(|c| c.step_id) {
                Some(step) => self.store.read(move |c| record::base_of(c, step)).await?,
                None => None,
            };
            match served {
                // An adapter of another base model (the config changed) is not served.
                Some(change) if base.as_deref() == Some(self.base_model()) => s.serve(&change.model),
                _ => s.serve(self.base_model()),
            }
        }
        Ok(())
    }

    pub fn config(&self) -> &TrainConfig {
        &self.cfg
    }

    fn base_model(&self) -> &str {
        self.cfg.base_model.as_deref().unwrap_or_default()
    }

    /// The tokenizer and chat template, downloaded on first use.
    pub async fn tokens(&self) -> Result<Arc<Tokens>, tokens::TokenError> {
        self.tokens
            .get_or_try_init(|| async {
                let dir = self.tokens_dir.clone();
                let missing = tokens::REQUIRED_FILES.iter().any(|f| !dir.join(f).exists());
                if missing && self.cfg.tokenizer_dir.is_none() {
                    let repo = self.cfg.tokenizer_repo.as_deref().unwrap_or(self.base_model());
                    tokens::download(&self.http, &self.cfg.hub_url, repo, &dir).await?;
                }
                let t = tokio::task::spawn_blocking(move || Tokens::load(&dir))
                    .await
                    .map_err(|e| tokens::TokenError::Tokenize(e.to_string()))??;
                Ok(Arc::new(t))
            })
            .await
            .cloned()
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// Pauses training (a run going now stops at once and is redone later) or resumes it.
    pub async fn set_paused(&self, paused: bool) -> Result<(), StoreError> {
        self.paused.store(paused, Ordering::Relaxed);
        Checkpoint::new(self.store.clone(), PAUSE_KEY).save(&serde_json::json!(paused)).await?;
        if paused {
            if let Some((_, cancel)) = self.active.lock().expect("active").as_ref() {
                cancel.cancel();
            }
        }
        self.changed();
        Ok(())
    }

    fn set_note(&self, note: impl Into<String>) {
        *self.note.lock().expect("note") = note.into();
    }

    fn changed(&self) {
        let state = self.state_word();
        self.events.publish(Event::TrainChanged { state, serving: self.serving.as_ref().and_then(Serving::current) });
    }

    /// off, idle, waiting, training or paused, in a word.
    pub fn state(&self) -> TrainState {
        self.state_word()
    }

    fn state_word(&self) -> TrainState {
        if self.active.lock().expect("active").is_some() {
            TrainState::Training
        } else if self.is_paused() {
            TrainState::Paused
        } else if self.note.lock().expect("note").is_empty() {
            TrainState::Idle
        } else {
            TrainState::Waiting
        }
    }

    pub async fn status(&self) -> Result<Status, StoreError> {
        let since = crate::clock::now_ms() - 86_400_000;
        let active = self.active.lock().expect("active").as_ref().map(|(id, _)| *id);
        let (eligible, unsampled, (steps, spend), served, samples, current, last) = self
            .store
            .read(move |c| {
                Ok((
                    data::eligible_count(c)?,
                    data::unsampled_count(c)?,
                    record::usage_since(c, since)?,
                    record::served(c)?,
                    record::sample_counts(c)?,
                    match active {
                        Some(id) => record::get_run(c, id)?,
                        None => None,
                    },
                    record::runs(c, 2, None)?.into_iter().find(|r| Some(r.id) != active),
                ))
            })
            .await?;
        let state = self.state_word();
        let note = self.note.lock().expect("note").clone();
        let queue = self.tinker.as_ref().and_then(|t| t.queue_state()).filter(|q| q != "active");
        let detail = match state {
            TrainState::Training => match queue {
                Some(q) => format!("training; the service's queue is {}", q.replace('_', " ")),
                None => "training now".to_string(),
            },
            TrainState::Paused => "paused: no training until you resume".into(),
            _ if !note.is_empty() => note,
            _ if eligible < i64::from(self.cfg.min_batch) && unsampled > 0 => format!(
                "{eligible} of {} usable turns collected; {unsampled} judged turns were answered by another upstream (the policy was down or refused them, or their model is not in serve_models)",
                self.cfg.min_batch
            ),
            _ if eligible < i64::from(self.cfg.min_batch) => {
                format!("{eligible} of {} usable turns collected for the next step", self.cfg.min_batch)
            }
            _ => "ready: trains in the next window while you are away".into(),
        };
        Ok(Status {
            enabled: true,
            base_model: self.cfg.base_model.clone(),
            base_url: self.cfg.base_url.clone(),
            state,
            detail,
            paused: self.is_paused(),
            serving: served.or_else(|| {
                self.serving.as_ref().and_then(Serving::current).map(|m| ServingChange {
                    id: 0,
                    at: 0,
                    model: m,
                    step_id: None,
                    reason: record::ServingReason::Start,
                })
            }),
            serve_models: self.cfg.serve_models.clone(),
            eligible,
            unsampled,
            min_batch: self.cfg.min_batch,
            today: Today {
                steps,
                max_steps: self.cfg.max_steps_per_day,
                spend_usd: spend,
                max_spend_usd: self.cfg.max_spend_per_day_usd,
            },
            samples,
            current_run: current,
            last_run: last,
        })
    }

    /// Serves an earlier checkpoint now; training continues from it.
    pub async fn rollback(&self, step: i64) -> Result<ServingChange, TrainError> {
        let serving = self.serving.as_ref().ok_or(TrainError::NotServing)?;
        let s = self.store.read(move |c| record::get_step(c, step)).await?;
        let s = s
            .filter(|s| s.status == record::StepStatus::Done && s.state_path.is_some())
            .ok_or(TrainError::NoCheckpoint(step))?;
        let path = s.sampler_path.clone().ok_or(TrainError::NotServable(step))?;
        if let Some((_, cancel)) = self.active.lock().expect("active").as_ref() {
            // A run going now trains from the old head; stop it so the next one starts here.
            cancel.cancel();
        }
        let p = path.clone();
        let change = self
            .store
            .write(move |c| {
                record::record_serving(c, &p, Some(step), "rollback")?;
                Ok(record::served(c)?.expect("just written"))
            })
            .await?;
        serving.serve(&path);
        self.changed();
        Ok(change)
    }

    /// What the service holds for a run: its saved states and sampler weights.
    pub async fn remote_checkpoints(&self, run: i64) -> Result<Vec<backend::RemoteCheckpoint>, TrainError> {
        let r = self.store.read(move |c| record::get_run(c, run)).await?.ok_or(TrainError::NoRun(run))?;
        let model = r.model_id.ok_or(TrainError::NoModel(run))?;
        Ok(self.backend.checkpoints(&model).await?)
    }

    /// Starts a run now, outside any window (the user asked). Returns at once.
    pub fn run_now(self: &Arc<Self>) -> Result<(), TrainError> {
        let cancel = CancellationToken::new();
        self.claim(0, cancel.clone())?;
        let me = self.clone();
        tokio::spawn(async move {
            let outcome = me.clone().run_claimed("manual", "started by you", cancel).await;
            tracing::info!(?outcome, "manual training run ended");
        });
        Ok(())
    }

    fn claim(&self, run: i64, cancel: CancellationToken) -> Result<(), TrainError> {
        let mut a = self.active.lock().expect("active");
        if a.is_some() {
            return Err(TrainError::Busy);
        }
        *a = Some((run, cancel));
        Ok(())
    }

    /// A failed run is retried after a minute, then 2, 4, … up to an hour.
    fn note_outcome(&self, failed: bool) {
        let mut f = self.failures.lock().expect("failures");
        if failed {
            f.0 += 1;
            let wait = Duration::from_secs(60 << (f.0 - 1).min(6)).min(Duration::from_secs(3600));
            f.1 = Some(std::time::Instant::now() + wait);
        } else {
            *f = (0, None);
        }
    }

    fn release(&self) {
        *self.active.lock().expect("active") = None;
        self.changed();
    }

    /// The median duration of recent steps (what a window must cover).
    async fn step_estimate(&self) -> Option<Duration> {
        let mut d: Vec<i64> = self.store.read(record::recent_step_durations).await.ok()?;
        if d.is_empty() {
            return None;
        }
        d.sort_unstable();
        Some(Duration::from_millis(d[d.len() / 2].max(0) as u64))
    }

    /// Whether a run would have anything to do now.
    async fn has_work(&self) -> bool {
        if self.is_paused() {
            return false;
        }
        if self.failures.lock().expect("failures").1.is_some_and(|t| std::time::Instant::now() < t) {
            return false;
        }
        let min = i64::from(self.cfg.min_batch);
        let base = self.base_model().to_string();
        self.store
            .read(move |c| {
                let unfinished = record::pending_step(c)?.is_some();
                let unpublished = record::head(c, &base)?.is_some_and(|h| h.sampler_path.is_none());
                Ok(unfinished || unpublished || data::eligible_count(c)? >= min)
            })
            .await
            .unwrap_or(false)
    }
}

/// Training as a scheduler job: it runs only in windows, and yields the moment the user is back.
pub struct TrainJob(pub Arc<Training>);

impl Job for TrainJob {
    fn name(&self) -> &'static str {
        "train"
    }
    fn default_estimate(&self) -> Duration {
        Duration::from_secs(180)
    }
    fn estimate(&self) -> BoxFuture<'_, Option<Duration>> {
        self.0.step_estimate().boxed()
    }
    fn pending(&self) -> BoxFuture<'_, bool> {
        self.0.has_work().boxed()
    }
    fn run(&self, ctx: JobCtx) -> BoxFuture<'_, Outcome> {
        async move {
            if let Err(e) = self.0.claim(0, ctx.cancel.clone()) {
                return Outcome::Done(format!("not started: {e}"));
            }
            self.0.clone().run_claimed("window", &ctx.window, ctx.cancel).await
        }
        .boxed()
    }
}
