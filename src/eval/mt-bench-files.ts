import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { InputError } from "../errors";
import { readJsonl, writeJsonl, type WrittenFile } from "../io/jsonl";

/**
 * Readers and writers of the FastChat / MT-Bench-X files. The schemas accept what the real files
 * hold (numeric ids in FastChat, `"81_DE"` in MT-Bench-X) and keep unknown keys, because these are
 * files written by other tools: we validate what we use and pass the rest through.
 */

/** A question id: `81` in FastChat's MT-Bench, `"81_DE"` in MT-Bench-X. */
export const questionIdSchema = z.union([z.number().int(), z.string().min(1)]);
export type QuestionId = z.infer<typeof questionIdSchema>;

/** One row of `question.jsonl`. */
export const mtBenchQuestionSchema = z.looseObject({
  question_id: questionIdSchema,
  category: z.string().min(1),
  turns: z.array(z.string()).min(1),
  reference: z.array(z.string()).optional(),
});
export type MtBenchQuestion = z.infer<typeof mtBenchQuestionSchema>;

/** One row of a FastChat answer file (`model_answer/<model>.jsonl`, `reference_answer/gpt-4.jsonl`). */
export const modelAnswerSchema = z.looseObject({
  question_id: questionIdSchema,
  answer_id: z.string().optional(),
  model_id: z.string().min(1),
  choices: z
    .array(z.looseObject({ index: z.number().int(), turns: z.array(z.string()) }))
    .min(1),
  tstamp: z.number().optional(),
});
export type ModelAnswer = z.infer<typeof modelAnswerSchema>;

/** One row of `judge_prompts.jsonl`. */
export const judgePromptSchema = z.looseObject({
  name: z.string().min(1),
  type: z.string().min(1),
  system_prompt: z.string(),
  prompt_template: z.string(),
  description: z.string().optional(),
  category: z.string().optional(),
  output_format: z.string(),
});
export type JudgePrompt = z.infer<typeof judgePromptSchema>;

/**
 * One single-answer judgment in FastChat's format (`model_judgment/<judge>_single.jsonl`). FastChat
 * writes `score: -1` and, when the API failed, `judgment: "$ERROR$"`. The optional fields after
 * `tstamp` are this project's extras; FastChat's own tools ignore them.
 */
export const judgmentSchema = z.looseObject({
  question_id: questionIdSchema,
  model: z.string().min(1),
  judge: z.tuple([z.string(), z.string()]),
  user_prompt: z.string(),
  judgment: z.string(),
  score: z.number(),
  turn: z.number().int(),
  tstamp: z.number(),
  /** Upper-case language code of the benchmark (`"DE"`). */
  lang: z.string().optional(),
  category: z.string().optional(),
  /** Why the score is -1: `"unparseable"` (no `[[N]]`) or `"api"` (the judge could not be reached). */
  error: z.string().optional(),
  /** The judge's score before a language penalty was applied. */
  raw_score: z.number().optional(),
  /** Language detected in the answer (ISO 639-1) and whether it differs from the question's. */
  answer_language: z.string().optional(),
  language_mismatch: z.boolean().optional(),
  language_penalized: z.boolean().optional(),
  input_tokens: z.number().optional(),
  output_tokens: z.number().optional(),
  cached: z.boolean().optional(),
  /** The judge model snapshot the API reported (`model` of its response). */
  judge_snapshot: z.string().optional(),
  /** 0-based repeat of a judgment asked several times (`--repeats`). */
  repeat: z.number().int().min(0).optional(),
  /** The Batch API batch that answered. */
  batch_id: z.string().optional(),
});
export type Judgment = z.infer<typeof judgmentSchema>;

/** FastChat's winner vocabulary in `*_pair.jsonl` (`g1_winner`, `g2_winner`). */
export const pairWinnerSchema = z.enum(["model_1", "model_2", "tie", "error"]);

/**
 * One pairwise judgment in FastChat's format (`model_judgment/<judge>_pair.jsonl`): game 1 shows
 * model_1 as assistant A, game 2 swaps the positions; both winners are already mapped to model
 * names. The fields after `tstamp` are this project's extras.
 */
export const pairJudgmentSchema = z.looseObject({
  question_id: questionIdSchema,
  model_1: z.string().min(1),
  model_2: z.string().min(1),
  g1_winner: pairWinnerSchema,
  g2_winner: pairWinnerSchema,
  judge: z.tuple([z.string(), z.string()]),
  g1_user_prompt: z.string(),
  g1_judgment: z.string(),
  g2_user_prompt: z.string(),
  g2_judgment: z.string(),
  turn: z.number().int(),
  tstamp: z.number(),
  lang: z.string().optional(),
  category: z.string().optional(),
  /** Both orders together: a winner, `tie`, `inconsistent` (the orders disagree) or `error`. */
  winner: z.enum(["model_1", "model_2", "tie", "inconsistent", "error"]).optional(),
  consistent: z.boolean().optional(),
  error: z.string().optional(),
  judge_snapshot: z.string().optional(),
  repeat: z.number().int().min(0).optional(),
});
export type PairJudgment = z.infer<typeof pairJudgmentSchema>;

/** Reads a pairwise judgment file with the 1-based line of each row. */
export async function readPairJudgmentsWithLines(path: string): Promise<{ value: PairJudgment; line: number }[]> {
  return readRowsWithLines(path, pairJudgmentSchema);
}

/** FastChat's marker for a judge call that failed after all retries. */
export const FASTCHAT_API_ERROR_OUTPUT = "$ERROR$";

async function readRows<T>(path: string, schema: z.ZodType<T>): Promise<T[]> {
  return (await readRowsWithLines(path, schema)).map(({ value }) => value);
}

async function readRowsWithLines<T>(path: string, schema: z.ZodType<T>): Promise<{ value: T; line: number }[]> {
  const rows: { value: T; line: number }[] = [];
  for await (const { value, line } of readJsonl(path)) {
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InputError(issue?.message ?? "invalid row", {
        file: path,
        line,
        field: issue?.path.join("."),
      });
    }
    rows.push({ value: parsed.data, line });
  }
  return rows;
}

/** Reads `question.jsonl` (FastChat or MT-Bench-X). */
export async function readQuestions(path: string): Promise<MtBenchQuestion[]> {
  return readRows(path, mtBenchQuestionSchema);
}

/** Reads a FastChat answer file: model answers or reference answers. */
export async function readModelAnswers(path: string): Promise<ModelAnswer[]> {
  return readRows(path, modelAnswerSchema);
}

/** Reads `judge_prompts.jsonl` into a map from prompt name (`single-v1`, ...) to prompt. */
export async function readJudgePrompts(path: string): Promise<Map<string, JudgePrompt>> {
  const prompts = new Map<string, JudgePrompt>();
  for (const prompt of await readRows(path, judgePromptSchema)) prompts.set(prompt.name, prompt);
  return prompts;
}

/** Reads a single-answer judgment file, in file order (duplicates are kept, as FastChat keeps them). */
export async function readJudgments(path: string): Promise<Judgment[]> {
  return readRows(path, judgmentSchema);
}

/** Like `readJudgments`, with the 1-based line of each row (for error lists). */
export async function readJudgmentsWithLines(path: string): Promise<{ value: Judgment; line: number }[]> {
  return readRowsWithLines(path, judgmentSchema);
}

/** Writes rows as JSONL atomically (the FastChat files are plain JSON Lines). */
export async function writeMtBenchJsonl(path: string, rows: Iterable<unknown>): Promise<WrittenFile> {
  return writeJsonl(path, rows);
}

/** `"81_DE"` -> `{ number: 81, lang: "DE" }`; `81` -> `{ number: 81 }`. */
export function splitQuestionId(questionId: QuestionId): { number?: number; lang?: string } {
  if (typeof questionId === "number") return { number: questionId };
  const match = /^(\d+)(?:_([A-Za-z]{2,3}))?$/.exec(questionId);
  if (!match) return {};
  return { number: Number(match[1]), lang: match[2]?.toUpperCase() };
}

/** `mt_bench_DE` -> `"DE"`; anything else -> undefined. */
export function languageOfBenchDirectory(name: string): string | undefined {
  const match = /^mt_bench_([A-Za-z]{2,3})$/.exec(name);
  return match?.[1]?.toUpperCase();
}

/** The directory of one language inside an MT-Bench-X tree: `<root>/mt_bench_DE`. */
export function benchLanguageDirectory(root: string, lang: string): string {
  return join(root, `mt_bench_${lang.toUpperCase()}`);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The upper-case languages present in an MT-Bench-X tree (`mt_bench_<LANG>/` directories), sorted. */
export async function listBenchLanguages(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => languageOfBenchDirectory(entry.name))
    .filter((lang): lang is string => lang !== undefined)
    .sort();
}

/** A file of judgments found under a directory, with the language its location implies. */
export interface LocatedFile {
  path: string;
  /** Upper-case language from the enclosing `mt_bench_<LANG>` directory, if any. */
  lang?: string;
}

/**
 * Finds `*.jsonl` files below `root` (or `root` itself when it is a file), sorted by path. The
 * language is taken from the nearest `mt_bench_<LANG>` ancestor directory.
 */
export async function findJsonlFiles(root: string): Promise<LocatedFile[]> {
  if (!(await isDirectory(root))) return [{ path: root, lang: languageFromPath(root) }];
  const found: LocatedFile[] = [];
  const walk = async (directory: string): Promise<void> => {
    const entries = await readdir(directory, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && entry.name.endsWith(".jsonl")) found.push({ path, lang: languageFromPath(path) });
    }
  };
  await walk(root);
  return found;
}

function languageFromPath(path: string): string | undefined {
  let directory = dirname(path);
  for (let depth = 0; depth < 8; depth += 1) {
    const lang = languageOfBenchDirectory(basename(directory));
    if (lang) return lang;
    const parent = dirname(directory);
    if (parent === directory) break;
    directory = parent;
  }
  return undefined;
}

/** MT-Bench's eight categories in the order of `question.jsonl` (10 questions each, ids 81-160). */
export const MT_BENCH_CATEGORIES = [
  "writing",
  "roleplay",
  "reasoning",
  "math",
  "coding",
  "extraction",
  "stem",
  "humanities",
] as const;

/** Categories whose judge prompt includes the reference answer (FastChat's `NEED_REF_CATS`). */
export const REFERENCE_CATEGORIES: ReadonlySet<string> = new Set(["math", "reasoning", "coding"]);

/**
 * The category of a standard MT-Bench question number (81-160, ten per category in file order),
 * used only when neither the judgment nor a question file names it.
 */
export function categoryOfQuestionNumber(questionNumber: number): string | undefined {
  if (!Number.isInteger(questionNumber) || questionNumber < 81 || questionNumber > 160) return undefined;
  return MT_BENCH_CATEGORIES[Math.floor((questionNumber - 81) / 10)];
}
