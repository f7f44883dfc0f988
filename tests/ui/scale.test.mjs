// Scale: with 10,000 turns and 1,000+ skills every view renders promptly, and lists stay paged (the
// DOM holds one page, not everything). Timings go to tests/ui/artifacts/scale.json.

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { ARTIFACTS, openBrowser, openUi, startStack } from "./harness.mjs";

const TURNS = Number(process.env.UI_SCALE_TURNS ?? 10_000);
const SKILLS = Number(process.env.UI_SCALE_SKILLS ?? 1000);
// Generous: the CI machine has two cores, often busy compiling.
const BUDGET_MS = Number(process.env.UI_SCALE_BUDGET_MS ?? 3000);

let stack;
let browser;
let page;
const timings = {};

before(async () => {
  stack = await startStack({ learning: false, skills: SKILLS });
  let next = 0;
  const worker = async () => {
    while (next < TURNS) {
      const i = next++;
      const r = await fetch(`${stack.base}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-session-id": `scale-${i % 200}` },
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: `question ${i}: how do I profile a slow page?` }] }),
      });
      await r.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  browser = await openBrowser();
  page = browser.page;
  await openUi(page, stack, null);
});

after(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(path.join(ARTIFACTS, "scale.json"), JSON.stringify({ turns: TURNS, skills: SKILLS, timings_ms: timings }, null, 2));
  await browser?.close();
  await stack?.stop();
});

async function timed(name, go, ready) {
  const t0 = Date.now();
  await go();
  await ready();
  timings[name] = Date.now() - t0;
  assert.ok(timings[name] < BUDGET_MS, `${name} took ${timings[name]} ms (budget ${BUDGET_MS})`);
}

const hash = (h) => () => page.evaluate((x) => (location.hash = x), h);

test("turns: the newest page, the next page and a session filter", async () => {
  const rows = page.locator(".turns-table tbody tr");
  await timed("turns", hash("#/turns"), () => page.waitForFunction(() => document.querySelectorAll(".turns-table tbody tr").length === 50));
  await timed("turns-older", () => page.locator("#page-older").click(), () => page.locator(".pager", { hasText: "Page 2" }).waitFor());
  assert.equal(await rows.count(), 50);
  await timed("turns-session", () => page.locator("#f-session").fill("scale-7"), () => page.waitForFunction(() => [...document.querySelectorAll(".turns-table tbody tr td.mono")].every((td) => td.title === "scale-7") && document.querySelectorAll(".turns-table tbody tr").length === 50));
  await page.locator("#f-session").fill("");
});

test("skills: 1,000+ skills render a page at a time", async () => {
  await timed("skills", hash("#/skills"), () => page.locator("button.item").nth(99).waitFor());
  assert.equal(await page.locator("button.item").count(), 100, "one page in the DOM");
  assert.match(await page.locator("#skill-count").textContent(), new RegExp(`${(SKILLS + 48).toLocaleString()}|${SKILLS + 48}`));
  await timed("skills-more", () => page.locator("button.more").click(), () => page.locator("button.item").nth(199).waitFor());
  await timed("skills-search", () => page.locator("#skill-search").fill("bulk-skill-0999"), () => page.waitForFunction(() => document.querySelectorAll("button.item").length === 1));
  await page.locator("#skill-search").fill("");
});

test("dashboard, history and review stay quick", async () => {
  await timed("dashboard", hash("#/dashboard"), () => page.locator(".live-turns li").first().waitFor());
  await timed("history", hash("#/history"), () => page.locator(".timeline li.gen").first().waitFor());
  await timed("review", hash("#/review"), () => page.getByText("Nothing to review").or(page.getByText("All caught up")).first().waitFor());
  assert.deepEqual(page.errors, []);
});
