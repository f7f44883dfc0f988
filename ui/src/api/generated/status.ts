// Generated from the Rust types in src/api/types/ by ts-rs: do not edit by hand.
// Regenerate with: METACLAW_WRITE_TS=1 cargo test --lib api::types
import type { HealthReport } from "./health";
import type { CandidateAction, CandidateStatus, EvolveOutcome, EvolveTrigger } from "./learning";
import type { Reason, RunOutcome, SchedulerState } from "./scheduler";
import type { TrainRunStatus, TrainState } from "./train";

/**
 * `GET /api/status`.
 */
export type Status = {
  uptime_secs: number,
  turns_total: number,
  turns_today: number,
  sessions_total: number,
  sessions_active: number,
  /**
   * MetaClaw's own time per turn (total minus upstream wait), recent turns.
   */
  overhead: OverheadStats,
  schema_version: number,
  pending_writes: number,
  /**
   * The judge's queue: `None` when no judge model is configured.
   */
  judge: JudgeStatus | null,
  /**
   * The evolver's runs and its last one: `None` when no evolver model is configured.
   */
  evolver: EvolverStatus | null,
  /**
   * Evolved skills waiting for the user's review.
   */
  candidates_pending: number,
  /**
   * The skill library's current generation.
   */
  generation: number,
  /**
   * The user paused learning (the scheduler opens no windows; automatic evolution waits).
   */
  learning_paused: boolean,
  /**
   * Policy training: off, idle, waiting, training or paused.
   */
  training: TrainState,
  /**
   * Requests that left no turn record since the engine started, by reason: `refused_…`
   * (with what was wrong) and `relayed_…` (passed on as they were).
   */
  unrecorded: { [key in string]: number },
  /**
   * How each part is doing (upstream, judge, evolver, trainer, calendars, disk), with the
   * last error in plain words and the next retry.
   */
  health: HealthReport,
  version: string,
  started_at: number,
  /**
   * e.g. `http://127.0.0.1:30000`.
   */
  address: string,
  home: string,
  upstreams: Array<UpstreamInfo>,
};

/**
 * An agent MetaClaw has seen turns from (`GET /api/agents`).
 */
export type AgentSeen = {
  agent: AgentId,
  /**
   * How many turns it sent.
   */
  turns: number,
  /**
   * When its last turn started (ms since epoch).
   */
  last_seen_ms: number,
};

/**
 * The answer to `GET /api/agents`: every agent seen, the most recently seen first.
 */
export type AgentList = { agents: Array<AgentSeen> };

/**
 * Static facts about the running engine.
 */
export type EngineInfo = {
  version: string,
  started_at: number,
  /**
   * e.g. `http://127.0.0.1:30000`.
   */
  address: string,
  home: string,
  upstreams: Array<UpstreamInfo>,
};

/**
 * One upstream the engine routes to.
 */
export type UpstreamInfo = {
  name: string,
  kind: Protocol,
  auth: Auth,
  base_url: string,
  models: Array<string>,
  model: string | null,
  /**
   * Where the upstream key came from (never the key itself).
   */
  key: SecretSource,
};

/**
 * The wire protocol a client or an upstream speaks: the one name for "OpenAI or Anthropic" used
 * by the config (`kind = "openai" | "anthropic"`), the proxy, translation and error bodies.
 *
 * The Responses API is not a protocol of its own here: its errors and records are OpenAI-style,
 * and whether an upstream offers it is learned per upstream by the proxy.
 */
export type Protocol = "openai" | "anthropic";

/**
 * Whose credentials reach the upstream.
 */
export type Auth = "key" | "passthrough";

/**
 * Where a secret was found, for status output (never the value itself).
 */
export type SecretSource = "env" | "keyring" | "file" | "none";

/**
 * Overhead percentiles over the most recent turns, in milliseconds.
 */
export type OverheadStats = { samples: number, p50_ms: number | null, p99_ms: number | null, max_ms: number | null };

/**
 * The judge's queue and how its answers went, for `status`, `/api/status` and the UI.
 */
export type JudgeStatus = {
  /**
   * Jobs waiting (for the user's next message, a retry, or a window).
   */
  pending: number,
  done: number,
  /**
   * Jobs given up.
   */
  failed: number,
  /**
   * Turns with a score (the judge's or the user's).
   */
  scored: number,
  /**
   * Turns the judge scored itself.
   */
  scored_by_judge: number,
  /**
   * Waiting or given-up jobs whose last attempt had no valid `Score:` line.
   */
  unparseable: number,
  /**
   * Waiting or given-up jobs whose last attempt timed out.
   */
  timed_out: number,
  /**
   * Judge answers without a valid score, and calls that timed out, over all jobs.
   */
  unparseable_answers: number,
  timed_out_answers: number,
  /**
   * Why the latest failed attempt failed.
   */
  last_error: string | null,
  /**
   * The judge's latest raw answer (clipped).
   */
  last_answer: string | null,
  /**
   * A plain-words warning when the judge is not working, e.g. "this model can't judge: 26
   * unparseable answers".
   */
  problem: string | null,
};

/**
 * The evolver's line in `status`.
 */
export type EvolverStatus = {
  runs: number,
  /**
   * Runs that failed for output or transport reasons.
   */
  failed_runs: number,
  /**
   * Failed turns not yet learned from.
   */
  failures_waiting: number,
  last_run: EvolveRun | null,
};

/**
 * One recorded evolution run.
 */
export type EvolveRun = {
  id: number,
  created_at: number,
  trigger: EvolveTrigger,
  session_id: string | null,
  turns: Array<number>,
  status: EvolveOutcome,
  /**
   * Why it failed, or what screening dropped.
   */
  reason: string | null,
  candidates: number,
};

export type Event =
  | { "type": "turn_scored", turn_id: number, score: number, source: ScoreSource }
  | { "type": "generation_changed", generation: number, reason: string }
  | { "type": "candidate_proposed", id: number, name: string, action: CandidateAction }
  | { "type": "candidate_verified", id: number, improved: boolean }
  | { "type": "candidate_decided", id: number, status: CandidateStatus }
  | {
      "type": "turn_recorded",
      turn_id: number,
      session_id: string,
      model: string,
      status: number,
      skills: number,
    }
  | { "type": "calendars_changed" }
  | {
      "type": "scheduler_changed",
      state: SchedulerState,
      reason: Reason,
      explanation: string,
      job: string | null,
    }
  | { "type": "job_stopped", job: string, outcome: RunOutcome, detail: string }
  | { "type": "train_changed", state: TrainState, serving: string | null }
  | { "type": "train_run_ended", run_id: number, status: TrainRunStatus, detail: string }
  | { "type": "upstream_failed", upstream: string, status: number, error: string }
  | { "type": "judge_failed", turn_id: number, error: string, retry_at_ms: number | null }
  | {
      "type": "evolver_ran",
      run_id: number,
      outcome: EvolveOutcome | null,
      error: string | null,
      retry_at_ms: number | null,
    }
  | { "type": "calendar_refreshed", calendar: number, error: string | null }
  | { "type": "skill_stats_updated", turns: number }
  | { "type": "candidate_validated", id: number, wins: number, ties: number, losses: number }
  | { "type": "curate_ran", actions: number, dry_run: boolean }
  | { "type": "skill_archived", name: string, archived: boolean };

/**
 * `GET /api/sessions`.
 */
export type SessionList = { sessions: Array<SessionRow> };

/**
 * A session as listed by `/api/sessions`.
 */
export type SessionRow = {
  id: string,
  /**
   * `client` (from headers) or `inferred`.
   */
  source: SessionSource,
  started_at: number,
  last_at: number,
  turns: number,
  done_at: number | null,
};

/**
 * Query of `GET /api/sessions`.
 */
export type Paging = { limit?: number, offset?: number };

/**
 * Where a session id came from.
 */
export type SessionSource = "client" | "inferred";

/**
 * One page of turns; pass `next_before` as `before` for the next page.
 */
export type TurnPage = { turns: Array<TurnSummary>, next_before: number | null };

/**
 * A turn as listed by `/api/turns`.
 */
export type TurnSummary = {
  id: number,
  session_id: string,
  turn_index: number,
  turn_type: TurnType,
  protocol: TurnProtocol,
  upstream: string,
  model: string | null,
  stream: boolean,
  started_at: number,
  finished_at: number,
  status: TurnStatus,
  http_status: number | null,
  latency_ms: number,
  upstream_ms: number,
  overhead_ms: number,
  prompt_tokens: number | null,
  completion_tokens: number | null,
  total_tokens: number | null,
  finish_reason: string | null,
  /**
   * The first 200 characters of the answer.
   */
  preview: string,
  tool_names: Array<string>,
  /**
   * The skills injected into the turn.
   */
  skills: Array<Injected>,
  generation: number,
  /**
   * Upstream calls made for this turn (failover and retries).
   */
  attempts: number,
  /**
   * The turn's score (-1, 0, +1) once judged or given feedback.
   */
  score: number | null,
  /**
   * `judge` or `user`.
   */
  score_source: ScoreSource | null,
  /**
   * The agent that sent the turn ("unknown" when nothing named it).
   */
  agent: AgentId,
  /**
   * The client turned skill injection off for this turn (`X-MetaClaw-Inject: off`).
   */
  inject_off: boolean,
};

/**
 * Filters for listing turns; all optional.
 */
export type TurnFilter = {
  session?: string,
  type?: TurnType,
  status?: TurnStatus,
  model?: string,
  /**
   * Only the turns of this agent.
   */
  agent?: AgentId,
  /**
   * Only turns started at or after this time (ms since epoch).
   */
  since?: number,
  /**
   * Only turns with an id below this (paging).
   */
  before?: number,
  limit?: number,
};

/**
 * An agent's name: lowercase `[a-z0-9-]{1,32}`, or "unknown".
 */
export type AgentId = string;

/**
 * `main` turns face the user (skills, judging and training apply); `side` turns are the agent's
 * housekeeping (heartbeats, memory, cron) and are only forwarded and recorded.
 */
export type TurnType = "main" | "side";

/**
 * How a turn ended.
 */
export type TurnStatus = "ok" | "upstream_error" | "failed" | "cancelled";

/**
 * Who scored a turn.
 */
export type ScoreSource = "judge" | "user";

/**
 * The protocol a client spoke to MetaClaw for a turn.
 */
export type TurnProtocol = "openai" | "anthropic" | "responses";

/**
 * A skill injected into a turn, and why.
 */
export type Injected = {
  name: string,
  score: number,
  /**
   * Query terms that matched it (stemmed), strongest first.
   */
  terms: Array<string>,
  /**
   * Cosine similarity to the request, when semantic retrieval is on.
   */
  similarity?: number | null,
};

/**
 * Everything recorded about one turn (`/api/turns/{id}`).
 */
export type TurnDetail = {
  error: string | null,
  error_body: string | null,
  /**
   * The messages as sent upstream.
   */
  messages: Array<JsonValue>,
  /**
   * The other request fields (tools, temperature, …) as sent upstream.
   */
  params: JsonValue,
  response_text: string | null,
  reasoning_text: string | null,
  tool_calls: Array<ToolCall>,
  /**
   * The judge's votes and reason, or the user's note.
   */
  judgement: Judgement | null,
  id: number,
  session_id: string,
  turn_index: number,
  turn_type: TurnType,
  protocol: TurnProtocol,
  upstream: string,
  model: string | null,
  stream: boolean,
  started_at: number,
  finished_at: number,
  status: TurnStatus,
  http_status: number | null,
  latency_ms: number,
  upstream_ms: number,
  overhead_ms: number,
  prompt_tokens: number | null,
  completion_tokens: number | null,
  total_tokens: number | null,
  finish_reason: string | null,
  /**
   * The first 200 characters of the answer.
   */
  preview: string,
  tool_names: Array<string>,
  /**
   * The skills injected into the turn.
   */
  skills: Array<Injected>,
  generation: number,
  /**
   * Upstream calls made for this turn (failover and retries).
   */
  attempts: number,
  /**
   * The turn's score (-1, 0, +1) once judged or given feedback.
   */
  score: number | null,
  /**
   * `judge` or `user`.
   */
  score_source: ScoreSource | null,
  /**
   * The agent that sent the turn ("unknown" when nothing named it).
   */
  agent: AgentId,
  /**
   * The client turned skill injection off for this turn (`X-MetaClaw-Inject: off`).
   */
  inject_off: boolean,
};

/**
 * How a turn was scored.
 */
export type Judgement = {
  score: number,
  source: ScoreSource,
  votes: JsonValue | null,
  reason: string | null,
  note: string | null,
  created_at: number,
};

/**
 * One tool call the model made.
 */
export type ToolCall = {
  id: string,
  name: string,
  /**
   * The arguments as the JSON text the model produced (not necessarily valid JSON).
   */
  arguments: string,
};

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;

/**
 * `POST /api/turns/{id}/feedback`: the user's own verdict, which overrides the judge.
 */
export type Feedback = {
  /**
   * +1 or -1.
   */
  score: number,
  note: string | null,
};

/**
 * The answer to `POST /api/turns/{id}/feedback`.
 */
export type FeedbackReply = {
  turn_id: number,
  score: number,
  /**
   * Always `user`.
   */
  source: ScoreSource,
};
