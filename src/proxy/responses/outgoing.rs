//! Asking upstreams for a Responses turn: natively at `/responses`, or — for an upstream without
//! the Responses API, or an Anthropic one — as the chat request it translates to, with failover.

use std::sync::Arc;

use axum::http::HeaderMap;
use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::super::error::{Protocol, ProxyError};
use super::super::ProxyState;
use crate::translate::chat_to_responses::input_items;
use crate::translate::openai_to_anthropic;
use crate::translate::responses_to_chat::{left_out_tools, responses_to_chat};
use crate::upstream::{self, Sent, Upstream};
/// How a turn went to the upstream that answered.
pub(super) enum Route {
    /// As a Responses request to its `/responses`.
    Native,
    /// Translated, as this chat request to its `/chat/completions` (it has no Responses API).
    Chat(Map<String, Value>),
    /// Translated, as this chat request would be, to an Anthropic upstream's `/messages`.
    Anthropic(Map<String, Value>),
}

impl Route {
    /// The request in chat form, when it was translated.
    pub(super) fn chat(&self) -> Option<&Map<String, Value>> {
        match self {
            Route::Native => None,
            Route::Chat(c) | Route::Anthropic(c) => Some(c),
        }
    }
}

/// Everything a turn's forwarding needs to build each attempt's request.
pub(super) struct Outgoing<'a> {
    pub st: &'a ProxyState,
    pub headers: &'a HeaderMap,
    pub fwd: HeaderMap,
    pub body: &'a Map<String, Value>,
    /// The body as received, when MetaClaw changed nothing.
    pub original: Option<Bytes>,
}

impl Outgoing<'_> {
    /// The chat request for an upstream without the Responses API. A `previous_response_id`
    /// MetaClaw kept was expanded already ([`expand_kept`]); any other can't be carried.
    fn chat(&self) -> Result<Map<String, Value>, ProxyError> {
        if let Some(prev) = self.body.get("previous_response_id").and_then(Value::as_str) {
            return Err(ProxyError::bad(
                format!(
                    "previous_response_id {prev:?} is not a response MetaClaw keeps: the upstream here has no \
                     Responses API, so MetaClaw keeps its answers itself (in memory, not with `store: false`, \
                     not across a restart); send the conversation as `input` instead"
                ),
                Some("previous_response_id"),
            ));
        }
        let left_out = left_out_tools(self.body);
        if !left_out.is_empty() {
            tracing::info!(tools = ?left_out, "built-in tools left out: the upstream here is offered function tools only");
        }
        responses_to_chat(self.body, &[]).map_err(|e| ProxyError::bad(e.to_string(), None))
    }

    /// Tries the candidates with failover; says how the answering upstream was asked.
    pub(super) async fn send(&self, candidates: &[Arc<Upstream>]) -> Result<(Sent, Route), (ProxyError, u32)> {
        let mut chat: Option<Map<String, Value>> = None;
        let mut route = Route::Native;
        let sent = upstream::send_with_failover(&self.st.routing, candidates, |up| {
            let translated = up.kind == Protocol::Anthropic || self.st.responses.is_chat_only(&up.name);
            let (path, bytes) = if translated {
                let mut c = match &chat {
                    Some(c) => c.clone(),
                    None => chat.insert(self.chat()?).clone(),
                };
                if let Some(m) = &up.model {
                    c.insert("model".into(), Value::String(m.clone()));
                }
                if up.kind == Protocol::Anthropic {
                    let a = openai_to_anthropic(&c)
                        .map_err(|e| ProxyError::bad(format!("{e} (upstream {})", up.name), None))?;
                    route = Route::Anthropic(c);
                    ("messages", Bytes::from(serde_json::to_vec(&a).expect("JSON values serialise")))
                } else {
                    let bytes = Bytes::from(serde_json::to_vec(&c).expect("JSON values serialise"));
                    route = Route::Chat(c);
                    ("chat/completions", bytes)
                }
            } else {
                route = Route::Native;
                let bytes = match (&self.original, &up.model) {
                    (Some(raw), None) => raw.clone(),
                    _ => {
                        let mut b = self.body.clone();
                        if let Some(m) = &up.model {
                            b.insert("model".into(), Value::String(m.clone()));
                        }
                        Bytes::from(serde_json::to_vec(&b).expect("JSON values serialise"))
                    }
                };
                ("responses", bytes)
            };
            let rb = self
                .st
                .client
                .post(up.url(path))
                .headers(self.fwd.clone())
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(bytes);
            Ok(upstream::authorise(rb, up, self.headers, Protocol::OpenAi)?)
        })
        .await?;
        Ok((sent, route))
    }
}

/// The request with a `previous_response_id` MetaClaw made itself replaced by the conversation
/// it kept for it (as input items before the request's own); `None` for any other request.
pub(super) fn expand_kept(st: &ProxyState, body: &Map<String, Value>) -> Option<Map<String, Value>> {
    let kept = st.responses.kept(body.get("previous_response_id")?.as_str()?)?;
    let mut b = body.clone();
    b.remove("previous_response_id");
    let mut input = input_items(&kept.history);
    match b.remove("input") {
        Some(Value::String(s)) => input.push(json!({"role": "user", "content": s})),
        Some(Value::Array(items)) => input.extend(items),
        _ => {}
    }
    b.insert("input".into(), Value::Array(input));
    Some(b)
}

/// True if an upstream's answer to `POST /responses` says it has no such endpoint (a 404 or
/// 405 that is not about the model or a previous response, in whatever shape the server has).
pub(super) fn no_responses_api(status: http::StatusCode, body: &[u8]) -> bool {
    match status.as_u16() {
        405 => true,
        404 => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let e = &v["error"];
            e["param"].is_null() && e["code"] != "model_not_found"
        }
        _ => false,
    }
}
