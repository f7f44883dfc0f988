// The Skills list as a table: each skill (a button that opens it), its uses and its measured
// effect; sortable by name, uses or effect from header buttons (aria-sort), paged 100 at a time,
// with arrow keys moving between skills.

import type { SkillStats, SkillSummary } from "../../api/types";
import { h, replace, s } from "../../lib/dom";
import { num } from "../../lib/format";
import { badge, roving } from "../../lib/ui";
import { effectCell, type SortDir, type SortKey, sortSkills } from "./effect";

const PAGE = 100;

const COLUMNS: { key: SortKey; label: string; first: SortDir }[] = [
  { key: "name", label: "Name", first: "ascending" },
  { key: "uses", label: "Uses", first: "descending" },
  { key: "effect", label: "Effect", first: "descending" },
];

/** Our own pin glyph. */
export function pinGlyph(): SVGElement {
  return s(
    "svg",
    { viewBox: "0 0 12 12", width: 12, height: 12, "aria-hidden": "true", class: "pin-glyph" },
    s("path", { d: "M4 1.5 H8 L7.3 5 L9 6.8 H3 L4.7 5 Z", fill: "currentColor" }),
    s("path", { d: "M6 6.8 V10.8", stroke: "currentColor", "stroke-width": 1.4, "stroke-linecap": "round" }),
  );
}

/** Our own sort arrow: a small triangle up (ascending) or down (descending). */
function sortGlyph(dir: SortDir): SVGElement {
  return s("svg", { viewBox: "0 0 10 10", width: 9, height: 9, "aria-hidden": "true" }, s("path", { d: dir === "ascending" ? "M1 8 L5 2 L9 8 Z" : "M1 2 L5 8 L9 2 Z", fill: "currentColor" }));
}

export interface SkillTable {
  el: HTMLElement;
  /** Marks `name` as the open skill. */
  mark(name: string | null): void;
  /** New statistics: the Uses and Effect cells change in place (the order stays until re-sorted). */
  restat(stats: Map<string, SkillStats>): void;
}

/** The table of `skills`; `sort` is kept by the caller so it survives reloads. */
export function skillTable(skills: SkillSummary[], stats: Map<string, SkillStats>, sort: { key: SortKey; dir: SortDir }, opts: { selected: string | null; onSelect: (name: string) => void }): SkillTable {
  let shown = PAGE;
  let selected = opts.selected;
  let order = sortSkills(skills, sort.key, sort.dir, stats);
  const announce = h("p", { class: "sr-only", role: "status", id: "skill-sort-status" });
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "btn more" }) as HTMLButtonElement;
  const heads = COLUMNS.map((c) => {
    const b = h("button", { type: "button", class: "sort-btn", "data-sort": c.key }, c.label, h("span", { class: "sort-arrow", "aria-hidden": "true" })) as HTMLButtonElement;
    b.addEventListener("click", () => {
      sort.dir = sort.key === c.key ? (sort.dir === "ascending" ? "descending" : "ascending") : c.first;
      sort.key = c.key;
      order = sortSkills(skills, sort.key, sort.dir, stats);
      shown = Math.max(shown, PAGE);
      replace(tbody);
      paint();
      announce.textContent = `Sorted by ${c.label.toLowerCase()}, ${sort.dir}`;
    });
    return { c, th: h("th", { scope: "col", class: `col-${c.key}` }, b) };
  });
  const rows = new Map<string, { uses: HTMLElement; effect: HTMLElement }>();

  const row = (sk: SkillSummary): HTMLElement => {
    const st = stats.get(sk.name);
    const uses = h("td", { class: "col-uses num" }, st ? num(st.injected) : "—");
    const effect = h("td", { class: "col-effect" }, effectCell(st));
    rows.set(sk.name, { uses, effect });
    return h(
      "tr",
      { "data-name": sk.name },
      h(
        "td",
        { class: "col-name" },
        h(
          "button",
          { type: "button", class: `item${sk.enabled ? "" : " item-off"}`, "data-name": sk.name, onclick: () => opts.onSelect(sk.name) },
          h("span", { class: "item-title" }, sk.name, sk.pinned ? h("span", { class: "pinned-mark", title: "Pinned" }, pinGlyph(), h("span", { class: "sr-only" }, " (pinned)")) : null),
          h("span", { class: "item-desc" }, sk.description),
          h("span", { class: "item-meta" }, badge(sk.category), badge(sk.origin, sk.origin === "evolved" ? "ok" : sk.origin === "user" ? "info" : "muted"), sk.enabled ? null : badge("disabled", "warn")),
        ),
      ),
      uses,
      effect,
    );
  };

  const paint = () => {
    for (const { c, th } of heads) {
      th.setAttribute("aria-sort", c.key === sort.key ? sort.dir : "none");
      replace(th.querySelector(".sort-arrow") as HTMLElement, c.key === sort.key ? sortGlyph(sort.dir) : null);
    }
    const from = tbody.children.length;
    for (const sk of order.slice(from, shown)) tbody.appendChild(row(sk));
    more.hidden = shown >= order.length;
    more.textContent = `Show ${Math.min(PAGE, order.length - shown)} more (${num(order.length - shown)} left)`;
    mark(selected);
  };
  const mark = (name: string | null) => {
    selected = name;
    for (const b of tbody.querySelectorAll<HTMLElement>("button.item")) {
      const on = b.dataset.name === name;
      b.setAttribute("aria-current", String(on));
      if (on && !tbody.contains(document.activeElement)) b.scrollIntoView({ block: "nearest" });
    }
  };
  more.addEventListener("click", () => {
    const first = tbody.children.length;
    shown += PAGE;
    paint();
    (tbody.children[first]?.querySelector("button") as HTMLElement | null)?.focus();
  });
  paint();
  roving(tbody, "button.item");
  const table = h("table", { class: "data skill-table", "aria-label": "Skills" }, h("thead", null, h("tr", null, heads.map((x) => x.th))), tbody);
  return {
    el: h("div", null, announce, table, more),
    mark,
    restat(next) {
      stats = next;
      for (const [name, r] of rows) {
        const st = stats.get(name);
        replace(r.uses, st ? num(st.injected) : "—");
        replace(r.effect, effectCell(st));
      }
    },
  };
}
