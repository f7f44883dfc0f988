//! The evolver: reads failed turns (judged -1, or marked so by the user) and proposes skills that
//! would have prevented them — new ones, or edits of existing ones — with their evidence, screened
//! and verified by a replay, into a review queue. Runs at session end, after N failures in a
//! session, and on demand; in the background, within an hourly call budget; all state in SQLite.

mod delta;
pub mod ops;
mod prompt;
pub mod review;
mod screen;
pub mod validate;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::task::JoinHandle;

pub use ops::EditOp;
pub use prompt::{parse as parse_answer, Failure, Proposal};

use crate::agent::AgentId;
use crate::clock::now_ms;
use crate::config::{EvolveConfig, JudgeConfig};
use crate::events::{Event, EventBus};
use crate::skills::Library;
use crate::store::candidates::{self, NewCandidate};
use crate::store::evolution::{self, NewRun};
use crate::store::{Store, StoreError};
use crate::transcript::last_user_text;
use crate::upstream::complete as llm;
use crate::upstream::{Routes, Upstream};

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

/// What one evolution did.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RunReport {
    pub run_id: Option<i64>,
    pub failures: usize,
    pub proposed: Vec<i64>,
    pub dropped: Vec<String>,
    pub error: Option<String>,
    /// How the run ended; `None` when there was nothing to learn from.
    #[serde(default)]
    pub outcome: Option<Outcome>,
}

/// How an evolution run ended, as recorded in `evolve_runs.status` (the same words on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "EvolveOutcome"))]
pub enum Outcome {
    /// Candidates were queued for review.
    #[serde(rename = "proposed")]
    Proposed,
    /// The evolver answered, and proposed no skill.
    #[serde(rename = "nothing")]
    Nothing,
    /// Every proposal was dropped by screening.
    #[serde(rename = "screened out")]
    ScreenedOut,
    /// The answer was not the JSON asked for (or was cut at `max_tokens`).
    #[serde(rename = "malformed")]
    Malformed,
    /// The evolver did not answer within `[evolve] timeout_secs`.
    #[serde(rename = "timed out")]
    TimedOut,
    /// The call failed (unreachable, refused, an error status).
    #[serde(rename = "failed")]
    Failed,
    /// A run recorded by an older build, which had no finer word for an answered run.
    #[serde(rename = "done")]
    Done,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl rusqlite::types::FromSql for Outcome {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = v.as_str()?;
        [
            Outcome::Proposed,
            Outcome::Nothing,
            Outcome::ScreenedOut,
            Outcome::Malformed,
            Outcome::TimedOut,
            Outcome::Failed,
            Outcome::Done,
        ]
        .into_iter()
        .find(|o| o.as_str() == text)
        .ok_or_else(|| rusqlite::types::FromSqlError::Other(format!("{text:?} is no evolution run outcome").into()))
    }
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Proposed => "proposed",
            Outcome::Nothing => "nothing",
            Outcome::ScreenedOut => "screened out",
            Outcome::Malformed => "malformed",
            Outcome::TimedOut => "timed out",
            Outcome::Failed => "failed",
            Outcome::Done => "done",
        }
    }

    /// The evolver answered: its failures are consumed. A run that failed for output or
    /// transport reasons leaves them for the next run (or a better model).
    pub fn consumes(self) -> bool {
        matches!(self, Outcome::Proposed | Outcome::Nothing | Outcome::ScreenedOut | Outcome::Done)
    }
}

pub use crate::store::evolution::FAILED_STATUSES;

/// Existing skills shown to the evolver with their whole text (the closest ones).
const BODIES_SHOWN: usize = 3;

/// Automatic runs of a session that keep failing stop after this many (in windows too), until a
/// restart or `metaclaw evolve --retry-failed`.
const MAX_FAILED_RUNS: u32 = 3;

/// What started an evolution run (stored in `evolve_runs.trigger` as the same words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "EvolveTrigger"))]
pub enum Trigger {
    /// A session holding failed turns ended (went idle).
    #[serde(rename = "session end")]
    SessionEnd,
    /// A session gathered `[evolve] failures_to_trigger` failed turns.
    #[serde(rename = "failures")]
    Failures,
    /// The user asked (`metaclaw evolve`, the UI's button).
    #[serde(rename = "on demand")]
    OnDemand,
    /// The curator's proposals (switch off a harmful skill, merge near-duplicates).
    #[serde(rename = "curator")]
    Curator,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SessionEnd => "session end",
            Self::Failures => "failures",
            Self::OnDemand => "on demand",
            Self::Curator => "curator",
        }
    }
}

crate::turn::text_enum! {
    Trigger: SessionEnd, Failures, OnDemand, Curator;
}

/// One recorded evolution run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "EvolveRun"))]
pub struct Run {
    pub id: i64,
    pub created_at: i64,
    pub trigger: Trigger,
    pub session_id: Option<String>,
    pub turns: Vec<i64>,
    pub status: Outcome,
    /// Why it failed, or what screening dropped.
    pub reason: Option<String>,
    pub candidates: i64,
}

/// The evolver's line in `status`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct EvolverStatus {
    pub runs: i64,
    /// Runs that failed for output or transport reasons.
    pub failed_runs: i64,
    /// Failed turns not yet learned from.
    pub failures_waiting: i64,
    pub last_run: Option<Run>,
}

/// Recorded runs, newest first.
pub async fn runs(store: &Store, limit: u32) -> Result<Vec<Run>, StoreError> {
    store.read(move |c| evolution::runs(c, limit)).await
}

/// The evolver's status.
pub fn evolver_status(c: &rusqlite::Connection) -> Result<EvolverStatus, StoreError> {
    evolution::status(c)
}

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

    /// The failed, not yet consumed turns of a session (or of all sessions), newest six.
    /// Also returns the agents that sent them.
    async fn failures(&self, session: Option<&str>) -> Result<(Vec<Failure>, Vec<AgentId>), StoreError> {
        let session = session.map(str::to_string);
        let failed = self.store.read(move |c| evolution::failures(c, session.as_deref())).await?;
        let agents = failed.iter().map(|f| f.agent.clone()).collect();
        let failures = failed
            .into_iter()
            .map(|f| Failure {
                turn_id: f.turn_id,
                request: last_user_text(&f.messages).unwrap_or_default(),
                answer: f.answer,
                reason: f.reason,
                next_message: f.next_messages.as_deref().and_then(last_user_text),
                source: if f.by_user { crate::turn::ScoreSource::User } else { crate::turn::ScoreSource::Judge },
            })
            .collect();
        Ok((failures, agents))
    }

    async fn rejected(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.store.read(candidates::rejected).await
    }

    /// The existing skills closest to the failures (their requests, the user's reactions and
    /// the reasons), at most `[evolve] prompt_skills`, best first: the evolver sees what it might
    /// edit without the whole library; the closest [`BODIES_SHOWN`] with their current text,
    /// which its edit operations anchor on.
    fn closest_skills(&self, snap: &crate::skills::Snapshot, failures: &[Failure]) -> Vec<prompt::Shown> {
        let k = self.cfg.prompt_skills;
        if k == 0 {
            return Vec::new();
        }
        let query: String = failures
            .iter()
            .flat_map(|f| [Some(f.request.as_str()), f.next_message.as_deref(), f.reason.as_deref()])
            .flatten()
            .collect::<Vec<_>>()
            .join("\n");
        let mut cfg = self.library.config().clone();
        cfg.top_k = k;
        cfg.min_score = 0.0;
        cfg.max_tokens = 1_000_000;
        let mut ranked = snap.explain(&query, &cfg, None).candidates;
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
        ranked
            .into_iter()
            .filter(|c| c.score > 0.0)
            .filter_map(|c| snap.get(&c.name))
            .take(k)
            .enumerate()
            .map(|(i, e)| prompt::Shown {
                name: e.skill.name.clone(),
                description: e.skill.description.clone(),
                body: (i < BODIES_SHOWN).then(|| e.skill.body.clone()),
            })
            .collect()
    }

    /// Asks the evolver about a session's (or all) unconsumed failures and queues its screened
    /// proposals for review. Every run that calls the evolver is recorded in `evolve_runs` with
    /// its outcome and reason; only a run the evolver answered consumes its failures.
    pub async fn evolve(&self, session: Option<&str>, trigger: Trigger) -> Result<RunReport, EvolveError> {
        let model = self.cfg.model.clone().ok_or(EvolveError::Off)?;
        let automatic = session.filter(|_| trigger != Trigger::OnDemand).map(str::to_string);
        let _one = self.running.lock().await;
        let (failures, agents) = self.failures(session).await?;
        if failures.is_empty() {
            return Ok(RunReport {
                run_id: None,
                failures: 0,
                proposed: vec![],
                dropped: vec![],
                error: None,
                outcome: None,
            });
        }
        if !self.budget.take(1) {
            return Err(EvolveError::Budget(self.cfg.max_calls_per_hour));
        }
        let up = self.upstream(self.cfg.upstream.as_deref()).ok_or(EvolveError::Off)?;
        let snap = self.library.snapshot();
        let skills = self.closest_skills(&snap, &failures);
        let rejected = self.rejected().await?;
        let system = prompt::SYSTEM.replace("MAX", &self.cfg.max_candidates.to_string());
        let req = llm::with_format(
            llm::request(
                &model,
                &system,
                &prompt::user_prompt(&failures, &skills, &rejected),
                0.3,
                self.cfg.max_tokens,
            ),
            json!({"type": "json_object"}),
        );
        let timeout = Duration::from_secs(self.cfg.timeout_secs);
        // Malformed output gets one more try; a call that fails or times out ends the run.
        let mut parsed: Result<Vec<Proposal>, (Outcome, String)> = Err((Outcome::Malformed, String::new()));
        let mut call_error = None;
        for attempt in 0..2 {
            if attempt == 1 && !self.budget.take(1) {
                break;
            }
            match llm::complete(&self.client, &up, req.clone(), timeout).await {
                Ok(text) => {
                    parsed = prompt::parse(&text).map_err(|e| (Outcome::Malformed, e));
                    match &parsed {
                        Ok(_) => break,
                        Err((_, e)) => tracing::warn!(error = %e, attempt, "evolver answer not usable"),
                    }
                }
                Err(e) => {
                    let outcome = if e.is_timeout() { Outcome::TimedOut } else { Outcome::Failed };
                    parsed = Err((outcome, format!("the evolver failed: {e}")));
                    call_error = Some(e);
                    break;
                }
            }
        }
        let turn_ids: Vec<i64> = failures.iter().map(|f| f.turn_id).collect();
        let mut report = RunReport {
            run_id: None,
            failures: failures.len(),
            proposed: vec![],
            dropped: vec![],
            error: None,
            outcome: None,
        };
        let mut keep = Vec::new();
        let outcome = match parsed {
            Ok(proposals) => {
                let none = proposals.is_empty();
                for p in proposals.into_iter().take(self.cfg.max_candidates) {
                    let name = p.name.clone();
                    let kept = delta::resolve(p, &snap).and_then(|(p, delta)| {
                        match screen::screen(&p, &snap, &rejected, self.cfg.similarity_threshold) {
                            screen::Verdict::Keep { action, skill, previous } => {
                                let delta = delta::of_kept(action, &skill, &snap, delta)?;
                                Ok((p, action, skill, previous, delta))
                            }
                            screen::Verdict::Drop(why) => Err(why),
                        }
                    });
                    match kept {
                        Ok(k) => keep.push(k),
                        Err(why) => report.dropped.push(format!("{name}: {why}")),
                    }
                }
                if none {
                    Outcome::Nothing
                } else if keep.is_empty() {
                    Outcome::ScreenedOut
                } else {
                    Outcome::Proposed
                }
            }
            Err((outcome, e)) => {
                report.error = Some(e);
                outcome
            }
        };
        report.outcome = Some(outcome);
        let dropped = &report.dropped;
        let run = NewRun {
            trigger,
            session: session.map(str::to_string),
            turns: turn_ids,
            status: outcome.as_str(),
            error: report
                .error
                .clone()
                .or_else(|| (!dropped.is_empty()).then(|| format!("dropped: {}", dropped.join("; ")))),
            consumes: outcome.consumes(),
            evidence: serde_json::to_string(&failures).expect("json"),
        };
        let proposed: Vec<NewCandidate> = keep
            .iter()
            .map(|(p, action, skill, previous, delta)| NewCandidate {
                action: *action,
                name: skill.name.clone(),
                description: skill.description.clone(),
                category: skill.category().to_string(),
                rationale: p.rationale.clone(),
                content: crate::skills::render(&scoped(skill, *action, &snap, &agents)),
                previous: previous.clone(),
                ops: delta.as_ref().map(|d| serde_json::to_string(&d.ops).expect("json")),
                base_hash: delta.as_ref().map(|d| d.base_hash.clone()),
            })
            .collect();
        let (run_id, ids) = self.store.write(move |c| evolution::record_run(c, &run, &proposed)).await?;
        report.run_id = Some(run_id);
        let retry_at_ms = automatic.as_ref().and_then(|session| self.note_run(session, report.error.as_deref()));
        self.events.publish(Event::EvolverRan {
            run_id,
            outcome: report.outcome,
            error: report.error.as_deref().map(crate::health::plain),
            retry_at_ms,
        });
        if let Some(e) = call_error {
            return Err(EvolveError::Llm(e));
        }
        report.proposed = ids.clone();
        for id in ids {
            if let Some(c) = review::get(&self.store, id).await? {
                self.events.publish(Event::CandidateProposed { id, name: c.name.clone(), action: c.action });
            }
            if let Err(e) = review::verify_and_apply_policy(self, id).await {
                tracing::warn!(candidate = id, error = %e, "candidate not verified");
            }
        }
        Ok(report)
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

/// An evolved skill's scope: an edit keeps the edited skill's; a new skill is for the one agent
/// whose failures produced it, shared when they came from several agents or an unknown one.
fn scoped(
    skill: &crate::skills::Skill,
    action: review::CandidateAction,
    snap: &crate::skills::Snapshot,
    agents: &[AgentId],
) -> crate::skills::Skill {
    let scope = match snap.get(&skill.name) {
        Some(e) if action == review::CandidateAction::Edit => e.skill.agents.clone(),
        _ => crate::agent::scope_of(agents),
    };
    skill.clone().with_agents(scope)
}
