import { createHash } from "node:crypto";
import type * as deepl from "deepl-node";
import { z } from "zod";
import { parseOptions } from "../../parse-options";
import type { TranslationProvider, TranslationRequest, TranslationResponse } from "../translation-provider";
import { RemoteAuthError, RemoteCallError } from "../../remote/remote-call-error";
import { registerSecret } from "../../remote/redact-secrets";
import { MissingApiKeyError, TranslationQuotaError } from "../translation-errors";
import { decodeMarkup, encodeMarkup } from "./markup-codec";

/** Placeholder element sent to DeepL; `ignore_tags=x` keeps it out of translation. */
const PLACEHOLDER_ELEMENT = (index: number): string => `<x id="${index}"/>`;
const PLACEHOLDER_PATTERN = /<x\s+id="(\d+)"\s*(?:\/>|><\/x>)/g;

export const deepLOptionsSchema = z.strictObject({
  /** DeepL authentication key; defaults to `DEEPL_AUTH_KEY`. Read at the first request. */
  apiKey: z.string().min(1).optional(),
  /** Server URL of any DeepL-compatible endpoint; defaults to `DEEPL_SERVER_URL`, then DeepL's own. */
  baseUrl: z.string().url().optional(),
  /** @deprecated The old name of `baseUrl`: still accepted, with a deprecation warning. */
  serverUrl: z.string().url().optional(),
  /** DeepL formality. */
  formality: z.enum(["less", "more", "default", "prefer_less", "prefer_more"]).optional(),
  /** Glossary id to apply. */
  glossaryId: z.string().min(1).optional(),
  /** DeepL model type. */
  modelType: z.enum(["quality_optimized", "latency_optimized", "prefer_quality_optimized"]).optional(),
  /** Extra context that DeepL uses but does not translate or bill. */
  context: z.string().optional(),
  /** Extra words for the cache identity, e.g. `fixture` for a fake server's output. */
  label: z.string().min(1).optional(),
  /** Most texts per request (DeepL allows 50). */
  maxSegmentsPerRequest: z.number().int().min(1).max(50).optional(),
  /** Most request bytes (DeepL allows 128 KiB; default leaves room for the other parameters). */
  maxRequestBytes: z.number().int().positive().max(128 * 1024).optional(),
  /** Price for estimates (default EUR 20 per million characters). */
  price: z.strictObject({ perMillionCharacters: z.number().nonnegative(), currency: z.string() }).optional(),
  /** Environment to read `DEEPL_AUTH_KEY` and `DEEPL_SERVER_URL` from (default `process.env`). */
  env: z.record(z.string(), z.string().optional()).optional(),
});
/** Old option names still accepted (with a deprecation warning), and their new names. */
export const deepLRenamedOptions: Readonly<Record<string, string>> = { serverUrl: "baseUrl" };

export type DeepLOptions = z.input<typeof deepLOptionsSchema>;

/** DeepL needs a regional variant for some targets. */
const TARGET_VARIANTS: Record<string, string> = { en: "en-US", pt: "pt-PT", zh: "zh-HANS" };

/**
 * Creates the DeepL provider (deepl-node). The key is read at the first request, so creating the
 * provider never throws for a missing key. deepl-node's own retries are switched off: the engine
 * retries in one place.
 */
export function createDeepL(options: DeepLOptions = {}): TranslationProvider {
  const parsed = parseOptions(deepLOptionsSchema, options, "createDeepL", deepLRenamedOptions);
  const idOptions = [
    parsed.modelType && `model=${parsed.modelType}`,
    parsed.formality && `formality=${parsed.formality}`,
    parsed.glossaryId && `glossary=${parsed.glossaryId}`,
    parsed.context && `context=${hashText(parsed.context)}`,
    parsed.label && `label=${parsed.label}`,
  ].filter(Boolean);
  // deepl-node takes its time limit per client, and the remote layer doubles it after a timeout:
  // one client per limit in use.
  const translators = new Map<number, deepl.Translator>();
  let library: DeepLModule | undefined;

  const getTranslator = async (timeoutMs: number): Promise<deepl.Translator> => {
    const existing = translators.get(timeoutMs);
    if (existing) return existing;
    library ??= await loadDeepL();
    const env = parsed.env ?? process.env;
    const apiKey = parsed.apiKey ?? env.DEEPL_AUTH_KEY;
    if (!apiKey) {
      throw new MissingApiKeyError(
        "DeepL needs an authentication key: pass the apiKey option or set the DEEPL_AUTH_KEY environment variable",
      );
    }
    registerSecret(apiKey);
    const serverUrl = parsed.baseUrl ?? (env.DEEPL_SERVER_URL || undefined);
    const translator = new library.Translator(apiKey, {
      ...(serverUrl ? { serverUrl } : {}),
      maxRetries: 0,
      minTimeout: timeoutMs,
      sendPlatformInfo: false,
    });
    translators.set(timeoutMs, translator);
    return translator;
  };

  return {
    id: ["deepl", ...idOptions].join(":"),
    name: "deepl",
    answersInTargetLanguage: true,
    limits: {
      maxSegmentsPerRequest: parsed.maxSegmentsPerRequest ?? 50,
      maxRequestBytes: parsed.maxRequestBytes ?? 120 * 1024,
    },
    price: parsed.price ?? { perMillionCharacters: 20, currency: "EUR" },
    measureText(text) {
      // Form encoding: `text=<percent-encoded>&`.
      return new URLSearchParams({ text: encodeMarkup(text, PLACEHOLDER_ELEMENT) }).toString().length + 1;
    },
    async doTranslate(request: TranslationRequest): Promise<TranslationResponse> {
      const client = await getTranslator(request.timeoutMs ?? 24 * 3600_000);
      const texts = request.texts.map((text) => encodeMarkup(text, PLACEHOLDER_ELEMENT));
      let results: deepl.TextResult[];
      try {
        results = await client.translateText(
          texts,
          request.from as deepl.SourceLanguageCode,
          (TARGET_VARIANTS[request.to] ?? request.to) as deepl.TargetLanguageCode,
          {
            tagHandling: "xml",
            ignoreTags: ["x"],
            ...(parsed.formality ? { formality: parsed.formality } : {}),
            ...(parsed.glossaryId ? { glossary: parsed.glossaryId } : {}),
            ...(parsed.modelType ? { modelType: parsed.modelType } : {}),
            ...(parsed.context ? { context: parsed.context } : {}),
          },
        );
      } catch (error) {
        throw toServiceError(error, library!, request.texts.length);
      }
      let billed: number | undefined;
      for (const result of results) {
        if (typeof result.billedCharacters === "number") billed = (billed ?? 0) + result.billedCharacters;
      }
      return {
        translations: results.map((result) => decodeMarkup(result.text, PLACEHOLDER_PATTERN)),
        ...(billed === undefined ? {} : { billedCharacters: billed }),
      };
    },
  };
}

type DeepLModule = typeof import("deepl-node");

/** deepl-node is loaded on first use, so importing the library (or another provider) stays fast. */
async function loadDeepL(): Promise<DeepLModule> {
  const loaded = (await import("deepl-node")) as DeepLModule & { default?: DeepLModule };
  return loaded.Translator ? loaded : loaded.default!;
}

/**
 * The context's part of the cache identity. A full sha256, never a short hash: two contexts that
 * collide would share translations (a wrong cache hit). Entries cached while this was FNV-32
 * (`context=<8 hex digits>`) no longer match and are translated again.
 */
function hashText(text: string): string {
  return `sha256:${createHash("sha256").update(text, "utf8").digest("hex")}`;
}

/**
 * deepl-node reports status codes through error classes and messages only, and hides response
 * headers, so `Retry-After` cannot be read here: the remote layer's backoff applies instead.
 * The original error's axios config holds the Authorization header: RemoteCallError keeps only
 * its redacted message.
 */
function toServiceError(error: unknown, deepl: DeepLModule, texts: number): Error {
  if (!(error instanceof deepl.DeepLError)) return error instanceof Error ? error : new Error(String(error));
  // deepl-node ends its messages with ", message: <server message>"; the server's often ends with a dot.
  const detail = error.message.replace(/\.+$/, "");
  if (error instanceof deepl.AuthorizationError) {
    return new RemoteAuthError(`DeepL rejected the authentication key (HTTP 403): check the DEEPL_AUTH_KEY environment variable`, {
      service: "deepl",
      statusCode: 403,
      isRetryable: false,
      cause: error,
    });
  }
  if (error instanceof deepl.QuotaExceededError) {
    return new TranslationQuotaError(`DeepL character quota exceeded (HTTP 456)`, { service: "deepl", statusCode: 456, isRetryable: false, cause: error });
  }
  if (error instanceof deepl.TooManyRequestsError) {
    return new RemoteCallError(`DeepL: too many requests (HTTP 429)`, { service: "deepl", statusCode: 429, isRetryable: true, cause: error });
  }
  if (error instanceof deepl.ConnectionError) {
    const timedOut = /timeout/i.test(detail);
    return new RemoteCallError(`DeepL: ${detail}`, { service: "deepl", isRetryable: true, timedOut, cause: error });
  }
  const statusMatch = /status code: (\d{3})/.exec(detail);
  const statusCode = statusMatch ? Number(statusMatch[1]) : detail.startsWith("Service unavailable") ? 503 : undefined;
  const retryable = statusCode !== undefined && statusCode >= 500;
  const tooLarge = statusCode === 413 ? ` (a request of ${texts} segment(s) was too large)` : "";
  return new RemoteCallError(`DeepL request failed${statusCode ? ` (HTTP ${statusCode})` : ""}: ${detail}${tooLarge}`, {
    service: "deepl",
    ...(statusCode === undefined ? {} : { statusCode }),
    isRetryable: retryable,
    cause: error,
  });
}
