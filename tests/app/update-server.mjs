// A local update server for tests/app/update.test.mjs: answers the Tauri updater's latest.json
// (static format: version, notes, pub_date, platforms → url + signature) and serves the payload,
// optionally with one byte flipped (a tampered download under a genuine signature). With no offer
// it answers 204 No Content ("no update"). It also plays a model hub that holds every request
// (`/hub/…`: a tokenizer download, the first thing a training run does) until `releaseHub()`,
// then answers 404, so a test can keep a training run going as long as it needs.

import { createReadStream, statSync } from "node:fs";
import http from "node:http";

/** Starts the server on loopback; `offer` is changed by the test between launches. */
export async function startUpdateServer() {
  const held = [];
  const state = {
    offer: null,
    downloads: 0,
    hubRequests: 0,
    releaseHub() {
      state.hubOpen = true;
      for (const res of held.splice(0)) res.writeHead(404).end();
    },
  };
  const server = http.createServer((req, res) => {
    if (req.url.startsWith("/hub/")) {
      state.hubRequests++;
      if (state.hubOpen) res.writeHead(404).end();
      else held.push(res);
      return;
    }
    const offer = state.offer;
    if (req.url.startsWith("/latest.json")) {
      if (!offer) { res.writeHead(204).end(); return; }
      const url = `${state.base}/download/${offer.version}`;
      const entry = { url, signature: offer.signature };
      const body = {
        version: offer.version,
        notes: "A newer MetaClaw (test build).",
        pub_date: new Date().toISOString(),
        // A plain binary or AppImage looks up linux-x86_64; a .deb/.rpm install its own entry first.
        platforms: { "linux-x86_64": entry, "linux-x86_64-appimage": entry },
      };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      return;
    }
    if (offer && req.url === `/download/${offer.version}`) {
      state.downloads++;
      const size = statSync(offer.file).size;
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": size });
      const stream = createReadStream(offer.file);
      let seen = 0;
      stream.on("data", (chunk) => {
        if (offer.tamper && seen + chunk.length === size) {
          // The last byte of the payload, changed in transit.
          chunk = Buffer.from(chunk);
          chunk[chunk.length - 1] ^= 0xff;
        }
        seen += chunk.length;
        res.write(chunk);
      });
      stream.on("end", () => res.end());
      stream.on("error", () => res.destroy());
      if (offer.once) state.offer = null;
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.base = `http://127.0.0.1:${server.address().port}`;
  return {
    state,
    url: `${state.base}/latest.json`,
    close: () => {
      state.releaseHub();
      server.close();
    },
  };
}
