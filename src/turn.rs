//! A turn: one request through the proxy and what came back, as handed to the store.
//!
//! The proxy fills a [`TurnRecord`] with cheap, already-owned data (the parsed request and the
//! raw response bytes); parsing the response and writing to disk happen later, in the store's
//! writer thread, never on the request path.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// `main` turns face the user (skills, judging and training apply); `side` turns are the agent's
/// housekeeping (heartbeats, memory, cron) and are only forwarded and recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum TurnType {
    Main,
    Side,
}

impl TurnType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Main => "main",
            Self::Side => "side",
        }
    }
}

/// How a turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum TurnStatus {
    /// The upstream answered 2xx and the whole answer reached the client.
    Ok,
    /// The upstream answered with an error status, passed on to the client.
    UpstreamError,
    /// MetaClaw could not get an answer (unreachable, timeout, broken stream).
    Failed,
    /// The client went away before the answer was complete.
    Cancelled,
}

impl TurnStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::UpstreamError => "upstream_error",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Where a session id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum SessionSource {
    /// The client sent `X-Session-Id` (or `session_id` in the body).
    Client,
    /// MetaClaw inferred it from the conversation.
    Inferred,
}

impl SessionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Inferred => "inferred",
        }
    }
}

/// Who scored a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ScoreSource {
    /// The judge model.
    Judge,
    /// The user's own feedback, which overrides the judge.
    User,
}

impl ScoreSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Judge => "judge",
            Self::User => "user",
        }
    }
}

/// The upstream's answer, exactly as it arrived.
#[derive(Debug, Clone, Default)]
pub enum RawResponse {
    #[default]
    None,
    /// A whole JSON body (non-streaming, or an error body).
    Json(Bytes),
    /// SSE chunks in arrival order.
    Stream(Vec<Bytes>),
    /// An Anthropic Messages body.
    AnthropicJson(Bytes),
    /// Anthropic Messages SSE chunks in arrival order.
    AnthropicStream(Vec<Bytes>),
}

/// Everything the store needs to persist one turn.
#[derive(Debug, Clone)]
pub struct TurnRecord {
    pub id: i64,
    pub session_id: String,
    pub session_source: SessionSource,
    pub session_done: bool,
    pub turn_type: TurnType,
    /// The client's protocol: `openai` or `anthropic`.
    pub protocol: &'static str,
    /// The upstream that answered (the last one tried).
    pub upstream: String,
    /// When the trained policy answered: the adapter (or base model) it served.
    pub policy_model: Option<String>,
    /// Upstream calls made (more than one after a failover or retry).
    pub attempts: u32,
    pub model: Option<String>,
    pub stream: bool,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub status: TurnStatus,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: f64,
    pub upstream_ms: f64,
    pub overhead_ms: f64,
    /// The request body as sent upstream (after MetaClaw's edits).
    pub request: serde_json::Value,
    pub response: RawResponse,
    /// Skills injected into this turn, and why.
    pub skills: Vec<crate::skills::Injected>,
    /// The skill-library generation the turn was served under.
    pub generation: i64,
    /// The agent that sent the turn.
    pub agent: crate::agent::AgentId,
    /// The client asked for no skill injection (`X-MetaClaw-Inject: off`).
    pub inject_off: bool,
}
