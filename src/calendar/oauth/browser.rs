//! The browser sign-in (OAuth 2.0 for installed apps, RFC 8252): the authorization URL with
//! PKCE S256 (RFC 7636) and a random `state`, a one-shot loopback listener on 127.0.0.1 that
//! waits for the redirect (bounded in connections, size and time), and the code exchange.

use std::time::Duration;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::endpoints::check_url;
use super::http::{http_client, plain};
use super::tokens::token_request;
use super::{Endpoints, OAuthError, Provider, Tokens};

/// The path the browser comes back to: the redirect is `http://127.0.0.1:<port>` (no path, as
/// Google documents for desktop clients and Microsoft Entra matches for a registered
/// `http://127.0.0.1`, the port ignored), which the browser requests as `/`.
pub const CALLBACK_PATH: &str = "/";
/// The largest request head the loopback listener reads.
const HEAD_LIMIT: usize = 16 * 1024;
/// How long one browser connection may take to send its request.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Browser connections handled at once (preconnects, favicon, the callback).
const MAX_CONNECTIONS: usize = 16;
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
            Provider::Google => crate::calendar::google::account(&http, &ep, &tokens.access).await,
            Provider::Microsoft => crate::calendar::microsoft::account(&http, &ep, &tokens.access).await,
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
