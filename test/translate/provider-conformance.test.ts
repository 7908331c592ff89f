import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { translateDocuments } from "../../src/translate/translate-documents";
import { openTranslationCache, type TranslationCache } from "../../src/translate/translation-cache";
import { RemoteAuthError } from "../../src/remote/index";
import { MissingApiKeyError } from "../../src/translate/translation-errors";
import { harnesses, TEST_KEY, type ProviderHarness } from "./provider-harness";
import { useTemporaryDirectories } from "../support/temporary-directory";

const FAST_RETRY = { minBackoffMs: 1, maxBackoffMs: 5, timeoutMs: 5000 };

const DOCUMENT = [
  "To count words, use the `split` function of the string:",
  "",
  "```python",
  "def count_words(text):",
  "    return len(text.split())",
  "```",
  "",
  "See the [example](https://example.com/a_(b)) for more.",
].join("\n");

// One suite, every provider: a new provider is a few lines in provider-harness.ts.
describe.each(harnesses)("provider conformance: $name", (factory) => {
  let harness: ProviderHarness;
  let directory: string;
  const temporaryDirectory = useTemporaryDirectories({ prefix: `conformance-${factory.name}-` });
  let cache: TranslationCache;

  beforeEach(async () => {
    harness = await factory.start();
    directory = await temporaryDirectory();
    cache = await openTranslationCache({ path: join(directory, "cache.jsonl") });
  });
  afterEach(async () => {
    await cache.close();
    await harness.close();
  });

  const run = (documents: string[], extra: Partial<Parameters<typeof translateDocuments>[0]> = {}) =>
    translateDocuments({ documents, from: "en", to: "de", provider: harness.provider(), cache, retry: FAST_RETRY, ...extra });

  it("translates prose through the real client; code is never sent and comes back byte-identical", async () => {
    const { translations, report } = await run([DOCUMENT]);
    const output = translations[0]!;
    expect(output).toContain("```python\ndef count_words(text):\n    return len(text.split())\n```");
    expect(output).toContain("`split`");
    expect(output).toContain("(https://example.com/a_(b))");
    expect(output).toContain("Funktion");
    expect(output).not.toBe(DOCUMENT);
    const sent = harness.sentTexts().join("\n");
    expect(sent).not.toContain("count_words");
    expect(sent).not.toContain("split`");
    expect(sent).not.toContain("example.com");
    expect(report.issues.filter((issue) => issue.kind.startsWith("placeholders"))).toEqual([]);
  });

  it("reads the key lazily and names the option and the environment variable when it is missing", async () => {
    const provider = harness.providerWithoutKey();
    const error = await provider.doTranslate({ texts: ["Hello"], from: "en", to: "de" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MissingApiKeyError);
    expect((error as Error).message).toContain(harness.keyVariable);
    expect((error as Error).message).toContain("apiKey");
  });

  it("reports a rejected key as an auth error naming the variable, without leaking the key", async () => {
    const error = await translateDocuments({
      documents: ["Hello world"],
      from: "en",
      to: "de",
      provider: harness.providerWithWrongKey(),
      cache,
      retry: FAST_RETRY,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RemoteAuthError);
    expect((error as Error).message).toContain(harness.keyVariable);
    expect((error as Error).message).not.toContain("wrong-key");
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain("wrong-key");
  });

  it("retries 429, 503, 500 and dropped connections, then completes", async () => {
    const faults = [{ status: 429, retryAfter: "0" }, { status: 503 }, { drop: true as const }, { status: 500 }];
    harness.setFault((index) => faults[index]);
    const { translations, report } = await run(["The first answer is good."]);
    expect(translations[0]).toBe("Die erste Antwort ist gut.");
    expect(report.retries).toBe(4);
    expect(report.requests).toBe(1);
  });

  // deepl-node does not expose response headers, so only the backoff applies there.
  it.skipIf(factory.name === "deepl")("waits at least what Retry-After asks for", async () => {
    harness.setFault((index) => (index === 0 ? { status: 429, retryAfter: "7" } : undefined));
    // The injected sleep records the waits and returns at once: no test waits on (or measures) wall time.
    const waits: number[] = [];
    const { translations } = await run(["The answer is good."], { sleep: async (ms) => void waits.push(ms) });
    expect(translations[0]).toBe("Die Antwort ist gut.");
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(7_000);
  });

  it("retries a request that times out", async () => {
    harness.setFault((index) => (index === 0 ? { delayMs: 1500 } : undefined));
    const { translations, report } = await run(["The answer is good."], { retry: { ...FAST_RETRY, timeoutMs: 300 } });
    expect(translations[0]).toBe("Die Antwort ist gut.");
    expect(report.retries).toBeGreaterThanOrEqual(1);
  });

  it("repairs a segment whose placeholders did not survive by translating prose runs one by one", async () => {
    harness.dropPlaceholders(true);
    // Repro: progress showed more done than total (404/228 segments) when repairs were re-sent.
    const progress: { done: number; total: number }[] = [];
    const { translations, report } = await run(["Use the `split` function for the words.", "Call `len` on the list, then `sorted` on the result."], {
      onProgress: (event) => progress.push({ done: event.doneSegments, total: event.totalSegments }),
    });
    expect(progress.length).toBeGreaterThan(0);
    for (const event of progress) expect(event.done).toBeLessThanOrEqual(event.total);
    expect(progress.at(-1)!.done).toBe(progress.at(-1)!.total);
    expect(translations[0]).toBe("Verwende die `split` Funktion für die Wörter.");
    expect(report.strictSegments).toBe(2);
    expect(report.issues.map((issue) => issue.kind)).toContain("placeholders-repaired");
    // A rerun replays the repaired translation from the cache without sending anything.
    const sentBefore = harness.sentTexts().length;
    const again = await run(["Use the `split` function for the words.", "Call `len` on the list, then `sorted` on the result."]);
    expect(again.translations).toEqual(translations);
    expect(harness.sentTexts().length).toBe(sentBefore);
  });

  it("keeps keys out of the cache file", async () => {
    await run(["Hello world, this is a test."]);
    await cache.close();
    expect(await readFile(cache.path, "utf8")).not.toContain(TEST_KEY);
  });
});
