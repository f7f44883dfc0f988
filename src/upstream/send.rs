//! Sending to upstreams: one send with the upstream's header timeout, failover across the model's
//! upstreams with backoff (honouring `retry-after`), a whole turn sent that way, and reading an
//! answer with a size limit.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use super::auth::authorise;
use super::error::UpstreamError;
use super::headers::{forward_request_headers, redact_userinfo};
use super::pool::SendFailure;
use super::request::{turn_body, turn_path};
use super::routes::Upstream;
use crate::clock::now_ms;
use crate::config::{Protocol, RoutingConfig};

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
fn retry_after(h: &HeaderMap) -> Option<Duration> {
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

/// A failed send as an error naming the upstream (any credentials in its address are masked:
/// this text reaches the client, the log and the turn's record). The `reqwest` error stays its
/// source, so the proxy can tell a slow client body from a slow upstream.
pub fn send_error(up: &Upstream, e: reqwest::Error) -> UpstreamError {
    let timed_out = e.is_timeout();
    failure(up, Box::new(e), timed_out)
}

/// A failed send from either lane (see [`super::pool::PlainHttp`]) as an [`UpstreamError`].
fn lane_error(up: &Upstream, e: SendFailure) -> UpstreamError {
    match e {
        SendFailure::Reqwest(e) => send_error(up, e),
        SendFailure::Plain(e) => {
            // A connect timeout is a timeout on either lane (reqwest's `is_timeout` says so too).
            let timed_out = timed_out_io(&e);
            failure(up, Box::new(e), timed_out)
        }
    }
}

/// True when `e` or one of its sources is an I/O error that timed out.
fn timed_out_io(e: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(e), |c| c.source())
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::TimedOut)
}

fn failure(up: &Upstream, e: Box<dyn std::error::Error + Send + Sync>, timed_out: bool) -> UpstreamError {
    if timed_out {
        UpstreamError::Timeout {
            message: redact_userinfo(&format!(
                "the upstream {} ({}) did not answer in time: {e}",
                up.name, up.base_url
            )),
            source: Some(e),
        }
    } else {
        let mut msg = format!("cannot reach the upstream {} ({}): {e}", up.name, up.base_url);
        let mut src = e.source();
        while let Some(s) = src {
            msg.push_str(&format!(": {s}"));
            src = s.source();
        }
        UpstreamError::Unreachable { message: redact_userinfo(&msg), source: Some(e) }
    }
}

/// Sends `rb` with the upstream's header timeout, on the upstream's lean lane when it has one.
pub async fn send(up: &Upstream, rb: reqwest::RequestBuilder) -> Result<reqwest::Response, UpstreamError> {
    let sent = async {
        match &up.plain {
            Some(plain) => plain.send(rb, up.turn_target()).await,
            None => rb.send().await.map_err(SendFailure::Reqwest),
        }
    };
    match tokio::time::timeout(up.timeout, sent).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(lane_error(up, e)),
        Err(_) => Err(UpstreamError::Timeout {
            message: format!(
                "the upstream {} ({}) sent no response within {} s (upstream.timeout_secs)",
                up.name,
                redact_userinfo(&up.base_url),
                up.timeout.as_secs()
            ),
            source: None,
        }),
    }
}

/// Tries `candidates` in order (cycling, `max_attempts` in all). Connect errors, timeouts, 429
/// and 5xx are retried: on another upstream at once, on the same one after a capped exponential
/// backoff that honours `retry-after` (a longer `retry-after` ends the retries). Nothing has
/// reached the client yet, so retrying is safe. `build` makes the request for one upstream; its
/// error ends the attempts.
pub async fn send_with_failover<E: From<UpstreamError>>(
    routing: &RoutingConfig,
    candidates: &[Arc<Upstream>],
    mut build: impl FnMut(&Upstream) -> Result<reqwest::RequestBuilder, E>,
) -> Result<Sent, (E, u32)> {
    if candidates.is_empty() {
        return Err((UpstreamError::NoUpstream("no upstream is configured for this model".into()).into(), 0));
    }
    let n = candidates.len();
    let max = routing.max_attempts.max(1);
    let cap = Duration::from_millis(routing.max_backoff_ms);
    let mut attempt = 0u32;
    loop {
        let up = &candidates[attempt as usize % n];
        let rb = build(up).map_err(|e| (e, attempt))?;
        attempt += 1;
        let outcome = send(up, rb).await;
        let last = attempt >= max;
        let next = &candidates[attempt as usize % n];
        let same = Arc::ptr_eq(up, next);
        let backoff = Duration::from_millis(routing.backoff_ms.saturating_mul(1 << (attempt - 1).min(16))).min(cap);
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
            Err(e) if last => return Err((e.into(), attempt)),
            Err(e) => {
                tracing::warn!(upstream = %up.name, error = %e, attempt, next = %next.name, "upstream failed; trying again");
                if same {
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    }
}

/// Sends a chat turn's body (in the `client` protocol, with the client's `headers`) to the model's
/// upstreams with failover, each asked in its own protocol (see [`turn_body`]).
pub async fn send_turn(
    http: &reqwest::Client,
    routing: &RoutingConfig,
    candidates: &[Arc<Upstream>],
    headers: &HeaderMap,
    client: Protocol,
    body: &Map<String, Value>,
    original: Option<Bytes>,
) -> Result<Sent, (UpstreamError, u32)> {
    // Built once; a retry (rare) builds them again rather than every turn copying them.
    let mut fwd = Some(forward_request_headers(headers));
    send_with_failover(routing, candidates, |up| {
        let bytes = turn_body(up, client, body, original.as_ref())?;
        let rb = match up.turn_url() {
            Some(url) => http.post(url.clone()),
            None => http.post(up.url(turn_path(up))),
        };
        let fwd = fwd.take().unwrap_or_else(|| forward_request_headers(headers));
        let rb = rb.headers(fwd).header(http::header::CONTENT_TYPE, "application/json").body(bytes);
        authorise(rb, up, headers, client)
    })
    .await
}

/// Largest whole (non-streamed) answer read from an upstream.
pub const MAX_ANSWER_BYTES: usize = 64 << 20;

/// Why [`read_bounded`] read no body.
pub enum Bounded {
    TooLarge,
    Read(reqwest::Error),
}

/// Reads a whole body, refusing one larger than `max` as it arrives (not after buffering it).
pub async fn read_bounded(mut resp: reqwest::Response, max: usize) -> Result<Bytes, Bounded> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ra(v: &str) -> Option<Duration> {
        let mut h = HeaderMap::new();
        h.insert("retry-after", http::HeaderValue::from_str(v).unwrap());
        retry_after(&h)
    }

    #[test]
    fn a_timed_out_connection_anywhere_in_the_chain_is_a_timeout() {
        #[derive(Debug, thiserror::Error)]
        #[error("tcp connect error")]
        struct Connect(#[source] std::io::Error);
        let timed_out = Connect(std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"));
        let refused = Connect(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused"));
        assert!(timed_out_io(&timed_out));
        assert!(!timed_out_io(&refused));
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
