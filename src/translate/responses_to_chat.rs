//! A Responses API request as the Chat Completions request to send an upstream that only speaks
//! Chat Completions. Input a chat upstream can't carry — files, item references, built-in tool
//! calls — is refused with a clear error rather than dropped; opaque reasoning items are left out
//! (a chat upstream has nowhere to put them), and so are the built-in tools the client offers
//! (web search, tool namespaces…): the model is offered its function tools only. Codex CLI offers
//! `web_search` and a `namespace` with every request, so refusing them would refuse Codex.

use serde_json::{json, Map, Value};

use super::responses::input_messages;
use super::{unsupported, TranslateError};

/// Fields with the same name and meaning in both APIs.
const SAME: &[&str] = &["model", "temperature", "top_p", "parallel_tool_calls", "user", "top_logprobs", "stream"];

/// Checks that every input item and content part has a chat equivalent.
fn check_input(body: &Map<String, Value>) -> Result<(), TranslateError> {
    for item in body.get("input").and_then(Value::as_array).into_iter().flatten() {
        match item.get("type").and_then(Value::as_str) {
            None | Some("message") => {
                for part in item.get("content").and_then(Value::as_array).into_iter().flatten() {
                    match part.get("type").and_then(Value::as_str) {
                        Some("input_text" | "output_text" | "text" | "refusal") => {}
                        Some("input_image") if part.get("image_url").is_some_and(Value::is_string) => {}
                        Some(t) => {
                            return Err(unsupported(format!(
                                "a `{t}` content part (a chat-only upstream takes text and image URLs)"
                            )))
                        }
                        None => return Err(unsupported("a content part without a `type`")),
                    }
                }
            }
            Some("function_call" | "function_call_output" | "reasoning") => {}
            Some("item_reference") => {
                return Err(unsupported(
                    "an `item_reference` input item (a chat-only upstream keeps no items; send the item itself)",
                ))
            }
            Some(t) => return Err(unsupported(format!("a `{t}` input item"))),
        }
    }
    Ok(())
}

/// A function tool in chat form (`None` for a built-in tool).
fn tool(t: &Value) -> Option<Value> {
    if t.get("type").and_then(Value::as_str) != Some("function") {
        return None;
    }
    let mut f = Map::new();
    for k in ["name", "description", "parameters", "strict"] {
        if let Some(v) = t.get(k).filter(|v| !v.is_null()) {
            f.insert(k.into(), v.clone());
        }
    }
    Some(json!({"type": "function", "function": f}))
}

/// The built-in tools of a request (by type), which a chat upstream is not offered.
pub fn left_out_tools(body: &Map<String, Value>) -> Vec<&str> {
    let tools = body.get("tools").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    tools.iter().filter(|t| t["type"] != "function").map(|t| t["type"].as_str().unwrap_or("?")).collect()
}

/// `tool_choice` in chat form.
fn tool_choice(c: &Value) -> Result<Value, TranslateError> {
    match c {
        Value::String(_) => Ok(c.clone()),
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("function") => {
            Ok(json!({"type": "function", "function": {"name": o.get("name").cloned().unwrap_or(Value::Null)}}))
        }
        _ => Err(unsupported("a `tool_choice` naming a built-in tool")),
    }
}

/// `text.format` as chat's `response_format` (`None` for plain text).
fn response_format(text: &Value) -> Option<Value> {
    let f = text.get("format")?;
    match f.get("type").and_then(Value::as_str)? {
        "json_schema" => {
            let mut s = Map::new();
            for k in ["name", "description", "schema", "strict"] {
                if let Some(v) = f.get(k) {
                    s.insert(k.into(), v.clone());
                }
            }
            Some(json!({"type": "json_schema", "json_schema": s}))
        }
        "json_object" => Some(json!({"type": "json_object"})),
        _ => None,
    }
}

/// The chat request for a Responses request. `history` is the conversation before it (the
/// messages of a `previous_response_id` chain, kept by MetaClaw), placed after the instructions.
/// Streams ask for the usage chunk.
pub fn responses_to_chat(body: &Map<String, Value>, history: &[Value]) -> Result<Map<String, Value>, TranslateError> {
    check_input(body)?;
    let mut out = Map::new();
    for k in SAME {
        if let Some(v) = body.get(*k).filter(|v| !v.is_null()) {
            out.insert((*k).into(), v.clone());
        }
    }
    let mut messages = input_messages(body);
    // Chat servers' templates know `system`; `developer` is OpenAI's newer name for it.
    for m in &mut messages {
        if m["role"] == "developer" {
            m["role"] = json!("system");
        }
    }
    let at = usize::from(body.get("instructions").is_some_and(Value::is_string));
    messages.splice(at..at, history.iter().cloned());
    out.insert("messages".into(), Value::Array(messages));
    let tools: Vec<Value> =
        body.get("tools").and_then(Value::as_array).into_iter().flatten().filter_map(tool).collect();
    let choice = body.get("tool_choice").filter(|c| !c.is_null()).map(tool_choice).transpose()?;
    if tools.is_empty() {
        // Chat APIs refuse tool settings without tools (all of them may have been built-in).
        out.remove("parallel_tool_calls");
    } else {
        out.insert("tools".into(), Value::Array(tools));
        if let Some(c) = choice {
            out.insert("tool_choice".into(), c);
        }
    }
    if let Some(n) = body.get("max_output_tokens").filter(|n| !n.is_null()) {
        out.insert("max_tokens".into(), n.clone());
    }
    if let Some(f) = body.get("text").and_then(response_format) {
        out.insert("response_format".into(), f);
    }
    if let Some(e) = body.get("reasoning").and_then(|r| r.get("effort")).filter(|e| e.is_string()) {
        out.insert("reasoning_effort".into(), e.clone());
    }
    if out.get("stream") == Some(&Value::Bool(true)) {
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_responses_request_becomes_a_chat_request_with_its_history() {
        let body = obj(json!({"model": "m", "instructions": "be brief", "stream": true, "store": true,
            "previous_response_id": "resp_1", "max_output_tokens": 50, "temperature": 0.5,
            "reasoning": {"effort": "low"}, "tool_choice": {"type": "function", "name": "f"},
            "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": true}},
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": null},
                {"type": "web_search"}, {"type": "namespace", "name": "agents", "tools": []}],
            "input": [{"type": "reasoning", "id": "rs", "summary": []}, {"role": "developer", "content": "use tools"},
                {"role": "user", "content": "and now?"}]}));
        let history = [json!({"role": "user", "content": "hi"}), json!({"role": "assistant", "content": "hello"})];
        let chat = responses_to_chat(&body, &history).unwrap();
        assert_eq!(
            Value::Object(chat),
            json!({"model": "m", "temperature": 0.5, "stream": true, "stream_options": {"include_usage": true},
                "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "hello"}, {"role": "system", "content": "use tools"},
                    {"role": "user", "content": "and now?"}],
                "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
                "tool_choice": {"type": "function", "function": {"name": "f"}}, "max_tokens": 50,
                "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": true}},
                "reasoning_effort": "low"})
        );
        assert_eq!(left_out_tools(&body), ["web_search", "namespace"], "built-in tools are not offered");
        let only_builtin = obj(json!({"input": "x", "tools": [{"type": "web_search"}], "tool_choice": "auto",
            "parallel_tool_calls": true}));
        let chat = responses_to_chat(&only_builtin, &[]).unwrap();
        assert!(
            !chat.contains_key("tools")
                && !chat.contains_key("tool_choice")
                && !chat.contains_key("parallel_tool_calls")
        );
        let chat = responses_to_chat(&obj(json!({"model": "m", "input": "x"})), &history).unwrap();
        assert_eq!(chat["messages"][0]["content"], "hi", "without instructions the history comes first");
    }

    #[test]
    fn what_a_chat_upstream_cannot_carry_is_refused() {
        for (body, needle) in [
            (json!({"input": [{"type": "web_search_call", "id": "ws"}]}), "`web_search_call` input item"),
            (json!({"input": [{"type": "item_reference", "id": "msg_1"}]}), "item_reference"),
            (json!({"input": [{"type": "computer_call_output"}]}), "`computer_call_output` input item"),
            (json!({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}), "`input_file`"),
            (json!({"input": "x", "tool_choice": {"type": "web_search"}}), "tool_choice"),
        ] {
            let e = responses_to_chat(&obj(body.clone()), &[]).unwrap_err();
            assert!(e.0.contains(needle), "{body}: {e}");
        }
    }
}
