//! Translation between the OpenAI Chat Completions and the Anthropic Messages wire formats, so
//! either kind of client can use either kind of upstream: requests, whole responses and streams.
//!
//! What cannot be carried across is refused with a clear error rather than dropped: see
//! [`TranslateError`] and the README's "Protocol translation" section.

pub mod chat_to_responses;
mod request;
mod response;
pub mod responses;
pub mod responses_to_chat;
pub mod sse;
mod stream;

pub use request::{anthropic_to_openai, openai_to_anthropic};
pub use response::{anthropic_to_openai_response, openai_to_anthropic_response};
pub use stream::{AnthropicToOpenAiStream, OpenAiToAnthropicStream, StreamConverter};

/// A request that can't be expressed in the other protocol.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TranslateError(pub String);

pub(crate) fn unsupported(what: impl Into<String>) -> TranslateError {
    TranslateError(what.into())
}

/// Maps OpenAI `finish_reason` to Anthropic `stop_reason`.
pub fn stop_reason_from_openai(finish: Option<&str>) -> &'static str {
    match finish {
        Some("length") => "max_tokens",
        Some("tool_calls") | Some("function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}

/// Maps Anthropic `stop_reason` to OpenAI `finish_reason`.
pub fn finish_reason_from_anthropic(stop: Option<&str>) -> &'static str {
    match stop {
        Some("max_tokens") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    }
}
