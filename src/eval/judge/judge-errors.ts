import { PolyglotError } from "../../errors";

/** A call to the judge endpoint failed. The message never carries the API key. */
export class JudgeServiceError extends PolyglotError {
  /** HTTP status when the endpoint answered; undefined for connection problems and timeouts. */
  readonly statusCode: number | undefined;
  /** Whether trying again later may succeed (408, 409, 429, 5xx, timeouts, dropped connections). */
  readonly isRetryable: boolean;
  /** Milliseconds the endpoint asked us to wait (`Retry-After` / `retry-after-ms`). */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    options: { statusCode?: number; isRetryable: boolean; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.statusCode = options.statusCode;
    this.isRetryable = options.isRetryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The judge has no API key; the message names the option and the environment variable. */
export class MissingJudgeApiKeyError extends PolyglotError {}

/** A benchmark or answer file does not fit the judging (missing prompt, reference, placeholder). */
export class JudgeInputError extends PolyglotError {}

/** Parses `Retry-After` (seconds or an HTTP date) or `retry-after-ms` into milliseconds. */
export function parseRetryAfterHeader(
  headers: { get(name: string): string | null } | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!headers) return undefined;
  const milliseconds = headers.get("retry-after-ms");
  if (milliseconds && Number.isFinite(Number(milliseconds))) return Math.max(0, Number(milliseconds));
  const value = headers.get("retry-after");
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
