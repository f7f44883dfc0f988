// The admin API's JSON shapes for configuration, keys and the host.
// Each mirrors the Rust item it names, field for field (serde names); tests/ui/api-types.test.mjs
// checks them against the engine's real responses. Times are ms since the epoch; Option<T> is T | null.

import type { Auth, Json, Kind, SecretSource } from "./core";

// ---------------------------------------------------------------------------------------------
// Configuration (crate::config), as `GET /api/config` returns it: the shape of config.toml

/** crate::config::ProxyConfig */
export interface ProxyConfig {
  /** IpAddr as a string */
  host: string;
  port: number;
  api_key: string | null;
  max_body_mib: number;
  /** Longest wait for a request's headers (also how long an idle keep-alive socket stays open); 1..=300. */
  header_timeout_secs: number;
  /** Longest wait for a whole request body once its headers arrived, then 408; 1..=3600. */
  body_timeout_secs: number;
  /** Connections served at once; more wait until one closes; 1..=65536. */
  max_connections: number;
  /** At shutdown, longest wait for answers still streaming (then recorded as cut off); at most 3600. */
  drain_timeout_secs: number;
}

/** crate::config::UpstreamConfig */
export interface UpstreamConfig {
  base_url: string;
  kind: Kind;
  auth: Auth;
  model: string | null;
  timeout_secs: number;
  connect_timeout_secs: number;
  stream_idle_timeout_secs: number;
}

/** crate::config::NamedUpstream */
export interface NamedUpstream {
  name: string;
  kind: Kind;
  base_url: string;
  models: string[];
  default: boolean;
  auth: Auth;
  model: string | null;
}

/** crate::config::RoutingConfig */
export interface RoutingConfig {
  max_attempts: number;
  backoff_ms: number;
  max_backoff_ms: number;
}

/** crate::config::SessionsConfig */
export interface SessionsConfig {
  idle_gap_minutes: number;
}

/** crate::skills::inject::Placement (rename_all = "lowercase") */
export type Placement = "system" | "late";

/** crate::config::SkillsConfig */
export interface SkillsConfig {
  enabled: boolean;
  builtin: boolean;
  top_k: number;
  min_score: number;
  max_tokens: number;
  placement: Placement;
  embedding_model: string | null;
  embedding_weight: number;
  embedding_timeout_ms: number;
}

/** crate::config::RunIn (rename_all = "lowercase"): at once, or only in the scheduler's windows */
export type RunIn = "now" | "idle";

/** crate::config::JudgeConfig */
export interface JudgeConfig {
  model: string | null;
  upstream: string | null;
  votes: number;
  temperature: number;
  wait_for_next_secs: number;
  concurrency: number;
  timeout_secs: number;
  /** tokens per judge answer */
  max_tokens: number;
  /** first retry of a turn without a valid vote, in seconds (doubling) */
  retry_secs: number;
  /** judge at once, or only in the scheduler's windows */
  run_in: RunIn;
}

/** crate::config::Approval (rename_all = "lowercase") */
export type Approval = "manual" | "verified" | "auto";

/** crate::config::EvolveConfig */
export interface EvolveConfig {
  model: string | null;
  upstream: string | null;
  approval: Approval;
  failures_to_trigger: number;
  max_calls_per_hour: number;
  max_candidates: number;
  similarity_threshold: number;
  /** evolve at once, or only in the scheduler's windows */
  run_in: RunIn;
  /** per evolver call */
  timeout_secs: number;
  /** tokens per evolver answer */
  max_tokens: number;
  /** existing skills shown to the evolver (the closest to the failures) */
  prompt_skills: number;
}

/** crate::config::SchedulerConfig */
export interface SchedulerConfig {
  timezone: string | null;
  /** `default` and `mon` … `sun`: "HH:MM-HH:MM" or "off" */
  sleep: Record<string, string>;
  idle_minutes: number;
  min_window_minutes: number;
  activity_weeks: number;
  calendar_refresh_minutes: number;
  maintenance_hours: number;
  /** read the OS idle timer (X11, GNOME, logind) besides request times */
  os_idle: boolean;
}

/** crate::config::Loss (rename_all = "snake_case"): the loss the training service computes */
export type TrainLoss = "importance_sampling" | "ppo" | "cispo";

/** crate::config::DistillConfig: on-policy distillation from a teacher with the same tokenizer */
export interface DistillConfig {
  /** An OpenAI-compatible `/v1` base URL with a `completions` endpoint (echo + logprobs). */
  teacher_url: string;
  teacher_model: string;
  /** Weight of the reverse-KL term per token. */
  coef: number;
}

/** crate::config::TrainConfig (`[train]`): a LoRA adapter trained on a Tinker-compatible service, and served */
export interface TrainConfig {
  enabled: boolean;
  /** The trainable base model, e.g. "Qwen/Qwen3-8B"; required when enabled. */
  base_model: string | null;
  /** The Tinker(-compatible) service. */
  base_url: string;
  /** Its OpenAI-compatible endpoint serving adapters; null: `<base_url>/oai/api/v1`. */
  serve_url: string | null;
  /** Client models the policy answers: `["*"]` for all, names or prefixes ending in `*`; empty: train, serve nothing. */
  serve_models: string[];
  lora_rank: number;
  learning_rate: number;
  loss: TrainLoss;
  /** A step waits until this many usable turns are ready… */
  min_batch: number;
  /** …and takes at most this many. */
  max_batch: number;
  max_steps_per_day: number;
  /** Estimated spend per day (tokens × usd_per_million_tokens), at most. */
  max_spend_per_day_usd: number;
  usd_per_million_tokens: number;
  /** A folder with tokenizer.json and tokenizer_config.json (a PathBuf); null: downloaded from hub_url. */
  tokenizer_dir: string | null;
  /** null: base_model */
  tokenizer_repo: string | null;
  hub_url: string;
  save_timeout_secs: number;
  save_attempts: number;
  distill: DistillConfig | null;
}

/** crate::config::StoreConfig */
export interface StoreConfig {
  retention_days: number;
  flush_interval_ms: number;
}

/** crate::config::LogConfig */
export interface LogConfig {
  level: string;
  bodies: boolean;
}

/** crate::config::Config */
export interface Config {
  proxy: ProxyConfig;
  upstream: UpstreamConfig;
  upstreams: NamedUpstream[];
  routing: RoutingConfig;
  sessions: SessionsConfig;
  skills: SkillsConfig;
  judge: JudgeConfig;
  evolve: EvolveConfig;
  scheduler: SchedulerConfig;
  store: StoreConfig;
  log: LogConfig;
  train: TrainConfig;
  /** Sections added by newer engines (e.g. calendars) are kept as they are. */
  [section: string]: Json | object;
}

/** crate::api::settings::ConfigView (`GET /api/config`) */
export interface ConfigReply {
  path: string;
  config: Config;
  /** The file differs from what the running engine started with. */
  restart_required?: boolean;
}

/** crate::api::settings::SaveConfig (`PUT /api/config` body) */
export interface ConfigWrite {
  config: Config;
}

/** `PUT /api/config` reply (json! in crate::api::settings::save) */
export interface ConfigSaved {
  restart_required: boolean;
}

// ---------------------------------------------------------------------------------------------
// Keys

/** crate::api::settings::KeyInfo (one entry of `GET /api/keys`) */
export interface KeyInfo {
  /** "upstream" | "upstream.<name>" | "proxy" … */
  name: string;
  label: string;
  set: boolean;
  source: SecretSource;
  /** The environment variable that overrides the keyring. */
  env_var?: string;
}

/** crate::api::settings::KeyValue (`PUT /api/keys/{name}` body) */
export interface KeyWrite {
  value: string;
}

// ---------------------------------------------------------------------------------------------
// The host (the desktop shell injects this before load; the browser has none)

export interface HostBridge {
  /** e.g. "http://127.0.0.1:30000"; default: the page's own origin */
  base?: string;
  token?: string;
  /** true inside the desktop app */
  desktop?: boolean;
  /** Autostart at login, provided by the desktop shell. */
  autostart?: {
    get(): Promise<boolean>;
    set(on: boolean): Promise<void>;
  };
}
