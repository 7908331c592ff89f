import { join } from "node:path";
import { writeToString } from "fast-csv";
import { z } from "zod";
import { writeFileAtomic } from "../../io/atomic-write";
import { bootstrapOptionsSchema } from "./bootstrap";
import { buildMtBenchReport, type MtBenchReport } from "./build-report";
import { comparisonPairSchema } from "./cross-lingual";
import { readHumanRatings } from "./human-ratings";
import { loadReportJudgments } from "./load-report-judgments";
import { renderReportMarkdown } from "./render-markdown";
import { renderBarChartSvg } from "./render-svg";

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
  const parsed = writeMtBenchReportOptionsSchema.parse(options);
  const judgments = await loadReportJudgments({
    judgments: parsed.judgments,
    bench: parsed.bench,
    lang: parsed.lang,
    judgeModel: parsed.judgeModel,
  });
  const humanRatings = parsed.humanRatings ? await readHumanRatings(parsed.humanRatings) : undefined;
  const report = buildMtBenchReport({ judgments, bootstrap: parsed.bootstrap, pairs: parsed.pairs, humanRatings });
  const files: string[] = [];
  const write = async (name: string, data: string) => {
    await writeFileAtomic(join(parsed.out, name), data);
    files.push(name);
  };

  const charts: string[] = [];
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
  await write("report.md", renderReportMarkdown(report, { charts }));
  await write("report.json", JSON.stringify(report, null, 2) + "\n");
  return { report, files };
}
