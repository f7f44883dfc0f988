// Training view: how its values read (run badges, triggers, rewards, losses, model paths).

import type { TrainRun, TrainRunStatus } from "../../api/types";
import { h } from "../../lib/dom";
import { duration, ms } from "../../lib/format";
import { badge } from "../../lib/ui";

const RUN_STATUS: Record<TrainRunStatus, string> = { running: "info", done: "ok", paused: "warn", failed: "bad", interrupted: "warn" };

export function runBadge(st: TrainRunStatus): HTMLElement {
  return badge(st, RUN_STATUS[st] ?? "muted");
}

export function trigger(r: TrainRun): string {
  const w = r.window.replaceAll("_", " ");
  return r.trigger === "manual" ? "Manual" : `Window: ${w}`;
}

export function reward(v: number | null | undefined): string {
  return v === null || v === undefined ? "—" : v.toFixed(2);
}

export function loss(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  return Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
}

export function stepDuration(v: number | null): string {
  if (v === null) return "—";
  return v < 60_000 ? ms(v) : duration(Math.round(v / 1000));
}

export function host(url: string): string {
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
export function modelCode(m: string): HTMLElement {
  const short = shortModel(m);
  return h("code", { class: "model-path", title: m }, short);
}

export function serveModels(list: string[]): string {
  if (!list.length) return "no client models (train only)";
  if (list.includes("*")) return "all client models";
  return list.join(", ");
}
