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

/// The protocol a client spoke to MetaClaw for a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum TurnProtocol {
    /// OpenAI Chat Completions.
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// OpenAI Responses.
    Responses,
}

impl TurnProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Responses => "responses",
        }
    }
}

/// Status-like enums stored as their string form: parsed from text (`FromStr`, for the CLI and
/// the database) and written to SQL as that same text, so the column and the wire agree.
macro_rules! text_enum {
    ($($t:ident: $($v:ident),+;)*) => {$(
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $(if s == Self::$v.as_str() {
                    return Ok(Self::$v);
                })+
                let all: &[&str] = &[$(Self::$v.as_str()),+];
                Err(format!("{s:?} is not one of {}", all.join(", ")))
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl rusqlite::types::FromSql for $t {
            fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                v.as_str()?.parse().map_err(|e: String| rusqlite::types::FromSqlError::Other(e.into()))
            }
        }
        impl rusqlite::types::ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }
    )*};
}
pub(crate) use text_enum;

text_enum! {
    TurnType: Main, Side;
    TurnStatus: Ok, UpstreamError, Failed, Cancelled;
    SessionSource: Client, Inferred;
    ScoreSource: Judge, User;
    TurnProtocol: OpenAi, Anthropic, Responses;
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
    /// Skills withheld from this turn for comparison (holdout).
    pub held_out: Vec<String>,
}

#[cfg(test)]
impl TurnRecord {
    /// A finished `main` turn `id` whose one user message is `words` (for tests).
    pub(crate) fn sample(id: i64, words: &str) -> Self {
        Self {
            id,
            session_id: "s".into(),
            session_source: SessionSource::Client,
            session_done: false,
            turn_type: TurnType::Main,
            protocol: "openai",
            upstream: "u".into(),
            policy_model: None,
            attempts: 1,
            model: Some("m".into()),
            stream: false,
            started_at_ms: 1,
            finished_at_ms: 2,
            status: TurnStatus::Ok,
            http_status: Some(200),
            error: None,
            latency_ms: 1.0,
            upstream_ms: 1.0,
            overhead_ms: 0.0,
            request: serde_json::json!({"model": "m", "messages": [{"role": "user", "content": words}]}),
            response: RawResponse::None,
            skills: Vec::new(),
            generation: 0,
            agent: Default::default(),
            inject_off: false,
            held_out: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each status-like enum reads and writes SQLite text in exactly its JSON form, and refuses
    /// text it does not know instead of guessing.
    #[test]
    fn status_enums_store_the_same_text_as_their_json() {
        fn check<T>(all: &[T])
        where
            T: Serialize
                + rusqlite::types::FromSql
                + rusqlite::types::ToSql
                + std::str::FromStr
                + PartialEq
                + std::fmt::Debug,
        {
            let conn = rusqlite::Connection::open_in_memory().unwrap();
            for v in all {
                let json = serde_json::to_value(v).unwrap();
                let text: String = conn.query_row("SELECT ?1", [v], |r| r.get(0)).unwrap();
                assert_eq!(json, serde_json::Value::String(text.clone()));
                let back: T = conn.query_row("SELECT ?1", [&text], |r| r.get(0)).unwrap();
                assert_eq!(&back, v);
                assert!(text.parse::<T>().is_ok_and(|p| &p == v));
            }
            assert!(conn.query_row("SELECT 'bogus'", [], |r| r.get::<_, T>(0)).is_err());
            assert!("bogus".parse::<T>().is_err());
        }
        check(&[TurnType::Main, TurnType::Side]);
        check(&[TurnStatus::Ok, TurnStatus::UpstreamError, TurnStatus::Failed, TurnStatus::Cancelled]);
        check(&[SessionSource::Client, SessionSource::Inferred]);
        check(&[ScoreSource::Judge, ScoreSource::User]);
        check(&[TurnProtocol::OpenAi, TurnProtocol::Anthropic, TurnProtocol::Responses]);
        use crate::evolve::review::{CandidateAction, CandidateStatus};
        use crate::evolve::Trigger;
        check(&[
            CandidateStatus::Pending,
            CandidateStatus::Approved,
            CandidateStatus::Rejected,
            CandidateStatus::Deferred,
        ]);
        check(&[CandidateAction::Create, CandidateAction::Edit, CandidateAction::Disable, CandidateAction::Merge]);
        check(&[Trigger::SessionEnd, Trigger::Failures, Trigger::OnDemand, Trigger::Curator]);
    }
}
