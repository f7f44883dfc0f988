//! Events: what the engine tells its hosts as it happens (turn scored, library generation
//! changed, …), on an in-process broadcast bus and as server-sent events on `/api/events`, for
//! the desktop app's live views, notifications and tray.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::evolve::review::{CandidateAction, CandidateStatus};
use crate::evolve::Outcome as EvolveOutcome;
use crate::scheduler::decide::Reason as WindowReason;
use crate::scheduler::runner::{RunOutcome, State as SchedulerState};
use crate::store::training::RunStatus as TrainRunStatus;
use crate::train::TrainState;
use crate::turn::ScoreSource;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A turn got a score, from the judge or from the user.
    TurnScored { turn_id: i64, score: i64, source: ScoreSource },
    /// The skill library changed.
    GenerationChanged { generation: i64, reason: String },
    /// The evolver proposed a skill for review.
    CandidateProposed { id: i64, name: String, action: CandidateAction },
    /// A candidate's replay was judged.
    CandidateVerified { id: i64, improved: bool },
    /// A candidate was approved, rejected or deferred.
    CandidateDecided { id: i64, status: CandidateStatus },
    /// A turn was served and recorded (sent once the answer is complete).
    TurnRecorded { turn_id: i64, session_id: String, model: String, status: u16, skills: usize },
    /// Calendar accounts or their feeds changed.
    CalendarsChanged,
    /// The scheduler changed state (waiting, open, running, pausing, paused).
    SchedulerChanged { state: SchedulerState, reason: WindowReason, explanation: String, job: Option<String> },
    /// A scheduled job stopped: finished, paused (to resume later) or failed.
    JobStopped { job: String, outcome: RunOutcome, detail: String },
    /// Policy training changed state (off, idle, waiting, training, paused) or served a new
    /// adapter.
    TrainChanged { state: TrainState, serving: Option<String> },
    /// A training run ended: done, paused (resumes in the next window) or failed.
    TrainRunEnded { run_id: i64, status: TrainRunStatus, detail: String },
    /// A proxied turn got no usable answer from its upstream (unreachable, timed out, 5xx, key
    /// refused…); `error` is in plain words. Health counts these; a 2xx `TurnRecorded` clears them.
    /// `status` is the upstream's HTTP status, 0 when no answer came at all.
    UpstreamFailed { upstream: String, status: u16, error: String },
    /// A judging attempt got no valid vote; `retry_at_ms` is when it is tried again (`None`: given up).
    JudgeFailed { turn_id: i64, error: String, retry_at_ms: Option<i64> },
    /// An evolution run ended: `outcome` as in its record; `error` when it failed.
    EvolverRan { run_id: i64, outcome: Option<EvolveOutcome>, error: Option<String>, retry_at_ms: Option<i64> },
    /// A calendar account was refreshed (`error` when it failed).
    CalendarRefreshed { calendar: i64, error: Option<String> },
    /// Per-skill effectiveness was brought up to date with newly recorded or scored turns.
    SkillStatsUpdated { turns: u64 },
    /// A candidate's validation set was judged (with and without it, turn by turn).
    CandidateValidated { id: i64, wins: u32, ties: u32, losses: u32 },
    /// The curator ran (`actions`: what it archived or proposed; `dry_run`: nothing applied).
    CurateRan { actions: usize, dry_run: bool },
    /// The curator (or the user) moved a skill to the archive, or brought one back.
    SkillArchived { name: String, archived: bool },
}

impl Event {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TurnScored { .. } => "turn_scored",
            Self::GenerationChanged { .. } => "generation_changed",
            Self::CandidateProposed { .. } => "candidate_proposed",
            Self::CandidateVerified { .. } => "candidate_verified",
            Self::CandidateDecided { .. } => "candidate_decided",
            Self::TurnRecorded { .. } => "turn_recorded",
            Self::CalendarsChanged => "calendars_changed",
            Self::SchedulerChanged { .. } => "scheduler_changed",
            Self::JobStopped { .. } => "job_stopped",
            Self::TrainChanged { .. } => "train_changed",
            Self::TrainRunEnded { .. } => "train_run_ended",
            Self::UpstreamFailed { .. } => "upstream_failed",
            Self::JudgeFailed { .. } => "judge_failed",
            Self::EvolverRan { .. } => "evolver_ran",
            Self::CalendarRefreshed { .. } => "calendar_refreshed",
            Self::SkillStatsUpdated { .. } => "skill_stats_updated",
            Self::CandidateValidated { .. } => "candidate_validated",
            Self::CurateRan { .. } => "curate_ran",
            Self::SkillArchived { .. } => "skill_archived",
        }
    }
}

/// The bus; cheap to clone. Slow subscribers miss events rather than slowing the engine.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self { tx: broadcast::channel(256).0 }
    }
}

impl EventBus {
    pub fn publish(&self, e: Event) {
        let _ = self.tx.send(e);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
