// Review shows an evolved skill's scope: a candidate from codex's failures is "Only for codex",
// and the switch approves it shared with every agent.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, closeSession, openSession, openUi, say, waitFor } from "./harness.mjs";

let stack, browser, page;

before(async () => ({ stack, browser, page } = await openSession({ stackOptions: {} })));

after(() => closeSession({ stack, browser }));

test("a codex-only candidate shows its scope and the switch approves it for all agents", async () => {
  const first = "put the standup time in the notes [[evolve:timestamps]]";
  await say(stack, "scope-ui", [first], false, "codex");
  await say(stack, "scope-ui", [first, `Echo: ${first}`, "no, timestamps must carry +08:00 [[judge_score:-1]]"], true, "codex");
  const cand = await waitFor("a candidate", async () => {
    const r = await api(stack, "GET", "/api/candidates?status=pending");
    return r.json?.candidates?.[0] ?? null;
  }, 20_000);

  await openUi(page, stack, `#/review/${cand.id}`);
  await page.locator("#cand-title", { hasText: cand.name }).waitFor();
  assert.match(await page.locator("#cand-scope").textContent(), /Only for codex/);
  await page.locator("#share-all").check();
  await page.locator("#approve").click();
  await page.locator(".toast", { hasText: `Approved ${cand.name}` }).waitFor();
  const skill = await api(stack, "GET", `/api/skills/${cand.name}`);
  assert.deepEqual(skill.json.agents ?? [], [], "shared with every agent");
});
