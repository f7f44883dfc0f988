// Review's measured evidence (issue 17): the edited skill's current statistics, the validation
// set's wins/ties/losses with each turn's verdict, delta edits as operations with their anchors,
// the warning for an edit that removes most of a skill, and the curator's disable/merge proposals.

import type { App } from "../../app";
import type { Candidate, CandidateAction, EditOp, FlagKind, ValidationRole, ValidationSummary, ValidationVerdict } from "../../api/types";
import { ApiError } from "../../api/client";
import { h, replace } from "../../lib/dom";
import { num } from "../../lib/format";
import { badge, errorMessage, loading } from "../../lib/ui";
import { upliftText, verdictBadge } from "../skills/effect";

export const REMOVES_MOST: FlagKind = "removes_most_of_skill";

/** Whether the edit removes more than half of the skill (the screen's flag or the share itself). */
export function removesMost(c: Candidate): boolean {
  return (c.flags ?? []).some((f) => f.kind === REMOVES_MOST) || (c.removed_share ?? 0) > 0.5;
}

/** The prominent warning for an edit that removes more than half of a skill, or null. */
export function removesMostWarning(c: Candidate): HTMLElement | null {
  if (!removesMost(c)) return null;
  const share = c.removed_share ?? null;
  const flag = (c.flags ?? []).find((f) => f.kind === REMOVES_MOST);
  return h(
    "section",
    { class: "card danger", id: "removes-most", role: "note", "aria-labelledby": "removes-most-h" },
    h("h3", { id: "removes-most-h" }, "This edit removes most of the skill"),
    h("p", null, share !== null ? `It removes ${Math.round(share * 100)}% of the lines of ${c.name} as it is now.` : `It removes more than half of ${c.name} as it is now.`, " Whole-file rewrites lose detail the skill learned earlier: read what goes before approving."),
    flag?.excerpt ? h("p", { class: "small" }, `The screen: ${flag.excerpt}.`) : null,
  );
}

/** The current statistics of the skill an edit (or a disable proposal) is about, loaded on its own. */
export function currentStats(app: App, name: string, heading = "How the skill does now"): HTMLElement {
  const body = h("div", { "aria-busy": "true" }, loading("Loading its statistics"));
  app.api.skillStatsOf(name).then(
    (st) => {
      const up = upliftText(st);
      replace(body, h("p", { class: "row" }, verdictBadge(st.verdict), up ? h("strong", null, `uplift ${up}`) : null, h("span", { class: "muted small" }, `carried by ${num(st.injected)} turn${st.injected === 1 ? "" : "s"}`)), h("p", { class: "effect-summary" }, st.summary));
    },
    (e) => replace(body, h("p", { class: "muted" }, e instanceof ApiError && e.code === "unsupported" ? "This MetaClaw does not measure skills yet." : e instanceof ApiError && e.status === 404 ? "No turn has carried or matched it yet." : `Its statistics could not be loaded: ${errorMessage(e)}`)),
  ).finally(() => body.removeAttribute("aria-busy"));
  return h("section", { "aria-labelledby": "cand-stats-h", id: "cand-stats" }, h("h3", { id: "cand-stats-h" }, heading), body);
}

// Keyed by the generated enums: a role or verdict added in Rust fails tsc until it is named here
// (a word from a newer engine still shows as itself).
const ROLE_WORDS: Record<ValidationRole, string> = { failure: "failing turn", earlier: "earlier turn" };
const VERDICT_KIND: Record<ValidationVerdict, string> = { win: "ok", tie: "muted", loss: "bad", error: "warn" };

function wtlText(v: ValidationSummary): string {
  return `${v.wins} win${v.wins === 1 ? "" : "s"}, ${v.ties} tie${v.ties === 1 ? "" : "s"}, ${v.losses} loss${v.losses === 1 ? "" : "es"}${v.errors ? `, ${v.errors} error${v.errors === 1 ? "" : "s"}` : ""}`;
}

/** "3W 1T 0L" for the candidate list. */
export function wtlBadge(c: Candidate): HTMLElement | null {
  const v = c.validation;
  if (!v) return null;
  return h("span", { class: `badge badge-${v.losses ? "bad" : v.wins ? "ok" : "muted"}`, title: wtlText(v) }, `${v.wins}W ${v.ties}T ${v.losses}L`);
}

/** The validation set: with and without the candidate on each turn, judged; null before it exists. */
export function validationBlock(c: Candidate): HTMLElement | null {
  // An engine older than issue 17 sends no validation at all.
  if (c.validation === undefined) return null;
  // The curator's proposals are not validated on turns: their evidence is the numbers.
  if (c.validation === null && isCurator(c)) return null;
  const v = c.validation;
  return h(
    "section",
    { "aria-labelledby": "validation-h", id: "validation" },
    h("h3", { id: "validation-h" }, "Validation set"),
    v
      ? [
          h("p", { class: "muted small" }, "The judge compared the answers with and without this skill on the failing turns and earlier turns of the same agent it would have matched."),
          h(
            "p",
            { class: "wtl", id: "validation-wtl", "aria-label": wtlText(v) },
            h("span", null, h("strong", null, String(v.wins)), " wins"),
            h("span", null, h("strong", null, String(v.ties)), " ties"),
            h("span", null, h("strong", null, String(v.losses)), " losses"),
            v.errors ? h("span", null, h("strong", null, String(v.errors)), " errors") : null,
            v.unjudged ? h("span", null, h("strong", null, String(v.unjudged)), " not judged yet") : null,
          ),
          v.note ? h("p", { class: "muted small", id: "validation-note" }, v.note) : null,
          v.turns.length
            ? h(
                "div",
                { class: "table-wrap" },
                h(
                  "table",
                  { class: "data", id: "validation-turns" },
                  h("caption", { class: "sr-only" }, "Verdict per validation turn"),
                  h("thead", null, h("tr", null, h("th", { scope: "col" }, "Turn"), h("th", { scope: "col" }, "Kind"), h("th", { scope: "col" }, "With the skill"), h("th", { scope: "col" }, "Judge"))),
                  h(
                    "tbody",
                    null,
                    v.turns.map((t) => h("tr", { "data-verdict": t.verdict }, h("th", { scope: "row" }, h("a", { href: `#/turns/${t.turn_id}` }, `#${t.turn_id}`)), h("td", null, ROLE_WORDS[t.role] ?? t.role), h("td", null, badge(t.verdict, VERDICT_KIND[t.verdict] ?? "")), h("td", null, t.reason ?? "—"))),
                  ),
                ),
              )
            : null,
        ]
      : h("p", { class: "muted", id: "validation-wtl" }, "Validation pending: it runs in the next scheduler window."),
  );
}

function quoted(text: string, cls: string): HTMLElement {
  return h("span", { class: cls }, text);
}

/** One operation in words, with the anchor line it applies to. */
export function opItem(op: EditOp): HTMLElement {
  switch (op.op) {
    case "add_step":
      return h("li", { "data-op": op.op }, h("strong", null, "Added step"), op.after ? [" after ", quoted(op.after, "op-anchor")] : " at the end", quoted(op.text, "op-text"));
    case "replace_line":
      return h("li", { "data-op": op.op }, h("strong", null, "Replaced line"), quoted(op.anchor, "op-anchor op-removed"), " with ", quoted(op.text, "op-text"));
    case "remove_line":
      return h("li", { "data-op": op.op }, h("strong", null, "Removed line"), quoted(op.anchor, "op-anchor op-removed"));
    default:
      // An operation a newer engine added: shown as it came.
      return h("li", null, JSON.stringify(op));
  }
}

/** The edit as operations on the current text, or null when it is a whole-file proposal. */
export function opsBlock(c: Candidate): HTMLElement | null {
  const ops = c.ops ?? [];
  if (!ops.length) return null;
  return h("ol", { class: "ops", id: "edit-ops", "aria-label": `${ops.length} operation${ops.length === 1 ? "" : "s"} on ${c.name}` }, ops.map(opItem));
}

/** A curator proposal: disable (with the skill's numbers) or merge (listing what it replaces). */
export function curatorBlock(app: App, c: Candidate): HTMLElement | null {
  if (c.action === "disable")
    return h(
      "section",
      { class: "card inset", id: "curator-proposal", "aria-labelledby": "curator-h" },
      h("h3", { id: "curator-h" }, `The curator proposes disabling ${c.name}`),
      h("p", null, c.rationale || "Turns that carried it went worse than comparable turns without it."),
      currentStats(app, c.name, "Its numbers"),
      h("p", null, h("a", { href: `#/skills/${encodeURIComponent(c.name)}` }, `Open ${c.name} in Skills`)),
    );
  if (c.action === "merge") {
    const merges = c.merges ?? [];
    return h(
      "section",
      { class: "card inset", id: "curator-proposal", "aria-labelledby": "curator-h" },
      h("h3", { id: "curator-h" }, `The curator proposes merging ${merges.length} near-duplicate skill${merges.length === 1 ? "" : "s"} into ${c.name}`),
      h("p", null, `Approving writes the merged skill as ${c.name} and archives the others (restorable from Skills → Archive). It replaces:`),
      h("ul", { id: "merge-list" }, merges.map((m) => h("li", null, h("a", { href: `#/skills/${encodeURIComponent(m)}` }, m)))),
      c.rationale ? h("p", null, h("span", { class: "muted" }, "Evidence: "), c.rationale) : null,
    );
  }
  return null;
}

/** Whether the candidate is a curator proposal (disable, merge): it comes from the skill's numbers,
 * not from failed turns, so it has no replay and no validation set. */
export function isCurator(c: Pick<Candidate, "action">): boolean {
  return c.action === "disable" || c.action === "merge";
}

/** Per action: the list's badge word, the detail's header words, and the badge kind. */
const ACTIONS: Record<CandidateAction, { badge: string; words: string; kind: string }> = {
  create: { badge: "new", words: "New skill", kind: "ok" },
  edit: { badge: "edit", words: "Edit of an existing skill", kind: "info" },
  disable: { badge: "disable", words: "Curator: disable", kind: "bad" },
  merge: { badge: "merge", words: "Curator: merge", kind: "info" },
};

/** An action a newer engine added reads as a new skill. */
function actionOf(c: Pick<Candidate, "action">): { badge: string; words: string; kind: string } {
  return ACTIONS[c.action] ?? ACTIONS.create;
}

/** The candidate list's action badge. */
export function actionBadge(c: Pick<Candidate, "action">): HTMLElement {
  const a = actionOf(c);
  return badge(a.badge, a.kind);
}

/** The detail's header words for the action. */
export function actionWords(c: Pick<Candidate, "action">): [string, string] {
  const a = actionOf(c);
  return [a.words, a.kind];
}
