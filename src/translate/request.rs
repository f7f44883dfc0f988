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
mod tests;

#[cfg(test)]
mod property;
