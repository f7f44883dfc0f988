//! `POST /v1/messages` and `/v1/messages/count_tokens` (Anthropic clients): the same turn as a
//! chat completion — session, skills (into `system`), routing with failover, recording — in the
//! Messages API's shapes, translated for OpenAI-compatible upstreams.

use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::error::{Protocol, ProxyError};
use super::guard;
use super::intake::{intake, Intake};
use super::{forward, request, send, ProxyState};
use crate::skills::Placement;
use crate::translate::anthropic_to_openai;
use crate::upstream::forward_request_headers;

pub async fn messages(State(st): State<Arc<ProxyState>>, headers: HeaderMap, body: Body) -> Response {
    let t0 = Instant::now();
    // One span per request; the turn's own fields are logged when it finishes.
    let span = tracing::info_span!("request", protocol = "anthropic");
    match handle(&st, t0, headers, body).instrument(span).await {
        Ok(r) => r,
        Err(e) => e.into_response_for(Protocol::Anthropic),
    }
}

/// Checks what the Messages API requires beyond the shared checks.
fn validate(body: &Map<String, Value>, need_max_tokens: bool) -> Result<(), ProxyError> {
    match body.get("model") {
        Some(Value::String(_)) => {}
        _ => return Err(ProxyError::bad("`model` is required and must be a string", Some("model"))),
    }
    if need_max_tokens && !body.get("max_tokens").is_some_and(Value::is_u64) {
        return Err(ProxyError::bad("`max_tokens` is required and must be a positive integer", Some("max_tokens")));
    }
    if let Some(s) = body.get("system") {
        if !s.is_string() && !s.is_array() {
            return Err(ProxyError::bad("`system` must be a string or a list of text blocks", Some("system")));
        }
    }
    // The Messages API also takes `system` messages among the turns (Claude Code 2.1 sends one).
    for (i, m) in body.get("messages").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if !matches!(m["role"].as_str(), Some("user" | "assistant" | "system")) {
            return Err(ProxyError::bad(
                format!("messages[{i}].role must be \"user\", \"assistant\" or \"system\""),
                Some("messages"),
            ));
        }
    }
    Ok(())
}

/// Puts the skills block into an Anthropic request: a text block after the system prompt's
/// (keeping their `cache_control`), or with late placement at the start of the latest user
/// message, so every cached prefix survives.
fn inject_anthropic(body: &mut Map<String, Value>, block: &str, placement: Placement) {
    if placement == Placement::Late {
        if let Some(last) = body
            .get_mut("messages")
            .and_then(Value::as_array_mut)
            .and_then(|m| m.iter_mut().rev().find(|m| m["role"] == "user"))
        {
            let part = json!({"type": "text", "text": block});
            match last.get_mut("content") {
                Some(Value::Array(parts)) => parts.insert(0, part),
                Some(Value::String(s)) => {
                    let text = std::mem::take(s);
                    last["content"] = json!([part, {"type": "text", "text": text}]);
                }
                _ => last["content"] = json!([part]),
            }
            return;
        }
    }
    match body.get_mut("system") {
        Some(Value::String(s)) => {
            s.push_str("\n\n");
            s.push_str(block);
        }
        Some(Value::Array(blocks)) => blocks.push(json!({"type": "text", "text": block})),
        _ => {
            body.insert("system".into(), Value::String(block.to_string()));
        }
    }
}

async fn handle(st: &Arc<ProxyState>, t0: Instant, headers: HeaderMap, body: Body) -> Result<Response, ProxyError> {
    let Intake { forward: original, req, mut guard, t_parse, stream, model } =
        intake(st, t0, &headers, body, Protocol::Anthropic, |b| validate(b, true), inject_anthropic).await?;

    let routes = st.routes.load_full();
    let candidates = routes.candidates(model.as_deref());
    guard.add_own(t_parse.elapsed());
    let sent = forward::send_turn(st, &candidates, &headers, Protocol::Anthropic, &req.body, original).await;
    // Recorded in the normalised (OpenAI) form, like every other turn.
    let normalised =
        anthropic_to_openai(&req.body).map(Value::Object).unwrap_or_else(|_| Value::Object(req.body.clone()));
    guard.set_request(normalised);
    forward::conclude(guard, sent, &candidates, Protocol::Anthropic, stream, model.as_deref()).await
}

/// `POST /v1/messages/count_tokens`: asked of an Anthropic upstream; for an OpenAI-compatible
/// one (which has no such endpoint) estimated at four characters a token.
pub async fn count_tokens(State(st): State<Arc<ProxyState>>, headers: HeaderMap, body: Body) -> Response {
    const ENDPOINT: &str = "/v1/messages/count_tokens";
    let result = async {
        let raw = request::read_body(&headers, body, st.max_body_mib).await?;
        let req = request::parse(&raw, &headers)?;
        validate(&req.body, false)?;
        let routes = st.routes.load_full();
        let up = routes
            .candidates(req.model())
            .into_iter()
            .next()
            .ok_or_else(|| ProxyError::NotFound("no upstream is configured".into()))?;
        if up.kind == Protocol::OpenAi {
            return Ok(
                Json(json!({"input_tokens": forward::estimate_tokens(&Value::Object(req.body))})).into_response()
            );
        }
        let rb = st
            .client
            .post(up.url("messages/count_tokens"))
            .headers(forward_request_headers(&headers))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(raw);
        let rb = crate::upstream::authorise(rb, &up, &headers, Protocol::Anthropic)?;
        let resp = send(&up, rb).await?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| super::send_error(&up, e))?;
        let mut out = Response::new(Body::from(bytes));
        *out.status_mut() = status;
        out.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        Ok::<_, ProxyError>(out)
    }
    .await;
    match result {
        Ok(r) => {
            guard::relayed_unrecorded(&st.metrics, "relayed_count_tokens", ENDPOINT, &headers);
            r
        }
        Err(e) => {
            guard::refused(&st.metrics, ENDPOINT, &headers, &e);
            e.into_response_for(Protocol::Anthropic)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skills_go_after_the_system_blocks_or_into_the_latest_user_turn() {
        let mut b =
            json!({"system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}], "messages": []})
                .as_object()
                .unwrap()
                .clone();
        inject_anthropic(&mut b, "K", Placement::System);
        assert_eq!(
            b["system"],
            json!([{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "K"}])
        );
        let mut b = json!({"system": "s", "messages": []}).as_object().unwrap().clone();
        inject_anthropic(&mut b, "K", Placement::System);
        assert_eq!(b["system"], "s\n\nK");
        let mut b = json!({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]}).as_object().unwrap().clone();
        inject_anthropic(&mut b, "K", Placement::Late);
        assert_eq!(b["messages"][2]["content"], json!([{"type": "text", "text": "K"}, {"type": "text", "text": "c"}]));
        assert_eq!(b["messages"][0]["content"], "a");
        assert!(b.get("system").is_none());
    }
}
