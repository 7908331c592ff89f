import { readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { UsageError } from "../../errors";
import {
  benchLanguageDirectory,
  languageOfBenchDirectory,
  readJudgePrompts,
  readModelAnswers,
  readQuestions,
  type JudgePrompt,
  type ModelAnswer,
  type MtBenchQuestion,
} from "../mt-bench-files";
import { pathExists } from "../../io/path-exists";

/** The benchmark of one language: questions, reference answers and judge prompts. */
export interface BenchLanguage {
  lang: string;
  questions: MtBenchQuestion[];
  /** Reference turns by question id (as a string). */
  references: Map<string, string[]>;
  prompts: Map<string, JudgePrompt>;
}

/**
 * Loads `<bench>/mt_bench_<LANG>/{question.jsonl, reference_answer/<referenceModel>.jsonl,
 * judge_prompts.jsonl}`. A FastChat English tree (`<bench>/question.jsonl`) serves `EN` and a
 * single-language directory (`<bench>` is `mt_bench_DE/`) serves its language. References missing
 * from the file fall back to the question's own `reference` field.
 */
export async function loadBenchLanguage(options: {
  bench: string;
  lang: string;
  referenceModel: string;
  /** A judge prompts file to use instead of the one in the bench. */
  judgePrompts?: string;
}): Promise<BenchLanguage> {
  const lang = options.lang.toUpperCase();
  let directory = benchLanguageDirectory(options.bench, lang);
  if (!(await pathExists(join(directory, "question.jsonl")))) {
    const own = languageOfBenchDirectory(basename(options.bench));
    if ((own === lang || (own === undefined && lang === "EN")) && (await pathExists(join(options.bench, "question.jsonl")))) {
      directory = options.bench;
    } else {
      throw new UsageError(`no questions for ${lang}: expected ${join(benchLanguageDirectory(options.bench, lang), "question.jsonl")}`);
    }
  }
  const questions = await readQuestions(join(directory, "question.jsonl"));
  const references = new Map<string, string[]>();
  for (const question of questions) {
    if (question.reference && question.reference.length > 0) references.set(String(question.question_id), question.reference);
  }
  const referencePath = join(directory, "reference_answer", `${options.referenceModel}.jsonl`);
  if (await pathExists(referencePath)) {
    for (const answer of await readModelAnswers(referencePath)) references.set(String(answer.question_id), answer.choices[0]!.turns);
  }
  const promptsPath = options.judgePrompts ?? join(directory, "judge_prompts.jsonl");
  if (!(await pathExists(promptsPath))) throw new UsageError(`no judge prompts: expected ${promptsPath} (or pass --judge-prompts)`);
  return { lang, questions, references, prompts: await readJudgePrompts(promptsPath) };
}

/** One model's answers in one language. */
export interface AnswerFile {
  lang: string;
  /** The model id: the file name without `.jsonl`, as FastChat names models. */
  model: string;
  path: string;
  answers: ModelAnswer[];
}

/**
 * Finds answer files: `<answers>/mt_bench_<LANG>/model_answer/<model>.jsonl` (what `generate`
 * writes), or a flat `<answers>/<model>.jsonl` when `lang` is given.
 */
export async function loadAnswerFiles(options: { answers: string; lang?: string; models?: readonly string[] }): Promise<AnswerFile[]> {
  const files: { lang: string; path: string }[] = [];
  const entries = await readdir(options.answers, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const lang = entry.isDirectory() ? languageOfBenchDirectory(entry.name) : undefined;
    if (!lang) continue;
    if (options.lang && options.lang.toUpperCase() !== lang) continue;
    const directory = join(options.answers, entry.name, "model_answer");
    if (!(await pathExists(directory))) continue;
    for (const name of (await readdir(directory)).sort()) if (name.endsWith(".jsonl")) files.push({ lang, path: join(directory, name) });
  }
  if (files.length === 0 && options.lang) {
    for (const entry of entries) {
      if (entry.isFile() && entry.name.endsWith(".jsonl")) files.push({ lang: options.lang.toUpperCase(), path: join(options.answers, entry.name) });
    }
  }
  if (files.length === 0) {
    throw new UsageError(
      `no answer files in ${options.answers}: expected mt_bench_<LANG>/model_answer/<model>.jsonl, or <model>.jsonl files with --lang`,
    );
  }
  const loaded: AnswerFile[] = [];
  for (const file of files) {
    const model = basename(file.path, ".jsonl");
    if (options.models && !options.models.includes(model)) continue;
    loaded.push({ lang: file.lang, model, path: file.path, answers: await readModelAnswers(file.path) });
  }
  return loaded;
}
