// Google and Microsoft sign-in from the Calendars view: start a flow, open the provider's page in
// the browser (the desktop shell hands window.open to the system browser), poll until it is done.

import { ApiError } from "../api/client";
import type { App } from "../app";
import type { CalendarAccount, SignInProvider } from "../api/types";
import { h, replace } from "../lib/dom";
import { errorMessage, loading } from "../lib/ui";

export const PROVIDER_NAME: Record<SignInProvider, string> = { google: "Google", microsoft: "Microsoft" };

/** The focus went nowhere: the control that had it was disabled, or removed from `area`. */
export function focusLost(area: HTMLElement): boolean {
  const a = document.activeElement;
  return !a || a === document.body || area.contains(a);
}

/** How often the flow is polled while the user signs in. */
const POLL_MS = 1000;

export interface SignInOptions {
  provider: SignInProvider;
  /** The account's name (a new account's, or the one signing in again). */
  name?: string;
  /** Where the waiting state, errors and the Cancel button are shown. */
  host: HTMLElement;
  /** The flow finished with an account. */
  onDone: (account: CalendarAccount) => void;
  /** The flow ended without an account (failed or cancelled; the message is in `host`). The
   * caller's button starts a new one; it should take the focus, which was on Cancel. */
  onEnd?: () => void;
}

export interface SignIn {
  /** Stops polling (the view is left); the engine's flow runs on, so finishing the sign-in in the
   * browser still adds the account. */
  stop(): void;
  /** Stops polling and cancels the engine's flow (a new sign-in replaces this one). */
  cancel(): void;
  /** Whether the flow is still running here. */
  readonly active: boolean;
}

/** The provider's page, when the engine gives an http(s) address (never another scheme). */
function webUrl(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    return null;
  }
}

/**
 * Runs one sign-in into `opts.host`: "Starting sign-in…", then "Waiting for you to sign in…
 * [Cancel]" with a link to the sign-in page, polling the flow every second until it is done,
 * fails, is cancelled or `stop()` is called. Must be called from a click (the browser tab opens
 * with that gesture).
 */
export function startSignIn(app: App, opts: SignInOptions): SignIn {
  const who = PROVIDER_NAME[opts.provider];
  const abort = new AbortController();
  let active = true;
  let flow: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const stop = () => {
    active = false;
    abort.abort();
    if (timer) clearTimeout(timer);
  };

  const ended = (message: string, hint?: string) => {
    stop();
    replace(opts.host, h("div", { class: "signin-end", role: "alert" }, h("p", { class: "error-text" }, message), hint ? h("p", { class: "hint" }, hint) : null));
    opts.onEnd?.();
  };

  const cancel = async () => {
    stop();
    if (flow) await app.api.cancelSignIn(flow).catch(() => undefined);
    replace(opts.host, h("p", { class: "muted", role: "status" }, "Sign-in cancelled."));
    opts.onEnd?.();
  };

  // Each step checks the signal it started with: a stale answer after Cancel is dropped.
  const poll = async () => {
    const signal = abort.signal;
    if (signal.aborted || !flow) return;
    try {
      const st = await app.api.signInStatus(flow, signal);
      if (signal.aborted) return;
      if (st.state === "done" && st.account) {
        stop();
        replace(opts.host);
        opts.onDone(st.account);
        return;
      }
      if (st.state === "failed" || st.state === "done") {
        ended(st.error ?? `${who} sign-in did not finish.`);
        return;
      }
    } catch (e) {
      if (signal.aborted) return;
      // The engine restarting or a blip: keep waiting. A flow it no longer knows is over.
      if (e instanceof ApiError && !e.unreachable && e.status < 500) {
        ended(e.status === 404 ? "This sign-in has expired. Start it again." : errorMessage(e));
        return;
      }
    }
    timer = setTimeout(() => void poll(), POLL_MS);
  };

  const begin = async () => {
    const signal = abort.signal;
    replace(opts.host, loading(`Starting ${who} sign-in`));
    try {
      const start = await app.api.signIn({ provider: opts.provider, name: opts.name || undefined });
      if (signal.aborted) {
        await app.api.cancelSignIn(start.flow).catch(() => undefined);
        return;
      }
      flow = start.flow;
      const url = webUrl(start.url);
      if (!url) {
        ended(`The engine gave a sign-in address that is not a web page: ${start.url}`);
        void app.api.cancelSignIn(start.flow).catch(() => undefined);
        return;
      }
      // A tab opens only while the click still counts as the user's: browsers and the desktop
      // shell's WebKit may refuse it after the engine's answer (the shell hands every new window
      // to the system browser and answers null). Then the page is one press away, focused.
      const tab = window.open(url, "_blank");
      try {
        // Still about:blank (same origin) at this point: the provider's page gets no handle back.
        if (tab) tab.opener = null;
      } catch {
        /* already elsewhere: nothing to cut */
      }
      const cancelBtn = h("button", { type: "button", class: "btn btn-small", onclick: () => void cancel() }, "Cancel");
      const link = h("a", { href: url, target: "_blank", rel: "noopener noreferrer", class: tab ? null : "btn btn-primary btn-small signin-open" }, `Open ${who}'s sign-in page`);
      replace(
        opts.host,
        h(
          "div",
          { class: "signin-wait" },
          h("p", { class: "signin-status", role: "status", "aria-live": "polite" }, h("span", { class: "spinner", "aria-hidden": "true" }), `Waiting for you to sign in with ${who}…`),
          tab ? null : link,
          cancelBtn,
          tab
            ? h("p", { class: "hint" }, "Finish in the browser tab that opened; MetaClaw asks only to read your calendars. No tab? ", link, ".")
            : h("p", { class: "hint" }, `Sign in on ${who}'s page in your browser; MetaClaw asks only to read your calendars and waits here.`),
        ),
      );
      (tab ? cancelBtn : link).focus();
      timer = setTimeout(() => void poll(), POLL_MS);
    } catch (e) {
      if (signal.aborted) return;
      const noClient = e instanceof ApiError && e.status === 400 && /client.?id/i.test(e.message);
      ended(
        errorMessage(e),
        noClient
          ? `Sign-in with ${who} needs an OAuth client id registered for MetaClaw: set client_id under [calendar.${opts.provider}] in config.toml (the README's Calendars section says how to register one), or add the calendar as a CalDAV account or ICS address instead.`
          : undefined,
      );
    }
  };

  const handle: SignIn = {
    stop,
    cancel: () => {
      const f = active ? flow : null;
      stop();
      if (f) void app.api.cancelSignIn(f).catch(() => undefined);
    },
    get active() {
      return active;
    },
  };
  void begin();
  return handle;
}
