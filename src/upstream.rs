//! Upstreams: the APIs requests are forwarded to (OpenAI-compatible or Anthropic), their keys,
//! the routing table that picks them by model (with ordered fallbacks), and the shared HTTP
//! client (connection pool) used to reach them.

use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName};

use crate::config::{Auth, Config, Kind, UpstreamConfig};

/// One upstream as the proxy sees it.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub name: String,
    pub kind: Kind,
    pub auth: Auth,
    /// Base URL without a trailing slash, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub key: Option<String>,
    /// Model that replaces the client's, if configured.
    pub model: Option<String>,
    /// Models served (exact, or prefixes ending in `*`); empty serves any.
    pub models: Vec<String>,
    pub default: bool,
    pub timeout: Duration,
    pub stream_idle_timeout: Duration,
    /// Ask for the sampled tokens' logprobs (the trained policy: training needs them).
    pub logprobs: bool,
}

impl Upstream {
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base_url, path.trim_start_matches('/'))
    }

    /// True if this upstream lists `model` (exactly or by prefix); an empty list serves any.
    pub fn serves(&self, model: &str) -> bool {
        self.models.is_empty()
            || self.models.iter().any(|m| match m.strip_suffix('*') {
                Some(prefix) => model.starts_with(prefix),
                None => m == model,
            })
    }
}

/// The configured upstreams, in order, without keys (the host looks those up).
pub fn from_config(cfg: &Config) -> Vec<Upstream> {
    let timeout = Duration::from_secs(cfg.upstream.timeout_secs);
    let idle = Duration::from_secs(cfg.upstream.stream_idle_timeout_secs);
    if cfg.upstreams.is_empty() {
        let u = &cfg.upstream;
        return vec![Upstream {
            name: "default".into(),
            kind: u.kind,
            auth: u.auth,
            base_url: u.base_url.trim_end_matches('/').to_string(),
            key: None,
            model: u.model.clone(),
            models: Vec::new(),
            default: true,
            timeout,
            stream_idle_timeout: idle,
            logprobs: false,
        }];
    }
    cfg.upstreams
        .iter()
        .map(|u| Upstream {
            name: u.name.clone(),
            kind: u.kind,
            auth: u.auth,
            base_url: u.base_url.trim_end_matches('/').to_string(),
            key: None,
            model: u.model.clone(),
            models: u.models.clone(),
            default: u.default,
            timeout,
            stream_idle_timeout: idle,
            logprobs: false,
        })
        .collect()
}

/// The routing table the proxy reads, shared with whoever swaps it (policy training).
pub type SharedRoutes = Arc<arc_swap::ArcSwap<Routes>>;

/// The routing table: an immutable list swapped as a whole when it changes.
#[derive(Debug, Clone)]
pub struct Routes {
    pub upstreams: Vec<Arc<Upstream>>,
}

impl Routes {
    pub fn new(upstreams: Vec<Upstream>) -> Self {
        Self { upstreams: upstreams.into_iter().map(Arc::new).collect() }
    }

    /// The upstreams to try for `model`, in order: those that list it, else the default (or
    /// the first upstream).
    ///
    /// The trained policy (an upstream that asks for logprobs) comes first for the models it
    /// serves, and the usual route stays behind it as the fallback.
    pub fn candidates(&self, model: Option<&str>) -> Vec<Arc<Upstream>> {
        let policy =
            self.upstreams.iter().find(|u| u.logprobs && model.is_some_and(|m| !u.models.is_empty() && u.serves(m)));
        let mut out = self.route(model);
        if let Some(p) = policy {
            out.insert(0, p.clone());
        }
        out
    }

    fn route(&self, model: Option<&str>) -> Vec<Arc<Upstream>> {
        let usual = |u: &&Arc<Upstream>| !u.logprobs;
        let listed: Vec<Arc<Upstream>> = match model {
            Some(m) => {
                self.upstreams.iter().filter(usual).filter(|u| !u.models.is_empty() && u.serves(m)).cloned().collect()
            }
            None => Vec::new(),
        };
        if !listed.is_empty() {
            return listed;
        }
        let open: Vec<Arc<Upstream>> =
            self.upstreams.iter().filter(usual).filter(|u| u.models.is_empty()).cloned().collect();
        if let Some(d) = self.upstreams.iter().filter(usual).find(|u| u.default) {
            let mut out = vec![d.clone()];
            out.extend(open.into_iter().filter(|u| u.name != d.name));
            return out;
        }
        if !open.is_empty() {
            return open;
        }
        self.upstreams.iter().find(usual).cloned().into_iter().collect()
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

/// Client headers that are MetaClaw's business or the connection's, never forwarded upstream:
/// the proxy key and every other `x-metaclaw-*` header, session hints, credentials (the upstream
/// gets its own), and `content-type` (MetaClaw sets the one it sends, so there is never two).
fn is_local_request_header(name: &HeaderName) -> bool {
    name.as_str().starts_with("x-metaclaw-")
        || matches!(
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
                | "content-type"
        )
}

/// The client's headers worth forwarding (OpenAI-Organization, OpenAI-Beta, user agents, …).
pub fn forward_request_headers(client: &HeaderMap) -> HeaderMap {
    client.iter().filter(|(n, _)| !is_local_request_header(n)).map(|(n, v)| (n.clone(), v.clone())).collect()
}

/// Upstream response headers to relay to the client (everything but the connection's own).
/// CORS headers (`access-control-*`) never pass: an upstream that allows every origin must not
/// let a web page read answers through MetaClaw.
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
            let cors = n.as_str().starts_with("access-control-");
            !hop_by_hop && !stream_length && !cors
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

/// True when a passthrough path (the part after `/v1/`, query included) stays under the
/// upstream's base path: no `.` or `..` segment, percent-encoded or not, and no backslash (which
/// URL parsers read as a slash).
pub fn passthrough_path_ok(path_q: &str) -> bool {
    let path = path_q.split(['?', '#']).next().unwrap_or("");
    if path.contains('\\') || path.to_ascii_lowercase().contains("%5c") {
        return false;
    }
    path.split('/').all(|seg| {
        let lower = seg.to_ascii_lowercase();
        let dots = lower.replace("%2e", ".");
        dots != "." && dots != ".."
    })
}

/// `text` with the user name and password of every URL in it replaced by `***`, so an upstream
/// address with credentials never reaches an error body, a log or the database.
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail.find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace() || c == ')' || c == '"');
        let authority = &tail[..end.unwrap_or(tail.len())];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(name: &str, models: &[&str], default: bool) -> Upstream {
        Upstream {
            name: name.into(),
            kind: Kind::Openai,
            auth: Auth::Key,
            base_url: "http://x/v1".into(),
            key: None,
            model: None,
            models: models.iter().map(|m| m.to_string()).collect(),
            default,
            timeout: Duration::from_secs(1),
            stream_idle_timeout: Duration::from_secs(1),
            logprobs: false,
        }
    }

    #[test]
    fn models_pick_upstreams_in_order_with_fallbacks_and_a_default() {
        let r = Routes::new(vec![
            up("anthropic", &["claude-*"], false),
            up("openai", &["gpt-4o", "o3*"], true),
            up("openrouter", &["gpt-4o", "claude-*"], false),
        ]);
        let names = |m: Option<&str>| r.candidates(m).iter().map(|u| u.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(Some("claude-sonnet-4")), ["anthropic", "openrouter"]);
        assert_eq!(names(Some("gpt-4o")), ["openai", "openrouter"]);
        assert_eq!(names(Some("o3-mini")), ["openai"]);
        assert_eq!(names(Some("llama")), ["openai"]);
        assert_eq!(names(None), ["openai"]);
    }

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

    #[test]
    fn the_proxy_key_metaclaw_headers_and_the_content_type_stay_local() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("x-metaclaw-key", "k12345678"),
            ("x-metaclaw-anything", "1"),
            ("x-turn-type", "side"),
            ("x-session-done", "1"),
            ("content-type", "application/json"),
            ("x-api-key", "k"),
            ("anthropic-beta", "b"),
        ] {
            h.insert(HeaderName::from_static(k), v.parse().unwrap());
        }
        let f = forward_request_headers(&h);
        assert_eq!(f.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["anthropic-beta"]);
    }

    #[test]
    fn cors_headers_from_an_upstream_are_never_relayed() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("access-control-allow-origin", "*"),
            ("access-control-allow-credentials", "true"),
            ("access-control-expose-headers", "x-request-id"),
            ("x-request-id", "r1"),
            ("content-type", "application/json"),
        ] {
            h.insert(HeaderName::from_static(k), v.parse().unwrap());
        }
        let r = relay_response_headers(&h, false);
        assert_eq!(r.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["x-request-id", "content-type"]);
    }

    #[test]
    fn passthrough_paths_with_dot_segments_are_refused() {
        for ok in ["embeddings", "files/abc/content?x=..", "a.b/c..d/...", "models/gpt-4.1", "x%2e"] {
            assert!(passthrough_path_ok(ok), "{ok}");
        }
        for bad in [
            "..",
            "../x",
            "a/../../x",
            "./x",
            "a/.",
            "%2e%2e/x",
            "%2E%2E/x",
            "%2e./x",
            ".%2e/x",
            "%2E./x",
            "a/%2e",
            "..\\x",
            "a%5c..%5cx",
        ] {
            assert!(!passthrough_path_ok(bad), "{bad}");
        }
    }

    #[test]
    fn userinfo_in_urls_is_redacted() {
        assert_eq!(
            redact_userinfo("cannot reach the upstream gw (https://alice:s3cret@gw.example/v1): error for url (https://alice:s3cret@gw.example/v1/chat)"),
            "cannot reach the upstream gw (https://***@gw.example/v1): error for url (https://***@gw.example/v1/chat)"
        );
        assert_eq!(redact_userinfo("http://h:1/x?a=b@c"), "http://h:1/x?a=b@c");
        assert_eq!(redact_userinfo("no url here"), "no url here");
        assert_eq!(redact_userinfo("http://tok@h"), "http://***@h");
    }
}
