//! Transcripts: what the model said in one OpenAI chat completion, rebuilt from the raw response
//! (a JSON body, or SSE chunks with content, reasoning and tool-call deltas).

mod completion;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most tool calls one answer is rebuilt with. The index of a streamed tool call comes from the
/// upstream; beyond this bound its deltas are counted in [`Transcript::ignored_tool_deltas`]
/// instead of growing the list (an index of 1e15 once asked for petabytes).
pub const MAX_TOOL_CALLS: usize = 128;

/// One tool call the model made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments as the JSON text the model produced (not necessarily valid JSON).
    pub arguments: String,
}

/// Token counts as reported by the upstream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub total_tokens: Option<i64>,
}

/// One sampled token as the serving endpoint reported it (`choices[].logprobs.content[]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sampled {
    pub token: String,
    pub logprob: f64,
    /// The token's raw bytes, when the endpoint gives them (partial UTF-8 sequences).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Vec<u8>>,
}

/// The first choice of a chat completion, reassembled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub text: String,
    pub reasoning: String,
    pub tool_calls: Vec<ToolCall>,
    pub finish_reason: Option<String>,
    pub usage: Usage,
    /// The sampled tokens with their logprobs, when the upstream returned them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sampled: Vec<Sampled>,
    /// Streamed tool-call deltas dropped because their index was at or past [`MAX_TOOL_CALLS`].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ignored_tool_deltas: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Transcript {
    /// From a non-streaming `chat.completion` body. `None` if it is not one. Read without a
    /// JSON tree of the whole body when it has the usual shape (see [`completion`]).
    pub fn from_json(body: &[u8]) -> Option<Self> {
        match completion::parts(body) {
            Ok(p) => {
                let choice = p.choice?;
                let msg = choice.message?;
                let mut t = Transcript {
                    text: content_text(msg.get("content")),
                    reasoning: reasoning_of(|k| msg.get(k)),
                    finish_reason: choice.finish_reason.as_ref().and_then(Value::as_str).map(str::to_string),
                    usage: usage(p.usage.as_ref()),
                    ..Default::default()
                };
                push_sampled(&mut t.sampled, choice.logprobs.as_ref());
                t.tool_calls = tool_calls(msg.get("tool_calls"));
                Some(t)
            }
            Err(_) => Self::from_value(&serde_json::from_slice(body).ok()?),
        }
    }

    /// From a `chat.completion` already parsed. `None` if it is not one.
    pub fn from_value(v: &Value) -> Option<Self> {
        let choice = v.get("choices")?.get(0)?;
        let msg = choice.get("message")?;
        let mut t = Transcript {
            text: content_text(msg.get("content")),
            reasoning: reasoning_text(msg),
            finish_reason: str_field(choice, "finish_reason"),
            usage: usage(v.get("usage")),
            ..Default::default()
        };
        push_sampled(&mut t.sampled, choice.get("logprobs"));
        t.tool_calls = tool_calls(msg.get("tool_calls"));
        Some(t)
    }

    /// From a non-streaming Anthropic `message` body.
    pub fn from_anthropic_json(body: &[u8]) -> Option<Self> {
        let v: Value = serde_json::from_slice(body).ok()?;
        v.get("content")?;
        Self::from_value(&crate::translate::anthropic_to_openai_response(&v, 0))
    }

    /// From the chunks of a streamed Anthropic response.
    pub fn from_anthropic_sse<B: AsRef<[u8]>>(chunks: &[B]) -> Self {
        use crate::translate::StreamConverter;
        let mut conv = crate::translate::AnthropicToOpenAiStream::new("", 0, true);
        let mut out = Vec::new();
        for c in chunks {
            out.extend(conv.push(c.as_ref()));
        }
        out.extend(conv.finish());
        Self::from_sse(&[out])
    }

    /// From the chunks of a streamed response, split anywhere.
    pub fn from_sse<B: AsRef<[u8]>>(chunks: &[B]) -> Self {
        let mut buf = Vec::with_capacity(chunks.iter().map(|c| c.as_ref().len()).sum());
        for c in chunks {
            buf.extend_from_slice(c.as_ref());
        }
        let mut t = Transcript::default();
        for data in sse_data(&buf) {
            if data.trim() == "[DONE]" {
                break;
            }
            if let Ok(v) = serde_json::from_str::<Value>(&data) {
                t.apply_chunk(&v);
            }
        }
        t
    }

    fn apply_chunk(&mut self, v: &Value) {
        if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
            self.usage = usage(Some(u));
        }
        let Some(choice) = v.get("choices").and_then(|c| c.get(0)) else {
            return;
        };
        if let Some(fr) = str_field(choice, "finish_reason") {
            self.finish_reason = Some(fr);
        }
        push_sampled(&mut self.sampled, choice.get("logprobs"));
        let Some(delta) = choice.get("delta") else {
            return;
        };
        if let Some(s) = delta.get("content").and_then(Value::as_str) {
            self.text.push_str(s);
        }
        self.reasoning.push_str(&reasoning_text(delta));
        for call in delta.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
            let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
            let Some(index) = usize::try_from(index).ok().filter(|i| *i < MAX_TOOL_CALLS) else {
                self.ignored_tool_deltas += 1;
                continue;
            };
            if self.tool_calls.len() <= index {
                self.tool_calls.resize_with(index + 1, ToolCall::default);
            }
            let slot = &mut self.tool_calls[index];
            if let Some(id) = call.get("id").and_then(Value::as_str) {
                slot.id = id.into();
            }
            if let Some(n) = call.pointer("/function/name").and_then(Value::as_str) {
                slot.name.push_str(n);
            }
            if let Some(a) = call.pointer("/function/arguments").and_then(Value::as_str) {
                slot.arguments.push_str(a);
            }
        }
    }
}

/// The tool calls of a message's `tool_calls` (an array; anything else means none).
fn tool_calls(calls: Option<&Value>) -> Vec<ToolCall> {
    let Some(calls) = calls.and_then(Value::as_array) else { return Vec::new() };
    calls
        .iter()
        .map(|c| ToolCall {
            id: str_field(c, "id").unwrap_or_default(),
            name: c.pointer("/function/name").and_then(Value::as_str).unwrap_or_default().into(),
            arguments: c.pointer("/function/arguments").and_then(Value::as_str).unwrap_or_default().into(),
        })
        .collect()
}

/// Appends the entries of a choice's `logprobs.content` (OpenAI's shape: `{token, logprob, bytes}`).
fn push_sampled(out: &mut Vec<Sampled>, logprobs: Option<&Value>) {
    let Some(items) = logprobs.and_then(|l| l.get("content")).and_then(Value::as_array) else { return };
    for it in items {
        let (Some(token), Some(logprob)) =
            (it.get("token").and_then(Value::as_str), it.get("logprob").and_then(Value::as_f64))
        else {
            continue;
        };
        let bytes = it
            .get("bytes")
            .and_then(Value::as_array)
            .and_then(|b| b.iter().map(|x| x.as_u64().and_then(|n| u8::try_from(n).ok())).collect::<Option<Vec<u8>>>());
        // Bytes only matter when they say more than the text does.
        let bytes = bytes.filter(|b| b.as_slice() != token.as_bytes());
        out.push(Sampled { token: token.into(), logprob, bytes });
    }
}

/// The `data:` payloads of an SSE byte stream (multi-line data joined with `\n`).
pub fn sse_data(buf: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(buf);
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            if let Some(d) = cur.take() {
                out.push(d);
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("data:") {
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            match &mut cur {
                Some(d) => {
                    d.push('\n');
                    d.push_str(rest);
                }
                None => cur = Some(rest.to_string()),
            }
        }
    }
    if let Some(d) = cur {
        out.push(d);
    }
    out
}

/// The user's words in the last `user` message of a conversation (agent envelopes removed).
pub fn last_user_text(messages: &[Value]) -> Option<String> {
    let mut users = messages.iter().rev().filter(|m| m["role"] == "user").map(|m| user_text(m.get("content")));
    let latest = users.next()?;
    if !latest.trim().is_empty() {
        return Some(latest);
    }
    // A message that was all agent envelope (an OpenClaw runtime event): the user's last words.
    Some(users.find(|t| !t.trim().is_empty()).unwrap_or(latest))
}

/// The user's own words in a message `content`: its text without the agent's envelopes (see
/// [`crate::envelope`]). What retrieval, judging and evolution read of a user message.
pub fn user_text(content: Option<&Value>) -> String {
    let text = content_text(content);
    match crate::envelope::user_words(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(words) => words,
    }
}

/// Text of a message `content`: a string, or the text parts of an array.
pub fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n")
        }
        _ => String::new(),
    }
}

fn reasoning_text(v: &Value) -> String {
    reasoning_of(|k| v.get(k))
}

/// `reasoning_content`, else `reasoning`, of a message or delta whose fields `get` gives.
fn reasoning_of<'a>(get: impl Fn(&str) -> Option<&'a Value>) -> String {
    ["reasoning_content", "reasoning"]
        .iter()
        .find_map(|k| get(k).and_then(Value::as_str))
        .unwrap_or_default()
        .to_string()
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn usage(u: Option<&Value>) -> Usage {
    let get = |k| u.and_then(|u| u.get(k)).and_then(Value::as_i64);
    Usage {
        prompt_tokens: get("prompt_tokens"),
        completion_tokens: get("completion_tokens"),
        total_tokens: get("total_tokens"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn non_streaming_with_tool_calls() {
        let body = br#"{"choices":[{"message":{"role":"assistant","content":null,"reasoning_content":"hmm",
            "tool_calls":[{"id":"c1","type":"function","function":{"name":"read","arguments":"{\"p\":1}"}}]},
            "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#;
        let t = Transcript::from_json(body).unwrap();
        assert_eq!(t.text, "");
        assert_eq!(t.reasoning, "hmm");
        assert_eq!(
            t.tool_calls,
            vec![ToolCall { id: "c1".into(), name: "read".into(), arguments: "{\"p\":1}".into() }]
        );
        assert_eq!(t.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(t.usage.total_tokens, Some(7));
    }

    #[test]
    fn a_completion_reads_the_same_with_or_without_a_json_tree() {
        let bodies = [
            r#"{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi \"there\" \u00e9","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":13,"completion_tokens":14,"total_tokens":27},"x":{"kept":[1,2,{"a":null}]}}"#,
            r#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"image_url"},{"type":"text","text":"b"}],"reasoning":"r","reasoning_content":null,"tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}},{"function":{}}]},"finish_reason":"tool_calls","logprobs":{"content":[{"token":"h","logprob":-0.5,"bytes":[104]},{"token":"\u00e9","logprob":-1,"bytes":[195]}]}},{"message":{"content":"second"}}]}"#,
            r#"{"choices":[{"message":null,"finish_reason":7}],"usage":null}"#,
            r#"{"choices":[{"finish_reason":"stop"}]}"#,
            r#"{"choices":[]}"#,
            r#"{"choices":null}"#,
            r#"{"choices":{"0":{"message":{"content":"not an array"}}}}"#,
            r#"{"choices":[["not","an","object"]]}"#,
            r#"{"choices":["text"]}"#,
            r#"{"choices":[{"message":"text"}]}"#,
            r#"{"choices":[{"message":{"content":"first"}}],"choices":[{"message":{"content":"last wins"}}]}"#,
            r#"{"choices":[{"message":{"content":"a","content":"b"},"finish_reason":"x","finish_reason":null}]}"#,
            r#"{"ch\u006fices":[{"message":{"content":"escaped key"}}]}"#,
            r#"{"choices":[{"message":{"content":"u"}}],"usage":{"prompt_tokens":1.5,"completion_tokens":-3,"total_tokens":18446744073709551615}}"#,
            r#"[{"message":{"content":"an array"}}]"#,
            r#"{"choices":[{"message":{"content":"trailing"}}]} x"#,
            r#"{"choices":[{"message":{"content":"cut"#,
            "",
            "null",
        ];
        for body in bodies {
            let slow = serde_json::from_slice::<Value>(body.as_bytes()).ok().and_then(|v| Transcript::from_value(&v));
            assert_eq!(Transcript::from_json(body.as_bytes()), slow, "{body}");
        }
        let t = Transcript::from_json(bodies[1].as_bytes()).unwrap();
        assert_eq!((t.text.as_str(), t.reasoning.as_str(), t.tool_calls.len(), t.sampled.len()), ("a\nb", "r", 2, 2));
        assert_eq!(t.sampled[1].bytes, Some(vec![195]));
        assert!(completion::parts(bodies[0].as_bytes()).is_ok(), "the usual shape takes the fast path");
    }

    #[test]
    fn stream_split_mid_line_reassembles() {
        let full = concat!(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"r\",\"content\":\"lo\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"w\",\"arguments\":\"{\\\"a\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"r\",\"arguments\":\"{}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"\\\":2}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n",
            "data: [DONE]\n\n"
        );
        let bytes = full.as_bytes();
        let chunks: Vec<&[u8]> = bytes.chunks(7).collect();
        let t = Transcript::from_sse(&chunks);
        assert_eq!(t.text, "Hello");
        assert_eq!(t.reasoning, "r");
        assert_eq!(t.tool_calls.len(), 2);
        assert_eq!(t.tool_calls[0].name, "r");
        assert_eq!(t.tool_calls[1].arguments, "{\"a\":2}");
        assert_eq!(t.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(t.usage.completion_tokens, Some(2));
    }

    #[test]
    fn a_tool_call_index_of_any_size_allocates_nothing() {
        let mut sse = String::new();
        for index in ["1000000000000000", "18446744073709551615", "128", "-1", "1e300", "\"x\""] {
            sse.push_str(&format!(
                "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":{index},\"function\":{{\"name\":\"f\"}}}}]}}}}]}}\n\n"
            ));
        }
        sse.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":127,\"function\":{\"name\":\"g\"}}]}}]}\n\n");
        let t = Transcript::from_sse(&[sse.as_bytes()]);
        // The three out-of-range indexes are counted; a non-integer index means the first call.
        assert_eq!(t.ignored_tool_deltas, 3);
        assert_eq!(t.tool_calls.len(), MAX_TOOL_CALLS);
        assert_eq!(t.tool_calls[0].name, "fff");
        assert_eq!(t.tool_calls[127].name, "g");
    }

    #[test]
    fn the_last_user_text_is_the_users_words_without_the_agents_envelope() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/agents/openclaw-2026.9-telegram-turn.json");
        let req: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let messages = req["messages"].as_array().unwrap();
        assert_eq!(
            last_user_text(messages).unwrap(),
            "Can you compare the grocery budget categories in my spreadsheet with last month and flag overspending?"
        );
        // A runtime event alone in the latest message: the user's last words instead.
        let mut more = messages.clone();
        more.push(json!({"role": "user", "content": "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>\nsessions\n<<<END_OPENCLAW_INTERNAL_CONTEXT>>>"}));
        assert!(last_user_text(&more).unwrap().starts_with("Can you compare"));
        assert_eq!(last_user_text(&[json!({"role": "user", "content": ""})]).as_deref(), Some(""));
        assert_eq!(last_user_text(&[json!({"role": "assistant", "content": "x"})]), None);
    }

    #[test]
    fn array_content_is_flattened() {
        let v: Value = serde_json::json!([{"type":"text","text":"a"},{"type":"image_url"},{"type":"text","text":"b"}]);
        assert_eq!(content_text(Some(&v)), "a\nb");
    }
}
