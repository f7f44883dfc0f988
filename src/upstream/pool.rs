//! The connection pools: the one HTTP client every upstream call goes through, and the lean lane
//! that chat turns to a model server on this machine take instead.

use std::time::Duration;

use http::header::{HeaderValue, ACCEPT, USER_AGENT};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::config::UpstreamConfig;

const AGENT: &str = concat!("metaclaw/", env!("CARGO_PKG_VERSION"));

/// How long an unused pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);

/// The HTTP client for upstream calls: pooled, no overall timeout (streams may be long), and no
/// automatic decompression so bytes are relayed as they come.
pub fn http_client(cfg: &UpstreamConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(cfg.connect_timeout_secs))
        .pool_idle_timeout(POOL_IDLE)
        .tcp_nodelay(true)
        .user_agent(AGENT)
        .build()
        .expect("the TLS backend initialises")
}

/// The lean lane: hyper's pooled HTTP/1 client, for upstreams on plain HTTP at a loopback address
/// (llama.cpp, Ollama, vLLM on this machine) when no HTTP proxy is set in the environment.
///
/// Requests are still built with `reqwest` and answers read as `reqwest` responses; what the lane
/// skips is the client's per-request layers that a local hop never needs (redirect following,
/// proxy matching, parsing the URL again for each), about a fifth of the proxy's own work for a
/// turn. Anything else (TLS, proxies, a remote host, a per-request timeout) goes through
/// [`http_client`], unchanged.
#[derive(Clone)]
pub struct PlainHttp(Client<HttpConnector, reqwest::Body>);

impl std::fmt::Debug for PlainHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainHttp")
    }
}

/// Why a send failed, from either lane.
#[derive(Debug)]
pub enum SendFailure {
    Reqwest(reqwest::Error),
    Plain(hyper_util::client::legacy::Error),
}

impl PlainHttp {
    pub fn new(cfg: &UpstreamConfig) -> Self {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(cfg.connect_timeout_secs)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(http);
        Self(client)
    }

    /// True when an upstream at `base_url` may take this lane: plain HTTP to a loopback address,
    /// with no proxy variable in the environment (which `reqwest` would honour).
    pub fn takes(base_url: &str) -> bool {
        Self::takes_with(base_url, |k| std::env::var_os(k))
    }

    fn takes_with(base_url: &str, env: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
        let Ok(uri) = base_url.parse::<http::Uri>() else { return false };
        let loopback = match uri.host() {
            Some("localhost") => true,
            Some(h) => h
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()),
            None => false,
        };
        let proxied = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
            .iter()
            .any(|k| env(k).is_some_and(|v| !v.is_empty()));
        uri.scheme_str() == Some("http") && loopback && !proxied
    }

    /// Sends a request built with `reqwest` on this lane (or through `reqwest` itself when it
    /// carries its own timeout, which only `reqwest` applies). `known` is a URL with its URI
    /// already parsed (the upstream's chat-turn URL): a request to it is not parsed again.
    pub async fn send(
        &self,
        rb: reqwest::RequestBuilder,
        known: Option<&(reqwest::Url, http::Uri)>,
    ) -> Result<reqwest::Response, SendFailure> {
        let (client, req) = rb.build_split();
        let mut req = req.map_err(SendFailure::Reqwest)?;
        if req.timeout().is_some() {
            return client.execute(req).await.map_err(SendFailure::Reqwest);
        }
        let url = req.url().clone();
        let mut req: http::Request<reqwest::Body> = match known {
            Some((known_url, uri)) if *known_url == url => {
                let mut out = http::Request::new(req.body_mut().take().unwrap_or_else(|| reqwest::Body::from("")));
                *out.method_mut() = req.method().clone();
                *out.uri_mut() = uri.clone();
                *out.version_mut() = req.version();
                *out.headers_mut() = std::mem::take(req.headers_mut());
                out
            }
            _ => req.try_into().map_err(SendFailure::Reqwest)?,
        };
        let h = req.headers_mut();
        h.entry(USER_AGENT).or_insert(HeaderValue::from_static(AGENT));
        h.entry(ACCEPT).or_insert(HeaderValue::from_static("*/*"));
        let (mut parts, body) = self.0.request(req).await.map_err(SendFailure::Plain)?.into_parts();
        // The answer carries the address it came from, as reqwest's own do (a response without
        // one would have a placeholder address parsed for it on every turn).
        parts.extensions.extend(with_url(url));
        Ok(reqwest::Response::from(http::Response::from_parts(parts, reqwest::Body::wrap(body))))
    }
}

/// Response extensions holding `url` where `reqwest::Response::url` looks for it.
fn with_url(url: reqwest::Url) -> http::Extensions {
    use reqwest::ResponseBuilderExt;
    let tagged = http::Response::builder().url(url).body(()).expect("a response with no headers builds");
    tagged.into_parts().0.extensions
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::http::HeaderMap;
    use serde_json::{json, Value};

    use super::*;
    use crate::upstream::{send, UpstreamError};

    #[test]
    fn only_plain_http_to_this_machine_without_a_proxy_takes_the_lean_lane() {
        let none = |_: &str| None;
        for local in
            ["http://127.0.0.1:8080/v1", "http://localhost:11434/v1", "http://[::1]:9000", "http://127.0.0.2/v1"]
        {
            assert!(PlainHttp::takes_with(local, none), "{local}");
        }
        for other in
            ["https://127.0.0.1:8080/v1", "http://192.168.1.5:8080/v1", "http://api.example.com/v1", "not a url", ""]
        {
            assert!(!PlainHttp::takes_with(other, none), "{other}");
        }
        let proxy = |k: &str| (k == "all_proxy").then(|| "http://proxy:3128".into());
        assert!(
            !PlainHttp::takes_with("http://127.0.0.1:8080/v1", proxy),
            "a proxy in the environment: reqwest's lane"
        );
        let empty = |k: &str| (k == "HTTP_PROXY").then(|| "".into());
        assert!(PlainHttp::takes_with("http://127.0.0.1:8080/v1", empty), "an empty variable sets no proxy");
    }

    /// An upstream that answers with what it received.
    async fn echo() -> String {
        let app = axum::Router::new().route(
            "/v1/chat/completions",
            axum::routing::post(|headers: HeaderMap, body: String| async move {
                let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
                let seen = json!({"ua": h("user-agent"), "accept": h("accept"), "host": h("host").is_some(),
                    "length": h("content-length"), "auth": h("authorization"), "body": body});
                ([("x-upstream", "echo")], axum::Json(seen))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/v1")
    }

    fn upstream(base: &str, plain: Option<PlainHttp>) -> crate::upstream::Upstream {
        let mut up = crate::upstream::from_config(&crate::config::Config::default()).remove(0);
        up.base_url = base.into();
        up.plain = plain;
        up
    }

    #[tokio::test]
    async fn both_lanes_send_the_same_request_and_read_the_same_answer() {
        let base = echo().await;
        let cfg = UpstreamConfig::default();
        let client = http_client(&cfg);
        let mut seen = Vec::new();
        for plain in [Some(PlainHttp::new(&cfg)), None] {
            let up = upstream(&base, plain);
            let rb = client
                .post(format!("{base}/chat/completions"))
                .header("authorization", "Bearer k")
                .header("content-type", "application/json")
                .body(r#"{"messages":[]}"#);
            let resp = send(&up, rb).await.unwrap();
            assert_eq!(resp.url().as_str(), format!("{base}/chat/completions"), "the answer names its address");
            let head = (resp.status().as_u16(), resp.headers().get("x-upstream").cloned());
            let body: Value = resp.json().await.unwrap();
            seen.push((head, body));
        }
        assert_eq!(seen[0], seen[1], "lean lane, then reqwest");
        let (_, body) = &seen[0];
        assert_eq!(body["ua"], AGENT);
        assert_eq!(body["length"], "15");
        assert_eq!((&body["accept"], &body["host"], &body["auth"]), (&json!("*/*"), &json!(true), &json!("Bearer k")));
    }

    #[tokio::test]
    async fn an_upstream_that_is_not_there_is_named_in_the_same_error_on_both_lanes() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let base = format!("http://127.0.0.1:{port}/v1");
        let cfg = UpstreamConfig::default();
        for plain in [Some(PlainHttp::new(&cfg)), None] {
            let lean = plain.is_some();
            let up = Arc::new(upstream(&base, plain));
            match send(&up, http_client(&cfg).post(format!("{base}/chat/completions")).body("{}")).await {
                Err(UpstreamError::Unreachable { message, .. }) => {
                    assert!(
                        message.starts_with(&format!("cannot reach the upstream {} ({base})", up.name)),
                        "{message}"
                    );
                    assert!(message.to_lowercase().contains("connect"), "lean {lean}: {message}");
                }
                other => panic!("lean {lean}: {:?}", other.map(|r| r.status())),
            }
        }
    }
}
