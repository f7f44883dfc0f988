//! Whole (non-streamed) responses: OpenAI `chat.completion` ⇄ Anthropic `message`.

use serde_json::{json, Value};

use super::{finish_reason_from_anthropic, stop_reason_from_openai};

/// Tool arguments as an Anthropic `input` object (invalid JSON is kept, wrapped).
pub(crate) fn tool_input(args: &str) -> Value {
    match serde_json::from_str::<Value>(args) {
        Ok(v @ Value::Object(_)) => v,
        Ok(other) => json!({"_raw_arguments": other.to_string()}),
        Err(_) if args.trim().is_empty() => json!({}),
        Err(_) => json!({"_raw_arguments": args}),
    }
}

/// An OpenAI chat completion as an Anthropic message.
pub fn openai_to_anthropic_response(v: &Value) -> Value {
    let choice = &v["choices"][0];
    let msg = &choice["message"];
    let mut content = Vec::new();
    if let Some(r) = msg["reasoning_content"].as_str().or_else(|| msg["reasoning"].as_str()).filter(|r| !r.is_empty()) {
        content.push(json!({"type": "thinking", "thinking": r, "signature": ""}));
    }
    if let Some(t) = msg["content"].as_str().filter(|t| !t.is_empty()) {
        content.push(json!({"type": "text", "text": t}));
    }
    for c in msg["tool_calls"].as_array().into_iter().flatten() {
        content.push(json!({"type": "tool_use", "id": c["id"], "name": c["function"]["name"],
            "input": tool_input(c["function"]["arguments"].as_str().unwrap_or("{}"))}));
    }
    let has_tools = content.iter().any(|b| b["type"] == "tool_use");
    if content.is_empty() {
        content.push(json!({"type": "text", "text": ""}));
    }
    let stop = if has_tools { "tool_use" } else { stop_reason_from_openai(choice["finish_reason"].as_str()) };
    let u = &v["usage"];
    let mut usage = json!({"input_tokens": u["prompt_tokens"].as_i64().unwrap_or(0), "output_tokens": u["completion_tokens"].as_i64().unwrap_or(0)});
    if let Some(c) = u["prompt_tokens_details"]["cached_tokens"].as_i64() {
        usage["cache_read_input_tokens"] = json!(c);
    }
    json!({
        "id": v["id"].as_str().map(|id| if id.starts_with("msg_") { id.to_string() } else { format!("msg_{id}") }).unwrap_or_else(|| "msg_metaclaw".into()),
        "type": "message", "role": "assistant", "model": v["model"],
        "content": content, "stop_reason": stop, "stop_sequence": null, "usage": usage
    })
}

/// An Anthropic message as an OpenAI chat completion.
pub fn anthropic_to_openai_response(v: &Value, created: i64) -> Value {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for b in v["content"].as_array().into_iter().flatten() {
        match b["type"].as_str() {
            Some("text") => text.push_str(b["text"].as_str().unwrap_or_default()),
            Some("thinking") => reasoning.push_str(b["thinking"].as_str().unwrap_or_default()),
            Some("tool_use") => calls.push(json!({"id": b["id"], "type": "function",
                "function": {"name": b["name"], "arguments": b["input"].to_string()}})),
            _ => {}
        }
    }
    let mut message = json!({"role": "assistant", "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { json!(text) }});
    if !reasoning.is_empty() {
        message["reasoning_content"] = json!(reasoning);
    }
    if !calls.is_empty() {
        message["tool_calls"] = json!(calls);
    }
    let u = &v["usage"];
    let cached = u["cache_read_input_tokens"].as_i64().unwrap_or(0);
    // Upstream numbers: saturate rather than overflow on absurd values.
    let prompt = u["input_tokens"]
        .as_i64()
        .unwrap_or(0)
        .saturating_add(cached)
        .saturating_add(u["cache_creation_input_tokens"].as_i64().unwrap_or(0));
    let completion = u["output_tokens"].as_i64().unwrap_or(0);
    let mut usage = json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt.saturating_add(completion)});
    if cached > 0 {
        usage["prompt_tokens_details"] = json!({"cached_tokens": cached});
    }
    json!({
        "id": v["id"], "object": "chat.completion", "created": created, "model": v["model"],
        "choices": [{"index": 0, "message": message, "logprobs": null,
            "finish_reason": finish_reason_from_anthropic(v["stop_reason"].as_str())}],
        "usage": usage
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_answer_with_tools_and_reasoning_becomes_an_anthropic_message() {
        let oa = json!({"id": "chatcmpl-1", "model": "m", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "let me check", "reasoning_content": "think",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12, "prompt_tokens_details": {"cached_tokens": 2}}});
        let a = openai_to_anthropic_response(&oa);
        assert_eq!(a["id"], "msg_chatcmpl-1");
        assert_eq!(a["content"][0], json!({"type": "thinking", "thinking": "think", "signature": ""}));
        assert_eq!(a["content"][1], json!({"type": "text", "text": "let me check"}));
        assert_eq!(a["content"][2], json!({"type": "tool_use", "id": "c1", "name": "f", "input": {"a": 1}}));
        assert_eq!(a["stop_reason"], "tool_use");
        assert_eq!(a["usage"], json!({"input_tokens": 5, "output_tokens": 7, "cache_read_input_tokens": 2}));
        // And back again, keeping the meaning.
        let back = anthropic_to_openai_response(&a, 0);
        assert_eq!(back["choices"][0]["message"]["tool_calls"], oa["choices"][0]["message"]["tool_calls"]);
        assert_eq!(back["choices"][0]["message"]["content"], "let me check");
        assert_eq!(back["choices"][0]["message"]["reasoning_content"], "think");
        assert_eq!(back["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(back["usage"]["prompt_tokens"], 7);
    }

    #[test]
    fn stop_reasons_map_both_ways() {
        for (oa, an) in
            [("stop", "end_turn"), ("length", "max_tokens"), ("tool_calls", "tool_use"), ("content_filter", "refusal")]
        {
            assert_eq!(stop_reason_from_openai(Some(oa)), an);
            assert_eq!(finish_reason_from_anthropic(Some(an)), oa);
        }
        assert_eq!(finish_reason_from_anthropic(Some("stop_sequence")), "stop");
        assert_eq!(tool_input("[1]"), json!({"_raw_arguments": "[1]"}));
        assert_eq!(tool_input(""), json!({}));
    }

    #[test]
    fn huge_upstream_usage_saturates_instead_of_overflowing() {
        for big in [json!(i64::MAX), json!(u64::MAX), json!(i64::MIN)] {
            let a = json!({"id": "m1", "model": "m", "stop_reason": "end_turn", "content": [{"type": "text", "text": "x"}],
                "usage": {"input_tokens": big, "cache_read_input_tokens": big, "cache_creation_input_tokens": big, "output_tokens": big}});
            let back = anthropic_to_openai_response(&a, 0);
            if big == json!(i64::MAX) {
                assert_eq!(back["usage"]["prompt_tokens"], i64::MAX);
                assert_eq!(back["usage"]["total_tokens"], i64::MAX);
            } else if big == json!(i64::MIN) {
                assert_eq!(back["usage"]["total_tokens"], i64::MIN);
            } else {
                assert!(back["usage"]["total_tokens"].is_i64());
            }
        }
    }
}
