//! Forwarding a turn: the model's upstreams tried in order with failover and backoff, the right
//! credentials for each, and the answer relayed back in the client's protocol — translated
//! (JSON or stream) when client and upstream speak different ones — and recorded.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::error::{Protocol, ProxyError};
use super::guard::TurnGuard;
use super::relay::{EndWatch, Relay};
use super::{send, ProxyState};
use crate::clock::now_ms;
use crate::config::{Auth, Kind};
use crate::translate::{
    anthropic_to_openai, anthropic_to_openai_response, openai_to_anthropic, openai_to_anthropic_response,
    AnthropicToOpenAiStream, OpenAiToAnthropicStream, StreamConverter,
};
use crate::turn::{RawResponse, TurnStatus};
use crate::upstream::{forward_request_headers, relay_response_headers, Upstream};

/// The Anthropic API version sent when the client didn't say.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// What came back from the upstream that answered.
pub struct Sent {
    pub resp: reqwest::Response,
    pub upstream: Arc<Upstream>,
    pub attempts: u32,
}

fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504 | 529)
}

/// Longest `retry-after` taken literally; anything longer only says "not soon" (and is longer
/// than any backoff cap), so it is clamped rather than turned into a `Duration` that overflows.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The upstream's `retry-after`, in seconds or as an HTTP-date. The header is untrusted: a
/// negative, NaN, infinite or unparseable value is ignored (the usual backoff applies) and a huge
/// one is clamped, never a panic.
fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = h.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        return Some(Duration::try_from_secs_f64(secs).map_or(MAX_RETRY_AFTER, |d| d.min(MAX_RETRY_AFTER)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let ms = at.timestamp_millis().saturating_sub(now_ms()).max(0);
    Some(Duration::from_millis(ms.unsigned_abs()).min(MAX_RETRY_AFTER))
}

/// The caller's credential, for `auth = "passthrough"` upstreams: (header name, value).
fn caller_credential(client: &HeaderMap) -> Option<(&'static str, String)> {
    if let Some(k) = client.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(("x-api-key", k.trim().to_string()));
    }
    client
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|k| ("authorization", k.trim().to_string()))
}

/// Adds the credentials and protocol headers `up` needs.
pub fn authorise(
    mut rb: reqwest::RequestBuilder,
    up: &Upstream,
    client: &HeaderMap,
    proto: Protocol,
) -> Result<reqwest::RequestBuilder, ProxyError> {
    let key = match up.auth {
        Auth::Key => up.key.clone().map(|k| ("stored", k)),
        Auth::Passthrough => match caller_credential(client) {
            Some((how, k)) => Some((how, k)),
            None => {
                return Err(ProxyError::Unauthorized(format!(
                    "the upstream {} uses the caller's own credentials (auth = \"passthrough\"); send them as {}",
                    up.name,
                    if proto == Protocol::Anthropic { "`x-api-key`" } else { "`Authorization: Bearer …`" }
                )))
            }
        },
    };
    match up.kind {
        Kind::Openai => {
            if let Some((_, k)) = key {
                rb = rb.bearer_auth(k);
            }
        }
        Kind::Anthropic => {
            match key {
                // An OAuth token the caller sent as a bearer token stays one.
                Some(("authorization", k)) => rb = rb.bearer_auth(k),
                Some((_, k)) => rb = rb.header("x-api-key", k),
                None => {}
            }
            if !client.contains_key("anthropic-version") {
                rb = rb.header("anthropic-version", ANTHROPIC_VERSION);
            }
        }
    }
    Ok(rb)
}

/// Tries `candidates` in order (cycling, `max_attempts` in all). Connect errors, timeouts, 429
/// and 5xx are retried: on another upstream at once, on the same one after a capped exponential
/// backoff that honours `retry-after` (a longer `retry-after` ends the retries). Nothing has
/// reached the client yet, so retrying is safe.
pub async fn send_with_failover(
    st: &ProxyState,
    candidates: &[Arc<Upstream>],
    mut build: impl FnMut(&Upstream) -> Result<reqwest::RequestBuilder, ProxyError>,
) -> Result<Sent, (ProxyError, u32)> {
    if candidates.is_empty() {
        return Err((ProxyError::NotFound("no upstream is configured for this model".into()), 0));
    }
    let n = candidates.len();
    let max = st.routing.max_attempts.max(1);
    let cap = Duration::from_millis(st.routing.max_backoff_ms);
    let mut attempt = 0u32;
    loop {
        let up = &candidates[attempt as usize % n];
        let rb = build(up).map_err(|e| (e, attempt))?;
        attempt += 1;
        let outcome = send(up, rb).await;
        let last = attempt >= max;
        let next = &candidates[attempt as usize % n];
        let same = Arc::ptr_eq(up, next);
        let backoff = Duration::from_millis(st.routing.backoff_ms.saturating_mul(1 << (attempt - 1).min(16))).min(cap);
        // The trained policy must never break the agent: a key, permission or model problem on the
        // training service sends the turn down the usual route at once.
        let policy_refused =
            |r: &reqwest::Response| up.logprobs && !same && matches!(r.status().as_u16(), 401 | 403 | 404 | 422);
        match outcome {
            Ok(resp) if policy_refused(&resp) && !last => {
                tracing::warn!(upstream = %up.name, status = %resp.status(), next = %next.name, "the policy refused the turn; using the usual route");
            }
            Ok(resp) if !retryable(resp.status()) || last => {
                return Ok(Sent { resp, upstream: up.clone(), attempts: attempt });
            }
            Ok(resp) => {
                let wait = match retry_after(resp.headers()) {
                    Some(ra) if same && ra > cap => return Ok(Sent { resp, upstream: up.clone(), attempts: attempt }),
                    Some(ra) if same => ra,
                    _ if same => backoff,
                    _ => Duration::ZERO,
                };
                tracing::warn!(upstream = %up.name, status = %resp.status(), attempt, next = %next.name, "upstream failed; trying again");
                tokio::time::sleep(wait).await;
            }
            Err(e) if last => return Err((e, attempt)),
            Err(e) => {
                tracing::warn!(upstream = %up.name, error = %e, attempt, next = %next.name, "upstream failed; trying again");
                if same {
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    }
}

/// Sends a turn's body (in the client's protocol) to the model's upstreams with failover: as
/// received when MetaClaw changed nothing, otherwise re-serialised with the upstream's model
/// override, and translated for an upstream that speaks the other protocol.
pub async fn send_turn(
    st: &ProxyState,
    candidates: &[Arc<Upstream>],
    headers: &HeaderMap,
    client: Protocol,
    body: &Map<String, Value>,
    original: Option<Bytes>,
) -> Result<Sent, (ProxyError, u32)> {
    let fwd = forward_request_headers(headers);
    send_with_failover(st, candidates, |up| {
        let same =
            matches!((client, up.kind), (Protocol::OpenAi, Kind::Openai) | (Protocol::Anthropic, Kind::Anthropic));
        let path = if up.kind == Kind::Anthropic { "messages" } else { "chat/completions" };
        let bytes = match (&original, &up.model) {
            (Some(raw), None) if same && !up.logprobs => raw.clone(),
            _ => {
                let mut b = if same {
                    Ok(body.clone())
                } else if client == Protocol::OpenAi {
                    openai_to_anthropic(body)
                } else {
                    anthropic_to_openai(body)
                }
                .map_err(|e| ProxyError::bad(format!("{e} (upstream {})", up.name), None))?;
                if let Some(m) = &up.model {
                    b.insert("model".into(), Value::String(m.clone()));
                }
                if up.logprobs && up.kind == Kind::Openai {
                    b.insert("logprobs".into(), Value::Bool(true));
                }
                Bytes::from(serde_json::to_vec(&b).expect("JSON values serialise"))
            }
        };
        let rb = st
            .client
            .post(up.url(path))
            .headers(fwd.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(bytes);
        authorise(rb, up, headers, client)
    })
    .await
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
fn error_body_for(client: Protocol, upstream: Kind, status: StatusCode, body: &Bytes) -> Bytes {
    let same = matches!((client, upstream), (Protocol::OpenAi, Kind::Openai) | (Protocol::Anthropic, Kind::Anthropic));
    if same {
        return body.clone();
    }
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let message = v["error"]["message"].as_str().map(str::to_string).unwrap_or_else(|| {
        format!("the upstream answered {status}: {}", String::from_utf8_lossy(&body[..body.len().min(500)]))
    });
    Bytes::from(super::error::error_json(client, status, &message).to_string())
}

/// Largest whole (non-streamed) answer read from an upstream.
pub const MAX_ANSWER_BYTES: usize = 64 << 20;

pub(super) enum Bounded {
    TooLarge,
    Read(reqwest::Error),
}

/// Reads a whole body, refusing one larger than `max` as it arrives (not after buffering it).
pub(super) async fn read_bounded(mut resp: reqwest::Response, max: usize) -> Result<Bytes, Bounded> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(Bounded::TooLarge);
    }
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = resp.chunk().await.map_err(Bounded::Read)? {
        if buf.len() + chunk.len() > max {
            return Err(Bounded::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Sends the upstream's answer to the client, translating as needed, and records the turn.
pub async fn respond(mut guard: TurnGuard, sent: Sent, client: Protocol, stream: bool, model: &str) -> Response {
    let Sent { resp, upstream, attempts } = sent;
    let up_anthropic = upstream.kind == Kind::Anthropic;
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
        let end = EndWatch::new(up_anthropic, guard.usage_asked() || (translating && !up_anthropic));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ra(v: &str) -> Option<Duration> {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", reqwest::header::HeaderValue::from_str(v).unwrap());
        retry_after(&h)
    }

    #[test]
    fn retry_after_of_any_value_never_panics() {
        assert_eq!(ra("7"), Some(Duration::from_secs(7)));
        assert_eq!(ra(" 0.5 "), Some(Duration::from_millis(500)));
        for bad in ["-1", "-0.5", "NaN", "nan", "inf", "-inf", "infinity", "garbage", "", "1s", "0x10"] {
            assert_eq!(ra(bad), None, "{bad:?}");
        }
        for huge in ["1e300", "18446744073709551616", "99999999999999999999999"] {
            assert_eq!(ra(huge), Some(MAX_RETRY_AFTER), "{huge:?}");
        }
        // An HTTP-date: in the past means now, in the future means until then (clamped).
        assert_eq!(ra("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(ra("Fri, 31 Dec 9999 23:59:59 GMT"), Some(MAX_RETRY_AFTER));
        let soon = chrono::Utc::now() + chrono::Duration::seconds(30);
        let d = ra(&soon.to_rfc2822()).unwrap();
        assert!(d > Duration::from_secs(25) && d <= Duration::from_secs(30), "{d:?}");
    }
}
