// The admin API's JSON shapes for errors, status, sessions and turns.
// Each mirrors the Rust item it names, field for field (serde names); tests/ui/api-types.test.mjs
// checks them against the engine's real responses. Times are ms since the epoch; Option<T> is T | null.

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

/** crate::prm::JudgeStatus: the judge's queue and how its answers went. */
export interface JudgeCounts {
  /** Waiting: for the user's next message, a retry or a window. */
  pending: number;
  done: number;
  /** Given up. */
  failed: number;
  /** Turns with a score (the judge's or the user's). */
  scored: number;
  /** The fields below are absent on older engines. */
  scored_by_judge?: number;
  /** Waiting or given-up turns whose last attempt had no valid `Score:` line. */
  unparseable?: number;
  /** Waiting or given-up turns whose last attempt timed out. */
  timed_out?: number;
  unparseable_answers?: number;
  timed_out_answers?: number;
  last_error?: string | null;
  /** The judge's latest raw answer (clipped). */
  last_answer?: string | null;
  /** Plain words when the judge is not working, e.g. "this model can't judge: 26 unparseable answers". */
  problem?: string | null;
}

/** crate::evolve::Run: one recorded evolution run (`GET /api/evolve/runs`). */
export interface EvolveRun {
  id: number;
  created_at: number;
  trigger: string;
  session_id: string | null;
  turns: number[];
  /** proposed, nothing, screened out, malformed, timed out or failed ("done" from older engines). */
  status: string;
  reason: string | null;
  candidates: number;
}

/** crate::evolve::EvolverStatus */
export interface EvolverStatus {
  runs: number;
  failed_runs: number;
  failures_waiting: number;
  last_run: EvolveRun | null;
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
  /** The evolver's runs: null when no evolver model is set; absent on older engines. */
  evolver?: EvolverStatus | null;
  candidates_pending: number;
  generation: number;
  /** The user paused learning (`POST /api/learning/pause`); absent on older engines. */
  learning_paused?: boolean;
  /** Policy training: off, idle, waiting, training or paused. */
  training?: string;
  /** Requests that left no turn, by reason (`refused_…`, `relayed_…`); absent on older engines. */
  unrecorded?: Record<string, number>;
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
  /** "openai", "anthropic" or "responses" */
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
