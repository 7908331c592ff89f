import pRetry, { AbortError } from "p-retry";
import { z } from "zod";
import { RemoteCallError, RemoteTimeoutError } from "./remote-call-error";
import { parseOptions } from "../parse-options";

/** The retry and timeout policy of every remote call. */
export const remoteCallPolicySchema = z.strictObject({
  /** Retries after the first attempt (default 6). */
  retries: z.number().int().min(0).optional(),
  /** First backoff in milliseconds (default 1000); doubles each retry, with jitter. */
  minBackoffMs: z.number().int().min(0).optional(),
  /** Longest backoff in milliseconds (default 60 000). */
  maxBackoffMs: z.number().int().min(0).optional(),
  /** Longest `Retry-After` honoured, in milliseconds (default 120 000); a longer one fails the call. */
  maxRetryAfterMs: z.number().int().min(0).optional(),
  /** Time the first attempt may take (default: none). A timed-out attempt is retried with twice as long. */
  timeoutMs: z.number().int().positive().optional(),
  /** Longest time one attempt may get after doubling (default 8 x `timeoutMs`, at least 10 minutes). */
  maxTimeoutMs: z.number().int().positive().optional(),
});
export type RemoteCallPolicy = z.input<typeof remoteCallPolicySchema>;

/** What one attempt gets: its signal (aborted at its time limit) and that limit. */
export interface AttemptContext {
  readonly signal: AbortSignal;
  /** This attempt's time limit in milliseconds, or undefined for none. */
  readonly timeoutMs: number | undefined;
  /** 1 for the first attempt. */
  readonly attempt: number;
}

/** Hooks and injected clock of {@link callWithRetry}. */
export interface CallWithRetryOptions extends RemoteCallPolicy {
  /** The service, for timeout errors. */
  service: string;
  /** Stops retrying and abandons the attempt in flight. */
  signal?: AbortSignal;
  /** Retry timed-out attempts (default true); false hands a timeout back at once (e.g. to split a batch). */
  retryTimeouts?: boolean;
  /** Called before each retry with the failure and the wait in milliseconds. */
  onRetry?: (error: RemoteCallError, waitMs: number) => void;
  /** Called for each attempt that timed out: the service may have done and billed it. */
  onPossiblyBilled?: (error: RemoteCallError) => void;
  /** Waits `ms` milliseconds (injected by tests; default a timer). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** A number in [0, 1) for the jitter (injected by tests). */
  random?: () => number;
}

/** Doubles a time limit after a timeout, up to the cap. */
export function nextTimeout(timeoutMs: number, maxTimeoutMs: number): number {
  return Math.min(timeoutMs * 2, maxTimeoutMs);
}

/** The cap of a policy's attempt time. */
export function resolveMaxTimeout(policy: RemoteCallPolicy): number | undefined {
  if (policy.timeoutMs === undefined) return undefined;
  return policy.maxTimeoutMs ?? Math.max(policy.timeoutMs * 8, 600_000);
}

/**
 * Runs `attempt` under the one retry policy of this library (p-retry): retryable failures (429,
 * 5xx, timeouts, dropped connections) are tried again after an exponential backoff with jitter,
 * at least as long as the service's `Retry-After`; anything else fails at once. An attempt that
 * times out is aborted and the next one gets twice as long (up to `maxTimeoutMs`), so a slow
 * service is not billed again and again for answers that always arrive too late. Every client's
 * own retries are switched off: this is the only place that retries.
 */
export async function callWithRetry<T>(attempt: (context: AttemptContext) => Promise<T>, options: CallWithRetryOptions): Promise<T> {
  const policy = parseOptions(remoteCallPolicySchema, {
    retries: options.retries,
    minBackoffMs: options.minBackoffMs,
    maxBackoffMs: options.maxBackoffMs,
    maxRetryAfterMs: options.maxRetryAfterMs,
    timeoutMs: options.timeoutMs,
    maxTimeoutMs: options.maxTimeoutMs,
  }, "callWithRetry");
  const retries = policy.retries ?? 6;
  const minBackoffMs = policy.minBackoffMs ?? 1000;
  const maxBackoffMs = policy.maxBackoffMs ?? 60_000;
  const maxRetryAfterMs = policy.maxRetryAfterMs ?? 120_000;
  const maxTimeoutMs = resolveMaxTimeout(policy);
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  let timeoutMs = policy.timeoutMs;

  return pRetry(
    async (attemptNumber) => {
      options.signal?.throwIfAborted();
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(options.signal?.reason);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      let timer: NodeJS.Timeout | undefined;
      const limit = timeoutMs;
      try {
        const attempted = attempt({ signal: controller.signal, timeoutMs: limit, attempt: attemptNumber });
        return await (limit === undefined
          ? attempted
          : Promise.race([
              attempted,
              new Promise<never>((_resolve, reject) => {
                timer = setTimeout(() => {
                  const error = new RemoteTimeoutError(options.service, limit);
                  controller.abort(error);
                  reject(error);
                }, limit);
              }),
            ]));
      } catch (error) {
        // An abort of the whole call is not the service's failure: hand it back untouched.
        if (options.signal?.aborted) throw new AbortError(toError(options.signal.reason ?? error));
        const timedOut = error instanceof RemoteCallError && error.timedOut;
        if (timedOut) {
          options.onPossiblyBilled?.(error);
          if (limit !== undefined && maxTimeoutMs !== undefined) timeoutMs = nextTimeout(limit, maxTimeoutMs);
          if (options.retryTimeouts === false) throw new AbortError(error);
        }
        if (!(error instanceof RemoteCallError) || !error.isRetryable) throw new AbortError(toError(error));
        if (error.retryAfterMs !== undefined && error.retryAfterMs > maxRetryAfterMs) throw new AbortError(error);
        throw error;
      } finally {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
      }
    },
    {
      retries,
      // The backoff is waited for in onFailedAttempt, through the injectable sleep.
      minTimeout: 0,
      maxTimeout: 0,
      factor: 1,
      ...(options.signal ? { signal: options.signal } : {}),
      onFailedAttempt: async ({ error, retriesLeft, retriesConsumed }) => {
        if (retriesLeft <= 0 || !(error instanceof RemoteCallError)) return;
        const backoff = Math.min(maxBackoffMs, minBackoffMs * 2 ** retriesConsumed * (1 + random()));
        const waitMs = Math.max(backoff, error.retryAfterMs ?? 0);
        options.onRetry?.(error, waitMs);
        if (waitMs > 0) await sleep(waitMs, options.signal);
      },
    },
  );
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(toError(signal.reason));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(toError(signal?.reason));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
