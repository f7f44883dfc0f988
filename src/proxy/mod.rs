//! The proxy: OpenAI-compatible endpoints agents talk to (`/v1/chat/completions`,
//! `/v1/models`, anything else under `/v1/` relayed as is) and `/healthz`.
//!
//! It never waits on disk or on a background LLM call: turns go to the store's writer through a
//! channel, and all learning work happens elsewhere.

mod chat;
mod error;
mod guard;
mod relay;
mod request;

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::body::Body;
use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::json;

pub use error::ProxyError;

use crate::metrics::Metrics;
use crate::session::SessionTracker;
use crate::skills::{inject, Library};
use crate::store::Store;
use crate::upstream::{forward_request_headers, relay_response_headers, Upstream};

/// Shared state of the proxy routes.
pub struct ProxyState {
    pub upstream: ArcSwap<Upstream>,
    pub client: reqwest::Client,
    pub sessions: SessionTracker,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    /// Key agents must present; `None` means loopback clients only.
    pub api_key: Option<String>,
    pub max_body_mib: u32,
    pub log_bodies: bool,
    pub skills: Arc<Library>,
}

/// The agent-facing routes.
pub fn router(state: Arc<ProxyState>) -> Router {
    let v1 = Router::new()
        .route("/chat/completions", post(chat::chat_completions))
        .route("/models", get(models))
        .route("/{*rest}", any(passthrough))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), check_client))
        .with_state(state);
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"ok": true, "version": env!("CARGO_PKG_VERSION")})) }))
        .nest("/v1", v1)
}

/// Agents must present the proxy key when one is set; otherwise only loopback clients may call.
async fn check_client(
    State(st): State<Arc<ProxyState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    match &st.api_key {
        Some(key) => {
            let h = req.headers();
            let presented = h
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .or_else(|| h.get("x-api-key").and_then(|v| v.to_str().ok()));
            match presented {
                None => {
                    return ProxyError::Unauthorized(
                        "missing API key: send the MetaClaw proxy key as `Authorization: Bearer <key>`".into(),
                    )
                    .into_response()
                }
                Some(p) if !crate::secrets::constant_time_eq(p.trim(), key) => {
                    return ProxyError::Unauthorized("invalid API key for this MetaClaw proxy".into()).into_response()
                }
                Some(_) => {}
            }
        }
        None if !peer.ip().is_loopback() => return ProxyError::Forbidden(
            "this MetaClaw proxy only accepts local clients; set a proxy key (METACLAW_PROXY_API_KEY) to allow others"
                .into(),
        )
        .into_response(),
        None => {}
    }
    next.run(req).await
}

/// Maps a failed upstream send to 502 or 504, naming the upstream.
fn send_error(up: &Upstream, e: reqwest::Error) -> ProxyError {
    if e.is_timeout() {
        ProxyError::UpstreamTimeout(format!("the upstream {} did not answer in time: {e}", up.base_url))
    } else {
        let mut msg = format!("cannot reach the upstream {}: {e}", up.base_url);
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
            "the upstream {} sent no response within {} s (upstream.timeout_secs)",
            up.base_url,
            up.timeout.as_secs()
        ))),
    }
}

fn with_key(rb: reqwest::RequestBuilder, up: &Upstream) -> reqwest::RequestBuilder {
    match &up.key {
        Some(k) => rb.bearer_auth(k),
        None => rb,
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

/// `GET /v1/models`: the configured model, or the upstream's list.
async fn models(State(st): State<Arc<ProxyState>>, headers: HeaderMap) -> Response {
    let up = st.upstream.load_full();
    if let Some(m) = &up.model {
        return Json(
            json!({"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "metaclaw"}]}),
        )
        .into_response();
    }
    let rb = with_key(st.client.get(up.url("models")).headers(forward_request_headers(&headers)), &up);
    match send(&up, rb).await {
        Ok(resp) => relay_plain(resp),
        Err(e) => e.into_response(),
    }
}

/// Any other `/v1/…` call (embeddings, completions, …) is relayed unchanged and not recorded.
async fn passthrough(State(st): State<Arc<ProxyState>>, OriginalUri(uri): OriginalUri, req: Request) -> Response {
    let up = st.upstream.load_full();
    let path_q = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let Some(rest) = path_q.strip_prefix("/v1/") else {
        return ProxyError::NotFound(format!("unknown endpoint {path_q}")).into_response();
    };
    let url = up.url(rest);
    let method = req.method().clone();
    let headers = forward_request_headers(req.headers());
    let body = reqwest::Body::wrap_stream(req.into_body().into_data_stream());
    let rb = with_key(st.client.request(method, url).headers(headers).body(body), &up);
    match send(&up, rb).await {
        Ok(resp) => relay_plain(resp),
        Err(e) => e.into_response(),
    }
}
