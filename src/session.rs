//! Sessions: which conversation a turn belongs to, and whether it is a `main` or `side` turn.
//!
//! Clients may say so with the reference implementation's headers (`X-Session-Id`,
//! `X-Turn-Type`, `X-Session-Done`) or their body fields. Without them, MetaClaw infers sessions
//! the way a person would: a request continues the conversation whose previous messages it
//! extends, unless that conversation has been silent longer than the idle gap.

use std::sync::Mutex;

use serde_json::Value;

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

struct Tracked {
    id: String,
    last_at: i64,
    hashes: Vec<u128>,
}

/// Tracks recent header-less conversations to infer session boundaries.
pub struct SessionTracker {
    idle_gap_ms: i64,
    tracked: Mutex<Vec<Tracked>>,
}

/// Hash of one message, the same function the store uses for message blobs.
pub fn message_hash(m: &Value) -> u128 {
    crate::store::hash_json(m).0
}

/// Hashes of the conversation's non-system messages (system prompts change with timestamps and
/// injected context, so they don't identify a conversation).
pub fn conversation_hashes(messages: &[Value]) -> Vec<u128> {
    messages
        .iter()
        .filter(|m| !matches!(m.get("role").and_then(Value::as_str), Some("system" | "developer")))
        .map(message_hash)
        .collect()
}

impl SessionTracker {
    pub fn new(idle_gap_ms: i64, seeds: Vec<InferredSessionSeed>) -> Self {
        let tracked = seeds
            .into_iter()
            .take(MAX_TRACKED)
            .map(|s| Tracked { id: s.id, last_at: s.last_at, hashes: s.message_hashes })
            .collect();
        Self { idle_gap_ms, tracked: Mutex::new(tracked) }
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
            .filter(|(_, t)| now_ms - t.last_at <= self.idle_gap_ms)
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

    #[test]
    fn header_value_parsing() {
        assert_eq!(parse_turn_type("MAIN"), TurnType::Main);
        assert_eq!(parse_turn_type("heartbeat"), TurnType::Side);
        assert!(parse_truthy("Yes") && parse_truthy("1") && !parse_truthy("no") && !parse_truthy(""));
        assert!(valid_session_id("a-b_c:1") && !valid_session_id("") && !valid_session_id("a\nb"));
        assert!(!valid_session_id(&"x".repeat(MAX_SESSION_ID_LEN + 1)));
    }
}
