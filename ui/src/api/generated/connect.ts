// Generated from the Rust types in src/api/types/ by ts-rs: do not edit by hand.
// Regenerate with: METACLAW_WRITE_TS=1 cargo test --lib api::types

/**
 * `GET /api/connect`: every agent `connect` knows, in a fixed order.
 */
export type ConnectAgents = {
  /**
   * The port the agents are wired to (the engine's).
   */
  port: number,
  agents: Array<ConnectAgent>,
};

/**
 * One agent's state.
 */
export type ConnectAgent = {
  /**
   * Its name: its route `/agents/<name>/v1` and what its turns are attributed to.
   */
  agent: AgentKind,
  label: string,
  /**
   * Its executable is on the engine's `PATH`, or its config folder exists.
   */
  installed: boolean,
  /**
   * `connect` edits its config file (else `snippet` is pasted by hand).
   */
  file_wired: boolean,
  /**
   * The config file `connect` edits.
   */
  config: string | null,
  state: Wiring,
  /**
   * Why the config does not parse (with state `broken`).
   */
  problem: string | null,
  /**
   * `disconnect` has a backup to restore.
   */
  restorable: boolean,
  /**
   * When MetaClaw last recorded a turn from it (Unix ms); `null`: never.
   */
  last_seen_ms: number | null,
  /**
   * Copyable setup (environment variables or config lines) with this engine's port.
   */
  snippet: string,
};

/**
 * The agents `connect` knows.
 */
export type AgentKind = "openclaw" | "claude-code" | "codex" | "hermes" | "nanoclaw" | "sdk";

/**
 * Per-agent wiring state for `doctor` and `connect --status`.
 */
export type Wiring = "wired" | "not_wired" | "broken" | "manual";

/**
 * The body of `POST /api/connect/{agent}` and `/preview` (all optional).
 */
export type ConnectRequest = {
  /**
   * `false`: the agent sends `X-MetaClaw-Inject: off` (recorded, no skills). Default true.
   */
  inject?: boolean,
  /**
   * The model the agent asks for where its config names one (OpenClaw); default the
   * `[upstream] model`, else "default".
   */
  model?: string,
};

/**
 * `POST /api/connect/{agent}/preview` (nothing written) and `POST /api/connect/{agent}`.
 */
export type ConnectPlan = {
  agent: AgentKind,
  /**
   * The config file.
   */
  path: string,
  /**
   * A unified diff of the change; empty when there is none.
   */
  diff: string,
  /**
   * The config already points at MetaClaw: nothing is (or was) written.
   */
  already: boolean,
  /**
   * Whether this call wrote the file (always false for a preview).
   */
  written: boolean,
  /**
   * What the user still has to do (e.g. restart OpenClaw's gateway).
   */
  next: Array<string>,
};

/**
 * How `POST /api/connect/{agent}/disconnect` ended.
 */
export type DisconnectOutcome = "restored" | "removed";

/**
 * `POST /api/connect/{agent}/disconnect`. A file edited since `connect` is a 409 whose message
 * names the three-way result written beside it.
 */
export type DisconnectResult = { agent: AgentKind, path: string, outcome: DisconnectOutcome };
