//! The `connect` resource: which agents are installed and wired to MetaClaw, the change
//! `connect` would make (a diff), connecting and disconnecting (`/api/connect/*`).

use serde::{Deserialize, Serialize};

pub use crate::connect::{AgentKind, Wiring};

/// `GET /api/connect`: every agent `connect` knows, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ConnectAgents {
    /// The port the agents are wired to (the engine's).
    pub port: u16,
    pub agents: Vec<ConnectAgent>,
}

/// One agent's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ConnectAgent {
    /// Its name: its route `/agents/<name>/v1` and what its turns are attributed to.
    pub agent: AgentKind,
    pub label: String,
    /// Its executable is on the engine's `PATH`, or its config folder exists.
    pub installed: bool,
    /// `connect` edits its config file (else `snippet` is pasted by hand).
    pub file_wired: bool,
    /// The config file `connect` edits.
    pub config: Option<String>,
    pub state: Wiring,
    /// Why the config does not parse (with state `broken`).
    pub problem: Option<String>,
    /// `disconnect` has a backup to restore.
    pub restorable: bool,
    /// When MetaClaw last recorded a turn from it (Unix ms); `null`: never.
    pub last_seen_ms: Option<i64>,
    /// Copyable setup (environment variables or config lines) with this engine's port.
    pub snippet: String,
}

/// The body of `POST /api/connect/{agent}` and `/preview` (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    /// `false`: the agent sends `X-MetaClaw-Inject: off` (recorded, no skills). Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub inject: Option<bool>,
    /// The model the agent asks for where its config names one (OpenClaw); default the
    /// `[upstream] model`, else "default".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub model: Option<String>,
}

/// `POST /api/connect/{agent}/preview` (nothing written) and `POST /api/connect/{agent}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ConnectPlan {
    pub agent: AgentKind,
    /// The config file.
    pub path: String,
    /// A unified diff of the change; empty when there is none.
    pub diff: String,
    /// The config already points at MetaClaw: nothing is (or was) written.
    pub already: bool,
    /// Whether this call wrote the file (always false for a preview).
    pub written: bool,
    /// What the user still has to do (e.g. restart OpenClaw's gateway).
    pub next: Vec<String>,
}

/// How `POST /api/connect/{agent}/disconnect` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DisconnectOutcome {
    /// The original bytes are back.
    Restored,
    /// There was no file before `connect`; it is gone again.
    Removed,
}

/// `POST /api/connect/{agent}/disconnect`. A file edited since `connect` is a 409 whose message
/// names the three-way result written beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DisconnectResult {
    pub agent: AgentKind,
    pub path: String,
    pub outcome: DisconnectOutcome,
}

#[cfg(test)]
pub(crate) fn typescript(f: &mut super::ts::File) {
    f.add::<ConnectAgents>();
    f.add::<ConnectAgent>();
    f.add::<AgentKind>();
    f.add::<Wiring>();
    f.add::<ConnectRequest>();
    f.add::<ConnectPlan>();
    f.add::<DisconnectOutcome>();
    f.add::<DisconnectResult>();
}
