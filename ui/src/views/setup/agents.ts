// Guide step (c): connect the agent through the connect API (the diff first, then the write),
// with copyable snippets for agents and SDKs that are set up by hand.

import type { App } from "../../app";
import type { ConnectAgent, ConnectAgents, ConnectPlan } from "../../api/generated/connect";
import { h } from "../../lib/dom";
import { badge, dialog, load, toast } from "../../lib/ui";
import { snippetBlock } from "../connect";

export function agentsStep(app: App, model: string): HTMLElement {
  const list = h("div", { class: "setup-agents", "aria-live": "polite" });
  const reload = () =>
    load(list, () => app.api.request<ConnectAgents>("GET", "/api/connect"), (r) => render(r.agents), "Looking for agents on this computer");

  const connect = async (a: ConnectAgent) => {
    const body = { model: model || undefined };
    const plan = await app.api.request<ConnectPlan>("POST", `/api/connect/${a.agent}/preview`, body);
    const ok = await dialog(
      `Connect ${a.label}`,
      h("div", null, h("p", null, "MetaClaw will change ", h("code", null, plan.path), " like this (a backup is kept; Disconnect on the Connect page puts it back):"), h("pre", { class: "wrap connect-diff" }, plan.diff)),
      { submitLabel: "Write the change", wide: true, submit: () => app.api.request<ConnectPlan>("POST", `/api/connect/${a.agent}`, body) },
    );
    if (ok) {
      toast(`${a.label} now sends its requests to MetaClaw`);
      await reload();
    }
  };

  const render = (agents: ConnectAgent[]) => {
    const auto = agents.filter((a) => a.file_wired && a.installed);
    const byHand = agents.filter((a) => !a.file_wired || !a.installed);
    return h(
      "div",
      null,
      auto.length
        ? h(
            "ul",
            { class: "setup-agent-list" },
            auto.map((a) =>
              h(
                "li",
                { "data-agent": a.agent, "data-state": a.state },
                h("span", { class: "setup-agent-name" }, a.label),
                a.state === "wired" ? badge("connected", "ok") : a.state === "broken" ? badge("its config does not parse", "bad") : badge("not connected", "muted"),
                a.state === "wired" || a.state === "broken"
                  ? null
                  : h("button", { type: "button", class: "btn btn-small", id: `setup-connect-${a.agent}`, onclick: () => void connect(a).catch((e) => toast(String((e as Error).message), "error")) }, `Connect ${a.label}…`),
              ),
            ),
          )
        : h("p", null, "No agent MetaClaw can wire by itself was found on this computer. Use a snippet below, or come back to Connect later."),
      h(
        "details",
        { class: "setup-snippets" },
        h("summary", null, "Other agents and SDKs: set up by hand"),
        byHand.map((a) => {
          const el = snippetBlock(a);
          el.prepend(h("h3", null, a.label));
          return el;
        }),
      ),
    );
  };
  void reload();
  return h(
    "div",
    null,
    h("p", { class: "lede" }, "Send your agent's requests through MetaClaw so it can learn from them. MetaClaw shows the exact change to the agent's config before writing it. All agents are on the ", h("a", { href: "#/connect" }, "Connect"), " page too."),
    list,
  );
}
