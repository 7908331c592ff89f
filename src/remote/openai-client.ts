import type OpenAI from "openai";
import { isRetryableStatus, RemoteAuthError, RemoteCallError, RemoteQuotaError } from "./remote-call-error";
import { parseRetryAfter } from "./parse-retry-after";
import { registerSecret } from "./redact-secrets";

type OpenAIModule = typeof import("openai").default;
let library: OpenAIModule | undefined;

/**
 * The one setup of the `openai` client for every OpenAI-compatible endpoint (translator, judge):
 * loaded on first use, its own retries off (the remote layer retries), the time limit given per
 * request by the caller.
 */
export async function createOpenAIClient(options: { apiKey: string; baseUrl?: string }): Promise<OpenAI> {
  library ??= (await import("openai")).default;
  registerSecret(options.apiKey);
  return new library({ apiKey: options.apiKey, ...(options.baseUrl ? { baseURL: options.baseUrl } : {}), maxRetries: 0, timeout: 24 * 3600_000 });
}

/** What the message of a failed OpenAI call says about where it went. */
export interface OpenAIFailureContext {
  /** Service name in errors (`openai`, `judge`). */
  service: string;
  /** How messages name the endpoint (`the OpenAI-compatible translator`, `judge gpt-4`). */
  label: string;
  /** The environment variable that holds the key. */
  keyEnv: string;
}

/** Maps what the `openai` client threw to a {@link RemoteCallError} (or hands non-API errors back). */
export function toOpenAICallError(error: unknown, context: OpenAIFailureContext): Error {
  if (!library || !(error instanceof library.APIError)) return error instanceof Error ? error : new Error(String(error));
  if (error instanceof library.APIUserAbortError) return error;
  if (error instanceof library.APIConnectionTimeoutError) {
    return new RemoteCallError(`${context.label}: the request timed out`, { service: context.service, isRetryable: true, timedOut: true, cause: error });
  }
  if (error instanceof library.APIConnectionError) {
    return new RemoteCallError(`${context.label}: ${error.message}`, { service: context.service, isRetryable: true, cause: error });
  }
  const status = error.status;
  // The client's message starts with the status ("400 invalid model"): say it once.
  const detail = status === undefined ? error.message : error.message.replace(new RegExp(`^${status} `), "");
  if (status === 401 || status === 403) {
    return new RemoteAuthError(`${context.label} rejected the key (HTTP ${status}): check the ${context.keyEnv} environment variable`, {
      service: context.service,
      statusCode: status,
      isRetryable: false,
      cause: error,
    });
  }
  if (status === 429 && (error.code === "insufficient_quota" || /insufficient_quota/.test(detail))) {
    return new RemoteQuotaError(`${context.label} reports the quota is used up (HTTP 429): ${detail}`, {
      service: context.service,
      statusCode: 429,
      isRetryable: false,
      cause: error,
    });
  }
  const hint = status === 404 ? " (check the model name and base URL)" : "";
  const retryAfterMs = parseRetryAfter(error.headers as Headers | undefined);
  return new RemoteCallError(`${context.label}: HTTP ${status ?? "?"} ${detail}${hint}`, {
    service: context.service,
    ...(status === undefined ? {} : { statusCode: status }),
    isRetryable: isRetryableStatus(status),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    cause: error,
  });
}
