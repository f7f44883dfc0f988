//! Configuration: `config.toml` in the MetaClaw home, with documented defaults.
//!
//! Unknown keys and bad values are rejected when the file is loaded, with a message that names the
//! key and the file. Secrets never live here: API keys come from the OS keyring or the environment
//! (see [`crate::secrets`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod calendar;
mod curator;
mod holdout;
mod learning;
mod proxy;
mod scheduler;
mod train;
mod upstream;
pub use calendar::{CalendarConfig, GoogleConfig, MicrosoftConfig};
pub use curator::CuratorConfig;
pub use holdout::HoldoutConfig;
pub use learning::{Approval, EvolveConfig, JudgeConfig, RunIn};
pub use proxy::ProxyConfig;
pub use scheduler::SchedulerConfig;
pub use train::{DistillConfig, Loss, TrainConfig, TINKER_BASE_URL};
pub use upstream::{Auth, NamedUpstream, Protocol, RoutingConfig, UpstreamConfig, SHORTHAND_UPSTREAM};

/// Everything a user can configure. Every field has a default, so an empty file is valid.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub proxy: ProxyConfig,
    /// The one-upstream shorthand; with `[[upstreams]]` it only provides default timeouts.
    pub upstream: UpstreamConfig,
    /// Several upstreams; the request's `model` picks one, in order, with fallbacks.
    pub upstreams: Vec<NamedUpstream>,
    pub routing: RoutingConfig,
    pub sessions: SessionsConfig,
    pub skills: SkillsConfig,
    pub judge: JudgeConfig,
    pub evolve: EvolveConfig,
    /// When learning work may run; `[omls]` (its old name, after the paper) still loads.
    #[serde(alias = "omls")]
    pub scheduler: SchedulerConfig,
    /// What counts as busy, and Google and Microsoft sign-in.
    pub calendar: CalendarConfig,
    pub train: TrainConfig,
    /// The curator: archives unused skills, proposes disabling harmful ones and merging duplicates.
    pub curator: CuratorConfig,
    pub store: StoreConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct SessionsConfig {
    /// Without session headers, a conversation silent for this long starts a new session.
    pub idle_gap_minutes: u64,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self { idle_gap_minutes: 30 }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct SkillsConfig {
    /// Inject skills into `main` turns at all.
    pub enabled: bool,
    /// Load the built-in bank (the user's folder overrides built-ins of the same name).
    pub builtin: bool,
    /// At most this many skills per turn.
    pub top_k: usize,
    /// Minimum relevance (share of the request's weighted terms a skill covers, 0..1).
    pub min_score: f32,
    /// Token budget for the injected block; skills that don't fit are dropped, lowest score first.
    pub max_tokens: usize,
    /// `system` (append to the system message) or `late` (a system message before the latest
    /// user message, so the provider's prefix cache survives).
    pub placement: crate::skills::Placement,
    /// Also rank by meaning with this model of the upstream's `/v1/embeddings` (off when unset).
    pub embedding_model: Option<String>,
    /// Share of the semantic similarity in the combined score, 0..1.
    pub embedding_weight: f32,
    /// Longest a turn waits for its request's embedding before using the lexical score alone.
    pub embedding_timeout_ms: u64,
    /// `[skills.holdout]`: new and edited skills withheld from some matching turns, to compare.
    pub holdout: HoldoutConfig,
}

impl Default for SkillsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            builtin: true,
            top_k: 3,
            min_score: 0.17,
            max_tokens: 1500,
            placement: Default::default(),
            embedding_model: None,
            embedding_weight: 0.5,
            embedding_timeout_ms: 800,
            holdout: HoldoutConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Turns older than this many days are deleted; `0` keeps everything.
    pub retention_days: u32,
    /// Upper bound, in milliseconds, on how long a finished turn waits before it is committed.
    pub flush_interval_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { retention_days: 90, flush_interval_ms: 100 }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug` or `trace`; `METACLAW_LOG` overrides it.
    pub level: String,
    /// Log request and response bodies at debug level. Off by default: bodies are private.
    pub bodies: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: "info".into(), bodies: false }
    }
}

/// Why a configuration could not be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: invalid value for `{key}`: {reason}")]
    Invalid { path: PathBuf, key: &'static str, reason: String },
}

impl Config {
    /// Loads `path`; a missing file means all defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(ConfigError::Read { path: path.into(), source }),
        };
        Self::parse(&text, path)
    }

    /// Parses and validates TOML text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string().trim_end().replace('\n', "\n  "),
        })?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key, reason: String| ConfigError::Invalid { path: path.into(), key, reason };
        let check_url = |key: &'static str, url: &str| match reqwest::Url::parse(url) {
            Ok(u) if !u.username().is_empty() || u.password().is_some() => Err(invalid(
                key,
                "must not contain a user name or password (user:password@); store the key with \
                 `metaclaw key set upstream` or in the environment instead"
                    .into(),
            )),
            // Paths are joined onto the base, so a query or fragment would end up in the middle of
            // every URL; and a key passed that way would show in errors, logs and the status page.
            // The message names neither.
            Ok(u) if u.query().is_some() || u.fragment().is_some() => Err(invalid(
                key,
                "must not contain a query (?…) or fragment (#…); store a key with `metaclaw key set upstream` \
                 or in the environment instead"
                    .into(),
            )),
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
            Ok(_) => Err(invalid(key, format!("{url:?} must be an http:// or https:// URL"))),
            Err(e) => Err(invalid(key, format!("{url:?} is not a URL ({e})"))),
        };
        check_url("upstream.base_url", &self.upstream.base_url)?;
        let mut names = std::collections::HashSet::new();
        for u in &self.upstreams {
            let ok = !u.name.is_empty()
                && u.name.len() <= 32
                && u.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
            if !ok {
                return Err(invalid(
                    "upstreams.name",
                    format!("{:?} must be 1-32 lowercase letters, digits, - or _", u.name),
                ));
            }
            if !names.insert(u.name.clone()) {
                return Err(invalid("upstreams.name", format!("{:?} is used twice", u.name)));
            }
            check_url("upstreams.base_url", &u.base_url).map_err(|e| match e {
                ConfigError::Invalid { path, key, reason } => {
                    ConfigError::Invalid { path, key, reason: format!("{} ({reason})", u.name) }
                }
                other => other,
            })?;
        }
        if self.upstreams.iter().filter(|u| u.default).count() > 1 {
            return Err(invalid("upstreams.default", "at most one upstream can be the default".into()));
        }
        if self.routing.max_attempts == 0 || self.routing.max_attempts > 10 {
            return Err(invalid("routing.max_attempts", format!("{} is outside 1..=10", self.routing.max_attempts)));
        }
        if matches!(&self.upstream.model, Some(m) if m.trim().is_empty()) {
            return Err(invalid(
                "upstream.model",
                "must not be empty; remove the key to keep the client's model".into(),
            ));
        }
        if self.upstream.timeout_secs == 0 {
            return Err(invalid("upstream.timeout_secs", "must be at least 1".into()));
        }
        if self.upstream.connect_timeout_secs == 0 {
            return Err(invalid("upstream.connect_timeout_secs", "must be at least 1".into()));
        }
        if self.upstream.stream_idle_timeout_secs == 0 {
            return Err(invalid("upstream.stream_idle_timeout_secs", "must be at least 1".into()));
        }
        if let Some((key, problem)) = self.proxy.problem() {
            return Err(invalid(key, problem));
        }
        if self.sessions.idle_gap_minutes == 0 {
            return Err(invalid("sessions.idle_gap_minutes", "must be at least 1".into()));
        }
        if !(1..=10_000).contains(&self.store.flush_interval_ms) {
            return Err(invalid(
                "store.flush_interval_ms",
                format!("{} is outside 1..=10000", self.store.flush_interval_ms),
            ));
        }
        if !(1..=20).contains(&self.skills.top_k) {
            return Err(invalid("skills.top_k", format!("{} is outside 1..=20", self.skills.top_k)));
        }
        if !(0.0..1.0).contains(&self.skills.min_score) {
            return Err(invalid("skills.min_score", format!("{} is outside 0..1", self.skills.min_score)));
        }
        if let Some((key, problem)) = self.skills.holdout.problem() {
            return Err(invalid(key, problem));
        }
        if let Some((key, problem)) = self.curator.problem() {
            return Err(invalid(key, problem));
        }
        if !(0.0..=1.0).contains(&self.skills.embedding_weight) {
            return Err(invalid(
                "skills.embedding_weight",
                format!("{} is outside 0..=1", self.skills.embedding_weight),
            ));
        }
        if matches!(&self.skills.embedding_model, Some(m) if m.trim().is_empty()) {
            return Err(invalid(
                "skills.embedding_model",
                "must not be empty; remove the key to turn semantic retrieval off".into(),
            ));
        }
        if let Some((key, problem)) = learning::problem(&self.judge, &self.evolve, &self.upstream_names()) {
            return Err(invalid(key, problem));
        }
        if let Some((key, problem)) = self.scheduler.problem() {
            return Err(invalid(key, problem));
        }
        self.calendar.check().map_err(|(k, r)| invalid(k, r))?;
        self.train.check().map_err(|(k, r)| invalid(k, r))?;
        if let Some(d) = &self.train.distill {
            check_url("train.distill.teacher_url", &d.teacher_url)?;
        }
        check_url("train.base_url", &self.train.base_url)?;
        if let Some(u) = &self.train.serve_url {
            check_url("train.serve_url", u)?;
        }
        if self.skills.max_tokens < 50 {
            return Err(invalid("skills.max_tokens", "must be at least 50".into()));
        }
        if !matches!(self.log.level.as_str(), "error" | "warn" | "info" | "debug" | "trace") {
            return Err(invalid(
                "log.level",
                format!("{:?} is not one of error, warn, info, debug, trace", self.log.level),
            ));
        }
        Ok(())
    }

    /// The names of the configured upstreams (`default` for the `[upstream]` shorthand).
    pub fn upstream_names(&self) -> Vec<String> {
        if self.upstreams.is_empty() {
            return vec![SHORTHAND_UPSTREAM.into()];
        }
        self.upstreams.iter().map(|u| u.name.clone()).collect()
    }

    /// The effective configuration as TOML, for `metaclaw config show`.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config always serialises")
    }
}

/// The commented file written on first start, so users can see every option in one place.
pub const DEFAULT_FILE: &str = include_str!("default.toml");

#[cfg(test)]
mod tests;
