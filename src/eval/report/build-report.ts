import { z } from "zod";
import { UsageError } from "../../errors";
import { bootstrapMeanInterval, bootstrapOptionsSchema, type BootstrapInterval } from "./bootstrap";
import { compareCrossLingual, comparisonPairSchema, type CrossLingualComparison } from "./cross-lingual";
import { computeFastChatAverages, isFastChatError, type MeanScore } from "./fastchat-average";
import { computeJudgeHumanAgreement, type HumanRating, type JudgeHumanAgreement } from "./human-ratings";
import { compareCategories, computeScoreTable, type ReportJudgment, type ScoreCell } from "./score-table";

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
  bootstrap: { resamples: number; seed: string | number; confidence: number; unit: "question" };
}

/**
 * Computes every table of the MT-Bench-X report: FastChat averages per model and language (exactly
 * `show_result`), the model x language x category x turn table, bootstrap intervals (questions
 * resampled), the error list, the cross-lingual comparison and the judge-human agreement.
 */
export function buildMtBenchReport(options: BuildMtBenchReportOptions): MtBenchReport {
  const { judgments, bootstrap, pairs, humanRatings } = buildMtBenchReportOptionsSchema.parse(options);
  const judges = unique(judgments.map((row) => row.judge));
  if (judges.length > 1) {
    throw new UsageError(
      `the judgments come from ${judges.length} judge models (${judges.join(", ")}); report one judge at a time (--judge-model NAME)`,
    );
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
  const errors: ReportError[] = judgments.filter(isFastChatError).map((row) => ({
    model: row.model,
    lang: row.lang,
    questionId: row.questionId,
    turn: row.turn,
    reason: row.error ?? (row.judgment === "$ERROR$" ? "$ERROR$" : "no [[rating]]"),
    file: row.file,
    line: row.line,
  }));
  return {
    judges,
    models: unique(judgments.map((row) => row.model)),
    languages,
    categories: unique(judgments.map((row) => row.category)).sort(compareCategories),
    judgments: judgments.length,
    fastchat,
    cells: computeScoreTable(judgments),
    errors,
    crossLingual: compareCrossLingual({
      scores: fastchat.map((row) => ({ model: row.model, lang: row.lang, score: row.overall.mean })),
      pairs,
    }),
    agreement: humanRatings ? computeJudgeHumanAgreement({ judgments, humanRatings }) : undefined,
    bootstrap: { ...bootstrap, unit: "question" },
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}
