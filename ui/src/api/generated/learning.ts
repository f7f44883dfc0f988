// Generated from the Rust types in src/api/types/ by ts-rs: do not edit by hand.
// Regenerate with: METACLAW_WRITE_TS=1 cargo test --lib api::types
import type { ChangeKind } from "./skills";
import type { AgentId, EvolveRun, ScoreSource } from "./status";

/**
 * `POST /api/evolve` body (optional).
 */
export type EvolveArg = {
  /**
   * Only this session's failures.
   */
  session?: string,
};

/**
 * What one evolution did.
 */
export type RunReport = {
  run_id: number | null,
  failures: number,
  proposed: Array<number>,
  dropped: Array<string>,
  error: string | null,
  /**
   * How the run ended; `None` when there was nothing to learn from.
   */
  outcome: EvolveOutcome | null,
};

/**
 * How an evolution run ended, as recorded in `evolve_runs.status` (the same words on the wire).
 */
export type EvolveOutcome = "proposed" | "nothing" | "screened out" | "malformed" | "timed out" | "failed" | "done";

/**
 * What started an evolution run (stored in `evolve_runs.trigger` as the same words).
 */
export type EvolveTrigger = "session end" | "failures" | "on demand" | "curator";

/**
 * Query of `GET /api/evolve/runs`.
 */
export type Limit = { limit?: number };

/**
 * `GET /api/evolve/runs`: every recorded evolution run, newest first.
 */
export type RunList = { runs: Array<EvolveRun> };

/**
 * `POST /api/evolve/retry-failed`: how many failed turns came back.
 */
export type RetryReply = { turns: number };

/**
 * Where a candidate stands in review (stored in `candidates.status` as the same words).
 */
export type CandidateStatus = "pending" | "approved" | "rejected" | "deferred" | "stale";

/**
 * What a candidate does to the library: a new skill, or a new text for an existing one.
 */
export type CandidateAction = "create" | "edit" | "disable" | "merge";

/**
 * Query of `GET /api/candidates`.
 */
export type CandidateFilter = {
  status?: CandidateStatus,
  /**
   * Only candidates learned from this agent's turns.
   */
  agent?: AgentId,
};

/**
 * `GET /api/candidates`, newest first.
 */
export type CandidateList = { candidates: Array<Candidate> };

/**
 * One proposed skill awaiting (or past) review.
 */
export type Candidate = {
  id: number,
  run_id: number,
  created_at: number,
  status: CandidateStatus,
  action: CandidateAction,
  name: string,
  description: string,
  category: string,
  rationale: string,
  /**
   * The proposed SKILL.md.
   */
  content: string,
  /**
   * For edits: the SKILL.md it replaces.
   */
  previous: string | null,
  /**
   * The failed turns it comes from.
   */
  evidence: Array<Failure>,
  /**
   * The verification replay: `{improved, score, answer, reason}`.
   */
  replay: Replay | null,
  decided_at: number | null,
  decided_by: string | null,
  reason: string | null,
  /**
   * The library generation its approval made.
   */
  generation: number | null,
  /**
   * The turns it was learned from (its support set).
   */
  support: Array<number>,
  /**
   * The agents that sent its support turns.
   */
  agents: Array<AgentId>,
  /**
   * Risks the screen found (kind and matched text), from its content and the user's own words
   * in its evidence; a flagged candidate is never approved by the policy, only by a person.
   */
  flags: Array<Flag>,
  /**
   * For merges: the skills the merged one replaces (archived on approval).
   */
  merges: Array<string>,
  /**
   * For edits: the operations on the current SKILL.md body that `content` applies (a delta).
   */
  ops: Array<EditOp> | null,
  /**
   * Its validation set: the judge's verdicts with and without it on the turns it was learned
   * from and on earlier turns it would have matched.
   */
  validation: ValidationSummary | null,
  /**
   * For edits: the share (0..1) of the old body's lines the edit removes.
   */
  removed_share: number | null,
};

/**
 * One failed turn as shown to the evolver (and kept as a candidate's evidence).
 */
export type Failure = {
  turn_id: number,
  request: string,
  answer: string,
  /**
   * The judge's reason, or the user's note when the user scored the turn.
   */
  reason: string | null,
  /**
   * What the user said next (often the correction).
   */
  next_message: string | null,
  /**
   * Who scored the turn: `judge` or `user` (whose verdict and note replace the judge's).
   */
  source: ScoreSource,
};

/**
 * One reason a candidate needs a person's eyes: what kind of risk, and the text that matched.
 */
export type Flag = {
  kind: FlagKind,
  /**
   * The matched text (folded), at most [`EXCERPT`] characters.
   */
  excerpt: string,
};

/**
 * The kinds of risk the screen flags.
 */
export type FlagKind =
  | "fetch_execute"
  | "send_data"
  | "network"
  | "credential_path"
  | "hide_from_user"
  | "override_instructions"
  | "url"
  | "encoded_blob"
  | "removes_most_of_skill";

/**
 * One operation on a skill's body. An anchor is the text of a line of the current body
 * (compared with surrounding whitespace ignored; a unique line containing it also matches).
 */
export type EditOp =
  | { "op": "add_step", after?: string, text: string }
  | { "op": "replace_line", anchor: string, text: string }
  | { "op": "remove_line", anchor: string };

/**
 * A candidate's validation set: its verdicts, counted.
 */
export type ValidationSummary = {
  wins: number,
  ties: number,
  losses: number,
  errors: number,
  /**
   * Turns of the set left unjudged (the hourly budget ran out).
   */
  unjudged: number,
  /**
   * Why the set is incomplete, in plain words.
   */
  note: string | null,
  /**
   * False while turns of the set are still being replayed and judged (the counts can still
   * grow); true once every turn has its verdict or the rest were left unjudged.
   */
  complete: boolean,
  turns: Array<ValidationTurn>,
};

/**
 * One turn of a candidate's validation set and the judge's verdict on it.
 */
export type ValidationTurn = { turn_id: number, role: ValidationRole, verdict: ValidationVerdict, reason: string | null };

/**
 * Why a turn is in a candidate's validation set.
 */
export type ValidationRole = "failure" | "earlier";

/**
 * The judge's verdict on one turn of a validation set: the answer with the candidate against
 * the recorded one.
 */
export type ValidationVerdict = "win" | "tie" | "loss" | "error";

/**
 * A candidate's verification replay: its skill applied to one of the turns it comes from.
 */
export type Replay = { turn_id: number, improved: boolean, score: number, answer: string, reason: string | null };

/**
 * `POST /api/candidates/{id}/approve` body (optional).
 */
export type ApproveArg = {
  /**
   * The SKILL.md as edited by the user; the proposal as it is when absent.
   */
  content?: string,
  /**
   * Who the approved skill serves; the candidate's own scope when absent.
   */
  scope?: ApprovalScope,
};

/**
 * The scope an approval gives a skill.
 */
export type ApprovalScope = "agent" | "shared";

/**
 * `POST /api/candidates/{id}/reject` body (optional).
 */
export type RejectArg = { reason?: string };

/**
 * The answer to approve, reject and defer.
 */
export type DecisionReply = {
  id: number,
  status: CandidateStatus,
  /**
   * The library generation an approval made.
   */
  generation?: number,
};

/**
 * `GET /api/generations/{a}/diff/{b}`.
 */
export type GenerationDiff = { from: number, to: number, changes: Array<SkillChange> };

/**
 * One skill's change between two generations.
 */
export type SkillChange = { name: string, change: ChangeKind, before: string | null, after: string | null };

/**
 * `POST /api/generations/{id}/rollback`.
 */
export type RollbackReply = {
  rolled_back_to: number,
  /**
   * The new generation (a copy of the old one).
   */
  generation: number,
};

/**
 * Query of `GET /api/dataset` (JSON lines, one turn each).
 */
export type DatasetQuery = {
  /**
   * `query` (the default) or `support`.
   */
  split?: Split,
  limit?: number,
};

/**
 * Which turns to export.
 */
export type Split = "support" | "query";

/**
 * Query of `GET /api/learning`.
 */
export type LearningQuery = {
  limit?: number,
  /**
   * Only this agent's turns count toward each generation's signal.
   */
  agent?: AgentId,
};

/**
 * `GET /api/learning`: the learning signal per generation, newest first.
 */
export type LearningList = { generations: Array<GenerationSignal> };

/**
 * How the agent did under one library generation.
 */
export type GenerationSignal = {
  generation: number,
  reason: string,
  created_at: number,
  turns: number,
  scored: number,
  mean_score: number | null,
  /**
   * Share of scored turns that failed (-1).
   */
  failure_rate: number | null,
  /**
   * Skills injected into turns that succeeded / failed, with counts.
   */
  skills_in_success: { [key in string]: number },
  skills_in_failure: { [key in string]: number },
};

/**
 * `POST /api/learning/pause` and `/resume`.
 */
export type PauseReply = { learning_paused: boolean };
