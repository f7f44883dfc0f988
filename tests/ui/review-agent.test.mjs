// Review's agent filter: picking an agent lists only the candidates learned from its turns.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, closeSession, openSession, openUi, say, waitFor } from "./harness.mjs";

let stack, browser, page;

before(async () => ({ stack, browser, page } = await openSession({ stackOptions: {} })));

after(() => closeSession({ stack, browser }));

test("picking an agent in Review lists only the candidates learned from its turns", async () => {
  const first = "put the standup time in the notes [[evolve:timestamps]]";
  await say(stack, "agent-ui", [first], false, "codex");
  await say(stack, "agent-ui", [first, `Echo: ${first}`, "no, timestamps must carry +08:00 [[judge_score:-1]]"], true, "codex");
  await say(stack, "agent-ui-2", ["hello there"], false, "openclaw");
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
