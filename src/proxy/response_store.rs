//! What MetaClaw remembers of the Responses API answers it relayed, in memory and bounded: the
//! session of each response id (so a `previous_response_id` chain stays one session), and for
//! answers it made itself from a chat-only upstream the response and its conversation (so
//! `previous_response_id` and `GET /v1/responses/{id}` work there too); and which upstreams have
//! no Responses API of their own.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

/// Most response ids remembered (oldest forgotten first).
pub const MAX_REMEMBERED: usize = 16_384;
/// Most bytes of kept responses and conversations (oldest dropped first).
pub const MAX_KEPT_BYTES: usize = 64 << 20;

/// A response MetaClaw made and keeps: the `response` object and the conversation up to and
/// including its answer, in chat messages.
#[derive(Debug)]
pub struct Kept {
    pub response: Value,
    pub history: Vec<Value>,
}

struct Entry {
    session: String,
    kept: Option<(Arc<Kept>, usize)>,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<String, Entry>,
    order: VecDeque<String>,
    kept_bytes: usize,
    /// Upstreams (by name) that answered that they have no `/responses`.
    chat_only: HashSet<String>,
}

impl Inner {
    fn forget_oldest(&mut self) {
        if let Some(old) = self.order.pop_front() {
            if let Some(Entry { kept: Some((_, n)), .. }) = self.by_id.remove(&old) {
                self.kept_bytes -= n;
            }
        }
    }
}

#[derive(Default)]
pub struct ResponseStore {
    inner: Mutex<Inner>,
}

impl ResponseStore {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes that response `id` belongs to `session`.
    pub fn remember(&self, id: &str, session: &str) {
        let mut r = self.lock();
        match r.by_id.get_mut(id) {
            Some(e) => e.session = session.to_string(),
            None => {
                r.by_id.insert(id.to_string(), Entry { session: session.to_string(), kept: None });
                r.order.push_back(id.to_string());
            }
        }
        while r.order.len() > MAX_REMEMBERED {
            r.forget_oldest();
        }
    }

    /// The session response `id` belongs to, if MetaClaw relayed it.
    pub fn session_of(&self, id: &str) -> Option<String> {
        self.lock().by_id.get(id).map(|e| e.session.clone())
    }

    /// Keeps a response MetaClaw made (and its conversation) under its id, in `session`.
    pub fn keep(&self, id: &str, session: &str, kept: Kept) {
        let n = kept.response.to_string().len() + kept.history.iter().map(|m| m.to_string().len()).sum::<usize>();
        if n > MAX_KEPT_BYTES {
            return self.remember(id, session);
        }
        self.remember(id, session);
        let mut r = self.lock();
        while r.kept_bytes + n > MAX_KEPT_BYTES && !r.order.is_empty() {
            r.forget_oldest();
        }
        let old = match r.by_id.get_mut(id) {
            Some(e) => e.kept.replace((Arc::new(kept), n)).map_or(0, |(_, m)| m),
            None => {
                r.by_id.insert(id.to_string(), Entry { session: session.to_string(), kept: Some((Arc::new(kept), n)) });
                r.order.push_back(id.to_string());
                0
            }
        };
        r.kept_bytes = r.kept_bytes + n - old;
    }

    /// The response kept under `id`, if MetaClaw made and keeps it.
    pub fn kept(&self, id: &str) -> Option<Arc<Kept>> {
        self.lock().by_id.get(id).and_then(|e| e.kept.as_ref().map(|(k, _)| k.clone()))
    }

    /// Forgets the response kept under `id`; true if there was one.
    pub fn delete(&self, id: &str) -> bool {
        let mut r = self.lock();
        let Some((_, n)) = r.by_id.get_mut(id).and_then(|e| e.kept.take()) else { return false };
        r.kept_bytes -= n;
        true
    }

    /// Notes that upstream `name` has no Responses API.
    pub fn set_chat_only(&self, name: &str) {
        let mut r = self.lock();
        // Upstream names come from the configuration; this bound is for safety only.
        if r.chat_only.len() < 1024 {
            r.chat_only.insert(name.to_string());
        }
    }

    /// True if upstream `name` said it has no Responses API.
    pub fn is_chat_only(&self, name: &str) -> bool {
        self.lock().chat_only.contains(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_and_kept_responses_stay_within_bounds() {
        let s = ResponseStore::default();
        s.remember("resp_a", "s1");
        s.keep("resp_b", "s1", Kept { response: json!({"id": "resp_b"}), history: vec![json!({"role": "user"})] });
        assert_eq!(s.session_of("resp_a").as_deref(), Some("s1"));
        assert_eq!(s.kept("resp_b").unwrap().response["id"], "resp_b");
        assert!(s.kept("resp_a").is_none() && s.session_of("resp_x").is_none());
        assert!(s.delete("resp_b") && !s.delete("resp_b"));
        assert_eq!(s.session_of("resp_b").as_deref(), Some("s1"), "deleting keeps the session");
        assert_eq!(s.lock().kept_bytes, 0);

        for i in 0..MAX_REMEMBERED + 10 {
            s.remember(&format!("r{i}"), "s2");
        }
        let r = s.lock();
        assert!(r.by_id.len() == MAX_REMEMBERED && r.order.len() == MAX_REMEMBERED);
        assert!(!r.by_id.contains_key("resp_a"), "the oldest are forgotten first");
        drop(r);

        // Big kept responses push the oldest out; one too big to keep is only remembered.
        let big = "x".repeat(MAX_KEPT_BYTES / 3);
        for i in 0..5 {
            s.keep(&format!("big{i}"), "s3", Kept { response: json!({"t": big}), history: vec![] });
        }
        assert!(s.lock().kept_bytes <= MAX_KEPT_BYTES);
        assert!(s.kept("big0").is_none() && s.kept("big4").is_some());
        let huge = "x".repeat(MAX_KEPT_BYTES + 1);
        s.keep("huge", "s4", Kept { response: json!({"t": huge}), history: vec![] });
        assert!(s.kept("huge").is_none());
        assert_eq!(s.session_of("huge").as_deref(), Some("s4"));
    }
}
