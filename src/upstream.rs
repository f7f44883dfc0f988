//! The upstream: the OpenAI-compatible API requests are forwarded to, its key, and the shared
//! HTTP client (connection pool) used to reach it.

use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName};

use crate::config::UpstreamConfig;

/// One upstream as the proxy sees it.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub name: String,
    /// Base URL without a trailing slash, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub key: Option<String>,
    /// Model that replaces the client's, if configured.
    pub model: Option<String>,
    pub timeout: Duration,
    pub stream_idle_timeout: Duration,
}

impl Upstream {
    pub fn from_config(cfg: &UpstreamConfig, key: Option<String>) -> Self {
        Self {
            name: "default".into(),
            base_url: cfg.base_url.trim_end_matches('/').to_string(),
            key,
            model: cfg.model.clone(),
            timeout: Duration::from_secs(cfg.timeout_secs),
            stream_idle_timeout: Duration::from_secs(cfg.stream_idle_timeout_secs),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base_url, path.trim_start_matches('/'))
    }
}

/// The HTTP client for upstream calls: pooled, no overall timeout (streams may be long), and no
/// automatic decompression so bytes are relayed as they come.
pub fn http_client(cfg: &UpstreamConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(cfg.connect_timeout_secs))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .user_agent(concat!("metaclaw/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the TLS backend initialises")
}

/// Client headers that are MetaClaw's business or the connection's, never forwarded upstream.
fn is_local_request_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host"
            | "content-length"
            | "transfer-encoding"
            | "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "upgrade"
            | "authorization"
            | "x-api-key"
            | "cookie"
            | "accept-encoding"
            | "x-session-id"
            | "x-turn-type"
            | "x-session-done"
            | "x-memory-scope"
            | "x-user-id"
            | "x-workspace-id"
    )
}

/// The client's headers worth forwarding (OpenAI-Organization, OpenAI-Beta, user agents, …).
pub fn forward_request_headers(client: &HeaderMap) -> HeaderMap {
    client.iter().filter(|(n, _)| !is_local_request_header(n)).map(|(n, v)| (n.clone(), v.clone())).collect()
}

/// Upstream response headers to relay to the client (everything but the connection's own).
pub fn relay_response_headers(upstream: &HeaderMap, streaming: bool) -> HeaderMap {
    upstream
        .iter()
        .filter(|(n, _)| {
            let hop_by_hop = matches!(
                n.as_str(),
                "connection" | "keep-alive" | "transfer-encoding" | "te" | "trailer" | "upgrade" | "proxy-connection"
            );
            // A relayed stream is re-chunked, so its length is not ours to promise.
            let stream_length = streaming && *n == header::CONTENT_LENGTH;
            !hop_by_hop && !stream_length
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_headers_stay_local() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("authorization", "Bearer client"),
            ("x-session-id", "s"),
            ("accept-encoding", "gzip"),
            ("openai-organization", "org"),
            ("user-agent", "OpenAI/Python"),
        ] {
            h.insert(HeaderName::from_static(k), v.parse().unwrap());
        }
        let f = forward_request_headers(&h);
        assert_eq!(f.len(), 2);
        assert!(f.contains_key("openai-organization") && f.contains_key("user-agent"));
    }
}
