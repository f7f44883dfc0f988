//! The engine's two halves. [`Lasting`] lives as long as the engine: the listener's app slot,
//! the store, the event bus, metrics, the session tracker, the Responses API's state, the
//! admin token. A [`Core`] is everything built from one configuration (routes and keys, proxy
//! settings, the skill library's settings, judge, evolver, calendars, training, scheduler);
//! a reload builds a new core, reusing each part whose inputs did not change, and swaps it in.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::task::JoinHandle;

use super::learning::{self, Learning};
use super::listen::SharedApp;
use super::scheduling;
use super::{EngineError, Hooks, Keys};
use crate::api::{ApiState, EngineInfo, LocalAddr, UpstreamInfo};
use crate::calendar::Calendars;
use crate::config::{Config, Protocol};
use crate::events::EventBus;
use crate::home::Home;
use crate::metrics::Metrics;
use crate::proxy::ProxyState;
use crate::proxy::ResponseStore;
use crate::secrets::{SecretName, SecretSource, Vault};
use crate::session::SessionTracker;
use crate::skills::embed::Embedder;
use crate::skills::{Library, TRASH_DIR};
use crate::store::Store;
use crate::upstream::{http_client, Routes, SharedRoutes};

/// What lives as long as the engine, shared by every core.
pub(super) struct Lasting {
    pub home: Home,
    pub store: Store,
    pub events: EventBus,
    pub metrics: Arc<Metrics>,
    pub sessions: Arc<SessionTracker>,
    pub responses: Arc<ResponseStore>,
    pub token: String,
    pub local: LocalAddr,
    pub started_at: i64,
    /// How each part is doing, for the engine's whole life.
    pub health: crate::health::Health,
    pub address: String,
    pub ui_dir: Option<PathBuf>,
    /// The keys the host gave at start; a key stored in the vault since wins over them.
    pub host_keys: Keys,
    pub hooks: Hooks,
    pub overrides: Option<super::Overrides>,
    /// The configuration the listener, the store and the log were set up with.
    pub started: Config,
    /// The app of the core in force.
    pub app: SharedApp,
    /// Answers reloads (each core's admin API holds it).
    pub reloader: std::sync::Weak<super::reload::Inner>,
}

/// The secrets a core uses (compared to tell whether a part must be rebuilt).
#[derive(Clone, Default, PartialEq)]
pub(super) struct KeySet {
    pub upstreams: HashMap<String, (Option<String>, SecretSource)>,
    pub proxy: Option<String>,
    pub tinker: Option<String>,
}

impl KeySet {
    /// The keys the host gave, as they were (the engine's first core); the training service's
    /// is looked up only when training is on.
    pub async fn given(cfg: &Config, keys: &Keys) -> Self {
        let tinker = match cfg.train.active_model() {
            Some(_) => scheduling::tinker_key(keys.tinker.as_ref(), &keys.vault).await,
            None => None,
        };
        let upstreams = crate::upstream::from_config(cfg)
            .into_iter()
            .map(|up| {
                let entry = keys.upstreams.get(&up.name).cloned().unwrap_or((None, SecretSource::None));
                (up.name.clone(), unset_is_none(entry))
            })
            .collect();
        Self { upstreams, proxy: keys.proxy.clone(), tinker }
    }

    /// The keys after a change: each one the vault holds (the environment first) wins over the
    /// host's. A key the host looked up in the vault itself (keyring, file) follows the vault, so
    /// deleting it there takes it away; one the host gave directly (environment, an embedding
    /// host, a test) stays.
    pub async fn resolve(cfg: &Config, host: &Keys) -> Self {
        let vault = &host.vault;
        let memory = matches!(vault, Vault::Memory(_));
        let mut upstreams = HashMap::new();
        for up in crate::upstream::from_config(cfg) {
            let given = host.upstreams.get(&up.name).cloned();
            let kept = given.clone().filter(|(k, src)| k.is_some() && (memory || *src == SecretSource::Env));
            let entry = match vault.get(&SecretName::upstream(&up.name)).await {
                Ok((Some(k), src)) => (Some(k), src),
                Ok((None, _)) => kept.unwrap_or((None, SecretSource::None)),
                Err(e) => {
                    tracing::warn!(upstream = %up.name, error = %e, "could not read the upstream's key; keeping the one in use");
                    given.unwrap_or((None, SecretSource::None))
                }
            };
            upstreams.insert(up.name.clone(), unset_is_none(entry));
        }
        let proxy = match vault.get(&SecretName::proxy()).await {
            Ok((Some(k), _)) => Some(k),
            Ok((None, _)) => host.proxy.clone().filter(|_| memory),
            Err(_) => host.proxy.clone(),
        };
        let tinker = match cfg.train.active_model() {
            None => None,
            Some(_) => match vault.get(&SecretName::tinker()).await {
                Ok((Some(k), _)) => Some(k),
                _ => host.tinker.clone(),
            },
        };
        Self { upstreams, proxy, tinker }
    }
}

/// A key that is not set comes from nowhere (so that "no key" compares equal whatever was asked).
fn unset_is_none((key, source): (Option<String>, SecretSource)) -> (Option<String>, SecretSource) {
    match key {
        Some(k) => (Some(k), source),
        None => (None, SecretSource::None),
    }
}

/// Everything built from one configuration.
pub(super) struct Core {
    pub cfg: Config,
    pub keys: KeySet,
    client: reqwest::Client,
    routes: SharedRoutes,
    infos: Vec<UpstreamInfo>,
    skills: Arc<Library>,
    watcher: Option<JoinHandle<()>>,
    learning: Learning,
    calendars: Arc<Calendars>,
    calendar_refresh: JoinHandle<()>,
    training: Option<Arc<crate::train::Training>>,
    scheduler: scheduling::Running,
}

/// Which parts of the previous core a new configuration leaves as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Reuse {
    pub client: bool,
    pub routes: bool,
    pub library: bool,
    pub learning: bool,
    pub calendars: bool,
    pub training: bool,
    pub scheduler: bool,
}

impl Reuse {
    /// Compares the inputs of each part: the old core's configuration and keys with the new ones.
    pub fn between(o: &Config, old_keys: &KeySet, cfg: &Config, keys: &KeySet) -> Self {
        let client = o.upstream == cfg.upstream;
        let routes =
            client && o.upstreams == cfg.upstreams && o.routing == cfg.routing && old_keys.upstreams == keys.upstreams;
        let library = routes && o.skills == cfg.skills;
        let learning = library && o.judge == cfg.judge && o.evolve == cfg.evolve && o.sessions == cfg.sessions;
        let calendars = o.calendar == cfg.calendar
            && o.scheduler.timezone == cfg.scheduler.timezone
            && o.scheduler.calendar_refresh_minutes == cfg.scheduler.calendar_refresh_minutes;
        let training = routes && o.train == cfg.train && old_keys.tinker == keys.tinker;
        let scheduler = learning
            && calendars
            && training
            && o.scheduler == cfg.scheduler
            && o.curator == cfg.curator
            && o.store.retention_days == cfg.store.retention_days;
        Self { client, routes, library, learning, calendars, training, scheduler }
    }
}

/// The parts of a new core that can fail, built while the old core still runs untouched.
pub(super) struct Prepared {
    cfg: Config,
    keys: KeySet,
    reuse: Reuse,
    routes: Routes,
    infos: Vec<UpstreamInfo>,
    client: reqwest::Client,
    skills: Option<Arc<Library>>,
    calendars: Option<Arc<Calendars>>,
}

/// First step of a (re)build: checks the configuration and opens the parts that changed (the
/// skill library, the calendars); the old core, if any, is not touched.
pub(super) async fn prepare(
    lasting: &Lasting,
    old: Option<&Core>,
    cfg: Config,
    keys: KeySet,
) -> Result<Prepared, EngineError> {
    let reuse = old.map(|o| Reuse::between(&o.cfg, &o.keys, &cfg, &keys)).unwrap_or_default();
    scheduling::calendar_zone(&cfg)?;
    let (routes, infos) = resolve_upstreams(&cfg, &keys);
    let client = match old {
        Some(o) if reuse.client => o.client.clone(),
        _ => http_client(&cfg.upstream),
    };
    let skills = if reuse.library {
        None
    } else {
        Some(open_library(&cfg, &lasting.home, &lasting.store, &routes, &client, &lasting.events).await?)
    };
    let calendars = if reuse.calendars {
        None
    } else {
        Some(scheduling::open_calendars(&cfg, &lasting.store, &lasting.host_keys.vault, &lasting.events).await?)
    };
    Ok(Prepared { cfg, keys, reuse, routes, infos, client, skills, calendars })
}

/// Second step: stops what the old core ran that changed (the scheduler pauses its job at its
/// checkpoint), starts the new parts, and swaps the new core's app in. Requests in flight finish
/// on the app they started with.
pub(super) async fn commit(lasting: &Lasting, old: Option<Core>, p: Prepared) -> Result<Core, EngineError> {
    let Prepared { cfg, keys, reuse, routes, infos, client, skills, calendars } = p;
    let idle_gap_ms = (cfg.sessions.idle_gap_minutes * 60_000) as i64;
    let mut old = old.map(Parts::from);
    // Background work first: nothing of the old core's keeps running beside the new one's.
    if let Some(o) = &mut old {
        if !reuse.scheduler {
            if let Some(s) = o.scheduler.take() {
                s.stop().await;
            }
        }
        if !reuse.learning {
            if let Some(l) = o.learning.take() {
                l.stop();
            }
        }
        if !reuse.library {
            if let Some(w) = o.watcher.take() {
                w.abort();
            }
        }
        if !reuse.calendars {
            if let Some(r) = o.calendar_refresh.take() {
                r.abort();
            }
        }
    }
    lasting.sessions.set_idle_gap(idle_gap_ms);
    let routes: SharedRoutes = match old.as_mut().and_then(|o| o.routes.take()).filter(|_| reuse.routes) {
        Some(r) => r,
        None => Arc::new(ArcSwap::from_pointee(routes)),
    };
    let (skills, watcher) = match skills {
        Some(lib) => {
            let w = match lib.watch() {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "skill files are not watched; changes need a reload");
                    None
                }
            };
            (lib, w)
        }
        None => {
            let o = old.as_mut().expect("a reused library has an old core");
            (o.skills.clone(), o.watcher.take())
        }
    };
    let learning = match old.as_mut().and_then(|o| o.learning.take()) {
        Some(l) => l,
        None => learning::start(&cfg, &lasting.store, &skills, &routes.load(), &lasting.events, idle_gap_ms).await,
    };
    let (calendars, calendar_refresh) = match calendars {
        Some(c) => {
            let refresh = scheduling::refresh_calendars(&cfg, &c);
            (c, refresh)
        }
        None => {
            let o = old.as_mut().expect("reused calendars have an old core");
            (o.calendars.clone(), o.calendar_refresh.take().expect("the refresh of reused calendars"))
        }
    };
    let training = match old.as_mut().filter(|_| reuse.training) {
        Some(o) => o.training.take().flatten(),
        None => {
            match scheduling::open_training(
                &cfg,
                &lasting.home,
                keys.tinker.clone(),
                &lasting.store,
                &lasting.events,
                &routes,
            )
            .await
            {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(error = %e, "policy training could not be opened; it stays off until the next change");
                    None
                }
            }
        }
    };
    let scheduler = match old.as_mut().and_then(|o| o.scheduler.take()) {
        Some(s) => s,
        None => {
            scheduling::start(scheduling::Parts {
                cfg: &cfg,
                hooks: &lasting.hooks,
                store: &lasting.store,
                events: &lasting.events,
                metrics: &lasting.metrics,
                learning: &learning,
                calendars: &calendars,
                training: training.as_ref(),
            })
            .await?
        }
    };
    let core = Core {
        cfg,
        keys,
        client,
        routes,
        infos,
        skills,
        watcher,
        learning,
        calendars,
        calendar_refresh,
        training,
        scheduler,
    };
    lasting.app.store(Arc::new(core.app(lasting)));
    Ok(core)
}

/// The old core, taken apart: what the new one reuses is taken out of it.
struct Parts {
    routes: Option<SharedRoutes>,
    skills: Arc<Library>,
    watcher: Option<JoinHandle<()>>,
    learning: Option<Learning>,
    calendars: Arc<Calendars>,
    calendar_refresh: Option<JoinHandle<()>>,
    training: Option<Option<Arc<crate::train::Training>>>,
    scheduler: Option<scheduling::Running>,
}

impl From<Core> for Parts {
    fn from(c: Core) -> Self {
        Self {
            routes: Some(c.routes),
            skills: c.skills,
            watcher: c.watcher,
            learning: Some(c.learning),
            calendars: c.calendars,
            calendar_refresh: Some(c.calendar_refresh),
            training: Some(c.training),
            scheduler: Some(c.scheduler),
        }
    }
}

impl Core {
    /// The proxy and the admin API of this core, as one app.
    fn app(&self, lasting: &Lasting) -> crate::proxy::listen::App {
        let cfg = &self.cfg;
        let idle_gap_ms = (cfg.sessions.idle_gap_minutes * 60_000) as i64;
        let proxy = Arc::new(ProxyState {
            routes: self.routes.clone(),
            routing: cfg.routing.clone(),
            client: self.client.clone(),
            sessions: lasting.sessions.clone(),
            store: lasting.store.clone(),
            metrics: lasting.metrics.clone(),
            api_key: proxy_key(cfg, self.keys.proxy.clone()),
            max_body_mib: cfg.proxy.max_body_mib,
            body_timeout: Duration::from_secs(cfg.proxy.body_timeout_secs),
            local: lasting.local,
            log_bodies: cfg.log.bodies,
            skills: self.skills.clone(),
            holdout: self.learning.effect.holdout.clone(),
            events: lasting.events.clone(),
            responses: lasting.responses.clone(),
        });
        let info = EngineInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            started_at: lasting.started_at,
            address: lasting.address.clone(),
            home: lasting.home.root().display().to_string(),
            upstreams: self.infos.clone(),
        };
        let api = Arc::new(ApiState {
            token: lasting.token.clone(),
            store: lasting.store.clone(),
            metrics: lasting.metrics.clone(),
            info,
            idle_gap_ms,
            local: lasting.local,
            skills: self.skills.clone(),
            events: lasting.events.clone(),
            judge_on: self.learning.judge.is_some(),
            evolver: self.learning.evolver.clone(),
            scheduler: self.scheduler.scheduler.clone(),
            calendars: self.calendars.clone(),
            vault: lasting.host_keys.vault.clone(),
            config_path: lasting.home.config_path(),
            ui_dir: lasting.ui_dir.clone(),
            config: cfg.clone(),
            training: self.training.clone(),
            health: lasting.health.clone(),
            reload: super::Reloader { inner: lasting.reloader.clone() },
        });
        crate::proxy::listen::App::new(crate::proxy::router(proxy.clone()).merge(crate::api::router(api)), Some(proxy))
    }

    /// Stops every background task of this core (the engine is stopping).
    pub async fn stop(self) {
        // A running job is paused at its checkpoint first (it resumes after the next start).
        self.scheduler.stop().await;
        self.calendar_refresh.abort();
        if let Some(w) = &self.watcher {
            w.abort();
        }
        // Background learning work keeps its state in the database; the next start picks it up.
        self.learning.stop();
    }
}

/// The key clients must send: from the host (environment, keyring, file), else the deprecated
/// `proxy.api_key` in the file (warned about). Without one, only loopback clients are accepted.
fn proxy_key(cfg: &Config, given: Option<String>) -> Option<String> {
    if cfg.proxy.api_key.is_some() {
        tracing::warn!(
            "proxy.api_key in the config file is deprecated (a secret in a plain file): \
             use METACLAW_PROXY_API_KEY or `metaclaw key set proxy` and remove it from the file"
        );
    }
    let proxy_key = given.or_else(|| cfg.proxy.api_key.clone());
    if proxy_key.is_none() && !cfg.proxy.host.to_canonical().is_loopback() {
        tracing::warn!(host = %cfg.proxy.host, "no proxy key set: only loopback clients will be accepted");
    }
    proxy_key
}

/// The configured upstreams with their keys, and what `/api/status` shows of them (never a key).
fn resolve_upstreams(cfg: &Config, keys: &KeySet) -> (Routes, Vec<UpstreamInfo>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(upstream: Option<&str>) -> KeySet {
        let mut k = KeySet::default();
        k.upstreams.insert("default".into(), (upstream.map(str::to_string), SecretSource::Keyring));
        k
    }

    #[test]
    fn a_change_rebuilds_only_the_parts_that_depend_on_it() {
        let (cfg, k) = (Config::default(), keys(Some("a")));
        let all = Reuse::between(&cfg, &k, &cfg, &k);
        assert!(all.client && all.routes && all.library && all.learning && all.calendars && all.training);
        assert!(all.scheduler, "nothing changed: everything is kept");

        let mut proxy = cfg.clone();
        proxy.proxy.max_body_mib = 1;
        proxy.log.bodies = true;
        assert_eq!(Reuse::between(&cfg, &k, &proxy, &k), all, "proxy settings live in the proxy's state only");

        let mut judge = cfg.clone();
        judge.judge.model = Some("j".into());
        let r = Reuse::between(&cfg, &k, &judge, &k);
        assert!(r.routes && r.library && r.calendars && r.training);
        assert!(!r.learning && !r.scheduler, "the judge and the jobs that wait for it are rebuilt");

        let r = Reuse::between(&cfg, &k, &cfg, &keys(Some("b")));
        assert!(r.client && r.calendars, "a key keeps the HTTP client and the calendars");
        assert!(!r.routes && !r.library && !r.learning && !r.training && !r.scheduler);

        let mut skills = cfg.clone();
        skills.skills.placement = crate::skills::Placement::Late;
        let r = Reuse::between(&cfg, &k, &skills, &k);
        assert!(r.routes && r.calendars && r.training && !r.library && !r.learning);

        let mut zone = cfg.clone();
        zone.scheduler.timezone = Some("Asia/Tokyo".into());
        let r = Reuse::between(&cfg, &k, &zone, &k);
        assert!(r.routes && r.library && r.learning && r.training);
        assert!(!r.calendars && !r.scheduler, "calendars read in the scheduler's zone");
    }

    #[test]
    fn no_key_compares_equal_wherever_it_was_looked_for() {
        assert_eq!(unset_is_none((None, SecretSource::Env)), (None, SecretSource::None));
        assert_eq!(unset_is_none((Some("k".into()), SecretSource::Env)), (Some("k".into()), SecretSource::Env));
    }
}
