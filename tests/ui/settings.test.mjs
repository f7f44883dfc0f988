// Settings: a bad value is refused by the engine and the error is shown next to the field; a good
// one is saved; policy training is turned on from the form, keeping the [train] keys it doesn't
// show; keys show whether they are set (never the value) and keyring errors are explained;
// delete-all needs the typed confirmation.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { api, closeSession, openSession, unlabelled } from "./harness.mjs";

let stack;
let browser;
let page;

// A [train] section with training off and keys the form has no fields for, which a save must keep.
const TRAIN = ["[train]", 'tokenizer_repo = "standin/tokenizer"', 'hub_url = "https://hub.example.org"', "save_attempts = 5", "usd_per_million_tokens = 0.25", "[train.distill]", 'teacher_url = "http://127.0.0.1:9/v1"', 'teacher_model = "standin/teacher"', "coef = 0.5"];

before(async () => ({ stack, browser, page } = await openSession({ stackOptions: { learning: false, config: TRAIN }, route: "#/settings", heading: "Settings" })));
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

test("the judge's, the evolver's and the shutdown's limits load, are checked against their ranges, and save", async () => {
  const cfg = (await api(stack, "GET", "/api/config")).json.config;
  const fields = {
    "judge.max_tokens": ["Judge answer length, at most (tokens)", "99999", "400"],
    "judge.timeout_secs": ["Judge call timeout (seconds)", "0", "120"],
    "evolve.timeout_secs": ["Evolver call timeout (seconds)", "0", "600"],
    "evolve.max_tokens": ["Evolver answer length, at most (tokens)", "10", "4000"],
    "evolve.prompt_skills": ["Existing skills shown to the evolver", "101", "12"],
    "proxy.drain_timeout_secs": ["Shutdown wait (seconds)", "3601", "90"],
  };
  for (const [key, [label]] of Object.entries(fields)) {
    const [section, name] = key.split(".");
    assert.equal(await page.getByLabel(label, { exact: true }).inputValue(), String(cfg[section][name]), `${key} loads`);
  }
  const judgeRunIn = page.getByLabel("Judge turns", { exact: true });
  assert.equal(await judgeRunIn.inputValue(), cfg.judge.run_in);
  assert.deepEqual(await unlabelled(page), [], "every control has a name");

  // Out of range: refused before it reaches the engine, the key named and the field marked.
  const err = page.locator("#settings-error [role=alert]");
  for (const [key, [label, bad, good]] of Object.entries(fields)) {
    const input = page.getByLabel(label, { exact: true });
    await input.fill(bad);
    await page.locator("#save-settings").click();
    await err.waitFor();
    assert.match(await err.textContent(), new RegExp(key.replace(".", "\\.")), `${key}=${bad} names the key`);
    assert.equal(await input.getAttribute("aria-invalid"), "true", `${key} is marked`);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), key, `focus moves to ${key}`);
    await input.fill(good);
    assert.equal(await input.getAttribute("aria-invalid"), null, "typing clears the error mark");
  }
  assert.deepEqual((await api(stack, "GET", "/api/config")).json.config.judge, cfg.judge, "nothing was written");

  await judgeRunIn.selectOption("idle");
  await page.locator("#save-settings").click();
  // The file is written before the engine answers; the view updates when the answer arrives.
  await page.locator("#settings-error .notice[role=status]", { hasText: "Saved and applied" }).waitFor();
  assert.equal(await err.count(), 0, "the error is gone");
  const saved = (await api(stack, "GET", "/api/config")).json.config;
  assert.equal(saved.judge.run_in, "idle", "the judge's run_in saved");
  for (const [key, [, , good]] of Object.entries(fields)) {
    const [section, name] = key.split(".");
    assert.equal(saved[section][name], Number(good), `${key} saved`);
  }
  assert.equal(saved.judge.retry_secs, cfg.judge.retry_secs, "keys without a field are kept");
  assert.equal(saved.proxy.max_connections, cfg.proxy.max_connections, "keys without a field are kept");
});

test("policy training: turned on without a base model is refused at the field; with one it is saved, keeping the other [train] keys", async () => {
  const before = (await api(stack, "GET", "/api/config")).json.config.train;
  assert.equal(before.enabled, false);
  const enabled = page.getByLabel("Train and serve a LoRA adapter while I'm away");
  const baseModel = page.getByLabel("Base model", { exact: true });
  const serveModels = page.getByLabel("Models the policy answers");
  assert.equal(await enabled.isChecked(), false);
  assert.equal(await baseModel.inputValue(), "");
  assert.equal(await baseModel.getAttribute("placeholder"), "Qwen/Qwen3-8B");
  assert.equal(await serveModels.inputValue(), "*");
  assert.equal(await page.getByLabel("Training service URL").inputValue(), before.base_url);
  assert.equal(await page.getByLabel("Loss").inputValue(), "importance_sampling");
  assert.equal(await page.getByLabel("LoRA rank").inputValue(), "32");
  assert.deepEqual(await unlabelled(page), [], "every control has a name");

  // Turn it on with the keyboard, and save with Enter from a field: the engine names train.base_model.
  await enabled.focus();
  await page.keyboard.press("Space");
  assert.equal(await enabled.isChecked(), true);
  assert.equal(await baseModel.getAttribute("aria-required"), "true");
  await page.getByLabel("Turns per step, at least").focus();
  await page.keyboard.press("Enter");
  const err = page.locator("#settings-error [role=alert]");
  await err.waitFor();
  assert.match(await err.textContent(), /train\.base_model/);
  assert.equal(await baseModel.getAttribute("aria-invalid"), "true");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "cfg-train-base_model", "focus moves to the base model");
  assert.equal((await api(stack, "GET", "/api/config")).json.config.train.enabled, false, "nothing was written");

  // Focus is in the base model field: type it, then the served models, and save.
  await page.keyboard.type("standin/tiny-chat");
  assert.equal(await baseModel.getAttribute("aria-invalid"), null, "typing clears the error mark");
  await serveModels.focus();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type("agent-*");
  await page.locator("#save-settings").focus();
  await page.keyboard.press("Enter");
  const notice = page.locator("#settings-error .notice[role=status]");
  await notice.waitFor();
  assert.match(await notice.textContent(), /Saved and applied/);
  assert.equal(await err.count(), 0, "the error is gone");
  const r = await api(stack, "GET", "/api/config");
  assert.deepEqual(r.json.restart, [], "training applies live: nothing waits for a restart");
  const after = r.json.config.train;
  assert.equal(after.enabled, true);
  assert.equal(after.base_model, "standin/tiny-chat");
  assert.deepEqual(after.serve_models, ["agent-*"]);
  assert.deepEqual({ ...after, enabled: before.enabled, base_model: before.base_model, serve_models: before.serve_models }, before, "the other [train] keys are unchanged");
  assert.deepEqual(after.distill, { teacher_url: "http://127.0.0.1:9/v1", teacher_model: "standin/teacher", coef: 0.5 });
  assert.equal(after.hub_url, "https://hub.example.org");
  assert.match(readFileSync(path.join(stack.home, "config.toml"), "utf8"), /serve_models = \["agent-\*"\]/);

  // The pointer to the Tinker key brings its row into view and focuses its button.
  await page.locator("#train-key-link").focus();
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement?.closest(".key-row")?.getAttribute("data-key")), "tinker");
  assert.match(await page.evaluate(() => location.hash), /^#\/settings/, "the route stays");
  assert.deepEqual(page.errors, [], "no console errors");
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
