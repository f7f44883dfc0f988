// The first-run guide, keyboard only, against the stand-in: it opens by itself on a fresh engine,
// Test explains a wrong address in plain words and then lists the stand-in's models, the guide
// writes the key and the config (judge and evolver on, the cheaper listed model suggested; sleep
// hours), marks itself done, and the next turn carries that key and is judged with no restart
// while the Dashboard's checklist ticks live. "Not now" dismisses it; Settings opens it again.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { api, closeSession, openBrowser, say, screenshot, startStack, unlabelled, waitFor } from "./harness.mjs";

// The engine inherits this HOME: the guide's Connect step never sees the real user's agents.
const userHome = mkdtempSync(path.join(os.tmpdir(), "metaclaw-ui-user-"));
process.env.HOME = userHome;

let stack;
let browser;
let page;

before(async () => {
  stack = await startStack({ learning: false, setupGuide: true });
  browser = await openBrowser();
  page = browser.page;
});
after(async () => {
  await closeSession({ stack, browser });
  rmSync(userHome, { recursive: true, force: true });
});

/** Presses Tab (Shift+Tab with `back`) until the element with `id` has focus. */
async function tabTo(id, back = false) {
  for (let i = 0; i < 40; i++) {
    if ((await page.evaluate(() => document.activeElement?.id)) === id) return;
    await page.keyboard.press(back ? "Shift+Tab" : "Tab");
  }
  throw new Error(`Tab never reached #${id}`);
}

async function typeInto(id, text) {
  await tabTo(id);
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Backspace");
  await page.keyboard.type(text);
}

test("a fresh engine opens the guide; the keyboard alone takes it from the key to the Dashboard's ticks", async () => {
  await page.goto(`${stack.ui}/#token=${stack.token}`);
  await page.getByRole("heading", { level: 1, name: "Set up MetaClaw" }).waitFor();
  assert.equal(await page.evaluate(() => location.hash), "#/setup");
  // The first step is shown once the guide has read the engine's presets, config and keys.
  await page.locator("#setup-step-h").waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), "setup-step-h", "the step's heading has focus");
  for (const p of ["OpenAI", "Anthropic", "OpenRouter", "Ollama", "LM Studio", "llama.cpp", "Another server"]) await page.getByLabel(new RegExp(`^${p}`)).waitFor();
  // The engine's upstream is the stand-in: "another server", its address filled in.
  assert.equal(await page.locator("#setup-provider-custom").isChecked(), true);
  assert.equal(await page.locator("#setup-base-url").inputValue(), `${stack.upstream}/v1`);
  assert.deepEqual(await unlabelled(page), [], "every control has a name");
  await screenshot(page, "setup-provider");

  // A wrong address first: explained in plain words, Next stays off.
  await typeInto("setup-base-url", "http://127.0.0.1:9/v1");
  await page.keyboard.press("Enter");
  const bad = page.locator('#setup-test-result [data-outcome="connection_refused"]');
  await bad.waitFor();
  assert.match(await bad.textContent(), /connection refused\)\. Is the server running, on that port\?/);
  assert.equal(await page.locator("#setup-next-a").isDisabled(), true);

  // The right one, with a key: the models are listed and Next takes the focus.
  await typeInto("setup-base-url", `${stack.upstream}/v1`);
  await typeInto("setup-key", "sk-guide-test-1234");
  await page.keyboard.press("Enter");
  const ok = page.locator('#setup-test-result [data-outcome="ok"]');
  await ok.waitFor();
  assert.match(await ok.textContent(), /lists 4 models/);
  await waitFor("focus on Next", async () => (await page.evaluate(() => document.activeElement?.id)) === "setup-next-a");
  await page.keyboard.press("Enter");

  // (b) The agent's model; the judge and the evolver get the cheaper sibling by default.
  await page.getByRole("heading", { level: 2, name: "2. Model" }).waitFor();
  assert.equal(await page.locator("#setup-learning").isChecked(), true, "learning on by default once a key works");
  await tabTo("setup-model");
  // Sorted by name: standin-follower, standin-judge, standin-large, standin-small.
  await page.keyboard.press("Home");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.locator("#setup-model").inputValue(), "standin-large");
  assert.equal(await page.locator("#setup-learning-model").inputValue(), "standin-small", "the cheaper sibling");
  // The stand-in judges only as `standin-judge`: pick it for learning (the second in the list).
  await tabTo("setup-learning-model");
  await page.keyboard.press("Home");
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.locator("#setup-learning-model").inputValue(), "standin-judge");
  await tabTo("setup-save");
  await page.keyboard.press("Enter");

  // (c) Connect: nothing to wire in this HOME; snippets are there.
  await page.getByRole("heading", { level: 2, name: "3. Connect your agent" }).waitFor();
  await page.locator(".setup-snippets summary").waitFor();
  await tabTo("setup-next-c");
  await page.keyboard.press("Enter");

  // (d) Sleep hours: one hour later with the arrow key, and the calendars link.
  await page.getByRole("heading", { level: 2, name: "4. Sleep hours" }).waitFor();
  await page.locator("#setup-calendars").waitFor();
  await tabTo("setup-sleep-from");
  await page.keyboard.press("ArrowUp");
  const from = await page.locator("#setup-sleep-from").inputValue();
  assert.notEqual(from, "23:00", "the arrow key changed the hour");
  await tabTo("setup-save-sleep");
  await page.keyboard.press("Enter");

  // (e) Done: the guide is closed for good, "key works" ticked.
  await page.getByRole("heading", { level: 2, name: "5. Done" }).waitFor();
  await page.locator('.setup-checklist li[data-step="key_works"][data-done="true"]').waitFor();
  assert.equal(await page.locator('.setup-checklist li[data-step="first_turn"]').getAttribute("data-done"), "false");
  await screenshot(page, "setup-done");
  await waitFor("the guide marked done", async () => (await api(stack, "GET", "/api/setup")).json.state === "done");

  // What the guide wrote: the config (upstream, judge, evolver, sleep) and the key (never in the config).
  const cfg = (await api(stack, "GET", "/api/config")).json.config;
  assert.equal(cfg.upstream.base_url, `${stack.upstream}/v1`);
  assert.equal(cfg.upstream.kind, "openai");
  assert.equal(cfg.judge.model, "standin-judge");
  assert.equal(cfg.evolve.model, "standin-judge");
  assert.equal(cfg.scheduler.sleep.default, `${from}-07:00`);
  assert.ok(!JSON.stringify(cfg).includes("sk-guide-test"), "the key is not in the config");
  const keys = (await api(stack, "GET", "/api/keys")).json;
  assert.equal(keys.find((k) => k.name === "upstream.default").set, true, "the key was stored");

  // The Dashboard's checklist ticks as the first turn comes through.
  await tabTo("setup-finish");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Dashboard" }).waitFor();
  const card = page.locator("#setup-checklist-card");
  await card.locator('li[data-step="key_works"][data-done="true"]').waitFor();
  assert.equal(await card.locator('li[data-step="first_turn"]').getAttribute("data-done"), "false");
  await say(stack, "guide-first", ["hello from the guide test"], true);
  await card.locator('li[data-step="first_turn"][data-done="true"]').waitFor();
  assert.deepEqual(page.errors, []);
});

// Needs settings that apply live (PUT /api/keys and PUT /api/config reach the running engine).
test("the turn after the guide went upstream with the key it stored and is judged, with no restart", async () => {
  const card = page.locator("#setup-checklist-card");
  const seen = await fetch(`${stack.upstream}/_standin/requests`).then((r) => r.json());
  const turn = seen.find((q) => q.path === "/v1/chat/completions" && JSON.stringify(q.body).includes("hello from the guide test"));
  const auth = turn.headers.find(([k]) => k === "authorization");
  assert.equal(auth?.[1], "Bearer sk-guide-test-1234", "the stored key reached the upstream");
  await card.locator('li[data-step="first_judged"][data-done="true"]').waitFor({ timeout: 30_000 });
  assert.deepEqual(page.errors, []);
});

test("Not now dismisses the guide; Settings opens it again", async () => {
  await api(stack, "PUT", "/api/setup", { action: "reopen" });
  await page.evaluate(() => (location.hash = "#/setup"));
  await page.getByRole("heading", { level: 1, name: "Set up MetaClaw" }).waitFor();
  await page.locator("#setup-later").focus();
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Dashboard" }).waitFor();
  assert.equal((await api(stack, "GET", "/api/setup")).json.state, "dismissed");

  // A new start no longer opens the guide.
  await page.goto(`${stack.ui}/#token=${stack.token}`);
  await page.getByRole("heading", { level: 1, name: "Dashboard" }).waitFor();
  await page.evaluate(() => (location.hash = "#/settings"));
  await page.getByRole("heading", { level: 1, name: "Settings" }).waitFor();
  await page.locator("#setup-again").focus();
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Set up MetaClaw" }).waitFor();
  assert.equal((await api(stack, "GET", "/api/setup")).json.state, "open");
  assert.deepEqual(page.errors, []);
});

test("the guide reads well in the dark theme", async () => {
  const dark = await openBrowser({ colorScheme: "dark" });
  try {
    await dark.page.goto(`${stack.ui}/#token=${stack.token}`);
    await dark.page.evaluate(() => (location.hash = "#/setup"));
    await dark.page.getByRole("heading", { level: 1, name: "Set up MetaClaw" }).waitFor();
    assert.equal(await dark.page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await screenshot(dark.page, "setup-provider-dark");
    assert.deepEqual(dark.page.errors, []);
  } finally {
    await dark.close();
  }
});

test("in the desktop app the guide offers start-at-login, wired to the shell's autostart; a stored key is tested as is", async () => {
  await api(stack, "PUT", "/api/setup", { action: "reopen" });
  const desk = await openBrowser();
  try {
    const p = desk.page;
    // What the desktop shell injects (src-tauri/src/origin.rs), with a recording autostart.
    await p.addInitScript(() => {
      window.__autostartCalls = [];
      window.__METACLAW__ = { desktop: true, autostart: { get: async () => false, set: async (on) => void window.__autostartCalls.push(on) } };
    });
    await p.goto(`${stack.ui}/#token=${stack.token}`);
    await p.getByRole("heading", { level: 1, name: "Set up MetaClaw" }).waitFor();
    assert.match(await p.locator("#setup-key-hint").textContent(), /already stored/);
    await p.locator("#setup-test").click();
    await p.locator('#setup-test-result [data-outcome="ok"]').waitFor();
    const asked = (await fetch(`${stack.upstream}/_standin/requests`).then((r) => r.json())).filter((q) => q.path === "/v1/models").at(-1);
    assert.equal(asked.headers.find(([k]) => k === "authorization")?.[1], "Bearer sk-guide-test-1234", "the stored key was used");
    await p.locator("#setup-next-a").click();
    await p.locator("#setup-save").click();
    await p.locator("#setup-next-c").click();
    const sw = p.getByRole("switch", { name: "Start MetaClaw when I log in" });
    await sw.waitFor();
    assert.equal(await sw.isChecked(), false);
    await sw.focus();
    await p.keyboard.press("Space");
    await waitFor("autostart set", async () => (await p.evaluate(() => window.__autostartCalls)).length === 1);
    assert.deepEqual(await p.evaluate(() => window.__autostartCalls), [true]);
    assert.deepEqual(p.errors, []);
  } finally {
    await desk.close();
  }
});
