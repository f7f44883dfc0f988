//! An evolution run on record: what started it ([`Trigger`]), how it ended ([`Outcome`]), what
//! it did ([`RunReport`]), the recorded [`Run`] and the evolver's line in `status`.

use crate::store::evolution;
use crate::store::{Store, StoreError};

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
