// "Curate…": the curator's dry run (what it would archive, disable or merge, and why) in a dialog,
// then the real run on confirmation. Archiving applies at once; disable and merge become
// proposals in Review.

import type { App } from "../../app";
import type { CurateAction, CurateKind, CurateReport } from "../../api/types";
import { h, replace } from "../../lib/dom";
import { badge, dialog, empty, load, toast } from "../../lib/ui";

const KIND_WORDS: Record<CurateKind, string> = { archive: "Archive", disable: "Propose disabling", merge: "Propose merging" };
const KIND_BADGE: Record<CurateKind, string> = { archive: "muted", disable: "bad", merge: "info" };

/** The curator's actions as a list: kind, skills, reason and evidence. */
export function curateActions(actions: CurateAction[], id = "curate-plan"): HTMLElement {
  return h(
    "ul",
    { class: "plain-list curate-list", id },
    actions.map((a) =>
      h(
        "li",
        { class: "curate-action", "data-kind": a.kind },
        h("div", { class: "row" }, badge(KIND_WORDS[a.kind] ?? a.kind, KIND_BADGE[a.kind] ?? ""), h("strong", null, a.skills.join(", ")), a.candidate !== null ? h("a", { href: `#/review/${a.candidate}` }, `in Review (#${a.candidate})`) : null),
        h("p", { class: "curate-reason" }, a.reason),
        a.evidence ? h("p", { class: "muted small curate-evidence" }, a.evidence) : null,
      ),
    ),
  );
}

function tally(r: CurateReport): string {
  const n = (k: CurateKind) => r.actions.filter((a) => a.kind === k).length;
  const parts = [`archived ${n("archive")}`, `proposed ${n("disable") + n("merge")} for review`];
  return `Curator: ${parts.join(", ")}${r.generation ? ` — generation #${r.generation}` : ""}`;
}

/** Opens the dialog; `changed` runs after a real run. */
export async function curateDialog(app: App, changed: () => Promise<void>): Promise<void> {
  const body = h("div", { id: "curate-dry-run", "aria-live": "polite" });
  let plan: CurateReport | undefined;
  const shown = dialog("Curate the library", body, {
    submitLabel: "Run the curator",
    wide: true,
    submit: async () => {
      if (!plan) throw new Error("The dry run has not finished yet.");
      return app.api.curate(false);
    },
  });
  plan = await load(
    body,
    () => app.api.curate(true),
    (r) => [
      h("p", null, "A dry run: nothing has changed yet. Running the curator archives the unused skills (restorable from the Archive) and sends the other proposals to Review."),
      r.actions.length ? curateActions(r.actions) : empty("Nothing to do", "Every skill is in use and none hurts or duplicates another."),
    ],
    "Asking the curator what it would do",
  );
  const r = await shown;
  if (!r) return;
  toast(tally(r), "ok");
  replace(body);
  await changed();
  void app.refreshStatus();
}
