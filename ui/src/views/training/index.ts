// Training: the policy adapter MetaClaw trains on a Tinker-compatible service and serves to
// agents. What training is doing and why, today's budget, runs with their steps (reward and loss
// per step), the checkpoints one can serve instead (rollback), the serving history, and why some
// turns could not be trained on. This module builds the page and keeps it fresh; its parts are
// in ./status, ./runs, ./checkpoints.

import type { App, View } from "../../app";
import type { TrainStatus } from "../../api/types";
import { h, replace } from "../../lib/dom";
import { empty, failure, loading, toast } from "../../lib/ui";
import { loadCheckpoints, loadServing } from "./checkpoints";
import type { TrainingCtx } from "./context";
import { loadRuns, select, showRun, wireMoreRuns } from "./runs";
import { renderStatus } from "./status";

export function trainingView(app: App, params: string[]): View {
  const c = page(app, runParam(params));
  wireMoreRuns(c);

  const off = app.on((e) => {
    if (e.type === "train_changed") void c.refresh(true);
    if (e.type === "train_run_ended") {
      const failed = e.status === "failed";
      toast(`Training run #${e.run_id} ${e.status}${e.detail ? `: ${e.detail}` : ""}`, failed ? "error" : "info");
      void c.refresh(true);
    }
  });
  // Steps advance without an event of their own: while training, follow them.
  let ticks = 0;
  const timer = setInterval(() => {
    ticks += 1;
    if (c.status?.state === "training" || ticks % 6 === 0) void c.refresh(true);
  }, 5000);
  void c.refresh();

  return {
    el: c.el,
    destroy() {
      off();
      clearInterval(timer);
    },
    update(p) {
      const id = runParam(p);
      if (id !== null && id !== c.shownRun && !c.historyEl.hidden) select(c, id);
      else if (id !== null) c.selected = id;
    },
  };
}

/** The page's elements and state, with `refresh` fetching everything shown. */
function page(app: App, selected: number | null): TrainingCtx {
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

  const c: TrainingCtx = {
    app,
    status: null,
    runs: [],
    moreRuns: false,
    selected,
    shownRun: null,
    configPath: null,
    allCheckpoints: false,
    el,
    statusHead,
    actions,
    stateLine,
    statusBody,
    runsEl,
    moreBtn,
    runHead,
    runEl,
    ckptEl,
    servingEl,
    skipsEl,
    historyEl,
    refresh: (quiet = false) => refresh(c, quiet),
  };
  return c;
}

async function refresh(c: TrainingCtx, quiet: boolean): Promise<void> {
  let st: TrainStatus;
  try {
    st = await c.app.api.train();
  } catch (e) {
    if (quiet) return;
    c.status = null;
    replace(c.stateLine);
    replace(c.actions);
    replace(c.statusBody, failure(e, () => void c.refresh()));
    c.historyEl.hidden = true;
    return;
  }
  renderStatus(c, st);
  if (c.historyEl.hidden) return;
  await Promise.all([loadRuns(c, quiet), loadCheckpoints(c, quiet), loadServing(c, quiet)]);
  const want = c.selected ?? c.runs[0]?.id ?? null;
  if (want === null) {
    c.runHead.textContent = "Run";
    replace(c.runEl, empty("No run to show", "Pick a run above to see its steps."));
  } else {
    await showRun(c, want, quiet && want === c.shownRun, false);
  }
}

function runParam(p: string[]): number | null {
  return p[0] === "runs" && p[1] && /^\d+$/.test(p[1]) ? Number(p[1]) : null;
}
