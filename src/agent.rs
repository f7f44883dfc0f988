//! Which agent sent a request: an [`AgentId`], resolved per request from the route
//! (`/agents/<name>/v1/...`), the `X-Agent-Id` header, the client's user agent, else "unknown";
//! and whether the client asked for no skill injection (`X-MetaClaw-Inject: off`).

use std::borrow::Cow;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, OriginalUri, Request};
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::{Deserialize, Serialize};

/// Longest agent name.
pub const MAX_LEN: usize = 32;

/// Internal header carrying the agent named by the route (replacing any the client sent there).
/// Like every `x-metaclaw-` header it is never forwarded upstream.
pub const ROUTE_HEADER: &str = "x-metaclaw-agent";

/// The header a client may name itself with.
pub const AGENT_HEADER: &str = "x-agent-id";

/// The header with which a client turns skill injection off for one request.
pub const INJECT_HEADER: &str = "x-metaclaw-inject";

/// An agent's name: lowercase `[a-z0-9-]{1,32}`, or "unknown".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(try_from = "String", into = "String")]
pub struct AgentId(#[cfg_attr(test, ts(type = "string"))] Cow<'static, str>);

/// Why a name is not an agent name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    #[error("an agent name must not be empty")]
    Empty,
    #[error("an agent name has at most {MAX_LEN} characters")]
    TooLong,
    #[error("an agent name uses only letters a-z, digits and '-', not {0:?}")]
    BadChar(char),
}

impl AgentId {
    /// The agent of a request nothing identifies.
    pub const UNKNOWN: AgentId = AgentId(Cow::Borrowed("unknown"));

    /// A known agent's name (checked by the unit tests).
    const fn known(name: &'static str) -> AgentId {
        AgentId(Cow::Borrowed(name))
    }

    /// Checks a name; ASCII capitals are lowered (`Codex` is `codex`), surrounding blanks dropped.
    pub fn parse(name: &str) -> Result<AgentId, AgentError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(AgentError::Empty);
        }
        if name.len() > MAX_LEN {
            return Err(AgentError::TooLong);
        }
        if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
            return Err(AgentError::BadChar(c));
        }
        Ok(AgentId(Cow::Owned(name.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_unknown(&self) -> bool {
        *self == Self::UNKNOWN
    }

    /// The agent a client's `User-Agent` names: Codex CLI, Claude Code, OpenClaw, Hermes Agent,
    /// NanoClaw, then the official OpenAI and Anthropic SDKs ("sdk").
    pub fn from_user_agent(ua: &str) -> Option<AgentId> {
        let ua = ua.trim().to_ascii_lowercase();
        // Agents built on an SDK often name themselves beside it: the agent's name wins.
        let named =
            [("openclaw", "openclaw"), ("nanoclaw", "nanoclaw"), ("hermes", "hermes"), ("claude-code", "claude-code")];
        if let Some((_, id)) = named.iter().find(|(needle, _)| ua.contains(needle)) {
            return Some(Self::known(id));
        }
        // Codex CLI sends its originator (`codex_cli_rs`, `codex_exec`, …) as the product.
        if ua.starts_with("codex") {
            return Some(Self::known("codex"));
        }
        if ua.starts_with("claude-cli/") {
            return Some(Self::known("claude-code"));
        }
        let sdk = ["openai/", "anthropic/", "openai-python", "openai-node", "anthropic-python", "anthropic-typescript"];
        if sdk.iter().any(|p| ua.starts_with(p)) {
            return Some(Self::known("sdk"));
        }
        None
    }

    /// The agent of a request, first match wins: the route's name (put into [`ROUTE_HEADER`] by
    /// [`through_route`]), `X-Agent-Id`, the user agent, else "unknown". An `X-Agent-Id` that is
    /// not a valid name is ignored (logged at debug).
    pub fn resolve(headers: &HeaderMap) -> AgentId {
        const ROUTE: http::HeaderName = http::HeaderName::from_static(ROUTE_HEADER);
        const AGENT: http::HeaderName = http::HeaderName::from_static(AGENT_HEADER);
        let header = |name: &http::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(id) = header(&ROUTE).and_then(|v| AgentId::parse(v).ok()) {
            return id;
        }
        if let Some(v) = header(&AGENT) {
            match AgentId::parse(v) {
                Ok(id) => return id,
                Err(e) => tracing::debug!(error = %e, "X-Agent-Id ignored"),
            }
        }
        header(&http::header::USER_AGENT).and_then(AgentId::from_user_agent).unwrap_or(Self::UNKNOWN)
    }
}

impl std::fmt::Display for AgentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Default for AgentId {
    fn default() -> Self {
        Self::UNKNOWN
    }
}

impl TryFrom<String> for AgentId {
    type Error = AgentError;
    fn try_from(s: String) -> Result<Self, AgentError> {
        AgentId::parse(&s)
    }
}

impl From<AgentId> for String {
    fn from(a: AgentId) -> String {
        a.0.into_owned()
    }
}

/// Who sent a request, as far as skills and the turn's record care.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub agent: AgentId,
    /// The client asked for no skill injection ([`inject_off`]).
    pub inject_off: bool,
}

impl Caller {
    pub fn of(headers: &HeaderMap) -> Caller {
        Caller { agent: AgentId::resolve(headers), inject_off: inject_off(headers) }
    }
}

/// The scope of a skill evolved from failed turns of `agents`: the one known agent they all came
/// from, else none (shared).
pub fn scope_of(agents: &[AgentId]) -> Vec<AgentId> {
    match agents.split_first() {
        Some((first, rest)) if !first.is_unknown() && rest.iter().all(|a| a == first) => vec![first.clone()],
        _ => Vec::new(),
    }
}

/// True when the client asked MetaClaw not to inject skills into this request
/// (`X-MetaClaw-Inject: off`; `false`, `no` and `0` too).
pub fn inject_off(headers: &HeaderMap) -> bool {
    const INJECT: http::HeaderName = http::HeaderName::from_static(INJECT_HEADER);
    headers
        .get(&INJECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "off" | "false" | "no" | "0"))
}

/// Splits `/agents/<name>/v1/<rest>` into the name and `/v1/<rest>` (query kept).
pub fn split_route(path_q: &str) -> Option<(&str, &str)> {
    let after = path_q.strip_prefix("/agents/")?;
    let slash = after.find('/')?;
    let (name, rest) = after.split_at(slash);
    (rest.starts_with("/v1/") || rest == "/v1").then_some((name, rest))
}

/// Serves a request that came by `/agents/<name>/v1/...` as the same request to `/v1/...` on
/// `app`, with the route's agent in [`ROUTE_HEADER`]. A name that is not an agent name is a 404
/// in the caller's protocol. The request starts afresh (only the peer address is kept), so the
/// handlers behind see exactly what a plain `/v1` request shows them.
pub async fn through_route(app: Router, req: Request) -> Response {
    use tower_service::Service;
    let (parts, body) = req.into_parts();
    let path_q = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let Some((name, rest)) = split_route(&path_q) else {
        return crate::proxy::ProxyError::NotFound(format!("unknown endpoint {}", parts.uri.path())).into_response();
    };
    let proto = if rest.starts_with("/v1/messages") {
        crate::proxy::Protocol::Anthropic
    } else {
        crate::proxy::Protocol::OpenAi
    };
    let agent = match AgentId::parse(name) {
        Ok(a) if !a.is_unknown() => a,
        Ok(_) => {
            return crate::proxy::ProxyError::NotFound("\"unknown\" is not an agent's route name".into())
                .into_response_for(proto)
        }
        Err(e) => {
            return crate::proxy::ProxyError::NotFound(format!("no agent route /agents/{name}/: {e}"))
                .into_response_for(proto)
        }
    };
    let Ok(uri) = rest.parse::<Uri>() else {
        return crate::proxy::ProxyError::bad("the request path is not a valid URI", None).into_response_for(proto);
    };
    let mut out = Request::new(body);
    *out.method_mut() = parts.method;
    *out.uri_mut() = uri.clone();
    *out.version_mut() = parts.version;
    *out.headers_mut() = parts.headers;
    let value = HeaderValue::from_str(agent.as_str()).expect("agent names are header-safe");
    out.headers_mut().insert(ROUTE_HEADER, value);
    if let Some(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        out.extensions_mut().insert(*peer);
    }
    out.extensions_mut().insert(OriginalUri(uri));
    let mut app = app;
    match app.call(out).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap())).collect()
    }

    #[test]
    fn names_are_checked_and_lowered() {
        assert_eq!(AgentId::parse(" Codex ").unwrap().as_str(), "codex");
        assert_eq!(AgentId::parse("my-agent-2").unwrap().as_str(), "my-agent-2");
        assert_eq!(AgentId::parse(""), Err(AgentError::Empty));
        assert_eq!(AgentId::parse(&"a".repeat(33)), Err(AgentError::TooLong));
        assert!(AgentId::parse(&"a".repeat(32)).is_ok());
        assert_eq!(AgentId::parse("a/b"), Err(AgentError::BadChar('/')));
        assert_eq!(AgentId::parse("ag_ent"), Err(AgentError::BadChar('_')));
        assert_eq!(AgentId::parse("agént"), Err(AgentError::BadChar('é')));
        assert!(AgentId::parse("unknown").unwrap().is_unknown());
    }

    #[test]
    fn an_agent_id_serialises_as_its_name_and_refuses_bad_names() {
        let a: AgentId = serde_json::from_str("\"codex\"").unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"codex\"");
        assert!(serde_json::from_str::<AgentId>("\"no way\"").is_err());
    }

    #[test]
    fn user_agents_of_known_clients_name_their_agent() {
        let cases = [
            ("codex_cli_rs/0.171.0 (Debian 13; x86_64) xterm", Some("codex")),
            ("codex_exec/0.171.0", Some("codex")),
            ("claude-cli/2.1.332 (external, sdk-cli)", Some("claude-code")),
            ("openclaw/2026.9.6", Some("openclaw")),
            ("OpenAI/JS 5.20.0 openclaw/2026.9.6", Some("openclaw")),
            ("Hermes-Agent/1.2 OpenAI/Python 1.99", Some("hermes")),
            ("nanoclaw/0.4 claude-cli/2.1.0", Some("nanoclaw")),
            ("OpenAI/Python 1.99.0", Some("sdk")),
            ("OpenAI/JS 5.20.0", Some("sdk")),
            ("Anthropic/Python 0.60.0", Some("sdk")),
            ("Anthropic/JS 0.60.0", Some("sdk")),
            ("curl/8.5.0", None),
            ("", None),
        ];
        for (ua, want) in cases {
            assert_eq!(AgentId::from_user_agent(ua).as_ref().map(AgentId::as_str), want, "{ua}");
        }
    }

    #[test]
    fn every_known_name_is_a_valid_name() {
        for ua in ["codex", "claude-cli/1", "openclaw", "nanoclaw", "hermes", "OpenAI/x"] {
            let id = AgentId::from_user_agent(ua).unwrap();
            assert_eq!(AgentId::parse(id.as_str()).unwrap(), id);
        }
    }

    #[test]
    fn the_route_wins_over_the_header_which_wins_over_the_user_agent() {
        let all = headers(&[(ROUTE_HEADER, "openclaw"), (AGENT_HEADER, "mine"), ("user-agent", "codex_exec/1")]);
        assert_eq!(AgentId::resolve(&all).as_str(), "openclaw");
        let no_route = headers(&[(AGENT_HEADER, "Mine"), ("user-agent", "codex_exec/1")]);
        assert_eq!(AgentId::resolve(&no_route).as_str(), "mine");
        let bad_header = headers(&[(AGENT_HEADER, "not valid!"), ("user-agent", "codex_exec/1")]);
        assert_eq!(AgentId::resolve(&bad_header).as_str(), "codex");
        assert!(AgentId::resolve(&headers(&[("user-agent", "curl/8")])).is_unknown());
        assert!(AgentId::resolve(&HeaderMap::new()).is_unknown());
    }

    #[test]
    fn an_evolved_skill_is_scoped_to_the_one_agent_whose_failures_produced_it() {
        let a = |n: &str| AgentId::parse(n).unwrap();
        assert_eq!(scope_of(&[a("codex"), a("codex")]), [a("codex")]);
        assert!(scope_of(&[a("codex"), a("openclaw")]).is_empty(), "several agents: shared");
        assert!(scope_of(&[AgentId::UNKNOWN]).is_empty(), "an unknown agent: shared");
        assert!(scope_of(&[]).is_empty());
    }

    #[test]
    fn the_inject_header_turns_injection_off() {
        assert!(inject_off(&headers(&[(INJECT_HEADER, "off")])));
        assert!(inject_off(&headers(&[(INJECT_HEADER, " OFF ")])));
        assert!(inject_off(&headers(&[(INJECT_HEADER, "false")])));
        assert!(!inject_off(&headers(&[(INJECT_HEADER, "on")])));
        assert!(!inject_off(&HeaderMap::new()));
    }

    #[test]
    fn agent_routes_split_into_name_and_v1_path() {
        assert_eq!(split_route("/agents/codex/v1/responses"), Some(("codex", "/v1/responses")));
        assert_eq!(split_route("/agents/cc/v1/messages?beta=true"), Some(("cc", "/v1/messages?beta=true")));
        assert_eq!(split_route("/agents/codex/v2/x"), None);
        assert_eq!(split_route("/agents/codex"), None);
        assert_eq!(split_route("/v1/chat/completions"), None);
    }
}
