//! The OpenAI Responses API side of the stand-in: `POST /v1/responses` (JSON and SSE), following
//! the documented wire format: a `response` object whose `output` holds `reasoning`, `message`
//! and `function_call` items, and in a stream the `response.*` events from `response.created` to
//! `response.completed` (with usage), each carrying its `sequence_number`.
//!
//! Scripted by the same directives as the chat side (see the crate docs), read from the latest
//! user message of `input`. Streamed events are each sent in two writes, split mid-event, so a
//! client (or proxy) that assumes one event per read is caught.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::{error, fnv, script, words, CREATED};

const REASONING: &str = "The user wants an answer; I will echo.";
const ARG_PIECES: [&str; 3] = ["{\"city\"", ":\"Par", "is\"}"];

/// Text of an input item's `content`: the string, or its text parts joined with a space.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join(" "),
        _ => String::new(),
    }
}

/// The latest user text of `input` (a string is the user's text).
fn last_user(input: &Value) -> String {
    match input {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            items.iter().rev().find(|i| i["role"] == "user").map(|i| text_of(&i["content"])).unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// Words in the instructions and every input text.
fn input_tokens(req: &Value) -> i64 {
    let input = match &req["input"] {
        Value::String(s) => words(s),
        Value::Array(items) => items.iter().map(|i| words(&text_of(&i["content"]))).sum(),
        _ => 0,
    };
    words(req["instructions"].as_str().unwrap_or_default()) + input
}

/// One output item of the answer.
enum Item {
    Reasoning { id: String },
    Message { id: String, text: String },
    Call { id: String, call_id: String, name: String },
}

impl Item {
    /// The item as it appears in a finished response (and in `response.output_item.done`).
    fn done(&self) -> Value {
        match self {
            Item::Reasoning { id } => json!({"id": id, "type": "reasoning",
                "summary": [{"type": "summary_text", "text": REASONING}]}),
            Item::Message { id, text } => json!({"id": id, "type": "message", "status": "completed",
                "role": "assistant", "content": [{"type": "output_text", "text": text, "annotations": []}]}),
            Item::Call { id, call_id, name } => json!({"id": id, "type": "function_call", "status": "completed",
                "call_id": call_id, "name": name, "arguments": ARG_PIECES.concat()}),
        }
    }

    /// The item as `response.output_item.added` announces it.
    fn added(&self) -> Value {
        match self {
            Item::Reasoning { id } => json!({"id": id, "type": "reasoning", "summary": []}),
            Item::Message { id, .. } => {
                json!({"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []})
            }
            Item::Call { id, call_id, name } => json!({"id": id, "type": "function_call", "status": "in_progress",
                "call_id": call_id, "name": name, "arguments": ""}),
        }
    }

    /// The events between `added` and `done` (without `sequence_number`).
    fn deltas(&self, output_index: usize) -> Vec<Value> {
        match self {
            Item::Reasoning { id } => {
                let part = json!({"type": "summary_text", "text": REASONING});
                vec![
                    json!({"type": "response.reasoning_summary_part.added", "item_id": id, "output_index": output_index,
                        "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
                    json!({"type": "response.reasoning_summary_text.delta", "item_id": id, "output_index": output_index,
                        "summary_index": 0, "delta": REASONING}),
                    json!({"type": "response.reasoning_summary_text.done", "item_id": id, "output_index": output_index,
                        "summary_index": 0, "text": REASONING}),
                    json!({"type": "response.reasoning_summary_part.done", "item_id": id, "output_index": output_index,
                        "summary_index": 0, "part": part}),
                ]
            }
            Item::Message { id, text } => {
                let at =
                    |kind: &str| json!({"type": kind, "item_id": id, "output_index": output_index, "content_index": 0});
                let mut out = vec![at("response.content_part.added")];
                out[0]["part"] = json!({"type": "output_text", "text": "", "annotations": []});
                for w in text.split_inclusive(' ') {
                    let mut d = at("response.output_text.delta");
                    d["delta"] = json!(w);
                    d["logprobs"] = json!([]);
                    out.push(d);
                }
                let mut done = at("response.output_text.done");
                done["text"] = json!(text);
                done["logprobs"] = json!([]);
                out.push(done);
                let mut part = at("response.content_part.done");
                part["part"] = json!({"type": "output_text", "text": text, "annotations": []});
                out.push(part);
                out
            }
            Item::Call { id, .. } => {
                let mut out: Vec<Value> = ARG_PIECES
                    .iter()
                    .map(|p| {
                        json!({"type": "response.function_call_arguments.delta", "item_id": id,
                        "output_index": output_index, "delta": p})
                    })
                    .collect();
                out.push(json!({"type": "response.function_call_arguments.done", "item_id": id,
                    "output_index": output_index, "arguments": ARG_PIECES.concat()}));
                out
            }
        }
    }
}

/// `POST /v1/responses`.
pub(crate) async fn create(body: &Bytes, dropped: Arc<AtomicUsize>) -> Response {
    let Ok(req @ Value::Object(_)) = serde_json::from_slice::<Value>(body) else {
        return error(400, "We could not parse the JSON body of your request.", "invalid_request_error");
    };
    if !matches!(req["input"], Value::String(_) | Value::Array(_)) {
        return error(400, "Missing required parameter: 'input'.", "invalid_request_error");
    }
    let text = last_user(&req["input"]);
    let sc = script(&text);
    if sc.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(sc.delay_ms)).await;
    }
    if let Some(status) = sc.status {
        return error(
            status,
            &format!("stand-in error {status}"),
            if status == 429 { "rate_limit_error" } else { "server_error" },
        );
    }
    if sc.garbage {
        return (StatusCode::OK, "<html>not json</html>").into_response();
    }

    let h = fnv(body);
    let id = format!("resp_{h:016x}");
    let mut items = Vec::new();
    if sc.reasoning {
        items.push(Item::Reasoning { id: format!("rs_{h:016x}") });
    }
    let output_tokens = if sc.tool {
        let name = req["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["type"] == "function")
            .and_then(|t| t["name"].as_str())
            .unwrap_or("get_weather")
            .to_string();
        let call_id = format!("call_{:08x}", fnv(id.as_bytes()) as u32);
        items.push(Item::Call { id: format!("fc_{h:016x}"), call_id, name });
        5
    } else {
        let reply = format!("Echo: {}", text.replace("[[", "(").replace("]]", ")"));
        let n = words(&reply);
        items.push(Item::Message { id: format!("msg_{h:016x}"), text: reply });
        n
    };
    let input_tokens = input_tokens(&req);
    let usage = json!({"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens});
    let response = |status: &str, output: Vec<Value>, usage: Value| {
        json!({
            "id": id, "object": "response", "created_at": CREATED, "status": status,
            "error": null, "incomplete_details": null,
            "instructions": req.get("instructions").cloned().unwrap_or(Value::Null),
            "max_output_tokens": req.get("max_output_tokens").cloned().unwrap_or(Value::Null),
            "model": req["model"].as_str().unwrap_or("standin-small"),
            "output": output, "parallel_tool_calls": true,
            "previous_response_id": req.get("previous_response_id").cloned().unwrap_or(Value::Null),
            "reasoning": {"effort": null, "summary": null},
            "store": req.get("store").and_then(Value::as_bool).unwrap_or(true),
            "temperature": 1.0, "text": {"format": {"type": "text"}},
            "tool_choice": "auto", "tools": req.get("tools").cloned().unwrap_or(json!([])),
            "top_p": 1.0, "truncation": "disabled", "usage": usage, "user": null, "metadata": {}
        })
    };
    let finished = response("completed", items.iter().map(Item::done).collect(), usage);

    if req["stream"] != true {
        return Json(finished).into_response();
    }
    let mut events = vec![
        json!({"type": "response.created", "response": response("in_progress", vec![], Value::Null)}),
        json!({"type": "response.in_progress", "response": response("in_progress", vec![], Value::Null)}),
    ];
    for (i, item) in items.iter().enumerate() {
        events.push(json!({"type": "response.output_item.added", "output_index": i, "item": item.added()}));
        events.extend(item.deltas(i));
        events.push(json!({"type": "response.output_item.done", "output_index": i, "item": item.done()}));
    }
    events.push(json!({"type": "response.completed", "response": finished}));
    let mut writes = Vec::new();
    for (n, mut e) in events.into_iter().enumerate() {
        e["sequence_number"] = json!(n);
        let event = format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap_or_default());
        // Every event in two writes: the split lands inside its JSON.
        let mut mid = event.len() / 2;
        while !event.is_char_boundary(mid) {
            mid += 1;
        }
        writes.push(event[..mid].to_string());
        writes.push(event[mid..].to_string());
    }
    crate::sse_response(writes, sc, dropped)
}
