//! The evolver: reads failed turns (judged -1, or marked so by the user) and proposes skills that
//! would have prevented them — new ones, or edits of existing ones — with their evidence, screened
//! and verified by a replay, into a review queue. Runs at session end, after N failures in a
//! session, and on demand; in the background, within an hourly call budget; all state in SQLite.

mod prompt;
pub mod review;
mod screen;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::params;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

pub use prompt::{Failure, Proposal};

use crate::config::{EvolveConfig, JudgeConfig};
use crate::events::{Event, EventBus};
use crate::llm;
use crate::skills::Library;
use crate::store::{Store, StoreError};
use crate::transcript::last_user_text;
use crate::turn::now_ms;
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
pub struct RunReport {
    pub run_id: Option<i64>,
    pub failures: usize,
    pub proposed: Vec<i64>,
    pub dropped: Vec<String>,
    pub error: Option<String>,
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
    /// After a failed evolver call, automatic runs wait (doubling up to ten minutes).
    backoff: Mutex<(u32, Option<Instant>)>,
    /// The user paused learning: automatic runs wait (on-demand runs still go).
    paused: std::sync::atomic::AtomicBool,
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
            backoff: Mutex::new((0, None)),
            paused: Default::default(),
        })
    }

    pub fn enabled(&self) -> bool {
        self.cfg.model.is_some()
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, std::sync::atomic::Ordering::SeqCst);
    }

    fn upstream(&self, name: Option<&str>) -> Option<Arc<Upstream>> {
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
                if me.backoff.lock().expect("backoff lock").1.is_some_and(|until| Instant::now() < until) {
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
                        Ok(r) => {
                            *me.backoff.lock().expect("backoff lock") = (0, None);
                            tracing::info!(
                                session,
                                trigger,
                                proposed = r.proposed.len(),
                                dropped = r.dropped.len(),
                                "evolution ran"
                            )
                        }
                        Err(EvolveError::Budget(_)) => break,
                        Err(e) => {
                            let mut b = me.backoff.lock().expect("backoff lock");
                            let wait = Duration::from_secs(10u64 << b.0.min(6)).min(Duration::from_secs(600));
                            *b = (b.0 + 1, Some(Instant::now() + wait));
                            tracing::warn!(session, error = %e, retry_in = ?wait, "evolution failed; will retry");
                            break;
                        }
                    }
                }
            }
        })
    }

    /// Sessions to evolve now: ended with failures, or holding enough of them.
    pub async fn due_sessions(&self) -> Result<Vec<(String, &'static str)>, StoreError> {
        let (n, gap) = (self.cfg.failures_to_trigger as i64, self.idle_gap_ms);
        self.store
            .read(move |c| {
                let mut st = c.prepare(
                    "SELECT t.session_id, COUNT(*), s.done_at IS NOT NULL OR s.last_at < ?2
                     FROM turns t JOIN turn_scores sc ON sc.turn_id = t.id JOIN sessions s ON s.id = t.session_id
                     WHERE sc.score < 0 AND NOT EXISTS (SELECT 1 FROM evolve_consumed e WHERE e.turn_id = t.id)
                     GROUP BY t.session_id",
                )?;
                let rows = st
                    .query_map(params![n, now_ms() - gap], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, bool>(2)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(s, count, ended)| {
                        if ended {
                            Some((s, "session end"))
                        } else if count >= n {
                            Some((s, "failures"))
                        } else {
                            None
                        }
                    })
                    .collect())
            })
            .await
    }

    /// The failed, not yet consumed turns of a session (or of all sessions), newest six.
    async fn failures(&self, session: Option<&str>) -> Result<Vec<Failure>, StoreError> {
        let session = session.map(str::to_string);
        self.store
            .read(move |c| {
                let mut st = c.prepare(
                    "SELECT t.id, t.message_hashes, COALESCE(t.response_text, ''), COALESCE(sc.reason, sc.note),
                        (SELECT n.message_hashes FROM turns n WHERE n.session_id = t.session_id AND n.id > t.id AND n.turn_type = 'main' ORDER BY n.id LIMIT 1)
                     FROM turns t JOIN turn_scores sc ON sc.turn_id = t.id
                     WHERE sc.score < 0 AND (?1 IS NULL OR t.session_id = ?1)
                       AND NOT EXISTS (SELECT 1 FROM evolve_consumed e WHERE e.turn_id = t.id)
                     ORDER BY t.id DESC LIMIT 6",
                )?;
                let rows = st
                    .query_map([&session], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, Option<String>>(4)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                let load = |hashes: &str| crate::store::read::load_messages(c, hashes);
                let mut out = Vec::new();
                for (turn_id, hashes, answer, reason, next) in rows {
                    let request = last_user_text(&load(&hashes)?).unwrap_or_default();
                    let next_message = match next {
                        Some(h) => last_user_text(&load(&h)?),
                        None => None,
                    };
                    out.push(Failure { turn_id, request, answer, reason, next_message });
                }
                out.reverse();
                Ok(out)
            })
            .await
    }

    async fn rejected(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.store
            .read(|c| {
                let mut st = c.prepare("SELECT name, COALESCE(reason, '') FROM candidates WHERE status = 'rejected' ORDER BY id DESC LIMIT 30")?;
                let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await
    }

    /// Asks the evolver about a session's (or all) unconsumed failures and queues its screened
    /// proposals for review.
    pub async fn evolve(&self, session: Option<&str>, trigger: &str) -> Result<RunReport, EvolveError> {
        let model = self.cfg.model.clone().ok_or(EvolveError::Off)?;
        let _one = self.running.lock().await;
        let failures = self.failures(session).await?;
        if failures.is_empty() {
            return Ok(RunReport { run_id: None, failures: 0, proposed: vec![], dropped: vec![], error: None });
        }
        if !self.budget.take(1) {
            return Err(EvolveError::Budget(self.cfg.max_calls_per_hour));
        }
        let up = self.upstream(self.cfg.upstream.as_deref()).ok_or(EvolveError::Off)?;
        let snap = self.library.snapshot();
        let skills: Vec<(String, String)> = snap.active().map(|s| (s.name.clone(), s.description.clone())).collect();
        let rejected = self.rejected().await?;
        let system = prompt::SYSTEM.replace("MAX", &self.cfg.max_candidates.to_string());
        let req = llm::request(&model, &system, &prompt::user_prompt(&failures, &skills, &rejected), 0.3, 3000);
        let timeout = Duration::from_secs(120);
        // Malformed output gets one more try, then is reported.
        let mut parsed = Err(String::new());
        for attempt in 0..2 {
            if attempt == 1 && !self.budget.take(1) {
                break;
            }
            let text = llm::complete(&self.client, &up, req.clone(), timeout).await?;
            parsed = prompt::parse(&text);
            match &parsed {
                Ok(_) => break,
                Err(e) => tracing::warn!(error = %e, attempt, "evolver answer not usable"),
            }
        }
        let turn_ids: Vec<i64> = failures.iter().map(|f| f.turn_id).collect();
        let mut report =
            RunReport { run_id: None, failures: failures.len(), proposed: vec![], dropped: vec![], error: None };
        let mut keep = Vec::new();
        match parsed {
            Ok(proposals) => {
                for p in proposals.into_iter().take(self.cfg.max_candidates) {
                    match screen::screen(&p, &snap, &rejected, self.cfg.similarity_threshold) {
                        screen::Verdict::Keep { action, skill, previous } => keep.push((p, action, skill, previous)),
                        screen::Verdict::Drop(why) => report.dropped.push(format!("{}: {why}", p.name)),
                    }
                }
            }
            Err(e) => report.error = Some(e),
        }
        let (trigger, session, error) = (trigger.to_string(), session.map(str::to_string), report.error.clone());
        let evidence = serde_json::to_string(&failures).expect("json");
        let dropped = report.dropped.clone();
        let (run_id, ids) = self
            .store
            .write(move |c| {
                let now = now_ms();
                let status = if error.is_some() { "failed" } else { "done" };
                c.execute(
                    "INSERT INTO evolve_runs(created_at, trigger, session_id, turns, status, error, candidates) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![now, trigger, session, serde_json::to_string(&turn_ids).expect("json"), status,
                        error.or_else(|| (!dropped.is_empty()).then(|| format!("dropped: {}", dropped.join("; ")))), keep.len() as i64],
                )?;
                let run = c.last_insert_rowid();
                for t in &turn_ids {
                    c.execute("INSERT OR IGNORE INTO evolve_consumed(turn_id, run_id) VALUES (?1, ?2)", params![t, run])?;
                }
                // A candidate already waiting under the same name is not proposed twice.
                let mut ids = Vec::new();
                for (p, action, skill, previous) in &keep {
                    let waiting: bool = c.query_row("SELECT EXISTS(SELECT 1 FROM candidates WHERE name = ?1 AND status = 'pending')", [&skill.name], |r| r.get(0))?;
                    if waiting {
                        continue;
                    }
                    c.execute(
                        "INSERT INTO candidates(run_id, created_at, status, action, name, description, category, rationale, content, previous, evidence)
                         VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                        params![run, now, action, skill.name, skill.description, skill.category(), p.rationale, crate::skills::render(skill), previous, evidence],
                    )?;
                    let id = c.last_insert_rowid();
                    for t in &turn_ids {
                        c.execute("INSERT OR IGNORE INTO candidate_support(candidate_id, turn_id) VALUES (?1, ?2)", params![id, t])?;
                    }
                    ids.push(id);
                }
                Ok((run, ids))
            })
            .await?;
        report.run_id = Some(run_id);
        report.proposed = ids.clone();
        for id in ids {
            if let Some(c) = review::get(&self.store, id).await? {
                self.events.publish(Event::CandidateProposed { id, name: c.name.clone(), action: c.action.clone() });
            }
            if let Err(e) = review::verify_and_apply_policy(self, id).await {
                tracing::warn!(candidate = id, error = %e, "candidate not verified");
            }
        }
        Ok(report)
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
        (body, t.response_text.unwrap_or_default(), t.summary.upstream, t.judgement.and_then(|j| j.reason.or(j.note)))
    }))
}
