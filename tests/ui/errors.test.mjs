// Error states: no token, a wrong token, the engine down, a route an older engine lacks, an
// engine error; none of them may leave a blank page.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DIST, closeSession, openBrowser, openSession } from "./harness.mjs";
import { startStatic } from "./serve.mjs";

let stack;
let browser;
let page;

before(async () => ({ stack, browser, page } = await openSession()));
after(() => closeSession({ stack, browser }));

test("without a token: a screen that says how to get the link", async () => {
  await page.goto(`${stack.ui}/`);
  await page.getByRole("heading", { level: 1, name: "Connect to MetaClaw" }).waitFor();
  const text = await page.locator("main").textContent();
  assert.match(text, /metaclaw ui/);
  assert.match(text, /admin\.token/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), "token-input");
  // Pasting the token connects.
  await page.locator("#token-input").fill(stack.token);
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByRole("heading", { level: 1, name: "Dashboard" }).waitFor();
});

test("a wrong token: told it was refused, asked again", async () => {
  await page.evaluate(() => sessionStorage.clear());
  await page.goto("about:blank");
  await page.goto(`${stack.ui}/#token=not-the-token`);
  await page.getByRole("heading", { level: 1, name: "Connect to MetaClaw" }).waitFor();
  assert.match(await page.locator("main [role=alert]").textContent(), /refused/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("metaclaw.token")), null, "a refused token is forgotten");
});

test("the engine is down: a banner and error states with Retry", async () => {
  // As in the desktop app: the shell names an engine address, and nothing answers there.
  await page.addInitScript((token) => (window.__METACLAW__ = { base: "http://127.0.0.1:9", token }), stack.token);
  await page.goto("about:blank");
  await page.goto(`${stack.ui}/`);
  await page.locator("#offline-banner", { hasText: "not reachable" }).waitFor();
  await page.locator(".state-error", { hasText: "not reachable" }).first().waitFor();
  assert.ok((await page.getByRole("button", { name: "Retry" }).count()) > 0);
  await page.evaluate(() => (location.hash = "#/skills"));
  await page.locator(".state-error").first().waitFor();
});

test("a gateway in front of a stopped engine counts as unreachable too", async () => {
  await browser.close();
  browser = await openBrowser();
  page = browser.page;
  const dead = await startStatic({ dist: DIST, target: "http://127.0.0.1:9" });
  try {
    await page.goto(`${dead.url}/#token=${stack.token}`);
    await page.locator("#offline-banner", { hasText: "not reachable" }).waitFor();
  } finally {
    await dead.close();
  }
});

test("a route this engine lacks says so instead of failing silently", async () => {
  await page.goto("about:blank");
  await page.route("**/api/calendars**", (r) => r.fulfill({ status: 404, body: "" }));
  await page.goto(`${stack.ui}/#token=${stack.token}`);
  await page.evaluate(() => (location.hash = "#/calendars"));
  const st = page.locator(".state-unsupported").first();
  await st.waitFor();
  assert.match(await st.textContent(), /\/api\/calendars/);
  await page.unroute("**/api/calendars**");
});

test("an engine error shows its message", async () => {
  await page.route("**/api/skills?*", (r) => r.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ error: { code: "store_error", message: "database error: disk I/O error" } }) }));
  await page.route("**/api/skills", (r) => r.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ error: { code: "store_error", message: "database error: disk I/O error" } }) }));
  await page.evaluate(() => (location.hash = "#/skills"));
  await page.locator(".state-error", { hasText: "disk I/O error" }).waitFor();
  await page.unroute("**/api/skills?*");
  await page.unroute("**/api/skills");
  await page.locator(".state-error").getByRole("button", { name: "Retry" }).click();
  await page.locator("button.item").first().waitFor();
});

test("skill validation problems from the engine are shown with their line", async () => {
  await page.evaluate(() => (location.hash = "#/skills"));
  await page.locator("#new-skill").click();
  await page.locator("#skill-name").fill("broken-skill");
  await page.locator("#skill-content").fill("---\nname: broken-skill\n---\n\nno description here\n");
  // The editor's own check flags it as you type.
  await page.locator("#skill-problems", { hasText: "description" }).waitFor();
  await page.locator("#save-skill").click();
  const err = page.locator("#save-error");
  await err.waitFor();
  assert.match(await err.textContent(), /not valid|description/i);
});
