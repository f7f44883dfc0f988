// Training: the policy adapter MetaClaw trains on a Tinker-compatible service and serves to
// agents. What training is doing and why, today's budget, runs with their steps (reward and loss
// per step), the checkpoints one can serve instead (rollback), the serving history, and why some
// turns could not be trained on.

import type { App, View } from "../app";
import type { Run, RunDetail, ServingChange, Step, TrainStatus } from "../api/types";
import { type Child, h, replace, s } from "../lib/dom";
import { count, dateTime, duration, ms, num, relative, usd } from "../lib/format";
import { badge, confirmDialog, empty, errorMessage, failure, load, loading, roving, toast } from "../lib/ui";

const PAGE = 20;
/** Checkpoints shown before "Show all". */
const CKPT_SHOWN = 10;

const STATES: Record<string, [string, string]> = {
  off: ["Off", "muted"],
  idle: ["Idle", "muted"],
  waiting: ["Waiting", "info"],
  training: ["Training", "ok"],
  paused: ["Paused", "warn"],
};
const RUN_STATUS: Record<string, string> = { running: "info", done: "ok", paused: "warn", failed: "bad", interrupted: "warn" };
const STEP_STATUS: Record<string, string> = { pending: "info", done: "ok", abandoned: "muted" };

export function trainingView(app: App, params: string[]): View {
  let status: TrainStatus | null = null;
  let runs: Run[] = [];
  let moreRuns = false;
  /** The run chosen by the user (or the route); null shows the newest. */
  let selected: number | null = runParam(params);
  let shownRun: number | null = null;
  let configPath: string | null = null;
  let allCheckpoints = false;

  const statusHead = h("h2", { id: "train-status-h", tabindex: -1 }, "Status");
  const actions = h("div", { class: "row", id: "train-actions" });
  const stateLine = h("div", { class: "train-state", id: "train-state-line", role: "status", "aria-live": "polite", "aria-atomic": "true" });
  const statusBody = h("div", null, loading("Loading training"));
  const runsEl = h("div", null, loading("Loading runs"));
  const moreBtn = h("button", { type: "button", class: "btn more", id: "runs-more", hidden: true }, "More runs") as HTMLButtonElement;
  const runHead = h("h2", { id: "run-h", tabindex: -1 }, "Run");
  const runEl = h("div", { id: "run-detail" });
  const ckptEl = h("div", null, loading("Loading checkpoints"));
  const servingEl = h("div", null, loading("Loading the serving history"));
  const skipsEl = h("div");
  const historyEl = h(
    "div",
    { hidden: true },
    h("section", { class: "card", "aria-labelledby": "runs-h" }, h("h2", { id: "runs-h" }, "Runs"), runsEl, moreBtn),
    h("section", { class: "card", "aria-labelledby": "run-h" }, runHead, runEl),
    h(
      "section",
      { class: "card", "aria-labelledby": "ckpt-h" },
      h("h2", { id: "ckpt-h" }, "Checkpoints"),
      h("p", { class: "hint" }, "Each step saves weights the policy can serve. Serve an earlier one if the newest answers worse; training then continues from the one you serve."),
      ckptEl,
    ),
    h(
      "div",
      { class: "grid-2" },
      h("section", { class: "card", "aria-labelledby": "serving-h" }, h("h2", { id: "serving-h" }, "Serving history"), servingEl),
      h("section", { class: "card", "aria-labelledby": "skips-h" }, h("h2", { id: "skips-h" }, "Turns not trained on"), skipsEl),
    ),
  );

  const el = h(
    "div",
    { class: "view view-training" },
    h("div", { class: "view-head" }, h("h1", null, "Training")),
    h("p", { class: "lede" }, "MetaClaw can fine-tune a LoRA adapter of an open model on your scored turns while you're away, and serve it to your agents. Every step is kept, so you can go back to any of them."),
    h("section", { class: "card", id: "train-status", "aria-labelledby": "train-status-h" }, h("div", { class: "card-head" }, statusHead, actions), stateLine, statusBody),
    historyEl,
  );

  // --- loading ---------------------------------------------------------------------------

  /** `load` the first time; later (events, polling) swap the content only when the fetch
   * succeeds, keeping keyboard focus where it was. */
  async function fill<T>(target: HTMLElement, fetcher: () => Promise<T>, render: (d: T) => Child, what: string, quiet: boolean): Promise<T | undefined> {
    if (!quiet) return load(target, fetcher, render, what);
    try {
      const d = await fetcher();
      keepFocus(target, () => replace(target, render(d)));
      return d;
    } catch {
      return undefined;
    }
  }

  async function refresh(quiet = false): Promise<void> {
    let st: TrainStatus;
    try {
      st = await app.api.train();
    } catch (e) {
      if (quiet) return;
      status = null;
      replace(stateLine);
      replace(actions);
      replace(statusBody, failure(e, () => void refresh()));
      historyEl.hidden = true;
      return;
    }
    renderStatus(st);
    if (historyEl.hidden) return;
    await Promise.all([loadRuns(quiet), loadCheckpoints(quiet), loadServing(quiet)]);
    const want = selected ?? runs[0]?.id ?? null;
    if (want === null) {
      runHead.textContent = "Run";
      replace(runEl, empty("No run to show", "Pick a run above to see its steps."));
    } else {
      await showRun(want, quiet && want === shownRun, false);
    }
  }

  function renderStatus(st: TrainStatus): void {
    status = st;
    const [label, kind] = STATES[st.state] ?? [st.state, "muted"];
    const line = `${label}: ${st.detail}`;
    if (stateLine.dataset.text !== line) {
      stateLine.dataset.text = line;
      replace(stateLine, h("span", { class: `badge badge-${kind}`, id: "train-state" }, label), " ", h("span", { id: "train-detail" }, st.detail));
    }
    keepFocus(el, () => {
      replace(actions, st.enabled ? actionButtons(st) : null);
      replace(statusBody, st.enabled ? statusDetails(st) : setup());
    });
    historyEl.hidden = !(st.enabled || st.current_run || st.last_run);
    replace(skipsEl, skipReasons(st));
  }

  function actionButtons(st: TrainStatus): HTMLElement[] {
    const running = st.state === "training" || st.current_run !== null;
    const off = st.state === "off";
    const why = running ? "A run is in progress." : off ? "Training can't start now (see above)." : st.paused ? "Resume training first." : null;
    const now = h("button", { type: "button", class: "btn btn-primary", id: "train-now", disabled: why !== null }, "Train now") as HTMLButtonElement;
    now.addEventListener("click", () => void act(now, () => app.api.trainNow(), "Training started"));
    const pause = h("button", { type: "button", class: st.paused ? "btn btn-primary" : "btn", id: "train-pause" }, st.paused ? "Resume training" : "Pause training") as HTMLButtonElement;
    pause.addEventListener("click", () => void act(pause, () => (st.paused ? app.api.resumeTraining() : app.api.pauseTraining()), st.paused ? "Training resumed" : "Training paused"));
    return [why ? h("span", { class: "hint", id: "train-now-why" }, why) : null, now, pause].filter(Boolean) as HTMLElement[];
  }

  async function act(b: HTMLButtonElement, call: () => Promise<TrainStatus>, done: string): Promise<void> {
    b.disabled = true;
    try {
      const st = await call();
      toast(done);
      renderStatus(st);
      // Focus stays on the button just used, or on the card when it is now disabled.
      const again = document.getElementById(b.id) as HTMLButtonElement | null;
      if (again && !again.disabled) again.focus();
      else statusHead.focus();
      void refresh(true);
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
        h(
          "dd",
          { id: "train-serving" },
          servingLine(st),
        ),
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
  function setup(): HTMLElement {
    const where = h("code", { id: "train-config-path" }, configPath ?? "config.toml");
    if (configPath === null)
      void app.api
        .config()
        .then((c) => {
          configPath = c.path;
          where.textContent = c.path;
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

  // --- runs --------------------------------------------------------------------------------

  async function loadRuns(quiet: boolean): Promise<void> {
    const limit = Math.min(200, Math.max(PAGE, runs.length));
    const d = await fill(runsEl, () => app.api.trainRuns(limit), (r) => ((runs = r), runsTable()), "Loading runs", quiet);
    if (d) moreRuns = d.length >= limit;
    moreBtn.hidden = !moreRuns;
  }

  moreBtn.addEventListener("click", async () => {
    const last = runs[runs.length - 1];
    if (!last) return;
    moreBtn.disabled = true;
    try {
      const page = await app.api.trainRuns(PAGE, last.id);
      moreRuns = page.length >= PAGE;
      const first = runs.length;
      runs = runs.concat(page);
      replace(runsEl, runsTable());
      moreBtn.hidden = !moreRuns;
      // Keyboard users continue at the first new run.
      (runsEl.querySelectorAll<HTMLElement>("button[data-run]")[first] ?? (moreBtn.hidden ? null : moreBtn))?.focus();
    } catch (e) {
      toast(errorMessage(e), "error");
    } finally {
      moreBtn.disabled = false;
    }
  });

  function runsTable(): HTMLElement {
    if (!runs.length) return empty("No training runs yet", status?.enabled ? "A run starts in the next window while you're away once enough scored turns are ready; “Train now” starts one at once." : undefined);
    const tbody = h(
      "tbody",
      null,
      runs.map((r) =>
        h(
          "tr",
          {
            class: "clickable",
            "data-row": r.id,
            onclick: (ev: Event) => {
              if (!(ev.target as Element).closest("a, button")) select(r.id);
            },
          },
          h("td", null, h("button", { type: "button", class: "linkish", "data-run": r.id, "data-focus": `run-${r.id}`, "aria-controls": "run-detail", onclick: () => select(r.id) }, `Run #${r.id}`)),
          h("td", { class: "nowrap" }, dateTime(r.started_at)),
          h("td", null, trigger(r)),
          h("td", null, runBadge(r.status), r.detail && r.status !== "done" ? h("div", { class: "muted small ellipsis", title: r.detail }, r.detail) : null),
          h("td", { class: "num" }, num(r.steps)),
          h("td", { class: "num" }, num(r.samples)),
          h("td", { class: "num" }, reward(r.mean_reward)),
          h("td", { class: "num" }, usd(r.cost_usd)),
        ),
      ),
    );
    roving(tbody, "button[data-run]");
    const t = h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data runs-table", id: "runs-table" },
        h("caption", { class: "sr-only" }, "Training runs, newest first. Choose a run to see its steps."),
        h("thead", null, h("tr", null, ["Run", "Started", "Trigger / window", "Status", "Steps", "Samples", "Mean reward", "Cost"].map((c) => h("th", { scope: "col" }, c)))),
        tbody,
      ),
    );
    markSelected(t);
    return t;
  }

  function markSelected(root: ParentNode = runsEl): void {
    for (const tr of root.querySelectorAll<HTMLElement>("tr[data-row]")) {
      const on = Number(tr.dataset.row) === shownRun;
      tr.classList.toggle("row-selected", on);
      tr.querySelector("button[data-run]")?.setAttribute("aria-current", String(on));
    }
  }

  function select(id: number): void {
    selected = id;
    history.replaceState(null, "", `#/training/runs/${id}`);
    void showRun(id, false, true);
  }

  async function showRun(id: number, quiet: boolean, focus: boolean): Promise<void> {
    shownRun = id;
    markSelected();
    runHead.textContent = `Run #${id}`;
    const d = await fill(runEl, () => app.api.trainRun(id), renderRun, "Loading the run", quiet);
    if (focus && d) runHead.focus();
  }

  function renderRun(d: RunDetail): HTMLElement {
    const r = d.run;
    const servedStep = status?.serving?.step_id ?? null;
    return h(
      "div",
      null,
      h(
        "dl",
        { class: "kv grid-kv" },
        h("dt", null, "Status"),
        h("dd", null, runBadge(r.status), r.detail ? h("span", null, r.detail) : null),
        h("dt", null, "Started"),
        h("dd", null, dateTime(r.started_at)),
        h("dt", null, "Trigger"),
        h("dd", null, trigger(r)),
        h("dt", null, r.ended_at ? "Ended" : "Running for"),
        h("dd", null, r.ended_at ? `${dateTime(r.ended_at)} (after ${duration(Math.round((r.ended_at - r.started_at) / 1000))})` : duration(Math.max(0, Math.round((Date.now() - r.started_at) / 1000)))),
        h("dt", null, "Base model"),
        h("dd", null, h("code", null, r.base_model)),
        h("dt", null, "Adapter"),
        h("dd", null, r.model_id ? modelCode(r.model_id) : "—"),
        h("dt", null, "Resumed from"),
        h("dd", null, r.resumed_from ? modelCode(r.resumed_from) : "the base model"),
        h("dt", null, "Totals"),
        h("dd", null, `${count(r.steps, "step")}, ${count(r.samples, "sample")}, mean reward ${reward(r.mean_reward)}, ${usd(r.cost_usd)}`),
      ),
      d.steps.length
        ? [
            h(
              "div",
              { class: "grid-2 train-charts" },
              stepChart(d.steps, (x) => x.mean_reward, { label: "Mean reward", cls: "series-score", dot: "dot-score", fmt: reward, zero: true }),
              stepChart(d.steps, (x) => x.loss, { label: "Loss", cls: "series-loss", dot: "dot-loss", fmt: loss, zero: false }),
            ),
            stepsTable(d.steps, servedStep),
          ]
        : empty("No steps in this run", r.status === "running" ? "The first step starts once its batch is ready." : undefined),
    );
  }

  // --- checkpoints, serving, skips ---------------------------------------------------------

  async function loadCheckpoints(quiet: boolean): Promise<void> {
    await fill(ckptEl, () => app.api.trainCheckpoints(50), checkpoints, "Loading checkpoints", quiet);
  }

  function checkpoints(steps: Step[]): HTMLElement {
    const usable = steps.filter((x) => x.status === "done" && x.sampler_path);
    if (!usable.length) return empty("No checkpoints yet", "Each training step saves weights the policy can serve; they show up here.");
    const served = status?.serving ?? null;
    const isServed = (x: Step) => served !== null && (served.step_id === x.id || served.model === x.sampler_path);
    // The newest few, and the served one wherever it is.
    const shown = allCheckpoints ? usable : usable.filter((x, i) => i < CKPT_SHOWN || isServed(x));
    const showAll = () => {
      allCheckpoints = true;
      replace(ckptEl, checkpoints(steps));
      ckptEl.querySelectorAll<HTMLElement>("#checkpoints tbody tr")[CKPT_SHOWN]?.querySelector<HTMLElement>("button, a")?.focus();
    };
    const rows = shown.map((x) => {
      const on = isServed(x);
      return h(
        "tr",
        { "data-step": x.id, class: on ? "row-selected" : null },
        h("td", { class: "nowrap" }, `Step #${x.id} `, h("a", { href: `#/training/runs/${x.run_id}`, class: "muted small" }, `run #${x.run_id}`)),
        h("td", { class: "nowrap" }, dateTime(x.ended_at ?? x.started_at)),
        h("td", { class: "num" }, reward(x.mean_reward)),
        h("td", null, modelCode(x.sampler_path!)),
        h(
          "td",
          null,
          on
            ? badge("Serving", "ok")
            : h("button", { type: "button", class: "btn btn-small", "data-serve": x.id, "data-focus": `serve-${x.id}`, "aria-label": `Serve this: step #${x.id}`, onclick: () => void serve(x) }, "Serve this"),
        ),
      );
    });
    return h(
      "div",
      null,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "data", id: "checkpoints" },
          h("caption", { class: "sr-only" }, "Checkpoints with weights to serve, newest first"),
          h("thead", null, h("tr", null, ["Step", "Saved", "Mean reward", "Sampler weights", "Serving"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", null, rows),
        ),
      ),
      shown.length < usable.length ? h("button", { type: "button", class: "btn more", id: "checkpoints-all", onclick: showAll }, `Show all ${num(usable.length)} checkpoints`) : null,
    );
  }

  async function serve(x: Step): Promise<void> {
    const ok = await confirmDialog(
      `Serve step #${x.id}?`,
      `Agents get the weights saved at step #${x.id} (run #${x.run_id}, mean reward ${reward(x.mean_reward)}) from their next request. Training goes on from the newest step, and the next step is served again when it is saved.`,
      "Serve this",
    );
    if (!ok) return;
    try {
      const c = await app.api.trainRollback(x.id);
      toast(`Now serving ${c.step_id !== null ? `step #${c.step_id}` : shortModel(c.model)}`);
      await refresh(true);
    } catch (e) {
      toast(errorMessage(e), "error");
    }
  }

  async function loadServing(quiet: boolean): Promise<void> {
    await fill(servingEl, () => app.api.trainServing(10), servingHistory, "Loading the serving history", quiet);
  }

  const off = app.on((e) => {
    if (e.type === "train_changed") void refresh(true);
    if (e.type === "train_run_ended") {
      const failed = e.status === "failed";
      toast(`Training run #${String(e.run_id)} ${String(e.status)}${e.detail ? `: ${String(e.detail)}` : ""}`, failed ? "error" : "info");
      void refresh(true);
    }
  });
  // Steps advance without an event of their own: while training, follow them.
  let ticks = 0;
  const timer = setInterval(() => {
    ticks += 1;
    if (status?.state === "training" || ticks % 6 === 0) void refresh(true);
  }, 5000);
  void refresh();

  return {
    el,
    destroy() {
      off();
      clearInterval(timer);
    },
    update(p) {
      const id = runParam(p);
      if (id !== null && id !== shownRun && !historyEl.hidden) select(id);
      else if (id !== null) selected = id;
    },
  };
}

function runParam(p: string[]): number | null {
  return p[0] === "runs" && p[1] && /^\d+$/.test(p[1]) ? Number(p[1]) : null;
}

/** Re-renders inside `root` without losing keyboard focus: the focused control is found again by
 * its id or `data-focus` key. */
function keepFocus(root: HTMLElement, f: () => void): void {
  const a = document.activeElement as HTMLElement | null;
  const key = a && root.contains(a) && a !== root ? (a.id ? `#${CSS.escape(a.id)}` : a.dataset.focus ? `[data-focus="${CSS.escape(a.dataset.focus)}"]` : null) : null;
  f();
  if (key && !root.contains(document.activeElement)) root.querySelector<HTMLElement>(key)?.focus();
}

function stat(label: string, value: string, sub: string, id: string): HTMLElement {
  return h("div", { class: "stat", id }, h("div", { class: "stat-label" }, label), h("div", { class: "stat-value" }, value), h("div", { class: "stat-sub" }, sub));
}

function runBadge(st: string): HTMLElement {
  return badge(st, RUN_STATUS[st] ?? "muted");
}

function trigger(r: Run): string {
  const w = r.window.replaceAll("_", " ");
  return r.trigger === "manual" ? "Manual" : `Window: ${w}`;
}

function reward(v: number | null | undefined): string {
  return v === null || v === undefined ? "—" : v.toFixed(2);
}

function loss(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  return Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
}

function stepDuration(v: number | null): string {
  if (v === null) return "—";
  return v < 60_000 ? ms(v) : duration(Math.round(v / 1000));
}

function host(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** `tinker://0034d8c9-…/sampler_weights/000012` → `tinker://0034d8c9…/000012`; other names as they are. */
export function shortModel(m: string): string {
  const t = /^tinker:\/\/([^/]+)\/(.+)$/.exec(m);
  if (!t) return m.length > 60 ? `${m.slice(0, 28)}…${m.slice(-28)}` : m;
  const last = t[2].split("/").filter(Boolean).pop() ?? t[2];
  return `tinker://${t[1].length > 8 ? `${t[1].slice(0, 8)}…` : t[1]}/${last}`;
}

/** A model or checkpoint path, shortened, with the full text in its tooltip. */
function modelCode(m: string): HTMLElement {
  const short = shortModel(m);
  return h("code", { class: "model-path", title: m }, short);
}

function serveModels(list: string[]): string {
  if (!list.length) return "no client models (train only)";
  if (list.includes("*")) return "all client models";
  return list.join(", ");
}

function stepsTable(steps: Step[], servedStep: number | null): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data steps-table", id: "steps-table" },
      h("caption", { class: "sr-only" }, "Steps of this run, oldest first"),
      h("thead", null, h("tr", null, ["Step", "Status", "Batch", "Mean reward", "Loss", "Tokens", "Duration", "Cost", "Checkpoint"].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        null,
        steps.map((x) =>
          h(
            "tr",
            null,
            h("td", null, `#${x.id}`),
            h("td", null, badge(x.status, STEP_STATUS[x.status] ?? "muted"), x.error ? h("div", { class: "error-text small" }, x.error) : null),
            h("td", { class: "num" }, num(x.batch_size)),
            h("td", { class: "num" }, reward(x.mean_reward)),
            h("td", { class: "num" }, loss(x.loss)),
            h("td", { class: "num" }, num(x.tokens)),
            h("td", { class: "num nowrap" }, stepDuration(x.duration_ms)),
            h("td", { class: "num" }, usd(x.cost_usd)),
            h(
              "td",
              null,
              x.sampler_path ? modelCode(x.sampler_path) : x.state_path ? h("span", { class: "muted" }, "state only") : "—",
              servedStep === x.id ? [" ", badge("Serving", "ok")] : null,
            ),
          ),
        ),
      ),
    ),
  );
}

/** One value per step as a small line chart (inline SVG), with a visually hidden table of the
 * same numbers for screen readers. */
function stepChart(steps: Step[], pick: (s: Step) => number | null, o: { label: string; cls: string; dot: string; fmt: (v: number) => string; zero: boolean }): HTMLElement {
  const pts = steps.flatMap((x) => {
    const v = pick(x);
    return v === null || !Number.isFinite(v) ? [] : [{ id: x.id, v }];
  });
  const caption = h("figcaption", { class: "chart-title" }, `${o.label} per step`);
  if (!pts.length) return h("figure", { class: "chart-fig" }, caption, h("p", { class: "muted small" }, `No ${o.label.toLowerCase()} recorded yet.`));
  const W = 360;
  const H = 150;
  const pad = { l: 44, r: 10, t: 10, b: 24 };
  let lo = Math.min(...pts.map((p) => p.v));
  let hi = Math.max(...pts.map((p) => p.v));
  if (o.zero) {
    lo = Math.min(lo, 0);
    hi = Math.max(hi, 0);
  }
  if (hi - lo < 1e-9) {
    const d = Math.abs(hi) * 0.1 || 1;
    lo -= d;
    hi += d;
  }
  const n = pts.length;
  const x = (i: number) => pad.l + (n === 1 ? (W - pad.l - pad.r) / 2 : (i * (W - pad.l - pad.r)) / (n - 1));
  const y = (v: number) => pad.t + ((hi - v) / (hi - lo)) * (H - pad.t - pad.b);
  const d = pts.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
  const ticks = [hi, lo, ...(o.zero && lo < 0 && hi > 0 ? [0] : [])];
  const first = pts[0];
  const last = pts[n - 1];
  const summary = `${o.label} per step: ${n} step${n === 1 ? "" : "s"}, from ${o.fmt(first.v)} (step #${first.id}) to ${o.fmt(last.v)} (step #${last.id}), lowest ${o.fmt(Math.min(...pts.map((p) => p.v)))}, highest ${o.fmt(Math.max(...pts.map((p) => p.v)))}.`;
  const svg = s(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, class: "chart chart-small", role: "img", "aria-label": summary },
    s("title", null, summary),
    ticks.map((v) => s("g", null, s("line", { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), class: "grid" }), s("text", { x: pad.l - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, o.fmt(v)))),
    s("text", { x: x(0), y: H - 6, "text-anchor": n === 1 ? "middle" : "start", class: "axis" }, `#${first.id}`),
    n > 1 ? s("text", { x: x(n - 1), y: H - 6, "text-anchor": "end", class: "axis" }, `#${last.id}`) : null,
    n > 1 ? s("path", { d, class: o.cls }) : null,
    pts.map((p, i) => s("circle", { cx: x(i), cy: y(p.v), r: n > 60 ? 2 : 3.5, class: o.dot }, s("title", null, `step #${p.id}: ${o.fmt(p.v)}`))),
  );
  return h(
    "figure",
    { class: "chart-fig" },
    caption,
    svg,
    h(
      "table",
      { class: "sr-only" },
      h("caption", null, `${o.label} per step`),
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Step"), h("th", { scope: "col" }, o.label))),
      h("tbody", null, pts.map((p) => h("tr", null, h("th", { scope: "row" }, `#${p.id}`), h("td", null, o.fmt(p.v))))),
    ),
  );
}

function servingHistory(list: ServingChange[]): HTMLElement {
  if (!list.length) return empty("Nothing served yet", "The first saved step is served to your agents.");
  return h(
    "ol",
    { class: "plain-list serving-history", id: "serving-history", "aria-label": "Changes of the served adapter, newest first" },
    list.map((c) =>
      h(
        "li",
        null,
        h("div", { class: "row" }, badge(c.reason, c.reason === "rollback" ? "warn" : c.reason === "step" ? "ok" : "info"), modelCode(c.model), c.step_id !== null ? h("span", { class: "muted small" }, `step #${c.step_id}`) : null),
        h("div", { class: "muted small" }, `${dateTime(c.at)} (${relative(c.at)})`),
      ),
    ),
  );
}

function skipReasons(st: TrainStatus): HTMLElement {
  const sm = st.samples;
  const intro = h("p", { class: "muted", id: "train-samples" }, `${num(sm.trained)} turn${sm.trained === 1 ? "" : "s"} trained on, ${num(sm.skipped)} skipped.`);
  if (!sm.skip_reasons.length) return h("div", null, intro, empty("No turns skipped", sm.trained ? undefined : "Turns with a judge's or your score become training samples."));
  return h(
    "div",
    null,
    intro,
    h(
      "ul",
      { class: "plain-list skip-reasons", id: "skip-reasons", "aria-label": "Why turns were skipped, most common first" },
      sm.skip_reasons.map(([reason, count]) => h("li", null, h("span", null, reason), h("span", { class: "badge" }, num(count), h("span", { class: "sr-only" }, count === 1 ? " turn" : " turns")))),
    ),
  );
}
