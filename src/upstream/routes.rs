//! The routing table: the configured upstreams (OpenAI-compatible or Anthropic) with their keys,
//! and the ones to try for a model, in order (with fallbacks, the trained policy first).

use std::sync::Arc;
use std::time::Duration;

use super::pool::PlainHttp;
use crate::config::{Auth, Config, Protocol, SHORTHAND_UPSTREAM};

/// One upstream as the proxy sees it.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub name: String,
    pub kind: Protocol,
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
    /// The chat-turn URL, parsed on first use (`Default::default()` when building one).
    pub parsed_url: TurnUrl,
    /// The lean lane for a model server on this machine (see [`PlainHttp`]); `None` sends
    /// through the usual client.
    pub plain: Option<PlainHttp>,
}

/// An upstream's chat-turn URL (base URL and the protocol's path), parsed once instead of on
/// every request, as a URL (for `reqwest`) and as a URI (for the lean lane). Derived from `kind`
/// and `base_url`, which do not change after construction.
#[derive(Debug, Clone, Default)]
pub struct TurnUrl(std::sync::OnceLock<Option<(reqwest::Url, http::Uri)>>);

impl Upstream {
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base_url, path.trim_start_matches('/'))
    }

    /// The chat-turn URL, parsed once; `None` when it does not parse (the caller then sends the
    /// string so the client reports the error as before).
    pub fn turn_url(&self) -> Option<&reqwest::Url> {
        self.turn_target().map(|(url, _)| url)
    }

    /// The chat-turn URL and the same as a URI, parsed once (see [`TurnUrl`]).
    pub fn turn_target(&self) -> Option<&(reqwest::Url, http::Uri)> {
        self.parsed_url
            .0
            .get_or_init(|| {
                let url = reqwest::Url::parse(&self.url(super::request::turn_path(self))).ok()?;
                let uri = http::Uri::try_from(url.as_str()).ok()?;
                Some((url, uri))
            })
            .as_ref()
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
    // One lean pool for the local upstreams of this configuration.
    let lane = PlainHttp::new(&cfg.upstream);
    let plain = |base: &str| PlainHttp::takes(base).then(|| lane.clone());
    if cfg.upstreams.is_empty() {
        let u = &cfg.upstream;
        return vec![Upstream {
            name: SHORTHAND_UPSTREAM.into(),
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
            parsed_url: TurnUrl::default(),
            plain: plain(&u.base_url),
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
            parsed_url: TurnUrl::default(),
            plain: plain(&u.base_url),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn up(name: &str, models: &[&str], default: bool) -> Upstream {
        Upstream {
            name: name.into(),
            kind: Protocol::OpenAi,
            auth: Auth::Key,
            base_url: "http://x/v1".into(),
            key: None,
            model: None,
            models: models.iter().map(|m| m.to_string()).collect(),
            default,
            timeout: Duration::from_secs(1),
            stream_idle_timeout: Duration::from_secs(1),
            logprobs: false,
            parsed_url: TurnUrl::default(),
            plain: None,
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
    fn the_turn_url_is_the_base_and_the_protocols_path_parsed_once() {
        let mut openai = up("o", &[], true);
        openai.base_url = "http://127.0.0.1:9/v1".into();
        let url = openai.turn_url().expect("parses").clone();
        assert_eq!(url.as_str(), "http://127.0.0.1:9/v1/chat/completions");
        assert!(std::ptr::eq(openai.turn_url().unwrap(), openai.turn_url().unwrap()), "parsed once");
        let mut anthropic = up("a", &[], true);
        anthropic.kind = Protocol::Anthropic;
        assert_eq!(anthropic.turn_url().unwrap().as_str(), "http://x/v1/messages");
        let mut bad = up("b", &[], true);
        bad.base_url = "not a url".into();
        assert!(bad.turn_url().is_none(), "left to the client, which reports it as before");
    }
}
