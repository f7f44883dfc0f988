//! Background LLM calls (the judge, the evolver and replays): one chat completion against an
//! upstream of either protocol, with the upstream's stored key. Never on the request path.
//!
//! A request may ask for structured output (`response_format`, OpenAI-kind upstreams only). An
//! upstream that refuses it with 400 is remembered and asked again, then and later, in plain text.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::auth::stored_credentials;
use super::routes::Upstream;
use crate::config::{Auth, Protocol};
use crate::translate::{anthropic_to_openai_response, openai_to_anthropic};

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the upstream {0} takes the caller's credentials (auth = \"passthrough\"), which background calls don't have; use an upstream with a stored key")]
    Passthrough(String),
    #[error("calling {0} failed: {1}")]
    Call(String, String),
    #[error("{0} answered {1}: {2}")]
    Status(String, u16, String),
    #[error("{0} took longer than {1:?}")]
    Timeout(String, Duration),
    #[error("{0} answered something that is not a chat completion: {1}")]
    Shape(String, String),
}

impl LlmError {
    /// The call took too long (rather than failing or answering badly).
    pub fn is_timeout(&self) -> bool {
        matches!(self, LlmError::Timeout(..))
    }
}

/// Upstreams (by name and address) that answered 400 to `response_format`: asked in text since.
fn no_structured_output() -> &'static Mutex<HashSet<String>> {
    static SET: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    SET.get_or_init(Default::default)
}

fn upstream_key(up: &Upstream) -> String {
    format!("{} {}", up.name, up.url(""))
}

/// Sends an OpenAI-form chat request to `up` and returns the answer's text. `response_format`
/// is sent only to OpenAI-kind upstreams that have not refused it; a 400 to it is retried once
/// without it (and remembered).
pub async fn complete(
    client: &reqwest::Client,
    up: &Upstream,
    mut request: Map<String, Value>,
    timeout: Duration,
) -> Result<String, LlmError> {
    if up.auth == Auth::Passthrough {
        return Err(LlmError::Passthrough(up.name.clone()));
    }
    let structured = request.contains_key("response_format")
        && up.kind == Protocol::OpenAi
        && !no_structured_output().lock().expect("formats lock").contains(&upstream_key(up));
    if !structured {
        request.remove("response_format");
        return tokio::time::timeout(timeout, call(client, up, request))
            .await
            .map_err(|_| LlmError::Timeout(up.name.clone(), timeout))?;
    }
    let started = tokio::time::Instant::now();
    let first = tokio::time::timeout(timeout, call(client, up, request.clone()))
        .await
        .map_err(|_| LlmError::Timeout(up.name.clone(), timeout))?;
    match first {
        Err(LlmError::Status(_, 400, msg)) => {
            tracing::info!(upstream = %up.name, error = %msg, "the upstream refused structured output; asking in plain text");
            no_structured_output().lock().expect("formats lock").insert(upstream_key(up));
            request.remove("response_format");
            let left = timeout.saturating_sub(started.elapsed());
            tokio::time::timeout(left, call(client, up, request))
                .await
                .map_err(|_| LlmError::Timeout(up.name.clone(), timeout))?
        }
        other => other,
    }
}

async fn call(client: &reqwest::Client, up: &Upstream, request: Map<String, Value>) -> Result<String, LlmError> {
    let (url, body) = match up.kind {
        Protocol::OpenAi => (up.url("chat/completions"), Value::Object(request)),
        Protocol::Anthropic => {
            let a = openai_to_anthropic(&request).map_err(|e| LlmError::Shape(up.name.clone(), e.to_string()))?;
            (up.url("messages"), Value::Object(a))
        }
    };
    let rb = stored_credentials(client.post(&url).json(&body), up);
    let r = rb.send().await.map_err(|e| LlmError::Call(up.name.clone(), e.to_string()))?;
    let status = r.status();
    let v: Value = match r.json().await {
        Ok(v) => v,
        Err(_) if !status.is_success() => Value::Null,
        Err(e) => return Err(LlmError::Shape(up.name.clone(), e.to_string())),
    };
    if !status.is_success() {
        let msg = v["error"]["message"].as_str().unwrap_or("no message").to_string();
        return Err(LlmError::Status(up.name.clone(), status.as_u16(), msg));
    }
    let v = if up.kind == Protocol::Anthropic { anthropic_to_openai_response(&v, 0) } else { v };
    v["choices"][0]["message"]["content"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| LlmError::Shape(up.name.clone(), "no text in choices[0].message.content".into()))
}

/// A chat request with a system prompt and one user message.
pub fn request(model: &str, system: &str, user: &str, temperature: f32, max_tokens: u32) -> Map<String, Value> {
    let v = json!({"model": model, "temperature": temperature, "max_tokens": max_tokens,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]});
    v.as_object().cloned().unwrap_or_default()
}

/// Asks for an answer shaped by `format` (an OpenAI `response_format` value) where the upstream
/// supports it; the caller still parses text, since an upstream may ignore or refuse it.
pub fn with_format(mut request: Map<String, Value>, format: Value) -> Map<String, Value> {
    request.insert("response_format".into(), format);
    request
}
