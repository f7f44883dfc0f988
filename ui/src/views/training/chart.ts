// Training view: one value per step of a run (mean reward, loss) as a small line chart.

import type { TrainStep as Step } from "../../api/types";
import { h, s } from "../../lib/dom";

/** One value per step as a small line chart (inline SVG), with a visually hidden table of the
 * same numbers for screen readers. */
export function stepChart(steps: Step[], pick: (s: Step) => number | null, o: { label: string; cls: string; dot: string; fmt: (v: number) => string; zero: boolean }): HTMLElement {
  const pts = steps.flatMap((x) => {
    const v = pick(x);
    return v === null || !Number.isFinite(v) ? [] : [{ id: x.id, v }];
  });
  const caption = h("figcaption", { class: "chart-title" }, `${o.label} per step`);
  if (!pts.length) return h("figure", { class: "chart-fig" }, caption, h("p", { class: "muted small" }, `No ${o.label.toLowerCase()} recorded yet.`));
  const W = 360;
  const H = 150;
  const pad = { l: 44, r: 10, t: 10, b: 24 };
  let lo = Math.min(...pts.map((p) => p.v));
  let hi = Math.max(...pts.map((p) => p.v));
  if (o.zero) {
    lo = Math.min(lo, 0);
    hi = Math.max(hi, 0);
  }
  if (hi - lo < 1e-9) {
    const d = Math.abs(hi) * 0.1 || 1;
    lo -= d;
    hi += d;
  }
  const n = pts.length;
  const x = (i: number) => pad.l + (n === 1 ? (W - pad.l - pad.r) / 2 : (i * (W - pad.l - pad.r)) / (n - 1));
  const y = (v: number) => pad.t + ((hi - v) / (hi - lo)) * (H - pad.t - pad.b);
  const d = pts.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
  const ticks = [hi, lo, ...(o.zero && lo < 0 && hi > 0 ? [0] : [])];
  const first = pts[0];
  const last = pts[n - 1];
  const summary = `${o.label} per step: ${n} step${n === 1 ? "" : "s"}, from ${o.fmt(first.v)} (step #${first.id}) to ${o.fmt(last.v)} (step #${last.id}), lowest ${o.fmt(Math.min(...pts.map((p) => p.v)))}, highest ${o.fmt(Math.max(...pts.map((p) => p.v)))}.`;
  const svg = s(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, class: "chart chart-small", role: "img", "aria-label": summary },
    s("title", null, summary),
    ticks.map((v) => s("g", null, s("line", { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), class: "grid" }), s("text", { x: pad.l - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, o.fmt(v)))),
    s("text", { x: x(0), y: H - 6, "text-anchor": n === 1 ? "middle" : "start", class: "axis" }, `#${first.id}`),
    n > 1 ? s("text", { x: x(n - 1), y: H - 6, "text-anchor": "end", class: "axis" }, `#${last.id}`) : null,
    n > 1 ? s("path", { d, class: o.cls }) : null,
    pts.map((p, i) => s("circle", { cx: x(i), cy: y(p.v), r: n > 60 ? 2 : 3.5, class: o.dot }, s("title", null, `step #${p.id}: ${o.fmt(p.v)}`))),
  );
  return h(
    "figure",
    { class: "chart-fig" },
    caption,
    svg,
    h(
      "table",
      { class: "sr-only" },
      h("caption", null, `${o.label} per step`),
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Step"), h("th", { scope: "col" }, o.label))),
      h("tbody", null, pts.map((p) => h("tr", null, h("th", { scope: "row" }, `#${p.id}`), h("td", null, o.fmt(p.v))))),
    ),
  );
}
