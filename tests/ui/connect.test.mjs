// Connect your agent: the agents list shows installed/wired state and snippets; Connect shows the
// diff before writing, writes the agent's config, and Disconnect puts the file back byte for byte.
// The engine runs with a throwaway HOME, so the real user's agent configs are never touched.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { closeSession, openSession, screenshot, unlabelled } from "./harness.mjs";

// Set before the engine starts: it inherits this process's environment.
const userHome = mkdtempSync(path.join(os.tmpdir(), "metaclaw-ui-user-"));
process.env.HOME = userHome;
for (const k of ["CODEX_HOME", "CLAUDE_CONFIG_DIR", "OPENCLAW_CONFIG_PATH", "OPENCLAW_STATE_DIR", "HERMES_HOME"]) delete process.env[k];
const settings = path.join(userHome, ".claude", "settings.json");
const ORIGINAL = '{\n  "theme": "dark"\n}\n';
mkdirSync(path.dirname(settings), { recursive: true });
writeFileSync(settings, ORIGINAL);

let stack;
let browser;
let page;

before(async () => ({ stack, browser, page } = await openSession({ route: "#/connect", heading: "Connect your agent" })));
after(async () => {
  await closeSession({ stack, browser });
  rmSync(userHome, { recursive: true, force: true });
});

test("every agent is listed with its state; hand-set agents have a copyable snippet", async () => {
  for (const a of ["openclaw", "claude-code", "codex", "hermes", "nanoclaw", "sdk"]) await page.locator(`section[data-agent="${a}"]`).waitFor();
  const claude = page.locator('section[data-agent="claude-code"]');
  assert.equal(await claude.getAttribute("data-state"), "not_wired");
  assert.match(await claude.textContent(), /\/agents\/claude-code\/v1/);
  const sdk = page.locator('section[data-agent="sdk"]');
  assert.match(await sdk.locator("pre").textContent(), /OPENAI_BASE_URL=http:\/\/127\.0\.0\.1:\d+\/agents\/sdk\/v1/);
  await sdk.getByRole("button", { name: /Copy the .* snippet/ }).waitFor();
  assert.deepEqual(await unlabelled(page), [], "every control has a name");
});

test("Connect shows the diff first, writes on confirmation, and Disconnect restores the bytes", async () => {
  await page.locator("#agent-claude-code-connect").click();
  const dlg = page.getByRole("dialog", { name: "Connect Claude Code" });
  await dlg.waitFor();
  assert.match(await dlg.locator(".connect-diff").textContent(), /\+\s+"ANTHROPIC_BASE_URL": "http:\/\/127\.0\.0\.1:\d+\/agents\/claude-code"/);
  assert.equal(readFileSync(settings, "utf8"), ORIGINAL, "nothing written before confirmation");
  await screenshot(page, "connect-diff");
  await dlg.getByRole("button", { name: "Write the change" }).click();
  await page.locator(".toast", { hasText: "Claude Code now sends its requests to MetaClaw" }).waitFor();
  await page.locator('section[data-agent="claude-code"][data-state="wired"]').waitFor();
  assert.match(readFileSync(settings, "utf8"), /"ANTHROPIC_BASE_URL"/);

  // Keyboard only: focus Disconnect, press Enter, confirm.
  await page.locator("#agent-claude-code-disconnect").focus();
  await page.keyboard.press("Enter");
  const confirm = page.getByRole("dialog", { name: "Disconnect Claude Code" });
  await confirm.getByRole("button", { name: "Disconnect" }).click();
  await page.locator('section[data-agent="claude-code"][data-state="not_wired"]').waitFor();
  assert.equal(readFileSync(settings, "utf8"), ORIGINAL, "byte for byte");
});
