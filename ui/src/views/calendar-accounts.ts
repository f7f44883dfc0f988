// The Calendars view's account list: each account with its kind, state, last sync, the calendars
// that count as busy (per-calendar switches), and test, rename, enable, sign in again and remove.

import type { App } from "../app";
import type { CalendarAccount, CalendarEntry, CalendarKind, CalendarState, SignInProvider } from "../api/types";
import { field, h, replace, s } from "../lib/dom";
import { dateTime, iso, relative } from "../lib/format";
import { badge, confirmDialog, dialog, errorMessage, loading, toast, toggleSwitch } from "../lib/ui";
import { focusLost, PROVIDER_NAME, type SignIn, startSignIn } from "./calendar-signin";

export const KIND_LABEL: Record<CalendarKind, string> = { url: "ICS feed", file: "ICS file", caldav: "CalDAV", google: "Google", microsoft: "Microsoft" };

/** Our own line icons (currentColor, so they follow the theme); decorative: the kind is also in words. */
export function kindIcon(kind: CalendarKind | string): SVGElement {
  const paths: Record<string, string[]> = {
    // a chain link
    url: ["M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1.2 1.2", "M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1.2-1.2"],
    // a page with a folded corner
    file: ["M6 3h8l4 4v14H6z", "M14 3v4h4", "M9 12h6M9 16h6"],
    // a calendar page with two rings and a sync arrow
    caldav: ["M4 6h16v14H4z", "M4 10h16", "M8 4v4M16 4v4", "M9 15a3 3 0 0 1 5.2-2", "M15 15a3 3 0 0 1-5.2 2"],
    // a round "G"
    google: ["M19 12a7 7 0 1 1-2.1-5", "M19 12h-6"],
    // four panes
    microsoft: ["M4 4h7v7H4z", "M13 4h7v7h-7z", "M4 13h7v7H4z", "M13 13h7v7h-7z"],
  };
  return s(
    "svg",
    { class: "kind-icon", viewBox: "0 0 24 24", width: 20, height: 20, fill: "none", stroke: "currentColor", "stroke-width": 1.8, "stroke-linecap": "round", "stroke-linejoin": "round", "aria-hidden": "true", focusable: "false" },
    (paths[kind] ?? paths.file).map((d) => s("path", { d })),
  );
}

/** An account's state; engines before accounts only had `last_error`. */
export function stateOf(a: CalendarAccount): CalendarState {
  return a.state ?? (a.last_error ? "error" : "ok");
}

function provider(a: CalendarAccount): SignInProvider | null {
  return a.kind === "google" || a.kind === "microsoft" ? a.kind : null;
}

/** "#rrggbb" from the server, or nothing (no other CSS reaches the page). */
function swatchColor(c: string | null): string | null {
  return c && /^#[0-9a-f]{6}$/i.test(c) ? c : null;
}

/** A `<time>` with a relative text ("5 min ago") kept current by `tickRelative`, the exact time in its title. */
export function relTime(ms: number): HTMLElement {
  return h("time", { datetime: iso(ms), title: dateTime(ms), "data-rel": ms }, relative(ms));
}

/** Updates every relative time under `root`. */
export function tickRelative(root: HTMLElement): void {
  for (const t of root.querySelectorAll<HTMLElement>("time[data-rel]")) {
    const v = Number(t.dataset.rel);
    if (v) t.textContent = relative(v);
  }
}

/**
 * The switches saying which of an account's calendars count as busy. `idPrefix` keeps ids unique
 * where the same account shows twice (the list and the add flow's result).
 */
export function calendarToggles(app: App, a: CalendarAccount, idPrefix: string, onChanged: (a: CalendarAccount) => void): HTMLElement {
  const cals = a.calendars ?? [];
  if (!cals.length) return h("p", { class: "muted small" }, "This account has no event calendars.");
  const legend = `Calendars of ${a.name} that count as busy`;
  return h(
    "fieldset",
    { class: "cal-list" },
    h("legend", null, h("span", { class: "sr-only" }, legend), h("span", { "aria-hidden": "true" }, "Count as busy")),
    h(
      "ul",
      { class: "plain-list" },
      cals.map((c) => calendarRow(app, a, c, `${idPrefix}-${a.id}-${c.id}`, onChanged)),
    ),
  );
}

function calendarRow(app: App, a: CalendarAccount, c: CalendarEntry, id: string, onChanged: (a: CalendarAccount) => void): HTMLElement {
  const input = h("input", { type: "checkbox", role: "switch", class: "switch", id, checked: c.included }) as HTMLInputElement;
  const note = [c.own ? null : "shared or subscribed", `${c.events} event${c.events === 1 ? "" : "s"}`].filter(Boolean).join(" · ");
  // Not disabled while saving: a disabled control loses the keyboard focus, and the list is drawn
  // again (focus restored) when the change lands. A second flip meanwhile is undone.
  let saving = false;
  input.addEventListener("change", async () => {
    if (saving) {
      input.checked = !input.checked;
      return;
    }
    const on = input.checked;
    saving = true;
    input.setAttribute("aria-busy", "true");
    try {
      const updated = await app.api.includeCalendar(a.id, c.id, on);
      toast(on ? `${c.name} counts as busy` : `${c.name} no longer counts as busy`);
      onChanged(updated);
    } catch (e) {
      input.checked = !on;
      toast(errorMessage(e), "error");
    } finally {
      saving = false;
      input.removeAttribute("aria-busy");
    }
  });
  const color = swatchColor(c.color);
  return h(
    "li",
    { class: "cal-entry", "data-cid": c.id },
    input,
    h("label", { for: id }, h("span", { class: `swatch${color ? "" : " swatch-none"}`, style: color ? { backgroundColor: color } : undefined, "aria-hidden": "true" }), c.name),
    h("span", { class: "muted small" }, note),
    c.last_error ? h("span", { class: "error-text small cal-error" }, c.last_error) : null,
  );
}

export interface AccountList {
  /** The list (or the empty state) for these accounts. */
  render(list: CalendarAccount[]): HTMLElement;
  /** Stops the sign-ins started from the list. */
  destroy(): void;
}

/**
 * The account list. Test results and running "Sign in again" flows live here, so they survive the
 * re-renders that every change announces. `reload` refreshes the list and the week.
 */
export function accountList(app: App, reload: () => Promise<void>): AccountList {
  const results = new Map<number, HTMLElement>();
  const signIns = new Map<number, SignIn>();

  const resultOf = (id: number) => {
    let r = results.get(id);
    if (!r) {
      r = h("div", { "aria-live": "polite", class: "test-result" });
      results.set(id, r);
    }
    return r;
  };

  function signInAgain(a: CalendarAccount, p: SignInProvider, btn: HTMLButtonElement): void {
    signIns.get(a.id)?.cancel();
    const host = resultOf(a.id);
    btn.disabled = true;
    // The list may have been drawn again meanwhile: find the button by its id.
    const enable = () => {
      const b = document.getElementById(`cal-signin-${a.id}`) as HTMLButtonElement | null;
      if (!b) return;
      b.disabled = false;
      if (focusLost(host)) b.focus();
    };
    signIns.set(
      a.id,
      startSignIn(app, {
        provider: p,
        name: a.name,
        host,
        onDone: (acc) => {
          enable();
          replace(host, h("p", { class: "ok-text", role: "status" }, `Signed in again as ${acc.user ?? acc.display}.`));
          toast(`${acc.name} is signed in again`);
          void reload();
        },
        onEnd: enable,
      }),
    );
  }

  // Accounts being tested. The button is not disabled meanwhile (a disabled button drops the
  // keyboard focus); a second press is ignored.
  const testing = new Set<number>();
  async function test(a: CalendarAccount): Promise<void> {
    if (testing.has(a.id)) return;
    testing.add(a.id);
    const result = resultOf(a.id);
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
      testing.delete(a.id);
    }
    // The engine announces a change only when a sync brings new events: a failed one changes the
    // account's state and error too (e.g. "sign in again"), so the list is drawn again here.
    await reload();
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
      await reload();
    }
  }

  async function remove(a: CalendarAccount): Promise<void> {
    const p = provider(a);
    const what =
      p !== null
        ? `MetaClaw forgets this account, its cached busy times and its sign-in, and asks ${PROVIDER_NAME[p]} to revoke MetaClaw's access.`
        : a.kind === "caldav"
          ? "MetaClaw forgets this account, its cached events and its stored password."
          : "MetaClaw forgets this calendar and its cached events (and the secret link in the keyring).";
    if (!(await confirmDialog(`Remove ${a.name}?`, what, "Remove", true))) return;
    try {
      await app.api.removeCalendar(a.id);
      signIns.get(a.id)?.cancel();
      signIns.delete(a.id);
      results.delete(a.id);
      toast(`Removed ${a.name}`);
      await reload();
    } catch (e) {
      toast(errorMessage(e), "error");
    }
  }

  function status(a: CalendarAccount): HTMLElement {
    const st = stateOf(a);
    const p = provider(a);
    if (st === "sign_in_again" && p) {
      return h(
        "div",
        { class: "small" },
        h("span", { class: "error-text" }, `${PROVIDER_NAME[p]} no longer accepts MetaClaw's sign-in${a.last_error ? `: ${a.last_error.replace(/[.\s]+$/, "")}.` : "."}`),
        " Sign in again to keep reading busy times.",
      );
    }
    if (st === "error" || a.last_error) return h("div", { class: "small" }, h("span", { class: "error-text" }, `Error: ${a.last_error ?? "the last sync failed"}`));
    if (!a.last_sync) return h("div", { class: "small" }, "Not synced yet");
    return h("div", { class: "small" }, "Synced ", relTime(a.last_sync), ` · ${a.events} event${a.events === 1 ? "" : "s"}`);
  }

  function item(a: CalendarAccount): HTMLElement {
    const st = stateOf(a);
    const p = provider(a);
    const testBtn = h("button", { type: "button", class: "btn btn-small", id: `cal-test-${a.id}`, "aria-label": `Test ${a.name}` }, "Test") as HTMLButtonElement;
    testBtn.addEventListener("click", () => void test(a));
    const again =
      st === "sign_in_again" && p
        ? (h("button", { type: "button", class: "btn btn-small btn-primary", id: `cal-signin-${a.id}`, "aria-label": `Sign in again to ${a.name}`, disabled: signIns.get(a.id)?.active ?? false }, "Sign in again") as HTMLButtonElement)
        : null;
    again?.addEventListener("click", () => signInAgain(a, p!, again));
    const who = a.user && a.user !== a.display ? `${a.user} · ${a.display}` : a.display;
    const multi = a.kind === "caldav" || p !== null;
    return h(
      "li",
      { class: "account", "data-id": a.id, "data-state": st, tabindex: -1, "aria-labelledby": `cal-acc-${a.id}` },
      h(
        "div",
        { class: "account-main" },
        h(
          "div",
          { class: "account-title" },
          h("span", { class: "kind-icon-wrap" }, kindIcon(a.kind)),
          h("strong", { id: `cal-acc-${a.id}` }, a.name),
          badge(KIND_LABEL[a.kind] ?? a.kind, "muted"),
          st === "sign_in_again" ? badge("sign in again", "warn") : st === "error" ? badge("error", "bad") : null,
          a.enabled ? null : badge("disabled", "warn"),
        ),
        h("div", { class: "muted small mono" }, who),
        status(a),
      ),
      h(
        "div",
        { class: "row" },
        again,
        toggleSwitch("Enabled", a.enabled, async (on, input) => {
          input.disabled = true;
          try {
            await app.api.patchCalendar(a.id, { enabled: on });
            toast(`${a.name} ${on ? "enabled" : "disabled"}`);
            await reload();
          } catch (e) {
            input.checked = !on;
            toast(errorMessage(e), "error");
          } finally {
            input.disabled = false;
          }
        }),
        testBtn,
        h("button", { type: "button", class: "btn btn-small", id: `cal-rename-${a.id}`, "aria-label": `Rename ${a.name}`, onclick: () => void rename(a) }, "Rename"),
        h("button", { type: "button", class: "btn btn-small btn-danger", id: `cal-remove-${a.id}`, "aria-label": `Remove ${a.name}`, onclick: () => void remove(a) }, "Remove"),
      ),
      multi ? h("div", { class: "account-cals" }, calendarToggles(app, a, "cal-inc", () => void reload())) : null,
      resultOf(a.id),
    );
  }

  return {
    render(list) {
      for (const id of results.keys()) if (!list.some((a) => a.id === id)) results.delete(id);
      return h("ul", { class: "plain-list accounts" }, list.map(item));
    },
    destroy() {
      for (const s of signIns.values()) s.stop();
      signIns.clear();
    },
  };
}
