import { PolyglotError } from "../errors";

/** A call to a translation service failed. Never carries the API key in its message. */
export class TranslationServiceError extends PolyglotError {
  /** HTTP status code when the service answered, undefined for connection problems. */
  readonly statusCode: number | undefined;
  /** Whether trying again later may succeed (429, 5xx, timeouts, dropped connections). */
  readonly isRetryable: boolean;
  /** Milliseconds the service asked us to wait (`Retry-After`), when it said so. */
  readonly retryAfterMs: number | undefined;
  /** The provider that failed (`deepl`, `google`, `openai`). */
  readonly provider: string;

  constructor(
    message: string,
    options: { provider: string; statusCode?: number; isRetryable: boolean; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.provider = options.provider;
    this.statusCode = options.statusCode;
    this.isRetryable = options.isRetryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The service rejected the credentials (HTTP 401/403). The message names the environment variable. */
export class TranslationAuthError extends TranslationServiceError {}

/**
 * The character quota is used up (DeepL 456). The engine stops cleanly, keeps everything already
 * translated in the cache, and rethrows this with resume instructions.
 */
export class TranslationQuotaError extends TranslationServiceError {
  /** Segments translated (and cached) before the quota ran out, when known. */
  translatedSegments = 0;
  /** Segments still missing, when known. */
  remainingSegments = 0;
}

/** The key of a provider is missing; names the option and the environment variable. */
export class MissingApiKeyError extends PolyglotError {}

/** The `cache` provider was asked for segments the cache does not hold. */
export class TranslationCacheMissError extends PolyglotError {
  /** The missing source segments (neutral text), at most 20 kept. */
  readonly missing: readonly string[];
  readonly missingCount: number;

  constructor(message: string, options: { missing: readonly string[]; missingCount: number }) {
    super(message);
    this.missing = options.missing;
    this.missingCount = options.missingCount;
  }
}

/** The translation cache file is unusable (not JSONL of cache entries beyond a torn last line). */
export class TranslationCacheError extends PolyglotError {}

/** Parses an HTTP `Retry-After` value (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
