// A skill's measured effect (issue 17) in words and badges: the verdict, the uplift in points with
// its 95% interval, how many judged turns carried it; and the orders the Skills list sorts by.

import type { SkillStats, Verdict } from "../../api/types";
import { h, s } from "../../lib/dom";
import { num } from "../../lib/format";

export const VERDICT_WORDS: Record<Verdict, string> = { helps: "helps", no_evidence: "no evidence yet", hurts: "hurts" };
const VERDICT_KIND: Record<Verdict, string> = { helps: "ok", no_evidence: "muted", hurts: "bad" };

/** Our own glyph per verdict: an arrow up (helps), a level bar (no evidence), an arrow down (hurts). */
function verdictGlyph(v: Verdict): SVGElement {
  const svg = s("svg", { viewBox: "0 0 12 12", width: 11, height: 11, "aria-hidden": "true", class: "verdict-glyph" });
  const line = { fill: "none", stroke: "currentColor", "stroke-width": 1.8, "stroke-linecap": "round", "stroke-linejoin": "round" };
  if (v === "helps") svg.append(s("path", { d: "M6 10 V2 M2.5 5.5 L6 2 L9.5 5.5", ...line }));
  else if (v === "hurts") svg.append(s("path", { d: "M6 2 V10 M2.5 6.5 L6 10 L9.5 6.5", ...line }));
  else svg.append(s("path", { d: "M2 6 H10", ...line }));
  return svg;
}

export function verdictBadge(v: Verdict): HTMLElement {
  return h("span", { class: `badge badge-${VERDICT_KIND[v]} verdict-badge`, "data-verdict": v }, verdictGlyph(v), VERDICT_WORDS[v] ?? v);
}

/** A difference of rates (−1..1) in signed percentage points: "+45", "−3", "0". */
export function points(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  const p = Math.round(x * 100);
  return p > 0 ? `+${p}` : p < 0 ? `−${-p}` : "0";
}

/** "+45 points (+17 to +64)", or null when there is no estimate. */
export function upliftText(st: SkillStats): string | null {
  if (st.uplift === null) return null;
  const range = st.uplift_low !== null && st.uplift_high !== null ? ` (${points(st.uplift_low)} to ${points(st.uplift_high)})` : "";
  return `${points(st.uplift)} points${range}`;
}

/** The Skills list's Effect cell: badge, uplift with interval, and the judged turns carrying it. */
export function effectCell(st: SkillStats | undefined): HTMLElement {
  if (!st) return h("span", { class: "effect muted small" }, "not measured");
  const up = upliftText(st);
  return h(
    "span",
    { class: "effect", title: st.summary },
    verdictBadge(st.verdict),
    up ? h("span", { class: "effect-uplift" }, up) : null,
    h("span", { class: "effect-n muted small" }, `${num(st.carried.turns)} carried, ${num(st.carried.judged)} judged`),
  );
}

export type SortKey = "name" | "uses" | "effect";
export type SortDir = "ascending" | "descending";

const RANK: Record<Verdict, number> = { hurts: 0, no_evidence: 1, helps: 2 };

/** The primary order by `key`, ascending (0 on a tie); unmeasured skills count as no evidence, no uses. */
function primary(key: SortKey, a: string, b: string, stats: Map<string, SkillStats>): number {
  if (key === "name") return a.localeCompare(b);
  const x = stats.get(a);
  const y = stats.get(b);
  if (key === "uses") return (x?.injected ?? 0) - (y?.injected ?? 0);
  return RANK[x?.verdict ?? "no_evidence"] - RANK[y?.verdict ?? "no_evidence"] || (x?.uplift ?? 0) - (y?.uplift ?? 0);
}

/** `items` sorted by `key` in `dir` (a new array); ties are broken by name, A to Z either way. */
export function sortSkills<T extends { name: string }>(items: T[], key: SortKey, dir: SortDir, stats: Map<string, SkillStats>): T[] {
  const sign = dir === "ascending" ? 1 : -1;
  return [...items].sort((a, b) => sign * primary(key, a.name, b.name, stats) || a.name.localeCompare(b.name));
}
