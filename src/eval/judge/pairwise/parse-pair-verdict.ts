import type { PairOutputFormat } from "./build-pair-prompt";

/**
 * FastChat's pairwise parsing (`run_judge_pair` in fastchat/llm_judge/common.py). For `[[A]]`:
 * the judgment is searched for `[[A]]`, then `[[B]]`, then `[[C]]` (a tie), in that order, anywhere
 * in the text; none of them is an error. For `[[rating_a,rating_b]]`: the first `[[x, y]]` (else
 * `[x, y]`), a tie when the two scores differ by at most 0.1 (`TIE_DELTA`).
 */
export type PairVerdict = "A" | "B" | "tie" | "error";

const TWO_SCORE_PATTERN = /\[\[(\d+\.?\d*),\s?(\d+\.?\d*)\]\]/;
const TWO_SCORE_PATTERN_BACKUP = /\[(\d+\.?\d*),\s?(\d+\.?\d*)\]/;
/** FastChat's `TIE_DELTA`. */
export const PAIR_TIE_DELTA = 0.1;

/** The verdict of one pairwise judgment, as FastChat reads it. */
export function parsePairVerdict(judgment: string, outputFormat: PairOutputFormat = "[[A]]"): PairVerdict {
  if (outputFormat === "[[A]]") {
    if (judgment.includes("[[A]]")) return "A";
    if (judgment.includes("[[B]]")) return "B";
    if (judgment.includes("[[C]]")) return "tie";
    return "error";
  }
  const match = TWO_SCORE_PATTERN.exec(judgment) ?? TWO_SCORE_PATTERN_BACKUP.exec(judgment);
  if (!match) return "error";
  const scoreA = Number(match[1]);
  const scoreB = Number(match[2]);
  if (Math.abs(scoreA - scoreB) <= PAIR_TIE_DELTA) return "tie";
  return scoreA > scoreB ? "A" : "B";
}

/** A game's winner in FastChat's `*_pair.jsonl` vocabulary. */
export type PairWinner = "model_1" | "model_2" | "tie" | "error";

/**
 * FastChat's mapping of the two orders to model names (`play_a_match_pair`): game 1 shows model_1
 * as A, game 2 (positions swapped) shows model_2 as A.
 */
export function mapPairVerdict(verdict: PairVerdict, game: 1 | 2): PairWinner {
  if (verdict === "A") return game === 1 ? "model_1" : "model_2";
  if (verdict === "B") return game === 1 ? "model_2" : "model_1";
  return verdict;
}

/** What the two orders say together. */
export type PairOutcome = "model_1" | "model_2" | "tie" | "inconsistent" | "error";

/**
 * The combined verdict: a winner only when both orders agree; two ties are a tie; orders that
 * disagree are `inconsistent` (FastChat's `show_result` counts them as a tie); an error in either
 * order is an error (FastChat drops the row).
 */
export function combinePairWinners(g1: PairWinner, g2: PairWinner): PairOutcome {
  if (g1 === "error" || g2 === "error") return "error";
  if (g1 === g2) return g1;
  return "inconsistent";
}
