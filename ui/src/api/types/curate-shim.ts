// The curator's API shapes (design6), by hand until the engine's generated ones
// (../generated/curate.ts) are committed; imported directly (not through ../types), so the two
// never clash. Removed once the generated file lands.

export type CurateKind = "archive" | "disable" | "merge";

export type CurateAction = { kind: CurateKind; skills: Array<string>; reason: string; evidence: string; applied: boolean; candidate: number | null };

export type CurateReport = { dry_run: boolean; actions: Array<CurateAction>; generation: number | null };

export type ArchivedSkill = { name: string; reason: string; archived_at: number; description: string };

export type ArchiveList = { skills: Array<ArchivedSkill> };

export type PinArg = { pinned: boolean };

export type PinReply = { name: string; pinned: boolean; generation: number };

/** A skill (summary or detail) with its pin; older engines send none. */
export type Pinnable = { pinned?: boolean };
