import { readFile } from "node:fs/promises";
import { detect } from "tinyld";
import { z } from "zod";
import { InputError } from "../../errors";
import { splitQuestionId, type QuestionId } from "../mt-bench-files";

/**
 * Checks that an answer is written in the language of the question, with tinyld. Code blocks,
 * inline code, URLs and formulas are removed first (they are language-neutral and would pull the
 * detector towards English); answers with too little text left are "undetermined", never flagged.
 */

/** What to do with an answer in the wrong language. */
export const languagePolicySchema = z.enum(["fastchat", "penalize"]);
/**
 * `fastchat`: flag it, keep the judge's score (what FastChat would report);
 * `penalize`: flag it and score it 1, the lowest score of the scale (the judge's score is kept in `raw_score`).
 */
export type LanguagePolicy = z.infer<typeof languagePolicySchema>;

/** The score a penalised answer gets: the bottom of MT-Bench's 1-10 scale. */
export const LANGUAGE_PENALTY_SCORE = 1;

/** Fewer letters than this after cleaning: too short to tell the language reliably. */
export const MIN_LETTERS_FOR_DETECTION = 40;

/** Result of checking one answer. */
export interface LanguageCheck {
  /** ISO 639-1 code tinyld detected, or undefined when undetermined. */
  detected?: string;
  /** True when a language was detected and it is not an allowed one. */
  mismatch: boolean;
}

/** Removes what carries no natural language: fenced and inline code, URLs, LaTeX. */
export function stripNonProse(text: string): string {
  return text
    .replace(/```[\s\S]*?(```|$)/g, " ")
    .replace(/~~~[\s\S]*?(~~~|$)/g, " ")
    .replace(/`[^`\n]*`/g, " ")
    .replace(/\$\$[\s\S]*?\$\$/g, " ")
    .replace(/https?:\/\/\S+/g, " ");
}

/** Detects the language of `answer` and compares it with the allowed languages (lowercase ISO 639-1). */
export function checkAnswerLanguage(answer: string, allowed: readonly string[]): LanguageCheck {
  const prose = stripNonProse(answer);
  const letters = prose.match(/\p{L}/gu)?.length ?? 0;
  if (letters < MIN_LETTERS_FOR_DETECTION) return { mismatch: false };
  const detected = detect(prose) || undefined;
  if (!detected) return { mismatch: false };
  return { detected, mismatch: !allowed.includes(detected) };
}

/**
 * One exception: the answer to this question may be in other languages (e.g. a question that asks
 * for an English translation). `question_id` is an exact id (`"81_DE"`) or a number that applies
 * to every language; `languages` lists the extra allowed ones (omit: any language); `turns`
 * restricts the exception to some turns (omit: both).
 */
export const languageExceptionSchema = z.strictObject({
  question_id: z.union([z.number().int(), z.string().min(1)]),
  turns: z.array(z.number().int().min(1)).optional(),
  languages: z.array(z.string().min(2)).optional(),
  reason: z.string().optional(),
});
export type LanguageException = z.infer<typeof languageExceptionSchema>;

/** Reads exceptions from a JSON array or a JSONL file. */
export async function readLanguageExceptions(path: string): Promise<LanguageException[]> {
  const text = await readFile(path, "utf8");
  const trimmed = text.trim();
  const values: { value: unknown; line?: number }[] = [];
  try {
    if (trimmed.startsWith("[")) for (const value of JSON.parse(trimmed) as unknown[]) values.push({ value });
    else
      text.split("\n").forEach((line, index) => {
        if (line.trim() !== "") values.push({ value: JSON.parse(line), line: index + 1 });
      });
  } catch (error) {
    throw new InputError(`not valid JSON or JSONL (${(error as Error).message})`, { file: path, cause: error });
  }
  return values.map(({ value, line }, item) => {
    const parsed = languageExceptionSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InputError(issue?.message ?? "invalid exception", { file: path, line, item: line ? undefined : item, field: issue?.path.join(".") });
    }
    return parsed.data;
  });
}

/**
 * The languages an answer may be in: the question's, plus those of matching exceptions; null when
 * an exception allows any language.
 */
export function allowedAnswerLanguages(options: {
  questionId: QuestionId;
  lang: string;
  turn: number;
  exceptions: readonly LanguageException[];
}): string[] | null {
  const allowed = [options.lang.toLowerCase()];
  const { number } = splitQuestionId(options.questionId);
  for (const exception of options.exceptions) {
    const matches =
      String(exception.question_id) === String(options.questionId) ||
      (typeof exception.question_id === "number" && exception.question_id === number) ||
      (typeof exception.question_id === "string" && /^\d+$/.test(exception.question_id) && Number(exception.question_id) === number);
    if (!matches) continue;
    if (exception.turns && !exception.turns.includes(options.turn)) continue;
    if (!exception.languages) return null;
    allowed.push(...exception.languages.map((language) => language.toLowerCase()));
  }
  return allowed;
}
