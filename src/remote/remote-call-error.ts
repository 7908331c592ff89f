import { PolyglotError } from "../errors";
import { redactCause, redactSecrets } from "./redact-secrets";

/** What a {@link RemoteCallError} knows about the failed call. */
export interface RemoteCallErrorOptions {
  /** The service (`deepl`, `google`, `openai`, `judge`, `hub`). */
  service: string;
  /** HTTP status when the service answered; undefined for connection problems and timeouts. */
  statusCode?: number;
  /** Whether trying again later may succeed (429, 5xx, timeouts, dropped connections). */
  isRetryable: boolean;
  /** Milliseconds the service asked to wait (`Retry-After`), when it said so. */
  retryAfterMs?: number;
  /** The attempt ran out of time: the service may have done (and billed) the work anyway. */
  timedOut?: boolean;
  cause?: unknown;
}

/**
 * The one error of every call to a remote service (vercel/ai's `APICallError`): service, status,
 * retryability and `Retry-After`. Its message and cause chain are redacted when it is made, so
 * printing, logging or serialising it can never show a key.
 */
export class RemoteCallError extends PolyglotError {
  readonly service: string;
  readonly statusCode: number | undefined;
  readonly isRetryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly timedOut: boolean;

  constructor(message: string, options: RemoteCallErrorOptions) {
    super(redactSecrets(message), { cause: redactCause(options.cause) });
    this.service = options.service;
    this.statusCode = options.statusCode;
    this.isRetryable = options.isRetryable;
    this.retryAfterMs = options.retryAfterMs;
    this.timedOut = options.timedOut ?? false;
    if (this.stack) this.stack = redactSecrets(this.stack);
  }
}

/** An attempt that got no answer within its time limit. Retryable; counted as possibly billed. */
export class RemoteTimeoutError extends RemoteCallError {
  constructor(service: string, timeoutMs: number) {
    super(`${service}: no answer within ${timeoutMs} ms (the request may still have been processed and billed)`, {
      service,
      isRetryable: true,
      timedOut: true,
    });
  }
}

/** The credentials were rejected (401/403): the message names the environment variable to check. */
export class RemoteAuthError extends RemoteCallError {}

/** A quota or billing limit is used up (DeepL 456, OpenAI `insufficient_quota`): retrying will not help. */
export class RemoteQuotaError extends RemoteCallError {}

/** Statuses worth retrying: timeouts, conflicts, rate limits and server errors. */
export function isRetryableStatus(status: number | undefined): boolean {
  return status === undefined || status === 408 || status === 409 || status === 425 || status === 429 || status >= 500;
}
