// Training view: the checkpoints one can serve instead of the newest (rollback), the history of
// what was served, and why some turns could not be trained on.

import type { ServingChange, TrainStep as Step, TrainStatus } from "../../api/types";
import { h, replace } from "../../lib/dom";
import { dateTime, num, relative } from "../../lib/format";
import { badge, confirmDialog, empty, errorMessage, toast } from "../../lib/ui";
import { CKPT_SHOWN, fill, type TrainingCtx } from "./context";
import { modelCode, reward, shortModel } from "./format";

export async function loadCheckpoints(c: TrainingCtx, quiet: boolean): Promise<void> {
  await fill(c.ckptEl, () => c.app.api.trainCheckpoints(50), (steps) => checkpoints(c, steps), "Loading checkpoints", quiet);
}

function checkpoints(c: TrainingCtx, steps: Step[]): HTMLElement {
  const usable = steps.filter((x) => x.status === "done" && x.sampler_path);
  if (!usable.length) return empty("No checkpoints yet", "Each training step saves weights the policy can serve; they show up here.");
  const served = c.status?.serving ?? null;
  const isServed = (x: Step) => served !== null && (served.step_id === x.id || served.model === x.sampler_path);
  // The newest few, and the served one wherever it is.
  const shown = c.allCheckpoints ? usable : usable.filter((x, i) => i < CKPT_SHOWN || isServed(x));
  const showAll = () => {
    c.allCheckpoints = true;
    replace(c.ckptEl, checkpoints(c, steps));
    c.ckptEl.querySelectorAll<HTMLElement>("#checkpoints tbody tr")[CKPT_SHOWN]?.querySelector<HTMLElement>("button, a")?.focus();
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
          : h("button", { type: "button", class: "btn btn-small", "data-serve": x.id, "data-focus": `serve-${x.id}`, "aria-label": `Serve this: step #${x.id}`, onclick: () => void serve(c, x) }, "Serve this"),
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
        h("thead", null, h("tr", null, ["Step", "Saved", "Mean reward", "Sampler weights", "Serving"].map((col) => h("th", { scope: "col" }, col)))),
        h("tbody", null, rows),
      ),
    ),
    shown.length < usable.length ? h("button", { type: "button", class: "btn more", id: "checkpoints-all", onclick: showAll }, `Show all ${num(usable.length)} checkpoints`) : null,
  );
}

async function serve(c: TrainingCtx, x: Step): Promise<void> {
  const ok = await confirmDialog(
    `Serve step #${x.id}?`,
    `Agents get the weights saved at step #${x.id} (run #${x.run_id}, mean reward ${reward(x.mean_reward)}) from their next request. Training goes on from the newest step, and the next step is served again when it is saved.`,
    "Serve this",
  );
  if (!ok) return;
  try {
    const ch = await c.app.api.trainRollback(x.id);
    toast(`Now serving ${ch.step_id !== null ? `step #${ch.step_id}` : shortModel(ch.model)}`);
    await c.refresh(true);
  } catch (e) {
    toast(errorMessage(e), "error");
  }
}

export async function loadServing(c: TrainingCtx, quiet: boolean): Promise<void> {
  await fill(c.servingEl, () => c.app.api.trainServing(10), servingHistory, "Loading the serving history", quiet);
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

export function skipReasons(st: TrainStatus): HTMLElement {
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
