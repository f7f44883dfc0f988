// The setup checklist (key works, first turn, first judged, first skill) with live ticks: drawn
// from GET /api/setup and redrawn on the engine's turn, score and candidate events.

import type { App } from "../../app";
import type { ChecklistItem, EngineEvent } from "../../api/types";
import { h, replace, s } from "../../lib/dom";
import { dateTime } from "../../lib/format";
import { failure, loading } from "../../lib/ui";
import { setupStatus } from "./api";

/** Our own tick and pending marks (no emoji or font glyphs). */
function mark(done: boolean): SVGElement {
  return done
    ? s("svg", { viewBox: "0 0 20 20", width: 20, height: 20, "aria-hidden": "true", class: "tick tick-done" }, s("circle", { cx: 10, cy: 10, r: 9 }), s("path", { d: "M5.5 10.5 L8.7 13.5 L14.5 7" }))
    : s("svg", { viewBox: "0 0 20 20", width: 20, height: 20, "aria-hidden": "true", class: "tick tick-todo" }, s("circle", { cx: 10, cy: 10, r: 8.5 }));
}

export function checklistList(items: ChecklistItem[]): HTMLElement {
  return h(
    "ul",
    { class: "setup-checklist", "aria-label": "Setup checklist" },
    items.map((i) =>
      h(
        "li",
        { "data-step": i.step, "data-done": String(i.done_at !== null), class: i.done_at !== null ? "done" : "" },
        mark(i.done_at !== null),
        h("span", { class: "setup-check-label" }, i.label),
        h("span", { class: "sr-only" }, i.done_at !== null ? ": done" : ": not yet"),
        i.done_at !== null ? h("span", { class: "hint" }, dateTime(i.done_at)) : null,
      ),
    ),
  );
}

/** Events after which a tick may have changed. */
export const TICK_EVENTS = new Set<EngineEvent["type"]>(["turn_recorded", "turn_scored", "candidate_proposed"]);

/**
 * A live checklist in `el`: calls `onItems` (if given) with each fresh answer; returns the
 * function that stops listening.
 */
export function liveChecklist(app: App, el: HTMLElement, onItems?: (items: ChecklistItem[]) => void): () => void {
  const abort = new AbortController();
  let first = true;
  let allDone = false;
  // One request at a time; events that arrive meanwhile ask for one more (a busy proxy sends many).
  let busy = false;
  let again = false;
  const draw = async (): Promise<void> => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    if (first) replace(el, loading("Loading the checklist"));
    try {
      const st = await setupStatus(app.api, abort.signal);
      replace(el, checklistList(st.checklist));
      allDone = st.checklist.every((i) => i.done_at !== null);
      onItems?.(st.checklist);
    } catch (e) {
      if ((e as Error).name === "AbortError") return;
      if (first) replace(el, failure(e, () => void draw()));
    } finally {
      busy = false;
    }
    first = false;
    if (again && !allDone) {
      again = false;
      void draw();
    }
  };
  void draw();
  const off = app.on((e) => {
    if (!allDone && TICK_EVENTS.has(e.type)) void draw();
  });
  // An event can come before its turn is in the database: look again now and then until all is ticked.
  const timer = setInterval(() => {
    if (!allDone) void draw();
  }, 5000);
  return () => {
    abort.abort();
    off();
    clearInterval(timer);
  };
}
