// Signed updates, for real: the desktop app (a copy of the debug build, installed in a temp dir
// as a plain binary, the AppImage path of tauri-plugin-updater) checks a local update server
// (update-server.mjs) that offers version 0.2.0, signed with a throwaway minisign key made here.
// A tampered or unsigned download is refused and nothing is replaced; the genuine one is verified, the
// tray offers it (read and clicked over D-Bus, as a panel does, with tests/app/tray_host.py as the
// panel), chosen while a training run is going it waits for the run's step to end, then it is
// installed over the running binary and the app restarts from it with its turns and skills intact.
// The "newer build" is the same build with bytes appended (still a valid ELF, a different file):
// building a second version of the app would cost a full relink. Run by scripts/test.sh inside
// xvfb-run + dbus-run-session; needs minisign and python3-gi (apt).

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, copyFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";

import { startUpdateServer } from "./update-server.mjs";
import { APP, BIN, sleep, trayItem, waitFor } from "./common.mjs";

const trayMenu = (items) => trayItem(items)?.entries ?? [];

const sha = (f) => createHash("sha256").update(readFileSync(f)).digest("hex");

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")}: ${r.stderr}`);
}

/** The app's tray menu as the panel sees it: [{ id, label, enabled }] of its last registered item. */

/** Every file under dir with its hash (the skills as they are on disk). */
function tree(dir) {
  if (!existsSync(dir)) return {};
  const out = {};
  for (const f of readdirSync(dir, { recursive: true })) {
    const p = path.join(dir, f);
    try { out[f] = sha(p); } catch { /* a directory */ }
  }
  return out;
}

test("a signed update is verified, a tampered one refused, the good one installed with the data kept", { timeout: 240_000 }, async () => {
  assert.ok(existsSync(APP), `build the app first: ${APP}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "metaclaw-update-"));
  const home = path.join(dir, "home");
  mkdirSync(home);
  // The installed app, and the release offered: the same build with bytes appended.
  const installed = path.join(dir, "app", "metaclaw-desktop");
  mkdirSync(path.dirname(installed));
  copyFileSync(APP, installed);
  chmodSync(installed, 0o755);
  const release = path.join(dir, "release", "metaclaw-desktop");
  mkdirSync(path.dirname(release));
  copyFileSync(APP, release);
  appendFileSync(release, `\nMETACLAW-UPDATE-TEST 0.2.0 ${Date.now()}\n`);
  const before = sha(installed);
  // Where the app keeps a verified download until it is installed (its cache folder).
  const staged = path.join(dir, ".cache", "dev.metaclaw.desktop", "updates", "metaclaw-0.2.0.update");
  const after = sha(release);

  // A throwaway release key (no password) and the release's signature, as `cargo tauri signer
  // sign` makes them: minisign, with the version in the trusted comment.
  const pub = path.join(dir, "key.pub");
  const sec = path.join(dir, "key.sec");
  run("minisign", ["-G", "-W", "-f", "-p", pub, "-s", sec]);
  const trusted = `timestamp:${Math.floor(Date.now() / 1000)}\tfile:metaclaw-desktop\tversion:0.2.0`;
  run("minisign", ["-S", "-s", sec, "-m", release, "-x", `${release}.sig`, "-t", trusted]);
  const b64 = (f) => readFileSync(f).toString("base64");
  const signature = b64(`${release}.sig`);

  const server = await startUpdateServer();
  const standin = spawn(path.join(BIN, "metaclaw-standin"), ["--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const upstream = await new Promise((resolve, reject) => {
    let out = "";
    standin.stdout.on("data", (d) => { out += d; const m = /listening on (http:\/\/\S+)/.exec(out); if (m) resolve(m[1]); });
    standin.on("exit", (c) => reject(new Error(`stand-in exited ${c}`)));
  });
  writeFileSync(path.join(home, "config.toml"), [
    "[proxy]", "port = 0", "[upstream]", `base_url = "${upstream}/v1"`, "[store]", "flush_interval_ms = 20", "",
  ].join("\n"));
  // The update waits for the tray's "Update available" item; start-at-login already decided so
  // the first run leaves ~/.config alone.
  writeFileSync(path.join(home, "desktop.json"), JSON.stringify({ auto_update: false, autostart_decided: true }));
  // A panel's tray host on this session bus, so the app's tray item and its menu are on the bus.
  const items = path.join(dir, "tray-items.txt");
  const host = spawn("/usr/bin/python3", [path.join(path.dirname(new URL(import.meta.url).pathname), "tray_host.py"), items], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    host.stdout.on("data", (d) => { if (String(d).includes("tray host ready")) resolve(); });
    host.on("exit", (c) => reject(new Error(`the tray host exited ${c} (python3-gi installed?)`)));
  });
  const env = {
    ...process.env, HOME: dir, XDG_CONFIG_HOME: path.join(dir, ".config"), XDG_CACHE_HOME: path.join(dir, ".cache"), METACLAW_HOME: home, METACLAW_NO_KEYRING: "1",
    METACLAW_LOG: "info", METACLAW_UPDATE_URL: server.url, METACLAW_UPDATE_PUBKEY: b64(pub), TMPDIR: dir,
  };
  let log = "";
  const launch = () => {
    const p = spawn(installed, ["--hidden"], { env, stdio: ["ignore", "pipe", "pipe"] });
    p.stdout.on("data", (d) => { log += d; });
    p.stderr.on("data", (d) => { log += d; });
    return p;
  };
  const runtime = () => JSON.parse(readFileSync(path.join(home, "serve.json"), "utf8"));
  const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
  const quit = async (pid) => {
    process.kill(pid, "SIGTERM");
    await waitFor(`process ${pid} to quit`, () => !alive(pid), 15_000);
  };
  try {
    // 1. A tampered download: refused, the installed file untouched, the app still serving.
    server.state.offer = { version: "0.2.0", file: release, signature, tamper: true };
    launch();
    const first = await waitFor("the engine's runtime file", () => existsSync(path.join(home, "serve.json")) && runtime());
    await waitFor("a healthy proxy", async () => (await fetch(`${first.address}/healthz`)).ok);
    const r = await fetch(`${first.address}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-session-id": "update-e2e" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "remember me across the update" }] }),
    });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    await waitFor("the refusal", () => /refused/.test(log));
    assert.match(log, /the update to version 0\.2\.0 was refused: it is not signed with MetaClaw's release key.*Nothing was changed/);
    assert.equal(server.state.downloads, 1);
    const refusedItem = await waitFor("the tray's refusal", () => trayMenu(items).find((e) => e.label.startsWith("Update 0.2.0")));
    assert.deepEqual([refusedItem.label, refusedItem.enabled], ["Update 0.2.0 refused: not signed by MetaClaw", false]);
    assert.equal(sha(installed), before, "the tampered payload replaced nothing");
    assert.ok(!existsSync(staged), "a refused download is not kept");
    assert.ok(alive(first.pid) && (await fetch(`${first.address}/healthz`)).ok, "the old version still runs");
    assert.doesNotMatch(log, /restarting/);
    const token = readFileSync(path.join(home, "admin.token"), "utf8").trim();
    const api = async (base, p) => (await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token}` } })).json();
    await waitFor("the turn on disk", async () => JSON.stringify(await api(first.address, "/api/turns")).includes("remember me across the update"));
    const skillsBefore = await api(first.address, "/api/skills");
    const skillFiles = tree(path.join(home, "skills"));
    await quit(first.pid);

    // 2. An unsigned release (no signature in latest.json): refused the same way.
    log = "";
    server.state.offer = { version: "0.2.0", file: release, signature: "" };
    launch();
    const unsigned = await waitFor("the app", () => existsSync(path.join(home, "serve.json")) && runtime());
    await waitFor("the refusal of the unsigned release", () => /refused/.test(log));
    assert.match(log, /the update to version 0\.2\.0 was refused: .*Nothing was changed/);
    assert.equal(sha(installed), before, "the unsigned payload replaced nothing");
    assert.ok((await fetch(`${unsigned.address}/healthz`)).ok, "the old version still runs");
    await quit(unsigned.pid);

    // 3. The genuine release: verified, installed, restarted from the new file, data intact.
    // Training is on, with a run kept going (its tokenizer download held by the server's hub).
    log = "";
    writeFileSync(path.join(home, "config.toml"), [
      "[proxy]", "port = 0", "[upstream]", `base_url = "${upstream}/v1"`, "[store]", "flush_interval_ms = 20",
      "[train]", "enabled = true", 'base_model = "standin/held-run"', 'base_url = "http://127.0.0.1:9"',
      `hub_url = "${server.state.base}/hub"`, "",
    ].join("\n"));
    server.state.offer = { version: "0.2.0", file: release, signature, once: true };
    launch();
    await waitFor("the verified update", () => /update available: version 0\.2\.0, signature verified/.test(log));
    // The tray offers it; nothing is installed until the user chooses it.
    const offered = await waitFor("the tray's update item", () => trayMenu(items).find((e) => e.label.startsWith("Update available")));
    assert.equal(offered.label, "Update available — version 0.2.0");
    assert.ok(offered.enabled);
    assert.equal(sha(installed), before, "nothing installed before the user chooses the update");
    assert.equal(sha(staged), after, "the verified download waits in the cache folder, not in memory");
    const third = runtime();
    const post = await fetch(`${third.address}/api/train/run-now`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    assert.ok([202, 409].includes(post.status), `run-now: ${post.status} ${await post.text()}`); // 409: a run already going
    await waitFor("a training run", async () => (await api(third.address, "/api/status")).training === "training" && server.state.hubRequests > 0);
    offered.click();
    // Chosen mid-run: it waits for the step boundary, with nothing replaced yet.
    await waitFor("the wait for the training step", () => /waiting for the training step to finish before updating/.test(log));
    assert.equal(sha(installed), before, "nothing installed while a training step runs");
    assert.doesNotMatch(log, /restarting/);
    assert.equal((await api(third.address, "/api/status")).training, "training");
    server.state.releaseHub(); // the run ends (its tokenizer is not found)
    await waitFor("the restart", () => /installed version 0\.2\.0; restarting/.test(log));
    const second = await waitFor("the restarted app", () => {
      const rt = existsSync(path.join(home, "serve.json")) && runtime();
      return rt && rt.pid !== first.pid && /up to date|updates are off/.test(log) && rt;
    }, 60_000);
    await waitFor("the restarted proxy", async () => (await fetch(`${second.address}/healthz`)).ok);
    assert.equal(sha(installed), after, "the installed file is the release");
    assert.ok(!existsSync(staged), "the installed download is cleaned up");
    assert.equal(readFileSync(`/proc/${second.pid}/cmdline`, "utf8").split("\0")[0], installed);
    assert.equal(sha(`/proc/${second.pid}/exe`), after, "the running app is the new build");
    assert.ok(JSON.stringify(await api(second.address, "/api/turns")).includes("remember me across the update"), "turns kept");
    assert.deepEqual(await api(second.address, "/api/skills"), skillsBefore, "skills kept");
    assert.deepEqual(tree(path.join(home, "skills")), skillFiles, "skill files unchanged");
    await quit(second.pid);
  } finally {
    try { const rt = runtime(); if (alive(rt.pid)) process.kill(rt.pid, "SIGTERM"); } catch { /* stopped */ }
    standin.kill("SIGTERM");
    host.kill("SIGTERM");
    server.close();
    await sleep(300);
    if (process.env.KEEP_UPDATE_TEST) console.log(`kept ${dir}\n${log}`);
    else rmSync(dir, { recursive: true, force: true });
  }
});
