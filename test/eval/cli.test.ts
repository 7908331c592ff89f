import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { CommanderError } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runMtBenchX } from "../support/run-mt-bench-x";
import { startDeepLServer } from "../servers/deepl-server";
import { startOpenAIServer, type OpenAIServer } from "../servers/openai-server";
import { useTemporaryDirectories } from "../support/temporary-directory";

const repoRoot = resolve(import.meta.dirname, "../..");
const fixtures = join(repoRoot, "fixtures/mt-bench");
const servers: OpenAIServer[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  delete process.env.MT_BENCH_TEST_JUDGE_KEY;
  delete process.env.DEEPL_AUTH_KEY;
  for (const server of servers.splice(0)) await server.close();
});

const makeTemporaryDirectory = useTemporaryDirectories({ prefix: "mt-bench-cli-", removeAfter: "all" });

const run = runMtBenchX;

describe("build-datasets mt-bench-x", () => {
  it("report prints FastChat's numbers and writes the files", async () => {
    const out = await makeTemporaryDirectory();
    const printed = await run(["report", "--judgments", join(fixtures, "judgments"), "--out", out, "--compare", "ENDEFRITES:@lang", "--seed", "3", "--resamples", "100"]);
    expect(printed).toContain("lima-x-ENDEFRITES DE: turn 1 8.00, turn 2 6.00, average 7.50 (1 errors not averaged)");
    expect(await readFile(join(out, "cross-lingual.csv"), "utf8")).toContain("ENDEFRITES:@lang,lima-x-*,DE,lima-x-ENDEFRITES,lima-x-DE,7.5,5,50");
  });

  it("judge runs against an OpenAI-compatible server with the key from --api-key-env, then resumes from the cache", async () => {
    const server = await startOpenAIServer({ handle: () => "Fine. Rating: [[6]]" });
    servers.push(server);
    process.env.MT_BENCH_TEST_JUDGE_KEY = "sk-cli-secret";
    const out = await makeTemporaryDirectory();
    const args = [
      "judge", "--bench", join(fixtures, "mt-bench-x"), "--answers", join(fixtures, "answers"), "--judge-model", "judge-model",
      "--base-url", server.baseUrl, "--api-key-env", "MT_BENCH_TEST_JUDGE_KEY", "--out", out, "--lang", "en", "--quiet",
      "--price-input", "10", "--price-output", "30",
    ];
    expect(await run(args)).toBe("");
    expect(server.requests).toHaveLength(6);
    expect(server.requests[0]!.headers.authorization).toBe("Bearer sk-cli-secret");
    const dry = await run([...args.filter((arg) => arg !== "--quiet"), "--dry-run"]);
    expect(dry).toContain("dry run: 6 judgments, 6 cached, 0 to call the judge for");
    const summary = JSON.parse(await readFile(join(out, "judge-summary.json"), "utf8"));
    expect(summary.usage).toEqual({ inputTokens: 60, outputTokens: 60, cost: (60 * 10 + 60 * 30) / 1e6 });
  });

  it("build translates the fixture benchmark through a DeepL server", async () => {
    const deepl = await startDeepLServer({ authKey: "cli-deepl-key" });
    servers.push({ baseUrl: deepl.url, requests: [], close: () => deepl.close() });
    process.env.DEEPL_AUTH_KEY = "cli-deepl-key";
    const out = await makeTemporaryDirectory();
    const source = join(fixtures, "mt_bench");
    const args = [
      "build", "--questions", join(source, "question.jsonl"), "--references", join(source, "reference_answer/gpt-4.jsonl"),
      "--judge-prompts", join(source, "judge_prompts.jsonl"), "--to", "de", "--base-url", deepl.url,
      "--cache", join(out, "cache.jsonl"), "--out", join(out, "bench"),
    ];
    expect(await run([...args, "--dry-run", "--quiet"])).toBe("");
    expect(deepl.requests).toHaveLength(0);
    expect(await run([...args, "--quiet"])).toBe("");
    expect(deepl.requests.length).toBeGreaterThan(0);
    expect((await readFile(join(out, "bench/mt_bench_DE/question.jsonl"), "utf8")).split("\n")[0]).toContain('"question_id":"81_DE"');
  });

  it("rejects a bad option with a usage error", async () => {
    const error = await run(["judge", "--bench", "b", "--answers", "a", "--judge-model", "j", "--out", "o", "--language-policy", "strict"]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CommanderError);
    expect((error as CommanderError).message).toMatch(/fastchat.*penalize/);
  });
});
