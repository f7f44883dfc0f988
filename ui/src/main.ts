// MetaClaw's UI: the shell (header, navigation, connection state, theme) and the hash router.

import "./styles.css";
import { ApiError, Client, discoverConnection, rememberToken } from "./api/client";
import type { EngineEvent, Status } from "./api/types";
import type { App, Listener, View } from "./app";
import { healthPill } from "./health";
import { h, replace } from "./lib/dom";
import { roving, toast, toastHost } from "./lib/ui";
import { calendarsView } from "./views/calendars";
import { connectView } from "./views/connect";
import { dashboardView } from "./views/dashboard";
import { historyView } from "./views/history";
import { reviewView } from "./views/review";
import { settingsView } from "./views/settings";
import { setupStatus } from "./views/setup/api";
import { setupView } from "./views/setup";
import { skillsView } from "./views/skills";
import { trainingView } from "./views/training";
import { turnsView } from "./views/turns";

type Route = { id: string; label: string; make: (app: App, params: string[]) => View; hidden?: boolean };

const ROUTES: Route[] = [
  { id: "dashboard", label: "Dashboard", make: dashboardView },
  { id: "review", label: "Review", make: reviewView },
  { id: "skills", label: "Skills", make: skillsView },
  { id: "history", label: "History", make: historyView },
  { id: "training", label: "Training", make: trainingView },
  { id: "turns", label: "Turns", make: turnsView },
  { id: "calendars", label: "Calendars", make: calendarsView },
  { id: "connect", label: "Connect", make: connectView },
  { id: "settings", label: "Settings", make: settingsView },
  { id: "setup", label: "Setup guide", make: setupView, hidden: true },
];

// --- theme ---------------------------------------------------------------------------------

type ThemePref = "system" | "light" | "dark";
const THEME_KEY = "metaclaw.theme";

function themePref(): ThemePref {
  try {
    const v = localStorage.getItem(THEME_KEY);
    return v === "light" || v === "dark" ? v : "system";
  } catch {
    return "system";
  }
}

function applyTheme(p: ThemePref): void {
  const dark = p === "dark" || (p === "system" && matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  document.documentElement.dataset.themePref = p;
}

function themeButton(): HTMLButtonElement {
  const order: ThemePref[] = ["system", "light", "dark"];
  const b = h("button", { type: "button", class: "btn btn-ghost theme-toggle", id: "theme-toggle" }) as HTMLButtonElement;
  const paint = () => {
    const p = themePref();
    b.textContent = `Theme: ${p[0].toUpperCase()}${p.slice(1)}`;
    b.setAttribute("aria-label", `Theme: ${p}. Switch theme`);
  };
  b.addEventListener("click", () => {
    const next = order[(order.indexOf(themePref()) + 1) % order.length];
    try {
      if (next === "system") localStorage.removeItem(THEME_KEY);
      else localStorage.setItem(THEME_KEY, next);
    } catch {
      /* ignore */
    }
    applyTheme(next);
    paint();
  });
  paint();
  return b;
}

// --- the token screen ----------------------------------------------------------------------

function tokenScreen(reason: "missing" | "refused", onToken: (t: string) => void): HTMLElement {
  const input = h("input", { id: "token-input", type: "password", autocomplete: "off", spellcheck: "false", required: true, class: "mono" }) as HTMLInputElement;
  const form = h(
    "form",
    { class: "token-form" },
    h("label", { for: "token-input" }, "Admin token"),
    h("div", { class: "row" }, input, h("button", { type: "submit", class: "btn btn-primary" }, "Connect")),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (input.value.trim()) onToken(input.value.trim());
  });
  return h(
    "main",
    { class: "token-screen", id: "main", tabindex: -1 },
    h(
      "div",
      { class: "card token-card" },
      h("h1", null, "Connect to MetaClaw"),
      reason === "refused"
        ? h("p", { class: "error-text", role: "alert" }, "MetaClaw refused this token. It changes when the data directory is recreated; get a fresh link below.")
        : h("p", null, "This page needs MetaClaw's admin token, so other web pages and local users can't drive your agent's learning."),
      h("h2", null, "The easy way"),
      h("p", null, "Run this in a terminal and open the link it prints (it carries the token):"),
      h("pre", { tabindex: 0 }, h("code", null, "metaclaw ui")),
      h("p", null, "It prints a link like ", h("code", null, "http://127.0.0.1:30000/#token=…"), " (`metaclaw serve` prints only the address, so the token stays out of logs)."),
      h("h2", null, "Or paste the token"),
      h("p", null, "It is in ", h("code", null, "admin.token"), " in MetaClaw's data directory: ", h("code", null, "$METACLAW_HOME/admin.token"), " (by default ", h("code", null, "~/.local/share/metaclaw/admin.token"), " on Linux)."),
      form,
    ),
  );
}

// --- the shell -----------------------------------------------------------------------------

function start(): void {
  applyTheme(themePref());
  // A new `#token=…` link opened in this tab: start over with it.
  addEventListener("hashchange", () => {
    if (/(^#|&)token=/.test(location.hash)) location.reload();
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => applyTheme(themePref()));

  const root = document.getElementById("app")!;
  const conn = discoverConnection();
  const api = new Client(conn);

  let booted: (() => void) | null = null;
  function boot(): void {
    booted?.();
    booted = shell(root, api);
  }
  function showToken(reason: "missing" | "refused"): void {
    booted?.();
    booted = null;
    document.title = "Connect · MetaClaw";
    replace(
      root,
      tokenScreen(reason, (t) => {
        rememberToken(t);
        api.token = t;
        boot();
      }),
      toastHost(),
    );
    (root.querySelector("#token-input") as HTMLElement | null)?.focus();
  }
  api.onUnauthorized = () => {
    if (!booted) return;
    rememberToken(null);
    api.token = null;
    showToken("refused");
  };
  if (api.token) boot();
  else showToken("missing");
}

function shell(root: HTMLElement, api: Client): () => void {
  const listeners = new Set<Listener>();
  const abort = new AbortController();
  const app: App = {
    api,
    status: null,
    on(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    navigate(hash) {
      if (location.hash !== hash) location.hash = hash;
      else route();
    },
    refreshStatus,
  };

  const live = h("span", { class: "conn conn-wait", id: "conn-state", role: "status" }, "Connecting…");
  const paused = h("span", { class: "badge badge-warn", hidden: true, id: "paused-badge" }, "Learning paused");
  const health = healthPill();
  const banner = h("div", { class: "banner", role: "alert", hidden: true, id: "offline-banner" });
  const reviewCount = h("span", { class: "count", hidden: true, "aria-hidden": "true" });
  const navLinks = ROUTES.filter((r) => !r.hidden).map((r) =>
    h("li", null, h("a", { href: `#/${r.id}`, "data-route": r.id }, h("span", null, r.label), r.id === "review" ? reviewCount : null)),
  );
  const nav = h("nav", { "aria-label": "Main", class: "sidenav" }, h("ul", null, navLinks));
  roving(nav, "a");
  const main = h("main", { id: "main", tabindex: -1, class: "main" });

  replace(
    root,
    h("a", { class: "skip-link", href: "#main", onclick: (e: Event) => { e.preventDefault(); main.focus(); } }, "Skip to content"),
    h(
      "div",
      { class: "shell" },
      h(
        "header",
        { class: "topbar" },
        h("a", { href: "#/dashboard", class: "brand", "aria-label": "MetaClaw dashboard" }, logo(), h("span", null, "MetaClaw")),
        h("div", { class: "topbar-right" }, paused, health.el, live, themeButton()),
      ),
      nav,
      h("div", { class: "content" }, banner, main),
    ),
    toastHost(),
  );

  async function refreshStatus(): Promise<void> {
    try {
      const st: Status = await api.status(abort.signal);
      app.status = st;
      const n = st.candidates_pending;
      reviewCount.hidden = n === 0;
      reviewCount.textContent = String(n);
      const a = nav.querySelector('a[data-route="review"]')!;
      a.setAttribute("aria-label", n > 0 ? `Review, ${n} waiting` : "Review");
      paused.hidden = !st.learning_paused;
      health.paint(st.health ?? null);
    } catch (e) {
      if ((e as Error).name === "AbortError") return;
    }
  }

  // The Live badge is the real connection: the event stream open AND the API answering. When the
  // engine comes back after being away, the current view is rebuilt from fresh data.
  let streamOpen = false;
  let answering = true;
  let wasAway = false;
  function paintLive(): void {
    const state = !answering ? "down" : streamOpen ? "live" : "wait";
    live.className = `conn conn-${state}`;
    live.textContent = state === "live" ? "Live" : state === "down" ? "Disconnected" : "Reconnecting…";
    // Health last heard from an engine that does not answer is stale: the pill waits for it.
    if (state === "down") health.paint(null);
    if (state !== "live") wasAway = true;
    else if (wasAway) {
      wasAway = false;
      rerender();
    }
  }

  api.onReachability = (ok) => {
    if (answering !== ok) {
      answering = ok;
      paintLive();
    }
    banner.hidden = ok;
    if (!ok) replace(banner, h("strong", null, "MetaClaw is not reachable. "), `Is \`metaclaw serve\` running at ${api.base || location.origin}? Retrying…`);
  };

  // Engine events: fan out to views; the status badge follows candidate and generation events.
  void api.events(
    (e: EngineEvent) => {
      for (const l of listeners) l(e);
      if (e.type.startsWith("candidate_") || e.type === "generation_changed" || e.type === "scheduler_changed" || e.type.startsWith("learning_")) void refreshStatus();
      // Health changes: the pill follows at once.
      else if (e.type === "upstream_failed" || e.type === "judge_failed" || e.type === "evolver_ran" || e.type === "calendar_refreshed" || e.type === "train_run_ended") void refreshStatus();
      if (e.type === "candidate_proposed") toast(`New skill to review: ${e.name}`, "info");
    },
    (on) => {
      streamOpen = on;
      // The stream is back: ask the API too (it says whether the engine really answers).
      if (on !== answering) void refreshStatus();
      paintLive();
    },
    abort.signal,
  );
  void refreshStatus();
  const timer = setInterval(() => void refreshStatus(), 5000);

  let current: { id: string; view: View } | null = null;
  function route(): void {
    const raw = location.hash.replace(/^#\/?/, "");
    const parts = raw.split("/").filter(Boolean).map(decodeURIComponent);
    const r = ROUTES.find((x) => x.id === parts[0]) ?? ROUTES[0];
    const params = parts.slice(1);
    for (const a of nav.querySelectorAll("a")) {
      if (a.dataset.route === r.id) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    if (current && current.id === r.id && current.view.update) {
      current.view.update(params);
      return;
    }
    const focusMain = current !== null;
    current?.view.destroy?.();
    const view = r.make(app, params);
    current = { id: r.id, view };
    replace(main, view.el);
    document.title = `${r.label} · MetaClaw`;
    if (focusMain) main.focus({ preventScroll: false });
  }
  /** Rebuilds the current view in place (fresh data), without moving focus. */
  function rerender(): void {
    if (!current) return;
    const id = current.id;
    const params = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent).slice(1);
    current.view.destroy?.();
    const view = (ROUTES.find((x) => x.id === id) ?? ROUTES[0]).make(app, params);
    current = { id, view };
    replace(main, view.el);
    void refreshStatus();
  }
  addEventListener("hashchange", route);
  route();
  // First start: the setup guide, until it is done or dismissed (only if no other page was asked for meanwhile).
  const bootHash = location.hash;
  if (!/^#\/./.test(bootHash))
    void setupStatus(api, abort.signal).then(
      (st) => {
        if (st.state === "open" && location.hash === bootHash) app.navigate("#/setup");
      },
      () => undefined,
    );

  return () => {
    abort.abort();
    clearInterval(timer);
    health.destroy();
    removeEventListener("hashchange", route);
    current?.view.destroy?.();
  };
}

function logo(): SVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 32 32");
  svg.setAttribute("width", "26");
  svg.setAttribute("height", "26");
  svg.setAttribute("aria-hidden", "true");
  const p = document.createElementNS(ns, "path");
  p.setAttribute("d", "M6 25 L11 7 L16 19 L21 7 L26 25");
  p.setAttribute("fill", "none");
  p.setAttribute("stroke", "currentColor");
  p.setAttribute("stroke-width", "3");
  p.setAttribute("stroke-linecap", "round");
  p.setAttribute("stroke-linejoin", "round");
  const c = document.createElementNS(ns, "circle");
  c.setAttribute("cx", "16");
  c.setAttribute("cy", "26");
  c.setAttribute("r", "2.5");
  c.setAttribute("fill", "var(--accent)");
  svg.append(p, c);
  return svg;
}

// Surface unexpected errors instead of failing silently.
addEventListener("unhandledrejection", (ev) => {
  const e = ev.reason;
  if (e instanceof ApiError || e instanceof Error) toast(e.message, "error");
});

start();
