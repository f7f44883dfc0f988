//! The Anthropic side of the stand-in: `POST /v1/messages` (JSON and SSE) and
//! `POST /v1/messages/count_tokens`, following the documented Messages API wire format.
//!
//! Scripted by the same directives as the OpenAI side (see the crate docs), plus `[[thinking]]`,
//! which puts a `thinking` block before the answer.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::{fnv, script, words};

const THINKING: &str = "The user wants an answer; I will echo.";
const SIGNATURE: &str = "sig-standin";

/// The Anthropic error type for an HTTP status.
fn error_type(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

/// An Anthropic error body: `{"type":"error","error":{"type":..,"message":..}}`.
fn error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = (code, Json(json!({"type": "error", "error": {"type": error_type(status), "message": message}})))
        .into_response();
    if status == 429 {
        r.headers_mut().insert("retry-after", "7".parse().unwrap());
    }
    r
}

/// Auth (`x-api-key` or `Authorization: Bearer`), `anthropic-version`, then the JSON body with a
/// `model` string and a non-empty `messages` array (and an integer `max_tokens` if asked); an
/// error is (status, message).
fn check(
    headers: &HeaderMap,
    body: &Bytes,
    require_key: Option<&str>,
    need_max_tokens: bool,
) -> Result<Value, (u16, &'static str)> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(key) = require_key {
        let by_x = header("x-api-key") == Some(key);
        let by_bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer ")) == Some(key);
        if !by_x && !by_bearer {
            return Err((401, "invalid x-api-key"));
        }
    }
    if header("anthropic-version").is_none() {
        return Err((400, "anthropic-version header is required"));
    }
    let req = match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return Err((400, "There was an error parsing the body of your request: expected a JSON object.")),
    };
    if !req["model"].is_string() {
        return Err((400, "model: Field required (a string)"));
    }
    if need_max_tokens && !(req["max_tokens"].is_i64() || req["max_tokens"].is_u64()) {
        return Err((400, "max_tokens: Field required (an integer)"));
    }
    match req["messages"].as_array() {
        None => return Err((400, "messages: Field required (an array)")),
        Some(m) if m.is_empty() => return Err((400, "messages: at least one message is required")),
        Some(_) => {}
    }
    Ok(req)
}

/// Text of a `content` (or `system`) value: the string, or its `text` blocks joined with a space.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// Words in the system prompt and all message texts.
fn input_tokens(req: &Value) -> i64 {
    let messages = req["messages"].as_array().map(Vec::as_slice).unwrap_or_default();
    words(&text_of(&req["system"])) + messages.iter().map(|m| words(&text_of(&m["content"]))).sum::<i64>()
}

/// `POST /v1/messages/count_tokens`.
pub(crate) fn count_tokens(headers: &HeaderMap, body: &Bytes, require_key: Option<&str>) -> Response {
    match check(headers, body, require_key, false) {
        Ok(req) => Json(json!({"input_tokens": input_tokens(&req)})).into_response(),
        Err((status, message)) => error(status, message),
    }
}

/// One content block of the answer.
enum Block {
    Thinking,
    Text(String),
    ToolUse { id: String, name: String },
}

impl Block {
    /// The block as it appears in a non-streamed message.
    fn full(&self) -> Value {
        match self {
            Block::Thinking => json!({"type": "thinking", "thinking": THINKING, "signature": SIGNATURE}),
            Block::Text(t) => json!({"type": "text", "text": t}),
            Block::ToolUse { id, name } => {
                json!({"type": "tool_use", "id": id, "name": name, "input": {"city": "Paris"}})
            }
        }
    }

    /// The block as `content_block_start` announces it.
    fn start(&self) -> Value {
        match self {
            Block::Thinking => json!({"type": "thinking", "thinking": ""}),
            Block::Text(_) => json!({"type": "text", "text": ""}),
            Block::ToolUse { id, name } => json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
        }
    }

    /// The `delta` objects of its `content_block_delta` events.
    fn deltas(&self) -> Vec<Value> {
        match self {
            Block::Thinking => vec![
                json!({"type": "thinking_delta", "thinking": THINKING}),
                json!({"type": "signature_delta", "signature": SIGNATURE}),
            ],
            Block::Text(t) => t.split_inclusive(' ').map(|w| json!({"type": "text_delta", "text": w})).collect(),
            Block::ToolUse { .. } => ["{\"city\"", ":\"Par", "is\"}"]
                .iter()
                .map(|p| json!({"type": "input_json_delta", "partial_json": p}))
                .collect(),
        }
    }
}

/// `POST /v1/messages`.
pub(crate) async fn messages(
    headers: &HeaderMap,
    body: &Bytes,
    require_key: Option<&str>,
    dropped: Arc<AtomicUsize>,
) -> Response {
    let req = match check(headers, body, require_key, true) {
        Ok(req) => req,
        Err((status, message)) => return error(status, message),
    };
    let messages = req["messages"].as_array().map(Vec::as_slice).unwrap_or_default();
    let last_user =
        messages.iter().rev().find(|m| m["role"] == "user").map(|m| text_of(&m["content"])).unwrap_or_default();
    let sc = script(&last_user);
    if sc.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(sc.delay_ms)).await;
    }
    if let Some(status) = sc.status {
        return error(status, &format!("stand-in error {status}"));
    }
    if sc.garbage {
        return (StatusCode::OK, "<html>not json</html>").into_response();
    }

    let model = req["model"].as_str().unwrap_or_default().to_string();
    let id = format!("msg_{:016x}", fnv(body));
    let mut blocks = Vec::new();
    if last_user.contains("[[thinking]]") {
        blocks.push(Block::Thinking);
    }
    let (stop_reason, output_tokens) = if sc.tool {
        let name = req["tools"][0]["name"].as_str().unwrap_or("get_weather").to_string();
        blocks.push(Block::ToolUse { id: format!("toolu_{:016x}", fnv(id.as_bytes())), name });
        ("tool_use", 5)
    } else {
        let reply = format!("Echo: {}", last_user.replace("[[", "(").replace("]]", ")"));
        let n = words(&reply);
        blocks.push(Block::Text(reply));
        ("end_turn", n)
    };
    let input_tokens = input_tokens(&req);

    if req["stream"] == true {
        let events = stream_events(&id, &model, &blocks, stop_reason, input_tokens, output_tokens);
        return crate::sse_response(events, sc, dropped);
    }
    Json(json!({
        "id": id, "type": "message", "role": "assistant", "model": model,
        "content": blocks.iter().map(Block::full).collect::<Vec<_>>(),
        "stop_reason": stop_reason, "stop_sequence": null,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}
    }))
    .into_response()
}

/// The SSE events of a streamed answer, in the documented order.
fn stream_events(
    id: &str,
    model: &str,
    blocks: &[Block],
    stop_reason: &str,
    input_tokens: i64,
    output_tokens: i64,
) -> Vec<String> {
    let event = |data: Value| format!("event: {}\ndata: {data}\n\n", data["type"].as_str().unwrap_or_default());
    let mut events = vec![
        event(json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1}}})),
        event(json!({"type": "ping"})),
    ];
    for (index, block) in blocks.iter().enumerate() {
        events.push(event(json!({"type": "content_block_start", "index": index, "content_block": block.start()})));
        for delta in block.deltas() {
            events.push(event(json!({"type": "content_block_delta", "index": index, "delta": delta})));
        }
        events.push(event(json!({"type": "content_block_stop", "index": index})));
    }
    events.push(event(json!({"type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": null},
        "usage": {"output_tokens": output_tokens}})));
    events.push(event(json!({"type": "message_stop"})));
    events
}
