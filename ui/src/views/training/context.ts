// Training view: the state its parts share (what is shown, the elements they fill) and the
// helpers they all use to re-render without losing keyboard focus.

import type { App } from "../../app";
import type { TrainRun, TrainStatus } from "../../api/types";
import { type Child, replace } from "../../lib/dom";
import { load } from "../../lib/ui";

/** Runs fetched per page. */
export const PAGE = 20;
/** Checkpoints shown before "Show all". */
export const CKPT_SHOWN = 10;

/** The view's state and elements, shared by its parts (status, runs, checkpoints). */
export interface TrainingCtx {
  app: App;
  status: TrainStatus | null;
  runs: TrainRun[];
  moreRuns: boolean;
  /** The run chosen by the user (or the route); null shows the newest. */
  selected: number | null;
  shownRun: number | null;
  configPath: string | null;
  allCheckpoints: boolean;
  readonly el: HTMLElement;
  readonly statusHead: HTMLElement;
  readonly actions: HTMLElement;
  readonly stateLine: HTMLElement;
  readonly statusBody: HTMLElement;
  readonly runsEl: HTMLElement;
  readonly moreBtn: HTMLButtonElement;
  readonly runHead: HTMLElement;
  readonly runEl: HTMLElement;
  readonly ckptEl: HTMLElement;
  readonly servingEl: HTMLElement;
  readonly skipsEl: HTMLElement;
  readonly historyEl: HTMLElement;
  /** Fetches everything again; `quiet` keeps what is shown when a fetch fails. */
  refresh(quiet?: boolean): Promise<void>;
}

/** `load` the first time; later (events, polling) swap the content only when the fetch
 * succeeds, keeping keyboard focus where it was. */
export async function fill<T>(target: HTMLElement, fetcher: () => Promise<T>, render: (d: T) => Child, what: string, quiet: boolean): Promise<T | undefined> {
  if (!quiet) return load(target, fetcher, render, what);
  try {
    const d = await fetcher();
    keepFocus(target, () => replace(target, render(d)));
    return d;
  } catch {
    return undefined;
  }
}

/** Re-renders inside `root` without losing keyboard focus: the focused control is found again by
 * its id or `data-focus` key. */
export function keepFocus(root: HTMLElement, f: () => void): void {
  const a = document.activeElement as HTMLElement | null;
  const key = a && root.contains(a) && a !== root ? (a.id ? `#${CSS.escape(a.id)}` : a.dataset.focus ? `[data-focus="${CSS.escape(a.dataset.focus)}"]` : null) : null;
  f();
  if (key && !root.contains(document.activeElement)) root.querySelector<HTMLElement>(key)?.focus();
}
