// Review shows what issue 17 measures: an edit of an existing skill as delta operations (with the
// anchor each applies to), the skill's current statistics, the validation set's wins/ties/losses
// with a verdict per turn linking to it, and a prominent warning when an edit removes most of a
// skill. Real engine, stand-in judge and evolver.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, closeSession, correctedSession, openSession, openUi, say, screenshot, unlabelled, waitFor } from "./harness.mjs";

let stack, browser, page;

before(async () => {
  ({ stack, browser, page } = await openSession({ stackOptions: { builtin: false } }));
  // The skill the edits below change: learned from a correction and approved.
  await correctedSession(stack, "measure-base");
  const c = await waitFor("the timestamp-offsets candidate", async () => (await api(stack, "GET", "/api/candidates?status=pending")).json?.candidates?.find((x) => x.name === "timestamp-offsets") ?? null, 20_000);
  const r = await api(stack, "POST", `/api/candidates/${c.id}/approve`, {});
  assert.equal(r.status, 200, JSON.stringify(r.json));
});

after(() => closeSession({ stack, browser }));

/** A failed session whose correction makes the stand-in's evolver answer with `directive`. */
async function editCandidate(session, directive, pick) {
  const first = `show the standup time in the notes again ${directive}`;
  await say(stack, session, [first]);
  await say(stack, session, [first, `Echo: ${first}`, "no, the seconds are missing [[judge_score:-1]]"], true);
  return waitFor(`the candidate of ${directive}`, async () => {
    const r = await api(stack, "GET", "/api/candidates?status=pending");
    return r.json?.candidates?.find(pick) ?? null;
  }, 30_000);
}

test("an edit shows as operations with their anchors, with the skill's current stats and the validation set", async () => {
  const cand = await editCandidate("measure-add", "[[evolve_edit_ops:timestamp-offsets]]", (c) => c.action === "edit" && (c.ops ?? []).some((o) => o.op === "add_step"));
  // Once the whole set is judged: the counts grow while it is being replayed.
  const validated = await waitFor("its validation set, complete", async () => {
    const c = (await api(stack, "GET", `/api/candidates/${cand.id}`)).json;
    return c?.validation?.complete ? c : null;
  }, 30_000);
  await openUi(page, stack, `#/review/${cand.id}`);
  await page.locator("#cand-title", { hasText: "timestamp-offsets" }).waitFor();

  // The operations, not a whole-file diff: the added step, after its anchor line.
  const ops = page.locator("#edit-ops");
  await ops.waitFor();
  const add = ops.locator('li[data-op="add_step"]');
  assert.equal(await add.count(), 1);
  assert.match(await add.textContent(), /Added step/);
  assert.match(await add.locator(".op-text").textContent(), /Always include the seconds/);
  const op = validated.ops.find((o) => o.op === "add_step");
  if (op.after) assert.equal(await add.locator(".op-anchor").textContent(), op.after);
  assert.equal(await page.locator("details.whole-diff").count(), 1, "the whole-file diff is folded away");
  assert.equal(await page.locator("#removes-most").count(), 0, "a small edit is not flagged");

  // Wins, ties and losses, and one row per validation turn linking to it.
  const v = validated.validation;
  const wtl = page.locator("#validation-wtl");
  await wtl.waitFor();
  assert.equal(await wtl.getAttribute("aria-label"), `${v.wins} win${v.wins === 1 ? "" : "s"}, ${v.ties} tie${v.ties === 1 ? "" : "s"}, ${v.losses} loss${v.losses === 1 ? "" : "es"}${v.errors ? `, ${v.errors} error${v.errors === 1 ? "" : "s"}` : ""}`);
  assert.ok(v.turns.length >= 1, "the validation set has the failing turn at least");
  assert.equal(await page.locator("#validation-turns tbody tr").count(), v.turns.length);
  for (const t of v.turns) {
    const row = page.locator(`#validation-turns tbody tr:has(a[href="#/turns/${t.turn_id}"])`);
    assert.equal(await row.count(), 1, `a row for turn ${t.turn_id}`);
    assert.match(await row.textContent(), new RegExp(t.verdict));
  }
  // The list badge says the same.
  assert.match(await page.locator(`button.item[data-id="${cand.id}"]`).textContent(), new RegExp(`${v.wins}W ${v.ties}T ${v.losses}L`));

  // The edited skill's statistics as they are now (its verdict, in words).
  const stats = page.locator("#cand-stats");
  await stats.locator(".effect-summary, p.muted").first().waitFor();
  const now = await api(stack, "GET", "/api/skills/timestamp-offsets/stats");
  if (now.status === 200) assert.equal(await stats.locator(".effect-summary").textContent(), now.json.summary);
  assert.deepEqual(await unlabelled(page), []);
  await screenshot(page, "review-measure-ops");

  // Decided, so the next test's candidate is the only edit pending.
  assert.equal((await api(stack, "POST", `/api/candidates/${cand.id}/reject`, { reason: "tested" })).status, 200);
  assert.deepEqual(page.errors, []);
});

// A skill whose first line alone still passes the screen (15 words or more), so an edit removing
// every other line is proposed.
const STANDUP = `---
name: standup-notes
description: Use when writing the standup time or any timestamp into meeting notes.
metadata:
  category: agentic
---

Write every standup time in the notes as ISO 8601 with seconds and the user's +08:00 offset, never a bare local time.
1. Put the time first on its own line.
2. Name the attendees after it.
3. Keep the notes under ten lines.
4. End with the next standup's time.
`;

test("an edit that removes most of the skill shows a prominent warning", async () => {
  assert.equal((await api(stack, "POST", "/api/skills", { name: "standup-notes", content: STANDUP })).status, 200);
  const cand = await editCandidate("measure-gut", "[[evolve_edit_ops:standup-notes:gut]]", (c) => c.name === "standup-notes" && (c.ops ?? []).length > 0 && c.ops.every((o) => o.op === "remove_line"));
  await openUi(page, stack, `#/review/${cand.id}`);
  await page.locator("#cand-title", { hasText: "standup-notes" }).waitFor();
  const warn = page.locator("#removes-most");
  await warn.waitFor();
  assert.match(await warn.textContent(), /removes most of the skill/);
  if (cand.removed_share !== null && cand.removed_share !== undefined) assert.match(await warn.textContent(), new RegExp(`${Math.round(cand.removed_share * 100)}%`));
  // Above the decision buttons, so it is read before approving.
  const order = await page.evaluate(() => {
    const w = document.querySelector("#removes-most");
    const a = document.querySelector("#approve");
    return w && a ? Boolean(w.compareDocumentPosition(a) & Node.DOCUMENT_POSITION_FOLLOWING) : null;
  });
  assert.equal(order, true);
  assert.equal(await page.locator('#edit-ops li[data-op="remove_line"]').count(), cand.ops.length);
  await screenshot(page, "review-measure-removes-most");
  assert.deepEqual(page.errors, []);
});

test("an edit that no longer applies is listed under the Stale tab with why", async () => {
  // The gutting edit of the test above, still pending: its anchor lines go from the skill, so
  // approving it finds the candidate stale.
  const cand = (await api(stack, "GET", "/api/candidates?status=pending")).json.candidates.find((c) => c.name === "standup-notes" && c.action === "edit");
  assert.ok(cand, "the standup-notes edit is pending");
  const rewritten = STANDUP.replace(/\n1\.[\s\S]*$/, "\nOpen the notes with the meeting's date.\nList what each attendee did since the last standup.\n");
  assert.equal((await api(stack, "PUT", "/api/skills/standup-notes", { content: rewritten })).status, 200);
  await openUi(page, stack, `#/review/${cand.id}`);
  await page.locator("#cand-title", { hasText: "standup-notes" }).waitFor();
  await page.locator("#approve").click();
  await page.locator(".toast", { hasText: /stale/ }).waitFor();
  assert.equal((await api(stack, "GET", `/api/candidates/${cand.id}`)).json.status, "stale");

  const tab = page.getByRole("tab", { name: "Stale" });
  await tab.click();
  assert.equal(await tab.getAttribute("aria-selected"), "true");
  await page.locator(`button.item[data-id="${cand.id}"]`).click();
  const decided = page.locator(".candidate .decided");
  await decided.waitFor();
  assert.match(await decided.textContent(), /^Stale /);
  assert.match(await decided.textContent(), /go back to the evolver/);
  assert.equal(await page.locator("#approve").count(), 0, "a stale candidate is not decidable");
  assert.deepEqual(page.errors, []);
});
