//! The evolver: reads failed turns (judged -1, or marked so by the user) and proposes skills that
//! would have prevented them — new ones, or edits of existing ones — with their evidence, screened
//! and verified by a replay, into a review queue. Runs at session end, after N failures in a
//! session, and on demand; in the background, within an hourly call budget; all state in SQLite.
//!
//! Children: what a run is on record ([`run`]), one run from failures to queued candidates
//! ([`propose`]); the prompt, screening, edit operations, the review queue and validation.

mod delta;
pub mod ops;
mod prompt;
mod propose;
pub mod review;
mod run;
mod screen;
pub mod validate;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::task::JoinHandle;

pub use ops::EditOp;
pub use prompt::{parse as parse_answer, Failure, Proposal};

use crate::clock::now_ms;
use crate::config::{EvolveConfig, JudgeConfig};
use crate::events::EventBus;
use crate::skills::Library;
use crate::store::evolution;
use crate::store::{Store, StoreError};
use crate::upstream::complete as llm;
use crate::upstream::{Routes, Upstream};

pub use run::{evolver_status, runs, EvolverStatus, Outcome, Run, RunReport, Trigger, FAILED_STATUSES};

#[derive(Debug, thiserror::Error)]
pub enum EvolveError {
    #[error("no evolver is configured: set [evolve] model")]
    Off,
    #[error("the hourly budget of evolver calls ([evolve] max_calls_per_hour = {0}) is used up; try again later")]
    Budget(u32),
    #[error("the evolver failed: {0}")]
    Llm(#[from] llm::LlmError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Library(#[from] crate::skills::LibraryError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
}

/// Automatic runs of a session that keep failing stop after this many (in windows too), until a
/// restart or `metaclaw evolve --retry-failed`.
const MAX_FAILED_RUNS: u32 = 3;

/// Calls per hour, counted over a sliding window.
struct Budget {
    per_hour: u32,
    calls: Mutex<VecDeque<Instant>>,
}

impl Budget {
    fn take(&self, n: u32) -> bool {
        let mut calls = self.calls.lock().expect("budget lock");
        while calls.front().is_some_and(|t| t.elapsed() > Duration::from_secs(3600)) {
            calls.pop_front();
        }
        if calls.len() as u32 + n > self.per_hour {
            return false;
        }
        calls.extend(std::iter::repeat_n(Instant::now(), n as usize));
        true
    }
}

/// The evolver and review queue.
pub struct Evolver {
    pub store: Store,
    pub library: Arc<Library>,
    pub routes: Arc<Routes>,
    pub client: reqwest::Client,
    pub cfg: EvolveConfig,
    pub judge: JudgeConfig,
    pub events: EventBus,
    pub idle_gap_ms: i64,
    budget: Budget,
    /// One evolution at a time.
    running: tokio::sync::Mutex<()>,
    /// Sessions whose automatic runs failed: how often in a row, and when to try again.
    failing: Mutex<std::collections::HashMap<String, (u32, Instant)>>,
    /// The user paused learning: automatic runs wait (on-demand runs still go).
    /// Shared with the judge, which stops while learning is paused.
    paused: Arc<std::sync::atomic::AtomicBool>,
}

/// What the evolver works with, shared with the rest of the engine.
pub struct Deps {
    pub store: Store,
    pub library: Arc<Library>,
    pub routes: Arc<Routes>,
    pub client: reqwest::Client,
    pub events: EventBus,
}

impl Evolver {
    pub fn new(deps: Deps, cfg: EvolveConfig, judge: JudgeConfig, idle_gap_ms: i64) -> Arc<Self> {
        let Deps { store, library, routes, client, events } = deps;
        let budget = Budget { per_hour: cfg.max_calls_per_hour, calls: Mutex::new(VecDeque::new()) };
        Arc::new(Self {
            store,
            library,
            routes,
            client,
            cfg,
            judge,
            events,
            idle_gap_ms,
            budget,
            running: Default::default(),
            failing: Default::default(),
            paused: Default::default(),
        })
    }

    pub fn enabled(&self) -> bool {
        self.cfg.model.is_some()
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, std::sync::atomic::Ordering::SeqCst);
    }

    /// The learning-paused flag, for the judge's gate.
    pub fn paused_flag(&self) -> Arc<std::sync::atomic::AtomicBool> {
        self.paused.clone()
    }

    pub(crate) fn upstream(&self, name: Option<&str>) -> Option<Arc<Upstream>> {
        match name {
            Some(n) => self.routes.upstreams.iter().find(|u| u.name == n).cloned(),
            None => self.routes.candidates(None).into_iter().next(),
        }
    }

    /// Watches for sessions that ended with failures, or collected enough of them.
    pub fn spawn(self: &Arc<Self>) -> JoinHandle<()> {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(me) = me.upgrade() else { break };
                if me.paused.load(std::sync::atomic::Ordering::SeqCst) {
                    continue;
                }
                let due = match me.due_sessions().await {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!(error = %e, "evolver could not read sessions");
                        continue;
                    }
                };
                for (session, trigger) in due {
                    match me.evolve(Some(&session), trigger).await {
                        Ok(r) if r.error.is_none() && r.proposed.is_empty() => {
                            let why = if r.dropped.is_empty() {
                                "the evolver proposed no skill".to_string()
                            } else {
                                format!("screening dropped every proposal: {}", r.dropped.join("; "))
                            };
                            tracing::info!(session, %trigger, failures = r.failures, reason = %why, "evolution proposed nothing");
                        }
                        Ok(r) if r.error.is_none() => tracing::info!(
                            session,
                            %trigger,
                            proposed = r.proposed.len(),
                            dropped = r.dropped.len(),
                            "evolution proposed skills"
                        ),
                        Err(EvolveError::Budget(_)) => break,
                        // Failed runs are logged (and backed off) where they are recorded.
                        _ => {}
                    }
                }
            }
        })
    }

    /// Books an automatic run's outcome for its session: a failed one makes the session wait
    /// (doubling up to ten minutes) and, after a few, stops automatic runs of it until a restart
    /// or `metaclaw evolve --retry-failed`.
    /// Returns when the session is tried again (ms), if it is.
    fn note_run(&self, session: &str, error: Option<&str>) -> Option<i64> {
        let mut failing = self.failing.lock().expect("failing lock");
        let Some(error) = error else {
            failing.remove(session);
            return None;
        };
        let entry = failing.entry(session.to_string()).or_insert((0, Instant::now()));
        let wait = Duration::from_secs(10u64 << entry.0.min(6)).min(Duration::from_secs(600));
        *entry = (entry.0 + 1, Instant::now() + wait);
        if entry.0 >= MAX_FAILED_RUNS {
            tracing::warn!(session, %error, runs = entry.0, "evolution failed; not retrying this session until `metaclaw evolve --retry-failed` or a restart");
            None
        } else {
            tracing::warn!(session, %error, retry_in = ?wait, "evolution failed; its failures wait for the next run");
            Some(crate::clock::now_ms() + wait.as_millis() as i64)
        }
    }

    /// Whether automatic runs of `session` wait after failed ones.
    fn waiting(&self, session: &str) -> bool {
        self.failing
            .lock()
            .expect("failing lock")
            .get(session)
            .is_some_and(|(n, until)| *n >= MAX_FAILED_RUNS || Instant::now() < *until)
    }

    /// Sessions to evolve now: ended with failures, or holding enough of them.
    pub async fn due_sessions(&self) -> Result<Vec<(String, Trigger)>, StoreError> {
        let (n, gap) = (self.cfg.failures_to_trigger as i64, self.idle_gap_ms);
        let due: Vec<(String, Trigger)> = self
            .store
            .read(move |c| {
                let rows = evolution::sessions_with_failures(c, now_ms() - gap)?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(s, count, ended)| {
                        if ended {
                            Some((s, Trigger::SessionEnd))
                        } else if count >= n {
                            Some((s, Trigger::Failures))
                        } else {
                            None
                        }
                    })
                    .collect())
            })
            .await?;
        // Sessions whose automatic runs keep failing wait.
        Ok(due.into_iter().filter(|(s, _)| !self.waiting(s)).collect())
    }

    /// Brings back the failed turns that runs which failed (for output or transport reasons)
    /// consumed, as older builds did, and lets automatic runs retry every session: for after
    /// the user switched to a better evolver model. Returns how many turns came back.
    pub async fn retry_failed(&self) -> Result<usize, StoreError> {
        let n = self.store.write(evolution::release_failed).await?;
        self.failing.lock().expect("failing lock").clear();
        Ok(n)
    }

    pub(crate) fn take_budget(&self, n: u32) -> bool {
        self.budget.take(n)
    }
}

/// A turn's recorded request and answer, for replays.
pub(crate) async fn recorded(
    store: &Store,
    turn_id: i64,
) -> Result<Option<(Value, String, String, Option<String>)>, StoreError> {
    let t = store.read(move |c| crate::store::read::get_turn(c, turn_id)).await?;
    Ok(t.map(|t| {
        let mut body = t.params.clone();
        if let Value::Object(m) = &mut body {
            m.insert("messages".into(), json!(t.messages));
            m.remove("stream");
            m.remove("stream_options");
        }
        let why =
            t.judgement
                .and_then(|j| if j.source == crate::turn::ScoreSource::User { j.note } else { j.reason.or(j.note) });
        (body, t.response_text.unwrap_or_default(), t.summary.upstream, why)
    }))
}
