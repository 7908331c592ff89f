import { z } from "zod";
import type { TranslationProvider, TranslationRequest, TranslationResponse } from "../translation-provider";
import { MissingApiKeyError, TranslationAuthError, TranslationQuotaError, TranslationServiceError, parseRetryAfter } from "../translation-errors";
import { decodeMarkup, encodeMarkup } from "./markup-codec";

/** Placeholder sent to Google (`format: html`): an empty span that `translate="no"` keeps as is. */
const PLACEHOLDER_ELEMENT = (index: number): string => `<span translate="no" data-ph="${index}"></span>`;
const PLACEHOLDER_PATTERN = /<span\s+translate="no"\s+data-ph="(\d+)"\s*>\s*<\/span>/g;

export const googleTranslateOptionsSchema = z.strictObject({
  /** API key for the v2 REST API; defaults to `GOOGLE_TRANSLATE_API_KEY`. Read at the first request. */
  apiKey: z.string().min(1).optional(),
  /**
   * Endpoint: a host name (`translation.googleapis.com`) or a full URL of a compatible server
   * (`http://127.0.0.1:8080`); defaults to `GOOGLE_TRANSLATE_ENDPOINT`, then Google's own.
   */
  endpoint: z.string().min(1).optional(),
  /** `v2` (API key, default) or `v3` (project id and Application Default Credentials). */
  version: z.enum(["v2", "v3"]).optional(),
  /** Project id for v3; defaults to `GOOGLE_CLOUD_PROJECT`. */
  projectId: z.string().min(1).optional(),
  /** v3 location (default `global`). */
  location: z.string().min(1).optional(),
  /** Model: v2 `nmt`/`base`, or a v3 model path. */
  model: z.string().min(1).optional(),
  /** Extra words for the cache identity. */
  label: z.string().min(1).optional(),
  /** Most segments per request (v2 allows 128). */
  maxSegmentsPerRequest: z.number().int().min(1).max(128).optional(),
  /** Most request bytes (v2 recommends about 100 KB). */
  maxRequestBytes: z.number().int().positive().optional(),
  /** Price for estimates (default USD 20 per million characters). */
  price: z.strictObject({ perMillionCharacters: z.number().nonnegative(), currency: z.string() }).optional(),
  /** Environment to read variables from (default `process.env`). */
  env: z.record(z.string(), z.string().optional()).optional(),
});
export type GoogleTranslateOptions = z.input<typeof googleTranslateOptionsSchema>;

type Translate = (texts: string[], from: string, to: string) => Promise<string[]>;

/**
 * Creates the Google Cloud Translation provider: v2 with an API key (REST, `format: html` with
 * `translate="no"` placeholders) or v3 with a project id where Application Default Credentials exist.
 * The client's own retries are off; the engine retries.
 */
export function createGoogleTranslate(options: GoogleTranslateOptions = {}): TranslationProvider {
  const parsed = googleTranslateOptionsSchema.parse(options);
  const env = parsed.env ?? process.env;
  const version = parsed.version ?? (parsed.apiKey || env.GOOGLE_TRANSLATE_API_KEY || !(parsed.projectId ?? env.GOOGLE_CLOUD_PROJECT) ? "v2" : "v3");
  let translate: Translate | undefined;

  const getTranslate = async (): Promise<Translate> => {
    if (translate) return translate;
    // Loaded on first use: the Google client pulls in a large gRPC stack that other providers never need.
    const { v2, v3 } = await import("@google-cloud/translate");
    const endpoint = parsed.endpoint ?? (env.GOOGLE_TRANSLATE_ENDPOINT || undefined);
    if (version === "v3") {
      const projectId = parsed.projectId ?? env.GOOGLE_CLOUD_PROJECT;
      if (!projectId) {
        throw new MissingApiKeyError("Google Translate v3 needs a project: pass the projectId option or set GOOGLE_CLOUD_PROJECT");
      }
      const client = new v3.TranslationServiceClient(endpoint ? { apiEndpoint: endpoint.replace(/^https?:\/\//, "") } : {});
      const parent = `projects/${projectId}/locations/${parsed.location ?? "global"}`;
      translate = async (texts, from, to) => {
        const [response] = await client.translateText(
          {
            parent,
            contents: texts,
            mimeType: "text/html",
            sourceLanguageCode: from,
            targetLanguageCode: to,
            ...(parsed.model ? { model: parsed.model } : {}),
          },
          { retry: null, maxRetries: 0 },
        );
        return (response.translations ?? []).map((translation) => translation.translatedText ?? "");
      };
      return translate;
    }
    const key = parsed.apiKey ?? env.GOOGLE_TRANSLATE_API_KEY;
    if (!key) {
      throw new MissingApiKeyError(
        "Google Translate v2 needs an API key: pass the apiKey option or set the GOOGLE_TRANSLATE_API_KEY environment variable",
      );
    }
    const isUrl = endpoint !== undefined && /^https?:\/\//.test(endpoint);
    const client = new v2.Translate({
      key,
      autoRetry: false,
      maxRetries: 0,
      ...(endpoint && !isUrl ? { apiEndpoint: endpoint } : {}),
    });
    // The v2 client builds `https://<apiEndpoint>`; a full URL (a local or proxy server) replaces the base.
    if (isUrl) client.baseUrl = `${endpoint.replace(/\/+$/, "")}/language/translate/v2`;
    translate = async (texts, from, to) => {
      const [translations] = await client.translate(texts, {
        from,
        to,
        format: "html",
        ...(parsed.model ? { model: parsed.model } : {}),
      });
      return Array.isArray(translations) ? translations : [translations];
    };
    return translate;
  };

  return {
    id: ["google", version, parsed.model && `model=${parsed.model}`, parsed.label && `label=${parsed.label}`].filter(Boolean).join(":"),
    name: "google",
    answersInTargetLanguage: true,
    limits: {
      maxSegmentsPerRequest: parsed.maxSegmentsPerRequest ?? 128,
      maxRequestBytes: parsed.maxRequestBytes ?? 100_000,
    },
    price: parsed.price ?? { perMillionCharacters: 20, currency: "USD" },
    measureText(text) {
      return Buffer.byteLength(JSON.stringify(encodeMarkup(text, PLACEHOLDER_ELEMENT))) + 1;
    },
    async doTranslate(request: TranslationRequest): Promise<TranslationResponse> {
      const run = await getTranslate();
      let translated: string[];
      try {
        translated = await run(
          request.texts.map((text) => encodeMarkup(text, PLACEHOLDER_ELEMENT)),
          request.from,
          request.to,
        );
      } catch (error) {
        throw toServiceError(error);
      }
      return { translations: translated.map((text) => decodeMarkup(text, PLACEHOLDER_PATTERN)) };
    },
  };
}

interface GoogleApiError {
  code?: number | string;
  message?: string;
  response?: { headers?: Record<string, string | string[] | undefined> | { get?: (name: string) => string | null } };
}

function headerOf(error: GoogleApiError, name: string): string | undefined {
  const headers = error.response?.headers;
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get: (name: string) => string | null }).get(name) ?? undefined;
  }
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Maps a Google client error to a typed error. The request URL carries the key as `?key=`, so the
 * original error (whose config holds the URL) is not kept; only the status and service message are.
 */
function toServiceError(error: unknown): Error {
  const apiError = (error ?? {}) as GoogleApiError;
  const status = typeof apiError.code === "number" ? apiError.code : undefined;
  const message = redactKey(String(apiError.message ?? error));
  const cause = new Error(message);
  if (status === 401 || status === 403) {
    return new TranslationAuthError(
      `Google Translate rejected the credentials (HTTP ${status}): check the GOOGLE_TRANSLATE_API_KEY environment variable or the apiKey option (${message})`,
      { provider: "google", statusCode: status, isRetryable: false, cause },
    );
  }
  if (status === 429 && /quota/i.test(message) && /day|daily/i.test(message)) {
    return new TranslationQuotaError(`Google Translate daily quota exceeded (HTTP 429): ${message}`, {
      provider: "google",
      statusCode: 429,
      isRetryable: false,
      cause,
    });
  }
  const retryAfterMs = parseRetryAfter(headerOf(apiError, "retry-after"));
  const retryable = status === undefined ? true : status === 408 || status === 429 || status >= 500;
  return new TranslationServiceError(`Google Translate request failed${status ? ` (HTTP ${status})` : ""}: ${message}`, {
    provider: "google",
    ...(status === undefined ? {} : { statusCode: status }),
    isRetryable: retryable,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    cause,
  });
}

function redactKey(text: string): string {
  return text.replace(/([?&]key=)[^&\s"']+/g, "$1<redacted>");
}
