//! The OpenAI Responses API in Chat Completions terms: a Responses request (`instructions` and
//! `input` items) as chat `messages`, a finished `response` object as a `chat.completion`, and a
//! `response.*` event stream as `chat.completion.chunk`s. MetaClaw records, judges and learns from
//! every turn in the Chat Completions form, so a Responses turn is recorded through these.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::sse::SseSplitter;
use crate::transcript::MAX_TOOL_CALLS;

/// Text of a Responses `content` value: the string, or its text parts (`input_text`,
/// `output_text`, `text`, `refusal`…) joined with `\n`.
pub fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").or_else(|| p.get("refusal")).and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// A Responses content value in chat form: a string stays one, text parts become one string,
/// anything else (images) becomes chat content parts.
fn chat_content(content: &Value) -> Value {
    let Value::Array(parts) = content else {
        return Value::String(content_text(content));
    };
    let text_only = parts.iter().all(|p| p.get("text").is_some_and(Value::is_string));
    if text_only {
        return Value::String(content_text(content));
    }
    Value::Array(
        parts
            .iter()
            .map(|p| match p["type"].as_str() {
                Some("input_image") => {
                    let url = p.get("image_url").or_else(|| p.get("file_id")).cloned().unwrap_or(Value::Null);
                    json!({"type": "image_url", "image_url": {"url": url}})
                }
                _ => match p.get("text").and_then(Value::as_str) {
                    Some(t) => json!({"type": "text", "text": t}),
                    None => p.clone(),
                },
            })
            .collect(),
    )
}

/// The chat messages a Responses request amounts to: `instructions` as the system message, then
/// each `input` item — messages as they are, `function_call`s as assistant tool calls and
/// `function_call_output`s as tool messages. Items with no chat equivalent (reasoning, item
/// references, built-in tool calls) are left out.
pub fn input_messages(body: &Map<String, Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    if let Some(i) = body.get("instructions").and_then(Value::as_str) {
        out.push(json!({"role": "system", "content": i}));
    }
    let items = match body.get("input") {
        Some(Value::String(s)) => return with(out, json!({"role": "user", "content": s})),
        Some(Value::Array(items)) => items,
        _ => return out,
    };
    for item in items {
        match item.get("type").and_then(Value::as_str) {
            None | Some("message") => {
                let Some(role) = item.get("role").and_then(Value::as_str) else { continue };
                out.push(json!({"role": role, "content": chat_content(item.get("content").unwrap_or(&Value::Null))}));
            }
            Some("function_call") => {
                let call = json!({"id": item["call_id"], "type": "function",
                    "function": {"name": item["name"], "arguments": item["arguments"]}});
                match out.last_mut() {
                    Some(last) if last["role"] == "assistant" => match last.get_mut("tool_calls") {
                        Some(Value::Array(calls)) => calls.push(call),
                        _ => last["tool_calls"] = json!([call]),
                    },
                    _ => out.push(json!({"role": "assistant", "content": null, "tool_calls": [call]})),
                }
            }
            Some("function_call_output") => {
                let output = match &item["output"] {
                    Value::String(s) => s.clone(),
                    other => content_text(other),
                };
                out.push(json!({"role": "tool", "tool_call_id": item["call_id"], "content": output}));
            }
            _ => {}
        }
    }
    out
}

fn with(mut v: Vec<Value>, m: Value) -> Vec<Value> {
    v.push(m);
    v
}

/// A Responses tool in chat form: a function tool gets its `function` wrapper; built-in tools
/// are kept as they are.
fn chat_tool(t: &Value) -> Value {
    if t["type"] != "function" {
        return t.clone();
    }
    let mut f = Map::new();
    for k in ["name", "description", "parameters", "strict"] {
        if let Some(v) = t.get(k) {
            f.insert(k.into(), v.clone());
        }
    }
    json!({"type": "function", "function": f})
}

/// A Responses request as the chat request MetaClaw records: `messages` from
/// [`input_messages`], function tools in chat form, every other field as it came.
pub fn chat_request(body: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in body {
        match k.as_str() {
            "input" | "instructions" => {}
            "tools" => {
                out.insert(k.clone(), Value::Array(v.as_array().into_iter().flatten().map(chat_tool).collect()));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert("messages".into(), Value::Array(input_messages(body)));
    out
}

/// Chat `usage` from a Responses one.
fn chat_usage(u: &Value) -> Value {
    if !u.is_object() {
        return Value::Null;
    }
    let n = |k: &str| u.get(k).and_then(Value::as_i64);
    let (i, o) = (n("input_tokens"), n("output_tokens"));
    let total = n("total_tokens").or_else(|| Some(i? + o?));
    json!({"prompt_tokens": i, "completion_tokens": o, "total_tokens": total})
}

/// The chat `finish_reason` of a response: tool calls, cut short, filtered, or a stop.
fn finish_reason(response: &Value, calls: bool) -> &'static str {
    if calls {
        return "tool_calls";
    }
    match (response["status"].as_str(), response.pointer("/incomplete_details/reason").and_then(Value::as_str)) {
        (Some("incomplete"), Some("content_filter")) => "content_filter",
        (Some("incomplete"), _) => "length",
        _ => "stop",
    }
}

/// Reasoning text of a `reasoning` item: its summaries, or its reasoning text parts.
fn reasoning_text(item: &Value) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for k in ["summary", "content"] {
        parts.extend(item.get(k).and_then(Value::as_array).into_iter().flatten().filter_map(|p| p["text"].as_str()));
    }
    parts.join("\n")
}

/// A finished Responses `response` object as a `chat.completion` (text, reasoning, function
/// calls, finish reason and usage).
pub fn chat_completion(response: &Value) -> Value {
    let mut text: Vec<String> = Vec::new();
    let mut reasoning: Vec<String> = Vec::new();
    let mut calls: Vec<Value> = Vec::new();
    for item in response["output"].as_array().into_iter().flatten() {
        match item["type"].as_str() {
            Some("message") => text.push(content_text(&item["content"])),
            Some("reasoning") => reasoning.push(reasoning_text(item)),
            Some("function_call") => calls.push(json!({"id": item["call_id"], "type": "function",
                "function": {"name": item["name"], "arguments": item["arguments"]}})),
            _ => {}
        }
    }
    let mut message =
        json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { json!(text.concat()) }});
    if !reasoning.is_empty() {
        message["reasoning_content"] = json!(reasoning.join("\n"));
    }
    let finish = finish_reason(response, !calls.is_empty());
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    json!({
        "id": response["id"], "object": "chat.completion", "created": response["created_at"], "model": response["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": chat_usage(&response["usage"]),
    })
}

/// How a Responses event stream ended, as far as it has gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// No terminal event yet.
    Open,
    /// `response.completed` or `response.incomplete`: the answer is whole.
    Complete,
    /// `response.failed` or an `error` event, with its message.
    Failed(String),
}

/// A Responses event stream, read as it arrives, rewritten as the `chat.completion.chunk`s of
/// the same answer (for the record), noting the response's id and how the stream ended.
pub struct ChatChunks {
    sse: SseSplitter,
    id: Option<String>,
    /// Function-call items (by item id and by output index) to their tool-call index.
    calls: HashMap<String, usize>,
    /// Items whose text or arguments came as deltas (a `.done` must not repeat them).
    streamed: HashSet<String>,
    end: StreamEnd,
    /// One past the highest `sequence_number` seen.
    next_seq: u64,
}

impl Default for ChatChunks {
    fn default() -> Self {
        Self::new()
    }
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    format!(
        "data: {}\n\n",
        json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    )
}

impl ChatChunks {
    pub fn new() -> Self {
        Self {
            sse: SseSplitter::default(),
            id: None,
            calls: HashMap::new(),
            streamed: HashSet::new(),
            end: StreamEnd::Open,
            next_seq: 0,
        }
    }

    /// The response's id, once `response.created` (or any event carrying the response) told it.
    pub fn response_id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    pub fn end(&self) -> &StreamEnd {
        &self.end
    }

    /// The `sequence_number` an event appended to this stream takes.
    pub fn next_sequence(&self) -> u64 {
        self.next_seq
    }

    /// The tool-call index of a function-call item, by its id or output index; new ones get
    /// the next index (bounded: past [`MAX_TOOL_CALLS`] they share one the transcript ignores).
    fn call_index(&mut self, item: &Value, output_index: &Value) -> Option<usize> {
        let keys = [item.as_str().map(str::to_string), output_index.as_u64().map(|i| format!("#{i}"))];
        keys.iter().flatten().find_map(|k| self.calls.get(k).copied())
    }

    fn new_call(&mut self, item_id: &Value, output_index: &Value) -> usize {
        let n = self.calls.values().copied().max().map_or(0, |m| m + 1).min(MAX_TOOL_CALLS);
        if self.calls.len() < 2 * MAX_TOOL_CALLS {
            for k in [item_id.as_str().map(str::to_string), output_index.as_u64().map(|i| format!("#{i}"))]
                .into_iter()
                .flatten()
            {
                self.calls.insert(k, n);
            }
        }
        n
    }

    fn mark_streamed(&mut self, item_id: &Value) {
        if let Some(id) = item_id.as_str() {
            if self.streamed.len() < 4 * MAX_TOOL_CALLS {
                self.streamed.insert(id.to_string());
            }
        }
    }

    fn was_streamed(&self, item_id: &Value) -> bool {
        item_id.as_str().is_some_and(|id| self.streamed.contains(id))
    }

    /// Takes upstream bytes (split anywhere); returns the chat chunks they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = String::new();
        for ev in self.sse.push(bytes) {
            let Ok(v) = serde_json::from_str::<Value>(&ev.data) else { continue };
            let kind = v["type"].as_str().or(ev.event.as_deref()).unwrap_or_default().to_string();
            self.event(&kind, &v, &mut out);
        }
        out.into_bytes()
    }

    fn event(&mut self, kind: &str, v: &Value, out: &mut String) {
        if let Some(n) = v["sequence_number"].as_u64() {
            self.next_seq = self.next_seq.max(n.saturating_add(1));
        }
        if self.id.is_none() {
            if let Some(id) = v.pointer("/response/id").and_then(Value::as_str) {
                self.id = Some(id.to_string());
            }
        }
        match kind {
            "response.output_text.delta" | "response.refusal.delta" => {
                self.mark_streamed(&v["item_id"]);
                if let Some(d) = v["delta"].as_str() {
                    out.push_str(&chunk(json!({"content": d}), None));
                }
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                self.mark_streamed(&v["item_id"]);
                if let Some(d) = v["delta"].as_str() {
                    out.push_str(&chunk(json!({"reasoning_content": d}), None));
                }
            }
            "response.output_item.added" if v["item"]["type"] == "function_call" => {
                let item = &v["item"];
                let index = self.new_call(&item["id"], &v["output_index"]);
                out.push_str(&chunk(
                    json!({"tool_calls": [{"index": index, "id": item["call_id"], "type": "function",
                        "function": {"name": item["name"], "arguments": item["arguments"].as_str().unwrap_or("")}}]}),
                    None,
                ));
            }
            "response.function_call_arguments.delta" => {
                self.mark_streamed(&v["item_id"]);
                if let (Some(index), Some(d)) =
                    (self.call_index(&v["item_id"], &v["output_index"]), v["delta"].as_str())
                {
                    out.push_str(&chunk(json!({"tool_calls": [{"index": index, "function": {"arguments": d}}]}), None));
                }
            }
            "response.output_item.done" => self.item_done(&v["item"], &v["output_index"], out),
            "response.completed" | "response.incomplete" => {
                let r = &v["response"];
                let calls = !self.calls.is_empty()
                    || r["output"].as_array().into_iter().flatten().any(|i| i["type"] == "function_call");
                out.push_str(&chunk(json!({}), Some(finish_reason(r, calls))));
                let usage = chat_usage(&r["usage"]);
                if !usage.is_null() {
                    out.push_str(&format!(
                        "data: {}\n\n",
                        json!({"object": "chat.completion.chunk", "choices": [], "usage": usage})
                    ));
                }
                self.end = StreamEnd::Complete;
            }
            "response.failed" => {
                let msg = v.pointer("/response/error/message").and_then(Value::as_str).unwrap_or("the response failed");
                self.end = StreamEnd::Failed(msg.to_string());
            }
            "error" => {
                let msg = v["message"].as_str().or_else(|| v.pointer("/error/message").and_then(Value::as_str));
                self.end = StreamEnd::Failed(msg.unwrap_or("the upstream sent an error event").to_string());
            }
            _ => {}
        }
    }

    /// A finished item whose content did not come as deltas is recorded whole.
    fn item_done(&mut self, item: &Value, output_index: &Value, out: &mut String) {
        if self.was_streamed(&item["id"]) {
            return;
        }
        match item["type"].as_str() {
            Some("message") => {
                let text = content_text(&item["content"]);
                if !text.is_empty() {
                    out.push_str(&chunk(json!({"content": text}), None));
                }
            }
            Some("reasoning") => {
                let text = reasoning_text(item);
                if !text.is_empty() {
                    out.push_str(&chunk(json!({"reasoning_content": text}), None));
                }
            }
            Some("function_call") => {
                let index = match self.call_index(&item["id"], output_index) {
                    Some(i) => i,
                    None => {
                        let i = self.new_call(&item["id"], output_index);
                        out.push_str(&chunk(
                            json!({"tool_calls": [{"index": i, "id": item["call_id"], "type": "function",
                                "function": {"name": item["name"], "arguments": ""}}]}),
                            None,
                        ));
                        i
                    }
                };
                if let Some(a) = item["arguments"].as_str().filter(|a| !a.is_empty()) {
                    out.push_str(&chunk(json!({"tool_calls": [{"index": index, "function": {"arguments": a}}]}), None));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Transcript;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn input_items_become_chat_messages() {
        let body = obj(json!({"model": "m", "instructions": "be terse", "store": false,
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}, {"type": "web_search"}],
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "checking"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "f", "arguments": "{\"a\":1}"},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
            {"role": "user", "content": [{"type": "input_text", "text": "and"}, {"type": "input_image", "image_url": "data:x"}]}
        ]}));
        let chat = chat_request(&body);
        assert_eq!(
            chat["messages"],
            json!([
                {"role": "system", "content": "be terse"},
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": "checking", "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "c2", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
                {"role": "user", "content": [{"type": "text", "text": "and"}, {"type": "image_url", "image_url": {"url": "data:x"}}]}
            ])
        );
        assert_eq!(
            chat["tools"][0],
            json!({"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}})
        );
        assert_eq!(chat["tools"][1], json!({"type": "web_search"}));
        assert_eq!(chat["store"], false);
        assert!(!chat.contains_key("input") && !chat.contains_key("instructions"));
        assert_eq!(input_messages(&obj(json!({"input": "hi"}))), vec![json!({"role": "user", "content": "hi"})]);
    }

    const STREAM: &str = concat!(
        "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\",\"output\":[]}}\n\n",
        "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":[]}}\n\n",
        "event: response.reasoning_summary_text.delta\ndata: {\"type\":\"response.reasoning_summary_text.delta\",\"item_id\":\"rs_1\",\"output_index\":0,\"delta\":\"hmm\"}\n\n",
        "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"hmm\"}]}}\n\n",
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":1,\"delta\":\"Hel\"}\n\n",
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":1,\"delta\":\"lo\"}\n\n",
        "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":1,\"item\":{\"id\":\"msg_1\",\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"Hello\"}]}}\n\n",
        "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"output_index\":2,\"item\":{\"id\":\"fc_1\",\"type\":\"function_call\",\"call_id\":\"call_1\",\"name\":\"f\",\"arguments\":\"\"}}\n\n",
        "event: response.function_call_arguments.delta\ndata: {\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc_1\",\"output_index\":2,\"delta\":\"{\\\"a\\\"\"}\n\n",
        "event: response.function_call_arguments.delta\ndata: {\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc_1\",\"output_index\":2,\"delta\":\":1}\"}\n\n",
        "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":3,\"item\":{\"id\":\"fc_2\",\"type\":\"function_call\",\"call_id\":\"call_2\",\"name\":\"g\",\"arguments\":\"{}\"}}\n\n",
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"usage\":{\"input_tokens\":3,\"output_tokens\":4,\"total_tokens\":7}}}\n\n",
    );

    #[test]
    fn a_response_stream_split_anywhere_records_as_the_same_chat_answer() {
        for split in [1, 7, STREAM.len()] {
            let mut c = ChatChunks::new();
            let mut chunks = Vec::new();
            for piece in STREAM.as_bytes().chunks(split) {
                assert_eq!(c.end(), &StreamEnd::Open);
                chunks.push(c.push(piece));
            }
            assert_eq!(c.end(), &StreamEnd::Complete);
            assert_eq!(c.response_id(), Some("resp_1"));
            let t = Transcript::from_sse(&chunks);
            assert_eq!(t.text, "Hello", "split {split}");
            assert_eq!(t.reasoning, "hmm");
            assert_eq!(t.tool_calls.len(), 2);
            assert_eq!((t.tool_calls[0].id.as_str(), t.tool_calls[0].arguments.as_str()), ("call_1", "{\"a\":1}"));
            assert_eq!((t.tool_calls[1].name.as_str(), t.tool_calls[1].arguments.as_str()), ("g", "{}"));
            assert_eq!(t.finish_reason.as_deref(), Some("tool_calls"));
            assert_eq!(t.usage.total_tokens, Some(7));
        }
    }

    #[test]
    fn failed_and_error_events_end_the_stream_as_failed() {
        let mut c = ChatChunks::new();
        c.push(
            b"data: {\"type\":\"response.failed\",\"response\":{\"id\":\"r\",\"error\":{\"message\":\"boom\"}}}\n\n",
        );
        assert_eq!(c.end(), &StreamEnd::Failed("boom".into()));
        let mut c = ChatChunks::new();
        c.push(b"event: error\ndata: {\"type\":\"error\",\"code\":\"x\",\"message\":\"bad\"}\n\n");
        assert_eq!(c.end(), &StreamEnd::Failed("bad".into()));
        // Garbage is skipped, and many function calls don't grow the index maps without bound.
        let mut c = ChatChunks::new();
        c.push(b"data: not json\n\n");
        for i in 0..10 * MAX_TOOL_CALLS {
            c.push(format!("data: {{\"type\":\"response.output_item.added\",\"output_index\":{i},\"item\":{{\"id\":\"fc_{i}\",\"type\":\"function_call\"}}}}\n\n").as_bytes());
        }
        assert!(c.calls.len() <= 2 * MAX_TOOL_CALLS);
    }

    #[test]
    fn a_finished_response_becomes_a_chat_completion() {
        let r = json!({"id": "resp_1", "created_at": 5, "model": "m", "status": "completed",
            "output": [{"type": "message", "content": [{"type": "output_text", "text": "Hi"}]},
                       {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}],
            "usage": {"input_tokens": 2, "output_tokens": 3, "total_tokens": 5}});
        let t = Transcript::from_json(chat_completion(&r).to_string().as_bytes()).unwrap();
        assert_eq!(t.text, "Hi");
        assert_eq!(t.tool_calls[0].name, "f");
        assert_eq!(t.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(t.usage.total_tokens, Some(5));
        let cut = json!({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}, "output": []});
        assert_eq!(chat_completion(&cut)["choices"][0]["finish_reason"], "length");
    }
}
