// Settings: a bad value is refused by the engine and the error is shown next to the field; a good
// one is saved; keys show whether they are set (never the value) and keyring errors are explained;
// delete-all needs the typed confirmation.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { api, closeSession, openSession } from "./harness.mjs";

let stack;
let browser;
let page;

before(async () => ({ stack, browser, page } = await openSession({ route: "#/settings", heading: "Settings" })));
after(() => closeSession({ stack, browser }));

test("the configuration loads into the form", async () => {
  await page.locator("#cfg-upstream-base_url").waitFor();
  assert.equal(await page.locator("#cfg-upstream-base_url").inputValue(), `${stack.upstream}/v1`);
  assert.equal(await page.locator("#cfg-store-retention_days").inputValue(), "90");
});

test("a bad value is refused and the engine's message is shown at the field", async () => {
  const input = page.locator("#cfg-upstream-base_url");
  await input.fill("ftp://example.com/v1");
  await page.locator("#save-settings").click();
  const err = page.locator("#settings-error [role=alert]");
  await err.waitFor();
  assert.match(await err.textContent(), /upstream\.base_url/);
  assert.equal(await input.getAttribute("aria-invalid"), "true");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "cfg-upstream-base_url", "focus moves to the bad field");
  // The file is untouched.
  assert.match(readFileSync(path.join(stack.home, "config.toml"), "utf8"), new RegExp(stack.upstream.replace(/[.:/]/g, "\\$&")));
  await input.fill(`${stack.upstream}/v1`);
});

test("a number out of range is refused with the key named", async () => {
  await page.locator("#cfg-judge-votes").fill("12");
  await page.locator("#save-settings").click();
  const err = page.locator("#settings-error [role=alert]");
  await err.waitFor();
  assert.match(await err.textContent(), /judge\.votes/);
  await page.locator("#cfg-judge-votes").fill("3");
});

test("a good value is saved to config.toml", async () => {
  await page.locator("#cfg-store-retention_days").fill("30");
  await page.getByLabel(/Verified/).check();
  await page.locator("#save-settings").click();
  await page.locator(".toast", { hasText: "Settings saved" }).waitFor();
  const r = await api(stack, "GET", "/api/config");
  assert.equal(r.json.config.store.retention_days, 30);
  assert.equal(r.json.config.evolve.approval, "verified");
});

test("keys show set or not set, never a value; keyring errors are explained", async () => {
  const rows = page.locator(".key-row");
  await rows.first().waitFor();
  assert.ok((await rows.count()) >= 2, "upstream and proxy keys are listed");
  assert.match(await page.locator("#keys").textContent(), /not set/);
  await rows.first().getByRole("button", { name: /^Set/ }).click();
  await page.locator("#key-value").fill("sk-test-1234567890");
  await page.getByRole("dialog").getByRole("button", { name: "Save key" }).click();
  // The harness runs without a keyring (METACLAW_NO_KEYRING): the dialog explains it.
  const outcome = await Promise.race([
    page.getByRole("dialog").locator("[role=alert]", { hasText: /keyring/i }).waitFor().then(() => "no keyring"),
    page.locator(".toast", { hasText: /Saved / }).first().waitFor().then(() => "saved"),
  ]);
  if (outcome === "no keyring") await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
  const text = await page.locator("#keys").textContent();
  assert.ok(!text.includes("sk-test-1234567890"), "the key never shows");
});

test("delete all data needs the typed confirmation", async () => {
  const btn = page.locator("#delete-all");
  assert.equal(await btn.isDisabled(), true);
  await page.locator("#delete-confirm").fill("delete all");
  assert.equal(await btn.isDisabled(), true);
  await page.locator("#delete-confirm").fill("delete all data");
  assert.equal(await btn.isDisabled(), false);
  await btn.click();
  await page.locator(".toast", { hasText: "All data deleted" }).waitFor();
  const st = await api(stack, "GET", "/api/status");
  assert.equal(st.json.turns_total, 0);
});
