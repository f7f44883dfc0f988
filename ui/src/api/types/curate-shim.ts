// A skill's pin as the UI reads it, until the generated SkillSummary and SkillDetail (with
// `pinned`) are committed; older engines send none. Removed once they land.

/** A skill (summary or detail) with its pin. */
export type Pinnable = { pinned?: boolean };
