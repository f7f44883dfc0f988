// The admin API's JSON shapes, mirroring the Rust types field for field (serde names).
// Each type names the Rust item it mirrors; a Rust-side check keeps the two in step.
// Times are milliseconds since the Unix epoch. `Option<T>` is `T | null`.

/** serde_json::Value */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// ---------------------------------------------------------------------------------------------
// Errors

/** crate::skills::parse::Problem */
export interface Problem {
  file: string;
  line: number | null;
  reason: string;
}

/** crate::api::ApiError, as `{"error": {"code", "message", "problems"?}}` */
export interface ApiErrorBody {
  error: {
    /** unauthorized | forbidden | not_found | bad_request | conflict | invalid | store_error | keyring_unavailable … */
    code: string;
    message: string;
    problems?: Problem[];
  };
}

// ---------------------------------------------------------------------------------------------
// Status

/** crate::config::Kind (rename_all = "lowercase") */
export type Kind = "openai" | "anthropic";
/** crate::config::Auth (rename_all = "lowercase") */
export type Auth = "key" | "passthrough";
/** crate::secrets::SecretSource (rename_all = "lowercase") */
export type SecretSource = "env" | "keyring" | "none";

/** crate::api::UpstreamInfo */
export interface UpstreamInfo {
  name: string;
  kind: Kind;
  auth: Auth;
  base_url: string;
  models: string[];
  model: string | null;
  /** Where the upstream key came from (never the key itself). */
  key: SecretSource;
}

/** crate::api::EngineInfo (flattened into Status) */
export interface EngineInfo {
  version: string;
  started_at: number;
  /** e.g. "http://127.0.0.1:30000" */
  address: string;
  home: string;
  upstreams: UpstreamInfo[];
}

/** crate::metrics::OverheadStats */
export interface OverheadStats {
  samples: number;
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

/** crate::store::read::JudgeCounts */
export interface JudgeCounts {
  pending: number;
  done: number;
  failed: number;
  scored: number;
}

/** crate::api::Status (`GET /api/status`; `#[serde(flatten)] info: EngineInfo`) */
export interface Status extends EngineInfo {
  uptime_secs: number;
  turns_total: number;
  turns_today: number;
  sessions_total: number;
  sessions_active: number;
  overhead: OverheadStats;
  schema_version: number;
  pending_writes: number;
  judge: JudgeCounts | null;
  candidates_pending: number;
  generation: number;
  /** The user paused learning (`POST /api/learning/pause`); absent on older engines. */
  learning_paused?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Sessions and turns

/** crate::store::read::SessionRow */
export interface SessionRow {
  id: string;
  /** "client" or "inferred" */
  source: string;
  started_at: number;
  last_at: number;
  turns: number;
  done_at: number | null;
}

/** crate::api::SessionList (`GET /api/sessions`) */
export interface SessionList {
  sessions: SessionRow[];
}

/** crate::skills::inject::Injected (stored in a turn's `skills`) */
export interface Injected {
  name: string;
  score: number;
  terms: string[];
  /** skip_serializing_if = "Option::is_none" */
  similarity?: number;
}

/** crate::store::read::TurnSummary */
export interface TurnSummary {
  id: number;
  session_id: string;
  turn_index: number;
  /** "main" or "side" */
  turn_type: string;
  /** "openai" or "anthropic" */
  protocol: string;
  upstream: string;
  model: string | null;
  stream: boolean;
  started_at: number;
  finished_at: number;
  /** ok | upstream_error | failed | cancelled */
  status: string;
  http_status: number | null;
  latency_ms: number;
  upstream_ms: number;
  overhead_ms: number;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_tokens: number | null;
  finish_reason: string | null;
  /** The first 200 characters of the answer. */
  preview: string;
  tool_names: string[];
  /** serde_json::Value holding Vec<Injected> */
  skills: Injected[];
  generation: number;
  attempts: number;
  score: number | null;
  /** "judge" or "user" */
  score_source: string | null;
}

/** crate::store::read::TurnPage (`GET /api/turns`) */
export interface TurnPage {
  turns: TurnSummary[];
  next_before: number | null;
}

/** crate::store::read::TurnFilter (query string of `GET /api/turns`; `turn_type` is renamed `type`) */
export interface TurnFilter {
  session?: string;
  type?: string;
  status?: string;
  model?: string;
  since?: number;
  before?: number;
  limit?: number;
}

/** crate::transcript::ToolCall */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** crate::store::read::Judgement */
export interface Judgement {
  score: number;
  /** "judge" or "user" */
  source: string;
  votes: Json | null;
  reason: string | null;
  note: string | null;
  created_at: number;
}

/** crate::store::read::TurnDetail (`GET /api/turns/{id}`; `#[serde(flatten)] summary`) */
export interface TurnDetail extends TurnSummary {
  error: string | null;
  error_body: string | null;
  messages: Json[];
  params: Json;
  response_text: string | null;
  reasoning_text: string | null;
  tool_calls: ToolCall[];
  judgement: Judgement | null;
}

/** crate::api::Feedback (`POST /api/turns/{id}/feedback` body) */
export interface Feedback {
  /** +1 or -1 */
  score: 1 | -1;
  note: string | null;
}

/** reply of `POST /api/turns/{id}/feedback` (json! in crate::api::feedback) */
export interface FeedbackReply {
  turn_id: number;
  score: number;
  source: "user";
}

// ---------------------------------------------------------------------------------------------
// Skills

/** crate::skills::Origin (rename_all = "lowercase") */
export type Origin = "builtin" | "user" | "evolved";

/** crate::api::skills::SkillSummary */
export interface SkillSummary {
  name: string;
  description: string;
  category: string;
  origin: Origin;
  enabled: boolean;
  path: string;
  overrides_builtin: boolean;
  tokens: number;
  hash: string;
}

/** crate::api::skills::SkillList (`GET /api/skills`) */
export interface SkillList {
  generation: number;
  skills: SkillSummary[];
  problems: Problem[];
  warnings: Problem[];
}

/** crate::skills::Skill */
export interface Skill {
  name: string;
  description: string;
  body: string;
  license: string | null;
  compatibility: string | null;
  allowed_tools: string[];
  metadata: Record<string, string>;
  origin: Origin;
  hash: string;
}

/** crate::skills::snapshot::Entry (`#[serde(flatten)] skill: Skill`) */
export interface Entry extends Skill {
  enabled: boolean;
  path: string;
  overrides_builtin: boolean;
}

/** crate::api::skills::SkillDetail (`GET /api/skills/{name}`; `#[serde(flatten)] entry`) */
export interface SkillDetail extends Entry {
  content: string;
}

/** crate::api::skills::SkillWrite (`POST /api/skills`, `PUT /api/skills/{name}`) */
export interface SkillWrite {
  name?: string | null;
  content?: string | null;
  description?: string | null;
  body?: string | null;
  category?: string | null;
}

/** crate::api::skills::GenerationReply */
export interface GenerationReply {
  generation: number;
}

/** one item of `GET /api/skills-trash` (json! in crate::api::skills::trash) */
export interface TrashItem {
  name: string;
  path: string;
  deleted_at: number;
}

/** `GET /api/skills-trash` */
export interface TrashList {
  trash: TrashItem[];
}

/** crate::api::skills::Validation */
export interface Validation {
  name: string | null;
  ok: boolean;
  problem: Problem | null;
  warnings: Problem[];
}

/** `POST /api/skills/validate` reply */
export interface ValidationList {
  skills: Validation[];
}

/** crate::skills::snapshot::Candidate (explain) */
export interface ExplainCandidate {
  name: string;
  score: number;
  terms: string[];
  injected: boolean;
  dropped: string | null;
  tokens: number;
  similarity: number | null;
}

/** crate::skills::snapshot::Explanation (`POST /api/skills/explain`) */
export interface Explanation {
  generation: number;
  query_terms: string[];
  candidates: ExplainCandidate[];
  block: string;
  tokens: number;
}

// ---------------------------------------------------------------------------------------------
// Generations and the learning loop

/** one entry of a generation's `changes` (json! in crate::skills::library) */
export interface GenerationChangeEntry {
  skill: string;
  /** added | modified | removed */
  change: string;
  hash?: string;
  from?: string;
}

/** crate::api::skills::Generation (`changes` is a Value holding GenerationChangeEntry[]) */
export interface Generation {
  id: number;
  created_at: number;
  reason: string;
  changes: GenerationChangeEntry[] | Json;
  /** Number of active skills. */
  active: number;
}

/** `GET /api/generations` */
export interface GenerationList {
  generations: Generation[];
}

/** crate::dataset::SkillChange */
export interface SkillChange {
  name: string;
  /** added | removed | modified */
  change: string;
  before: string | null;
  after: string | null;
}

/** `GET /api/generations/{a}/diff/{b}` (json! in crate::api::learning::diff) */
export interface GenerationDiff {
  from: number;
  to: number;
  changes: SkillChange[];
}

/** `POST /api/generations/{id}/rollback` */
export interface RollbackReply {
  rolled_back_to: number;
  generation: number;
}

/** crate::dataset::GenerationSignal */
export interface GenerationSignal {
  generation: number;
  reason: string;
  created_at: number;
  turns: number;
  scored: number;
  mean_score: number | null;
  failure_rate: number | null;
  skills_in_success: Record<string, number>;
  skills_in_failure: Record<string, number>;
}

/** `GET /api/learning` */
export interface LearningList {
  generations: GenerationSignal[];
}

/** crate::evolve::prompt::Failure (a candidate's evidence) */
export interface Failure {
  turn_id: number;
  request: string;
  answer: string;
  /** The judge's reason, or the user's note. */
  reason: string | null;
  /** What the user said next (often the correction). */
  next_message: string | null;
}

/** the verification replay (json! in crate::evolve::review) */
export interface Replay {
  turn_id: number;
  improved: boolean;
  score: number;
  answer: string;
  reason: string | null;
}

/** crate::evolve::review::Candidate */
export interface Candidate {
  id: number;
  run_id: number;
  created_at: number;
  /** pending | approved | rejected | deferred */
  status: string;
  /** create | edit */
  action: string;
  name: string;
  description: string;
  category: string;
  rationale: string;
  content: string;
  previous: string | null;
  evidence: Failure[] | Json;
  replay: Replay | null;
  decided_at: number | null;
  decided_by: string | null;
  reason: string | null;
  generation: number | null;
  support: number[];
}

/** `GET /api/candidates` */
export interface CandidateList {
  candidates: Candidate[];
}

/** crate::api::learning::ApproveArg */
export interface ApproveArg {
  /** The SKILL.md as edited by the user; the proposal as it is when absent. */
  content?: string | null;
}

/** crate::api::learning::RejectArg */
export interface RejectArg {
  reason?: string | null;
}

/** approve / reject / defer replies (json! in crate::api::learning) */
export interface DecisionReply {
  id: number;
  status: string;
  generation?: number;
}

/** crate::evolve::RunReport (`POST /api/evolve`) */
export interface RunReport {
  run_id: number | null;
  failures: number;
  proposed: number[];
  dropped: string[];
  error: string | null;
}

/** crate::events::Event (`#[serde(tag = "type", rename_all = "snake_case")]`), on `/api/events`;
 * the SSE event name is the same as `type`. Unknown types from newer engines pass through. */
export type EngineEvent =
  | { type: "turn_scored"; turn_id: number; score: number; source: string }
  | { type: "generation_changed"; generation: number; reason: string }
  | { type: "candidate_proposed"; id: number; name: string; action: string }
  | { type: "candidate_verified"; id: number; improved: boolean }
  | { type: "candidate_decided"; id: number; status: string }
  | { type: "turn_recorded"; turn_id: number; session_id: string; model: string; status: number; skills: number }
  | { type: "calendars_changed" }
  | { type: "scheduler_changed"; state: string; reason: string; explanation: string; job: string | null }
  | { type: "job_stopped"; job: string; outcome: string; detail: string }
  | { type: string; [key: string]: Json };

// ---------------------------------------------------------------------------------------------
// OMLS (the scheduler)

/** crate::omls::decide::Reason (rename_all = "snake_case") */
export type Reason = "asleep" | "away" | "active" | "too_short" | "meeting" | "present" | "on_battery" | "paused";

/** crate::omls::decide::Decision (`until`, `next` as ms) */
export interface Decision {
  open: boolean;
  reason: Reason | string;
  /** In words, for the UI and the CLI. */
  explanation: string;
  /** While open: when the window is expected to end. */
  until: number | null;
  /** While closed: when the next window is expected to open. */
  next: number | null;
}

/** crate::omls::activity::ActivityModel */
export interface ActivityModel {
  /** 168 values in 0..=1, Monday 00:00 first. */
  rate: number[];
  weeks: number;
}

/** crate::omls::scheduler::State (rename_all = "snake_case") */
export type SchedulerState = "waiting" | "open" | "running" | "pausing" | "paused";

/** crate::omls::signals::Reading */
export interface Reading {
  /** Seconds since the last input or proxied request, whichever is more recent. */
  idle_secs: number;
  /** An OS source's name, or "requests". */
  idle_source: string;
  os_idle_secs: number | null;
  request_idle_secs: number;
  on_battery: boolean | null;
  locked: boolean | null;
}

/** crate::omls::scheduler::RunInfo */
export interface RunInfo {
  id: number;
  started_at: number;
  ended_at: number | null;
  outcome: string | null;
  window: string;
  detail: string | null;
}

/** crate::omls::scheduler::JobInfo */
export interface JobInfo {
  name: string;
  estimate_secs: number;
  pending: boolean;
  last_run: RunInfo | null;
}

/** crate::omls::scheduler::Status (`GET /api/omls`) */
export interface OmlsStatus {
  state: SchedulerState | string;
  decision: Decision;
  signals: Reading;
  /** The job running now. */
  job: string | null;
  jobs: JobInfo[];
  timezone: string;
  activity: ActivityModel;
  updated_at: number;
}

/** crate::omls::simulate::Window */
export interface SimulatedWindow {
  start: number;
  end: number;
  reason: Reason | string;
  explanation: string;
}

/** crate::api::omls::Simulation (`GET /api/omls/simulate?from&to`) */
export interface Simulation {
  from: number;
  to: number;
  step_minutes: number;
  windows: SimulatedWindow[];
  /** Minutes of window in the period. */
  open_minutes: number;
}

/** reply of `POST /api/learning/pause` and `/resume` (json! in crate::api::omls::set_paused) */
export interface PauseReply {
  learning_paused: boolean;
}

// ---------------------------------------------------------------------------------------------
// Configuration (crate::config), as `GET /api/config` returns it: the shape of config.toml

/** crate::config::ProxyConfig */
export interface ProxyConfig {
  /** IpAddr as a string */
  host: string;
  port: number;
  api_key: string | null;
  max_body_mib: number;
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

/** crate::config::JudgeConfig */
export interface JudgeConfig {
  model: string | null;
  upstream: string | null;
  votes: number;
  temperature: number;
  wait_for_next_secs: number;
  concurrency: number;
  timeout_secs: number;
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
}

/** crate::config::OmlsConfig */
export interface OmlsConfig {
  timezone: string | null;
  /** `default` and `mon` … `sun`: "HH:MM-HH:MM" or "off" */
  sleep: Record<string, string>;
  idle_minutes: number;
  min_window_minutes: number;
  activity_weeks: number;
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
  omls: OmlsConfig;
  store: StoreConfig;
  log: LogConfig;
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
// Calendars (issue 7)

/** crate::calendar::Kind (rename_all = "lowercase") */
export type CalendarKind = "url" | "file";

/** crate::calendar::Account (one account of `GET /api/calendars`) */
export interface CalendarAccount {
  id: number;
  name: string;
  kind: CalendarKind;
  /** host or file path; never the secret URL */
  display: string;
  /** The user's addresses, whose declined invitations don't count as busy. */
  owner?: string[];
  enabled: boolean;
  last_sync: number | null;
  last_error: string | null;
  events: number;
  /** Environment variable that may hold a URL account's address (headless servers). */
  env_var?: string | null;
}

/** crate::calendar::NewAccount (`POST /api/calendars` body) */
export interface CalendarAdd {
  source: string;
  name?: string;
  owner?: string[];
}

/** crate::api::omls::Update (`PATCH /api/calendars/{id}` body) */
export interface CalendarPatch {
  name?: string;
  enabled?: boolean;
}

/** crate::calendar::TestReport (`POST /api/calendars/{id}/test`) */
export interface CalendarTest {
  ok: boolean;
  events: number;
  error: string | null;
  /** Time zones the feed names that could not be resolved. */
  unknown_zones?: string[];
  /** Events that could not be read, with why. */
  skipped?: string[];
}

/** crate::calendar::Busy (one block of `GET /api/calendars/busy?from&to`) */
export interface BusyBlock {
  calendar: number;
  summary: string;
  start: number;
  end: number;
}

/** crate::api::settings::Confirm (`DELETE /api/data` body) */
export interface DeleteAll {
  confirm: "delete all data";
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
