/**
 * FastChat's `[[rating]]` parsing (`run_judge_single` in fastchat/llm_judge/common.py): the first
 * `[[N]]`, else the first `[N]`, where N is `\d+\.?\d*`. Returns null when neither is found, where
 * FastChat would write -1.
 */
const ONE_SCORE_PATTERN = /\[\[(\d+\.?\d*)\]\]/;
const ONE_SCORE_PATTERN_BACKUP = /\[(\d+\.?\d*)\]/;

/** The score in a judgment, or null when it has no `[[N]]` (nor `[N]`). */
export function parseJudgmentScore(judgment: string): number | null {
  const match = ONE_SCORE_PATTERN.exec(judgment) ?? ONE_SCORE_PATTERN_BACKUP.exec(judgment);
  if (!match) return null;
  // Python's ast.literal_eval gives 8 for "8" and 8.0 for "8."; Number() gives the same value.
  const score = Number(match[1]);
  return Number.isFinite(score) ? score : null;
}
