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
import { acquireExclusiveLock } from "../io/exclusive-lock";
import { remoteCallPolicySchema } from "../remote/call-with-retry";
import { RemoteQuotaError } from "../remote/remote-call-error";
import { writeReviewCsv, type ReviewRow } from "./review-csv";
import {
  prepareDocuments,
  translateDocuments,
  type TranslationProgress,
  type TranslationReport,
} from "./translate-documents";
import type { TranslationCache } from "./translation-cache";
import type { TranslationProvider } from "./translation-provider";

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

/** One language's outcome (the full issue list is in translation-report.json). */
export type LanguageSummary = Omit<TranslationReport, "issues"> & { issueCounts: Record<string, number> };

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
 *
 * @example
 * await translateCorpus({ input: "lima/train.jsonl", from: "en", to: ["de", "fr"], provider, cache, outDir: "out/lima-x" });
 */
export async function translateCorpus(options: TranslateCorpusOptions): Promise<TranslateCorpusSummary> {
  const parsed = translateCorpusOptionsSchema.parse(options);
  if (parsed.to.includes(parsed.from)) {
    throw new UsageError(`the target languages include the source language "${parsed.from}"`);
  }
  const source = parsed.source ?? "lima-x";
  const records: CanonicalRecord[] = [];
  for await (const record of readSource({
    path: parsed.input,
    ...(parsed.format ? { format: parsed.format } : {}),
    lang: parsed.from,
    source,
    ...(parsed.allowEmpty ? { allowEmpty: true } : {}),
  })) {
    records.push(record);
  }
  if (records.length === 0 && !parsed.allowEmpty) throw emptyFileError(parsed.input);
  // Every message of every record is one document; this index maps documents back.
  const documents: string[] = [];
  const owners: { record: number; turn: number }[] = [];
  records.forEach((record, recordIndex) =>
    record.messages.forEach((message, turn) => {
      documents.push(message.content);
      owners.push({ record: recordIndex, turn });
    }),
  );

  const prepared = prepareDocuments({ documents, from: parsed.from });
  const reports: TranslationReport[] = [];
  const outputs = new Map<string, CanonicalRecord[]>();
  // All target languages run at once under one request limit: while one language reassembles and
  // checks its output, the others keep the connection busy.
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
        documents,
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
          const owner = owners[index]!;
          return `record ${records[owner.record]!.id} (${parsed.inputName ?? parsed.input}) message ${owner.turn + 1}`;
        },
      }),
    ),
  );
  // Every language has stopped before an error is reported, so nothing writes to the cache afterwards.
  const failures = settled.filter((result): result is PromiseRejectedResult => result.status === "rejected").map((result) => result.reason);
  if (failures.length > 0) throw failures.find((error) => error instanceof RemoteQuotaError) ?? failures[0];
  settled.forEach((result, languageIndex) => {
    if (result.status !== "fulfilled") return;
    const to = parsed.to[languageIndex]!;
    const { translations, report } = result.value;
    reports.push(report);
    if (parsed.dryRun) return;
    const translated = records.map((record) => ({
      ...record,
      lang: to,
      messages: record.messages.map((message) => ({ ...message })),
      meta: { ...record.meta, translated_from: parsed.from, translation_provider: report.provider },
    }));
    translations.forEach((text, documentIndex) => {
      const owner = owners[documentIndex]!;
      translated[owner.record]!.messages[owner.turn]!.content = text;
    });
    outputs.set(to, translated);
  });

  const languages: Record<string, LanguageSummary> = {};
  for (const report of reports) {
    const { issues, ...rest } = report;
    const issueCounts: Record<string, number> = {};
    for (const issue of issues) issueCounts[issue.kind] = (issueCounts[issue.kind] ?? 0) + 1;
    languages[report.to] = { ...rest, issueCounts };
  }
  if (parsed.dryRun) return { outDir: parsed.outDir, records: records.length, dryRun: true, files: [], languages };

  const release = await acquireExclusiveLock({
    path: parsed.outDir,
    what: `the output folder ${parsed.outDir}`,
    ...(parsed.wait === undefined ? {} : { wait: parsed.wait }),
    ...(parsed.onWait ? { onWait: parsed.onWait } : {}),
  });
  try {
    return await writeOutputs();
  } finally {
    await release();
  }

  async function writeOutputs(): Promise<TranslateCorpusSummary> {
  // The report is the commit point of the folder: it goes first, and comes back last.
  await rm(join(parsed.outDir, "translation-report.json"), { force: true });
  const files: (WrittenFile & { path: string })[] = [];
  const write = async (name: string, rows: CanonicalRecord[]): Promise<void> => {
    const path = join(parsed.outDir, name);
    files.push({ path, ...(await writeJsonl(path, rows)) });
  };
  await write(`${parsed.from}.jsonl`, records);
  for (const to of parsed.to) await write(`${to}.jsonl`, outputs.get(to)!);

  // Review rows: flagged segments, plus every corrected one so the curation loop stays visible.
  const reviewRows: ReviewRow[] = [];
  const correctedSources = new Map<string, string>();
  for (const correction of parsed.corrections ?? []) correctedSources.set(`${correction.to}\u0000${correction.source}`, correction.translation);
  const issueRows = reports.flatMap((report) =>
    report.issues.map((issue) => {
      const owner = owners[issue.document]!;
      return {
        lang: report.to,
        id: records[owner.record]!.id,
        turn: owner.turn,
        segment: issue.segment,
        kind: issue.kind,
        detail: issue.detail,
        source: issue.source,
        translation: issue.translation,
      };
    }),
  );
  const byKey = new Map<string, ReviewRow & { issueList: string[] }>();
  for (const row of issueRows) {
    const key = `${row.lang}\u0000${row.source}`;
    const existing = byKey.get(key);
    if (existing) existing.issueList.push(row.kind);
    else
      byKey.set(key, {
        id: row.id,
        lang: row.lang,
        turn: row.turn,
        segment: row.segment,
        issues: "",
        source: row.source,
        translation: row.translation,
        correction: correctedSources.get(key) ?? "",
        issueList: [row.kind],
      });
  }
  for (const [key, translation] of correctedSources) {
    if (byKey.has(key)) continue;
    const [lang, sourceText] = key.split("\u0000") as [string, string];
    if (!parsed.to.includes(lang)) continue;
    byKey.set(key, { id: "", lang, turn: 0, segment: 0, issues: "", source: sourceText, translation, correction: translation, issueList: [] });
  }
  for (const row of byKey.values()) {
    const { issueList, ...rest } = row;
    reviewRows.push({ ...rest, issues: [...new Set(issueList)].join(";") });
  }

  // The report and review are written last: their presence means the corpus files are complete.
  const reportPath = join(parsed.outDir, "translation-report.json");
  const reviewPath = join(parsed.outDir, "review.csv");
  await writeReviewCsv(reviewPath, reviewRows);
  await writeFileAtomic(
    reportPath,
    JSON.stringify(
      {
        input: parsed.inputName ?? parsed.input,
        from: parsed.from,
        to: parsed.to,
        records: records.length,
        languages: Object.fromEntries(
          reports.map((report) => [
            report.to,
            {
              ...languages[report.to],
              issues: report.issues.map((issue) => {
                const owner = owners[issue.document]!;
                return {
                  id: records[owner.record]!.id,
                  turn: owner.turn,
                  segment: issue.segment,
                  kind: issue.kind,
                  ...(issue.detail ? { detail: issue.detail } : {}),
                  source: issue.source,
                  translation: issue.translation,
                };
              }),
            },
          ]),
        ),
      },
      null,
      2,
    ) + "\n",
  );
  return { outDir: parsed.outDir, records: records.length, dryRun: false, files, languages };
  }
}
