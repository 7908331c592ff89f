import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runMtBenchX } from "../support/run-mt-bench-x";
import {
  buildChatCompletionBody,
  cohenKappa,
  createOpenAICompatibleJudge,
  estimateTokens,
  fleissKappa,
  isReasoningModel,
  judgeMtBench,
  readJudgments,
} from "../../src/eval/index";
import { startOpenAIServer, type ChatCompletionRequestBody, type OpenAIBatchServer } from "../servers/openai-server";
import { useTemporaryDirectories } from "../support/temporary-directory";

const repoRoot = resolve(import.meta.dirname, "../..");
const fixtures = join(repoRoot, "fixtures/mt-bench");
const servers: OpenAIBatchServer[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  delete process.env.PANEL_KEY_A;
  delete process.env.PANEL_KEY_B;
  for (const server of servers.splice(0)) await server.close();
});

const makeTemporaryDirectory = useTemporaryDirectories({ prefix: "mt-bench-panel-", removeAfter: "all" });

const run = runMtBenchX;

function deterministicScore(userPrompt: string): number {
  let sum = 0;
  for (const character of userPrompt) sum = (sum + character.codePointAt(0)!) % 997;
  return (sum % 10) + 1;
}

const EXPECTED_OUTPUT_TOKENS = 50;
/** The servers report the tokens the dry run counts, so its price can be checked against theirs. */
const usage = (body: ChatCompletionRequestBody) => ({
  prompt_tokens: body.messages.reduce((total, message) => total + estimateTokens(message.content), 0),
  completion_tokens: EXPECTED_OUTPUT_TOKENS,
});

/**
 * Judge A gives the prompt's score d, but d + 1 the second time it sees a prompt (a judge that
 * drifts between identical calls); judge B always gives 11 - d, so it ranks every answer in
 * reverse of judge A.
 */
async function startJudges(): Promise<[OpenAIBatchServer, OpenAIBatchServer]> {
  const seen = new Map<string, number>();
  const prompt = (body: ChatCompletionRequestBody) => body.messages.find((message) => message.role === "user")!.content;
  const a = await startOpenAIServer({
    usage,
    snapshot: () => "judge-a-0613",
    handle: (body) => {
      const count = seen.get(prompt(body)) ?? 0;
      seen.set(prompt(body), count + 1);
      return `Rating: [[${deterministicScore(prompt(body)) + (count === 1 ? 1 : 0)}]]`;
    },
  });
  const b = await startOpenAIServer({ usage, handle: (body) => `Bewertung: [[${11 - deterministicScore(prompt(body))}]]` });
  servers.push(a, b);
  return [a, b];
}

describe("several judges and repeats", () => {
  it("--judge-model A --judge-model B --repeats 3: the dry run's calls and price are what the servers then count; per-judge, agreement and spread tables", async () => {
    const [serverA, serverB] = await startJudges();
    process.env.PANEL_KEY_A = "key-a";
    process.env.PANEL_KEY_B = "key-b";
    const out = await makeTemporaryDirectory();
    const args = [
      "judge", "--bench", join(fixtures, "mt-bench-x"), "--answers", join(fixtures, "answers"), "--out", out,
      "--judge-model", "judge-a", "--base-url", serverA.baseUrl, "--api-key-env", "PANEL_KEY_A",
      "--judge-model", "judge-b", "--base-url", serverB.baseUrl, "--api-key-env", "PANEL_KEY_B",
      "--repeats", "3", "--concurrency", "1", "--price-input", "10", "--price-output", "30",
      "--expected-output-tokens", String(EXPECTED_OUTPUT_TOKENS), "--quiet",
    ];
    const dry = await run([...args.filter((arg) => arg !== "--quiet"), "--dry-run"]);
    // 18 judgments (fixture answers) x 2 judges x 3 repeats.
    const match = /calls: (\d+), estimated price ([\d.]+) USD/.exec(dry)!;
    expect(match, dry).not.toBeNull();
    expect(Number(match[1])).toBe(108);
    expect(dry).toContain("judge-a: 54 calls");
    expect(serverA.requests.length + serverB.requests.length).toBe(0);

    await run(args);
    expect(serverA.requests).toHaveLength(54);
    expect(serverB.requests).toHaveLength(54);
    expect(serverA.requests[0]!.headers.authorization).toBe("Bearer key-a");
    expect(serverB.requests[0]!.headers.authorization).toBe("Bearer key-b");
    const summary = JSON.parse(await readFile(join(out, "judge-summary.json"), "utf8"));
    expect(summary.calls).toBe(108);
    expect(summary.usage.cost.toFixed(4)).toBe(match[2]);
    expect(summary.judgeSnapshots).toEqual(["judge-a-0613", "judge-b"]);
    expect(summary.judges.map((judge: { judgeModel: string; calls: number }) => [judge.judgeModel, judge.calls])).toEqual([["judge-a", 54], ["judge-b", 54]]);
    // Exactly, through the library: the dry run's price is the price of what the servers counted.
    const provider = (model: string, server: OpenAIBatchServer) => createOpenAICompatibleJudge({ model, baseUrl: server.baseUrl, apiKey: "k" });
    const freshOut = await makeTemporaryDirectory();
    const dryRun = await judgeMtBench({
      bench: join(fixtures, "mt-bench-x"),
      answers: join(fixtures, "answers"),
      out: freshOut,
      judges: [provider("judge-a", serverA), provider("judge-b", serverB)],
      repeats: 3,
      prices: { inputPerMillion: 10, outputPerMillion: 30 },
      expectedOutputTokens: EXPECTED_OUTPUT_TOKENS,
      dryRun: true,
    });
    expect(dryRun.estimate).toEqual({ calls: 108, ...summary.usage });

    const rows = await readJudgments(join(out, "mt_bench_DE/model_judgment/judge-a_single.jsonl"));
    expect(rows).toHaveLength(36);
    expect(rows.map((row) => row.repeat)).toEqual(Array.from({ length: 12 }, () => [0, 1, 2]).flat());
    expect(rows.every((row) => row.judge_snapshot === "judge-a-0613")).toBe(true);

    const reportOut = await makeTemporaryDirectory();
    const printed = await run(["report", "--judgments", out, "--out", reportOut, "--resamples", "50"]);
    expect(printed).toContain("lima-x-DE DE");
    const report = JSON.parse(await readFile(join(reportOut, "report.json"), "utf8"));
    expect(report.judgeLabel).toBe("ensemble (mean of 2 judges)");
    expect(report.panel.agreement).toHaveLength(2);
    for (const row of report.panel.agreement) {
      // Judge B reverses judge A's ranking exactly.
      expect(row.pearson).toBeCloseTo(-1, 12);
      expect(row.spearman).toBeCloseTo(-1, 12);
      expect(row.kendallTauB).toBeCloseTo(-1, 12);
    }
    // Ensemble: mean of (d + 1/3) and (11 - d) = 17/3 for every judgment.
    for (const row of report.fastchat) expect(row.overall.mean).toBeCloseTo(17 / 3, 12);
    const spreadA = report.panel.spread.filter((row: { judge: string }) => row.judge === "judge-a");
    const spreadB = report.panel.spread.filter((row: { judge: string }) => row.judge === "judge-b");
    expect(spreadA).toHaveLength(3);
    for (const row of spreadA) {
      // Repeat 1 is one point above repeats 0 and 2: std of (m, m + 1, m) = sqrt(1/3).
      expect(row.averages[1] - row.averages[0]).toBeCloseTo(1, 12);
      expect(row).toMatchObject({ repeats: 3, median: row.averages[0], min: row.averages[0], max: row.averages[1], unstableJudgments: row.judgments });
      expect(row.standardDeviation).toBeCloseTo(Math.sqrt(1 / 3), 12);
    }
    for (const row of spreadB) expect(row).toMatchObject({ standardDeviation: 0, unstableJudgments: 0 });
    const markdown = await readFile(join(reportOut, "report.md"), "utf8");
    for (const heading of ["## Several judges", "### Agreement between judges", "## Spread between repeats", "**These averages are the ensemble (mean of 2 judges)**"]) {
      expect(markdown).toContain(heading);
    }
    expect((await readFile(join(reportOut, "judges.csv"), "utf8")).split("\n")[0]).toBe("judge,model,lang,turn1,turn2,average,judgments,errors");
    expect(await readFile(join(reportOut, "judge-agreement.csv"), "utf8")).toContain("DE,judge-a,judge-b,12,-1,-1,-1");
    expect(await readFile(join(reportOut, "repeat-spread.csv"), "utf8")).toContain("judge-a,lima-x-DE,DE,3,");

    // Cached: a rerun calls nothing.
    await run(args);
    expect(serverA.requests.length + serverB.requests.length).toBe(108);
  });

  it("rejects a mismatched number of --base-url values", async () => {
    const error = await run(["judge", "--bench", "b", "--answers", "a", "--out", "o", "--judge-model", "x", "--judge-model", "y", "--judge-model", "z", "--base-url", "http://127.0.0.1:1/v1", "--base-url", "http://127.0.0.1:2/v1"]).catch((caught: unknown) => caught);
    expect(String(error)).toMatch(/--base-url once \(for every judge\) or once per --judge-model \(3\), not 2/);
  });
});

describe("agreement statistics", () => {
  it("matches Cohen's and Fleiss' kappa computed by hand", () => {
    // 10 items, observed agreement 0.7; marginals A: 5 x, 5 y; B: 6 x, 4 y -> pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa 0.4.
    const first = ["x", "x", "x", "x", "x", "y", "y", "y", "y", "y"];
    const second = ["x", "x", "x", "x", "y", "x", "x", "y", "y", "y"];
    expect(cohenKappa(first, second)).toBeCloseTo(0.4, 12);
    expect(cohenKappa(["x", "x"], ["x", "x"])).toBeNull();
    // Fleiss' worked example (Wikipedia's first rows reduced): 3 items, 3 raters.
    // Items: [a a a] P=1, [a a b] P=1/3, [a b c] P=0; P-bar 4/9. p_a 6/9, p_b 2/9, p_c 1/9 -> Pe 41/81.
    expect(fleissKappa([["a", "a", "a"], ["a", "a", "b"], ["a", "b", "c"]])).toBeCloseTo((4 / 9 - 41 / 81) / (1 - 41 / 81), 12);
  });
});

describe("reasoning models", () => {
  it("sends max_completion_tokens and no temperature to reasoning models, by name or by flag, and records the snapshot", async () => {
    expect(["o1", "o3-mini", "o4-mini-2025-04-16", "gpt-5", "openai/gpt-5-mini", "gpt-oss-120b"].every(isReasoningModel)).toBe(true);
    expect(["gpt-4", "gpt-4o", "gpt-4.1-mini", "meta-llama/Llama-3.1-70B-Instruct", "o"].some(isReasoningModel)).toBe(false);
    const request = { systemPrompt: "s", userPrompt: "u", temperature: 0, maxTokens: 2048 };
    expect(buildChatCompletionBody({ model: "o3-mini", request, reasoning: "auto" })).toEqual({
      model: "o3-mini",
      messages: [{ role: "system", content: "s" }, { role: "user", content: "u" }],
      n: 1,
      max_completion_tokens: 2048,
    });
    const server = await startOpenAIServer({ handle: () => "Rating: [[7]]", snapshot: (model) => `${model}-2025-01-31` });
    servers.push(server);
    const out = await makeTemporaryDirectory();
    const summary = await judgeMtBench({
      bench: join(fixtures, "mt-bench-x"),
      answers: join(fixtures, "answers"),
      out,
      languages: ["EN"],
      judges: [
        createOpenAICompatibleJudge({ model: "o3-mini", baseUrl: server.baseUrl, apiKey: "k" }),
        createOpenAICompatibleJudge({ model: "my-local-thinker", baseUrl: server.baseUrl, apiKey: "k", reasoning: true }),
      ],
    });
    expect(server.requests).toHaveLength(12);
    for (const { body } of server.requests) {
      expect(body).toMatchObject({ max_completion_tokens: 2048 });
      expect(body).not.toHaveProperty("temperature");
      expect(body).not.toHaveProperty("max_tokens");
    }
    expect(summary.judgeSnapshots).toEqual(["my-local-thinker-2025-01-31", "o3-mini-2025-01-31"]);
    expect(summary.judges.map((judge) => judge.snapshots)).toEqual([["o3-mini-2025-01-31"], ["my-local-thinker-2025-01-31"]]);
    const rows = await readJudgments(join(out, "mt_bench_EN/model_judgment/o3-mini_single.jsonl"));
    expect(rows.every((row) => row.judge_snapshot === "o3-mini-2025-01-31")).toBe(true);
  });
});
