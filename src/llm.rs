//! Background LLM calls (the judge now; the evolver and replays later): one chat completion
//! against an upstream of either kind, with the upstream's stored key. Never on the request path.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::config::{Auth, Kind};
use crate::translate::{anthropic_to_openai_response, openai_to_anthropic};
use crate::upstream::Upstream;

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

/// Sends an OpenAI-form chat request to `up` and returns the answer's text.
pub async fn complete(
    client: &reqwest::Client,
    up: &Upstream,
    request: Map<String, Value>,
    timeout: Duration,
) -> Result<String, LlmError> {
    if up.auth == Auth::Passthrough {
        return Err(LlmError::Passthrough(up.name.clone()));
    }
    let (url, body) = match up.kind {
        Kind::Openai => (up.url("chat/completions"), Value::Object(request)),
        Kind::Anthropic => {
            let a = openai_to_anthropic(&request).map_err(|e| LlmError::Shape(up.name.clone(), e.to_string()))?;
            (up.url("messages"), Value::Object(a))
        }
    };
    let mut rb = client.post(&url).json(&body);
    match (up.kind, &up.key) {
        (Kind::Openai, Some(k)) => rb = rb.bearer_auth(k),
        (Kind::Anthropic, Some(k)) => rb = rb.header("x-api-key", k),
        _ => {}
    }
    if up.kind == Kind::Anthropic {
        rb = rb.header("anthropic-version", "2023-06-01");
    }
    let call = async {
        let r = rb.send().await.map_err(|e| LlmError::Call(up.name.clone(), e.to_string()))?;
        let status = r.status();
        let v: Value = r.json().await.map_err(|e| LlmError::Shape(up.name.clone(), e.to_string()))?;
        if !status.is_success() {
            let msg = v["error"]["message"].as_str().unwrap_or("no message").to_string();
            return Err(LlmError::Status(up.name.clone(), status.as_u16(), msg));
        }
        let v = if up.kind == Kind::Anthropic { anthropic_to_openai_response(&v, 0) } else { v };
        v["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| LlmError::Shape(up.name.clone(), "no text in choices[0].message.content".into()))
    };
    tokio::time::timeout(timeout, call).await.map_err(|_| LlmError::Timeout(up.name.clone(), timeout))?
}

/// A chat request with a system prompt and one user message.
pub fn request(model: &str, system: &str, user: &str, temperature: f32, max_tokens: u32) -> Map<String, Value> {
    let v = json!({"model": model, "temperature": temperature, "max_tokens": max_tokens,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]});
    v.as_object().cloned().unwrap_or_default()
}
