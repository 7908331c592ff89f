import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const repositoryRoot = join(import.meta.dirname, "..", "..");

/**
 * A Python that has pyarrow: the trainer's virtual environment (which `npm test` creates) or the
 * system's. Undefined when none has it; in CI that is an error, not a skip.
 */
export function findPythonWithPyarrow(): string | undefined {
  for (const candidate of [process.env.POLYGLOT_PYTHON, join(repositoryRoot, ".venv", "bin", "python"), "python3"]) {
    if (!candidate || (candidate.includes("/") && !existsSync(candidate))) continue;
    const probe = spawnSync(candidate, ["-c", "import pyarrow"], { encoding: "utf8" });
    if (probe.status === 0) return candidate;
  }
  if (process.env.CI) throw new Error("CI needs a Python with pyarrow (npm test creates .venv with it)");
  return undefined;
}

/** Runs a Python snippet and returns its stdout. */
export function runPython(python: string, code: string, args: string[] = []): string {
  return execFileSync(python, ["-c", code, ...args], { encoding: "utf8" });
}
