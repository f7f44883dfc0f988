// Test harness for the UI: the stand-in upstream (also judge and evolver), a real `metaclaw serve`
// on a temp METACLAW_HOME, the built UI (served by the engine itself when it does, else by
// tests/ui/serve.mjs in front of it), and Debian's Chromium driven by playwright-core.

import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startStatic } from "./serve.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, "../..");
export const DIST = path.join(ROOT, "ui/dist");
export const ARTIFACTS = path.join(here, "artifacts");
const TARGET = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), ".cache/metaclaw/target");
export const BIN = process.env.METACLAW_BIN_DIR ?? path.join(TARGET, "debug");

/** Spawns `cmd` and resolves with the first stdout match of `re` (or rejects on exit/timeout). */
function spawnUntil(cmd, args, opts, re, what, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`${what} did not start in ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err.slice(-2000)}`)), timeoutMs);
    p.stdout.on("data", (d) => {
      out += d;
      const m = re.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc: p, match: m, stderr: () => err });
      }
    });
    p.stderr.on("data", (d) => {
      err += d;
      if (err.length > 200_000) err = err.slice(-100_000);
    });
    p.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}\nstdout: ${out}\nstderr: ${err.slice(-2000)}`));
    });
  });
}

function stop(proc) {
  return new Promise((resolve) => {
    // Already gone (exited, or killed by a signal: then exitCode stays null).
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
    proc.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill("SIGTERM");
  });
}

/**
 * Starts the stand-in and `metaclaw serve`. `learning` configures the stand-in's judge and
 * evolver; `skills` writes that many extra user skills first (for paging tests). `tinker` also
 * starts the stand-in of the Tinker training service (`metaclaw-standin --tinker`, with its test
 * tokenizer) and turns policy training on against it: every model's chat turns are then answered
 * by the policy ("sure thing"), and two scored turns make a batch. `config` is extra TOML lines
 * appended to config.toml. The first-run guide is dismissed unless `setupGuide` is true.
 */
export async function startStack({ learning = true, skills = 0, builtin = true, tinker = false, config = [], setupGuide = false } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "metaclaw-ui-"));
  const home = path.join(dir, "home");
  mkdirSync(home);
  const standin = await spawnUntil(path.join(BIN, "metaclaw-standin"), ["--port", "0"], {}, /listening on (http:\/\/\S+)/, "metaclaw-standin");
  const upstream = standin.match[1];
  let trainer = null;
  let tinkerUrl = null;
  if (tinker) {
    const tokenizer = path.join(dir, "tokenizer");
    mkdirSync(tokenizer);
    try {
      trainer = await spawnUntil(path.join(BIN, "metaclaw-standin"), ["--tinker", tokenizer], {}, /listening on (http:\/\/\S+)/, "metaclaw-standin --tinker");
    } catch (e) {
      await stop(standin.proc);
      throw e;
    }
    tinkerUrl = trainer.match[1];
  }
  const cfg = [
    "[proxy]",
    "port = 0",
    "[upstream]",
    `base_url = "${upstream}/v1"`,
    "[store]",
    "flush_interval_ms = 20",
    "[skills]",
    `builtin = ${builtin}`,
  ];
  if (learning) cfg.push("[judge]", 'model = "standin-judge"', "wait_for_next_secs = 1", "[evolve]", 'model = "standin-evolver"');
  if (tinker)
    cfg.push(
      "[train]",
      "enabled = true",
      'base_model = "standin/tiny-chat"',
      `base_url = "${tinkerUrl}"`,
      'serve_models = ["*"]',
      "min_batch = 2",
      `tokenizer_dir = ${JSON.stringify(path.join(dir, "tokenizer"))}`,
    );
  cfg.push(...config);
  writeFileSync(path.join(home, "config.toml"), cfg.join("\n") + "\n");
  for (let i = 0; i < skills; i++) {
    const name = `bulk-skill-${String(i).padStart(4, "0")}`;
    mkdirSync(path.join(home, "skills", name), { recursive: true });
    writeFileSync(
      path.join(home, "skills", name, "SKILL.md"),
      `---\nname: ${name}\ndescription: Use when testing paging number ${i} of the skill list.\nmetadata:\n  category: ${["coding", "writing", "research", "agentic"][i % 4]}\n---\n\n# Bulk skill ${i}\n\n1. Do the thing number ${i}.\n`,
    );
  }
  const env = { ...process.env, METACLAW_UI_DIR: process.env.METACLAW_UI_DIR ?? DIST, METACLAW_HOME: home, METACLAW_NO_KEYRING: process.env.METACLAW_NO_KEYRING ?? "1", METACLAW_LOG: "warn" };
  delete env.METACLAW_UPSTREAM_API_KEY;
  let serve;
  try {
    serve = await spawnUntil(path.join(BIN, "metaclaw"), ["serve"], { env }, /MetaClaw listening on (http:\/\/[^/\s]+)/, "metaclaw serve");
  } catch (e) {
    await stop(trainer?.proc);
    await stop(standin.proc);
    throw e;
  }
  const base = serve.match[1];
  const token = readFileSync(path.join(home, "admin.token"), "utf8").trim();
  // A fresh engine opens the first-run guide; tests of other views start past it (setupGuide: true keeps it).
  if (!setupGuide)
    await fetch(`${base}/api/setup`, { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: '{"action":"dismissed"}' }).catch(() => null);
  // The engine serves the UI itself once static serving lands; until then, serve.mjs does.
  let ui = base;
  let stat = null;
  const root = await fetch(`${base}/`).then(async (r) => ({ ok: r.ok, text: await r.text() })).catch(() => ({ ok: false, text: "" }));
  if (!root.ok || !root.text.includes('id="app"')) {
    stat = await startStatic({ dist: DIST, target: base });
    ui = stat.url;
  }
  return {
    dir,
    home,
    upstream,
    tinker: tinkerUrl,
    base,
    token,
    ui,
    servedByEngine: stat === null,
    engineLog: () => serve.stderr(),
    async stop() {
      await stat?.close();
      await stop(serve.proc);
      await stop(trainer?.proc);
      await stop(standin.proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One chat turn through the proxy (header sessions, like the Rust tests), through an agent's own
 * route `/agents/<agent>/v1` when `agent` is given. Returns the turn id. */
export async function say(stack, session, history, done = false, agent = null) {
  const messages = history.map((t, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content: t }));
  const headers = { "content-type": "application/json", "x-session-id": session };
  if (done) headers["x-session-done"] = "true";
  const route = agent ? `/agents/${agent}/v1` : "/v1";
  const r = await fetch(`${stack.base}${route}/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model: "m", messages }) });
  if (r.status !== 200) throw new Error(`chat: HTTP ${r.status}: ${await r.text()}`);
  await r.arrayBuffer();
  return Number(r.headers.get("x-metaclaw-turn-id"));
}

/** A session where the user corrects the agent and it ends: the evolver proposes `timestamp-offsets`. */
export async function correctedSession(stack, session = "ui-e2e") {
  const first = "put the standup time in the notes [[evolve:timestamps]]";
  const a = await say(stack, session, [first]);
  const b = await say(stack, session, [first, `Echo: ${first}`, "no, timestamps must carry +08:00 [[judge_score:-1]]"], true);
  return [a, b];
}

export async function api(stack, method, p, body) {
  const r = await fetch(`${stack.base}${p}`, {
    method,
    headers: { authorization: `Bearer ${stack.token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, json };
}

export async function waitFor(what, f, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Debian's Chromium in a new, empty profile. `page.errors` collects page errors and console errors. */
export async function openBrowser({ colorScheme = "light" } = {}) {
  const profile = mkdtempSync(path.join(os.tmpdir(), "metaclaw-ui-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1360, height: 900 },
    colorScheme,
    reducedMotion: "reduce",
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  page.errors = errors;
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Opens the UI the way `metaclaw serve`'s printed link does: the token in the fragment. */
export async function openUi(page, stack, route = "#/dashboard") {
  await page.goto(`${stack.ui}/#token=${stack.token}`);
  await page.waitForSelector("nav[aria-label=Main]");
  if (route) await page.evaluate((r) => (location.hash = r), route);
}

/**
 * The usual test file's setup: a stack (engine + stand-in), a browser, and the UI open at `route`
 * once its `heading` shows. Pair with `closeSession`.
 */
export async function openSession({ stackOptions = { learning: false }, route = null, heading = null } = {}) {
  const stack = await startStack(stackOptions);
  const browser = await openBrowser();
  const page = browser.page;
  if (route) {
    await openUi(page, stack, route);
    if (heading) await page.getByRole("heading", { level: 1, name: heading }).waitFor();
  }
  return { stack, browser, page };
}

export async function closeSession({ stack, browser } = {}) {
  await browser?.close();
  await stack?.stop();
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Every form control has an accessible name; every button too. Returns the offenders. */
export async function unlabelled(page) {
  return page.evaluate(() => {
    const bad = [];
    for (const el of document.querySelectorAll("input, select, textarea, button")) {
      if (el.type === "hidden" || el.closest("[hidden]")) continue;
      const named = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby") || (el.tagName === "BUTTON" && el.textContent.trim());
      if (!named) bad.push(el.outerHTML.slice(0, 120));
    }
    return bad;
  });
}

/**
 * Runs one SQL statement on the engine's database while it runs (Python's sqlite3, waiting out
 * the writer's lock), for what a test cannot wait for in real time (e.g. days passing: shift
 * timestamps back). Returns the rows as JSON.
 */
export function sql(stack, statement) {
  const py = "import json,sqlite3,sys\nc=sqlite3.connect(sys.argv[1],timeout=10)\nr=c.execute(sys.argv[2]).fetchall()\nc.commit()\nprint(json.dumps(r))";
  return JSON.parse(execFileSync("python3", ["-c", py, path.join(stack.home, "metaclaw.db"), statement], { encoding: "utf8" }));
}
