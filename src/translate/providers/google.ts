import { z } from "zod";
import { parseOptions } from "../../parse-options";
import type { TranslationProvider, TranslationRequest, TranslationResponse } from "../translation-provider";
import { parseRetryAfter, type HeadersLike } from "../../remote/parse-retry-after";
import { registerSecret } from "../../remote/redact-secrets";
import { isRetryableStatus, RemoteAuthError, RemoteCallError } from "../../remote/remote-call-error";
import { MissingApiKeyError, TranslationQuotaError } from "../translation-errors";
import { decodeMarkup, encodeMarkup } from "./markup-codec";

/** Placeholder sent to Google (`format: html`): an empty span that `translate="no"` keeps as is. */
const PLACEHOLDER_ELEMENT = (index: number): string => `<span translate="no" data-ph="${index}"></span>`;
const PLACEHOLDER_PATTERN = /<span\s+translate="no"\s+data-ph="(\d+)"\s*>\s*<\/span>/g;

export const googleTranslateOptionsSchema = z.strictObject({
  /** API key for the v2 REST API; defaults to `GOOGLE_TRANSLATE_API_KEY`. Read at the first request. */
  apiKey: z.string().min(1).optional(),
  /**
   * Where to send requests: a host name (`translation.googleapis.com`) or a full URL of a compatible
   * server (`http://127.0.0.1:8080`); defaults to `GOOGLE_TRANSLATE_ENDPOINT`, then Google's own.
   */
  baseUrl: z.string().min(1).optional(),
  /** @deprecated The old name of `baseUrl`: still accepted, with a deprecation warning. */
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
/** Old option names still accepted (with a deprecation warning), and their new names. */
export const googleTranslateRenamedOptions: Readonly<Record<string, string>> = { endpoint: "baseUrl" };

export type GoogleTranslateOptions = z.input<typeof googleTranslateOptionsSchema>;

type Translate = (texts: string[], from: string, to: string, timeoutMs: number | undefined) => Promise<string[]>;

/**
 * Creates the Google Cloud Translation provider: v2 with an API key (REST, `format: html` with
 * `translate="no"` placeholders) or v3 with a project id where Application Default Credentials exist.
 * The client's own retries are off; the engine retries.
 */
export function createGoogleTranslate(options: GoogleTranslateOptions = {}): TranslationProvider {
  const parsed = parseOptions(googleTranslateOptionsSchema, options, "createGoogleTranslate", googleTranslateRenamedOptions);
  const env = parsed.env ?? process.env;
  const version = parsed.version ?? (parsed.apiKey || env.GOOGLE_TRANSLATE_API_KEY || !(parsed.projectId ?? env.GOOGLE_CLOUD_PROJECT) ? "v2" : "v3");
  let translate: Translate | undefined;

  const getTranslate = async (): Promise<Translate> => {
    if (translate) return translate;
    // Loaded on first use: the Google client pulls in a large gRPC stack that other providers never need.
    const { v2, v3 } = await import("@google-cloud/translate");
    const endpoint = parsed.baseUrl ?? (env.GOOGLE_TRANSLATE_ENDPOINT || undefined);
    if (version === "v3") {
      const projectId = parsed.projectId ?? env.GOOGLE_CLOUD_PROJECT;
      if (!projectId) {
        throw new MissingApiKeyError("Google Translate v3 needs a project: pass the projectId option or set GOOGLE_CLOUD_PROJECT");
      }
      const client = new v3.TranslationServiceClient(endpoint ? { apiEndpoint: endpoint.replace(/^https?:\/\//, "") } : {});
      const parent = `projects/${projectId}/locations/${parsed.location ?? "global"}`;
      translate = async (texts, from, to, timeoutMs) => {
        const [response] = await client.translateText(
          {
            parent,
            contents: texts,
            mimeType: "text/html",
            sourceLanguageCode: from,
            targetLanguageCode: to,
            ...(parsed.model ? { model: parsed.model } : {}),
          },
          { retry: null, maxRetries: 0, ...(timeoutMs ? { timeout: timeoutMs } : {}) },
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
    registerSecret(key);
    const isUrl = endpoint !== undefined && /^https?:\/\//.test(endpoint);
    const client = new v2.Translate({
      key,
      autoRetry: false,
      maxRetries: 0,
      ...(endpoint && !isUrl ? { apiEndpoint: endpoint } : {}),
    });
    // The v2 client builds `https://<apiEndpoint>`; a full URL (a local or proxy server) replaces the base.
    if (isUrl) client.baseUrl = `${endpoint.replace(/\/+$/, "")}/language/translate/v2`;
    // The v2 client takes no time limit per call: the remote layer abandons a late attempt.
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
          request.timeoutMs,
        );
      } catch (error) {
        throw toGoogleCallError(error, version);
      }
      return { translations: translated.map((text) => decodeMarkup(text, PLACEHOLDER_PATTERN)) };
    },
  };
}

interface GoogleApiError {
  code?: number | string;
  message?: string;
  details?: string;
  response?: { headers?: HeadersLike };
}

/**
 * gRPC status codes of the v3 client (`@grpc/grpc-js`): they are not HTTP statuses, so 14 must
 * not read as "HTTP 14" and 8 must be retried like a 429.
 */
const GRPC_STATUS: Record<number, { name: string; http: number }> = {
  1: { name: "CANCELLED", http: 499 },
  3: { name: "INVALID_ARGUMENT", http: 400 },
  4: { name: "DEADLINE_EXCEEDED", http: 504 },
  5: { name: "NOT_FOUND", http: 404 },
  7: { name: "PERMISSION_DENIED", http: 403 },
  8: { name: "RESOURCE_EXHAUSTED", http: 429 },
  9: { name: "FAILED_PRECONDITION", http: 400 },
  10: { name: "ABORTED", http: 409 },
  11: { name: "OUT_OF_RANGE", http: 400 },
  12: { name: "UNIMPLEMENTED", http: 501 },
  13: { name: "INTERNAL", http: 500 },
  14: { name: "UNAVAILABLE", http: 503 },
  16: { name: "UNAUTHENTICATED", http: 401 },
};

/** The HTTP-equivalent status and how to name it: v2 errors carry HTTP codes, v3 errors gRPC codes. */
function statusOf(apiError: GoogleApiError, version: "v2" | "v3"): { status: number | undefined; label: string } {
  if (typeof apiError.code !== "number") return { status: undefined, label: "" };
  if (version === "v3" || apiError.code < 100) {
    const grpc = GRPC_STATUS[apiError.code];
    if (!grpc) return { status: 500, label: ` (gRPC ${apiError.code})` };
    return { status: grpc.http, label: ` (gRPC ${apiError.code} ${grpc.name})` };
  }
  return { status: apiError.code, label: ` (HTTP ${apiError.code})` };
}

/**
 * Maps a Google client error to a typed error. The v2 request URL carries the key as `?key=`:
 * RemoteCallError keeps only redacted messages of the cause chain.
 */
export function toGoogleCallError(error: unknown, version: "v2" | "v3"): Error {
  const apiError = (error ?? {}) as GoogleApiError;
  if (typeof apiError.code !== "number" && !(error instanceof Error)) return new Error(String(error));
  const { status, label } = statusOf(apiError, version);
  const message = String(apiError.details || apiError.message || error);
  if (status === 401 || status === 403) {
    const variable = version === "v3" ? "GOOGLE_APPLICATION_CREDENTIALS (Application Default Credentials)" : "GOOGLE_TRANSLATE_API_KEY";
    return new RemoteAuthError(`Google Translate rejected the credentials${label}: check the ${variable} environment variable (${message})`, {
      service: "google",
      statusCode: status,
      isRetryable: false,
      cause: error,
    });
  }
  if (status === 429 && /quota/i.test(message) && /day|daily/i.test(message)) {
    return new TranslationQuotaError(`Google Translate daily quota exceeded${label}: ${message}`, {
      service: "google",
      statusCode: 429,
      isRetryable: false,
      cause: error,
    });
  }
  const retryAfterMs = parseRetryAfter(apiError.response?.headers);
  const timedOut = apiError.code === 4 && version === "v3";
  return new RemoteCallError(`Google Translate request failed${label}: ${message}`, {
    service: "google",
    ...(status === undefined ? {} : { statusCode: status }),
    isRetryable: isRetryableStatus(status),
    timedOut,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    cause: error,
  });
}
