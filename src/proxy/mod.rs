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
mod messages;
mod relay;
mod request;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub use error::{Protocol, ProxyError};

use crate::config::{Kind, RoutingConfig};
use crate::metrics::Metrics;
use crate::session::SessionTracker;
use crate::skills::{inject, Library};
use crate::store::Store;
use crate::upstream::{forward_request_headers, relay_response_headers, Upstream};

/// Shared state of the proxy routes.
pub struct ProxyState {
    /// The routing table; swapped whole when upstreams change.
    pub routes: crate::upstream::SharedRoutes,
    pub routing: RoutingConfig,
    pub client: reqwest::Client,
    pub sessions: SessionTracker,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    /// Key agents must present; `None` means loopback clients only.
    pub api_key: Option<String>,
    pub max_body_mib: u32,
    pub log_bodies: bool,
    pub skills: Arc<Library>,
    pub events: crate::events::EventBus,
}

/// The agent-facing routes.
pub fn router(state: Arc<ProxyState>) -> Router {
    let v1 = Router::new()
        .route("/chat/completions", post(chat::chat_completions))
        .route("/messages", post(messages::messages))
        .route("/messages/count_tokens", post(messages::count_tokens))
        .route("/models", get(models))
        .route("/{*rest}", any(passthrough))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), check_client))
        .with_state(state);
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"ok": true, "version": env!("CARGO_PKG_VERSION")})) }))
        .nest("/v1", v1)
}

/// Agents must present the proxy key when one is set (`x-metaclaw-key`, or `Authorization:
/// Bearer` / `x-api-key` when no upstream takes the caller's own credentials); otherwise only
/// loopback clients may call. Errors come in the caller's protocol.
async fn check_client(
    State(st): State<Arc<ProxyState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    OriginalUri(uri): OriginalUri,
    req: Request,
    next: Next,
) -> Response {
    let proto = if uri.path().starts_with("/v1/messages") { Protocol::Anthropic } else { Protocol::OpenAi };
    match &st.api_key {
        Some(key) => {
            let h = req.headers();
            let presented = h
                .get("x-metaclaw-key")
                .and_then(|v| v.to_str().ok())
                .or_else(|| {
                    h.get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                })
                .or_else(|| h.get("x-api-key").and_then(|v| v.to_str().ok()));
            match presented {
                None => return ProxyError::Unauthorized(
                    "missing API key: send the MetaClaw proxy key as `Authorization: Bearer <key>` or `x-metaclaw-key`"
                        .into(),
                )
                .into_response_for(proto),
                Some(p) if !crate::secrets::constant_time_eq(p.trim(), key) => {
                    return ProxyError::Unauthorized("invalid API key for this MetaClaw proxy".into())
                        .into_response_for(proto)
                }
                Some(_) => {}
            }
        }
        None if !peer.ip().is_loopback() => return ProxyError::Forbidden(
            "this MetaClaw proxy only accepts local clients; set a proxy key (METACLAW_PROXY_API_KEY) to allow others"
                .into(),
        )
        .into_response_for(proto),
        None => {}
    }
    next.run(req).await
}

/// Maps a failed upstream send to 502 or 504, naming the upstream.
fn send_error(up: &Upstream, e: reqwest::Error) -> ProxyError {
    if e.is_timeout() {
        ProxyError::UpstreamTimeout(format!("the upstream {} ({}) did not answer in time: {e}", up.name, up.base_url))
    } else {
        let mut msg = format!("cannot reach the upstream {} ({}): {e}", up.name, up.base_url);
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(&format!(": {s}"));
            src = s.source();
        }
        ProxyError::UpstreamUnreachable(msg)
    }
}

/// Sends `rb` with the upstream's header timeout.
async fn send(up: &Upstream, rb: reqwest::RequestBuilder) -> Result<reqwest::Response, ProxyError> {
    match tokio::time::timeout(up.timeout, rb.send()).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(send_error(up, e)),
        Err(_) => Err(ProxyError::UpstreamTimeout(format!(
            "the upstream {} ({}) sent no response within {} s (upstream.timeout_secs)",
            up.name,
            up.base_url,
            up.timeout.as_secs()
        ))),
    }
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
        if up.kind == Kind::Openai {
            let rb = st.client.get(up.url("models")).headers(forward_request_headers(&headers));
            return match forward::authorise(rb, up, &headers, Protocol::OpenAi) {
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
        let listed: Option<Vec<String>> = match forward::authorise(rb, up, &headers, Protocol::OpenAi) {
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
    let url = up.url(rest);
    let method = req.method().clone();
    let client_headers = req.headers().clone();
    let body = reqwest::Body::wrap_stream(req.into_body().into_data_stream());
    let rb = st.client.request(method, url).headers(forward_request_headers(&client_headers)).body(body);
    let rb = match forward::authorise(rb, &up, &client_headers, Protocol::OpenAi) {
        Ok(rb) => rb,
        Err(e) => return e.into_response(),
    };
    match send(&up, rb).await {
        Ok(resp) => relay_plain(resp),
        Err(e) => e.into_response(),
    }
}
