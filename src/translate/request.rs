//! Requests: Anthropic Messages → OpenAI Chat Completions and back.

use serde_json::{json, Map, Value};

use super::{unsupported, TranslateError};

type Obj = Map<String, Value>;

fn text_of_blocks(v: &Value) -> Result<String, TranslateError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Array(blocks) => {
            let mut out = Vec::new();
            for b in blocks {
                match b["type"].as_str() {
                    Some("text") => out.push(b["text"].as_str().unwrap_or_default().to_string()),
                    Some("search_result") => out.push(search_result_text(b)),
                    Some("document") => out.push(document_text(b)?),
                    Some(t) => return Err(unsupported(format!("a `{t}` block cannot be used here; only text"))),
                    None => return Err(unsupported("a content block has no `type`")),
                }
            }
            Ok(out.join("\n\n"))
        }
        Value::Null => Ok(String::new()),
        _ => Err(unsupported("content must be a string or a list of blocks")),
    }
}

/// A `search_result` block (a RAG source the client supplies) as plain text: its title, its
/// source, then its text blocks. Citations can't be asked of an OpenAI-compatible upstream.
fn search_result_text(b: &Value) -> String {
    let mut out = String::new();
    for key in ["title", "source"] {
        if let Some(s) = b[key].as_str().filter(|s| !s.is_empty()) {
            out.push_str(s);
            out.push('\n');
        }
    }
    let body: Vec<&str> = b["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["type"] == "text")
        .filter_map(|c| c["text"].as_str())
        .collect();
    out.push_str(&body.join("\n\n"));
    out
}

/// A text `document` block (plain text or a list of text blocks) as plain text, its title
/// first. Other sources are not text: see [`document_to_openai`].
fn document_text(b: &Value) -> Result<String, TranslateError> {
    let src = &b["source"];
    let body = match src["type"].as_str() {
        Some("text") => src["data"].as_str().unwrap_or_default().to_string(),
        Some("content") => text_of_blocks(&src["content"])?,
        other => {
            return Err(unsupported(format!(
                "a `document` with source type {other:?} can only be sent to an OpenAI-compatible upstream as \
                 a user message part (or as text or content)"
            )))
        }
    };
    let title = b["title"].as_str().filter(|t| !t.is_empty());
    Ok(match title {
        Some(t) => format!("{t}\n\n{body}"),
        None => body,
    })
}

/// A `document` block in a user message as an OpenAI content part: text documents as text, a
/// base64 PDF as a `file` part. A document by URL or by Files API id has no equivalent and is
/// refused.
fn document_to_openai(b: &Value) -> Result<Value, TranslateError> {
    let src = &b["source"];
    match src["type"].as_str() {
        Some("text" | "content") => Ok(json!({"type": "text", "text": document_text(b)?})),
        Some("base64") => {
            let media = src["media_type"].as_str().unwrap_or("application/pdf");
            let data = src["data"].as_str().ok_or_else(|| unsupported("a document block has no data"))?;
            let name = b["title"].as_str().filter(|t| !t.is_empty()).unwrap_or("document.pdf");
            Ok(json!({"type": "file", "file": {"filename": name, "file_data": format!("data:{media};base64,{data}")}}))
        }
        other => Err(unsupported(format!(
            "a `document` with source type {other:?} cannot be sent to an OpenAI-compatible upstream: send it as \
             base64 or text"
        ))),
    }
}

fn image_to_openai(b: &Value) -> Result<Value, TranslateError> {
    let src = &b["source"];
    let url = match src["type"].as_str() {
        Some("base64") => format!(
            "data:{};base64,{}",
            src["media_type"].as_str().unwrap_or("image/png"),
            src["data"].as_str().ok_or_else(|| unsupported("an image block has no data"))?
        ),
        Some("url") => src["url"].as_str().ok_or_else(|| unsupported("an image block has no url"))?.to_string(),
        other => {
            return Err(unsupported(format!(
                "image source type {other:?} cannot be sent to an OpenAI-compatible upstream"
            )))
        }
    };
    Ok(json!({"type": "image_url", "image_url": {"url": url}}))
}

/// An Anthropic Messages request as an OpenAI Chat Completions request.
pub fn anthropic_to_openai(req: &Obj) -> Result<Obj, TranslateError> {
    let mut out = Obj::new();
    let mut messages = Vec::new();
    if let Some(system) = req.get("system") {
        let text = text_of_blocks(system)?;
        if !text.is_empty() {
            messages.push(json!({"role": "system", "content": text}));
        }
    }
    for (i, m) in req.get("messages").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let role = m["role"].as_str().ok_or_else(|| unsupported(format!("messages[{i}].role is required")))?;
        match (role, &m["content"]) {
            (_, Value::String(s)) => messages.push(json!({"role": role, "content": s})),
            ("user", Value::Array(blocks)) => {
                let mut parts = Vec::new();
                for b in blocks {
                    match b["type"].as_str() {
                        Some("text") => parts.push(json!({"type": "text", "text": b["text"]})),
                        Some("image") => parts.push(image_to_openai(b)?),
                        Some("document") => parts.push(document_to_openai(b)?),
                        Some("search_result") => parts.push(json!({"type": "text", "text": search_result_text(b)})),
                        Some("tool_result") => {
                            let mut content = text_of_blocks(&b["content"])?;
                            if b["is_error"] == true {
                                content = format!("Error: {content}");
                            }
                            // Tool results are messages of their own in the OpenAI format.
                            messages
                                .push(json!({"role": "tool", "tool_call_id": b["tool_use_id"], "content": content}));
                        }
                        Some(t) => {
                            return Err(unsupported(format!(
                                "a `{t}` block in a user message cannot be sent to an OpenAI-compatible upstream"
                            )))
                        }
                        None => return Err(unsupported(format!("messages[{i}] has a block without `type`"))),
                    }
                }
                if !parts.is_empty() {
                    let all_text = parts.iter().all(|p| p["type"] == "text");
                    let content =
                        if all_text && parts.len() == 1 { parts[0]["text"].clone() } else { Value::Array(parts) };
                    messages.push(json!({"role": "user", "content": content}));
                }
            }
            ("assistant", Value::Array(blocks)) => {
                let mut text = Vec::new();
                let mut reasoning = Vec::new();
                let mut calls = Vec::new();
                for b in blocks {
                    match b["type"].as_str() {
                        Some("text") => text.push(b["text"].as_str().unwrap_or_default().to_string()),
                        Some("thinking") => reasoning.push(b["thinking"].as_str().unwrap_or_default().to_string()),
                        Some("redacted_thinking") => {}
                        Some("tool_use") => calls.push(json!({"id": b["id"], "type": "function",
                            "function": {"name": b["name"], "arguments": b["input"].to_string()}})),
                        Some(t) => {
                            return Err(unsupported(format!(
                                "a `{t}` block in an assistant message cannot be sent to an OpenAI-compatible upstream"
                            )))
                        }
                        None => return Err(unsupported(format!("messages[{i}] has a block without `type`"))),
                    }
                }
                let mut msg = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { json!(text.join("")) }});
                if !reasoning.is_empty() {
                    msg["reasoning_content"] = json!(reasoning.join("\n"));
                }
                if !calls.is_empty() {
                    msg["tool_calls"] = json!(calls);
                }
                messages.push(msg);
            }
            // The Messages API takes system messages among the turns (Claude Code sends them):
            // a system message at the same place, for OpenAI-compatible upstreams.
            ("system", content @ Value::Array(_)) => messages.push(json!({"role": "system",
                "content": text_of_blocks(content).map_err(|e| unsupported(format!("messages[{i}]: {e}")))?})),
            (r, _) => {
                return Err(unsupported(format!("messages[{i}]: role {r:?} with this content cannot be translated")))
            }
        }
    }
    out.insert("model".into(), req.get("model").cloned().unwrap_or(Value::Null));
    out.insert("messages".into(), Value::Array(messages));
    for (from, to) in [
        ("max_tokens", "max_tokens"),
        ("temperature", "temperature"),
        ("top_p", "top_p"),
        ("stream", "stream"),
        ("top_k", "top_k"),
    ] {
        if let Some(v) = req.get(from) {
            out.insert(to.into(), v.clone());
        }
    }
    if req.get("stream") == Some(&Value::Bool(true)) {
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    if let Some(s) = req.get("stop_sequences") {
        out.insert("stop".into(), s.clone());
    }
    if let Some(u) = req.get("metadata").and_then(|m| m.get("user_id")) {
        out.insert("user".into(), u.clone());
    }
    if let Some(t) = req.get("thinking") {
        if t["type"] == "enabled" {
            let budget = t["budget_tokens"].as_u64().unwrap_or(0);
            let effort = if budget < 4096 {
                "low"
            } else if budget < 16384 {
                "medium"
            } else {
                "high"
            };
            out.insert("reasoning_effort".into(), json!(effort));
        }
    }
    // Adaptive thinking leaves the effort to the model; an explicit effort says it.
    if let Some(effort) = req.get("output_config").and_then(|c| c["effort"].as_str()) {
        let effort = if effort == "max" { "high" } else { effort };
        out.insert("reasoning_effort".into(), json!(effort));
    }
    let format = req.get("output_config").and_then(|c| c.get("format")).or_else(|| req.get("output_format"));
    if let Some(f) = format.filter(|f| !f.is_null()) {
        match f["type"].as_str() {
            Some("json_schema") => {
                let schema = f.get("schema").cloned().unwrap_or(json!({"type": "object"}));
                out.insert(
                    "response_format".into(),
                    json!({"type": "json_schema", "json_schema": {"name": "output", "schema": schema, "strict": true}}),
                );
            }
            other => return Err(unsupported(format!("output format type {other:?} cannot be translated"))),
        }
    }
    match req.get("service_tier").and_then(Value::as_str) {
        Some("standard_only") => {
            out.insert("service_tier".into(), json!("default"));
        }
        Some(t) => {
            out.insert("service_tier".into(), json!(t));
        }
        None => {}
    }
    // Anthropic-hosted features: refused rather than silently dropped. (`context_management`
    // only trims the context Anthropic keeps; without it the full conversation is sent.)
    for (key, what) in
        [("mcp_servers", "the MCP connector (`mcp_servers`)"), ("container", "a code-execution `container`")]
    {
        let set = req.get(key).is_some_and(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()));
        if set {
            return Err(unsupported(format!(
                "{what} is Anthropic-only and cannot be used with an OpenAI-compatible upstream"
            )));
        }
    }
    if let Some(tools) = req.get("tools").and_then(Value::as_array) {
        let mut out_tools = Vec::new();
        for t in tools {
            if t.get("input_schema").is_none() {
                let kind = t["type"].as_str().unwrap_or("unknown");
                return Err(unsupported(format!(
                    "the server tool `{kind}` is Anthropic-only and cannot be used with an OpenAI-compatible upstream"
                )));
            }
            let mut f = json!({"name": t["name"], "parameters": t["input_schema"]});
            if let Some(d) = t.get("description") {
                f["description"] = d.clone();
            }
            if t["strict"] == true {
                f["strict"] = json!(true);
            }
            out_tools.push(json!({"type": "function", "function": f}));
        }
        out.insert("tools".into(), Value::Array(out_tools));
    }
    if let Some(tc) = req.get("tool_choice") {
        let choice = match tc["type"].as_str() {
            Some("auto") => json!("auto"),
            Some("any") => json!("required"),
            Some("none") => json!("none"),
            Some("tool") => json!({"type": "function", "function": {"name": tc["name"]}}),
            other => return Err(unsupported(format!("tool_choice type {other:?} cannot be translated"))),
        };
        out.insert("tool_choice".into(), choice);
        if tc["disable_parallel_tool_use"] == true {
            out.insert("parallel_tool_calls".into(), json!(false));
        }
    }
    Ok(out)
}

fn image_to_anthropic(part: &Value) -> Result<Value, TranslateError> {
    let url = part["image_url"]["url"]
        .as_str()
        .or_else(|| part["image_url"].as_str())
        .ok_or_else(|| unsupported("an image_url part has no url"))?;
    if let Some(rest) = url.strip_prefix("data:") {
        let (media, data) = rest.split_once(";base64,").ok_or_else(|| unsupported("image data URLs must be base64"))?;
        Ok(json!({"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}))
    } else {
        Ok(json!({"type": "image", "source": {"type": "url", "url": url}}))
    }
}

fn user_blocks(content: &Value) -> Result<Vec<Value>, TranslateError> {
    match content {
        Value::String(s) => Ok(vec![json!({"type": "text", "text": s})]),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p["type"].as_str() {
                Some("text") => Ok(json!({"type": "text", "text": p["text"]})),
                Some("image_url") => image_to_anthropic(p),
                Some(t) => Err(unsupported(format!("a `{t}` content part cannot be sent to an Anthropic upstream"))),
                None => Err(unsupported("a content part has no `type`")),
            })
            .collect(),
        Value::Null => Ok(vec![]),
        _ => Err(unsupported("message content must be a string or a list of parts")),
    }
}

/// Appends a message, merging it into the previous one if it has the same role (the Messages
/// API wants user and assistant turns to alternate).
fn push_merged(messages: &mut Vec<Value>, role: &str, blocks: Vec<Value>) {
    if blocks.is_empty() {
        return;
    }
    if let Some(last) = messages.last_mut() {
        if last["role"] == role {
            if let Some(arr) = last["content"].as_array_mut() {
                arr.extend(blocks);
                return;
            }
        }
    }
    messages.push(json!({"role": role, "content": blocks}));
}

/// Default `max_tokens` when an OpenAI client doesn't set one (the Messages API requires it).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// An OpenAI Chat Completions request as an Anthropic Messages request.
pub fn openai_to_anthropic(req: &Obj) -> Result<Obj, TranslateError> {
    for (key, why) in [
        ("logprobs", "log probabilities are not available from the Anthropic Messages API"),
        ("response_format", "response_format has no equivalent in the Anthropic Messages API"),
        ("audio", "audio output is not available from the Anthropic Messages API"),
    ] {
        let set = req.get(key).is_some_and(|v| !v.is_null() && v != &Value::Bool(false));
        // A plain-text response_format asks for nothing beyond the default.
        let plain_text = key == "response_format" && req.get(key).is_some_and(|v| v["type"] == "text");
        if set && !plain_text {
            return Err(unsupported(format!("`{key}` cannot be used with an Anthropic upstream: {why}")));
        }
    }
    if req.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1) {
        return Err(unsupported(
            "`n` > 1 cannot be used with an Anthropic upstream: it returns one answer per request",
        ));
    }
    let mut system = Vec::new();
    let mut messages: Vec<Value> = Vec::new();
    for (i, m) in req.get("messages").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let role = m["role"].as_str().unwrap_or_default();
        match role {
            "system" | "developer" => {
                system.push(text_of_blocks(&m["content"]).map_err(|e| unsupported(format!("messages[{i}]: {e}")))?)
            }
            "user" => push_merged(&mut messages, "user", user_blocks(&m["content"])?),
            "assistant" => {
                let mut blocks = Vec::new();
                let text = text_of_blocks(&m["content"]).unwrap_or_default();
                if !text.is_empty() {
                    blocks.push(json!({"type": "text", "text": text}));
                }
                for c in m["tool_calls"].as_array().into_iter().flatten() {
                    let args = c["function"]["arguments"].as_str().unwrap_or("{}");
                    let input: Value = serde_json::from_str(args).unwrap_or_else(|_| json!({"_raw_arguments": args}));
                    blocks.push(
                        json!({"type": "tool_use", "id": c["id"], "name": c["function"]["name"], "input": input}),
                    );
                }
                push_merged(&mut messages, "assistant", blocks);
            }
            "tool" => {
                let content = text_of_blocks(&m["content"]).map_err(|e| unsupported(format!("messages[{i}]: {e}")))?;
                push_merged(
                    &mut messages,
                    "user",
                    vec![json!({"type": "tool_result", "tool_use_id": m["tool_call_id"], "content": content})],
                );
            }
            other => {
                return Err(unsupported(format!(
                    "messages[{i}]: role {other:?} cannot be sent to an Anthropic upstream"
                )))
            }
        }
    }
    let mut out = Obj::new();
    out.insert("model".into(), req.get("model").cloned().unwrap_or(Value::Null));
    if !system.is_empty() {
        out.insert("system".into(), json!(system.join("\n\n")));
    }
    out.insert("messages".into(), Value::Array(messages));
    let max = req
        .get("max_completion_tokens")
        .or_else(|| req.get("max_tokens"))
        .cloned()
        .unwrap_or(json!(DEFAULT_MAX_TOKENS));
    out.insert("max_tokens".into(), max);
    for k in ["temperature", "top_p", "stream", "top_k"] {
        if let Some(v) = req.get(k).filter(|v| !v.is_null()) {
            out.insert(k.into(), v.clone());
        }
    }
    match req.get("stop") {
        Some(Value::String(s)) => {
            out.insert("stop_sequences".into(), json!([s]));
        }
        Some(Value::Array(a)) => {
            out.insert("stop_sequences".into(), Value::Array(a.clone()));
        }
        _ => {}
    }
    if let Some(u) = req.get("user").filter(|u| u.is_string()) {
        out.insert("metadata".into(), json!({"user_id": u}));
    }
    if let Some(tools) = req.get("tools").and_then(Value::as_array) {
        let mut out_tools = Vec::new();
        for t in tools {
            if t["type"] != "function" {
                return Err(unsupported(format!("tool type {:?} cannot be sent to an Anthropic upstream", t["type"])));
            }
            let f = &t["function"];
            let mut tool = json!({"name": f["name"], "input_schema": f.get("parameters").cloned().unwrap_or(json!({"type": "object", "properties": {}}))});
            if let Some(d) = f.get("description") {
                tool["description"] = d.clone();
            }
            out_tools.push(tool);
        }
        out.insert("tools".into(), Value::Array(out_tools));
    }
    let parallel_off = req.get("parallel_tool_calls") == Some(&Value::Bool(false));
    if let Some(tc) = req.get("tool_choice") {
        let mut choice = match tc {
            Value::String(s) if s == "auto" => json!({"type": "auto"}),
            Value::String(s) if s == "required" => json!({"type": "any"}),
            Value::String(s) if s == "none" => json!({"type": "none"}),
            Value::Object(_) => json!({"type": "tool", "name": tc["function"]["name"]}),
            other => return Err(unsupported(format!("tool_choice {other} cannot be translated"))),
        };
        if parallel_off {
            choice["disable_parallel_tool_use"] = json!(true);
        }
        out.insert("tool_choice".into(), choice);
    } else if parallel_off && out.contains_key("tools") {
        out.insert("tool_choice".into(), json!({"type": "auto", "disable_parallel_tool_use": true}));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
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
        let rf_text = obj(
            json!({"model": "m", "response_format": {"type": "text"}, "messages": [{"role": "user", "content": "x"}]}),
        );
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
}

/// Property test: random conversations (text, images, tool calls with arbitrary JSON inputs,
/// tool results, tools and tool choice) keep their meaning through Anthropic → OpenAI →
/// Anthropic.
#[cfg(test)]
mod property {
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn text(&mut self) -> String {
            let words = ["alpha", "beta", "ünïcode", "emoji 🎉", "quote \"x\"", "new\nline", "tab\t", "{json}", ""];
            (0..1 + self.pick(4)).map(|_| words[self.pick(words.len() as u64) as usize]).collect::<Vec<_>>().join(" ")
        }
        fn json(&mut self, depth: u32) -> Value {
            match if depth > 2 { self.pick(4) } else { self.pick(6) } {
                0 => json!(self.pick(1000)),
                1 => json!(self.text()),
                2 => json!(self.pick(2) == 0),
                3 => Value::Null,
                4 => Value::Array((0..self.pick(3)).map(|_| self.json(depth + 1)).collect()),
                _ => Value::Object((0..self.pick(3)).map(|i| (format!("k{i}"), self.json(depth + 1))).collect()),
            }
        }
    }

    fn conversation(r: &mut Rng) -> Obj {
        let mut messages = Vec::new();
        let mut pending_tools: Vec<String> = Vec::new();
        for turn in 0..1 + r.pick(5) {
            // User turn: tool results for the previous assistant's calls first, then text/images.
            let mut blocks: Vec<Value> = pending_tools
                .drain(..)
                .map(|id| json!({"type": "tool_result", "tool_use_id": id, "content": r.text()}))
                .collect();
            blocks.push(json!({"type": "text", "text": r.text()}));
            if r.pick(4) == 0 {
                blocks.push(json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}));
            }
            messages.push(json!({"role": "user", "content": blocks}));
            // Assistant turn: text, then maybe tool calls with arbitrary inputs.
            let mut blocks = vec![json!({"type": "text", "text": format!("answer {turn}")})];
            for c in 0..r.pick(3) {
                let id = format!("toolu_{turn}_{c}");
                let mut input = Map::new();
                input.insert("arg".into(), r.json(0));
                blocks.push(json!({"type": "tool_use", "id": id, "name": "tool", "input": input}));
                pending_tools.push(id);
            }
            messages.push(json!({"role": "assistant", "content": blocks}));
        }
        let mut req = json!({"model": "m", "max_tokens": 1 + r.pick(4000), "system": r.text(), "messages": messages,
            "tools": [{"name": "tool", "description": r.text(), "input_schema": {"type": "object"}}]});
        if r.pick(2) == 0 {
            req["temperature"] = json!(0.5);
            req["stop_sequences"] = json!(["STOP"]);
        }
        match r.pick(4) {
            0 => req["tool_choice"] = json!({"type": "auto"}),
            1 => req["tool_choice"] = json!({"type": "any"}),
            2 => req["tool_choice"] = json!({"type": "tool", "name": "tool"}),
            _ => {}
        }
        req.as_object().unwrap().clone()
    }

    #[test]
    fn random_conversations_survive_a_round_trip() {
        let mut r = Rng(0x243f6a8885a308d3);
        for case in 0..300 {
            let original = conversation(&mut r);
            let there = anthropic_to_openai(&original).unwrap_or_else(|e| panic!("case {case}: {e}"));
            let back = openai_to_anthropic(&there).unwrap_or_else(|e| panic!("case {case}: {e}"));
            for key in ["model", "max_tokens", "temperature", "stop_sequences", "tools", "tool_choice"] {
                assert_eq!(back.get(key), original.get(key), "case {case}: {key}");
            }
            if original["system"].as_str().is_some_and(|s| !s.is_empty()) {
                assert_eq!(back["system"], original["system"], "case {case}");
            }
            // Text blocks come back as strings where they were alone; compare block by block.
            let norm = |m: &Value| -> Vec<Value> {
                m["content"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| if b["type"] == "text" && b["text"] == "" { json!(null) } else { b.clone() })
                    .filter(|b| !b.is_null())
                    .collect()
            };
            let (a, b) = (original["messages"].as_array().unwrap(), back["messages"].as_array().unwrap());
            assert_eq!(a.len(), b.len(), "case {case}: {a:?} vs {b:?}");
            for (x, y) in a.iter().zip(b) {
                assert_eq!(x["role"], y["role"], "case {case}");
                assert_eq!(norm(x), norm(y), "case {case}");
            }
        }
    }
}
