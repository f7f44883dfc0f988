//! The admin API: JSON over loopback under `/api/`, for the desktop UI, the CLI and tests.
//!
//! Every route needs the admin token (`Authorization: Bearer …`, the token lives in
//! `$METACLAW_HOME/admin.token`), is served to loopback clients only, and rejects foreign `Host`
//! and `Origin` headers so web pages can't reach it through DNS rebinding or CSRF.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub mod calendars;
pub mod client;
pub mod connect;
pub mod curate;
pub mod learning;
pub mod scheduler;
pub mod settings;
pub mod setup;
pub mod skills;
pub mod stats;
pub mod train;
pub mod types;
pub mod ui;
use axum::{Json, Router};

use crate::metrics::Metrics;
use crate::secrets::constant_time_eq;
use crate::store::read::{self, Counts};
use crate::store::{Store, StoreError, TurnDetail, TurnFilter, TurnPage};
pub use types::{EngineInfo, ErrorCode, Feedback, FeedbackReply, Paging, SessionList, Status, UpstreamInfo};

/// Errors of the admin API, as `{"error": {"code", "message"}}` the UI can branch on.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Says where the token lives in general terms only: the caller is not authenticated, so no
    /// machine path (user name, home layout) is shown.
    #[error(
        "missing or wrong admin token: send `Authorization: Bearer <token>` (the token is the file \
         admin.token in MetaClaw's data directory; `metaclaw ui` prints a signed-in link)"
    )]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    Invalid { message: String, problems: Vec<crate::skills::Problem> },
    #[error("{0}")]
    Unavailable(String),
    /// The request body did not arrive within `proxy.body_timeout_secs`.
    #[error("the request body did not arrive within {0} s (proxy.body_timeout_secs)")]
    BodyTimeout(u64),
    #[error("the request body is larger than {} MiB", BODY_LIMIT >> 20)]
    TooLarge,
    #[error("{0}")]
    KeyringUnavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    fn code(&self) -> (StatusCode, ErrorCode) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            Self::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
            Self::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Invalid),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable),
            Self::BodyTimeout(_) => (StatusCode::REQUEST_TIMEOUT, ErrorCode::RequestTimeout),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge),
            Self::KeyringUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::KeyringUnavailable),
            Self::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::StoreError),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.code();
        let problems = match &self {
            Self::Invalid { problems, .. } => Some(problems.clone()),
            _ => None,
        };
        let body = types::ErrorBody { error: types::ErrorDetail { code, message: self.to_string(), problems } };
        (status, Json(body)).into_response()
    }
}

/// `Query<T>` whose refusal is the API's own JSON error (a 400 saying what is wrong), not
/// axum's plain-text one: for query strings with enums and numbers.
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(t)) => Ok(Self(t)),
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// What the admin routes need.
pub struct ApiState {
    pub token: String,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub info: EngineInfo,
    pub idle_gap_ms: i64,
    /// Where the engine listens, for the Host/Origin check.
    pub local: LocalAddr,
    pub skills: std::sync::Arc<crate::skills::Library>,
    pub events: crate::events::EventBus,
    pub judge_on: bool,
    pub evolver: std::sync::Arc<crate::evolve::Evolver>,
    pub scheduler: Arc<crate::scheduler::Scheduler>,
    pub calendars: Arc<crate::calendar::Calendars>,
    pub vault: crate::secrets::Vault,
    pub config_path: std::path::PathBuf,
    /// The built web UI, when there is one to serve.
    pub ui_dir: Option<std::path::PathBuf>,
    /// The configuration in force: the one this core of the engine was built from.
    pub config: crate::config::Config,
    /// Policy training, when `[train]` is on.
    pub training: Option<Arc<crate::train::Training>>,
    /// How each part is doing (one for the engine's whole life).
    pub health: crate::health::Health,
    /// Applies saved settings (config.toml, keys) to the running engine.
    pub reload: crate::engine::Reloader,
}

pub fn router(state: Arc<ApiState>) -> Router {
    let ui = ui::router(state.ui_dir.clone());
    Router::new()
        .route("/api/status", get(status))
        .route("/api/sessions", get(sessions))
        .route("/api/turns", get(turns))
        .route("/api/agents", get(agents))
        .route("/api/turns/{id}", get(turn))
        .route("/api/turns/{id}/feedback", axum::routing::post(feedback))
        .route("/api/events", get(events))
        .merge(skills::routes())
        .merge(stats::routes())
        .merge(curate::routes())
        .merge(scheduler::routes())
        .merge(calendars::routes())
        .merge(settings::routes())
        .merge(learning::routes())
        .merge(train::routes())
        .merge(connect::routes())
        .merge(setup::routes())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
        .merge(ui)
}

/// The engine's own address: what a `Host` or `Origin` must name for the admin API, and for the
/// proxy when no proxy key is set (so DNS rebinding and cross-site pages are refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalAddr {
    pub port: u16,
    /// The bound IP (unspecified when listening on every interface).
    pub ip: IpAddr,
}

impl LocalAddr {
    /// True if `host` (a `Host` header, or an origin's authority) names this engine: `localhost`,
    /// a loopback IP (IPv4-mapped ones too) or the bound IP, with the engine's port or none.
    pub fn host_allowed(&self, host: &str) -> bool {
        let Some((name, port)) = split_host_port(host) else { return false };
        if port.is_some_and(|p| p != self.port) {
            return false;
        }
        if name.eq_ignore_ascii_case("localhost") {
            return true;
        }
        name.parse::<IpAddr>().is_ok_and(|ip| {
            let ip = ip.to_canonical();
            ip.is_loopback() || (!self.ip.is_unspecified() && ip == self.ip.to_canonical())
        })
    }

    /// True for the engine's own pages and the desktop shell; never for `null` or other sites.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        if matches!(origin, "tauri://localhost" | "http://tauri.localhost" | "https://tauri.localhost") {
            return true;
        }
        // An origin without a port means port 80: anything served on another port is another site.
        origin.strip_prefix("http://").is_some_and(|h| {
            split_host_port(h).is_some_and(|(_, port)| port.unwrap_or(80) == self.port) && self.host_allowed(h)
        })
    }

    /// The first foreign `Origin` among `headers` (every one is checked, not just the first), if any.
    pub fn foreign_origin(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        headers.get_all(axum::http::header::ORIGIN).iter().find_map(|v| {
            let o = v.to_str().unwrap_or("");
            (!self.origin_allowed(o)).then(|| o.to_string())
        })
    }
}

/// `name[:port]` or `[v6][:port]`; `None` when malformed.
fn split_host_port(host: &str) -> Option<(&str, Option<u16>)> {
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => {
            let (inside, after) = rest.split_once(']')?;
            inside.parse::<std::net::Ipv6Addr>().ok()?;
            let port = match after {
                "" => None,
                a => Some(a.strip_prefix(':')?),
            };
            (inside, port)
        }
        None => match host.split_once(':') {
            Some((name, p)) => (name, Some(p)),
            None => (host, None),
        },
    };
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok()?),
    };
    (!name.is_empty()).then_some((name, port))
}

/// The host a request names: its `Host` header, or the URI's authority (HTTP/2 sends `:authority`).
pub fn request_host<B>(req: &axum::http::Request<B>) -> Option<String> {
    match req.headers().get(axum::http::header::HOST) {
        Some(h) => h.to_str().ok().map(str::to_string),
        None => req.uri().authority().map(|a| a.as_str().to_string()),
    }
}

/// True for a peer on this machine: loopback, IPv4-mapped loopback (`::ffff:127.0.0.1`, what a
/// dual-stack listener sees for IPv4 clients) included.
pub fn is_local_peer(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

async fn guard(
    State(st): State<Arc<ApiState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    if !is_local_peer(peer.ip()) {
        return ApiError::Forbidden("the admin API only answers local clients".into()).into_response();
    }
    let h = req.headers();
    let host = request_host(&req).unwrap_or_default();
    if !st.local.host_allowed(&host) {
        return ApiError::Forbidden(format!(
            "foreign Host header {host:?}: the admin API answers only 127.0.0.1, localhost or [::1]"
        ))
        .into_response();
    }
    if let Some(o) = st.local.foreign_origin(h) {
        return ApiError::Forbidden(format!("foreign Origin {o:?}")).into_response();
    }
    let bearer = h.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    // EventSource can't send headers: the event stream alone also takes `?token=`.
    let query = (req.uri().path() == "/api/events")
        .then(|| req.uri().query().unwrap_or(""))
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")));
    let ok = bearer.or(query).is_some_and(|t| constant_time_eq(t.trim(), &st.token));
    if !ok {
        return ApiError::Unauthorized.into_response();
    }
    let timeout = std::time::Duration::from_secs(st.config.proxy.body_timeout_secs);
    match read_body(req, timeout).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// The most an admin request may send: axum's own default limit for its extractors.
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Reads the whole body within `timeout`, as `/v1` does: a client that trickles (or stops sending)
/// its body can't hold a connection and a task for ever.
async fn read_body(req: Request, timeout: std::time::Duration) -> Result<Request, ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = match tokio::time::timeout(timeout, axum::body::to_bytes(body, BODY_LIMIT)).await {
        Err(_) => return Err(ApiError::BodyTimeout(timeout.as_secs())),
        Ok(Err(e)) if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>()) => {
            return Err(ApiError::TooLarge)
        }
        Ok(Err(e)) => return Err(ApiError::BadRequest(format!("could not read the request body: {e}"))),
        Ok(Ok(b)) => b,
    };
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

fn start_of_today_ms() -> i64 {
    jiff::Zoned::now().start_of_day().map(|z| z.timestamp().as_millisecond()).unwrap_or(0)
}

impl ApiState {
    /// Which parts health should show as configured (the others are off).
    pub fn health_configured(&self) -> crate::health::Configured {
        crate::health::Configured {
            upstream: !self.info.upstreams.is_empty(),
            judge: self.judge_on,
            evolver: self.evolver.enabled(),
            trainer: self.training.is_some(),
            calendars: self.calendars.enabled_ids(),
        }
    }
}

async fn status(State(st): State<Arc<ApiState>>) -> Result<Json<Status>, ApiError> {
    let now = crate::clock::now_ms();
    let since = start_of_today_ms();
    let active_after = now - st.idle_gap_ms;
    let c: Counts = st.store.read(move |c| read::counts(c, since, active_after)).await?;
    let judge = if st.judge_on { Some(st.store.read(crate::judge::judge_status).await?) } else { None };
    let evolver = if st.evolver.enabled() { Some(st.store.read(crate::evolve::evolver_status).await?) } else { None };
    let candidates_pending: i64 = st.store.read(crate::store::candidates::pending_count).await?;
    Ok(Json(Status {
        info: st.info.clone(),
        uptime_secs: (now - st.info.started_at) / 1000,
        turns_total: c.turns_total,
        turns_today: c.turns_since,
        sessions_total: c.sessions_total,
        sessions_active: c.sessions_active,
        overhead: st.metrics.overhead(),
        schema_version: crate::store::SCHEMA_VERSION,
        pending_writes: st.store.pending_writes(),
        judge,
        evolver,
        candidates_pending,
        generation: st.skills.snapshot().generation,
        learning_paused: st.scheduler.is_paused(),
        training: st.training.as_ref().map_or(crate::train::TrainState::Off, |t| t.state()),
        unrecorded: st.metrics.unrecorded(),
        health: {
            st.health.probe_upstream(|| st.info.upstreams.iter().map(|u| u.base_url.clone()).collect());
            st.health.snapshot(&st.health_configured())
        },
    }))
}

async fn sessions(State(st): State<Arc<ApiState>>, Query(p): Query<Paging>) -> Result<Json<SessionList>, ApiError> {
    let (limit, offset) = (p.limit.unwrap_or(50), p.offset.unwrap_or(0));
    let sessions = st.store.read(move |c| read::list_sessions(c, limit, offset)).await?;
    Ok(Json(SessionList { sessions }))
}

async fn turns(State(st): State<Arc<ApiState>>, ApiQuery(f): ApiQuery<TurnFilter>) -> Result<Json<TurnPage>, ApiError> {
    Ok(Json(st.store.read(move |c| read::list_turns(c, &f)).await?))
}

async fn agents(State(st): State<Arc<ApiState>>) -> Result<Json<types::status::AgentList>, ApiError> {
    let rows = st.store.read(crate::store::turns::agents_seen).await?;
    let agents = rows
        .into_iter()
        .map(|(agent, turns, last_seen_ms)| types::status::AgentSeen { agent, turns, last_seen_ms })
        .collect();
    Ok(Json(types::status::AgentList { agents }))
}

async fn turn(State(st): State<Arc<ApiState>>, Path(id): Path<i64>) -> Result<Json<TurnDetail>, ApiError> {
    st.store
        .read(move |c| read::get_turn(c, id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no turn {id}")))
}

async fn feedback(
    State(st): State<Arc<ApiState>>,
    Path(id): Path<i64>,
    Json(f): Json<Feedback>,
) -> Result<Json<FeedbackReply>, ApiError> {
    if f.score != 1 && f.score != -1 {
        return Err(ApiError::BadRequest(format!("score must be 1 or -1, not {}", f.score)));
    }
    if f.note.as_ref().is_some_and(|n| n.len() > 4000) {
        return Err(ApiError::BadRequest("the note is longer than 4000 characters".into()));
    }
    if !crate::judge::feedback(&st.store, &st.events, id, f.score, f.note).await? {
        return Err(ApiError::NotFound(format!("no turn {id}")));
    }
    Ok(Json(FeedbackReply { turn_id: id, score: f.score, source: crate::turn::ScoreSource::User }))
}

/// `GET /api/events`: server-sent events, one per engine event (`event: <type>`, JSON data).
async fn events(
    State(st): State<Arc<ApiState>>,
) -> axum::response::sse::Sse<
    impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
> {
    use axum::response::sse::{Event as Sse, KeepAlive};
    let rx = st.events.subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    let ev = Sse::default().event(e.kind()).json_data(&e).unwrap_or_default();
                    return Some((Ok(ev), rx));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    axum::response::sse::Sse::new(stream).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_origin_checks() {
        let me = LocalAddr { port: 30000, ip: IpAddr::from([127, 0, 0, 1]) };
        for ok in [
            "127.0.0.1:30000",
            "localhost:30000",
            "LocalHost:30000",
            "[::1]:30000",
            "[::ffff:127.0.0.1]:30000",
            "127.0.0.2:30000",
            "127.0.0.1",
            "localhost",
            "[::1]",
        ] {
            assert!(me.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.com:30000",
            "127.0.0.1:30001",
            "x.evil:30000",
            "localhost.evil.com:30000",
            "127.0.0.1.nip.io:30000",
            "[::ffff:10.0.0.1]:30000",
            "10.0.0.1:30000",
            "",
            ":30000",
            "localhost:",
            "localhost:30000:1",
            "[::1",
            "[evil]:30000",
            "::1",
        ] {
            assert!(!me.host_allowed(bad), "{bad}");
        }
        assert!(me.origin_allowed("http://localhost:30000"));
        assert!(me.origin_allowed("tauri://localhost"));
        assert!(!me.origin_allowed("http://evil.com"));
        assert!(!me.origin_allowed("null"));
        assert!(!me.origin_allowed("https://localhost:30000.evil.com"));
        assert!(!me.origin_allowed("http://localhost:30000.evil.com"));
        // Listening on a LAN address names that address too; listening everywhere names loopback only.
        let lan = LocalAddr { port: 30000, ip: IpAddr::from([192, 168, 1, 5]) };
        assert!(lan.host_allowed("192.168.1.5:30000") && lan.host_allowed("localhost:30000"));
        let any = LocalAddr { port: 30000, ip: IpAddr::from([0, 0, 0, 0]) };
        assert!(!any.host_allowed("0.0.0.0:30000") && !any.host_allowed("192.168.1.5:30000"));
    }

    #[test]
    fn an_origin_on_another_port_or_any_of_several_origins_being_foreign_is_refused() {
        let me = LocalAddr { port: 30000, ip: IpAddr::from([127, 0, 0, 1]) };
        // No port in an origin means port 80: another site on this machine.
        assert!(!me.origin_allowed("http://127.0.0.1"));
        assert!(!me.origin_allowed("http://localhost"));
        assert!(!me.origin_allowed("http://[::1]"));
        assert!(!me.origin_allowed("http://127.0.0.1:8080"));
        assert!(me.origin_allowed("http://127.0.0.1:30000"));
        let on80 = LocalAddr { port: 80, ip: IpAddr::from([127, 0, 0, 1]) };
        assert!(on80.origin_allowed("http://127.0.0.1") && on80.origin_allowed("http://localhost:80"));
        // Every Origin header counts, not only the first.
        let mut h = axum::http::HeaderMap::new();
        h.append("origin", "http://127.0.0.1:30000".parse().unwrap());
        assert_eq!(me.foreign_origin(&h), None);
        h.append("origin", "http://evil.com".parse().unwrap());
        assert_eq!(me.foreign_origin(&h).as_deref(), Some("http://evil.com"));
        assert_eq!(me.foreign_origin(&axum::http::HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn an_admin_request_body_that_does_not_arrive_in_time_is_refused_with_408() {
        use futures_util::StreamExt;
        // Half a body, then silence.
        let part = Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{\"a\":"));
        let body =
            axum::body::Body::from_stream(futures_util::stream::iter([part]).chain(futures_util::stream::pending()));
        let req = axum::http::Request::post("/api/settings").body(body).unwrap();
        let t0 = std::time::Instant::now();
        let err = read_body(req, std::time::Duration::from_millis(200)).await.unwrap_err();
        assert!(t0.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(err.into_response().status(), StatusCode::REQUEST_TIMEOUT);
        // A whole body passes through unchanged.
        let req = axum::http::Request::post("/api/settings").body(axum::body::Body::from("{}")).unwrap();
        let req = read_body(req, std::time::Duration::from_secs(1)).await.unwrap();
        assert_eq!(axum::body::to_bytes(req.into_body(), 10).await.unwrap(), "{}");
        let big = axum::body::Body::from(vec![b' '; BODY_LIMIT + 1]);
        let err = read_body(axum::http::Request::post("/x").body(big).unwrap(), std::time::Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(err.into_response().status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn a_query_string_of_the_wrong_shape_is_refused_as_the_apis_json_error() {
        use tower_service::Service;
        async fn h(ApiQuery(f): ApiQuery<types::learning::CandidateFilter>) -> String {
            format!("{:?}", f.status)
        }
        let mut app: Router = Router::new().route("/x", get(h));
        let call = |uri: &str| axum::http::Request::get(uri).body(axum::body::Body::empty()).unwrap();
        let resp = app.call(call("/x?status=bogus")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(resp.into_body(), 10_000).await.unwrap();
        let e: types::ErrorBody = serde_json::from_slice(&body).unwrap();
        assert_eq!(e.error.code, ErrorCode::BadRequest);
        assert!(e.error.message.contains("status"), "{}", e.error.message);
        let resp = app.call(call("/x?status=approved")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(axum::body::to_bytes(resp.into_body(), 100).await.unwrap(), "Some(Approved)");
    }

    #[test]
    fn ipv4_mapped_loopback_is_a_local_peer() {
        assert!(is_local_peer("::ffff:127.0.0.1".parse().unwrap()));
        assert!(is_local_peer("::1".parse().unwrap()) && is_local_peer("127.0.0.1".parse().unwrap()));
        assert!(!is_local_peer("::ffff:10.0.0.1".parse().unwrap()));
    }
}
