// Guide step (a): pick the provider (presets from GET /api/setup, or a custom address), paste
// the key, Test: the upstream's models, or what is wrong in plain words. Nothing is saved here.

import type { App } from "../../app";
import type { Protocol } from "../../api/types";
import type { ProviderPreset, SetupTestResult } from "../../api/generated/setup";
import { h, replace } from "../../lib/dom";
import { errorMessage } from "../../lib/ui";
import { testUpstream } from "./api";

/** What the guide has gathered so far (the key stays in this page only until it is saved). */
export interface Draft {
  presets: ProviderPreset[];
  preset: ProviderPreset;
  baseUrl: string;
  protocol: Protocol;
  key: string;
  /** The upstream whose key and address the guide writes (`default` for the one-upstream config). */
  upstream: string;
  /** A key is already stored for it (keyring, file or environment). */
  storedKey: boolean;
  result: SetupTestResult | null;
  model: string;
  learning: boolean;
  learningModel: string;
}

export function providerStep(app: App, d: Draft, next: () => void): HTMLElement {
  const result = h("div", { id: "setup-test-result", role: "status", "aria-live": "polite" });
  const address = h("input", { id: "setup-base-url", type: "url", autocomplete: "off", spellcheck: "false", class: "mono", placeholder: "https://host/v1" }) as HTMLInputElement;
  const protocol = h(
    "select",
    { id: "setup-protocol" },
    h("option", { value: "openai" }, "OpenAI-compatible (chat completions)"),
    h("option", { value: "anthropic" }, "Anthropic (messages)"),
  ) as HTMLSelectElement;
  const key = h("input", { id: "setup-key", type: "password", autocomplete: "off", spellcheck: "false", class: "mono" }) as HTMLInputElement;
  const keyHint = h("p", { class: "hint", id: "setup-key-hint" });
  key.setAttribute("aria-describedby", keyHint.id);
  const protoField = h("div", { class: "field" }, h("label", { for: protocol.id }, "Protocol"), protocol);
  const testBtn = h("button", { type: "submit", class: "btn", id: "setup-test" }, "Test") as HTMLButtonElement;
  const nextBtn = h("button", { type: "button", class: "btn btn-primary", id: "setup-next-a", onclick: next }, "Next: pick the model") as HTMLButtonElement;

  const paint = () => {
    address.value = d.baseUrl;
    protocol.value = d.protocol;
    protoField.hidden = d.preset.provider !== "custom";
    key.value = d.key;
    keyHint.textContent = d.storedKey
      ? "A key is already stored for this upstream: leave this empty to keep it, or paste a new one."
      : d.preset.needs_key
        ? `Paste the API key from your ${d.preset.label} account. It is stored by MetaClaw (never in config.toml) and never shown again.`
        : d.preset.local
          ? "Servers on this computer usually need no key: leave it empty unless yours asks for one."
          : "If the server needs a key, paste it here; otherwise leave it empty.";
    nextBtn.disabled = d.result?.outcome !== "ok";
  };

  const radios = d.presets.map((p) => {
    const id = `setup-provider-${p.provider}`;
    const r = h("input", { type: "radio", name: "setup-provider", id, value: p.provider, checked: p.provider === d.preset.provider }) as HTMLInputElement;
    r.addEventListener("change", () => {
      if (!r.checked) return;
      d.preset = p;
      d.baseUrl = p.base_url;
      d.protocol = p.protocol;
      d.result = null;
      replace(result);
      paint();
    });
    return h("div", { class: "setup-choice" }, r, h("label", { for: id }, p.label));
  });

  address.addEventListener("input", () => {
    d.baseUrl = address.value.trim();
    d.result = null;
    paint();
  });
  protocol.addEventListener("change", () => {
    d.protocol = protocol.value as Protocol;
    d.result = null;
    paint();
  });
  key.addEventListener("input", () => {
    d.key = key.value.trim();
    d.result = null;
    paint();
  });

  const form = h(
    "form",
    { class: "setup-form", "aria-describedby": "setup-a-lede" },
    h("fieldset", { class: "setup-choices" }, h("legend", null, "Where does your agent's model run?"), radios),
    h("div", { class: "field" }, h("label", { for: address.id }, "Address (up to /v1)"), address),
    protoField,
    h("div", { class: "field" }, h("label", { for: key.id }, "API key"), key, keyHint),
    h("div", { class: "actions" }, testBtn, nextBtn),
    result,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    testBtn.disabled = true;
    replace(result, h("p", { class: "hint" }, `Asking ${d.baseUrl || "the server"} for its models…`));
    try {
      const r = await testUpstream(app.api, {
        provider: d.preset.provider,
        base_url: d.baseUrl,
        protocol: d.protocol,
        ...(d.key ? { key: d.key } : d.storedKey ? { stored_key: d.upstream } : {}),
      });
      d.result = r.outcome === "ok" ? r : null;
      if (r.outcome === "ok") {
        d.baseUrl = r.base_url;
        const ids = r.models.map((m) => m.id);
        if (!ids.includes(d.model)) d.model = ids[0] ?? d.model;
      }
      replace(
        result,
        h(
          "div",
          { class: r.outcome === "ok" ? "notice notice-ok" : "notice notice-bad", "data-outcome": r.outcome },
          h("p", null, h("strong", null, r.outcome === "ok" ? "It works. " : "It doesn't work yet. "), r.message),
        ),
      );
    } catch (e) {
      d.result = null;
      replace(result, h("div", { class: "notice notice-bad", "data-outcome": "error" }, h("p", null, errorMessage(e))));
    } finally {
      testBtn.disabled = false;
      paint();
      if (d.result) nextBtn.focus();
    }
  });
  paint();
  return h(
    "div",
    null,
    h("p", { class: "lede", id: "setup-a-lede" }, "MetaClaw sits between your agent and its model provider. Tell it where the model runs; Test checks the address and the key before anything is saved."),
    form,
  );
}
