// Review: the evolver's candidates with their evidence, replay verdict, validation set and
// changes (delta operations or a diff), and the curator's proposals; approve, edit then approve,
// reject with a reason, or defer.

import type { App, View } from "../app";
import type { Candidate, CandidateStatus, Failure, FlagKind } from "../api/types";
import { debounce, field, h, replace } from "../lib/dom";
import { diffLines, renderDiff } from "../lib/diff";
import { dateTime } from "../lib/format";
import { renderMarkdown, splitFrontMatter } from "../lib/markdown";
import { badge, dialog, empty, errorMessage, load, loading, problemList, roving, tabs, toast } from "../lib/ui";
import { ApiError } from "../api/client";
import { actionBadge, actionWords, curatorBlock, currentStats, isCurator, opsBlock, REMOVES_MOST, removesMost, removesMostWarning, validationBlock, wtlBadge } from "./review/measure";

/** The status tabs, one per status the engine has (stale: an edit that no longer applies). */
const STATUS_LABELS: Record<CandidateStatus, string> = { pending: "Pending", deferred: "Deferred", approved: "Approved", rejected: "Rejected", stale: "Stale" };
const STATUSES = (Object.keys(STATUS_LABELS) as CandidateStatus[]).map((id) => ({ id, label: STATUS_LABELS[id] }));

export function reviewView(app: App, params: string[]): View {
  let selected: number | null = params[0] ? Number(params[0]) : null;
  let status: CandidateStatus = "pending";
  let list: Candidate[] = [];
  const listEl = h("div", { class: "list-pane" });
  const detailEl = h("section", { class: "detail-pane", "aria-label": "Candidate", "aria-live": "off" });
  const evolveBtn = h("button", { type: "button", class: "btn", id: "evolve-now" }, "Learn from failures now") as HTMLButtonElement;
  evolveBtn.addEventListener("click", async () => {
    evolveBtn.disabled = true;
    try {
      const r = await app.api.evolve();
      if (r.error) toast(`The evolver's run failed (${r.outcome ?? "failed"}): ${r.error}. The failed turns wait for the next run.`, "error");
      else toast(r.failures === 0 ? "No unlearned failures right now" : `Read ${r.failures} failed turn(s): ${r.proposed.length} proposed, ${r.dropped.length} dropped`, r.proposed.length ? "ok" : "info");
      await reload();
    } catch (e) {
      toast(errorMessage(e), "error");
    } finally {
      evolveBtn.disabled = false;
    }
  });

  const t = tabs("Candidates by status", STATUSES, status, (id) => {
    status = STATUSES.find((s) => s.id === id)?.id ?? "pending";
    void reload();
  });

  // Only candidates learned from one agent's turns; the agents come from GET /api/agents (the list
  // stays usable if that fails).
  let agent = "";
  const agentSel = h("select", { id: "review-agent" }, h("option", { value: "" }, "All agents")) as HTMLSelectElement;
  void app.api.agents().then(
    (r) => agentSel.append(...r.agents.map((a) => h("option", { value: a.agent }, `${a.agent} (${a.turns})`))),
    () => undefined,
  );
  agentSel.addEventListener("change", () => {
    agent = agentSel.value;
    void reload();
  });

  const el = h(
    "div",
    { class: "view view-review" },
    h("div", { class: "view-head" }, h("h1", null, "Review"), evolveBtn),
    h("p", { class: "lede" }, "Skills the evolver proposed from your agent's failures. Approving one adds it to the library from the next turn."),
    h("form", { class: "filters", role: "search", "aria-label": "Filter candidates", onsubmit: (e: Event) => e.preventDefault() }, field("Learned from", agentSel)),
    t.list,
    h("div", { class: "split" }, listEl, detailEl),
  );

  async function reload(): Promise<void> {
    const data = await load(
      listEl,
      () => app.api.candidates(status, agent || undefined),
      (d) => renderList(d.candidates),
      "Loading candidates",
    );
    if (!data) {
      replace(detailEl);
      return;
    }
    list = data.candidates;
    if (selected === null || !list.some((c) => c.id === selected)) selected = list[0]?.id ?? null;
    markSelected();
    if (selected !== null) void showDetail(selected);
    else replace(detailEl, empty(status === "pending" ? "Nothing to review" : `No ${status} candidates`, status === "pending" ? "When the judge finds failed turns and a session ends, the evolver proposes skills here. You can also ask it now with “Learn from failures now”." : undefined));
  }

  function renderList(cands: Candidate[]): HTMLElement {
    if (!cands.length) return empty(status === "pending" ? "All caught up" : "None");
    const ul = h(
      "ul",
      { class: "item-list", "aria-label": `${status} candidates` },
      cands.map((c) =>
        h(
          "li",
          null,
          h(
            "button",
            { type: "button", class: "item", "data-id": c.id, onclick: () => select(c.id) },
            h("span", { class: "item-title" }, c.name),
            h("span", { class: "item-meta" }, actionBadge(c), riskBadges(c), wtlBadge(c), c.replay ? badge(c.replay.improved ? "replay improved" : "replay not improved", c.replay.improved ? "ok" : "warn") : isCurator(c) ? null : badge("replay pending", "muted"), h("span", { class: "muted" }, dateTime(c.created_at))),
          ),
        ),
      ),
    );
    roving(ul, "button.item");
    return ul;
  }

  function markSelected(): void {
    for (const b of listEl.querySelectorAll<HTMLElement>("button.item")) b.setAttribute("aria-current", String(Number(b.dataset.id) === selected));
  }

  function select(id: number): void {
    selected = id;
    markSelected();
    history.replaceState(null, "", `#/review/${id}`);
    void showDetail(id);
  }

  /** Whether the shown candidate is to be widened to every agent on approval. */
  let shareAll: () => "shared" | undefined = () => undefined;

  async function showDetail(id: number): Promise<void> {
    await load(detailEl, () => app.api.candidate(id), (c) => renderDetail(c), "Loading the candidate");
  }

  function renderDetail(c: Candidate): HTMLElement {
    const open = c.status === "pending" || c.status === "deferred";
    const evidence = c.evidence ?? [];
    // A curator proposal (disable, merge) comes from numbers, not from failed turns: no replay.
    const curator = isCurator(c);
    const disable = c.action === "disable";
    const actions = open
      ? h(
          "div",
          { class: "actions sticky-actions", role: "group", "aria-label": "Decision" },
          h("button", { type: "button", class: "btn btn-primary", id: "approve", onclick: () => void approve(c) }, "Approve"),
          disable ? null : h("button", { type: "button", class: "btn", id: "edit-approve", onclick: () => editThenApprove(c) }, "Edit, then approve"),
          h("button", { type: "button", class: "btn btn-danger", id: "reject", onclick: () => void reject(c) }, "Reject…"),
          c.status === "pending" ? h("button", { type: "button", class: "btn btn-ghost", id: "defer", onclick: () => void defer(c) }, "Defer") : null,
        )
      : h("p", { class: "decided" }, `${c.status[0].toUpperCase()}${c.status.slice(1)} ${c.decided_by ? `by ${c.decided_by} ` : ""}${dateTime(c.decided_at)}`, c.reason ? ` — “${c.reason}”` : "", c.generation ? [" · ", h("a", { href: "#/history" }, `generation #${c.generation}`)] : null);

    const agents = candidateAgents(c.content);
    const share = h("input", { type: "checkbox", id: "share-all" }) as HTMLInputElement;
    const scopeEl = agents.length
      ? h(
          "div",
          { class: "row scope", id: "cand-scope" },
          badge(`Only for ${agents.join(", ")}`, "info"),
          open ? h("label", { for: "share-all" }, share, " Share with all agents when approving") : null,
        )
      : h("div", { class: "row scope", id: "cand-scope" }, badge("All agents", "muted"));
    shareAll = () => (agents.length && share.checked ? "shared" : undefined);
    const editor = h("div", { class: "editor-slot" });
    return h(
      "article",
      { class: "candidate", "aria-labelledby": "cand-title" },
      h("header", null, h("h2", { id: "cand-title" }, c.name), h("div", { class: "row" }, badge(...actionWords(c)), badge(c.category || "uncategorised"), badge(c.status, c.status === "approved" ? "ok" : c.status === "rejected" ? "bad" : "muted"))),
      h("p", { class: "description" }, c.description),
      scopeEl,
      removesMostWarning(c),
      flagsBlock(c),
      curatorBlock(app, c) ?? h("section", { "aria-labelledby": "why-h" }, h("h3", { id: "why-h" }, "Why the evolver proposes it"), h("p", null, c.rationale || "—")),
      c.action === "edit" ? currentStats(app, c.name) : null,
      validationBlock(c),
      curator && !c.replay ? null : replayBlock(c),
      actions,
      editor,
      h(
        "section",
        { "aria-labelledby": "chg-h" },
        h("h3", { id: "chg-h" }, c.action === "edit" && c.previous ? "What changes" : disable ? "The skill it switches off" : c.action === "merge" ? "The merged skill" : "The proposed skill"),
        changes(c),
      ),
      curator && !evidence.length
        ? null
        : h(
            "section",
            { "aria-labelledby": "ev-h" },
            h("h3", { id: "ev-h" }, `Failing turns (${evidence.length})`),
            evidence.length ? h("ol", { class: "evidence" }, evidence.map(failureItem)) : h("p", { class: "muted" }, "No evidence recorded."),
          ),
    );
  }

  async function after(msg: string): Promise<void> {
    toast(msg);
    selected = null;
    await reload();
    void app.refreshStatus();
    (listEl.querySelector("button.item") as HTMLElement | null)?.focus();
  }

  async function approve(c: Candidate, content?: string): Promise<void> {
    try {
      const r = await app.api.approve(c.id, content, shareAll());
      await after(`Approved ${c.name}${r.generation ? ` — generation #${r.generation}` : ""}`);
    } catch (e) {
      toast(errorMessage(e), "error");
      if (e instanceof ApiError && e.problems.length) throw e;
    }
  }

  function editThenApprove(c: Candidate): void {
    const slot = detailEl.querySelector(".editor-slot") as HTMLElement;
    const ta = h("textarea", { id: "cand-editor", class: "mono editor", rows: 18, spellcheck: "false" }) as HTMLTextAreaElement;
    ta.value = c.content;
    const diffEl = h("div", { "aria-live": "off" });
    const errEl = h("div", { role: "alert" });
    const showDiff = debounce(() => {
      const changed = diffLines(c.content, ta.value).some((o) => o.kind !== "same");
      replace(diffEl, changed ? renderDiff(c.content, ta.value, "Your changes to the proposal") : h("p", { class: "muted" }, "No changes to the proposal yet."));
    }, 200);
    ta.addEventListener("input", showDiff);
    showDiff();
    const save = h("button", { type: "button", class: "btn btn-primary", id: "approve-edited" }, "Approve edited skill") as HTMLButtonElement;
    save.addEventListener("click", async () => {
      save.disabled = true;
      replace(errEl);
      try {
        const r = await app.api.approve(c.id, ta.value, shareAll());
        await after(`Approved your edit of ${c.name}${r.generation ? ` — generation #${r.generation}` : ""}`);
      } catch (e) {
        replace(errEl, h("p", { class: "error-text" }, errorMessage(e)), e instanceof ApiError && e.problems.length ? problemList(e.problems) : null);
        save.disabled = false;
      }
    });
    replace(
      slot,
      h(
        "section",
        { class: "card inset", "aria-labelledby": "edit-h" },
        h("h3", { id: "edit-h" }, "Edit the SKILL.md, then approve"),
        field("SKILL.md", ta, "Front matter (name, description, metadata) and the Markdown body."),
        errEl,
        h("div", { class: "actions" }, save, h("button", { type: "button", class: "btn", onclick: () => replace(slot) }, "Cancel")),
        diffEl,
      ),
    );
    ta.focus();
  }

  async function reject(c: Candidate): Promise<void> {
    const reason = h("textarea", { id: "reject-reason", rows: 3, required: true, placeholder: "e.g. too specific to one project" }) as HTMLTextAreaElement;
    const r = await dialog(`Reject ${c.name}?`, [h("p", null, "The evolver remembers rejected skills and won't propose them again."), field("Reason", reason)], {
      submitLabel: "Reject",
      danger: true,
      submit: () => app.api.reject(c.id, reason.value.trim()),
    });
    if (r) await after(`Rejected ${c.name}`);
  }

  async function defer(c: Candidate): Promise<void> {
    try {
      await app.api.defer(c.id);
      await after(`Deferred ${c.name}; find it under Deferred`);
    } catch (e) {
      toast(errorMessage(e), "error");
    }
  }

  const off = app.on((e) => {
    if (e.type.startsWith("candidate_")) void reload();
  });
  void reload();
  return {
    el,
    destroy: off,
    update(p) {
      if (p[0] && Number(p[0]) !== selected) {
        selected = Number(p[0]);
        const c = list.find((x) => x.id === selected);
        if (c && c.status !== status) t.select(c.status);
        else {
          markSelected();
          void showDetail(selected);
        }
      }
    },
  };
}

/** The list's warnings: an edit removing most of its skill, then how many other risk flags. */
function riskBadges(c: Candidate): HTMLElement[] {
  const n = (c.flags ?? []).filter((f) => f.kind !== REMOVES_MOST).length;
  return [removesMost(c) ? badge("removes most of the skill", "bad") : null, n ? badge(`${n} risk flag${n === 1 ? "" : "s"}`, "warn") : null].filter((x): x is HTMLElement => x !== null);
}

/** An edit as its operations (with the whole-file diff folded away), else the diff or the skill. */
function changes(c: Candidate): HTMLElement {
  const ops = opsBlock(c);
  if (c.action === "edit" && c.previous) {
    if (!ops) return renderDiff(c.previous, c.content, `Changes to ${c.name}`);
    return h("div", null, ops, h("details", { class: "whole-diff" }, h("summary", null, "The whole file before and after"), renderDiff(c.previous, c.content, `Changes to ${c.name}`)));
  }
  return skillPreview(c.content);
}

const FLAG_LABELS: Record<FlagKind, string> = {
  fetch_execute: "Downloads and runs code",
  send_data: "Sends data off the machine",
  network: "Contacts a server you never named",
  credential_path: "Reads credential files",
  hide_from_user: "Hides steps from the user",
  override_instructions: "Overrides earlier instructions",
  url: "A web address you never wrote",
  encoded_blob: "Encoded text you never wrote",
  removes_most_of_skill: "Removes most of the skill",
};

/** The screen's risk flags, as a warning list (nothing when there are none). */
function flagsBlock(c: Candidate): HTMLElement | null {
  const flags = (c.flags ?? []).filter((f) => f.kind !== REMOVES_MOST);
  if (!flags.length) return null;
  return h(
    "section",
    { "aria-labelledby": "flags-h", class: "card warn", id: "risk-flags" },
    h("h3", { id: "flags-h" }, "Read this one carefully"),
    h("p", null, "The screen found text that a skill should not need. A flagged candidate is never approved automatically."),
    h("ul", { class: "flags" }, flags.map((f) => h("li", null, h("strong", null, `${FLAG_LABELS[f.kind] ?? f.kind}: `), h("code", null, f.excerpt)))),
  );
}

function replayBlock(c: Candidate): HTMLElement {
  const r = c.replay;
  return h(
    "section",
    { "aria-labelledby": "replay-h", class: "replay" },
    h("h3", { id: "replay-h" }, "Replay verdict"),
    r
      ? h(
          "div",
          { class: `verdict ${r.improved ? "verdict-ok" : "verdict-bad"}`, id: "replay-verdict" },
          h("p", null, h("strong", null, r.improved ? "Improved: " : "Not improved: "), `the failed request (turn `, h("a", { href: `#/turns/${r.turn_id}` }, `#${r.turn_id}`), `) was re-sent with this skill and the judge scored the new answer ${r.score > 0 ? "+1" : r.score}.`),
          r.reason ? h("p", null, h("span", { class: "muted" }, "Judge: "), r.reason) : null,
          h("details", null, h("summary", null, "The new answer"), h("pre", { class: "wrap" }, r.answer)),
        )
      : h("p", { class: "muted", id: "replay-verdict" }, loading("Verification replay pending").textContent),
  );
}

function failureItem(f: Failure): HTMLElement {
  return h(
    "li",
    { class: "failure" },
    h("p", null, h("a", { href: `#/turns/${f.turn_id}` }, `Turn #${f.turn_id}`)),
    h("dl", { class: "kv" }, h("dt", null, "Request"), h("dd", null, h("pre", { class: "wrap" }, f.request)), h("dt", null, "Answer"), h("dd", null, h("pre", { class: "wrap" }, f.answer)), h("dt", null, f.source === "user" ? "Your verdict" : "Judge's reason"), h("dd", { class: "judge-reason" }, f.reason ?? "—"), f.next_message ? [h("dt", null, "What the user said next"), h("dd", null, h("pre", { class: "wrap" }, f.next_message))] : null),
  );
}

export function skillPreview(content: string): HTMLElement {
  const { front, body } = splitFrontMatter(content);
  const t = tabs(
    "Skill view",
    [
      { id: "rendered", label: "Rendered" },
      { id: "source", label: "SKILL.md" },
    ],
    "rendered",
    (id, panel) => {
      if (id === "rendered") replace(panel, front ? frontTable(front.fields) : null, renderMarkdown(body));
      else replace(panel, h("pre", { class: "source" }, content));
    },
  );
  return h("div", { class: "skill-preview" }, t.list, t.panel);
}

export function frontTable(fields: Record<string, string>): HTMLElement {
  const keys = Object.keys(fields).filter((k) => k !== "name" && k !== "description");
  return h("dl", { class: "kv front" }, keys.map((k) => [h("dt", null, k.replace(/^metadata\./, "")), h("dd", null, fields[k])]));
}

/** The agents a candidate's SKILL.md is scoped to (its front matter's `agents:`); none means shared. */
export function candidateAgents(content: string): string[] {
  const lines = content.split("\n");
  if (lines[0]?.trimEnd() !== "---") return [];
  const out: string[] = [];
  for (let i = 1; i < lines.length && lines[i].trimEnd() !== "---"; i++) {
    const m = /^agents:\s*(.*)$/.exec(lines[i]);
    if (!m) continue;
    const inline = m[1].trim();
    if (inline) {
      out.push(...inline.replace(/^\[|\]$/g, "").split(",").map((a) => a.trim().replace(/^["']|["']$/g, "")).filter(Boolean));
    } else {
      for (let j = i + 1; j < lines.length && /^\s*-\s+/.test(lines[j]); j++) out.push(lines[j].replace(/^\s*-\s+/, "").trim().replace(/^["']|["']$/g, ""));
    }
    break;
  }
  return out;
}
