import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startDeepLServer } from "../servers/deepl-server";
import { startOpenAIServer } from "../servers/openai-server";
import { repositoryRoot } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";
import { runCliAsync } from "./run-cli-async";

const makeTemporaryDirectory = useTemporaryDirectories();

async function smallLima(directory: string): Promise<string> {
  const rows = (await readFile(join(repositoryRoot, "fixtures/lima/train.jsonl"), "utf8")).trimEnd().split("\n").slice(0, 6);
  const path = join(directory, "train.jsonl");
  await writeFile(path, rows.join("\n") + "\n");
  return path;
}

describe("two runs on one cache pay once", () => {
  it("two translate --cache SAME at once: the second waits, then finds every segment cached; the service bills the corpus once", async () => {
    const server = await startDeepLServer({ latencyMs: 40 });
    const directory = await makeTemporaryDirectory();
    const input = await smallLima(directory);
    const cache = join(directory, "cache.jsonl");
    const env = { DEEPL_AUTH_KEY: "concurrency-key" };
    const args = (out: string) => ["translate", "--input", input, "--to", "de", "--provider", "deepl", "--base-url", server.url, "--cache", cache, "--out", out, "--quiet"];
    try {
      const [first, second] = await Promise.all([runCliAsync(args(join(directory, "a")), env), runCliAsync(args(join(directory, "b")), env)]);
      expect(first.status, first.stderr).toBe(0);
      expect(second.status, second.stderr).toBe(0);
      expect(first.stderr + second.stderr).toMatch(/waiting for another process that is using the translation cache/);
      const report = JSON.parse(await readFile(join(directory, "a", "translation-report.json"), "utf8")) as { languages: { de: { characters: number } } };
      // DeepL bills characters without tags; the fake server counts the same way for every request.
      const billedOnce = server.billedCharacters;
      expect(report.languages.de.characters).toBeGreaterThan(0);
      const lines = (await readFile(cache, "utf8")).trim().split("\n");
      expect(new Set(lines).size).toBe(lines.length);
      // A third run sends nothing at all: the two runs together billed exactly one corpus.
      const third = await runCliAsync(args(join(directory, "c")), env);
      expect(third.status).toBe(0);
      expect(server.billedCharacters).toBe(billedOnce);
      const texts = server.translatedTexts;
      expect(new Set(texts).size).toBe(texts.length);
      expect(await readFile(join(directory, "a", "de.jsonl"), "utf8")).toBe(await readFile(join(directory, "b", "de.jsonl"), "utf8"));
    } finally {
      await server.close();
    }
  }, 60_000);

  it("--no-wait fails at once with a message naming the lock", async () => {
    const server = await startDeepLServer({ latencyMs: 2500 });
    const directory = await makeTemporaryDirectory();
    const input = await smallLima(directory);
    const cache = join(directory, "cache.jsonl");
    const env = { DEEPL_AUTH_KEY: "concurrency-key" };
    const args = (out: string, extra: string[] = []) => ["translate", "--input", input, "--to", "de", "--provider", "deepl", "--base-url", server.url, "--cache", cache, "--out", out, "--quiet", ...extra];
    try {
      const first = runCliAsync(args(join(directory, "a")), env);
      // Wait until the first run holds the lock.
      for (let tries = 0; tries < 200 && server.requests.length === 0; tries++) await new Promise((resolve) => setTimeout(resolve, 25));
      const second = await runCliAsync(args(join(directory, "b"), ["--no-wait"]), env);
      expect(second.status).toBe(1);
      expect(second.stderr).toMatch(/is in use by another process \(lock .*cache\.jsonl\.lock\)/);
      expect(second.stderr).not.toMatch(/\n\s+at /);
      expect((await first).status).toBe(0);
    } finally {
      await server.close();
    }
  }, 60_000);

  it("two mt-bench-x judge --out SAME at once: every judgment is paid once", async () => {
    const server = await startOpenAIServer({
      handle: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return "Rating: [[6]]";
      },
    });
    const out = await makeTemporaryDirectory();
    const fixtures = join(repositoryRoot, "fixtures/mt-bench");
    const args = ["mt-bench-x", "judge", "--bench", join(fixtures, "mt-bench-x"), "--answers", join(fixtures, "answers"), "--judge-model", "judge-model", "--base-url", server.baseUrl, "--out", out, "--quiet"];
    try {
      const runs = await Promise.all([runCliAsync(args, { OPENAI_API_KEY: "judge-key" }), runCliAsync(args, { OPENAI_API_KEY: "judge-key" })]);
      for (const run of runs) expect(run.status, run.stderr).toBe(0);
      const summary = JSON.parse(await readFile(join(out, "judge-summary.json"), "utf8")) as { judgments: number };
      expect(server.requests).toHaveLength(summary.judgments);
      expect(runs.map((run) => run.stderr).join("")).toMatch(/waiting for another process that is using the judge output folder/);
    } finally {
      await server.close();
    }
  }, 60_000);
});
