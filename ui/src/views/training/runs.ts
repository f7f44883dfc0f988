// Training view: the runs (paged, newest first) and the chosen run — its totals, reward and loss
// charts, and its steps.

import type { TrainRunDetail as RunDetail, TrainStep as Step, TrainStepStatus } from "../../api/types";
import { h, replace } from "../../lib/dom";
import { count, dateTime, duration, num, usd } from "../../lib/format";
import { badge, empty, errorMessage, roving, toast } from "../../lib/ui";
import { stepChart } from "./chart";
import { fill, PAGE, type TrainingCtx } from "./context";
import { loss, modelCode, reward, runBadge, stepDuration, trigger } from "./format";

const STEP_STATUS: Record<TrainStepStatus, string> = { pending: "info", done: "ok", abandoned: "muted" };

/** Fetches the runs shown so far (at least a page) again. */
export async function loadRuns(c: TrainingCtx, quiet: boolean): Promise<void> {
  const limit = Math.min(200, Math.max(PAGE, c.runs.length));
  const d = await fill(c.runsEl, () => c.app.api.trainRuns(limit), (r) => ((c.runs = r), runsTable(c)), "Loading runs", quiet);
  if (d) c.moreRuns = d.length >= limit;
  c.moreBtn.hidden = !c.moreRuns;
}

/** "More runs" fetches the next page, older than the last run shown. */
export function wireMoreRuns(c: TrainingCtx): void {
  c.moreBtn.addEventListener("click", async () => {
    const last = c.runs[c.runs.length - 1];
    if (!last) return;
    c.moreBtn.disabled = true;
    try {
      const page = await c.app.api.trainRuns(PAGE, last.id);
      c.moreRuns = page.length >= PAGE;
      const first = c.runs.length;
      c.runs = c.runs.concat(page);
      replace(c.runsEl, runsTable(c));
      c.moreBtn.hidden = !c.moreRuns;
      // Keyboard users continue at the first new run.
      (c.runsEl.querySelectorAll<HTMLElement>("button[data-run]")[first] ?? (c.moreBtn.hidden ? null : c.moreBtn))?.focus();
    } catch (e) {
      toast(errorMessage(e), "error");
    } finally {
      c.moreBtn.disabled = false;
    }
  });
}

function runsTable(c: TrainingCtx): HTMLElement {
  if (!c.runs.length) return empty("No training runs yet", c.status?.enabled ? "A run starts in the next window while you're away once enough scored turns are ready; “Train now” starts one at once." : undefined);
  const tbody = h(
    "tbody",
    null,
    c.runs.map((r) =>
      h(
        "tr",
        {
          class: "clickable",
          "data-row": r.id,
          onclick: (ev: Event) => {
            if (!(ev.target as Element).closest("a, button")) select(c, r.id);
          },
        },
        h("td", null, h("button", { type: "button", class: "linkish", "data-run": r.id, "data-focus": `run-${r.id}`, "aria-controls": "run-detail", onclick: () => select(c, r.id) }, `Run #${r.id}`)),
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
      h("thead", null, h("tr", null, ["Run", "Started", "Trigger / window", "Status", "Steps", "Samples", "Mean reward", "Cost"].map((col) => h("th", { scope: "col" }, col)))),
      tbody,
    ),
  );
  markSelected(c, t);
  return t;
}

function markSelected(c: TrainingCtx, root: ParentNode = c.runsEl): void {
  for (const tr of root.querySelectorAll<HTMLElement>("tr[data-row]")) {
    const on = Number(tr.dataset.row) === c.shownRun;
    tr.classList.toggle("row-selected", on);
    tr.querySelector("button[data-run]")?.setAttribute("aria-current", String(on));
  }
}

/** The user chose run `id`: it goes into the address and is shown, with focus on its heading. */
export function select(c: TrainingCtx, id: number): void {
  c.selected = id;
  history.replaceState(null, "", `#/training/runs/${id}`);
  void showRun(c, id, false, true);
}

export async function showRun(c: TrainingCtx, id: number, quiet: boolean, focus: boolean): Promise<void> {
  c.shownRun = id;
  markSelected(c);
  c.runHead.textContent = `Run #${id}`;
  const d = await fill(c.runEl, () => c.app.api.trainRun(id), (r) => renderRun(c, r), "Loading the run", quiet);
  if (focus && d) c.runHead.focus();
}

function renderRun(c: TrainingCtx, d: RunDetail): HTMLElement {
  const r = d.run;
  const servedStep = c.status?.serving?.step_id ?? null;
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

function stepsTable(steps: Step[], servedStep: number | null): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data steps-table", id: "steps-table" },
      h("caption", { class: "sr-only" }, "Steps of this run, oldest first"),
      h("thead", null, h("tr", null, ["Step", "Status", "Batch", "Mean reward", "Loss", "Tokens", "Duration", "Cost", "Checkpoint"].map((col) => h("th", { scope: "col" }, col)))),
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
