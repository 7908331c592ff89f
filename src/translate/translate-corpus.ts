import { rm } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import { z } from "zod";
import { writeFileAtomic } from "../io/atomic-write";
import { writeJsonl, type WrittenFile } from "../io/jsonl";
import type { CanonicalRecord } from "../record/canonical-record";
import { isIso639_1 } from "../record/language-codes";
import { emptyFileError } from "../corpus/load-parallel-corpus";
import { readSource, sourceFormatSchema } from "../sources/read-source";
import { UsageError } from "../errors";
import { withExclusiveLock } from "../io/exclusive-lock";
import { remoteCallPolicySchema } from "../remote/call-with-retry";
import { RemoteQuotaError } from "../remote/remote-call-error";
import { buildCorpusTranslationReport, buildReviewRows, summariseLanguages, type CorpusDocuments, type DocumentOwner, type LanguageSummary } from "./corpus-translation-report";
import { writeReviewCsv } from "./review-csv";
import {
  prepareDocuments,
  translateDocuments,
  type TranslateDocumentsResult,
  type TranslationProgress,
} from "./translate-documents";
import type { TranslationCache } from "./translation-cache";
import type { TranslationProvider } from "./translation-provider";
import { parseOptions } from "../parse-options";

export const translateCorpusOptionsSchema = z.strictObject({
  /** The corpus to translate (LIMA `train.jsonl`, or any format `readSource` reads). */
  input: z.string().min(1),
  /** How `translation-report.json` names the input (default: `input` as given); the study runner passes a portable name. */
  inputName: z.string().min(1).optional(),
  /** Format of the input (default: detected; LIMA rows are detected). */
  format: sourceFormatSchema.optional(),
  /** Source language (ISO 639-1). */
  from: z.string().refine(isIso639_1, "expected an ISO 639-1 code such as en"),
  /** Target languages (ISO 639-1), e.g. `["de", "fr", "it", "es"]`. */
  to: z.array(z.string().refine(isIso639_1, "expected an ISO 639-1 code such as de")).min(1),
  provider: z.custom<TranslationProvider>((value) => typeof value === "object" && value !== null && "doTranslate" in value),
  cache: z.custom<TranslationCache>((value) => typeof value === "object" && value !== null && "put" in value),
  /** Accept an input without rows and empty messages (`--allow-empty`); by default both are errors. */
  allowEmpty: z.boolean().optional(),
  /** Output directory: `<from>.jsonl`, `<lang>.jsonl`, `translation-report.json`, `review.csv`. */
  outDir: z.string().min(1),
  /** `source` field of the written records (default `lima-x`); `meta.source` keeps LIMA's own. */
  source: z.string().min(1).optional(),
  /** Requests in flight (default 4). */
  concurrency: z.number().int().min(1).max(64).optional(),
  /** Send nothing and write nothing; the summary tells what would be billed. */
  dryRun: z.boolean().optional(),
  /** Human corrections (see `readCorrections`). */
  corrections: z.array(z.strictObject({ to: z.string(), source: z.string(), translation: z.string() })).optional(),
  /** Called after each request with the progress of all languages together. */
  onProgress: z.custom<(progress: TranslateCorpusProgress) => void>((value) => typeof value === "function").optional(),
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal).optional(),
  price: z.strictObject({ perMillionCharacters: z.number().nonnegative(), currency: z.string() }).optional(),
  /** Retry and timeout policy of the requests (see `translateDocuments`). */
  retry: remoteCallPolicySchema.optional(),
  /** Waits between retries (injected by tests). */
  sleep: z.custom<(ms: number, signal?: AbortSignal) => Promise<void>>((value) => typeof value === "function").optional(),
  /** When another process writes to `outDir`: wait for it (default) or fail at once (`false`). */
  wait: z.boolean().optional(),
  /** Told once when this run starts waiting for another process. */
  onWait: z.custom<(message: string) => void>((value) => typeof value === "function").optional(),
});
export type TranslateCorpusOptions = z.input<typeof translateCorpusOptionsSchema>;

/** Progress of all target languages together (sent after each request), plus each language's own. */
export interface TranslateCorpusProgress extends Omit<TranslationProgress, "to"> {
  readonly to: string[];
  readonly languages: readonly TranslationProgress[];
}

function combineProgress(from: string, languages: TranslationProgress[]): TranslateCorpusProgress {
  const sum = (pick: (progress: TranslationProgress) => number): number => languages.reduce((total, progress) => total + pick(progress), 0);
  return {
    from,
    to: languages.map((progress) => progress.to),
    languages,
    totalSegments: sum((progress) => progress.totalSegments),
    doneSegments: sum((progress) => progress.doneSegments),
    cachedSegments: sum((progress) => progress.cachedSegments),
    totalCharacters: sum((progress) => progress.totalCharacters),
    sentCharacters: sum((progress) => progress.sentCharacters),
    requests: sum((progress) => progress.requests),
    retries: sum((progress) => progress.retries),
  };
}

export type { LanguageSummary } from "./corpus-translation-report";

/** What {@link translateCorpus} did. */
export interface TranslateCorpusSummary {
  readonly outDir: string;
  readonly records: number;
  readonly dryRun: boolean;
  /** Files written (none on a dry run), report and review last. */
  readonly files: (WrittenFile & { path: string })[];
  readonly languages: Record<string, LanguageSummary>;
}

/**
 * Translates a corpus into several languages and writes the parallel corpus: `en.jsonl`,
 * `de.jsonl`, ... with the same ids (every turn translated), then `translation-report.json` and
 * `review.csv`. Every distinct segment is translated once per language across the whole corpus.
 * Phases: read the corpus into documents, translate them into every language, then (unless a dry
 * run) write the corpus files and, last, the review and the report.
 *
 * @example
 * await translateCorpus({ input: "lima/train.jsonl", from: "en", to: ["de", "fr"], provider, cache, outDir: "out/lima-x" });
 */
export async function translateCorpus(options: TranslateCorpusOptions): Promise<TranslateCorpusSummary> {
  const parsed = parseOptions(translateCorpusOptionsSchema, options, "translateCorpus");
  if (parsed.to.includes(parsed.from)) {
    throw new UsageError(`the target languages include the source language "${parsed.from}"`);
  }
  const corpus = await readCorpusDocuments(parsed);
  const results = await translateIntoEveryLanguage(parsed, corpus);
  const reports = results.map((result) => result.report);
  const languages = summariseLanguages(reports);
  if (parsed.dryRun) return { outDir: parsed.outDir, records: corpus.records.length, dryRun: true, files: [], languages };

  const files = await withExclusiveLock({ path: parsed.outDir, what: `the output folder ${parsed.outDir}`, wait: parsed.wait, onWait: parsed.onWait }, () => writeTranslatedCorpus(parsed, corpus, results));
  return { outDir: parsed.outDir, records: corpus.records.length, dryRun: false, files, languages };
}

type ParsedTranslateCorpusOptions = z.output<typeof translateCorpusOptionsSchema>;

/** Reads the corpus; every message of every record is one document, and `owners` maps documents back. */
async function readCorpusDocuments(parsed: ParsedTranslateCorpusOptions): Promise<CorpusDocuments & { records: CanonicalRecord[] }> {
  const records: CanonicalRecord[] = [];
  for await (const record of readSource({
    path: parsed.input,
    ...(parsed.format ? { format: parsed.format } : {}),
    lang: parsed.from,
    source: parsed.source ?? "lima-x",
    ...(parsed.allowEmpty ? { allowEmpty: true } : {}),
  })) {
    records.push(record);
  }
  if (records.length === 0 && !parsed.allowEmpty) throw emptyFileError(parsed.input);
  const documents: string[] = [];
  const owners: DocumentOwner[] = [];
  records.forEach((record, recordIndex) =>
    record.messages.forEach((message, turn) => {
      documents.push(message.content);
      owners.push({ record: recordIndex, turn });
    }),
  );
  return { records, documents, owners };
}

/**
 * Translates the documents into every target language at once, under one request limit: while one
 * language reassembles and checks its output, the others keep the connection busy. Results come in
 * the order of `to`; every language has stopped before an error is thrown, so nothing writes to the
 * cache afterwards.
 */
async function translateIntoEveryLanguage(parsed: ParsedTranslateCorpusOptions, corpus: CorpusDocuments): Promise<TranslateDocumentsResult[]> {
  // The same array goes to every language with its segmentation: `prepared` is reused only for it.
  const prepared = prepareDocuments({ documents: corpus.documents, from: parsed.from });
  const requestLimit = pLimit(parsed.concurrency ?? 4);
  const latest = new Map<string, TranslationProgress>();
  const onProgress = parsed.onProgress
    ? (progress: TranslationProgress): void => {
        latest.set(progress.to, progress);
        if (latest.size === parsed.to.length) parsed.onProgress!(combineProgress(parsed.from, [...latest.values()]));
      }
    : undefined;
  const settled = await Promise.allSettled(
    parsed.to.map((to) =>
      translateDocuments({
        documents: corpus.documents,
        prepared,
        from: parsed.from,
        to,
        provider: parsed.provider,
        cache: parsed.cache,
        requestLimit,
        ...(parsed.dryRun ? { dryRun: true } : {}),
        ...(parsed.corrections ? { corrections: parsed.corrections } : {}),
        ...(onProgress ? { onProgress } : {}),
        ...(parsed.signal ? { signal: parsed.signal } : {}),
        ...(parsed.price ? { price: parsed.price } : {}),
        ...(parsed.retry ? { retry: parsed.retry } : {}),
        ...(parsed.sleep ? { sleep: parsed.sleep } : {}),
        describeDocument: (index: number) => {
          const owner = corpus.owners[index]!;
          return `record ${corpus.records[owner.record]!.id} (${parsed.inputName ?? parsed.input}) message ${owner.turn + 1}`;
        },
      }),
    ),
  );
  const failures = settled.filter((result): result is PromiseRejectedResult => result.status === "rejected").map((result) => result.reason);
  if (failures.length > 0) throw failures.find((error) => error instanceof RemoteQuotaError) ?? failures[0];
  return settled.map((result) => (result as PromiseFulfilledResult<TranslateDocumentsResult>).value);
}

/** The records of one target language: the source records with each message replaced by its translation. */
function translatedRecords(parsed: ParsedTranslateCorpusOptions, corpus: CorpusDocuments, to: string, result: TranslateDocumentsResult): CanonicalRecord[] {
  const translated = corpus.records.map((record) => ({
    ...record,
    lang: to,
    messages: record.messages.map((message) => ({ ...message })),
    meta: { ...record.meta, translated_from: parsed.from, translation_provider: result.report.provider },
  }));
  result.translations.forEach((text, documentIndex) => {
    const owner = corpus.owners[documentIndex]!;
    translated[owner.record]!.messages[owner.turn]!.content = text;
  });
  return translated;
}

/**
 * Writes the parallel corpus, then `review.csv` and `translation-report.json`. The report is the
 * commit point of the folder: it is removed first and written last.
 */
async function writeTranslatedCorpus(
  parsed: ParsedTranslateCorpusOptions,
  corpus: CorpusDocuments & { records: CanonicalRecord[] },
  results: readonly TranslateDocumentsResult[],
): Promise<(WrittenFile & { path: string })[]> {
  const reportPath = join(parsed.outDir, "translation-report.json");
  await rm(reportPath, { force: true });
  const files: (WrittenFile & { path: string })[] = [];
  const write = async (name: string, rows: CanonicalRecord[]): Promise<void> => {
    const path = join(parsed.outDir, name);
    files.push({ path, ...(await writeJsonl(path, rows)) });
  };
  await write(`${parsed.from}.jsonl`, corpus.records);
  for (const [index, to] of parsed.to.entries()) await write(`${to}.jsonl`, translatedRecords(parsed, corpus, to, results[index]!));

  const reports = results.map((result) => result.report);
  await writeReviewCsv(join(parsed.outDir, "review.csv"), buildReviewRows({ corpus, reports, corrections: parsed.corrections ?? [], to: parsed.to }));
  const report = buildCorpusTranslationReport({ input: parsed.inputName ?? parsed.input, from: parsed.from, to: parsed.to, corpus, reports });
  await writeFileAtomic(reportPath, JSON.stringify(report, null, 2) + "\n");
  return files;
}
