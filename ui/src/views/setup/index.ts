// The first-run guide (#/setup): (a) provider, key and Test, (b) the agent's model and the
// judge's and evolver's, saved through PUT /api/keys and PUT /api/config, (c) connect the agent,
// (d) sleep hours, calendars and start-at-login, (e) done, with the live checklist. Shown at
// first start until done or dismissed; Settings opens it again.

import type { App, View } from "../../app";
import type { Config, KeyInfo } from "../../api/types";
import type { ListedModel } from "../../api/generated/setup";
import { h, replace } from "../../lib/dom";
import { errorMessage, failure, loading, toast, toggleSwitch } from "../../lib/ui";
import { agentsStep } from "./agents";
import { setSetup, setupStatus } from "./api";
import { liveChecklist } from "./checklist";
import { type Draft, providerStep } from "./provider";

const STEPS = ["Provider and key", "Model", "Connect your agent", "Sleep hours", "Done"];

/** Where the guide was, so leaving for Calendars or Connect and coming back resumes it. */
let resume: { step: number; draft: Draft } | null = null;

export function setupView(app: App): View {
  const body = h("div", null, loading("Loading the guide"));
  const stepper = h("ol", { class: "setup-steps", "aria-label": "Steps" });
  const later = h("button", { type: "button", class: "btn btn-ghost", id: "setup-later" }, "Not now") as HTMLButtonElement;
  later.addEventListener("click", async () => {
    later.disabled = true;
    try {
      await setSetup(app.api, "dismissed");
      resume = null;
      toast("The guide is in Settings whenever you want it");
      app.navigate("#/dashboard");
    } catch (e) {
      toast(errorMessage(e), "error");
      later.disabled = false;
    }
  });
  const el = h("div", { class: "view view-setup" }, h("div", { class: "view-head" }, h("h1", null, "Set up MetaClaw"), later), stepper, body);
  let stopChecklist: (() => void) | null = null;
  let d: Draft;
  let step = 0;

  const go = (n: number) => {
    stopChecklist?.();
    stopChecklist = null;
    step = n;
    later.hidden = step === STEPS.length - 1;
    resume = { step, draft: { ...d, key: "" } };
    replace(
      stepper,
      STEPS.map((label, i) => h("li", { class: i < step ? "past" : i === step ? "current" : "", "aria-current": i === step ? "step" : null }, h("span", { class: "sr-only" }, `Step ${i + 1}: `), label)),
    );
    const heading = h("h2", { id: "setup-step-h", tabindex: -1 }, `${step + 1}. ${STEPS[step]}`);
    const content = [() => providerStep(app, d, () => go(1)), modelStep, connectStep, sleepStep, doneStep][step]();
    replace(body, h("section", { class: "card setup-card", "aria-labelledby": "setup-step-h", "data-step": String(step) }, heading, content));
    heading.focus();
  };

  // (b): the agent's model; judge and evolver on with it or a cheaper sibling; then save.
  const modelStep = (): HTMLElement => {
    const models: ListedModel[] = d.result?.models ?? [];
    const err = h("div", { role: "alert", id: "setup-save-error" });
    const pick = (id: string, label: string, value: string, onChange: (v: string) => void): HTMLElement => {
      const ctl = models.length
        ? (h("select", { id }, models.map((m) => h("option", { value: m.id }, m.id))) as HTMLSelectElement)
        : (h("input", { id, type: "text", autocomplete: "off", spellcheck: "false", class: "mono" }) as HTMLInputElement);
      ctl.value = value;
      ctl.addEventListener(models.length ? "change" : "input", () => onChange(ctl.value.trim()));
      return h("div", { class: "field" }, h("label", { for: id }, label), ctl);
    };
    const cheaper = (m: string) => models.find((x) => x.id === m)?.cheaper ?? m;
    if (!d.model && models.length) d.model = models[0].id;
    if (!d.learningModel) d.learningModel = cheaper(d.model);
    let touched = false;
    const learnSlot = h("div");
    const drawLearn = () => replace(learnSlot, d.learning ? pick("setup-learning-model", "Model for the judge and the evolver", d.learningModel, (v) => ((d.learningModel = v), (touched = true))) : null);
    const agent = pick("setup-model", "Model your agent uses", d.model, (v) => {
      d.model = v;
      if (!touched) {
        d.learningModel = cheaper(v);
        drawLearn();
      }
    });
    const learn = h("input", { type: "checkbox", id: "setup-learning", checked: d.learning }) as HTMLInputElement;
    learn.addEventListener("change", () => {
      d.learning = learn.checked;
      drawLearn();
    });
    drawLearn();
    const save = h("button", { type: "submit", class: "btn btn-primary", id: "setup-save" }, "Save and continue") as HTMLButtonElement;
    const form = h(
      "form",
      { class: "setup-form" },
      h("p", { class: "lede" }, `${d.preset.label} at `, h("code", null, d.baseUrl), ` lists ${models.length} model${models.length === 1 ? "" : "s"}.`),
      agent,
      h(
        "div",
        { class: "field field-check" },
        learn,
        h("label", { for: learn.id }, "Turn learning on: a model judges each turn and the evolver writes skills from the failed ones"),
        h("p", { class: "hint" }, "A cheaper model from the same list is suggested: judging and proposing skills don't need the biggest one."),
      ),
      learnSlot,
      err,
      h("div", { class: "actions" }, h("button", { type: "button", class: "btn", onclick: () => go(0) }, "Back"), save),
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      save.disabled = true;
      replace(err);
      try {
        await saveUpstream(app, d);
        toast(`Saved: ${d.preset.provider === "custom" ? d.baseUrl : d.preset.label}${d.learning ? `, learning with ${d.learningModel}` : ""}`);
        go(2);
      } catch (e) {
        replace(err, h("p", { class: "error-text" }, errorMessage(e)));
        save.disabled = false;
      }
    });
    return form;
  };

  const connectStep = (): HTMLElement =>
    h("div", null, agentsStep(app, d.model), h("div", { class: "actions" }, h("button", { type: "button", class: "btn", onclick: () => go(1) }, "Back"), h("button", { type: "button", class: "btn btn-primary", id: "setup-next-c", onclick: () => go(3) }, "Next: sleep hours")));

  // (d): when learning may run; calendars; start at login in the desktop app.
  const sleepStep = (): HTMLElement => {
    const slot = h("div", null, loading("Loading the schedule"));
    const draw = async () => {
      try {
        const r = await app.api.config();
        const cur = r.config.scheduler.sleep.default ?? "23:00-07:00";
        const [from0, to0] = cur === "off" ? ["23:00", "07:00"] : cur.split("-");
        const from = h("input", { type: "time", id: "setup-sleep-from", value: from0, required: true }) as HTMLInputElement;
        const to = h("input", { type: "time", id: "setup-sleep-to", value: to0, required: true }) as HTMLInputElement;
        const err = h("div", { role: "alert" });
        const save = h("button", { type: "submit", class: "btn btn-primary", id: "setup-save-sleep" }, "Save and finish") as HTMLButtonElement;
        const form = h(
          "form",
          { class: "setup-form" },
          h("p", { class: "lede" }, "MetaClaw judges, evolves and trains while you sleep or are away, so it never competes with you. When do you usually sleep?"),
          h("div", { class: "row" }, h("div", { class: "field" }, h("label", { for: from.id }, "Asleep from"), from), h("div", { class: "field" }, h("label", { for: to.id }, "until"), to)),
          h("p", { class: "hint" }, "Busy times in your calendars count too: ", h("a", { href: "#/calendars", id: "setup-calendars" }, "add a calendar"), " (optional; the guide waits here)."),
          autostartChoice(),
          err,
          h("div", { class: "actions" }, h("button", { type: "button", class: "btn", onclick: () => go(2) }, "Back"), save),
        );
        form.addEventListener("submit", async (ev) => {
          ev.preventDefault();
          save.disabled = true;
          replace(err);
          try {
            const c = (await app.api.config()).config;
            c.scheduler.sleep = { ...c.scheduler.sleep, default: `${from.value}-${to.value}` };
            await app.api.saveConfig(c);
            go(4);
          } catch (e) {
            replace(err, h("p", { class: "error-text" }, errorMessage(e)));
            save.disabled = false;
          }
        });
        replace(slot, form);
      } catch (e) {
        replace(slot, failure(e, () => void draw()));
      }
    };
    void draw();
    return slot;
  };

  // (e): done; the live checklist.
  const doneStep = (): HTMLElement => {
    const list = h("div");
    void setSetup(app.api, "done").catch((e) => toast(errorMessage(e), "error"));
    resume = null;
    stopChecklist = liveChecklist(app, list);
    return h(
      "div",
      null,
      h("p", { class: "lede" }, "MetaClaw is set up. Send your agent a message: the ticks below (and on the Dashboard) appear as MetaClaw sees the turn, judges it, and proposes a skill from a failure."),
      list,
      h("div", { class: "actions" }, h("button", { type: "button", class: "btn btn-primary", id: "setup-finish", onclick: () => app.navigate("#/dashboard") }, "Go to the Dashboard")),
    );
  };

  const start = async () => {
    try {
      const [st, cfg, keys] = await Promise.all([setupStatus(app.api), app.api.config(), app.api.keys().catch((): KeyInfo[] => [])]);
      if (resume) {
        d = resume.draft;
        go(resume.step);
        return;
      }
      d = initialDraft(st.providers, cfg.config, keys);
      go(0);
    } catch (e) {
      replace(body, failure(e, () => void start()));
    }
  };
  void start();
  return {
    el,
    destroy() {
      stopChecklist?.();
    },
  };
}

/** The upstream the guide edits: the one-upstream `[upstream]` (key `upstream.default`), or the
 * default (else first) of `[[upstreams]]`. */
function upstreamOf(c: Config): { name: string; base_url: string; kind: Config["upstream"]["kind"] } {
  if (!c.upstreams.length) return { name: "default", base_url: c.upstream.base_url, kind: c.upstream.kind };
  const u = c.upstreams.find((x) => x.default) ?? c.upstreams[0];
  return { name: u.name, base_url: u.base_url, kind: u.kind };
}

function initialDraft(presets: Draft["presets"], c: Config, keys: KeyInfo[]): Draft {
  const up = upstreamOf(c);
  const known = presets.find((p) => p.base_url === up.base_url.replace(/\/+$/, ""));
  const preset = known ?? presets.find((p) => p.provider === "custom") ?? presets[0];
  return {
    presets,
    preset,
    baseUrl: up.base_url,
    protocol: up.kind,
    key: "",
    upstream: up.name,
    storedKey: keys.some((k) => k.name === `upstream.${up.name}` && k.set),
    result: null,
    model: c.upstream.model ?? "",
    learning: true,
    learningModel: c.judge.model ?? "",
  };
}

/** The key first (so the upstream has it when the new config applies), then the config. */
async function saveUpstream(app: App, d: Draft): Promise<void> {
  if (d.key) await app.api.setKey(`upstream.${d.upstream}`, d.key);
  const c = (await app.api.config()).config;
  if (!c.upstreams.length) {
    c.upstream.base_url = d.baseUrl;
    c.upstream.kind = d.protocol;
  } else {
    const u = c.upstreams.find((x) => x.name === d.upstream) ?? c.upstreams[0];
    u.base_url = d.baseUrl;
    u.kind = d.protocol;
  }
  if (d.learning && d.learningModel) {
    c.judge.model = d.learningModel;
    c.evolve.model = d.learningModel;
  }
  await app.api.saveConfig(c);
  d.storedKey = d.storedKey || Boolean(d.key);
  d.key = "";
}

/** "Start MetaClaw when I log in", inside the desktop app only (its autostart plugin). */
function autostartChoice(): HTMLElement | null {
  const auto = window.__METACLAW__?.desktop ? window.__METACLAW__.autostart : undefined;
  if (!auto) return null;
  const slot = h("div", { class: "field" });
  void auto.get().then(
    (on) =>
      replace(
        slot,
        toggleSwitch("Start MetaClaw when I log in", on, async (v, input) => {
          input.disabled = true;
          try {
            await auto.set(v);
          } catch (e) {
            input.checked = !v;
            toast(errorMessage(e), "error");
          } finally {
            input.disabled = false;
          }
        }),
      ),
    () => replace(slot),
  );
  return slot;
}
