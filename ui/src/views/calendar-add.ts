// The Calendars view's "Add account" card: a CalDAV account (server or email, user name, app
// password), Google or Microsoft sign-in, or an ICS address or file; then the new account's
// calendars to tick.

import type { App } from "../app";
import type { CalendarAccount, SignInProvider } from "../api/types";
import { field, h, replace } from "../lib/dom";
import { errorMessage, loading, tabs, toast } from "../lib/ui";
import { calendarToggles, kindIcon } from "./calendar-accounts";
import { focusLost, PROVIDER_NAME, type SignIn, startSignIn } from "./calendar-signin";

export interface AddAccount {
  el: HTMLElement;
  /** The accounts as listed now: the new account's switches follow changes made in the list. */
  update(list: CalendarAccount[]): void;
  destroy(): void;
}

type Tab = "caldav" | "google" | "microsoft" | "ics";

const errorText = (text: string) => h("p", { class: "error-text", role: "alert" }, text);

/** `added` reloads the list and the week; it resolves once the new account is listed. */
export function addAccount(app: App, added: (a: CalendarAccount) => Promise<void>): AddAccount {
  // The sign-in running for each provider (one at a time).
  const signIns = new Map<SignInProvider, SignIn>();
  // The new account's calendars, shown under the tabs once an account is connected.
  const connected = h("div", { class: "connected-slot" });
  // The account shown there, and where its switches are.
  let shown: { id: number; toggles: HTMLElement } | null = null;
  const toggles = (a: CalendarAccount) => calendarToggles(app, a, "cal-new", () => void added(a));

  function showConnected(a: CalendarAccount, how: string): void {
    const title = h("h3", { id: "cal-connected-h", tabindex: -1 }, `Connected ${a.name}`);
    const done = h("button", { type: "button", class: "btn btn-small", onclick: () => finish() }, "Done");
    const finish = () => {
      replace(connected);
      shown = null;
      const row = document.querySelector<HTMLElement>(`.accounts .account[data-id="${a.id}"]`);
      row?.focus();
    };
    const cals = a.calendars ?? [];
    const slot = h("div", null, toggles(a));
    shown = { id: a.id, toggles: slot };
    replace(
      connected,
      h(
        "section",
        { class: "connected", "aria-labelledby": "cal-connected-h" },
        title,
        h("p", { class: "muted small mono" }, a.user && a.user !== a.display ? `${a.user} · ${a.display}` : a.display),
        h(
          "p",
          null,
          cals.length
            ? `${how} Tick the calendars whose events count as busy: your own calendars start ticked, holidays and calendars shared with you start off. You can change this any time in the list below.`
            : `${how} The account has no event calendars yet.`,
        ),
        slot,
        h("div", { class: "row" }, done),
      ),
    );
    title.focus();
  }

  // --- CalDAV ------------------------------------------------------------------------------
  const server = h("input", { id: "cal-dav-server", required: true, autocomplete: "url", spellcheck: "false", placeholder: "you@icloud.com or caldav.fastmail.com" }) as HTMLInputElement;
  const user = h("input", { id: "cal-dav-user", required: true, autocomplete: "username", spellcheck: "false", placeholder: "usually your email address" }) as HTMLInputElement;
  const password = h("input", { id: "cal-dav-password", type: "password", required: true, autocomplete: "off", spellcheck: "false" }) as HTMLInputElement;
  const davName = h("input", { id: "cal-dav-name", autocomplete: "off", placeholder: "e.g. Personal" }) as HTMLInputElement;
  const davErr = h("div", { class: "form-result", "aria-live": "polite" });
  const davBtn = h("button", { type: "submit", class: "btn btn-primary", id: "cal-dav-add" }, "Connect") as HTMLButtonElement;
  const link = (href: string, text: string) => h("a", { href, target: "_blank", rel: "noopener noreferrer" }, text);
  const passwordHint = h(
    "p",
    { class: "hint", id: "cal-dav-password-hint" },
    "Use an app-specific password, not your account's main one: ",
    "iCloud makes one at ",
    link("https://account.apple.com", "account.apple.com"),
    " (Sign-In and Security → App-Specific Passwords); Fastmail in ",
    link("https://app.fastmail.com/settings/security", "Settings → Privacy & Security"),
    " (Manage app passwords and access); Nextcloud in your Personal settings → Security → Devices & sessions. MetaClaw keeps it with your API keys (the OS keyring, or a file only your user can read) and only reads your busy times.",
  );
  const davForm = h(
    "form",
    { class: "add-form", "aria-label": "CalDAV account", novalidate: true },
    h("p", { class: "hint" }, "iCloud, Fastmail, Nextcloud, Radicale and any other CalDAV server. Give your email address, or the server's address if your provider names one."),
    h("div", { class: "add-grid" }, field("Server or email address", server), field("User name", user), field("App-specific password", password), field("Name (optional)", davName)),
    passwordHint,
    h("div", { class: "row" }, davBtn),
    davErr,
  );
  password.setAttribute("aria-describedby", passwordHint.id);
  davForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    replace(davErr);
    const missing = !server.value.trim() ? server : !user.value.trim() ? user : !password.value ? password : null;
    if (missing) {
      const what = missing === server ? "the server or your email address" : missing === user ? "your user name" : "the app-specific password";
      replace(davErr, errorText(`Enter ${what}.`));
      missing.setAttribute("aria-invalid", "true");
      missing.focus();
      return;
    }
    for (const i of [server, user, password]) i.removeAttribute("aria-invalid");
    davBtn.disabled = true;
    replace(davErr, loading("Connecting to the server and reading your calendars"));
    try {
      const a = await app.api.addCalendar({ kind: "caldav", server: server.value.trim(), user: user.value.trim(), password: password.value, name: davName.value.trim() || undefined });
      replace(davErr);
      toast(`Added ${a.name}`);
      server.value = user.value = password.value = davName.value = "";
      await added(a);
      showConnected(a, "MetaClaw found your calendars.");
    } catch (e) {
      const msg = errorMessage(e);
      replace(davErr, errorText(msg));
      // Back to the field the engine's words point at: the password, unless they are about the
      // server (not found, not CalDAV, TLS, plain http, timed out). The rest stays as typed.
      const aboutServer = !/password|user name|unauthori[sz]ed/i.test(msg) && /server|address|host|not found|caldav|tls|certificate|http|redirect|timed out|reach/i.test(msg);
      const at = aboutServer ? server : password;
      at.select();
      at.focus();
    } finally {
      davBtn.disabled = false;
    }
  });

  // --- Google and Microsoft ----------------------------------------------------------------
  function providerPanel(p: SignInProvider): HTMLElement {
    const who = PROVIDER_NAME[p];
    const name = h("input", { id: `cal-${p}-name`, autocomplete: "off", placeholder: p === "google" ? "e.g. Google" : "e.g. Work" }) as HTMLInputElement;
    const flowHost = h("div", { class: "form-result signin-host" });
    const btn = h("button", { type: "button", class: "btn btn-primary btn-signin", id: `cal-signin-${p}` }, kindIcon(p), `Sign in with ${who}`) as HTMLButtonElement;
    btn.addEventListener("click", () => {
      btn.disabled = true;
      signIns.get(p)?.cancel();
      signIns.set(
        p,
        startSignIn(app, {
          provider: p,
          name: name.value.trim() || undefined,
          host: flowHost,
          onDone: (a) => {
            btn.disabled = false;
            name.value = "";
            toast(`Added ${a.name}`);
            void added(a).then(() => showConnected(a, `Signed in to ${who}.`));
          },
          onEnd: () => {
            btn.disabled = false;
            if (focusLost(flowHost)) btn.focus();
          },
        }),
      );
    });
    const what =
      p === "google"
        ? "Google Calendar: sign in with your Google account in your browser. MetaClaw asks only to read your calendars."
        : "Microsoft 365 or Outlook.com: sign in with your work, school or personal Microsoft account in your browser. MetaClaw asks only to read your calendars.";
    return h("div", { class: "add-form" }, h("p", { class: "hint" }, what), h("div", { class: "filters" }, field("Name (optional)", name), h("div", { class: "field field-btn" }, btn)), flowHost);
  }
  const googlePanel = providerPanel("google");
  const microsoftPanel = providerPanel("microsoft");

  // --- ICS address or file (the ids predate accounts; tests and habits use them) ----------
  const source = h("input", { id: "cal-source", required: true, autocomplete: "off", spellcheck: "false", placeholder: "https://… .ics, webcal://…, or /path/to/calendar.ics" }) as HTMLInputElement;
  const name = h("input", { id: "cal-name", autocomplete: "off", placeholder: "e.g. Work" }) as HTMLInputElement;
  const addErr = h("div", { class: "form-result", "aria-live": "polite" });
  const addBtn = h("button", { type: "submit", class: "btn btn-primary", id: "cal-add" }, "Add calendar") as HTMLButtonElement;
  const icsForm = h(
    "form",
    { class: "filters add-form", "aria-label": "ICS address or file", novalidate: true },
    field("Calendar address or file", source, "A Google “secret address in iCal format”, an Outlook published ICS link, an iCloud webcal:// link, or a local .ics file. Secret links are kept with your API keys, never in the config file."),
    field("Name (optional)", name),
    h("div", { class: "field field-btn" }, addBtn),
  );
  icsForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    replace(addErr);
    if (!source.value.trim()) {
      replace(addErr, errorText("Enter a calendar address or file path."));
      source.focus();
      return;
    }
    addBtn.disabled = true;
    try {
      const a = await app.api.addCalendar({ source: source.value.trim(), name: name.value.trim() || undefined });
      toast(`Added ${a.name}`);
      source.value = "";
      name.value = "";
      if (a.warnings?.length) replace(addErr, h("div", { class: "hint" }, h("p", null, `Added ${a.name}, with notes:`), h("ul", null, a.warnings.map((w) => h("li", null, w)))));
      await added(a);
      document.querySelector<HTMLElement>(`.accounts .account[data-id="${a.id}"]`)?.focus();
    } catch (e) {
      replace(addErr, errorText(errorMessage(e)));
    } finally {
      addBtn.disabled = false;
    }
  });

  const panels: Record<Tab, HTMLElement> = { caldav: davForm, google: googlePanel, microsoft: microsoftPanel, ics: h("div", null, icsForm, addErr) };
  const label = (kind: string, text: string) => h("span", { class: "tab-label" }, kindIcon(kind), text);
  const t = tabs(
    "Kind of calendar",
    [
      { id: "caldav", label: label("caldav", "CalDAV (iCloud, Fastmail, Nextcloud…)") },
      { id: "google", label: label("google", "Google") },
      { id: "microsoft", label: label("microsoft", "Microsoft 365 / Outlook.com") },
      { id: "ics", label: label("url", "ICS address or file") },
    ],
    "caldav",
    (id, panel) => replace(panel, panels[id as Tab]),
  );

  const el = h("div", { class: "add-account" }, t.list, t.panel, connected);
  return {
    el,
    update(list) {
      if (!shown) return;
      const cur = shown;
      const a = list.find((x) => x.id === cur.id);
      if (!a) {
        // Removed meanwhile.
        replace(connected);
        shown = null;
        return;
      }
      const focused = cur.toggles.contains(document.activeElement) ? document.activeElement?.id : null;
      replace(cur.toggles, toggles(a));
      if (focused) document.getElementById(focused)?.focus();
    },
    destroy() {
      for (const s of signIns.values()) s.stop();
      signIns.clear();
    },
  };
}
