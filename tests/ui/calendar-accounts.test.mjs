// Calendars: the add-account flows in the browser against real backends. A CalDAV account on a
// real Radicale server (started here on loopback, a user with a plain htpasswd password, two
// calendars seeded over CalDAV): a wrong password is refused next to the form, connecting lists
// the calendars with their colours and switches, a calendar switched off leaves the week, and
// the account is removed after a confirmation.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { api, openBrowser, openUi, startStack, unlabelled, waitFor } from "./harness.mjs";

const VENV = process.env.METACLAW_VENV ?? path.join(os.homedir(), ".cache/metaclaw/venv");
const RADICALE = path.join(VENV, "bin/radicale");
const USER = "alice";
const PASSWORD = "app-specific-7f3k";

let rad;
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

before(async () => {
  stack = await startStack({ learning: false });
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
});

test("CalDAV: missing fields and a wrong password are refused next to the form; nothing is stored", async () => {
  await page.locator("#cal-dav-add").click();
  await davForm().getByRole("alert").filter({ hasText: "Enter the server or your email address." }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), "cal-dav-server");
  await page.locator("#cal-dav-server").fill(rad.url);
  await page.locator("#cal-dav-user").fill(USER);
  await page.locator("#cal-dav-add").click();
  await davForm().getByRole("alert").filter({ hasText: "Enter the app-specific password." }).waitFor();
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
