//! Config of the upstreams: the wire [`Protocol`] each speaks, whose credentials it takes, the
//! one-upstream `[upstream]` shorthand, `[[upstreams]]`, and `[routing]` (failover between them).

use serde::{Deserialize, Serialize};

/// The name of the one upstream the `[upstream]` shorthand describes (when no `[[upstreams]]`).
pub const SHORTHAND_UPSTREAM: &str = "default";

/// The wire protocol a client or an upstream speaks: the one name for "OpenAI or Anthropic" used
/// by the config (`kind = "openai" | "anthropic"`), the proxy, translation and error bodies.
///
/// The Responses API is not a protocol of its own here: its errors and records are OpenAI-style,
/// and whether an upstream offers it is learned per upstream by the proxy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Protocol {
    /// OpenAI Chat Completions (OpenAI, vLLM, Ollama, OpenRouter, Moonshot, DashScope, …).
    #[default]
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
}

impl Protocol {
    /// The stable string form (as in the config and the turn records): `openai` or `anthropic`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
        }
    }

    /// The protocol's name in words, for status output.
    pub fn label(self) -> &'static str {
        match self {
            Self::OpenAi => "OpenAI-compatible",
            Self::Anthropic => "Anthropic",
        }
    }
}

/// Whose credentials reach the upstream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Auth {
    /// The key stored for this upstream (keyring or environment).
    #[default]
    Key,
    /// The caller's own `Authorization` / `x-api-key`, forwarded and never stored.
    Passthrough,
}

/// One entry of `[[upstreams]]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct NamedUpstream {
    /// Lowercase letters, digits, `-` and `_`; the key is `METACLAW_UPSTREAM_<NAME>_API_KEY`.
    pub name: String,
    #[serde(default)]
    pub kind: Protocol,
    /// Up to and including `/v1`, for both kinds.
    pub base_url: String,
    /// Models served: exact names, or prefixes ending in `*`. Empty: any model.
    #[serde(default)]
    pub models: Vec<String>,
    /// Serves models no upstream lists.
    #[serde(default)]
    pub default: bool,
    #[serde(default)]
    pub auth: Auth,
    /// Replaces the client's model on this upstream.
    #[serde(default)]
    pub model: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// Attempts per request across the model's upstreams, in order (connect errors, timeouts,
    /// 429 and 5xx before any byte reached the client are retried).
    pub max_attempts: u32,
    /// First backoff between attempts; doubles each time.
    pub backoff_ms: u64,
    /// Longest wait between attempts; a `retry-after` longer than this is not waited for.
    pub max_backoff_ms: u64,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self { max_attempts: 3, backoff_ms: 200, max_backoff_ms: 5000 }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    /// Base URL of any OpenAI-compatible API (or, with `kind = "anthropic"`, of the Messages
    /// API), up to and including `/v1`.
    pub base_url: String,
    pub kind: Protocol,
    pub auth: Auth,
    /// When set, replaces the model named by the client.
    pub model: Option<String>,
    /// Seconds to wait for the upstream's response headers before answering 504.
    pub timeout_secs: u64,
    /// Seconds to wait for a TCP/TLS connection before answering 502.
    pub connect_timeout_secs: u64,
    /// Seconds a stream may stay silent before it is cut off.
    pub stream_idle_timeout_secs: u64,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.openai.com/v1".into(),
            kind: Protocol::OpenAi,
            auth: Auth::Key,
            model: None,
            timeout_secs: 600,
            connect_timeout_secs: 10,
            stream_idle_timeout_secs: 300,
        }
    }
}
