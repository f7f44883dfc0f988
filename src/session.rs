//! Sessions: which conversation a turn belongs to, and whether it is a `main` or `side` turn.
//!
//! Clients may say so with the reference implementation's headers (`X-Session-Id`,
//! `X-Turn-Type`, `X-Session-Done`) or their body fields. Without them, MetaClaw infers sessions
//! the way a person would: a request continues the conversation whose previous messages it
//! extends, unless that conversation has been silent longer than the idle gap. Agents that name
//! their own sessions (Claude Code, Codex CLI) are taken at their word, and their housekeeping
//! calls (warm-ups, quota probes, titles) are `side` turns.

use std::sync::Mutex;

use http::HeaderMap;
use serde_json::{Map, Value};

use crate::fields::Fields;
use crate::store::InferredSessionSeed;
use crate::turn::{SessionSource, TurnType};

/// At most this many inferred conversations are tracked at once (least recent evicted).
const MAX_TRACKED: usize = 64;
/// Longest session id accepted from a client.
pub const MAX_SESSION_ID_LEN: usize = 256;

/// What the client said about the session, from headers or body fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionHints {
    pub id: Option<String>,
    pub turn_type: Option<TurnType>,
    pub done: bool,
}

/// The session a turn was assigned to.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub id: String,
    pub source: SessionSource,
    pub turn_type: TurnType,
    pub done: bool,
}

/// Parses `X-Turn-Type`: `main`, anything else is `side` (as the reference implementation does).
pub fn parse_turn_type(s: &str) -> TurnType {
    if s.trim().eq_ignore_ascii_case("main") {
        TurnType::Main
    } else {
        TurnType::Side
    }
}

/// Parses `X-Session-Done`: `1`, `true`, `yes`, `on` (any case) are true.
pub fn parse_truthy(s: &str) -> bool {
    matches!(s.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

/// Checks a client-supplied session id: printable, no control characters, bounded length.
pub fn valid_session_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_SESSION_ID_LEN && !id.chars().any(char::is_control)
}

/// The session id an agent sends of its own accord: Claude Code's `X-Claude-Code-Session-Id`
/// header (2.1.86 on) or the session in its `metadata.user_id` (a JSON string from 2.1.78,
/// `user_…_account_…_session_<id>` before), then Codex CLI's `session-id` header (`session_id`
/// in older releases). Values that aren't usable ids are passed over.
pub fn agent_session_id(headers: &HeaderMap, body: &Map<String, Value>) -> Option<String> {
    const CLAUDE_SESSION: http::HeaderName = http::HeaderName::from_static("x-claude-code-session-id");
    const CODEX_SESSION: [http::HeaderName; 2] =
        [http::HeaderName::from_static("session-id"), http::HeaderName::from_static("session_id")];
    let header = |name: &http::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let from_metadata = || {
        let user_id = body.field("metadata")?.field("user_id")?.as_str()?.trim();
        claude_code_session(user_id)
    };
    header(&CLAUDE_SESSION)
        .filter(|id| valid_session_id(id))
        .map(str::to_string)
        .or_else(|| from_metadata().filter(|id| valid_session_id(id)))
        .or_else(|| CODEX_SESSION.iter().find_map(|n| header(n).filter(|id| valid_session_id(id))).map(str::to_string))
}

/// The session named in Claude Code's `metadata.user_id`.
fn claude_code_session(user_id: &str) -> Option<String> {
    if user_id.starts_with('{') {
        let v: Value = serde_json::from_str(user_id).ok()?;
        return v.get("session_id")?.as_str().map(str::to_string);
    }
    user_id.rsplit_once("_session_").map(|(_, id)| id.to_string())
}

/// True for Claude Code: its user agent, its `x-app` header or its session header.
fn is_claude_code(headers: &HeaderMap) -> bool {
    const X_APP: http::HeaderName = http::HeaderName::from_static("x-app");
    const CLAUDE_SESSION: http::HeaderName = http::HeaderName::from_static("x-claude-code-session-id");
    let ua = headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    ua.starts_with("claude-cli/")
        || ua.starts_with("claude-code/")
        || headers.get(&X_APP).is_some_and(|v| v == "cli")
        || headers.contains_key(&CLAUDE_SESSION)
}

/// The user's words in the latest user message, without the `<system-reminder>` blocks Claude
/// Code puts beside them.
fn latest_user_words(body: &Map<String, Value>) -> String {
    let last = body
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|m| m.iter().rev().find(|m| m.field("role").and_then(Value::as_str) == Some("user")));
    match last.and_then(|m| m.field("content")) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.field("text").and_then(Value::as_str))
            .map(str::trim)
            .filter(|t| !t.starts_with("<system-reminder>"))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Why a request is an agent's housekeeping rather than a turn of the conversation, if it is:
/// a one-token quota probe (any agent), or from Claude Code a sub-agent's "Warmup" call or a
/// call without tools (its title, topic and summary calls; its real turns always carry tools).
pub fn housekeeping(headers: &HeaderMap, body: &Map<String, Value>) -> Option<&'static str> {
    let max = ["max_tokens", "max_completion_tokens", "max_output_tokens"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_u64));
    if max == Some(1) {
        return Some("one-token probe");
    }
    if !is_claude_code(headers) {
        return None;
    }
    if latest_user_words(body).eq_ignore_ascii_case("warmup") {
        return Some("warm-up");
    }
    let has_tools = body.field("tools").and_then(Value::as_array).is_some_and(|t| !t.is_empty());
    (!has_tools).then_some("call without tools (title, topic or summary)")
}

/// Completes what MetaClaw's own headers didn't say with what the agent's request says: its own
/// session id, and `side` for its housekeeping calls (see [`housekeeping`], whose reason is
/// returned).
pub fn add_agent_hints(
    hints: &mut SessionHints,
    headers: &HeaderMap,
    body: &Map<String, Value>,
) -> Option<&'static str> {
    if hints.id.is_none() {
        hints.id = agent_session_id(headers, body);
    }
    if hints.turn_type.is_some() {
        return None;
    }
    let why = housekeeping(headers, body)?;
    hints.turn_type = Some(TurnType::Side);
    Some(why)
}

struct Tracked {
    id: String,
    last_at: i64,
    hashes: Vec<u128>,
}

/// Tracks recent header-less conversations to infer session boundaries.
pub struct SessionTracker {
    /// Changed live when `[sessions] idle_gap_minutes` is.
    idle_gap_ms: std::sync::atomic::AtomicI64,
    tracked: Mutex<Vec<Tracked>>,
}

/// Hash of one message, the same function the store uses for message blobs.
pub fn message_hash(m: &Value) -> u128 {
    crate::store::content_hash(m)
}

/// Hashes of the conversation's non-system messages (system prompts change with timestamps and
/// injected context, so they don't identify a conversation). A user message wrapped in an
/// agent's envelope counts by the user's words alone, and one that is all envelope (a runtime
/// event) not at all: envelopes carry timestamps and ids an agent may render differently later.
pub fn conversation_hashes(messages: &[Value]) -> Vec<u128> {
    messages
        .iter()
        .filter(|m| !matches!(m.field("role").and_then(Value::as_str), Some("system" | "developer")))
        .filter_map(|m| {
            if m.field("role").and_then(Value::as_str) != Some("user") {
                return Some(message_hash(m));
            }
            // Borrowed when the content is a plain string: most requests have no envelope.
            let text = match m.field("content") {
                Some(Value::String(s)) => std::borrow::Cow::Borrowed(s.as_str()),
                other => std::borrow::Cow::Owned(crate::transcript::content_text(other)),
            };
            match crate::envelope::user_words(&text) {
                std::borrow::Cow::Borrowed(_) => Some(message_hash(m)),
                std::borrow::Cow::Owned(w) if w.trim().is_empty() => None,
                std::borrow::Cow::Owned(w) => Some(message_hash(&serde_json::json!({"role": "user", "content": w}))),
            }
        })
        .collect()
}

impl SessionTracker {
    pub fn new(idle_gap_ms: i64, seeds: Vec<InferredSessionSeed>) -> Self {
        let tracked = seeds
            .into_iter()
            .take(MAX_TRACKED)
            .map(|s| Tracked { id: s.id, last_at: s.last_at, hashes: s.message_hashes })
            .collect();
        Self { idle_gap_ms: idle_gap_ms.into(), tracked: Mutex::new(tracked) }
    }

    /// Sets the gap after which a header-less conversation counts as a new session.
    pub fn set_idle_gap(&self, idle_gap_ms: i64) {
        self.idle_gap_ms.store(idle_gap_ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Assigns a turn to a session. `messages` is the request's message list.
    pub fn resolve(&self, hints: SessionHints, messages: &[Value], now_ms: i64) -> Resolved {
        if let Some(id) = hints.id {
            return Resolved {
                id,
                source: SessionSource::Client,
                turn_type: hints.turn_type.unwrap_or(TurnType::Main),
                done: hints.done,
            };
        }
        let hashes = conversation_hashes(messages);
        let mut tracked = self.tracked.lock().expect("session tracker lock");
        let best = tracked
            .iter()
            .enumerate()
            .filter(|(_, t)| now_ms - t.last_at <= self.idle_gap_ms.load(std::sync::atomic::Ordering::Relaxed))
            .filter(|(_, t)| !t.hashes.is_empty() && t.hashes.len() <= hashes.len() && hashes.starts_with(&t.hashes))
            .max_by_key(|(_, t)| (t.hashes.len(), t.last_at))
            .map(|(i, _)| i);
        let id = match best {
            Some(i) => {
                let t = &mut tracked[i];
                t.last_at = now_ms;
                t.hashes = hashes;
                t.id.clone()
            }
            None => {
                let id = format!("inf-{}", crate::home::random_hex(8));
                if tracked.len() >= MAX_TRACKED {
                    if let Some(oldest) = tracked.iter().enumerate().min_by_key(|(_, t)| t.last_at).map(|(i, _)| i) {
                        tracked.swap_remove(oldest);
                    }
                }
                tracked.push(Tracked { id: id.clone(), last_at: now_ms, hashes });
                id
            }
        };
        if hints.done {
            tracked.retain(|t| t.id != id);
        }
        Resolved {
            id,
            source: SessionSource::Inferred,
            turn_type: hints.turn_type.unwrap_or(TurnType::Main),
            done: hints.done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(v: &[(&str, &str)]) -> Vec<Value> {
        v.iter().map(|(r, c)| json!({"role": r, "content": c})).collect()
    }

    const GAP: i64 = 60_000;

    #[test]
    fn continuing_conversation_keeps_session_new_one_starts_another() {
        let t = SessionTracker::new(GAP, vec![]);
        let a1 = t.resolve(SessionHints::default(), &msgs(&[("system", "s1"), ("user", "hi")]), 0);
        let a2 = t.resolve(
            SessionHints::default(),
            &msgs(&[("system", "s2 changed"), ("user", "hi"), ("assistant", "yo"), ("user", "more")]),
            1000,
        );
        assert_eq!(a1.id, a2.id);
        assert_eq!(a1.source, SessionSource::Inferred);
        assert_eq!(a1.turn_type, TurnType::Main);
        let b = t.resolve(SessionHints::default(), &msgs(&[("user", "different topic")]), 2000);
        assert_ne!(b.id, a1.id);
        // The first conversation still continues after the other one started.
        let a3 = t.resolve(
            SessionHints::default(),
            &msgs(&[("user", "hi"), ("assistant", "yo"), ("user", "more"), ("assistant", "ok"), ("user", "3")]),
            3000,
        );
        assert_eq!(a3.id, a1.id);
    }

    #[test]
    fn idle_gap_and_done_end_a_session() {
        let t = SessionTracker::new(GAP, vec![]);
        let a = t.resolve(SessionHints::default(), &msgs(&[("user", "hi")]), 0);
        let later =
            t.resolve(SessionHints::default(), &msgs(&[("user", "hi"), ("assistant", "x"), ("user", "y")]), GAP + 1);
        assert_ne!(a.id, later.id);
        let done = t.resolve(
            SessionHints { done: true, ..Default::default() },
            &msgs(&[("user", "hi"), ("assistant", "x"), ("user", "y"), ("assistant", "z"), ("user", "w")]),
            GAP + 2,
        );
        assert_eq!(done.id, later.id);
        assert!(done.done);
        let after = t.resolve(
            SessionHints::default(),
            &msgs(&[
                ("user", "hi"),
                ("assistant", "x"),
                ("user", "y"),
                ("assistant", "z"),
                ("user", "w"),
                ("assistant", "q"),
                ("user", "r"),
            ]),
            GAP + 3,
        );
        assert_ne!(after.id, later.id);
    }

    #[test]
    fn headers_win_and_seeds_continue_after_restart() {
        let t = SessionTracker::new(GAP, vec![]);
        let r = t.resolve(
            SessionHints { id: Some("abc".into()), turn_type: Some(TurnType::Side), done: false },
            &msgs(&[("user", "hi")]),
            0,
        );
        assert_eq!((r.id.as_str(), r.source, r.turn_type), ("abc", SessionSource::Client, TurnType::Side));

        let first = msgs(&[("system", "s"), ("user", "hi")]);
        let seed =
            InferredSessionSeed { id: "inf-old".into(), last_at: 0, message_hashes: conversation_hashes(&first) };
        let t = SessionTracker::new(GAP, vec![seed]);
        let r = t.resolve(SessionHints::default(), &msgs(&[("user", "hi"), ("assistant", "a"), ("user", "b")]), 10);
        assert_eq!(r.id, "inf-old");
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn agents_own_session_ids_are_read_from_their_headers_and_metadata() {
        let json_id = body(
            json!({"metadata": {"user_id": "{\"device_id\":\"d1\",\"account_uuid\":\"\",\"session_id\":\"s-json\"}"}}),
        );
        let legacy = body(json!({"metadata": {"user_id": "user_abc123_account__session_s-legacy"}}));
        let none = body(json!({}));
        assert_eq!(agent_session_id(&HeaderMap::new(), &json_id).as_deref(), Some("s-json"));
        assert_eq!(agent_session_id(&HeaderMap::new(), &legacy).as_deref(), Some("s-legacy"));
        let cc = headers(&[("x-claude-code-session-id", "s-header")]);
        assert_eq!(agent_session_id(&cc, &json_id).as_deref(), Some("s-header"), "the header wins");
        let codex = headers(&[("session-id", "codex-1")]);
        assert_eq!(agent_session_id(&codex, &none).as_deref(), Some("codex-1"));
        let old_codex = headers(&[("session_id", "codex-0")]);
        assert_eq!(agent_session_id(&old_codex, &none).as_deref(), Some("codex-0"));
        // Unusable values are passed over, never an error: they are the agent's, not ours.
        let odd = body(json!({"metadata": {"user_id": "{\"session_id\": 5}"}}));
        assert_eq!(agent_session_id(&headers(&[("session-id", "")]), &odd), None);
        assert_eq!(agent_session_id(&HeaderMap::new(), &body(json!({"metadata": {"user_id": "plain-user"}}))), None);
        let long = format!("user_x_session_{}", "y".repeat(MAX_SESSION_ID_LEN + 1));
        assert_eq!(agent_session_id(&HeaderMap::new(), &body(json!({"metadata": {"user_id": long}}))), None);

        // MetaClaw's own header still wins over all of them.
        let mut hints = SessionHints { id: Some("mine".into()), ..Default::default() };
        add_agent_hints(&mut hints, &cc, &json_id);
        assert_eq!(hints.id.as_deref(), Some("mine"));
    }

    #[test]
    fn claude_code_housekeeping_calls_are_side_turns() {
        let cc = headers(&[("user-agent", "claude-cli/2.1.332 (external, sdk-cli)")]);
        let tools = json!([{"name": "Bash", "input_schema": {"type": "object"}}]);
        let main = body(json!({"max_tokens": 32000, "tools": tools, "messages": [{"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>ctx</system-reminder>"}, {"type": "text", "text": "say hi"}]}]}));
        let warmup = body(json!({"max_tokens": 32000, "tools": tools, "messages": [{"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>ctx</system-reminder>"}, {"type": "text", "text": "Warmup", "cache_control": {"type": "ephemeral"}}]}]}));
        let title = body(
            json!({"max_tokens": 512, "system": "Generate a short title", "messages": [{"role": "user", "content": "say hi"}]}),
        );
        let quota = body(json!({"max_tokens": 1, "messages": [{"role": "user", "content": "quota"}]}));
        assert_eq!(housekeeping(&cc, &main), None);
        assert_eq!(housekeeping(&cc, &warmup), Some("warm-up"));
        assert!(housekeeping(&cc, &title).unwrap().contains("without tools"));
        assert_eq!(housekeeping(&cc, &quota), Some("one-token probe"));
        // Other agents: only the one-token probe; a user may well say "warmup" with no tools.
        let other = headers(&[("user-agent", "openclaw/2026.9.6")]);
        assert_eq!(housekeeping(&other, &warmup), None);
        assert_eq!(housekeeping(&other, &title), None);
        assert_eq!(housekeeping(&other, &quota), Some("one-token probe"));

        let mut hints = SessionHints::default();
        assert_eq!(add_agent_hints(&mut hints, &cc, &warmup), Some("warm-up"));
        assert_eq!(hints.turn_type, Some(TurnType::Side));
        // A turn type the client states is kept.
        let mut hints = SessionHints { turn_type: Some(TurnType::Main), ..Default::default() };
        assert_eq!(add_agent_hints(&mut hints, &cc, &warmup), None);
        assert_eq!(hints.turn_type, Some(TurnType::Main));
    }

    #[test]
    fn envelopes_do_not_decide_which_conversation_a_request_continues() {
        let env = |id: &str, text: &str| {
            format!("Conversation info (untrusted metadata):\n```json\n{{\"message_id\": \"{id}\"}}\n```\n\n{text}")
        };
        let t = SessionTracker::new(GAP, vec![]);
        let first = vec![json!({"role": "user", "content": env("1", "plan my trip")})];
        let a = t.resolve(SessionHints::default(), &first, 0);
        // The agent renders the earlier message's envelope differently and adds a runtime event.
        let next = vec![
            json!({"role": "user", "content": env("1-edited", "plan my trip")}),
            json!({"role": "user", "content": "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>\nsessions: 3\n<<<END_OPENCLAW_INTERNAL_CONTEXT>>>"}),
            json!({"role": "assistant", "content": "where to?"}),
            json!({"role": "user", "content": env("2", "Rome")}),
        ];
        assert_eq!(t.resolve(SessionHints::default(), &next, 1).id, a.id);
        // Plain messages hash as they always did (seeds stored before this still match).
        let plain = json!({"role": "user", "content": "hi"});
        assert_eq!(conversation_hashes(std::slice::from_ref(&plain)), vec![message_hash(&plain)]);
    }

    #[test]
    fn header_value_parsing() {
        assert_eq!(parse_turn_type("MAIN"), TurnType::Main);
        assert_eq!(parse_turn_type("heartbeat"), TurnType::Side);
        assert!(parse_truthy("Yes") && parse_truthy("1") && !parse_truthy("no") && !parse_truthy(""));
        assert!(valid_session_id("a-b_c:1") && !valid_session_id("") && !valid_session_id("a\nb"));
        assert!(!valid_session_id(&"x".repeat(MAX_SESSION_ID_LEN + 1)));
    }
}
