// The real desktop app under Xvfb, driven through tauri-driver + WebKitWebDriver: it launches,
// the engine answers on its port, the Dashboard shows a proxied turn, and approving a candidate
// in Review works, and the Calendars view's "Sign in with Google" opens the sign-in page in the
// system browser (xdg-open, a recorder here). Prints the launch-to-healthy time and the app's
// resident memory at idle.
// Run by scripts/test.sh (tests/app/) inside xvfb-run + dbus-run-session.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { APP, BIN, sleep, waitFor as waitUpTo } from "./common.mjs";

const waitFor = (what, f, ms = 20_000) => waitUpTo(what, f, ms, 200);

const HERE = path.dirname(new URL(import.meta.url).pathname);
const DRIVER = process.env.TAURI_DRIVER ?? path.join(os.homedir(), ".cargo/bin/tauri-driver");
const WD = "http://127.0.0.1:4444";

function spawnUntil(cmd, args, opts, re, what) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const t = setTimeout(() => reject(new Error(`${what} did not start: ${out}`)), 20_000);
    p.stdout.on("data", (d) => {
      out += d;
      const m = re.exec(out);
      if (m) { clearTimeout(t); resolve({ proc: p, match: m }); }
    });
    p.stderr.on("data", (d) => { out += d; });
    p.on("exit", (c) => { clearTimeout(t); reject(new Error(`${what} exited ${c}: ${out}`)); });
  });
}

async function wd(method, p, body) {
  const r = await fetch(`${WD}${p}`, { method, headers: { "content-type": "application/json" }, body: body ? JSON.stringify(body) : undefined });
  const j = await r.json();
  if (!r.ok) throw new Error(`${method} ${p}: ${JSON.stringify(j)}`);
  return j.value;
}


test("the desktop app hosts the engine and its UI", { timeout: 120_000 }, async () => {
  assert.ok(existsSync(APP), `build the app first: ${APP}`);
  assert.ok(process.env.DISPLAY, "run under xvfb-run");
  const dir = mkdtempSync(path.join(os.tmpdir(), "metaclaw-desktop-"));
  const home = path.join(dir, "home");
  mkdirSync(home);
  const standin = await spawnUntil(path.join(BIN, "metaclaw-standin"), ["--port", "0"], {}, /listening on (http:\/\/\S+)/, "stand-in");
  const google = await spawnUntil(path.join(BIN, "metaclaw-standin"), ["--google"], {}, /listening on (http:\/\/\S+)/, "Google stand-in");
  const g = google.match[1];
  writeFileSync(path.join(home, "config.toml"), [
    "[proxy]", "port = 0", "[upstream]", `base_url = "${standin.match[1]}/v1"`, "[store]", "flush_interval_ms = 20",
    "[judge]", 'model = "standin-judge"', "wait_for_next_secs = 1", "[evolve]", 'model = "standin-evolver"',
    "[calendar.google]", 'client_id = "standin-client"', 'client_secret = "standin-secret"', `auth_url = "${g}/o/oauth2/v2/auth"`,
    `token_url = "${g}/token"`, `revoke_url = "${g}/revoke"`, `api_url = "${g}/calendar/v3"`, "",
  ].join("\n"));
  // The system browser: an xdg-open first on PATH that records what it was asked to open.
  const bin = path.join(dir, "bin");
  const opened = path.join(dir, "opened.txt");
  mkdirSync(bin);
  writeFileSync(path.join(bin, "xdg-open"), `#!/bin/sh\nprintf '%s\\n' "$@" >> ${JSON.stringify(opened)}\n`, { mode: 0o755 });
  // A home of its own: start-at-login writes ~/.config/autostart.
  const config = path.join(dir, ".config");
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, HOME: dir, XDG_CONFIG_HOME: config, METACLAW_HOME: home, METACLAW_NO_KEYRING: "1", METACLAW_LOG: "warn" };
  const driver = spawn(DRIVER, [], { env, stdio: ["ignore", "inherit", "inherit"] });
  let session;
  try {
    await waitFor("tauri-driver", async () => (await fetch(`${WD}/status`)).ok);
    const t0 = performance.now();
    session = (await wd("POST", "/session", { capabilities: { alwaysMatch: { "tauri:options": { application: APP } } } })).sessionId;
    const runtime = path.join(home, "serve.json");
    const base = await waitFor("the engine's runtime file", () => existsSync(runtime) && JSON.parse(readFileSync(runtime, "utf8")).address);
    await waitFor("a healthy proxy", async () => (await fetch(`${base}/healthz`)).ok);
    const launchMs = performance.now() - t0;
    const token = readFileSync(path.join(home, "admin.token"), "utf8").trim();
    const run = (script) => wd("POST", `/session/${session}/execute/sync`, { script, args: [] });
    const text = () => run("return document.body ? document.body.innerText : ''");

    // The window shows the engine's own UI, signed in by the shell.
    await waitFor("the dashboard", async () => (await text()).includes("Dashboard"));
    // A first run opens the setup guide (tests/ui/setup.test.mjs walks it); this test works on the Dashboard.
    await waitFor("the setup guide on a first run", async () => (await text()).includes("Set up MetaClaw"));
    await run("location.hash = '#/dashboard'; return true");
    const say = async (sessionId, history, done) => {
      const headers = { "content-type": "application/json", "x-session-id": sessionId };
      if (done) headers["x-session-done"] = "true";
      const messages = history.map((t, i) => ({ role: i % 2 ? "assistant" : "user", content: t }));
      const r = await fetch(`${base}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model: "desktop-model", messages }) });
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    };
    await say("desktop-e2e", ["hello from the desktop test"]);
    await waitFor("the live turn on the dashboard", async () => (await text()).includes("hello from the desktop test"));

    // A candidate appears; approve it in Review.
    const first = "put the standup time in the notes [[evolve:timestamps]]";
    await say("desktop-review", [first]);
    await say("desktop-review", [first, `Echo: ${first}`, "no, timestamps must carry +08:00 [[judge_score:-1]]"], true);
    const api = async (p) => (await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token}` } })).json();
    await waitFor("a pending candidate", async () => (await api("/api/candidates?status=pending")).candidates.length === 1);
    await run("location.hash = '#/review'; return true");
    await waitFor("the approve button", () => run("return !!document.querySelector('#approve')"));
    await run("document.querySelector('#approve').click(); return true");
    await waitFor("the approval", async () => (await api("/api/candidates?status=approved")).candidates.length === 1);
    const skills = await api("/api/skills?q=timestamp");
    assert.ok(skills.skills.some((s) => s.name === "timestamp-offsets"), JSON.stringify(skills));

    // Calendars: "Sign in with Google" (a click, then the engine's answer) opens Google's page in
    // the system browser, not in the window holding the admin token.
    const click = async (css) => {
      const el = await wd("POST", `/session/${session}/element`, { using: "css selector", value: css });
      await wd("POST", `/session/${session}/element/${Object.values(el)[0]}/click`, {});
    };
    await run("location.hash = '#/calendars'; return true");
    await waitFor("the Google tab", () => run("return !!document.querySelector('[role=tab][data-tab=google]')"));
    await click("[role=tab][data-tab=google]");
    await click("#cal-signin-google");
    // WebKit opens no window once the engine has answered (the click no longer counts): the
    // view offers the page as a focused link instead, and pressing it is the user's own gesture.
    await waitFor("the sign-in link, focused", () => run("return document.activeElement?.classList.contains('signin-open') === true"));
    await click(".signin-open");
    const signin = await waitFor("xdg-open with Google's sign-in page", () => existsSync(opened) && readFileSync(opened, "utf8").trim());
    assert.ok(signin.startsWith(`${g}/o/oauth2/v2/auth?`), `opened: ${signin}`);
    assert.ok((await text()).includes("Waiting for you to sign in with Google"), "the window waits for the browser");
    assert.ok(!(await run("return location.href")).startsWith(g), "the window stays on the engine's UI");

    // A second launch only hands over to the first (single instance) and exits.
    const firstPid = JSON.parse(readFileSync(runtime, "utf8")).pid;
    const second = spawn(APP, [], { env, stdio: "ignore" });
    const code = await new Promise((resolve) => {
      const t = setTimeout(() => { second.kill("SIGKILL"); resolve("still running after 10 s"); }, 10_000);
      second.on("exit", (c) => { clearTimeout(t); resolve(c); });
    });
    assert.equal(code, 0, "the second instance exits");
    assert.equal(JSON.parse(readFileSync(runtime, "utf8")).pid, firstPid, "the first instance still serves");
    assert.ok((await fetch(`${base}/healthz`)).ok);

    // Settings' start-at-login switch reaches the OS (an XDG autostart entry here).
    const entry = path.join(config, "autostart", "MetaClaw.desktop");
    const call = (js) => wd("POST", `/session/${session}/execute/async`, {
      script: `const done = arguments[arguments.length - 1]; Promise.resolve().then(() => ${js}).then((v) => done({ ok: v ?? null }), (e) => done({ err: String(e) }));`,
      args: [],
    });
    assert.deepEqual(await call("window.__METACLAW__.autostart.get()"), { ok: false });
    assert.deepEqual(await call("window.__METACLAW__.autostart.set(true)"), { ok: null });
    assert.ok(existsSync(entry), `no autostart entry at ${entry}: ${JSON.stringify(readdirSync(config, { recursive: true }))}`);
    assert.deepEqual(await call("window.__METACLAW__.autostart.get()"), { ok: true });
    await call("window.__METACLAW__.autostart.set(false)");
    assert.ok(!existsSync(entry), "the autostart entry is removed again");

    // Memory of the whole app: with the window open, then at idle in the tray (window closed,
    // which destroys the webview; the engine keeps serving).
    // Proportional set size: shared libraries count once across the app's processes.
    const pssKb = (pid) => {
      try { return Number(/Pss:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))[1]); } catch { return 0; }
    };
    const children = (pid) => {
      try { return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number); } catch { return []; }
    };
    const appPid = Number(JSON.parse(readFileSync(runtime, "utf8")).pid);
    const appMb = () => {
      const all = [appPid];
      for (let i = 0; i < all.length; i++) all.push(...children(all[i]));
      return { mb: all.reduce((s, p) => s + pssKb(p), 0) / 1024, n: all.length };
    };
    await sleep(2000);
    const open = appMb();
    // Close it as a window manager's close button does (Xvfb has no window manager).
    const closed = spawnSync("/usr/bin/python3", [path.join(HERE, "wm-close.py"), "MetaClaw"], { encoding: "utf8" });
    assert.equal(closed.status, 0, closed.stderr);
    await waitFor("the web process to exit", () => children(appPid).length < open.n - 1, 10_000);
    await sleep(2000);
    const tray = appMb();
    assert.ok((await fetch(`${base}/healthz`)).ok, "the engine keeps serving with the window closed");
    console.log(
      `desktop: launch to healthy proxy ${launchMs.toFixed(0)} ms; memory (PSS) with the window open ${open.mb.toFixed(0)} MB ` +
        `over ${open.n} processes, at idle in the tray ${tray.mb.toFixed(0)} MB over ${tray.n}`,
    );
  } finally {
    if (session) await wd("DELETE", `/session/${session}`).catch(() => {});
    // With its window closed the app outlives the WebDriver session (it lives in the tray), and
    // it holds this runner's output pipes: quit it the way logout does.
    try {
      const pid = JSON.parse(readFileSync(path.join(home, "serve.json"), "utf8")).pid;
      process.kill(pid, "SIGTERM");
      await waitFor("the app to quit", () => { try { process.kill(pid, 0); return false; } catch { return true; } }, 10_000);
    } catch {
      // Already gone (serve.json is removed on a clean stop).
    }
    driver.kill("SIGTERM");
    standin.proc.kill("SIGTERM");
    google.proc.kill("SIGTERM");
    await sleep(300);
    rmSync(dir, { recursive: true, force: true });
  }
});
