//! The scheduler's state machine: waiting → window open → running → pausing. It samples the
//! signals (every few seconds while a job runs), asks [`decide`], starts registered jobs in
//! windows long enough for them, hands each a cancellation token, and takes it back within
//! seconds of the user returning. Jobs keep checkpoints and resume in the next window.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::signals::{Reading, Signals};
use super::{decide, ActivityModel, Decision, Inputs, Reason, SleepHours};
use crate::calendar::Calendars;
use crate::config::SchedulerConfig;
use crate::events::{Event, EventBus};
use crate::store::{self, Store, StoreError};

/// How a job's run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// All pending work is done.
    Done(String),
    /// Stopped at a checkpoint because the window closed; resumes in the next one.
    Paused(String),
    Failed(String),
}

impl Outcome {
    fn parts(&self) -> (RunOutcome, &str) {
        match self {
            Self::Done(d) => (RunOutcome::Done, d),
            Self::Paused(d) => (RunOutcome::Paused, d),
            Self::Failed(d) => (RunOutcome::Failed, d),
        }
    }
}

/// How a recorded run ended (the kind of its [`Outcome`]), as `job_runs.outcome` keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Done,
    Paused,
    Failed,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Paused => "paused",
            Self::Failed => "failed",
        }
    }
}

impl rusqlite::types::FromSql for RunOutcome {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        match v.as_str()? {
            "done" => Ok(Self::Done),
            "paused" => Ok(Self::Paused),
            "failed" => Ok(Self::Failed),
            other => Err(rusqlite::types::FromSqlError::Other(format!("unknown job outcome {other:?}").into())),
        }
    }
}

/// What a running job gets: its cancellation token and its checkpoint.
pub struct JobCtx {
    pub cancel: CancellationToken,
    pub checkpoint: Checkpoint,
    /// When the window is expected to close.
    pub until: Option<Timestamp>,
    /// Why the window is open, in words (asleep, away, in a meeting, …).
    pub window: String,
}

/// Learning work that runs only in windows.
pub trait Job: Send + Sync {
    fn name(&self) -> &'static str;
    /// How long a run takes when there is no history to learn it from.
    fn default_estimate(&self) -> Duration;
    /// Whether there is work to do now.
    fn pending(&self) -> BoxFuture<'_, bool>;
    /// Does the work, checking `ctx.cancel` between steps and saving its checkpoint.
    fn run(&self, ctx: JobCtx) -> BoxFuture<'_, Outcome>;
    /// The time the job needs to make progress (e.g. one training step), when it measures that
    /// itself; otherwise the scheduler learns it from the job's past runs.
    fn estimate(&self) -> BoxFuture<'_, Option<Duration>> {
        Box::pin(async { None })
    }
}

/// A job's saved progress, as JSON in the `job_state` table.
#[derive(Clone)]
pub struct Checkpoint {
    store: Store,
    job: &'static str,
}

impl Checkpoint {
    pub fn new(store: Store, job: &'static str) -> Self {
        Self { store, job }
    }

    pub async fn load(&self) -> Result<Option<serde_json::Value>, StoreError> {
        let job = self.job;
        let raw = self.store.read(move |c| store::scheduler::checkpoint(c, job)).await?;
        Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
    }

    pub async fn save(&self, value: &serde_json::Value) -> Result<(), StoreError> {
        let (job, text) = (self.job, value.to_string());
        self.store.write(move |c| store::scheduler::save_checkpoint(c, job, &text)).await
    }
}

/// The scheduler's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "SchedulerState"))]
#[serde(rename_all = "snake_case")]
pub enum State {
    Waiting,
    Open,
    Running,
    Pausing,
    Paused,
}

impl State {
    /// The state's wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Open => "open",
            Self::Running => "running",
            Self::Pausing => "pausing",
            Self::Paused => "paused",
        }
    }
}

/// A registered job as the status shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct JobInfo {
    pub name: String,
    pub estimate_secs: u64,
    pub pending: bool,
    pub last_run: Option<RunInfo>,
}

/// One run of a job, from `job_runs`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RunInfo {
    pub id: i64,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    /// How it ended; `None` while it runs.
    pub outcome: Option<RunOutcome>,
    pub window: String,
    pub detail: Option<String>,
}

/// What `GET /api/scheduler` shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "SchedulerStatus"))]
pub struct Status {
    pub state: State,
    pub decision: Decision,
    pub signals: Reading,
    pub job: Option<String>,
    pub jobs: Vec<JobInfo>,
    pub timezone: String,
    pub activity: ActivityModel,
    pub updated_at: i64,
}

/// Timing knobs (tests shorten them).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Between samples while nothing runs.
    pub idle_poll: Duration,
    /// Between samples while a job runs: bounds how fast work yields.
    pub running_poll: Duration,
    /// How long a cancelled job may take to reach its checkpoint before it is aborted.
    pub pause_grace: Duration,
    /// How often the activity model is rebuilt from the turns.
    pub relearn: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            idle_poll: Duration::from_secs(15),
            running_poll: Duration::from_secs(2),
            pause_grace: Duration::from_secs(3),
            relearn: Duration::from_secs(600),
        }
    }
}

/// The scheduler: its jobs, its inputs, its state.
pub struct Scheduler {
    cfg: SchedulerConfig,
    tz: jiff::tz::TimeZone,
    sleep: SleepHours,
    signals: Signals,
    calendars: Option<Arc<Calendars>>,
    store: Store,
    events: EventBus,
    jobs: Vec<Arc<dyn Job>>,
    timing: Timing,
    paused: AtomicBool,
    wake: Notify,
    status: RwLock<Option<Status>>,
    activity: RwLock<Option<(Instant, ActivityModel)>>,
    /// When the scheduler was made (the engine's start, ms): the idle baseline before any request.
    started_ms: i64,
}

impl Scheduler {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cfg: SchedulerConfig,
        signals: Signals,
        calendars: Option<Arc<Calendars>>,
        store: Store,
        events: EventBus,
        jobs: Vec<Arc<dyn Job>>,
        timing: Timing,
        paused: bool,
    ) -> Result<Arc<Self>, String> {
        let tz = cfg.time_zone()?;
        let sleep = cfg.sleep_hours()?;
        Ok(Arc::new(Self {
            cfg,
            tz,
            sleep,
            signals,
            calendars,
            store,
            events,
            jobs,
            timing,
            paused: AtomicBool::new(paused),
            wake: Notify::new(),
            status: RwLock::new(None),
            activity: RwLock::new(None),
            started_ms: crate::clock::now_ms(),
        }))
    }

    pub fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
        self.wake.notify_one();
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// Asks for a sample now (calendar changed, pause toggled).
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    pub fn status(&self) -> Option<Status> {
        self.status.read().expect("status").clone()
    }

    /// The status, if its sample was taken after the last proxied request: a status sampled
    /// before the user's latest request would tell an old story (`away` while they type).
    pub fn fresh_status(&self) -> Option<Status> {
        let last = self.signals.last_request.load(Ordering::Relaxed);
        self.status().filter(|s| s.updated_at > last)
    }

    pub fn config(&self) -> &SchedulerConfig {
        &self.cfg
    }

    async fn activity(&self, now: &Zoned) -> ActivityModel {
        if let Some((at, m)) = self.activity.read().expect("activity").as_ref() {
            if at.elapsed() < self.timing.relearn {
                return m.clone();
            }
        }
        let since = now.timestamp().as_millisecond() - i64::from(self.cfg.activity_weeks.max(1)) * 7 * 86_400_000;
        let events: Vec<i64> =
            self.store.read(move |c| crate::store::turns::started_since(c, since, true)).await.unwrap_or_default();
        let events: Vec<Timestamp> = events.into_iter().filter_map(|ms| Timestamp::from_millisecond(ms).ok()).collect();
        let m = ActivityModel::learn(&events, now, self.cfg.activity_weeks, self.tz.clone());
        *self.activity.write().expect("activity") = Some((Instant::now(), m.clone()));
        m
    }

    /// One sample of every input and the decision it leads to.
    pub async fn sample(&self) -> (Decision, Reading, ActivityModel, Zoned) {
        let now = Timestamp::now().to_zoned(self.tz.clone());
        let now_ms = now.timestamp().as_millisecond();
        let signals = self.signals.clone();
        let started = self.started_ms;
        let reading = match tokio::task::spawn_blocking(move || signals.read(now_ms, started)).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "reading the idle and power signals failed");
                Reading {
                    idle_secs: 0,
                    idle_source: "unknown".into(),
                    os_idle_secs: None,
                    request_idle_secs: 0,
                    idle_from_start: true,
                    on_battery: None,
                    locked: None,
                }
            }
        };
        // Off the async workers, within its own budget; a feed that fails costs its meetings, not
        // the sample.
        let meetings = match &self.calendars {
            Some(c) => c.busy_intervals_blocking(now_ms - 86_400_000, now_ms + 8 * 86_400_000).await,
            None => Vec::new(),
        };
        // Idle time counted from the engine's start is not input: it never means "at the machine".
        let idle_secs = if reading.idle_from_start {
            reading.idle_secs.max(super::decide::PRESENT_SECS)
        } else {
            reading.idle_secs
        };
        let activity = self.activity(&now).await;
        let d = decide(
            &now,
            &Inputs {
                idle_secs,
                meetings: &meetings,
                on_battery: reading.on_battery,
                locked: reading.locked,
                paused: self.is_paused(),
                sleep: &self.sleep,
                activity: &activity,
                idle_minutes: self.cfg.idle_minutes,
                min_window_minutes: self.cfg.min_window_minutes,
            },
        );
        (d, reading, activity, now)
    }

    /// A job's expected run time: the median of its recent finished runs, else its default.
    async fn estimate(&self, job: &dyn Job) -> Duration {
        if let Some(d) = job.estimate().await {
            return d;
        }
        let name = job.name();
        let mut runs: Vec<i64> =
            self.store.read(move |c| store::scheduler::recent_durations(c, name)).await.unwrap_or_default();
        if runs.is_empty() {
            return job.default_estimate();
        }
        runs.sort_unstable();
        Duration::from_millis(runs[runs.len() / 2].max(0) as u64)
    }

    async fn job_infos(&self) -> Vec<JobInfo> {
        let mut out = Vec::new();
        for j in &self.jobs {
            let name = j.name();
            let last = self.store.read(move |c| store::scheduler::last_run(c, name)).await.ok().flatten();
            out.push(JobInfo {
                name: name.into(),
                estimate_secs: self.estimate(j.as_ref()).await.as_secs(),
                pending: j.pending().await,
                last_run: last,
            });
        }
        out
    }

    async fn record_start(&self, job: &str, window: &str) -> Option<i64> {
        let (job, window, now) = (job.to_string(), window.to_string(), crate::clock::now_ms());
        self.store.write(move |c| store::scheduler::record_start(c, &job, &window, now)).await.ok()
    }

    async fn record_end(&self, run: Option<i64>, job: &str, outcome: &Outcome) {
        let (kind, detail) = outcome.parts();
        tracing::info!(job, outcome = kind.as_str(), detail, "scheduled job stopped");
        self.events.publish(Event::JobStopped { job: job.into(), outcome: kind, detail: detail.into() });
        let Some(id) = run else { return };
        let (kind, detail, now) = (kind.as_str().to_string(), detail.to_string(), crate::clock::now_ms());
        let _ = self.store.write(move |c| store::scheduler::record_end(c, id, now, &kind, &detail)).await;
    }

    /// Runs the state machine until `stop` is cancelled; a running job is paused first.
    pub fn spawn(self: &Arc<Self>, stop: CancellationToken) -> JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move { me.run(stop).await })
    }

    async fn run(self: Arc<Self>, stop: CancellationToken) {
        struct Running {
            job: Arc<dyn Job>,
            cancel: CancellationToken,
            handle: JoinHandle<Outcome>,
            run: Option<i64>,
        }
        let mut running: Option<Running> = None;
        let mut last_published: Option<(State, Reason, Option<String>)> = None;
        loop {
            let (decision, reading, activity, now) = self.sample().await;
            let mut state = if self.is_paused() {
                State::Paused
            } else if decision.open {
                State::Open
            } else {
                State::Waiting
            };
            // A finished job hands its slot back.
            if running.as_ref().is_some_and(|r| r.handle.is_finished()) {
                let r = running.take().expect("checked");
                let outcome = r.handle.await.unwrap_or_else(|e| Outcome::Failed(format!("the job panicked: {e}")));
                self.record_end(r.run, r.job.name(), &outcome).await;
            }
            if let Some(r) = &running {
                if decision.open && !stop.is_cancelled() {
                    state = State::Running;
                } else {
                    // The user is back (or we are stopping): take the work back now.
                    self.publish(State::Pausing, &decision, Some(r.job.name()), &mut last_published);
                    r.cancel.cancel();
                    let r = running.take().expect("checked");
                    let name = r.job.name();
                    let mut handle = r.handle;
                    let outcome = match tokio::time::timeout(self.timing.pause_grace, &mut handle).await {
                        Ok(Ok(o)) => o,
                        Ok(Err(e)) => Outcome::Failed(format!("the job panicked: {e}")),
                        Err(_) => {
                            handle.abort();
                            Outcome::Paused("stopped without reaching a checkpoint; its last checkpoint stands".into())
                        }
                    };
                    self.record_end(r.run, name, &outcome).await;
                }
            }
            if running.is_none() && decision.open && !stop.is_cancelled() {
                let left = decision.until.map(|u| u.duration_since(now.timestamp()).as_secs().max(0) as u64);
                for job in &self.jobs {
                    if !job.pending().await {
                        continue;
                    }
                    let estimate = self.estimate(job.as_ref()).await;
                    if left.is_some_and(|l| l < estimate.as_secs()) {
                        tracing::debug!(job = job.name(), ?estimate, left, "window too short for this job");
                        continue;
                    }
                    let cancel = CancellationToken::new();
                    let ctx = JobCtx {
                        cancel: cancel.clone(),
                        checkpoint: Checkpoint::new(self.store.clone(), job.name()),
                        until: decision.until,
                        window: decision.explanation.clone(),
                    };
                    let run = self.record_start(job.name(), &decision.explanation).await;
                    let j = job.clone();
                    let handle = tokio::spawn(async move { j.run(ctx).await });
                    tracing::info!(job = job.name(), window = %decision.explanation, "scheduled job started");
                    running = Some(Running { job: job.clone(), cancel, handle, run });
                    state = State::Running;
                    break;
                }
            }
            let job_name = running.as_ref().map(|r| r.job.name());
            self.publish(state, &decision, job_name, &mut last_published);
            *self.status.write().expect("status") = Some(Status {
                state,
                decision,
                signals: reading,
                job: job_name.map(str::to_string),
                jobs: self.job_infos().await,
                timezone: self.tz.iana_name().unwrap_or("local").to_string(),
                activity,
                updated_at: now.timestamp().as_millisecond(),
            });
            if stop.is_cancelled() && running.is_none() {
                return;
            }
            let wait = if running.is_some() { self.timing.running_poll } else { self.timing.idle_poll };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
                _ = stop.cancelled(), if !stop.is_cancelled() => {}
            }
        }
    }

    fn publish(
        &self,
        state: State,
        d: &Decision,
        job: Option<&str>,
        last: &mut Option<(State, Reason, Option<String>)>,
    ) {
        let key = (state, d.reason, job.map(str::to_string));
        if last.as_ref() != Some(&key) {
            tracing::debug!(state = state.as_str(), reason = ?d.reason, "scheduler state");
            self.events.publish(Event::SchedulerChanged {
                state,
                reason: d.reason,
                explanation: d.explanation.clone(),
                job: job.map(str::to_string),
            });
            *last = Some(key);
        }
    }
}
