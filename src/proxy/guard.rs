//! The turn guard: follows one turn from request to last byte and hands the finished record to
//! the store. If the turn is dropped unfinished (the client went away), it is recorded as
//! cancelled, so no turn is ever silently lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::metrics::Metrics;
use crate::store::Store;
use crate::turn::{now_ms, RawResponse, TurnRecord, TurnStatus};

struct Pending {
    record: TurnRecord,
    t0: Instant,
    /// The upstream speaks Anthropic (its streamed chunks are recorded as such).
    anthropic: bool,
    /// Time spent in MetaClaw's own code (everything but waiting on the upstream).
    own: Duration,
    chunks: Vec<Bytes>,
}

pub struct TurnGuard {
    pending: Option<Box<Pending>>,
    store: Store,
    events: crate::events::EventBus,
    metrics: Arc<Metrics>,
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
        Self {
            pending: Some(Box::new(Pending { record, t0, own: Duration::ZERO, anthropic: false, chunks: Vec::new() })),
            store,
            events,
            metrics,
        }
    }

    /// Adds time spent in MetaClaw's own code.
    pub fn add_own(&mut self, d: Duration) {
        if let Some(p) = &mut self.pending {
            p.own += d;
        }
    }

    /// Sets the request as recorded (the normalised, OpenAI-form body).
    pub fn set_request(&mut self, request: serde_json::Value) {
        if let Some(p) = &mut self.pending {
            p.record.request = request;
        }
    }

    /// Adds the turn and session ids to a response's headers.
    pub fn stamp(&self, headers: &mut http::HeaderMap) {
        if let Some(p) = &self.pending {
            headers.insert("x-metaclaw-turn-id", http::HeaderValue::from(p.record.id));
            if let Ok(v) = http::HeaderValue::from_str(&p.record.session_id) {
                headers.insert("x-metaclaw-session-id", v);
            }
        }
    }

    /// Notes which upstream answered, after how many attempts.
    pub fn set_upstream(&mut self, up: &crate::upstream::Upstream, attempts: u32) {
        if let Some(p) = &mut self.pending {
            let anthropic = up.kind == crate::config::Kind::Anthropic;
            p.record.upstream = up.name.clone();
            p.record.policy_model = if up.logprobs { up.model.clone() } else { None };
            p.record.attempts = attempts;
            p.anthropic = anthropic;
        }
    }

    pub fn push_chunk(&mut self, chunk: Bytes) {
        if let Some(p) = &mut self.pending {
            p.chunks.push(chunk);
        }
    }

    /// Records the turn as finished. `response` of `None` means "the streamed chunks".
    pub fn finish(
        &mut self,
        status: TurnStatus,
        http_status: Option<u16>,
        error: Option<String>,
        response: Option<RawResponse>,
    ) {
        let Some(mut p) = self.pending.take() else {
            return;
        };
        let total = p.t0.elapsed();
        let own = p.own.min(total);
        let r = &mut p.record;
        r.finished_at_ms = now_ms();
        r.status = status;
        r.http_status = http_status;
        r.error = error;
        let chunks = std::mem::take(&mut p.chunks);
        r.response = response.unwrap_or(if p.anthropic {
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
        if self.pending.is_some() {
            self.finish(
                TurnStatus::Cancelled,
                None,
                Some("the client disconnected before the answer was complete".into()),
                None,
            );
        }
    }
}
