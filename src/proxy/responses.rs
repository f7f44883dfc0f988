//! `POST /v1/responses` (OpenAI Responses API clients such as Codex CLI and the Agents SDK): the
//! same turn as a chat completion — session, skills (into `instructions`), routing with
//! failover, recording — relayed unchanged (JSON or the `response.*` event stream) and recorded in
//! the Chat Completions form every turn is judged and learnt from. A `previous_response_id` chain
//! is one session. Errors come in the Responses error shape (`{"error": {"message", "type",
//! "param", "code"}}`), the same as OpenAI's.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::Stream;
use serde_json::{json, Map, Value};
use tokio::time::Sleep;
use tracing::Instrument;

use super::error::{error_json, Protocol, ProxyError};
use super::forward::{self, Bounded, Sent, MAX_ANSWER_BYTES};
use super::guard::TurnGuard;
use super::intake::{new_record, select_skills};
use super::relay::{EndWatch, Relay};
use super::response_store::Kept;
use super::{request, ProxyState};
use crate::clock::now_ms;
use crate::config::Kind;
use crate::session::Resolved;
use crate::skills::Placement;
use crate::translate::chat_to_responses::{chat_to_response, input_items, new_id, ChatToResponsesStream, OnDone, Then};
use crate::translate::responses::{chat_completion, chat_request, input_messages, ChatChunks, StreamEnd};
use crate::translate::responses_to_chat::{left_out_tools, responses_to_chat};
use crate::translate::{anthropic_to_openai_response, openai_to_anthropic, AnthropicToOpenAiStream, StreamConverter};
use crate::turn::{RawResponse, SessionSource, TurnStatus, TurnType};
use crate::upstream::{forward_request_headers, relay_response_headers, Upstream};

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

/// How a turn went to the upstream that answered.
enum Route {
    /// As a Responses request to its `/responses`.
    Native,
    /// Translated, as this chat request to its `/chat/completions` (it has no Responses API).
    Chat(Map<String, Value>),
    /// Translated, as this chat request would be, to an Anthropic upstream's `/messages`.
    Anthropic(Map<String, Value>),
}

impl Route {
    /// The request in chat form, when it was translated.
    fn chat(&self) -> Option<&Map<String, Value>> {
        match self {
            Route::Native => None,
            Route::Chat(c) | Route::Anthropic(c) => Some(c),
        }
    }
}

/// Everything a turn's forwarding needs to build each attempt's request.
struct Outgoing<'a> {
    st: &'a ProxyState,
    headers: &'a HeaderMap,
    fwd: HeaderMap,
    body: &'a Map<String, Value>,
    /// The body as received, when MetaClaw changed nothing.
    original: Option<Bytes>,
}

impl Outgoing<'_> {
    /// The chat request for an upstream without the Responses API. A `previous_response_id`
    /// MetaClaw kept was expanded already ([`expand_kept`]); any other can't be carried.
    fn chat(&self) -> Result<Map<String, Value>, ProxyError> {
        if let Some(prev) = self.body.get("previous_response_id").and_then(Value::as_str) {
            return Err(ProxyError::bad(
                format!(
                    "previous_response_id {prev:?} is not a response MetaClaw keeps: the upstream here has no \
                     Responses API, so MetaClaw keeps its answers itself (in memory, not with `store: false`, \
                     not across a restart); send the conversation as `input` instead"
                ),
                Some("previous_response_id"),
            ));
        }
        let left_out = left_out_tools(self.body);
        if !left_out.is_empty() {
            tracing::info!(tools = ?left_out, "built-in tools left out: the upstream here is offered function tools only");
        }
        responses_to_chat(self.body, &[]).map_err(|e| ProxyError::bad(e.to_string(), None))
    }

    /// Tries the candidates with failover; says how the answering upstream was asked.
    async fn send(&self, candidates: &[Arc<Upstream>]) -> Result<(Sent, Route), (ProxyError, u32)> {
        let mut chat: Option<Map<String, Value>> = None;
        let mut route = Route::Native;
        let sent = forward::send_with_failover(self.st, candidates, |up| {
            let translated = up.kind == Kind::Anthropic || self.st.responses.is_chat_only(&up.name);
            let (path, bytes) = if translated {
                let mut c = match &chat {
                    Some(c) => c.clone(),
                    None => chat.insert(self.chat()?).clone(),
                };
                if let Some(m) = &up.model {
                    c.insert("model".into(), Value::String(m.clone()));
                }
                if up.kind == Kind::Anthropic {
                    let a = openai_to_anthropic(&c)
                        .map_err(|e| ProxyError::bad(format!("{e} (upstream {})", up.name), None))?;
                    route = Route::Anthropic(c);
                    ("messages", Bytes::from(serde_json::to_vec(&a).expect("JSON values serialise")))
                } else {
                    let bytes = Bytes::from(serde_json::to_vec(&c).expect("JSON values serialise"));
                    route = Route::Chat(c);
                    ("chat/completions", bytes)
                }
            } else {
                route = Route::Native;
                let bytes = match (&self.original, &up.model) {
                    (Some(raw), None) => raw.clone(),
                    _ => {
                        let mut b = self.body.clone();
                        if let Some(m) = &up.model {
                            b.insert("model".into(), Value::String(m.clone()));
                        }
                        Bytes::from(serde_json::to_vec(&b).expect("JSON values serialise"))
                    }
                };
                ("responses", bytes)
            };
            let rb = self
                .st
                .client
                .post(up.url(path))
                .headers(self.fwd.clone())
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(bytes);
            forward::authorise(rb, up, self.headers, Protocol::OpenAi)
        })
        .await?;
        Ok((sent, route))
    }
}

/// The request with a `previous_response_id` MetaClaw made itself replaced by the conversation
/// it kept for it (as input items before the request's own); `None` for any other request.
fn expand_kept(st: &ProxyState, body: &Map<String, Value>) -> Option<Map<String, Value>> {
    let kept = st.responses.kept(body.get("previous_response_id")?.as_str()?)?;
    let mut b = body.clone();
    b.remove("previous_response_id");
    let mut input = input_items(&kept.history);
    match b.remove("input") {
        Some(Value::String(s)) => input.push(json!({"role": "user", "content": s})),
        Some(Value::Array(items)) => input.extend(items),
        _ => {}
    }
    b.insert("input".into(), Value::Array(input));
    Some(b)
}

/// True if an upstream's answer to `POST /responses` says it has no such endpoint (a 404 or
/// 405 that is not about the model or a previous response, in whatever shape the server has).
fn no_responses_api(status: http::StatusCode, body: &[u8]) -> bool {
    match status.as_u16() {
        405 => true,
        404 => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let e = &v["error"];
            e["param"].is_null() && e["code"] != "model_not_found"
        }
        _ => false,
    }
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
    // A response id MetaClaw made is never sent on: the conversation it stands for is.
    let expanded = expand_kept(st, &body);
    let sent_body = expanded.as_ref().unwrap_or(&body);
    let out = Outgoing {
        st,
        headers: &headers,
        fwd: forward_request_headers(&headers),
        body: sent_body,
        original: (!edited && expanded.is_none()).then_some(raw),
    };
    guard.add_own(t_parse.elapsed());
    let sent = match out.send(&candidates).await {
        // An upstream without a Responses API: from now on it is asked in Chat Completions.
        Ok((s, Route::Native)) if matches!(s.resp.status().as_u16(), 404 | 405) => {
            let (status, tried, attempts) = (s.resp.status(), s.upstream, s.attempts);
            let h = s.resp.headers().clone();
            let bytes = forward::read_bounded(s.resp, 1 << 20).await.unwrap_or_default();
            if !no_responses_api(status, &bytes) {
                guard.set_upstream(&tried, attempts);
                guard.set_request(Value::Object(chat_request(sent_body)));
                let mut headers = relay_response_headers(&h, true);
                guard.stamp(&mut headers);
                return Ok(whole(st, guard, status, headers, bytes, &Route::Native, &session_id, &body, &tried.name));
            }
            tracing::info!(upstream = %tried.name, %status, "the upstream has no Responses API; asking it in Chat Completions");
            st.responses.set_chat_only(&tried.name);
            out.send(&candidates).await.map(|(mut s, r)| {
                s.attempts += attempts;
                (s, r)
            })
        }
        other => other,
    };
    match sent {
        Ok((sent, route)) => {
            guard.set_request(Value::Object(route.chat().cloned().unwrap_or_else(|| chat_request(sent_body))));
            Ok(respond(st, guard, sent, route, &session_id, &body).await)
        }
        Err((e, attempts)) => {
            guard.set_request(Value::Object(chat_request(sent_body)));
            forward::record_failure(guard, &candidates, &e, attempts);
            Err(e)
        }
    }
}

/// Relays the upstream's answer — unchanged from a Responses upstream, translated from a chat
/// one — and records it.
async fn respond(
    st: &Arc<ProxyState>,
    mut guard: TurnGuard,
    sent: Sent,
    route: Route,
    session_id: &str,
    body: &Map<String, Value>,
) -> Response {
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
        guard.set_http_status(status.as_u16());
        let out_body = match route {
            Route::Native => Body::from_stream(ResponsesRelay {
                upstream: Box::pin(resp.bytes_stream()),
                idle: Box::pin(tokio::time::sleep(upstream.stream_idle_timeout)),
                idle_after: upstream.stream_idle_timeout,
                http_status: status.as_u16(),
                chunks: ChatChunks::new(),
                state: st.clone(),
                session_id: session_id.to_string(),
                remembered: false,
                done: false,
                guard,
            }),
            Route::Chat(ref chat) | Route::Anthropic(ref chat) => {
                headers.remove(http::header::CONTENT_LENGTH);
                headers.remove(http::header::CONTENT_ENCODING);
                headers
                    .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream; charset=utf-8"));
                let id = new_id("resp");
                st.responses.remember(&id, session_id);
                let keep = keeper(st, session_id, &id, body, chat);
                let mut converter: Box<dyn StreamConverter> = Box::new(ChatToResponsesStream::new(body, &id, keep));
                let anthropic = matches!(route, Route::Anthropic(_));
                if anthropic {
                    let model = chat.get("model").and_then(Value::as_str).unwrap_or_default();
                    let first = Box::new(AnthropicToOpenAiStream::new(model, now_ms() / 1000, true));
                    converter = Box::new(Then { first, second: converter });
                }
                Body::from_stream(Relay::new(
                    Box::pin(resp.bytes_stream()),
                    upstream.stream_idle_timeout,
                    guard,
                    status.as_u16(),
                    Protocol::OpenAi,
                    Some(converter),
                    EndWatch::new(anthropic, !anthropic),
                ))
            }
        };
        let mut out = Response::new(out_body);
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        return out;
    }

    let bytes = match forward::read_bounded(resp, MAX_ANSWER_BYTES).await {
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
    whole(st, guard, status, headers, bytes, &route, session_id, body, &upstream.name)
}

/// What keeps a response MetaClaw made from a chat upstream (unless the client said `store:
/// false`): the response and the conversation it ends, for `previous_response_id` and `GET`.
fn keeper(
    st: &Arc<ProxyState>,
    session_id: &str,
    id: &str,
    body: &Map<String, Value>,
    chat: &Map<String, Value>,
) -> Option<OnDone> {
    if body.get("store") == Some(&Value::Bool(false)) {
        return None;
    }
    // The conversation without the instructions, which a chained request doesn't inherit.
    let skip = usize::from(body.get("instructions").is_some_and(Value::is_string));
    let mut history: Vec<Value> = chat
        .get("messages")
        .and_then(Value::as_array)
        .map(|m| m.iter().skip(skip).cloned().collect())
        .unwrap_or_default();
    let (st, session_id, id) = (st.clone(), session_id.to_string(), id.to_string());
    Some(Box::new(move |response: &Value| {
        history.push(chat_completion(response)["choices"][0]["message"].clone());
        st.responses.keep(&id, &session_id, Kept { response: response.clone(), history });
    }))
}

/// Answers with a whole upstream body: as it came from a Responses upstream (or any error), as
/// a `response` object from a chat one; records the turn.
#[allow(clippy::too_many_arguments)]
fn whole(
    st: &Arc<ProxyState>,
    mut guard: TurnGuard,
    status: http::StatusCode,
    mut headers: HeaderMap,
    bytes: Bytes,
    route: &Route,
    session_id: &str,
    body: &Map<String, Value>,
    upstream: &str,
) -> Response {
    let t = Instant::now();
    let mut out_bytes = bytes.clone();
    let anthropic = matches!(route, Route::Anthropic(_));
    let raw_of = |b: Bytes| if anthropic { RawResponse::AnthropicJson(b) } else { RawResponse::Json(b) };
    let (outcome, error, raw) = if !status.is_success() {
        let msg = format!("the upstream {upstream} answered {status}");
        if anthropic {
            // Anthropic's error shape, told in the Responses one.
            let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let message = v["error"]["message"].as_str().map_or_else(|| msg.clone(), str::to_string);
            out_bytes = Bytes::from(error_json(Protocol::OpenAi, status, &message).to_string());
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.remove(http::header::CONTENT_ENCODING);
        }
        (TurnStatus::UpstreamError, Some(msg), raw_of(bytes))
    } else {
        match (serde_json::from_slice::<Value>(&bytes), route) {
            (Ok(v), Route::Native) => {
                if let Some(id) = v["id"].as_str() {
                    st.responses.remember(id, session_id);
                }
                (TurnStatus::Ok, None, RawResponse::Json(Bytes::from(chat_completion(&v).to_string())))
            }
            (Ok(v), Route::Chat(chat) | Route::Anthropic(chat)) => {
                let id = new_id("resp");
                let v = if anthropic { anthropic_to_openai_response(&v, now_ms() / 1000) } else { v };
                let response = chat_to_response(&v, body, &id);
                st.responses.remember(&id, session_id);
                if let Some(keep) = keeper(st, session_id, &id, body, chat) {
                    keep(&response);
                }
                out_bytes = Bytes::from(response.to_string());
                headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                headers.remove(http::header::CONTENT_ENCODING);
                (TurnStatus::Ok, None, raw_of(bytes))
            }
            (Err(e), _) => {
                let msg = format!("the upstream answered with JSON that does not parse: {e}");
                (TurnStatus::Failed, Some(msg), raw_of(bytes))
            }
        }
    };
    headers.remove(http::header::CONTENT_LENGTH);
    let mut out = Response::new(Body::from(out_bytes));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    guard.add_own(t.elapsed());
    guard.finish(outcome, Some(status.as_u16()), error, Some(raw));
    out
}

/// `GET /v1/responses/{id}`: a response MetaClaw made and keeps, or else the upstream's answer.
pub async fn get_response(
    State(st): State<Arc<ProxyState>>,
    Path(id): Path<String>,
    uri: OriginalUri,
    req: axum::extract::Request,
) -> Response {
    match st.responses.kept(&id) {
        Some(k) => axum::Json(k.response.clone()).into_response(),
        None => super::passthrough(State(st), uri, req).await,
    }
}

/// `DELETE /v1/responses/{id}`: forgets a response MetaClaw keeps, or else asks the upstream.
pub async fn delete_response(
    State(st): State<Arc<ProxyState>>,
    Path(id): Path<String>,
    uri: OriginalUri,
    req: axum::extract::Request,
) -> Response {
    if st.responses.delete(&id) {
        return axum::Json(json!({"id": id, "object": "response", "deleted": true})).into_response();
    }
    super::passthrough(State(st), uri, req).await
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
}
