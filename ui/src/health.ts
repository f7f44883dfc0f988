// The top bar's health pill: the worst of MetaClaw's parts (upstream, judge, evolver, training,
// calendars, disk) from /api/status's `health`, and a popover listing each with its last error
// and next retry. A button (Enter/Space/click) toggles the popover; Escape or a click outside
// closes it and gives focus back to the pill.

import type { Component, ComponentHealth, HealthReport, HealthState } from "./api/types";
import { h, replace, s } from "./lib/dom";

const LABELS: Record<Component, string> = {
  upstream: "Upstream",
  judge: "Judge",
  evolver: "Evolver",
  trainer: "Training",
  calendars: "Calendars",
  disk: "Disk",
};

const WORDS: Record<HealthState, string> = { ok: "OK", degraded: "Degraded", failing: "Failing", off: "Off" };
const RANK: Record<HealthState, number> = { off: 0, ok: 1, degraded: 2, failing: 3 };

/** The component that speaks for the report: the worst one that is not ok (first of equals). */
export function worst(r: HealthReport): ComponentHealth | null {
  let w: ComponentHealth | null = null;
  for (const c of r.components) if (RANK[c.state] > RANK.ok && (!w || RANK[c.state] > RANK[w.state])) w = c;
  return w;
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 2) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

function within(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s === 0) return "now";
  if (s < 60) return `in ${s} s`;
  if (s < 3600) return `in ${Math.ceil(s / 60)} min`;
  return `in ${Math.ceil(s / 3600)} h`;
}

/** Our own status glyph: a filled dot (ok), a dot with a ring (degraded), a cross (failing). */
function glyph(state: HealthState | "unknown"): SVGElement {
  const svg = s("svg", { viewBox: "0 0 12 12", width: 12, height: 12, "aria-hidden": "true", class: "health-glyph" });
  if (state === "failing") {
    svg.append(s("circle", { cx: 6, cy: 6, r: 6, fill: "currentColor" }), s("path", { d: "M4 4 L8 8 M8 4 L4 8", stroke: "var(--bg-elev)", "stroke-width": 1.6, "stroke-linecap": "round" }));
  } else if (state === "degraded") {
    svg.append(s("circle", { cx: 6, cy: 6, r: 5, fill: "none", stroke: "currentColor", "stroke-width": 2 }), s("circle", { cx: 6, cy: 6, r: 2, fill: "currentColor" }));
  } else {
    svg.append(s("circle", { cx: 6, cy: 6, r: state === "off" ? 3 : 5, fill: "currentColor" }));
  }
  return svg;
}

function row(c: ComponentHealth, now: number): HTMLElement {
  const facts: string[] = [];
  if (RANK[c.state] > RANK.ok) {
    if (c.failures > 1) facts.push(`${c.failures} failures in a row`);
    if (c.error_at_ms !== null) facts.push(`last ${ago(now - c.error_at_ms)}`);
    if (c.next_retry_ms !== null) facts.push(`next try ${within(c.next_retry_ms - now)}`);
  }
  return h(
    "li",
    { class: `health-row health-${c.state}`, "data-component": c.component },
    h("span", { class: "health-name" }, glyph(c.state), LABELS[c.component] ?? c.component),
    h("span", { class: "health-state" }, WORDS[c.state] ?? c.state),
    RANK[c.state] > RANK.ok && c.error ? h("p", { class: "health-error" }, c.error) : null,
    facts.length ? h("p", { class: "health-facts muted small" }, facts.join(" · ")) : null,
  );
}

export interface HealthPill {
  /** The pill (a button) and its popover, for the top bar. */
  el: HTMLElement;
  /** Shows `r` (null: not known yet, the pill hides). */
  paint(r: HealthReport | null): void;
  destroy(): void;
}

export function healthPill(): HealthPill {
  const label = h("span", { class: "health-label" }, "Health");
  const pill = h(
    "button",
    { type: "button", id: "health-pill", class: "health-pill health-unknown", hidden: true, "aria-haspopup": "dialog", "aria-expanded": "false", "aria-controls": "health-popover" },
    glyph("unknown"),
    label,
  ) as HTMLButtonElement;
  const list = h("ul", { class: "health-list" });
  const pop = h(
    "div",
    { id: "health-popover", class: "health-popover", role: "dialog", "aria-labelledby": "health-title", tabindex: -1, hidden: true },
    h("h2", { id: "health-title" }, "Health"),
    list,
  );
  let report: HealthReport | null = null;

  const open = (on: boolean, focusPill = false) => {
    pop.hidden = !on;
    pill.setAttribute("aria-expanded", String(on));
    if (on) {
      fill();
      pop.focus();
    } else if (focusPill) pill.focus();
  };
  const fill = () => {
    const now = Date.now();
    replace(list, ...(report?.components ?? []).map((c) => row(c, now)));
  };
  pill.addEventListener("click", () => open(pop.hidden));
  pop.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      open(false, true);
    }
  });
  pill.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !pop.hidden) {
      e.preventDefault();
      open(false, true);
    }
  });
  const outside = (e: MouseEvent) => {
    if (!pop.hidden && !wrap.contains(e.target as Node)) open(false);
  };
  document.addEventListener("mousedown", outside);

  const wrap = h("div", { class: "health-wrap" }, pill, pop);
  return {
    el: wrap,
    paint(r) {
      report = r;
      pill.hidden = r === null;
      if (!r) return open(false);
      const w = worst(r);
      const state: HealthState = w ? w.state : "ok";
      pill.className = `health-pill health-${state}`;
      replace(pill, glyph(state), h("span", { class: "health-label" }, w ? `${WORDS[state]}: ${LABELS[w.component] ?? w.component}` : "Healthy"));
      pill.setAttribute("aria-label", w ? `Health: ${WORDS[state].toLowerCase()}, ${LABELS[w.component] ?? w.component}${w.error ? `: ${w.error}` : ""}. Show details` : "Health: every part is fine. Show details");
      pill.title = w?.error ?? "Every part of MetaClaw is working";
      if (!pop.hidden) fill();
    },
    destroy() {
      document.removeEventListener("mousedown", outside);
    },
  };
}
