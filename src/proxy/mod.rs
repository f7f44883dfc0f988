//! The proxy: the endpoints agents talk to — OpenAI's `/v1/chat/completions` and `/v1/models`,
//! Anthropic's `/v1/messages` and `/v1/messages/count_tokens`, anything else under `/v1/`
//! relayed as is — and `/healthz`.
//!
//! It never waits on disk or on a background LLM call: turns go to the store's writer through a
//! queue, and all learning work happens elsewhere.

mod chat;
mod error;
mod forward;
mod guard;
mod intake;
pub mod listen;
mod messages;
mod relay;
pub mod request;
mod response_store;
pub use response_store::ResponseStore;
mod responses;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::{HeaderMap, HeaderName, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub use error::{Protocol, ProxyError};

use crate::api::LocalAddr;
use crate::config::{Auth, RoutingConfig};
use crate::metrics::Metrics;
use crate::session::SessionTracker;
use crate::skills::{inject, Library};
use crate::store::Store;
use crate::upstream::{self, forward_request_headers, passthrough_path_ok, relay_response_headers, Upstream};

/// Shared state of the proxy routes.
pub struct ProxyState {
    /// The routing table; swapped whole when upstreams change.
    pub routes: crate::upstream::SharedRoutes,
    pub routing: RoutingConfig,
    pub client: reqwest::Client,
    /// Shared by every core of the engine (a reload keeps the sessions it tracks).
    pub sessions: Arc<SessionTracker>,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    /// Key agents must present; `None` means loopback clients only.
    pub api_key: Option<String>,
    pub max_body_mib: u32,
    /// Longest wait for a request body once its headers arrived.
    pub body_timeout: std::time::Duration,
    /// Where the engine listens: what `Host` and `Origin` must name when no proxy key is set.
    pub local: LocalAddr,
    pub log_bodies: bool,
    pub skills: Arc<Library>,
    /// New and edited skills withheld from some turns, to measure them.
    pub holdout: Arc<crate::effect::Holdout>,
    pub events: crate::events::EventBus,
    /// Which session each relayed Responses API answer belongs to (`previous_response_id` chains).
    pub responses: Arc<response_store::ResponseStore>,
}

/// The agent-facing routes.
pub fn router(state: Arc<ProxyState>) -> Router {
    let v1 = Router::new()
        .route("/chat/completions", post(chat::chat_completions))
        .route("/messages", post(messages::messages))
        .route("/messages/count_tokens", post(messages::count_tokens))
        .route("/models", get(models))
        .route("/responses", post(responses::responses))
        .route("/responses/{id}", get(responses::get_response).delete(responses::delete_response))
        .route("/{*rest}", any(passthrough))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), check_client))
        .with_state(state);
    let app = Router::new()
        .route("/healthz", get(|| async { Json(json!({"ok": true, "version": env!("CARGO_PKG_VERSION")})) }))
        .nest("/v1", v1);
    // `/agents/<name>/v1/...`: the same endpoints, the turn attributed to the agent by route.
    let plain = app.clone();
    app.route("/agents/{agent}/v1/{*rest}", any(move |req: Request| crate::agent::through_route(plain.clone(), req)))
}

/// Who may call `/v1`. With a proxy key: whoever presents it (`x-metaclaw-key`, or `Authorization:
/// Bearer` / `x-api-key` when no upstream takes the caller's own credentials). Without one: only
/// what a local agent sends — a loopback peer, a `Host` naming this engine (no DNS rebinding), no
/// other site's `Origin` (no web page), and JSON bodies (no form or `text/plain` posts that skip
/// the browser's preflight). Errors come in the caller's protocol. The proxy key never travels
/// further: it is removed from the request here, so it can't reach an upstream.
async fn check_client(
    State(st): State<Arc<ProxyState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    OriginalUri(uri): OriginalUri,
    mut req: Request,
    next: Next,
) -> Response {
    match refusal(&st, peer, uri.path(), &mut req) {
        None => next.run(with_body_deadline(&st, req)).await,
        Some(refused) => refused,
    }
}

/// The checks of [`check_client`] for a request to `path`: `None` admits it; a refusal is
/// counted, logged and answered in the caller's protocol.
fn refusal(st: &ProxyState, peer: SocketAddr, path: &str, req: &mut Request) -> Option<Response> {
    let proto = if path.starts_with("/v1/messages") { Protocol::Anthropic } else { Protocol::OpenAi };
    let checked = match &st.api_key {
        Some(key) => check_key(st, key, req.headers_mut()),
        None => check_local(st, peer, req),
    };
    let e = checked.err()?;
    guard::refused(&st.metrics, path, req.headers(), &e);
    Some(e.into_response_for(proto))
}

/// `req` with a deadline for its whole body to arrive (`proxy.body_timeout_secs`).
fn with_body_deadline(st: &ProxyState, req: Request) -> Request {
    let (parts, body) = req.into_parts();
    Request::from_parts(parts, Body::new(request::Deadline::new(body, st.body_timeout)))
}

/// The turn endpoint `req` asks for, if it is one: `POST /v1/chat/completions` or
/// `POST /v1/messages` (any query string, as the router would match it).
pub fn turn_endpoint(req: &Request) -> Option<Protocol> {
    if req.method() != Method::POST {
        return None;
    }
    match req.uri().path() {
        "/v1/chat/completions" => Some(Protocol::OpenAi),
        "/v1/messages" => Some(Protocol::Anthropic),
        _ => None,
    }
}

/// Serves a turn endpoint (see [`turn_endpoint`]) straight from the listener: the same client
/// check, body deadline and handler as through [`router`], without the router's matching,
/// nesting and middleware layers, each of which allocates on every request.
pub async fn serve_turn(st: Arc<ProxyState>, peer: SocketAddr, endpoint: Protocol, mut req: Request) -> Response {
    let path = match endpoint {
        Protocol::OpenAi => "/v1/chat/completions",
        Protocol::Anthropic => "/v1/messages",
    };
    if let Some(refused) = refusal(&st, peer, path, &mut req) {
        return refused;
    }
    let (parts, body) = with_body_deadline(&st, req).into_parts();
    match endpoint {
        Protocol::OpenAi => chat::chat_completions(State(st), parts.headers, body).await,
        Protocol::Anthropic => messages::messages(State(st), parts.headers, body).await,
    }
}

/// Checks the proxy key and strips it from `headers`.
fn check_key(st: &ProxyState, key: &str, headers: &mut HeaderMap) -> Result<(), ProxyError> {
    let is_key = |v: &axum::http::HeaderValue| {
        v.to_str()
            .ok()
            .map(|v| v.trim())
            .map(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).unwrap_or(v))
            .is_some_and(|v| crate::secrets::constant_time_eq(v.trim(), key))
    };
    // With a passthrough upstream, `Authorization` and `x-api-key` carry the caller's own upstream
    // credentials, so the proxy key must come in its own header.
    let passthrough = st.routes.load().upstreams.iter().any(|u| u.auth == Auth::Passthrough);
    const KEY: HeaderName = HeaderName::from_static("x-metaclaw-key");
    const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
    let outcome = match headers.get(&KEY) {
        Some(v) if is_key(v) => Ok(()),
        Some(_) => Err(ProxyError::Unauthorized("invalid API key for this MetaClaw proxy".into())),
        None if passthrough => Err(ProxyError::Unauthorized(
            "missing API key: an upstream here takes the caller's own credentials, so send the MetaClaw proxy key \
             as `x-metaclaw-key`"
                .into(),
        )),
        None => match headers.get(http::header::AUTHORIZATION).or_else(|| headers.get(&X_API_KEY)) {
            None => Err(ProxyError::Unauthorized(
                "missing API key: send the MetaClaw proxy key as `Authorization: Bearer <key>` or `x-metaclaw-key`"
                    .into(),
            )),
            Some(v) if is_key(v) => Ok(()),
            Some(_) => Err(ProxyError::Unauthorized("invalid API key for this MetaClaw proxy".into())),
        },
    };
    headers.remove(&KEY);
    for name in ["authorization", "x-api-key"] {
        if headers.get(name).is_some_and(is_key) {
            headers.remove(name);
        }
    }
    outcome
}

/// Without a proxy key: a local agent, not a web page or a rebound host name.
fn check_local(st: &ProxyState, peer: SocketAddr, req: &Request) -> Result<(), ProxyError> {
    if !crate::api::is_local_peer(peer.ip()) {
        return Err(ProxyError::Forbidden(
            "this MetaClaw proxy only accepts local clients; set a proxy key (METACLAW_PROXY_API_KEY) to allow others"
                .into(),
        ));
    }
    let h = req.headers();
    let host = crate::api::request_host(req);
    if !host.as_deref().is_some_and(|host| st.local.host_allowed(host)) {
        return Err(ProxyError::Forbidden(format!(
            "foreign Host header {:?}: without a proxy key this MetaClaw proxy answers only 127.0.0.1, localhost or [::1] \
             on port {}",
            host.unwrap_or_default(),
            st.local.port
        )));
    }
    if let Some(o) = st.local.foreign_origin(h) {
        return Err(ProxyError::Forbidden(format!(
            "requests from web pages (Origin {o:?}) are refused: only local agents may use this proxy"
        )));
    }
    // Browsers label every request, `<img>` and `<script>` loads too (which carry no Origin);
    // agents send no such header.
    const FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");
    if let Some(site) = h.get(&FETCH_SITE) {
        let site = site.to_str().unwrap_or("");
        if !matches!(site, "same-origin" | "none") {
            return Err(ProxyError::Forbidden(format!(
                "requests from web pages (Sec-Fetch-Site {site:?}) are refused: only local agents may use this proxy"
            )));
        }
    }
    let has_body = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH)
        || h.contains_key(http::header::TRANSFER_ENCODING)
        || h.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() != "0");
    if has_body && !is_json(h) {
        return Err(ProxyError::UnsupportedMediaType(format!(
            "the request body must be JSON (`Content-Type: application/json`), not {}",
            h.get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map_or("unspecified".into(), |v| format!("{v:?}"))
        )));
    }
    Ok(())
}

/// True for `application/json`, with or without parameters such as `charset`.
fn is_json(h: &HeaderMap) -> bool {
    let mut all = h.get_all(http::header::CONTENT_TYPE).iter();
    let (Some(v), None) = (all.next(), all.next()) else { return false };
    v.to_str().ok().and_then(|v| v.split(';').next()).is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// Maps a failed upstream send to 502 or 504 (or 408 when the client's own body was slow),
/// naming the upstream with any credentials in its address masked.
fn send_error(up: &Upstream, e: reqwest::Error) -> ProxyError {
    upstream::send_error(up, e).into()
}

/// Sends `rb` with the upstream's header timeout.
async fn send(up: &Upstream, rb: reqwest::RequestBuilder) -> Result<reqwest::Response, ProxyError> {
    Ok(upstream::send(up, rb).await?)
}

/// Builds a client response from an upstream one, streaming its body through.
fn relay_plain(resp: reqwest::Response) -> Response {
    let status = resp.status();
    let headers = relay_response_headers(resp.headers(), true);
    let mut out = Response::new(Body::from_stream(resp.bytes_stream()));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}

/// How long `/v1/models` waits for each upstream's own list before using the configured names.
const MODELS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn model_entry(id: &str, owner: &str) -> Value {
    json!({"id": id, "object": "model", "created": 0, "owned_by": owner})
}

/// `GET /v1/models`: the models every upstream serves (their own lists, filtered by the routing
/// table), or the configured model names when an upstream can't be asked.
async fn models(State(st): State<Arc<ProxyState>>, headers: HeaderMap) -> Response {
    let routes = st.routes.load_full();
    // The trained policy answers for the models listed here; it adds none of its own.
    let usual: Vec<&Arc<Upstream>> = routes.upstreams.iter().filter(|u| !u.logprobs).collect();
    if let [up] = usual.as_slice() {
        if let Some(m) = &up.model {
            return Json(json!({"object": "list", "data": [model_entry(m, "metaclaw")]})).into_response();
        }
        if up.kind == Protocol::OpenAi {
            let rb = st.client.get(up.url("models")).headers(forward_request_headers(&headers));
            return match upstream::authorise(rb, up, &headers, Protocol::OpenAi).map_err(ProxyError::from) {
                Ok(rb) => match send(up, rb).await {
                    Ok(resp) => relay_plain(resp),
                    Err(e) => e.into_response(),
                },
                Err(e) => e.into_response(),
            };
        }
    }
    let mut data = Vec::new();
    for up in usual {
        if let Some(m) = &up.model {
            data.push(model_entry(m, &up.name));
            continue;
        }
        // A slow or dead upstream must not hold the whole list up: ask briefly.
        let rb = st.client.get(up.url("models")).headers(forward_request_headers(&headers)).timeout(MODELS_TIMEOUT);
        let listed: Option<Vec<String>> = match upstream::authorise(rb, up, &headers, Protocol::OpenAi) {
            Ok(rb) => match send(up, rb).await {
                Ok(r) if r.status().is_success() => r.json::<Value>().await.ok().map(|v| {
                    v["data"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|m| m["id"].as_str().map(str::to_string))
                        .collect()
                }),
                _ => None,
            },
            Err(_) => None,
        };
        let ids = listed.unwrap_or_else(|| up.models.iter().filter(|m| !m.ends_with('*')).cloned().collect());
        data.extend(ids.iter().filter(|id| up.serves(id)).map(|id| model_entry(id, &up.name)));
    }
    Json(json!({"object": "list", "data": data})).into_response()
}

/// Any other `/v1/…` call (embeddings, completions, …) goes unchanged to the default upstream and
/// is not recorded.
async fn passthrough(State(st): State<Arc<ProxyState>>, OriginalUri(uri): OriginalUri, req: Request) -> Response {
    let routes = st.routes.load_full();
    let Some(up) = routes.candidates(None).into_iter().next() else {
        return ProxyError::NotFound("no upstream is configured".into()).into_response();
    };
    let path_q = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let Some(rest) = path_q.strip_prefix("/v1/") else {
        return ProxyError::NotFound(format!("unknown endpoint {path_q}")).into_response();
    };
    // `..` (even as `%2e%2e`) would be resolved by the URL parser and climb out of the upstream's
    // base path, taking the stored key to another endpoint of the same host.
    if !passthrough_path_ok(rest) {
        return ProxyError::bad("the path must not contain `.` or `..` segments (encoded or not) or backslashes", None)
            .into_response();
    }
    let url = up.url(rest);
    let method = req.method().clone();
    let client_headers = req.headers().clone();
    guard::relayed_unrecorded(&st.metrics, "relayed_passthrough", uri.path(), &client_headers);
    let body = reqwest::Body::wrap_stream(req.into_body().into_data_stream());
    let mut rb = st.client.request(method, url).headers(forward_request_headers(&client_headers)).body(body);
    if let Some(ct) = client_headers.get(http::header::CONTENT_TYPE) {
        rb = rb.header(http::header::CONTENT_TYPE, ct);
    }
    let rb = match upstream::authorise(rb, &up, &client_headers, Protocol::OpenAi) {
        Ok(rb) => rb,
        Err(e) => return ProxyError::from(e).into_response(),
    };
    match send(&up, rb).await {
        Ok(resp) => relay_plain(resp),
        Err(e) => e.into_response(),
    }
}
