// The skill page's measured effect: the verdict sentence, uses per agent, and a small chart per
// UTC day of the success rate of judged turns that carried the skill against comparable turns
// without it (inline SVG), with the same numbers as a table.

import type { Rate, SkillStatsDay, SkillStatsDetail } from "../../api/types";
import { h, s } from "../../lib/dom";
import { dateTime, num, pct } from "../../lib/format";
import { upliftText, verdictBadge } from "./effect";

const dayFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });

function day(ms: number): string {
  return dayFmt.format(new Date(ms));
}

function rateText(r: Rate): string {
  return r.judged ? `${pct(r.rate)} (${num(r.wins)} of ${num(r.judged)})` : "—";
}

/** The chart of carried vs comparison success rate per day; days without judged turns are gaps. */
export function effectChart(days: SkillStatsDay[], name: string): HTMLElement {
  const caption = h("figcaption", { class: "chart-title" }, "Success rate per day, with and without the skill");
  const judged = days.filter((d) => d.carried.judged || d.comparison.judged);
  if (!judged.length) return h("figure", { class: "chart-fig", id: "effect-chart" }, caption, h("p", { class: "muted small" }, "No judged turns that could carry this skill yet."));
  const W = 420;
  const H = 160;
  const pad = { l: 40, r: 10, t: 10, b: 24 };
  const first = judged[0].day;
  const last = judged[judged.length - 1].day;
  const span = Math.max(1, last - first);
  const x = (ms: number) => (first === last ? (pad.l + W - pad.r) / 2 : pad.l + ((ms - first) / span) * (W - pad.l - pad.r));
  const y = (v: number) => pad.t + (1 - v) * (H - pad.t - pad.b);
  const series = (pick: (d: SkillStatsDay) => Rate, cls: string, dot: string, label: string) => {
    const pts = judged.flatMap((d) => {
      const r = pick(d);
      return r.judged && r.rate !== null ? [{ d: d.day, v: r.rate, r }] : [];
    });
    const path = pts.map((p, i) => `${i ? "L" : "M"}${x(p.d).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
    return [
      pts.length > 1 ? s("path", { d: path, class: cls }) : null,
      pts.map((p) => s("circle", { cx: x(p.d), cy: y(p.v), r: 3.5, class: dot }, s("title", null, `${day(p.d)}, ${label}: ${rateText(p.r)}`))),
    ];
  };
  const total = (pick: (d: SkillStatsDay) => Rate) => judged.reduce((a, d) => ({ w: a.w + pick(d).wins, j: a.j + pick(d).judged }), { w: 0, j: 0 });
  const c = total((d) => d.carried);
  const o = total((d) => d.comparison);
  const summary = `Success rate per day from ${day(first)} to ${day(last)} (${judged.length} day${judged.length === 1 ? "" : "s"} with judged turns): with ${name}, ${num(c.w)} of ${num(c.j)} judged turns went well; without it, ${num(o.w)} of ${num(o.j)}.`;
  const svg = s(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, class: "chart chart-small", role: "img", "aria-label": summary },
    s("title", null, summary),
    [1, 0.5, 0].map((v) => s("g", null, s("line", { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), class: "grid" }), s("text", { x: pad.l - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, `${v * 100}%`))),
    s("text", { x: x(first), y: H - 6, "text-anchor": first === last ? "middle" : "start", class: "axis" }, day(first)),
    first !== last ? s("text", { x: x(last), y: H - 6, "text-anchor": "end", class: "axis" }, day(last)) : null,
    series((d) => d.comparison, "series-without", "dot-without", "without"),
    series((d) => d.carried, "series-with", "dot-with", "with"),
  );
  const table = h(
    "table",
    { class: "data effect-table", id: "effect-table" },
    h("caption", { class: "sr-only" }, `Success rate per day with and without ${name}`),
    h("thead", null, h("tr", null, h("th", { scope: "col" }, "Day (UTC)"), h("th", { scope: "col" }, "With the skill"), h("th", { scope: "col" }, "Without (comparable)"))),
    h("tbody", null, judged.map((d) => h("tr", null, h("th", { scope: "row" }, day(d.day)), h("td", null, rateText(d.carried)), h("td", null, rateText(d.comparison))))),
  );
  return h(
    "figure",
    { class: "chart-fig", id: "effect-chart" },
    caption,
    h("div", { class: "legend", "aria-hidden": "true" }, h("span", { class: "key key-with" }, "with the skill"), h("span", { class: "key key-without" }, "comparable turns without it")),
    svg,
    h("details", { class: "effect-numbers" }, h("summary", null, "The numbers per day"), h("div", { class: "table-wrap" }, table)),
  );
}

/** The skill page's "Effect" section: verdict, its sentence, uses per agent and the chart. */
export function effectSection(st: SkillStatsDetail): HTMLElement {
  const up = upliftText(st);
  return h(
    "section",
    { class: "effect-section", "aria-labelledby": "effect-h", id: "skill-effect" },
    h("h3", { id: "effect-h" }, "Effect"),
    h("p", { class: "row" }, verdictBadge(st.verdict), up ? h("strong", null, `uplift ${up}`) : null),
    h("p", { class: "effect-summary", id: "effect-summary" }, st.summary),
    h(
      "dl",
      { class: "kv", id: "effect-uses" },
      h("dt", null, "Carried by"),
      h("dd", null, `${num(st.injected)} turn${st.injected === 1 ? "" : "s"}${st.held_out ? `, held out of ${num(st.held_out)} for comparison` : ""}`),
      st.by_agent.length ? [h("dt", null, "Per agent"), h("dd", null, h("ul", { class: "plain-list" }, st.by_agent.map((a) => h("li", null, `${a.agent}: ${num(a.injected)}`))))] : null,
      h("dt", null, "Last carried"),
      h("dd", null, st.last_injected ? dateTime(st.last_injected) : "never"),
      h("dt", null, "With it"),
      h("dd", null, rateText(st.carried)),
      h("dt", null, "Without it"),
      h("dd", null, rateText(st.comparison)),
    ),
    effectChart(st.days, st.name),
  );
}
