// Calendars (issue 7): accounts (add by URL or local path, test, rename, enable/disable, remove)
// and the coming week's busy blocks with the scheduler's predicted windows.

import type { App, View } from "../app";
import type { BusyBlock, CalendarAccount, SimulatedWindow } from "../api/types";
import { field, h, replace } from "../lib/dom";
import { dateTime, relative, timeOnly, WEEKDAYS } from "../lib/format";
import { badge, confirmDialog, dialog, empty, errorMessage, load, loading, toast, toggleSwitch } from "../lib/ui";

const DAY = 86_400_000;

export function calendarsView(app: App): View {
  const accountsEl = h("div", null, loading("Loading calendars"));
  const weekEl = h("div", null, loading("Loading the week"));
  const source = h("input", { id: "cal-source", required: true, autocomplete: "off", spellcheck: "false", placeholder: "https://… .ics, webcal://…, or /path/to/calendar.ics" }) as HTMLInputElement;
  const name = h("input", { id: "cal-name", autocomplete: "off", placeholder: "e.g. Work" }) as HTMLInputElement;
  const addErr = h("div", { "aria-live": "polite" });
  const addBtn = h("button", { type: "submit", class: "btn btn-primary", id: "cal-add" }, "Add calendar") as HTMLButtonElement;
  const form = h(
    "form",
    { class: "filters", "aria-labelledby": "add-h", novalidate: true },
    field("Calendar address or file", source, "A Google “secret address in iCal format”, an Outlook published ICS link, an iCloud webcal:// link, or a local .ics file. Secret links are kept in the OS keyring."),
    field("Name (optional)", name),
    h("div", { class: "field field-btn" }, addBtn),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    replace(addErr);
    if (!source.value.trim()) {
      replace(addErr, h("p", { class: "error-text", role: "alert" }, "Enter a calendar address or file path."));
      source.focus();
      return;
    }
    addBtn.disabled = true;
    try {
      const a = await app.api.addCalendar({ source: source.value.trim(), name: name.value.trim() || undefined });
      toast(`Added ${a.name}`);
      source.value = "";
      name.value = "";
      await reloadAll();
    } catch (e) {
      replace(addErr, h("p", { class: "error-text", role: "alert" }, errorMessage(e)));
    } finally {
      addBtn.disabled = false;
    }
  });

  const el = h(
    "div",
    { class: "view view-calendars" },
    h("div", { class: "view-head" }, h("h1", null, "Calendars")),
    h("p", { class: "lede" }, "MetaClaw runs learning work only while you're away. Your calendars tell it when you're in meetings; it never reads more than busy times."),
    h("section", { class: "card", "aria-labelledby": "add-h" }, h("h2", { id: "add-h" }, "Connect a calendar"), form, addErr),
    h("section", { class: "card", "aria-labelledby": "acc-h" }, h("h2", { id: "acc-h" }, "Accounts"), accountsEl),
    h("section", { class: "card", "aria-labelledby": "week-h" }, h("h2", { id: "week-h" }, "The coming week"), weekEl),
  );

  let accounts: CalendarAccount[] = [];
  async function reloadAccounts(): Promise<void> {
    const d = await load(accountsEl, () => app.api.calendars(), renderAccounts, "Loading calendars");
    if (d) accounts = d;
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
  async function reloadAll(): Promise<void> {
    await reloadAccounts();
    await reloadWeek();
  }

  function renderAccounts(list: CalendarAccount[]): HTMLElement {
    if (!list.length) return empty("No calendars yet", "Without calendars MetaClaw uses your sleep hours and idle time alone.");
    return h("ul", { class: "plain-list accounts" }, list.map(account));
  }

  // Test results survive re-renders (a test or a sync makes the engine announce calendars_changed).
  const results = new Map<number, HTMLElement>();
  function account(a: CalendarAccount): HTMLElement {
    const result = results.get(a.id) ?? h("div", { "aria-live": "polite", class: "test-result" });
    results.set(a.id, result);
    const testBtn = h("button", { type: "button", class: "btn btn-small", "aria-label": `Test ${a.name}` }, "Test") as HTMLButtonElement;
    testBtn.addEventListener("click", async () => {
      testBtn.disabled = true;
      replace(result, loading("Testing"));
      try {
        const r = await app.api.testCalendar(a.id);
        replace(
          result,
          r.ok ? h("p", { class: "ok-text" }, `Works: ${r.events} event${r.events === 1 ? "" : "s"} read.`) : h("p", { class: "error-text" }, `Failed: ${r.error ?? "unknown error"}`),
          r.unknown_zones?.length ? h("p", { class: "hint" }, `Unknown time zones (read in yours): ${r.unknown_zones.join(", ")}`) : null,
          r.skipped?.length ? h("details", null, h("summary", null, `${r.skipped.length} event(s) could not be read`), h("ul", null, r.skipped.map((x) => h("li", null, x)))) : null,
        );
      } catch (e) {
        replace(result, h("p", { class: "error-text" }, errorMessage(e)));
      } finally {
        testBtn.disabled = false;
      }
    });
    return h(
      "li",
      { class: "account", "data-id": a.id },
      h(
        "div",
        { class: "account-main" },
        h("strong", null, a.name),
        badge(a.kind === "url" ? "feed" : "file", "muted"),
        a.enabled ? null : badge("disabled", "warn"),
        h("div", { class: "muted small mono" }, a.display),
        h("div", { class: "small" }, a.last_error ? h("span", { class: "error-text" }, `Error: ${a.last_error}`) : a.last_sync ? `Synced ${relative(a.last_sync)} · ${a.events} events` : "Not synced yet"),
      ),
      h(
        "div",
        { class: "row" },
        toggleSwitch("Enabled", a.enabled, async (on, input) => {
          input.disabled = true;
          try {
            await app.api.patchCalendar(a.id, { enabled: on });
            toast(`${a.name} ${on ? "enabled" : "disabled"}`);
            await reloadAll();
          } catch (e) {
            input.checked = !on;
            toast(errorMessage(e), "error");
          } finally {
            input.disabled = false;
          }
        }),
        testBtn,
        h("button", { type: "button", class: "btn btn-small", "aria-label": `Rename ${a.name}`, onclick: () => void rename(a) }, "Rename"),
        h("button", { type: "button", class: "btn btn-small btn-danger", "aria-label": `Remove ${a.name}`, onclick: () => void remove(a) }, "Remove"),
      ),
      result,
    );
  }

  async function rename(a: CalendarAccount): Promise<void> {
    const input = h("input", { id: "cal-rename", value: a.name, required: true }) as HTMLInputElement;
    const r = await dialog(`Rename ${a.name}`, field("Name", input), {
      submitLabel: "Rename",
      submit: async () => {
        if (!input.value.trim()) throw new Error("Enter a name.");
        return app.api.patchCalendar(a.id, { name: input.value.trim() });
      },
    });
    if (r) {
      toast(`Renamed to ${input.value.trim()}`);
      await reloadAll();
    }
  }

  async function remove(a: CalendarAccount): Promise<void> {
    if (!(await confirmDialog(`Remove ${a.name}?`, "MetaClaw forgets this calendar and its cached events (and the secret link in the keyring).", "Remove", true))) return;
    try {
      await app.api.removeCalendar(a.id);
      toast(`Removed ${a.name}`);
      await reloadAll();
    } catch (e) {
      toast(errorMessage(e), "error");
    }
  }

  const off = app.on((e) => {
    if (e.type === "calendars_changed") void reloadAll();
  });
  void reloadAll();
  return { el, destroy: off };
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

