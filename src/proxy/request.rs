//! Reading and checking an incoming chat-completions request before anything is forwarded:
//! body size, JSON shape, and MetaClaw's session hints (headers first, body fields as fallback,
//! the latter removed before forwarding).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, HeaderName};
use http_body::{Frame, SizeHint};
use serde_json::{Map, Value};

use super::error::ProxyError;
use crate::fields::Fields;
use crate::session::{parse_truthy, parse_turn_type, valid_session_id, SessionHints};

/// Body fields that are MetaClaw's, not the upstream's (the reference implementation's names).
const LOCAL_BODY_KEYS: &[&str] =
    &["session_id", "turn_type", "session_done", "memory_scope", "user_id", "workspace_id"];

/// A request body with a deadline for all of it to arrive: a client that trickles (or stops
/// sending) its body can't hold a connection and a task for ever. The timer is only set once the
/// body keeps the reader waiting: most bodies arrive with their request's head.
pub struct Deadline {
    inner: Body,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    due: tokio::time::Instant,
    limit: Duration,
}

impl Deadline {
    /// `body`, which must have arrived in full within `limit` from now.
    pub fn new(inner: Body, limit: Duration) -> Self {
        Self { inner, timer: None, due: tokio::time::Instant::now() + limit, limit }
    }
}

/// The error a [`Deadline`] body ends with once its time is up.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s (proxy.body_timeout_secs)", .0.as_secs())]
pub struct BodyTimedOut(Duration);

impl BodyTimedOut {
    /// The deadline, in whole seconds.
    pub fn secs(&self) -> u64 {
        self.0.as_secs()
    }
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.inner.is_end_stream() {
            return Poll::Ready(None);
        }
        let expired =
            |timer: &mut Pin<Box<tokio::time::Sleep>>, cx: &mut Context<'_>| timer.as_mut().poll(cx).is_ready();
        let limit = self.limit;
        if self.timer.as_mut().is_some_and(|t| expired(t, cx)) {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut(limit)))));
        }
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let due = self.due;
        let timer = self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
        if expired(timer, cx) {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut(limit)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// True if `e` or one of its sources is a [`BodyTimedOut`].
pub(super) fn timed_out<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a BodyTimedOut> {
    std::iter::successors(Some(e), |c| c.source()).find_map(|c| c.downcast_ref::<BodyTimedOut>())
}

/// Reads the whole body, refusing more than `limit_mib`.
pub async fn read_body(headers: &HeaderMap, body: Body, limit_mib: u32) -> Result<bytes::Bytes, ProxyError> {
    let limit = limit_mib as usize * 1024 * 1024;
    let declared =
        headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ProxyError::TooLarge { limit_mib });
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit");
        if too_large {
            ProxyError::TooLarge { limit_mib }
        } else if let Some(t) = timed_out(&e) {
            ProxyError::BodyTimeout { secs: t.secs() }
        } else {
            ProxyError::bad(format!("could not read the request body: {e}"), None)
        }
    })
}

/// A parsed, validated chat request.
pub struct ChatRequest {
    pub body: Map<String, Value>,
    pub hints: SessionHints,
    /// True when MetaClaw changed the body (so the original bytes can't be forwarded as they are).
    pub edited: bool,
}

impl ChatRequest {
    pub fn messages(&self) -> &[Value] {
        self.body.field("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
    }
    pub fn stream(&self) -> bool {
        self.body.field("stream").and_then(Value::as_bool).unwrap_or(false)
    }
    pub fn model(&self) -> Option<&str> {
        self.body.field("model").and_then(Value::as_str)
    }
}

/// MetaClaw's session headers, parsed once (a lookup by `&str` parses the name on every call).
const SESSION_ID: HeaderName = HeaderName::from_static("x-session-id");
const TURN_TYPE: HeaderName = HeaderName::from_static("x-turn-type");
const SESSION_DONE: HeaderName = HeaderName::from_static("x-session-done");

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a str>, ProxyError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => {
            v.to_str().map(Some).map_err(|_| ProxyError::bad(format!("header {name} must be visible ASCII"), None))
        }
    }
}

/// Parses and validates the JSON body and extracts session hints.
pub fn parse(bytes: &[u8], headers: &HeaderMap) -> Result<ChatRequest, ProxyError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ProxyError::bad(format!("the request body is not valid JSON: {e}"), None))?;
    let Value::Object(mut body) = value else {
        return Err(ProxyError::bad("the request body must be a JSON object", None));
    };
    validate(&body)?;
    let (hints, edited) = take_hints(&mut body, headers)?;
    Ok(ChatRequest { body, hints, edited })
}

/// MetaClaw's session hints of a request: headers first, then its body fields, which are removed
/// from `body` (the flag says whether any was).
pub fn take_hints(body: &mut Map<String, Value>, headers: &HeaderMap) -> Result<(SessionHints, bool), ProxyError> {
    let mut edited = false;
    let mut removed = Map::new();
    // One look over the (few) top-level keys first: most bodies carry none of ours, and each
    // removal hashes its key.
    if body.keys().any(|k| LOCAL_BODY_KEYS.contains(&k.as_str())) {
        for k in LOCAL_BODY_KEYS {
            if let Some(v) = body.remove(*k) {
                removed.insert((*k).to_string(), v);
                edited = true;
            }
        }
    }
    let body_str = |k: &str| -> Result<Option<String>, ProxyError> {
        match removed.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(ProxyError::bad(format!("`{k}` must be a string"), None)),
        }
    };

    let id = match header_str(headers, &SESSION_ID)? {
        Some(h) => Some(h.to_string()),
        None => body_str("session_id")?,
    };
    if let Some(id) = &id {
        if !valid_session_id(id) {
            return Err(ProxyError::bad(
                "the session id (X-Session-Id) must be 1-256 characters without control characters",
                None,
            ));
        }
    }
    let turn_type = match header_str(headers, &TURN_TYPE)? {
        Some(h) => Some(h.to_string()),
        None => body_str("turn_type")?,
    }
    .map(|s| parse_turn_type(&s));
    let done = match header_str(headers, &SESSION_DONE)? {
        Some(h) => parse_truthy(h),
        None => body_str("session_done")?.is_some_and(|s| parse_truthy(&s)),
    };
    Ok((SessionHints { id, turn_type, done }, edited))
}

fn validate(body: &Map<String, Value>) -> Result<(), ProxyError> {
    let messages = match body.field("messages") {
        None => return Err(ProxyError::bad("`messages` is required", Some("messages"))),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(ProxyError::bad("`messages` must be an array of message objects", Some("messages"))),
    };
    if messages.is_empty() {
        return Err(ProxyError::bad("`messages` must contain at least one message", Some("messages")));
    }
    for (i, m) in messages.iter().enumerate() {
        let Some(obj) = m.as_object() else {
            return Err(ProxyError::bad(format!("messages[{i}] must be an object"), Some("messages")));
        };
        match obj.field("role") {
            Some(Value::String(_)) => {}
            Some(_) => return Err(ProxyError::bad(format!("messages[{i}].role must be a string"), Some("messages"))),
            None => return Err(ProxyError::bad(format!("messages[{i}].role is required"), Some("messages"))),
        }
    }
    if let Some(m) = body.field("model") {
        if !m.is_string() {
            return Err(ProxyError::bad("`model` must be a string", Some("model")));
        }
    }
    if let Some(s) = body.field("stream") {
        if !s.is_boolean() && !s.is_null() {
            return Err(ProxyError::bad("`stream` must be true or false", Some("stream")));
        }
    }
    if let Some(s) = body.field("stream_options") {
        if !s.is_object() && !s.is_null() {
            return Err(ProxyError::bad("`stream_options` must be an object", Some("stream_options")));
        }
    }
    if let Some(t) = body.field("tools") {
        if !t.is_array() && !t.is_null() {
            return Err(ProxyError::bad("`tools` must be an array", Some("tools")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::turn::TurnType;

    #[tokio::test]
    async fn a_body_that_keeps_trickling_still_meets_its_deadline() {
        use http_body_util::BodyExt;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        tokio::spawn(async move {
            // A byte every 100 ms for ever (until the reader gives up).
            while tx.send(Ok(Bytes::from_static(b" "))).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let body = Deadline::new(Body::from_stream(tokio_stream(rx)), Duration::from_millis(600));
        let read = tokio::time::timeout(Duration::from_secs(10), body.collect()).await;
        let err = read.expect("the deadline ends it, though bytes keep coming").expect_err("an error");
        assert!(timed_out(&*err).is_some(), "{err}");
    }

    #[tokio::test]
    async fn a_body_that_came_whole_sets_no_timer() {
        let mut body = Deadline::new(Body::from("{}"), Duration::from_secs(30));
        let frame = std::future::poll_fn(|cx| http_body::Body::poll_frame(Pin::new(&mut body), cx)).await;
        assert_eq!(frame.unwrap().unwrap().into_data().unwrap(), "{}");
        assert!(body.timer.is_none(), "no timer for a body that kept no one waiting");
    }

    /// A stream of the channel's items.
    fn tokio_stream<T: Send + 'static>(
        mut rx: tokio::sync::mpsc::Receiver<T>,
    ) -> impl futures_util::Stream<Item = T> + Send + 'static {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }

    fn p(body: &str) -> Result<ChatRequest, ProxyError> {
        parse(body.as_bytes(), &HeaderMap::new())
    }

    #[test]
    fn rejects_bad_shapes_with_clear_messages() {
        for (body, needle) in [
            ("{", "not valid JSON"),
            ("[]", "JSON object"),
            ("{}", "`messages` is required"),
            (r#"{"messages": "hi"}"#, "must be an array"),
            (r#"{"messages": []}"#, "at least one"),
            (r#"{"messages": [1]}"#, "messages[0] must be an object"),
            (r#"{"messages": [{"content": "x"}]}"#, "role is required"),
            (r#"{"messages": [{"role": "user"}], "model": 3}"#, "`model` must be a string"),
            (r#"{"messages": [{"role": "user"}], "stream": "yes"}"#, "`stream`"),
        ] {
            let err = p(body).err().unwrap_or_else(|| panic!("{body} accepted"));
            assert!(err.to_string().contains(needle), "{body}: {err}");
            assert_eq!(err.status(), 400);
        }
    }

    #[test]
    fn body_hints_are_read_and_stripped_headers_win() {
        let r = p(
            r#"{"messages":[{"role":"user","content":"x"}],"session_id":"s1","turn_type":"side","session_done":true}"#,
        )
        .unwrap();
        assert!(r.edited);
        assert!(!r.body.contains_key("session_id") && !r.body.contains_key("turn_type"));
        assert_eq!(r.hints, SessionHints { id: Some("s1".into()), turn_type: Some(TurnType::Side), done: true });

        let mut h = HeaderMap::new();
        h.insert("x-session-id", "hdr".parse().unwrap());
        h.insert("x-turn-type", "main".parse().unwrap());
        let r = parse(br#"{"messages":[{"role":"user"}],"session_id":"body","turn_type":"side"}"#, &h).unwrap();
        assert_eq!(r.hints.id.as_deref(), Some("hdr"));
        assert_eq!(r.hints.turn_type, Some(TurnType::Main));

        let r = p(r#"{"messages":[{"role":"user"}]}"#).unwrap();
        assert!(!r.edited);
        assert_eq!(r.hints, SessionHints::default());
    }
}
