// Training view: the status card — the state and why, the actions (train now, pause, resume),
// today's budget, what is served, and how to turn training on when it is off.

import type { TrainState, TrainStatus } from "../../api/types";
import { type Child, h, replace } from "../../lib/dom";
import { count, dateTime, num, relative, usd } from "../../lib/format";
import { badge, errorMessage, toast } from "../../lib/ui";
import { skipReasons } from "./checkpoints";
import { keepFocus, type TrainingCtx } from "./context";
import { host, modelCode, runBadge, serveModels } from "./format";

const STATES: Record<TrainState, [string, string]> = {
  off: ["Off", "muted"],
  idle: ["Idle", "muted"],
  waiting: ["Waiting", "info"],
  training: ["Training", "ok"],
  paused: ["Paused", "warn"],
};

/** Shows a status answer: the state line, the actions, the card, and whether history shows. */
export function renderStatus(c: TrainingCtx, st: TrainStatus): void {
  c.status = st;
  const [label, kind] = STATES[st.state] ?? [st.state, "muted"];
  const line = `${label}: ${st.detail}`;
  if (c.stateLine.dataset.text !== line) {
    c.stateLine.dataset.text = line;
    replace(c.stateLine, h("span", { class: `badge badge-${kind}`, id: "train-state" }, label), " ", h("span", { id: "train-detail" }, st.detail));
  }
  keepFocus(c.el, () => {
    replace(c.actions, st.enabled ? actionButtons(c, st) : null);
    replace(c.statusBody, st.enabled ? statusDetails(st) : setup(c));
  });
  c.historyEl.hidden = !(st.enabled || st.current_run || st.last_run);
  replace(c.skipsEl, skipReasons(st));
}

function actionButtons(c: TrainingCtx, st: TrainStatus): HTMLElement[] {
  const running = st.state === "training" || st.current_run !== null;
  const off = st.state === "off";
  const why = running ? "A run is in progress." : off ? "Training can't start now (see above)." : st.paused ? "Resume training first." : null;
  const now = h("button", { type: "button", class: "btn btn-primary", id: "train-now", disabled: why !== null }, "Train now") as HTMLButtonElement;
  now.addEventListener("click", () => void act(c, now, () => c.app.api.trainNow(), "Training started"));
  const pause = h("button", { type: "button", class: st.paused ? "btn btn-primary" : "btn", id: "train-pause" }, st.paused ? "Resume training" : "Pause training") as HTMLButtonElement;
  pause.addEventListener("click", () => void act(c, pause, () => (st.paused ? c.app.api.resumeTraining() : c.app.api.pauseTraining()), st.paused ? "Training resumed" : "Training paused"));
  return [why ? h("span", { class: "hint", id: "train-now-why" }, why) : null, now, pause].filter(Boolean) as HTMLElement[];
}

async function act(c: TrainingCtx, b: HTMLButtonElement, call: () => Promise<TrainStatus>, done: string): Promise<void> {
  b.disabled = true;
  try {
    const st = await call();
    toast(done);
    renderStatus(c, st);
    // Focus stays on the button just used, or on the card when it is now disabled.
    const again = document.getElementById(b.id) as HTMLButtonElement | null;
    if (again && !again.disabled) again.focus();
    else c.statusHead.focus();
    void c.refresh(true);
  } catch (e) {
    toast(errorMessage(e), "error");
    b.disabled = false;
  }
}

function statusDetails(st: TrainStatus): HTMLElement {
  const t = st.today;
  const run = st.current_run ?? st.last_run;
  return h(
    "div",
    null,
    h(
      "div",
      { class: "stats train-stats" },
      stat("Steps today", `${num(t.steps)} / ${num(t.max_steps)}`, t.steps >= t.max_steps ? "daily limit reached" : `${num(t.max_steps - t.steps)} left`, "train-steps-today"),
      stat("Spent today", `${usd(t.spend_usd)} / ${usd(t.max_spend_usd)}`, t.spend_usd >= t.max_spend_usd ? "daily limit reached" : "estimated", "train-spend-today"),
      stat("Turns ready", num(st.eligible), `a step needs ${num(st.min_batch)}`, "train-eligible"),
    ),
    h(
      "dl",
      { class: "kv" },
      h("dt", null, "Base model"),
      h("dd", null, st.base_model ? h("code", null, st.base_model) : "—", h("span", { class: "muted small" }, `on ${host(st.base_url)}`)),
      h("dt", null, "Serving"),
      h("dd", { id: "train-serving" }, servingLine(st)),
      h("dt", null, "Answers"),
      h("dd", null, serveModels(st.serve_models)),
      run
        ? [
            h("dt", null, st.current_run ? "Current run" : "Last run"),
            h(
              "dd",
              null,
              h("a", { href: `#/training/runs/${run.id}` }, `Run #${run.id}`),
              runBadge(run.status),
              h("span", { class: "muted" }, st.current_run ? `since ${dateTime(run.started_at)}` : `${dateTime(run.ended_at ?? run.started_at)}`),
              `${count(run.steps, "step")}, ${count(run.samples, "sample")}`,
              run.detail ? h("span", { class: "muted" }, `— ${run.detail}`) : null,
            ),
          ]
        : null,
    ),
  );
}

/** What the policy serves now. Before the first step the engine reports the base model with
 * no time (`at` 0, no step): say so rather than "since —". */
function servingLine(st: TrainStatus): Child {
  const sv = st.serving;
  if (!sv) return h("span", { class: "muted" }, "no adapter yet: agents get the base model");
  const base = sv.step_id === null && sv.model === st.base_model;
  return [
    modelCode(sv.model),
    sv.at > 0 ? h("span", { class: "muted" }, `since ${dateTime(sv.at)} (${relative(sv.at)})`) : null,
    base ? h("span", { class: "muted" }, "the base model: no adapter trained yet") : null,
    sv.step_id !== null ? badge(`step #${sv.step_id}`) : null,
  ];
}

/** Training is off: how to turn it on. */
function setup(c: TrainingCtx): HTMLElement {
  const where = h("code", { id: "train-config-path" }, c.configPath ?? "config.toml");
  if (c.configPath === null)
    void c.app.api
      .config()
      .then((cfg) => {
        c.configPath = cfg.path;
        where.textContent = cfg.path;
      })
      .catch(() => {});
  return h(
    "div",
    { class: "state state-empty state-setup", id: "train-setup" },
    h("p", { class: "state-title" }, "Training is off"),
    h("p", null, "To train an adapter of an open model on your scored turns:"),
    h(
      "ol",
      null,
      h("li", null, "In ", where, " set ", h("code", null, "enabled = true"), " and the trainable ", h("code", null, "base_model"), " in the ", h("code", null, "[train]"), " section, then restart MetaClaw:", h("pre", null, h("code", null, '[train]\nenabled = true\nbase_model = "Qwen/Qwen3-8B"'))),
      h("li", null, "Add your Tinker API key in ", h("a", { href: "#/settings", id: "train-settings-link" }, "Settings → API keys"), " (the key named ", h("code", null, "tinker"), "), or set ", h("code", null, "TINKER_API_KEY"), " for a headless server."),
    ),
  );
}

function stat(label: string, value: string, sub: string, id: string): HTMLElement {
  return h("div", { class: "stat", id }, h("div", { class: "stat-label" }, label), h("div", { class: "stat-value" }, value), h("div", { class: "stat-sub" }, sub));
}
