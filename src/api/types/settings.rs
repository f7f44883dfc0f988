//! The `settings` resource: the config file (read, validated write applied live), API keys
//! (stored in the vault; the UI learns only whether a key is set), and deleting the recorded data
//! (`/api/config`, `/api/config/apply`, `/api/keys`, `/api/data`).

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::secrets::SecretSource;

/// `GET /api/config`: the file's configuration (a key kept in it shows as redacted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "ConfigReply"))]
pub struct ConfigView {
    pub path: String,
    pub config: Config,
    /// Saved settings that wait for MetaClaw to restart (empty: everything saved is in force).
    pub restart: Vec<RestartReason>,
}

/// A saved setting that takes effect only when MetaClaw restarts: the address the listener is
/// bound to. Everything else applies as soon as it is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RestartReason {
    /// `proxy.host` or `proxy.port` (the desktop app restarts its engine by itself).
    ListenAddress,
}

/// A config section that a change put in force (`keys` when a key changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Section {
    Proxy,
    Upstream,
    Upstreams,
    Routing,
    Sessions,
    Skills,
    Judge,
    Evolve,
    Scheduler,
    Calendar,
    Train,
    Curator,
    Store,
    Log,
    Keys,
}

/// `PUT /api/config`: the whole configuration, validated like `metaclaw config check` before it
/// is written. (The engine reads the body as JSON first, so a wrong field is named in its answer.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ConfigWrite {
    pub config: Config,
}

/// The answer to `PUT /api/config` and `POST /api/config/apply`: what is now in force. (`PUT` and
/// `DELETE /api/keys/{name}` apply a changed key the same way and answer 204.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ConfigSaved {
    /// The sections that changed and apply from the next request on.
    pub applied: Vec<Section>,
    /// Saved settings that wait for a restart (empty: none).
    pub restart: Vec<RestartReason>,
}

/// One secret the engine uses, as the UI may see it (`GET /api/keys`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct KeyInfo {
    /// `proxy`, `tinker`, or `upstream.<name>`.
    pub name: String,
    pub label: String,
    pub set: bool,
    pub source: SecretSource,
    /// Where a headless server sets it instead.
    pub env_var: String,
    /// Where the key is kept, in plain words: "OS keyring", "file ~/.local/share/metaclaw/secrets.toml",
    /// "environment variable METACLAW_UPSTREAM_API_KEY", or "not set".
    #[serde(default)]
    pub location: String,
}

/// `PUT /api/keys/{name}`: the key, one line of 1 to 4096 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct KeyWrite {
    pub value: String,
}

/// `DELETE /api/data`: `confirm` must be [`crate::api::settings::DELETE_CONFIRMATION`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DeleteAll {
    pub confirm: String,
}

#[cfg(test)]
pub(crate) fn typescript(f: &mut super::ts::File) {
    use crate::config;
    f.add::<ConfigView>();
    f.add::<ConfigWrite>();
    f.add::<ConfigSaved>();
    f.add::<RestartReason>();
    f.add::<Section>();
    f.add::<KeyInfo>();
    f.add::<KeyWrite>();
    f.add::<DeleteAll>();
    f.add::<Config>();
    f.add::<config::ProxyConfig>();
    f.add::<config::UpstreamConfig>();
    f.add::<config::NamedUpstream>();
    f.add::<config::RoutingConfig>();
    f.add::<config::SessionsConfig>();
    f.add::<config::SkillsConfig>();
    f.add::<config::HoldoutConfig>();
    f.add::<crate::skills::Placement>();
    f.add::<config::JudgeConfig>();
    f.add::<config::EvolveConfig>();
    f.add::<config::RunIn>();
    f.add::<config::Approval>();
    f.add::<config::SchedulerConfig>();
    f.add::<config::CalendarConfig>();
    f.add::<config::GoogleConfig>();
    f.add::<config::MicrosoftConfig>();
    f.add::<config::TrainConfig>();
    f.add::<config::DistillConfig>();
    f.add::<config::Loss>();
    f.add::<config::CuratorConfig>();
    f.add::<config::StoreConfig>();
    f.add::<config::LogConfig>();
}
