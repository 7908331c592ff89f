import { describe, expect, it } from "vitest";
import { requestWithRetry } from "../../src/translate/retry-request";
import { TranslationServiceError, parseRetryAfter } from "../../src/translate/translation-errors";

const retryable = (retryAfterMs?: number) =>
  new TranslationServiceError("busy", { provider: "test", statusCode: 429, isRetryable: true, ...(retryAfterMs ? { retryAfterMs } : {}) });

describe("requestWithRetry", () => {
  it("waits at least the Retry-After the service asked for", async () => {
    let attempts = 0;
    const started = performance.now();
    const result = await requestWithRetry(
      async () => {
        attempts++;
        if (attempts === 1) throw retryable(150);
        return "ok";
      },
      { provider: "test", minTimeoutMs: 1, maxTimeoutMs: 2 },
    );
    expect(result).toBe("ok");
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("does not retry errors that are not retryable, and gives up after the retries", async () => {
    let attempts = 0;
    const fatal = new TranslationServiceError("bad request", { provider: "test", statusCode: 400, isRetryable: false });
    await expect(
      requestWithRetry(async () => {
        attempts++;
        throw fatal;
      }, { provider: "test", minTimeoutMs: 1 }),
    ).rejects.toBe(fatal);
    expect(attempts).toBe(1);

    attempts = 0;
    await expect(
      requestWithRetry(async () => {
        attempts++;
        throw retryable();
      }, { provider: "test", retries: 2, minTimeoutMs: 1, maxTimeoutMs: 2 }),
    ).rejects.toThrow("busy");
    expect(attempts).toBe(3);
  });

  it("parses Retry-After seconds and HTTP dates", () => {
    expect(parseRetryAfter("2")).toBe(2000);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:10 GMT", Date.parse("Wed, 21 Oct 2015 07:28:00 GMT"))).toBe(10_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
