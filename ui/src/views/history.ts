// History: the library's generations, what changed and why, a diff of any two, and rollback.

import type { App, View } from "../app";
import type { Generation, GenerationDiff, GenerationSignal } from "../api/types";
import { field, h, replace } from "../lib/dom";
import { renderDiff } from "../lib/diff";
import { dateTime, num, pct } from "../lib/format";
import { badge, confirmDialog, empty, errorMessage, load, loading, roving, toast } from "../lib/ui";

export function historyView(app: App): View {
  let limit = 100;
  const timeline = h("div", { class: "timeline-wrap" }, loading("Loading generations"));
  const diffEl = h("div", { "aria-live": "polite" });
  const a = h("select", { id: "diff-a" }) as HTMLSelectElement;
  const b = h("select", { id: "diff-b" }) as HTMLSelectElement;
  const go = h("button", { type: "submit", class: "btn btn-primary", id: "diff-go" }, "Compare");
  const form = h("form", { class: "filters", "aria-label": "Compare two generations" }, field("From generation", a), field("To generation", b), h("div", { class: "field field-btn" }, go));
  // The learning signal of one agent's turns only; the agents come from GET /api/agents (the list
  // stays usable if this fails), like Turns' agent filter. "Any" = every agent.
  let agent = "";
  const agentSel = h("select", { id: "history-agent" }, h("option", { value: "" }, "Any")) as HTMLSelectElement;
  void app.api.agents().then(
    (r) => agentSel.append(...r.agents.map((x) => h("option", { value: x.agent }, `${x.agent} (${x.turns})`))),
    () => undefined,
  );
  agentSel.addEventListener("change", () => {
    agent = agentSel.value;
    void reload();
  });
  const agentForm = h("form", { class: "filters", role: "search", "aria-label": "Learning signal of one agent", onsubmit: (e: Event) => e.preventDefault() }, field("Agent", agentSel));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void showDiff(Number(a.value), Number(b.value));
  });

  const el = h(
    "div",
    { class: "view view-history" },
    h("div", { class: "view-head" }, h("h1", null, "History")),
    h("p", { class: "lede" }, "Every change of the active skills is a generation. Compare any two, or roll back to an earlier one (itself a new generation)."),
    h("section", { class: "card", "aria-labelledby": "cmp-h" }, h("h2", { id: "cmp-h" }, "Compare generations"), form, diffEl),
    h("section", { "aria-labelledby": "tl-h" }, h("h2", { id: "tl-h" }, "Timeline"), agentForm, timeline),
  );

  async function reload(): Promise<void> {
    await load(
      timeline,
      async () => {
        const [g, l] = await Promise.all([app.api.generations(limit), app.api.learning(Math.min(limit, 500), agent || undefined).catch(() => ({ generations: [] as GenerationSignal[] }))]);
        return { gens: g.generations, signal: new Map(l.generations.map((s) => [s.generation, s])) };
      },
      ({ gens, signal }) => {
        fillSelects(gens);
        if (!gens.length) return empty("No generations yet");
        const current = app.status?.generation ?? gens[0].id;
        const ol = h("ol", { class: "timeline", "aria-label": "Generations, newest first" }, gens.map((g) => entry(g, signal.get(g.id), g.id === current)));
        roving(ol, "li.gen > article");
        const more = gens.length >= limit && limit < 500 ? h("button", { type: "button", class: "btn more", onclick: () => { limit = Math.min(500, limit * 2); void reload(); } }, "Show older generations") : null;
        return h("div", null, ol, more);
      },
      "Loading generations",
    );
  }

  function fillSelects(gens: Generation[]): void {
    const prevA = a.value;
    const prevB = b.value;
    replace(a, gens.map((g) => h("option", { value: g.id }, `#${g.id} — ${g.reason}`)));
    replace(b, gens.map((g) => h("option", { value: g.id }, `#${g.id} — ${g.reason}`)));
    if (gens.length > 1) {
      a.value = prevA || String(gens[1].id);
      b.value = prevB || String(gens[0].id);
    }
  }

  function entry(g: Generation, sig: GenerationSignal | undefined, current: boolean): HTMLElement {
    const changes = g.changes ?? [];
    const shown = changes.slice(0, 12);
    return h(
      "li",
      { class: "gen" },
      h(
        "article",
        { tabindex: -1, "aria-labelledby": `gen-${g.id}`, "data-gen": g.id },
        h("header", null, h("h3", { id: `gen-${g.id}` }, `Generation #${g.id}`), current ? badge("current", "ok") : null, h("span", { class: "muted" }, dateTime(g.created_at))),
        h("p", { class: "gen-reason" }, g.reason),
        h(
          "p",
          { class: "muted small" },
          `${num(g.active)} active skills`,
          sig ? ` · ${num(sig.turns)} turns, ${num(sig.scored)} scored, mean ${sig.mean_score === null ? "—" : sig.mean_score.toFixed(2)}, failure rate ${pct(sig.failure_rate)}` : "",
        ),
        shown.length
          ? h(
              "ul",
              { class: "changes" },
              shown.map((c) => h("li", null, badge(c.change, c.change === "added" ? "ok" : c.change === "removed" ? "bad" : "info"), " ", h("a", { href: `#/skills/${encodeURIComponent(c.skill)}` }, c.skill))),
              changes.length > shown.length ? h("li", { class: "muted" }, `… and ${changes.length - shown.length} more`) : null,
            )
          : null,
        h(
          "div",
          { class: "actions" },
          g.id > 1
            ? h("button", { type: "button", class: "btn btn-small", "aria-label": `What changed in generation #${g.id}`, onclick: () => { a.value = String(g.id - 1); b.value = String(g.id); void showDiff(g.id - 1, g.id); diffEl.scrollIntoView({ block: "nearest" }); } }, "What changed")
            : null,
          current ? null : h("button", { type: "button", class: "btn btn-small btn-danger", "data-rollback": g.id, onclick: () => void rollback(g) }, `Roll back to #${g.id}`),
        ),
      ),
    );
  }

  async function showDiff(x: number, y: number): Promise<void> {
    if (x === y) {
      replace(diffEl, empty("Pick two different generations"));
      return;
    }
    await load(diffEl, () => app.api.diff(x, y), renderGenDiff, "Comparing");
  }

  async function rollback(g: Generation): Promise<void> {
    const ok = await confirmDialog(`Roll back to generation #${g.id}?`, `The active skills become exactly those of generation #${g.id}. This makes a new generation, so you can undo it the same way.`, "Roll back", true);
    if (!ok) return;
    try {
      const r = await app.api.rollback(g.id);
      toast(`Rolled back to #${r.rolled_back_to} — now generation #${r.generation}`);
      await app.refreshStatus();
      await reload();
    } catch (e) {
      toast(errorMessage(e), "error");
    }
  }

  const off = app.on((e) => {
    if (e.type === "generation_changed") void reload();
  });
  void reload();
  return { el, destroy: off };
}

function renderGenDiff(d: GenerationDiff): HTMLElement {
  if (!d.changes.length) return empty(`No differences between #${d.from} and #${d.to}`);
  return h(
    "div",
    { class: "gen-diff", id: "gen-diff" },
    h("p", null, `${d.changes.length} skill${d.changes.length === 1 ? "" : "s"} differ between #${d.from} and #${d.to}.`),
    d.changes.map((c) =>
      h(
        "details",
        { open: d.changes.length <= 3 },
        h("summary", null, badge(c.change, c.change === "added" ? "ok" : c.change === "removed" ? "bad" : "info"), " ", c.name),
        renderDiff(c.before, c.after, `${c.name}: ${c.change}`),
      ),
    ),
  );
}

