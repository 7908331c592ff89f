import pLimit, { type LimitFunction } from "p-limit";
import { z } from "zod";
import { UsageError } from "../errors";
import { batchSegments } from "./batch-segments";
import { estimateCost, type CostEstimate } from "./estimate-cost";
import { checkTranslationQuality, loadLanguageDetector, type DetectLanguage, type QualityIssue, type QualityThresholds } from "./quality-check";
import { callWithRetry, nextTimeout, remoteCallPolicySchema, resolveMaxTimeout } from "../remote/call-with-retry";
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
 *
 * @example
 * const { translations, report } = await translateDocuments({ documents, from: "en", to: "de", provider, cache });
 */
export async function translateDocuments(options: TranslateDocumentsOptions): Promise<TranslateDocumentsResult> {
  const parsed = parseOptions(translateDocumentsOptionsSchema, options, "translateDocuments");
  const { from, to, provider, cache } = parsed;
  const dryRun = parsed.dryRun ?? false;
  const providerId = resolveProviderId(provider, cache, from, to, dryRun);

  const price = parsed.price ?? provider.price;
  const prepared =
    parsed.prepared && parsed.prepared.documents === options.documents
      ? parsed.prepared
      : prepareDocuments({
          documents: parsed.documents,
          from,
          ...(parsed.protectPatterns ? { protectPatterns: parsed.protectPatterns } : {}),
          ...(parsed.maxSegmentCharacters ? { maxSegmentCharacters: parsed.maxSegmentCharacters } : {}),
        });
  const sending = !dryRun && !provider.replays;

  // Quality checks run as answers arrive, overlapping the CPU work with the wait for the next answer.
  // Language identification is the costly one: it runs once per output document (below).
  const detectLanguage = dryRun ? undefined : await loadLanguageDetector();
  const qualityOf = new Map<string, { kind: QualityIssue["kind"]; detail?: string }[]>();
  const checkQuality = (source: string, translation: string): void => {
    qualityOf.set(
      source,
      checkTranslationQuality({
        sourceProse: proseOfNeutral(source),
        translationProse: proseOfNeutral(translation),
        from,
        to,
        ...(parsed.quality ? { thresholds: parsed.quality } : {}),
      }),
    );
  };

  const translated = new Map<string, string>();
  const strictKeys = new Set<string>();
  const needStrict: string[] = [];
  const stats = {
    requests: 0,
    retries: 0,
    possiblyBilledRequests: 0,
    possiblyBilledCharacters: 0,
    sentCharacters: 0,
    serviceBilled: null as number | null,
    done: 0,
    unique: 0,
    cached: 0,
    toSend: 0,
    segmented: false,
  };
  const emit = (): void => {
    // Totals are known once every document is segmented; progress before that would mislead.
    if (!stats.segmented) return;
    parsed.onProgress?.({
      from,
      to,
      totalSegments: stats.unique,
      doneSegments: stats.done,
      cachedSegments: stats.cached,
      totalCharacters: stats.toSend,
      sentCharacters: stats.sentCharacters,
      requests: stats.requests,
      retries: stats.retries,
    });
  };

  // Sending: one request per batch, at most `concurrency` in flight; each answer is cached at once.
  const limit = parsed.requestLimit ?? pLimit(parsed.concurrency ?? 4);
  let fatal: unknown;
  const policy = { timeoutMs: 120_000, ...(parsed.retry ?? {}) };
  const maxTimeoutMs = resolveMaxTimeout(policy)!;
  const describeDocument = parsed.describeDocument ?? ((index: number) => `document ${index}`);
  const sendBatch = async (
    batch: readonly string[],
    onAnswer: (source: string, translation: string) => TranslationCacheEntry | undefined,
    countsAsDone = true,
    timeoutMs: number = policy.timeoutMs,
  ): Promise<void> => {
    const outcome = await limit(async (): Promise<"split" | undefined> => {
      if (fatal !== undefined || parsed.signal?.aborted) return undefined;
      try {
        const response = await callWithRetry(
          (attempt) => provider.doTranslate({ texts: batch, from, to, signal: attempt.signal, ...(attempt.timeoutMs ? { timeoutMs: attempt.timeoutMs } : {}) }),
          {
            ...policy,
            timeoutMs,
            service: provider.name,
            // A batch that timed out is split instead (below): smaller requests answer sooner.
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
        await cache.put(entries);
        if (countsAsDone) stats.done += entries.length;
        emit();
      } catch (error) {
        if (error instanceof RemoteCallError && error.timedOut && batch.length > 1) return "split";
        fatal ??= error instanceof RemoteCallError && error.statusCode === 413 ? nameOversizedRecord(error, batch) : error;
      }
      return undefined;
    });
    if (outcome !== "split") return;
    const half = Math.ceil(batch.length / 2);
    const longer = nextTimeout(timeoutMs, maxTimeoutMs);
    await Promise.all([
      sendBatch(batch.slice(0, half), onAnswer, countsAsDone, longer),
      sendBatch(batch.slice(half), onAnswer, countsAsDone, longer),
    ]);
  };
  const nameOversizedRecord = (error: RemoteCallError, batch: readonly string[]): RemoteCallError => {
    const largest = [...batch].sort((a, b) => provider.measureText(b) - provider.measureText(a))[0]!;
    const where = firstOccurrence.get(largest);
    const place = where ? `${describeDocument(where.document)}, segment ${where.segment}` : "an unknown document";
    return new RemoteCallError(
      `${error.message}. The largest segment of that request (${countCodePoints(proseOfNeutral(largest))} characters) is in ${place}: ` +
        "shorten it, or lower maxSegmentCharacters so that long paragraphs are split",
      { service: error.service, statusCode: 413, isRetryable: false, cause: error },
    );
  };
  // Prose runs of placeholder repairs are not segments of the run: they never count as done.
  const sendAll = async (texts: readonly string[], onAnswer: (source: string, translation: string) => TranslationCacheEntry | undefined): Promise<void> => {
    await Promise.all(batchSegments(texts, provider.limits, (text) => provider.measureText(text)).map((batch) => sendBatch(batch, onAnswer, false)));
  };
  const onFirstAnswer = (source: string, translation: string): TranslationCacheEntry | undefined => {
    if (!placeholdersIntact(translation, countPlaceholdersOf(source))) {
      needStrict.push(source);
      return undefined;
    }
    translated.set(source, translation);
    checkQuality(source, translation);
    return { provider: providerId, from, to, source, translation };
  };

  // 1-3. Segment the documents chunk by chunk, look each distinct segment up in the cache, and send
  // full batches of what is missing while the next chunk is segmented (CPU work overlaps the network).
  const firstOccurrence = new Map<string, Occurrence>();
  const missing: string[] = [];
  const inFlight: Promise<void>[] = [];
  let pending: string[] = [];
  let pendingBytes = 0;
  const flushPending = (): void => {
    if (pending.length > 0) inFlight.push(sendBatch(pending, onFirstAnswer));
    pending = [];
    pendingBytes = 0;
  };
  let segmentCount = 0;
  for (let start = 0; start < parsed.documents.length; start += DOCUMENTS_PER_CHUNK) {
    const end = Math.min(parsed.documents.length, start + DOCUMENTS_PER_CHUNK);
    for (let documentIndex = start; documentIndex < end; documentIndex++) {
      let segmentIndex = 0;
      for (const piece of prepared.get(documentIndex).pieces) {
        if (typeof piece === "string") continue;
        segmentCount++;
        const key = neutralText(piece);
        const index = segmentIndex++;
        if (firstOccurrence.has(key)) continue;
        firstOccurrence.set(key, { document: documentIndex, segment: index });
        const entry = cache.get({ provider: providerId, from, to, source: key });
        if (entry) {
          translated.set(key, entry.translation);
          if (entry.mode === "strict") strictKeys.add(key);
          continue;
        }
        missing.push(key);
        if (!sending) continue;
        const size = provider.measureText(key);
        if (pending.length > 0 && (pending.length >= provider.limits.maxSegmentsPerRequest || pendingBytes + size > provider.limits.maxRequestBytes)) {
          flushPending();
        }
        pending.push(key);
        pendingBytes += size;
      }
    }
    // Let answers that arrived meanwhile be handled before the next chunk.
    if (sending && end < parsed.documents.length) await new Promise((resolve) => setImmediate(resolve));
  }
  if (sending) flushPending();
  const unique = [...firstOccurrence.keys()];
  const cachedSegments = unique.length - missing.length;
  const characters = sumProse(unique);
  const toSend = sumProse(missing);
  Object.assign(stats, { unique: unique.length, cached: cachedSegments, toSend, segmented: true });
  stats.done += cachedSegments;
  emit();

  const baseReport = {
    from,
    to,
    provider: providerId,
    dryRun,
    documents: parsed.documents.length,
    segments: segmentCount,
    uniqueSegments: unique.length,
    characters,
    cachedSegments,
    correctedSegments: 0,
  };

  if (dryRun) {
    return {
      translations: [...parsed.documents],
      report: {
        ...baseReport,
        billedCharacters: toSend,
        serviceBilledCharacters: null,
        sentSegments: 0,
        missingSegments: missing.length,
        requests: 0,
        retries: 0,
        possiblyBilledRequests: 0,
        possiblyBilledCharacters: 0,
        strictSegments: 0,
        estimatedCost: estimateCost(toSend, price),
        issues: [],
      },
    };
  }

  if (provider.replays && missing.length > 0) {
    throw new TranslationCacheMissError(
      `the translation cache ${cache.path} has no ${from}->${to} translation under provider identity "${providerId}" ` +
        `for ${missing.length} of ${unique.length} segment(s); translate them with a real provider first (e.g. --provider deepl ` +
        `--cache ${cache.path}). First missing: ${missing
          .slice(0, 5)
          .map((text) => JSON.stringify(proseOfNeutral(text).slice(0, 80)))
          .join(", ")}`,
      { missing: missing.slice(0, 20), missingCount: missing.length },
    );
  }
  await Promise.all(inFlight);

  // 4. Strict mode: translate each prose run between placeholders on its own, then reassemble.
  if (fatal === undefined && needStrict.length > 0) {
    const pieces = new Set<string>();
    for (const source of needStrict) for (const run of proseRuns(source)) pieces.add(run);
    const runTranslations = new Map<string, string>();
    const pending: string[] = [];
    for (const run of pieces) {
      const entry = cache.get({ provider: providerId, from, to, source: run });
      if (entry) runTranslations.set(run, proseOfNeutral(entry.translation));
      else pending.push(run);
    }
    await sendAll(pending, (source, translation) => {
      const clean = proseOfNeutral(translation);
      runTranslations.set(source, clean);
      return { provider: providerId, from, to, source, translation: clean };
    });
    if (fatal === undefined) {
      const entries: TranslationCacheEntry[] = [];
      for (const source of needStrict) {
        const translation = assembleStrict(source, runTranslations);
        translated.set(source, translation);
        strictKeys.add(source);
        checkQuality(source, translation);
        entries.push({ provider: providerId, from, to, source, translation, mode: "strict" });
      }
      await cache.put(entries);
      stats.done += entries.length;
      emit();
    }
  }

  // An abort stops scheduling without an error of its own: never reassemble a half-translated run.
  if (fatal === undefined && parsed.signal?.aborted) fatal = parsed.signal.reason ?? new Error("translation aborted");
  if (fatal !== undefined) {
    if (fatal instanceof RemoteQuotaError) {
      const remaining = unique.length - translated.size;
      const error = new TranslationQuotaError(
        `${fatal.message}. Stopped cleanly: ${translated.size - cachedSegments} new segment(s) were translated and saved in the ` +
          `cache ${cache.path}; ${remaining} of ${unique.length} ${from}->${to} segment(s) remain. Run the same command again ` +
          `(with the same --cache) once the quota allows: nothing already translated is sent again.`,
        { service: fatal.service, statusCode: fatal.statusCode ?? 456, isRetryable: false, cause: fatal },
      );
      error.translatedSegments = translated.size;
      error.remainingSegments = remaining;
      throw error;
    }
    throw fatal;
  }

  // 5. Reassemble, apply corrections, check quality.
  const corrections = new Map<string, string>();
  for (const correction of parsed.corrections ?? []) {
    if (correction.to === to) corrections.set(correction.source, correction.translation);
  }
  const issues: QualityIssue[] = [];
  const checked = new Set<string>();
  let correctedSegments = 0;
  const languageChecked = new Set<string>();
  const translations = parsed.documents.map((_text, documentIndex) => {
    const document = prepared.get(documentIndex);
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
          if (!qualityOf.has(key)) checkQuality(key, neutral);
          for (const found of qualityOf.get(key) ?? []) issues.push({ ...where, ...found });
        }
        return output;
      })
      .join("");
    issues.push(...checkDocumentLanguage(documentIndex, documentProse, to, detectLanguage!, languageChecked, parsed.quality, provider.answersInTargetLanguage === true));
    return text;
  });

  return {
    translations,
    report: {
      ...baseReport,
      correctedSegments,
      billedCharacters: stats.sentCharacters,
      serviceBilledCharacters: stats.serviceBilled,
      sentSegments: missing.length,
      missingSegments: 0,
      requests: stats.requests,
      retries: stats.retries,
      possiblyBilledRequests: stats.possiblyBilledRequests,
      possiblyBilledCharacters: stats.possiblyBilledCharacters,
      strictSegments: needStrict.length,
      estimatedCost: estimateCost(stats.sentCharacters, price),
      issues,
    },
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
