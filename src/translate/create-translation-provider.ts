import { z } from "zod";
import { ConfigError } from "../errors";
import { InvalidOptionsError } from "../parse-options";
import { createCacheOnlyTranslator } from "./providers/cache-only";
import { createDeepL, type DeepLOptions } from "./providers/deepl";
import { createGoogleTranslate, type GoogleTranslateOptions } from "./providers/google";
import { createOpenAITranslator, type OpenAITranslatorOptions } from "./providers/openai-compatible";
import type { TranslationProvider } from "./translation-provider";

/** The provider names accepted by {@link createTranslationProvider} and `--provider`. */
export const PROVIDER_NAMES = ["deepl", "google", "openai", "cache"] as const;
export const providerNameSchema = z.enum(PROVIDER_NAMES);
export type ProviderName = z.infer<typeof providerNameSchema>;

/** Options of {@link createTranslationProvider}: the provider name plus that provider's options. */
export type CreateTranslationProviderOptions =
  | ({ provider: "deepl" } & DeepLOptions)
  | ({ provider: "google" } & GoogleTranslateOptions)
  | ({ provider: "openai" } & OpenAITranslatorOptions)
  | { provider: "cache"; providerId?: string };

/**
 * Creates a provider by name (for configs and the CLI). Creating never reads keys; the first request does.
 * Unknown options are reported as a ConfigError listing each one.
 */
export function createTranslationProvider(options: CreateTranslationProviderOptions): TranslationProvider {
  const { provider, ...rest } = options;
  try {
    switch (provider) {
      case "deepl":
        return createDeepL(rest as DeepLOptions);
      case "google":
        return createGoogleTranslate(rest as GoogleTranslateOptions);
      case "openai":
        return createOpenAITranslator(rest as OpenAITranslatorOptions);
      case "cache":
        return createCacheOnlyTranslator(rest as { providerId?: string });
      default:
        throw new ConfigError([{ path: "provider", message: `unknown provider "${String(provider)}"; use one of ${PROVIDER_NAMES.join(", ")}` }]);
    }
  } catch (error) {
    // Provider options come from configs: their problems are a ConfigError, paths included.
    if (error instanceof InvalidOptionsError) throw new ConfigError([...error.issues], { cause: error });
    throw error;
  }
}
