//! Building a chat turn's request for one upstream: the path for its protocol, and the body — the
//! client's bytes as received when nothing changes, else re-serialised with the upstream's model
//! override and logprobs, translated when the upstream speaks the other protocol.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::error::UpstreamError;
use super::routes::Upstream;
use crate::config::Protocol;
use crate::translate::{anthropic_to_openai, openai_to_anthropic};

/// The path of a chat turn on `up`, under its base URL.
pub fn turn_path(up: &Upstream) -> &'static str {
    match up.kind {
        Protocol::Anthropic => "messages",
        Protocol::OpenAi => "chat/completions",
    }
}

/// The body of a chat turn for `up`, from the `client`'s `body` (and its `original` bytes when
/// MetaClaw changed nothing).
pub fn turn_body(
    up: &Upstream,
    client: Protocol,
    body: &Map<String, Value>,
    original: Option<&Bytes>,
) -> Result<Bytes, UpstreamError> {
    let same = client == up.kind;
    if let (Some(raw), None) = (original, &up.model) {
        if same && !up.logprobs {
            return Ok(raw.clone());
        }
    }
    if same && up.model.is_none() && !up.logprobs {
        // Edited by MetaClaw only (skills, hints): serialised as it is, without a copy.
        return Ok(Bytes::from(serde_json::to_vec(body).expect("JSON values serialise")));
    }
    let mut b = if same {
        Ok(body.clone())
    } else if client == Protocol::OpenAi {
        openai_to_anthropic(body)
    } else {
        anthropic_to_openai(body)
    }
    .map_err(|e| UpstreamError::Translate { upstream: up.name.clone(), message: e.to_string() })?;
    if let Some(m) = &up.model {
        b.insert("model".into(), Value::String(m.clone()));
    }
    if up.logprobs && up.kind == Protocol::OpenAi {
        b.insert("logprobs".into(), Value::Bool(true));
    }
    Ok(Bytes::from(serde_json::to_vec(&b).expect("JSON values serialise")))
}
