import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliPath } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeTemporaryDirectory = useTemporaryDirectories();

/** Runs the CLI as `... | head -1` would: both outputs go to one pipe whose reader leaves after the first chunk. */
function runIntoClosingPipe(args: string[]): Promise<{ status: number | null; signal: NodeJS.Signals | null; first: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let first = "";
    const leave = (chunk: Buffer): void => {
      if (first) return;
      first = chunk.toString();
      child.stdout.destroy();
      child.stderr.destroy();
    };
    child.stdout.on("data", leave);
    child.stderr.on("data", leave);
    child.on("error", reject);
    child.on("close", (status, signal) => resolve({ status, signal, first }));
  });
}

describe("`... | head -1`: the reader goes away (repro: unhandled EPIPE, exit 1, .incomplete-build left behind)", () => {
  it("build 2>&1 | head -1 ends quietly with exit 0, leaving no staging folder, no lock and no half output", async () => {
    const directory = await makeTemporaryDirectory();
    const out = join(directory, "out");
    const run = await runIntoClosingPipe(["build", "--out", out]);
    expect(run.first).toMatch(/^build-datasets build: config/);
    expect(run.status).toBe(0);
    // The run created the folder: nothing of it is left, and no lock either.
    expect(existsSync(out)).toBe(false);
    expect(await readdir(directory)).toEqual([]);
  }, 60_000);

  it("validate | head -1 (many problems on stdout) ends with exit 0", async () => {
    const directory = await makeTemporaryDirectory();
    const input = join(directory, "bad.jsonl");
    await writeFile(input, Array.from({ length: 20_000 }, (_, index) => JSON.stringify({ id: `r${index}`, lang: "xx", source: "s", messages: [], meta: {} })).join("\n") + "\n");
    const run = await runIntoClosingPipe(["validate", input]);
    expect(run.first).toMatch(/bad\.jsonl:1/);
    expect(run.status).toBe(0);
  }, 60_000);
});
