//! Streams: incremental converters between OpenAI `chat.completion.chunk` SSE and the Anthropic
//! Messages event stream. Each takes upstream bytes as they arrive (split anywhere) and returns
//! the bytes to send to the client at once, so translated streams stay true streams.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::sse::SseSplitter;
use super::{finish_reason_from_anthropic, stop_reason_from_openai};

fn anthropic_event(kind: &str, data: Value) -> String {
    format!("event: {kind}\ndata: {data}\n\n")
}

/// What a stream converter does; the relay drives it.
pub trait StreamConverter: Send {
    /// Upstream bytes in, client bytes out.
    fn push(&mut self, chunk: &[u8]) -> Vec<u8>;
    /// The upstream ended normally.
    fn finish(&mut self) -> Vec<u8>;
    /// The upstream broke off or stalled: end the client's stream with an error in its protocol.
    fn fail(&mut self, message: &str) -> Vec<u8>;
}

#[derive(PartialEq)]
enum Block {
    Text,
    Thinking,
    Tool(u64),
}

/// OpenAI chunks in, Anthropic events out (an Anthropic client on an OpenAI upstream).
pub struct OpenAiToAnthropicStream {
    sse: SseSplitter,
    model: String,
    started: bool,
    block: Option<Block>,
    next_index: usize,
    stop_reason: Option<&'static str>,
    input_tokens: i64,
    output_tokens: i64,
    done: bool,
}

impl OpenAiToAnthropicStream {
    pub fn new(model: &str) -> Self {
        Self {
            sse: SseSplitter::default(),
            model: model.to_string(),
            started: false,
            block: None,
            next_index: 0,
            stop_reason: None,
            input_tokens: 0,
            output_tokens: 0,
            done: false,
        }
    }

    fn start(&mut self, out: &mut String, id: &str) {
        if self.started {
            return;
        }
        self.started = true;
        let id = if id.starts_with("msg_") { id.to_string() } else { format!("msg_{id}") };
        out.push_str(&anthropic_event("message_start", json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": self.model, "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": self.input_tokens, "output_tokens": 0}}})));
        out.push_str(&anthropic_event("ping", json!({"type": "ping"})));
    }

    fn close_block(&mut self, out: &mut String) {
        if self.block.take().is_some() {
            let index = self.next_index - 1;
            out.push_str(&anthropic_event("content_block_stop", json!({"type": "content_block_stop", "index": index})));
        }
    }

    fn open_block(&mut self, out: &mut String, kind: Block, start: Value) {
        self.close_block(out);
        out.push_str(&anthropic_event(
            "content_block_start",
            json!({"type": "content_block_start", "index": self.next_index, "content_block": start}),
        ));
        self.next_index += 1;
        self.block = Some(kind);
    }

    fn delta(&self, out: &mut String, delta: Value) {
        out.push_str(&anthropic_event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": self.next_index - 1, "delta": delta}),
        ));
    }

    fn chunk(&mut self, v: &Value, out: &mut String) {
        if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
            self.input_tokens = u["prompt_tokens"].as_i64().unwrap_or(self.input_tokens);
            self.output_tokens = u["completion_tokens"].as_i64().unwrap_or(self.output_tokens);
        }
        self.start(out, v["id"].as_str().unwrap_or("metaclaw"));
        let Some(choice) = v["choices"].get(0) else { return };
        let d = &choice["delta"];
        if let Some(r) = d["reasoning_content"].as_str().or_else(|| d["reasoning"].as_str()).filter(|r| !r.is_empty()) {
            if self.block != Some(Block::Thinking) {
                self.open_block(out, Block::Thinking, json!({"type": "thinking", "thinking": ""}));
            }
            self.delta(out, json!({"type": "thinking_delta", "thinking": r}));
        }
        if let Some(t) = d["content"].as_str().filter(|t| !t.is_empty()) {
            if self.block != Some(Block::Text) {
                self.open_block(out, Block::Text, json!({"type": "text", "text": ""}));
            }
            self.delta(out, json!({"type": "text_delta", "text": t}));
        }
        for call in d["tool_calls"].as_array().into_iter().flatten() {
            let idx = call["index"].as_u64().unwrap_or(0);
            if self.block != Some(Block::Tool(idx)) {
                let start =
                    json!({"type": "tool_use", "id": call["id"], "name": call["function"]["name"], "input": {}});
                self.open_block(out, Block::Tool(idx), start);
            }
            if let Some(a) = call["function"]["arguments"].as_str().filter(|a| !a.is_empty()) {
                self.delta(out, json!({"type": "input_json_delta", "partial_json": a}));
            }
        }
        if let Some(f) = choice["finish_reason"].as_str() {
            self.stop_reason = Some(stop_reason_from_openai(Some(f)));
        }
    }
}

impl StreamConverter for OpenAiToAnthropicStream {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = String::new();
        for ev in self.sse.push(chunk) {
            let data = ev.data;
            if data.trim() == "[DONE]" {
                // The end, now: the client may close as soon as it has `message_stop`.
                out.push_str(&String::from_utf8_lossy(&self.finish()));
                continue;
            }
            match serde_json::from_str::<Value>(&data) {
                _ if self.done => {}
                Ok(v) if v.get("error").is_some() => out.push_str(&String::from_utf8_lossy(
                    &self.fail(v["error"]["message"].as_str().unwrap_or("upstream error")),
                )),
                Ok(v) => self.chunk(&v, &mut out),
                Err(_) => {}
            }
        }
        out.into_bytes()
    }

    fn finish(&mut self) -> Vec<u8> {
        if self.done {
            return Vec::new();
        }
        self.done = true;
        let mut out = String::new();
        self.start(&mut out, "metaclaw");
        self.close_block(&mut out);
        out.push_str(&anthropic_event(
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": self.stop_reason.unwrap_or("end_turn"), "stop_sequence": null},
            // SDKs take `input_tokens` from here when present: `message_start` could not know it.
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}}),
        ));
        out.push_str(&anthropic_event("message_stop", json!({"type": "message_stop"})));
        out.into_bytes()
    }

    fn fail(&mut self, message: &str) -> Vec<u8> {
        self.done = true;
        anthropic_event("error", json!({"type": "error", "error": {"type": "api_error", "message": message}}))
            .into_bytes()
    }
}

/// Anthropic events in, OpenAI chunks out (an OpenAI client on an Anthropic upstream).
pub struct AnthropicToOpenAiStream {
    sse: SseSplitter,
    id: String,
    model: String,
    created: i64,
    include_usage: bool,
    /// Anthropic block index -> OpenAI tool call index.
    tools: HashMap<u64, u64>,
    input_tokens: i64,
    output_tokens: i64,
    finish: Option<&'static str>,
    done: bool,
}

impl AnthropicToOpenAiStream {
    pub fn new(model: &str, created: i64, include_usage: bool) -> Self {
        Self {
            sse: SseSplitter::default(),
            id: "chatcmpl-metaclaw".into(),
            model: model.to_string(),
            created,
            include_usage,
            tools: HashMap::new(),
            input_tokens: 0,
            output_tokens: 0,
            finish: None,
            done: false,
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> String {
        let mut c = json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        if self.include_usage {
            c["usage"] = Value::Null;
        }
        format!("data: {c}\n\n")
    }

    fn event(&mut self, v: &Value, out: &mut String) {
        match v["type"].as_str() {
            Some("message_start") => {
                let m = &v["message"];
                if let Some(id) = m["id"].as_str() {
                    self.id = id.to_string();
                }
                if let Some(model) = m["model"].as_str() {
                    self.model = model.to_string();
                }
                let u = &m["usage"];
                // Upstream numbers: saturate rather than overflow on absurd values.
                self.input_tokens = u["input_tokens"]
                    .as_i64()
                    .unwrap_or(0)
                    .saturating_add(u["cache_read_input_tokens"].as_i64().unwrap_or(0))
                    .saturating_add(u["cache_creation_input_tokens"].as_i64().unwrap_or(0));
                out.push_str(&self.chunk(json!({"role": "assistant", "content": ""}), None));
            }
            Some("content_block_start") if v["content_block"]["type"] == "tool_use" => {
                let idx = self.tools.len() as u64;
                self.tools.insert(v["index"].as_u64().unwrap_or(0), idx);
                let b = &v["content_block"];
                out.push_str(&self.chunk(
                    json!({"tool_calls": [{"index": idx, "id": b["id"], "type": "function",
                    "function": {"name": b["name"], "arguments": ""}}]}),
                    None,
                ));
            }
            Some("content_block_delta") => {
                let d = &v["delta"];
                match d["type"].as_str() {
                    Some("text_delta") => out.push_str(&self.chunk(json!({"content": d["text"]}), None)),
                    Some("thinking_delta") => {
                        out.push_str(&self.chunk(json!({"reasoning_content": d["thinking"]}), None))
                    }
                    Some("input_json_delta") => {
                        let idx = self.tools.get(&v["index"].as_u64().unwrap_or(0)).copied().unwrap_or(0);
                        out.push_str(&self.chunk(
                            json!({"tool_calls": [{"index": idx, "function": {"arguments": d["partial_json"]}}]}),
                            None,
                        ));
                    }
                    _ => {}
                }
            }
            Some("message_delta") => {
                self.finish = Some(finish_reason_from_anthropic(v["delta"]["stop_reason"].as_str()));
                if let Some(o) = v["usage"]["output_tokens"].as_i64() {
                    self.output_tokens = o;
                }
            }
            Some("message_stop") => out.push_str(&String::from_utf8_lossy(&self.finish())),
            Some("error") => {
                let msg = v["error"]["message"].as_str().unwrap_or("upstream error").to_string();
                out.push_str(&String::from_utf8_lossy(&self.fail(&msg)));
            }
            _ => {}
        }
    }
}

impl StreamConverter for AnthropicToOpenAiStream {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = String::new();
        for ev in self.sse.push(chunk) {
            if let Ok(v) = serde_json::from_str::<Value>(&ev.data) {
                if !self.done {
                    self.event(&v, &mut out);
                }
            }
        }
        out.into_bytes()
    }

    fn finish(&mut self) -> Vec<u8> {
        if self.done {
            return Vec::new();
        }
        self.done = true;
        let mut out = self.chunk(json!({}), Some(self.finish.unwrap_or("stop")));
        if self.include_usage {
            let c = json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model, "choices": [],
                "usage": {"prompt_tokens": self.input_tokens, "completion_tokens": self.output_tokens, "total_tokens": self.input_tokens.saturating_add(self.output_tokens)}});
            out.push_str(&format!("data: {c}\n\n"));
        }
        out.push_str("data: [DONE]\n\n");
        out.into_bytes()
    }

    fn fail(&mut self, message: &str) -> Vec<u8> {
        self.done = true;
        let e = json!({"error": {"message": message, "type": "upstream_error", "param": null, "code": "upstream_stream_error"}});
        format!("data: {e}\n\n").into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Transcript;

    fn feed(c: &mut dyn StreamConverter, input: &str, split: usize) -> String {
        let mut out = Vec::new();
        for piece in input.as_bytes().chunks(split) {
            out.extend(c.push(piece));
        }
        out.extend(c.finish());
        String::from_utf8(out).unwrap()
    }

    const OPENAI: &str = concat!(
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hm\"}}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":\"}}]}}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]}}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}\n\n",
        "data: [DONE]\n\n"
    );

    fn events(sse: &str) -> Vec<Value> {
        sse.split("\n\n")
            .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect()
    }

    #[test]
    fn openai_stream_becomes_the_full_anthropic_event_sequence_and_back() {
        for split in [1, 7, 1000] {
            let mut c = OpenAiToAnthropicStream::new("m");
            let out = feed(&mut c, OPENAI, split);
            let ev = events(&out);
            let kinds: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
            assert_eq!(
                kinds,
                vec![
                    "message_start",
                    "ping",
                    "content_block_start",
                    "content_block_delta",
                    "content_block_stop",
                    "content_block_start",
                    "content_block_delta",
                    "content_block_delta",
                    "content_block_stop",
                    "content_block_start",
                    "content_block_delta",
                    "content_block_delta",
                    "content_block_stop",
                    "message_delta",
                    "message_stop"
                ],
                "split {split}"
            );
            assert_eq!(ev[2]["content_block"]["type"], "thinking");
            assert_eq!(ev[9]["content_block"], json!({"type": "tool_use", "id": "t1", "name": "f", "input": {}}));
            assert_eq!(ev[11]["delta"], json!({"type": "input_json_delta", "partial_json": "1}"}));
            assert_eq!(ev[13]["delta"]["stop_reason"], "tool_use");
            assert_eq!(ev[13]["usage"]["output_tokens"], 4);
            assert_eq!(ev[13]["usage"]["input_tokens"], 3, "message_delta carries the prompt's tokens");

            // Back to OpenAI: the transcript is the same as the original's.
            let mut back = AnthropicToOpenAiStream::new("m", 0, true);
            let oa = feed(&mut back, &out, split);
            let t0 = Transcript::from_sse(&[OPENAI.as_bytes()]);
            let t1 = Transcript::from_sse(&[oa.as_bytes()]);
            assert_eq!((t1.text.as_str(), t1.reasoning.as_str()), (t0.text.as_str(), t0.reasoning.as_str()));
            assert_eq!(t1.tool_calls, t0.tool_calls);
            assert_eq!(t1.finish_reason, t0.finish_reason);
            assert_eq!(t1.usage.completion_tokens, Some(4));
            assert!(oa.ends_with("data: [DONE]\n\n"));
        }
    }

    #[test]
    fn failures_end_the_stream_in_the_clients_protocol() {
        let mut c = OpenAiToAnthropicStream::new("m");
        let e = String::from_utf8(c.fail("broke")).unwrap();
        assert!(e.starts_with("event: error\n") && e.contains("\"api_error\""));
        assert!(c.finish().is_empty(), "nothing after the error");
        let mut c = AnthropicToOpenAiStream::new("m", 0, false);
        let out = String::from_utf8(c.push(b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}\n\n")).unwrap();
        assert!(out.contains("\"message\":\"busy\""));
        assert!(c.finish().is_empty());
    }

    #[test]
    fn invalid_utf8_in_either_direction_is_translated_without_a_panic() {
        // Invalid bytes inside a JSON string and between events: each event stays whole.
        let oa = b"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\xff\xfe\"}}]}\n\n\xff\xff\n\ndata: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        for split in [1, 2, 5, oa.len()] {
            let mut c = OpenAiToAnthropicStream::new("m");
            let mut out = Vec::new();
            for p in oa.chunks(split) {
                out.extend(c.push(p));
            }
            out.extend(c.finish());
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains("\"text\":\"a\u{fffd}\u{fffd}\"") && text.contains("\"text\":\"b\""), "{text}");
            assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
        }
        let an = b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":2}}}\n\n\xc3\x28\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\xe2\x82\"}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        for split in [1, 3, an.len()] {
            let mut c = AnthropicToOpenAiStream::new("m", 0, true);
            let mut out = Vec::new();
            for p in an.chunks(split) {
                out.extend(c.push(p));
            }
            out.extend(c.finish());
            let t = Transcript::from_sse(&[out]);
            assert_eq!(t.text, "x\u{fffd}");
            assert_eq!(t.usage.prompt_tokens, Some(2));
        }
    }

    #[test]
    fn huge_upstream_usage_saturates_instead_of_overflowing() {
        for big in [json!(i64::MAX), json!(u64::MAX), json!(i64::MIN)] {
            let start = json!({"type": "message_start", "message": {"id": "m1", "model": "m", "usage": {
                "input_tokens": big, "cache_read_input_tokens": big, "cache_creation_input_tokens": big}}});
            let delta =
                json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": big}});
            let sse = format!("event: message_start\ndata: {start}\n\nevent: message_delta\ndata: {delta}\n\n");
            let mut c = AnthropicToOpenAiStream::new("m", 0, true);
            let out = feed(&mut c, &sse, 7);
            let usage = events(&out).into_iter().find_map(|e| e.get("usage").filter(|u| !u.is_null()).cloned());
            let usage = usage.expect("a usage chunk");
            let total = usage["total_tokens"].as_i64().unwrap();
            if big == json!(i64::MAX) {
                assert_eq!(total, i64::MAX);
                assert_eq!(usage["prompt_tokens"], i64::MAX);
            } else if big == json!(i64::MIN) {
                assert_eq!(total, i64::MIN);
            }
        }
    }
}
