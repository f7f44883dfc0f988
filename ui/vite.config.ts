// Vite config for MetaClaw's UI. `npm run build` writes ui/dist, which `metaclaw serve` serves at `/`.
// `npm run dev` proxies /api to a running engine: METACLAW_URL=http://127.0.0.1:30000 npm run dev
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const target = process.env.METACLAW_URL ?? "http://127.0.0.1:30000";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", sourcemap: false },
  server: {
    proxy: {
      "/api": {
        target,
        changeOrigin: true,
        // The engine refuses foreign Origin headers; the dev server is a different origin.
        configure: (proxy) => proxy.on("proxyReq", (req) => req.removeHeader("origin")),
      },
    },
  },
});
