import { stat } from "node:fs/promises";
import { z } from "zod";
import { InputError, formatLocation, type InputLocation } from "../errors";
import { readRows } from "../io/read-rows";
import { canonicalRecordSchema } from "../record/canonical-record";
import { listLanguageFiles, type SkippedFile } from "../corpus/list-language-files";
import { detectSourceFormat, languageFromFileName, normaliseRow, sourceFormatSchema } from "../sources/read-source";
import { parseOptions } from "../parse-options";

export const validateDatasetOptionsSchema = z.strictObject({
  /** A data file, or a directory of per-language files. */
  path: z.string().min(1),
  /** Validate as this format; default: detected (the library's own outputs are `canonical`). */
  format: sourceFormatSchema.optional(),
  /** Stop after this many problems (default 1000). */
  maxProblems: z.number().int().positive().default(1000),
});
export type ValidateDatasetOptions = z.input<typeof validateDatasetOptionsSchema>;

export interface ValidationProblem extends InputLocation {
  message: string;
}

/** Human-readable form: `de.jsonl:12 field "messages.0.role": ...`. */
export function formatProblem(problem: ValidationProblem): string {
  return `${formatLocation(problem)}: ${problem.message}`;
}

/**
 * Checks every row of a dataset and returns every problem (not only the first) with file, line
 * and field: rows that do not match the format, invalid language codes, empty messages, a
 * conversation that does not start with a user turn, and duplicate (id, lang) pairs.
 */
export async function validateDataset(options: ValidateDatasetOptions): Promise<{ rows: number; problems: ValidationProblem[]; skippedFiles: SkippedFile[] }> {
  const { path, format, maxProblems } = parseOptions(validateDatasetOptionsSchema, options, "validateDataset");
  const listed = (await stat(path)).isDirectory() ? await listLanguageFiles(path) : undefined;
  const files = listed ? Array.from(listed.files.values()) : [path];
  const problems: ValidationProblem[] = [];
  const seen = new Map<string, InputLocation>();
  let rows = 0;
  const add = (problem: ValidationProblem) => {
    if (problems.length < maxProblems) problems.push(problem);
  };
  const skippedFiles = listed?.skipped ?? [];
  if (listed && files.length === 0) add({ file: path, message: "no per-language data files (expected names like en.jsonl, de.json.gz, fr.arrow)" });
  for (const file of files) {
    const before = rows;
    const fileLang = languageFromFileName(file);
    let detected = format;
    const problemOf = (error: InputError): ValidationProblem => ({
      file: error.file ?? file,
      ...(error.line !== undefined ? { line: error.line } : {}),
      ...(error.item !== undefined ? { item: error.item } : {}),
      ...(error.field ? { field: error.field } : {}),
      message: error.reason,
    });
    // A row that is not UTF-8 is one problem among the others; the rows after it are still checked.
    const onInvalidUtf8 = (error: InputError) => {
      rows += 1;
      add(problemOf(error));
    };
    try {
      for await (const { value, location } of readRows(file, { onInvalidUtf8 })) {
        rows += 1;
        try {
          detected ??= detectSourceFormat(value, location);
          const record = normaliseRow(value, detected, { location, index: rows - 1, ...(fileLang ? { lang: fileLang } : {}) });
          const parsed = canonicalRecordSchema.safeParse(record);
          if (!parsed.success) {
            for (const issue of parsed.error.issues) add({ ...location, field: issue.path.join("."), message: issue.message });
            continue;
          }
          const firstTurn = record.messages.find((message) => message.role !== "system");
          if (firstTurn && firstTurn.role !== "user") add({ ...location, field: "messages", message: "the conversation does not start with a user turn" });
          const key = `${record.lang}\u0000${record.id}`;
          const previous = seen.get(key);
          if (previous) add({ ...location, field: "id", message: `duplicate id "${record.id}" in language ${record.lang} (first at ${formatLocation(previous)})` });
          else seen.set(key, location);
        } catch (error) {
          if (!(error instanceof InputError)) throw error;
          add({ ...location, ...(error.field ? { field: error.field } : {}), message: error.reason });
        }
        if (problems.length >= maxProblems) return { rows, problems, skippedFiles };
      }
    } catch (error) {
      // A file that cannot be read to its end (gzip, CSV or Arrow UTF-8 errors) is one problem; the other files are still checked.
      if (!(error instanceof InputError)) throw error;
      add(problemOf(error));
      if (problems.length >= maxProblems) return { rows, problems, skippedFiles };
      continue;
    }
    if (rows === before) add({ file, message: "has no rows (an empty file or an empty JSON array [])" });
  }
  return { rows, problems, skippedFiles };
}
