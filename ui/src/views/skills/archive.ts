// The curator's archive in the Skills view: skills moved out of the library for disuse, with why
// and when, each restorable (a new generation).

import type { App } from "../../app";
import { h, replace } from "../../lib/dom";
import { dateTime } from "../../lib/format";
import { empty, errorMessage, load, toast } from "../../lib/ui";

/** Shows the archive in `slot` (a card with Close); `changed` runs after a restore. `focus`: move
 * focus to its heading (not when it refreshes itself on an event). */
export async function showArchive(app: App, slot: HTMLElement, changed: () => Promise<void>, focus = true): Promise<void> {
  const close = h("button", { type: "button", class: "btn btn-small", onclick: () => replace(slot) }, "Close");
  const body = h("div");
  const status = h("p", { class: "sr-only", role: "status" });
  replace(slot, h("section", { class: "card", "aria-labelledby": "archive-h", id: "archive" }, h("div", { class: "card-head" }, h("h2", { id: "archive-h", tabindex: -1 }, "Archive"), close), h("p", { class: "muted small" }, "Skills the curator moved out of the library because nothing used them. Restoring one makes it active again."), status, body));
  const list = await load(
    body,
    () => app.api.archive(),
    (a) =>
      a.skills.length
        ? h(
            "ul",
            { class: "plain-list archive-list" },
            a.skills.map((x) =>
              h(
                "li",
                { class: "archive-item", "data-name": x.name },
                h("div", { class: "row" }, h("strong", null, x.name), h("span", { class: "muted small" }, `archived ${dateTime(x.archived_at)}`)),
                x.description ? h("p", { class: "small" }, x.description) : null,
                h("p", { class: "muted small archive-reason" }, x.reason),
                h(
                  "button",
                  {
                    type: "button",
                    class: "btn btn-small",
                    "aria-label": `Restore ${x.name} from the archive`,
                    onclick: async (e: Event) => {
                      const b = e.currentTarget as HTMLButtonElement;
                      b.disabled = true;
                      try {
                        const r = await app.api.unarchive(x.name);
                        toast(`Restored ${x.name} from the archive — generation #${r.generation}`);
                        await changed();
                        await showArchive(app, slot, changed);
                      } catch (err) {
                        b.disabled = false;
                        toast(errorMessage(err), "error");
                      }
                    },
                  },
                  "Restore",
                ),
              ),
            ),
          )
        : empty("The archive is empty", "The curator archives skills no turn has used for a while; restore them here."),
    "Loading the archive",
  );
  if (list) status.textContent = `${list.skills.length} archived skill${list.skills.length === 1 ? "" : "s"}`;
  if (focus) (slot.querySelector("#archive-h") as HTMLElement | null)?.focus();
}
