//! A Responses turn's answer on its way back: relayed byte for byte from a Responses upstream
//! (recorded as chat chunks), or turned into a `response` (object or event stream) from a chat
//! one, and kept for `previous_response_id` and `GET` when MetaClaw made it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::Stream;
use serde_json::{json, Map, Value};
use tokio::time::Sleep;

use super::super::error::{error_json, Protocol, ProxyError};
use super::super::guard::TurnGuard;
use super::super::relay::{EndWatch, Relay};
use super::super::response_store::Kept;
use super::super::ProxyState;
use super::outgoing::Route;
use crate::clock::now_ms;
use crate::translate::chat_to_responses::{chat_to_response, new_id, ChatToResponsesStream, OnDone, Then};
use crate::translate::responses::{chat_completion, ChatChunks, StreamEnd};
use crate::translate::{anthropic_to_openai_response, AnthropicToOpenAiStream, StreamConverter};
use crate::turn::{RawResponse, TurnStatus};
use crate::upstream::{read_bounded, relay_response_headers, Bounded, Sent, MAX_ANSWER_BYTES};

/// Relays the upstream's answer — unchanged from a Responses upstream, translated from a chat
/// one — and records it.
pub(super) async fn respond(
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
                    EndWatch::new(upstream.kind, !anthropic),
                ))
            }
        };
        let mut out = Response::new(out_body);
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        return out;
    }

    let bytes = match read_bounded(resp, MAX_ANSWER_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            let err = match e {
                Bounded::TooLarge => ProxyError::UpstreamUnreachable(format!(
                    "the upstream {} answered with more than {} MiB",
                    upstream.name,
                    MAX_ANSWER_BYTES >> 20
                )),
                Bounded::Read(e) => super::super::send_error(&upstream, e),
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
pub(super) fn whole(
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
