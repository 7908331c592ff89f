import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeepL } from "../../src/translate/providers/deepl";
import { translateCorpus } from "../../src/translate/translate-corpus";
import { openTranslationCache } from "../../src/translate/translation-cache";
import { startDeepLServer, type DeepLServer } from "../servers/deepl-server";
import { useTemporaryDirectories } from "../support/temporary-directory";

const ROOT = join(import.meta.dirname, "../..");
const LIMA_FIXTURE = join(ROOT, "fixtures/lima/train.jsonl");
const CHILD = join(import.meta.dirname, "resume-child.mjs");
// Inside node_modules so the bundle resolves the real packages (bundled with them external).
const LIBRARY = join(ROOT, "node_modules/.cache/polyglot-translate-test/translate.mjs");

function runChild(args: string[], onSpawn?: (child: ChildProcess) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { env: { ...process.env, TRANSLATE_LIBRARY: LIBRARY }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr }));
    onSpawn?.(child);
  });
}

describe("kill and resume (child process)", () => {
  let directory: string;
  const temporaryDirectory = useTemporaryDirectories({ prefix: "kill-resume-", removeAfter: "all" });
  let server: DeepLServer;
  let LIMA: string;

  beforeAll(async () => {
    // The child runs the library as plain JavaScript: bundle src/translate with esbuild (no dist needed).
    await mkdir(join(ROOT, "node_modules/.cache/polyglot-translate-test"), { recursive: true });
    await build({
      entryPoints: [join(ROOT, "src/translate/index.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      outfile: LIBRARY,
      logLevel: "silent",
    });
    directory = await temporaryDirectory();
    // A few single-turn rows and the multi-turn ones keep the test short on a busy machine.
    const rows = (await readFile(LIMA_FIXTURE, "utf8")).trimEnd().split("\n");
    const subset = rows.filter((row, index) => index < 6 || row.includes('"multi_turn"'));
    LIMA = join(directory, "train.jsonl");
    await writeFile(LIMA, subset.join("\n") + "\n");
    server = await startDeepLServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("a run killed midway and restarted sends no more than the corpus plus one batch, and writes the same files", async () => {
    const cachePath = join(directory, "cache.jsonl");
    const outDir = join(directory, "resumed");
    let child: ChildProcess | undefined;
    server.options = {
      latencyMs: 15,
      // Kill the child (SIGKILL: no cleanup at all) while its 6th request is in flight.
      fault: ({ index }) => {
        if (index === 5) child?.kill("SIGKILL");
        return undefined;
      },
    };
    const sentKeys = (from: number, to?: number): string[] =>
      server.requests
        .slice(from, to)
        .filter((request) => request.status === 200)
        .flatMap((request) => request.texts.map((text) => `${request.targetLang}\u0000${text}`));
    const killed = await runChild([LIMA, outDir, cachePath, server.url], (spawned) => (child = spawned));
    expect(killed.signal).toBe("SIGKILL");
    const firstRequests = server.requests.length;
    const firstSent = sentKeys(0);
    const largestBatch = Math.max(...server.requests.map((request) => request.texts.length));
    expect(firstSent.length).toBeGreaterThan(0);

    server.options = { latencyMs: 0 };
    const resumed = await runChild([LIMA, outDir, cachePath, server.url]);
    expect(resumed.stderr).toBe("");
    expect(resumed.code).toBe(0);
    const resumedSent = sentKeys(firstRequests);
    const totalBilled = server.billedCharacters;

    // An uninterrupted run with a fresh cache, on the same server (in-process, same options as the child).
    const billedBefore = server.billedCharacters;
    const requestsBefore = server.requests.length;
    const freshCache = await openTranslationCache({ path: join(directory, "fresh-cache.jsonl") });
    await translateCorpus({
      input: LIMA,
      from: "en",
      to: ["de", "fr"],
      provider: createDeepL({ apiKey: "resume-key", baseUrl: server.url, maxSegmentsPerRequest: 4, env: {} }),
      cache: freshCache,
      outDir: join(directory, "fresh"),
      concurrency: 1,
      retry: { minBackoffMs: 1, maxBackoffMs: 5 },
    });
    await freshCache.close();
    const corpusBilled = server.billedCharacters - billedBefore;
    const corpusSent = sentKeys(requestsBefore);

    // Sent twice: at most the one batch in flight when the child died; billed: corpus plus that batch.
    const sentBefore = new Set(firstSent);
    const resent = resumedSent.filter((key) => sentBefore.has(key));
    expect(resent.length).toBeLessThanOrEqual(largestBatch);
    const batchCharacters = Math.max(
      ...server.requests.map((request) => request.texts.reduce((sum, text) => sum + [...text.replace(/<[^>]*>/g, "")].length, 0)),
    );
    expect(totalBilled).toBeLessThanOrEqual(corpusBilled + batchCharacters);
    expect(new Set([...firstSent, ...resumedSent])).toEqual(new Set(corpusSent));

    for (const name of ["en.jsonl", "de.jsonl", "fr.jsonl", "review.csv"]) {
      expect(await readFile(join(outDir, name), "utf8")).toBe(await readFile(join(directory, "fresh", name), "utf8"));
    }
  });
});
