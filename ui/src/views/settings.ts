// Settings: upstreams, judge and evolver, approval policy, proxy port, retention, scheduler, policy
// training; API keys (set/clear, never shown); export data; delete all data; autostart (desktop
// only).

import type { App, View } from "../app";
import type { Config, KeyInfo, NamedUpstream, RestartReason, Split } from "../api/types";
import { ApiError } from "../api/client";
import { field, h, replace, uid } from "../lib/dom";
import { dialog, empty, errorMessage, failure, loading, toast, toggleSwitch } from "../lib/ui";

export function settingsView(app: App): View {
  const cfgEl = h("div", null, loading("Loading the configuration"));
  const keysEl = h("div", null, loading("Loading keys"));
  const el = h(
    "div",
    { class: "view view-settings" },
    h("div", { class: "view-head" }, h("h1", null, "Settings"), h("button", { type: "button", class: "btn", id: "setup-again", onclick: () => void app.api.request("PUT", "/api/setup", { action: "reopen" }).then(() => app.navigate("#/setup"), (e) => toast(errorMessage(e), "error")) }, "Run the setup guide again")),
    cfgEl,
    h("section", { class: "card", "aria-labelledby": "keys-h", id: "keys" }, h("h2", { id: "keys-h" }, "API keys"), h("p", { class: "hint" }, "Keys go into your OS keyring, or, on a system without one, into a secrets file in MetaClaw's folder that only your user can read. MetaClaw never shows a stored key again, only whether one is set and where it is kept."), keysEl),
    h("section", { class: "card", "aria-labelledby": "exp-h" }, h("h2", { id: "exp-h" }, "Export data"), exportBlock(app)),
    desktopBlock(),
    h("section", { class: "card danger-zone", "aria-labelledby": "del-h" }, h("h2", { id: "del-h" }, "Delete all data"), deleteBlock(app)),
  );
  void loadConfig(app, cfgEl);
  void loadKeys(app, keysEl);
  return { el };
}

// --- configuration ---------------------------------------------------------------------------

const WAITING: Record<RestartReason, string> = {
  listen_address: "the listen address",
};

/** What a saved setting that waits for a restart means for the user, in plain words. */
function restartNotice(waiting: RestartReason[], justSaved: boolean): string {
  const desktop = window.__METACLAW__?.desktop === true;
  const lead = justSaved ? "Saved and applied, except " : "Waiting for a restart: ";
  const what = waiting.map((w) => WAITING[w]).join(", ");
  if (waiting.includes("listen_address") && desktop) return `${lead}${what}. MetaClaw restarts on the new address by itself; this window reopens there.`;
  return `${lead}${what}: ${waiting.length > 1 ? "they take" : "it takes"} effect when MetaClaw restarts (quit and start it again, or restart \`metaclaw serve\`).`;
}

async function loadConfig(app: App, el: HTMLElement): Promise<void> {
  replace(el, loading("Loading the configuration"));
  try {
    const r = await app.api.config();
    replace(el, configForm(app, r.path, r.config, () => void loadConfig(app, el), r.restart ?? []));
  } catch (e) {
    replace(el, h("section", { class: "card" }, h("h2", null, "Configuration"), failure(e, () => void loadConfig(app, el))));
  }
}

type Path = string;

function get(obj: unknown, path: Path): unknown {
  return path.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), obj);
}

function set(obj: unknown, path: Path, v: unknown): void {
  const ks = path.split(".");
  let o = obj as Record<string, unknown>;
  for (const k of ks.slice(0, -1)) {
    if (!o[k] || typeof o[k] !== "object") o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[ks[ks.length - 1]] = v;
}

function configForm(app: App, path: string, original: Config, reloadAll: () => void, waiting: RestartReason[]): HTMLElement {
  const cfg = structuredClone(original) as Config;
  const inputs = new Map<Path, HTMLElement>();
  const errorBox = h("div", { id: "settings-error", tabindex: -1 }, waiting.length ? h("div", { class: "notice", role: "status" }, restartNotice(waiting, false)) : null);

  /** An input bound to `cfg` at `path`. kind: text (empty → null when nullable), number, select, checkbox. */
  const bind = (p: Path, label: string, kind: "text" | "number" | "bool" | string[], opts: { nullable?: boolean; hint?: string; min?: number; max?: number; step?: string; placeholder?: string } = {}): HTMLElement => {
    const cur = get(cfg, p);
    let input: HTMLInputElement | HTMLSelectElement;
    const id = `cfg-${p.replace(/\./g, "-")}`;
    if (Array.isArray(kind)) {
      input = h("select", { id, name: p }, kind.map((o) => h("option", { value: o }, o))) as HTMLSelectElement;
      input.value = String(cur ?? kind[0]);
      input.addEventListener("change", () => set(cfg, p, input.value));
    } else if (kind === "bool") {
      const cb = h("input", { type: "checkbox", id, name: p, checked: Boolean(cur) }) as HTMLInputElement;
      cb.addEventListener("change", () => set(cfg, p, cb.checked));
      inputs.set(p, cb);
      return h("div", { class: "field field-check" }, cb, h("label", { for: id }, label), opts.hint ? h("p", { class: "hint" }, opts.hint) : null);
    } else {
      input = h("input", { id, name: p, type: kind === "number" ? "number" : "text", min: opts.min ?? null, max: opts.max ?? null, step: opts.step ?? (kind === "number" ? "any" : null), placeholder: opts.placeholder ?? null, autocomplete: "off", spellcheck: "false" }) as HTMLInputElement;
      input.value = cur === null || cur === undefined ? "" : String(cur);
      input.addEventListener("input", () => {
        const v = (input as HTMLInputElement).value;
        input.removeAttribute("aria-invalid");
        if (kind === "number") set(cfg, p, v.trim() === "" ? (opts.nullable ? null : v) : Number(v));
        else set(cfg, p, v.trim() === "" && opts.nullable ? null : v);
      });
    }
    inputs.set(p, input);
    return field(label, input, opts.hint);
  };

  const upstreamsEl = h("div");
  const drawUpstreams = () => replace(upstreamsEl, upstreamTable(cfg, drawUpstreams));
  drawUpstreams();

  /** `[train]`: policy training (a LoRA adapter on a Tinker-compatible service) and serving it. */
  const trainSection = (): HTMLElement | null => {
    // An engine without training sends no [train]; writing one would be refused.
    if (!cfg.train || typeof cfg.train !== "object") return null;
    const enabled = bind("train.enabled", "Train and serve a LoRA adapter while I'm away", "bool", { hint: "Trains on your scored turns in the scheduler's windows, and answers the models below with the trained adapter." });
    const baseModel = bind("train.base_model", "Base model", "text", { nullable: true, placeholder: "Qwen/Qwen3-8B", hint: "The trainable model on the service; required when training is on." });
    const cb = inputs.get("train.enabled") as HTMLInputElement;
    const bm = inputs.get("train.base_model") as HTMLInputElement;
    const required = () => bm.setAttribute("aria-required", String(cb.checked));
    cb.addEventListener("change", required);
    required();
    return h(
      "section",
      { class: "card", "aria-labelledby": "train-h", id: "train-settings" },
      h("h2", { id: "train-h" }, "Policy training"),
      h(
        "p",
        { class: "hint" },
        "Needs a Tinker API key unless your server needs none: ",
        h("button", { type: "button", class: "linkish", id: "train-key-link", onclick: showTinkerKey }, "set the tinker key under API keys"),
        " (or TINKER_API_KEY on a headless server). Changes here apply as soon as they are saved.",
      ),
      enabled,
      h(
        "div",
        { class: "form-grid" },
        baseModel,
        bind("train.base_url", "Training service URL", "text", { placeholder: "https://tinker.thinkingmachines.dev/services/tinker-prod", hint: "Tinker's by default, or a self-hosted Tinker-compatible server" }),
        serveModels(),
        bind("train.min_batch", "Turns per step, at least", "number", { min: 1, max: 1024, step: "1", hint: "A step waits until this many usable scored turns are ready." }),
        bind("train.max_steps_per_day", "Steps per day, at most", "number", { min: 0, step: "1" }),
        bind("train.max_spend_per_day_usd", "Spend per day, at most (USD)", "number", { min: 0, step: "any", hint: "Estimated from the tokens trained and the service's price." }),
      ),
      h("h3", null, "Advanced"),
      h(
        "div",
        { class: "form-grid" },
        bind("train.lora_rank", "LoRA rank", "number", { min: 1, max: 512, step: "1" }),
        bind("train.learning_rate", "Learning rate", "number", { min: 0, max: 1, step: "any", hint: "Between 0 and 1, e.g. 0.0001" }),
        bind("train.loss", "Loss", ["importance_sampling", "ppo", "cispo"]),
        bind("train.max_batch", "Turns per step, at most", "number", { min: 1, max: 1024, step: "1" }),
      ),
    );
  };

  /** `train.serve_models`, a list, edited as one comma-separated field. */
  const serveModels = (): HTMLElement => {
    const p = "train.serve_models";
    const cur = get(cfg, p);
    const input = h("input", { id: `cfg-${p.replace(/\./g, "-")}`, name: p, type: "text", placeholder: "none: train without serving", autocomplete: "off", spellcheck: "false" }) as HTMLInputElement;
    input.value = Array.isArray(cur) ? cur.join(", ") : "";
    input.addEventListener("input", () => {
      input.removeAttribute("aria-invalid");
      set(cfg, p, input.value.split(",").map((m) => m.trim()).filter(Boolean));
    });
    inputs.set(p, input);
    return field("Models the policy answers", input, "Comma-separated names, or prefixes ending in *; * answers every model. Empty: train, but serve nothing.");
  };

  const saveBtn = h("button", { type: "submit", class: "btn btn-primary", id: "save-settings" }, "Save settings") as HTMLButtonElement;
  const form = h(
    "form",
    { class: "settings-form", "aria-labelledby": "cfg-h", novalidate: true },
    h("section", { class: "card" }, h("h2", { id: "cfg-h" }, "Configuration"), h("p", { class: "hint" }, "Saved to ", h("code", null, path), ". Saved settings apply at once, without a restart (a new listen address excepted)."), errorBox),
    h(
      "section",
      { class: "card", "aria-labelledby": "up-h" },
      h("h2", { id: "up-h" }, "Upstream"),
      h("p", { class: "hint" }, "Where MetaClaw sends your agent's requests. With several upstreams listed below, this one only provides default timeouts."),
      h("div", { class: "form-grid" }, bind("upstream.base_url", "Base URL", "text", { hint: "Up to and including /v1, e.g. https://api.openai.com/v1" }), bind("upstream.kind", "Kind", ["openai", "anthropic"]), bind("upstream.auth", "Credentials", ["key", "passthrough"], { hint: "passthrough forwards the agent's own key" }), bind("upstream.model", "Replace the model with", "text", { nullable: true, placeholder: "the client's model" })),
      h("h3", null, "Several upstreams"),
      upstreamsEl,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "learn-h" },
      h("h2", { id: "learn-h" }, "Learning"),
      h("h3", { id: "judge-h" }, "Judge"),
      h(
        "div",
        { class: "form-grid", role: "group", "aria-labelledby": "judge-h" },
        bind("judge.model", "Judge model", "text", { nullable: true, placeholder: "off", hint: "Scores every main turn; empty turns judging off." }),
        bind("judge.upstream", "Judge upstream", "text", { nullable: true, placeholder: "the turn's own" }),
        bind("judge.votes", "Judge votes per turn", "number", { min: 1, max: 9, step: "1", hint: "Between 1 and 9; the majority wins, a tie scores 0." }),
        bind("judge.run_in", "Judge turns", ["now", "idle"], { hint: "idle: only while you're away (the scheduler's windows), so a judge on your own model server never competes with you" }),
        bind("judge.timeout_secs", "Judge call timeout (seconds)", "number", { min: 1, step: "1", hint: "A call that takes longer is given up and retried later; local models may need more." }),
        bind("judge.max_tokens", "Judge answer length, at most (tokens)", "number", { min: 16, max: 8192, step: "1", hint: "Between 16 and 8192: a sentence or two and a score." }),
      ),
      h("h3", { id: "evolver-h" }, "Evolver"),
      h(
        "div",
        { class: "form-grid", role: "group", "aria-labelledby": "evolver-h" },
        bind("evolve.model", "Evolver model", "text", { nullable: true, placeholder: "off", hint: "Turns failures into proposed skills; empty turns it off." }),
        bind("evolve.upstream", "Evolver upstream", "text", { nullable: true, placeholder: "the default" }),
        bind("evolve.run_in", "Evolve", ["now", "idle"], { hint: "idle: only while you're away (the scheduler's windows)" }),
        bind("evolve.timeout_secs", "Evolver call timeout (seconds)", "number", { min: 1, step: "1", hint: "A call that takes longer is given up; local models write slowly." }),
        bind("evolve.max_tokens", "Evolver answer length, at most (tokens)", "number", { min: 64, max: 32768, step: "1", hint: "Between 64 and 32768." }),
        bind("evolve.prompt_skills", "Existing skills shown to the evolver", "number", { min: 0, max: 100, step: "1", hint: "Up to 100: the skills closest to the failures, so it edits one instead of writing a near copy." }),
        approvalRadios(cfg, inputs),
      ),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "px-h" },
      h("h2", { id: "px-h" }, "Proxy"),
      h(
        "div",
        { class: "form-grid" },
        bind("proxy.port", "Port", "number", { min: 0, max: 65535, step: "1", hint: "For the proxy, the admin API and this UI. 0 picks a free port." }),
        bind("proxy.host", "Listen address", "text", { hint: "Keep 127.0.0.1 unless you set a proxy key." }),
        bind("proxy.drain_timeout_secs", "Shutdown wait (seconds)", "number", { min: 0, max: 3600, step: "1", hint: "Up to 3600: at shutdown, answers still streaming get this long to finish, then are recorded as cut off. 0 doesn't wait." }),
      ),
      cfg.proxy?.api_key ? h("p", { class: "hint" }, "A proxy key is set in config.toml. Prefer storing it under API keys below, and remove it from the file.") : null,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "ret-h" },
      h("h2", { id: "ret-h" }, "Data"),
      h("div", { class: "form-grid" }, bind("store.retention_days", "Keep turns for (days)", "number", { min: 0, step: "1", hint: "Older turns are deleted by the daily maintenance, in a window while you're away; 0 keeps everything." })),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "scheduler-h" },
      h("h2", { id: "scheduler-h" }, "When learning may run"),
      h(
        "div",
        { class: "form-grid" },
        bind("scheduler.sleep.default", "Sleep hours", "text", { hint: "HH:MM-HH:MM or off, in your time zone", placeholder: "23:00-07:00" }),
        bind("scheduler.timezone", "Time zone", "text", { nullable: true, placeholder: "the system's", hint: "IANA name, e.g. Europe/Berlin" }),
        bind("scheduler.idle_minutes", "Away after (minutes idle)", "number", { min: 1, step: "1" }),
        bind("scheduler.min_window_minutes", "Shortest useful window (minutes)", "number", { min: 1, step: "1" }),
        bind("scheduler.os_idle", "Read the system's idle timer", "bool", { hint: "Besides your agent's requests: keyboard and mouse (X11, GNOME, logind)." }),
      ),
    ),
    trainSection(),
    h("div", { class: "actions sticky-actions" }, saveBtn, h("button", { type: "button", class: "btn", onclick: reloadAll }, "Discard changes")),
  );

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    for (const i of inputs.values()) i.removeAttribute("aria-invalid");
    // Numbers the browser already knows are wrong.
    for (const [p, i] of inputs) {
      if (i instanceof HTMLInputElement && i.type === "number" && i.value.trim() !== "" && !i.checkValidity()) {
        showError(`${p}: ${i.validationMessage}`, p);
        return;
      }
    }
    saveBtn.disabled = true;
    try {
      const r = await app.api.saveConfig(cfg);
      const waiting = r?.restart ?? [];
      replace(errorBox, h("div", { class: "notice", role: "status" }, waiting.length ? restartNotice(waiting, true) : "Saved and applied."));
      toast(waiting.length ? "Settings saved — see the note above the form" : "Settings saved and applied");
    } catch (e) {
      const key = e instanceof ApiError ? [...inputs.keys()].find((k) => e.message.includes(k)) ?? [...inputs.keys()].find((k) => e.message.includes(k.split(".").slice(0, 2).join("."))) : undefined;
      showError(errorMessage(e), key, e);
    } finally {
      saveBtn.disabled = false;
    }
  });

  function showError(message: string, key?: string, e?: unknown): void {
    replace(errorBox, h("div", { class: "state state-error", role: "alert" }, h("p", { class: "state-title" }, e instanceof ApiError && e.code === "unsupported" ? "Can't save settings in this MetaClaw" : "Not saved"), h("p", { class: "error-text" }, message)));
    const input = key ? inputs.get(key) : undefined;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-errormessage", "settings-error");
      input.focus();
    } else errorBox.focus();
  }

  return form;
}

function approvalRadios(cfg: Config, inputs: Map<string, HTMLElement>): HTMLElement {
  const name = uid("approval");
  const opts: [string, string][] = [
    ["manual", "Manual — I approve every skill"],
    ["verified", "Verified — apply skills whose replay improves the failed answer"],
    ["auto", "Auto — apply every valid skill"],
  ];
  const fs = h(
    "fieldset",
    { class: "field radios", id: "cfg-evolve-approval" },
    h("legend", null, "Approval policy"),
    opts.map(([v, label]) => {
      const id = `${name}-${v}`;
      const r = h("input", { type: "radio", name, id, value: v, checked: cfg.evolve?.approval === v }) as HTMLInputElement;
      r.addEventListener("change", () => r.checked && set(cfg, "evolve.approval", v));
      return h("div", { class: "radio" }, r, h("label", { for: id }, label));
    }),
  );
  inputs.set("evolve.approval", fs);
  return fs;
}

function upstreamTable(cfg: Config, redraw: () => void): HTMLElement {
  const list: NamedUpstream[] = (cfg.upstreams ??= []);
  const add = h("button", { type: "button", class: "btn btn-small", id: "add-upstream", onclick: () => { list.push({ name: `upstream${list.length + 1}`, kind: "openai", base_url: "https://", models: [], default: list.length === 0, auth: "key", model: null }); redraw(); } }, "Add upstream");
  if (!list.length) return h("div", null, h("p", { class: "muted" }, "None: every model goes to the upstream above."), add);
  return h(
    "div",
    null,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data edit-table" },
        h("caption", { class: "sr-only" }, "Upstreams, in routing order"),
        h("thead", null, h("tr", null, ["Name", "Kind", "Base URL", "Models", "Default", "Credentials", ""].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          null,
          list.map((u, i) => {
            const cell = (label: string, input: HTMLElement) => {
              input.setAttribute("aria-label", `${label} of upstream ${i + 1}`);
              return h("td", null, input);
            };
            const text = (k: "name" | "base_url", v: string) => {
              const x = h("input", { value: v, class: k === "base_url" ? "wide" : "", spellcheck: "false", name: `upstreams.${i}.${k}` }) as HTMLInputElement;
              x.addEventListener("input", () => (u[k] = x.value));
              return x;
            };
            const models = h("input", { value: u.models.join(", "), placeholder: "any", spellcheck: "false" }) as HTMLInputElement;
            models.addEventListener("input", () => (u.models = models.value.split(",").map((m) => m.trim()).filter(Boolean)));
            const kind = h("select", null, ["openai", "anthropic"].map((k) => h("option", { value: k }, k))) as HTMLSelectElement;
            kind.value = u.kind;
            kind.addEventListener("change", () => (u.kind = kind.value as NamedUpstream["kind"]));
            const auth = h("select", null, ["key", "passthrough"].map((k) => h("option", { value: k }, k))) as HTMLSelectElement;
            auth.value = u.auth;
            auth.addEventListener("change", () => (u.auth = auth.value as NamedUpstream["auth"]));
            const def = h("input", { type: "checkbox", checked: u.default }) as HTMLInputElement;
            def.addEventListener("change", () => (u.default = def.checked));
            return h(
              "tr",
              null,
              cell("Name", text("name", u.name)),
              cell("Kind", kind),
              cell("Base URL", text("base_url", u.base_url)),
              cell("Models", models),
              cell("Default", def),
              cell("Credentials", auth),
              h("td", null, h("button", { type: "button", class: "btn btn-small btn-ghost", "aria-label": `Remove upstream ${u.name || i + 1}`, onclick: () => { list.splice(i, 1); redraw(); } }, "Remove")),
            );
          }),
        ),
      ),
    ),
    h("p", { class: "hint" }, "Models: exact names or prefixes ending in *, comma-separated; the first upstream listing a model is primary, the rest are fallbacks."),
    add,
  );
}

// --- keys ----------------------------------------------------------------------------------

/** Brings the Tinker key's row (API keys, below the form) into view and focuses its button. */
function showTinkerKey(): void {
  const row = document.querySelector<HTMLElement>('#keys .key-row[data-key="tinker"]');
  const target = row?.querySelector<HTMLElement>("button") ?? document.getElementById("keys-h");
  if (!target) return;
  if (!row) target.setAttribute("tabindex", "-1");
  (row ?? target).scrollIntoView({ block: "center" });
  target.focus({ preventScroll: true });
}

async function loadKeys(app: App, el: HTMLElement): Promise<void> {
  replace(el, loading("Loading keys"));
  try {
    const keys = await app.api.keys();
    replace(el, keys.length ? keyList(app, keys, () => void loadKeys(app, el)) : empty("No keys to manage"));
  } catch (e) {
    replace(el, failure(e, () => void loadKeys(app, el)));
  }
}

/** Where a set key is kept, in words: "in the OS keyring", "in file ~/…/secrets.toml", "from environment variable X". */
function keptIn(k: KeyInfo): string {
  if (!k.set) return "";
  if (k.source === "env") return `from ${k.location || "an environment variable"}`;
  if (k.source === "keyring") return "in the OS keyring";
  return `in ${k.location || "MetaClaw's secrets file"}`;
}

function keyList(app: App, keys: KeyInfo[], reload: () => void): HTMLElement {
  return h(
    "ul",
    { class: "keys plain-list" },
    keys.map((k) =>
      h(
        "li",
        { class: "key-row", "data-key": k.name },
        h("div", null, h("strong", null, k.label || k.name), h("span", { class: `badge ${k.set ? "badge-ok" : "badge-muted"}` }, k.set ? "set" : "not set"), h("span", { class: "muted small key-where" }, ` ${keptIn(k)}`)),
        h(
          "div",
          { class: "row" },
          h("button", { type: "button", class: "btn btn-small", "aria-label": `${k.set ? "Replace" : "Set"} ${k.label || k.name}`, onclick: () => void setKey(app, k, reload) }, k.set ? "Replace…" : "Set…"),
          k.source === "keyring" || k.source === "file"
            ? h(
                "button",
                {
                  type: "button",
                  class: "btn btn-small btn-ghost",
                  "aria-label": `Clear ${k.label || k.name}`,
                  onclick: async () => {
                    try {
                      await app.api.clearKey(k.name);
                      toast(`Cleared ${k.label || k.name}`);
                      reload();
                    } catch (e) {
                      toast(keyError(e), "error");
                    }
                  },
                },
                "Clear",
              )
            : null,
        ),
        k.source === "env" ? h("p", { class: "hint" }, `${k.env_var ?? "An environment variable"} overrides a stored key while it is set.`) : k.env_var ? h("p", { class: "hint" }, `Or set the environment variable ${k.env_var}, which wins over a stored key.`) : null,
      ),
    ),
  );
}

/** The engine's own words (they say what to do), with a capital letter. */
function keyError(e: unknown): string {
  const m = e instanceof ApiError && e.code === "keyring_unavailable" ? e.message : errorMessage(e);
  return m.charAt(0).toUpperCase() + m.slice(1);
}

async function setKey(app: App, k: KeyInfo, reload: () => void): Promise<void> {
  const input = h("input", { type: "password", id: "key-value", autocomplete: "off", spellcheck: "false", required: true }) as HTMLInputElement;
  const ok = await dialog(`Set ${k.label || k.name}`, [h("p", null, "The key is stored in your OS keyring (or, without one, in a file only your user can read) and never shown again."), field("Key", input)], {
    submitLabel: "Save key",
    submit: async () => {
      if (!input.value.trim()) throw new Error("Enter the key.");
      try {
        await app.api.setKey(k.name, input.value.trim());
      } catch (e) {
        throw new Error(keyError(e));
      }
      return true;
    },
  });
  input.value = "";
  if (ok) {
    toast(`Saved ${k.label || k.name}`);
    reload();
  }
}

// --- export, delete, desktop -----------------------------------------------------------------

function exportBlock(app: App): HTMLElement {
  const btn = (split: Split, label: string) => {
    const b = h("button", { type: "button", class: "btn", id: `export-${split}` }, label) as HTMLButtonElement;
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        const blob = await app.api.download(app.api.datasetUrl(split));
        const a = h("a", { href: URL.createObjectURL(blob), download: `metaclaw-${split}-${new Date().toISOString().slice(0, 10)}.jsonl` });
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
        toast(`Exported the ${split} split`);
      } catch (e) {
        toast(errorMessage(e), "error");
      } finally {
        b.disabled = false;
      }
    });
    return b;
  };
  return h(
    "div",
    null,
    h("p", null, "Scored turns as JSON lines (messages, answer, score, generation). ", h("em", null, "Query"), " turns are those no approved skill learned from — the data policy training may use; ", h("em", null, "support"), " turns are the failures skills were learned from."),
    h("div", { class: "actions" }, btn("query", "Export query turns"), btn("support", "Export support turns")),
  );
}

function deleteBlock(app: App): HTMLElement {
  const PHRASE = "delete all data";
  const input = h("input", { id: "delete-confirm", autocomplete: "off", spellcheck: "false" }) as HTMLInputElement;
  const btn = h("button", { type: "submit", class: "btn btn-danger", id: "delete-all", disabled: true }, "Delete all data") as HTMLButtonElement;
  input.addEventListener("input", () => (btn.disabled = input.value.trim() !== PHRASE));
  const form = h(
    "form",
    null,
    h("p", null, "Deletes every recorded turn, session, score, candidate and generation, and your own skills. It can't be undone. Export first if you want to keep anything."),
    field(`Type “${PHRASE}” to confirm`, input),
    h("div", { class: "actions" }, btn),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (input.value.trim() !== PHRASE) return;
    btn.disabled = true;
    try {
      await app.api.deleteAllData();
      toast("All data deleted");
      input.value = "";
      await app.refreshStatus();
    } catch (e) {
      toast(errorMessage(e), "error");
      btn.disabled = false;
    }
  });
  return form;
}

function desktopBlock(): HTMLElement | null {
  const host = window.__METACLAW__;
  if (!host?.desktop) return null;
  const slot = h("div", null, loading());
  const auto = host.autostart;
  if (!auto) replace(slot, h("p", { class: "muted" }, "Autostart is not available in this build."));
  else
    void auto.get().then(
      (on) =>
        replace(
          slot,
          toggleSwitch("Start MetaClaw when I log in", on, async (v, input) => {
            input.disabled = true;
            try {
              await auto.set(v);
              toast(v ? "MetaClaw starts at login" : "Autostart off");
            } catch (e) {
              input.checked = !v;
              toast(errorMessage(e), "error");
            } finally {
              input.disabled = false;
            }
          }),
        ),
      (e) => replace(slot, failure(e)),
    );
  return h("section", { class: "card", "aria-labelledby": "desk-h", id: "desktop" }, h("h2", { id: "desk-h" }, "Desktop"), slot);
}
