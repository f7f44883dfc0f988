//! Settings applied live: [`Reloader::apply`] re-reads config.toml and the keys, builds a new
//! core (reusing each part whose inputs did not change) and swaps it in; requests in flight
//! finish on the core they started with. The listener's limits, the store's flush interval and the
//! log level are changed in place; only the listen address waits for a restart.

use std::path::PathBuf;
use std::sync::{Arc, Weak};

use super::core::{self, Core, KeySet, Lasting};
use super::EngineError;
use crate::api::types::settings::{RestartReason, Section};
use crate::config::{Config, ConfigError};

/// Why a change could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the change could not be applied, nothing was changed: {0}")]
    Engine(#[from] EngineError),
    #[error("could not write {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("MetaClaw is stopping; the change applies at the next start")]
    Stopped,
}

/// What a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The config sections (and `keys`) that changed and are now in force.
    pub changed: Vec<Section>,
    /// Changed settings that take effect only when MetaClaw restarts.
    pub restart: Vec<RestartReason>,
}

/// The engine's half that reloads: the long-lived parts and the core in force.
pub(super) struct Inner {
    pub lasting: Lasting,
    /// The core in force; the lock also serialises reloads.
    pub core: tokio::sync::Mutex<Option<Core>>,
    /// The settings waiting for a restart (the desktop shell restarts its engine on them).
    pub restart: tokio::sync::watch::Sender<Vec<RestartReason>>,
    /// The listener's limits, read for each connection it accepts.
    pub limits: Arc<crate::proxy::listen::Limits>,
}

/// Applies settings to the running engine (held by every core's admin API).
#[derive(Clone)]
pub struct Reloader {
    pub(super) inner: Weak<Inner>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reloader")
    }
}

impl Reloader {
    /// Re-reads config.toml (command-line overrides kept) and the keys, and applies them. With no
    /// config file, the configuration in force stays and only the keys are read again.
    pub async fn apply(&self) -> Result<Applied, ReloadError> {
        let inner = self.inner.upgrade().ok_or(ReloadError::Stopped)?;
        let path = inner.lasting.home.config_path();
        let exists = path.exists();
        let file = if exists {
            let p = path.clone();
            let loaded = tokio::task::spawn_blocking(move || Config::load(&p))
                .await
                .map_err(|e| ReloadError::Write { path: path.clone(), message: e.to_string() })?;
            Some(loaded?)
        } else {
            None
        };
        inner.apply(file, None).await
    }

    /// Applies `cfg` (already validated) and writes it to config.toml, only if it can be applied:
    /// a configuration the engine can't run (an unreadable time zone, a skill folder that can't be
    /// created) leaves both the file and the engine as they were.
    pub async fn save(&self, cfg: Config) -> Result<Applied, ReloadError> {
        let inner = self.inner.upgrade().ok_or(ReloadError::Stopped)?;
        let path = inner.lasting.home.config_path();
        let text = cfg.to_toml();
        inner.apply(Some(cfg), Some((path, text))).await
    }

    /// The settings of `cfg` (as read from config.toml) that would wait for a restart.
    pub fn waiting(&self, cfg: &Config) -> Vec<RestartReason> {
        let Some(inner) = self.inner.upgrade() else { return Vec::new() };
        let mut cfg = cfg.clone();
        if let Some(o) = &inner.lasting.overrides {
            o(&mut cfg);
        }
        restart(&inner.lasting.started, &cfg)
    }
}

impl Inner {
    async fn apply(&self, file: Option<Config>, write: Option<(PathBuf, String)>) -> Result<Applied, ReloadError> {
        let mut slot = self.core.lock().await;
        let old = slot.take().ok_or(ReloadError::Stopped)?;
        let cfg = match file {
            Some(mut cfg) => {
                if let Some(o) = &self.lasting.overrides {
                    o(&mut cfg);
                }
                cfg
            }
            None => old.cfg.clone(),
        };
        let keys = KeySet::resolve(&cfg, &self.lasting.host_keys).await;
        let prepared = match core::prepare(&self.lasting, Some(&old), cfg.clone(), keys.clone()).await {
            Ok(p) => p,
            Err(e) => {
                *slot = Some(old);
                return Err(e.into());
            }
        };
        if let Some((path, text)) = write {
            let p = path.clone();
            let written = tokio::task::spawn_blocking(move || crate::home::write_atomic(&p, text.as_bytes(), 0o600))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
            if let Err(message) = written {
                *slot = Some(old);
                return Err(ReloadError::Write { path, message });
            }
        }
        let applied = Applied {
            changed: changed(&old.cfg, &cfg, old.keys != keys),
            restart: restart(&self.lasting.started, &cfg),
        };
        let level_changed = old.cfg.log.level != cfg.log.level;
        let core = core::commit(&self.lasting, Some(old), prepared).await?;
        *slot = Some(core);
        drop(slot);
        self.apply_in_place(&cfg, level_changed);
        if !applied.changed.is_empty() {
            tracing::info!(changed = ?applied.changed, "settings applied");
        }
        if !applied.restart.is_empty() {
            tracing::warn!(
                waiting = ?applied.restart,
                "a saved listen address takes effect only when MetaClaw restarts"
            );
        }
        self.restart.send_replace(applied.restart.clone());
        Ok(applied)
    }

    /// Changes what the listener, the store and the log were set up with: the connection limits
    /// (for connections accepted from now on), the flush interval (from the writer's next batch)
    /// and the log level.
    fn apply_in_place(&self, cfg: &Config, level_changed: bool) {
        super::listen::set_limits(&self.limits, cfg);
        self.lasting.store.set_flush_interval(std::time::Duration::from_millis(cfg.store.flush_interval_ms));
        if level_changed {
            if let Err(e) = crate::log::set_level(&cfg.log.level) {
                tracing::warn!(error = %e, "the log level stays as it was");
            }
        }
    }
}

/// The sections of the configuration that differ, and `keys` when a key changed.
fn changed(old: &Config, new: &Config, keys: bool) -> Vec<Section> {
    let sections = [
        (Section::Proxy, old.proxy != new.proxy),
        (Section::Upstream, old.upstream != new.upstream),
        (Section::Upstreams, old.upstreams != new.upstreams),
        (Section::Routing, old.routing != new.routing),
        (Section::Sessions, old.sessions != new.sessions),
        (Section::Skills, old.skills != new.skills),
        (Section::Judge, old.judge != new.judge),
        (Section::Evolve, old.evolve != new.evolve),
        (Section::Scheduler, old.scheduler != new.scheduler),
        (Section::Calendar, old.calendar != new.calendar),
        (Section::Train, old.train != new.train),
        (Section::Curator, old.curator != new.curator),
        (Section::Store, old.store != new.store),
        (Section::Log, old.log != new.log),
        (Section::Keys, keys),
    ];
    sections.into_iter().filter(|(_, c)| *c).map(|(s, _)| s).collect()
}

/// The settings of `new` that differ from what the engine started with and can't change while
/// it runs.
pub(crate) fn restart(started: &Config, new: &Config) -> Vec<RestartReason> {
    let (s, n) = (started, new);
    let mut out = Vec::new();
    if s.proxy.host != n.proxy.host || s.proxy.port != n.proxy.port {
        out.push(RestartReason::ListenAddress);
    }
    out
}

/// Builds the engine's first core.
pub(super) async fn first(inner: &Arc<Inner>, cfg: Config, keys: KeySet) -> Result<(), EngineError> {
    let prepared = core::prepare(&inner.lasting, None, cfg, keys).await?;
    let core = core::commit(&inner.lasting, None, prepared).await?;
    *inner.core.lock().await = Some(core);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listen_address_waits_for_a_restart() {
        let started = Config::default();
        let mut cfg = started.clone();
        cfg.judge.model = Some("j".into());
        cfg.skills.max_tokens = 99;
        cfg.proxy.drain_timeout_secs = 5;
        cfg.log.bodies = true;
        cfg.proxy.max_connections = 7;
        cfg.proxy.header_timeout_secs += 1;
        cfg.store.flush_interval_ms += 1;
        cfg.log.level = "debug".into();
        assert_eq!(restart(&started, &cfg), Vec::<RestartReason>::new());
        cfg.proxy.port += 1;
        assert_eq!(restart(&started, &cfg), vec![RestartReason::ListenAddress]);
        assert_eq!(
            changed(&started, &cfg, true),
            vec![Section::Proxy, Section::Skills, Section::Judge, Section::Store, Section::Log, Section::Keys]
        );
    }
}
