//! A Chat Completions answer as the Responses API's, for a Responses client on a chat-only
//! upstream: a `chat.completion` as a `response` object, and a `chat.completion.chunk` stream as
//! the `response.*` event sequence (created, output items with their text, reasoning-summary and
//! function-argument deltas, completed with usage), each event numbered.

use serde_json::{json, Map, Value};

use super::StreamConverter;

mod stream;
pub use stream::{ChatToResponsesStream, OnDone};

/// Most text one stream's items keep for their `.done` events and the final response; past
/// this the deltas still flow but the summaries stop growing (memory stays bounded).
pub const MAX_KEPT: usize = 64 << 20;

/// What one output item costs beyond its text, for [`MAX_KEPT`].
const ITEM_FRAME: usize = 256;

/// A fresh id with `prefix` (`resp`, `msg`, `fc`, `rs`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", crate::home::random_hex(16))
}

/// The `response` object's fields other than `output`, `status` and `usage`, echoing the
/// request as it was sent.
pub fn shell(req: &Map<String, Value>, id: &str, created: i64, model: &str) -> Value {
    let or = |k: &str, d: Value| req.get(k).filter(|v| !v.is_null()).cloned().unwrap_or(d);
    json!({
        "id": id, "object": "response", "created_at": created, "status": "in_progress",
        "error": null, "incomplete_details": null,
        "instructions": or("instructions", Value::Null),
        "max_output_tokens": or("max_output_tokens", Value::Null),
        "model": model, "output": [],
        "parallel_tool_calls": or("parallel_tool_calls", json!(true)),
        "previous_response_id": or("previous_response_id", Value::Null),
        "reasoning": or("reasoning", json!({"effort": null, "summary": null})),
        "store": or("store", json!(true)),
        "temperature": or("temperature", json!(1.0)),
        "text": or("text", json!({"format": {"type": "text"}})),
        "tool_choice": or("tool_choice", json!("auto")),
        "tools": or("tools", json!([])),
        "top_p": or("top_p", json!(1.0)),
        "truncation": "disabled", "usage": null, "user": or("user", Value::Null),
        "metadata": or("metadata", json!({})),
    })
}

/// Responses `usage` from a chat one.
fn usage(u: &Value) -> Value {
    if !u.is_object() {
        return Value::Null;
    }
    let n = |p: &str| u.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    let (i, o) = (n("/prompt_tokens"), n("/completion_tokens"));
    json!({"input_tokens": i, "input_tokens_details": {"cached_tokens": n("/prompt_tokens_details/cached_tokens")},
        "output_tokens": o, "output_tokens_details": {"reasoning_tokens": n("/completion_tokens_details/reasoning_tokens")},
        "total_tokens": u["total_tokens"].as_i64().unwrap_or(i + o)})
}

/// Sets the final status from the chat `finish_reason`.
fn finish(response: &mut Value, finish_reason: Option<&str>) {
    let (status, reason) = match finish_reason {
        Some("length") => ("incomplete", Some("max_output_tokens")),
        Some("content_filter") => ("incomplete", Some("content_filter")),
        _ => ("completed", None),
    };
    response["status"] = json!(status);
    if let Some(r) = reason {
        response["incomplete_details"] = json!({"reason": r});
    }
}

fn reasoning_item(id: &str, text: &str) -> Value {
    json!({"id": id, "type": "reasoning", "summary": [{"type": "summary_text", "text": text}]})
}

fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({"id": id, "type": "message", "status": status, "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

fn call_item(id: &str, call_id: &Value, name: &Value, arguments: &str, status: &str) -> Value {
    json!({"id": id, "type": "function_call", "status": status, "call_id": call_id, "name": name, "arguments": arguments})
}

/// A `chat.completion` as a finished `response` object with id `id`; `req` is the Responses
/// request as sent (its settings are echoed).
pub fn chat_to_response(chat: &Value, req: &Map<String, Value>, id: &str) -> Value {
    let model = chat["model"].as_str().or_else(|| req.get("model").and_then(Value::as_str)).unwrap_or_default();
    let created = chat["created"].as_i64().unwrap_or_else(|| crate::clock::now_ms() / 1000);
    let mut r = shell(req, id, created, model);
    let choice = &chat["choices"][0];
    let msg = &choice["message"];
    let mut output = Vec::new();
    let reasoning = msg["reasoning_content"].as_str().or_else(|| msg["reasoning"].as_str()).unwrap_or_default();
    if !reasoning.is_empty() {
        output.push(reasoning_item(&new_id("rs"), reasoning));
    }
    let text = crate::transcript::content_text(msg.get("content"));
    if !text.is_empty() {
        output.push(message_item(&new_id("msg"), &text, "completed"));
    } else if let Some(refusal) = msg["refusal"].as_str().filter(|r| !r.is_empty()) {
        output.push(json!({"id": new_id("msg"), "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "refusal", "refusal": refusal}]}));
    }
    for c in msg["tool_calls"].as_array().into_iter().flatten() {
        let args = c["function"]["arguments"].as_str().unwrap_or_default();
        output.push(call_item(&new_id("fc"), &c["id"], &c["function"]["name"], args, "completed"));
    }
    r["output"] = Value::Array(output);
    r["usage"] = usage(&chat["usage"]);
    finish(&mut r, choice["finish_reason"].as_str());
    r
}

/// Chat messages as Responses input items: a conversation MetaClaw kept, sent to an upstream
/// that has the Responses API (which never saw the response id that stands for it).
pub fn input_items(messages: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for m in messages {
        let role = m["role"].as_str().unwrap_or("user");
        match role {
            "tool" => out.push(json!({"type": "function_call_output", "call_id": m["tool_call_id"],
                "output": crate::transcript::content_text(m.get("content"))})),
            "assistant" => {
                let text = crate::transcript::content_text(m.get("content"));
                if !text.is_empty() {
                    out.push(json!({"role": "assistant", "content": text}));
                }
                for c in m["tool_calls"].as_array().into_iter().flatten() {
                    out.push(json!({"type": "function_call", "call_id": c["id"], "name": c["function"]["name"],
                        "arguments": c["function"]["arguments"]}));
                }
            }
            _ => {
                let content = match &m["content"] {
                    Value::Array(parts) => Value::Array(
                        parts
                            .iter()
                            .map(|p| match p["type"].as_str() {
                                Some("image_url") => json!({"type": "input_image", "image_url": p["image_url"]["url"]}),
                                _ => json!({"type": "input_text", "text": p["text"]}),
                            })
                            .collect(),
                    ),
                    other => other.clone(),
                };
                out.push(json!({"role": role, "content": content}));
            }
        }
    }
    out
}

/// Two converters in a row (an Anthropic stream to chat chunks to Responses events).
pub struct Then {
    pub first: Box<dyn StreamConverter>,
    pub second: Box<dyn StreamConverter>,
}

impl StreamConverter for Then {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mid = self.first.push(chunk);
        self.second.push(&mid)
    }

    fn finish(&mut self) -> Vec<u8> {
        let mid = self.first.finish();
        let mut out = self.second.push(&mid);
        out.extend(self.second.finish());
        out
    }

    fn fail(&mut self, message: &str) -> Vec<u8> {
        self.second.fail(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Transcript;
    use crate::translate::responses::{ChatChunks, StreamEnd};

    fn req() -> Map<String, Value> {
        json!({"model": "m", "instructions": "be brief", "store": false}).as_object().unwrap().clone()
    }

    #[test]
    fn a_kept_conversation_becomes_input_items_and_back() {
        use crate::translate::responses::input_messages;
        let history = vec![
            json!({"role": "user", "content": "weather?"}),
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "f", "arguments": "{}"}}]}),
            json!({"role": "tool", "tool_call_id": "c1", "content": "sunny"}),
            json!({"role": "assistant", "content": "It is sunny."}),
        ];
        let items = input_items(&history);
        assert_eq!(items[1], json!({"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}));
        assert_eq!(items[2], json!({"type": "function_call_output", "call_id": "c1", "output": "sunny"}));
        let body = json!({"input": items}).as_object().unwrap().clone();
        assert_eq!(input_messages(&body), history, "the round trip keeps the conversation");
    }

    #[test]
    fn a_chat_completion_becomes_a_finished_response() {
        let chat = json!({"id": "c1", "created": 7, "model": "m", "choices": [{"index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": "Let me check.", "reasoning_content": "hmm",
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}});
        let r = chat_to_response(&chat, &req(), "resp_x");
        assert_eq!(
            (r["id"].as_str(), r["status"].as_str(), r["created_at"].as_i64()),
            (Some("resp_x"), Some("completed"), Some(7))
        );
        assert_eq!(r["instructions"], "be brief");
        assert_eq!(r["store"], false);
        let types: Vec<&str> = r["output"].as_array().unwrap().iter().map(|i| i["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["reasoning", "message", "function_call"]);
        assert_eq!(r["output"][1]["content"][0]["text"], "Let me check.");
        assert_eq!(r["output"][2]["call_id"], "call_1");
        assert_eq!(r["usage"]["total_tokens"], 7);
        assert_eq!(r["usage"]["input_tokens"], 3);
        let cut = json!({"choices": [{"message": {"content": "abc"}, "finish_reason": "length"}]});
        let r = chat_to_response(&cut, &req(), "r");
        assert_eq!(
            (r["status"].as_str(), r["incomplete_details"]["reason"].as_str()),
            (Some("incomplete"), Some("max_output_tokens"))
        );
    }

    const CHUNKS: &[&str] = &[
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"reasoning_content":"hm"},"finish_reason":null}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\""}}]},"finish_reason":null}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]},"finish_reason":null}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        r#"{"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}}"#,
        "[DONE]",
    ];

    #[test]
    fn a_chat_stream_split_anywhere_becomes_the_response_event_sequence() {
        let input: String = CHUNKS.iter().map(|c| format!("data: {c}\n\n")).collect();
        for split in [1, 5, input.len()] {
            let finals = std::sync::Arc::new(std::sync::Mutex::new(None));
            let f = finals.clone();
            let mut conv = ChatToResponsesStream::new(
                &req(),
                "resp_s",
                Some(Box::new(move |r: &Value| *f.lock().unwrap() = Some(r.clone()))),
            );
            let mut out = Vec::new();
            for piece in input.as_bytes().chunks(split) {
                out.extend(conv.push(piece));
            }
            out.extend(conv.finish());
            let events: Vec<Value> =
                crate::transcript::sse_data(&out).iter().map(|d| serde_json::from_str(d).unwrap()).collect();
            let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
            assert_eq!(
                kinds,
                [
                    "response.created",
                    "response.in_progress",
                    "response.output_item.added",
                    "response.reasoning_summary_part.added",
                    "response.reasoning_summary_text.delta",
                    "response.reasoning_summary_text.done",
                    "response.reasoning_summary_part.done",
                    "response.output_item.done",
                    "response.output_item.added",
                    "response.content_part.added",
                    "response.output_text.delta",
                    "response.output_text.delta",
                    "response.output_text.done",
                    "response.content_part.done",
                    "response.output_item.done",
                    "response.output_item.added",
                    "response.function_call_arguments.delta",
                    "response.function_call_arguments.delta",
                    "response.function_call_arguments.done",
                    "response.output_item.done",
                    "response.completed"
                ],
                "split {split}"
            );
            assert!(events.iter().enumerate().all(|(i, e)| e["sequence_number"] == i as u64));
            assert!(events
                .iter()
                .filter(|e| e.get("output_index").is_some())
                .all(|e| e["output_index"].as_u64().unwrap() < 3));
            let last = &events.last().unwrap()["response"];
            assert_eq!(last["usage"]["total_tokens"], 5);
            assert_eq!(last["output"][2]["arguments"], "{\"a\":1}");
            assert_eq!(finals.lock().unwrap().as_ref(), Some(last), "the final response is handed over");

            // Read back as MetaClaw records Responses streams, the same answer.
            let mut rec = ChatChunks::new();
            let t = Transcript::from_sse(&[rec.push(&out)]);
            assert_eq!(rec.end(), &StreamEnd::Complete);
            assert_eq!((t.text.as_str(), t.reasoning.as_str()), ("Hello", "hm"));
            assert_eq!(t.tool_calls[0].arguments, "{\"a\":1}");
        }
    }

    #[test]
    fn endless_alternating_items_keep_memory_bounded() {
        let mut conv = ChatToResponsesStream::new(&req(), "r", None);
        conv.budget = 64 << 10;
        let text = format!("data: {}\n\n", CHUNKS[2]);
        let thought = format!("data: {}\n\n", CHUNKS[1]);
        for _ in 0..(conv.budget / ITEM_FRAME) + 100 {
            conv.push(text.as_bytes());
            conv.push(thought.as_bytes());
        }
        assert!(conv.items.len() * ITEM_FRAME <= conv.budget && conv.kept <= conv.budget);
        assert!(conv.closed > conv.items.len(), "numbering goes on past what is kept");
    }

    #[test]
    fn a_chat_stream_that_stops_short_ends_with_an_error_event() {
        let mut conv = ChatToResponsesStream::new(&req(), "r", None);
        let mut out = conv.push(format!("data: {}\n\n", CHUNKS[2]).as_bytes());
        out.extend(conv.finish());
        let events: Vec<Value> =
            crate::transcript::sse_data(&out).iter().map(|d| serde_json::from_str(d).unwrap()).collect();
        assert_eq!(events.last().unwrap()["type"], "error");
        let mut conv = ChatToResponsesStream::new(&req(), "r", None);
        let out = conv.fail("broke off");
        assert!(String::from_utf8(out).unwrap().contains("\"message\":\"broke off\""));
        assert!(conv.finish().is_empty(), "nothing after the error");
    }
}
