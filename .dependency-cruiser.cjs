// The layer rule of src/ (see docs/architecture.md): a folder imports only folders below it, and no
// file imports itself through others. `npm run lint:deps` checks it; `npm test` runs that.

/** Bottom to top. `base` is the top-level files every layer may use (errors, cache root, package info). */
const LAYERS = [
  "base",
  "text",
  "record",
  "worker",
  "io",
  "remote",
  "hub",
  "sources",
  "encode",
  "corpus",
  "sample",
  "compose",
  "inspect",
  "translate",
  "eval",
  "review",
  "study",
  "experiment",
  "cli",
];

const BASE_FILES = ["errors", "cache-directory", "package-info"];

function layerPath(layer) {
  return layer === "base" ? `^src/(${BASE_FILES.join("|")})\\.ts$` : `^src/${layer}/`;
}

const upwardImports = LAYERS.slice(0, -1).map((layer, index) => ({
  name: `no-import-above-${layer}`,
  comment: `${layer} sits below ${LAYERS.slice(index + 1).join(", ")}: it must not import them (move the shared code down instead).`,
  severity: "error",
  from: { path: layerPath(layer) },
  to: { path: LAYERS.slice(index + 1).map(layerPath) },
}));

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "A file must not reach itself through its imports.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "every-file-in-a-layer",
      comment: "Each file of src/ sits in a layer of .dependency-cruiser.cjs (src/index.ts, the public API, re-exports them all).",
      severity: "error",
      from: { path: "^src/", pathNot: ["^src/index\\.ts$", ...LAYERS.map(layerPath)] },
      to: {},
    },
    ...upwardImports,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^src/(trainer|review/static)/" },
    // Type-only imports count: a type that two layers share lives in the lower one.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".json"] },
  },
};
