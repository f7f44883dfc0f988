// The curator's merge in the UI: two near-duplicate skills; "Curate…" says it would merge them and
// why (their word overlap), the run asks the stand-in evolver for one skill, and Review shows the
// proposal listing the skills it replaces, with its evidence. Approving archives them.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, closeSession, openSession, openUi, screenshot, unlabelled, waitFor } from "./harness.mjs";

let stack, browser, page;

const skill = (name) => `---
name: ${name}
description: Use when writing timestamps in notes - ISO 8601 with seconds and the +08:00 offset.
metadata:
  category: agentic
---

# Timestamps

1. Write every timestamp as ISO 8601 with seconds and the +08:00 offset.
2. Never a bare local time.
`;

before(async () => {
  // Skills written by hand (here through the API) are the curator's only with the opt-in.
  ({ stack, browser, page } = await openSession({ stackOptions: { builtin: false, config: ["[curator]", "include_hand_written = true"] } }));
  for (const name of ["timestamps-a", "timestamps-b"]) assert.equal((await api(stack, "POST", "/api/skills", { name, content: skill(name) })).status, 200);
  await openUi(page, stack, "#/skills");
  await page.getByRole("heading", { level: 1, name: "Skills" }).waitFor();
});

after(() => closeSession({ stack, browser }));

test("the dry run lists the merge with its evidence; the run proposes it in Review, listing what it replaces", async () => {
  await page.locator("#curate").click();
  const dlg = page.getByRole("dialog");
  const merge = dlg.locator('#curate-plan li[data-kind="merge"]');
  await merge.waitFor();
  assert.match(await merge.textContent(), /timestamps-a, timestamps-b/);
  assert.match(await merge.locator(".curate-evidence").textContent(), /overlap/);
  assert.deepEqual(await unlabelled(page), []);
  await dlg.getByRole("button", { name: "Run the curator" }).click();
  await page.locator(".toast", { hasText: /proposed 1 for review/ }).waitFor();

  const cand = await waitFor("the merge proposal", async () => (await api(stack, "GET", "/api/candidates?status=pending")).json?.candidates?.find((c) => c.action === "merge") ?? null);
  await openUi(page, stack, `#/review/${cand.id}`);
  await page.locator("#cand-title", { hasText: cand.name }).waitFor();
  const box = page.locator("#curator-proposal");
  assert.match(await box.locator("h3").textContent(), new RegExp(`merging 2 near-duplicate skills into ${cand.name}`));
  assert.deepEqual(await box.locator("#merge-list a").allTextContents(), [...cand.merges].sort());
  for (const m of cand.merges) assert.equal(await box.locator(`#merge-list a[href="#/skills/${m}"]`).count(), 1);
  assert.match(await page.locator(`button.item[data-id="${cand.id}"]`).textContent(), /merge/);
  await screenshot(page, "review-curator-merge");

  await page.locator("#approve").click();
  await page.locator(".toast", { hasText: `Approved ${cand.name}` }).waitFor();
  const replaced = cand.merges.filter((m) => m !== cand.name);
  for (const m of replaced) assert.equal((await api(stack, "GET", `/api/skills/${m}`)).status, 404, `${m} is archived`);
  const archived = (await api(stack, "GET", "/api/skills-archive")).json.skills.map((s) => s.name);
  for (const m of replaced) assert.ok(archived.includes(m), `${m} in the archive`);
  assert.deepEqual(page.errors, []);
});
