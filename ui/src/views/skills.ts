// Skills: search and filter the library (1,000+ skills render in pages), each with its measured
// effect (sortable, filterable by verdict); read a skill rendered with its effect over time;
// enable/disable, pin, edit with validation, create, delete → trash → restore; the curator's
// dry run and run, and its archive with restore.

import type { App, View } from "../app";
import type { Origin, SkillDetail, SkillStats, SkillSummary, Verdict } from "../api/types";
import { ApiError } from "../api/client";
import { debounce, field, h, replace } from "../lib/dom";
import { dateTime, num } from "../lib/format";
import { renderMarkdown, splitFrontMatter } from "../lib/markdown";
import { badge, confirmDialog, empty, errorMessage, load, loading, problemList, toast, toggleSwitch } from "../lib/ui";
import { frontTable } from "./review";
import { showArchive } from "./skills/archive";
import { effectSection } from "./skills/chart";
import { curateDialog } from "./skills/curate";
import type { SortDir, SortKey } from "./skills/effect";
import { pinGlyph, type SkillTable, skillTable } from "./skills/list";

/** The origin filter's choices, every origin the engine has. */
const ORIGIN_WORDS: Record<Origin, string> = { builtin: "Builtin", user: "User", evolved: "Evolved" };
const ORIGINS = Object.keys(ORIGIN_WORDS) as Origin[];
/** The effect filter's choices, every verdict the engine gives. */
const VERDICT_WORDS: Record<Verdict, string> = { helps: "Helps", no_evidence: "No evidence yet", hurts: "Hurts" };
const VERDICTS = Object.keys(VERDICT_WORDS) as Verdict[];

export function skillsView(app: App, params: string[]): View {
  let selected: string | null = params[0] ?? null;
  const ctrl = { q: "", category: "", origin: "", enabled: "", verdict: "" };
  const sort: { key: SortKey; dir: SortDir } = { key: "name", dir: "ascending" };
  let stats = new Map<string, SkillStats>();
  let table: SkillTable | null = null;

  const q = h("input", { type: "search", id: "skill-search", placeholder: "Name or description", autocomplete: "off" }) as HTMLInputElement;
  const cat = h("select", { id: "skill-category" }, h("option", { value: "" }, "All categories")) as HTMLSelectElement;
  const origin = h("select", { id: "skill-origin" }, h("option", { value: "" }, "All origins"), ORIGINS.map((o) => h("option", { value: o }, ORIGIN_WORDS[o]))) as HTMLSelectElement;
  const enabled = h("select", { id: "skill-enabled" }, h("option", { value: "" }, "Enabled and disabled"), h("option", { value: "true" }, "Enabled"), h("option", { value: "false" }, "Disabled")) as HTMLSelectElement;
  // The Effect column over one agent's turns only; the agents come from GET /api/agents (the
  // list stays usable if that fails).
  let agent = "";
  const agentSel = h("select", { id: "skill-stats-agent" }, h("option", { value: "" }, "All agents")) as HTMLSelectElement;
  void app.api.agents().then(
    (r) => agentSel.append(...r.agents.map((a) => h("option", { value: a.agent }, a.agent))),
    () => undefined,
  );
  agentSel.addEventListener("change", () => {
    agent = agentSel.value;
    void reload(true);
  });
  const verdict = h("select", { id: "skill-verdict" }, h("option", { value: "" }, "Any effect"), VERDICTS.map((v) => h("option", { value: v }, VERDICT_WORDS[v]))) as HTMLSelectElement;
  const count = h("p", { class: "muted", role: "status", id: "skill-count" });
  const problemsEl = h("div");
  const listEl = h("div", { class: "list-pane" });
  const detailEl = h("section", { class: "detail-pane", "aria-label": "Skill" });
  const trashEl = h("div");
  const archiveEl = h("div");

  const el = h(
    "div",
    { class: "view view-skills" },
    h("div", { class: "view-head" }, h("h1", null, "Skills"), h(
        "div",
        { class: "row" },
        h("button", { type: "button", class: "btn btn-primary", id: "new-skill", onclick: () => editor(null) }, "New skill"),
        h("button", { type: "button", class: "btn", id: "curate", "aria-haspopup": "dialog", onclick: () => void curateDialog(app, () => afterCurate()) }, "Curate…"),
        h("button", { type: "button", class: "btn", id: "show-archive", onclick: () => void showArchive(app, archiveEl, () => reload()) }, "Archive"),
        h("button", { type: "button", class: "btn", id: "show-trash", onclick: () => void showTrash() }, "Trash"),
      ),
    ),
    h("form", { class: "filters", role: "search", "aria-label": "Filter skills", onsubmit: (e: Event) => e.preventDefault() }, field("Search", q), field("Category", cat), field("Origin", origin), field("State", enabled), field("Effect", verdict), field("Effect on turns of", agentSel)),
    count,
    problemsEl,
    trashEl,
    archiveEl,
    h("div", { class: "split" }, listEl, detailEl),
  );

  const refilter = debounce(() => void reload(), 200);
  q.addEventListener("input", () => {
    ctrl.q = q.value.trim();
    refilter();
  });
  for (const [sel, key] of [
    [cat, "category"],
    [origin, "origin"],
    [enabled, "enabled"],
    [verdict, "verdict"],
  ] as const)
    sel.addEventListener("change", () => {
      ctrl[key] = sel.value;
      void reload();
    });

  let categoriesLoaded = false;
  async function reload(keepFocus = false): Promise<void> {
    const data = await load(
      listEl,
      async () => {
        const [d, st] = await Promise.all([
          app.api.skills({ q: ctrl.q || undefined, category: ctrl.category || undefined, origin: ORIGINS.find((o) => o === ctrl.origin), enabled: ctrl.enabled === "" ? undefined : ctrl.enabled === "true" }),
          loadStats(),
        ]);
        return { d, st };
      },
      ({ d, st }) => {
        if (st) stats = st;
        return renderList(d.skills.filter((x) => !ctrl.verdict || (stats.get(x.name)?.verdict ?? "no_evidence") === ctrl.verdict));
      },
      "Loading skills",
    );
    if (!data) return;
    const d = data.d;
    count.textContent = `${num(listed)} skill${listed === 1 ? "" : "s"} · generation #${d.generation}`;
    replace(problemsEl, d.problems.length ? h("div", { class: "card warn", role: "note" }, h("h2", null, `${d.problems.length} skill file(s) could not be loaded`), problemList(d.problems)) : null);
    if (!categoriesLoaded && !ctrl.category && !ctrl.q && !ctrl.origin && !ctrl.enabled) {
      categoriesLoaded = true;
      const cats = [...new Set(d.skills.map((s) => s.category))].sort();
      for (const c of cats) cat.appendChild(h("option", { value: c }, c));
    }
    if (selected && !keepFocus) void showDetail(selected);
    else if (!selected) replace(detailEl, d.skills.length ? empty("Pick a skill", "Select a skill on the left to read it.") : null);
  }

  /** The statistics per skill, or null when the engine has none (an older MetaClaw, or it failed:
   * the list still shows, its Effect column says "not measured"). */
  async function loadStats(): Promise<Map<string, SkillStats> | null> {
    try {
      const r = await app.api.skillStats(agent || undefined);
      return new Map(r.skills.map((x) => [x.name, x]));
    } catch {
      return null;
    }
  }

  let listed = 0;
  function renderList(skills: SkillSummary[]): HTMLElement {
    listed = skills.length;
    table = null;
    if (!skills.length) return empty("No skills match", ctrl.q || ctrl.category || ctrl.origin || ctrl.enabled || ctrl.verdict ? "Try a broader search." : "Create one with “New skill”.");
    table = skillTable(skills, stats, sort, { selected, onSelect: select });
    return table.el;
  }

  function markSelected(): void {
    table?.mark(selected);
  }

  function select(name: string): void {
    selected = name;
    markSelected();
    history.replaceState(null, "", `#/skills/${encodeURIComponent(name)}`);
    void showDetail(name);
  }

  async function showDetail(name: string): Promise<void> {
    await load(detailEl, () => app.api.skill(name), renderDetail, "Loading the skill");
  }

  function renderDetail(s: SkillDetail): HTMLElement {
    const { front, body } = splitFrontMatter(s.content);
    const sw = toggleSwitch("Enabled", s.enabled, async (on, input) => {
      input.disabled = true;
      try {
        const r = await app.api.setSkillEnabled(s.name, on);
        toast(`${s.name} ${on ? "enabled" : "disabled"} — generation #${r.generation}`);
        await reload(true);
      } catch (e) {
        input.checked = !on;
        toast(errorMessage(e), "error");
      } finally {
        input.disabled = false;
      }
    });
    return h(
      "article",
      { class: "skill", "aria-labelledby": "skill-title" },
      h("header", null, h("h2", { id: "skill-title" }, s.name), h("div", { class: "row" }, badge(s.metadata.category ?? "uncategorised"), badge(s.origin, s.origin === "evolved" ? "ok" : "muted"), s.overrides_builtin ? badge("overrides a built-in", "info") : null)),
      h("p", { class: "description" }, s.description),
      h(
        "div",
        { class: "actions" },
        sw,
        pinButton(s.name, s.pinned),
        h("button", { type: "button", class: "btn", id: "edit-skill", onclick: () => editor(s) }, "Edit"),
        h("button", { type: "button", class: "btn btn-danger", id: "delete-skill", onclick: () => void remove(s) }, s.origin === "builtin" ? "Disable (built-in)" : "Delete"),
      ),
      effectEl(s.name),
      front ? frontTable(front.fields) : null,
      h("p", { class: "muted small" }, s.path),
      renderMarkdown(body),
    );
  }

  /** Pin (the curator never archives a pinned skill, nor withholds it for comparison) or unpin. */
  function pinButton(name: string, pinned: boolean): HTMLElement {
    const b = h("button", { type: "button", class: "btn pin-btn", id: "pin-skill", "aria-pressed": String(pinned), title: "A pinned skill is never archived by the curator nor held out for comparison" }, pinGlyph(), pinned ? "Pinned" : "Pin") as HTMLButtonElement;
    b.addEventListener("click", async () => {
      const on = b.getAttribute("aria-pressed") !== "true";
      b.disabled = true;
      try {
        await app.api.pinSkill(name, on);
        b.setAttribute("aria-pressed", String(on));
        replace(b, pinGlyph(), on ? "Pinned" : "Pin");
        toast(on ? `Pinned ${name}: the curator leaves it alone` : `Unpinned ${name}`);
        await reload(true);
      } catch (e) {
        toast(errorMessage(e), "error");
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }

  /** The skill's measured effect, loaded on its own; quiet when this engine cannot measure. */
  function effectEl(name: string): HTMLElement {
    const slot = h("div", { class: "effect-slot", "aria-busy": "true" }, loading("Measuring its effect"));
    app.api.skillStatsOf(name).then(
      (st) => replace(slot, effectSection(st)),
      (e) => replace(slot, e instanceof ApiError && (e.status === 404 || e.code === "unsupported") ? h("p", { class: "muted small", id: "skill-effect" }, e.code === "unsupported" ? "Effect statistics need a newer MetaClaw." : "No turn has carried or matched this skill yet.") : h("p", { class: "error-text small", id: "skill-effect" }, `Its effect could not be loaded: ${errorMessage(e)}`)),
    ).finally(() => slot.removeAttribute("aria-busy"));
    return slot;
  }

  async function afterCurate(): Promise<void> {
    await reload(true);
    if (archiveEl.childElementCount) await showArchive(app, archiveEl, () => reload());
  }

  async function remove(s: SkillDetail): Promise<void> {
    const builtin = s.origin === "builtin";
    const ok = await confirmDialog(
      builtin ? `Disable ${s.name}?` : `Delete ${s.name}?`,
      builtin ? "Built-in skills can't be deleted; this disables it. You can enable it again at any time." : "It moves to the trash; you can restore it from there.",
      builtin ? "Disable" : "Delete",
      true,
    );
    if (!ok) return;
    try {
      const r = await app.api.deleteSkill(s.name);
      toast(`${s.name} ${builtin ? "disabled" : "moved to the trash"} — generation #${r.generation}`);
      selected = null;
      history.replaceState(null, "", "#/skills");
      await reload();
      if (trashEl.childElementCount) await showTrash();
    } catch (e) {
      toast(errorMessage(e), "error");
    }
  }

  async function showTrash(): Promise<void> {
    const close = h("button", { type: "button", class: "btn btn-small", onclick: () => replace(trashEl) }, "Close");
    const body = h("div");
    replace(trashEl, h("section", { class: "card", "aria-labelledby": "trash-h", id: "trash" }, h("div", { class: "card-head" }, h("h2", { id: "trash-h" }, "Trash"), close), body));
    await load(
      body,
      () => app.api.trash(),
      (t) =>
        t.trash.length
          ? h(
              "ul",
              { class: "plain-list" },
              t.trash.map((x) =>
                h(
                  "li",
                  { class: "row" },
                  h("strong", null, x.name),
                  h("span", { class: "muted" }, `deleted ${dateTime(x.deleted_at)}`),
                  h(
                    "button",
                    {
                      type: "button",
                      class: "btn btn-small",
                      "aria-label": `Restore ${x.name}`,
                      onclick: async () => {
                        try {
                          const r = await app.api.restoreSkill(x.name);
                          toast(`Restored ${x.name} — generation #${r.generation}`);
                          await reload();
                          await showTrash();
                        } catch (e) {
                          toast(errorMessage(e), "error");
                        }
                      },
                    },
                    "Restore",
                  ),
                ),
              ),
            )
          : empty("The trash is empty"),
      "Loading the trash",
    );
    (trashEl.querySelector("h2") as HTMLElement | null)?.setAttribute("tabindex", "-1");
    (trashEl.querySelector("h2") as HTMLElement | null)?.focus();
  }

  /** The editor for a new skill (null) or an existing one: the whole SKILL.md, checked as you type
   * (front matter, name rules) and by the engine on save (its problems carry line numbers). */
  function editor(s: SkillDetail | null): void {
    const template = `---\nname: my-skill\ndescription: Use when … (one sentence saying when this applies)\nmetadata:\n  category: general\n---\n\n# My skill\n\n1. …\n`;
    const name = h("input", { id: "skill-name", required: true, pattern: "[a-z0-9]+(-[a-z0-9]+)*", maxlength: 64, autocomplete: "off", class: "mono" }) as HTMLInputElement;
    name.value = s?.name ?? "";
    if (s) name.readOnly = true;
    const ta = h("textarea", { id: "skill-content", class: "mono editor", rows: 20, spellcheck: "false", "aria-describedby": "skill-problems" }) as HTMLTextAreaElement;
    ta.value = s?.content ?? template;
    const problemsEl = h("div", { id: "skill-problems", "aria-live": "polite" });
    const preview = h("div", { class: "preview" });
    const check = () => {
      const probs = localProblems(name.value.trim(), ta.value);
      replace(problemsEl, probs.length ? h("div", { class: "problems-box" }, h("p", null, h("strong", null, "Check before saving:")), problemList(probs.map((p) => ({ file: "SKILL.md", ...p })))) : h("p", { class: "ok-text" }, "Looks valid. The engine checks it again on save."));
      const { body } = splitFrontMatter(ta.value);
      replace(preview, renderMarkdown(body));
    };
    const recheck = debounce(check, 250);
    ta.addEventListener("input", recheck);
    name.addEventListener("input", () => {
      if (!s) ta.value = ta.value.replace(/^(---\r?\n(?:[\s\S]*?\n)?name:\s*).*$/m, `$1${name.value.trim()}`);
      recheck();
    });
    check();
    const form = h("form", { class: "skill-editor", "aria-labelledby": "editor-h", novalidate: true });
    const saveBtn = h("button", { type: "submit", class: "btn btn-primary", id: "save-skill" }, s ? "Save changes" : "Create skill") as HTMLButtonElement;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const n = name.value.trim();
      if (!n || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(n)) {
        replace(problemsEl, h("p", { class: "error-text", role: "alert" }, "The name must be 1–64 lowercase letters, digits and single hyphens."));
        name.focus();
        return;
      }
      saveBtn.disabled = true;
      try {
        const r = s ? await app.api.updateSkill(n, { content: ta.value }) : await app.api.createSkill({ name: n, content: ta.value });
        toast(`${s ? "Saved" : "Created"} ${n} — generation #${r.generation}`);
        selected = n;
        history.replaceState(null, "", `#/skills/${encodeURIComponent(n)}`);
        await reload();
      } catch (e) {
        replace(
          problemsEl,
          h(
            "div",
            { class: "problems-box error", role: "alert", id: "save-error" },
            h("p", { class: "error-text" }, errorMessage(e)),
            e instanceof ApiError && e.problems.length ? problemList(e.problems) : null,
          ),
        );
        const line = e instanceof ApiError ? e.problems.find((p) => p.line)?.line : undefined;
        if (line) focusLine(ta, line);
      } finally {
        saveBtn.disabled = false;
      }
    });
    replace(
      form,
      h("h2", { id: "editor-h" }, s ? `Edit ${s.name}` : "New skill"),
      s?.origin === "builtin" ? h("p", { class: "hint" }, "Saving a built-in skill makes your own copy that overrides it.") : null,
      field("Name", name, s ? undefined : "Lowercase letters, digits and hyphens; it must match `name:` in the front matter."),
      h("div", { class: "editor-grid" }, h("div", null, field("SKILL.md", ta, "YAML front matter between --- lines, then Markdown."), problemsEl), h("div", null, h("p", { class: "label" }, "Preview"), preview)),
      h("div", { class: "actions" }, saveBtn, h("button", { type: "button", class: "btn", onclick: () => (selected ? void showDetail(selected) : replace(detailEl, empty("Pick a skill"))) }, "Cancel")),
    );
    replace(detailEl, form);
    (s ? ta : name).focus();
  }

  const restat = debounce(async () => {
    const st = await loadStats();
    if (!st) return;
    stats = st;
    table?.restat(st);
  }, 1000);
  const off = app.on((e) => {
    if (e.type === "generation_changed") void reload(true);
    else if (e.type === "skill_archived" && archiveEl.childElementCount) void showArchive(app, archiveEl, () => reload(), false);
    else if (e.type === "skill_stats_updated") restat();
  });
  void reload();
  replace(detailEl, loading());
  return {
    el,
    destroy: off,
    update(p) {
      if (p[0] && p[0] !== selected) select(p[0]);
    },
  };
}

/** What can be checked without the engine: front matter present, name and description. */
export function localProblems(name: string, text: string): { line: number | null; reason: string }[] {
  const out: { line: number | null; reason: string }[] = [];
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== "---") {
    out.push({ line: 1, reason: "A SKILL.md starts with front matter: a line with ---" });
    return out;
  }
  const end = lines.findIndex((l, i) => i > 0 && l.trim() === "---");
  if (end < 0) {
    out.push({ line: lines.length, reason: "The front matter is not closed with a --- line" });
    return out;
  }
  const nameLine = lines.findIndex((l, i) => i < end && /^name:/.test(l));
  const descLine = lines.findIndex((l, i) => i < end && /^description:/.test(l));
  if (nameLine < 0) out.push({ line: 2, reason: "`name:` is missing" });
  else {
    const n = lines[nameLine].replace(/^name:\s*/, "").replace(/^['"]|['"]$/g, "").trim();
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(n) || n.length > 64) out.push({ line: nameLine + 1, reason: `${JSON.stringify(n)} is not a valid name (lowercase letters, digits, single hyphens)` });
    else if (name && n !== name) out.push({ line: nameLine + 1, reason: `name: ${n} does not match the skill's name ${name}` });
  }
  if (descLine < 0) out.push({ line: 2, reason: "`description:` is missing" });
  else if (lines[descLine].replace(/^description:\s*/, "").trim() === "") out.push({ line: descLine + 1, reason: "The description is empty" });
  if (lines.slice(end + 1).join("").trim() === "") out.push({ line: end + 2, reason: "The body is empty" });
  return out;
}

function focusLine(ta: HTMLTextAreaElement, line: number): void {
  const lines = ta.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  ta.focus();
  ta.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
}

