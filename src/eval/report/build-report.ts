import { z } from "zod";
import { UsageError } from "../../errors";
import { bootstrapMeanInterval, bootstrapOptionsSchema, type BootstrapInterval } from "./bootstrap";
import { compareCrossLingual, comparisonPairSchema, type CrossLingualComparison } from "./cross-lingual";
import { computeFastChatAverages, isFastChatError, type MeanScore } from "./fastchat-average";
import { computeJudgeHumanAgreement, type HumanRating, type JudgeHumanAgreement } from "./human-ratings";
import { buildJudgePanel, type JudgePanel } from "./judge-panel";
import { buildPairwiseReport, type PairwiseReport, type ReportPairJudgment } from "./pairwise-report";
import { compareCategories, computeScoreTable, type ReportJudgment, type ScoreCell } from "./score-table";
import { parseOptions } from "../../parse-options";

/** Options of `buildMtBenchReport` (plain data in, plain data out). */
export const buildMtBenchReportOptionsSchema = z.strictObject({
  /** Judgments resolved to language and category (see `loadReportJudgments`). */
  judgments: z.array(z.custom<ReportJudgment>()),
  /** Bootstrap settings of the confidence intervals. */
  bootstrap: bootstrapOptionsSchema.prefault({}),
  /** Cross-lingual comparisons to compute (none by default). */
  pairs: z.array(comparisonPairSchema).default([]),
  /** Human ratings for the judge-vs-human agreement. */
  humanRatings: z.array(z.custom<HumanRating>()).optional(),
  /** Pairwise judgments (see `loadReportPairJudgments`). */
  pairJudgments: z.array(z.custom<ReportPairJudgment>()).default([]),
  /** Baseline of the pairwise win rates (default: the model every pairwise row shares, if one). */
  baseline: z.string().min(1).optional(),
});
export type BuildMtBenchReportOptions = z.input<typeof buildMtBenchReportOptionsSchema>;

/** FastChat's numbers for one model in one language, with a bootstrap interval of the average. */
export interface FastChatLanguageAverage {
  model: string;
  lang: string;
  turn1: MeanScore;
  turn2: MeanScore;
  overall: MeanScore;
  errors: number;
  /** Answers whose language differed from the question's (flagged by the judge step). */
  languageMismatches: number;
  interval: BootstrapInterval;
}

/** A judgment without a score: FastChat's -1, never averaged. */
export interface ReportError {
  model: string;
  lang: string;
  questionId: string;
  turn: number;
  /** `unparseable`, `api` or, for FastChat files, `$ERROR$` / `no [[rating]]`. */
  reason: string;
  file: string;
  line: number;
}

/** Everything the report shows, as plain data (`report.json`). */
export interface MtBenchReport {
  judges: string[];
  models: string[];
  languages: string[];
  categories: string[];
  judgments: number;
  fastchat: FastChatLanguageAverage[];
  cells: ScoreCell[];
  errors: ReportError[];
  crossLingual: CrossLingualComparison[];
  agreement?: JudgeHumanAgreement;
  /**
   * Several judges and/or repeats: per-judge averages, their agreement, the repeat spread. With
   * several judges the tables above are the ensemble's (`judgeLabel`), the mean of the judges' scores.
   */
  panel?: JudgePanel;
  /** The judge the averages above are of: the judge, or the ensemble's label. */
  judgeLabel?: string;
  /** Pairwise judgments: win rates (FastChat `show_result`), position consistency, judge agreement. */
  pairwise?: PairwiseReport;
  bootstrap: { resamples: number; seed: string | number; confidence: number; unit: "question" };
}

/**
 * Computes every table of the MT-Bench-X report: FastChat averages per model and language (exactly
 * `show_result`), the model x language x category x turn table, bootstrap intervals (questions
 * resampled), the error list, the cross-lingual comparison and the judge-human agreement.
 */
export function buildMtBenchReport(options: BuildMtBenchReportOptions): MtBenchReport {
  const { judgments: allJudgments, bootstrap, pairs, humanRatings, pairJudgments, baseline } = parseOptions(buildMtBenchReportOptionsSchema, options, "buildMtBenchReport");
  if (allJudgments.length === 0 && pairJudgments.length === 0) throw new UsageError("no judgments to report");
  const judges = unique(allJudgments.map((row) => row.judge));
  let judgments = allJudgments;
  let panel: JudgePanel | undefined;
  if (judges.length > 1 || allJudgments.some((row) => (row.repeat ?? 0) > 0)) {
    const built = buildJudgePanel(allJudgments);
    panel = built.panel;
    if (built.panel.ensembleJudge) judgments = built.ensembleRows;
  }
  const languages = unique(judgments.map((row) => row.lang));
  const fastchat: FastChatLanguageAverage[] = [];
  for (const lang of languages) {
    const inLanguage = judgments.filter((row) => row.lang === lang);
    for (const average of computeFastChatAverages(inLanguage)) {
      const rows = inLanguage.filter((row) => row.model === average.model);
      const clusters = new Map<string, number[]>();
      for (const row of rows) {
        if (isFastChatError(row)) continue;
        clusters.set(row.questionId, [...(clusters.get(row.questionId) ?? []), row.score]);
      }
      fastchat.push({
        ...average,
        lang,
        languageMismatches: rows.filter((row) => row.languageMismatch === true).length,
        interval: bootstrapMeanInterval({
          clusters: [...clusters.keys()].sort().map((key) => clusters.get(key)!),
          ...bootstrap,
          stream: `${average.model}|${lang}`,
        }),
      });
    }
  }
  const errors: ReportError[] = allJudgments.filter(isFastChatError).map((row) => ({
    model: row.model,
    lang: row.lang,
    questionId: row.questionId,
    turn: row.turn,
    reason: row.error ?? (row.judgment === "$ERROR$" ? "$ERROR$" : "no [[rating]]"),
    file: row.file,
    line: row.line,
  }));
  return {
    judges: unique([...judges, ...pairJudgments.map((row) => row.judge)]),
    models: unique([...judgments.map((row) => row.model), ...pairJudgments.flatMap((row) => [row.model1, row.model2])]),
    languages: unique([...languages, ...pairJudgments.map((row) => row.lang)]),
    categories: unique(judgments.map((row) => row.category)).sort(compareCategories),
    judgments: allJudgments.length + pairJudgments.length,
    fastchat,
    cells: computeScoreTable(judgments),
    errors,
    crossLingual: compareCrossLingual({
      scores: fastchat.map((row) => ({ model: row.model, lang: row.lang, score: row.overall.mean })),
      pairs,
    }),
    agreement: humanRatings ? computeJudgeHumanAgreement({ judgments, humanRatings }) : undefined,
    ...(panel ? { panel } : {}),
    ...(judges.length > 0 ? { judgeLabel: panel?.ensembleJudge ?? judges[0]! } : {}),
    ...(pairJudgments.length > 0 ? { pairwise: buildPairwiseReport({ rows: pairJudgments, baseline, bootstrap }) } : {}),
    bootstrap: { ...bootstrap, unit: "question" },
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}
