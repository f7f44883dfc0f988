use super::*;

fn obj(v: Value) -> Obj {
    v.as_object().unwrap().clone()
}

#[test]
fn anthropic_request_with_tools_images_and_results_becomes_openai() {
    let req = obj(json!({
    "model": "m", "max_tokens": 100, "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
    "stop_sequences": ["END"], "stream": true, "metadata": {"user_id": "u1"},
    "tools": [{"name": "get_weather", "description": "w", "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}]},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"}, {"type": "text", "text": "ok"},
            {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}, {"type": "text", "text": "thanks"}]}
    ]}));
    let o = anthropic_to_openai(&req).unwrap();
    let m = o["messages"].as_array().unwrap();
    assert_eq!(m[0], json!({"role": "system", "content": "be brief"}));
    assert_eq!(m[1]["content"][1], json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}));
    assert_eq!(m[2]["reasoning_content"], "hmm");
    assert_eq!(m[2]["tool_calls"][0]["function"]["arguments"], "{\"city\":\"Paris\"}");
    assert_eq!(m[3], json!({"role": "tool", "tool_call_id": "t1", "content": "sunny"}));
    assert_eq!(m[4], json!({"role": "user", "content": "thanks"}));
    assert_eq!(o["stop"], json!(["END"]));
    assert_eq!(o["user"], "u1");
    assert_eq!(o["tool_choice"], "required");
    assert_eq!(o["parallel_tool_calls"], false);
    assert_eq!(o["stream_options"]["include_usage"], true);
    assert_eq!(o["tools"][0]["function"]["parameters"], json!({"type": "object"}));
}

#[test]
fn what_cannot_be_mapped_is_refused() {
    let doc = obj(
        json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]}),
    );
    assert!(anthropic_to_openai(&doc).unwrap_err().0.contains("document"));
    let server_tool = obj(
        json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "web_search_20250305", "name": "web_search"}]}),
    );
    assert!(anthropic_to_openai(&server_tool).unwrap_err().0.contains("web_search_20250305"));
    let n = obj(json!({"model": "m", "n": 2, "messages": [{"role": "user", "content": "x"}]}));
    assert!(openai_to_anthropic(&n).unwrap_err().0.contains("`n`"));
    let lp = obj(json!({"model": "m", "logprobs": true, "messages": [{"role": "user", "content": "x"}]}));
    assert!(openai_to_anthropic(&lp).unwrap_err().0.contains("logprobs"));
    let rf = obj(
        json!({"model": "m", "response_format": {"type": "json_object"}, "messages": [{"role": "user", "content": "x"}]}),
    );
    assert!(openai_to_anthropic(&rf).is_err());
    let rf_text =
        obj(json!({"model": "m", "response_format": {"type": "text"}, "messages": [{"role": "user", "content": "x"}]}));
    assert!(openai_to_anthropic(&rf_text).is_ok());
}

#[test]
fn a_system_message_among_the_turns_becomes_a_system_message_in_place() {
    // Claude Code 2.1 sends `role: "system"` inside `messages`, as text or cached blocks.
    let req = obj(json!({"model": "m", "max_tokens": 10, "system": "top", "messages": [
        {"role": "user", "content": "hi"},
        {"role": "system", "content": [{"type": "text", "text": "reminder", "cache_control": {"type": "ephemeral"}}]},
        {"role": "assistant", "content": "yo"},
        {"role": "system", "content": "plain"},
        {"role": "user", "content": [{"type": "text", "text": "go", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]}]}));
    let o = anthropic_to_openai(&req).unwrap();
    let roles: Vec<&str> = o["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["system", "user", "system", "assistant", "system", "user"]);
    assert_eq!(o["messages"][2], json!({"role": "system", "content": "reminder"}));
    assert_eq!(o["messages"][4], json!({"role": "system", "content": "plain"}));
    assert_eq!(o["messages"][5], json!({"role": "user", "content": "go"}));
    let bad =
        obj(json!({"model": "m", "messages": [{"role": "system", "content": [{"type": "image", "source": {}}]}]}));
    assert!(anthropic_to_openai(&bad).unwrap_err().0.contains("messages[0]"));
}

#[test]
fn current_messages_api_fields_are_translated_or_clearly_refused() {
    let req = obj(json!({"model": "m", "max_tokens": 10,
        "metadata": {"user_id": "{\"device_id\":\"d\",\"account_uuid\":\"\",\"session_id\":\"s\"}"},
        "service_tier": "standard_only", "context_management": {"edits": [{"type": "clear_thinking_20251015"}]},
        "thinking": {"type": "adaptive"}, "output_config": {"effort": "max", "format": {"type": "json_schema", "schema": {"type": "object"}}},
        "tools": [{"name": "f", "strict": true, "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}}],
        "tool_choice": {"type": "none"},
        "messages": [
            {"role": "user", "content": [
                {"type": "document", "title": "Notes", "source": {"type": "text", "media_type": "text/plain", "data": "the notes"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
                {"type": "search_result", "source": "https://x/doc", "title": "Doc", "content": [{"type": "text", "text": "found"}]},
                {"type": "text", "text": "summarise"}]},
            {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "xx"}, {"type": "thinking", "thinking": "t", "signature": "s"},
                {"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                "content": [{"type": "search_result", "source": "s", "title": "T", "content": [{"type": "text", "text": "r"}]}]}]}]}));
    let o = anthropic_to_openai(&req).unwrap();
    let parts = &o["messages"][0]["content"];
    assert_eq!(parts[0], json!({"type": "text", "text": "Notes\n\nthe notes"}));
    assert_eq!(
        parts[1],
        json!({"type": "file", "file": {"filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBE"}})
    );
    assert_eq!(parts[2], json!({"type": "text", "text": "Doc\nhttps://x/doc\nfound"}));
    assert_eq!(o["messages"][1]["reasoning_content"], "t");
    assert_eq!(o["messages"][2], json!({"role": "tool", "tool_call_id": "t1", "content": "T\ns\nr"}));
    assert_eq!(o["reasoning_effort"], "high");
    assert_eq!(o["response_format"]["json_schema"]["schema"], json!({"type": "object"}));
    assert_eq!(o["service_tier"], "default");
    assert_eq!(o["tool_choice"], "none");
    assert_eq!(o["tools"][0]["function"]["strict"], true);
    assert!(o["user"].as_str().unwrap().contains("session_id"));
    assert!(o.get("context_management").is_none() && o.get("metadata").is_none());

    for (extra, needle) in [
        (json!({"mcp_servers": [{"type": "url", "url": "https://m", "name": "m"}]}), "mcp_servers"),
        (json!({"container": "container_1"}), "container"),
        (json!({"output_config": {"format": {"type": "xml"}}}), "xml"),
    ] {
        let mut r = obj(json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}]}));
        r.extend(extra.as_object().unwrap().clone());
        let e = anthropic_to_openai(&r).unwrap_err().0;
        assert!(e.contains(needle), "{e}");
    }
    let mut ok = obj(json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}]}));
    ok.insert("mcp_servers".into(), json!([]));
    ok.insert("container".into(), Value::Null);
    assert!(anthropic_to_openai(&ok).is_ok(), "empty or null Anthropic-only fields ask for nothing");
    let url_doc = obj(json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}}]}]}));
    assert!(anthropic_to_openai(&url_doc).unwrap_err().0.contains("base64 or text"));
}

#[test]
fn openai_request_becomes_alternating_anthropic_messages() {
    let req = obj(json!({"model": "m", "stop": "X", "parallel_tool_calls": false, "messages": [
        {"role": "system", "content": "a"}, {"role": "developer", "content": "b"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"x\":1}"}},
            {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "not json"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "r1"},
        {"role": "tool", "tool_call_id": "c2", "content": "r2"},
        {"role": "user", "content": [{"type": "text", "text": "and"}, {"type": "image_url", "image_url": {"url": "https://x/i.png"}}]}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}));
    let a = openai_to_anthropic(&req).unwrap();
    assert_eq!(a["system"], "a\n\nb");
    assert_eq!(a["max_tokens"], DEFAULT_MAX_TOKENS);
    assert_eq!(a["stop_sequences"], json!(["X"]));
    let m = a["messages"].as_array().unwrap();
    assert_eq!(m.len(), 3, "{m:?}");
    assert_eq!(m[1]["content"][0]["input"], json!({"x": 1}));
    assert_eq!(m[1]["content"][1]["input"], json!({"_raw_arguments": "not json"}));
    // Both tool results and the next user text merge into one user turn.
    assert_eq!(m[2]["content"].as_array().unwrap().len(), 4);
    assert_eq!(m[2]["content"][0], json!({"type": "tool_result", "tool_use_id": "c1", "content": "r1"}));
    assert_eq!(m[2]["content"][3], json!({"type": "image", "source": {"type": "url", "url": "https://x/i.png"}}));
    assert_eq!(a["tool_choice"], json!({"type": "auto", "disable_parallel_tool_use": true}));
}

#[test]
fn a_request_survives_a_round_trip_in_meaning() {
    // Anthropic -> OpenAI -> Anthropic keeps roles, text, tool calls and tool results.
    let original = obj(json!({"model": "m", "max_tokens": 50, "system": "sys", "temperature": 0.3,
        "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "calling"}, {"type": "tool_use", "id": "t", "name": "f", "input": {"a": [1, 2]}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "done"}]}]}));
    let back = openai_to_anthropic(&anthropic_to_openai(&original).unwrap()).unwrap();
    assert_eq!(back["system"], original["system"]);
    assert_eq!(back["max_tokens"], original["max_tokens"]);
    assert_eq!(back["temperature"], original["temperature"]);
    assert_eq!(back["tools"], original["tools"]);
    assert_eq!(back["messages"], original["messages"]);
}
