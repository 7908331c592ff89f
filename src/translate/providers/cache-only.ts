import { z } from "zod";
import { parseOptions } from "../../parse-options";
import type { TranslationProvider, TranslationRequest, TranslationResponse } from "../translation-provider";
import { TranslationCacheMissError } from "../translation-errors";
import { proseOfNeutral } from "../segment";

export const cacheOnlyTranslatorOptionsSchema = z.strictObject({
  /**
   * The provider identity whose cached translations are replayed (e.g. `deepl:label=fixture`).
   * When omitted, the engine uses the only identity the cache holds for the language pair.
   */
  providerId: z.string().min(1).optional(),
});
export type CacheOnlyTranslatorOptions = z.input<typeof cacheOnlyTranslatorOptionsSchema>;

/**
 * Creates the `cache` provider: it replays the translation cache and never calls a service.
 * Any segment the cache lacks makes the run fail with {@link TranslationCacheMissError}, which
 * lists what is missing (a dry run lists the counts without failing).
 */
export function createCacheOnlyTranslator(options: CacheOnlyTranslatorOptions = {}): TranslationProvider {
  const parsed = parseOptions(cacheOnlyTranslatorOptionsSchema, options, "createCacheOnlyTranslator");
  return {
    id: parsed.providerId ?? "",
    name: "cache",
    replays: true,
    limits: { maxSegmentsPerRequest: 1000, maxRequestBytes: Number.MAX_SAFE_INTEGER },
    price: { perMillionCharacters: 0, currency: "EUR" },
    measureText(text) {
      return text.length;
    },
    async doTranslate(request: TranslationRequest): Promise<TranslationResponse> {
      const shown = request.texts.slice(0, 20).map((text) => proseOfNeutral(text).slice(0, 80));
      throw new TranslationCacheMissError(
        `the translation cache has no ${request.from}->${request.to} translation for ${request.texts.length} segment(s) ` +
          `(provider identity ${parsed.providerId ?? "(from cache)"}); translate them with a real provider first, e.g. ` +
          `--provider deepl. First missing: ${shown.map((text) => JSON.stringify(text)).join(", ")}`,
        { missing: request.texts.slice(0, 20), missingCount: request.texts.length },
      );
    },
  };
}
