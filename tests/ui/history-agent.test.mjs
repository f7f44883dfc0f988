// History's agent filter: picking an agent shows the learning signal of that agent's turns only.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, openBrowser, openUi, startStack, waitFor } from "./harness.mjs";

let stack;
let browser;
let page;

before(async () => {
  // No evolver: every turn stays under one generation, so the counts are exact.
  stack = await startStack({ learning: false });
  browser = await openBrowser();
  page = browser.page;
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function sayAs(agent, text) {
  const r = await fetch(`${stack.base}/agents/${agent}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-session-id": `hist-${agent}-${text.length}` },
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content: text }] }),
  });
  assert.equal(r.status, 200);
  await r.arrayBuffer();
  return Number(r.headers.get("x-metaclaw-turn-id"));
}

async function feedback(id, score) {
  const r = await api(stack, "POST", `/api/turns/${id}/feedback`, { score, note: null });
  assert.ok(r.status < 300, `feedback: HTTP ${r.status}: ${JSON.stringify(r.json)}`);
}

/** The signal line of generation `gen` as History shows it. */
async function shown(gen) {
  return (await page.locator(`article[data-gen="${gen}"] p.muted.small`).textContent()) ?? "";
}

test("picking an agent in History shows only that agent's learning signal", async () => {
  const c1 = await sayAs("codex", "first codex turn");
  const c2 = await sayAs("codex", "second codex turn, a longer one");
  await sayAs("codex", "third codex turn, longer still than that");
  const o1 = await sayAs("openclaw", "an openclaw turn");
  await feedback(c1, -1);
  await feedback(c2, -1);
  await feedback(o1, 1);

  const gen = (await api(stack, "GET", "/api/generations?limit=1")).json.generations[0].id;
  const signal = async (agent) => {
    const r = await api(stack, "GET", `/api/learning?limit=5${agent ? `&agent=${agent}` : ""}`);
    return r.json.generations.find((g) => g.generation === gen);
  };
  // The engine's own per-agent counts (what the UI must show), once the feedback is in.
  const codex = await waitFor("codex's feedback in the signal", async () => {
    const s = await signal("codex");
    return s && s.turns === 3 && s.scored >= 2 && s.failure_rate > 0 ? s : null;
  });
  const openclaw = await waitFor("openclaw's feedback in the signal", async () => {
    const s = await signal("openclaw");
    return s && s.turns === 1 && s.scored === 1 ? s : null;
  });
  const all = await signal("");
  assert.equal(all.turns, 4);
  assert.notEqual(codex.scored, openclaw.scored);

  await openUi(page, stack, "#/history");
  await page.locator(`article[data-gen="${gen}"]`).waitFor();
  assert.match(await shown(gen), new RegExp(`\\b${all.turns} turns, ${all.scored} scored`));
  // A real label names the select.
  assert.equal(await page.locator('label[for="history-agent"]').textContent(), "Agent");
  await page.locator('#history-agent option[value="codex"]').waitFor({ state: "attached" });

  await page.locator("#history-agent").selectOption("codex");
  await page.waitForFunction(
    ([g, t, s]) => new RegExp(`\\b${t} turns, ${s} scored`).test(document.querySelector(`article[data-gen="${g}"] p.muted.small`)?.textContent ?? ""),
    [gen, codex.turns, codex.scored],
  );
  assert.match(await shown(gen), /failure rate [1-9]/);

  // Keyboard: focus the select and pick the next agent by typing its first letter.
  await page.locator("#history-agent").focus();
  await page.keyboard.press("o");
  assert.equal(await page.locator("#history-agent").inputValue(), "openclaw");
  await page.waitForFunction(
    ([g, t, s]) => new RegExp(`\\b${t} turns, ${s} scored, mean 1\\.00, failure rate 0`).test(document.querySelector(`article[data-gen="${g}"] p.muted.small`)?.textContent ?? ""),
    [gen, openclaw.turns, openclaw.scored],
  );

  await page.locator("#history-agent").selectOption("");
  await page.waitForFunction(
    ([g, t, s]) => new RegExp(`\\b${t} turns, ${s} scored`).test(document.querySelector(`article[data-gen="${g}"] p.muted.small`)?.textContent ?? ""),
    [gen, all.turns, all.scored],
  );
});
