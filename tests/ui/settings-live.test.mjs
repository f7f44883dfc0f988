// Settings apply live: a saved judge model is in force at once ("Saved and applied", the engine's
// status shows the judge); a new port is saved, the engine keeps serving where it listens, and the
// page says, then and after a reload, that the listen address waits for a restart.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, closeSession, openSession, waitFor } from "./harness.mjs";

let stack;
let browser;
let page;

before(async () => ({ stack, browser, page } = await openSession({ stackOptions: { learning: false }, route: "#/settings", heading: "Settings" })));
after(() => closeSession({ stack, browser }));

test("a judge model saved from the form is in force at once, without a restart", async () => {
  assert.equal((await api(stack, "GET", "/api/status")).json.judge, null, "no judge at first");
  await page.locator("#cfg-judge-model").fill("standin-judge");
  await page.locator("#save-settings").click();
  const notice = page.locator("#settings-error .notice[role=status]");
  await notice.waitFor();
  assert.equal((await notice.textContent()).trim(), "Saved and applied.");
  const status = await api(stack, "GET", "/api/status");
  assert.notEqual(status.json.judge, null, "the engine judges now");
});

test("a new port is saved and said to wait for a restart; the engine keeps serving", async () => {
  await page.locator("#cfg-proxy-port").fill("1");
  await page.locator("#save-settings").click();
  const notice = page.locator("#settings-error .notice[role=status]");
  await waitFor("the restart notice", async () => /listen address/.test((await notice.textContent()) ?? ""));
  const text = await notice.textContent();
  assert.match(text, /^Saved and applied, except the listen address/);
  assert.match(text, /restart/);
  assert.deepEqual((await api(stack, "GET", "/api/config")).json.restart, ["listen_address"]);

  // Still answering where it listens; a fresh page says what waits.
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Settings" }).waitFor();
  const waiting = page.locator("#settings-error .notice[role=status]");
  await waiting.waitFor();
  assert.match(await waiting.textContent(), /^Waiting for a restart: the listen address/);
});
