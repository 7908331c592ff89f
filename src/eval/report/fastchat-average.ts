/**
 * MT-Bench averages computed exactly as FastChat's `show_result.py` (`display_result_single`) does:
 * rows with `score == -1` are dropped, then turn 1 and turn 2 are averaged per model, and the
 * overall score is the mean over all remaining judgments of the model (not the mean of the two
 * turn means, which differs when a turn has more errors or duplicate rows than the other).
 * Duplicate judgments of the same question and turn are averaged in, as pandas does.
 */

/** The fields of a judgment that FastChat's `show_result` reads. */
export interface FastChatScoreRow {
  model: string;
  score: number;
  turn: number;
}

/** A mean and how many judgments it is over. `mean` is null when there are none. */
export interface MeanScore {
  mean: number | null;
  count: number;
}

/** One model's line in FastChat's three tables, plus the rows FastChat silently dropped. */
export interface FastChatAverage {
  model: string;
  turn1: MeanScore;
  turn2: MeanScore;
  overall: MeanScore;
  /** Rows with `score == -1` (FastChat's error value), excluded from every mean. */
  errors: number;
}

/** FastChat's score for "no rating": unparseable judgment or failed API call. */
export const FASTCHAT_ERROR_SCORE = -1;

/**
 * Sums with Neumaier's compensation. pandas' groupby mean uses Kahan summation, so a plain loop
 * could differ in the last bit for non-integer scores; integer scores are exact either way.
 */
export function sumCompensated(values: Iterable<number>): number {
  let sum = 0;
  let compensation = 0;
  for (const value of values) {
    const total = sum + value;
    if (Math.abs(sum) >= Math.abs(value)) compensation += sum - total + value;
    else compensation += value - total + sum;
    sum = total;
  }
  return sum + compensation;
}

/** Mean of `values` with its count; `mean` is null for an empty list. */
export function meanOf(values: readonly number[]): MeanScore {
  if (values.length === 0) return { mean: null, count: 0 };
  return { mean: sumCompensated(values) / values.length, count: values.length };
}

/** True for rows FastChat drops before averaging. */
export function isFastChatError(row: { score: number }): boolean {
  return row.score === FASTCHAT_ERROR_SCORE;
}

/**
 * FastChat's `show_result` single-mode numbers for every model in `rows` (one judgment file, i.e.
 * one language), sorted like its "Average" table: best overall first, then by model name.
 */
export function computeFastChatAverages(rows: readonly FastChatScoreRow[]): FastChatAverage[] {
  const byModel = new Map<string, FastChatScoreRow[]>();
  for (const row of rows) {
    const list = byModel.get(row.model) ?? [];
    list.push(row);
    byModel.set(row.model, list);
  }
  const averages: FastChatAverage[] = [];
  for (const [model, modelRows] of byModel) {
    const valid = modelRows.filter((row) => !isFastChatError(row));
    averages.push({
      model,
      turn1: meanOf(valid.filter((row) => row.turn === 1).map((row) => row.score)),
      turn2: meanOf(valid.filter((row) => row.turn === 2).map((row) => row.score)),
      overall: meanOf(valid.map((row) => row.score)),
      errors: modelRows.length - valid.length,
    });
  }
  return averages.sort(
    (a, b) => (b.overall.mean ?? -Infinity) - (a.overall.mean ?? -Infinity) || compareStrings(a.model, b.model),
  );
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
