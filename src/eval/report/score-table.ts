import { MT_BENCH_CATEGORIES } from "../mt-bench-files";
import { isFastChatError, meanOf, type MeanScore } from "./fastchat-average";

/** A judgment as the report sees it: FastChat's fields resolved to language and category. */
export interface ReportJudgment {
  model: string;
  /** Upper-case benchmark language (`"DE"`). */
  lang: string;
  judge: string;
  questionId: string;
  category: string;
  turn: number;
  score: number;
  judgment: string;
  /** This project's error reason, when the judgment file has one. */
  error?: string;
  languageMismatch?: boolean;
  /** 0-based repeat (`--repeats`); absent for a plain run. */
  repeat?: number;
  /** The file the row came from, for the error list. */
  file: string;
  /** 1-based line in that file. */
  line: number;
}

/** One cell of the model x language x category x turn table; `"all"` aggregates a dimension. */
export interface ScoreCell extends MeanScore {
  model: string;
  lang: string;
  category: string;
  turn: 1 | 2 | "all";
  /** Judgments with score -1 in this cell, not averaged. */
  errors: number;
}

/** Sorts categories in MT-Bench's order, unknown ones after, alphabetically. */
export function compareCategories(a: string, b: string): number {
  const order = MT_BENCH_CATEGORIES as readonly string[];
  const rankA = order.indexOf(a);
  const rankB = order.indexOf(b);
  if (rankA !== rankB) return (rankA < 0 ? order.length : rankA) - (rankB < 0 ? order.length : rankB);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Means per model x language x category x turn, with `"all"` rows for every category and both
 * turns; each mean is over the valid judgments of its cell, as FastChat averages.
 */
export function computeScoreTable(judgments: readonly ReportJudgment[]): ScoreCell[] {
  const cells = new Map<string, { key: Omit<ScoreCell, keyof MeanScore | "errors">; scores: number[]; errors: number }>();
  const add = (key: Omit<ScoreCell, keyof MeanScore | "errors">, row: ReportJudgment) => {
    const id = `${key.model}\u0000${key.lang}\u0000${key.category}\u0000${key.turn}`;
    const cell = cells.get(id) ?? { key, scores: [], errors: 0 };
    if (isFastChatError(row)) cell.errors += 1;
    else cell.scores.push(row.score);
    cells.set(id, cell);
  };
  for (const row of judgments) {
    const turn = row.turn === 1 || row.turn === 2 ? row.turn : undefined;
    for (const category of [row.category, "all"]) {
      if (turn) add({ model: row.model, lang: row.lang, category, turn }, row);
      add({ model: row.model, lang: row.lang, category, turn: "all" }, row);
    }
  }
  return [...cells.values()]
    .map(({ key, scores, errors }) => ({ ...key, ...meanOf(scores), errors }))
    .sort(
      (a, b) =>
        compareText(a.model, b.model) ||
        compareText(a.lang, b.lang) ||
        (a.category === "all" ? 1 : 0) - (b.category === "all" ? 1 : 0) ||
        compareCategories(a.category, b.category) ||
        String(a.turn).localeCompare(String(b.turn)),
    );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
