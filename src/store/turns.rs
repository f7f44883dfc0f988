//! The turns table and the message blobs its turns point to: recording a turn, reading turns
//! back, the questions the judge asks about turns, and pruning. The only module (with its
//! children) that names the `turns` table; others embed its SQL fragments. Children: hashing and
//! storing blobs ([`blobs`]), the dataset's and training's splits ([`splits`]), and per-skill
//! effectiveness's reads ([`exposure`]).

mod blobs;
mod exposure;
mod splits;

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, Transaction};
use serde_json::Value;

use super::read::{Judgement, TurnDetail, TurnFilter, TurnPage, TurnSummary};
use super::StoreError;
use crate::agent::AgentId;
use crate::transcript::{ToolCall, Transcript};
use crate::turn::{RawResponse, TurnRecord, TurnStatus};
use blobs::{put_blob, put_message};

pub(super) use blobs::clear_blobs;
pub use blobs::{content_hash, hash_json};
pub use exposure::{exposure_turns, exposure_turns_by_id, last_message_picked, recent_exposure_turns, ExposureTurn};
pub use splits::{
    not_policy_served_count, outcomes_under, policy_facts, query_split, trainable, trainable_count, PolicyFacts,
};

const MAX_ERROR_BODY: usize = 64 * 1024;

/// Most turns one page of `/api/turns` holds.
pub const MAX_PAGE: u32 = 500;

/// The message hashes of the next `main` turn in the session of the turn aliased `t` (NULL if
/// none yet): the user's reaction to `t`'s answer. A subquery for queries joined on `turns t`.
pub(super) const NEXT_MAIN_HASHES: &str = "(SELECT n.message_hashes FROM turns n WHERE n.session_id = t.session_id
    AND n.id > t.id AND n.turn_type = 'main' ORDER BY n.id LIMIT 1)";

/// A later `main` turn exists in the session of the turn aliased `t`: the user moved on.
pub(super) const LATER_MAIN_EXISTS: &str =
    "EXISTS (SELECT 1 FROM turns n WHERE n.session_id = t.session_id AND n.id > t.id AND n.turn_type = 'main')";

/// The turns the judge scores (successful `main` turns) with an id above `?1`: `id, finished_at`.
pub(super) const JUDGEABLE_AFTER: &str =
    "SELECT id, finished_at FROM turns WHERE id > ?1 AND turn_type = 'main' AND status = 'ok'";

/// The session aliased `sessions` still has a turn.
pub(super) const SESSION_HAS_TURNS: &str = "EXISTS (SELECT 1 FROM turns WHERE turns.session_id = sessions.id)";

/// Records one finished turn (its messages as blobs, its session touched).
pub(super) fn insert(tx: &Connection, t: &TurnRecord) -> Result<(), StoreError> {
    let mut hashes = Vec::new();
    if let Some(msgs) = t.request.get("messages").and_then(Value::as_array) {
        for m in msgs {
            hashes.push(put_message(tx, m)?);
        }
    }
    let params_hash = match &t.request {
        Value::Object(map) => {
            let rest = map.iter().filter(|(k, _)| k.as_str() != "messages");
            Some(put_blob(tx, rest, map.len() - usize::from(map.contains_key("messages")))?)
        }
        _ => None,
    };

    let transcript = match (&t.response, t.status) {
        (RawResponse::Json(b), TurnStatus::Ok) => Transcript::from_json(b),
        (RawResponse::AnthropicJson(b), TurnStatus::Ok) => Transcript::from_anthropic_json(b),
        (RawResponse::Stream(chunks), _) => Some(Transcript::from_sse(chunks)),
        (RawResponse::AnthropicStream(chunks), _) => Some(Transcript::from_anthropic_sse(chunks)),
        _ => None,
    };
    let error_body = match (&t.response, t.status) {
        (RawResponse::Json(b) | RawResponse::AnthropicJson(b), s) if s != TurnStatus::Ok => {
            let b = &b[..b.len().min(MAX_ERROR_BODY)];
            Some(String::from_utf8_lossy(b).into_owned())
        }
        _ => None,
    };

    let turn_index = super::sessions::touch(tx, t)?;

    // Tool calls past the bound are not kept; the record says so where the user looks for trouble.
    let error = match transcript.as_ref().map(|tr| tr.ignored_tool_deltas).filter(|n| *n > 0) {
        Some(n) => {
            let note = format!(
                "{n} tool-call deltas had an index of {} or more and were not recorded",
                crate::transcript::MAX_TOOL_CALLS
            );
            Some(t.error.as_ref().map_or(note.clone(), |e| format!("{e}; {note}")))
        }
        None => t.error.clone(),
    };

    let (text, reasoning, tool_calls, finish, usage) = match &transcript {
        Some(tr) => (
            Some(tr.text.as_str()),
            (!tr.reasoning.is_empty()).then_some(tr.reasoning.as_str()),
            (!tr.tool_calls.is_empty()).then(|| serde_json::to_string(&tr.tool_calls).expect("serialises")),
            tr.finish_reason.as_deref(),
            tr.usage,
        ),
        None => (None, None, None, None, Default::default()),
    };

    tx.prepare_cached(
        "INSERT INTO turns(id, session_id, turn_index, turn_type, protocol, upstream, model, stream,
            started_at, finished_at, status, http_status, error, latency_ms, upstream_ms, overhead_ms,
            message_hashes, params_hash, response_text, reasoning_text, tool_calls, finish_reason,
            prompt_tokens, completion_tokens, total_tokens, error_body, skills, generation, attempts, policy_model,
            agent, inject_off, held_out)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
            ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33)",
    )?
    .execute(params![
        t.id,
        t.session_id,
        turn_index,
        t.turn_type.as_str(),
        t.protocol,
        t.upstream,
        t.model,
        t.stream,
        t.started_at_ms,
        t.finished_at_ms,
        t.status.as_str(),
        t.http_status,
        error,
        t.latency_ms,
        t.upstream_ms,
        t.overhead_ms,
        serde_json::to_string(&hashes).expect("serialises"),
        params_hash,
        text,
        reasoning,
        tool_calls,
        finish,
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.total_tokens,
        error_body,
        serde_json::to_string(&t.skills).expect("serialises"),
        t.generation,
        t.attempts,
        t.policy_model,
        t.agent.as_str(),
        t.inject_off,
        serde_json::to_string(&t.held_out).expect("serialises"),
    ])?;
    if let Some(tr) = transcript.as_ref().filter(|tr| !tr.sampled.is_empty() && t.status == TurnStatus::Ok) {
        tx.prepare_cached("INSERT OR REPLACE INTO turn_sampled(turn_id, tokens) VALUES (?1, ?2)")?
            .execute(params![t.id, serde_json::to_string(&tr.sampled).expect("serialises")])?;
    }
    Ok(())
}

/// Deletes turns started before `before_ms`, the sessions and blobs only they referenced.
pub(super) fn prune(tx: &Transaction, before_ms: i64) -> Result<(), StoreError> {
    let turns = tx.execute("DELETE FROM turns WHERE started_at < ?1", [before_ms])?;
    if turns == 0 {
        return Ok(());
    }
    super::sessions::prune_emptied(tx, before_ms)?;
    let blobs = tx.execute(
        "DELETE FROM blobs WHERE hash NOT IN (
            SELECT j.value FROM turns, json_each(turns.message_hashes) AS j
            UNION SELECT params_hash FROM turns WHERE params_hash IS NOT NULL)",
        [],
    )?;
    let oldest: Option<i64> = tx.query_row("SELECT MIN(started_at) FROM turns", [], |r| r.get(0)).optional()?.flatten();
    tracing::info!(turns, blobs, ?oldest, "retention: old turns deleted");
    Ok(())
}

/// Deletes every turn (their scores, jobs and sampled tokens go with them).
pub(super) fn clear(c: &Connection) -> Result<(), StoreError> {
    c.execute_batch("DELETE FROM turns;")?;
    Ok(())
}

/// The highest turn id recorded, if any turn is.
pub fn max_id(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn.query_row("SELECT MAX(id) FROM turns", [], |r| r.get(0))?)
}

/// When the last recorded turn started (ms), if any.
pub fn last_started_at(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn.query_row("SELECT MAX(started_at) FROM turns", [], |r| r.get(0))?)
}

/// When the first turn started (ms), or the first one the upstream answered when `answered`;
/// `None` before any. Stops at the first row of the `started_at` index: cheap on a big store.
pub fn first_started_at(conn: &Connection, answered: bool) -> Result<Option<i64>, StoreError> {
    let sql = if answered {
        "SELECT started_at FROM turns WHERE status = 'ok' ORDER BY started_at LIMIT 1"
    } else {
        "SELECT started_at FROM turns ORDER BY started_at LIMIT 1"
    };
    Ok(conn.query_row(sql, [], |r| r.get(0)).optional()?)
}

/// Every agent with recorded turns: (agent, turn count, last start in ms), the most recently
/// seen first. One row per agent, so bounded by the agents, not the turns.
pub fn agents_seen(conn: &Connection) -> Result<Vec<(AgentId, i64, i64)>, StoreError> {
    let mut q = conn.prepare_cached(
        "SELECT agent, COUNT(*), MAX(started_at) FROM turns GROUP BY agent ORDER BY MAX(started_at) DESC, agent",
    )?;
    let rows = q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (agent, turns, last) = row?;
        // A name that no longer validates is shown as unknown rather than failing the list.
        out.push((AgentId::parse(&agent).unwrap_or_default(), turns, last));
    }
    Ok(out)
}

/// The distinct agents that sent the turns `ids` (sorted; turns no longer recorded are skipped).
pub fn agents_of(conn: &Connection, ids: &[i64]) -> Result<Vec<AgentId>, StoreError> {
    let mut q = conn.prepare_cached("SELECT agent FROM turns WHERE id = ?1")?;
    let mut out = Vec::new();
    for id in ids {
        if let Some(agent) = q.query_row([id], |r| r.get::<_, String>(0)).optional()? {
            out.push(AgentId::parse(&agent).unwrap_or_default());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Whether turn `id` is recorded.
pub fn exists(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    Ok(conn.query_row("SELECT EXISTS(SELECT 1 FROM turns WHERE id = ?1)", [id], |r| r.get(0))?)
}

/// Start times (ms) of the turns started at or after `since`, oldest first: every turn, or only
/// `main` ones (the user's own requests, not side calls).
pub fn started_since(conn: &Connection, since: i64, main_only: bool) -> Result<Vec<i64>, StoreError> {
    let mut q = conn.prepare_cached(
        "SELECT started_at FROM turns WHERE started_at >= ?1 AND (?2 = 0 OR turn_type = 'main') ORDER BY started_at",
    )?;
    let v = q.query_map(params![since, main_only], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
    Ok(v)
}

/// All turns, and those started at or after `since_ms`.
pub fn counts(conn: &Connection, since_ms: i64) -> Result<(i64, i64), StoreError> {
    Ok(conn.query_row(
        "SELECT (SELECT COUNT(*) FROM turns), (SELECT COUNT(*) FROM turns WHERE started_at >= ?1)",
        [since_ms],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// The message hashes (a JSON list) of a session's latest turn.
pub fn last_message_hashes(conn: &Connection, session: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT message_hashes FROM turns t WHERE t.session_id = ?1 ORDER BY t.id DESC LIMIT 1")?
        .query_row([session], |r| r.get(0))
        .optional()?)
}

const SUMMARY_COLS: &str = "id, session_id, turn_index, turn_type, protocol, upstream, model, stream, started_at,
    finished_at, status, http_status, latency_ms, upstream_ms, overhead_ms, prompt_tokens, completion_tokens,
    total_tokens, finish_reason, substr(COALESCE(response_text, ''), 1, 200), tool_calls, skills, generation, attempts,
    (SELECT score FROM turn_scores WHERE turn_id = turns.id), (SELECT source FROM turn_scores WHERE turn_id = turns.id),
    agent, inject_off";

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
        agent: AgentId::parse(&r.get::<_, String>(26)?).unwrap_or_default(),
        inject_off: r.get(27)?,
    })
}

/// One page of turns, newest first.
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
        add(" AND turn_type = ?", s.as_str().to_string().into());
    }
    if let Some(s) = &f.status {
        add(" AND status = ?", s.as_str().to_string().into());
    }
    if let Some(s) = &f.model {
        add(" AND model = ?", s.clone().into());
    }
    if let Some(a) = &f.agent {
        add(" AND agent = ?", a.as_str().to_string().into());
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

/// Everything recorded about one turn.
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
                    r.get::<_, Option<String>>(28)?,
                    r.get::<_, Option<String>>(29)?,
                    r.get::<_, String>(30)?,
                    r.get::<_, Option<String>>(31)?,
                    r.get::<_, Option<String>>(32)?,
                    r.get::<_, Option<String>>(33)?,
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
    let judgement: Option<Judgement> = super::judge::judgement(conn, id)?;
    Ok(Some(TurnDetail {
        summary,
        error,
        error_body,
        messages,
        params,
        response_text,
        reasoning_text,
        tool_calls: tool_calls.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default(),
        judgement,
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
