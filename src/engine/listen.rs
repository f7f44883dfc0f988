//! The engine's listener: binds the configured address, serves whichever app the current core
//! built (looked up per request, so a reload swaps it for the next request while answers in
//! flight finish on the old one), and tells the CLI where the engine listens.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::EngineError;
use crate::config::Config;
use crate::home::Home;
use crate::proxy::listen::Limits;

/// The app of the core in force, swapped whole by a reload (the listener looks it up for each
/// request: one atomic load and a reference count).
pub(super) type SharedApp = crate::proxy::listen::CurrentApp;

/// Binds the configured address (port 0 picks a free one); says what to do when it is taken.
pub(super) async fn bind(cfg: &Config) -> Result<(tokio::net::TcpListener, SocketAddr), EngineError> {
    let bind = SocketAddr::new(cfg.proxy.host, cfg.proxy.port);
    let listener = tokio::net::TcpListener::bind(bind).await.map_err(|source| EngineError::Bind {
        addr: bind,
        hint: if source.kind() == std::io::ErrorKind::AddrInUse {
            " (is MetaClaw already running? `metaclaw status` tells; or pick another port with --port)"
        } else {
            ""
        },
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| EngineError::Bind { addr: bind, source, hint: "" })?;
    Ok((listener, addr))
}

/// The listener's limits as configured; [`set_limits`] changes them while it runs.
pub(super) fn limits(cfg: &Config) -> Arc<Limits> {
    Arc::new(Limits::new(Duration::from_secs(cfg.proxy.header_timeout_secs), cfg.proxy.max_connections as usize))
}

/// Puts `cfg`'s connection limits in force for the connections accepted from now on.
pub(super) fn set_limits(limits: &Limits, cfg: &Config) {
    limits.set(Duration::from_secs(cfg.proxy.header_timeout_secs), cfg.proxy.max_connections as usize);
}

/// Serves the app in `app` on `listener` within `limits` (read for each connection) until the
/// returned token is cancelled.
pub(super) fn serve(
    limits: Arc<Limits>,
    listener: tokio::net::TcpListener,
    app: SharedApp,
) -> (JoinHandle<()>, CancellationToken) {
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    let server = tokio::spawn(async move {
        crate::proxy::listen::serve(listener, app, limits, signal).await;
    });
    (server, shutdown)
}

/// Tells the CLI where this engine listens (`runtime.json` in the home, owner-only).
pub(super) fn write_runtime_file(home: &Home, addr: SocketAddr) {
    let runtime = serde_json::json!({"pid": std::process::id(), "address": format!("http://{addr}")});
    if let Err(e) = crate::home::write_atomic(&home.runtime_path(), runtime.to_string().as_bytes(), 0o600) {
        tracing::warn!(error = %e, "could not write the runtime file; the CLI will fall back to the configured port");
    }
}
