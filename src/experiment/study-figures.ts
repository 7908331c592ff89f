import seedrandom from "seedrandom";
import { quantile } from "../eval/report/bootstrap";
import type { MtBenchReport } from "../eval/report/build-report";
import { isFastChatError, sumCompensated } from "../eval/report/fastchat-average";
import type { ReportJudgment } from "../eval/report/score-table";
import type { ExperimentCell } from "./plan-experiment";

/**
 * The numbers behind the study's figures, from the MT-Bench-X report and its judgments: scores per
 * model x dataset x evaluation language, cross-lingual improvements and corpus contrasts, each with
 * a percentile bootstrap interval over questions (paired: both models are resampled on the same
 * questions, since they answered the same ones).
 */

/** One bar of the monolingual-evaluation figure. */
export interface ScoreRow {
  model: string;
  corpus: string;
  composition: string;
  lang: string;
  score: number;
  lower: number | null;
  upper: number | null;
}

/** One bar of the cross-lingual figure: the report's improvement, with its interval. */
export interface CrossLingualRow {
  model: string;
  corpus: string;
  pair: string;
  lang: string;
  multilingualModel: string;
  monolingualModel: string;
  multilingualScore: number;
  monolingualScore: number;
  improvementPercent: number;
  lower: number | null;
  upper: number | null;
}

/** One bar of a corpus contrast: `score(corpus) - score(baseline)` at the same composition. */
export interface ContrastRow {
  contrast: string;
  model: string;
  composition: string;
  lang: string;
  corpus: string;
  baseline: string;
  corpusScore: number;
  baselineScore: number;
  difference: number;
  lower: number | null;
  upper: number | null;
}

/** Settings of the bootstrap. */
export interface FigureBootstrap {
  resamples: number;
  seed: number | string;
  confidence: number;
}

/** Scores of one model in one language, by question (both turns of a question stay together). */
type QuestionScores = Map<string, number[]>;

function indexJudgments(judgments: readonly ReportJudgment[]): Map<string, QuestionScores> {
  const index = new Map<string, QuestionScores>();
  for (const row of judgments) {
    if (isFastChatError(row)) continue;
    const key = `${row.model}\u0000${row.lang}`;
    let questions = index.get(key);
    if (!questions) index.set(key, (questions = new Map()));
    questions.set(row.questionId, [...(questions.get(row.questionId) ?? []), row.score]);
  }
  return index;
}

/**
 * Percentile interval of `statistic(mean of A, mean of B)` with the questions both were judged on
 * resampled together (FastChat averages: the mean over all scores of the drawn questions).
 */
export function pairedBootstrapInterval(options: {
  a: QuestionScores;
  b: QuestionScores;
  statistic: (meanA: number, meanB: number) => number;
  bootstrap: FigureBootstrap;
  stream: string;
}): { lower: number | null; upper: number | null } {
  const questions = [...options.a.keys()].filter((id) => options.b.has(id)).sort();
  if (questions.length === 0) return { lower: null, upper: null };
  const sums = (scores: QuestionScores) => questions.map((id) => [sumCompensated(scores.get(id)!), scores.get(id)!.length] as const);
  const a = sums(options.a);
  const b = sums(options.b);
  const random = seedrandom(`${options.bootstrap.seed}|${options.stream}`);
  const values: number[] = [];
  for (let resample = 0; resample < options.bootstrap.resamples; resample += 1) {
    let sumA = 0;
    let countA = 0;
    let sumB = 0;
    let countB = 0;
    for (let draw = 0; draw < questions.length; draw += 1) {
      const index = Math.floor(random() * questions.length);
      sumA += a[index]![0];
      countA += a[index]![1];
      sumB += b[index]![0];
      countB += b[index]![1];
    }
    const value = options.statistic(sumA / countA, sumB / countB);
    if (Number.isFinite(value)) values.push(value);
  }
  if (values.length === 0) return { lower: null, upper: null };
  values.sort((x, y) => x - y);
  const alpha = (1 - options.bootstrap.confidence) / 2;
  return { lower: quantile(values, alpha), upper: quantile(values, 1 - alpha) };
}

/** Options of `computeStudyFigures`. */
export interface ComputeStudyFiguresOptions {
  report: MtBenchReport;
  judgments: readonly ReportJudgment[];
  /** Model id -> its cell. */
  cells: ReadonlyMap<string, ExperimentCell>;
  contrasts: readonly { name: string; corpus: string; baseline: string }[];
  bootstrap: FigureBootstrap;
}

/** The numbers of every figure. */
export interface StudyFigures {
  scores: ScoreRow[];
  crossLingual: CrossLingualRow[];
  contrasts: ContrastRow[];
}

/** Computes the figures' numbers; the cross-lingual improvements are the report's own. */
export function computeStudyFigures(options: ComputeStudyFiguresOptions): StudyFigures {
  const { report, cells, bootstrap } = options;
  const index = indexJudgments(options.judgments);
  const scores: ScoreRow[] = [];
  for (const row of report.fastchat) {
    const cell = cells.get(row.model);
    if (!cell || row.overall.mean === null) continue;
    scores.push({ ...cell, lang: row.lang, score: row.overall.mean, lower: row.interval.lower, upper: row.interval.upper });
  }
  scores.sort((x, y) => compareText(x.model, y.model) || compareText(x.corpus, y.corpus) || compareText(x.composition, y.composition) || compareText(x.lang, y.lang));

  const crossLingual: CrossLingualRow[] = [];
  for (const row of report.crossLingual) {
    const cell = cells.get(row.multilingualModel);
    const a = index.get(`${row.multilingualModel}\u0000${row.evaluationLanguage}`);
    const b = index.get(`${row.monolingualModel}\u0000${row.evaluationLanguage}`);
    if (!cell || !a || !b) continue;
    const interval = pairedBootstrapInterval({ a, b, statistic: (multi, mono) => ((multi - mono) / mono) * 100, bootstrap, stream: `cross-lingual|${row.multilingualModel}|${row.monolingualModel}|${row.evaluationLanguage}` });
    crossLingual.push({
      model: cell.model,
      corpus: cell.corpus,
      pair: row.pair,
      lang: row.evaluationLanguage,
      multilingualModel: row.multilingualModel,
      monolingualModel: row.monolingualModel,
      multilingualScore: row.multilingualScore,
      monolingualScore: row.monolingualScore,
      improvementPercent: row.improvementPercent,
      ...interval,
    });
  }

  const contrasts: ContrastRow[] = [];
  const scoreOf = new Map(scores.map((row) => [`${row.model}|${row.corpus}|${row.composition}|${row.lang}`, row]));
  const modelIdOf = new Map([...cells].map(([id, cell]) => [`${cell.model}|${cell.corpus}|${cell.composition}`, id]));
  for (const contrast of options.contrasts) {
    for (const row of scores.filter((candidate) => candidate.corpus === contrast.corpus)) {
      const base = scoreOf.get(`${row.model}|${contrast.baseline}|${row.composition}|${row.lang}`);
      if (!base) continue;
      const a = index.get(`${modelIdOf.get(`${row.model}|${row.corpus}|${row.composition}`)}\u0000${row.lang}`);
      const b = index.get(`${modelIdOf.get(`${row.model}|${contrast.baseline}|${row.composition}`)}\u0000${row.lang}`);
      const interval = a && b ? pairedBootstrapInterval({ a, b, statistic: (x, y) => x - y, bootstrap, stream: `contrast|${contrast.name}|${row.model}|${row.composition}|${row.lang}` }) : { lower: null, upper: null };
      contrasts.push({
        contrast: contrast.name,
        model: row.model,
        composition: row.composition,
        lang: row.lang,
        corpus: contrast.corpus,
        baseline: contrast.baseline,
        corpusScore: row.score,
        baselineScore: base.score,
        difference: row.score - base.score,
        ...interval,
      });
    }
  }
  return { scores, crossLingual, contrasts };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
