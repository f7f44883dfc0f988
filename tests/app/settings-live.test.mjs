// Settings apply live in the desktop app, and a new listen address restarts it by itself: the
// real app (the debug build), its port changed through the admin API as the Settings page does;
// the app stops its engine cleanly, comes back on the new port with the same data, and the old
// port is closed; a port already taken leaves it where it listens. Run by scripts/test.sh inside
// xvfb-run + dbus-run-session.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { APP, BIN, sleep, waitFor as waitUpTo, startStandin } from "./common.mjs";

const waitFor = (what, f, ms = 60_000) => waitUpTo(what, f, ms);



/** A port nothing listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("a new port saved while the desktop app runs restarts it there, data intact", { timeout: 180_000 }, async () => {
  assert.ok(existsSync(APP), `build the app first: ${APP}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "metaclaw-settings-live-"));
  const home = path.join(dir, "home");
  mkdirSync(home);
  const { proc: standin, url: standinUrl } = startStandin();
  let app = null;
  let pids = [];
  let log = "";
  try {
    const upstream = await standinUrl;
    const first = await freePort();
    writeFileSync(path.join(home, "config.toml"), ["[proxy]", `port = ${first}`, "[upstream]", `base_url = "${upstream}/v1"`, "[store]", "flush_interval_ms = 20", ""].join("\n"));
    writeFileSync(path.join(home, "desktop.json"), JSON.stringify({ auto_update: false, autostart_decided: true, notifications: false }));
    const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: path.join(dir, ".config"), METACLAW_HOME: home, METACLAW_NO_KEYRING: "1", METACLAW_LOG: "info", TMPDIR: dir };
    app = spawn(APP, ["--hidden"], { env, stdio: ["ignore", "pipe", "pipe"] });
    app.stdout.on("data", (d) => (log += d));
    app.stderr.on("data", (d) => (log += d));
    const runtime = () => existsSync(path.join(home, "serve.json")) && JSON.parse(readFileSync(path.join(home, "serve.json"), "utf8"));
    const before = await waitFor("the engine's runtime file", runtime);
    pids.push(before.pid);
    const base = `http://127.0.0.1:${first}`;
    assert.equal(before.address, base);
    await waitFor("a healthy proxy", async () => (await fetch(`${base}/healthz`)).ok);
    const chat = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "remember me" }] }),
    });
    assert.equal(chat.status, 200);
    const turn = Number(chat.headers.get("x-metaclaw-turn-id"));
    await chat.arrayBuffer();

    // Save a new port, as the Settings page does.
    const token = readFileSync(path.join(home, "admin.token"), "utf8").trim();
    const auth = { authorization: `Bearer ${token}` };
    const shown = await (await fetch(`${base}/api/config`, { headers: auth })).json();
    const second = await freePort();
    const config = { ...shown.config, proxy: { ...shown.config.proxy, port: second } };
    const saved = await fetch(`${base}/api/config`, { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ config }) });
    assert.equal(saved.status, 200, await saved.clone().text());
    assert.deepEqual((await saved.json()).restart, ["listen_address"]);

    // The app restarts itself on the new port: a new process, the same data.
    const next = `http://127.0.0.1:${second}`;
    const after = await waitFor("the app back on the new port", async () => {
      const r = runtime();
      return r && r.address === next && (await fetch(`${next}/healthz`)).ok && r;
    });
    pids.push(after.pid);
    assert.notEqual(after.pid, before.pid, "a new process");
    await waitFor("the first process gone", () => app.exitCode !== null || app.signalCode !== null);
    assert.equal(app.exitCode, 0, "the first process exited cleanly");
    const got = await fetch(`${next}/api/turns/${turn}`, { headers: auth });
    assert.equal(got.status, 200, "the turn recorded before the restart is still there");
    await assert.rejects(fetch(`${base}/healthz`), "nothing listens on the old port");
  } catch (e) {
    e.message += `\napp log:\n${log.slice(-3000)}`;
    throw e;
  } finally {
    for (const pid of pids.filter(alive)) {
      process.kill(pid, "SIGTERM");
      await waitFor(`process ${pid} to stop`, () => !alive(pid), 20_000).catch(() => process.kill(pid, "SIGKILL"));
    }
    if (app && app.exitCode === null && app.signalCode === null) app.kill("SIGKILL");
    standin.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a port already taken is not restarted onto: the app stays where it listens", { timeout: 120_000 }, async () => {
  assert.ok(existsSync(APP), `build the app first: ${APP}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "metaclaw-settings-taken-"));
  const home = path.join(dir, "home");
  mkdirSync(home);
  const taken = net.createServer();
  await new Promise((r) => taken.listen(0, "127.0.0.1", r));
  let app = null;
  let log = "";
  try {
    const first = await freePort();
    writeFileSync(path.join(home, "config.toml"), ["[proxy]", `port = ${first}`, "[upstream]", 'base_url = "http://127.0.0.1:9/v1"', ""].join("\n"));
    writeFileSync(path.join(home, "desktop.json"), JSON.stringify({ auto_update: false, autostart_decided: true, notifications: false }));
    const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: path.join(dir, ".config"), METACLAW_HOME: home, METACLAW_NO_KEYRING: "1", METACLAW_LOG: "info", TMPDIR: dir };
    app = spawn(APP, ["--hidden"], { env, stdio: ["ignore", "pipe", "pipe"] });
    app.stdout.on("data", (d) => (log += d));
    app.stderr.on("data", (d) => (log += d));
    const base = `http://127.0.0.1:${first}`;
    await waitFor("a healthy proxy", async () => (await fetch(`${base}/healthz`)).ok);
    const token = readFileSync(path.join(home, "admin.token"), "utf8").trim();
    const auth = { authorization: `Bearer ${token}` };
    const shown = await (await fetch(`${base}/api/config`, { headers: auth })).json();
    const config = { ...shown.config, proxy: { ...shown.config.proxy, port: taken.address().port } };
    const saved = await fetch(`${base}/api/config`, { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ config }) });
    assert.equal(saved.status, 200);
    await waitFor("the app to say it stays", () => log.includes("the new listen address can't be used"));
    assert.equal(app.exitCode, null, "the app still runs");
    assert.ok((await fetch(`${base}/healthz`)).ok, "and still answers where it listens");
  } catch (e) {
    e.message += `\napp log:\n${log.slice(-3000)}`;
    throw e;
  } finally {
    if (app && app.exitCode === null && app.signalCode === null) {
      const gone = new Promise((r) => app.once("exit", r));
      app.kill("SIGTERM");
      await Promise.race([gone, sleep(15_000)]);
    }
    taken.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
