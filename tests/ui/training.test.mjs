// Training: the view opens from the navigation by keyboard; with training off (the harness's
// engine has no [train] section) it explains how to turn it on and links to Settings. Then, with
// the engine's /api/train answers replaced by fixtures (page.route), as a trained engine would
// send them: the status card, runs (paged), a run's charts and steps, serving an earlier
// checkpoint, pause and resume, the serving history and skip reasons. Last, a real engine that
// trains against the Tinker stand-in: two runs on scored turns, seen live and after a reload,
// then serving the first run's checkpoint again from the view.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, closeSession, openSession, say, screenshot, unlabelled, waitFor } from "./harness.mjs";

let stack;
let browser;
let page;

before(async () => ({ stack, browser, page } = await openSession({ route: "#/dashboard", heading: "Dashboard" })));
after(() => closeSession({ stack, browser }));

const active = (pg = page) => pg.evaluate(() => ({ route: document.activeElement?.getAttribute("data-route"), id: document.activeElement?.id, text: document.activeElement?.textContent?.trim() }));

test("Training opens from the navigation with the keyboard, after History", async () => {
  await page.locator('nav a[data-route="dashboard"]').focus();
  for (const r of ["review", "skills", "history", "training"]) {
    await page.keyboard.press("ArrowDown");
    assert.equal((await active()).route, r);
  }
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Training" }).waitFor();
  assert.equal(await page.locator('nav a[aria-current="page"]').getAttribute("data-route"), "training");
  assert.equal(await page.title(), "Training · MetaClaw");
});

test("training off: the view says how to turn it on and links to Settings", async () => {
  const setup = page.locator("#train-setup");
  await setup.waitFor();
  const text = await setup.textContent();
  assert.match(text, /Training is off/);
  assert.match(text, /\[train\]/);
  assert.match(text, /enabled = true/);
  assert.match(text, /base_model/);
  assert.match(text, /tinker/);
  // The config file's real path comes from /api/config: until it has arrived the view names the
  // file alone, so wait for a path (a directory before the name).
  await page.locator("#train-config-path", { hasText: /\/config\.toml$/ }).waitFor();
  assert.ok((await page.locator("#train-config-path").textContent()).length > "config.toml".length, "the full path, not just the file name");
  assert.equal(await page.locator("#train-state").textContent(), "Off");
  assert.equal(await page.locator("#train-now").count(), 0, "no Train now while training is off");
  assert.equal(await page.locator("#runs-table").count(), 0, "no run history on an engine that never trained");
  assert.deepEqual(await unlabelled(page), []);
  assert.equal(await page.locator("h1").count(), 1);
  const link = page.locator("#train-settings-link");
  assert.equal(await link.getAttribute("href"), "#/settings");
  await link.focus();
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Settings" }).waitFor();
  await page.locator("#keys").waitFor();
  assert.deepEqual(page.errors, []);
});

// --- training on, from fixtures ----------------------------------------------------------------

const H = 3_600_000;
const T0 = Date.now() - 30 * 24 * H;
const ID = "0034d8c9-4b0e-5e6f-8a9b-0123456789ab";
const sampler = (n) => `tinker://${ID}/sampler_weights/step_${String(n).padStart(6, "0")}`;
const NRUNS = 25;

function fixtures() {
  const steps = new Map();
  const runs = [];
  for (let r = 1; r <= NRUNS; r++) {
    const start = T0 + r * 24 * H;
    const list = [];
    for (let k = 1; k <= 4; k++) {
      const id = (r - 1) * 4 + k;
      const pending = r === NRUNS && k === 4;
      list.push({
        id,
        run_id: r,
        started_at: start + k * 60_000,
        ended_at: pending ? null : start + k * 60_000 + 42_000,
        status: pending ? "pending" : "done",
        batch_size: 8,
        mean_reward: pending ? null : Math.round((-0.4 + k * 0.2 + r * 0.01) * 100) / 100,
        loss: pending ? null : 1.2 / k,
        tokens: 12_000 + id,
        cost_usd: pending ? 0 : 0.0048,
        duration_ms: pending ? null : 42_000,
        state_path: pending ? null : `tinker://${ID}/weights/step_${String(id).padStart(6, "0")}`,
        sampler_path: pending ? null : sampler(id),
        error: null,
      });
    }
    steps.set(r, list);
    const done = list.filter((x) => x.status === "done");
    runs.push({
      id: r,
      started_at: start,
      ended_at: r === NRUNS ? null : start + 5 * 60_000,
      trigger: r % 2 ? "window" : "manual",
      window: r % 2 ? "asleep" : "manual",
      base_model: "Qwen/Qwen3-8B",
      model_id: `tinker://${ID}`,
      resumed_from: r > 1 ? `tinker://${ID}/weights/step_${String((r - 1) * 4).padStart(6, "0")}` : null,
      status: r === NRUNS ? "running" : r === 3 ? "failed" : "done",
      detail: r === 3 ? "the service refused the batch" : null,
      steps: done.length,
      samples: done.length * 8,
      mean_reward: done.reduce((a, x) => a + x.mean_reward, 0) / done.length,
      cost_usd: done.length * 0.0048,
    });
  }
  const serving = [
    { id: 3, at: Date.now() - H, model: sampler(99), step_id: 99, reason: "step" },
    { id: 2, at: Date.now() - 2 * H, model: sampler(98), step_id: 98, reason: "step" },
    { id: 1, at: T0, model: "Qwen/Qwen3-8B", step_id: null, reason: "start" },
  ];
  const status = {
    enabled: true,
    base_model: "Qwen/Qwen3-8B",
    base_url: "https://tinker.thinkingmachines.dev/services/tinker-prod",
    state: "training",
    detail: "Training step 4 of run #25 on 8 turns.",
    paused: false,
    serving: serving[0],
    serve_models: ["*"],
    eligible: 3,
    min_batch: 4,
    today: { steps: 3, max_steps: 24, spend_usd: 0.42, max_spend_usd: 2 },
    samples: { trained: 200, skipped: 12, skip_reasons: [["reward 0: no evidence either way", 9], ["the prompt renders to no tokens", 3]] },
    current_run: runs[NRUNS - 1],
    last_run: runs[NRUNS - 2],
  };
  return { runs, steps, serving, status };
}

/** Answers /api/train* from fixtures; returns what was posted. */
async function mockTraining(p) {
  const f = fixtures();
  const calls = [];
  const json = (route, status, body) => route.fulfill({ status, contentType: "application/json", body: JSON.stringify(body) });
  await p.route("**/api/train**", async (route) => {
    const req = route.request();
    const url = new URL(req.url());
    const q = url.searchParams;
    const path = url.pathname;
    calls.push({ method: req.method(), path, query: url.search, body: req.postData() });
    if (req.method() === "GET" && path === "/api/train") return json(route, 200, f.status);
    if (req.method() === "GET" && path === "/api/train/runs") {
      const before = q.has("before") ? Number(q.get("before")) : Infinity;
      const limit = Number(q.get("limit") ?? 20);
      return json(route, 200, f.runs.filter((r) => r.id < before).reverse().slice(0, limit));
    }
    const m = /^\/api\/train\/runs\/(\d+)$/.exec(path);
    if (req.method() === "GET" && m) {
      const run = f.runs.find((r) => r.id === Number(m[1]));
      return run ? json(route, 200, { run, steps: f.steps.get(run.id) }) : json(route, 404, { error: { code: "not_found", message: `no run #${m[1]}` } });
    }
    if (req.method() === "GET" && path === "/api/train/checkpoints") {
      const all = [...f.steps.values()].flat().filter((x) => x.status === "done" && x.state_path).reverse();
      return json(route, 200, all.slice(0, Number(q.get("limit") ?? 20)));
    }
    if (req.method() === "GET" && path === "/api/train/serving") return json(route, 200, f.serving.slice(0, Number(q.get("limit") ?? 10)));
    if (req.method() === "POST" && path === "/api/train/pause") return json(route, 200, Object.assign(f.status, { paused: true, state: "paused", detail: "Paused by you; the run resumes when you resume." }));
    if (req.method() === "POST" && path === "/api/train/resume") return json(route, 200, Object.assign(f.status, { paused: false, state: "training", detail: "Training step 4 of run #25 on 8 turns." }));
    if (req.method() === "POST" && path === "/api/train/run-now") return json(route, 409, { error: { code: "conflict", message: "a training run is already in progress" } });
    if (req.method() === "POST" && path === "/api/train/rollback") {
      const id = JSON.parse(req.postData() ?? "{}").step_id;
      const x = [...f.steps.values()].flat().find((s) => s.id === id);
      if (!x) return json(route, 404, { error: { code: "not_found", message: `no step #${id}` } });
      const change = { id: f.serving[0].id + 1, at: Date.now(), model: x.sampler_path, step_id: id, reason: "rollback" };
      f.serving.unshift(change);
      f.status.serving = change;
      return json(route, 200, change);
    }
    return json(route, 404, { error: { code: "not_found", message: `fixture has no ${req.method()} ${path}` } });
  });
  return calls;
}

test("training on: status card, runs, a run's charts and steps, checkpoints, pause", async () => {
  const calls = await mockTraining(page);
  try {
    // From another view, so the Training view is made afresh (with the fixtures).
    await page.evaluate(() => (location.hash = "#/dashboard"));
    await page.getByRole("heading", { level: 1, name: "Dashboard" }).waitFor();
    await page.evaluate(() => (location.hash = "#/training"));
    await page.getByRole("heading", { level: 1, name: "Training" }).waitFor();

    // The status card.
    await page.locator("#train-state", { hasText: "Training" }).waitFor();
    assert.equal(await page.locator("#train-detail").textContent(), "Training step 4 of run #25 on 8 turns.");
    assert.equal(await page.locator("#train-state-line").getAttribute("role"), "status");
    assert.match(await page.locator("#train-steps-today").textContent(), /3 \/ 24/);
    assert.match(await page.locator("#train-spend-today").textContent(), /\$0\.42 \/ \$2\.00/);
    assert.match(await page.locator("#train-eligible").textContent(), /3.*needs 4/);
    const served = page.locator("#train-serving code");
    assert.equal(await served.textContent(), `tinker://0034d8c9…/step_000099`);
    assert.equal(await served.getAttribute("title"), sampler(99));
    assert.match(await page.locator("#train-serving").textContent(), /since/);
    assert.equal(await page.locator("#train-setup").count(), 0);
    assert.equal(await page.locator("#train-now").isDisabled(), true, "a run is in progress");
    assert.equal(await page.locator("#train-pause").textContent(), "Pause training");

    // Runs: a page of 20, then More with `before`.
    const rows = page.locator("#runs-table tbody tr");
    await rows.first().waitFor();
    assert.equal(await rows.count(), 20);
    assert.equal(await page.locator("#runs-table th").count(), 8);
    await page.locator("#runs-more").click();
    await page.waitForFunction(() => document.querySelectorAll("#runs-table tbody tr").length === 25);
    assert.ok(calls.some((c) => c.path === "/api/train/runs" && /before=6\b/.test(c.query)), "the next page asks for runs before the last one shown");
    assert.equal((await active()).text, "Run #5", "focus moves to the first new run");
    assert.equal(await page.locator("#runs-more").isHidden(), true, "no more pages");

    // The newest run is shown until one is chosen; choose another with the keyboard.
    await page.locator("#run-h", { hasText: "Run #25" }).waitFor();
    await page.getByRole("button", { name: "Run #24", exact: true }).focus();
    await page.keyboard.press("Enter");
    await page.locator("#run-h", { hasText: "Run #24" }).waitFor();
    await page.locator("#steps-table").waitFor();
    assert.equal((await active()).id, "run-h", "focus moves to the run's heading");
    assert.equal(await page.evaluate(() => location.hash), "#/training/runs/24");
    assert.equal(await page.getByRole("button", { name: "Run #24", exact: true }).getAttribute("aria-current"), "true");
    assert.equal(await page.locator("#steps-table tbody tr").count(), 4);
    assert.equal(await page.locator("#steps-table th").count(), 9);
    const charts = page.locator("#run-detail svg[role=img]");
    assert.equal(await charts.count(), 2);
    assert.match(await charts.nth(0).getAttribute("aria-label"), /^Mean reward per step: 4 steps/);
    assert.match(await charts.nth(1).getAttribute("aria-label"), /^Loss per step: 4 steps/);
    assert.equal(await charts.nth(0).locator("title").first().textContent(), await charts.nth(0).getAttribute("aria-label"));
    assert.equal(await page.locator("#run-detail table.sr-only").count(), 2, "each chart has its numbers as a table");
    assert.equal(await page.locator("#run-detail table.sr-only").first().locator("tbody tr").count(), 4);

    // A deep link to a run, and a failed run's reason.
    await page.evaluate(() => (location.hash = "#/training/runs/3"));
    await page.locator("#run-h", { hasText: "Run #3" }).waitFor();
    await page.locator("#run-detail", { hasText: "the service refused the batch" }).waitFor();

    // Checkpoints: the served one is marked; serve an earlier one after confirming.
    const ckpt = page.locator("#checkpoints");
    await ckpt.locator('tr[data-step="99"]', { hasText: "Serving" }).waitFor();
    assert.equal(await ckpt.locator('tr[data-step="99"] button').count(), 0);
    await ckpt.getByRole("button", { name: "Serve this: step #98" }).click();
    const dlg = page.getByRole("dialog");
    await dlg.waitFor();
    assert.match(await dlg.textContent(), /step #98/);
    await dlg.getByRole("button", { name: "Serve this" }).click();
    await page.locator(".toast", { hasText: "Now serving step #98" }).waitFor();
    const posted = calls.find((c) => c.method === "POST" && c.path === "/api/train/rollback");
    assert.deepEqual(JSON.parse(posted.body), { step_id: 98 });
    await ckpt.locator('tr[data-step="98"]', { hasText: "Serving" }).waitFor();
    await ckpt.getByRole("button", { name: "Serve this: step #99" }).waitFor();
    await page.locator("#serving-history li", { hasText: "rollback" }).waitFor();
    // The newest ten, then all on request.
    assert.equal(await ckpt.locator("tbody tr").count(), 10);
    await page.locator("#checkpoints-all").click();
    await page.waitForFunction(() => document.querySelectorAll("#checkpoints tbody tr").length === 50);
    assert.equal(await page.locator("#checkpoints-all").count(), 0);
    assert.match(await page.locator("#train-serving").textContent(), /step_000098/);

    // Skip reasons and the sample counts.
    assert.match(await page.locator("#train-samples").textContent(), /200 turns trained on, 12 skipped/);
    assert.equal(await page.locator("#skip-reasons li").count(), 2);
    assert.match(await page.locator("#skip-reasons li").first().textContent(), /no evidence either way.*9 turns/);

    // Pause and resume: the engine's answer redraws the card; focus stays on the toggle.
    await page.locator("#train-pause").click();
    await page.locator(".toast", { hasText: "Training paused" }).waitFor();
    await page.locator("#train-state", { hasText: "Paused" }).waitFor();
    assert.equal(await page.locator("#train-pause").textContent(), "Resume training");
    assert.equal((await active()).id, "train-pause");
    await page.keyboard.press("Enter");
    await page.locator("#train-state", { hasText: "Training" }).waitFor();
    assert.equal(await page.locator("#train-pause").textContent(), "Pause training");

    assert.deepEqual(await unlabelled(page), []);
    await screenshot(page, "training-on-light");
    await page.locator("#theme-toggle").click(); // system -> light
    await page.locator("#theme-toggle").click(); // light -> dark
    await screenshot(page, "training-on-dark");
    await page.locator("#theme-toggle").click(); // dark -> system
    assert.deepEqual(page.errors, []);
  } finally {
    await page.unroute("**/api/train**");
  }
});

// --- a real engine that trains, against the Tinker stand-in ----------------------------------

/** Chat turns through the proxy (the policy answers them), each then scored by the user. Each
 * message is different, and made of the stand-in tokenizer's words. */
async function scoredTurns(st, turns) {
  for (const [text, score] of turns) {
    const id = await say(st, "ui-train", [text]);
    assert.ok(id > 0, "the proxy names the turn");
    // The turn reaches the database within the flush interval; until then feedback is a 404.
    const r = await waitFor(`feedback on turn ${id}`, async () => {
      const r = await api(st, "POST", `/api/turns/${id}/feedback`, { score });
      return r.status === 404 ? null : r;
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
}

const trainStatus = async (st) => (await api(st, "GET", "/api/train")).json;
const SAMPLER = /^tinker:\/\/[^/]+\/sampler_weights\/step-0*(\d+)$/;

test("a real engine trains against the Tinker stand-in: status, runs, steps, checkpoints, serving an earlier step", async () => {
  const s = await openSession({ stackOptions: { learning: false, tinker: true }, route: "#/training", heading: "Training" });
  const { stack: st, page: p } = s;
  try {
    // Before any training: idle, serving the base model (no time, no step), no runs yet.
    await p.locator("#train-state", { hasText: "Idle" }).waitFor();
    assert.match(await p.locator("#train-detail").textContent(), /0 of 2 usable turns/);
    assert.equal(await p.locator("#train-setup").count(), 0);
    assert.equal(await p.locator("#train-serving code").textContent(), "standin/tiny-chat");
    const before = await p.locator("#train-serving").textContent();
    assert.match(before, /no adapter trained yet/);
    assert.doesNotMatch(before, /since/, "the engine gives no time for the base model");
    await p.locator("#runs-h").waitFor();
    assert.match(await p.locator("#train-status").textContent(), /all client models/);
    await p.getByText("No training runs yet").waitFor();

    // Run 1, started through the API: the view follows without a reload.
    await scoredTurns(st, [
      ["alpha please", 1],
      ["bravo please", -1],
    ]);
    assert.equal((await trainStatus(st)).eligible, 2);
    const now1 = await api(st, "POST", "/api/train/run-now");
    assert.equal(now1.status, 202, JSON.stringify(now1.json));
    const s1 = await waitFor("the first step", async () => {
      const x = await trainStatus(st);
      return x.today.steps === 1 && x.last_run?.status === "done" && !x.current_run && x.serving.step_id === 1 ? x : null;
    }, 30_000);
    const step1 = s1.serving.model;
    assert.match(step1, SAMPLER);
    await p.locator("#runs-table tbody tr").first().waitFor({ timeout: 20_000 });
    await p.locator("#train-serving code", { hasText: /step-0+1$/ }).waitFor();

    // Run 2, started from the view's own button.
    await scoredTurns(st, [
      ["charlie please", 1],
      ["delta echo please", -1],
    ]);
    await p.locator("#train-now:enabled").click();
    await p.locator(".toast", { hasText: "Training started" }).waitFor();
    const s2 = await waitFor("the second step", async () => {
      const x = await trainStatus(st);
      return x.today.steps === 2 && x.last_run?.id === 2 && x.last_run.status === "done" && !x.current_run && x.serving.step_id === 2 ? x : null;
    }, 30_000);
    const step2 = s2.serving.model;
    assert.match(step2, SAMPLER);
    assert.notEqual(step2, step1);
    await p.waitForFunction(() => document.querySelectorAll("#runs-table tbody tr").length === 2, null, { timeout: 20_000 });

    // A fresh view (a reload) shows the same.
    await p.reload();
    await p.getByRole("heading", { level: 1, name: "Training" }).waitFor();

    // The status card: the base model and the adapter served now (step 2), full path in its title.
    await p.locator("#train-state", { hasText: "Idle" }).waitFor();
    assert.match(await p.locator("#train-status").textContent(), /standin\/tiny-chat/);
    const served = p.locator("#train-serving code");
    await served.waitFor();
    assert.equal(await served.getAttribute("title"), step2);
    assert.match(await served.textContent(), /^tinker:\/\/.+\/step-0+2$/);
    assert.match(await p.locator("#train-serving").textContent(), /since .*step #2/);
    assert.match(await p.locator("#train-steps-today").textContent(), /2 \/ 24/);
    assert.match(await p.locator("#train-status").textContent(), /Last run.*Run #2/);
    assert.match(await p.locator("#train-samples").textContent(), /4 turns trained on, 0 skipped/);

    // Runs: two, newest first, both done and started by hand.
    const rows = p.locator("#runs-table tbody tr");
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2);
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.row)), ["2", "1"]);
    for (const i of [0, 1]) {
      const cells = await rows.nth(i).locator("td").allTextContents();
      assert.equal(cells[2], "Manual", cells.join(" | "));
      assert.match(cells[3], /^done/, cells.join(" | "));
      assert.equal(cells[4], "1", "one step");
      assert.equal(cells[5], "2", "two samples");
    }
    assert.equal(await p.locator("#runs-more").isHidden(), true);

    // The newest run is shown; choose the older one with the keyboard.
    await p.locator("#run-h", { hasText: "Run #2" }).waitFor();
    await p.getByRole("button", { name: "Run #2", exact: true }).focus();
    await p.keyboard.press("ArrowDown");
    assert.equal((await active(p)).text, "Run #1");
    await p.keyboard.press("Enter");
    await p.locator("#run-h", { hasText: "Run #1" }).waitFor();
    const detail = p.locator("#run-detail");
    // Run 2's steps were shown until run 1's arrive; focus moves once they do.
    await detail.locator("#steps-table tbody td", { hasText: /^#1$/ }).waitFor();
    await p.waitForFunction(() => document.activeElement?.id === "run-h").catch(() => {});
    assert.equal((await active(p)).id, "run-h", "focus moves to the run's heading");
    assert.equal(await p.evaluate(() => location.hash), "#/training/runs/1");
    assert.equal(await p.getByRole("button", { name: "Run #1", exact: true }).getAttribute("aria-current"), "true");
    assert.match(await detail.textContent(), /Manual/);
    assert.match(await detail.textContent(), /Resumed from\s*the base model/);
    const steps = detail.locator("#steps-table tbody tr");
    assert.equal(await steps.count(), 1);
    const stepCells = await steps.first().locator("td").allTextContents();
    assert.equal(stepCells[0], "#1");
    assert.match(stepCells[1], /^done/);
    assert.equal(stepCells[2], "2", "a batch of two turns");
    assert.equal(await steps.first().locator("td code").getAttribute("title"), step1);
    const charts = detail.locator("svg[role=img]");
    assert.equal(await charts.count(), 2);
    assert.match(await charts.nth(0).getAttribute("aria-label"), /^Mean reward per step: 1 step, from \S+ \(step #1\)/);
    assert.match(await charts.nth(1).getAttribute("aria-label"), /^Loss per step: 1 step, from \S+ \(step #1\)/);
    assert.equal(await charts.nth(0).locator("title").first().textContent(), await charts.nth(0).getAttribute("aria-label"));
    const alt = detail.locator("table.sr-only");
    assert.equal(await alt.count(), 2, "each chart has its numbers as a table");
    assert.equal(await alt.nth(0).locator("tbody tr").count(), 1);
    assert.equal(await alt.nth(1).locator("tbody tr").count(), 1);

    // Checkpoints: step 2 is served; serve step 1 again, after confirming.
    const ckpt = p.locator("#checkpoints");
    await ckpt.locator('tr[data-step="2"]', { hasText: "Serving" }).waitFor();
    assert.equal(await ckpt.locator("tbody tr").count(), 2);
    assert.equal(await ckpt.locator('tr[data-step="2"] button').count(), 0);
    assert.equal(await ckpt.locator('tr[data-step="1"] code').getAttribute("title"), step1);
    await ckpt.getByRole("button", { name: "Serve this: step #1" }).click();
    const dlg = p.getByRole("dialog");
    await dlg.waitFor();
    assert.match(await dlg.textContent(), /step #1 \(run #1/);
    await dlg.getByRole("button", { name: "Serve this" }).click();
    await p.locator(".toast", { hasText: "Now serving step #1" }).waitFor();
    const after = await trainStatus(st);
    assert.equal(after.serving.model, step1, "the engine serves step 1's weights");
    assert.equal(after.serving.step_id, 1);
    assert.equal(after.serving.reason, "rollback");
    await ckpt.locator('tr[data-step="1"]', { hasText: "Serving" }).waitFor();
    await ckpt.getByRole("button", { name: "Serve this: step #2" }).waitFor();
    await p.locator("#train-serving code", { hasText: /step-0+1$/ }).waitFor();
    assert.equal(await p.locator("#train-serving code").getAttribute("title"), step1);
    await detail.locator("#steps-table tbody tr", { hasText: "Serving" }).waitFor();
    const history = p.locator("#serving-history li");
    await history.filter({ hasText: "rollback" }).waitFor();
    const entries = await history.allTextContents();
    assert.equal(entries.length, 3, entries.join(" | "));
    assert.match(entries[0], /^rollback.*step-0+1.*step #1/);
    assert.match(entries[1], /^step.*step-0+2.*step #2/);
    assert.match(entries[2], /^step.*step-0+1.*step #1/);
    const serving = (await api(st, "GET", "/api/train/serving")).json;
    assert.deepEqual(serving.map((c) => [c.reason, c.step_id]), [["rollback", 1], ["step", 2], ["step", 1]]);

    assert.deepEqual(await unlabelled(p), []);
    assert.equal(await p.locator("h1").count(), 1);
    await p.evaluate(() => window.scrollTo(0, 0)); // the fixed header at the top of the full-page shot
    await screenshot(p, "training-real-light");
    await p.locator("#theme-toggle").click(); // system -> light
    await p.locator("#theme-toggle").click(); // light -> dark
    await screenshot(p, "training-real-dark");
    await p.locator("#theme-toggle").click(); // dark -> system
    assert.deepEqual(p.errors, []);
  } catch (e) {
    e.message += `\n--- engine log (tail) ---\n${st.engineLog().slice(-4000)}`;
    throw e;
  } finally {
    await closeSession(s);
  }
});
