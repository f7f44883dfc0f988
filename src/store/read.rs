//! Queries behind the admin API and the CLI. The row types here are the API's JSON shapes.

use rusqlite::{params_from_iter, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StoreError;
use crate::transcript::ToolCall;

/// A session as listed by `/api/sessions`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionRow {
    pub id: String,
    /// `client` (from headers) or `inferred`.
    pub source: String,
    pub started_at: i64,
    pub last_at: i64,
    pub turns: i64,
    pub done_at: Option<i64>,
}

/// A turn as listed by `/api/turns`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TurnSummary {
    pub id: i64,
    pub session_id: String,
    pub turn_index: i64,
    pub turn_type: String,
    pub protocol: String,
    pub upstream: String,
    pub model: Option<String>,
    pub stream: bool,
    pub started_at: i64,
    pub finished_at: i64,
    pub status: String,
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
    pub skills: Value,
    pub generation: i64,
    /// Upstream calls made for this turn (failover and retries).
    pub attempts: i64,
    /// The turn's score (-1, 0, +1) once judged or given feedback.
    pub score: Option<i64>,
    /// `judge` or `user`.
    pub score_source: Option<String>,
}

/// One page of turns; pass `next_before` as `before` for the next page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TurnPage {
    pub turns: Vec<TurnSummary>,
    pub next_before: Option<i64>,
}

/// Everything recorded about one turn (`/api/turns/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
pub struct Judgement {
    pub score: i64,
    pub source: String,
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

pub fn judge_counts(conn: &Connection) -> Result<JudgeCounts, StoreError> {
    Ok(conn.query_row(
        "SELECT (SELECT COUNT(*) FROM judge_jobs WHERE status = 'pending'), (SELECT COUNT(*) FROM judge_jobs WHERE status = 'done'),
                (SELECT COUNT(*) FROM judge_jobs WHERE status = 'failed'), (SELECT COUNT(*) FROM turn_scores)",
        [],
        |r| Ok(JudgeCounts { pending: r.get(0)?, done: r.get(1)?, failed: r.get(2)?, scored: r.get(3)? }),
    )?)
}

/// Filters for listing turns; all optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TurnFilter {
    pub session: Option<String>,
    #[serde(rename = "type")]
    pub turn_type: Option<String>,
    pub status: Option<String>,
    pub model: Option<String>,
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

const SUMMARY_COLS: &str = "id, session_id, turn_index, turn_type, protocol, upstream, model, stream, started_at,
    finished_at, status, http_status, latency_ms, upstream_ms, overhead_ms, prompt_tokens, completion_tokens,
    total_tokens, finish_reason, substr(COALESCE(response_text, ''), 1, 200), tool_calls, skills, generation, attempts,
    (SELECT score FROM turn_scores WHERE turn_id = turns.id), (SELECT source FROM turn_scores WHERE turn_id = turns.id)";

fn summary(r: &Row) -> rusqlite::Result<TurnSummary> {
    let tool_calls: Option<String> = r.get(20)?;
    let tool_names = tool_calls
        .and_then(|t| serde_json::from_str::<Vec<ToolCall>>(&t).ok())
        .map(|v| v.into_iter().map(|c| c.name).collect())
        .unwrap_or_default();
    let skills: String = r.get(21)?;
    Ok(TurnSummary {
        id: r.get(0)?,
        session_id: r.get(1)?,
        turn_index: r.get(2)?,
        turn_type: r.get(3)?,
        protocol: r.get(4)?,
        upstream: r.get(5)?,
        model: r.get(6)?,
        stream: r.get(7)?,
        started_at: r.get(8)?,
        finished_at: r.get(9)?,
        status: r.get(10)?,
        http_status: r.get(11)?,
        latency_ms: r.get(12)?,
        upstream_ms: r.get(13)?,
        overhead_ms: r.get(14)?,
        prompt_tokens: r.get(15)?,
        completion_tokens: r.get(16)?,
        total_tokens: r.get(17)?,
        finish_reason: r.get(18)?,
        preview: r.get(19)?,
        tool_names,
        skills: serde_json::from_str(&skills).unwrap_or(Value::Array(vec![])),
        generation: r.get(22)?,
        attempts: r.get(23)?,
        score: r.get(24)?,
        score_source: r.get(25)?,
    })
}

pub const MAX_PAGE: u32 = 500;

pub fn list_turns(conn: &Connection, f: &TurnFilter) -> Result<TurnPage, StoreError> {
    let mut sql = format!("SELECT {SUMMARY_COLS} FROM turns WHERE 1=1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut add = |clause: &str, v: rusqlite::types::Value| {
        sql.push_str(clause);
        args.push(v);
    };
    if let Some(s) = &f.session {
        add(" AND session_id = ?", s.clone().into());
    }
    if let Some(s) = &f.turn_type {
        add(" AND turn_type = ?", s.clone().into());
    }
    if let Some(s) = &f.status {
        add(" AND status = ?", s.clone().into());
    }
    if let Some(s) = &f.model {
        add(" AND model = ?", s.clone().into());
    }
    if let Some(t) = f.since {
        add(" AND started_at >= ?", t.into());
    }
    if let Some(b) = f.before {
        add(" AND id < ?", b.into());
    }
    let limit = f.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {limit}"));
    let mut stmt = conn.prepare_cached(&sql)?;
    let turns = stmt.query_map(params_from_iter(args), summary)?.collect::<Result<Vec<_>, _>>()?;
    let next_before = (turns.len() == limit as usize).then(|| turns.last().map(|t| t.id)).flatten();
    Ok(TurnPage { turns, next_before })
}

pub fn get_turn(conn: &Connection, id: i64) -> Result<Option<TurnDetail>, StoreError> {
    let row = conn
        .query_row(
            &format!(
                "SELECT {SUMMARY_COLS}, error, error_body, message_hashes, params_hash, response_text,
                    reasoning_text FROM turns WHERE id = ?1"
            ),
            [id],
            |r| {
                Ok((
                    summary(r)?,
                    r.get::<_, Option<String>>(26)?,
                    r.get::<_, Option<String>>(27)?,
                    r.get::<_, String>(28)?,
                    r.get::<_, Option<String>>(29)?,
                    r.get::<_, Option<String>>(30)?,
                    r.get::<_, Option<String>>(31)?,
                    r.get::<_, Option<String>>(20)?,
                ))
            },
        )
        .optional()?;
    let Some((summary, error, error_body, hashes, params_hash, response_text, reasoning_text, tool_calls)) = row else {
        return Ok(None);
    };
    let hashes: Vec<String> = serde_json::from_str(&hashes).unwrap_or_default();
    let mut blob = conn.prepare_cached("SELECT body FROM blobs WHERE hash = ?1")?;
    let mut load = |h: &str| -> Result<Value, StoreError> {
        let body: Option<String> = blob.query_row([h], |r| r.get(0)).optional()?;
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()).unwrap_or(Value::Null))
    };
    let messages = hashes.iter().map(|h| load(h)).collect::<Result<Vec<_>, _>>()?;
    let params = match params_hash {
        Some(h) => load(&h)?,
        None => Value::Object(Default::default()),
    };
    Ok(Some(TurnDetail {
        summary,
        error,
        error_body,
        messages,
        params,
        response_text,
        reasoning_text,
        tool_calls: tool_calls.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default(),
        judgement: conn
            .query_row(
                "SELECT score, source, votes, reason, note, created_at FROM turn_scores WHERE turn_id = ?1",
                [id],
                |r| {
                    Ok(Judgement {
                        score: r.get(0)?,
                        source: r.get(1)?,
                        votes: r.get::<_, Option<String>>(2)?.and_then(|v| serde_json::from_str(&v).ok()),
                        reason: r.get(3)?,
                        note: r.get(4)?,
                        created_at: r.get(5)?,
                    })
                },
            )
            .optional()?,
    }))
}

/// The messages stored under a turn's `message_hashes` (a JSON list of blob hashes).
pub fn load_messages(conn: &Connection, hashes: &str) -> Result<Vec<Value>, StoreError> {
    let hs: Vec<String> = serde_json::from_str(hashes).unwrap_or_default();
    let mut blob = conn.prepare_cached("SELECT body FROM blobs WHERE hash = ?1")?;
    let mut out = Vec::with_capacity(hs.len());
    for h in hs {
        if let Some(b) = blob.query_row([h], |r| r.get::<_, String>(0)).optional()? {
            out.push(serde_json::from_str(&b).unwrap_or(Value::Null));
        }
    }
    Ok(out)
}

pub fn list_sessions(conn: &Connection, limit: u32, offset: u32) -> Result<Vec<SessionRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, source, started_at, last_at, turns, done_at FROM sessions ORDER BY last_at DESC LIMIT ?1 OFFSET ?2",
    )?;
    let rows = stmt
        .query_map([limit.clamp(1, MAX_PAGE), offset], |r| {
            Ok(SessionRow {
                id: r.get(0)?,
                source: r.get(1)?,
                started_at: r.get(2)?,
                last_at: r.get(3)?,
                turns: r.get(4)?,
                done_at: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Counts for `/api/status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Counts {
    pub turns_total: i64,
    pub turns_since: i64,
    pub sessions_total: i64,
    pub sessions_active: i64,
}

pub fn counts(conn: &Connection, since_ms: i64, active_after_ms: i64) -> Result<Counts, StoreError> {
    Ok(conn.query_row(
        "SELECT (SELECT COUNT(*) FROM turns), (SELECT COUNT(*) FROM turns WHERE started_at >= ?1),
                (SELECT COUNT(*) FROM sessions),
                (SELECT COUNT(*) FROM sessions WHERE last_at >= ?2 AND done_at IS NULL)",
        [since_ms, active_after_ms],
        |r| {
            Ok(Counts {
                turns_total: r.get(0)?,
                turns_since: r.get(1)?,
                sessions_total: r.get(2)?,
                sessions_active: r.get(3)?,
            })
        },
    )?)
}

pub fn inferred_seeds(conn: &Connection, active_after_ms: i64) -> Result<Vec<InferredSessionSeed>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.id, s.last_at, (SELECT message_hashes FROM turns t WHERE t.session_id = s.id ORDER BY t.id DESC LIMIT 1)
         FROM sessions s WHERE s.source = 'inferred' AND s.done_at IS NULL AND s.last_at >= ?1
         ORDER BY s.last_at DESC LIMIT 64",
    )?;
    let rows = stmt
        .query_map([active_after_ms], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<String>>(2)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut seeds = Vec::new();
    for (id, last_at, hashes) in rows {
        // The same hashes the live tracker takes of a request's messages.
        let messages = load_messages(conn, hashes.as_deref().unwrap_or("[]"))?;
        seeds.push(InferredSessionSeed { id, last_at, message_hashes: crate::session::conversation_hashes(&messages) });
    }
    Ok(seeds)
}
