// Issue 17 in the Skills view: per skill, whether it helps, with numbers. Turns judged by the
// stand-in make one skill help (its turns went well, the comparable turns while it was switched
// off did not) and one hurt (the other way round); the Effect column shows their verdicts and
// sorts by effect, uses and name (header buttons with aria-sort), the verdict filter narrows the
// list, the skill page shows the chart over time and its table; pin and unpin; the curator's dry
// run lists what it would do and why, the run archives, and the archive restores.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, closeSession, openSession, openUi, screenshot, sql, unlabelled, waitFor } from "./harness.mjs";

let stack, browser, page;

const skill = (name, description, step) => `---
name: ${name}
description: ${description}
metadata:
  category: coding
---

# ${name}

1. ${step}
`;

/** One judged turn in its own session (the stand-in judge gives `score`). */
async function judgedTurn(session, text, score) {
  const r = await fetch(`${stack.base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-session-id": session, "x-session-done": "true" },
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content: `${text} [[judge_score:${score}]]` }] }),
  });
  assert.equal(r.status, 200, await r.text());
  return Number(r.headers.get("x-metaclaw-turn-id"));
}

async function setEnabled(name, on) {
  const r = await api(stack, "POST", `/api/skills/${name}/${on ? "enable" : "disable"}`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
}

/** `n` turns matching `name`'s subject while it is off (comparison) and on (carried). */
async function measure(name, text, { off, on }) {
  await setEnabled(name, false);
  for (let i = 0; i < off.n; i++) await judgedTurn(`${name}-off-${i}`, text, off.score);
  await setEnabled(name, true);
  for (let i = 0; i < on.n; i++) await judgedTurn(`${name}-on-${i}`, text, on.score);
}

before(async () => {
  ({ stack, browser, page } = await openSession({
    stackOptions: {
      builtin: false,
      // No random holdout: the comparison turns are the ones while a skill was switched off. The
      // curator may archive any unused skill, hand-written ones too.
      config: ["[skills.holdout]", "enabled = false", "[curator]", "unused_days = 1", "include_hand_written = true"],
    },
  }));
  const skills = [
    ["commit-messages", "Use when writing git commit messages - imperative mood, a short subject line.", "Subject in the imperative, at most 50 characters."],
    ["sql-migrations", "Use when writing database schema migrations in SQL.", "Every migration can be rolled back."],
    ["never-used", "Use when feeding the office aquarium fish on holidays.", "Twice a day, a pinch."],
  ];
  for (const [name, d, step] of skills) {
    const r = await api(stack, "POST", "/api/skills", { name, content: skill(name, d, step) });
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
  await measure("commit-messages", "write the git commit message for this change", { off: { n: 6, score: -1 }, on: { n: 6, score: 1 } });
  await measure("sql-migrations", "write the SQL schema migration adding a column", { off: { n: 6, score: 1 }, on: { n: 7, score: -1 } });
  // Everything judged and counted.
  await waitFor("both verdicts", async () => {
    const r = await api(stack, "GET", "/api/skills-stats");
    const by = new Map((r.json?.skills ?? []).map((s) => [s.name, s]));
    return by.get("commit-messages")?.verdict === "helps" && by.get("sql-migrations")?.verdict === "hurts" && by.get("sql-migrations")?.carried.judged === 7 ? r.json : null;
  }, 30_000);
  await openUi(page, stack, "#/skills");
  await page.getByRole("heading", { level: 1, name: "Skills" }).waitFor();
});

after(() => closeSession({ stack, browser }));

const names = () => page.locator("tbody button.item").evaluateAll((bs) => bs.map((b) => b.dataset.name));
const sortOf = (key) => page.locator(`th:has(button[data-sort="${key}"])`).getAttribute("aria-sort");

test("the Effect column shows each verdict with its numbers", async () => {
  const stats = (await api(stack, "GET", "/api/skills-stats")).json.skills;
  const helps = stats.find((s) => s.name === "commit-messages");
  const row = page.locator('tr[data-name="commit-messages"]');
  await row.locator(".verdict-badge").waitFor();
  assert.equal(await row.locator(".verdict-badge").getAttribute("data-verdict"), "helps");
  assert.match(await row.locator(".verdict-badge").textContent(), /helps/);
  const up = (x) => (Math.round(x * 100) > 0 ? `+${Math.round(x * 100)}` : Math.round(x * 100) < 0 ? `−${-Math.round(x * 100)}` : "0");
  assert.equal(await row.locator(".effect-uplift").textContent(), `${up(helps.uplift)} points (${up(helps.uplift_low)} to ${up(helps.uplift_high)})`);
  assert.match(await row.locator(".effect-n").textContent(), /6 carried, 6 judged/);
  assert.equal(await row.locator(".col-uses").textContent(), String(helps.injected));
  assert.equal(await row.locator(".effect").getAttribute("title"), helps.summary);
  assert.equal(await page.locator('tr[data-name="sql-migrations"] .verdict-badge').getAttribute("data-verdict"), "hurts");
  assert.match(await page.locator('tr[data-name="never-used"] .col-effect').textContent(), /not measured|no evidence yet/);
  assert.deepEqual(await unlabelled(page), []);
  await screenshot(page, "skills-effect");
});

test("sorts by effect, uses and name from the header buttons, keyboard included", async () => {
  assert.equal(await sortOf("name"), "ascending");
  assert.deepEqual(await names(), ["commit-messages", "never-used", "sql-migrations"]);
  const effect = page.locator('button[data-sort="effect"]');
  await effect.focus();
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector('th:has(button[data-sort="effect"])')?.getAttribute("aria-sort") === "descending");
  assert.equal(await sortOf("name"), "none");
  assert.deepEqual(await names(), ["commit-messages", "never-used", "sql-migrations"], "helps first, hurts last");
  assert.match(await page.locator("#skill-sort-status").textContent(), /Sorted by effect, descending/);
  await page.keyboard.press("Space");
  await page.waitForFunction(() => document.querySelector('th:has(button[data-sort="effect"])')?.getAttribute("aria-sort") === "ascending");
  assert.deepEqual(await names(), ["sql-migrations", "never-used", "commit-messages"]);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.sort), "effect", "focus stays on the header");

  await page.locator('button[data-sort="uses"]').click();
  assert.equal(await sortOf("uses"), "descending");
  assert.deepEqual(await names(), ["sql-migrations", "commit-messages", "never-used"], "7 uses, 6, none");
  await page.locator('button[data-sort="name"]').click();
  assert.equal(await sortOf("name"), "ascending");
  assert.deepEqual(await names(), ["commit-messages", "never-used", "sql-migrations"]);
});

test("the verdict filter narrows the list", async () => {
  await page.locator("#skill-verdict").selectOption("hurts");
  await page.waitForFunction(() => document.querySelectorAll("tbody button.item").length === 1);
  assert.deepEqual(await names(), ["sql-migrations"]);
  await page.locator("#skill-verdict").selectOption("helps");
  await page.waitForFunction(() => document.querySelector("tbody button.item")?.dataset.name === "commit-messages");
  assert.equal(await page.locator("tbody button.item").count(), 1);
  await page.locator("#skill-verdict").selectOption("");
  await page.waitForFunction(() => document.querySelectorAll("tbody button.item").length === 3);
  // Over one agent's turns: every turn here came without an agent route ("unknown").
  const agents = (await api(stack, "GET", "/api/agents")).json.agents.map((a) => a.agent);
  assert.deepEqual(await page.locator("#skill-stats-agent option").evaluateAll((os) => os.slice(1).map((o) => o.value)), agents);
  await page.locator("#skill-stats-agent").selectOption(agents[0]);
  await page.locator('tr[data-name="commit-messages"] .verdict-badge[data-verdict="helps"]').waitFor();
  await page.locator("#skill-stats-agent").selectOption("");
});

test("the skill page shows its verdict, uses per agent, and a chart with its table", async () => {
  const d = (await api(stack, "GET", "/api/skills/commit-messages/stats")).json;
  await page.locator('button.item[data-name="commit-messages"]').click();
  await page.locator("#skill-title", { hasText: "commit-messages" }).waitFor();
  const sec = page.locator("#skill-effect");
  await sec.locator("#effect-summary").waitFor();
  assert.equal(await sec.locator("#effect-summary").textContent(), d.summary);
  assert.equal(await sec.locator(".verdict-badge").getAttribute("data-verdict"), "helps");
  for (const a of d.by_agent) assert.match(await sec.locator("#effect-uses").textContent(), new RegExp(`${a.agent}: ${a.injected}`));
  // The chart: an image with a text alternative, one dot per series per judged day.
  const svg = sec.locator("#effect-chart svg[role=img]");
  await svg.waitFor();
  assert.match(await svg.getAttribute("aria-label"), /with commit-messages, 6 of 6 judged turns went well; without it, 0 of 6/);
  const days = d.days.filter((x) => x.carried.judged || x.comparison.judged);
  assert.equal(await sec.locator("circle.dot-with").count(), days.filter((x) => x.carried.judged).length);
  assert.equal(await sec.locator("circle.dot-without").count(), days.filter((x) => x.comparison.judged).length);
  // The same numbers as a table.
  await sec.locator("details.effect-numbers summary").click();
  const rows = sec.locator("#effect-table tbody tr");
  assert.equal(await rows.count(), days.length);
  assert.match(await rows.last().textContent(), /100% \(6 of 6\)/);
  assert.match(await rows.last().textContent(), /0% \(0 of 6\)/);
  await screenshot(page, "skills-effect-page");
  assert.deepEqual(page.errors, []);
});

test("pin and unpin", async () => {
  const pin = page.locator("#pin-skill");
  assert.equal(await pin.getAttribute("aria-pressed"), "false");
  await pin.click();
  await page.locator(".toast", { hasText: "Pinned commit-messages" }).waitFor();
  assert.equal((await api(stack, "GET", "/api/skills/commit-messages")).json.pinned, true);
  await page.locator('tr[data-name="commit-messages"] .pinned-mark').waitFor();
  await page.waitForFunction(() => document.querySelector("#pin-skill")?.getAttribute("aria-pressed") === "true");
  await page.locator("#pin-skill").click();
  await page.locator(".toast", { hasText: "Unpinned commit-messages" }).waitFor();
  await page.waitForFunction(() => document.querySelector("#pin-skill")?.getAttribute("aria-pressed") === "false");
  assert.equal((await api(stack, "GET", "/api/skills/commit-messages")).json.pinned, false);
  await page.locator('tr[data-name="commit-messages"] .pinned-mark').waitFor({ state: "detached" });
  // Pinned again: the curator below must leave it alone.
  await page.locator("#pin-skill").click();
  await page.waitForFunction(() => document.querySelector("#pin-skill")?.getAttribute("aria-pressed") === "true");
  await waitFor("the pin", async () => (await api(stack, "GET", "/api/skills/commit-messages")).json.pinned === true);
});

test("Curate… shows the dry run's plan with reasons, then runs it; the archive restores", async () => {
  // Three days pass: every skill became active three days ago, and only the two measured ones
  // were carried since (today). [curator] unused_days = 1.
  sql(stack, "UPDATE generations SET created_at = created_at - 3 * 86400000");
  await page.locator("#curate").click();
  const dlg = page.getByRole("dialog");
  await dlg.locator("#curate-plan").waitFor();
  const plan = dlg.locator("#curate-plan li.curate-action");
  const archive = dlg.locator('#curate-plan li[data-kind="archive"]', { hasText: "never-used" });
  await archive.waitFor();
  assert.ok((await archive.locator(".curate-reason").textContent()).length > 0, "it says why");
  assert.equal(await dlg.locator('#curate-plan li[data-kind="disable"]', { hasText: "sql-migrations" }).count(), 1, "the hurting skill is proposed for disabling");
  assert.equal(await dlg.locator("#curate-plan li", { hasText: "commit-messages" }).count(), 0, "a pinned skill is left alone");
  assert.ok((await plan.count()) >= 2);
  assert.equal((await api(stack, "GET", "/api/skills/never-used")).status, 200, "a dry run changes nothing");
  await screenshot(page, "skills-curate-dry-run");

  await dlg.getByRole("button", { name: "Run the curator" }).click();
  await page.locator(".toast", { hasText: /Curator: archived [1-9]/ }).waitFor();
  assert.equal((await api(stack, "GET", "/api/skills/never-used")).status, 404);
  await page.waitForFunction(() => !document.querySelector('button.item[data-name="never-used"]'));

  await page.locator("#show-archive").click();
  const item = page.locator('#archive li.archive-item[data-name="never-used"]');
  await item.waitFor();
  assert.ok((await item.locator(".archive-reason").textContent()).length > 0);
  await page.getByRole("button", { name: "Restore never-used from the archive" }).click();
  await page.locator(".toast", { hasText: "Restored never-used from the archive" }).waitFor();
  assert.equal((await api(stack, "GET", "/api/skills/never-used")).status, 200);
  await page.locator('button.item[data-name="never-used"]').waitFor();
  await page.locator('#archive li.archive-item[data-name="never-used"]').waitFor({ state: "detached" });
  assert.deepEqual(page.errors, []);
});

test("the curator's proposal to disable a hurting skill shows in Review with its numbers", async () => {
  const cand = await waitFor("the disable proposal", async () => (await api(stack, "GET", "/api/candidates?status=pending")).json?.candidates?.find((c) => c.action === "disable") ?? null);
  assert.equal(cand.name, "sql-migrations");
  await openUi(page, stack, `#/review/${cand.id}`);
  await page.locator("#cand-title", { hasText: "sql-migrations" }).waitFor();
  const box = page.locator("#curator-proposal");
  assert.match(await box.locator("h3").first().textContent(), /proposes disabling sql-migrations/);
  const stats = (await api(stack, "GET", "/api/skills/sql-migrations/stats")).json;
  await box.locator(".effect-summary").waitFor();
  assert.equal(await box.locator(".effect-summary").textContent(), stats.summary);
  assert.equal(await box.locator(".verdict-badge").getAttribute("data-verdict"), "hurts");
  assert.match(await page.locator(`button.item[data-id="${cand.id}"]`).textContent(), /disable/);
  await screenshot(page, "review-curator-disable");
  await page.locator("#approve").click();
  await page.locator(".toast", { hasText: "Approved sql-migrations" }).waitFor();
  assert.equal((await api(stack, "GET", "/api/skills/sql-migrations")).json.enabled, false, "approving switches it off");
  assert.deepEqual(page.errors, []);
});
