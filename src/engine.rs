//! The engine: one entry point that opens the store, reads secrets, binds the port and serves the
//! proxy and the admin API. `metaclaw serve` and the desktop shell both call [`Engine::start`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::serve::ListenerExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::{ApiState, EngineInfo, UpstreamInfo};
use std::collections::HashMap;

use crate::config::{Config, Kind};
use crate::events::EventBus;
use crate::evolve::{Deps as EvolveDeps, Evolver};
use crate::home::{Home, HomeError};
use crate::metrics::Metrics;
use crate::prm::Judge;
use crate::proxy::ProxyState;
use crate::secrets::{self, SecretName, SecretSource};
use crate::session::SessionTracker;
use crate::skills::embed::Embedder;
use crate::skills::{Library, LibraryError, TRASH_DIR};
use crate::store::{read, Store, StoreError};
use crate::upstream::{http_client, Routes};

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Home(#[from] HomeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Skills(#[from] LibraryError),
    #[error("cannot listen on {addr}: {source}{hint}")]
    Bind { addr: SocketAddr, source: std::io::Error, hint: &'static str },
}

/// The secrets the engine needs, resolved by its host (environment, keyring, or a test).
#[derive(Debug, Clone, Default)]
pub struct Keys {
    /// Per upstream name: the key and where it came from.
    pub upstreams: HashMap<String, (Option<String>, SecretSource)>,
    pub proxy: Option<String>,
}

impl Keys {
    /// No keys at all (local upstreams such as Ollama need none).
    pub fn none() -> Self {
        Self::default()
    }

    /// One upstream's key (for tests and embedding hosts).
    pub fn with_upstream(mut self, name: &str, key: &str) -> Self {
        self.upstreams.insert(name.to_string(), (Some(key.to_string()), SecretSource::Env));
        self
    }

    /// Looks every configured upstream's key, and the proxy key, up in the environment, then
    /// the OS keyring.
    pub async fn lookup(cfg: &Config) -> Self {
        let mut upstreams = HashMap::new();
        for up in crate::upstream::from_config(cfg) {
            upstreams.insert(up.name.clone(), secrets::lookup(&SecretName::upstream(&up.name)).await);
        }
        Self { upstreams, proxy: secrets::lookup(&SecretName::proxy()).await.0 }
    }
}

/// Longest a clean shutdown waits for in-flight requests before cutting them off.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A running engine.
pub struct Engine {
    addr: SocketAddr,
    shutdown: CancellationToken,
    server: JoinHandle<()>,
    retention: JoinHandle<()>,
    watcher: JoinHandle<()>,
    judge: Option<JoinHandle<()>>,
    evolving: Option<JoinHandle<()>>,
    store: Store,
    home: Home,
    token: String,
}

impl Engine {
    /// Starts serving with `cfg` in `home`; returns once the port is bound.
    pub async fn start(cfg: Config, home: Home, keys: Keys) -> Result<Self, EngineError> {
        home.ensure()?;
        let token = home.admin_token()?;
        let store = Store::open(&home.db_path(), Duration::from_millis(cfg.store.flush_interval_ms))?;

        let proxy_key = keys.proxy.clone().or_else(|| cfg.proxy.api_key.clone());
        if proxy_key.is_none() && !cfg.proxy.host.is_loopback() {
            tracing::warn!(host = %cfg.proxy.host, "no proxy key set: only loopback clients will be accepted");
        }
        let mut upstreams = crate::upstream::from_config(&cfg);
        let mut infos = Vec::new();
        for up in &mut upstreams {
            let (key, source) = keys.upstreams.get(&up.name).cloned().unwrap_or((None, SecretSource::None));
            up.key = key;
            infos.push(UpstreamInfo {
                name: up.name.clone(),
                kind: up.kind,
                auth: up.auth,
                base_url: up.base_url.clone(),
                models: up.models.clone(),
                model: up.model.clone(),
                key: if up.key.is_some() { source } else { SecretSource::None },
            });
        }
        let routes = Routes::new(upstreams);
        let events = EventBus::default();
        let judge = cfg.judge.model.is_some().then(|| {
            Judge {
                store: store.clone(),
                routes: Arc::new(routes.clone()),
                client: http_client(&cfg.upstream),
                cfg: cfg.judge.clone(),
                events: events.clone(),
            }
            .spawn()
        });

        let idle_gap_ms = (cfg.sessions.idle_gap_minutes * 60_000) as i64;
        let active_after = crate::turn::now_ms() - idle_gap_ms;
        let seeds = store.read(move |c| read::inferred_seeds(c, active_after)).await?;
        let metrics = Arc::new(Metrics::default());
        let client = http_client(&cfg.upstream);
        // Embeddings come from the first OpenAI-compatible upstream (Anthropic has no such API).
        let embed_upstream = routes.upstreams.iter().find(|u| u.kind == Kind::Openai).cloned();
        if cfg.skills.embedding_model.is_some() && embed_upstream.is_none() {
            tracing::warn!(
                "skills.embedding_model is set but no upstream is OpenAI-compatible; ranking skills lexically"
            );
        }
        let embedder = cfg.skills.embedding_model.clone().zip(embed_upstream).map(|(m, up)| {
            Embedder::new(m, client.clone(), (*up).clone(), Duration::from_secs(cfg.upstream.timeout_secs.min(60)))
        });
        let skills = Library::open(
            home.skills_dir(),
            home.root().join(TRASH_DIR),
            store.clone(),
            cfg.skills.clone(),
            embedder,
            events.clone(),
        )
        .await?;
        let watcher = skills.watch()?;
        let deps = EvolveDeps {
            store: store.clone(),
            library: skills.clone(),
            routes: Arc::new(routes.clone()),
            client: http_client(&cfg.upstream),
            events: events.clone(),
        };
        let evolver = Evolver::new(deps, cfg.evolve.clone(), cfg.judge.clone(), idle_gap_ms);
        let evolving = evolver.enabled().then(|| evolver.spawn());

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

        let info = EngineInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            started_at: crate::turn::now_ms(),
            address: format!("http://{addr}"),
            home: home.root().display().to_string(),
            upstreams: infos,
        };
        let proxy = Arc::new(ProxyState {
            routes: ArcSwap::from_pointee(routes),
            routing: cfg.routing.clone(),
            client,
            sessions: SessionTracker::new(idle_gap_ms, seeds),
            store: store.clone(),
            metrics: metrics.clone(),
            api_key: proxy_key,
            max_body_mib: cfg.proxy.max_body_mib,
            log_bodies: cfg.log.bodies,
            skills: skills.clone(),
        });
        let api = Arc::new(ApiState {
            token: token.clone(),
            token_path: home.token_path().display().to_string(),
            store: store.clone(),
            metrics,
            info,
            idle_gap_ms,
            port: addr.port(),
            skills,
            events,
            judge_on: judge.is_some(),
            evolver,
            omls: cfg.omls.clone(),
        });
        let app = crate::proxy::router(proxy).merge(crate::api::router(api));

        let shutdown = CancellationToken::new();
        let signal = shutdown.clone();
        let server = tokio::spawn(async move {
            let svc = app.into_make_service_with_connect_info::<SocketAddr>();
            // Small writes (SSE chunks, short answers) must leave at once, not wait for Nagle.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            if let Err(e) = axum::serve(listener, svc).with_graceful_shutdown(signal.cancelled_owned()).await {
                tracing::error!(error = %e, "server stopped with an error");
            }
        });
        let retention = tokio::spawn(retention_task(store.clone(), cfg.store.retention_days));

        let runtime = serde_json::json!({"pid": std::process::id(), "address": format!("http://{addr}")});
        if let Err(e) = crate::home::write_atomic(&home.runtime_path(), runtime.to_string().as_bytes(), 0o600) {
            tracing::warn!(error = %e, "could not write the runtime file; the CLI will fall back to the configured port");
        }
        tracing::info!(address = %addr, home = %home.root().display(), "MetaClaw is listening");
        Ok(Self { addr, shutdown, server, retention, watcher, judge, evolving, store, home, token })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn admin_token(&self) -> &str {
        &self.token
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Stops accepting requests, lets in-flight ones finish (up to 10 s), then commits every
    /// recorded turn and closes the database.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.retention.abort();
        self.watcher.abort();
        // Background learning work keeps its state in the database; the next start picks it up.
        for task in [&self.judge, &self.evolving].into_iter().flatten() {
            task.abort();
        }
        let mut server = self.server;
        if tokio::time::timeout(DRAIN_TIMEOUT, &mut server).await.is_err() {
            tracing::warn!("in-flight requests did not finish within {DRAIN_TIMEOUT:?}; cutting them off");
            server.abort();
            let _ = server.await;
        }
        self.store.close().await;
        let _ = std::fs::remove_file(self.home.runtime_path());
        tracing::info!("MetaClaw stopped; every recorded turn is on disk");
    }
}

/// Deletes turns past the retention period, hourly (the first pass a minute after start).
async fn retention_task(store: Store, days: u32) {
    if days == 0 {
        return;
    }
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(60), Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let cutoff = crate::turn::now_ms() - i64::from(days) * 86_400_000;
        if let Err(e) = store.prune(cutoff) {
            tracing::warn!(error = %e, "retention pass skipped");
        }
    }
}
