import { defineConfig } from "tsup";

// ESM-only dependencies are bundled (into both builds: tsup cannot set this per format), so that
// `require("polyglot-instruct")` works on every Node 20 release, not only those with require(esm).
const esmOnlyDependencies = [
  "hyparquet",
  "mdast-util-from-markdown",
  "mdast-util-gfm",
  "mdast-util-math",
  "micromark-extension-gfm",
  "micromark-extension-math",
  "p-limit",
  "p-retry",
];

const shared = {
  sourcemap: true,
  target: "node20",
  platform: "node",
  // import.meta.url locates bundled fixtures and the worker; shims make it work in CommonJS too.
  shims: true,
} as const;

export default defineConfig([
  { ...shared, entry: { index: "src/index.ts" }, format: ["esm", "cjs"], dts: true, clean: true, noExternal: esmOnlyDependencies },
  {
    ...shared,
    // The CLI, and the workers that parse language files and write outputs on other cores (loaded by path at run time).
    entry: { "cli/main": "src/cli/main.ts", "encode/encode-worker": "src/encode/encode-worker.ts", "io/encoded-write-worker": "src/io/encoded-write-worker.ts" },
    format: ["esm"],
    banner: { js: "#!/usr/bin/env node" },
  },
]);
