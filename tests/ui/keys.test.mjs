// API keys on a system without an OS keyring (the harness sets METACLAW_NO_KEYRING): a key set in
// Settings is kept in MetaClaw's owner-only secrets file, the row says so (never the key), and
// Clear removes it.

import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { api, closeSession, openSession } from "./harness.mjs";

let stack;
let browser;
let page;

before(async () => ({ stack, browser, page } = await openSession({ stackOptions: { learning: false }, route: "#/settings", heading: "Settings" })));
after(() => closeSession({ stack, browser }));

const KEY = "sk-ui-file-3c1d77e0";

test("a key set without a keyring is kept in the secrets file, and the row says where", async () => {
  const row = page.locator('.key-row[data-key="proxy"]');
  await row.waitFor();
  assert.match(await row.textContent(), /not set/);
  await row.getByRole("button", { name: /^Set/ }).click();
  await page.locator("#key-value").fill(KEY);
  await page.getByRole("dialog").getByRole("button", { name: "Save key" }).click();
  await page.locator(".toast", { hasText: /Saved / }).first().waitFor();
  await page.locator('.key-row[data-key="proxy"] .badge', { hasText: /^set$/ }).waitFor();
  const where = await page.locator('.key-row[data-key="proxy"] .key-where').textContent();
  assert.match(where, /in file .*secrets\.toml/);
  assert.ok(!(await page.locator("#keys").textContent()).includes(KEY), "the key never shows");

  const file = path.join(stack.home, "secrets.toml");
  assert.equal(statSync(file).mode & 0o777, 0o600, "owner-only");
  assert.ok(readFileSync(file, "utf8").includes(KEY));
  const keys = await api(stack, "GET", "/api/keys");
  const k = keys.json.find((k) => k.name === "proxy");
  assert.equal(k.source, "file");
  assert.ok(!JSON.stringify(keys.json).includes(KEY));

  await page.locator('.key-row[data-key="proxy"]').getByRole("button", { name: /^Clear/ }).click();
  await page.locator('.key-row[data-key="proxy"] .badge', { hasText: "not set" }).waitFor();
  assert.ok(!readFileSync(file, "utf8").includes(KEY), "cleared from the file");
  assert.deepEqual(page.errors, [], "no console errors");
});
