import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export const repositoryRoot = join(import.meta.dirname, "..", "..");
export const cliPath = join(repositoryRoot, "dist", "cli", "main.js");

/** Runs the built `build-datasets` CLI (npm test builds it first) and returns what a user sees. */
export function runBuiltCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run "npm run build" first (npm test does)`);
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: options.cwd ?? repositoryRoot,
    env: { ...process.env, ...options.env },
    encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
