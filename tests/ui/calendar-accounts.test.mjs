// Calendars: the add-account flows in the browser against real backends. A CalDAV account on a
// real Radicale server (started here on loopback, a user with a plain htpasswd password, two
// calendars seeded over CalDAV): a wrong password is refused next to the form, connecting lists
// the calendars with their colours and switches, a calendar switched off leaves the week, and
// the account is removed after a confirmation. Google and Microsoft sign-in against the
// stand-ins (`metaclaw-standin --google` / `--microsoft`, configured as [calendar.google] and
// [calendar.microsoft]): the browser follows the provider's page in a new tab to the engine's
// loopback listener; waiting can be cancelled; without a client id the engine's message shows
// with the config hint.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { BIN, api, openBrowser, openUi, screenshot, startStack, unlabelled, waitFor } from "./harness.mjs";

const VENV = process.env.METACLAW_VENV ?? path.join(os.homedir(), ".cache/metaclaw/venv");
const RADICALE = path.join(VENV, "bin/radicale");
const USER = "alice";
const PASSWORD = "app-specific-7f3k";

let rad;
let google;
let microsoft;
let stack;
let browser;
let page;

/** A free loopback port (Radicale takes no port 0). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Radicale on loopback with one htpasswd user; resolves once it listens. */
async function startRadicale(dir) {
  assert.ok(existsSync(RADICALE), `Radicale is missing at ${RADICALE}: run ./scripts/test.sh once (it installs the test venv), or pip install radicale into ${VENV}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "users"), `${USER}:${PASSWORD}\n`);
  let lastError = null;
  // The port is free when picked; another program may take it before Radicale binds: try again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const cfg = path.join(dir, "config");
    writeFileSync(
      cfg,
      [
        "[server]",
        `hosts = 127.0.0.1:${port}`,
        "[auth]",
        "type = htpasswd",
        `htpasswd_filename = ${path.join(dir, "users")}`,
        "htpasswd_encryption = plain",
        "delay = 0",
        "[storage]",
        `filesystem_folder = ${path.join(dir, "collections")}`,
        "[rights]",
        "type = owner_only",
        "[logging]",
        "level = info",
        "",
      ].join("\n"),
    );
    const proc = spawn(RADICALE, ["--config", cfg], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    try {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`radicale did not start in 20 s:\n${log.slice(-2000)}`)), 20_000);
        proc.stderr.on("data", (d) => {
          log += d;
          if (log.length > 100_000) log = log.slice(-50_000);
          if (log.includes("Listening on")) {
            clearTimeout(timer);
            resolve();
          }
        });
        proc.on("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`radicale exited with ${code}:\n${log.slice(-2000)}`));
        });
      });
    } catch (e) {
      lastError = e;
      proc.kill("SIGKILL");
      continue;
    }
    const url = `http://127.0.0.1:${port}`;
    return {
      url,
      log: () => log,
      stop: () =>
        new Promise((resolve) => {
          if (proc.exitCode !== null) return resolve();
          proc.once("exit", () => resolve());
          proc.kill("SIGTERM");
        }),
    };
  }
  throw lastError;
}

/** One CalDAV request as `alice`. */
async function dav(method, p, body, headers = {}) {
  const r = await fetch(`${rad.url}${p}`, {
    method,
    headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`, "content-type": "application/xml; charset=utf-8", ...headers },
    body,
  });
  const text = await r.text();
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${p}: HTTP ${r.status} ${text.slice(0, 300)}`);
  return text;
}

async function mkcalendar(slug, name, color) {
  await dav(
    "MKCALENDAR",
    `/${USER}/${slug}/`,
    `<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="http://apple.com/ns/ical/">
  <D:set><D:prop>
    <D:displayname>${name}</D:displayname>
    <A:calendar-color>${color}</A:calendar-color>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>`,
  );
}

const stamp = (ms) => new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");

/** A one-hour event tomorrow at `hour` (local time), in the coming week the view shows. */
async function putEvent(slug, uid, summary, hour) {
  const t = new Date();
  t.setDate(t.getDate() + 1);
  t.setHours(hour, 0, 0, 0);
  const ics = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//MetaClaw UI test//EN", "BEGIN:VEVENT", `UID:${uid}`, `DTSTAMP:${stamp(Date.now())}`, `DTSTART:${stamp(t.getTime())}`, `DTEND:${stamp(t.getTime() + 3_600_000)}`, `SUMMARY:${summary}`, "END:VEVENT", "END:VCALENDAR", ""].join("\r\n");
  await dav("PUT", `/${USER}/${slug}/${uid}.ics`, ics, { "content-type": "text/calendar; charset=utf-8" });
}

/** `metaclaw-standin --google` or `--microsoft`: resolves with its address once it listens. */
function startProviderStandin(flag) {
  return new Promise((resolve, reject) => {
    const proc = spawn(path.join(BIN, "metaclaw-standin"), [flag], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`metaclaw-standin ${flag} did not start in 20 s: ${err.slice(-2000)}`)), 20_000);
    proc.stderr.on("data", (d) => (err = (err + d).slice(-10_000)));
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1],
          stop: () =>
            new Promise((r) => {
              if (proc.exitCode !== null) return r();
              proc.once("exit", () => r());
              proc.kill("SIGTERM");
            }),
        });
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`metaclaw-standin ${flag} exited with ${code}: ${err.slice(-2000)}`));
    });
  });
}

before(async () => {
  google = await startProviderStandin("--google");
  microsoft = await startProviderStandin("--microsoft");
  stack = await startStack({
    learning: false,
    config: [
      "[calendar.google]",
      'client_id = "standin-client"',
      'client_secret = "standin-secret"',
      `auth_url = "${google.url}/o/oauth2/v2/auth"`,
      `token_url = "${google.url}/token"`,
      `revoke_url = "${google.url}/revoke"`,
      `api_url = "${google.url}/calendar/v3"`,
      "[calendar.microsoft]",
      'client_id = "standin-ms-client"',
      `auth_url = "${microsoft.url}/common/oauth2/v2.0/authorize"`,
      `token_url = "${microsoft.url}/common/oauth2/v2.0/token"`,
      `api_url = "${microsoft.url}/v1.0"`,
    ],
  });
  rad = await startRadicale(path.join(stack.dir, "radicale"));
  await mkcalendar("work", "Work", "#1E88E5FF");
  await mkcalendar("personal", "Personal", "#43A047FF");
  await putEvent("work", "review-1", "Design review", 10);
  await putEvent("personal", "dentist-1", "Dentist", 15);
  browser = await openBrowser();
  page = browser.page;
  await openUi(page, stack, "#/calendars");
  await page.getByRole("heading", { level: 1, name: "Calendars" }).waitFor();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  await rad?.stop();
  await google?.stop();
  await microsoft?.stop();
});

const davForm = () => page.getByRole("form", { name: "CalDAV account" });

test("the kinds of account are tabs the arrow keys move between; every control has a name", async () => {
  const first = page.getByRole("tab", { name: /CalDAV/ });
  assert.equal(await first.getAttribute("aria-selected"), "true", "CalDAV is the first kind");
  await first.focus();
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.getByRole("tab", { name: "Google" }).getAttribute("aria-selected"), "true");
  await page.getByRole("button", { name: "Sign in with Google" }).waitFor();
  await page.keyboard.press("ArrowRight");
  await page.getByRole("button", { name: "Sign in with Microsoft" }).waitFor();
  await page.keyboard.press("End");
  await page.locator("#cal-source").waitFor();
  await page.keyboard.press("Home");
  await davForm().waitFor();
  assert.deepEqual(await unlabelled(page), []);
  // The password field says where app-specific passwords are made.
  const hint = await page.locator("#cal-dav-password").getAttribute("aria-describedby");
  assert.match(await page.locator(`#${hint}`).textContent(), /app-specific password.*iCloud.*Fastmail.*Nextcloud/s);
  assert.equal(await page.locator("#cal-dav-password").getAttribute("type"), "password");
  // What counts as busy, with the engine's tentative setting.
  await page.getByText("What counts as busy").click();
  const rules = page.locator(".busy-rules");
  await rules.getByText("calendar.tentative_busy = true").waitFor();
  assert.match(await rules.textContent(), /Declined|declined/);
});

test("CalDAV: missing fields, a server that is not CalDAV and a wrong password are refused next to the form, focus on the field to fix; nothing is stored", async () => {
  await page.locator("#cal-dav-add").click();
  await davForm().getByRole("alert").filter({ hasText: "Enter the server or your email address." }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), "cal-dav-server");
  await page.locator("#cal-dav-server").fill(rad.url);
  await page.locator("#cal-dav-user").fill(USER);
  await page.locator("#cal-dav-add").click();
  await davForm().getByRole("alert").filter({ hasText: "Enter the app-specific password." }).waitFor();
  // Not a CalDAV server (the LLM stand-in): the engine's words, and focus back on the server.
  await page.locator("#cal-dav-server").fill(stack.upstream);
  await page.locator("#cal-dav-password").fill(PASSWORD);
  await page.locator("#cal-dav-add").click();
  await davForm().getByRole("alert").filter({ hasText: "is not a CalDAV server" }).waitFor({ timeout: 20_000 });
  assert.equal(await page.evaluate(() => document.activeElement?.id), "cal-dav-server", "focus goes back to the server");
  await page.locator("#cal-dav-server").fill(rad.url);
  await page.locator("#cal-dav-password").fill("not-the-password");
  await page.locator("#cal-dav-add").click();
  // The engine's words (a 401 from the server), inside the form, not at the top of the page.
  const alert = davForm().getByRole("alert");
  await alert.filter({ hasText: /password/i }).waitFor({ timeout: 20_000 });
  assert.ok(!/Enter the/.test(await alert.textContent()), await alert.textContent());
  assert.equal(await page.evaluate(() => document.activeElement?.id), "cal-dav-password", "focus goes back to the password");
  assert.deepEqual((await api(stack, "GET", "/api/calendars")).json, [], "a failed add stores nothing");
  assert.deepEqual(page.errors, []);
});

test("CalDAV: connecting lists the calendars with their colours, own ones on, and moves focus to them", async () => {
  await page.locator("#cal-dav-password").fill(PASSWORD);
  await page.locator("#cal-dav-name").fill("Radicale");
  await page.locator("#cal-dav-add").click();
  const result = page.getByRole("region", { name: "Connected Radicale" });
  await result.waitFor({ timeout: 30_000 });
  assert.equal(await page.evaluate(() => document.activeElement?.id), "cal-connected-h", "focus moves to the new account's calendars");
  for (const [name, rgb] of [
    ["Work", "rgb(30, 136, 229)"],
    ["Personal", "rgb(67, 160, 71)"],
  ]) {
    const sw = result.getByRole("switch", { name });
    assert.equal(await sw.isChecked(), true, `${name} counts by default (the user's own calendar)`);
    const color = await result.locator(".cal-entry", { hasText: name }).locator(".swatch").evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.equal(color, rgb, `${name}'s colour from the server`);
  }
  // The form is empty again, the password first of all.
  assert.equal(await page.locator("#cal-dav-password").inputValue(), "");
  // The account in the list: its kind, user and server, last sync, and both meetings in the week.
  const acct = page.locator(".account", { hasText: "Radicale" });
  await acct.waitFor();
  const text = await acct.textContent();
  assert.match(text, /CalDAV/);
  assert.match(text, new RegExp(`${USER}.*127\\.0\\.0\\.1`));
  assert.match(text, /Synced \d+ s ago/);
  await page.locator(".week-busy", { hasText: "Design review" }).waitFor();
  await page.locator(".week-busy", { hasText: "Dentist" }).waitFor();
  const listed = (await api(stack, "GET", "/api/calendars")).json;
  assert.equal(listed.length, 1);
  assert.equal(listed[0].kind, "caldav");
  assert.equal(listed[0].state, "ok");
  assert.deepEqual(listed[0].calendars.map((c) => [c.name, c.included]).sort(), [
    ["Personal", true],
    ["Work", true],
  ]);
  await result.getByRole("button", { name: "Done" }).click();
  await result.waitFor({ state: "detached" });
  assert.equal(await page.evaluate(() => document.activeElement?.closest(".account")?.textContent.includes("Radicale")), true, "Done moves focus to the account in the list");
  assert.deepEqual(page.errors, []);
});

test("a calendar switched off in the list stops counting: its meeting leaves the week, focus stays", async () => {
  const acct = page.locator(".account", { hasText: "Radicale" });
  const personal = acct.getByRole("switch", { name: "Personal" });
  await personal.focus();
  await page.keyboard.press("Space");
  await page.locator(".toast", { hasText: "Personal no longer counts as busy" }).waitFor();
  await page.locator(".week-busy", { hasText: "Dentist" }).waitFor({ state: "detached" });
  await page.locator(".week-busy", { hasText: "Design review" }).waitFor();
  const cal = await waitFor("Personal excluded", async () => {
    const c = (await api(stack, "GET", "/api/calendars")).json[0].calendars.find((x) => x.name === "Personal");
    return c.included === false ? c : null;
  });
  assert.equal(cal.included, false);
  // The list was drawn again; the keyboard focus is still on the same switch, now off.
  await waitFor("focus back on the switch", () => page.evaluate(() => document.activeElement?.getAttribute("role") === "switch" && document.activeElement.closest(".cal-entry")?.textContent.includes("Personal")));
  assert.equal(await acct.getByRole("switch", { name: "Personal" }).isChecked(), false);
  // Test now reads every included calendar.
  await acct.getByRole("button", { name: "Test Radicale" }).click();
  await acct.locator(".test-result", { hasText: /Works: \d+ event/ }).waitFor({ timeout: 20_000 });
});

test("remove asks first; then the account and its busy time are gone", async () => {
  await page.getByRole("button", { name: "Remove Radicale" }).click();
  const dlg = page.getByRole("dialog");
  assert.match(await dlg.textContent(), /password/);
  await dlg.getByRole("button", { name: "Remove" }).click();
  await page.getByText("No calendars yet").waitFor();
  await page.locator(".week-busy", { hasText: "Design review" }).waitFor({ state: "detached" });
  assert.deepEqual((await api(stack, "GET", "/api/calendars")).json, []);
  assert.deepEqual(page.errors, []);
});

test("Google: Sign in opens Google's page in a new tab; the account arrives with its calendars, own ones on", async () => {
  await page.getByRole("tab", { name: "Google" }).click();
  const popup = page.waitForEvent("popup");
  await page.getByRole("button", { name: "Sign in with Google" }).click();
  // The browser plays the user: the stand-in's consent page sends it to the engine's listener.
  const tab = await popup;
  await tab.getByText("You can close this tab").waitFor();
  await tab.close();
  const result = page.getByRole("region", { name: "Connected Google (ada@example.com)" });
  await result.waitFor({ timeout: 20_000 });
  assert.equal(await page.evaluate(() => document.activeElement?.id), "cal-connected-h", "focus moves to the new account's calendars");
  for (const [name, on] of [
    ["ada@example.com", true],
    ["Side project", true],
    ["Holidays in United States", false],
    ["Grace", false],
  ]) {
    assert.equal(await result.getByRole("switch", { name, exact: true }).isChecked(), on, `${name} ${on ? "counts" : "does not count"} by default`);
  }
  assert.match(await result.locator(".cal-entry", { hasText: "Holidays" }).textContent(), /shared or subscribed/);
  // Ticking one right there counts it.
  await result.getByRole("switch", { name: "Holidays in United States" }).check();
  await page.locator(".toast", { hasText: "Holidays in United States counts as busy" }).waitFor();
  const acct = (await api(stack, "GET", "/api/calendars")).json.find((a) => a.kind === "google");
  assert.equal(acct.user, "ada@example.com");
  assert.equal(acct.calendars.find((c) => c.name === "Holidays in United States").included, true);
  const row = page.locator(".account", { hasText: "Google (ada@example.com)" });
  assert.match(await row.textContent(), /Google.*ada@example\.com.*Synced \d+ s ago/s);
  assert.equal(await row.getByRole("switch", { name: "Holidays in United States" }).isChecked(), true, "the list shows the same ticks");
  // And the other way: a switch flipped in the list shows in the new account's switches.
  await row.getByRole("switch", { name: "Side project" }).uncheck();
  await page.locator(".toast", { hasText: "Side project no longer counts as busy" }).waitFor();
  await waitFor("the new account's switch follows the list", async () => !(await result.getByRole("switch", { name: "Side project" }).isChecked()));
  // The new account's calendars and the list, light and dark, as test artifacts.
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await waitFor(`the ${scheme} theme`, () => page.evaluate((t) => document.documentElement.dataset.theme === t, scheme));
    await screenshot(page, `calendar-accounts-${scheme}`);
  }
  await page.emulateMedia({ colorScheme: "light" });
  await result.getByRole("button", { name: "Done" }).click();
  assert.deepEqual(page.errors, []);
});

test("Google: a revoked sign-in asks to sign in again; signing in again revives the same account with its ticks", async () => {
  const before = (await api(stack, "GET", "/api/calendars")).json.find((a) => a.kind === "google");
  // The user removes MetaClaw's access in their Google account settings.
  assert.equal((await fetch(`${google.url}/standin/revoke-all`, { method: "POST" })).status, 200);
  const row = page.locator(`.account[data-id="${before.id}"]`);
  await row.getByRole("button", { name: `Test ${before.name}` }).click();
  await page.locator(`.account[data-id="${before.id}"][data-state="sign_in_again"]`).waitFor();
  assert.match(await row.textContent(), /Google no longer accepts MetaClaw's sign-in/);
  // Redrawn with a "Sign in again" button before it, the row keeps the focus on Test.
  await waitFor("focus on Test", () => page.evaluate((id) => document.activeElement?.id === `cal-test-${id}`, before.id));
  const popup = page.waitForEvent("popup");
  await row.getByRole("button", { name: `Sign in again to ${before.name}` }).click();
  const tab = await popup;
  await tab.getByText("You can close this tab").waitFor();
  await tab.close();
  await row.getByText("Signed in again as ada@example.com.").waitFor({ timeout: 20_000 });
  await page.locator(`.account[data-id="${before.id}"][data-state="ok"]`).waitFor();
  const signedIn = (await api(stack, "GET", "/api/calendars")).json.filter((a) => a.kind === "google");
  assert.deepEqual(
    signedIn.map((a) => [a.id, a.state]),
    [[before.id, "ok"]],
    "the same account, working again (no second account for the same address)",
  );
  assert.equal(signedIn[0].calendars.find((c) => c.name === "Holidays in United States").included, true, "the ticks the user made are kept");
  assert.deepEqual(page.errors, []);
});

test("Microsoft: while the user has not signed in, waiting shows with Cancel; Cancel ends the engine's flow", async () => {
  // The user sits on Microsoft's sign-in page without finishing.
  const authorize = `${microsoft.url}/common/oauth2/v2.0/authorize**`;
  await browser.context.route(authorize, (r) => r.fulfill({ contentType: "text/html", body: "<!doctype html><title>Sign in</title><p>Pick an account</p>" }));
  try {
    await page.getByRole("tab", { name: "Microsoft 365 / Outlook.com" }).click();
    const started = page.waitForResponse((r) => r.url().endsWith("/api/calendars/signin") && r.request().method() === "POST");
    const popup = page.waitForEvent("popup");
    await page.getByRole("button", { name: "Sign in with Microsoft" }).click();
    const { flow } = await (await started).json();
    const tab = await popup;
    await page.getByRole("status").filter({ hasText: "Waiting for you to sign in with Microsoft…" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Sign in with Microsoft" }).isDisabled(), true, "one sign-in at a time");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Cancel", "focus on Cancel while waiting");
    assert.equal((await api(stack, "GET", `/api/calendars/signin/${flow}`)).json.state, "waiting");
    await page.keyboard.press("Enter");
    await page.getByText("Sign-in cancelled.").waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), "cal-signin-microsoft", "focus back on the sign-in button");
    assert.equal((await api(stack, "GET", `/api/calendars/signin/${flow}`)).status, 404, "the engine forgot the flow");
    await tab.close();
  } finally {
    await browser.context.unroute(authorize);
  }
  // Signing in for real from the same place.
  const popup = page.waitForEvent("popup");
  await page.keyboard.press("Enter");
  const tab = await popup;
  await tab.getByText("You can close this tab").waitFor();
  await tab.close();
  const result = page.getByRole("region", { name: /^Connected Microsoft/ });
  await result.waitFor({ timeout: 20_000 });
  const acct = (await api(stack, "GET", "/api/calendars")).json.find((a) => a.kind === "microsoft");
  assert.ok(acct, "the Microsoft account is listed");
  assert.ok(acct.calendars.some((c) => c.included), "its own calendar counts");
  assert.equal(await page.locator(".account", { hasText: acct.name }).locator(".kind-icon").count(), 1, "with its kind icon");
  assert.deepEqual(page.errors, []);
});

test("removing a signed-in account asks first and says the access is revoked", async () => {
  const name = (await api(stack, "GET", "/api/calendars")).json.find((a) => a.kind === "google").name;
  await page.getByRole("button", { name: `Remove ${name}` }).click();
  const dlg = page.getByRole("dialog");
  assert.match(await dlg.textContent(), /asks Google to revoke MetaClaw's access/);
  await dlg.getByRole("button", { name: "Remove" }).click();
  await page.locator(".account", { hasText: name }).waitFor({ state: "detached" });
  assert.equal((await api(stack, "GET", "/api/calendars")).json.some((a) => a.kind === "google"), false);
});

test("without a client id, the engine's message shows next to the button with the config hint", async () => {
  const bare = await startStack({ learning: false });
  try {
    await openUi(page, bare, "#/calendars");
    await page.getByRole("tab", { name: "Google" }).click();
    await page.getByRole("button", { name: "Sign in with Google" }).click();
    const said = await api(bare, "POST", "/api/calendars/signin", { provider: "google" });
    assert.equal(said.status, 400);
    const alert = page.locator(".signin-end[role=alert]");
    await alert.waitFor();
    const text = await alert.textContent();
    assert.ok(text.includes(said.json.error.message), `the engine's words as they are: ${text}`);
    assert.match(text, /\[calendar\.google\]/);
    assert.equal(await page.getByRole("button", { name: "Sign in with Google" }).isDisabled(), false);
    assert.equal(await page.evaluate(() => document.activeElement?.id), "cal-signin-google", "focus back on the sign-in button");
    assert.deepEqual(page.errors, []);
  } finally {
    await bare.stop();
  }
});
