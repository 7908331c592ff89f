import { stat } from "node:fs/promises";
import { z } from "zod";
import { InputError, UsageError } from "../errors";
import { sha256File } from "../io/hash-file";
import type { CanonicalRecord } from "../record/canonical-record";
import { compareIds } from "../record/compare-ids";
import { encodeLanguageFiles } from "../encode/encode-language-files";
import { listLanguageFiles, type SkippedFile } from "./list-language-files";
import type { WorkerScripts } from "../worker/worker-script";
import { RecordEncoder } from "../encode/record-encoder";
import { RecordStore } from "../encode/record-store";
import type { EncodedLanguage } from "../record/encoded-record";
import { languageFromFileName, readSource, sourceFormatSchema } from "../sources/read-source";
import { parseOptions } from "../parse-options";

/** One input file as the manifest records it. */
export interface InputFileInfo {
  path: string;
  sha256: string;
  rows: number;
  /** Set when the file holds one language. */
  lang?: string;
}

/** Ids that could not be used in every language, and why. */
export interface AlignmentReport {
  /** Ids found in at least one language. */
  totalIds: number;
  /** Ids present in every requested language. */
  commonIds: number;
  /** Per language: how many ids of the other languages it lacks. */
  missingByLanguage: Record<string, number>;
  /** A few example ids per language that it lacks, for the log. */
  missingExamples: Record<string, string[]>;
  /** Per language: ids that appeared more than once (the first occurrence is kept). */
  duplicatesByLanguage: Record<string, number>;
}

export interface ParallelCorpus {
  /** Languages loaded, in the order requested. */
  languages: string[];
  /** language -> id -> record, stored encoded (see `RecordStore`). */
  records: Map<string, RecordStore>;
  /** Ids present in every loaded language, sorted. */
  commonIds: string[];
  inputs: InputFileInfo[];
  alignment: AlignmentReport;
  /** Data files of the folder that were not read because their names are no language code. */
  skippedFiles: SkippedFile[];
}

export const loadParallelCorpusOptionsSchema = z.strictObject({
  /** A directory with one file per language (`en.jsonl`, `de.json.gz`, ...) or one file with a `lang` column. */
  path: z.string().min(1),
  /** Per-language files to use instead of listing `path` (e.g. the cached copies of an `hf://` URI). */
  files: z.array(z.string()).optional(),
  /** Languages to load; others in the directory are not read (memory grows only with these). Default: all found. */
  languages: z.array(z.string()).optional(),
  format: sourceFormatSchema.optional(),
  /** Value of the records' `source` field. */
  source: z.string().optional(),
  /** Called after each file with the rows read so far. */
  onProgress: z.custom<(event: { file: string; rows: number }) => void>().optional(),
  /** Accept an empty language file and empty messages (`--allow-empty`); by default both are errors. */
  allowEmpty: z.boolean().default(false),
  /** Where the reader threads' script is (default: the built one; tests run it from `src/`). */
  workerScripts: z.custom<WorkerScripts>((value) => typeof value === "function", "expected a function").optional(),
});
export type LoadParallelCorpusOptions = z.input<typeof loadParallelCorpusOptionsSchema>;

/** Finds `<lang>.<ext>` data files in a directory: language -> path (see `listLanguageFiles`). */
export async function findLanguageFiles(directory: string): Promise<Map<string, string>> {
  return (await listLanguageFiles(directory)).files;
}

function languageFilesOf(paths: string[], origin: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const path of paths) {
    const lang = languageFromFileName(path);
    if (!lang) throw new InputError("cannot tell the language of this file: name it after its language (de.json.gz)", { file: path });
    if (files.has(lang)) throw new InputError(`two files for language "${lang}" in ${origin}`, { file: path });
    files.set(lang, path);
  }
  return files;
}

/**
 * Loads a parallel corpus aligned by id: reads the requested languages, keeps the first record of
 * a duplicated id, and computes the ids present in every language (the common id set that every
 * composition of the corpus draws from, so monolingual and multilingual sets stay comparable).
 */
export async function loadParallelCorpus(options: LoadParallelCorpusOptions): Promise<ParallelCorpus> {
  const { path, files: listedFiles, languages: requested, format, source, onProgress, allowEmpty, workerScripts } =
    parseOptions(loadParallelCorpusOptionsSchema, options, "loadParallelCorpus");
  const records = new Map<string, RecordStore>();
  /** id -> how many of the loaded languages hold it. */
  const presence = new Map<string, number>();
  const duplicates = new Map<string, number>();
  const inputs: InputFileInfo[] = [];
  const skippedFiles: SkippedFile[] = [];
  const encoders = new Map<string, RecordEncoder>();
  const add = (record: CanonicalRecord) => {
    let encoder = encoders.get(record.lang);
    if (!encoder) encoders.set(record.lang, (encoder = new RecordEncoder(record.lang)));
    encoder.add(record);
  };

  // Per-language mode: a directory, or listed files named after their languages (de.json.gz).
  const isDirectory = listedFiles
    ? listedFiles.length > 1 || listedFiles.every((file) => languageFromFileName(file) !== undefined)
    : (
        await stat(path).catch((error: unknown) => {
          throw new InputError("not found", { file: path, cause: error });
        })
      ).isDirectory();
  if (isDirectory) {
    let files: Map<string, string>;
    if (listedFiles) files = languageFilesOf(listedFiles, path);
    else {
      const listed = await listLanguageFiles(path);
      files = listed.files;
      skippedFiles.push(...listed.skipped);
    }
    if (files.size === 0) {
      throw new InputError("no per-language data files (expected names like en.jsonl, de.json.gz, fr.arrow)", { file: path });
    }
    const languages = requested ?? Array.from(files.keys());
    const missing = languages.filter((lang) => !files.has(lang));
    if (missing.length > 0) {
      throw new UsageError(
        `${path} has no file for ${missing.join(", ")}; found languages: ${Array.from(files.keys()).join(", ")}`,
      );
    }
    const tasks = languages.map((lang) => ({ path: files.get(lang)!, lang, ...(format ? { format } : {}), ...(source ? { source } : {}), ...(allowEmpty ? { allowEmpty } : {}) }));
    // Each language is indexed as soon as it arrives, while the others are still being read.
    const stores = new Map<string, RecordStore>();
    const encodedFiles = await encodeLanguageFiles({
      tasks,
      onDone: (task, result) => {
        if (result.encoded.rows === 0 && !allowEmpty) throw emptyFileError(task.path);
        stores.set(task.lang, indexLanguage(result.encoded, presence, duplicates));
        onProgress?.({ file: task.path, rows: result.encoded.rows });
      },
      ...(workerScripts ? { workerScripts } : {}),
    });
    for (const [index, { encoded, sha256 }] of encodedFiles.entries()) {
      records.set(encoded.lang, stores.get(encoded.lang)!);
      inputs.push({ path: tasks[index]!.path, sha256, rows: encoded.rows, lang: encoded.lang });
    }
  } else {
    const file = listedFiles?.[0] ?? path;
    let rows = 0;
    for await (const record of readSource({ path: file, format, source, ...(allowEmpty ? { allowEmpty } : {}) })) {
      rows += 1;
      if (!requested || requested.includes(record.lang)) add(record);
    }
    if (rows === 0 && !allowEmpty) throw emptyFileError(file);
    inputs.push({ path: file, sha256: await sha256File(file), rows });
    onProgress?.({ file, rows });
    for (const [lang, encoder] of encoders) records.set(lang, indexLanguage(encoder.finish(), presence, duplicates));
  }

  const languages = requested ?? Array.from(records.keys()).sort();
  const absent = languages.filter((lang) => !records.has(lang));
  if (absent.length > 0) throw new InputError(`no rows for language ${absent.join(", ")}`, { file: path });
  const { alignment, commonIds } = alignIds(records, languages, presence);
  // In language order, whichever file finished first: the manifest is the same from run to run.
  for (const lang of languages) if (duplicates.has(lang)) alignment.duplicatesByLanguage[lang] = duplicates.get(lang)!;
  return { languages, records, commonIds, inputs, alignment, skippedFiles };
}

/** An empty language file would give empty compositions that look like a finished build. */
export function emptyFileError(file: string): InputError {
  return new InputError("has no rows (an empty file or an empty JSON array []); pass --allow-empty (allowEmpty: true) to build with it anyway", { file });
}

/**
 * A language's records indexed by id, keeping the first record of an id given twice (counted in
 * `duplicates`); each of its ids counted once in `presence`.
 */
function indexLanguage(encoded: EncodedLanguage, presence: Map<string, number>, duplicates: Map<string, number>): RecordStore {
  const store = new RecordStore();
  const skipped = store.addEncoded(encoded);
  if (skipped > 0) duplicates.set(encoded.lang, skipped);
  for (const id of store.keys()) presence.set(id, (presence.get(id) ?? 0) + 1);
  return store;
}

/** The ids every language holds, sorted, and a report of the others (`presence`: see `indexLanguage`). */
function alignIds(records: Map<string, RecordStore>, languages: string[], presence: Map<string, number>): { alignment: AlignmentReport; commonIds: string[] } {
  const commonIds: string[] = [];
  const partial: string[] = [];
  for (const [id, count] of presence) (count === languages.length ? commonIds : partial).push(id);
  commonIds.sort(compareIds);
  const missingByLanguage: Record<string, number> = {};
  const missingExamples: Record<string, string[]> = {};
  for (const lang of languages) {
    const byId = records.get(lang)!;
    const missing = partial.filter((id) => !byId.has(id));
    if (missing.length > 0) {
      missingByLanguage[lang] = missing.length;
      missingExamples[lang] = missing.sort(compareIds).slice(0, 5);
    }
  }
  const alignment = { totalIds: presence.size, commonIds: commonIds.length, missingByLanguage, missingExamples, duplicatesByLanguage: {} };
  return { alignment, commonIds };
}

/** Restricts a corpus to a subset of its common ids (e.g. a sample), sharing the records. */
export function restrictCorpus(corpus: ParallelCorpus, ids: readonly string[]): ParallelCorpus {
  return { ...corpus, commonIds: [...ids].sort(compareIds) };
}
