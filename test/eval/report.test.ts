import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  averageRanks,
  bootstrapMeanInterval,
  buildMtBenchReport,
  compareCrossLingual,
  computeFastChatAverages,
  drawResamples,
  kendallTauB,
  loadReportJudgments,
  parseComparisonPairs,
  pearsonCorrelation,
  quantile,
  spearmanCorrelation,
  writeMtBenchReport,
} from "../../src/eval/index";
import { useTemporaryDirectories } from "../support/temporary-directory";

const repoRoot = resolve(import.meta.dirname, "../..");
const fixtures = join(repoRoot, "fixtures/mt-bench");
const referenceData = resolve(repoRoot, "../shared/reference-data/mt_bench_x");
const venvPython = join(repoRoot, ".venv/bin/python");

const makeTemporaryDirectory = useTemporaryDirectories({ prefix: "mt-bench-report-", removeAfter: "all" });

describe("FastChat show_result averages", () => {
  it("drops -1 rows, keeps duplicates and averages over judgments, not over turn means", () => {
    const rows = [
      { model: "a", turn: 1, score: 8 },
      { model: "a", turn: 2, score: 6 },
      { model: "a", turn: 1, score: 7 },
      { model: "a", turn: 2, score: -1 },
      { model: "a", turn: 1, score: 9 },
      { model: "b", turn: 1, score: 10 },
    ];
    const [a, b] = computeFastChatAverages(rows);
    expect(a).toMatchObject({ model: "b", turn1: { mean: 10, count: 1 }, turn2: { mean: null, count: 0 }, errors: 0 });
    // turn 1: (8 + 7 + 9) / 3 = 8; turn 2: 6; overall (8 + 6 + 7 + 9) / 4 = 7.5, not (8 + 6) / 2 = 7.
    expect(b).toMatchObject({ model: "a", turn1: { mean: 8, count: 3 }, turn2: { mean: 6, count: 1 }, overall: { mean: 7.5, count: 4 }, errors: 1 });
  });

  it.skipIf(!existsSync(referenceData))(
    "equals FastChat's show_result on the real MT-Bench-X judgments (skipped when ../shared/reference-data is absent)",
    async () => {
      const judgments = await loadReportJudgments({ judgments: referenceData, bench: referenceData });
      const report = buildMtBenchReport({ judgments });
      const byLanguage = Object.fromEntries(report.fastchat.map((row) => [row.lang, row]));
      // FastChat show_result on mt_bench_EN/model_judgment/gpt-4_single.jsonl (12 rows, no errors):
      // turn 1 (10+8+9+8+8+8)/6 = 8.5, turn 2 (2+8+1+7+1+8)/6 = 4.5, average 78/12 = 6.5.
      expect(byLanguage.EN).toMatchObject({
        model: "opengptx-debug-7B-24EU-3T-honey",
        turn1: { mean: 8.5, count: 6 },
        turn2: { mean: 4.5, count: 6 },
        overall: { mean: 6.5, count: 12 },
        errors: 0,
      });
      // mt_bench_DE: 24 rows, 4 of them $ERROR$ (-1) dropped, duplicates of reruns kept:
      // turn 1 78/10 = 7.8, turn 2 54/10 = 5.4, average 132/20 = 6.6.
      expect(byLanguage.DE).toMatchObject({
        turn1: { mean: 7.8, count: 10 },
        turn2: { mean: 5.4, count: 10 },
        overall: { mean: 6.6, count: 20 },
        errors: 4,
      });
      expect(report.errors).toHaveLength(4);
      expect(report.errors.every((error) => error.lang === "DE" && error.reason === "$ERROR$")).toBe(true);
      expect(report.errors.map((error) => `${error.questionId}/${error.turn}`).sort()).toEqual(["81_DE/1", "81_DE/2", "82_DE/1", "82_DE/2"]);
      expect(report.categories).toEqual(["writing"]);
    },
  );
});

describe("bootstrap", () => {
  it("is reproducible with a seed", () => {
    const clusters = [[8, 6], [7, 9], [4, 5], [10, 2], [6, 6]];
    const first = bootstrapMeanInterval({ clusters, seed: 42, resamples: 500 });
    expect(bootstrapMeanInterval({ clusters, seed: 42, resamples: 500 })).toEqual(first);
    expect(bootstrapMeanInterval({ clusters, seed: 43, resamples: 500 })).not.toEqual(first);
    expect(first.mean).toBe(6.3);
  });

  // The reference is computed independently by numpy (pinned in the test venv by scripts/test-trainer.mjs):
  // from the same resampled cluster indices, each resample's mean over all its scores, then
  // numpy.percentile at (1 - confidence) / 2 and 1 - (1 - confidence) / 2 (linear interpolation).
  it("equals numpy's percentile bootstrap on the same resamples", () => {
    expect(existsSync(venvPython), "the test venv (.venv) is created by `node scripts/test-trainer.mjs`, part of npm test").toBe(true);
    // Clusters of one to three scores (both turns of a question, plus repeats), 1..10 like MT-Bench.
    const clusters = Array.from({ length: 40 }, (_, question) => Array.from({ length: 1 + (question % 3) }, (_, turn) => 1 + ((question * 7 + turn * 3) % 10)));
    const cases = [
      { seed: 42, stream: "", resamples: 1000, confidence: 0.95 },
      { seed: "report", stream: "EN|model-a", resamples: 333, confidence: 0.9 },
    ];
    for (const options of cases) {
      const interval = bootstrapMeanInterval({ clusters, ...options });
      const draws = [...drawResamples({ clusterCount: clusters.length, ...options })].map((drawn) => [...drawn]);
      expect(draws).toHaveLength(options.resamples);
      const script = [
        "import json, sys",
        "import numpy as np",
        "data = json.load(sys.stdin)",
        "clusters = data['clusters']",
        "means = [sum(sum(clusters[i]) for i in drawn) / sum(len(clusters[i]) for i in drawn) for drawn in data['draws']]",
        "alpha = (1 - data['confidence']) / 2",
        "lower, upper = np.percentile(np.array(means), [100 * alpha, 100 * (1 - alpha)])",
        "print(json.dumps({'mean': float(np.mean(np.concatenate([np.array(c, dtype=float) for c in clusters]))), 'lower': float(lower), 'upper': float(upper)}))",
      ].join("\n");
      const result = spawnSync(venvPython, ["-c", script], { input: JSON.stringify({ clusters, draws, confidence: options.confidence }), encoding: "utf8" });
      expect(result.status, result.stderr).toBe(0);
      const reference = JSON.parse(result.stdout) as { mean: number; lower: number; upper: number };
      expect(interval.mean).toBeCloseTo(reference.mean, 12);
      expect(interval.lower).toBeCloseTo(reference.lower, 12);
      expect(interval.upper).toBeCloseTo(reference.upper, 12);
      expect(interval.lower!).toBeLessThan(interval.upper!);
    }
  });

  it("collapses to the mean when every cluster is the same and interpolates quantiles like numpy", () => {
    expect(bootstrapMeanInterval({ clusters: [[5, 7], [7, 5]], resamples: 50 })).toMatchObject({ mean: 6, lower: 6, upper: 6 });
    expect(quantile([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(quantile([1, 2, 3, 4], 0.975)).toBeCloseTo(3.925, 12);
  });
});

describe("correlation", () => {
  const judge = [6, 5, 4, 5];
  const human = [7, 5, 3, 6];
  it("matches hand-computed Pearson, Spearman and Kendall tau-b with ties", () => {
    // Pearson: cov 4, var 2 and 8.75 -> 4 / sqrt(17.5).
    expect(pearsonCorrelation(judge, human)).toBeCloseTo(4 / Math.sqrt(17.5), 12);
    // Ranks [4, 2.5, 1, 2.5] and [4, 2, 1, 3] -> 4.5 / sqrt(4.5 * 5).
    expect(averageRanks(judge)).toEqual([4, 2.5, 1, 2.5]);
    expect(spearmanCorrelation(judge, human)).toBeCloseTo(4.5 / Math.sqrt(22.5), 12);
    // 5 concordant, 0 discordant, 1 pair tied in the judge only -> 5 / sqrt(6 * 5).
    expect(kendallTauB(judge, human)).toBeCloseTo(5 / Math.sqrt(30), 12);
  });

  it("is null when undefined", () => {
    expect(pearsonCorrelation([1], [2])).toBeNull();
    expect(spearmanCorrelation([3, 3, 3], [1, 2, 3])).toBeNull();
    expect(kendallTauB([1, 1], [2, 2])).toBeNull();
    expect(kendallTauB([1, 2, 3], [3, 2, 1])).toBe(-1);
  });
});

describe("cross-lingual comparison", () => {
  it("parses pair lists from the CLI and from JSON", () => {
    expect(parseComparisonPairs("ENDEFRITES:DE, ENDEFRITES:@lang")).toEqual([
      { multilingual: "ENDEFRITES", monolingual: "DE" },
      { multilingual: "ENDEFRITES", monolingual: "@lang" },
    ]);
    expect(parseComparisonPairs('[{"multilingual":"a","monolingual":"b"},"c:d"]')).toEqual([
      { multilingual: "a", monolingual: "b" },
      { multilingual: "c", monolingual: "d" },
    ]);
    expect(() => parseComparisonPairs("ENDEFRITES")).toThrow(/MULTILINGUAL:MONOLINGUAL/);
  });

  it("matches compositions per dataset and computes the improvement in percent", () => {
    const scores = [
      { model: "lima-x-ENDEFRITES", lang: "DE", score: 6 },
      { model: "lima-x-DE", lang: "DE", score: 5 },
      { model: "bactrian-x-ENDEFRITES", lang: "DE", score: 4 },
      { model: "bactrian-x-DE", lang: "DE", score: 5 },
      { model: "lima-x-ENDEFRITES", lang: "FR", score: 6 },
      { model: "lima-x-FR", lang: "FR", score: 4 },
    ];
    const rows = compareCrossLingual({ scores, pairs: [{ multilingual: "ENDEFRITES", monolingual: "@lang" }] });
    expect(rows.map((row) => [row.dataset, row.evaluationLanguage, row.monolingualModel, row.improvementPercent])).toEqual([
      ["bactrian-x-*", "DE", "bactrian-x-DE", -20],
      ["lima-x-*", "DE", "lima-x-DE", 20],
      ["lima-x-*", "FR", "lima-x-FR", 50],
    ]);
    const exact = compareCrossLingual({ scores, pairs: [{ multilingual: "lima-x-ENDEFRITES", monolingual: "bactrian-x-DE" }] });
    expect(exact).toHaveLength(1);
    expect(exact[0]).toMatchObject({ dataset: "lima-x-ENDEFRITES vs bactrian-x-DE", improvementPercent: 20 });
  });
});

describe("report files", () => {
  it("writes Markdown, CSV, JSON and SVG with hand-computed figures from the fixture", async () => {
    const out = await makeTemporaryDirectory();
    const { report, files } = await writeMtBenchReport({
      judgments: join(fixtures, "judgments"),
      out,
      pairs: parseComparisonPairs("ENDEFRITES:@lang"),
      humanRatings: join(fixtures, "human-ratings.csv"),
      bootstrap: { seed: 7, resamples: 200 },
    });
    expect(files.at(-1)).toBe("report.json");
    const line = (model: string, lang: string) => report.fastchat.find((row) => row.model === model && row.lang === lang)!;
    expect(line("lima-x-ENDEFRITES", "DE")).toMatchObject({ turn1: { mean: 8 }, turn2: { mean: 6 }, overall: { mean: 7.5, count: 4 }, errors: 1 });
    expect(line("lima-x-DE", "DE")).toMatchObject({ overall: { mean: 5 } });
    expect(line("lima-x-ENDEFRITES", "FR")).toMatchObject({ turn1: { mean: 6.5 }, turn2: { mean: 5.5 }, overall: { mean: 6 } });
    expect(line("lima-x-FR", "FR")).toMatchObject({ turn1: { mean: 4.5 }, turn2: { mean: 5.5 }, overall: { mean: 5 }, errors: 1 });
    expect(report.errors.map((error) => [error.lang, error.questionId, error.turn, error.reason])).toEqual([
      ["DE", "101_DE", 2, "$ERROR$"],
      ["FR", "81_FR", 2, "no [[rating]]"],
    ]);
    expect(report.crossLingual.map((row) => [row.evaluationLanguage, row.improvementPercent])).toEqual([
      ["DE", 50],
      ["FR", 20],
    ]);
    const cell = (category: string, turn: 1 | 2 | "all") =>
      report.cells.find((entry) => entry.model === "lima-x-ENDEFRITES" && entry.lang === "DE" && entry.category === category && entry.turn === turn);
    expect(cell("writing", "all")).toMatchObject({ mean: 7, count: 2 });
    expect(cell("reasoning", 1)).toMatchObject({ mean: 8, count: 2 });
    expect(cell("reasoning", 2)).toMatchObject({ mean: null, count: 0, errors: 1 });
    expect(report.agreement).toMatchObject({ count: 4, unmatched: 1 });
    expect(report.agreement!.kendallTauB).toBeCloseTo(5 / Math.sqrt(30), 12);

    const markdown = await readFile(join(out, "report.md"), "utf8");
    expect(markdown).toContain("| lima-x-ENDEFRITES | DE | 8.00 | 6.00 | 7.50 |");
    expect(markdown).toContain("+50.0%");
    const averages = await readFile(join(out, "averages.csv"), "utf8");
    expect(averages.split("\n")[0]).toBe("model,lang,turn1,turn2,average,ci_lower,ci_upper,judgments,errors,language_mismatches");
    expect(averages).toContain("lima-x-ENDEFRITES,DE,8,6,7.5,");
    const svg = await readFile(join(out, "charts/averages.svg"), "utf8");
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    expect((svg.match(/<rect [^>]*><title>/g) ?? []).length).toBe(4);
    const json = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
    expect(json.fastchat).toHaveLength(4);

    // Same seed, same files.
    const again = await makeTemporaryDirectory();
    await writeMtBenchReport({ judgments: join(fixtures, "judgments"), out: again, pairs: parseComparisonPairs("ENDEFRITES:@lang"), bootstrap: { seed: 7, resamples: 200 }, humanRatings: join(fixtures, "human-ratings.csv") });
    expect(await readFile(join(again, "averages.csv"), "utf8")).toBe(averages);
  });
});

describe("docs", () => {
  it("the charts in docs/images are what the renderer makes from the fixture", async () => {
    const out = await makeTemporaryDirectory();
    await writeMtBenchReport({ judgments: join(fixtures, "judgments"), out, pairs: parseComparisonPairs("ENDEFRITES:@lang"), bootstrap: { seed: 0, resamples: 1000 } });
    expect(await readFile(join(out, "charts/averages.svg"), "utf8")).toBe(await readFile(join(repoRoot, "docs/images/mt-bench-x-averages.svg"), "utf8"));
    expect(await readFile(join(out, "charts/categories-DE.svg"), "utf8")).toBe(await readFile(join(repoRoot, "docs/images/mt-bench-x-categories-DE.svg"), "utf8"));
    const docs = await readFile(join(repoRoot, "docs/mt-bench-x.md"), "utf8");
    expect(docs).toContain("EN 8.50 / 4.50 / 6.50 and DE 7.80 / 5.40 / 6.60");
  });
});
