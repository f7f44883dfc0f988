//! Streaming relay: passes the upstream's SSE bytes to the client as they arrive, unchanged,
//! while keeping a copy for the record. Dropping the relay (client gone) drops the upstream
//! request too, which cancels it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::Stream;
use serde_json::json;
use tokio::time::Sleep;

use super::guard::TurnGuard;
use crate::turn::TurnStatus;

type UpstreamStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

pub struct Relay {
    upstream: UpstreamStream,
    idle: Pin<Box<Sleep>>,
    idle_after: Duration,
    guard: TurnGuard,
    http_status: u16,
    done: bool,
}

impl Relay {
    pub fn new(upstream: UpstreamStream, idle_after: Duration, guard: TurnGuard, http_status: u16) -> Self {
        Self { upstream, idle: Box::pin(tokio::time::sleep(idle_after)), idle_after, guard, http_status, done: false }
    }

    /// Ends the stream with an SSE error event the OpenAI SDKs surface as an API error.
    fn fail(&mut self, message: String) -> Bytes {
        self.done = true;
        let event = json!({"error": {"message": message, "type": "upstream_error", "param": null, "code": "upstream_stream_error"}});
        self.guard.finish(TurnStatus::Failed, Some(self.http_status), Some(message), None);
        Bytes::from(format!("data: {event}\n\n"))
    }
}

impl Stream for Relay {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match this.upstream.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let t = Instant::now();
                this.guard.push_chunk(chunk.clone());
                let deadline = tokio::time::Instant::now() + this.idle_after;
                this.idle.as_mut().reset(deadline);
                this.guard.add_own(t.elapsed());
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                let msg = format!("the upstream stream broke off: {e}");
                Poll::Ready(Some(Ok(this.fail(msg))))
            }
            Poll::Ready(None) => {
                this.done = true;
                this.guard.finish(TurnStatus::Ok, Some(this.http_status), None, None);
                Poll::Ready(None)
            }
            Poll::Pending => {
                if this.idle.as_mut().poll(cx).is_ready() {
                    let msg = format!(
                        "the upstream sent nothing for {} s (upstream.stream_idle_timeout_secs)",
                        this.idle_after.as_secs()
                    );
                    return Poll::Ready(Some(Ok(this.fail(msg))));
                }
                Poll::Pending
            }
        }
    }
}
