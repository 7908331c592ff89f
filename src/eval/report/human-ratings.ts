import { createReadStream } from "node:fs";
import { parseStream } from "fast-csv";
import { z } from "zod";
import { InputError } from "../../errors";
import { splitQuestionId } from "../mt-bench-files";
import { computeAgreement, type Agreement } from "./correlation";
import { isFastChatError } from "./fastchat-average";
import type { ReportJudgment } from "./score-table";

/**
 * One human rating: `question_id,model,turn,score` and optionally `lang` (needed when the ids are
 * plain numbers and the judgments cover several languages) and `rater` (ignored: several raters
 * of the same answer are averaged).
 */
export const humanRatingSchema = z.object({
  question_id: z.string().min(1),
  model: z.string().min(1),
  turn: z.coerce.number().int().min(1),
  score: z.coerce.number(),
  lang: z.string().optional(),
});
export type HumanRating = z.infer<typeof humanRatingSchema>;

/** Reads a CSV of human ratings (header row required). */
export async function readHumanRatings(path: string): Promise<HumanRating[]> {
  const rows: HumanRating[] = [];
  let line = 1;
  await new Promise<void>((resolve, reject) => {
    parseStream(createReadStream(path), { headers: true, trim: true, ignoreEmpty: true })
      .on("error", (error: Error) => reject(new InputError(error.message, { file: path, cause: error })))
      .on("data", (row: Record<string, string>) => {
        line += 1;
        const cleaned = Object.fromEntries(Object.entries(row).filter(([, value]) => value !== ""));
        const parsed = humanRatingSchema.safeParse(cleaned);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          reject(new InputError(issue?.message ?? "invalid row", { file: path, line, field: issue?.path.join(".") }));
          return;
        }
        rows.push(parsed.data);
      })
      .on("end", () => resolve());
  });
  return rows;
}

/** Judge-vs-human agreement over the answers both rated. */
export interface JudgeHumanAgreement extends Agreement {
  /** Human ratings without a valid judgment to pair with. */
  unmatched: number;
}

function keyOf(model: string, questionId: string, lang: string | undefined, turn: number): string {
  const { number, lang: idLang } = splitQuestionId(questionId);
  return [model, number ?? questionId, (idLang ?? lang ?? "").toUpperCase(), turn].join("\u0000");
}

/**
 * Pairs human ratings with judge scores per (model, question, language, turn), averaging several
 * ratings or judgments of the same answer, and computes Pearson, Spearman and Kendall tau-b.
 * Judge errors (score -1) are left out, as in the averages.
 */
export function computeJudgeHumanAgreement(options: {
  judgments: readonly ReportJudgment[];
  humanRatings: readonly HumanRating[];
}): JudgeHumanAgreement {
  const languages = new Set(options.judgments.map((row) => row.lang));
  const judge = new Map<string, number[]>();
  for (const row of options.judgments) {
    if (isFastChatError(row)) continue;
    const key = keyOf(row.model, row.questionId, row.lang, row.turn);
    judge.set(key, [...(judge.get(key) ?? []), row.score]);
  }
  const singleLanguage = languages.size === 1 ? [...languages][0] : undefined;
  const human = new Map<string, number[]>();
  for (const rating of options.humanRatings) {
    const key = keyOf(rating.model, rating.question_id, rating.lang ?? singleLanguage, rating.turn);
    human.set(key, [...(human.get(key) ?? []), rating.score]);
  }
  const x: number[] = [];
  const y: number[] = [];
  let unmatched = 0;
  for (const key of [...human.keys()].sort()) {
    const judgeScores = judge.get(key);
    if (!judgeScores) {
      unmatched += 1;
      continue;
    }
    x.push(average(judgeScores));
    y.push(average(human.get(key)!));
  }
  return { ...computeAgreement(x, y), unmatched };
}

function average(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}
