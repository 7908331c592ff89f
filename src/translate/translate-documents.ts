import pLimit, { type LimitFunction } from "p-limit";
import { z } from "zod";
import { UsageError } from "../errors";
import { batchSegments } from "./batch-segments";
import { estimateCost, type CostEstimate } from "./estimate-cost";
import { checkTranslationQuality, loadLanguageDetector, type DetectLanguage, type QualityIssue, type QualityThresholds } from "./quality-check";
import { callWithRetry, nextTimeout, remoteCallPolicySchema, resolveMaxTimeout, type RemoteCallPolicy } from "../remote/call-with-retry";
import { RemoteCallError, RemoteQuotaError } from "../remote/remote-call-error";
import { countCodePoints } from "../text/count-code-points";
import {
  countPlaceholders,
  neutralText,
  proseText,
  parseNeutralText,
  placeholderToken,
  placeholdersIntact,
  proseOfNeutral,
  restoreProtected,
  type Segment,
} from "./segment";
import { segmentMarkdown, type SegmentedDocument } from "./segment-markdown";
import type { TranslationCache, TranslationCacheEntry } from "./translation-cache";
import { TranslationCacheMissError, TranslationQuotaError } from "./translation-errors";
import type { TranslationProvider } from "./translation-provider";
import { parseOptions } from "../parse-options";

/** A human correction: the whole translated text of one source segment in one language. */
export interface TranslationCorrection {
  readonly to: string;
  /** The source segment exactly as in the document (the `source` column of review.csv). */
  readonly source: string;
  readonly translation: string;
}

/** Progress of a translation run, sent after the cache lookup and after every request. */
export interface TranslationProgress {
  readonly from: string;
  readonly to: string;
  /** Distinct segments in this run. */
  readonly totalSegments: number;
  /** Distinct segments done (from the cache or translated). */
  readonly doneSegments: number;
  readonly cachedSegments: number;
  /** Characters to send in this run, and already sent. */
  readonly totalCharacters: number;
  readonly sentCharacters: number;
  readonly requests: number;
  readonly retries: number;
}

export const translateDocumentsOptionsSchema = z.strictObject({
  /** Markdown documents; translations come back in the same order. */
  documents: z.array(z.string()),
  /** ISO 639-1 source language. */
  from: z.string().min(2),
  /** ISO 639-1 target language. */
  to: z.string().min(2),
  /** The provider (see `createTranslationProvider`). */
  provider: z.custom<TranslationProvider>((value) => typeof value === "object" && value !== null && "doTranslate" in value, {
    message: "expected a TranslationProvider",
  }),
  /** The persistent cache (see `openTranslationCache`). */
  cache: z.custom<TranslationCache>((value) => typeof value === "object" && value !== null && "get" in value && "put" in value, {
    message: "expected a TranslationCache",
  }),
  /** Requests in flight at once (default 4). */
  concurrency: z.number().int().min(1).max(64).optional(),
  /**
   * A p-limit limiter shared by several concurrent calls (e.g. one per target language), so that
   * together they keep at most that many requests in flight. Overrides `concurrency`.
   */
  requestLimit: z.custom<LimitFunction>((value) => typeof value === "function").optional(),
  /** Send nothing; report what would be billed. Translations are the source texts. */
  dryRun: z.boolean().optional(),
  /** Called with progress after the cache lookup and after each request. */
  onProgress: z.custom<(progress: TranslationProgress) => void>((value) => typeof value === "function").optional(),
  /** Stops the run: no new requests; requests in flight are abandoned. */
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal).optional(),
  /** Extra spans inside prose to protect, e.g. `/\{[a-z_]+\}/g` for template fields. */
  protectPatterns: z.array(z.instanceof(RegExp)).optional(),
  /** Human corrections that override the translation of a source segment. */
  corrections: z
    .array(z.strictObject({ to: z.string(), source: z.string(), translation: z.string() }))
    .optional(),
  /** Paragraphs with more prose than this (code points) are split at sentence boundaries (default 3000). */
  maxSegmentCharacters: z.number().int().min(50).optional(),
  /** Price override for the estimate. */
  price: z.strictObject({ perMillionCharacters: z.number().nonnegative(), currency: z.string() }).optional(),
  /** A segmentation from {@link prepareDocuments} of these same documents, to reuse across languages. */
  prepared: z.custom<PreparedDocuments>((value) => typeof value === "object" && value !== null && "get" in value).optional(),
  /**
   * Retry and timeout policy (first attempt 120 s by default). A batch that times out is split in
   * two, each half sent with twice the time; a single segment is retried with twice the time.
   */
  retry: remoteCallPolicySchema.optional(),
  /** Waits between retries (injected by tests so they never wait on wall time). */
  sleep: z.custom<(ms: number, signal?: AbortSignal) => Promise<void>>((value) => typeof value === "function").optional(),
  /** Names a document in errors (e.g. `record lima-12 turn 1`); default `document <index>`. */
  describeDocument: z.custom<(index: number) => string>((value) => typeof value === "function").optional(),
  /** Quality check thresholds. */
  quality: z.custom<QualityThresholds>((value) => typeof value === "object" && value !== null).optional(),
});
export type TranslateDocumentsOptions = z.input<typeof translateDocumentsOptionsSchema>;

/** Documents segmented once (lazily, on first use), so several target languages do not parse them again. */
export interface PreparedDocuments {
  readonly documents: readonly string[];
  /** The segmentation of document `index`, computed on first request. */
  get(index: number): SegmentedDocument;
}

/**
 * Segments documents once for several {@link translateDocuments} calls (one per target language,
 * possibly running at the same time). Pass the same `documents` array and the result as `prepared`.
 */
export function prepareDocuments(options: {
  documents: readonly string[];
  from: string;
  protectPatterns?: readonly RegExp[];
  maxSegmentCharacters?: number;
}): PreparedDocuments {
  const segmented: (SegmentedDocument | undefined)[] = new Array(options.documents.length);
  return {
    documents: options.documents,
    get(index) {
      segmented[index] ??= segmentMarkdown({
        text: options.documents[index] ?? "",
        ...(options.protectPatterns ? { protectPatterns: options.protectPatterns } : {}),
        ...(options.maxSegmentCharacters ? { maxSegmentCharacters: options.maxSegmentCharacters } : {}),
        language: options.from,
      });
      return segmented[index];
    },
  };
}

/** Documents segmented per chunk before the engine yields to handle answers that arrived. */
const DOCUMENTS_PER_CHUNK = 16;

/** What a translation run did and found. */
export interface TranslationReport {
  readonly from: string;
  readonly to: string;
  /** Provider identity used for the cache. */
  readonly provider: string;
  readonly dryRun: boolean;
  readonly documents: number;
  /** Segment occurrences in all documents. */
  readonly segments: number;
  /** Distinct segments (each is translated once per language). */
  readonly uniqueSegments: number;
  /** Prose code points of the distinct segments (what a run without cache would bill). */
  readonly characters: number;
  /** Prose code points sent (or, on a dry run, that would be sent): cached and protected text excluded. */
  readonly billedCharacters: number;
  /** Characters the service reported as billed (DeepL), or null where it does not report them. */
  readonly serviceBilledCharacters: number | null;
  /** Distinct segments served from the cache. */
  readonly cachedSegments: number;
  /** Distinct segments sent to the service. */
  readonly sentSegments: number;
  /** Distinct segments the cache lacks (dry run; with the cache provider, what is missing). */
  readonly missingSegments: number;
  readonly requests: number;
  readonly retries: number;
  /**
   * Attempts that timed out: the service may have done and billed them although no answer came.
   * Their characters are counted in `possiblyBilledCharacters`, not in `billedCharacters`.
   */
  readonly possiblyBilledRequests: number;
  readonly possiblyBilledCharacters: number;
  /** Segments translated again prose run by prose run because placeholders did not survive. */
  readonly strictSegments: number;
  /** Segment occurrences replaced by human corrections. */
  readonly correctedSegments: number;
  /** Estimate for `billedCharacters`. */
  readonly estimatedCost: CostEstimate | null;
  readonly issues: QualityIssue[];
}

/** The result of {@link translateDocuments}. */
export interface TranslateDocumentsResult {
  readonly translations: string[];
  readonly report: TranslationReport;
}

interface Occurrence {
  readonly document: number;
  readonly segment: number;
}

/**
 * Translates markdown documents: segments them (code never sent, inline code, URLs, LaTeX and HTML
 * protected), looks every distinct segment up in the cache, sends only what is missing in batches
 * within the provider's limits, caches every answer as it arrives, repairs segments whose
 * placeholders did not survive, and reassembles byte-exact around the translated prose.
 * The phases below read in that order: segment and look up (sending as batches fill), send, repair,
 * reassemble and check.
 *
 * @example
 * const { translations, report } = await translateDocuments({ documents, from: "en", to: "de", provider, cache });
 */
export async function translateDocuments(options: TranslateDocumentsOptions): Promise<TranslateDocumentsResult> {
  const run = await startTranslationRun(options);
  const lookup = await segmentAndLookUp(run);
  if (run.dryRun) return { translations: [...run.parsed.documents], report: dryRunReport(run, lookup) };
  if (run.provider.replays && lookup.missing.length > 0) throw cacheMissError(run, lookup);
  await Promise.all(lookup.inFlight);
  await repairLostPlaceholders(run);
  throwIfStopped(run, lookup);
  const { translations, issues, correctedSegments } = reassembleAndCheck(run);
  return { translations, report: finalReport(run, lookup, { issues, correctedSegments }) };
}

type ParsedTranslateDocumentsOptions = z.output<typeof translateDocumentsOptionsSchema>;

/** Adds an answer to the run (or sets it aside) and returns the cache entry to write, if any. */
type OnAnswer = (source: string, translation: string) => TranslationCacheEntry | undefined;

/** The state one `translateDocuments` call shares between its phases. */
interface TranslationRun {
  readonly parsed: ParsedTranslateDocumentsOptions;
  readonly from: string;
  readonly to: string;
  readonly provider: TranslationProvider;
  readonly cache: TranslationCache;
  readonly providerId: string;
  readonly dryRun: boolean;
  /** Whether missing segments go to the service (not on a dry run, not for a replaying provider). */
  readonly sending: boolean;
  readonly price: Parameters<typeof estimateCost>[1];
  readonly prepared: PreparedDocuments;
  readonly detectLanguage: DetectLanguage | undefined;
  /** Quality issues of each translated segment (neutral source text), checked as answers arrive. */
  readonly qualityOf: Map<string, { kind: QualityIssue["kind"]; detail?: string }[]>;
  /** Translation of each distinct segment (neutral text). */
  readonly translated: Map<string, string>;
  /** Segments translated prose run by prose run because their placeholders did not survive. */
  readonly strictKeys: Set<string>;
  /** Segments whose answer lost placeholders: repaired in strict mode. */
  readonly needStrict: string[];
  readonly firstOccurrence: Map<string, Occurrence>;
  readonly stats: RunStats;
  readonly limit: LimitFunction;
  readonly policy: RemoteCallPolicy & { timeoutMs: number };
  readonly maxTimeoutMs: number;
  readonly describeDocument: (index: number) => string;
  /** The first error that stops the run; requests not yet started are then skipped. */
  fatal: unknown;
}

interface RunStats {
  requests: number;
  retries: number;
  possiblyBilledRequests: number;
  possiblyBilledCharacters: number;
  sentCharacters: number;
  serviceBilled: number | null;
  done: number;
  unique: number;
  cached: number;
  toSend: number;
  /** Totals are known once every document is segmented; progress before that would mislead. */
  segmented: boolean;
}

/** What segmenting and looking up found. */
interface Lookup {
  readonly segmentCount: number;
  /** Distinct segments (neutral text), in order of first occurrence. */
  readonly unique: readonly string[];
  /** Distinct segments the cache lacked. */
  readonly missing: readonly string[];
  readonly cachedSegments: number;
  readonly characters: number;
  readonly toSend: number;
  /** Requests already sent while segmenting. */
  readonly inFlight: readonly Promise<void>[];
}

/** Validates the options and sets up the run: provider identity, segmentation, language detector. */
async function startTranslationRun(options: TranslateDocumentsOptions): Promise<TranslationRun> {
  const parsed = parseOptions(translateDocumentsOptionsSchema, options, "translateDocuments");
  const { from, to, provider, cache } = parsed;
  const dryRun = parsed.dryRun ?? false;
  const providerId = resolveProviderId(provider, cache, from, to, dryRun);
  const prepared =
    parsed.prepared && parsed.prepared.documents === options.documents
      ? parsed.prepared
      : prepareDocuments({
          documents: parsed.documents,
          from,
          ...(parsed.protectPatterns ? { protectPatterns: parsed.protectPatterns } : {}),
          ...(parsed.maxSegmentCharacters ? { maxSegmentCharacters: parsed.maxSegmentCharacters } : {}),
        });
  // Language identification is the costly check: it runs once per output document (reassembleAndCheck).
  const detectLanguage = dryRun ? undefined : await loadLanguageDetector();
  const policy = { timeoutMs: 120_000, ...(parsed.retry ?? {}) };
  return {
    parsed,
    from,
    to,
    provider,
    cache,
    providerId,
    dryRun,
    sending: !dryRun && !provider.replays,
    price: parsed.price ?? provider.price,
    prepared,
    detectLanguage,
    qualityOf: new Map(),
    translated: new Map(),
    strictKeys: new Set(),
    needStrict: [],
    firstOccurrence: new Map(),
    stats: {
      requests: 0,
      retries: 0,
      possiblyBilledRequests: 0,
      possiblyBilledCharacters: 0,
      sentCharacters: 0,
      serviceBilled: null,
      done: 0,
      unique: 0,
      cached: 0,
      toSend: 0,
      segmented: false,
    },
    // Sending: one request per batch, at most `concurrency` in flight; each answer is cached at once.
    limit: parsed.requestLimit ?? pLimit(parsed.concurrency ?? 4),
    policy,
    maxTimeoutMs: resolveMaxTimeout(policy)!,
    describeDocument: parsed.describeDocument ?? ((index: number) => `document ${index}`),
    fatal: undefined,
  };
}

function emitProgress(run: TranslationRun): void {
  const { stats } = run;
  if (!stats.segmented) return;
  run.parsed.onProgress?.({
    from: run.from,
    to: run.to,
    totalSegments: stats.unique,
    doneSegments: stats.done,
    cachedSegments: stats.cached,
    totalCharacters: stats.toSend,
    sentCharacters: stats.sentCharacters,
    requests: stats.requests,
    retries: stats.retries,
  });
}

/** Quality checks run as answers arrive, overlapping the CPU work with the wait for the next answer. */
function checkQuality(run: TranslationRun, source: string, translation: string): void {
  run.qualityOf.set(
    source,
    checkTranslationQuality({
      sourceProse: proseOfNeutral(source),
      translationProse: proseOfNeutral(translation),
      from: run.from,
      to: run.to,
      ...(run.parsed.quality ? { thresholds: run.parsed.quality } : {}),
    }),
  );
}

/** The first answer for a segment: kept when its placeholders survived, else set aside for strict mode. */
function onFirstAnswer(run: TranslationRun): OnAnswer {
  return (source, translation) => {
    if (!placeholdersIntact(translation, countPlaceholdersOf(source))) {
      run.needStrict.push(source);
      return undefined;
    }
    run.translated.set(source, translation);
    checkQuality(run, source, translation);
    return { provider: run.providerId, from: run.from, to: run.to, source, translation };
  };
}

/**
 * 1-3. Segment and look up: segments the documents chunk by chunk, looks each distinct segment up in
 * the cache, and sends full batches of what is missing while the next chunk is segmented (CPU work
 * overlaps the network).
 */
async function segmentAndLookUp(run: TranslationRun): Promise<Lookup> {
  const { parsed, provider, cache, firstOccurrence } = run;
  const missing: string[] = [];
  const inFlight: Promise<void>[] = [];
  const onAnswer = onFirstAnswer(run);
  let pending: string[] = [];
  let pendingBytes = 0;
  const flushPending = (): void => {
    if (pending.length > 0) inFlight.push(sendBatch(run, pending, onAnswer));
    pending = [];
    pendingBytes = 0;
  };
  let segmentCount = 0;
  for (let start = 0; start < parsed.documents.length; start += DOCUMENTS_PER_CHUNK) {
    const end = Math.min(parsed.documents.length, start + DOCUMENTS_PER_CHUNK);
    for (let documentIndex = start; documentIndex < end; documentIndex++) {
      let segmentIndex = 0;
      for (const piece of run.prepared.get(documentIndex).pieces) {
        if (typeof piece === "string") continue;
        segmentCount++;
        const key = neutralText(piece);
        const index = segmentIndex++;
        if (firstOccurrence.has(key)) continue;
        firstOccurrence.set(key, { document: documentIndex, segment: index });
        const entry = cache.get({ provider: run.providerId, from: run.from, to: run.to, source: key });
        if (entry) {
          run.translated.set(key, entry.translation);
          if (entry.mode === "strict") run.strictKeys.add(key);
          continue;
        }
        missing.push(key);
        if (!run.sending) continue;
        const size = provider.measureText(key);
        if (pending.length > 0 && (pending.length >= provider.limits.maxSegmentsPerRequest || pendingBytes + size > provider.limits.maxRequestBytes)) {
          flushPending();
        }
        pending.push(key);
        pendingBytes += size;
      }
    }
    // Let answers that arrived meanwhile be handled before the next chunk.
    if (run.sending && end < parsed.documents.length) await new Promise((resolve) => setImmediate(resolve));
  }
  if (run.sending) flushPending();
  const unique = [...firstOccurrence.keys()];
  const cachedSegments = unique.length - missing.length;
  const toSend = sumProse(missing);
  Object.assign(run.stats, { unique: unique.length, cached: cachedSegments, toSend, segmented: true });
  run.stats.done += cachedSegments;
  emitProgress(run);
  return { segmentCount, unique, missing, cachedSegments, characters: sumProse(unique), toSend, inFlight };
}

/**
 * Send: one request for one batch, through the remote layer's retries. An answer is cached at once.
 * A batch that timed out is split in two, each half with a longer time limit (smaller requests
 * answer sooner); any other failure stops the run.
 */
async function sendBatch(run: TranslationRun, batch: readonly string[], onAnswer: OnAnswer, countsAsDone = true, timeoutMs: number = run.policy.timeoutMs): Promise<void> {
  const { parsed, provider, stats } = run;
  const outcome = await run.limit(async (): Promise<"split" | undefined> => {
    if (run.fatal !== undefined || parsed.signal?.aborted) return undefined;
    try {
      const response = await callWithRetry(
        (attempt) => provider.doTranslate({ texts: batch, from: run.from, to: run.to, signal: attempt.signal, ...(attempt.timeoutMs ? { timeoutMs: attempt.timeoutMs } : {}) }),
        {
          ...run.policy,
          timeoutMs,
          service: provider.name,
          retryTimeouts: batch.length === 1,
          ...(parsed.signal ? { signal: parsed.signal } : {}),
          ...(parsed.sleep ? { sleep: parsed.sleep } : {}),
          onRetry: () => {
            stats.retries++;
          },
          onPossiblyBilled: () => {
            stats.possiblyBilledRequests++;
            stats.possiblyBilledCharacters += sumProse(batch);
          },
        },
      );
      stats.requests++;
      stats.sentCharacters += sumProse(batch);
      if (response.billedCharacters !== undefined) stats.serviceBilled = (stats.serviceBilled ?? 0) + response.billedCharacters;
      const entries: TranslationCacheEntry[] = [];
      batch.forEach((source, index) => {
        const entry = onAnswer(source, response.translations[index] ?? "");
        if (entry) entries.push(entry);
      });
      await run.cache.put(entries);
      if (countsAsDone) stats.done += entries.length;
      emitProgress(run);
    } catch (error) {
      if (error instanceof RemoteCallError && error.timedOut && batch.length > 1) return "split";
      run.fatal ??= error instanceof RemoteCallError && error.statusCode === 413 ? nameOversizedRecord(run, error, batch) : error;
    }
    return undefined;
  });
  if (outcome !== "split") return;
  const half = Math.ceil(batch.length / 2);
  const longer = nextTimeout(timeoutMs, run.maxTimeoutMs);
  await Promise.all([sendBatch(run, batch.slice(0, half), onAnswer, countsAsDone, longer), sendBatch(run, batch.slice(half), onAnswer, countsAsDone, longer)]);
}

/** A 413 names the document and segment of the request's largest segment, so the user can shorten it. */
function nameOversizedRecord(run: TranslationRun, error: RemoteCallError, batch: readonly string[]): RemoteCallError {
  const largest = [...batch].sort((a, b) => run.provider.measureText(b) - run.provider.measureText(a))[0]!;
  const where = run.firstOccurrence.get(largest);
  const place = where ? `${run.describeDocument(where.document)}, segment ${where.segment}` : "an unknown document";
  return new RemoteCallError(
    `${error.message}. The largest segment of that request (${countCodePoints(proseOfNeutral(largest))} characters) is in ${place}: ` +
      "shorten it, or lower maxSegmentCharacters so that long paragraphs are split",
    { service: error.service, statusCode: 413, isRetryable: false, cause: error },
  );
}

/** What a dry run reports: what would be sent and billed. */
function dryRunReport(run: TranslationRun, lookup: Lookup): TranslationReport {
  return {
    ...baseReport(run, lookup),
    billedCharacters: lookup.toSend,
    serviceBilledCharacters: null,
    sentSegments: 0,
    missingSegments: lookup.missing.length,
    requests: 0,
    retries: 0,
    possiblyBilledRequests: 0,
    possiblyBilledCharacters: 0,
    strictSegments: 0,
    estimatedCost: estimateCost(lookup.toSend, run.price),
    issues: [],
  };
}

function baseReport(run: TranslationRun, lookup: Lookup) {
  return {
    from: run.from,
    to: run.to,
    provider: run.providerId,
    dryRun: run.dryRun,
    documents: run.parsed.documents.length,
    segments: lookup.segmentCount,
    uniqueSegments: lookup.unique.length,
    characters: lookup.characters,
    cachedSegments: lookup.cachedSegments,
    correctedSegments: 0,
  };
}

/** A replaying provider found segments the cache lacks: the error lists the first of them. */
function cacheMissError(run: TranslationRun, lookup: Lookup): TranslationCacheMissError {
  const { cache, from, to, providerId, missing, unique } = { ...run, ...lookup };
  return new TranslationCacheMissError(
    `the translation cache ${cache.path} has no ${from}->${to} translation under provider identity "${providerId}" ` +
      `for ${missing.length} of ${unique.length} segment(s); translate them with a real provider first (e.g. --provider deepl ` +
      `--cache ${cache.path}). First missing: ${missing
        .slice(0, 5)
        .map((text) => JSON.stringify(proseOfNeutral(text).slice(0, 80)))
        .join(", ")}`,
    { missing: missing.slice(0, 20), missingCount: missing.length },
  );
}

/** 4. Repair: translate each prose run between placeholders on its own, then reassemble the segment. */
async function repairLostPlaceholders(run: TranslationRun): Promise<void> {
  if (run.fatal !== undefined || run.needStrict.length === 0) return;
  const { cache, providerId, from, to } = run;
  const pieces = new Set<string>();
  for (const source of run.needStrict) for (const prose of proseRuns(source)) pieces.add(prose);
  const runTranslations = new Map<string, string>();
  const pending: string[] = [];
  for (const piece of pieces) {
    const entry = cache.get({ provider: providerId, from, to, source: piece });
    if (entry) runTranslations.set(piece, proseOfNeutral(entry.translation));
    else pending.push(piece);
  }
  // Prose runs of placeholder repairs are not segments of the run: they never count as done.
  const batches = batchSegments(pending, run.provider.limits, (text) => run.provider.measureText(text));
  await Promise.all(
    batches.map((batch) =>
      sendBatch(
        run,
        batch,
        (source, translation) => {
          const clean = proseOfNeutral(translation);
          runTranslations.set(source, clean);
          return { provider: providerId, from, to, source, translation: clean };
        },
        false,
      ),
    ),
  );
  if (run.fatal !== undefined) return;
  const entries: TranslationCacheEntry[] = [];
  for (const source of run.needStrict) {
    const translation = assembleStrict(source, runTranslations);
    run.translated.set(source, translation);
    run.strictKeys.add(source);
    checkQuality(run, source, translation);
    entries.push({ provider: providerId, from, to, source, translation, mode: "strict" });
  }
  await cache.put(entries);
  run.stats.done += entries.length;
  emitProgress(run);
}

/** Throws what stopped the run; a quota error says how much is saved and how to resume. */
function throwIfStopped(run: TranslationRun, lookup: Lookup): void {
  // An abort stops scheduling without an error of its own: never reassemble a half-translated run.
  if (run.fatal === undefined && run.parsed.signal?.aborted) run.fatal = run.parsed.signal.reason ?? new Error("translation aborted");
  const fatal = run.fatal;
  if (fatal === undefined) return;
  if (fatal instanceof RemoteQuotaError) {
    const { translated, cache, from, to } = run;
    const unique = lookup.unique.length;
    const remaining = unique - translated.size;
    const error = new TranslationQuotaError(
      `${fatal.message}. Stopped cleanly: ${translated.size - lookup.cachedSegments} new segment(s) were translated and saved in the ` +
        `cache ${cache.path}; ${remaining} of ${unique} ${from}->${to} segment(s) remain. Run the same command again ` +
        `(with the same --cache) once the quota allows: nothing already translated is sent again.`,
      { service: fatal.service, statusCode: fatal.statusCode ?? 456, isRetryable: false, cause: fatal },
    );
    error.translatedSegments = translated.size;
    error.remainingSegments = remaining;
    throw error;
  }
  throw fatal;
}

/** 5. Reassemble and check: put translations back around the protected spans, apply corrections, check quality. */
function reassembleAndCheck(run: TranslationRun): { translations: string[]; issues: QualityIssue[]; correctedSegments: number } {
  const { parsed, to, translated, strictKeys, qualityOf } = run;
  const corrections = new Map<string, string>();
  for (const correction of parsed.corrections ?? []) {
    if (correction.to === to) corrections.set(correction.source, correction.translation);
  }
  const issues: QualityIssue[] = [];
  const checked = new Set<string>();
  let correctedSegments = 0;
  const languageChecked = new Set<string>();
  const translations = parsed.documents.map((_text, documentIndex) => {
    const document = run.prepared.get(documentIndex);
    let segmentIndex = 0;
    const documentProse: { index: number; piece: Segment; prose: string; output: string }[] = [];
    const text = document.pieces
      .map((piece) => {
        if (typeof piece === "string") return piece;
        const index = segmentIndex++;
        const corrected = corrections.get(piece.source);
        if (corrected !== undefined) {
          correctedSegments++;
          return corrected;
        }
        const key = neutralText(piece);
        const neutral = translated.get(key) ?? key;
        const output = restoreProtected(neutral, piece);
        documentProse.push({ index, piece, prose: proseOfNeutral(neutral), output });
        if (!checked.has(key)) {
          checked.add(key);
          const where = { document: documentIndex, segment: index, source: piece.source, translation: output };
          if (strictKeys.has(key)) {
            issues.push({ ...where, kind: "placeholders-repaired", detail: "placeholders did not survive; translated prose run by prose run" });
          } else if (!placeholdersIntact(neutral, countPlaceholders(piece))) {
            issues.push({ ...where, kind: "placeholders-lost" });
          }
          if (!qualityOf.has(key)) checkQuality(run, key, neutral);
          for (const found of qualityOf.get(key) ?? []) issues.push({ ...where, ...found });
        }
        return output;
      })
      .join("");
    issues.push(...checkDocumentLanguage(documentIndex, documentProse, to, run.detectLanguage!, languageChecked, parsed.quality, run.provider.answersInTargetLanguage === true));
    return text;
  });
  return { translations, issues, correctedSegments };
}

/** The report of a completed run. */
function finalReport(run: TranslationRun, lookup: Lookup, reassembled: { issues: QualityIssue[]; correctedSegments: number }): TranslationReport {
  const { stats } = run;
  return {
    ...baseReport(run, lookup),
    correctedSegments: reassembled.correctedSegments,
    billedCharacters: stats.sentCharacters,
    serviceBilledCharacters: stats.serviceBilled,
    sentSegments: lookup.missing.length,
    missingSegments: 0,
    requests: stats.requests,
    retries: stats.retries,
    possiblyBilledRequests: stats.possiblyBilledRequests,
    possiblyBilledCharacters: stats.possiblyBilledCharacters,
    strictSegments: run.needStrict.length,
    estimatedCost: estimateCost(stats.sentCharacters, run.price),
    issues: reassembled.issues,
  };
}

/**
 * Language identification per output document: one call on a sample of its translated prose; only
 * when that disagrees with the target are the document's longer segments identified one by one.
 */
function checkDocumentLanguage(
  document: number,
  segments: readonly { index: number; piece: Segment; prose: string; output: string }[],
  to: string,
  detectLanguage: DetectLanguage,
  alreadyChecked: Set<string>,
  thresholds: QualityThresholds | undefined,
  screen: boolean,
): QualityIssue[] {
  const minimum = thresholds?.minCharactersForLanguage ?? 60;
  const long = segments.filter((segment) => countCodePoints(segment.prose) >= minimum && !alreadyChecked.has(segment.prose));
  if (long.length === 0) return [];
  if (screen && !mostlySourceWords(long)) return [];
  // About 120 characters identify a language well; identification costs per call, so one call per message.
  const sample = long.map((segment) => segment.prose).join(" ").slice(0, 120);
  const detected = detectLanguage(sample);
  if (detected === "" || detected === to) return [];
  const issues: QualityIssue[] = [];
  for (const segment of long) {
    alreadyChecked.add(segment.prose);
    const language = detectLanguage(segment.prose.slice(0, 200));
    if (language !== "" && language !== to) {
      issues.push({
        kind: "wrong-language",
        document,
        segment: segment.index,
        source: segment.piece.source,
        translation: segment.output,
        detail: `detected ${language}`,
      });
    }
  }
  return issues;
}

/**
 * The screen used for services that answer in the requested language or not at all (DeepL, Google):
 * their real failure is text left in the source language, which shows as translated words that
 * mostly also occur in the source segment. Only then is the (costly) identifier consulted.
 */
function mostlySourceWords(segments: readonly { piece: Segment; prose: string }[]): boolean {
  let words = 0;
  let shared = 0;
  for (const segment of segments) {
    const sourceWords = new Set((proseText(segment.piece).toLowerCase().match(/\p{L}{3,}/gu) ?? []));
    for (const word of segment.prose.toLowerCase().match(/\p{L}{3,}/gu) ?? []) {
      words++;
      if (sourceWords.has(word)) shared++;
    }
  }
  return words > 0 && shared / words >= 0.5;
}

function sumProse(texts: Iterable<string>): number {
  let total = 0;
  for (const text of texts) total += countCodePoints(proseOfNeutral(text));
  return total;
}

function countPlaceholdersOf(neutral: string): number {
  return parseNeutralText(neutral).filter((piece) => typeof piece !== "string").length;
}

/** The prose runs between placeholders that contain letters, trimmed. */
function proseRuns(neutral: string): string[] {
  return parseNeutralText(neutral)
    .filter((piece): piece is string => typeof piece === "string")
    .map((piece) => piece.trim())
    .filter((piece) => /\p{L}/u.test(piece));
}

function assembleStrict(neutral: string, runTranslations: ReadonlyMap<string, string>): string {
  return parseNeutralText(neutral)
    .map((piece) => {
      if (typeof piece !== "string") return placeholderToken(piece.placeholder);
      const trimmed = piece.trim();
      if (!/\p{L}/u.test(trimmed)) return piece;
      const leading = piece.slice(0, piece.length - piece.trimStart().length);
      const trailing = piece.slice(piece.trimEnd().length);
      return leading + (runTranslations.get(trimmed) ?? trimmed) + trailing;
    })
    .join("");
}

function resolveProviderId(provider: TranslationProvider, cache: TranslationCache, from: string, to: string, dryRun: boolean): string {
  if (!provider.replays || provider.id) return provider.id;
  const ids = cache.providerIds({ from, to });
  if (ids.length === 1) return ids[0]!;
  // A dry run with nothing to replay reports every segment as missing instead of failing.
  if (ids.length === 0 && dryRun) return "cache";
  throw new UsageError(
    ids.length === 0
      ? `the translation cache ${cache.path} holds no ${from}->${to} translations to replay`
      : `the translation cache ${cache.path} holds ${from}->${to} translations from several providers (${ids.join(", ")}); ` +
          `choose one with the cache provider's providerId option (--replay-provider)`,
  );
}
