//! The rows the admin API and the CLI show of turns, sessions and the judge's queue (the API's
//! JSON shapes), and the reads behind them; the SQL is in each table's module.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::judge::judge_counts;
pub use super::sessions::{inferred_seeds, list_sessions};
pub use super::turns::{get_turn, list_turns, load_messages, MAX_PAGE};
use super::StoreError;
use crate::agent::AgentId;
use crate::transcript::ToolCall;
use crate::turn::{ScoreSource, SessionSource, TurnProtocol, TurnStatus, TurnType};

/// A session as listed by `/api/sessions`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SessionRow {
    pub id: String,
    /// `client` (from headers) or `inferred`.
    pub source: SessionSource,
    pub started_at: i64,
    pub last_at: i64,
    pub turns: i64,
    pub done_at: Option<i64>,
}

/// A turn as listed by `/api/turns`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TurnSummary {
    pub id: i64,
    pub session_id: String,
    pub turn_index: i64,
    pub turn_type: TurnType,
    pub protocol: TurnProtocol,
    pub upstream: String,
    pub model: Option<String>,
    pub stream: bool,
    pub started_at: i64,
    pub finished_at: i64,
    pub status: TurnStatus,
    pub http_status: Option<i64>,
    pub latency_ms: f64,
    pub upstream_ms: f64,
    pub overhead_ms: f64,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub total_tokens: Option<i64>,
    pub finish_reason: Option<String>,
    /// The first 200 characters of the answer.
    pub preview: String,
    pub tool_names: Vec<String>,
    /// The skills injected into the turn.
    #[cfg_attr(test, ts(as = "Vec<crate::skills::Injected>"))]
    pub skills: Value,
    pub generation: i64,
    /// Upstream calls made for this turn (failover and retries).
    pub attempts: i64,
    /// The turn's score (-1, 0, +1) once judged or given feedback.
    pub score: Option<i64>,
    /// `judge` or `user`.
    pub score_source: Option<ScoreSource>,
    /// The agent that sent the turn ("unknown" when nothing named it).
    pub agent: AgentId,
    /// The client turned skill injection off for this turn (`X-MetaClaw-Inject: off`).
    pub inject_off: bool,
}

/// One page of turns; pass `next_before` as `before` for the next page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TurnPage {
    pub turns: Vec<TurnSummary>,
    pub next_before: Option<i64>,
}

/// Everything recorded about one turn (`/api/turns/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TurnDetail {
    #[serde(flatten)]
    pub summary: TurnSummary,
    pub error: Option<String>,
    pub error_body: Option<String>,
    /// The messages as sent upstream.
    pub messages: Vec<Value>,
    /// The other request fields (tools, temperature, …) as sent upstream.
    pub params: Value,
    pub response_text: Option<String>,
    pub reasoning_text: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    /// The judge's votes and reason, or the user's note.
    pub judgement: Option<Judgement>,
}

/// How a turn was scored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Judgement {
    pub score: i64,
    pub source: ScoreSource,
    pub votes: Option<Value>,
    pub reason: Option<String>,
    pub note: Option<String>,
    pub created_at: i64,
}

/// The judge's queue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JudgeCounts {
    pub pending: i64,
    pub done: i64,
    pub failed: i64,
    pub scored: i64,
}

/// Filters for listing turns; all optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct TurnFilter {
    pub session: Option<String>,
    #[serde(rename = "type")]
    pub turn_type: Option<TurnType>,
    pub status: Option<TurnStatus>,
    pub model: Option<String>,
    /// Only the turns of this agent.
    pub agent: Option<AgentId>,
    /// Only turns started at or after this time (ms since epoch).
    pub since: Option<i64>,
    /// Only turns with an id below this (paging).
    pub before: Option<i64>,
    pub limit: Option<u32>,
}

/// An inferred session still open at start-up, so conversations continue across restarts.
#[derive(Debug, Clone)]
pub struct InferredSessionSeed {
    pub id: String,
    pub last_at: i64,
    /// Hashes of the last request's non-system messages.
    pub message_hashes: Vec<u128>,
}

/// Counts for `/api/status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Counts {
    pub turns_total: i64,
    pub turns_since: i64,
    pub sessions_total: i64,
    pub sessions_active: i64,
}

/// The counts for `/api/status`: turns (all, and since `since_ms`) and sessions (all, and active
/// after `active_after_ms`).
pub fn counts(conn: &Connection, since_ms: i64, active_after_ms: i64) -> Result<Counts, StoreError> {
    let (turns_total, turns_since) = super::turns::counts(conn, since_ms)?;
    let (sessions_total, sessions_active) = super::sessions::counts(conn, active_after_ms)?;
    Ok(Counts { turns_total, turns_since, sessions_total, sessions_active })
}
