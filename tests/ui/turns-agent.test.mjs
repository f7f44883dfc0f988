// A turn's agent scope in the UI: a turn whose client asked for no skills says so in its detail.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { closeSession, openSession, openUi } from "./harness.mjs";

let stack, browser, page;

before(async () => ({ stack, browser, page } = await openSession({ stackOptions: {} })));

after(() => closeSession({ stack, browser }));

test("a turn sent with X-MetaClaw-Inject: off says the client asked for no skills", async () => {
  const r = await fetch(`${stack.base}/agents/openclaw/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-metaclaw-inject": "off" },
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hello there" }] }),
  });
  assert.equal(r.status, 200);
  await r.arrayBuffer();
  const id = Number(r.headers.get("x-metaclaw-turn-id"));
  await openUi(page, stack, `#/turns/${id}`);
  const note = page.locator("#inject-off");
  await note.waitFor();
  assert.match(await note.textContent(), /the client asked \(X-MetaClaw-Inject: off\)/);
});

test("picking an agent in Turns lists only that agent's turns", async () => {
  for (const agent of ["codex", "openclaw", "codex"]) {
    const r = await fetch(`${stack.base}/agents/${agent}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: `hi from ${agent}` }] }),
    });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  }
  await openUi(page, stack, "#/turns");
  await page.locator('#f-agent option[value="codex"]').waitFor({ state: "attached" });
  await page.locator("#f-agent").selectOption("codex");
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll(".turns-table tbody tr td.agent")];
    return cells.length === 2 && cells.every((td) => td.textContent === "codex");
  });
  await page.locator("#f-agent").selectOption("openclaw");
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll(".turns-table tbody tr td.agent")];
    return cells.length === 2 && cells.every((td) => td.textContent === "openclaw");
  });
});
