/**
 * The provider specification: every translation service is one implementation of
 * {@link TranslationProvider}, made by a factory in `providers/`. The engine does segmentation,
 * batching, caching, retries and quality checks; a provider only turns one request into one call.
 */

/** What one request to a service may contain. */
export interface ProviderLimits {
  /** Most segments in one request (DeepL 50, Google v2 128, an LLM 1). */
  readonly maxSegmentsPerRequest: number;
  /** Most bytes of encoded text in one request (DeepL 128 KiB, Google v2 about 100 KB). */
  readonly maxRequestBytes: number;
}

/** The price used for cost estimates. */
export interface ProviderPrice {
  /** Price per million billed characters. */
  readonly perMillionCharacters: number;
  /** ISO 4217 currency, e.g. `EUR`. */
  readonly currency: string;
}

/** One request: segments in neutral text (prose with `\uE000n\uE001` placeholders). */
export interface TranslationRequest {
  /** Neutral texts; placeholders must come back exactly once each. */
  readonly texts: readonly string[];
  /** ISO 639-1 source language, e.g. `en`. */
  readonly from: string;
  /** ISO 639-1 target language, e.g. `de`. */
  readonly to: string;
  /** Aborts the request in flight (the remote layer aborts it at its time limit). */
  readonly signal?: AbortSignal;
  /** This attempt's time limit in milliseconds, for clients that take one per request. */
  readonly timeoutMs?: number;
}

/** The answer to one request. */
export interface TranslationResponse {
  /** Neutral translations in request order (placeholders mapped back from the provider's markup). */
  readonly translations: readonly string[];
  /** Characters the service says it billed for this request, when it reports them (DeepL does). */
  readonly billedCharacters?: number;
}

/** A translation service. */
export interface TranslationProvider {
  /**
   * Identity for cache keys: the provider name plus every option that changes the output
   * (model, formality, glossary, prompt version). Never contains keys or server URLs.
   */
  readonly id: string;
  /** `deepl`, `google`, `openai` or `cache`. */
  readonly name: string;
  readonly limits: ProviderLimits;
  /** Default price for estimates, or undefined where unknown (LLMs bill tokens). */
  readonly price?: ProviderPrice;
  /** Bytes one neutral text adds to a request, for packing requests up to `limits.maxRequestBytes`. */
  measureText(text: string): number;
  /** Translates one request. Throws `RemoteCallError` (or a subclass) on failure. */
  doTranslate(request: TranslationRequest): Promise<TranslationResponse>;
  /**
   * True for services that answer in the requested language or fail (DeepL, Google): the quality
   * report then runs language identification only on output that looks untranslated. LLMs can
   * answer in another language, so every message of theirs is identified.
   */
  readonly answersInTargetLanguage?: boolean;
  /** For the `cache` provider only: the recorded provider identity it replays. */
  readonly replays?: boolean;
}
