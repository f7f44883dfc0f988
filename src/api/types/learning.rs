//! The `learning` resource: run the evolver and list its runs, review candidates (approve,
//! reject, defer), compare and roll back generations, the dataset, the learning signal, and
//! pausing or resuming learning (`/api/evolve…`, `/api/candidates…`, `/api/generations/{id}/…`,
//! `/api/dataset`, `/api/learning`, `/api/learning/pause|resume`).

use serde::{Deserialize, Serialize};

pub use crate::dataset::{GenerationSignal, SkillChange, Split};
pub use crate::evolve::review::{Candidate, ValidationSummary, ValidationTurn};
pub use crate::evolve::validate::{ValidationRole, ValidationVerdict};
pub use crate::evolve::EditOp;
pub use crate::evolve::{Run, RunReport};

/// `POST /api/evolve` body (optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct EvolveArg {
    /// Only this session's failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub session: Option<String>,
}

/// Query of `GET /api/evolve/runs`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Limit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub limit: Option<u32>,
}

/// `GET /api/evolve/runs`: every recorded evolution run, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RunList {
    pub runs: Vec<Run>,
}

/// `POST /api/evolve/retry-failed`: how many failed turns came back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RetryReply {
    pub turns: u64,
}

pub use crate::evolve::review::{CandidateAction, CandidateStatus};

/// Query of `GET /api/candidates`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CandidateFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub status: Option<CandidateStatus>,
    /// Only candidates learned from this agent's turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub agent: Option<crate::agent::AgentId>,
}

/// `GET /api/candidates`, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CandidateList {
    pub candidates: Vec<Candidate>,
}

/// A candidate's verification replay: its skill applied to one of the turns it comes from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Replay {
    pub turn_id: i64,
    pub improved: bool,
    pub score: i64,
    pub answer: String,
    pub reason: Option<String>,
}

/// `POST /api/candidates/{id}/approve` body (optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ApproveArg {
    /// The SKILL.md as edited by the user; the proposal as it is when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub content: Option<String>,
    /// Who the approved skill serves; the candidate's own scope when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub scope: Option<ApprovalScope>,
}

/// The scope an approval gives a skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalScope {
    /// The agents the candidate names (its `agents:` line), as proposed.
    Agent,
    /// Every agent: the `agents:` line is dropped.
    Shared,
}

/// `POST /api/candidates/{id}/reject` body (optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RejectArg {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub reason: Option<String>,
}

/// The answer to approve, reject and defer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DecisionReply {
    pub id: i64,
    pub status: CandidateStatus,
    /// The library generation an approval made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub generation: Option<i64>,
}

/// `GET /api/generations/{a}/diff/{b}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct GenerationDiff {
    pub from: i64,
    pub to: i64,
    pub changes: Vec<SkillChange>,
}

/// `POST /api/generations/{id}/rollback`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RollbackReply {
    pub rolled_back_to: i64,
    /// The new generation (a copy of the old one).
    pub generation: i64,
}

/// Query of `GET /api/dataset` (JSON lines, one turn each).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DatasetQuery {
    /// `query` (the default) or `support`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub split: Option<Split>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub limit: Option<u32>,
}

/// Query of `GET /api/learning`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LearningQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub limit: Option<u32>,
    /// Only this agent's turns count toward each generation's signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub agent: Option<crate::agent::AgentId>,
}

/// `GET /api/learning`: the learning signal per generation, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LearningList {
    pub generations: Vec<GenerationSignal>,
}

/// `POST /api/learning/pause` and `/resume`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PauseReply {
    pub learning_paused: bool,
}

#[cfg(test)]
pub(crate) fn typescript(f: &mut super::ts::File) {
    f.add::<EvolveArg>();
    f.add::<RunReport>();
    f.add::<crate::evolve::Outcome>();
    f.add::<crate::evolve::Trigger>();
    f.add::<Limit>();
    f.add::<RunList>();
    f.add::<RetryReply>();
    f.add::<CandidateStatus>();
    f.add::<CandidateAction>();
    f.add::<CandidateFilter>();
    f.add::<CandidateList>();
    f.add::<Candidate>();
    f.add::<crate::evolve::Failure>();
    f.add::<crate::evolve::review::Flag>();
    f.add::<crate::evolve::review::FlagKind>();
    f.add::<crate::evolve::EditOp>();
    f.add::<crate::evolve::review::ValidationSummary>();
    f.add::<crate::evolve::review::ValidationTurn>();
    f.add::<ValidationRole>();
    f.add::<ValidationVerdict>();
    f.add::<Replay>();
    f.add::<ApproveArg>();
    f.add::<ApprovalScope>();
    f.add::<RejectArg>();
    f.add::<DecisionReply>();
    f.add::<GenerationDiff>();
    f.add::<SkillChange>();
    f.add::<RollbackReply>();
    f.add::<DatasetQuery>();
    f.add::<Split>();
    f.add::<LearningQuery>();
    f.add::<LearningList>();
    f.add::<GenerationSignal>();
    f.add::<PauseReply>();
}
