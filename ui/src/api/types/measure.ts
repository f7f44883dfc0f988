// Issue 17's API shapes (validation sets and delta edits), written by hand
// from design6's contracts until the engine's generated types (../generated) carry them; each one
// is removed here once its generated twin lands.

/** One delta operation on a skill's text (serde tag = "op"). */
export type EditOp =
  | { op: "add_step"; after: string | null; text: string }
  | { op: "replace_line"; anchor: string; text: string }
  | { op: "remove_line"; anchor: string };

export type ValidationTurn = { turn_id: number; role: string; verdict: string; reason: string | null };

export type ValidationSummary = { wins: number; ties: number; losses: number; errors: number; unjudged?: number; note?: string | null; turns: Array<ValidationTurn> };

/** What issue 17 adds to a Candidate (optional: older engines lack them). */
export type CandidateMeasure = {
  ops?: Array<EditOp> | null;
  validation?: ValidationSummary | null;
  removed_share?: number | null;
  merges?: Array<string> | null;
};
