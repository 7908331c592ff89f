import pRetry, { AbortError } from "p-retry";
import { z } from "zod";
import { JudgeServiceError } from "./judge-errors";

/** How failed judge calls are retried. */
export const judgeRetryOptionsSchema = z.strictObject({
  /** Retries after the first attempt (default 8). */
  retries: z.number().int().min(0).default(8),
  /** First backoff in milliseconds, doubled each retry, with jitter (default 1000). */
  minTimeoutMs: z.number().int().min(0).default(1000),
  /** Longest backoff in milliseconds (default 60 000). */
  maxTimeoutMs: z.number().int().min(0).default(60_000),
  /** Longest `Retry-After` honoured, in milliseconds (default 120 000). */
  maxRetryAfterMs: z.number().int().min(0).default(120_000),
});
export type JudgeRetryOptions = z.input<typeof judgeRetryOptionsSchema>;

/**
 * Runs a judge call with exponential backoff and jitter on retryable failures (429, 5xx, timeouts,
 * dropped connections), waiting at least as long as a `Retry-After` asks. The only place that
 * retries: the `openai` client is created with `maxRetries: 0`.
 */
export async function retryJudgeRequest<T>(
  attempt: () => Promise<T>,
  options: JudgeRetryOptions & { signal?: AbortSignal; onRetry?: (error: Error) => void } = {},
): Promise<T> {
  const { retries, minTimeoutMs, maxTimeoutMs, maxRetryAfterMs } = judgeRetryOptionsSchema.parse({
    retries: options.retries,
    minTimeoutMs: options.minTimeoutMs,
    maxTimeoutMs: options.maxTimeoutMs,
    maxRetryAfterMs: options.maxRetryAfterMs,
  });
  return pRetry(
    async () => {
      try {
        return await attempt();
      } catch (error) {
        if (error instanceof JudgeServiceError && error.isRetryable) throw error;
        throw new AbortError(error instanceof Error ? error : new Error(String(error)));
      }
    },
    {
      retries,
      factor: 2,
      minTimeout: minTimeoutMs,
      maxTimeout: maxTimeoutMs,
      randomize: true,
      ...(options.signal ? { signal: options.signal } : {}),
      onFailedAttempt: async ({ error, retriesLeft }) => {
        if (retriesLeft <= 0) return;
        options.onRetry?.(error);
        const retryAfterMs = error instanceof JudgeServiceError ? error.retryAfterMs : undefined;
        if (retryAfterMs !== undefined && retryAfterMs > 0) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(retryAfterMs, maxRetryAfterMs)));
        }
      },
    },
  );
}
