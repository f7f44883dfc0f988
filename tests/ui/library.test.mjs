// Skills and History in the UI: create (with the editor's checks), edit, disable/enable, delete to
// the trash and restore; roll back a generation.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, closeSession, openSession } from "./harness.mjs";

let stack;
let browser;
let page;

before(async () => ({ stack, browser, page } = await openSession({ route: "#/skills", heading: "Skills" })));
after(() => closeSession({ stack, browser }));

const SKILL = `---
name: commit-messages
description: Use when writing git commit messages - imperative mood, a short subject line.
metadata:
  category: coding
---

# Commit messages

1. Subject in the imperative, at most 50 characters.
2. A blank line, then **why**, wrapped at 72.
`;

test("create a skill; it renders and is live", async () => {
  await page.locator("#new-skill").click();
  await page.locator("#skill-name").fill("commit-messages");
  await page.locator("#skill-content").fill(SKILL);
  await page.locator(".preview", { hasText: "Subject in the imperative" }).waitFor();
  await page.locator("#skill-problems", { hasText: "Looks valid" }).waitFor();
  await page.locator("#save-skill").click();
  await page.locator(".toast", { hasText: "Created commit-messages" }).waitFor();
  await page.locator("#skill-title", { hasText: "commit-messages" }).waitFor();
  assert.equal(await page.locator(".skill .md strong").first().textContent(), "why");
  const r = await api(stack, "GET", "/api/skills/commit-messages");
  assert.equal(r.json.origin, "user");
});

test("edit: an invalid change shows the engine's problem and keeps the old skill", async () => {
  await page.locator("#edit-skill").click();
  const ta = page.locator("#skill-content");
  await ta.fill(SKILL.replace("name: commit-messages", "name: Commit Messages!"));
  await page.locator("#skill-problems", { hasText: "not a valid name" }).waitFor();
  await page.locator("#save-skill").click();
  await page.locator("#save-error").waitFor();
  assert.equal((await api(stack, "GET", "/api/skills/commit-messages")).status, 200);
  await ta.fill(SKILL.replace("at most 50 characters", "at most 60 characters"));
  await page.locator("#save-skill").click();
  await page.locator(".toast", { hasText: "Saved commit-messages" }).waitFor();
  assert.match((await api(stack, "GET", "/api/skills/commit-messages")).json.content, /60 characters/);
});

test("disable and enable with the switch", async () => {
  const sw = page.getByRole("switch", { name: "Enabled" });
  await sw.waitFor();
  await sw.uncheck();
  await page.locator(".toast", { hasText: "commit-messages disabled" }).waitFor();
  assert.equal((await api(stack, "GET", "/api/skills/commit-messages")).json.enabled, false);
  await page.getByRole("switch", { name: "Enabled" }).check();
  await page.locator(".toast", { hasText: "commit-messages enabled" }).waitFor();
  assert.equal((await api(stack, "GET", "/api/skills/commit-messages")).json.enabled, true);
});

test("delete moves it to the trash, and it restores", async () => {
  await page.locator('button.item[data-name="commit-messages"]').click();
  await page.locator("#delete-skill").click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await page.locator(".toast", { hasText: "moved to the trash" }).waitFor();
  assert.equal((await api(stack, "GET", "/api/skills/commit-messages")).status, 404);
  await page.locator("#show-trash").click();
  await page.getByRole("button", { name: "Restore commit-messages" }).click();
  await page.locator(".toast", { hasText: "Restored commit-messages" }).waitFor();
  assert.equal((await api(stack, "GET", "/api/skills/commit-messages")).status, 200);
});

test("filters by category and origin", async () => {
  await page.locator("#skill-origin").selectOption("user");
  await page.locator('button.item[data-name="commit-messages"]').waitFor();
  assert.equal(await page.locator("button.item").count(), 1);
  await page.locator("#skill-origin").selectOption("");
  await page.locator("#skill-category").selectOption("security");
  await page.waitForFunction(() => [...document.querySelectorAll("button.item")].length > 0 && ![...document.querySelectorAll("button.item")].some((b) => b.dataset.name === "commit-messages"));
  await page.locator("#skill-category").selectOption("");
});

test("history: roll back to the generation before the skill existed", async () => {
  await page.getByRole("link", { name: "History" }).click();
  const gens = (await api(stack, "GET", "/api/generations")).json.generations;
  const first = gens[gens.length - 1].id; // the start: built-ins only
  await page.locator(`button[data-rollback="${first}"]`).click();
  await page.getByRole("dialog").getByRole("button", { name: "Roll back" }).click();
  await page.locator(".toast", { hasText: `Rolled back to #${first}` }).waitFor();
  assert.equal((await api(stack, "GET", "/api/skills/commit-messages")).json?.enabled ?? false, false, "the skill is no longer active");
  const newest = page.locator(".timeline li.gen").first();
  await newest.locator("text=current").waitFor();
  // Compare the first and the newest generation with the form.
  await page.locator("#diff-a").selectOption(String(first));
  await page.locator("#diff-b").selectOption(String((await api(stack, "GET", "/api/generations")).json.generations[0].id));
  await page.locator("#diff-go").click();
  await page.locator("#gen-diff, .state-empty").first().waitFor();
});
