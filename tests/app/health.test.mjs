// The tray follows health, for real: the desktop app (the debug build) with a panel's tray host on
// the session bus (tests/app/tray_host.py); an upstream answering 500s turns the tray's status line
// to "upstream failing: …" and its icon to the error badge, and a good turn brings "healthy" back.
// Run by scripts/test.sh inside xvfb-run + dbus-run-session; needs python3-gi (apt).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { APP, BIN, sleep, trayItem as tray, waitFor, startStandin } from "./common.mjs";




async function chat(base, text) {
  const r = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-session-id": "tray-health" },
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content: text }] }),
  });
  await r.arrayBuffer();
  return r.status;
}

test("the tray's status line and icon follow the engine's health", { timeout: 120_000 }, async () => {
  assert.ok(existsSync(APP), `build the app first: ${APP}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "metaclaw-tray-health-"));
  const home = path.join(dir, "home");
  mkdirSync(home);
  const { proc: standin, url: standinUrl } = startStandin();
  const items = path.join(dir, "tray-items.txt");
  const host = spawn("/usr/bin/python3", [path.join(path.dirname(new URL(import.meta.url).pathname), "tray_host.py"), items], { stdio: ["ignore", "pipe", "inherit"] });
  let app = null;
  let log = "";
  try {
    const upstream = await standinUrl;
    await new Promise((resolve, reject) => {
      host.stdout.on("data", (d) => {
        if (String(d).includes("tray host ready")) resolve();
      });
      host.on("exit", (c) => reject(new Error(`the tray host exited ${c} (python3-gi installed?)`)));
    });
    writeFileSync(path.join(home, "config.toml"), ["[proxy]", "port = 0", "[upstream]", `base_url = "${upstream}/v1"`, "[store]", "flush_interval_ms = 20", ""].join("\n"));
    writeFileSync(path.join(home, "desktop.json"), JSON.stringify({ auto_update: false, autostart_decided: true, notifications: false }));
    const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: path.join(dir, ".config"), METACLAW_HOME: home, METACLAW_NO_KEYRING: "1", METACLAW_LOG: "info", TMPDIR: dir };
    app = spawn(APP, ["--hidden"], { env, stdio: ["ignore", "pipe", "pipe"] });
    app.stdout.on("data", (d) => (log += d));
    app.stderr.on("data", (d) => (log += d));
    const runtime = await waitFor("the engine's runtime file", () => existsSync(path.join(home, "serve.json")) && JSON.parse(readFileSync(path.join(home, "serve.json"), "utf8")));
    const base = runtime.address;
    await waitFor("a healthy proxy", async () => (await fetch(`${base}/healthz`)).ok);

    const healthy = await waitFor("a healthy tray", () => {
      const t = tray(items);
      return t && t.labels[0]?.endsWith("healthy") && t;
    });
    const iconHealthy = healthy.prop("IconName");

    for (let i = 0; i < 3; i++) assert.equal(await chat(base, "hello [[status:500]]"), 500);
    const failing = await waitFor("the tray saying the upstream fails", () => {
      const t = tray(items);
      return t && /upstream failing: the upstream is having trouble/.test(t.labels[0] ?? "") && t;
    });
    assert.ok(failing.labels[0].length <= 140, `the menu line is clipped: ${failing.labels[0]}`);
    await waitFor("the error icon", () => tray(items).prop("IconName") !== iconHealthy);

    assert.equal(await chat(base, "hello again"), 200);
    await waitFor("a healthy tray again", () => tray(items).labels[0]?.endsWith("healthy"));
  } catch (e) {
    e.message += `\napp log:\n${log.slice(-3000)}`;
    throw e;
  } finally {
    if (app && app.exitCode === null && app.signalCode === null) {
      const gone = new Promise((r) => app.once("exit", r));
      app.kill("SIGTERM");
      await Promise.race([gone, sleep(15_000)]);
    }
    host.kill();
    standin.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
