import pRetry, { AbortError } from "p-retry";
import { z } from "zod";
import { TranslationServiceError } from "./translation-errors";

export const retryOptionsSchema = z.strictObject({
  /** Retries after the first attempt (default 6). */
  retries: z.number().int().min(0).optional(),
  /** First backoff in milliseconds (default 1000); doubles each retry, with jitter. */
  minTimeoutMs: z.number().int().min(0).optional(),
  /** Longest backoff in milliseconds (default 60 000). */
  maxTimeoutMs: z.number().int().min(0).optional(),
  /** Longest `Retry-After` honoured, in milliseconds (default 120 000). */
  maxRetryAfterMs: z.number().int().min(0).optional(),
  /** Time one attempt may take before it counts as timed out and is retried (default 120 000). */
  timeoutMs: z.number().int().positive().optional(),
});
export type RetryOptions = z.infer<typeof retryOptionsSchema>;

/** A request attempt that took longer than `timeoutMs`. */
export class RequestTimeoutError extends TranslationServiceError {}

/**
 * Runs `attempt` with exponential backoff and jitter on retryable failures (429, 5xx, timeouts,
 * dropped connections). When the service sent `Retry-After`, the next attempt waits at least that
 * long. This is the only place that retries: every client's own retries are switched off.
 */
export async function requestWithRetry<T>(
  attempt: (signal: AbortSignal) => Promise<T>,
  options: RetryOptions & { provider: string; signal?: AbortSignal; onRetry?: (error: Error) => void },
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
  return pRetry(
    async () => {
      options.signal?.throwIfAborted();
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(options.signal?.reason);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          attempt(controller.signal),
          new Promise<never>((_resolve, reject) => {
            timer = setTimeout(() => {
              controller.abort();
              reject(
                new RequestTimeoutError(`${options.provider}: no answer within ${timeoutMs} ms`, {
                  provider: options.provider,
                  isRetryable: true,
                }),
              );
            }, timeoutMs);
          }),
        ]);
      } catch (error) {
        if (error instanceof TranslationServiceError && !error.isRetryable) throw new AbortError(error);
        if (!(error instanceof TranslationServiceError)) throw new AbortError(error instanceof Error ? error : new Error(String(error)));
        throw error;
      } finally {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
      }
    },
    {
      retries: options.retries ?? 6,
      factor: 2,
      minTimeout: options.minTimeoutMs ?? 1000,
      maxTimeout: options.maxTimeoutMs ?? 60_000,
      randomize: true,
      ...(options.signal ? { signal: options.signal } : {}),
      onFailedAttempt: async ({ error, retriesLeft }) => {
        if (retriesLeft <= 0) return;
        options.onRetry?.(error);
        const retryAfterMs = error instanceof TranslationServiceError ? error.retryAfterMs : undefined;
        if (retryAfterMs !== undefined && retryAfterMs > 0) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(retryAfterMs, maxRetryAfterMs)));
        }
      },
    },
  );
}
