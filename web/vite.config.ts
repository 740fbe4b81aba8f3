/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// No React plugin: esbuild compiles TSX with the automatic runtime, which is
// all this app needs (no Fast Refresh in dev, full reloads instead).
export default defineConfig({
  esbuild: { jsx: "automatic" },
  build: { sourcemap: false, assetsInlineLimit: 0 },
  server: {
    port: 5173,
    // `npm run dev` talks to a locally running `loandesk serve`.
    proxy: { "/api/": process.env.API_URL ?? "http://127.0.0.1:8000" },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test-setup.ts"],
    // A test's whole run, on half a CPU (make test-web) beside other jobs.
    testTimeout: 60_000,
  },
});
