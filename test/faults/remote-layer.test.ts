import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  callWithRetry,
  parseRetryAfter,
  redactSecrets,
  registerSecret,
  RemoteCallError,
  debugLoggingWarning,
} from "../../src/remote/index";
import { createDeepL } from "../../src/translate/providers/deepl";
import { translateDocuments } from "../../src/translate/translate-documents";
import { openTranslationCache } from "../../src/translate/translation-cache";
import { createOpenAICompatibleJudge, judgeMtBench } from "../../src/eval/index";
import { startDeepLServer } from "../servers/deepl-server";
import { startOpenAIServer } from "../servers/openai-server";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeTemporaryDirectory = useTemporaryDirectories();

/** A sleep that records what it was asked to wait and returns at once: tests never wait on wall time. */
function recordingSleep(): { waits: number[]; sleep: (ms: number) => Promise<void> } {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

const busy = (retryAfterMs?: number) =>
  new RemoteCallError("busy", { service: "test", statusCode: 429, isRetryable: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });

describe("callWithRetry: the one retry policy", () => {
  it("honours Retry-After through the injected sleep, and backs off exponentially otherwise", async () => {
    const { waits, sleep } = recordingSleep();
    let calls = 0;
    const result = await callWithRetry(
      async () => {
        calls++;
        if (calls === 1) throw busy(7_000);
        if (calls === 2) throw busy();
        return "ok";
      },
      { service: "test", minBackoffMs: 100, sleep, random: () => 0 },
    );
    expect(result).toBe("ok");
    expect(waits).toEqual([7_000, 200]);
  });

  it("fails at once on a non-retryable error and on a Retry-After beyond the cap", async () => {
    const { sleep } = recordingSleep();
    let calls = 0;
    const fatal = new RemoteCallError("bad request", { service: "test", statusCode: 400, isRetryable: false });
    await expect(callWithRetry(async () => (calls++, Promise.reject(fatal)), { service: "test", sleep })).rejects.toBe(fatal);
    expect(calls).toBe(1);
    await expect(callWithRetry(async () => Promise.reject(busy(10 * 60_000)), { service: "test", sleep })).rejects.toThrow("busy");
  });

  it("gives a timed-out attempt twice the time, up to the cap, and counts each timeout as possibly billed", async () => {
    const limits: (number | undefined)[] = [];
    let possiblyBilled = 0;
    const result = await callWithRetry(
      async ({ timeoutMs, signal }) => {
        limits.push(timeoutMs);
        if (limits.length < 4) {
          await new Promise((resolve) => signal.addEventListener("abort", resolve));
          return "late";
        }
        return "on time";
      },
      { service: "test", timeoutMs: 20, maxTimeoutMs: 50, minBackoffMs: 0, onPossiblyBilled: () => possiblyBilled++ },
    );
    expect(result).toBe("on time");
    expect(limits).toEqual([20, 40, 50, 50]);
    expect(possiblyBilled).toBe(3);
  });

  it("reads Retry-After as seconds, HTTP dates and retry-after-ms (one parser)", () => {
    expect(parseRetryAfter("2")).toBe(2000);
    expect(parseRetryAfter(new Headers({ "retry-after-ms": "150", "retry-after": "9" }))).toBe(150);
    expect(parseRetryAfter({ "Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT" }, Date.parse("Wed, 21 Oct 2015 07:28:00 GMT"))).toBe(10_000);
    expect(parseRetryAfter(new Headers())).toBeUndefined();
  });
});

describe("RemoteCallError: redacted message and cause chain", () => {
  it("never carries a key, whatever the client put in its error", () => {
    registerSecret("REGISTERED-SECRET-4242");
    const inner = Object.assign(new Error("GET https://x/?key=AIzaQUERYKEY-1 failed: Authorization: DeepL-Auth-Key HEADERKEY-9:fx"), {
      config: { headers: { Authorization: "Bearer sk-abcdefghijklmnop" } },
    });
    const error = new RemoteCallError("call failed with REGISTERED-SECRET-4242 and hf_abcdefghijklmn", {
      service: "test",
      isRetryable: false,
      cause: new Error("outer", { cause: inner }),
    });
    const serialised = JSON.stringify(error, Object.getOwnPropertyNames(error)) + String(error.stack) + describeChain(error);
    for (const secret of ["REGISTERED-SECRET-4242", "hf_abcdefghijklmn", "AIzaQUERYKEY-1", "HEADERKEY-9", "sk-abcdefghijklmnop"]) {
      expect(serialised).not.toContain(secret);
    }
    expect(error.cause).toBeInstanceOf(Error);
    expect(((error.cause as Error).cause as Error & { config?: unknown }).config).toBeUndefined();
    expect(redactSecrets("x DEEPL-ENV-KEY-1 y", { DEEPL_AUTH_KEY: "DEEPL-ENV-KEY-1" })).toBe("x [REDACTED] y");
  });

  it("warns when NODE_DEBUG would print request headers while a key is set", () => {
    expect(debugLoggingWarning({ NODE_DEBUG: "http", DEEPL_AUTH_KEY: "k-1234" })).toMatch(/NODE_DEBUG=http .*DEEPL_AUTH_KEY/);
    expect(debugLoggingWarning({ NODE_DEBUG: "http" })).toBeUndefined();
    expect(debugLoggingWarning({ DEEPL_AUTH_KEY: "k-1234" })).toBeUndefined();
  });
});

function describeChain(error: unknown): string {
  let text = "";
  for (let current = error; current instanceof Error; current = current.cause) text += `${current.message} ${JSON.stringify(current)} `;
  return text;
}

describe("a slow service is not billed forever (repro: DeepL 1,500 ms latency, 1,000 ms timeout)", () => {
  it("translates everything with longer timeouts and smaller batches, and reports the timed-out requests as possibly billed", async () => {
    const server = await startDeepLServer({ latencyMs: 300 });
    const directory = await makeTemporaryDirectory();
    const cache = await openTranslationCache({ path: join(directory, "cache.jsonl") });
    try {
      const documents = Array.from({ length: 12 }, (_, index) => `Sentence number ${index} is about apples and pears.`);
      const { translations, report } = await translateDocuments({
        documents,
        from: "en",
        to: "de",
        provider: createDeepL({ baseUrl: server.url, apiKey: "test-key" }),
        cache,
        retry: { timeoutMs: 200, minBackoffMs: 0 },
      });
      expect(translations.every((text, index) => text !== documents[index])).toBe(true);
      expect(report.possiblyBilledRequests).toBeGreaterThan(0);
      // The service billed what was answered in time plus at most the timed-out attempts: never more.
      expect(server.billedCharacters).toBeLessThanOrEqual(report.billedCharacters + report.possiblyBilledCharacters);
      expect(report.billedCharacters).toBe(report.characters);
      expect(server.requests.length).toBeLessThanOrEqual(1 + report.possiblyBilledRequests + 2 * 12);
    } finally {
      await cache.close();
      await server.close();
    }
    const lines = (await readFile(join(directory, "cache.jsonl"), "utf8")).trim().split("\n");
    expect(lines).toHaveLength(12);
  });

  it("the judge too: a slow endpoint gets longer timeouts, every judgment arrives, timed-out calls are counted", async () => {
    const server = await startOpenAIServer({
      handle: async () => {
        await new Promise((resolve) => setTimeout(resolve, 250));
        return "Rating: [[7]]";
      },
    });
    const out = await makeTemporaryDirectory();
    const fixtures = join(import.meta.dirname, "../../fixtures/mt-bench");
    try {
      const summary = await judgeMtBench({
        bench: join(fixtures, "mt-bench-x"),
        answers: join(fixtures, "answers"),
        out,
        provider: createOpenAICompatibleJudge({ model: "judge-model", baseUrl: server.baseUrl, apiKey: "judge-key" }),
        languages: ["DE"],
        retry: { timeoutMs: 150, minBackoffMs: 0 },
      });
      expect(summary.failedCalls).toBe(0);
      expect(summary.possiblyBilledCalls).toBeGreaterThan(0);
      expect(summary.errors).toEqual([]);
      expect(server.requests.length).toBeGreaterThanOrEqual(summary.calls);
      expect(server.requests.length).toBeLessThanOrEqual(summary.calls + summary.possiblyBilledCalls);
    } finally {
      await server.close();
    }
  });
});


describe("Google v3 errors carry gRPC codes, not HTTP statuses", () => {
  it("maps UNAVAILABLE 14 and RESOURCE_EXHAUSTED 8 to retryable errors and UNAUTHENTICATED 16 to an auth error", async () => {
    const { toGoogleCallError } = await import("../../src/translate/providers/google");
    const { RemoteAuthError } = await import("../../src/remote/index");
    const grpc = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details });
    const unavailable = toGoogleCallError(grpc(14, "Connection dropped"), "v3") as RemoteCallError;
    expect(unavailable).toBeInstanceOf(RemoteCallError);
    expect(unavailable.isRetryable).toBe(true);
    expect(unavailable.message).toMatch(/gRPC 14 UNAVAILABLE/);
    expect(unavailable.message).not.toMatch(/HTTP 14/);
    const exhausted = toGoogleCallError(grpc(8, "Quota exceeded for requests per minute"), "v3") as RemoteCallError;
    expect(exhausted.isRetryable).toBe(true);
    expect(exhausted.statusCode).toBe(429);
    const unauthenticated = toGoogleCallError(grpc(16, "Request had invalid authentication credentials"), "v3");
    expect(unauthenticated).toBeInstanceOf(RemoteAuthError);
    expect((unauthenticated as RemoteCallError).isRetryable).toBe(false);
    const badRequest = toGoogleCallError(Object.assign(new Error("Bad Request"), { code: 400 }), "v2") as RemoteCallError;
    expect(badRequest.isRetryable).toBe(false);
    expect(badRequest.message).toMatch(/HTTP 400/);
  });
});
