// Generated from the Rust types in src/api/types/ by ts-rs: do not edit by hand.
// Regenerate with: METACLAW_WRITE_TS=1 cargo test --lib api::types
import type { Auth, Protocol, SecretSource } from "./status";

/**
 * `GET /api/config`: the file's configuration (a key kept in it shows as redacted).
 */
export type ConfigReply = {
  path: string,
  config: Config,
  /**
   * Saved settings that wait for MetaClaw to restart (empty: everything saved is in force).
   */
  restart: Array<RestartReason>,
};

/**
 * `PUT /api/config`: the whole configuration, validated like `metaclaw config check` before it
 * is written. (The engine reads the body as JSON first, so a wrong field is named in its answer.)
 */
export type ConfigWrite = { config: Config };

/**
 * The answer to `PUT /api/config` and `POST /api/config/apply`: what is now in force. (`PUT` and
 * `DELETE /api/keys/{name}` apply a changed key the same way and answer 204.)
 */
export type ConfigSaved = {
  /**
   * The sections that changed and apply from the next request on.
   */
  applied: Array<Section>,
  /**
   * Saved settings that wait for a restart (empty: none).
   */
  restart: Array<RestartReason>,
};

/**
 * A saved setting that takes effect only when MetaClaw restarts: the address the listener is
 * bound to. Everything else applies as soon as it is saved.
 */
export type RestartReason = "listen_address";

/**
 * A config section that a change put in force (`keys` when a key changed).
 */
export type Section =
  | "proxy"
  | "upstream"
  | "upstreams"
  | "routing"
  | "sessions"
  | "skills"
  | "judge"
  | "evolve"
  | "scheduler"
  | "calendar"
  | "train"
  | "curator"
  | "store"
  | "log"
  | "keys";

/**
 * One secret the engine uses, as the UI may see it (`GET /api/keys`).
 */
export type KeyInfo = {
  /**
   * `proxy`, `tinker`, or `upstream.<name>`.
   */
  name: string,
  label: string,
  set: boolean,
  source: SecretSource,
  /**
   * Where a headless server sets it instead.
   */
  env_var: string,
  /**
   * Where the key is kept, in plain words: "OS keyring", "file ~/.local/share/metaclaw/secrets.toml",
   * "environment variable METACLAW_UPSTREAM_API_KEY", or "not set".
   */
  location: string,
};

/**
 * `PUT /api/keys/{name}`: the key, one line of 1 to 4096 printable characters.
 */
export type KeyWrite = { value: string };

/**
 * `DELETE /api/data`: `confirm` must be [`crate::api::settings::DELETE_CONFIRMATION`].
 */
export type DeleteAll = { confirm: string };

/**
 * Everything a user can configure. Every field has a default, so an empty file is valid.
 */
export type Config = {
  proxy: ProxyConfig,
  /**
   * The one-upstream shorthand; with `[[upstreams]]` it only provides default timeouts.
   */
  upstream: UpstreamConfig,
  /**
   * Several upstreams; the request's `model` picks one, in order, with fallbacks.
   */
  upstreams: Array<NamedUpstream>,
  routing: RoutingConfig,
  sessions: SessionsConfig,
  skills: SkillsConfig,
  judge: JudgeConfig,
  evolve: EvolveConfig,
  /**
   * When learning work may run; `[omls]` (its old name, after the paper) still loads.
   */
  scheduler: SchedulerConfig,
  /**
   * What counts as busy, and Google and Microsoft sign-in.
   */
  calendar: CalendarConfig,
  train: TrainConfig,
  /**
   * The curator: archives unused skills, proposes disabling harmful ones and merging duplicates.
   */
  curator: CuratorConfig,
  store: StoreConfig,
  log: LogConfig,
};

export type ProxyConfig = {
  /**
   * Address to listen on. Keep the loopback default unless you set `api_key`.
   */
  host: string,
  /**
   * Port for the proxy, the admin API and the web UI. `0` picks a free port.
   */
  port: number,
  /**
   * Deprecated: a key in the config file is a secret in a plain file. Kept so old files still
   * work (with a warning at start); use `METACLAW_PROXY_API_KEY` or `metaclaw key set proxy`.
   * When no key is set, only loopback clients are accepted.
   */
  api_key: string | null,
  /**
   * Largest request body accepted, in MiB; larger ones get 413.
   */
  max_body_mib: number,
  /**
   * Longest wait for a request's headers (also how long an idle keep-alive socket stays open).
   */
  header_timeout_secs: number,
  /**
   * Longest wait for a whole request body once its headers arrived; then 408.
   */
  body_timeout_secs: number,
  /**
   * Connections served at once; more wait until one closes.
   */
  max_connections: number,
  /**
   * At shutdown, longest wait for answers still streaming; then they are recorded as cut off.
   */
  drain_timeout_secs: number,
};

export type UpstreamConfig = {
  /**
   * Base URL of any OpenAI-compatible API (or, with `kind = "anthropic"`, of the Messages
   * API), up to and including `/v1`.
   */
  base_url: string,
  kind: Protocol,
  auth: Auth,
  /**
   * When set, replaces the model named by the client.
   */
  model: string | null,
  /**
   * Seconds to wait for the upstream's response headers before answering 504.
   */
  timeout_secs: number,
  /**
   * Seconds to wait for a TCP/TLS connection before answering 502.
   */
  connect_timeout_secs: number,
  /**
   * Seconds a stream may stay silent before it is cut off.
   */
  stream_idle_timeout_secs: number,
};

/**
 * One entry of `[[upstreams]]`.
 */
export type NamedUpstream = {
  /**
   * Lowercase letters, digits, `-` and `_`; the key is `METACLAW_UPSTREAM_<NAME>_API_KEY`.
   */
  name: string,
  kind: Protocol,
  /**
   * Up to and including `/v1`, for both kinds.
   */
  base_url: string,
  /**
   * Models served: exact names, or prefixes ending in `*`. Empty: any model.
   */
  models: Array<string>,
  /**
   * Serves models no upstream lists.
   */
  default: boolean,
  auth: Auth,
  /**
   * Replaces the client's model on this upstream.
   */
  model: string | null,
};

export type RoutingConfig = {
  /**
   * Attempts per request across the model's upstreams, in order (connect errors, timeouts,
   * 429 and 5xx before any byte reached the client are retried).
   */
  max_attempts: number,
  /**
   * First backoff between attempts; doubles each time.
   */
  backoff_ms: number,
  /**
   * Longest wait between attempts; a `retry-after` longer than this is not waited for.
   */
  max_backoff_ms: number,
};

export type SessionsConfig = {
  /**
   * Without session headers, a conversation silent for this long starts a new session.
   */
  idle_gap_minutes: number,
};

export type SkillsConfig = {
  /**
   * Inject skills into `main` turns at all.
   */
  enabled: boolean,
  /**
   * Load the built-in bank (the user's folder overrides built-ins of the same name).
   */
  builtin: boolean,
  /**
   * At most this many skills per turn.
   */
  top_k: number,
  /**
   * Minimum relevance (share of the request's weighted terms a skill covers, 0..1).
   */
  min_score: number,
  /**
   * Token budget for the injected block; skills that don't fit are dropped, lowest score first.
   */
  max_tokens: number,
  /**
   * `system` (append to the system message) or `late` (a system message before the latest
   * user message, so the provider's prefix cache survives).
   */
  placement: Placement,
  /**
   * Also rank by meaning with this model of the upstream's `/v1/embeddings` (off when unset).
   */
  embedding_model: string | null,
  /**
   * Share of the semantic similarity in the combined score, 0..1.
   */
  embedding_weight: number,
  /**
   * Longest a turn waits for its request's embedding before using the lexical score alone.
   */
  embedding_timeout_ms: number,
  /**
   * `[skills.holdout]`: new and edited skills withheld from some matching turns, to compare.
   */
  holdout: HoldoutConfig,
};

export type HoldoutConfig = {
  /**
   * Withhold new and edited skills (user-written or evolved; never built-in, pinned or
   * `critical: true` ones) from some of their first matching turns.
   */
  enabled: boolean,
  /**
   * Share of the matching turns withheld, 0..=1 (decided per conversation, so a conversation
   * keeps a stable set of skills).
   */
  share: number,
  /**
   * Only a version's first this many matching turns are considered.
   */
  first: number,
};

/**
 * Where the skills block goes.
 */
export type Placement = "system" | "late";

/**
 * The judge (process reward model) that scores `main` turns in the background.
 */
export type JudgeConfig = {
  /**
   * The judge's model; no model, no judging.
   */
  model: string | null,
  /**
   * The upstream that runs the judge (a `[[upstreams]]` name); default: the turn's own.
   */
  upstream: string | null,
  /**
   * Calls per turn; the majority wins, a tie is 0.
   */
  votes: number,
  temperature: number,
  /**
   * Wait this long for the user's next message (strong evidence) before judging without it.
   */
  wait_for_next_secs: number,
  /**
   * Judge calls in flight at once.
   */
  concurrency: number,
  /**
   * Seconds before a judge call is given up (then retried later).
   */
  timeout_secs: number,
  /**
   * Tokens per judge answer: a sentence or two and a score (local upstreams are slow).
   */
  max_tokens: number,
  /**
   * A judgement without a valid vote is retried after this many seconds, doubling each time.
   */
  retry_secs: number,
  /**
   * When judging runs: as soon as a turn is due, or only in the scheduler's windows (a judge
   * on a shared local server competes with the user).
   */
  run_in: RunIn,
};

/**
 * The evolver: turns failures into proposed skills.
 */
export type EvolveConfig = {
  /**
   * The evolver's model; no model, no evolution.
   */
  model: string | null,
  /**
   * The upstream that runs it (a `[[upstreams]]` name); default: the default upstream.
   */
  upstream: string | null,
  approval: Approval,
  /**
   * Evolve as soon as a session has this many failed turns (sessions that end evolve too).
   */
  failures_to_trigger: number,
  /**
   * Evolver, replay and comparison calls per hour, at most.
   */
  max_calls_per_hour: number,
  /**
   * Candidates per evolution, at most.
   */
  max_candidates: number,
  /**
   * A new skill this similar (0..1) to an existing one becomes an edit of it.
   */
  similarity_threshold: number,
  /**
   * When evolution runs: as soon as it is triggered, or in the scheduler's windows.
   */
  run_in: RunIn,
  /**
   * Seconds before an evolver call is given up (local models write slowly).
   */
  timeout_secs: number,
  /**
   * Tokens per evolver answer.
   */
  max_tokens: number,
  /**
   * Existing skills shown to the evolver: the ones closest to the failures, at most this many.
   */
  prompt_skills: number,
  /**
   * Earlier turns a candidate would have matched, replayed with it beside its failed turns
   * before it is promoted (its validation set), at most this many.
   */
  validation_turns: number,
};

/**
 * When deferrable learning work runs.
 */
export type RunIn = "now" | "idle";

/**
 * Who approves the evolver's candidates.
 */
export type Approval = "manual" | "verified" | "auto";

/**
 * When learning work may run: while the user is asleep or away.
 */
export type SchedulerConfig = {
  /**
   * IANA time zone (e.g. "Asia/Shanghai"); default: the system's.
   */
  timezone: string | null,
  /**
   * Sleep hours: `default`, and `mon` … `sun` overrides, each "HH:MM-HH:MM" or "off"; a
   * weekday's window is the one that starts that day.
   */
  sleep: { [key in string]: string },
  /**
   * Idle this long (no proxied turn) counts as away.
   */
  idle_minutes: number,
  /**
   * A window shorter than this is not worth starting work in.
   */
  min_window_minutes: number,
  /**
   * Weeks of history the activity model learns from.
   */
  activity_weeks: number,
  /**
   * How often calendar feeds are fetched again.
   */
  calendar_refresh_minutes: number,
  /**
   * Database maintenance (retention, vacuum) runs in a window at most this often.
   */
  maintenance_hours: number,
  /**
   * Read the OS idle timer (X11, GNOME, logind) besides the time since the last request.
   */
  os_idle: boolean,
};

export type CalendarConfig = {
  /**
   * Tentative events and invitations answered "maybe" count as busy.
   */
  tentative_busy: boolean,
  google: GoogleConfig,
  microsoft: MicrosoftConfig,
};

/**
 * Google sign-in: an OAuth client of type "Desktop app" from the Google Cloud console.
 */
export type GoogleConfig = {
  /**
   * Empty: Google sign-in is unavailable (the message says how to register a client).
   */
  client_id: string,
  /**
   * Desktop clients get a secret Google itself calls non-confidential; empty when none.
   */
  client_secret: string,
  auth_url: string,
  token_url: string,
  revoke_url: string,
  api_url: string,
};

/**
 * Microsoft sign-in: an app registration ("Mobile and desktop applications", redirect
 * `http://127.0.0.1`) in Microsoft Entra.
 */
export type MicrosoftConfig = {
  /**
   * Empty: Microsoft sign-in is unavailable (the message says how to register an app).
   */
  client_id: string,
  /**
   * `common` (work, school and personal accounts), `organizations`, `consumers` or a tenant id.
   */
  tenant: string,
  /**
   * Empty: `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/authorize`.
   */
  auth_url: string,
  /**
   * Empty: `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`.
   */
  token_url: string,
  api_url: string,
};

export type TrainConfig = {
  /**
   * Train (and serve) a LoRA adapter of `base_model`. Needs a Tinker key
   * (`metaclaw key set tinker` or `TINKER_API_KEY`) unless the server needs none.
   */
  enabled: boolean,
  /**
   * The trainable base model, e.g. "Qwen/Qwen3-8B".
   */
  base_model: string | null,
  /**
   * The Tinker(-compatible) service; self-hosted ones (e.g. SkyRL's) work the same way.
   */
  base_url: string,
  /**
   * Its OpenAI-compatible endpoint that serves adapters; default `<base_url>/oai/api/v1`.
   */
  serve_url: string | null,
  /**
   * Client models answered by the policy: `["*"]` for all, or names (prefixes end in `*`).
   * Empty: train, but serve nothing.
   */
  serve_models: Array<string>,
  lora_rank: number,
  learning_rate: number,
  loss: TrainLoss,
  /**
   * A step waits until this many usable turns are ready…
   */
  min_batch: number,
  /**
   * …and takes at most this many.
   */
  max_batch: number,
  max_steps_per_day: number,
  /**
   * Estimated spend per day (tokens × `usd_per_million_tokens`), at most.
   */
  max_spend_per_day_usd: number,
  /**
   * Training price used for the estimate.
   */
  usd_per_million_tokens: number,
  /**
   * A folder with `tokenizer.json` and `tokenizer_config.json`; default: downloaded once from
   * `hub_url` into the MetaClaw home.
   */
  tokenizer_dir: string | null,
  /**
   * The tokenizer's repository on the hub; default: `base_model`.
   */
  tokenizer_repo: string | null,
  hub_url: string,
  /**
   * One save (for sampling, or of the full state) may take this long before it is retried.
   */
  save_timeout_secs: number,
  /**
   * Saves are tried this many times before the run stops (the step is kept, and served as
   * soon as a save succeeds).
   */
  save_attempts: number,
  /**
   * Optional on-policy distillation from a teacher with the same tokenizer.
   */
  distill: DistillConfig | null,
};

/**
 * A teacher whose per-token logprobs pull the policy towards it (reverse KL).
 */
export type DistillConfig = {
  /**
   * An OpenAI-compatible `/v1` base URL with a `completions` endpoint (echo + logprobs).
   */
  teacher_url: string,
  teacher_model: string,
  /**
   * Weight of the reverse-KL term per token.
   */
  coef: number,
};

/**
 * The loss the service computes on each batch.
 */
export type TrainLoss = "importance_sampling" | "ppo" | "cispo";

export type CuratorConfig = {
  /**
   * Run the curator in the scheduler's windows (at most once a day). `metaclaw curate` works
   * either way.
   */
  enabled: boolean,
  /**
   * A skill no turn carried for this many days (and active at least that long) is archived.
   * Pinned and built-in skills never are.
   */
  unused_days: number,
  /**
   * Also archive skills you wrote or imported (by default only evolved skills are).
   */
  include_hand_written: boolean,
  /**
   * Skills at least this similar (0..=1, word overlap of name, description and text) are
   * proposed for merging into one.
   */
  merge_similarity: number,
};

export type StoreConfig = {
  /**
   * Turns older than this many days are deleted; `0` keeps everything.
   */
  retention_days: number,
  /**
   * Upper bound, in milliseconds, on how long a finished turn waits before it is committed.
   */
  flush_interval_ms: number,
};

export type LogConfig = {
  /**
   * `error`, `warn`, `info`, `debug` or `trace`; `METACLAW_LOG` overrides it.
   */
  level: string,
  /**
   * Log request and response bodies at debug level. Off by default: bodies are private.
   */
  bodies: boolean,
};
