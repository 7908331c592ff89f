import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256File } from "../../src/io/hash-file";
import { cliPath, repositoryRoot } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeTemporaryDirectory = useTemporaryDirectories();
const preload = join(repositoryRoot, "test/faults/fs-fault-preload.mjs");

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function runFaulty(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", preload, cliPath, ...args, "--quiet"], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (status, signal) => resolve({ status, signal, stderr }));
  });
}

/** compose and sample: no manifest, or one whose every listed output matches its sha256. */
async function manifestMismatches(out: string): Promise<string[] | undefined> {
  const path = join(out, "manifest.json");
  if (!existsSync(path)) return undefined;
  const manifest = JSON.parse(await readFile(path, "utf8")) as { outputs: { path: string; sha256: string }[] };
  const mismatches: string[] = [];
  for (const output of manifest.outputs) {
    const file = join(out, output.path);
    if (!existsSync(file) || (await sha256File(file)) !== output.sha256) mismatches.push(output.path);
  }
  return mismatches;
}

/** translate: no report, or one beside complete files (every language file has the report's rows). */
async function reportMismatches(out: string): Promise<string[] | undefined> {
  const path = join(out, "translation-report.json");
  if (!existsSync(path)) return undefined;
  const report = JSON.parse(await readFile(path, "utf8")) as { rows?: number; languages: Record<string, unknown> };
  const mismatches: string[] = [];
  const rows = (await readFile(join(out, "en.jsonl"), "utf8")).trimEnd().split("\n").length;
  for (const lang of Object.keys(report.languages)) {
    const file = join(out, `${lang}.jsonl`);
    if (!existsSync(file) || (await readFile(file, "utf8")).trimEnd().split("\n").length !== rows) mismatches.push(`${lang}.jsonl`);
  }
  return mismatches;
}

/**
 * Runs a command once to count its writes and make the old output, then kills it at every write
 * and fails every write with ENOSPC, each time over a copy of the old output, and checks the
 * folder's commit file against its files.
 */
async function faultEveryWrite(directory: string, command: (out: string, seed: string) => string[], check: (out: string) => Promise<string[] | undefined>): Promise<number> {
  const old = join(directory, "old");
  expect((await runFaulty(command(old, "7"))).status).toBe(0);
  const countFile = join(directory, "count");
  const counted = join(directory, "counted");
  await cp(old, counted, { recursive: true });
  expect((await runFaulty(command(counted, "42"), { FAULT_COUNT_FILE: countFile })).status).toBe(0);
  const writes = Number(await readFile(countFile, "utf8"));
  for (const kind of ["kill", "enospc"]) {
    for (let point = 1; point <= writes; point++) {
      const out = join(directory, `${kind}-${point}`);
      await cp(old, out, { recursive: true });
      const run = await runFaulty(command(out, "42"), { FAULT_AT: String(point), FAULT_KIND: kind });
      expect(await check(out), `${kind} at write ${point}`).not.toEqual(expect.arrayContaining([expect.any(String)]));
      if (kind === "kill") expect(run.signal, `kill at write ${point}`).toBe("SIGKILL");
      else if (run.status !== 0) {
        expect(run.status).toBe(1);
        expect(run.stderr, `ENOSPC at write ${point}`).toMatch(/disk is full/);
        expect(run.stderr).not.toMatch(/\n\s+at /);
      }
      const staging = (await readdir(out)).filter((name) => name.startsWith(".incomplete"));
      if (kind === "enospc") expect(staging, `ENOSPC at write ${point}`).toEqual([]);
    }
  }
  return writes;
}

describe("compose, sample and translate under a kill and a full disk at every write", () => {
  it("compose --out: never a manifest that disagrees with the files", async () => {
    const directory = await makeTemporaryDirectory();
    const input = join(repositoryRoot, "fixtures/bactrian-x");
    const writes = await faultEveryWrite(directory, (out, seed) => ["compose", "--input", input, "--compositions", "EN,DEFR", "--format", "jsonl", "--out", out, "--seed", seed], manifestMismatches);
    expect(writes).toBeGreaterThan(3);
  }, 300_000);

  it("sample --out: never a manifest that disagrees with the files (repro: the old manifest stayed while files changed)", async () => {
    const directory = await makeTemporaryDirectory();
    const input = join(repositoryRoot, "fixtures/bactrian-x");
    const writes = await faultEveryWrite(directory, (out, seed) => ["sample", "--input", input, "--langs", "en,de,fr", "--n", "20", "--out", out, "--seed", seed], manifestMismatches);
    expect(writes).toBeGreaterThan(3);
  }, 300_000);

  it("translate --out: never a translation-report.json beside incomplete files", async () => {
    const directory = await makeTemporaryDirectory();
    const cache = join(directory, "cache.jsonl");
    await cp(join(repositoryRoot, "fixtures/translation-cache/translations.jsonl"), cache);
    const input = join(repositoryRoot, "fixtures/lima/train.jsonl");
    const writes = await faultEveryWrite(
      directory,
      (out) => ["translate", "--input", input, "--to", "de,fr", "--provider", "cache", "--replay-provider", "deepl:label=fixture-reference", "--cache", cache, "--out", out],
      reportMismatches,
    );
    expect(writes).toBeGreaterThan(3);
  }, 300_000);
});
