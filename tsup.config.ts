import { defineConfig } from "tsup";

export default defineConfig([
  {
    entry: { index: "src/index.ts" },
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "node20",
    platform: "node",
    // import.meta.url is used to locate bundled fixtures; shims make it work in the CJS build too.
    shims: true,
  },
  {
    // The CLI, and the worker that parses language files on another core (loaded by path at run time).
    entry: { "cli/main": "src/cli/main.ts", "corpus/encode-worker": "src/corpus/encode-worker.ts" },
    format: ["esm"],
    sourcemap: true,
    target: "node20",
    platform: "node",
    shims: true,
    banner: ({ format }) => ({ js: format === "esm" ? "#!/usr/bin/env node" : "" }),
  },
]);
