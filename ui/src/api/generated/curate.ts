// Generated from the Rust types in src/api/types/ by ts-rs: do not edit by hand.
// Regenerate with: METACLAW_WRITE_TS=1 cargo test --lib api::types

/**
 * What the curator does with skills.
 */
export type CurateKind = "archive" | "disable" | "merge";

/**
 * One thing the curator did (or, in a dry run, would do), and why.
 */
export type CurateAction = {
  kind: CurateKind,
  /**
   * The skills it concerns (a merge: the ones it would replace).
   */
  skills: Array<string>,
  /**
   * Why, in plain words.
   */
  reason: string,
  /**
   * The numbers behind it (last use, verdict, similarity).
   */
  evidence: string,
  /**
   * It was carried out (archived) or proposed (a candidate in Review); false in a dry run
   * and when it could not be done (the reason says why).
   */
  applied: boolean,
  /**
   * The Review candidate it made (disable, merge).
   */
  candidate: number | null,
};

/**
 * `POST /api/curate`: what a curation run did or would do.
 */
export type CurateReport = {
  dry_run: boolean,
  actions: Array<CurateAction>,
  /**
   * The library generation the archiving made, if it archived anything.
   */
  generation: number | null,
};

/**
 * Body of `POST /api/curate`.
 */
export type CurateArg = { dry_run: boolean };

/**
 * One skill in the archive.
 */
export type ArchivedSkill = { name: string, reason: string, archived_at: number, description: string };

/**
 * `GET /api/skills-archive`, newest first.
 */
export type ArchiveList = { skills: Array<ArchivedSkill> };

/**
 * Body of `POST /api/skills/{name}/pin`.
 */
export type PinArg = { pinned: boolean };

/**
 * The answer to a pin or unpin: the skill's pin and the library generation (a pin does not
 * change the set of active skills, so it is the one in force).
 */
export type PinReply = { name: string, pinned: boolean, generation: number };
