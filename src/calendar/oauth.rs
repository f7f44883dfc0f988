//! Signing in to Google and Microsoft calendars with OAuth 2.0 for installed apps (RFC 8252):
//! the system browser, a one-shot loopback listener on 127.0.0.1, PKCE S256 (RFC 7636) and a
//! random `state`; then refreshing and revoking the grant. Tokens never appear in `Debug`,
//! logs or error text, and every answer from the providers is read with a size limit.

use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::clock::now_ms;

/// The path the browser comes back to: the redirect is `http://127.0.0.1:<port>` (no path, as
/// Google documents for desktop clients and Microsoft Entra matches for a registered
/// `http://127.0.0.1`, the port ignored), which the browser requests as `/`.
pub const CALLBACK_PATH: &str = "/";
/// The largest answer read from a token endpoint.
const TOKEN_BODY_LIMIT: usize = 64 * 1024;
/// The largest request head the loopback listener reads.
const HEAD_LIMIT: usize = 16 * 1024;
/// How long one browser connection may take to send its request.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Browser connections handled at once (preconnects, favicon, the callback).
const MAX_CONNECTIONS: usize = 16;

/// Which sign-in service an account uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "SignInProvider"))]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Google,
    Microsoft,
}

impl Provider {
    /// The provider's name as users know it.
    pub fn label(self) -> &'static str {
        match self {
            Provider::Google => "Google",
            Provider::Microsoft => "Microsoft",
        }
    }

    /// The read-only scopes asked for when the configuration names none: Google's
    /// `calendar.readonly`; Microsoft's `Calendars.Read`, `User.Read` (the signed-in address) and
    /// `offline_access` (a refresh token).
    pub fn default_scopes(self) -> Vec<String> {
        match self {
            Provider::Google => vec!["https://www.googleapis.com/auth/calendar.readonly".into()],
            Provider::Microsoft => vec!["offline_access".into(), "Calendars.Read".into(), "User.Read".into()],
        }
    }
}

/// Where a provider's sign-in and calendar API live, and the app's client registration.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub client_id: String,
    /// Google desktop clients have a secret that is not confidential; Microsoft public clients
    /// have none.
    pub client_secret: Option<String>,
    pub auth_url: String,
    pub token_url: String,
    pub revoke_url: Option<String>,
    /// Google: `https://www.googleapis.com/calendar/v3`; Microsoft: `https://graph.microsoft.com/v1.0`.
    pub api_url: String,
    /// Empty: [`Provider::default_scopes`].
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoints")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "(hidden)"))
            .field("auth_url", &self.auth_url)
            .field("token_url", &self.token_url)
            .field("revoke_url", &self.revoke_url)
            .field("api_url", &self.api_url)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl Endpoints {
    /// Google's real endpoints for a registered desktop client.
    pub fn google(client_id: &str, client_secret: Option<&str>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.map(str::to_string),
            auth_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            token_url: "https://oauth2.googleapis.com/token".into(),
            revoke_url: Some("https://oauth2.googleapis.com/revoke".into()),
            api_url: "https://www.googleapis.com/calendar/v3".into(),
            scopes: Vec::new(),
        }
    }

    /// Microsoft identity platform v2 and Graph v1.0 for a registered public client; `tenant`
    /// is `common`, `organizations`, `consumers` or a tenant id. Microsoft has no revocation
    /// endpoint for a single grant.
    pub fn microsoft(client_id: &str, tenant: &str) -> Self {
        let tenant = if tenant.trim().is_empty() { "common" } else { tenant.trim() };
        Self {
            client_id: client_id.into(),
            client_secret: None,
            auth_url: format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize"),
            token_url: format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
            revoke_url: None,
            api_url: "https://graph.microsoft.com/v1.0".into(),
            scopes: Vec::new(),
        }
    }

    /// Which provider these endpoints belong to: Microsoft's token endpoints end in
    /// `/oauth2/v2.0/token` (the stand-in's too); every other one is taken as Google's.
    pub fn provider(&self) -> Provider {
        let path = reqwest::Url::parse(self.token_url.trim()).map(|u| u.path().to_string()).unwrap_or_default();
        if path.ends_with("/oauth2/v2.0/token") {
            Provider::Microsoft
        } else {
            Provider::Google
        }
    }

    fn scope(&self, provider: Provider) -> String {
        let mut scopes = if self.scopes.is_empty() { provider.default_scopes() } else { self.scopes.clone() };
        if provider == Provider::Microsoft && !scopes.iter().any(|s| s == "offline_access") {
            scopes.push("offline_access".into());
        }
        scopes.join(" ")
    }

    /// Every endpoint must be https, or plain http on loopback (local stand-ins).
    fn check(&self) -> Result<(), OAuthError> {
        if self.client_id.trim().is_empty() {
            return Err(OAuthError::NotConfigured);
        }
        let urls = [Some(&self.auth_url), Some(&self.token_url), self.revoke_url.as_ref(), Some(&self.api_url)];
        for u in urls.into_iter().flatten() {
            check_url(u)?;
        }
        Ok(())
    }
}

/// Parses an endpoint address: https, or http to a loopback host.
pub(crate) fn check_url(u: &str) -> Result<reqwest::Url, OAuthError> {
    let url = reqwest::Url::parse(u.trim()).map_err(|_| OAuthError::BadEndpoint(shown(u)))?;
    let Some(host) = url.host_str() else { return Err(OAuthError::BadEndpoint(shown(u))) };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(OAuthError::BadEndpoint(shown(u))),
    }
}

/// What may be shown of an endpoint address in an error: scheme and host.
fn shown(u: &str) -> String {
    match reqwest::Url::parse(u.trim()) {
        Ok(url) => format!("{}://{}", url.scheme(), url.host_str().unwrap_or("")),
        Err(_) => "(not an address)".into(),
    }
}

/// Why signing in, refreshing or reading a provider's calendars failed, in words a user can act
/// on. No variant carries a token, a code or a secret.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The grant is gone (revoked, expired, password changed): the user must sign in again.
    #[error("sign in again: {0}")]
    SignInAgain(String),
    /// The API refused the access token (HTTP 401). Refresh the token and retry once; if it
    /// comes again, the user must sign in again.
    #[error("the calendar service refused access (HTTP 401); sign in again if this persists")]
    Unauthorized,
    #[error("the sign-in was cancelled or access was not granted in the browser")]
    Denied,
    #[error("the browser's answer did not belong to this sign-in (its state did not match); start the sign-in again")]
    StateMismatch,
    #[error("no answer from the browser in time; start the sign-in again")]
    TimedOut,
    #[error("the sign-in service refused: {0}")]
    Refused(String),
    #[error("no client id is configured for this provider: register an app and set its client id in the [calendar] settings")]
    NotConfigured,
    #[error("{0} is not a usable sign-in or calendar address: https is required (plain http only on this machine)")]
    BadEndpoint(String),
    #[error("could not open the local sign-in listener on 127.0.0.1: {0}")]
    Listener(String),
    #[error("could not reach the {service}: {reason}")]
    Network { service: &'static str, reason: String },
    #[error("the {service} answered HTTP {status}")]
    Status { service: &'static str, status: u16 },
    #[error("the {service}'s answer could not be read: {reason}")]
    BadAnswer { service: &'static str, reason: String },
    #[error("the {0}'s answer was too large")]
    TooLarge(&'static str),
}

/// The tokens of a grant. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access: String,
    /// Absent when the provider keeps the old one (Google's refresh answers).
    pub refresh: Option<String>,
    pub expires_at_ms: i64,
    /// The signed-in address, when known (after sign-in; `None` after a refresh).
    pub account: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access", &"(hidden)")
            .field("refresh", &self.refresh.as_ref().map(|_| "(hidden)"))
            .field("expires_at_ms", &self.expires_at_ms)
            .field("account", &self.account)
            .finish()
    }
}

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

/// A sign-in under way: the URL to open in the browser, and the listener waiting for its answer.
pub struct SignIn {
    pub url: String,
    /// `http://127.0.0.1:<port>`.
    pub redirect_uri: String,
    provider: Provider,
    ep: Endpoints,
    listener: TcpListener,
    state: String,
    verifier: String,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn").field("provider", &self.provider).field("redirect_uri", &self.redirect_uri).finish()
    }
}

/// `n` random bytes, base64url without padding.
fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the OS random source is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&buf)
}

/// The PKCE S256 challenge of a verifier: base64url(SHA-256(verifier)), no padding.
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Binds 127.0.0.1:0, builds the authorization URL (code flow, PKCE S256, random state,
/// redirect `http://127.0.0.1:<port>`, read-only scopes, offline access and consent so
/// a refresh token comes back).
pub async fn start(provider: Provider, ep: &Endpoints) -> Result<SignIn, OAuthError> {
    ep.check()?;
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| OAuthError::Listener(e.to_string()))?;
    let port = listener.local_addr().map_err(|e| OAuthError::Listener(e.to_string()))?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}");
    // 32 bytes each: a 43-character verifier (RFC 7636 allows 43..=128) and 256 bits of state.
    let verifier = random_token(32);
    let state = random_token(32);
    let mut url = check_url(&ep.auth_url)?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", &ep.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("scope", &ep.scope(provider))
            .append_pair("state", &state)
            .append_pair("code_challenge", &pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        match provider {
            Provider::Google => {
                q.append_pair("access_type", "offline").append_pair("prompt", "consent");
            }
            Provider::Microsoft => {
                q.append_pair("response_mode", "query").append_pair("prompt", "select_account");
            }
        }
    }
    Ok(SignIn { url: url.into(), redirect_uri, provider, ep: ep.clone(), listener, state, verifier })
}

/// What the browser brought to the callback path.
#[derive(Default)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

impl SignIn {
    /// Waits (up to `timeout`) for the browser's redirect to the loopback listener, refuses a
    /// wrong `state`, exchanges the code with the PKCE verifier, answers the browser with a small
    /// page ("you can close this tab", or what went wrong), returns the tokens. The listener is
    /// closed afterwards.
    pub async fn finish(self, timeout: Duration) -> Result<Tokens, OAuthError> {
        let SignIn { provider, ep, listener, state, verifier, redirect_uri, .. } = self;
        let got = tokio::time::timeout(timeout, wait_for_callback(&listener)).await;
        drop(listener);
        let (mut stream, cb) = got.map_err(|_| OAuthError::TimedOut)??;
        let state_ok = cb.state.as_deref().is_some_and(|s| bool::from(s.as_bytes().ct_eq(state.as_bytes())));
        let outcome = if !state_ok {
            Err(OAuthError::StateMismatch)
        } else if let Some(e) = cb.error {
            Err(if e == "access_denied" { OAuthError::Denied } else { OAuthError::Refused(plain(&e)) })
        } else {
            cb.code
                .filter(|c| !c.is_empty())
                .ok_or_else(|| OAuthError::Refused("no authorization code came back".into()))
        };
        // The code is exchanged before the browser is answered, so its page tells the truth.
        let exchanged = match outcome {
            Ok(code) => exchange(provider, &ep, code, redirect_uri, verifier).await,
            Err(e) => Err(e),
        };
        let (status, page) = match &exchanged {
            Ok(_) => ("200 OK", page("Signed in", "You can close this tab and return to MetaClaw.")),
            Err(e) => ("400 Bad Request", page("Sign-in failed", &e.to_string())),
        };
        respond(&mut stream, status, &page).await;
        drop(stream);
        let (http, mut tokens) = exchanged?;
        tokens.account = match provider {
            Provider::Google => super::google::account(&http, &ep, &tokens.access).await,
            Provider::Microsoft => super::microsoft::account(&http, &ep, &tokens.access).await,
        }
        .unwrap_or_else(|e| {
            tracing::warn!("calendar sign-in: the signed-in address could not be read: {e}");
            None
        });
        Ok(tokens)
    }
}

/// Trades the authorization code (with the PKCE verifier) for tokens.
async fn exchange(
    provider: Provider,
    ep: &Endpoints,
    code: String,
    redirect_uri: String,
    verifier: String,
) -> Result<(reqwest::Client, Tokens), OAuthError> {
    let http = http_client();
    let mut form = vec![
        ("grant_type", "authorization_code".to_string()),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", ep.client_id.clone()),
        ("code_verifier", verifier),
    ];
    if let Some(s) = &ep.client_secret {
        form.push(("client_secret", s.clone()));
    }
    if provider == Provider::Microsoft {
        form.push(("scope", ep.scope(provider)));
    }
    let tokens = token_request(&http, ep, &form, false).await?;
    Ok((http, tokens))
}

/// Accepts browser connections until one brings a request for the callback path; every other
/// request (a preconnect, `/favicon.ico`, a probe) gets a 404 and is closed.
async fn wait_for_callback(listener: &TcpListener) -> Result<(TcpStream, Callback), OAuthError> {
    let mut reading: JoinSet<Option<(TcpStream, Callback)>> = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                if reading.len() >= MAX_CONNECTIONS {
                    continue; // dropped: closed at once
                }
                reading.spawn(read_callback(stream));
            }
            Some(done) = reading.join_next(), if !reading.is_empty() => {
                if let Ok(Some(found)) = done {
                    return Ok(found);
                }
            }
        }
    }
}

/// Reads one request head (bounded in size and time). `Some` only for `GET /?…` with a `state`
/// or an `error` (a bare `/` or anything else gets a 404).
async fn read_callback(mut stream: TcpStream) -> Option<(TcpStream, Callback)> {
    let mut head = Vec::with_capacity(1024);
    let read = tokio::time::timeout(HEAD_TIMEOUT, async {
        let mut buf = [0u8; 2048];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 || head.len() + n > HEAD_LIMIT {
                return None;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Some(())
    })
    .await;
    if !matches!(read, Ok(Some(()))) {
        return None;
    }
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let mut cb = Callback::default();
    if method == "GET" && path == CALLBACK_PATH {
        if let Ok(url) = reqwest::Url::parse(&format!("http://127.0.0.1{target}")) {
            for (k, v) in url.query_pairs() {
                match k.as_ref() {
                    "code" => cb.code = Some(v.into_owned()),
                    "state" => cb.state = Some(v.into_owned()),
                    "error" => cb.error = Some(v.into_owned()),
                    _ => {}
                }
            }
        }
    }
    if cb.state.is_none() && cb.error.is_none() {
        respond(&mut stream, "404 Not Found", &page("Not found", "Nothing here.")).await;
        return None;
    }
    Some((stream, cb))
}

/// A small HTML page for the browser; `text` is escaped.
fn page(title: &str, text: &str) -> String {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>MetaClaw: {t}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1><p>{x}</p></body></html>",
        t = esc(title),
        x = esc(text)
    )
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n\
         cache-control: no-store\r\nreferrer-policy: no-referrer\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = tokio::time::timeout(HEAD_TIMEOUT, async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// Untrusted text from a provider, made safe to show: printable, at most 200 characters.
pub(crate) fn plain(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Trades a refresh token for a new access token. `invalid_grant` (revoked, expired) →
/// [`OAuthError::SignInAgain`].
pub async fn refresh(ep: &Endpoints, refresh_token: &str) -> Result<Tokens, OAuthError> {
    ep.check()?;
    let provider = ep.provider();
    let mut form = vec![
        ("grant_type", "refresh_token".to_string()),
        ("refresh_token", refresh_token.to_string()),
        ("client_id", ep.client_id.clone()),
    ];
    if let Some(s) = &ep.client_secret {
        form.push(("client_secret", s.clone()));
    }
    if provider == Provider::Microsoft {
        form.push(("scope", ep.scope(provider)));
    }
    token_request(&http_client(), ep, &form, true).await
}

/// Revokes a grant (Google's revocation endpoint). Without a `revoke_url` (Microsoft has none
/// for a single grant) there is nothing to call and this succeeds; the user can remove the app
/// in their account's settings. A token the provider no longer knows counts as revoked.
pub async fn revoke(ep: &Endpoints, token: &str) -> Result<(), OAuthError> {
    const SERVICE: &str = "sign-in service";
    let Some(url) = &ep.revoke_url else { return Ok(()) };
    let url = check_url(url)?;
    let resp = http_client().post(url).form(&[("token", token)]).send().await.map_err(|e| network(SERVICE, e))?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let body = read_limited(resp, TOKEN_BODY_LIMIT, SERVICE).await.unwrap_or_default();
    let error = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["error"].as_str().map(str::to_string));
    match error.as_deref() {
        Some("invalid_token") => Ok(()),
        Some(e) => Err(OAuthError::Refused(plain(e))),
        None => Err(OAuthError::Status { service: SERVICE, status }),
    }
}

/// POSTs a form to the token endpoint and reads the tokens. With `refreshing`, `invalid_grant`
/// means the grant is gone.
async fn token_request(
    http: &reqwest::Client,
    ep: &Endpoints,
    form: &[(&str, String)],
    refreshing: bool,
) -> Result<Tokens, OAuthError> {
    const SERVICE: &str = "sign-in service";
    let url = check_url(&ep.token_url)?;
    let resp =
        http.post(url).header("accept", "application/json").form(form).send().await.map_err(|e| network(SERVICE, e))?;
    let status = resp.status().as_u16();
    let body = read_limited(resp, TOKEN_BODY_LIMIT, SERVICE).await?;
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if !(200..300).contains(&status) {
        let error = json["error"].as_str().map(plain);
        // The description may quote the request; show only its first line, never the token.
        let detail =
            json["error_description"].as_str().map(|d| plain(d.lines().next().unwrap_or(""))).unwrap_or_default();
        return Err(match error.as_deref() {
            Some("invalid_grant") if refreshing => OAuthError::SignInAgain(format!(
                "the sign-in has expired or was revoked{}",
                if detail.is_empty() { String::new() } else { format!(" ({detail})") }
            )),
            Some(e) => OAuthError::Refused(if detail.is_empty() { e.to_string() } else { format!("{e}: {detail}") }),
            None => OAuthError::Status { service: SERVICE, status },
        });
    }
    let bad = |reason: &str| OAuthError::BadAnswer { service: SERVICE, reason: reason.into() };
    let access = json["access_token"].as_str().filter(|s| !s.is_empty()).ok_or_else(|| bad("no access_token"))?;
    if json["token_type"].as_str().is_some_and(|t| !t.eq_ignore_ascii_case("bearer")) {
        return Err(bad("the token type is not Bearer"));
    }
    let refresh = json["refresh_token"].as_str().filter(|s| !s.is_empty()).map(str::to_string);
    // `expires_in` is a number of seconds (some servers send it as a string).
    let expires_in = json["expires_in"]
        .as_i64()
        .or_else(|| json["expires_in"].as_str().and_then(|s| s.trim().parse().ok()))
        .unwrap_or(3600)
        .clamp(0, 366 * 24 * 3600);
    Ok(Tokens { access: access.to_string(), refresh, expires_at_ms: now_ms() + expires_in * 1000, account: None })
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
/// 403 → refused, other failures by status.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_follows_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn tokens_and_secrets_never_show_in_debug() {
        let t = Tokens {
            access: "ya29.SECRET".into(),
            refresh: Some("1//REFRESH".into()),
            expires_at_ms: 1,
            account: None,
        };
        let s = format!("{t:?}");
        assert!(!s.contains("SECRET") && !s.contains("REFRESH"), "{s}");
        let ep = Endpoints::google("id", Some("GOCSPX-hidden"));
        assert!(!format!("{ep:?}").contains("GOCSPX"));
    }

    #[test]
    fn endpoints_must_be_https_unless_on_loopback() {
        assert!(check_url("https://oauth2.googleapis.com/token").is_ok());
        assert!(check_url("http://127.0.0.1:9/token").is_ok());
        assert!(check_url("http://localhost:9/token").is_ok());
        assert!(check_url("http://[::1]:9/token").is_ok());
        assert!(check_url("http://oauth2.googleapis.com/token").is_err());
        assert!(check_url("ftp://127.0.0.1/token").is_err());
        assert!(check_url("not a url").is_err());
    }

    #[tokio::test]
    async fn the_authorization_url_asks_for_pkce_state_and_offline_access() {
        let ep = Endpoints::google("cid", None);
        let s = start(Provider::Google, &ep).await.unwrap();
        let url = reqwest::Url::parse(&s.url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], pkce_challenge(&s.verifier));
        assert!((43..=128).contains(&s.verifier.len()));
        assert!(s.state.len() >= 22, "at least 128 bits");
        assert_eq!(q["state"], s.state);
        assert_eq!(q["access_type"], "offline");
        assert_eq!(q["prompt"], "consent");
        assert_eq!(q["redirect_uri"], s.redirect_uri);
        assert!(s.redirect_uri.starts_with("http://127.0.0.1:"));
        assert_eq!(s.listener.local_addr().unwrap().ip(), std::net::Ipv4Addr::LOCALHOST);
        let empty = Endpoints::google("", None);
        assert!(matches!(start(Provider::Google, &empty).await, Err(OAuthError::NotConfigured)));
    }
}
