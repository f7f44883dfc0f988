// The admin API's JSON shapes for skills, generations and the learning loop.
// Each mirrors the Rust item it names, field for field (serde names); tests/ui/api-types.test.mjs
// checks them against the engine's real responses. Times are ms since the epoch; Option<T> is T | null.

import type { Json, Problem } from "./core";

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
  | { type: "train_changed"; state: string; serving?: string | null }
  | { type: "train_run_ended"; run_id: number; status: string; detail: string }
  | { type: string; [key: string]: Json };
