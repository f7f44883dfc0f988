// Screenshots of every view, light and dark, as test artifacts (tests/ui/artifacts/), with data in
// them: a candidate waiting, scored turns, an approved skill's generation. Each view must render
// without page errors.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, correctedSession, openBrowser, openUi, say, screenshot, startStack, waitFor } from "./harness.mjs";

let stack;

const VIEWS = ["dashboard", "review", "skills", "history", "training", "turns", "calendars", "settings"];

before(async () => {
  stack = await startStack();
  await correctedSession(stack, "shots-1");
  await waitFor("a candidate", async () => (await api(stack, "GET", "/api/candidates?status=pending")).json?.candidates?.[0]?.replay, 20_000);
  for (let i = 0; i < 6; i++) await say(stack, `shots-${i + 2}`, [`how do I profile a slow checkout page? attempt ${i}`]);
});

after(async () => {
  await stack?.stop();
});

for (const scheme of ["light", "dark"]) {
  test(`every view renders in the ${scheme} theme`, async () => {
    const b = await openBrowser({ colorScheme: scheme });
    try {
      const { page } = b;
      await openUi(page, stack, null);
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), scheme);
      for (const v of VIEWS) {
        await page.evaluate((r) => (location.hash = r), `#/${v}`);
        await page.getByRole("heading", { level: 1 }).waitFor();
        await page.waitForFunction(() => !document.querySelector("[aria-busy=true], .state-loading"), null, { timeout: 8000 }).catch(() => {});
        await screenshot(page, `${v}-${scheme}`);
      }
      // A turn's detail and a skill's page too.
      const turns = await api(stack, "GET", "/api/turns?limit=1");
      await page.evaluate((id) => (location.hash = `#/turns/${id}`), turns.json.turns[0].id);
      await page.getByRole("heading", { name: "Injected skills" }).waitFor();
      await screenshot(page, `turn-detail-${scheme}`);
      await page.evaluate(() => (location.hash = "#/skills/backup-before-batch-changes"));
      await page.waitForFunction(() => !document.querySelector(".state-loading"), null, { timeout: 8000 }).catch(() => {});
      await screenshot(page, `skill-detail-${scheme}`);
      assert.deepEqual(page.errors, []);
    } finally {
      await b.close();
    }
  });
}

test("the theme toggle switches and is remembered", async () => {
  const b = await openBrowser({ colorScheme: "light" });
  try {
    const { page } = b;
    await openUi(page, stack, "#/dashboard");
    await page.locator("#theme-toggle").click(); // system -> light
    await page.locator("#theme-toggle").click(); // light -> dark
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await page.reload();
    await page.waitForSelector("nav[aria-label=Main]");
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
  } finally {
    await b.close();
  }
});
