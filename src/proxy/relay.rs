//! Streaming relay: passes the upstream's SSE bytes to the client as they arrive — unchanged, or
//! translated into the client's protocol — while keeping a copy for the record. Dropping the
//! relay (client gone) drops the upstream request too, which cancels it.

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
}

impl Relay {
    pub fn new(
        upstream: UpstreamStream,
        idle_after: Duration,
        guard: TurnGuard,
        http_status: u16,
        client: Protocol,
        converter: Option<Box<dyn StreamConverter>>,
    ) -> Self {
        Self {
            upstream,
            client,
            converter,
            idle: Box::pin(tokio::time::sleep(idle_after)),
            idle_after,
            guard,
            http_status,
            done: false,
        }
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
                Poll::Ready(Some(Err(e))) => {
                    let msg = format!("the upstream stream broke off: {e}");
                    return Poll::Ready(Some(Ok(this.fail(msg))));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    let tail = this.converter.as_mut().map(|c| Bytes::from(c.finish())).unwrap_or_default();
                    this.guard.finish(TurnStatus::Ok, Some(this.http_status), None, None);
                    return Poll::Ready((!tail.is_empty()).then_some(Ok(tail)));
                }
                Poll::Pending => {
                    if this.idle.as_mut().poll(cx).is_ready() {
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
