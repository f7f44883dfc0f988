//! `metaclaw connect`: wires an installed agent to MetaClaw by editing its own config file (a
//! diff shown first, a timestamped backup kept, an atomic write), says per agent whether it is
//! wired, and undoes it byte for byte.
//!
//! File-wired agents: Codex CLI (`config.toml`), Claude Code (`settings.json`), OpenClaw
//! (`openclaw.json`). Hermes Agent, NanoClaw and SDK apps get copyable snippets. Each agent's
//! base URL is its own route, `http://127.0.0.1:<port>/agents/<name>/v1`, so every turn is
//! attributed to it; the key the agent sends is a placeholder (MetaClaw holds the real one).
//! Nothing here needs a running engine.

pub mod backup;
mod claude_code;
mod codex;
pub mod diff;
mod openclaw;
mod snippets;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::home::{Home, HomeError};

pub use backup::Restored;

/// Largest agent config file read (a config is a few KiB; this guards the diff's memory).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The header (understood by the proxy) with which a wired agent turns skill injection off.
pub const INJECT_HEADER: &str = "X-MetaClaw-Inject";

/// The placeholder key a wired agent sends (MetaClaw ignores it and never forwards it).
pub const PLACEHOLDER_KEY: &str = "metaclaw";

/// The agents `connect` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum AgentKind {
    Openclaw,
    ClaudeCode,
    Codex,
    Hermes,
    Nanoclaw,
    Sdk,
}

impl AgentKind {
    pub const ALL: [AgentKind; 6] = [
        AgentKind::Openclaw,
        AgentKind::ClaudeCode,
        AgentKind::Codex,
        AgentKind::Hermes,
        AgentKind::Nanoclaw,
        AgentKind::Sdk,
    ];

    /// The agent's name: its route (`/agents/<name>/v1`) and the name turns are attributed to.
    pub fn name(self) -> &'static str {
        match self {
            AgentKind::Openclaw => "openclaw",
            AgentKind::ClaudeCode => "claude-code",
            AgentKind::Codex => "codex",
            AgentKind::Hermes => "hermes",
            AgentKind::Nanoclaw => "nanoclaw",
            AgentKind::Sdk => "sdk",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AgentKind::Openclaw => "OpenClaw",
            AgentKind::ClaudeCode => "Claude Code",
            AgentKind::Codex => "Codex CLI",
            AgentKind::Hermes => "Hermes Agent",
            AgentKind::Nanoclaw => "NanoClaw",
            AgentKind::Sdk => "OpenAI / Anthropic SDK apps",
        }
    }

    /// From a name as typed (`claude`, `claude-code`, `Codex`…).
    pub fn parse(s: &str) -> Option<AgentKind> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        Some(match s.as_str() {
            "openclaw" => AgentKind::Openclaw,
            "claude-code" | "claude" | "claudecode" => AgentKind::ClaudeCode,
            "codex" | "codex-cli" => AgentKind::Codex,
            "hermes" | "hermes-agent" => AgentKind::Hermes,
            "nanoclaw" => AgentKind::Nanoclaw,
            "sdk" | "openai" | "anthropic" => AgentKind::Sdk,
            _ => return None,
        })
    }

    /// Whether `connect` edits this agent's config file (else it prints a snippet).
    pub fn file_wired(self) -> bool {
        matches!(self, AgentKind::Openclaw | AgentKind::ClaudeCode | AgentKind::Codex)
    }

    /// The executable that shows the agent is installed, if it has one.
    fn binary(self) -> Option<&'static str> {
        match self {
            AgentKind::Openclaw => Some("openclaw"),
            AgentKind::ClaudeCode => Some("claude"),
            AgentKind::Codex => Some("codex"),
            AgentKind::Hermes => Some("hermes"),
            AgentKind::Nanoclaw | AgentKind::Sdk => None,
        }
    }
}

impl std::fmt::Display for AgentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Errors of connect and disconnect, each in words a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unknown agent {0:?}; one of: openclaw, claude-code, codex, hermes, nanoclaw, sdk")]
    UnknownAgent(String),
    #[error(
        "{agent} has no config file MetaClaw edits; paste the snippet `metaclaw connect {agent} --dry-run` prints"
    )]
    SnippetOnly { agent: AgentKind },
    #[error("cannot find your home directory (set HOME)")]
    NoHome,
    #[error("{path} does not parse ({reason}); fix it first, MetaClaw does not change a file it cannot read")]
    Unparsable { path: PathBuf, reason: String },
    #[error("{path} is larger than {limit} bytes; that is not an agent config")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{path} changed while connect was running; run it again")]
    Changed { path: PathBuf },
    #[error("{agent} was not connected by MetaClaw (no backup to restore)")]
    NotConnected { agent: String },
    #[error("the backup {path} is missing; the original cannot be restored")]
    BackupMissing { path: PathBuf },
    #[error(
        "{path} was edited after `metaclaw connect`, so disconnect left it as it is. {proposal} holds \
         the original with your later edits applied{}; check it and move it over the file yourself",
        if *conflicts > 0 { format!(" ({conflicts} conflicting change(s) between <<<<<<< and >>>>>>> markers)") } else { String::new() }
    )]
    EditedSince { path: PathBuf, proposal: PathBuf, conflicts: usize },
    #[error("connect's record {path} is unreadable: {reason}")]
    Record { path: PathBuf, reason: String },
    #[error("{action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Home(#[from] HomeError),
}

/// The environment agents find their config with: `HOME`, `PATH` and the agents' own overrides
/// (`CODEX_HOME`, `CLAUDE_CONFIG_DIR`, `OPENCLAW_CONFIG_PATH`, `OPENCLAW_STATE_DIR`,
/// `HERMES_HOME`). Tests build one by hand.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, OsString>,
}

const ENV_KEYS: [&str; 7] =
    ["HOME", "PATH", "CODEX_HOME", "CLAUDE_CONFIG_DIR", "OPENCLAW_CONFIG_PATH", "OPENCLAW_STATE_DIR", "HERMES_HOME"];

impl Env {
    /// This process's environment (`HOME` falls back to the OS's idea of it).
    pub fn from_process() -> Env {
        let mut env = Env::default();
        for k in ENV_KEYS {
            if let Some(v) = std::env::var_os(k) {
                env.vars.insert(k.to_string(), v);
            }
        }
        if env.get("HOME").is_none() {
            if let Some(h) = dirs::home_dir() {
                env.vars.insert("HOME".into(), h.into_os_string());
            }
        }
        env
    }

    pub fn with(mut self, key: &str, value: impl Into<OsString>) -> Env {
        self.vars.insert(key.to_string(), value.into());
        self
    }

    /// A variable's value as a path, when set and not empty.
    fn get(&self, key: &str) -> Option<PathBuf> {
        self.vars.get(key).filter(|v| !v.is_empty()).map(PathBuf::from)
    }

    fn home(&self) -> Result<PathBuf, ConnectError> {
        self.get("HOME").ok_or(ConnectError::NoHome)
    }

    /// The first executable `name` on `PATH`.
    fn which(&self, name: &str) -> Option<PathBuf> {
        let path = self.vars.get("PATH")?;
        std::env::split_paths(path).map(|d| d.join(name)).find(|p| is_executable(p))
    }
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// Where the agent should send its requests, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// MetaClaw's proxy port on 127.0.0.1.
    pub port: u16,
    /// The model the agent asks for (OpenClaw needs one named; MetaClaw's upstream model).
    pub model: String,
    /// `false`: the agent sends `X-MetaClaw-Inject: off`.
    pub inject: bool,
}

impl Target {
    /// `http://127.0.0.1:<port>/agents/<name>`: the base Anthropic clients add `/v1/messages` to.
    pub fn agent_base(&self, agent: AgentKind) -> String {
        format!("http://127.0.0.1:{}/agents/{}", self.port, agent.name())
    }
    /// `http://127.0.0.1:<port>/agents/<name>/v1`: the OpenAI-style base URL.
    pub fn openai_base(&self, agent: AgentKind) -> String {
        format!("{}/v1", self.agent_base(agent))
    }
}

/// Whether `url` is MetaClaw's proxy on this machine at `port` (any path under it).
pub fn is_metaclaw_url(url: &str, port: u16) -> bool {
    let url = url.trim();
    ["http://127.0.0.1", "http://localhost", "http://[::1]"].iter().any(|host| {
        url.strip_prefix(host)
            .and_then(|r| r.strip_prefix(&format!(":{port}")))
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
    })
}

/// What `connect` would do to one agent.
#[derive(Debug, Clone)]
pub struct Plan {
    pub agent: AgentKind,
    /// The config file (symlinks resolved).
    pub path: PathBuf,
    /// Its bytes now; `None` when it does not exist yet.
    pub before: Option<Vec<u8>>,
    /// Its bytes once connected (equal to `before` when it already points at MetaClaw).
    pub after: Vec<u8>,
    /// A unified diff of the change (empty when there is none).
    pub diff: String,
    /// The config already points at MetaClaw: `connect` leaves it alone.
    pub already: bool,
    /// What the user still has to do (e.g. restart a running gateway).
    pub next: Vec<String>,
}

/// Per-agent wiring state for `doctor` and `connect --status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Wiring {
    /// The config points at this MetaClaw.
    Wired,
    /// The config exists (or not) and does not point at MetaClaw.
    NotWired,
    /// The config does not parse.
    Broken,
    /// Wired by a snippet the user pastes; MetaClaw cannot tell.
    Manual,
}

/// One agent's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentState {
    pub agent: AgentKind,
    pub installed: bool,
    /// The config file `connect` edits (for file-wired agents).
    pub config: Option<PathBuf>,
    pub wiring: Wiring,
    /// Why the config does not parse (with [`Wiring::Broken`]).
    pub problem: Option<String>,
    /// `disconnect` can restore a backup.
    pub restorable: bool,
}

/// The config file of a file-wired agent under `env`.
pub fn config_path(agent: AgentKind, env: &Env) -> Result<Option<PathBuf>, ConnectError> {
    Ok(match agent {
        AgentKind::Codex => Some(codex::config_path(env)?),
        AgentKind::ClaudeCode => Some(claude_code::config_path(env)?),
        AgentKind::Openclaw => Some(openclaw::config_path(env)?),
        _ => None,
    })
}

/// Whether the agent looks installed: its executable on `PATH`, or its config folder exists.
pub fn installed(agent: AgentKind, env: &Env) -> bool {
    if agent.binary().and_then(|b| env.which(b)).is_some() {
        return true;
    }
    match agent {
        AgentKind::Sdk => true,
        AgentKind::Hermes => snippets::hermes_home(env).is_some_and(|d| d.is_dir()),
        _ => config_path(agent, env).ok().flatten().and_then(|p| p.parent().map(Path::is_dir)).unwrap_or(false),
    }
}

fn resolve(path: PathBuf) -> PathBuf {
    std::fs::canonicalize(&path).unwrap_or(path)
}

/// The connected form of a config (`None`: no file yet), or why it cannot be made.
fn wire(agent: AgentKind, before: Option<&[u8]>, t: &Target) -> Result<Vec<u8>, String> {
    match agent {
        AgentKind::Codex => codex::wire(before, t),
        AgentKind::ClaudeCode => claude_code::wire(before, t),
        AgentKind::Openclaw => openclaw::wire(before, t),
        _ => Err("no config file to wire".into()),
    }
}

/// Whether the config's bytes parse, and if so whether they point at MetaClaw on `port`.
fn inspect(agent: AgentKind, bytes: &[u8], port: u16) -> Result<bool, String> {
    match agent {
        AgentKind::Codex => codex::points_at(bytes, port),
        AgentKind::ClaudeCode => claude_code::points_at(bytes, port),
        AgentKind::Openclaw => openclaw::points_at(bytes, port),
        _ => Ok(false),
    }
}

/// What `connect` would change, without changing anything.
pub fn plan(agent: AgentKind, env: &Env, t: &Target) -> Result<Plan, ConnectError> {
    let Some(path) = config_path(agent, env)? else {
        return Err(ConnectError::SnippetOnly { agent });
    };
    let path = resolve(path);
    let before = backup::read_limited(&path)?;
    let already = match &before {
        Some(b) => {
            inspect(agent, b, t.port).map_err(|reason| ConnectError::Unparsable { path: path.clone(), reason })?
        }
        None => false,
    };
    let after = if already {
        before.clone().unwrap_or_default()
    } else {
        wire(agent, before.as_deref(), t).map_err(|reason| ConnectError::Unparsable { path: path.clone(), reason })?
    };
    let diff = diff::unified(&path.display().to_string(), before.as_deref().unwrap_or_default(), &after);
    let mut next = Vec::new();
    if agent == AgentKind::Openclaw && !already {
        next.push(openclaw::RESTART_NOTE.to_string());
    }
    Ok(Plan { agent, path, before, after, diff, already, next })
}

/// Carries out a plan: backup, then atomic write. A config that already points at MetaClaw is
/// left untouched; one that changed since the plan was made is refused.
pub fn apply(home: &Home, plan: &Plan) -> Result<(), ConnectError> {
    if plan.already {
        return Ok(());
    }
    let now = backup::read_limited(&plan.path)?;
    if now != plan.before {
        return Err(ConnectError::Changed { path: plan.path.clone() });
    }
    backup::write_with_backup(home, plan.agent.name(), &plan.path, plan.before.as_deref(), &plan.after)?;
    Ok(())
}

/// Restores the agent's config as it was before `connect` (see [`backup::restore`]).
pub fn disconnect(home: &Home, agent: AgentKind) -> Result<Restored, ConnectError> {
    backup::restore(home, agent.name())
}

/// The state of one agent.
pub fn state(home: &Home, env: &Env, agent: AgentKind, port: u16) -> AgentState {
    let installed = installed(agent, env);
    let restorable = backup::load(home, agent.name()).ok().flatten().is_some();
    let mut st = AgentState { agent, installed, config: None, wiring: Wiring::Manual, problem: None, restorable };
    let path = match config_path(agent, env) {
        Ok(Some(p)) => resolve(p),
        Ok(None) => return st,
        Err(e) => {
            st.wiring = Wiring::Broken;
            st.problem = Some(e.to_string());
            return st;
        }
    };
    st.wiring = match backup::read_limited(&path) {
        Ok(None) => Wiring::NotWired,
        Ok(Some(b)) => match inspect(agent, &b, port) {
            Ok(true) => Wiring::Wired,
            Ok(false) => Wiring::NotWired,
            Err(reason) => {
                st.problem = Some(reason);
                Wiring::Broken
            }
        },
        Err(e) => {
            st.problem = Some(e.to_string());
            Wiring::Broken
        }
    };
    st.config = Some(path);
    st
}

/// MetaClaw's proxy port for `home`: the running engine's (from its runtime file), else the
/// configured one. Connect works with the engine stopped; a configured port of 0 (a free port
/// each start) cannot be wired and is an error.
pub fn proxy_port(home: &Home) -> Result<u16, PortError> {
    #[derive(Deserialize)]
    struct Runtime {
        address: String,
    }
    if let Some(port) = std::fs::read_to_string(home.runtime_path())
        .ok()
        .and_then(|t| serde_json::from_str::<Runtime>(&t).ok())
        .and_then(|r| r.address.rsplit_once(':').and_then(|(_, p)| p.trim_end_matches('/').parse::<u16>().ok()))
    {
        return Ok(port);
    }
    let cfg = crate::config::Config::load(&home.config_path())?;
    match cfg.proxy.port {
        0 => Err(PortError::Zero),
        p => Ok(p),
    }
}

/// Why MetaClaw's port is not known.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("[proxy] port is 0 (a free port each start): set a fixed port before connecting agents, or start `metaclaw serve` first")]
    Zero,
}

/// Copyable setup for agents `connect` does not edit (and for any agent, as documentation).
pub fn snippet(agent: AgentKind, t: &Target) -> String {
    snippets::snippet(agent, t)
}

#[cfg(test)]
mod tests;
