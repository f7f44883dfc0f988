//! The `setup` resource: the first-run guide's state and its checklist (`GET`/`PUT /api/setup`),
//! the provider presets, and testing an upstream and its key before they are saved
//! (`POST /api/setup/test`).

use serde::{Deserialize, Serialize};

use crate::config::Protocol;

/// Whether the guide is still to be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum SetupState {
    /// Not finished nor dismissed: the UI opens the guide at start.
    Open,
    /// The user went through to the end.
    Done,
    /// The user closed it ("Not now"); Settings reopens it.
    Dismissed,
}

/// One tick of the checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ChecklistStep {
    /// A test of the upstream succeeded, or a proxied turn was answered.
    KeyWorks,
    /// A turn was recorded.
    FirstTurn,
    /// The judge scored a turn.
    FirstJudged,
    /// The evolver proposed a skill.
    FirstSkill,
}

/// A checklist item, `done_at` (Unix ms) once it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ChecklistItem {
    pub step: ChecklistStep,
    pub label: String,
    pub done_at: Option<i64>,
}

/// A provider the guide offers, with what MetaClaw needs to reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Openai,
    Anthropic,
    Openrouter,
    Ollama,
    LmStudio,
    LlamaCpp,
    /// Any other OpenAI- or Anthropic-compatible server (`base_url` and `protocol` given).
    Custom,
}

/// A provider's preset: its address and protocol, and whether it takes a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ProviderPreset {
    pub provider: Provider,
    pub label: String,
    /// Up to and including `/v1` (empty for `custom`).
    pub base_url: String,
    pub protocol: Protocol,
    /// A hosted service that needs a key (local servers usually don't).
    pub needs_key: bool,
    /// Runs on this machine.
    pub local: bool,
}

/// `GET /api/setup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SetupStatus {
    pub state: SetupState,
    /// When the state last changed (Unix ms); `null` while open and never closed.
    pub changed_at: Option<i64>,
    /// Key works, first turn seen, first turn judged, first skill proposed, in that order.
    pub checklist: Vec<ChecklistItem>,
    pub providers: Vec<ProviderPreset>,
}

/// `PUT /api/setup`: what the user did with the guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum SetupAction {
    Done,
    Dismissed,
    /// Show the guide again (from Settings).
    Reopen,
}

/// The body of `PUT /api/setup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct SetupChange {
    pub action: SetupAction,
}

/// `POST /api/setup/test`: an upstream to try. The key is used for this one call only, sent only
/// to `base_url`, and never stored or logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct SetupTest {
    pub provider: Provider,
    /// Overrides the preset's address (required for `custom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub base_url: Option<String>,
    /// Overrides the preset's protocol (`custom` defaults to `openai`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub protocol: Option<Protocol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub key: Option<String>,
    /// Use the key already stored for this upstream (its name, e.g. `default`) when `key` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub stored_key: Option<String>,
    /// Seconds to wait for the answer, 1 to 60 (default 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub timeout_secs: Option<u64>,
}

/// How a test went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TestOutcome {
    /// The server answered with its list of models.
    Ok,
    /// The address is not a usable URL.
    BadUrl,
    /// 401 or 403: the key was refused (or is missing).
    KeyRefused,
    /// The host name does not resolve.
    HostNotFound,
    /// Nothing listens on that port.
    ConnectionRefused,
    /// No answer in time.
    Timeout,
    /// The TLS handshake failed (bad certificate, or plain HTTP on an https address).
    Tls,
    /// It answered, but not like an LLM API (a web page, 404, another shape).
    NotLlm,
    /// Another HTTP error (429, 5xx, …).
    HttpError,
    /// Any other network failure.
    Network,
}

/// One model the server listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ListedModel {
    pub id: String,
    /// A cheaper sibling from the same list, suggested for the judge and the evolver.
    pub cheaper: Option<String>,
}

/// The answer to `POST /api/setup/test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SetupTestResult {
    pub outcome: TestOutcome,
    /// What happened, in plain words, and what to do.
    pub message: String,
    /// The address and protocol that were tried (what to save).
    pub base_url: String,
    pub protocol: Protocol,
    /// The HTTP status, when the server answered.
    pub http_status: Option<u16>,
    /// Sorted; at most [`crate::api::setup::MAX_MODELS`].
    pub models: Vec<ListedModel>,
    pub elapsed_ms: u64,
}

#[cfg(test)]
pub(crate) fn typescript(f: &mut super::ts::File) {
    f.add::<SetupState>();
    f.add::<ChecklistStep>();
    f.add::<ChecklistItem>();
    f.add::<Provider>();
    f.add::<ProviderPreset>();
    f.add::<SetupStatus>();
    f.add::<SetupAction>();
    f.add::<SetupChange>();
    f.add::<SetupTest>();
    f.add::<TestOutcome>();
    f.add::<ListedModel>();
    f.add::<SetupTestResult>();
}
