// What issue 17 adds to a Review candidate (delta operations, the validation set, the share of
// lines an edit removes, what a merge replaces), as the UI reads it. Imported directly, not
// through ../types: the generated Candidate carries the same fields once the engine's types are
// committed, and these shapes accept both it and an older engine that sends none of them.

import type { Candidate } from "../generated";

/** One delta operation on a skill's text (serde tag = "op"); `after` absent = at the end. */
export type Op =
  | { op: "add_step"; after?: string | null; text: string }
  | { op: "replace_line"; anchor: string; text: string }
  | { op: "remove_line"; anchor: string };

export type CheckTurn = { turn_id: number; role: string; verdict: string; reason: string | null };

export type CheckSummary = { wins: number; ties: number; losses: number; errors: number; unjudged?: number; note?: string | null; turns: Array<CheckTurn> };

/** A candidate with issue 17's fields, each optional (older engines lack them). */
export type Measured = Omit<Candidate, "ops" | "validation" | "removed_share" | "merges"> & {
  ops?: Array<Op> | null;
  validation?: CheckSummary | null;
  removed_share?: number | null;
  merges?: Array<string> | null;
};

/** `c` read with issue 17's fields. */
export function measured(c: Candidate): Measured {
  return c as unknown as Measured;
}
