import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { UsageError } from "../../errors";
import {
  benchLanguageDirectory,
  categoryOfQuestionNumber,
  findJsonlFiles,
  readJudgmentsWithLines,
  readQuestions,
  splitQuestionId,
} from "../mt-bench-files";
import type { ReportJudgment } from "./score-table";
import { pathExists } from "../../io/path-exists";
import { parseOptions } from "../../parse-options";

/** Options of `loadReportJudgments`. */
export const loadReportJudgmentsOptionsSchema = z.strictObject({
  /**
   * A judgment file, or a directory searched for `*.jsonl` (e.g. `judgments/` or `mt_bench_x/`): when
   * some are in `model_judgment/` directories, only those are read.
   */
  judgments: z.string().min(1),
  /**
   * An MT-Bench(-X) tree or `question.jsonl` giving each question's category. Without it the
   * category comes from the judgment's `category` field, else from the standard id ranges.
   */
  bench: z.string().min(1).optional(),
  /** Language of judgments whose id, field and path do not say (default `EN`, FastChat's). */
  lang: z.string().min(2).optional(),
  /** Keep only judgments of this judge model (`judge[0]`). */
  judgeModel: z.string().min(1).optional(),
  /** Return no rows instead of failing when there is no single-answer file (a pairwise-only tree). */
  allowNone: z.boolean().default(false),
});
export type LoadReportJudgmentsOptions = z.input<typeof loadReportJudgmentsOptionsSchema>;

async function loadCategories(bench: string, languages: readonly string[]): Promise<Map<string, string>> {
  const categories = new Map<string, string>();
  const files: { path: string; lang?: string }[] = [];
  if (bench.endsWith(".jsonl")) files.push({ path: bench });
  else {
    for (const lang of languages) files.push({ path: join(benchLanguageDirectory(bench, lang), "question.jsonl"), lang });
    files.push({ path: join(bench, "question.jsonl") });
  }
  for (const file of files) {
    if (!(await pathExists(file.path))) continue;
    for (const question of await readQuestions(file.path)) {
      const { number, lang } = splitQuestionId(question.question_id);
      categories.set(`${number ?? question.question_id}|${lang ?? file.lang ?? ""}`, question.category);
      // FastChat's English file has numeric ids and no language: make it the fallback for all.
      if (!categories.has(`${number ?? question.question_id}|`)) categories.set(`${number ?? question.question_id}|`, question.category);
    }
  }
  return categories;
}

/**
 * Reads judgment files (FastChat's or this project's) and resolves each row's language (the
 * row's `lang`, else the id suffix `_DE`, else the `mt_bench_<LANG>` directory, else `lang`) and
 * category. Rows stay in file order and duplicates are kept, as FastChat's `show_result` keeps them.
 */
export async function loadReportJudgments(options: LoadReportJudgmentsOptions): Promise<ReportJudgment[]> {
  const { judgments: root, bench, lang: defaultLang, judgeModel, allowNone } = parseOptions(loadReportJudgmentsOptionsSchema, options, "loadReportJudgments");
  const allFiles = await findJsonlFiles(root);
  // In a benchmark tree only `model_judgment/` holds judgments (questions and answers sit beside);
  // FastChat's pairwise files (`*_pair.jsonl`) have another format.
  const judgmentFiles = allFiles.filter((file) => basename(dirname(file.path)) === "model_judgment");
  const files = (judgmentFiles.length > 0 ? judgmentFiles : allFiles).filter((file) => !file.path.endsWith("_pair.jsonl"));
  if (files.length === 0) {
    if (allowNone) return [];
    throw new UsageError(`no *.jsonl judgment files under ${root}`);
  }
  const rows: ReportJudgment[] = [];
  for (const file of files) {
    for (const { value: judgment, line } of await readJudgmentsWithLines(file.path)) {
      if (judgeModel && judgment.judge[0] !== judgeModel) continue;
      const questionId = String(judgment.question_id);
      const { number, lang: idLang } = splitQuestionId(judgment.question_id);
      const lang = (judgment.lang ?? idLang ?? file.lang ?? defaultLang ?? "EN").toUpperCase();
      rows.push({
        model: judgment.model,
        lang,
        judge: judgment.judge[0],
        questionId,
        category: judgment.category ?? (number !== undefined ? categoryOfQuestionNumber(number) : undefined) ?? "unknown",
        turn: judgment.turn,
        score: judgment.score,
        judgment: judgment.judgment,
        error: judgment.error,
        languageMismatch: judgment.language_mismatch,
        ...(judgment.repeat !== undefined ? { repeat: judgment.repeat } : {}),
        file: file.path,
        line,
      });
    }
  }
  if (bench) {
    const categories = await loadCategories(bench, [...new Set(rows.map((row) => row.lang))]);
    for (const row of rows) {
      const { number } = splitQuestionId(row.questionId);
      const key = number ?? row.questionId;
      row.category = categories.get(`${key}|${row.lang}`) ?? categories.get(`${key}|`) ?? row.category;
    }
  }
  return rows;
}
