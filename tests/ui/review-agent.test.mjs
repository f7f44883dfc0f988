// Review's agent filter: picking an agent lists only the candidates learned from its turns.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, openBrowser, openUi, startStack, waitFor } from "./harness.mjs";

let stack;
let browser;
let page;

before(async () => {
  stack = await startStack();
  browser = await openBrowser();
  page = browser.page;
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function sayAs(agent, session, history, done = false) {
  const messages = history.map((t, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content: t }));
  const headers = { "content-type": "application/json", "x-session-id": session };
  if (done) headers["x-session-done"] = "true";
  const r = await fetch(`${stack.base}/agents/${agent}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model: "m", messages }) });
  if (r.status !== 200) throw new Error(`chat: HTTP ${r.status}: ${await r.text()}`);
  await r.arrayBuffer();
}

test("picking an agent in Review lists only the candidates learned from its turns", async () => {
  const first = "put the standup time in the notes [[evolve:timestamps]]";
  await sayAs("codex", "agent-ui", [first]);
  await sayAs("codex", "agent-ui", [first, `Echo: ${first}`, "no, timestamps must carry +08:00 [[judge_score:-1]]"], true);
  await sayAs("openclaw", "agent-ui-2", ["hello there"]);
  const cand = await waitFor("a candidate", async () => {
    const r = await api(stack, "GET", "/api/candidates?status=pending");
    return r.json?.candidates?.[0] ?? null;
  }, 20_000);

  await openUi(page, stack, "#/review");
  await page.locator(`.item-list button.item[data-id="${cand.id}"]`).waitFor();
  await page.locator('#review-agent option[value="openclaw"]').waitFor({ state: "attached" });
  await page.locator("#review-agent").selectOption("openclaw");
  await page.waitForFunction(() => document.querySelectorAll(".item-list button.item").length === 0 && /All caught up/.test(document.querySelector(".list-pane")?.textContent ?? ""));
  await page.locator("#review-agent").selectOption("codex");
  await page.locator(`.item-list button.item[data-id="${cand.id}"]`).waitFor();
  assert.equal(await page.locator(".item-list button.item").count(), 1);
});
