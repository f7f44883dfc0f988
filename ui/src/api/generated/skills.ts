// Generated from the Rust types in src/api/types/ by ts-rs: do not edit by hand.
// Regenerate with: METACLAW_WRITE_TS=1 cargo test --lib api::types
import type { Problem } from "./error";
import type { AgentId } from "./status";

/**
 * Where a skill came from.
 */
export type Origin = "builtin" | "user" | "evolved";

/**
 * A skill as listed (no body).
 */
export type SkillSummary = {
  name: string,
  description: string,
  category: string,
  origin: Origin,
  enabled: boolean,
  path: string,
  overrides_builtin: boolean,
  tokens: number,
  hash: string,
  /**
   * The agents the skill is for; empty: shared by every agent.
   */
  agents: Array<AgentId>,
  /**
   * The user pinned it (the curator keeps it; it is never held out).
   */
  pinned: boolean,
};

/**
 * Query of `GET /api/skills`.
 */
export type SkillQuery = {
  /**
   * Case-insensitive text in the name or description.
   */
  q?: string,
  category?: string,
  origin?: Origin,
  enabled?: boolean,
};

/**
 * `GET /api/skills`.
 */
export type SkillList = {
  generation: number,
  skills: Array<SkillSummary>,
  /**
   * Files that could not be loaded, with file, line and reason.
   */
  problems: Array<Problem>,
  warnings: Array<Problem>,
};

/**
 * One skill.
 */
export type Skill = {
  name: string,
  description: string,
  body: string,
  license: string | null,
  compatibility: string | null,
  allowed_tools: Array<string>,
  metadata: { [key in string]: string },
  origin: Origin,
  /**
   * Content hash of the rendered SKILL.md; a change of it is a change of the skill.
   */
  hash: string,
  /**
   * The agents the skill is for (front matter `agents:`); empty means shared by every agent.
   */
  agents?: Array<AgentId>,
};

/**
 * One skill in a snapshot, with its state.
 */
export type Entry = {
  enabled: boolean,
  /**
   * The SKILL.md on disk (user skills), or `builtin:<name>`.
   */
  path: string,
  /**
   * A user skill that replaces a built-in of the same name.
   */
  overrides_builtin: boolean,
  /**
   * The user pinned it: the curator keeps it whatever its use, and it is never held out.
   */
  pinned: boolean,
  name: string,
  description: string,
  body: string,
  license: string | null,
  compatibility: string | null,
  allowed_tools: Array<string>,
  metadata: { [key in string]: string },
  origin: Origin,
  /**
   * Content hash of the rendered SKILL.md; a change of it is a change of the skill.
   */
  hash: string,
  /**
   * The agents the skill is for (front matter `agents:`); empty means shared by every agent.
   */
  agents?: Array<AgentId>,
};

/**
 * `GET /api/skills/{name}`: the skill, its state and its SKILL.md text.
 */
export type SkillDetail = {
  content: string,
  enabled: boolean,
  /**
   * The SKILL.md on disk (user skills), or `builtin:<name>`.
   */
  path: string,
  /**
   * A user skill that replaces a built-in of the same name.
   */
  overrides_builtin: boolean,
  /**
   * The user pinned it: the curator keeps it whatever its use, and it is never held out.
   */
  pinned: boolean,
  name: string,
  description: string,
  body: string,
  license: string | null,
  compatibility: string | null,
  allowed_tools: Array<string>,
  metadata: { [key in string]: string },
  origin: Origin,
  /**
   * Content hash of the rendered SKILL.md; a change of it is a change of the skill.
   */
  hash: string,
  /**
   * The agents the skill is for (front matter `agents:`); empty means shared by every agent.
   */
  agents?: Array<AgentId>,
};

/**
 * A skill to write (`POST /api/skills`, `PUT /api/skills/{name}`): either the whole SKILL.md,
 * or its parts.
 */
export type SkillWrite = { name?: string, content?: string, description?: string, body?: string, category?: string };

/**
 * The answer to every change of the library: the generation it made.
 */
export type GenerationReply = { generation: number };

/**
 * One deleted skill in the trash.
 */
export type TrashItem = { name: string, path: string, deleted_at: number };

/**
 * `GET /api/skills-trash`.
 */
export type TrashList = { trash: Array<TrashItem> };

/**
 * Body of validate, import and export: a folder of `<name>/SKILL.md`.
 */
export type PathArg = {
  path: string,
  /**
   * Import only: replace skills of the same name (default: no).
   */
  overwrite?: boolean,
};

/**
 * One skill's validation result.
 */
export type Validation = { name: string | null, ok: boolean, problem: Problem | null, warnings: Array<Problem> };

/**
 * `POST /api/skills/validate`.
 */
export type ValidationList = { skills: Array<Validation> };

/**
 * What an import did.
 */
export type ImportReport = {
  imported: Array<string>,
  skipped_existing: Array<string>,
  invalid: Array<Problem>,
  warnings: Array<Problem>,
};

/**
 * `POST /api/skills/import`.
 */
export type ImportReply = {
  generation: number,
  imported: Array<string>,
  skipped_existing: Array<string>,
  invalid: Array<Problem>,
  warnings: Array<Problem>,
};

/**
 * `POST /api/skills/export`: how many skills were written.
 */
export type ExportReply = { exported: number };

/**
 * `POST /api/skills/explain` body.
 */
export type ExplainArg = { query: string };

/**
 * `skills explain`: what a request would get, and why.
 */
export type Explanation = {
  generation: number,
  query_terms: Array<string>,
  candidates: Array<ExplainCandidate>,
  block: string,
  tokens: number,
};

/**
 * Why a candidate skill was or wasn't injected.
 */
export type ExplainCandidate = {
  name: string,
  score: number,
  terms: Array<string>,
  injected: boolean,
  /**
   * Set when not injected: `below min_score`, `over top_k` or `over the token budget`.
   */
  dropped: string | null,
  tokens: number,
  /**
   * Cosine similarity to the request, when semantic retrieval is on.
   */
  similarity: number | null,
};

/**
 * One skill's change in a generation.
 */
export type GenerationChangeEntry = { skill: string, change: ChangeKind, hash?: string, from?: string };

/**
 * How a skill changed between two generations.
 */
export type ChangeKind = "added" | "removed" | "modified";

/**
 * One generation of the library.
 */
export type Generation = {
  id: number,
  created_at: number,
  reason: string,
  /**
   * What changed (kept as recorded: older records may have another shape).
   */
  changes: Array<GenerationChangeEntry>,
  /**
   * Number of active skills.
   */
  active: number,
};

/**
 * `GET /api/generations`, newest first.
 */
export type GenerationList = { generations: Array<Generation> };
