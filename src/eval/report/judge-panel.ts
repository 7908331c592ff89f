import { quantile } from "./bootstrap";
import { computeAgreement, type Agreement } from "./correlation";
import { computeFastChatAverages, isFastChatError, meanOf, sumCompensated, type FastChatAverage } from "./fastchat-average";
import type { ReportJudgment } from "./score-table";

/** One judge's FastChat averages in one language. */
export interface JudgeAverage extends FastChatAverage {
  judge: string;
  lang: string;
}

/** Score agreement of two judges over the judgments both scored (scores averaged over repeats). */
export interface JudgePairAgreement extends Agreement {
  lang: string;
  judges: [string, string];
}

/** How much one judge's average for a model moves between repeats of the same judgments. */
export interface RepeatSpread {
  judge: string;
  lang: string;
  model: string;
  repeats: number;
  /** The FastChat average of each repeat, in repeat order. */
  averages: (number | null)[];
  median: number | null;
  min: number | null;
  max: number | null;
  /** Sample standard deviation of the repeat averages (n - 1). */
  standardDeviation: number | null;
  /** Judgments (question x turn) whose score was not the same in every repeat. */
  unstableJudgments: number;
  judgments: number;
}

/** The several-judges and repeats part of the report (single-answer grading). */
export interface JudgePanel {
  judges: string[];
  perJudge: JudgeAverage[];
  agreement: JudgePairAgreement[];
  /** Label of the ensemble rows (`ensemble (mean of N judges)`), or null with one judge. */
  ensembleJudge: string | null;
  spread: RepeatSpread[];
}

function itemKey(row: ReportJudgment): string {
  return [row.lang, row.model, row.questionId, row.turn].join("\u0000");
}

/** Mean score of each judgment over its repeats, per judge (rows with -1 left out). */
function itemMeans(rows: readonly ReportJudgment[]): Map<string, Map<string, { mean: number; row: ReportJudgment }>> {
  const scores = new Map<string, Map<string, { scores: number[]; row: ReportJudgment }>>();
  for (const row of rows) {
    if (isFastChatError(row)) continue;
    const byItem = scores.get(row.judge) ?? new Map();
    scores.set(row.judge, byItem);
    const entry = byItem.get(itemKey(row)) ?? { scores: [], row };
    entry.scores.push(row.score);
    byItem.set(itemKey(row), entry);
  }
  const means = new Map<string, Map<string, { mean: number; row: ReportJudgment }>>();
  for (const [judge, byItem] of scores) {
    means.set(judge, new Map([...byItem].map(([key, entry]) => [key, { mean: sumCompensated(entry.scores) / entry.scores.length, row: entry.row }])));
  }
  return means;
}

/**
 * Per-judge FastChat averages, pairwise score agreement of the judges (Pearson, Spearman, Kendall
 * tau-b over the judgments both scored, per language), the ensemble rows (the mean of the judges'
 * scores of each judgment, -1 when none scored it), and the spread between repeats.
 */
export function buildJudgePanel(judgments: readonly ReportJudgment[]): { panel: JudgePanel; ensembleRows: ReportJudgment[] } {
  const judges = [...new Set(judgments.map((row) => row.judge))].sort();
  const languages = [...new Set(judgments.map((row) => row.lang))].sort();
  const perJudge: JudgeAverage[] = [];
  for (const judge of judges) {
    for (const lang of languages) {
      const rows = judgments.filter((row) => row.judge === judge && row.lang === lang);
      for (const average of computeFastChatAverages(rows)) perJudge.push({ ...average, judge, lang });
    }
  }
  const means = itemMeans(judgments);
  const agreement: JudgePairAgreement[] = [];
  for (const lang of languages) {
    for (let first = 0; first < judges.length; first += 1) {
      for (let second = first + 1; second < judges.length; second += 1) {
        const a = means.get(judges[first]!) ?? new Map();
        const b = means.get(judges[second]!) ?? new Map();
        const keys = [...a.keys()].filter((key) => b.has(key) && a.get(key)!.row.lang === lang).sort();
        agreement.push({
          lang,
          judges: [judges[first]!, judges[second]!],
          ...computeAgreement(keys.map((key) => a.get(key)!.mean), keys.map((key) => b.get(key)!.mean)),
        });
      }
    }
  }
  const ensembleJudge = judges.length > 1 ? `ensemble (mean of ${judges.length} judges)` : null;
  const ensembleRows: ReportJudgment[] = [];
  if (ensembleJudge) {
    const seen = new Map<string, ReportJudgment>();
    for (const row of judgments) if (!seen.has(itemKey(row))) seen.set(itemKey(row), row);
    for (const [key, row] of seen) {
      const scores = judges.map((judge) => means.get(judge)?.get(key)?.mean).filter((score): score is number => score !== undefined);
      ensembleRows.push({
        model: row.model,
        lang: row.lang,
        judge: ensembleJudge,
        questionId: row.questionId,
        category: row.category,
        turn: row.turn,
        score: scores.length === 0 ? -1 : sumCompensated(scores) / scores.length,
        judgment: "",
        ...(scores.length === 0 ? { error: "no judge scored it" } : {}),
        languageMismatch: judgments.some((other) => itemKey(other) === key && other.languageMismatch === true),
        file: row.file,
        line: row.line,
      });
    }
  }
  const spread: RepeatSpread[] = [];
  if (judgments.some((row) => (row.repeat ?? 0) > 0)) {
    for (const judge of judges) {
      for (const lang of languages) {
        const rows = judgments.filter((row) => row.judge === judge && row.lang === lang);
        const repeats = Math.max(...rows.map((row) => row.repeat ?? 0)) + 1;
        for (const model of [...new Set(rows.map((row) => row.model))].sort()) {
          const mine = rows.filter((row) => row.model === model);
          const averages = Array.from({ length: repeats }, (_, repeat) =>
            meanOf(mine.filter((row) => (row.repeat ?? 0) === repeat && !isFastChatError(row)).map((row) => row.score)).mean,
          );
          const present = averages.filter((value): value is number => value !== null).sort((a, b) => a - b);
          const mean = present.length > 0 ? sumCompensated(present) / present.length : null;
          const byItem = new Map<string, Set<number>>();
          for (const row of mine) byItem.set(itemKey(row), (byItem.get(itemKey(row)) ?? new Set()).add(row.score));
          spread.push({
            judge,
            lang,
            model,
            repeats,
            averages,
            median: present.length > 0 ? quantile(present, 0.5) : null,
            min: present[0] ?? null,
            max: present.at(-1) ?? null,
            standardDeviation:
              present.length > 1 && mean !== null ? Math.sqrt(sumCompensated(present.map((value) => (value - mean) ** 2)) / (present.length - 1)) : null,
            unstableJudgments: [...byItem.values()].filter((scores) => scores.size > 1).length,
            judgments: byItem.size,
          });
        }
      }
    }
  }
  return { panel: { judges, perJudge, agreement, ensembleJudge, spread }, ensembleRows };
}
