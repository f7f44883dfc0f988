//! The `status` resource: engine status, sessions, turns (list and detail), feedback and the
//! event stream (`/api/status`, `/api/sessions`, `/api/turns`, `/api/turns/{id}`,
//! `/api/turns/{id}/feedback`, `/api/events`).

use serde::{Deserialize, Serialize};

use crate::metrics::OverheadStats;
use crate::secrets::SecretSource;
pub use crate::store::read::Judgement;
pub use crate::store::{SessionRow, TurnDetail, TurnFilter, TurnPage, TurnSummary};

/// Static facts about the running engine.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct EngineInfo {
    pub version: String,
    pub started_at: i64,
    /// e.g. `http://127.0.0.1:30000`.
    pub address: String,
    pub home: String,
    pub upstreams: Vec<UpstreamInfo>,
}

/// One upstream the engine routes to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct UpstreamInfo {
    pub name: String,
    pub kind: crate::config::Protocol,
    pub auth: crate::config::Auth,
    pub base_url: String,
    pub models: Vec<String>,
    pub model: Option<String>,
    /// Where the upstream key came from (never the key itself).
    pub key: SecretSource,
}

/// `GET /api/status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Status {
    #[serde(flatten)]
    pub info: EngineInfo,
    pub uptime_secs: i64,
    pub turns_total: i64,
    pub turns_today: i64,
    pub sessions_total: i64,
    pub sessions_active: i64,
    /// MetaClaw's own time per turn (total minus upstream wait), recent turns.
    pub overhead: OverheadStats,
    pub schema_version: i64,
    pub pending_writes: u64,
    /// The judge's queue: `None` when no judge model is configured.
    pub judge: Option<crate::judge::JudgeStatus>,
    /// The evolver's runs and its last one: `None` when no evolver model is configured.
    #[serde(default)]
    pub evolver: Option<crate::evolve::EvolverStatus>,
    /// Evolved skills waiting for the user's review.
    pub candidates_pending: i64,
    /// The skill library's current generation.
    pub generation: i64,
    /// The user paused learning (the scheduler opens no windows; automatic evolution waits).
    pub learning_paused: bool,
    /// Policy training: off, idle, waiting, training or paused.
    pub training: crate::train::TrainState,
    /// Requests that left no turn record since the engine started, by reason: `refused_…`
    /// (with what was wrong) and `relayed_…` (passed on as they were).
    #[serde(default)]
    pub unrecorded: std::collections::BTreeMap<String, u64>,
    /// How each part is doing (upstream, judge, evolver, trainer, calendars, disk), with the
    /// last error in plain words and the next retry.
    pub health: super::health::HealthReport,
}

/// `GET /api/sessions`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SessionList {
    pub sessions: Vec<SessionRow>,
}

/// Query of `GET /api/sessions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Paging {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub offset: Option<u32>,
}

/// `POST /api/turns/{id}/feedback`: the user's own verdict, which overrides the judge.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Feedback {
    /// +1 or -1.
    pub score: i64,
    pub note: Option<String>,
}

/// The answer to `POST /api/turns/{id}/feedback`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FeedbackReply {
    pub turn_id: i64,
    pub score: i64,
    /// Always `user`.
    pub source: crate::turn::ScoreSource,
}

/// An agent MetaClaw has seen turns from (`GET /api/agents`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AgentSeen {
    pub agent: crate::agent::AgentId,
    /// How many turns it sent.
    pub turns: i64,
    /// When its last turn started (ms since epoch).
    pub last_seen_ms: i64,
}

/// The answer to `GET /api/agents`: every agent seen, the most recently seen first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AgentList {
    pub agents: Vec<AgentSeen>,
}

#[cfg(test)]
pub(crate) fn typescript(f: &mut super::ts::File) {
    f.add::<Status>();
    f.add::<AgentSeen>();
    f.add::<AgentList>();
    f.add::<EngineInfo>();
    f.add::<UpstreamInfo>();
    f.add::<crate::config::Protocol>();
    f.add::<crate::config::Auth>();
    f.add::<SecretSource>();
    f.add::<OverheadStats>();
    f.add::<crate::judge::JudgeStatus>();
    f.add::<crate::evolve::EvolverStatus>();
    f.add::<crate::evolve::Run>();
    f.add::<crate::events::Event>();
    f.add::<SessionList>();
    f.add::<SessionRow>();
    f.add::<Paging>();
    f.add::<crate::turn::SessionSource>();
    f.add::<TurnPage>();
    f.add::<TurnSummary>();
    f.add::<TurnFilter>();
    f.add::<crate::agent::AgentId>();
    f.add::<crate::turn::TurnType>();
    f.add::<crate::turn::TurnStatus>();
    f.add::<crate::turn::ScoreSource>();
    f.add::<crate::turn::TurnProtocol>();
    f.add::<crate::skills::Injected>();
    f.add::<TurnDetail>();
    f.add::<Judgement>();
    f.add::<crate::transcript::ToolCall>();
    f.add::<serde_json::Value>();
    f.add::<Feedback>();
    f.add::<FeedbackReply>();
}
