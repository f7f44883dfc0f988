//! HTTP with the providers: a client that follows no redirect, bodies read with a size limit,
//! network errors without the URL, bearer GETs of API pages, and untrusted text made safe to show.

use std::time::Duration;

use serde_json::Value;

use super::OAuthError;

/// The HTTP client for token endpoints and calendar APIs: timeouts, no redirects (a token or a
/// bearer header never follows one elsewhere).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("MetaClaw/", env!("CARGO_PKG_VERSION"), " (calendar)"))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("the TLS backend initialises")
}
/// Untrusted text from a provider, made safe to show: printable, at most 200 characters.
pub(crate) fn plain(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}
/// A network error in plain words, without the URL (it may carry a token in its query).
pub(crate) fn network(service: &'static str, e: reqwest::Error) -> OAuthError {
    let timed_out = e.is_timeout();
    let e = e.without_url();
    let mut reason = if timed_out { "timed out".to_string() } else { e.to_string() };
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        src = s.source();
    }
    OAuthError::Network { service, reason }
}

/// Reads a body with a running size limit.
pub(crate) async fn read_limited(
    mut resp: reqwest::Response,
    limit: usize,
    service: &'static str,
) -> Result<Vec<u8>, OAuthError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(OAuthError::TooLarge(service));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| network(service, e))? {
        if bytes.len() + chunk.len() > limit {
            return Err(OAuthError::TooLarge(service));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// GETs a provider API page as JSON with the bearer token: 401 → [`OAuthError::Unauthorized`],
/// any other failure (a 403 refusal included) as [`OAuthError::Status`].
pub(crate) async fn api_get(
    req: reqwest::RequestBuilder,
    access: &str,
    limit: usize,
    service: &'static str,
) -> Result<Value, OAuthError> {
    let resp =
        req.bearer_auth(access).header("accept", "application/json").send().await.map_err(|e| network(service, e))?;
    let status = resp.status().as_u16();
    match status {
        200..=299 => {}
        401 => return Err(OAuthError::Unauthorized),
        _ => return Err(OAuthError::Status { service, status }),
    }
    let body = read_limited(resp, limit, service).await?;
    serde_json::from_slice(&body).map_err(|e| OAuthError::BadAnswer { service, reason: format!("not JSON ({e})") })
}
