import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  buildPairPrompt,
  createOpenAICompatibleJudge,
  judgeMtBench,
  parsePairVerdict,
  readJudgePrompts,
  readQuestions,
  selectPairPromptName,
  writeMtBenchReport,
  type PairJudgment,
} from "../../src/eval/index";
import type { OpenAIBatchServer } from "../servers/openai-server";
import { readPairPrompt, startServer, STRENGTH, writePanelAnswers } from "./judge-helpers";
import { useTemporaryDirectories } from "../support/temporary-directory";

const repoRoot = resolve(import.meta.dirname, "../..");
const bench = join(repoRoot, "fixtures/mt-bench/mt-bench-x");
const venvPython = join(repoRoot, ".venv/bin/python");
const makeTemporaryDirectory = useTemporaryDirectories({ prefix: "mt-bench-pairwise-", removeAfter: "all" });
const servers: OpenAIBatchServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function readPairFile(path: string): Promise<PairJudgment[]> {
  return (await readFile(path, "utf8")).trim().split("\n").map((line) => JSON.parse(line) as PairJudgment);
}

/**
 * The fake judge: prefers the stronger model, calls question 101 turn 2 a tie, and on question 121
 * always prefers the answer shown first (position bias, so the two orders disagree). It never
 * gives a verdict for question 81 turn 2 of m-weak vs m-strong shown in that order (an error).
 */
function biasedJudge(userPrompt: string): string {
  const { a, b, question, turn } = readPairPrompt(userPrompt);
  if (question === 81 && turn === 2 && a === "m-weak" && b === "m-strong") return "Beide sind gut, ich kann mich nicht entscheiden.";
  if (question === 121) return "Assistent A ist klarer. [[A]]";
  if (question === 101 && turn === 2) return "Gleichwertig. [[C]]";
  return STRENGTH[a]! > STRENGTH[b]! ? "A ist besser. [[A]]" : STRENGTH[a]! < STRENGTH[b]! ? "B ist besser. [[B]]" : "[[C]]";
}

describe("pairwise prompts and verdicts", () => {
  it("parses verdicts like FastChat: [[A]] before [[B]] before [[C]], anywhere; two scores within 0.1 tie", () => {
    expect(parsePairVerdict("Erst [[B]], dann doch [[A]]")).toBe("A");
    expect(parsePairVerdict("Urteil: [[B]]")).toBe("B");
    expect(parsePairVerdict("[[C]]")).toBe("tie");
    expect(parsePairVerdict("A ist besser.")).toBe("error");
    expect(parsePairVerdict("[[7, 7.05]]", "[[rating_a,rating_b]]")).toBe("tie");
    expect(parsePairVerdict("[[8,6]]", "[[rating_a,rating_b]]")).toBe("A");
    expect(parsePairVerdict("[3, 9]", "[[rating_a,rating_b]]")).toBe("B");
  });

  it("selects FastChat's pair prompts and fills both orders", async () => {
    expect(selectPairPromptName("writing", 1)).toBe("pair-v2");
    expect(selectPairPromptName("math", 2)).toBe("pair-math-v1-multi-turn");
    const prompts = await readJudgePrompts(join(bench, "mt_bench_DE/judge_prompts.jsonl"));
    const [, , coding] = await readQuestions(join(bench, "mt_bench_DE/question.jsonl"));
    const answer = (model: string) => ({ question_id: "121_DE", model_id: model, choices: [{ index: 0, turns: [`${model} eins`, `${model} zwei`] }] });
    const built = buildPairPrompt({ question: coding!, answerA: answer("x"), answerB: answer("y"), turn: 2, prompts, reference: ["ref eins", "ref zwei"] });
    expect(built.promptName).toBe("pair-math-v1-multi-turn");
    expect(built.userPrompt.indexOf("ref zwei")).toBeLessThan(built.userPrompt.indexOf("x zwei"));
    expect(built.userPrompt.indexOf("x zwei")).toBeLessThan(built.userPrompt.indexOf("y zwei"));
  });

  const realX = resolve(repoRoot, "../shared/reference-data/mt_bench_x");
  it.skipIf(!existsSync(realX))("fills the translated MT-Bench-X pair prompts of every language (skipped when ../shared/reference-data is absent)", async () => {
    for (const lang of ["DE", "FR", "IT", "ES"]) {
      const directory = join(realX, `mt_bench_${lang}`);
      const prompts = await readJudgePrompts(join(directory, "judge_prompts.jsonl"));
      const questions = await readQuestions(join(directory, "question.jsonl"));
      for (const question of questions.slice(0, 30)) {
        for (const turn of [1, 2] as const) {
          const answer = (model: string) => ({ question_id: question.question_id, model_id: model, choices: [{ index: 0, turns: [`<${model}-1>`, `<${model}-2>`] }] });
          const built = buildPairPrompt({ question, answerA: answer("a"), answerB: answer("b"), turn, prompts, reference: question.reference ?? ["<ref-1>", "<ref-2>"] });
          expect(built.systemPrompt).toBe(prompts.get(built.promptName)!.system_prompt);
          expect(built.userPrompt).toContain(`<a-${turn}>`);
          expect(built.userPrompt.indexOf(`<a-${turn}>`)).toBeLessThan(built.userPrompt.indexOf(`<b-${turn}>`));
        }
      }
    }
  });
});

describe("pairwise judging", () => {
  it("judges every pair in both orders, reports inconsistent games, and writes FastChat's pair format", async () => {
    const directory = await makeTemporaryDirectory();
    const answers = await writePanelAnswers(directory);
    const server = await startServer(servers, { reply: biasedJudge, snapshot: (model) => `${model}-2026-01-15` });
    const out = join(directory, "judgments");
    const summary = await judgeMtBench({
      bench,
      answers,
      out,
      provider: createOpenAICompatibleJudge({ model: "judge-model", baseUrl: server.baseUrl, apiKey: "test-key" }),
      mode: "pairwise-baseline",
      baseline: "m-base",
      retry: { retries: 0 },
      now: () => 1_750_000_000,
    });
    // 2 models x 3 questions x 2 turns = 12 games, each asked in both orders.
    expect(summary).toMatchObject({ mode: "pairwise-baseline", baseline: "m-base", judgments: 12, calls: 24, cacheHits: 0, inconsistentPairs: 4 });
    expect(server.requests).toHaveLength(24);
    expect(summary.judgeSnapshots).toEqual(["judge-model-2026-01-15"]);
    expect(summary.errors).toEqual([]);

    const rows = await readPairFile(join(out, "mt_bench_DE/model_judgment/judge-model_pair.jsonl"));
    expect(rows).toHaveLength(12);
    expect(Object.keys(rows[0]!).slice(0, 12)).toEqual([
      "question_id", "model_1", "model_2", "g1_winner", "g2_winner", "judge", "g1_user_prompt", "g1_judgment", "g2_user_prompt", "g2_judgment", "turn", "tstamp",
    ]);
    const row = (model: string, question: string, turn: number) => rows.find((item) => item.model_1 === model && item.question_id === question && item.turn === turn)!;
    // Game 1 shows model_1 as A, game 2 shows it as B: the prompt order says so.
    const strong81 = row("m-strong", "81_DE", 1);
    expect(readPairPrompt(strong81.g1_user_prompt)).toMatchObject({ a: "m-strong", b: "m-base" });
    expect(readPairPrompt(strong81.g2_user_prompt)).toMatchObject({ a: "m-base", b: "m-strong" });
    expect(strong81).toMatchObject({ model_2: "m-base", g1_winner: "model_1", g2_winner: "model_1", winner: "model_1", consistent: true, judge: ["judge-model", "pair-v2"], judge_snapshot: "judge-model-2026-01-15", lang: "DE", category: "writing" });
    expect(row("m-weak", "101_DE", 1)).toMatchObject({ g1_winner: "model_2", g2_winner: "model_2", winner: "model_2", judge: ["judge-model", "pair-math-v1"] });
    expect(row("m-weak", "101_DE", 2)).toMatchObject({ g1_winner: "tie", g2_winner: "tie", winner: "tie", consistent: true, judge: ["judge-model", "pair-math-v1-multi-turn"] });
    // Position bias on question 121: A wins both times, so each order names a different model.
    expect(row("m-strong", "121_DE", 2)).toMatchObject({ g1_winner: "model_1", g2_winner: "model_2", winner: "inconsistent", consistent: false });

    // The rerun pays nothing.
    const rerun = await judgeMtBench({
      bench,
      answers,
      out,
      provider: createOpenAICompatibleJudge({ model: "judge-model", baseUrl: server.baseUrl, apiKey: "test-key" }),
      mode: "pairwise-baseline",
      baseline: "m-base",
    });
    expect(rerun).toMatchObject({ calls: 0, cacheHits: 24 });
    expect(server.requests).toHaveLength(24);
  });

  it("keeps a game without a verdict as an error, and pairwise-all judges every pair", async () => {
    const directory = await makeTemporaryDirectory();
    const answers = await writePanelAnswers(directory);
    const server = await startServer(servers, { reply: biasedJudge });
    const out = join(directory, "judgments");
    const summary = await judgeMtBench({
      bench,
      answers,
      out,
      provider: createOpenAICompatibleJudge({ model: "judge-model", baseUrl: server.baseUrl, apiKey: "test-key" }),
      mode: "pairwise-all",
      retry: { retries: 0 },
    });
    // 3 pairs x 6 question turns, two orders each.
    expect(summary).toMatchObject({ judgments: 18, calls: 36 });
    // m-strong vs m-weak (sorted: model_1 = m-strong): game 2 shows m-weak first on 81 turn 2 and gets no verdict.
    expect(summary.errors).toEqual([{ lang: "DE", model: "m-strong vs m-weak", questionId: "81_DE", turn: 2, error: "unparseable", game: 2 }]);
    const rows = await readPairFile(join(out, "mt_bench_DE/model_judgment/judge-model_pair.jsonl"));
    expect(rows.map((item) => `${item.model_1}/${item.model_2}`).filter((value, index, all) => all.indexOf(value) === index)).toEqual([
      "m-base/m-strong",
      "m-base/m-weak",
      "m-strong/m-weak",
    ]);
    expect(rows.find((item) => item.model_1 === "m-strong" && item.model_2 === "m-weak" && item.question_id === "81_DE" && item.turn === 2)).toMatchObject({
      g1_winner: "model_1",
      g2_winner: "error",
      winner: "error",
      error: "game 2: unparseable",
    });
    // --retry-errors asks again for the one order without a verdict, and only for it.
    const retried = await judgeMtBench({
      bench,
      answers,
      out,
      provider: createOpenAICompatibleJudge({ model: "judge-model", baseUrl: server.baseUrl, apiKey: "test-key" }),
      mode: "pairwise-all",
      retryErrors: true,
    });
    expect(retried).toMatchObject({ calls: 1, cacheHits: 35 });
    expect(server.requests).toHaveLength(37);
  });
});

describe("pairwise report", () => {
  /**
   * Win rates by FastChat's rules (show_result.py display_result_pairwise), by hand, for the
   * biased judge against the baseline m-base, 6 games per model:
   * m-strong: wins 81/1, 81/2, 101/1; tie 101/2; 121/1 and 121/2 inconsistent -> ties.
   *   win 3, loss 0, tie 3: win_rate 0.5, loss_rate 0, adjusted (3 + 1.5) / 6 = 0.75.
   * m-weak: loses 81/1, 81/2, 101/1; tie 101/2; 121 inconsistent twice.
   *   win 0, loss 3, tie 3: win_rate 0, loss_rate 0.5, adjusted 1.5 / 6 = 0.25.
   */
  const expected = {
    "m-strong": { win: 3, loss: 0, tie: 3, inconsistent: 2, winRate: 0.5, lossRate: 0, winRateAdjusted: 0.75 },
    "m-weak": { win: 0, loss: 3, tie: 3, inconsistent: 2, winRate: 0, lossRate: 0.5, winRateAdjusted: 0.25 },
  };

  async function judgePairs(): Promise<string> {
    const directory = await makeTemporaryDirectory();
    const answers = await writePanelAnswers(directory);
    const server = await startServer(servers, { reply: biasedJudge });
    const out = join(directory, "judgments");
    await judgeMtBench({
      bench,
      answers,
      out,
      provider: createOpenAICompatibleJudge({ model: "judge-model", baseUrl: server.baseUrl, apiKey: "test-key" }),
      mode: "pairwise-baseline",
      baseline: "m-base",
    });
    return out;
  }

  it("gives FastChat's win rates (by hand), position consistency and bootstrap intervals", async () => {
    const out = await judgePairs();
    const reportOut = await makeTemporaryDirectory();
    const { report, files } = await writeMtBenchReport({ judgments: out, out: reportOut, bootstrap: { seed: 3, resamples: 200 } });
    expect(files.at(-1)).toBe("report.json");
    expect(files).toEqual(expect.arrayContaining(["pairwise.csv", "position-consistency.csv", "report.md"]));
    const pairwise = report.pairwise!;
    expect(pairwise.baseline).toBe("m-base");
    for (const [model, numbers] of Object.entries(expected)) {
      const line = pairwise.winRates.find((row) => row.model === model)!;
      expect(line).toMatchObject({ judge: "judge-model", lang: "DE", ...numbers });
      expect(line.interval.mean).toBeCloseTo(numbers.winRateAdjusted, 12);
      expect(line.interval.lower!).toBeLessThanOrEqual(numbers.winRateAdjusted);
      expect(line.interval.upper!).toBeGreaterThanOrEqual(numbers.winRateAdjusted);
    }
    expect(pairwise.winRates.map((row) => row.model)).toEqual(["m-strong", "m-weak"]);
    // 12 games, 4 inconsistent (question 121, both turns, both models), all favouring position A.
    expect(pairwise.consistency).toEqual([
      { judge: "judge-model", lang: "DE", games: 12, consistent: 8, inconsistent: 4, rate: 8 / 12, favouredFirst: 4, favouredSecond: 0, errors: 0 },
    ]);
    const markdown = await readFile(join(reportOut, "report.md"), "utf8");
    expect(markdown).toContain("## Pairwise win rates (FastChat `show_result`)");
    expect(markdown).toContain("| judge-model | DE | m-strong | 3 | 0 | 3 | 2 | 50.0% | 0.0% | 75.0% |");
    expect(markdown).toContain("| judge-model | DE | 12 | 8 | 4 | 66.7% | 4 | 0 | 0 |");
  });

  it("two judges: Cohen's and Fleiss' kappa on the combined verdicts and a majority ensemble, by hand", async () => {
    const directory = await makeTemporaryDirectory();
    const answers = await writePanelAnswers(directory);
    const fair = await startServer(servers, {
      reply: (userPrompt) => {
        const { a, b } = readPairPrompt(userPrompt);
        return STRENGTH[a]! > STRENGTH[b]! ? "[[A]]" : "[[B]]";
      },
    });
    const biased = await startServer(servers, { reply: biasedJudge });
    const out = join(directory, "judgments");
    const summary = await judgeMtBench({
      bench,
      answers,
      out,
      judges: [
        createOpenAICompatibleJudge({ model: "fair-judge", baseUrl: fair.baseUrl, apiKey: "a" }),
        createOpenAICompatibleJudge({ model: "biased-judge", baseUrl: biased.baseUrl, apiKey: "b" }),
      ],
      mode: "pairwise-baseline",
      baseline: "m-base",
    });
    expect(summary).toMatchObject({ judgments: 24, calls: 48 });
    expect(fair.requests).toHaveLength(24);
    expect(biased.requests).toHaveLength(24);
    const { report } = await writeMtBenchReport({ judgments: out, out: await makeTemporaryDirectory(), bootstrap: { resamples: 50 } });
    const pairwise = report.pairwise!;
    // Fair: model_1 on the 6 m-strong games, model_2 on the 6 m-weak games. Biased: the same on
    // 81/1, 81/2, 101/1 of each, a tie on the other 3 (101/2 said tie, 121 inconsistent).
    // Cohen: po = 6/12, pe = 0.5 x 0.25 + 0.5 x 0.25 + 0 x 0.5 = 0.25 -> (0.5 - 0.25) / 0.75 = 1/3.
    // Fleiss (2 raters): P-bar = 0.5; p = 9/24, 9/24, 6/24 -> pe = 0.34375 -> 0.15625 / 0.65625 = 5/21.
    expect(pairwise.agreement).toEqual([
      { lang: "DE", judges: ["biased-judge", "fair-judge"], statistic: "cohen", items: 12, kappa: expect.closeTo(1 / 3, 12) },
      { lang: "DE", judges: ["biased-judge", "fair-judge"], statistic: "fleiss", items: 12, kappa: expect.closeTo(5 / 21, 12) },
    ]);
    // Majority of two = both agree; otherwise a tie: 3 wins + 3 ties for m-strong.
    const ensemble = pairwise.winRates.filter((row) => row.judge === "ensemble (majority of 2 judges)");
    expect(ensemble.map((row) => [row.model, row.win, row.loss, row.tie, row.winRateAdjusted])).toEqual([
      ["m-strong", 3, 0, 3, 0.75],
      ["m-weak", 0, 3, 3, 0.25],
    ]);
    expect(pairwise.winRates.find((row) => row.judge === "fair-judge" && row.model === "m-strong")).toMatchObject({ win: 6, winRateAdjusted: 1 });
    expect(pairwise.consistency.map((row) => [row.judge, row.rate])).toEqual([
      ["biased-judge", 8 / 12],
      ["fair-judge", 1],
    ]);
  });

  // FastChat's own script, installed in the test venv by scripts/test-trainer.mjs (pandas + fschat --no-deps).
  it("equals FastChat's show_result.py --mode pairwise-baseline and pairwise-all on the same file", async () => {
    expect(existsSync(venvPython), "the test venv (.venv) is created by `node scripts/test-trainer.mjs`, part of npm test").toBe(true);
    const out = await judgePairs();
    const file = join(out, "mt_bench_DE/model_judgment/judge-model_pair.jsonl");
    // An error row and a row without the baseline must be dropped as FastChat drops them.
    const extra = [
      { question_id: "81_DE", model_1: "m-strong", model_2: "m-base", g1_winner: "error", g2_winner: "model_1", judge: ["judge-model", "pair-v2"], g1_user_prompt: "", g1_judgment: "", g2_user_prompt: "", g2_judgment: "", turn: 1, tstamp: 1 },
      { question_id: "81_DE", model_1: "m-strong", model_2: "m-weak", g1_winner: "model_1", g2_winner: "model_1", judge: ["judge-model", "pair-v2"], g1_user_prompt: "", g1_judgment: "", g2_user_prompt: "", g2_judgment: "", turn: 1, tstamp: 1 },
    ];
    await writeFile(file, (await readFile(file, "utf8")) + extra.map((row) => JSON.stringify(row)).join("\n") + "\n");

    const script = [
      "import json, sys",
      "import fastchat.llm_judge.show_result as show_result",
      "captured = []",
      // show_result prints its table; capture the DataFrame instead of parsing text.
      "show_result.print = lambda *values: captured.extend(values)",
      "args = __import__('argparse').Namespace(bench_name='mt_bench', input_file=sys.argv[1], judge_model='judge-model', baseline_model=(None if sys.argv[2] == '-' else sys.argv[2]), model_list=None, mode='pairwise-baseline' if sys.argv[2] != '-' else 'pairwise-all')",
      "show_result.display_result_pairwise(args)",
      "frame = [value for value in captured if hasattr(value, 'to_dict')][-1]",
      "print(json.dumps({model: {key: float(value) for key, value in row.items()} for model, row in frame.to_dict(orient='index').items()}))",
    ].join("\n");
    for (const baseline of ["m-base", "-"]) {
      const result = spawnSync(venvPython, ["-c", script, file, baseline], { encoding: "utf8" });
      expect(result.status, result.stderr).toBe(0);
      const fastchat = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as Record<string, Record<string, number>>;
      const reportOut = await makeTemporaryDirectory();
      const { report } = await writeMtBenchReport({ judgments: out, out: reportOut, ...(baseline === "-" ? { baseline: undefined } : { baseline }) });
      const ours = report.pairwise!.winRates.filter((row) => row.judge === "judge-model");
      if (baseline === "-") {
        // pairwise-all: FastChat counts every row; our report, without a shared baseline in the file, too.
        expect(report.pairwise!.baseline).toBeNull();
      }
      expect(ours.map((row) => row.model).sort()).toEqual(Object.keys(fastchat).sort());
      for (const row of ours) {
        const theirs = fastchat[row.model]!;
        expect([row.win, row.loss, row.tie]).toEqual([theirs.win, theirs.loss, theirs.tie]);
        expect(row.winRate).toBeCloseTo(theirs.win_rate!, 12);
        expect(row.lossRate).toBeCloseTo(theirs.loss_rate!, 12);
        expect(row.winRateAdjusted).toBeCloseTo(theirs.win_rate_adjusted!, 12);
      }
      if (baseline === "m-base") expect(fastchat["m-strong"]).toMatchObject({ win: 3, loss: 0, tie: 3, win_rate_adjusted: 0.75 });
    }
  });
});
