//! The listener: accepts connections for the whole app (proxy, admin API, web UI) with limits a
//! slow or idle client can't get round — a cap on open connections, a deadline for each request's
//! headers (which also closes idle keep-alive sockets), an idle deadline for HTTP/2 connections
//! (whose pings a client answers for ever), HTTP/2 pings — and drains gracefully.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::ProxyState;

/// What the listener allows each client; changed while it runs by [`Limits::set`] (the settings
/// apply live), read for each connection it accepts.
#[derive(Debug)]
pub struct Limits {
    /// Longest wait for a request's headers, counted from the connection's start or the end of
    /// its previous answer: a socket silent for this long is closed (an HTTP/2 one too, however
    /// well it answers pings, once no request has been in flight for this long).
    header_timeout_ms: AtomicU64,
    /// Connections served at once; further ones wait in the kernel's backlog. Lowered, it admits
    /// no new connection until enough have closed (none is cut); raised, it admits more at once.
    max_connections: AtomicUsize,
    changed: Notify,
}

impl Limits {
    pub fn new(header_timeout: Duration, max_connections: usize) -> Self {
        let l =
            Self { header_timeout_ms: AtomicU64::new(0), max_connections: AtomicUsize::new(1), changed: Notify::new() };
        l.set(header_timeout, max_connections);
        l
    }

    /// Puts new limits in force: new connections get them at once, open ones keep the header
    /// deadline they started with.
    pub fn set(&self, header_timeout: Duration, max_connections: usize) {
        let ms = u64::try_from(header_timeout.as_millis()).unwrap_or(u64::MAX).max(1);
        self.header_timeout_ms.store(ms, Ordering::SeqCst);
        self.max_connections.store(max_connections.max(1), Ordering::SeqCst);
        self.changed.notify_one();
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms.load(Ordering::SeqCst))
    }

    pub fn max_connections(&self) -> usize {
        self.max_connections.load(Ordering::SeqCst)
    }
}

/// The connections open, each counted until it closes.
#[derive(Default)]
struct Open {
    count: AtomicUsize,
    closed: Notify,
}

/// One open connection's place in [`Open`], given back when dropped.
struct Slot(Arc<Open>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::SeqCst);
        self.0.closed.notify_one();
    }
}

/// Waits until fewer connections are open than the limit in force, and takes a place. Only the
/// accept loop takes places, so the check and the count can't race.
async fn take_slot(open: &Arc<Open>, limits: &Limits) -> Slot {
    loop {
        if open.count.load(Ordering::SeqCst) < limits.max_connections() {
            open.count.fetch_add(1, Ordering::SeqCst);
            return Slot(open.clone());
        }
        // Both wake-ups leave a permit when no one waits, so one between the check and here is kept.
        tokio::select! {
            _ = open.closed.notified() => {}
            _ = limits.changed.notified() => {}
        }
    }
}

/// The connection builder for a header deadline.
fn builder(header_timeout: Duration) -> Arc<auto::Builder<TokioExecutor>> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout).keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(header_timeout))
        .keep_alive_timeout(header_timeout);
    Arc::new(builder)
}

/// The app to serve, swapped whole when settings change: each request is handed to the one in
/// force when it arrives (one atomic load), so answers in flight finish on the old one.
pub type CurrentApp = Arc<arc_swap::ArcSwap<App>>;

/// What the listener serves: the whole app's router and, when the proxy is part of it, the
/// proxy's state, so its turn endpoints skip the router (see [`crate::proxy::serve_turn`]).
pub struct App {
    router: Router,
    proxy: Option<Arc<ProxyState>>,
}

impl App {
    /// `router`, whose proxy routes (if any) were made from `proxy`.
    pub fn new(router: Router, proxy: Option<Arc<ProxyState>>) -> Self {
        Self { router, proxy }
    }

    /// Answers one request from `peer`.
    async fn serve(self: Arc<Self>, peer: SocketAddr, req: hyper::Request<hyper::body::Incoming>) -> Response {
        let mut req = req.map(Body::new);
        if let Some(st) = &self.proxy {
            if let Some(endpoint) = crate::proxy::turn_endpoint(&req) {
                return crate::proxy::serve_turn(st.clone(), peer, endpoint, req).await;
            }
        }
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut router = self.router.clone();
        tower_service::Service::call(&mut router, req).await.unwrap_or_else(|e| match e {})
    }
}

/// Serves `app` on `listener` until `shutdown` fires, then stops accepting, lets every open
/// connection finish its in-flight requests, and returns once all are closed.
pub async fn serve(listener: TcpListener, app: CurrentApp, limits: Arc<Limits>, shutdown: CancellationToken) {
    let open = Arc::new(Open::default());
    let mut header_timeout = limits.header_timeout();
    let mut conn_builder = builder(header_timeout);
    loop {
        let slot = tokio::select! {
            s = take_slot(&open, &limits) => s,
            _ = shutdown.cancelled() => break,
        };
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: pause accepting instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                        _ = shutdown.cancelled() => break,
                    }
                }
            },
            _ = shutdown.cancelled() => break,
        };
        // Small writes (SSE chunks, short answers) must leave at once, not wait for Nagle.
        let _ = tcp.set_nodelay(true);
        if limits.header_timeout() != header_timeout {
            header_timeout = limits.header_timeout();
            conn_builder = builder(header_timeout);
        }
        let (app, builder, shutdown) = (app.clone(), conn_builder.clone(), shutdown.clone());
        tokio::spawn(async move {
            let _slot = slot;
            connection(tcp, peer, app, &builder, header_timeout, shutdown).await;
        });
    }
    // Every connection holds a slot until it closes: none left open means drained.
    loop {
        let closed = open.closed.notified();
        if open.count.load(Ordering::SeqCst) == 0 {
            break;
        }
        closed.await;
    }
}

/// Requests in flight on one connection (answers still streaming included) and when the last one
/// started or ended.
struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<tokio::time::Instant>,
}

impl Activity {
    fn touch(&self) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = tokio::time::Instant::now();
    }

    /// Resolves once no request has been in flight for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let last = *self.last.lock().unwrap_or_else(|p| p.into_inner());
            if self.in_flight.load(Ordering::SeqCst) == 0 && last.elapsed() >= idle {
                return;
            }
            // While a request is in flight, look again after another `idle` (its end restarts the count).
            let (deadline, now) = (last + idle, tokio::time::Instant::now());
            tokio::time::sleep_until(if deadline > now { deadline } else { now + idle }).await;
        }
    }
}

/// Counts a request as in flight until it is dropped (with its answer's body).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(a: Arc<Activity>) -> Self {
        a.in_flight.fetch_add(1, Ordering::SeqCst);
        a.touch();
        Self(a)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves one connection. Until its first request arrives, the whole connection (protocol
/// detection included) must fit in `header_timeout`; after that hyper's own header deadline and
/// HTTP/2 pings apply, and a connection with no request in flight for `header_timeout` is closed
/// gracefully (pings alone don't keep an HTTP/2 client's slot).
async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    app: CurrentApp,
    builder: &auto::Builder<TokioExecutor>,
    header_timeout: Duration,
    shutdown: CancellationToken,
) {
    let first = Arc::new(Notify::new());
    let seen = first.clone();
    let activity = Arc::new(Activity { in_flight: AtomicUsize::new(0), last: Mutex::new(tokio::time::Instant::now()) });
    let active = activity.clone();
    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        seen.notify_one();
        let guard = InFlight::new(active.clone());
        let app = app.load_full();
        async move {
            let resp = app.serve(peer, req).await;
            // The request stays in flight until its answer's body is done (or dropped).
            Ok::<_, Infallible>(resp.map(|b| {
                axum::body::Body::new(http_body_util::BodyExt::map_err(b, move |e| {
                    let _in_flight = &guard;
                    e
                }))
            }))
        }
    });
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), svc);
    tokio::pin!(conn);
    let silent = async {
        if tokio::time::timeout(header_timeout, first.notified()).await.is_ok() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        }
        _ = silent => {
            tracing::debug!(%peer, "closing a connection that sent no request in time");
        }
        _ = activity.idle_for(header_timeout) => {
            tracing::debug!(%peer, "closing an idle connection");
            conn.as_mut().graceful_shutdown();
            match tokio::time::timeout(header_timeout, conn.as_mut()).await {
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "idle connection ended with an error"),
                Ok(Ok(())) => {}
                Err(_) => tracing::debug!(%peer, "idle connection did not close in time; dropping it"),
            }
        }
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error while draining");
            }
        }
    }
}
