// Public API of polyglot-instruct. Only re-exports live here.
export * from "./errors";
export * from "./record/canonical-record";
export * from "./record/language-codes";
export * from "./record/compare-ids";
export * from "./io/atomic-write";
export * from "./io/hash-file";
export * from "./io/jsonl";
export * from "./io/json-array";
export * from "./io/arrow";
export * from "./io/csv";
export * from "./io/parquet";
export * from "./io/read-rows";
export * from "./sources/read-source";
export { limaId } from "./sources/lima";
export { bactrianXUserMessage } from "./sources/bactrian-x";
export * from "./corpus/load-parallel-corpus";
export * from "./sample/sample-corpus";
export * from "./inspect/inspect-dataset";
export * from "./inspect/validate-dataset";
export * from "./sample/seeded-random";
export * from "./sample/sample-ids";
export * from "./sample/split-validation";
export * from "./compose/composition-name";
export * from "./compose/build-composition";
export * from "./record/record-statistics";
export {
  outputFormatSchema,
  parseCompositionsFor,
  writeCompositions,
  type OutputFileInfo,
  type OutputFormat,
  type WriteCompositionsOptions,
} from "./compose/write-compositions";
export * from "./study/study-config";
export * from "./study/run-study";
export * from "./study/compose-dataset";
export * from "./study/manifest";
export * from "./study/dataset-card";
export { TOOL, findPackageRoot, bundledPath } from "./package-info";
export type { WorkerName, WorkerScript, WorkerScripts } from "./worker/worker-script";
export * from "./remote/index";
export * from "./translate/index";
export * from "./hub/index";
export * from "./eval/index";
export { runCli, createProgram } from "./cli/main";
export * from "./experiment/index";
