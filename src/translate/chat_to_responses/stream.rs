//! A `chat.completion.chunk` stream as the Responses API's `response.*` event sequence: created,
//! output items with their text, reasoning-summary and function-argument deltas, completed with
//! usage (or failed), each event numbered; the final `response` handed to whoever keeps it.

use serde_json::{json, Map, Value};

use super::{call_item, finish, message_item, new_id, reasoning_item, shell, usage, ITEM_FRAME, MAX_KEPT};
use crate::translate::sse::SseSplitter;
use crate::translate::StreamConverter;

/// The output item being streamed.
enum Open {
    Reasoning { id: String, text: String },
    Message { id: String, text: String },
    Call { id: String, call_id: Value, name: Value, args: String, index: u64 },
}

/// Called with the final `response` object once a stream completes.
pub type OnDone = Box<dyn FnOnce(&Value) + Send>;

/// Chat chunks in, Responses events out (a Responses client on a chat-only upstream).
pub struct ChatToResponsesStream {
    sse: SseSplitter,
    response: Value,
    started: bool,
    seq: u64,
    pub(super) items: Vec<Value>,
    open: Option<Open>,
    pub(super) kept: usize,
    /// Output items closed so far (the next one's `output_index`); `items` keeps those within
    /// the [`MAX_KEPT`] budget.
    pub(super) closed: usize,
    /// Bytes `kept` may reach ([`MAX_KEPT`]).
    pub(super) budget: usize,
    finish_reason: Option<String>,
    done: bool,
    on_done: Option<OnDone>,
}

impl ChatToResponsesStream {
    /// For the Responses request `req` (as sent); the response gets id `id`.
    pub fn new(req: &Map<String, Value>, id: &str, on_done: Option<OnDone>) -> Self {
        let model = req.get("model").and_then(Value::as_str).unwrap_or_default();
        Self {
            sse: SseSplitter::default(),
            response: shell(req, id, crate::clock::now_ms() / 1000, model),
            started: false,
            seq: 0,
            items: Vec::new(),
            open: None,
            kept: 0,
            closed: 0,
            budget: MAX_KEPT,
            finish_reason: None,
            done: false,
            on_done,
        }
    }

    fn emit(&mut self, out: &mut String, mut v: Value) {
        v["sequence_number"] = json!(self.seq);
        self.seq += 1;
        out.push_str(&format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap_or_default()));
    }

    /// Appends `d` to an item's kept text, within [`MAX_KEPT`] for the whole stream.
    fn keep(kept: &mut usize, budget: usize, text: &mut String, d: &str) {
        if *kept + d.len() <= budget {
            *kept += d.len();
            text.push_str(d);
        }
    }

    fn start(&mut self, out: &mut String, model: Option<&str>) {
        if self.started {
            return;
        }
        self.started = true;
        if let Some(m) = model {
            self.response["model"] = json!(m);
        }
        let r = self.response.clone();
        self.emit(out, json!({"type": "response.created", "response": r}));
        self.emit(out, json!({"type": "response.in_progress", "response": r}));
    }

    /// Ends the open item with its `.done` events.
    fn close(&mut self, out: &mut String) {
        let index = self.closed;
        let item = match self.open.take() {
            None => return,
            Some(Open::Reasoning { id, text }) => {
                self.emit(
                    out,
                    json!({"type": "response.reasoning_summary_text.done", "item_id": id,
                    "output_index": index, "summary_index": 0, "text": text}),
                );
                self.emit(
                    out,
                    json!({"type": "response.reasoning_summary_part.done", "item_id": id,
                    "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": text}}),
                );
                reasoning_item(&id, &text)
            }
            Some(Open::Message { id, text }) => {
                self.emit(
                    out,
                    json!({"type": "response.output_text.done", "item_id": id, "output_index": index,
                    "content_index": 0, "text": text, "logprobs": []}),
                );
                self.emit(
                    out,
                    json!({"type": "response.content_part.done", "item_id": id, "output_index": index,
                    "content_index": 0, "part": {"type": "output_text", "text": text, "annotations": []}}),
                );
                message_item(&id, &text, "completed")
            }
            Some(Open::Call { id, call_id, name, args, .. }) => {
                self.emit(
                    out,
                    json!({"type": "response.function_call_arguments.done", "item_id": id,
                    "output_index": index, "arguments": args}),
                );
                call_item(&id, &call_id, &name, &args, "completed")
            }
        };
        self.emit(out, json!({"type": "response.output_item.done", "output_index": index, "item": item}));
        self.closed += 1;
        // Each kept item costs its text (counted as it came) and its frame.
        if self.kept + ITEM_FRAME <= self.budget {
            self.kept += ITEM_FRAME;
            self.items.push(item);
        }
    }

    fn chunk(&mut self, v: &Value, out: &mut String) {
        self.start(out, v["model"].as_str());
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            self.response["usage"] = usage(u);
        }
        let Some(choice) = v["choices"].get(0) else { return };
        let d = &choice["delta"];
        if let Some(r) = d["reasoning_content"].as_str().or_else(|| d["reasoning"].as_str()).filter(|r| !r.is_empty()) {
            if !matches!(self.open, Some(Open::Reasoning { .. })) {
                self.close(out);
                let id = new_id("rs");
                let index = self.closed;
                self.emit(
                    out,
                    json!({"type": "response.output_item.added", "output_index": index,
                    "item": {"id": id, "type": "reasoning", "summary": []}}),
                );
                self.emit(
                    out,
                    json!({"type": "response.reasoning_summary_part.added", "item_id": id,
                    "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
                );
                self.open = Some(Open::Reasoning { id, text: String::new() });
            }
            if let Some(Open::Reasoning { id, text }) = &mut self.open {
                Self::keep(&mut self.kept, self.budget, text, r);
                let id = id.clone();
                self.emit(
                    out,
                    json!({"type": "response.reasoning_summary_text.delta", "item_id": id,
                    "output_index": self.closed, "summary_index": 0, "delta": r}),
                );
            }
        }
        if let Some(t) = d["content"].as_str().filter(|t| !t.is_empty()) {
            if !matches!(self.open, Some(Open::Message { .. })) {
                self.close(out);
                let id = new_id("msg");
                let index = self.closed;
                self.emit(out, json!({"type": "response.output_item.added", "output_index": index,
                    "item": {"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}}));
                self.emit(
                    out,
                    json!({"type": "response.content_part.added", "item_id": id, "output_index": index,
                    "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
                );
                self.open = Some(Open::Message { id, text: String::new() });
            }
            if let Some(Open::Message { id, text }) = &mut self.open {
                Self::keep(&mut self.kept, self.budget, text, t);
                let id = id.clone();
                self.emit(
                    out,
                    json!({"type": "response.output_text.delta", "item_id": id,
                    "output_index": self.closed, "content_index": 0, "delta": t, "logprobs": []}),
                );
            }
        }
        for call in d["tool_calls"].as_array().into_iter().flatten() {
            let n = call["index"].as_u64().unwrap_or(0);
            if !matches!(&self.open, Some(Open::Call { index, .. }) if *index == n) {
                self.close(out);
                let id = new_id("fc");
                let call_id = match call.get("id").filter(|i| i.is_string()) {
                    Some(i) => i.clone(),
                    None => json!(new_id("call")),
                };
                let name = call["function"]["name"].clone();
                self.emit(
                    out,
                    json!({"type": "response.output_item.added", "output_index": self.closed,
                    "item": call_item(&id, &call_id, &name, "", "in_progress")}),
                );
                self.open = Some(Open::Call { id, call_id, name, args: String::new(), index: n });
            }
            if let Some(a) = call["function"]["arguments"].as_str().filter(|a| !a.is_empty()) {
                if let Some(Open::Call { id, args, .. }) = &mut self.open {
                    Self::keep(&mut self.kept, self.budget, args, a);
                    let id = id.clone();
                    self.emit(
                        out,
                        json!({"type": "response.function_call_arguments.delta", "item_id": id,
                        "output_index": self.closed, "delta": a}),
                    );
                }
            }
        }
        if let Some(f) = choice["finish_reason"].as_str() {
            self.finish_reason = Some(f.to_string());
        }
    }

    /// The answer is whole: the open item's `.done` events and `response.completed` (or
    /// `response.incomplete` when it was cut short).
    fn complete(&mut self, out: &mut String) {
        if self.done {
            return;
        }
        self.start(out, None);
        self.close(out);
        self.done = true;
        let mut r = self.response.clone();
        r["output"] = Value::Array(std::mem::take(&mut self.items));
        finish(&mut r, self.finish_reason.as_deref());
        let kind = if r["status"] == "completed" { "response.completed" } else { "response.incomplete" };
        if let Some(f) = self.on_done.take() {
            f(&r);
        }
        self.emit(out, json!({"type": kind, "response": r}));
    }

    fn error(&mut self, out: &mut String, message: &str) {
        self.done = true;
        self.emit(out, json!({"type": "error", "code": "upstream_stream_error", "message": message, "param": null}));
    }
}

impl StreamConverter for ChatToResponsesStream {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = String::new();
        for ev in self.sse.push(chunk) {
            if self.done {
                break;
            }
            let data = ev.data.trim();
            if data == "[DONE]" {
                self.complete(&mut out);
                continue;
            }
            let Ok(v) = serde_json::from_str::<Value>(data) else { continue };
            if let Some(e) = v.get("error").filter(|e| e.is_object()) {
                let msg = e["message"].as_str().unwrap_or("the upstream sent an error").to_string();
                self.error(&mut out, &msg);
                continue;
            }
            self.chunk(&v, &mut out);
        }
        out.into_bytes()
    }

    fn finish(&mut self) -> Vec<u8> {
        let mut out = String::new();
        if !self.done {
            if self.finish_reason.is_some() {
                self.complete(&mut out);
            } else {
                self.error(&mut out, "the upstream's stream ended before the answer was complete");
            }
        }
        out.into_bytes()
    }

    fn fail(&mut self, message: &str) -> Vec<u8> {
        let mut out = String::new();
        if !self.done {
            self.error(&mut out, message);
        }
        out.into_bytes()
    }
}
