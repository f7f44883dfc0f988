// The review flow end to end: a correction becomes a candidate, it shows in Review with its
// evidence and replay verdict, the user approves it in the UI, and it then shows in Skills and
// History. Also: the token leaves the URL, turns and feedback, live updates.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, correctedSession, openBrowser, openUi, say, startStack, waitFor } from "./harness.mjs";

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

test("the token is read from the fragment, kept for the tab and removed from the URL", async () => {
  await openUi(page, stack, null);
  assert.ok(!page.url().includes("token="), `token still in ${page.url()}`);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("metaclaw.token")), stack.token);
  await page.reload();
  await page.waitForSelector("nav[aria-label=Main]");
  await page.getByRole("heading", { level: 1, name: "Dashboard" }).waitFor();
  assert.match(await page.locator("#openai-base").textContent(), /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  await page.locator("#conn-state", { hasText: "Live" }).waitFor();
});

test("a candidate appears, is approved in the UI, and shows in Skills and History", async () => {
  const [a, b] = await correctedSession(stack);
  const cand = await waitFor("a candidate with its replay", async () => {
    const r = await api(stack, "GET", "/api/candidates?status=pending");
    const c = r.json?.candidates?.[0];
    return c?.replay ? c : null;
  }, 20_000);

  await page.evaluate(() => (location.hash = "#/review"));
  await page.getByRole("heading", { level: 1, name: "Review" }).waitFor();
  // The nav shows how many wait.
  await page.locator('nav a[data-route="review"] .count', { hasText: "1" }).waitFor();
  const item = page.locator("button.item", { hasText: "timestamp-offsets" });
  await item.waitFor();
  await page.locator("#cand-title", { hasText: "timestamp-offsets" }).waitFor();
  // Evidence: the failing turns, the judge's reason, the user's correction; the replay verdict.
  await page.locator(`.evidence a[href="#/turns/${a}"]`).waitFor();
  await page.locator(`.evidence a[href="#/turns/${b}"]`).waitFor();
  assert.match(await page.locator(".judge-reason").first().textContent(), /correct/i);
  assert.match(await page.locator(".evidence").textContent(), /timestamps must carry \+08:00/);
  assert.match(await page.locator("#replay-verdict").textContent(), /Improved/);
  assert.match(await page.locator(".candidate").textContent(), /Timestamps with offsets/, "the proposal is rendered");

  await page.locator("#approve").click();
  await page.locator(".toast", { hasText: "Approved timestamp-offsets" }).waitFor();
  const after = await api(stack, "GET", `/api/candidates/${cand.id}`);
  assert.equal(after.json.status, "approved");
  await page.getByText("All caught up").waitFor();

  // Skills: it is there, evolved, and renders.
  await page.getByRole("link", { name: "Skills" }).click();
  await page.getByRole("heading", { level: 1, name: "Skills" }).waitFor();
  await page.locator("#skill-search").fill("timestamp-offsets");
  await page.locator("#skill-origin").selectOption("evolved");
  const skill = page.locator('button.item[data-name="timestamp-offsets"]');
  await skill.waitFor();
  assert.equal(await page.locator("button.item").count(), 1);
  await skill.click();
  await page.locator("#skill-title", { hasText: "timestamp-offsets" }).waitFor();
  assert.match(await page.locator(".skill .md").textContent(), /ISO 8601 with seconds/);

  // History: the approval made a generation, with the reason and the change.
  await page.getByRole("link", { name: "History" }).click();
  const newest = page.locator(".timeline li.gen").first();
  await newest.waitFor();
  assert.match(await newest.textContent(), new RegExp(`approved candidate #${cand.id}`));
  assert.match(await newest.textContent(), /timestamp-offsets/);
  assert.match(await newest.textContent(), /current/);
  // Compare the two generations: the skill was added.
  await newest.getByRole("button", { name: /What changed/ }).click();
  await page.locator("#gen-diff", { hasText: "timestamp-offsets" }).waitFor();
  assert.match(await page.locator("#gen-diff").textContent(), /added/);
  assert.deepEqual(page.errors, []);
});

test("reject asks for a reason and sends it", async () => {
  // The stand-in's evolver proposes an edit of the skill approved above.
  const edit = "fix the timestamps again [[evolve:edit:timestamp-offsets]]";
  await say(stack, "ui-reject-2", [edit]);
  await say(stack, "ui-reject-2", [edit, `Echo: ${edit}`, "no, seconds are missing [[judge_score:-1]]"], true);
  const c = await waitFor("an edit candidate", async () => {
    const r = await api(stack, "GET", "/api/candidates?status=pending");
    return r.json?.candidates?.find((x) => x.action === "edit") ?? null;
  }, 20_000);
  await page.evaluate((id) => (location.hash = `#/review/${id}`), c.id);
  await page.locator("#cand-title", { hasText: c.name }).waitFor();
  // An edit shows a diff of the skill it changes (folded under its operations when it has them).
  if (c.ops?.length) await page.locator("#edit-ops").waitFor();
  else await page.locator(".diff").first().waitFor();
  assert.match(await page.locator(".diff").first().getAttribute("aria-label"), /lines added/);
  await page.locator("#reject").click();
  const dlg = page.getByRole("dialog");
  await dlg.waitFor();
  await page.locator("#reject-reason").fill("too narrow");
  await dlg.getByRole("button", { name: "Reject" }).click();
  await page.locator(".toast", { hasText: `Rejected ${c.name}` }).waitFor();
  const r = await api(stack, "GET", `/api/candidates/${c.id}`);
  assert.equal(r.json.status, "rejected");
  assert.equal(r.json.reason, "too narrow");
});

test("turns list pages and filters, and the detail takes feedback", async () => {
  for (let i = 0; i < 55; i++) await say(stack, "ui-many", Array.from({ length: 2 * i + 1 }, (_, k) => (k % 2 ? `Echo: m${k - 1}` : `m${k}`)));
  await page.evaluate(() => (location.hash = "#/turns"));
  await page.getByRole("heading", { level: 1, name: "Turns" }).waitFor();
  const rows = page.locator(".turns-table tbody tr");
  await waitFor("50 rows", async () => (await rows.count()) === 50);
  await page.locator("#page-older").click();
  await waitFor("page 2", async () => /Page 2/.test((await page.locator(".pager").textContent()) ?? ""));
  assert.ok((await rows.count()) > 0);
  await page.locator("#page-newer").click();
  await waitFor("page 1", async () => /Page 1/.test((await page.locator(".pager").textContent()) ?? ""));

  // Filter by session.
  await page.locator("#f-session").fill("ui-e2e");
  await waitFor("the session's two turns", async () => (await rows.count()) === 2);
  // Filter by score: the corrected turns are -1.
  await page.locator("#f-score").selectOption("-1");
  await waitFor("the failed turns", async () => (await rows.count()) === 2);
  await page.locator("#f-score").selectOption("1");
  await page.getByText("No turns match these filters").waitFor();
  await page.locator("#f-score").selectOption("");

  // Detail and feedback.
  await rows.first().getByRole("link").click();
  await page.getByRole("heading", { name: /Turn #\d+/ }).waitFor();
  await page.getByRole("heading", { name: "Injected skills" }).waitFor();
  await page.getByRole("heading", { name: /Messages sent upstream/ }).waitFor();
  assert.match(await page.locator("#judgement").textContent(), /judge|Not scored/);
  const id = Number((await page.getByRole("heading", { name: /Turn #\d+/ }).textContent()).replace(/\D+/g, ""));
  await page.locator("#fb-note").fill("actually fine");
  await page.locator("#fb-good").click();
  await page.locator("#judgement", { hasText: "your feedback" }).waitFor();
  const t = await api(stack, "GET", `/api/turns/${id}`);
  assert.equal(t.json.judgement.source, "user");
  assert.equal(t.json.judgement.score, 1);
  assert.equal(t.json.judgement.note, "actually fine");
});

test("the dashboard shows new turns live", async () => {
  await page.evaluate(() => (location.hash = "#/dashboard"));
  await page.locator(".live-turns").waitFor();
  const id = await say(stack, "ui-live", ["a brand new live question"]);
  await page.locator(`.live-turns a[href="#/turns/${id}"]`).waitFor({ timeout: 8000 });
  assert.match(await page.locator("#overhead-p50 .stat-value").textContent(), /ms/);
});
