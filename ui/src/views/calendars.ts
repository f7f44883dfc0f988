// Calendars (issues 7 and 16): accounts (CalDAV, Google and Microsoft sign-in, ICS addresses and
// files; which calendars count, test, rename, enable/disable, remove) and the coming week's busy
// blocks with the scheduler's predicted windows.

import type { App, View } from "../app";
import type { BusyBlock, CalendarAccount, SimulatedWindow } from "../api/types";
import { h, replace } from "../lib/dom";
import { dateTime, timeOnly, WEEKDAYS } from "../lib/format";
import { empty, failure, load, loading } from "../lib/ui";
import { accountList, tickRelative } from "./calendar-accounts";
import { addAccount } from "./calendar-add";

const DAY = 86_400_000;

export function calendarsView(app: App): View {
  const accountsEl = h("div", null, loading("Loading calendars"));
  const weekEl = h("div", null, loading("Loading the week"));
  const list = accountList(app, () => reloadAll());
  const add = addAccount(app, () => reloadAll());

  const el = h(
    "div",
    { class: "view view-calendars" },
    h("div", { class: "view-head" }, h("h1", null, "Calendars")),
    h("p", { class: "lede" }, "MetaClaw runs learning work only while you're away. Your calendars tell it when you're in meetings; it never reads more than busy times."),
    h("section", { class: "card", "aria-labelledby": "add-h" }, h("h2", { id: "add-h" }, "Add an account"), add.el),
    h("section", { class: "card", "aria-labelledby": "acc-h" }, h("h2", { id: "acc-h" }, "Accounts"), accountsEl, busyRules(app)),
    h("section", { class: "card", "aria-labelledby": "week-h" }, h("h2", { id: "week-h" }, "The coming week"), weekEl),
  );

  let accounts: CalendarAccount[] = [];
  let loaded = false;
  async function reloadAccounts(): Promise<void> {
    if (!loaded) {
      const d = await load(accountsEl, () => app.api.calendars(), renderAccounts, "Loading calendars");
      if (d) {
        accounts = d;
        loaded = true;
        add.update(d);
      }
      return;
    }
    // Later reloads swap the list in place (no loading flash) and keep the keyboard focus where
    // it was: a switch toggled in an account stays focused after the list is drawn again.
    try {
      const d = await app.api.calendars();
      accounts = d;
      const spot = focusSpot(accountsEl);
      replace(accountsEl, renderAccounts(d));
      restoreFocus(accountsEl, spot);
      add.update(d);
    } catch (e) {
      replace(accountsEl, failure(e, () => void reloadAccounts()));
    }
  }
  async function reloadWeek(): Promise<void> {
    const from = startOfToday();
    const to = from + 7 * DAY;
    await load(
      weekEl,
      async () => {
        const [busy, sim] = await Promise.all([app.api.busy(from, to), app.api.simulate(from, to).catch(() => null)]);
        return { busy, windows: sim?.windows ?? null };
      },
      ({ busy, windows }) => weekGrid(from, busy, windows, accounts),
      "Loading the week",
    );
  }
  // Reloads that overlap (an add, then the engine's calendars_changed) run one after the other.
  let chain: Promise<void> = Promise.resolve();
  function reloadAll(): Promise<void> {
    chain = chain.then(async () => {
      await reloadAccounts();
      await reloadWeek();
    });
    return chain;
  }

  function renderAccounts(d: CalendarAccount[]): HTMLElement {
    if (!d.length) return empty("No calendars yet", "Without calendars MetaClaw uses your sleep hours and idle time alone.");
    return list.render(d);
  }

  const off = app.on((e) => {
    if (e.type === "calendars_changed") void reloadAll();
  });
  // "Synced 2 min ago" stays true while the view is open.
  const ticker = setInterval(() => tickRelative(accountsEl), 30_000);
  void reloadAll();
  return {
    el,
    destroy: () => {
      off();
      clearInterval(ticker);
      list.destroy();
      add.destroy();
    },
  };
}

interface Spot {
  row: string;
  /** The control's id when it has a stable one (buttons, calendar switches). */
  id: string | null;
  index: number;
}

/** Where the focus is inside the account list: the account, and the control's id or place in it. */
function focusSpot(root: HTMLElement): Spot | null {
  const a = document.activeElement as HTMLElement | null;
  if (!a || !root.contains(a)) return null;
  const row = a.closest<HTMLElement>(".account");
  if (!row?.dataset.id) return null;
  return { row: row.dataset.id, id: a.id.startsWith("cal-") ? a.id : null, index: a === row ? -1 : controls(row).indexOf(a) };
}

function restoreFocus(root: HTMLElement, spot: Spot | null): void {
  if (!spot) return;
  const row = root.querySelector<HTMLElement>(`.account[data-id="${spot.row}"]`);
  if (!row) return;
  const byId = spot.id ? document.getElementById(spot.id) : null;
  (byId && row.contains(byId) ? byId : spot.index < 0 ? row : (controls(row)[spot.index] ?? row)).focus();
}

function controls(row: HTMLElement): HTMLElement[] {
  return Array.from(row.querySelectorAll<HTMLElement>("button, input, a[href], summary"));
}

/** What counts as busy, the same for every kind of calendar (crate::calendar::busy), with the
 * tentative setting as the engine's config has it. */
function busyRules(app: App): HTMLElement {
  const tentative = h("li", null, "Tentative events and “maybe” answers count as busy unless calendar.tentative_busy is off.");
  app.api
    .config()
    .then((c) => {
      const cal = c.config.calendar as { tentative_busy?: unknown } | undefined;
      if (typeof cal?.tentative_busy !== "boolean") return;
      replace(
        tentative,
        cal.tentative_busy ? "Tentative events and “maybe” answers count as busy" : "Tentative events and “maybe” answers don't count as busy",
        h("span", { class: "muted" }, ` (calendar.tentative_busy = ${cal.tentative_busy}).`),
      );
    })
    .catch(() => undefined);
  return h(
    "details",
    { class: "busy-rules" },
    h("summary", null, "What counts as busy"),
    h(
      "ul",
      null,
      h("li", null, "Timed meetings and events count, unless you declined them, they were cancelled, or they are marked free or “working elsewhere”."),
      tentative,
      h("li", null, "All-day events count only when marked busy or out of office (a birthday or a holiday doesn't)."),
      h("li", null, "In CalDAV, Google and Microsoft accounts, only the calendars switched on under “Count as busy” are read."),
    ),
  );
}

function startOfToday(): number {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Seven day columns, 24 hour rows; busy blocks and open windows positioned by time. Also listed
 * as text for screen readers. */
function weekGrid(from: number, busy: BusyBlock[], windows: SimulatedWindow[] | null, accounts: CalendarAccount[]): HTMLElement {
  const names = new Map(accounts.map((a) => [a.id, a.name]));
  const days = Array.from({ length: 7 }, (_, i) => {
    const d = new Date(from);
    d.setDate(d.getDate() + i);
    return d.getTime();
  });
  const pos = (start: number, end: number, dayStart: number, dayEnd: number) => {
    const s0 = Math.max(start, dayStart);
    const e0 = Math.min(end, dayEnd);
    return { top: ((s0 - dayStart) / (dayEnd - dayStart)) * 100, height: Math.max(1.2, ((e0 - s0) / (dayEnd - dayStart)) * 100) };
  };
  const cols = days.map((dayStart, i) => {
    const dayEnd = i + 1 < days.length ? days[i + 1] : dayStart + DAY;
    const dn = new Date(dayStart);
    const label = `${WEEKDAYS[(dn.getDay() + 6) % 7]} ${dn.getDate()}`;
    const col = h("div", { class: "week-col" });
    for (const w of windows ?? []) {
      if (w.end <= dayStart || w.start >= dayEnd) continue;
      const p = pos(w.start, w.end, dayStart, dayEnd);
      col.appendChild(h("div", { class: "week-window", style: { top: `${p.top}%`, height: `${p.height}%` }, title: `Learning window ${timeOnly(w.start)}–${timeOnly(w.end)}: ${w.explanation || w.reason}`, "aria-hidden": "true" }));
    }
    for (const b of busy) {
      if (b.end <= dayStart || b.start >= dayEnd) continue;
      const p = pos(b.start, b.end, dayStart, dayEnd);
      col.appendChild(h("div", { class: "week-busy", style: { top: `${p.top}%`, height: `${p.height}%` }, title: `${b.summary || "Busy"} ${timeOnly(b.start)}–${timeOnly(b.end)}`, "aria-hidden": "true" }, h("span", null, b.summary || "Busy")));
    }
    return h("div", { class: "week-day" }, h("div", { class: "week-head" }, label), col);
  });
  const hours = h("div", { class: "week-hours", "aria-hidden": "true" }, h("div", { class: "week-head" }), h("div", { class: "week-col" }, [0, 3, 6, 9, 12, 15, 18, 21].map((hr) => h("span", { style: { top: `${(hr / 24) * 100}%` } }, `${String(hr).padStart(2, "0")}:00`))));
  const sorted = busy.slice().sort((a, b) => a.start - b.start);
  return h(
    "div",
    null,
    h("div", { class: "legend" }, h("span", { class: "key key-busy" }, "Busy (calendar)"), windows ? h("span", { class: "key key-window" }, "Predicted learning window") : h("span", { class: "muted" }, "Predicted windows are not available from this MetaClaw.")),
    h("div", { class: "week", id: "week-grid" }, hours, cols),
    h(
      "details",
      null,
      h("summary", null, `${busy.length} busy block${busy.length === 1 ? "" : "s"}${windows ? `, ${windows.length} predicted window${windows.length === 1 ? "" : "s"}` : ""} as a list`),
      sorted.length ? h("ul", null, sorted.map((b) => h("li", null, `${dateTime(b.start)}–${timeOnly(b.end)}: ${b.summary || "Busy"}`, names.get(b.calendar) ? ` (${names.get(b.calendar)})` : ""))) : h("p", { class: "muted" }, "No busy time this week."),
      windows?.length ? h("ul", null, windows.map((w) => h("li", null, `Window ${dateTime(w.start)}–${timeOnly(w.end)}: ${w.explanation || w.reason}`))) : null,
    ),
  );
}

