// A tiny static server for ui/dist that forwards /api/* to a running engine — the stand-in for
// `metaclaw serve`'s own static serving while that is not there (or to test the UI against an
// engine on another port). Usage: METACLAW_URL=http://127.0.0.1:30000 node tests/ui/serve.mjs [port]
// As a module: `startStatic({ dist, target, port })` resolves to { url, close }.

import { createReadStream, statSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
};

export function startStatic({ dist, target, port = 0 }) {
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname.startsWith("/api/") && target) {
      const headers = { ...req.headers, host: t.host };
      delete headers.origin; // the engine refuses foreign origins; this server is one
      delete headers.referer;
      const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on("error", (e) => {
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
        res.end(`proxy error: ${e.message}`);
      });
      req.pipe(up);
      res.on("close", () => up.destroy());
      return;
    }
    let file = path.join(dist, path.normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, ""));
    try {
      if (statSync(file).isDirectory()) file = path.join(file, "index.html");
    } catch {
      file = path.join(dist, "index.html");
    }
    try {
      statSync(file);
    } catch {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => {
      const a = server.address();
      resolve({
        url: `http://127.0.0.1:${a.port}`,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dist = path.resolve(here, "../../ui/dist");
  const s = await startStatic({ dist, target: process.env.METACLAW_URL ?? "http://127.0.0.1:30000", port: Number(process.argv[2] ?? 5174) });
  console.log(`UI on ${s.url} (API → ${process.env.METACLAW_URL ?? "http://127.0.0.1:30000"})`);
}
