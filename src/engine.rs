//! The engine: one entry point that opens the store, reads secrets, binds the port and serves the
//! proxy and the admin API. `metaclaw serve` and the desktop shell both call [`Engine::start`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::{ApiState, EngineInfo, UpstreamInfo};
use std::collections::HashMap;

use crate::config::{Config, Protocol};
use crate::events::EventBus;
use crate::evolve::{Deps as EvolveDeps, Evolver};
use crate::home::{Home, HomeError};
use crate::judge::Judge;
use crate::metrics::Metrics;
use crate::proxy::ProxyState;
use crate::secrets::{self, SecretName, SecretSource};
use crate::session::SessionTracker;
use crate::skills::embed::Embedder;
use crate::skills::{Library, LibraryError, TRASH_DIR};
use crate::store::{read, Store, StoreError};
use crate::upstream::{http_client, Routes, SharedRoutes};

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Home(#[from] HomeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Skills(#[from] LibraryError),
    #[error(transparent)]
    Calendar(#[from] crate::calendar::CalendarError),
    #[error("invalid [scheduler] settings: {0}")]
    Scheduler(String),
    #[error("cannot listen on {addr}: {source}{hint}")]
    Bind { addr: SocketAddr, source: std::io::Error, hint: &'static str },
}

/// The secrets the engine needs, resolved by its host (environment, keyring, or a test).
#[derive(Clone, Default)]
pub struct Keys {
    /// Per upstream name: the key and where it came from.
    pub upstreams: HashMap<String, (Option<String>, SecretSource)>,
    pub proxy: Option<String>,
    /// Where secrets the engine stores itself (calendar addresses, keys from the UI) go.
    pub vault: secrets::Vault,
    /// The training service's key, when the host has it at hand (else the vault is asked).
    pub tinker: Option<String>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("upstreams", &self.upstreams.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

/// Test and embedding hooks: stand-ins for the OS signals and faster scheduler timing.
#[derive(Clone, Default)]
pub struct Hooks {
    pub signals: Option<crate::scheduler::signals::Signals>,
    pub timing: Option<crate::scheduler::runner::Timing>,
    /// Extra scheduled jobs (tests register scripted ones).
    pub jobs: Vec<Arc<dyn crate::scheduler::Job>>,
}

impl Keys {
    /// No keys at all (local upstreams such as Ollama need none); secrets kept in memory.
    pub fn none() -> Self {
        Self { vault: secrets::Vault::memory(), ..Self::default() }
    }

    /// One upstream's key (for tests and embedding hosts).
    pub fn with_upstream(mut self, name: &str, key: &str) -> Self {
        self.upstreams.insert(name.to_string(), (Some(key.to_string()), SecretSource::Env));
        self
    }

    /// Looks every configured upstream's key, and the proxy key, up in the environment, then
    /// the vault of `home`: the OS keyring when this system has one, else the home's owner-only
    /// secrets file (see [`secrets::Vault::for_home`]).
    pub async fn lookup(cfg: &Config, home: &Home) -> Self {
        let vault = secrets::Vault::for_home(home.root()).await;
        let mut upstreams = HashMap::new();
        for up in crate::upstream::from_config(cfg) {
            upstreams.insert(up.name.clone(), vault.lookup(&SecretName::upstream(&up.name)).await);
        }
        let proxy = vault.lookup(&SecretName::proxy()).await.0;
        Self { upstreams, proxy, vault, tinker: None }
    }
}

/// A running engine.
pub struct Engine {
    addr: SocketAddr,
    shutdown: CancellationToken,
    server: JoinHandle<()>,
    calendar_refresh: JoinHandle<()>,
    scheduling: JoinHandle<()>,
    events: EventBus,
    stop_scheduler: CancellationToken,
    watcher: JoinHandle<()>,
    judge: Option<JoinHandle<()>>,
    evolving: Option<JoinHandle<()>>,
    store: Store,
    home: Home,
    token: String,
    /// Longest a clean shutdown waits for answers in flight (`proxy.drain_timeout_secs`).
    drain: Duration,
}

impl Engine {
    /// Starts serving with `cfg` in `home`; returns once the port is bound.
    pub async fn start(cfg: Config, home: Home, keys: Keys) -> Result<Self, EngineError> {
        Self::start_with(cfg, home, keys, Hooks::default()).await
    }

    /// [`Engine::start`] with hooks. The steps, in order: open the store, resolve the upstreams
    /// and their keys, open the skill library, start learning (the evolver and the judge), start
    /// the scheduler (calendars, OS signals, training and the jobs that wait for windows), bind
    /// the port, then serve the proxy and the admin API on it.
    pub async fn start_with(cfg: Config, home: Home, keys: Keys, hooks: Hooks) -> Result<Self, EngineError> {
        home.ensure()?;
        let token = home.admin_token()?;
        let store = Store::open(&home.db_path(), Duration::from_millis(cfg.store.flush_interval_ms))?;
        let proxy_key = proxy_key(&cfg, &keys);
        let (routes, infos) = resolve_upstreams(&cfg, &keys);
        let events = EventBus::default();
        // Health lives as long as the engine (across reloads) and learns from the bus.
        let health = crate::health::Health::new(home.root().to_path_buf());
        health.listen(&events);
        let idle_gap_ms = (cfg.sessions.idle_gap_minutes * 60_000) as i64;
        let active_after = crate::clock::now_ms() - idle_gap_ms;
        let seeds = store.read(move |c| read::inferred_seeds(c, active_after)).await?;
        let client = http_client(&cfg.upstream);
        let skills = open_library(&cfg, &home, &store, &routes, &client, &events).await?;
        let watcher = skills.watch()?;
        let learning = start_learning(&cfg, &store, &skills, &routes, &events, idle_gap_ms).await;
        let metrics = Arc::new(Metrics::default());
        // Policy training swaps the policy upstream in this shared table.
        let shared_routes: SharedRoutes = Arc::new(ArcSwap::from_pointee(routes));
        let scheduling =
            start_scheduler(&cfg, &home, &keys, hooks, &store, &events, &metrics, &learning, &shared_routes).await?;
        let (listener, addr) = bind(&cfg).await?;

        let local = crate::api::LocalAddr { port: addr.port(), ip: addr.ip() };
        let info = EngineInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            started_at: crate::clock::now_ms(),
            address: format!("http://{addr}"),
            home: home.root().display().to_string(),
            upstreams: infos,
        };
        let proxy = Arc::new(ProxyState {
            routes: shared_routes.clone(),
            routing: cfg.routing.clone(),
            client,
            sessions: SessionTracker::new(idle_gap_ms, seeds),
            store: store.clone(),
            metrics: metrics.clone(),
            api_key: proxy_key,
            max_body_mib: cfg.proxy.max_body_mib,
            body_timeout: Duration::from_secs(cfg.proxy.body_timeout_secs),
            local,
            log_bodies: cfg.log.bodies,
            skills: skills.clone(),
            events: events.clone(),
            responses: Default::default(),
        });
        let api = Arc::new(ApiState {
            token: token.clone(),
            store: store.clone(),
            metrics,
            info,
            idle_gap_ms,
            local,
            skills,
            events: events.clone(),
            judge_on: learning.judge.is_some(),
            evolver: learning.evolver,
            scheduler: scheduling.scheduler,
            calendars: scheduling.calendars,
            vault: keys.vault.clone(),
            config_path: home.config_path(),
            ui_dir: crate::api::ui::locate(),
            started_config: cfg.clone(),
            training: scheduling.training,
            health,
        });
        let app = crate::proxy::router(proxy).merge(crate::api::router(api));
        let (server, shutdown) = serve(&cfg, listener, app);
        write_runtime_file(&home, addr);
        tracing::info!(address = %addr, home = %home.root().display(), "MetaClaw is listening");
        Ok(Self {
            addr,
            shutdown,
            server,
            calendar_refresh: scheduling.calendar_refresh,
            scheduling: scheduling.running,
            events,
            stop_scheduler: scheduling.stop,
            watcher,
            judge: learning.judge,
            evolving: learning.evolving,
            store,
            home,
            token,
            drain: Duration::from_secs(cfg.proxy.drain_timeout_secs),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The engine's event bus (the desktop shell's tray and notifications listen to it).
    pub fn events(&self) -> EventBus {
        self.events.clone()
    }

    pub fn admin_token(&self) -> &str {
        &self.token
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Stops accepting requests, lets answers in flight finish (up to `proxy.drain_timeout_secs`),
    /// records those that did not as cut off, then commits every recorded turn and closes the
    /// database. Bounded: it returns within the drain timeout and a few seconds.
    pub async fn shutdown(self) {
        let deadline = tokio::time::Instant::now() + self.drain;
        self.shutdown.cancel();
        // A running job is paused at its checkpoint first (it resumes after the next start).
        self.stop_scheduler.cancel();
        let mut scheduling = self.scheduling;
        if tokio::time::timeout(Duration::from_secs(5), &mut scheduling).await.is_err() {
            scheduling.abort();
        }
        self.calendar_refresh.abort();
        self.watcher.abort();
        // Background learning work keeps its state in the database; the next start picks it up.
        for task in [&self.judge, &self.evolving].into_iter().flatten() {
            task.abort();
        }
        // Turns in flight are counted by the store: wait for them, not for the connections
        // (the server task can end while connection tasks still stream).
        let in_flight = self.store.in_flight().clone();
        in_flight.wait_idle(deadline).await;
        // Other connections (the UI's event stream, passthrough calls) get a moment, not the drain.
        let mut server = self.server;
        if tokio::time::timeout(Duration::from_secs(1), &mut server).await.is_err() {
            server.abort();
            let _ = server.await;
        }
        // Whatever is still open (also a turn a kept-alive connection started meanwhile) is
        // recorded as it stands, before the store closes.
        let cut = in_flight.cut_all();
        if cut > 0 {
            tracing::warn!(
                turns = cut,
                "answers still streaming after {:?} (proxy.drain_timeout_secs); recorded as cut off",
                self.drain
            );
        }
        self.store.close().await;
        let _ = std::fs::remove_file(self.home.runtime_path());
        match self.store.lost_turns() {
            0 => tracing::info!("MetaClaw stopped; every recorded turn is on disk"),
            lost => tracing::warn!(lost, "MetaClaw stopped; {lost} turns could not be recorded (see the log above)"),
        }
    }
}

/// Whether the user paused learning (kept across restarts).
pub async fn read_paused(store: &Store) -> bool {
    crate::scheduler::runner::Checkpoint::new(store.clone(), "learning")
        .load()
        .await
        .ok()
        .flatten()
        .and_then(|v| v["paused"].as_bool())
        .unwrap_or(false)
}

/// The key clients must send: from the host (environment or keyring), else the deprecated
/// `proxy.api_key` in the file (warned about). Without one, only loopback clients are accepted.
fn proxy_key(cfg: &Config, keys: &Keys) -> Option<String> {
    if cfg.proxy.api_key.is_some() {
        tracing::warn!(
            "proxy.api_key in the config file is deprecated (a secret in a plain file): \
             use METACLAW_PROXY_API_KEY or `metaclaw key set proxy` and remove it from the file"
        );
    }
    let proxy_key = keys.proxy.clone().or_else(|| cfg.proxy.api_key.clone());
    if proxy_key.is_none() && !cfg.proxy.host.to_canonical().is_loopback() {
        tracing::warn!(host = %cfg.proxy.host, "no proxy key set: only loopback clients will be accepted");
    }
    proxy_key
}

/// The configured upstreams with their keys, and what `/api/status` shows of them (never a key).
fn resolve_upstreams(cfg: &Config, keys: &Keys) -> (Routes, Vec<UpstreamInfo>) {
    let mut upstreams = crate::upstream::from_config(cfg);
    let mut infos = Vec::new();
    for up in &mut upstreams {
        let (key, source) = keys.upstreams.get(&up.name).cloned().unwrap_or((None, SecretSource::None));
        up.key = key;
        infos.push(UpstreamInfo {
            name: up.name.clone(),
            kind: up.kind,
            auth: up.auth,
            base_url: crate::upstream::redact_userinfo(&up.base_url),
            models: up.models.clone(),
            model: up.model.clone(),
            key: if up.key.is_some() { source } else { SecretSource::None },
        });
    }
    (Routes::new(upstreams), infos)
}

/// Opens the skill library, ranking by embeddings when a model is set and an OpenAI-compatible
/// upstream serves them (the first one; Anthropic has no such API), else lexically.
async fn open_library(
    cfg: &Config,
    home: &Home,
    store: &Store,
    routes: &Routes,
    client: &reqwest::Client,
    events: &EventBus,
) -> Result<Arc<Library>, EngineError> {
    let embed_upstream = routes.upstreams.iter().find(|u| u.kind == Protocol::OpenAi).cloned();
    if cfg.skills.embedding_model.is_some() && embed_upstream.is_none() {
        tracing::warn!("skills.embedding_model is set but no upstream is OpenAI-compatible; ranking skills lexically");
    }
    let embedder = cfg.skills.embedding_model.clone().zip(embed_upstream).map(|(m, up)| {
        Embedder::new(m, client.clone(), (*up).clone(), Duration::from_secs(cfg.upstream.timeout_secs.min(60)))
    });
    Ok(Library::open(
        home.skills_dir(),
        home.root().join(TRASH_DIR),
        store.clone(),
        cfg.skills.clone(),
        embedder,
        events.clone(),
    )
    .await?)
}

/// The evolver and the judge, and which of their work waits for the scheduler's windows.
struct Learning {
    evolver: Arc<Evolver>,
    /// The user paused learning (kept across restarts).
    paused: bool,
    /// The judge's worker, when a judge model is set.
    judge: Option<JoinHandle<()>>,
    judge_gate: Arc<crate::judge::Gate>,
    /// The judge calls its upstream only in windows (`[judge] run_in = "idle"`).
    judge_idle: bool,
    /// The evolver's watcher, when it runs as soon as it is triggered.
    evolving: Option<JoinHandle<()>>,
    /// Evolution runs only in windows (`[evolve] run_in = "idle"`).
    evolve_idle: bool,
}

/// Builds the evolver and starts the judge and the evolver's watcher; both are paused first
/// when the user paused learning, so a paused engine starts no evolution and no judging.
async fn start_learning(
    cfg: &Config,
    store: &Store,
    skills: &Arc<Library>,
    routes: &Routes,
    events: &EventBus,
    idle_gap_ms: i64,
) -> Learning {
    let deps = EvolveDeps {
        store: store.clone(),
        library: skills.clone(),
        routes: Arc::new(routes.clone()),
        client: http_client(&cfg.upstream),
        events: events.clone(),
    };
    let evolver = Evolver::new(deps, cfg.evolve.clone(), cfg.judge.clone(), idle_gap_ms);
    let paused = read_paused(store).await;
    evolver.set_paused(paused);
    let judge_idle = cfg.judge.run_in == crate::config::RunIn::Idle;
    let judge_gate = crate::judge::Gate::new(evolver.paused_flag(), judge_idle);
    let judge = cfg.judge.model.is_some().then(|| {
        Judge {
            store: store.clone(),
            routes: Arc::new(routes.clone()),
            client: http_client(&cfg.upstream),
            cfg: cfg.judge.clone(),
            events: events.clone(),
            gate: judge_gate.clone(),
        }
        .spawn()
    });
    let evolve_idle = cfg.evolve.run_in == crate::config::RunIn::Idle;
    let evolving = (evolver.enabled() && !evolve_idle).then(|| evolver.spawn());
    Learning { evolver, paused, judge, judge_gate, judge_idle, evolving, evolve_idle }
}

/// The scheduler running, and what it works with.
struct Scheduling {
    scheduler: Arc<crate::scheduler::Scheduler>,
    running: JoinHandle<()>,
    stop: CancellationToken,
    calendars: Arc<crate::calendar::Calendars>,
    calendar_refresh: JoinHandle<()>,
    training: Option<Arc<crate::train::Training>>,
}

/// Opens the calendars (refreshed in the background), reads the OS signals (or the hooks'
/// stand-ins), opens policy training, and starts the scheduler with every job that waits for
/// its windows: training, deferred evolution and judging, and maintenance.
#[allow(clippy::too_many_arguments)]
async fn start_scheduler(
    cfg: &Config,
    home: &Home,
    keys: &Keys,
    hooks: Hooks,
    store: &Store,
    events: &EventBus,
    metrics: &Arc<Metrics>,
    learning: &Learning,
    routes: &SharedRoutes,
) -> Result<Scheduling, EngineError> {
    let zone = cfg.scheduler.time_zone().map_err(EngineError::Scheduler)?;
    let chrono_zone = zone.iana_name().and_then(|n| n.parse::<chrono_tz::Tz>().ok()).unwrap_or(chrono_tz::Tz::UTC);
    let calendars =
        crate::calendar::Calendars::open(store.clone(), keys.vault.clone(), chrono_zone, events.clone(), &cfg.calendar)
            .await?;
    let calendar_refresh = calendars.spawn(Duration::from_secs(cfg.scheduler.calendar_refresh_minutes * 60));
    // A restart is not the user's activity: idle time counts from the last recorded turn.
    let last_turn = store.read(crate::store::turns::last_started_at).await?;
    metrics.last_request.store(last_turn.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
    let signals = hooks.signals.clone().unwrap_or_else(|| {
        if cfg.scheduler.os_idle {
            crate::scheduler::signals::Signals::detect(metrics.last_request.clone())
        } else {
            crate::scheduler::signals::Signals {
                os: None,
                power: Arc::new(crate::scheduler::signals::SysPower::default()),
                last_request: metrics.last_request.clone(),
            }
        }
    });
    let training = match cfg.train.active_model() {
        Some(_) => {
            let key = match &keys.tinker {
                Some(k) => Some(k.clone()),
                None => keys.vault.get(&SecretName::tinker()).await.ok().and_then(|(k, _)| k),
            };
            crate::train::Training::open(cfg, home, store.clone(), routes.clone(), key, events.clone()).await?
        }
        None => None,
    };
    let mut jobs: Vec<Arc<dyn crate::scheduler::Job>> = hooks.jobs.clone();
    if let Some(t) = &training {
        jobs.push(Arc::new(crate::train::TrainJob(t.clone())));
    }
    if learning.evolver.enabled() && learning.evolve_idle {
        jobs.push(Arc::new(crate::scheduler::jobs::EvolveJob { evolver: learning.evolver.clone() }));
    }
    if learning.judge.is_some() && learning.judge_idle {
        jobs.push(Arc::new(crate::judge::JudgeJob::new(store.clone(), learning.judge_gate.clone(), &cfg.judge)));
    }
    jobs.push(Arc::new(crate::scheduler::jobs::MaintenanceJob {
        store: store.clone(),
        retention_days: cfg.store.retention_days,
        every: Duration::from_secs(cfg.scheduler.maintenance_hours.max(1) * 3600),
    }));
    let scheduler = crate::scheduler::Scheduler::new(
        cfg.scheduler.clone(),
        signals,
        Some(calendars.clone()),
        store.clone(),
        events.clone(),
        jobs,
        hooks.timing.unwrap_or_default(),
        learning.paused,
    )
    .map_err(EngineError::Scheduler)?;
    let stop = CancellationToken::new();
    let running = scheduler.spawn(stop.clone());
    Ok(Scheduling { scheduler, running, stop, calendars, calendar_refresh, training })
}

/// Binds the configured address (port 0 picks a free one); says what to do when it is taken.
async fn bind(cfg: &Config) -> Result<(tokio::net::TcpListener, SocketAddr), EngineError> {
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

/// Serves `app` on `listener` within the configured limits until the returned token is cancelled.
fn serve(cfg: &Config, listener: tokio::net::TcpListener, app: axum::Router) -> (JoinHandle<()>, CancellationToken) {
    let limits = crate::proxy::listen::Limits {
        header_timeout: Duration::from_secs(cfg.proxy.header_timeout_secs),
        max_connections: cfg.proxy.max_connections as usize,
    };
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    let server = tokio::spawn(async move {
        crate::proxy::listen::serve(listener, app, limits, signal).await;
    });
    (server, shutdown)
}

/// Tells the CLI where this engine listens (`runtime.json` in the home, owner-only).
fn write_runtime_file(home: &Home, addr: SocketAddr) {
    let runtime = serde_json::json!({"pid": std::process::id(), "address": format!("http://{addr}")});
    if let Err(e) = crate::home::write_atomic(&home.runtime_path(), runtime.to_string().as_bytes(), 0o600) {
        tracing::warn!(error = %e, "could not write the runtime file; the CLI will fall back to the configured port");
    }
}
