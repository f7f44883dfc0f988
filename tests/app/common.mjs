// What the desktop app's tests share: where the debug app is, waiting for a condition, and the
// app's tray item as a panel sees it over D-Bus (the items file that tests/app/tray_host.py
// writes: one "<owner> <object path>" line per registered item).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export const TARGET = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), ".cache/metaclaw/target");
export const BIN = path.join(TARGET, "debug");
export const APP = path.join(BIN, "metaclaw-desktop");
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `f` every `every` ms until it returns something truthy; fails after `ms` with the last answer. */
export async function waitFor(what, f, ms = 30_000, every = 100) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await f();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(every);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

/**
 * The newest registered tray item: `prop(name)` reads one of its StatusNotifierItem properties,
 * `entries` is its menu (id, label, enabled, click()), `labels` the menu's labels; null before
 * any item registered.
 */
export function trayItem(items) {
  const lines = existsSync(items) ? readFileSync(items, "utf8").trim().split("\n").filter(Boolean) : [];
  if (!lines.length) return null;
  const [owner, item] = lines.at(-1).split(" ");
  const gdbus = (objectPath, ...args) => {
    const r = spawnSync("gdbus", ["call", "--session", "--dest", owner, "--object-path", objectPath, "--method", ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout;
  };
  const prop = (name) => gdbus(item, "org.freedesktop.DBus.Properties.Get", "org.kde.StatusNotifierItem", name);
  const menu = /objectpath '([^']+)'/.exec(prop("Menu"))[1];
  const layout = gdbus(menu, "com.canonical.dbusmenu.GetLayout", "--", "0", "-1", "[]");
  const entries = [...layout.matchAll(/<\((\d+), \{([^}]*)\}/g)].map(([, id, props]) => ({
    id: Number(id),
    label: /'label': <'([^']*)'>/.exec(props)?.[1] ?? "",
    enabled: !/'enabled': <false>/.test(props),
    click: () => gdbus(menu, "com.canonical.dbusmenu.Event", "--", id, "clicked", "<0>", "0"),
  }));
  const labels = [...layout.matchAll(/'label': <'([^']*)'>/g)].map((m) => m[1]);
  return { prop, entries, labels };
}

/** Starts the stand-in upstream on a free port; resolves to `{ proc, url }` once it listens. */
export function startStandin() {
  const proc = spawn(path.join(BIN, "metaclaw-standin"), ["--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const url = new Promise((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    proc.on("exit", (c) => reject(new Error(`stand-in exited ${c}`)));
  });
  return { proc, url };
}
