import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256File } from "../../src/io/hash-file";
import { cliPath, repositoryRoot } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeTemporaryDirectory = useTemporaryDirectories();
const preload = join(repositoryRoot, "test/faults/fs-fault-preload.mjs");

/** A small study (one corpus, three languages) whose commit still moves twenty files. */
async function writeStudy(directory: string): Promise<string> {
  const config = join(directory, "study.json");
  await writeFile(
    config,
    JSON.stringify({
      seed: 7,
      languages: ["en", "de", "fr"],
      compositions: ["EN", "DE", "FR", "ENDE", "DEFR"],
      formats: ["jsonl", "arrow"],
      validationFraction: 0.2,
      corpora: { b: { path: join(repositoryRoot, "fixtures/bactrian-x"), format: "bactrian-x" } },
    }),
  );
  return config;
}

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function runBuild(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", preload, cliPath, "build", "--quiet", ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (status, signal) => resolve({ status, signal, stderr }));
  });
}

/** The invariant of an output folder: no manifest, or one whose every listed file matches its sha256. */
async function checkManifestInvariant(out: string): Promise<{ manifest: boolean; mismatches: string[] }> {
  const manifestPath = join(out, "manifest.json");
  if (!existsSync(manifestPath)) return { manifest: false, mismatches: [] };
  const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as { outputs: { path: string; sha256: string }[] };
  const mismatches: string[] = [];
  for (const output of manifest.outputs) {
    const file = join(out, output.path);
    if (!existsSync(file) || (await sha256File(file)) !== output.sha256) mismatches.push(output.path);
  }
  return { manifest: true, mismatches };
}

describe("build under kills and a full disk", () => {
  it("never leaves a manifest that disagrees with the files: 30+ kills at random writes (commit included), then ENOSPC at every write", async () => {
    const directory = await makeTemporaryDirectory();
    const config = await writeStudy(directory);
    // An old output (seed 7) that every faulty run (seed 42) replaces.
    const old = join(directory, "old");
    expect((await runBuild(["--config", config, "--out", old])).status).toBe(0);
    const oldManifest = await readFile(join(old, "manifest.json"), "utf8");

    // How many writes a whole run makes.
    const countFile = join(directory, "count");
    const counted = join(directory, "counted");
    await cp(old, counted, { recursive: true });
    expect((await runBuild(["--config", config, "--out", counted, "--seed", "42"], { FAULT_COUNT_FILE: countFile })).status).toBe(0);
    const writes = Number(await readFile(countFile, "utf8"));
    expect(writes).toBeGreaterThanOrEqual(30);

    // Kill points spread over the whole run, and every write of its last quarter (the commit).
    const points = new Set<number>();
    for (let index = 0; index < 18; index++) points.add(1 + Math.floor((index * writes) / 18));
    for (let point = Math.floor(writes * 0.75); point <= writes; point++) points.add(point);
    for (let point = writes; points.size < 30 && point > 0; point--) points.add(point);
    expect(points.size).toBeGreaterThanOrEqual(30);

    let killed = 0;
    let sawNoManifest = false;
    for (const point of points) {
      const out = join(directory, `kill-${point}`);
      await cp(old, out, { recursive: true });
      const run = await runBuild(["--config", config, "--out", out, "--seed", "42"], { FAULT_AT: String(point), FAULT_KIND: "kill" });
      if (run.signal === "SIGKILL") killed++;
      const state = await checkManifestInvariant(out);
      expect(state.mismatches, `killed at write ${point}`).toEqual([]);
      if (!state.manifest) sawNoManifest = true;
      else {
        const seed = (JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as { seed: number }).seed;
        expect([7, 42]).toContain(seed);
      }
    }
    expect(killed).toBeGreaterThanOrEqual(30);
    expect(sawNoManifest).toBe(true);

    // ENOSPC at every write: a clear message, exit 1, and the invariant holds.
    for (let point = 1; point <= writes; point++) {
      const out = join(directory, `full-${point}`);
      await cp(old, out, { recursive: true });
      const run = await runBuild(["--config", config, "--out", out, "--seed", "42"], { FAULT_AT: String(point), FAULT_KIND: "enospc" });
      const state = await checkManifestInvariant(out);
      expect(state.mismatches, `ENOSPC at write ${point}`).toEqual([]);
      if (run.status !== 0) {
        expect(run.stderr, `ENOSPC at write ${point}`).toMatch(/disk is full/);
        expect(run.stderr).not.toMatch(/\n\s+at /);
        expect(run.status).toBe(1);
      }
      if (state.manifest && run.status !== 0) {
        // A failed run may only have left the old, untouched output.
        expect(await readFile(join(out, "manifest.json"), "utf8")).toBe(oldManifest);
      }
    }
    // No staging folder survives a failed run.
    const leftovers = (await readdir(directory, { recursive: true })).filter((name) => String(name).includes(".incomplete-build"));
    expect(leftovers.filter((name) => String(name).startsWith("full-"))).toEqual([]);
    await mkdir(join(directory, "done"));
  }, 240_000);
});
