//! Forwarding a turn, the proxy's side: the turn sent through [`crate::upstream`] (failover,
//! credentials, translated request), and the answer relayed back in the client's protocol —
//! translated (JSON or stream) when client and upstream speak different ones — and recorded.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::error::{Protocol, ProxyError};
use super::guard::TurnGuard;
use super::relay::{EndWatch, Relay};
use super::ProxyState;
use crate::clock::now_ms;
use crate::translate::{
    anthropic_to_openai_response, openai_to_anthropic_response, AnthropicToOpenAiStream, OpenAiToAnthropicStream,
    StreamConverter,
};
use crate::turn::{RawResponse, TurnStatus};
use crate::upstream::{self, read_bounded, relay_response_headers, Bounded, Sent, Upstream, MAX_ANSWER_BYTES};

/// Sends a turn's body (in the client's protocol) to the model's upstreams with failover (see
/// [`crate::upstream::send_turn`]).
pub async fn send_turn(
    st: &ProxyState,
    candidates: &[Arc<Upstream>],
    headers: &HeaderMap,
    client: Protocol,
    body: &Map<String, Value>,
    original: Option<Bytes>,
) -> Result<Sent, (ProxyError, u32)> {
    upstream::send_turn(&st.client, &st.routing, candidates, headers, client, body, original)
        .await
        .map_err(|(e, attempts)| (e.into(), attempts))
}

/// Ends a turn: relays the answer that came back, or records that every upstream failed.
pub async fn conclude(
    guard: TurnGuard,
    sent: Result<Sent, (ProxyError, u32)>,
    candidates: &[Arc<Upstream>],
    client: Protocol,
    stream: bool,
    model: Option<&str>,
) -> Result<Response, ProxyError> {
    match sent {
        Ok(sent) => Ok(respond(guard, sent, client, stream, model.unwrap_or("")).await),
        Err((e, attempts)) => {
            record_failure(guard, candidates, &e, attempts);
            Err(e)
        }
    }
}

/// Records a turn whose upstreams all failed before answering (the last one tried is named).
pub(super) fn record_failure(mut guard: TurnGuard, candidates: &[Arc<Upstream>], e: &ProxyError, attempts: u32) {
    if let Some(up) = candidates.get(attempts.saturating_sub(1) as usize % candidates.len().max(1)) {
        guard.set_upstream(up, attempts);
    }
    guard.finish(TurnStatus::Failed, Some(e.status().as_u16()), Some(e.to_string()), Some(RawResponse::None));
}

/// An upstream's error body in the client's protocol (unchanged when both speak the same one).
fn error_body_for(client: Protocol, upstream: Protocol, status: StatusCode, body: &Bytes) -> Bytes {
    if client == upstream {
        return body.clone();
    }
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let message = v["error"]["message"].as_str().map(str::to_string).unwrap_or_else(|| {
        format!("the upstream answered {status}: {}", String::from_utf8_lossy(&body[..body.len().min(500)]))
    });
    Bytes::from(super::error::error_json(client, status, &message).to_string())
}

/// Sends the upstream's answer to the client, translating as needed, and records the turn.
pub async fn respond(mut guard: TurnGuard, sent: Sent, client: Protocol, stream: bool, model: &str) -> Response {
    let Sent { resp, upstream, attempts } = sent;
    let up_anthropic = upstream.kind == Protocol::Anthropic;
    guard.set_upstream(&upstream, attempts);
    let status = resp.status();
    let is_sse = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let translating = (client == Protocol::Anthropic) != up_anthropic;
    let mut headers = relay_response_headers(resp.headers(), true);
    if translating {
        headers.remove(http::header::CONTENT_TYPE);
        headers.retain_upstream_ids();
    }
    guard.stamp(&mut headers);

    if status.is_success() && is_sse && stream {
        let converter: Option<Box<dyn StreamConverter>> = match (client, up_anthropic) {
            (Protocol::OpenAi, true) => Some(Box::new(AnthropicToOpenAiStream::new(model, now_ms() / 1000, true))),
            (Protocol::Anthropic, false) => Some(Box::new(OpenAiToAnthropicStream::new(model))),
            _ => None,
        };
        if translating {
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream; charset=utf-8"));
        }
        // A translated Anthropic client's request always asks for the usage chunk.
        let end = EndWatch::new(upstream.kind, guard.usage_asked() || (translating && !up_anthropic));
        let relay = Relay::new(
            Box::pin(resp.bytes_stream()),
            upstream.stream_idle_timeout,
            guard,
            status.as_u16(),
            client,
            converter,
            end,
        );
        let mut out = Response::new(Body::from_stream(relay));
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        return out;
    }

    let body = match read_bounded(resp, MAX_ANSWER_BYTES).await {
        Ok(b) => b,
        Err(Bounded::TooLarge) => {
            let err = ProxyError::UpstreamUnreachable(format!(
                "the upstream {} answered with more than {} MiB",
                upstream.name,
                MAX_ANSWER_BYTES >> 20
            ));
            guard.finish(TurnStatus::Failed, Some(502), Some(err.to_string()), Some(RawResponse::None));
            return err.into_response_for(client);
        }
        Err(Bounded::Read(e)) => {
            let err = super::send_error(&upstream, e);
            guard.finish(
                TurnStatus::Failed,
                Some(err.status().as_u16()),
                Some(err.to_string()),
                Some(RawResponse::None),
            );
            return err.into_response_for(client);
        }
    };
    let t = Instant::now();
    let raw = if up_anthropic { RawResponse::AnthropicJson(body.clone()) } else { RawResponse::Json(body.clone()) };
    let out_body = if !status.is_success() {
        error_body_for(client, upstream.kind, status, &body)
    } else if translating {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) if client == Protocol::OpenAi => {
                Bytes::from(anthropic_to_openai_response(&v, now_ms() / 1000).to_string())
            }
            Ok(v) => Bytes::from(openai_to_anthropic_response(&v).to_string()),
            Err(e) => {
                let err = ProxyError::UpstreamUnreachable(format!(
                    "the upstream {} answered with JSON that does not parse: {e}",
                    upstream.name
                ));
                guard.finish(TurnStatus::Failed, Some(502), Some(err.to_string()), Some(raw));
                return err.into_response_for(client);
            }
        }
    } else {
        body
    };
    if translating || !status.is_success() && !out_body.is_empty() {
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    headers.remove(http::header::CONTENT_LENGTH);
    let mut out = Response::new(Body::from(out_body));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    guard.add_own(t.elapsed());
    if status.is_success() {
        guard.finish(TurnStatus::Ok, Some(status.as_u16()), None, Some(raw));
    } else {
        let msg = format!("the upstream {} answered {status}", upstream.name);
        guard.finish(TurnStatus::UpstreamError, Some(status.as_u16()), Some(msg), Some(raw));
    }
    out
}

/// Drops upstream headers that describe the original body's encoding when the body changes.
trait RetainIds {
    fn retain_upstream_ids(&mut self);
}

impl RetainIds for HeaderMap {
    fn retain_upstream_ids(&mut self) {
        self.remove(http::header::CONTENT_LENGTH);
        self.remove(http::header::CONTENT_ENCODING);
    }
}

/// The JSON body sent to an OpenAI-compatible count of tokens can't be asked: estimate it.
pub fn estimate_tokens(body: &Value) -> i64 {
    let text = json!([body.get("system"), body.get("messages"), body.get("tools")]).to_string();
    (text.len() as u64).div_ceil(4) as i64
}
