import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  createOpenAICompatibleJudge,
  judgeMtBench,
  readJudgeBatchState,
  splitBatchRequests,
  type JudgeMtBenchOptions,
} from "../../src/eval/index";
import type { OpenAIBatchServer } from "../servers/openai-server";
import { readPairPrompt, startServer, STRENGTH, writePanelAnswers } from "./judge-helpers";
import { useTemporaryDirectories } from "../support/temporary-directory";

const repoRoot = resolve(import.meta.dirname, "../..");
const bench = join(repoRoot, "fixtures/mt-bench/mt-bench-x");
const makeTemporaryDirectory = useTemporaryDirectories({ prefix: "mt-bench-batch-", removeAfter: "all" });
const servers: OpenAIBatchServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

function fairJudge(userPrompt: string): string {
  const { a, b } = readPairPrompt(userPrompt);
  return STRENGTH[a]! > STRENGTH[b]! ? "[[A]]" : STRENGTH[a]! < STRENGTH[b]! ? "[[B]]" : "[[C]]";
}

async function setUp(server: OpenAIBatchServer, extra: Partial<JudgeMtBenchOptions> = {}) {
  const directory = await makeTemporaryDirectory();
  const answers = await writePanelAnswers(directory);
  const out = join(directory, "judgments");
  const options = (target: OpenAIBatchServer = server): JudgeMtBenchOptions => ({
    bench,
    answers,
    out,
    provider: createOpenAICompatibleJudge({ model: "judge-model", baseUrl: target.baseUrl, apiKey: "test-key" }),
    mode: "pairwise-baseline",
    baseline: "m-base",
    batch: { pollIntervalMs: 1 },
    retry: { retries: 0 },
    prices: { inputPerMillion: 10, outputPerMillion: 30 },
    ...extra,
  });
  return { answers, out, options };
}

describe("OpenAI Batch API", () => {
  it("uploads the requests, creates one batch, follows validating -> in_progress -> completed and fills the cache; a rerun sends nothing", async () => {
    const server = await startServer(servers, { reply: fairJudge, snapshot: () => "judge-model-2026-02-01" });
    const { out, options } = await setUp(server);
    const summary = await judgeMtBench(options());
    expect(server.batches).toHaveLength(1);
    const [batch] = server.batches;
    expect(batch).toMatchObject({ status: "completed", requests: 24, completionWindow: "24h", endpoint: "/v1/chat/completions" });
    expect(batch!.retrievals).toBe(2);
    const upload = server.files.get(batch!.inputFileId)!;
    expect(upload.purpose).toBe("batch");
    const lines = upload.content.trim().split("\n").map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ method: "POST", url: "/v1/chat/completions", body: { model: "judge-model", temperature: 0, max_tokens: 2048, n: 1 } });
    expect(new Set(lines.map((line) => line.custom_id)).size).toBe(24);
    // Every request ran once, inside the batch; no direct chat completion.
    expect(server.requests).toHaveLength(24);
    expect(server.requests.every((request) => request.batchId === batch!.id)).toBe(true);
    expect(summary).toMatchObject({ calls: 24, cacheHits: 0, judgeSnapshots: ["judge-model-2026-02-01"], batch: { batchIds: [batch!.id], created: 1, resumed: 0 } });
    // Batch price: half of 24 x (10 in x 10 + 10 out x 30) / 1e6.
    expect(summary.usage.cost).toBeCloseTo((24 * (10 * 10 + 10 * 30)) / 1e6 / 2, 12);
    const state = await readJudgeBatchState(join(out, "judge-batches.json"));
    expect(state.batches).toEqual([expect.objectContaining({ id: batch!.id, status: "completed", collected: true })]);
    const rows = (await readFile(join(out, "mt_bench_DE/model_judgment/judge-model_pair.jsonl"), "utf8")).trim().split("\n").map((line) => JSON.parse(line));
    expect(rows).toHaveLength(12);
    expect(rows.every((row) => row.consistent === true && row.judge_snapshot === "judge-model-2026-02-01")).toBe(true);

    const rerun = await judgeMtBench(options());
    expect(rerun).toMatchObject({ calls: 0, cacheHits: 24 });
    expect(rerun.usage.cost).toBe(0);
    expect(rerun.cachedUsage.cost).toBeCloseTo((24 * 400) / 1e6 / 2, 12);
    expect(server.batches).toHaveLength(1);
    expect(server.requests).toHaveLength(24);
  });

  it("a run killed while its batch runs is resumed on the same batch: one batch, each request once", async () => {
    const server = await startServer(servers, { reply: fairJudge });
    server.holdBatches = true;
    const { answers, out, options } = await setUp(server);
    const statePath = join(out, "judge-batches.json");
    // Node itself with tsx as a loader: killing a tsx wrapper could leave its node child polling.
    const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "test/eval/judge-batch-child.ts"), bench, answers, out, server.baseUrl], {
      cwd: repoRoot,
      stdio: "ignore",
    });
    const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
    // Kill the child once the batch is recorded and it is polling.
    for (;;) {
      if (existsSync(statePath) && server.batches.length === 1 && server.batches[0]!.retrievals >= 2) break;
      if (child.exitCode !== null) throw new Error(`child exited early with ${child.exitCode}`);
      await new Promise((resolveWait) => setTimeout(resolveWait, 25));
    }
    child.kill("SIGKILL");
    await exited;
    // Nothing polls any more: the killed run is really gone.
    const retrievals = server.batches[0]!.retrievals;
    await new Promise((resolveWait) => setTimeout(resolveWait, 150));
    expect(server.batches[0]!.retrievals).toBe(retrievals);
    expect(existsSync(join(out, "judge-summary.json"))).toBe(false);
    const before = await readJudgeBatchState(statePath);
    expect(before.batches).toEqual([expect.objectContaining({ id: server.batches[0]!.id, status: "in_progress", collected: false })]);
    expect(before.batches[0]!.custom_ids).toHaveLength(24);
    expect(server.requests).toHaveLength(0);

    server.holdBatches = false;
    const summary = await judgeMtBench(options());
    expect(server.batches).toHaveLength(1);
    expect(server.requests).toHaveLength(24);
    expect(new Set(server.requests.map((request) => JSON.stringify(request.body.messages))).size).toBe(24);
    expect(summary).toMatchObject({ calls: 24, batch: { batchIds: [server.batches[0]!.id], created: 0, resumed: 1 } });
    expect((await readJudgeBatchState(statePath)).batches[0]).toMatchObject({ status: "completed", collected: true });
  });

  it("finds a batch whose id a kill kept out of the state file by its request set, instead of creating a second", async () => {
    const server = await startServer(servers, { reply: fairJudge });
    server.holdBatches = true;
    const { answers, out, options } = await setUp(server);
    const statePath = join(out, "judge-batches.json");
    const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "test/eval/judge-batch-child.ts"), bench, answers, out, server.baseUrl], { cwd: repoRoot, stdio: "ignore" });
    const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
    while (!(server.batches.length === 1 && server.batches[0]!.retrievals >= 1)) {
      if (child.exitCode !== null) throw new Error(`child exited early with ${child.exitCode}`);
      await new Promise((resolveWait) => setTimeout(resolveWait, 25));
    }
    child.kill("SIGKILL");
    await exited;
    // As if the kill had come between POST /v1/batches answering and the state write.
    await rm(statePath);
    expect(server.batches[0]!.metadata).toMatchObject({ request_set: expect.stringMatching(/^[0-9a-f]{64}$/) });
    server.holdBatches = false;
    const summary = await judgeMtBench(options());
    expect(server.batches).toHaveLength(1);
    expect(server.files.size).toBe(2);
    expect(server.requests).toHaveLength(24);
    expect(summary).toMatchObject({ calls: 24, errors: [], batch: { batchIds: ["batch_1"], created: 0, resumed: 1 } });
  });

  it("keeps what an expired batch finished, reports the rest, and submits only that on the rerun", async () => {
    const server = await startServer(servers, {
      reply: fairJudge,
      batchOutcome: ({ index }) => (index === 0 ? { status: "expired", expireAfter: 10 } : { status: "completed" }),
    });
    const { options } = await setUp(server);
    const first = await judgeMtBench(options());
    expect(server.batches[0]).toMatchObject({ status: "expired" });
    expect(server.requests).toHaveLength(10);
    expect(first.errors).toHaveLength(14);
    expect(first.errors[0]!.error).toMatch(/^api: batch batch_1 expired before this request ran$/);

    const second = await judgeMtBench(options());
    expect(server.batches).toHaveLength(2);
    expect(server.batches[1]).toMatchObject({ status: "completed", requests: 14 });
    expect(server.requests).toHaveLength(24);
    expect(second).toMatchObject({ calls: 14, cacheHits: 10, errors: [] });
  });

  it("reports a failed batch and the failed requests of a completed one as errors", async () => {
    const server = await startServer(servers, {
      reply: (userPrompt) => (readPairPrompt(userPrompt).question === 121 ? { status: 500, body: { error: { message: "overloaded", type: "server_error" } } } : fairJudge(userPrompt)),
      batchOutcome: ({ index }) => (index === 0 ? { status: "failed", message: "line 3: invalid body" } : { status: "completed" }),
    });
    const { options } = await setUp(server);
    const failed = await judgeMtBench(options());
    expect(server.requests).toHaveLength(0);
    expect(failed.errors).toHaveLength(24);
    expect(failed.errors[0]!.error).toBe("api: batch batch_1 failed: line 3: invalid body");

    const completed = await judgeMtBench(options());
    // Question 121: 2 models x 2 turns x 2 orders answered with HTTP 500 in the error file.
    expect(completed.errors).toHaveLength(8);
    expect(completed.errors[0]!.error).toMatch(/^api: batch batch_2: HTTP 500 overloaded$/);
    expect(server.batches).toHaveLength(2);
  });

  it("splits requests at the per-file limits", () => {
    const line = (id: string) => ({ custom_id: id, method: "POST" as const, url: "/v1/chat/completions" as const, body: { text: "x".repeat(50) } });
    const lines = ["a", "b", "c", "d", "e"].map(line);
    expect(splitBatchRequests(lines, { maxRequests: 2, maxBytes: 10_000 }).map((file) => file.length)).toEqual([2, 2, 1]);
    const size = Buffer.byteLength(JSON.stringify(lines[0])) + 1;
    expect(splitBatchRequests(lines, { maxRequests: 100, maxBytes: size * 3 }).map((file) => file.length)).toEqual([3, 2]);
    expect(() => splitBatchRequests(lines, { maxRequests: 100, maxBytes: size - 1 })).toThrow(/above the/);
  });

  it("splits a run into several batches when the requests exceed one file", async () => {
    const server = await startServer(servers, { reply: fairJudge });
    const { options } = await setUp(server, { batch: { pollIntervalMs: 1, maxRequestsPerFile: 10 } });
    const summary = await judgeMtBench(options());
    expect(server.batches.map((batch) => batch.requests)).toEqual([10, 10, 4]);
    expect(server.requests).toHaveLength(24);
    expect(summary.batch).toMatchObject({ created: 3 });
  });
});
