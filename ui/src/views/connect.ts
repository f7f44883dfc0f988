// Connect your agent: every agent MetaClaw can wire, whether it is installed and wired, the exact
// change to its config (a diff) before anything is written, Connect/Disconnect, and copyable
// snippets for agents that are set up by hand.

import type { App, View } from "../app";
import type { ConnectAgent, ConnectAgents, ConnectPlan, ConnectRequest, DisconnectResult } from "../api/generated/connect";
import { copyText, h } from "../lib/dom";
import { dateTime } from "../lib/format";
import { badge, confirmDialog, dialog, errorMessage, load, loading, toast } from "../lib/ui";

const STATE: Record<ConnectAgent["state"], [string, string]> = {
  wired: ["wired", "ok"],
  not_wired: ["not wired", "muted"],
  broken: ["config does not parse", "bad"],
  manual: ["set up by hand", "info"],
};

function diffBlock(diff: string): HTMLElement {
  const lines = diff.split("\n").filter((l, i, all) => l !== "" || i < all.length - 1);
  return h(
    "pre",
    { class: "wrap connect-diff", "aria-label": "The change to the agent's config" },
    lines.map((l) =>
      h("span", { class: l.startsWith("+") && !l.startsWith("+++") ? "diff-add" : l.startsWith("-") && !l.startsWith("---") ? "diff-del" : null }, `${l}\n`),
    ),
  );
}

/** An agent's snippet with its Copy button (also shown by the setup guide). */
export function snippetBlock(a: ConnectAgent): HTMLElement {
  return h(
    "div",
    { class: "snippet" },
    h("pre", null, h("code", null, a.snippet)),
    h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        "aria-label": `Copy the ${a.label} snippet`,
        onclick: async () => {
          const ok = await copyText(a.snippet);
          toast(ok ? `Copied the ${a.label} snippet` : "Copy failed: select the text and copy it by hand", ok ? "ok" : "error");
        },
      },
      "Copy",
    ),
  );
}

export function connectView(app: App): View {
  const list = h("div", { class: "connect-agents", "aria-live": "polite" }, loading("Looking for agents"));
  const el = h(
    "div",
    { class: "view view-connect" },
    h("div", { class: "view-head" }, h("h1", null, "Connect your agent")),
    h(
      "p",
      { class: "lede" },
      "MetaClaw edits the agent's own config so its requests come here by its own route: you see the exact change first, a backup is kept, and Disconnect puts the file back byte for byte.",
    ),
    list,
  );

  async function reload(): Promise<void> {
    await load(list, () => app.api.request<ConnectAgents>("GET", "/api/connect"), (r) => h("div", null, r.agents.map((a) => card(a, r.port))), "Looking for agents");
  }

  function card(a: ConnectAgent, port: number): HTMLElement {
    const [stateText, stateKind] = STATE[a.state];
    const id = `agent-${a.agent}`;
    const inject = h("input", { type: "checkbox", id: `${id}-inject`, checked: true }) as HTMLInputElement;
    const actions = h("div", { class: "actions" });
    if (a.file_wired) {
      actions.append(
        h("label", { for: `${id}-inject`, class: "check" }, inject, " Inject skills into its requests"),
        h("button", { type: "button", class: "btn btn-primary", id: `${id}-connect`, disabled: a.state === "wired" || a.state === "broken", onclick: () => void connect(a, { inject: inject.checked }) }, "Connect…"),
      );
      if (a.restorable)
        actions.append(h("button", { type: "button", class: "btn", id: `${id}-disconnect`, onclick: () => void disconnect(a) }, "Disconnect"));
    }
    return h(
      "section",
      { class: "card agent-card", id, "aria-labelledby": `${id}-h`, "data-agent": a.agent, "data-state": a.state },
      h("header", null, h("h2", { id: `${id}-h` }, a.label), " ", badge(a.installed ? "installed" : "not found", a.installed ? "ok" : "muted"), " ", badge(stateText, stateKind)),
      h(
        "dl",
        { class: "kv" },
        h("dt", null, "Route"),
        h("dd", { class: "mono" }, `http://127.0.0.1:${port}/agents/${a.agent}/v1`),
        a.config ? [h("dt", null, "Config"), h("dd", { class: "mono" }, a.config)] : null,
        h("dt", null, "Last turn"),
        h("dd", null, a.last_seen_ms === null ? "never" : dateTime(a.last_seen_ms)),
      ),
      a.problem ? h("p", { class: "error-text", role: "note" }, a.problem) : null,
      a.file_wired ? null : snippetBlock(a),
      actions,
    );
  }

  async function connect(a: ConnectAgent, req: ConnectRequest): Promise<void> {
    let plan: ConnectPlan;
    try {
      plan = await app.api.request<ConnectPlan>("POST", `/api/connect/${a.agent}/preview`, req);
    } catch (e) {
      toast(errorMessage(e), "error");
      return;
    }
    if (plan.already) {
      toast(`${a.label} already points at MetaClaw`, "info");
      await reload();
      return;
    }
    const body = h("div", null, h("p", null, "This change will be written to ", h("code", null, plan.path), ". A backup of the file is kept in MetaClaw's home."), diffBlock(plan.diff), plan.next.map((n) => h("p", { class: "muted small" }, n)));
    const done = await dialog(`Connect ${a.label}`, body, {
      submitLabel: "Write the change",
      wide: true,
      submit: () => app.api.request<ConnectPlan>("POST", `/api/connect/${a.agent}`, req),
    });
    if (done) {
      toast(`${a.label} now sends its requests to MetaClaw`);
      await reload();
    }
  }

  async function disconnect(a: ConnectAgent): Promise<void> {
    const ok = await confirmDialog(`Disconnect ${a.label}`, `Put ${a.config ?? "its config"} back as it was before Connect?`, "Disconnect");
    if (!ok) return;
    try {
      const r = await app.api.request<DisconnectResult>("POST", `/api/connect/${a.agent}/disconnect`, {});
      toast(r.outcome === "restored" ? `${r.path} is back as it was` : `${r.path} removed (there was none before)`);
    } catch (e) {
      toast(errorMessage(e), "error");
    }
    await reload();
  }

  void reload();
  return { el };
}
