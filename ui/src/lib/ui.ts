// Shared widgets: toasts (aria-live), dialogs, loading/empty/error states, tabs with arrow keys,
// roving focus for lists.

import { ApiError } from "../api/client";
import { type Child, h, replace, uid } from "./dom";

// --- toasts --------------------------------------------------------------------------------

let toastRegion: HTMLElement | null = null;

export function toastHost(): HTMLElement {
  toastRegion = h("div", { class: "toasts", role: "status", "aria-live": "polite", "aria-atomic": "false" });
  return toastRegion;
}

export function toast(message: string, kind: "ok" | "error" | "info" = "ok"): void {
  if (!toastRegion) return;
  const t = h(
    "div",
    { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : null },
    h("span", null, message),
    h("button", { class: "icon-btn", type: "button", "aria-label": "Dismiss", onclick: () => t.remove() }, "×"),
  );
  toastRegion.appendChild(t);
  setTimeout(() => t.remove(), kind === "error" ? 9000 : 4500);
}

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

// --- states ----------------------------------------------------------------------------------

export function loading(what = "Loading"): HTMLElement {
  return h("div", { class: "state state-loading", role: "status", "aria-live": "polite" }, h("span", { class: "spinner", "aria-hidden": "true" }), `${what}…`);
}

export function empty(title: string, body?: Child, action?: HTMLElement): HTMLElement {
  return h("div", { class: "state state-empty" }, h("p", { class: "state-title" }, title), body ? h("p", null, body) : null, action ?? null);
}

/** An error state with the engine's message and a Retry button. */
export function failure(e: unknown, retry?: () => void): HTMLElement {
  const unsupported = e instanceof ApiError && e.code === "unsupported";
  const down = e instanceof ApiError && e.unreachable;
  const title = unsupported ? "Not available in this MetaClaw" : down ? "MetaClaw is not reachable" : "Something went wrong";
  return h(
    "div",
    { class: `state state-error${unsupported ? " state-unsupported" : ""}`, role: "alert" },
    h("p", { class: "state-title" }, title),
    h("p", { class: "error-text" }, errorMessage(e)),
    e instanceof ApiError && e.problems.length ? problemList(e.problems) : null,
    retry ? h("button", { type: "button", class: "btn", onclick: retry }, "Retry") : null,
  );
}

export function problemList(problems: { file: string; line: number | null; reason: string }[]): HTMLElement {
  return h(
    "ul",
    { class: "problems" },
    problems.map((p) => h("li", null, p.line ? h("strong", null, `Line ${p.line}: `) : null, p.reason, p.file ? h("span", { class: "muted" }, ` (${p.file})`) : null)),
  );
}

/** Loads into `el`: a loading state, then `render(data)` or an error state with Retry. */
export async function load<T>(el: HTMLElement, fetcher: () => Promise<T>, render: (data: T) => Child, what?: string): Promise<T | undefined> {
  replace(el, loading(what));
  el.setAttribute("aria-busy", "true");
  try {
    const data = await fetcher();
    replace(el, render(data));
    return data;
  } catch (e) {
    replace(el, failure(e, () => void load(el, fetcher, render, what)));
    return undefined;
  } finally {
    el.removeAttribute("aria-busy");
  }
}

// --- dialogs -------------------------------------------------------------------------------

/** A modal dialog (native <dialog>: focus is trapped and Escape closes it). Resolves with the
 * value `submit` returns, or null when cancelled. */
export function dialog<T>(
  title: string,
  body: Child,
  opts: { submitLabel?: string; danger?: boolean; submit: () => T | Promise<T>; cancelLabel?: string; wide?: boolean },
): Promise<T | null> {
  return new Promise((resolve) => {
    const titleId = uid("dlg");
    const err = h("p", { class: "error-text", role: "alert" });
    const submitBtn = h("button", { type: "submit", class: opts.danger ? "btn btn-danger" : "btn btn-primary" }, opts.submitLabel ?? "OK");
    const form = h(
      "form",
      { method: "dialog" },
      h("h2", { id: titleId }, title),
      h("div", { class: "dialog-body" }, body),
      err,
      h("div", { class: "actions" }, h("button", { type: "button", class: "btn", onclick: () => d.close("cancel") }, opts.cancelLabel ?? "Cancel"), submitBtn),
    );
    const d = h("dialog", { "aria-labelledby": titleId, class: opts.wide ? "wide" : null }, form) as HTMLDialogElement;
    let done = false;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      submitBtn.disabled = true;
      try {
        const v = await opts.submit();
        done = true;
        d.close("ok");
        resolve(v);
      } catch (e) {
        replace(err, errorMessage(e));
        if (e instanceof ApiError && e.problems.length) err.appendChild(problemList(e.problems));
      } finally {
        submitBtn.disabled = false;
      }
    });
    d.addEventListener("close", () => {
      d.remove();
      if (!done) resolve(null);
    });
    document.body.appendChild(d);
    d.showModal();
  });
}

export async function confirmDialog(title: string, text: string, label = "Confirm", danger = false): Promise<boolean> {
  return (await dialog(title, h("p", null, text), { submitLabel: label, danger, submit: () => true })) === true;
}

// --- tabs and roving focus -------------------------------------------------------------------

export interface Tab {
  id: string;
  label: Child;
}

/**
 * A WAI-ARIA tab list: one tab in the Tab order, arrows / Home / End move between tabs and select
 * them. Returns the list and the panel; `onSelect` fills the panel.
 */
export function tabs(label: string, items: Tab[], selected: string, onSelect: (id: string, panel: HTMLElement) => void): { list: HTMLElement; panel: HTMLElement; select: (id: string) => void } {
  const base = uid("tabs");
  const panel = h("div", { role: "tabpanel", class: "tabpanel", tabindex: 0 });
  const buttons = items.map((t) =>
    h("button", { type: "button", role: "tab", id: `${base}-${t.id}`, "aria-controls": `${base}-panel`, "data-tab": t.id, onclick: () => select(t.id) }, t.label),
  );
  panel.id = `${base}-panel`;
  const list = h("div", { role: "tablist", "aria-label": label, class: "tablist" }, buttons);
  const select = (id: string, focus = false) => {
    for (const b of buttons) {
      const on = b.dataset.tab === id;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
      if (on) {
        panel.setAttribute("aria-labelledby", b.id);
        if (focus) b.focus();
      }
    }
    onSelect(id, panel);
  };
  list.addEventListener("keydown", (ev) => {
    const i = buttons.findIndex((b) => b === document.activeElement);
    if (i < 0) return;
    const next = arrowIndex(ev, i, buttons.length, "horizontal");
    if (next !== null) {
      ev.preventDefault();
      select(buttons[next].dataset.tab!, true);
    }
  });
  select(selected);
  return { list, panel, select: (id) => select(id) };
}

export function arrowIndex(ev: KeyboardEvent, i: number, n: number, orientation: "horizontal" | "vertical" | "both"): number | null {
  const horiz = orientation !== "vertical";
  const vert = orientation !== "horizontal";
  switch (ev.key) {
    case "ArrowRight":
      return horiz ? (i + 1) % n : null;
    case "ArrowLeft":
      return horiz ? (i - 1 + n) % n : null;
    case "ArrowDown":
      return vert ? (i + 1) % n : null;
    case "ArrowUp":
      return vert ? (i - 1 + n) % n : null;
    case "Home":
      return 0;
    case "End":
      return n - 1;
    default:
      return null;
  }
}

/**
 * Roving focus over `selector` items inside `container` with Up/Down/Home/End: only one item is
 * in the Tab order at a time.
 */
export function roving(container: HTMLElement, selector: string): void {
  const items = () => Array.from(container.querySelectorAll<HTMLElement>(selector));
  const sync = (active?: HTMLElement) => {
    const all = items();
    const cur = active ?? all.find((x) => x.getAttribute("aria-current") === "true" || x.getAttribute("aria-selected") === "true") ?? all[0];
    for (const x of all) x.tabIndex = x === cur ? 0 : -1;
  };
  container.addEventListener("keydown", (ev) => {
    const all = items();
    const i = all.indexOf(document.activeElement as HTMLElement);
    if (i < 0) return;
    const n = arrowIndex(ev, i, all.length, "vertical");
    if (n !== null) {
      ev.preventDefault();
      sync(all[n]);
      all[n].focus();
    }
  });
  container.addEventListener("focusin", (ev) => {
    const t = (ev.target as HTMLElement).closest(selector) as HTMLElement | null;
    if (t && container.contains(t)) sync(t);
  });
  new MutationObserver(() => sync()).observe(container, { childList: true, subtree: true });
  sync();
}

export function badge(text: string, kind = ""): HTMLElement {
  return h("span", { class: `badge ${kind ? `badge-${kind}` : ""}` }, text);
}

export function scoreBadge(score: number | null | undefined): HTMLElement {
  if (score === null || score === undefined) return badge("unscored", "muted");
  return score > 0 ? badge("+1", "ok") : score < 0 ? badge("−1", "bad") : badge("0", "muted");
}

/** A switch (checkbox with role=switch) with a visible label. */
export function toggleSwitch(label: string, on: boolean, onChange: (on: boolean, input: HTMLInputElement) => void): HTMLElement {
  const id = uid("sw");
  const input = h("input", { type: "checkbox", role: "switch", id, checked: on, class: "switch" }) as HTMLInputElement;
  input.addEventListener("change", () => onChange(input.checked, input));
  return h("span", { class: "switch-wrap" }, input, h("label", { for: id }, label));
}
