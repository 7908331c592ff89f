import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";
import { findPackageRoot } from "../package-info";

/** The package's worker entries, named by their path under `src/` (and `dist/`) without extension. */
export type WorkerName = "encode/encode-worker" | "io/encoded-write-worker";

/** How to start one worker thread: the script `new Worker` runs, and the options it needs. */
export interface WorkerScript {
  path: string | URL;
  options?: WorkerOptions;
}

/**
 * Where each worker's script is; undefined runs that worker's work in the calling thread. The
 * default is `builtWorkerScript`; tests pass one that runs the workers from `src/`.
 */
export type WorkerScripts = (name: WorkerName) => WorkerScript | undefined;

/**
 * The built worker script `dist/<name>.js`, when this code runs from the built package; undefined
 * when it runs from source (its workers would need a TypeScript loader).
 */
export function builtWorkerScript(name: WorkerName): WorkerScript | undefined {
  const here = fileURLToPath(import.meta.url);
  if (!here.split(/[\\/]/).includes("dist")) return undefined;
  const script = join(findPackageRoot(), "dist", `${name}.js`);
  return existsSync(script) ? { path: script } : undefined;
}

/** The script to run a worker from, or undefined for the calling thread (always so with `POLYGLOT_WORKERS=0`). */
export function resolveWorkerScript(name: WorkerName, scripts: WorkerScripts = builtWorkerScript): WorkerScript | undefined {
  if (process.env.POLYGLOT_WORKERS === "0") return undefined;
  return scripts(name);
}

export function startWorker(script: WorkerScript): Worker {
  return new Worker(script.path, script.options);
}
