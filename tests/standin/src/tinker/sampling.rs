//! What the stand-in serves besides training: the OpenAI-compatible sampling endpoint (base
//! models and saved sampler weights, with logprobs), a distillation teacher
//! (`/v1/completions` with echo), and a Hugging Face hub for tokenizer files.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::Shared;

/// `POST /oai/api/v1/chat/completions`: serves a base model or saved sampler weights.
pub(super) async fn chat(State(s): State<Shared>, h: HeaderMap, body: Bytes) -> Response {
    let bearer = h.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if let Some(k) = &s.opts.api_key {
        if bearer != Some(k.as_str()) {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": {"message": "invalid key", "type": "invalid_request_error"}})),
            )
                .into_response();
        }
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = v["model"].as_str().unwrap_or_default().to_string();
    let known = {
        let mut inner = s.inner.lock().unwrap();
        inner.served.push(model.clone());
        model.starts_with("standin/") || inner.saved.contains_key(&model)
    };
    if !known || !model.starts_with("standin/") && !model.contains("/sampler_weights/") {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"message": format!("unknown model {model}"), "type": "not_found_error"}})),
        )
            .into_response();
    }
    let mut tokens = if s.opts.answer.is_empty() {
        vec!["sure".to_string(), " thing".into(), "<|im_end|>".into()]
    } else {
        s.opts.answer.clone()
    };
    let last_user = v["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| m["content"].to_string())
        .unwrap_or_default();
    if last_user.contains("[[split_tokens]]") {
        // Tokens the served model's tokenizer would not produce: training must refuse them.
        tokens = vec!["su".into(), "re".into(), "<|im_end|>".into()];
    }
    let want = v["logprobs"] == true && !s.opts.no_logprobs;
    let text: String = tokens.iter().filter(|t| !t.starts_with("<|")).cloned().collect();
    let content: Vec<Value> = tokens.iter().enumerate().map(|(i, t)| json!({"token": t, "logprob": -0.25 - 0.125 * i as f64, "bytes": t.as_bytes(), "top_logprobs": []})).collect();
    let logprobs = if want { json!({"content": content}) } else { Value::Null };
    let stream = v["stream"] == true;
    if stream {
        let mut out = String::new();
        let pieces: Vec<&String> = tokens.iter().collect();
        for (i, t) in pieces.iter().enumerate() {
            let delta = if t.starts_with("<|") { json!({}) } else { json!({"content": t}) };
            let lp = if want { json!({"content": [content[i]]}) } else { Value::Null };
            let fin = if i + 1 == pieces.len() { json!("stop") } else { Value::Null };
            let chunk = json!({"id": "chatcmpl-tinker", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
                "choices": [{"index": 0, "delta": delta, "logprobs": lp, "finish_reason": fin}]});
            out.push_str(&format!("data: {chunk}\n\n"));
        }
        out.push_str("data: [DONE]\n\n");
        return ([("content-type", "text/event-stream")], out).into_response();
    }
    Json(json!({
        "id": "chatcmpl-tinker", "object": "chat.completion", "created": 1_700_000_000, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": logprobs, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": tokens.len(), "total_tokens": 10 + tokens.len()}
    }))
    .into_response()
}

/// Splits text the way the tests' word-level tokenizer does: ChatML specials, newlines, words
/// with an optional leading space, runs of other characters, and lone spaces. A teacher that
/// spells "charlie" as two tokens plays one with a different tokenizer.
fn teacher_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(sp) = ["<|im_start|>", "<|im_end|>"].iter().find(|s| rest.starts_with(**s)) {
            out.push(sp.to_string());
            rest = &rest[sp.len()..];
            continue;
        }
        let c = rest.chars().next().unwrap();
        let word_at = |r: &str| r.chars().take_while(|c| c.is_ascii_alphabetic()).map(char::len_utf8).sum::<usize>();
        let len = if c == '\n' {
            1
        } else if c == ' ' && word_at(&rest[1..]) > 0 {
            1 + word_at(&rest[1..])
        } else if c.is_ascii_alphabetic() {
            word_at(rest)
        } else if c == ' ' {
            1
        } else {
            rest.chars()
                .take_while(|c| !c.is_ascii_alphabetic() && *c != '\n' && *c != ' ' && *c != '<')
                .map(char::len_utf8)
                .sum::<usize>()
                .max(c.len_utf8())
        };
        let tok = &rest[..len];
        if tok.trim() == "charlie" {
            out.push(tok[..tok.len() - 3].to_string());
            out.push("lie".into());
        } else {
            out.push(tok.to_string());
        }
        rest = &rest[len..];
    }
    out
}

/// `POST /teacher/v1/completions` with `echo` and `logprobs`: a distillation teacher that gives
/// every token logprob -0.1 (the first `null`), then samples one more token.
pub(super) async fn teacher(Json(v): Json<Value>) -> Response {
    if v["echo"] != true || v["logprobs"].as_u64().is_none() {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": {"message": "echo and logprobs are required here"}})))
            .into_response();
    }
    let mut tokens = teacher_tokens(v["prompt"].as_str().unwrap_or_default());
    tokens.push(" sure".into());
    let lps: Vec<Value> = (0..tokens.len()).map(|i| if i == 0 { Value::Null } else { json!(-0.1) }).collect();
    Json(json!({
        "id": "cmpl-teacher", "object": "text_completion", "created": 1_700_000_000, "model": v["model"],
        "choices": [{"index": 0, "text": tokens.concat(), "finish_reason": "length",
            "logprobs": {"tokens": tokens, "token_logprobs": lps, "top_logprobs": null, "text_offset": []}}]
    }))
    .into_response()
}

/// `GET /{owner}/{name}/resolve/main/{file}`: tokenizer files, as the Hugging Face hub serves them.
pub(super) async fn hub(
    State(s): State<Shared>,
    Path((_owner, _name, file)): Path<(String, String, String)>,
) -> Response {
    let Some(dir) = &s.opts.hub_dir else { return StatusCode::NOT_FOUND.into_response() };
    if file.contains('/') || file.contains("..") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    match std::fs::read(dir.join(&file)) {
        Ok(b) => b.into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "Entry not found").into_response(),
    }
}
