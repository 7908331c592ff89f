import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const repositoryRoot = join(import.meta.dirname, "..", "..");
const SETUP = "run `node scripts/test-trainer.mjs` (npm test does), which creates .venv with the trainer and every test package";

/**
 * The test venv's Python (`POLYGLOT_PYTHON` when set, else `.venv/bin/python`), checked to import
 * every one of `packages`. Throws, in CI and locally alike, naming what is missing and how to get
 * it: a check that quietly skips without Python would pass on a machine where it never ran.
 */
export function requirePython(packages: readonly string[]): string {
  const python = process.env.POLYGLOT_PYTHON ?? join(repositoryRoot, ".venv", "bin", "python");
  const named = process.env.POLYGLOT_PYTHON ? `${python} (POLYGLOT_PYTHON)` : python;
  if (!existsSync(python)) throw new Error(`${named} does not exist: ${SETUP}`);
  const missing = packages.filter((name) => spawnSync(python, ["-c", `import ${name}`], { stdio: "ignore" }).status !== 0);
  if (missing.length > 0) throw new Error(`${named} cannot import ${missing.join(", ")}: ${SETUP}`);
  return python;
}

/** Runs a Python snippet and returns its stdout. */
export function runPython(python: string, code: string, args: string[] = []): string {
  return execFileSync(python, ["-c", code, ...args], { encoding: "utf8" });
}
