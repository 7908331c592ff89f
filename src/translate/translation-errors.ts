import { PolyglotError } from "../errors";
import { RemoteQuotaError } from "../remote/remote-call-error";

/**
 * The character quota is used up (DeepL 456). The engine stops cleanly, keeps everything already
 * translated in the cache, and rethrows this with resume instructions.
 */
export class TranslationQuotaError extends RemoteQuotaError {
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
