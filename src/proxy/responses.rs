//! `POST /v1/responses` (OpenAI Responses API clients such as Codex CLI and the Agents SDK): the
//! same turn as a chat completion — session, skills (into `instructions`), routing with
//! failover, recording — relayed unchanged (JSON or the `response.*` event stream) and recorded in
//! the Chat Completions form every turn is judged and learnt from. A `previous_response_id` chain
//! is one session. Errors come in the Responses error shape (`{"error": {"message", "type",
//! "param", "code"}}`), the same as OpenAI's.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::Stream;
use serde_json::{json, Map, Value};
use tokio::time::Sleep;
use tracing::Instrument;

use super::error::{Protocol, ProxyError};
use super::forward::{self, Bounded, Sent, MAX_ANSWER_BYTES};
use super::guard::TurnGuard;
use super::intake::{new_record, select_skills};
use super::{request, ProxyState};
use crate::config::Kind;
use crate::session::Resolved;
use crate::skills::Placement;
use crate::translate::responses::{chat_completion, chat_request, input_messages, ChatChunks, StreamEnd};
use crate::turn::{now_ms, RawResponse, SessionSource, TurnStatus, TurnType};
use crate::upstream::{forward_request_headers, relay_response_headers};

/// Most response ids remembered for `previous_response_id` chains (oldest forgotten first).
const MAX_REMEMBERED: usize = 16_384;

/// The session of every response MetaClaw relayed recently, by response id.
#[derive(Default)]
pub struct ResponseSessions {
    inner: Mutex<Remembered>,
}

#[derive(Default)]
struct Remembered {
    by_id: HashMap<String, String>,
    order: VecDeque<String>,
}

impl ResponseSessions {
    /// Notes that response `id` belongs to `session`.
    pub fn remember(&self, id: &str, session: &str) {
        let mut r = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if r.by_id.insert(id.to_string(), session.to_string()).is_none() {
            r.order.push_back(id.to_string());
        }
        while r.order.len() > MAX_REMEMBERED {
            if let Some(old) = r.order.pop_front() {
                r.by_id.remove(&old);
            }
        }
    }

    /// The session response `id` belongs to, if MetaClaw relayed it.
    pub fn session_of(&self, id: &str) -> Option<String> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).by_id.get(id).cloned()
    }
}

pub async fn responses(State(st): State<Arc<ProxyState>>, headers: HeaderMap, body: Body) -> Response {
    let t0 = Instant::now();
    // One span per request; the turn's own fields are logged when it finishes.
    let span = tracing::info_span!("request", protocol = "responses");
    match handle(&st, t0, headers, body).instrument(span).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// Checks the fields MetaClaw reads; everything else is the upstream's to judge.
fn validate(body: &Map<String, Value>) -> Result<(), ProxyError> {
    let kind = |k: &'static str, ok: fn(&Value) -> bool, what: &str| match body.get(k) {
        Some(v) if !v.is_null() && !ok(v) => Err(ProxyError::bad(format!("`{k}` must be {what}"), Some(k))),
        _ => Ok(()),
    };
    kind("model", Value::is_string, "a string")?;
    kind("input", |v| v.is_string() || v.is_array(), "a string or an array of input items")?;
    kind("instructions", Value::is_string, "a string")?;
    kind("tools", Value::is_array, "an array")?;
    kind("stream", Value::is_boolean, "true or false")?;
    kind("store", Value::is_boolean, "true or false")?;
    kind("previous_response_id", Value::is_string, "a string")?;
    for (i, item) in body.get("input").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if !item.is_object() {
            return Err(ProxyError::bad(format!("input[{i}] must be an object"), Some("input")));
        }
    }
    Ok(())
}

/// Puts the skills block into a Responses request: after the `instructions` (their own cached
/// prefix kept), or with late placement as a system message right before the latest user input.
fn inject_responses(body: &mut Map<String, Value>, block: &str, placement: Placement) {
    if placement == Placement::Late {
        let item = json!({"role": "system", "content": block});
        match body.get_mut("input") {
            Some(Value::Array(items)) => {
                if let Some(i) = items.iter().rposition(|m| m["role"] == "user") {
                    items.insert(i, item);
                    return;
                }
            }
            Some(Value::String(s)) => {
                let text = std::mem::take(s);
                body.insert("input".into(), json!([item, {"role": "user", "content": text}]));
                return;
            }
            _ => {}
        }
    }
    match body.get_mut("instructions") {
        Some(Value::String(s)) if !s.is_empty() => {
            s.push_str("\n\n");
            s.push_str(block);
        }
        _ => {
            body.insert("instructions".into(), Value::String(block.to_string()));
        }
    }
}

const ENDPOINT: &str = "/v1/responses";

/// A Responses turn taken in and ready to forward.
struct Taken {
    raw: Bytes,
    body: Map<String, Value>,
    edited: bool,
    guard: TurnGuard,
    t_parse: Instant,
    model: Option<String>,
    session_id: String,
}

/// Reads and checks the request, assigns the session, injects the skills and opens the record.
async fn take_in(st: &ProxyState, t0: Instant, headers: &HeaderMap, body: Body) -> Result<Taken, ProxyError> {
    st.metrics.last_request.store(now_ms(), std::sync::atomic::Ordering::Relaxed);
    let raw = request::read_body(headers, body, st.max_body_mib).await?;
    let t_parse = Instant::now();
    let value: Value = serde_json::from_slice(&raw)
        .map_err(|e| ProxyError::bad(format!("the request body is not valid JSON: {e}"), None))?;
    let Value::Object(mut body) = value else {
        return Err(ProxyError::bad("the request body must be a JSON object", None));
    };
    validate(&body)?;
    let (mut hints, mut edited) = request::take_hints(&mut body, headers)?;
    if let Some(why) = crate::session::add_agent_hints(&mut hints, headers, &body) {
        tracing::debug!(why, "an agent's housekeeping call: recorded as a side turn");
    }
    let messages = input_messages(&body);
    // A response MetaClaw relayed continues its session; anything else is placed as chat turns are.
    let chained = body.get("previous_response_id").and_then(Value::as_str).and_then(|p| st.responses.session_of(p));
    let session = match chained {
        Some(id) if hints.id.is_none() => Resolved {
            id,
            source: SessionSource::Inferred,
            turn_type: hints.turn_type.unwrap_or(TurnType::Main),
            done: hints.done,
        },
        _ => st.sessions.resolve(hints, &messages, now_ms()),
    };
    let mut block = None;
    let (skills, generation) = select_skills(st, session.turn_type, &messages, |b| block = Some(b.to_string())).await;
    if let Some(b) = block {
        inject_responses(&mut body, &b, st.skills.config().placement);
        edited = true;
    }
    if st.log_bodies {
        tracing::debug!(body = %serde_json::Value::Object(body.clone()), "request");
    }
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let model = body.get("model").and_then(Value::as_str).map(str::to_string);
    let session_id = session.id.clone();
    let mut record = new_record(st, session, Protocol::OpenAi, model.clone(), stream, skills, generation);
    record.protocol = "responses";
    let mut guard = TurnGuard::new(record, t0, st.store.clone(), st.metrics.clone(), st.events.clone());
    guard.set_request(Value::Object(chat_request(&body)));
    Ok(Taken { raw, body, edited, guard, t_parse, model, session_id })
}

async fn handle(st: &Arc<ProxyState>, t0: Instant, headers: HeaderMap, body: Body) -> Result<Response, ProxyError> {
    let Taken { raw, body, edited, mut guard, t_parse, model, session_id } = match take_in(st, t0, &headers, body).await
    {
        Ok(t) => t,
        Err(e) => {
            super::guard::refused(&st.metrics, ENDPOINT, &headers, &e);
            return Err(e);
        }
    };
    let routes = st.routes.load_full();
    let candidates = routes.candidates(model.as_deref());
    let original: Option<Bytes> = (!edited).then_some(raw);
    let fwd = forward_request_headers(&headers);
    guard.add_own(t_parse.elapsed());
    let sent = forward::send_with_failover(st, &candidates, |up| {
        if up.kind == Kind::Anthropic {
            return Err(ProxyError::bad(
                format!(
                    "the upstream {} speaks Anthropic's Messages API, which MetaClaw can't yet offer as the Responses API; \
                     use /v1/chat/completions or /v1/messages for its models",
                    up.name
                ),
                Some("model"),
            ));
        }
        let bytes = match (&original, &up.model) {
            (Some(raw), None) => raw.clone(),
            _ => {
                let mut b = body.clone();
                if let Some(m) = &up.model {
                    b.insert("model".into(), Value::String(m.clone()));
                }
                Bytes::from(serde_json::to_vec(&b).expect("JSON values serialise"))
            }
        };
        let rb = st
            .client
            .post(up.url("responses"))
            .headers(fwd.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(bytes);
        forward::authorise(rb, up, &headers, Protocol::OpenAi)
    })
    .await;
    match sent {
        Ok(sent) => Ok(respond(st, guard, sent, session_id).await),
        Err((e, attempts)) => {
            forward::record_failure(guard, &candidates, &e, attempts);
            Err(e)
        }
    }
}

/// Relays the upstream's answer unchanged and records it in chat form.
async fn respond(st: &Arc<ProxyState>, mut guard: TurnGuard, sent: Sent, session_id: String) -> Response {
    let Sent { resp, upstream, attempts } = sent;
    guard.set_upstream(&upstream, attempts);
    let status = resp.status();
    let is_sse = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let mut headers = relay_response_headers(resp.headers(), true);
    guard.stamp(&mut headers);

    if status.is_success() && is_sse {
        let relay = ResponsesRelay {
            upstream: Box::pin(resp.bytes_stream()),
            idle: Box::pin(tokio::time::sleep(upstream.stream_idle_timeout)),
            idle_after: upstream.stream_idle_timeout,
            http_status: status.as_u16(),
            chunks: ChatChunks::new(),
            state: st.clone(),
            session_id,
            remembered: false,
            done: false,
            guard: {
                guard.set_http_status(status.as_u16());
                guard
            },
        };
        let mut out = Response::new(Body::from_stream(relay));
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        return out;
    }

    let body = match forward::read_bounded(resp, MAX_ANSWER_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            let err = match e {
                Bounded::TooLarge => ProxyError::UpstreamUnreachable(format!(
                    "the upstream {} answered with more than {} MiB",
                    upstream.name,
                    MAX_ANSWER_BYTES >> 20
                )),
                Bounded::Read(e) => super::send_error(&upstream, e),
            };
            guard.finish(
                TurnStatus::Failed,
                Some(err.status().as_u16()),
                Some(err.to_string()),
                Some(RawResponse::None),
            );
            return err.into_response();
        }
    };
    let t = Instant::now();
    let (outcome, error, raw) = if !status.is_success() {
        let msg = format!("the upstream {} answered {status}", upstream.name);
        (TurnStatus::UpstreamError, Some(msg), RawResponse::Json(body.clone()))
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => {
                if let Some(id) = v["id"].as_str() {
                    st.responses.remember(id, &session_id);
                }
                (TurnStatus::Ok, None, RawResponse::Json(Bytes::from(chat_completion(&v).to_string())))
            }
            Err(e) => {
                let msg = format!("the upstream {} answered with JSON that does not parse: {e}", upstream.name);
                (TurnStatus::Failed, Some(msg), RawResponse::Json(body.clone()))
            }
        }
    };
    headers.remove(http::header::CONTENT_LENGTH);
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    guard.add_own(t.elapsed());
    guard.finish(outcome, Some(status.as_u16()), error, Some(raw));
    out
}

type UpstreamStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// Passes a Responses event stream to the client as it arrives, byte for byte, while recording
/// it as chat chunks. The answer is whole at `response.completed` (or `response.incomplete`);
/// a stream that breaks, stalls or just ends before that is recorded as failed, and the client
/// gets an `error` event saying so.
struct ResponsesRelay {
    upstream: UpstreamStream,
    idle: Pin<Box<Sleep>>,
    idle_after: Duration,
    guard: TurnGuard,
    http_status: u16,
    chunks: ChatChunks,
    state: Arc<ProxyState>,
    session_id: String,
    remembered: bool,
    done: bool,
}

impl ResponsesRelay {
    /// The upstream's stream is over (or given up on): record how it ended; for an unfinished
    /// answer, the `error` event that tells the client.
    fn end(&mut self, why: Option<String>) -> Option<Result<Bytes, std::io::Error>> {
        self.done = true;
        let why = match self.chunks.end().clone() {
            StreamEnd::Complete => {
                self.guard.finish(TurnStatus::Ok, Some(self.http_status), None, None);
                return None;
            }
            // The upstream's own failure event already reached the client.
            StreamEnd::Failed(msg) => {
                self.guard.finish(TurnStatus::Failed, Some(self.http_status), Some(msg), None);
                return None;
            }
            StreamEnd::Open => why.unwrap_or_else(|| "the upstream's stream ended before response.completed".into()),
        };
        let event = json!({"type": "error", "code": "upstream_stream_error", "message": why, "param": null,
            "sequence_number": self.chunks.next_sequence()});
        self.guard.finish(TurnStatus::Failed, Some(self.http_status), Some(why), None);
        Some(Ok(Bytes::from(format!("event: error\ndata: {event}\n\n"))))
    }
}

impl Stream for ResponsesRelay {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match this.upstream.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let t = Instant::now();
                let recorded = this.chunks.push(&chunk);
                if !recorded.is_empty() {
                    this.guard.push_chunk(Bytes::from(recorded));
                }
                if !this.remembered {
                    if let Some(id) = this.chunks.response_id() {
                        this.state.responses.remember(id, &this.session_id);
                        this.remembered = true;
                    }
                }
                if *this.chunks.end() == StreamEnd::Complete {
                    this.guard.mark_complete();
                }
                let deadline = tokio::time::Instant::now() + this.idle_after;
                this.idle.as_mut().reset(deadline);
                this.guard.add_own(t.elapsed());
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(this.end(Some(format!("the upstream stream broke off: {e}")))),
            Poll::Ready(None) => Poll::Ready(this.end(None)),
            Poll::Pending => {
                if this.idle.as_mut().poll(cx).is_ready() {
                    let why = format!(
                        "the upstream sent nothing for {} s (upstream.stream_idle_timeout_secs)",
                        this.idle_after.as_secs()
                    );
                    return Poll::Ready(this.end(Some(why)));
                }
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn skills_go_after_the_instructions_or_before_the_latest_user_input() {
        let mut b = obj(json!({"instructions": "be brief", "input": "hi"}));
        inject_responses(&mut b, "K", Placement::System);
        assert_eq!(b["instructions"], "be brief\n\nK");
        assert_eq!(b["input"], "hi");
        let mut b = obj(json!({"input": "hi"}));
        inject_responses(&mut b, "K", Placement::System);
        assert_eq!(b["instructions"], "K");
        let mut b = obj(json!({"input": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"}, {"type": "function_call_output", "call_id": "x", "output": "y"}]}));
        inject_responses(&mut b, "K", Placement::Late);
        assert_eq!(b["input"][2], json!({"role": "system", "content": "K"}));
        assert_eq!(b["input"][3]["content"], "c");
        assert!(b.get("instructions").is_none());
        let mut b = obj(json!({"input": "hi"}));
        inject_responses(&mut b, "K", Placement::Late);
        assert_eq!(b["input"], json!([{"role": "system", "content": "K"}, {"role": "user", "content": "hi"}]));
    }

    #[test]
    fn a_chain_of_response_ids_is_remembered_within_bounds() {
        let s = ResponseSessions::default();
        s.remember("resp_a", "s1");
        s.remember("resp_b", "s1");
        assert_eq!(s.session_of("resp_a").as_deref(), Some("s1"));
        assert_eq!(s.session_of("resp_x"), None);
        for i in 0..MAX_REMEMBERED + 10 {
            s.remember(&format!("r{i}"), "s2");
        }
        let r = s.inner.lock().unwrap();
        assert!(r.by_id.len() == MAX_REMEMBERED && r.order.len() == MAX_REMEMBERED);
        assert!(!r.by_id.contains_key("resp_a"), "the oldest are forgotten first");
    }
}
