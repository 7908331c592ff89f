import { join } from "node:path";
import { writeToString } from "fast-csv";
import { z } from "zod";
import { writeFileAtomic } from "../../io/atomic-write";
import { bootstrapOptionsSchema } from "./bootstrap";
import { buildMtBenchReport, type MtBenchReport } from "./build-report";
import { comparisonPairSchema } from "./cross-lingual";
import { readHumanRatings } from "./human-ratings";
import { loadReportJudgments } from "./load-report-judgments";
import { loadReportPairJudgments } from "./pairwise-report";
import { renderReportMarkdown } from "./render-markdown";
import { renderBarChartSvg } from "./render-svg";
import { parseOptions } from "../../parse-options";

/** Options of `writeMtBenchReport`. */
export const writeMtBenchReportOptionsSchema = z.strictObject({
  /** A judgment file or a directory of them (`judgments/`, or an MT-Bench-X tree). */
  judgments: z.string().min(1),
  /** Output directory. */
  out: z.string().min(1),
  /** MT-Bench(-X) tree or `question.jsonl` for the categories (optional, see `loadReportJudgments`). */
  bench: z.string().min(1).optional(),
  /** Language of judgments that do not say (default `EN`). */
  lang: z.string().min(2).optional(),
  /** Keep only this judge model. */
  judgeModel: z.string().min(1).optional(),
  bootstrap: bootstrapOptionsSchema.prefault({}),
  /** Cross-lingual comparisons. */
  pairs: z.array(comparisonPairSchema).default([]),
  /** CSV of human ratings (`question_id,model,turn,score[,lang]`). */
  humanRatings: z.string().min(1).optional(),
  /** Baseline of pairwise win rates (default: the model every pairwise row shares, if one). */
  baseline: z.string().min(1).optional(),
});
export type WriteMtBenchReportOptions = z.input<typeof writeMtBenchReportOptionsSchema>;

/** What `writeMtBenchReport` produced. */
export interface WrittenReport {
  report: MtBenchReport;
  /** Paths written, relative to `out`, `report.json` last. */
  files: string[];
}

function rounded(value: number | null | undefined): number | string {
  return value === null || value === undefined ? "" : Number(value.toFixed(6));
}

/**
 * Reads judgments, computes the report and writes `report.md`, `averages.csv`, `scores.csv`,
 * `errors.csv`, `cross-lingual.csv`, SVG charts under `charts/`, and `report.json` last.
 */
export async function writeMtBenchReport(options: WriteMtBenchReportOptions): Promise<WrittenReport> {
  const parsed = parseOptions(writeMtBenchReportOptionsSchema, options, "writeMtBenchReport");
  const pairJudgments = await loadReportPairJudgments({ judgments: parsed.judgments, lang: parsed.lang, judgeModel: parsed.judgeModel });
  const judgments = await loadReportJudgments({
    judgments: parsed.judgments,
    bench: parsed.bench,
    lang: parsed.lang,
    judgeModel: parsed.judgeModel,
    allowNone: pairJudgments.length > 0,
  });
  const humanRatings = parsed.humanRatings ? await readHumanRatings(parsed.humanRatings) : undefined;
  const report = buildMtBenchReport({
    judgments,
    bootstrap: parsed.bootstrap,
    pairs: parsed.pairs,
    humanRatings,
    pairJudgments,
    ...(parsed.baseline ? { baseline: parsed.baseline } : {}),
  });
  const files: string[] = [];
  const write = async (name: string, data: string) => {
    await writeFileAtomic(join(parsed.out, name), data);
    files.push(name);
  };

  const charts: string[] = [];
  if (report.fastchat.length > 0) {
    const averagesChart = renderBarChartSvg({
      title: "MT-Bench-X average score per language",
      yMax: 10,
      yLabel: "score (1-10)",
      groups: report.languages.map((lang) => ({
        label: lang,
        bars: report.fastchat
          .filter((row) => row.lang === lang)
          .sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0))
          .map((row) => ({ series: row.model, value: row.overall.mean, lower: row.interval.lower, upper: row.interval.upper })),
      })),
    });
    await write("charts/averages.svg", averagesChart);
    charts.push("charts/averages.svg");
    for (const lang of report.languages) {
      const name = `charts/categories-${lang}.svg`;
      await write(
        name,
        renderBarChartSvg({
          title: `MT-Bench-X ${lang}: score per category`,
          yMax: 10,
          yLabel: "score (1-10)",
          groups: report.categories.map((category) => ({
            label: category,
            bars: report.cells
              .filter((cell) => cell.lang === lang && cell.category === category && cell.turn === "all")
              .map((cell) => ({ series: cell.model, value: cell.mean })),
          })),
        }),
      );
      charts.push(name);
    }
  }

  await write(
    "averages.csv",
    await writeToString(
      report.fastchat.map((row) => ({
        model: row.model,
        lang: row.lang,
        turn1: rounded(row.turn1.mean),
        turn2: rounded(row.turn2.mean),
        average: rounded(row.overall.mean),
        ci_lower: rounded(row.interval.lower),
        ci_upper: rounded(row.interval.upper),
        judgments: row.overall.count,
        errors: row.errors,
        language_mismatches: row.languageMismatches,
      })),
      { headers: true },
    ),
  );
  await write(
    "scores.csv",
    await writeToString(
      report.cells.map((cell) => ({
        model: cell.model,
        lang: cell.lang,
        category: cell.category,
        turn: cell.turn,
        score: rounded(cell.mean),
        judgments: cell.count,
        errors: cell.errors,
      })),
      { headers: ["model", "lang", "category", "turn", "score", "judgments", "errors"] },
    ),
  );
  await write(
    "errors.csv",
    await writeToString(
      report.errors.map((error) => ({ ...error })),
      { headers: ["model", "lang", "questionId", "turn", "reason", "file", "line"] },
    ),
  );
  await write(
    "cross-lingual.csv",
    await writeToString(
      report.crossLingual.map((row) => ({ ...row, improvementPercent: rounded(row.improvementPercent) })),
      {
        headers: [
          "pair",
          "dataset",
          "evaluationLanguage",
          "multilingualModel",
          "monolingualModel",
          "multilingualScore",
          "monolingualScore",
          "improvementPercent",
        ],
      },
    ),
  );
  await writeJudgePanelTables(report, write);
  await write("report.md", renderReportMarkdown(report, { charts }));
  await write("report.json", JSON.stringify(report, null, 2) + "\n");
  return { report, files };
}

/** CSVs of the several-judges, repeats and pairwise parts, when the report has them. */
async function writeJudgePanelTables(report: MtBenchReport, write: (name: string, data: string) => Promise<void>): Promise<void> {
  const panel = report.panel;
  if (panel) {
    await write(
      "judges.csv",
      await writeToString(
        panel.perJudge.map((row) => ({
          judge: row.judge,
          model: row.model,
          lang: row.lang,
          turn1: rounded(row.turn1.mean),
          turn2: rounded(row.turn2.mean),
          average: rounded(row.overall.mean),
          judgments: row.overall.count,
          errors: row.errors,
        })),
        { headers: ["judge", "model", "lang", "turn1", "turn2", "average", "judgments", "errors"] },
      ),
    );
    await write(
      "judge-agreement.csv",
      await writeToString(
        panel.agreement.map((row) => ({
          lang: row.lang,
          judge_a: row.judges[0],
          judge_b: row.judges[1],
          judgments: row.count,
          pearson: rounded(row.pearson),
          spearman: rounded(row.spearman),
          kendall_tau_b: rounded(row.kendallTauB),
        })),
        { headers: ["lang", "judge_a", "judge_b", "judgments", "pearson", "spearman", "kendall_tau_b"] },
      ),
    );
    await write(
      "repeat-spread.csv",
      await writeToString(
        panel.spread.map((row) => ({
          judge: row.judge,
          model: row.model,
          lang: row.lang,
          repeats: row.repeats,
          median: rounded(row.median),
          min: rounded(row.min),
          max: rounded(row.max),
          standard_deviation: rounded(row.standardDeviation),
          unstable_judgments: row.unstableJudgments,
          judgments: row.judgments,
          averages: row.averages.map((value) => rounded(value)).join(" "),
        })),
        { headers: ["judge", "model", "lang", "repeats", "median", "min", "max", "standard_deviation", "unstable_judgments", "judgments", "averages"] },
      ),
    );
  }
  const pairwise = report.pairwise;
  if (pairwise) {
    await write(
      "pairwise.csv",
      await writeToString(
        pairwise.winRates.map((row) => ({
          judge: row.judge,
          lang: row.lang,
          model: row.model,
          win: row.win,
          loss: row.loss,
          tie: row.tie,
          inconsistent: row.inconsistent,
          win_rate: rounded(row.winRate),
          loss_rate: rounded(row.lossRate),
          win_rate_adjusted: rounded(row.winRateAdjusted),
          ci_lower: rounded(row.interval.lower),
          ci_upper: rounded(row.interval.upper),
        })),
        { headers: ["judge", "lang", "model", "win", "loss", "tie", "inconsistent", "win_rate", "loss_rate", "win_rate_adjusted", "ci_lower", "ci_upper"] },
      ),
    );
    await write(
      "position-consistency.csv",
      await writeToString(
        pairwise.consistency.map((row) => ({
          judge: row.judge,
          lang: row.lang,
          games: row.games,
          consistent: row.consistent,
          inconsistent: row.inconsistent,
          rate: rounded(row.rate),
          favoured_first: row.favouredFirst,
          favoured_second: row.favouredSecond,
          errors: row.errors,
        })),
        { headers: ["judge", "lang", "games", "consistent", "inconsistent", "rate", "favoured_first", "favoured_second", "errors"] },
      ),
    );
    await write(
      "pair-agreement.csv",
      await writeToString(
        pairwise.agreement.map((row) => ({ lang: row.lang, statistic: row.statistic, judges: row.judges.join(" "), items: row.items, kappa: rounded(row.kappa) })),
        { headers: ["lang", "statistic", "judges", "items", "kappa"] },
      ),
    );
  }
}
