//! The turn guard: follows one turn from request to last byte and hands the finished record to
//! the store. If the turn is dropped unfinished (the client went away), it is recorded as
//! cancelled (or `ok`, if its protocol had already said the answer was complete), so no turn is
//! ever silently lost; a shutdown that cannot wait for it records it as it stands. Requests
//! that leave no turn (refused, or relayed as they are) are logged and counted here instead.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::error::ProxyError;
use crate::clock::now_ms;
use crate::metrics::Metrics;
use crate::store::inflight::Ticket;
use crate::store::Store;
use crate::turn::{RawResponse, TurnRecord, TurnStatus};

struct Pending {
    record: TurnRecord,
    t0: Instant,
    /// The upstream's protocol (its streamed chunks are recorded as such).
    upstream: crate::upstream::Protocol,
    /// Time spent in MetaClaw's own code (everything but waiting on the upstream).
    own: Duration,
    chunks: Vec<Bytes>,
    /// Bytes in `chunks`, and bytes past [`MAX_RECORDED_BYTES`] that were not kept.
    kept: usize,
    dropped: usize,
    /// The answer is complete by its protocol's own end (`[DONE]`, `message_stop`…): the turn
    /// is `ok` even if the client closes before the upstream's body ends.
    complete: bool,
    /// The upstream's HTTP status, once it answered.
    http_status: Option<u16>,
}

/// Most bytes of a streamed answer kept for the record; an upstream that never stops must not
/// grow memory without bound. The client still gets everything.
pub const MAX_RECORDED_BYTES: usize = 64 << 20;

type Slot = Arc<Mutex<Option<Box<Pending>>>>;

/// Where finished turns go.
struct Sink {
    store: Store,
    events: crate::events::EventBus,
    metrics: Arc<Metrics>,
}

pub struct TurnGuard {
    /// Shared with the store's in-flight registry, which records the turn as it stands if a
    /// shutdown can't wait for it.
    slot: Slot,
    sink: Arc<Sink>,
    ticket: Ticket,
}

fn lock(slot: &Slot) -> std::sync::MutexGuard<'_, Option<Box<Pending>>> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

/// How an unfinished turn ends when its guard goes away: `ok` if the protocol had ended.
fn unfinished(p: &Pending, why: &str) -> (TurnStatus, Option<u16>, Option<String>) {
    if p.complete {
        (TurnStatus::Ok, p.http_status, None)
    } else {
        (TurnStatus::Cancelled, None, Some(why.to_string()))
    }
}

impl TurnGuard {
    /// `record` carries the request side; `t0` is when the request arrived.
    pub fn new(
        record: TurnRecord,
        t0: Instant,
        store: Store,
        metrics: Arc<Metrics>,
        events: crate::events::EventBus,
    ) -> Self {
        let pending = Pending {
            record,
            t0,
            own: Duration::ZERO,
            upstream: crate::upstream::Protocol::OpenAi,
            chunks: Vec::new(),
            kept: 0,
            dropped: 0,
            complete: false,
            http_status: None,
        };
        let slot: Slot = Arc::new(Mutex::new(Some(Box::new(pending))));
        let sink = Arc::new(Sink { store, events, metrics });
        let (s, k) = (slot.clone(), sink.clone());
        let ticket = sink.store.in_flight().enter(Box::new(move || {
            let taken = lock(&s).take();
            if let Some(p) = taken {
                let (status, http, error) = unfinished(&p, "MetaClaw shut down before the answer was complete");
                k.record(p, status, http, error, None);
            }
        }));
        Self { slot, sink, ticket }
    }

    fn with(&self, f: impl FnOnce(&mut Pending)) {
        if let Some(p) = lock(&self.slot).as_deref_mut() {
            f(p);
        }
    }

    /// Adds time spent in MetaClaw's own code.
    pub fn add_own(&mut self, d: Duration) {
        self.with(|p| p.own += d);
    }

    /// Sets the request as recorded (the normalised, OpenAI-form body).
    pub fn set_request(&mut self, request: serde_json::Value) {
        self.with(|p| p.record.request = request);
    }

    /// Whether the recorded request asked for a final usage chunk (`stream_options.include_usage`).
    pub fn usage_asked(&self) -> bool {
        let mut asked = false;
        self.with(|p| asked = p.record.request.pointer("/stream_options/include_usage") == Some(&true.into()));
        asked
    }

    /// Adds the turn and session ids to a response's headers.
    pub fn stamp(&self, headers: &mut http::HeaderMap) {
        const TURN_ID: http::HeaderName = http::HeaderName::from_static("x-metaclaw-turn-id");
        const SESSION_ID: http::HeaderName = http::HeaderName::from_static("x-metaclaw-session-id");
        self.with(|p| {
            headers.insert(TURN_ID, http::HeaderValue::from(p.record.id));
            if let Ok(v) = http::HeaderValue::from_str(&p.record.session_id) {
                headers.insert(SESSION_ID, v);
            }
        });
    }

    /// Notes which upstream answered, after how many attempts.
    pub fn set_upstream(&mut self, up: &crate::upstream::Upstream, attempts: u32) {
        self.with(|p| {
            p.record.upstream = up.name.clone();
            p.record.policy_model = if up.logprobs { up.model.clone() } else { None };
            p.record.attempts = attempts;
            p.upstream = up.kind;
        });
    }

    /// Notes the upstream's HTTP status (used if the turn ends without [`TurnGuard::finish`]).
    pub fn set_http_status(&mut self, status: u16) {
        self.with(|p| p.http_status = Some(status));
    }

    /// The answer reached its protocol's end: from now on the turn is `ok` whatever happens
    /// to the connections.
    pub fn mark_complete(&mut self) {
        self.with(|p| p.complete = true);
    }

    pub fn push_chunk(&mut self, chunk: Bytes) {
        self.with(|p| {
            if p.kept + chunk.len() > MAX_RECORDED_BYTES {
                p.dropped += chunk.len();
            } else {
                p.kept += chunk.len();
                p.chunks.push(chunk);
            }
        });
    }

    /// Records the turn as finished. `response` of `None` means "the streamed chunks".
    pub fn finish(
        &mut self,
        status: TurnStatus,
        http_status: Option<u16>,
        error: Option<String>,
        response: Option<RawResponse>,
    ) {
        let taken = lock(&self.slot).take();
        if let Some(p) = taken {
            self.sink.record(p, status, http_status, error, response);
        }
        self.sink.store.in_flight().leave(self.ticket);
    }
}

impl Sink {
    fn record(
        &self,
        mut p: Box<Pending>,
        status: TurnStatus,
        http_status: Option<u16>,
        error: Option<String>,
        response: Option<RawResponse>,
    ) {
        let total = p.t0.elapsed();
        let own = p.own.min(total);
        let r = &mut p.record;
        r.finished_at_ms = now_ms();
        r.status = status;
        r.http_status = http_status;
        r.error = error;
        if p.dropped > 0 {
            let note =
                format!("the answer was longer than {} MiB; only its start is recorded", MAX_RECORDED_BYTES >> 20);
            r.error = Some(r.error.take().map_or(note.clone(), |e| format!("{e}; {note}")));
        }
        let chunks = std::mem::take(&mut p.chunks);
        r.response = response.unwrap_or(if p.upstream == crate::upstream::Protocol::Anthropic {
            RawResponse::AnthropicStream(chunks)
        } else {
            RawResponse::Stream(chunks)
        });
        r.latency_ms = total.as_secs_f64() * 1e3;
        r.overhead_ms = own.as_secs_f64() * 1e3;
        r.upstream_ms = (total - own).as_secs_f64() * 1e3;
        if status == TurnStatus::Ok {
            self.metrics.record_overhead(r.overhead_ms);
        }
        tracing::info!(
            turn = r.id,
            session = %r.session_id,
            status = status.as_str(),
            http_status,
            latency_ms = format_args!("{:.1}", r.latency_ms),
            overhead_ms = format_args!("{:.3}", r.overhead_ms),
            "turn finished"
        );
        let answered = http_status.filter(|_| status != TurnStatus::Ok);
        if crate::health::upstream_at_fault(status == TurnStatus::Failed, answered) {
            let error = crate::health::plain(r.error.as_deref().unwrap_or("no answer"));
            // The upstream's own status when it answered; 0 when no answer came.
            let answered_with = if status == TurnStatus::UpstreamError { http_status.unwrap_or(0) } else { 0 };
            let (upstream, status) = (r.upstream.clone(), answered_with);
            self.events.publish(crate::events::Event::UpstreamFailed { upstream, status, error });
        }
        self.events.publish(crate::events::Event::TurnRecorded {
            turn_id: r.id,
            session_id: r.session_id.clone(),
            model: r.model.clone().unwrap_or_default(),
            status: http_status.unwrap_or(0),
            skills: r.skills.len(),
        });
        self.store.record(p.record);
    }
}

impl Drop for TurnGuard {
    fn drop(&mut self) {
        let taken = lock(&self.slot).take();
        if let Some(p) = taken {
            let (status, http, error) = unfinished(&p, "the client disconnected before the answer was complete");
            self.sink.record(p, status, http, error, None);
        }
        self.sink.store.in_flight().leave(self.ticket);
    }
}

/// The status counter of a refusal: `refused_` and what was wrong.
fn refusal_reason(e: &ProxyError) -> &'static str {
    match e {
        ProxyError::BadRequest { .. } => "refused_invalid_request",
        ProxyError::Unauthorized(_) => "refused_unauthorized",
        ProxyError::Forbidden(_) => "refused_forbidden",
        ProxyError::TooLarge { .. } => "refused_too_large",
        ProxyError::NotFound(_) => "refused_not_found",
        ProxyError::UnsupportedMediaType(_) => "refused_not_json",
        ProxyError::BodyTimeout { .. } => "refused_body_timeout",
        ProxyError::UpstreamUnreachable(_) => "refused_upstream_unreachable",
        ProxyError::UpstreamTimeout(_) => "refused_upstream_timeout",
    }
}

/// Longest error text and client name logged for a request without a turn.
const MAX_LOGGED_CHARS: usize = 300;

fn clipped(s: &str) -> &str {
    s.char_indices().nth(MAX_LOGGED_CHARS).map_or(s, |(i, _)| &s[..i])
}

/// Who sent a request, as its `User-Agent` names it (never a credential).
fn client_name(headers: &http::HeaderMap) -> &str {
    headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map_or("-", clipped)
}

/// A request refused before any turn was recorded: logged at info with the reason (never the
/// body or a key) and counted for `/api/status`.
pub(super) fn refused(metrics: &Metrics, endpoint: &str, headers: &http::HeaderMap, e: &ProxyError) {
    let reason = refusal_reason(e);
    metrics.count_unrecorded(reason);
    tracing::info!(
        endpoint,
        reason,
        status = e.status().as_u16(),
        client = client_name(headers),
        error = clipped(&e.to_string()),
        "request refused"
    );
}

/// A request relayed without a turn record (`reason`: `relayed_` and what it was): logged at
/// info and counted for `/api/status`.
pub(super) fn relayed_unrecorded(metrics: &Metrics, reason: &'static str, endpoint: &str, headers: &http::HeaderMap) {
    metrics.count_unrecorded(reason);
    tracing::info!(endpoint, reason, client = client_name(headers), "request relayed without a turn record");
}
