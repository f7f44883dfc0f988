// Honest health in the top bar: the health pill shows a failing upstream with its plain error
// (keyboard-operable popover), the Live badge says "Disconnected" when the engine dies, and when
// it is started again on the same port the badge is Live again and the current view is rebuilt
// with fresh data.

import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { BIN, DIST, closeSession, openSession, openUi, waitFor } from "./harness.mjs";

let session;
let restarted = null;

before(async () => {
  session = await openSession({ stackOptions: { learning: false } });
});

after(async () => {
  if (restarted && restarted.exitCode === null) {
    const gone = new Promise((r) => restarted.once("exit", r));
    restarted.kill("SIGTERM");
    await gone;
  }
  await closeSession(session);
});

async function chat(base, text) {
  const r = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-session-id": "health-ui" },
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content: text }] }),
  });
  await r.arrayBuffer();
  return r.status;
}

/** `metaclaw serve` on the same home (and so the same port, written into config.toml). */
function serveAgain(stack, port) {
  const cfg = path.join(stack.home, "config.toml");
  writeFileSync(cfg, readFileSync(cfg, "utf8").replace(/^port = 0$/m, `port = ${port}`));
  const env = { ...process.env, METACLAW_UI_DIR: process.env.METACLAW_UI_DIR ?? DIST, METACLAW_HOME: stack.home, METACLAW_NO_KEYRING: "1", METACLAW_LOG: "warn" };
  delete env.METACLAW_UPSTREAM_API_KEY;
  const p = spawn(path.join(BIN, "metaclaw"), ["serve"], { env, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`metaclaw serve did not start again: ${out}`)), 20_000);
    p.stdout.on("data", (d) => {
      out += d;
      if (/MetaClaw listening on/.test(out)) {
        clearTimeout(timer);
        resolve(p);
      }
    });
    p.stderr.on("data", () => undefined);
    p.on("exit", (code) => reject(new Error(`metaclaw serve exited with ${code}: ${out}`)));
  });
}

test("a failing upstream turns the pill to failing with its error, in a popover the keyboard opens and closes", async () => {
  const { stack, page } = session;
  await openUi(page, stack, "#/turns");
  await page.getByRole("heading", { level: 1, name: "Turns" }).waitFor();
  await waitFor("the Live badge", async () => (await page.locator("#conn-state").textContent()) === "Live");
  const pill = page.locator("#health-pill");
  await waitFor("a healthy pill", async () => (await pill.textContent()) === "Healthy");

  for (let i = 0; i < 3; i++) assert.equal(await chat(stack.base, "hello [[status:500]]"), 500);
  await waitFor("a failing pill", async () => (await pill.textContent()) === "Failing: Upstream");
  assert.match(await pill.getAttribute("aria-label"), /^Health: failing, Upstream: the upstream is having trouble/);

  await pill.focus();
  await page.keyboard.press("Enter");
  const pop = page.getByRole("dialog", { name: "Health" });
  await pop.waitFor();
  assert.equal(await pill.getAttribute("aria-expanded"), "true");
  const up = pop.locator('[data-component="upstream"]');
  assert.match(await up.textContent(), /Failing/);
  assert.match(await up.locator(".health-error").textContent(), /^the upstream is having trouble \(a server error\).*500/);
  assert.match(await up.locator(".health-facts").textContent(), /3 failures in a row · last/);
  assert.match(await pop.locator('[data-component="judge"]').textContent(), /Off/);
  await page.keyboard.press("Escape");
  await pop.waitFor({ state: "hidden" });
  assert.equal(await page.evaluate(() => document.activeElement?.id), "health-pill", "focus goes back to the pill");

  assert.equal(await chat(stack.base, "hello again"), 200);
  await waitFor("a healthy pill again", async () => (await pill.textContent()) === "Healthy");
  assert.deepEqual(page.errors, []);
});

test("the Live badge says Disconnected while the engine is down, and the view is rebuilt when it is back", async () => {
  const { stack, page } = session;
  const runtime = JSON.parse(readFileSync(path.join(stack.home, "serve.json"), "utf8"));
  const port = Number(new URL(runtime.address).port);
  // The current view, marked: a rebuilt view has no mark.
  await page.evaluate(() => (document.querySelector("#main > *").dataset.stale = "1"));

  process.kill(runtime.pid, "SIGKILL");
  await waitFor("the Disconnected badge", async () => (await page.locator("#conn-state").textContent()) === "Disconnected");
  assert.match(await page.locator("#conn-state").getAttribute("class"), /conn-down/);
  assert.equal(await page.locator("#health-pill").isHidden(), true, "no stale health while the engine is away");

  restarted = await serveAgain(stack, port);
  assert.equal(await chat(stack.base, "said after the restart"), 200);
  await waitFor("the Live badge again", async () => (await page.locator("#conn-state").textContent()) === "Live", 20_000);
  await waitFor("the view rebuilt", async () => page.evaluate(() => document.querySelector("#main > *")?.dataset.stale === undefined));
  await waitFor("the new turn listed", async () => (await page.locator("#main").textContent()).includes("said after the restart"));
  await page.getByRole("heading", { level: 1, name: "Turns" }).waitFor();
  await waitFor("the pill back", async () => (await page.locator("#health-pill").textContent()) === "Healthy");
  assert.deepEqual(page.errors.filter((e) => !/Failed to fetch|ERR_CONNECTION_REFUSED|network/i.test(e)), []);
});
