// Keyboard: skip link, arrow keys in the navigation and tab lists, every control named, focus
// visible, dialogs close with Escape.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { closeSession, openSession, unlabelled } from "./harness.mjs";

let stack;
let browser;
let page;

before(async () => ({ stack, browser, page } = await openSession({ route: "#/dashboard", heading: "Dashboard" })));
after(() => closeSession({ stack, browser }));

const active = () => page.evaluate(() => ({ id: document.activeElement?.id, text: document.activeElement?.textContent?.trim(), route: document.activeElement?.getAttribute("data-route"), role: document.activeElement?.getAttribute("role") }));

test("the skip link is first and jumps to the content", async () => {
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Dashboard" }).waitFor();
  await page.keyboard.press("Tab");
  assert.equal((await active()).text, "Skip to content");
  await page.keyboard.press("Enter");
  assert.equal((await active()).id, "main");
});

test("the navigation moves with arrow keys and opens with Enter", async () => {
  await page.locator('nav a[data-route="dashboard"]').focus();
  await page.keyboard.press("ArrowDown");
  assert.equal((await active()).route, "review");
  await page.keyboard.press("ArrowDown");
  assert.equal((await active()).route, "skills");
  await page.keyboard.press("End");
  assert.equal((await active()).route, "settings");
  await page.keyboard.press("Home");
  assert.equal((await active()).route, "dashboard");
  await page.keyboard.press("ArrowUp");
  assert.equal((await active()).route, "settings", "wraps around");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  assert.equal((await active()).route, "skills");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Skills" }).waitFor();
  assert.equal(await page.locator('nav a[aria-current="page"]').getAttribute("data-route"), "skills");
  // Only one nav link is in the Tab order.
  assert.equal(await page.locator('nav a[tabindex="0"]').count(), 1);
});

test("tab lists follow the WAI-ARIA pattern", async () => {
  await page.evaluate(() => (location.hash = "#/dashboard"));
  const tab = page.getByRole("tab", { name: "Environment" });
  await tab.focus();
  await page.keyboard.press("ArrowRight");
  let a = await active();
  assert.equal(a.role, "tab");
  assert.equal(a.text, "OpenAI SDK");
  assert.equal(await page.getByRole("tab", { name: "OpenAI SDK" }).getAttribute("aria-selected"), "true");
  assert.match(await page.getByRole("tabpanel").first().textContent(), /from openai import OpenAI/);
  await page.keyboard.press("End");
  a = await active();
  assert.equal(a.text, "curl");
  await page.keyboard.press("ArrowRight");
  assert.equal((await active()).text, "Environment");
});

test("lists move with arrow keys and focus is visible", async () => {
  await page.evaluate(() => (location.hash = "#/skills"));
  const first = page.locator("button.item").first();
  await first.waitFor();
  await first.focus();
  await page.keyboard.press("ArrowDown");
  const second = await page.locator("button.item").nth(1).getAttribute("data-name");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-name")), second);
  await page.keyboard.press("Enter");
  await page.locator("#skill-title", { hasText: second }).waitFor();
  // Keyboard focus draws an outline.
  await page.locator("#edit-skill").focus();
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Tab");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none");
});

test("dialogs take focus and close with Escape", async () => {
  await page.locator("#delete-skill").click();
  await page.getByRole("dialog").waitFor();
  assert.ok(await page.evaluate(() => document.activeElement?.closest("dialog") !== null), "focus is inside the dialog");
  await page.keyboard.press("Escape");
  await page.getByRole("dialog").waitFor({ state: "detached" });
});

test("every control on every view has an accessible name", async () => {
  for (const v of ["dashboard", "review", "skills", "history", "training", "turns", "calendars", "settings"]) {
    await page.evaluate((r) => (location.hash = r), `#/${v}`);
    await page.waitForTimeout(300);
    assert.deepEqual(await unlabelled(page), [], `unlabelled controls on ${v}`);
    assert.equal(await page.locator("h1").count(), 1, `one h1 on ${v}`);
  }
});
