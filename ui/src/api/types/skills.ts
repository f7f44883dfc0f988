// The engine's event stream (`GET /api/events`), hand-written: its catch-all member (event types
// from newer engines pass through) is something ts-rs cannot express. Every other type of the
// skills and learning resources is generated (../generated/skills.ts, ../generated/learning.ts).

import type { Json } from "./core";

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
  | { type: "upstream_failed"; upstream: string; status: number; error: string }
  | { type: "judge_failed"; turn_id: number; error: string; retry_at_ms: number | null }
  | { type: "evolver_ran"; run_id: number; outcome: string; error: string | null; retry_at_ms: number | null }
  | { type: "calendar_refreshed"; calendar: number; error: string | null }
  | { type: "skill_stats_updated"; turns: number }
  | { type: "candidate_validated"; id: number; wins: number; ties: number; losses: number }
  | { type: "curate_ran"; actions: number; dry_run: boolean }
  | { type: "skill_archived"; name: string; archived: boolean }
  | { type: string; [key: string]: Json };
