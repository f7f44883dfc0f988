// Generated from the Rust types in src/api/types/ by ts-rs: do not edit by hand.
// Regenerate with: METACLAW_WRITE_TS=1 cargo test --lib api::types
import type { AgentId } from "./status";

/**
 * Whether a skill makes judged turns go better.
 */
export type Verdict = "helps" | "no_evidence" | "hurts";

/**
 * Judged outcomes of a set of turns: how many, how many were judged, won (score > 0) and lost
 * (score < 0); `rate` = wins / judged with its Wilson 95% interval (`None` with no judged turn).
 */
export type Rate = {
  turns: number,
  judged: number,
  wins: number,
  losses: number,
  rate: number | null,
  low: number | null,
  high: number | null,
};

/**
 * How many turns of one agent carried a skill.
 */
export type AgentUse = { agent: AgentId, injected: number };

/**
 * One skill's effectiveness.
 */
export type SkillStats = {
  name: string,
  /**
   * Turns that carried it.
   */
  injected: number,
  /**
   * Matching turns it was withheld from for comparison.
   */
  held_out: number,
  /**
   * Turns that carried it, per agent (most first).
   */
  by_agent: Array<AgentUse>,
  /**
   * Turns that carried it.
   */
  carried: Rate,
  /**
   * Turns it would have matched but did not carry (held out, over the budget, disabled, not
   * yet written).
   */
  comparison: Rate,
  /**
   * carried.rate − comparison.rate, with its Newcombe 95% interval.
   */
  uplift: number | null,
  uplift_low: number | null,
  uplift_high: number | null,
  verdict: Verdict,
  /**
   * When a turn last carried it (ms since the epoch).
   */
  last_injected: number | null,
  /**
   * The verdict and its numbers in plain words.
   */
  summary: string,
};

/**
 * Query of `GET /api/skills-stats`.
 */
export type StatsQuery = {
  /**
   * Only this agent's turns.
   */
  agent?: AgentId,
};

/**
 * `GET /api/skills-stats`: every skill with exposure, and how long computing took.
 */
export type SkillStatsList = { skills: Array<SkillStats>, computed_ms: number };

/**
 * One UTC day of a skill's outcomes.
 */
export type SkillStatsDay = {
  /**
   * ms since the epoch at 00:00 UTC.
   */
  day: number,
  carried: Rate,
  comparison: Rate,
};

/**
 * `GET /api/skills/{name}/stats`: the skill's statistics and its per-day series.
 */
export type SkillStatsDetail = {
  /**
   * Oldest first.
   */
  days: Array<SkillStatsDay>,
  name: string,
  /**
   * Turns that carried it.
   */
  injected: number,
  /**
   * Matching turns it was withheld from for comparison.
   */
  held_out: number,
  /**
   * Turns that carried it, per agent (most first).
   */
  by_agent: Array<AgentUse>,
  /**
   * Turns that carried it.
   */
  carried: Rate,
  /**
   * Turns it would have matched but did not carry (held out, over the budget, disabled, not
   * yet written).
   */
  comparison: Rate,
  /**
   * carried.rate − comparison.rate, with its Newcombe 95% interval.
   */
  uplift: number | null,
  uplift_low: number | null,
  uplift_high: number | null,
  verdict: Verdict,
  /**
   * When a turn last carried it (ms since the epoch).
   */
  last_injected: number | null,
  /**
   * The verdict and its numbers in plain words.
   */
  summary: string,
};
