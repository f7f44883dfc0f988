//! Streaming relay: passes the upstream's SSE bytes to the client as they arrive — unchanged, or
//! translated into the client's protocol — while keeping a copy for the record. Dropping the
//! relay (client gone) drops the upstream request too, which cancels it. The answer is complete
//! when its protocol says so (OpenAI `data: [DONE]`, or the `finish_reason` and, when asked for,
//! the usage chunk; Anthropic `message_stop`), not when the upstream's body ends: a client that
//! closes right after the end has read the whole answer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::Stream;
use serde_json::json;
use tokio::time::Sleep;

use super::error::Protocol;
use super::guard::TurnGuard;
use crate::translate::sse::SseSplitter;
use crate::translate::StreamConverter;
use crate::turn::TurnStatus;

type UpstreamStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

pub struct Relay {
    upstream: UpstreamStream,
    client: Protocol,
    /// Translates the upstream's stream into the client's protocol, when they differ.
    converter: Option<Box<dyn StreamConverter>>,
    idle: Pin<Box<Sleep>>,
    idle_after: Duration,
    guard: TurnGuard,
    http_status: u16,
    done: bool,
    end: EndWatch,
}

/// Watches the upstream's events for the protocol's own end of the answer.
pub struct EndWatch {
    sse: SseSplitter,
    upstream: Protocol,
    usage_asked: bool,
    finish_seen: bool,
    usage_seen: bool,
    complete: bool,
}

impl EndWatch {
    /// For an upstream speaking `upstream` (for OpenAI, `usage_asked` says whether a final usage
    /// chunk was requested).
    pub fn new(upstream: Protocol, usage_asked: bool) -> Self {
        Self {
            sse: SseSplitter::default(),
            upstream,
            usage_asked,
            finish_seen: false,
            usage_seen: false,
            complete: false,
        }
    }

    /// Takes upstream bytes; true once the answer is complete.
    pub fn push(&mut self, chunk: &[u8]) -> bool {
        if self.complete {
            return true;
        }
        for ev in self.sse.push(chunk) {
            let data = ev.data.trim();
            if self.upstream == Protocol::Anthropic {
                // Only a full parse tells the event's type; the cheap test keeps it rare.
                if ev.event.as_deref() == Some("message_stop")
                    || (data.contains("message_stop")
                        && serde_json::from_str::<serde_json::Value>(data).is_ok_and(|v| v["type"] == "message_stop"))
                {
                    self.complete = true;
                }
                continue;
            }
            if data == "[DONE]" {
                self.complete = true;
                continue;
            }
            let finish = data.contains("\"finish_reason\"") && !data.contains("\"finish_reason\":null");
            let usage = data.contains("\"usage\"") && !data.contains("\"usage\":null");
            if finish || usage {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(data) {
                    self.finish_seen |= v.pointer("/choices/0/finish_reason").is_some_and(|f| !f.is_null());
                    self.usage_seen |= v.get("usage").is_some_and(|u| u.is_object());
                }
            }
            if self.finish_seen && (self.usage_seen || !self.usage_asked) {
                self.complete = true;
            }
        }
        self.complete
    }
}

impl Relay {
    pub fn new(
        upstream: UpstreamStream,
        idle_after: Duration,
        guard: TurnGuard,
        http_status: u16,
        client: Protocol,
        converter: Option<Box<dyn StreamConverter>>,
        end: EndWatch,
    ) -> Self {
        let mut guard = guard;
        guard.set_http_status(http_status);
        Self {
            upstream,
            client,
            converter,
            idle: Box::pin(tokio::time::sleep(idle_after)),
            idle_after,
            guard,
            http_status,
            done: false,
            end,
        }
    }

    /// Ends the stream normally: the converter's tail, if any, and the turn recorded `ok`.
    fn end_ok(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        self.done = true;
        let tail = self.converter.as_mut().map(|c| Bytes::from(c.finish())).unwrap_or_default();
        self.guard.finish(TurnStatus::Ok, Some(self.http_status), None, None);
        (!tail.is_empty()).then_some(Ok(tail))
    }

    /// Ends the stream with an error event the client's SDK surfaces as an API error.
    fn fail(&mut self, message: String) -> Bytes {
        self.done = true;
        let bytes = match (&mut self.converter, self.client) {
            (Some(c), _) => Bytes::from(c.fail(&message)),
            (None, Protocol::Anthropic) => {
                let event = json!({"type": "error", "error": {"type": "api_error", "message": message}});
                Bytes::from(format!("event: error\ndata: {event}\n\n"))
            }
            (None, Protocol::OpenAi) => {
                let event = json!({"error": {"message": message, "type": "upstream_error", "param": null, "code": "upstream_stream_error"}});
                Bytes::from(format!("data: {event}\n\n"))
            }
        };
        self.guard.finish(TurnStatus::Failed, Some(self.http_status), Some(message), None);
        bytes
    }
}

impl Stream for Relay {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let t = Instant::now();
                    this.guard.push_chunk(chunk.clone());
                    if this.end.push(&chunk) {
                        this.guard.mark_complete();
                    }
                    let deadline = tokio::time::Instant::now() + this.idle_after;
                    this.idle.as_mut().reset(deadline);
                    let out = match &mut this.converter {
                        Some(c) => Bytes::from(c.push(&chunk)),
                        None => chunk,
                    };
                    this.guard.add_own(t.elapsed());
                    if out.is_empty() {
                        continue; // nothing complete to send yet
                    }
                    return Poll::Ready(Some(Ok(out)));
                }
                Poll::Ready(Some(Err(_))) if this.end.complete => {
                    // The answer was whole; only the upstream's connection ended badly.
                    return Poll::Ready(this.end_ok());
                }
                Poll::Ready(Some(Err(e))) => {
                    let msg = format!("the upstream stream broke off: {e}");
                    return Poll::Ready(Some(Ok(this.fail(msg))));
                }
                Poll::Ready(None) => return Poll::Ready(this.end_ok()),
                Poll::Pending => {
                    if this.idle.as_mut().poll(cx).is_ready() {
                        if this.end.complete {
                            return Poll::Ready(this.end_ok());
                        }
                        let msg = format!(
                            "the upstream sent nothing for {} s (upstream.stream_idle_timeout_secs)",
                            this.idle_after.as_secs()
                        );
                        return Poll::Ready(Some(Ok(this.fail(msg))));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{EndWatch, Protocol};

    const FINISH: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    const USAGE: &[u8] = b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n";
    const TEXT: &[u8] =
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}],\"usage\":null}\n\n";

    #[test]
    fn an_openai_stream_ends_at_done_or_at_finish_and_the_asked_for_usage() {
        let mut w = EndWatch::new(Protocol::OpenAi, false);
        assert!(!w.push(TEXT));
        assert!(w.push(FINISH), "no usage asked: the finish_reason ends it");

        let mut w = EndWatch::new(Protocol::OpenAi, true);
        assert!(!w.push(TEXT) && !w.push(FINISH), "the usage chunk is still to come");
        assert!(w.push(USAGE));

        let mut w = EndWatch::new(Protocol::OpenAi, true);
        assert!(!w.push(TEXT));
        // `[DONE]` split across writes still counts.
        assert!(!w.push(b"data: [DO"));
        assert!(w.push(b"NE]\n\n"));
    }

    #[test]
    fn an_anthropic_stream_ends_at_message_stop_only() {
        let mut w = EndWatch::new(Protocol::Anthropic, false);
        assert!(!w.push(
            b"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n"
        ));
        assert!(!w.push(b"data: {\"text\":\"the words message_stop in a text\"}\n\n"));
        assert!(w.push(b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
        // And never on an OpenAI terminator.
        let mut w = EndWatch::new(Protocol::Anthropic, false);
        assert!(!w.push(b"data: [DONE]\n\n"));
    }
}
