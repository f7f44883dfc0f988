// Calendars: add a local .ics file (the "ICS address or file" kind of the add-account flow), test
// it, see its busy blocks in the week grid, rename, disable and remove it; a bad source shows the
// engine's error next to the form, and a feed with problems the engine's notes.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { api, openBrowser, openUi, startStack, waitFor } from "./harness.mjs";

let stack;
let browser;
let page;
let ics;

const stamp = (ms) => new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");

before(async () => {
  stack = await startStack({ learning: false });
  const t = new Date();
  t.setDate(t.getDate() + 1);
  t.setHours(10, 0, 0, 0);
  ics = path.join(stack.dir, "work.ics");
  writeFileSync(
    ics,
    ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//MetaClaw UI test//EN", "BEGIN:VEVENT", "UID:planning-1@test", `DTSTAMP:${stamp(Date.now())}`, `DTSTART:${stamp(t.getTime())}`, `DTEND:${stamp(t.getTime() + 3_600_000)}`, "SUMMARY:Sprint planning", "END:VEVENT", "END:VCALENDAR", ""].join("\r\n"),
  );
  browser = await openBrowser();
  page = browser.page;
  await openUi(page, stack, "#/calendars");
  await page.getByRole("heading", { level: 1, name: "Calendars" }).waitFor();
  await page.getByRole("tab", { name: "ICS address or file" }).click();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test("an empty source is refused in the form; a bad one shows the engine's error", async () => {
  await page.locator("#cal-add").click();
  await page.getByText("Enter a calendar address or file path.").waitFor();
  await page.locator("#cal-source").fill(path.join(stack.dir, "missing.ics"));
  await page.locator("#cal-add").click();
  await page.locator("[role=alert].error-text").waitFor();
  assert.ok(((await page.locator("[role=alert].error-text").textContent()) ?? "").length > 5);
});

test("add a local .ics file; its meeting shows in the week", async () => {
  await page.locator("#cal-source").fill(ics);
  await page.locator("#cal-name").fill("Work");
  await page.locator("#cal-add").click();
  await page.locator(".toast", { hasText: "Added Work" }).waitFor();
  const acct = page.locator(".account", { hasText: "Work" });
  await acct.waitFor();
  assert.match(await acct.textContent(), /work\.ics/);
  await page.locator(".week-busy", { hasText: "Sprint planning" }).waitFor();
  await acct.getByRole("button", { name: "Test Work" }).click();
  await acct.locator(".test-result", { hasText: /Works: 1 event/ }).waitFor();
});

test("rename, disable and remove", async () => {
  await page.getByRole("button", { name: "Rename Work" }).click();
  await page.locator("#cal-rename").fill("Office");
  await page.getByRole("dialog").getByRole("button", { name: "Rename" }).click();
  await page.locator(".account", { hasText: "Office" }).waitFor();
  await page.locator(".account").getByRole("switch", { name: "Enabled" }).uncheck();
  await page.locator(".toast", { hasText: "Office disabled" }).waitFor();
  const list = (await api(stack, "GET", "/api/calendars")).json;
  assert.equal(list[0].enabled, false);
  assert.equal(list[0].name, "Office");
  await page.getByRole("button", { name: "Remove Office" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Remove" }).click();
  await page.getByText("No calendars yet").waitFor();
  assert.deepEqual((await api(stack, "GET", "/api/calendars")).json, []);
});

test("a feed added with problems says so next to the form (unknown time zone read in yours)", async () => {
  const mars = path.join(stack.dir, "mars.ics");
  writeFileSync(
    mars,
    ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//MetaClaw UI test//EN", "BEGIN:VEVENT", "UID:olympus-1@test", `DTSTAMP:${stamp(Date.now())}`, "DTSTART;TZID=Mars/Olympus_Mons:20261208T100000", "DTEND;TZID=Mars/Olympus_Mons:20261208T110000", "SUMMARY:Rover check", "END:VEVENT", "END:VCALENDAR", ""].join("\r\n"),
  );
  await page.locator("#cal-source").fill(mars);
  await page.locator("#cal-add").click();
  const note = page.locator("form[aria-label='ICS address or file'] + .form-result");
  await note.getByText("Added mars, with notes:").waitFor();
  assert.match(await note.textContent(), /unknown time zone "Mars\/Olympus_Mons": its times are read in your own zone/);
  const added = (await api(stack, "GET", "/api/calendars")).json;
  assert.equal(added.length, 1);
  await waitFor("focus on the new account", () => page.evaluate((id) => document.activeElement?.closest(".account")?.dataset.id === String(id), added[0].id));
  assert.equal((await api(stack, "DELETE", `/api/calendars/${added[0].id}`)).status, 204);
});
