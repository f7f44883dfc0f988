//! The engine: one entry point that opens the store, reads secrets, binds the port and serves the
//! proxy and the admin API. `metaclaw serve` and the desktop shell both call [`Engine::start`].
//! What is built from the configuration is a core ([`core`]) that [`Reloader::apply`] rebuilds and
//! swaps while the engine runs, so saved settings apply without a restart.

mod core;
mod learning;
mod listen;
mod reload;
mod scheduling;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use reload::{Applied, ReloadError, Reloader};

use crate::api::types::settings::RestartReason;
use crate::config::Config;
use crate::events::EventBus;
use crate::home::{Home, HomeError};
use crate::metrics::Metrics;
use crate::secrets::{self, SecretName, SecretSource};
use crate::session::SessionTracker;
use crate::skills::LibraryError;
use crate::store::{read, Store, StoreError};

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

/// Applied to config.toml each time it is read again (`metaclaw serve`'s command-line options).
pub type Overrides = Arc<dyn Fn(&mut Config) + Send + Sync>;

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
    inner: Arc<reload::Inner>,
    /// Feeds health from the event bus.
    health: JoinHandle<()>,
}

impl Engine {
    /// Starts serving with `cfg` in `home`; returns once the port is bound.
    pub async fn start(cfg: Config, home: Home, keys: Keys) -> Result<Self, EngineError> {
        Self::start_with(cfg, home, keys, Hooks::default()).await
    }

    /// [`Engine::start`] with hooks. The steps, in order: open the store, bind the port, build the
    /// first core (resolve the upstreams and their keys, open the skill library, start learning —
    /// the evolver and the judge — and the scheduler with calendars, OS signals, training and the
    /// jobs that wait for windows), then serve the proxy and the admin API on the port.
    pub async fn start_with(cfg: Config, home: Home, keys: Keys, hooks: Hooks) -> Result<Self, EngineError> {
        Self::launch(cfg, home, keys, hooks, None).await
    }

    /// [`Engine::start`] with `overrides` applied to config.toml each time a change is applied
    /// (`cfg` has them already): what the command line says stays in force.
    pub async fn start_overridden(
        cfg: Config,
        home: Home,
        keys: Keys,
        overrides: Overrides,
    ) -> Result<Self, EngineError> {
        Self::launch(cfg, home, keys, Hooks::default(), Some(overrides)).await
    }

    async fn launch(
        cfg: Config,
        home: Home,
        keys: Keys,
        hooks: Hooks,
        overrides: Option<Overrides>,
    ) -> Result<Self, EngineError> {
        home.ensure()?;
        let token = home.admin_token()?;
        let store = Store::open(&home.db_path(), Duration::from_millis(cfg.store.flush_interval_ms))?;
        let idle_gap_ms = (cfg.sessions.idle_gap_minutes * 60_000) as i64;
        let active_after = crate::clock::now_ms() - idle_gap_ms;
        let seeds = store.read(move |c| read::inferred_seeds(c, active_after)).await?;
        let (listener, addr) = listen::bind(&cfg).await?;
        let app: listen::SharedApp =
            Arc::new(ArcSwap::from_pointee(crate::proxy::listen::App::new(axum::Router::new(), None)));
        let limits = listen::limits(&cfg);
        let first_keys = core::KeySet::given(&cfg, &keys).await;
        let events = EventBus::default();
        let health = crate::health::Health::new(home.root().to_path_buf());
        let health_task = health.listen(&events);
        let inner = Arc::new_cyclic(|weak| reload::Inner {
            lasting: core::Lasting {
                home: home.clone(),
                store: store.clone(),
                events,
                metrics: Arc::new(Metrics::default()),
                sessions: Arc::new(SessionTracker::new(idle_gap_ms, seeds)),
                responses: Default::default(),
                token: token.clone(),
                local: crate::api::LocalAddr { port: addr.port(), ip: addr.ip() },
                started_at: crate::clock::now_ms(),
                health,
                address: format!("http://{addr}"),
                ui_dir: crate::api::ui::locate(),
                host_keys: keys,
                hooks,
                overrides,
                started: cfg.clone(),
                app: app.clone(),
                reloader: weak.clone(),
            },
            core: tokio::sync::Mutex::new(None),
            restart: tokio::sync::watch::channel(Vec::new()).0,
            limits: limits.clone(),
        });
        reload::first(&inner, cfg.clone(), first_keys).await?;
        let (server, shutdown) = listen::serve(limits, listener, app);
        listen::write_runtime_file(&home, addr);
        tracing::info!(address = %addr, home = %home.root().display(), "MetaClaw is listening");
        Ok(Self { addr, shutdown, server, inner, health: health_task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The engine's event bus (the desktop shell's tray and notifications listen to it).
    pub fn events(&self) -> EventBus {
        self.inner.lasting.events.clone()
    }

    pub fn admin_token(&self) -> &str {
        &self.inner.lasting.token
    }

    pub fn store(&self) -> &Store {
        &self.inner.lasting.store
    }

    /// Applies saved settings to this engine (what `PUT /api/config` uses).
    pub fn reloader(&self) -> Reloader {
        Reloader { inner: Arc::downgrade(&self.inner) }
    }

    /// The saved settings that wait for a restart, updated after each reload: the desktop shell
    /// restarts its engine when the listen address changed; `metaclaw serve` says so.
    pub fn restart_needed(&self) -> tokio::sync::watch::Receiver<Vec<RestartReason>> {
        self.inner.restart.subscribe()
    }

    /// Stops accepting requests, lets answers in flight finish (up to `proxy.drain_timeout_secs`),
    /// records those that did not as cut off, then commits every recorded turn and closes the
    /// database. Bounded: it returns within the drain timeout and a few seconds.
    pub async fn shutdown(self) {
        let core = self.inner.core.lock().await.take();
        let drain_secs = core
            .as_ref()
            .map_or(self.inner.lasting.started.proxy.drain_timeout_secs, |c| c.cfg.proxy.drain_timeout_secs);
        let drain = Duration::from_secs(drain_secs);
        let deadline = tokio::time::Instant::now() + drain;
        self.shutdown.cancel();
        // A running job is paused at its checkpoint first (it resumes after the next start);
        // background learning work keeps its state in the database.
        if let Some(core) = core {
            core.stop().await;
        }
        self.health.abort();
        let lasting = &self.inner.lasting;
        // Turns in flight are counted by the store: wait for them, not for the connections
        // (the server task can end while connection tasks still stream).
        let in_flight = lasting.store.in_flight().clone();
        in_flight.wait_idle(deadline).await;
        // Other connections (the UI's event stream, passthrough calls) get a moment, not the drain.
        let mut server = self.server;
        if tokio::time::timeout(Duration::from_secs(1), &mut server).await.is_err() {
            server.abort();
            let _ = server.await;
        }
        // The last core's app goes with it (its state holds the library, learning, calendars).
        lasting.app.store(Arc::new(crate::proxy::listen::App::new(axum::Router::new(), None)));
        // Whatever is still open (also a turn a kept-alive connection started meanwhile) is
        // recorded as it stands, before the store closes.
        let cut = in_flight.cut_all();
        if cut > 0 {
            tracing::warn!(
                turns = cut,
                "answers still streaming after {drain:?} (proxy.drain_timeout_secs); recorded as cut off"
            );
        }
        lasting.store.close().await;
        let _ = std::fs::remove_file(lasting.home.runtime_path());
        match lasting.store.lost_turns() {
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
