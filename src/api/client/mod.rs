//! The one typed client of the admin API, shared by the CLI, the desktop shell and the tests:
//! `Client::for_home(&home)?.status().await?`. One file per resource adds its routes as methods
//! on [`Client`] (`client.status()`, `client.turns(&filter)`, `client.list_skills()`, …).

mod calendars;
mod connect;
mod curate;
mod learning;
mod scheduler;
mod settings;
mod setup;
mod skills;
mod status;
mod train;

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::types::{ErrorBody, ErrorCode};
use crate::home::Home;

/// Why a call to the admin API did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The API answered with an error: its own plain-words message (and a skill's problems).
    #[error("{message}{}", problem_lines(.problems))]
    Api { status: u16, code: ErrorCode, message: String, problems: Vec<crate::skills::Problem> },
    #[error("MetaClaw is not answering at {base} ({source}); start it with `metaclaw serve`")]
    Unreachable { base: String, source: reqwest::Error },
    #[error("cannot read the admin token at {} (has `metaclaw serve` run with this home?): {source}", .path.display())]
    Token { path: PathBuf, source: std::io::Error },
    #[error("cannot find the engine's address: {0}")]
    Config(#[from] crate::config::ConfigError),
    /// The answer was not what this client expects (an older or newer engine?).
    #[error("unexpected answer from {url} ({status}): {detail}")]
    Unexpected { url: String, status: u16, detail: String },
}

impl ClientError {
    /// The API's error code, when the API answered with an error.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The HTTP status, when the API answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Unexpected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn problem_lines(problems: &[crate::skills::Problem]) -> String {
    problems.iter().map(|p| format!("\n  {p}")).collect()
}

/// A client of one engine's admin API.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    /// A client of the engine at `base` (e.g. `http://127.0.0.1:30000`) with the admin token.
    pub fn new(base: impl Into<String>, token: impl Into<String>) -> Self {
        let base = base.into().trim_end_matches('/').to_string();
        Self { base, token: token.into().trim().to_string(), http: reqwest::Client::new() }
    }

    /// A client of the engine running with `home`: its address from the runtime file a running
    /// `metaclaw serve` writes (else the configured port), and the admin token.
    pub fn for_home(home: &Home) -> Result<Self, ClientError> {
        let base = base_url(home)?;
        let path = home.token_path();
        let token = std::fs::read_to_string(&path).map_err(|source| ClientError::Token { path, source })?;
        Ok(Self::new(base, token))
    }

    /// The engine's address, e.g. `http://127.0.0.1:30000`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The admin token.
    pub fn token(&self) -> &str {
        &self.token
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(reqwest::Method::GET, path, None::<&()>).await
    }

    /// `GET path` with `query` serialised into the query string (`None` fields left out).
    pub async fn get_query<Q: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, ClientError> {
        let q = serde_urlencoded(query);
        let path = if q.is_empty() { path.to_string() } else { format!("{path}?{q}") };
        self.get(&path).await
    }

    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// `POST path` without a body (actions such as pause or defer).
    pub async fn post_empty<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(reqwest::Method::POST, path, None::<&()>).await
    }

    pub async fn put<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn patch<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(reqwest::Method::DELETE, path, None::<&()>).await
    }

    /// `GET path` for an answer that is not JSON (e.g. the JSON-lines dataset).
    pub async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let (status, url, bytes) = self.send(reqwest::Method::GET, path, None::<&()>).await?;
        check(status, &url, &bytes)?;
        String::from_utf8(bytes.to_vec()).map_err(|e| unexpected(&url, status, e))
    }

    /// Calls the API; an answer without a body (204) reads as JSON `null` (so `()` works).
    pub async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let (status, url, bytes) = self.send(method, path, body).await?;
        check(status, &url, &bytes)?;
        let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        serde_json::from_slice(bytes).map_err(|e| unexpected(&url, status, e))
    }

    async fn send<B: Serialize + ?Sized>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(reqwest::StatusCode, String, bytes::Bytes), ClientError> {
        let url = format!("{}{path}", self.base);
        let mut rb = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let unreachable = |source| ClientError::Unreachable { base: self.base.clone(), source };
        let resp = rb.send().await.map_err(unreachable)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(unreachable)?;
        Ok((status, url, bytes))
    }
}

/// An error answer as [`ClientError::Api`]; a success passes.
fn check(status: reqwest::StatusCode, url: &str, bytes: &[u8]) -> Result<(), ClientError> {
    if status.is_success() {
        return Ok(());
    }
    match serde_json::from_slice::<ErrorBody>(bytes) {
        Ok(b) => Err(ClientError::Api {
            status: status.as_u16(),
            code: b.error.code,
            message: b.error.message,
            problems: b.error.problems.unwrap_or_default(),
        }),
        Err(_) => Err(unexpected(url, status, String::from_utf8_lossy(&bytes[..bytes.len().min(300)]))),
    }
}

fn unexpected(url: &str, status: reqwest::StatusCode, detail: impl std::fmt::Display) -> ClientError {
    ClientError::Unexpected { url: url.to_string(), status: status.as_u16(), detail: detail.to_string() }
}

/// `query` as `k=v&…`: its JSON object's non-null fields, percent-encoded.
fn serde_urlencoded<Q: Serialize + ?Sized>(query: &Q) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(query) else { return String::new() };
    let mut url = reqwest::Url::parse("http://x/").expect("a valid URL");
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in &map {
            match v {
                serde_json::Value::Null => {}
                serde_json::Value::String(s) => {
                    pairs.append_pair(k, s);
                }
                other => {
                    pairs.append_pair(k, &other.to_string());
                }
            }
        }
    }
    url.query().unwrap_or("").to_string()
}

/// The running engine's address: from its runtime file, else the configured port.
fn base_url(home: &Home) -> Result<String, ClientError> {
    #[derive(serde::Deserialize)]
    struct Runtime {
        address: String,
    }
    if let Ok(text) = std::fs::read_to_string(home.runtime_path()) {
        if let Ok(r) = serde_json::from_str::<Runtime>(&text) {
            return Ok(r.address);
        }
    }
    let cfg = crate::config::Config::load(&home.config_path())?;
    let host = if cfg.proxy.host.is_unspecified() { "127.0.0.1".to_string() } else { cfg.proxy.host.to_string() };
    Ok(format!("http://{host}:{}", cfg.proxy.port))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_error_answer_reads_as_the_apis_own_message_with_a_skills_problems() {
        let body = br#"{"error":{"code":"invalid","message":"the skill is not valid","problems":[{"file":"x/SKILL.md","line":3,"reason":"no name"}]}}"#;
        let e = super::check(reqwest::StatusCode::UNPROCESSABLE_ENTITY, "http://x/api/skills", body).unwrap_err();
        assert_eq!(e.code(), Some(super::ErrorCode::Invalid));
        assert_eq!(e.status(), Some(422));
        assert_eq!(e.to_string(), "the skill is not valid\n  x/SKILL.md:3: no name");
        // An answer that is not the API's error shape (a proxy in between?) says so, with its text.
        let e =
            super::check(reqwest::StatusCode::BAD_GATEWAY, "http://x/api/status", b"<html>bad gateway").unwrap_err();
        assert!(e.to_string().contains("bad gateway") && e.code().is_none(), "{e}");
        assert!(super::check(reqwest::StatusCode::OK, "http://x/", b"").is_ok());
    }

    #[test]
    fn a_query_leaves_out_unset_fields_and_encodes_the_rest() {
        let f = crate::store::TurnFilter { session: Some("a b&c".into()), limit: Some(5), ..Default::default() };
        assert_eq!(super::serde_urlencoded(&f), "session=a+b%26c&limit=5");
        assert_eq!(super::serde_urlencoded(&crate::store::TurnFilter::default()), "");
    }
}
