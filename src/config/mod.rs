//! Configuration: `config.toml` in the MetaClaw home, with documented defaults.
//!
//! Unknown keys and bad values are rejected when the file is loaded, with a message that names the
//! key and the file. Secrets never live here: API keys come from the OS keyring or the environment
//! (see [`crate::secrets`]).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod calendar;
mod curator;
mod holdout;
mod train;
mod upstream;
pub use calendar::{CalendarConfig, GoogleConfig, MicrosoftConfig};
pub use curator::CuratorConfig;
pub use holdout::HoldoutConfig;
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
pub struct ProxyConfig {
    /// Address to listen on. Keep the loopback default unless you set `api_key`.
    pub host: IpAddr,
    /// Port for the proxy, the admin API and the web UI. `0` picks a free port.
    pub port: u16,
    /// Deprecated: a key in the config file is a secret in a plain file. Kept so old files still
    /// work (with a warning at start); use `METACLAW_PROXY_API_KEY` or `metaclaw key set proxy`.
    /// When no key is set, only loopback clients are accepted.
    pub api_key: Option<String>,
    /// Largest request body accepted, in MiB; larger ones get 413.
    pub max_body_mib: u32,
    /// Longest wait for a request's headers (also how long an idle keep-alive socket stays open).
    pub header_timeout_secs: u64,
    /// Longest wait for a whole request body once its headers arrived; then 408.
    pub body_timeout_secs: u64,
    /// Connections served at once; more wait until one closes.
    pub max_connections: u32,
    /// At shutdown, longest wait for answers still streaming; then they are recorded as cut off.
    pub drain_timeout_secs: u64,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 30000,
            api_key: None,
            max_body_mib: 32,
            header_timeout_secs: 10,
            body_timeout_secs: 60,
            max_connections: 1024,
            drain_timeout_secs: 30,
        }
    }
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

/// The judge (process reward model) that scores `main` turns in the background.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct JudgeConfig {
    /// The judge's model; no model, no judging.
    pub model: Option<String>,
    /// The upstream that runs the judge (a `[[upstreams]]` name); default: the turn's own.
    pub upstream: Option<String>,
    /// Calls per turn; the majority wins, a tie is 0.
    pub votes: u32,
    pub temperature: f32,
    /// Wait this long for the user's next message (strong evidence) before judging without it.
    pub wait_for_next_secs: u64,
    /// Judge calls in flight at once.
    pub concurrency: usize,
    /// Seconds before a judge call is given up (then retried later).
    pub timeout_secs: u64,
    /// Tokens per judge answer: a sentence or two and a score (local upstreams are slow).
    pub max_tokens: u32,
    /// A judgement without a valid vote is retried after this many seconds, doubling each time.
    pub retry_secs: u64,
    /// When judging runs: as soon as a turn is due, or only in the scheduler's windows (a judge
    /// on a shared local server competes with the user).
    pub run_in: RunIn,
}

impl Default for JudgeConfig {
    fn default() -> Self {
        Self {
            model: None,
            upstream: None,
            votes: 3,
            temperature: 0.6,
            wait_for_next_secs: 300,
            concurrency: 2,
            timeout_secs: 60,
            max_tokens: 160,
            retry_secs: 10,
            run_in: RunIn::Now,
        }
    }
}

/// Who approves the evolver's candidates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    /// The user approves or rejects every candidate.
    #[default]
    Manual,
    /// Candidates whose verification replay improves on the failed answer apply at once.
    Verified,
    /// Every valid candidate applies at once.
    Auto,
}

/// The evolver: turns failures into proposed skills.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct EvolveConfig {
    /// The evolver's model; no model, no evolution.
    pub model: Option<String>,
    /// The upstream that runs it (a `[[upstreams]]` name); default: the default upstream.
    pub upstream: Option<String>,
    pub approval: Approval,
    /// Evolve as soon as a session has this many failed turns (sessions that end evolve too).
    pub failures_to_trigger: u32,
    /// Evolver, replay and comparison calls per hour, at most.
    pub max_calls_per_hour: u32,
    /// Candidates per evolution, at most.
    pub max_candidates: usize,
    /// A new skill this similar (0..1) to an existing one becomes an edit of it.
    pub similarity_threshold: f32,
    /// When evolution runs: as soon as it is triggered, or in the scheduler's windows.
    pub run_in: RunIn,
    /// Seconds before an evolver call is given up (local models write slowly).
    pub timeout_secs: u64,
    /// Tokens per evolver answer.
    pub max_tokens: u32,
    /// Existing skills shown to the evolver: the ones closest to the failures, at most this many.
    pub prompt_skills: usize,
    /// Earlier turns a candidate would have matched, replayed with it beside its failed turns
    /// before it is promoted (its validation set), at most this many.
    pub validation_turns: usize,
}

/// When deferrable learning work runs.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum RunIn {
    #[default]
    Now,
    /// Only while the user is away (an OMLS window).
    Idle,
}

impl Default for EvolveConfig {
    fn default() -> Self {
        Self {
            model: None,
            upstream: None,
            approval: Approval::Manual,
            failures_to_trigger: 2,
            max_calls_per_hour: 30,
            max_candidates: 3,
            similarity_threshold: 0.6,
            run_in: RunIn::Now,
            timeout_secs: 300,
            max_tokens: 1500,
            prompt_skills: 8,
            validation_turns: 4,
        }
    }
}

/// When learning work may run: while the user is asleep or away.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// IANA time zone (e.g. "Asia/Shanghai"); default: the system's.
    pub timezone: Option<String>,
    /// Sleep hours: `default`, and `mon` … `sun` overrides, each "HH:MM-HH:MM" or "off"; a
    /// weekday's window is the one that starts that day.
    pub sleep: std::collections::BTreeMap<String, String>,
    /// Idle this long (no proxied turn) counts as away.
    pub idle_minutes: u64,
    /// A window shorter than this is not worth starting work in.
    pub min_window_minutes: u64,
    /// Weeks of history the activity model learns from.
    pub activity_weeks: u32,
    /// How often calendar feeds are fetched again.
    pub calendar_refresh_minutes: u64,
    /// Database maintenance (retention, vacuum) runs in a window at most this often.
    pub maintenance_hours: u64,
    /// Read the OS idle timer (X11, GNOME, logind) besides the time since the last request.
    pub os_idle: bool,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            timezone: None,
            sleep: [("default".to_string(), "23:00-07:00".to_string())].into(),
            idle_minutes: 30,
            min_window_minutes: 15,
            activity_weeks: 4,
            calendar_refresh_minutes: 15,
            maintenance_hours: 24,
            os_idle: true,
        }
    }
}

impl SchedulerConfig {
    pub fn time_zone(&self) -> Result<jiff::tz::TimeZone, String> {
        match &self.timezone {
            Some(name) => jiff::tz::TimeZone::get(name).map_err(|e| format!("{name:?} is not a known time zone ({e})")),
            None => Ok(jiff::tz::TimeZone::system()),
        }
    }

    pub fn sleep_hours(&self) -> Result<crate::scheduler::SleepHours, String> {
        use crate::scheduler::{SleepHours, Window};
        let tz = self.time_zone()?;
        let default = match self.sleep.get("default") {
            Some(d) => Window::parse(d).map_err(|e| e.to_string())?,
            None => None,
        };
        let mut hours = SleepHours::every_day(default, tz);
        for (key, value) in &self.sleep {
            let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].iter().position(|d| d == key);
            match (key.as_str(), day) {
                ("default", _) => {}
                (_, Some(i)) => hours.days[i] = Window::parse(value).map_err(|e| e.to_string())?,
                _ => return Err(format!("{key:?} is not default, mon, tue, wed, thu, fri, sat or sun")),
            }
        }
        Ok(hours)
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
        if self.proxy.max_body_mib == 0 || self.proxy.max_body_mib > 1024 {
            return Err(invalid("proxy.max_body_mib", format!("{} is outside 1..=1024", self.proxy.max_body_mib)));
        }
        if !(1..=300).contains(&self.proxy.header_timeout_secs) {
            return Err(invalid(
                "proxy.header_timeout_secs",
                format!("{} is outside 1..=300", self.proxy.header_timeout_secs),
            ));
        }
        if !(1..=3600).contains(&self.proxy.body_timeout_secs) {
            return Err(invalid(
                "proxy.body_timeout_secs",
                format!("{} is outside 1..=3600", self.proxy.body_timeout_secs),
            ));
        }
        if !(1..=65536).contains(&self.proxy.max_connections) {
            return Err(invalid(
                "proxy.max_connections",
                format!("{} is outside 1..=65536", self.proxy.max_connections),
            ));
        }
        if let d @ 3601.. = self.proxy.drain_timeout_secs {
            return Err(invalid("proxy.drain_timeout_secs", format!("{d} is more than 3600")));
        }
        if matches!(&self.proxy.api_key, Some(k) if k.len() < 8) {
            return Err(invalid("proxy.api_key", "must be at least 8 characters".into()));
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
        if !(1..=9).contains(&self.judge.votes) {
            return Err(invalid("judge.votes", format!("{} is outside 1..=9", self.judge.votes)));
        }
        if self.judge.timeout_secs == 0 || self.evolve.timeout_secs == 0 {
            return Err(invalid("timeout_secs", "[judge] and [evolve] timeout_secs must be at least 1".into()));
        }
        if !(16..=8192).contains(&self.judge.max_tokens) {
            return Err(invalid("judge.max_tokens", format!("{} is outside 16..=8192", self.judge.max_tokens)));
        }
        if self.evolve.validation_turns > 50 {
            return Err(invalid(
                "evolve.validation_turns",
                format!("{} is more than 50", self.evolve.validation_turns),
            ));
        }
        if self.evolve.prompt_skills > 100 {
            return Err(invalid("evolve.prompt_skills", format!("{} is more than 100", self.evolve.prompt_skills)));
        }
        if !(64..=32768).contains(&self.evolve.max_tokens) {
            return Err(invalid("evolve.max_tokens", format!("{} is outside 64..=32768", self.evolve.max_tokens)));
        }
        if !(1..=16).contains(&self.judge.concurrency) {
            return Err(invalid("judge.concurrency", format!("{} is outside 1..=16", self.judge.concurrency)));
        }
        if let Some(u) = &self.judge.upstream {
            if !self.upstream_names().contains(u) {
                return Err(invalid("judge.upstream", format!("no upstream is named {u:?}")));
            }
        }
        if let Some(u) = &self.evolve.upstream {
            if !self.upstream_names().contains(u) {
                return Err(invalid("evolve.upstream", format!("no upstream is named {u:?}")));
            }
        }
        if self.evolve.failures_to_trigger == 0 {
            return Err(invalid("evolve.failures_to_trigger", "must be at least 1".into()));
        }
        if !(1..=10).contains(&self.evolve.max_candidates) {
            return Err(invalid("evolve.max_candidates", format!("{} is outside 1..=10", self.evolve.max_candidates)));
        }
        self.scheduler.sleep_hours().map_err(|e| invalid("scheduler", e))?;
        if self.scheduler.calendar_refresh_minutes == 0 {
            return Err(invalid("scheduler.calendar_refresh_minutes", "must be at least 1".into()));
        }
        if self.scheduler.idle_minutes == 0 {
            return Err(invalid("scheduler.idle_minutes", "must be at least 1".into()));
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

    /// The effective configuration as TOML, for `metaclaw config show`.
    /// The names of the configured upstreams (`default` for the `[upstream]` shorthand).
    pub fn upstream_names(&self) -> Vec<String> {
        if self.upstreams.is_empty() {
            return vec![SHORTHAND_UPSTREAM.into()];
        }
        self.upstreams.iter().map(|u| u.name.clone()).collect()
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config always serialises")
    }
}

/// The commented file written on first start, so users can see every option in one place.
pub const DEFAULT_FILE: &str = include_str!("default.toml");

#[cfg(test)]
mod tests;
