//! Trying an upstream before it is saved: `GET <base_url>/models` with the key the way its
//! protocol wants it, within a bounded time and answer size, no redirects followed (the key goes
//! to that address only), and every failure explained in plain words.

use std::time::{Duration, Instant};

use crate::api::types::setup::{ListedModel, Provider, ProviderPreset, SetupTest, SetupTestResult, TestOutcome};
use crate::api::ApiError;
use crate::config::Protocol;
use crate::upstream::{read_bounded, Bounded, ANTHROPIC_VERSION};

/// The most models a test lists (OpenRouter lists hundreds).
pub const MAX_MODELS: usize = 1000;
/// The largest model list read (OpenRouter's, with descriptions, is a few MiB).
const MAX_ANSWER: usize = 16 << 20;
const DEFAULT_TIMEOUT: u64 = 15;

/// The providers the guide offers, in its order.
pub fn presets() -> Vec<ProviderPreset> {
    use Provider::*;
    [Openai, Anthropic, Openrouter, Ollama, LmStudio, LlamaCpp, Custom].into_iter().map(preset).collect()
}

/// A provider's address, protocol and whether it needs a key.
pub fn preset(p: Provider) -> ProviderPreset {
    let (label, base_url, protocol, needs_key, local) = match p {
        Provider::Openai => ("OpenAI", "https://api.openai.com/v1", Protocol::OpenAi, true, false),
        Provider::Anthropic => ("Anthropic", "https://api.anthropic.com/v1", Protocol::Anthropic, true, false),
        Provider::Openrouter => ("OpenRouter", "https://openrouter.ai/api/v1", Protocol::OpenAi, true, false),
        Provider::Ollama => ("Ollama (on this computer)", "http://127.0.0.1:11434/v1", Protocol::OpenAi, false, true),
        Provider::LmStudio => {
            ("LM Studio (on this computer)", "http://127.0.0.1:1234/v1", Protocol::OpenAi, false, true)
        }
        Provider::LlamaCpp => {
            ("llama.cpp server (on this computer)", "http://127.0.0.1:8080/v1", Protocol::OpenAi, false, true)
        }
        Provider::Custom => ("Another server (its address)", "", Protocol::OpenAi, false, false),
    };
    ProviderPreset { provider: p, label: label.into(), base_url: base_url.into(), protocol, needs_key, local }
}

/// What a test calls.
#[derive(Debug, Clone)]
pub struct Target {
    pub label: String,
    /// Without a trailing `/`.
    pub base_url: String,
    pub protocol: Protocol,
    pub timeout: Duration,
}

impl Target {
    /// The preset, with the request's overrides; refuses an address that is not an http(s) URL
    /// or that carries a user name or password (they would be sent along).
    pub fn resolve(t: &SetupTest) -> Result<Self, ApiError> {
        let p = preset(t.provider);
        let base = t.base_url.as_deref().map(str::trim).filter(|u| !u.is_empty()).unwrap_or(&p.base_url);
        if base.is_empty() {
            return Err(ApiError::BadRequest("enter the server's address, e.g. http://127.0.0.1:8000/v1".into()));
        }
        if base.len() > 2048 {
            return Err(ApiError::BadRequest("the address is longer than 2048 characters".into()));
        }
        let url = reqwest::Url::parse(base).map_err(|e| {
            ApiError::BadRequest(format!("{base:?} is not a web address ({e}): it looks like https://host/v1"))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ApiError::BadRequest(format!("{base:?} is not an http:// or https:// address")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ApiError::BadRequest(
                "put the key in the key field, not in the address (user:password@ is not used)".into(),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ApiError::BadRequest(format!(
                "{base:?} has a ?query or #fragment: give the address up to /v1"
            )));
        }
        let secs = t.timeout_secs.unwrap_or(DEFAULT_TIMEOUT).clamp(1, 60);
        // Messages start with who answered: the service's name, or the server's address.
        let label = match (t.provider, url.host_str(), url.port()) {
            (Provider::Custom, Some(host), Some(port)) => format!("The server at {host}:{port}"),
            (Provider::Custom, Some(host), None) => format!("The server at {host}"),
            _ => p.label,
        };
        Ok(Self {
            label,
            base_url: base.trim_end_matches('/').to_string(),
            protocol: t.protocol.unwrap_or(p.protocol),
            timeout: Duration::from_secs(secs),
        })
    }
}

/// Calls `GET <base_url>/models` with `key` and says what came back.
pub async fn probe(t: &Target, key: Option<&str>) -> SetupTestResult {
    let started = Instant::now();
    let (outcome, message, http_status, models) = call(t, key).await;
    SetupTestResult {
        outcome,
        message: scrub(&message, key),
        base_url: t.base_url.clone(),
        protocol: t.protocol,
        http_status,
        models,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

type Answer = (TestOutcome, String, Option<u16>, Vec<ListedModel>);

async fn call(t: &Target, key: Option<&str>) -> Answer {
    let client = match reqwest::Client::builder()
        .connect_timeout(t.timeout.min(Duration::from_secs(10)))
        .timeout(t.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("metaclaw/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => return (TestOutcome::Network, format!("MetaClaw could not start an HTTP client: {e}"), None, vec![]),
    };
    let url = format!("{}/models", t.base_url);
    let mut rb = client.get(&url);
    match t.protocol {
        Protocol::OpenAi => {
            if let Some(k) = key {
                rb = rb.bearer_auth(k);
            }
        }
        Protocol::Anthropic => {
            if let Some(k) = key {
                rb = rb.header("x-api-key", k);
            }
            rb = rb.header("anthropic-version", ANTHROPIC_VERSION);
        }
    }
    let resp = match rb.send().await {
        Ok(r) => r,
        Err(e) => {
            let (o, m) = network_failure(&e, t);
            return (o, m, None, vec![]);
        }
    };
    let status = resp.status();
    let code = Some(status.as_u16());
    let html = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/html"));
    let location = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = match read_bounded(resp, MAX_ANSWER).await {
        Ok(b) => b,
        Err(Bounded::TooLarge) => {
            let m = format!("{url} answered with more than {} MiB: this is not a model list", MAX_ANSWER >> 20);
            return (TestOutcome::NotLlm, m, code, vec![]);
        }
        Err(Bounded::Read(e)) => {
            let (o, m) = network_failure(&e, t);
            return (o, m, code, vec![]);
        }
    };
    let n = status.as_u16();
    if n == 401 || n == 403 {
        let m = match key {
            Some(_) => format!(
                "{} refused the key (HTTP {n}). Check that you copied the whole key, that it belongs to this \
                 service, and that it is still active.",
                t.label
            ),
            None => format!("{} needs a key (HTTP {n}): paste it and test again.", t.label),
        };
        return (TestOutcome::KeyRefused, m, code, vec![]);
    }
    if status.is_redirection() {
        let to = location.unwrap_or_else(|| "another address".into());
        let m = format!("{url} sends MetaClaw to {to}: use the address it redirects to (up to /v1).");
        return (TestOutcome::NotLlm, m, code, vec![]);
    }
    let page = html || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<');
    if status == reqwest::StatusCode::NOT_FOUND || (status.is_success() && page) {
        let what = if page { "a web page" } else { "404 Not Found" };
        let hint = if t.base_url.ends_with("/v1") {
            "Check the address and that this is an LLM API server."
        } else {
            "The address of an LLM API usually ends in /v1."
        };
        let m = format!("{url} answered with {what}, not a list of models: this is not an LLM API. {hint}");
        return (TestOutcome::NotLlm, m, code, vec![]);
    }
    if !status.is_success() {
        let said = error_text(&body);
        let m = match n {
            429 => format!(
                "{} says too many requests or no credit left (HTTP 429){said}. Try again later or check your plan.",
                t.label
            ),
            500..=599 => format!("{} has a problem of its own (HTTP {n}){said}. Try again in a while.", t.label),
            _ => format!("{url} answered HTTP {n}{said}."),
        };
        return (TestOutcome::HttpError, m, code, vec![]);
    }
    match model_ids(&body) {
        None => {
            let m = format!(
                "{url} answered, but not with a list of models the way an OpenAI- or Anthropic-compatible API does: \
                 check the address and the protocol."
            );
            (TestOutcome::NotLlm, m, code, vec![])
        }
        Some(ids) => {
            let m = if ids.is_empty() {
                format!("{} answered, but lists no models: load or pull a model on it first.", t.label)
            } else {
                let more = if ids.len() == 1 { "1 model".to_string() } else { format!("{} models", ids.len()) };
                format!("{} lists {more}.", t.label)
            };
            (TestOutcome::Ok, m, code, with_cheaper(ids))
        }
    }
}

/// Why a request got no answer, from the error and its causes.
fn network_failure(e: &reqwest::Error, t: &Target) -> (TestOutcome, String) {
    let host = reqwest::Url::parse(&t.base_url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let mut chain = String::new();
    let mut refused = false;
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        chain.push_str(&s.to_string().to_ascii_lowercase());
        chain.push('\n');
        if s.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused) {
            refused = true;
        }
        src = s.source();
    }
    let secs = t.timeout.as_secs();
    if e.is_timeout() || chain.contains("timed out") {
        return (
            TestOutcome::Timeout,
            format!("{host} did not answer within {secs} s. Check that the server is running and reachable from this computer."),
        );
    }
    if refused || chain.contains("connection refused") {
        return (
            TestOutcome::ConnectionRefused,
            format!(
                "Nothing answers at {host} on that port (connection refused). Is the server running, on that port?"
            ),
        );
    }
    if chain.contains("dns error")
        || chain.contains("failed to lookup address")
        || chain.contains("name or service not known")
    {
        return (
            TestOutcome::HostNotFound,
            format!("Can't find the host {host:?}: check the address for typos, and that this computer is online."),
        );
    }
    if chain.contains("certificate") {
        return (
            TestOutcome::Tls,
            format!("{host}'s certificate is not trusted (TLS): check the address; a self-signed server needs http:// or a trusted certificate."),
        );
    }
    if ["tls", "handshake", "corrupt message", "invalidcontenttype", "invalid content type"]
        .iter()
        .any(|w| chain.contains(w))
    {
        return (
            TestOutcome::Tls,
            format!("The secure (TLS) connection to {host} failed: the server may speak plain HTTP; try http:// instead of https://."),
        );
    }
    let first = e.to_string();
    (TestOutcome::Network, format!("Could not reach {host}: {first}"))
}

/// The `error.message` (or `message`) of a JSON error body, as `: …` (at most 200 characters).
fn error_text(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let m =
        v.pointer("/error/message").or_else(|| v.get("message")).or_else(|| v.get("error")).and_then(|m| m.as_str());
    match m {
        Some(m) if !m.trim().is_empty() => format!(": {}", m.trim().chars().take(200).collect::<String>()),
        _ => String::new(),
    }
}

/// The model ids of an OpenAI / Anthropic (`data[].id`) or Ollama (`models[].name`) list,
/// sorted, deduplicated and capped; `None` if the JSON is not such a list.
fn model_ids(body: &[u8]) -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let list = v.get("data").or_else(|| v.get("models"))?.as_array()?;
    let mut ids: Vec<String> = list
        .iter()
        .filter_map(|m| m.get("id").or_else(|| m.get("name")).and_then(|s| s.as_str()))
        .filter(|s| !s.is_empty() && s.len() <= 256 && !s.chars().any(char::is_control))
        .map(str::to_string)
        .collect();
    if ids.is_empty() && !list.is_empty() {
        return None;
    }
    ids.sort();
    ids.dedup();
    ids.truncate(MAX_MODELS);
    Some(ids)
}

/// Words in a model id that mark a cheap tier.
const CHEAP: &[&str] = &["mini", "nano", "haiku", "flash", "small", "lite", "tiny", "8b", "7b", "3b", "1b"];
/// Models that can't judge or write skills (not chat models).
const NOT_CHAT: &[&str] = &[
    "embed",
    "tts",
    "whisper",
    "dall-e",
    "image",
    "audio",
    "realtime",
    "moderation",
    "transcribe",
    "search",
    "rerank",
];

fn has(id: &str, words: &[&str]) -> bool {
    let l = id.to_ascii_lowercase();
    words.iter().any(|w| l.contains(w))
}

/// Each id with the cheap-tier chat model that shares the longest prefix with it (at least its
/// family, e.g. `gpt-4o` → `gpt-4o-mini`, `claude-sonnet-4-5` → `claude-haiku-4-5`).
fn with_cheaper(ids: Vec<String>) -> Vec<ListedModel> {
    let cheap: Vec<&String> = ids.iter().filter(|m| has(m, CHEAP) && !has(m, NOT_CHAT)).collect();
    ids.iter()
        .map(|id| {
            let cheaper = if has(id, CHEAP) || has(id, NOT_CHAT) {
                None
            } else {
                cheap
                    .iter()
                    .map(|c| (common_prefix(id, c), std::cmp::Reverse(c.len()), *c))
                    .filter(|(n, _, _)| *n >= 3)
                    .max()
                    .map(|(_, _, c)| c.clone())
            };
            ListedModel { id: id.clone(), cheaper }
        })
        .collect()
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

/// `text` with the key taken out, should a server have echoed it.
fn scrub(text: &str, key: Option<&str>) -> String {
    match key {
        Some(k) if k.len() >= 4 => text.replace(k, "(your key)"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cheaper_sibling_is_suggested_from_the_same_family_only() {
        let ids = ["claude-haiku-4-5", "claude-sonnet-4-5", "gpt-4o", "gpt-4o-mini", "text-embedding-3-small", "o3"];
        let out = with_cheaper(ids.iter().map(|s| s.to_string()).collect());
        let of = |id: &str| out.iter().find(|m| m.id == id).unwrap().cheaper.clone();
        assert_eq!(of("gpt-4o").as_deref(), Some("gpt-4o-mini"));
        assert_eq!(of("claude-sonnet-4-5").as_deref(), Some("claude-haiku-4-5"));
        assert_eq!(of("gpt-4o-mini"), None, "already cheap");
        assert_eq!(of("o3"), None, "no family member is cheap");
    }

    #[test]
    fn model_lists_of_every_shape_are_read_and_other_json_is_not_a_model_list() {
        assert_eq!(model_ids(br#"{"data":[{"id":"b"},{"id":"a"},{"id":"a"}]}"#), Some(vec!["a".into(), "b".into()]));
        assert_eq!(model_ids(br#"{"models":[{"name":"llama3:8b"}]}"#), Some(vec!["llama3:8b".into()]));
        assert_eq!(model_ids(br#"{"data":[]}"#), Some(vec![]));
        assert_eq!(model_ids(br#"{"ok":true}"#), None);
        assert_eq!(model_ids(br#"{"data":[{"x":1}]}"#), None);
        assert_eq!(model_ids(b"<html>"), None);
    }

    #[test]
    fn an_address_with_credentials_or_another_scheme_is_refused_before_any_call() {
        let t = |u: &str| SetupTest {
            provider: Provider::Custom,
            base_url: Some(u.into()),
            protocol: None,
            key: None,
            stored_key: None,
            timeout_secs: None,
        };
        assert!(Target::resolve(&t("https://user:pw@example.com/v1")).is_err());
        assert!(Target::resolve(&t("ftp://example.com/v1")).is_err());
        assert!(Target::resolve(&t("example.com/v1")).is_err());
        assert!(Target::resolve(&t("")).is_err());
        let ok = Target::resolve(&t("http://127.0.0.1:8000/v1/")).unwrap();
        assert_eq!(ok.base_url, "http://127.0.0.1:8000/v1");
        assert_eq!(ok.label, "The server at 127.0.0.1:8000", "messages name the server, not the preset");
        let openai = SetupTest { provider: Provider::Openai, ..t("") };
        assert_eq!(Target::resolve(&openai).unwrap().base_url, "https://api.openai.com/v1");
    }

    #[test]
    fn an_echoed_key_is_scrubbed_from_the_message() {
        assert_eq!(scrub("bad key sk-12345", Some("sk-12345")), "bad key (your key)");
    }
}
