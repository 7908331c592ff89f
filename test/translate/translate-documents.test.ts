import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeepL } from "../../src/translate/providers/deepl";
import { createCacheOnlyTranslator } from "../../src/translate/providers/cache-only";
import { translateDocuments } from "../../src/translate/translate-documents";
import { openTranslationCache, type TranslationCache } from "../../src/translate/translation-cache";
import { TranslationCacheMissError, TranslationQuotaError } from "../../src/translate/translation-errors";
import { startDeepLServer, type DeepLServer } from "../servers/deepl-server";
import { TEST_KEY } from "./provider-harness";
import { useTemporaryDirectories } from "../support/temporary-directory";

const FAST_RETRY = { minBackoffMs: 1, maxBackoffMs: 5, timeoutMs: 5000 };

/** LIMA-like answers: prose, code, lists; some paragraphs repeat across documents. */
function corpus(count: number): string[] {
  return Array.from({ length: count }, (_, index) =>
    [
      `Question ${index}: how do I read a file in Python?`,
      "",
      "You can use the built-in `open` function with a `with` block:",
      "",
      "```python",
      `with open("data-${index}.txt") as handle:`,
      "    text = handle.read()",
      "```",
      "",
      `* This is step ${index % 7} of the answer, with [a link](https://docs.python.org/3/library/functions.html#open).`,
      "* Thanks for reading, and good luck!",
    ].join("\n"),
  );
}

describe("translateDocuments with a DeepL-compatible server", () => {
  let server: DeepLServer;
  let directory: string;
  const temporaryDirectory = useTemporaryDirectories({ prefix: "translate-documents-" });
  let cache: TranslationCache;

  beforeEach(async () => {
    server = await startDeepLServer({ authKey: TEST_KEY });
    directory = await temporaryDirectory();
    cache = await openTranslationCache({ path: join(directory, "cache.jsonl") });
  });
  afterEach(async () => {
    await cache.close();
    await server.close();
  });

  const provider = (options: { maxSegmentsPerRequest?: number } = {}) =>
    createDeepL({ apiKey: TEST_KEY, baseUrl: server.url, env: {}, ...options });

  it("sends each distinct segment once, keeps code identical and a second run sends nothing", async () => {
    const documents = corpus(30);
    const first = await translateDocuments({ documents, from: "en", to: "de", provider: provider(), cache, retry: FAST_RETRY });
    expect(first.translations).toHaveLength(30);
    first.translations.forEach((translation, index) => {
      expect(translation).toContain(`\`\`\`python\nwith open("data-${index}.txt") as handle:\n    text = handle.read()\n\`\`\``);
      expect(translation).toContain("`open`");
    });
    const sent = server.translatedTexts;
    expect(new Set(sent).size).toBe(sent.length);
    expect(sent.join("\n")).not.toContain("handle.read");
    expect(first.report.billedCharacters).toBe(server.billedCharacters);
    expect(first.report.serviceBilledCharacters).toBe(server.billedCharacters);
    expect(first.report.cachedSegments).toBe(0);
    // Every request within DeepL's limits.
    for (const request of server.requests) expect(request.texts.length).toBeLessThanOrEqual(50);
    expect(server.requests[0]?.params.tag_handling).toEqual(["xml"]);
    expect(server.requests[0]?.params.ignore_tags).toEqual(["x"]);

    const billedBefore = server.billedCharacters;
    const requestsBefore = server.requests.length;
    const second = await translateDocuments({ documents, from: "en", to: "de", provider: provider(), cache, retry: FAST_RETRY });
    expect(server.requests.length).toBe(requestsBefore);
    expect(server.billedCharacters).toBe(billedBefore);
    expect(second.report.billedCharacters).toBe(0);
    expect(second.report.cachedSegments).toBe(second.report.uniqueSegments);
    expect(second.translations).toEqual(first.translations);
  });

  it("dry run sends nothing and estimates exactly what the server then bills", async () => {
    const documents = corpus(12);
    const dry = await translateDocuments({ documents, from: "en", to: "fr", provider: provider(), cache, dryRun: true });
    expect(server.requests).toHaveLength(0);
    expect(dry.translations).toEqual(documents);
    expect(dry.report.estimatedCost?.currency).toBe("EUR");
    await translateDocuments({ documents, from: "en", to: "fr", provider: provider(), cache, retry: FAST_RETRY });
    expect(Math.abs(dry.report.billedCharacters - server.billedCharacters)).toBeLessThanOrEqual(server.billedCharacters * 0.01);
  });

  it("packs requests up to the segment limit and never exceeds the concurrency", async () => {
    // Requests in flight are counted around the provider's call, from its start to its answer (no
    // timer guesses when a request ended); the server's delay only makes requests overlap.
    let inFlight = 0;
    let most = 0;
    server.options = { authKey: TEST_KEY, fault: () => ({ delayMs: 40 }) };
    const deepl = provider({ maxSegmentsPerRequest: 5 });
    const counted: typeof deepl = {
      ...deepl,
      async doTranslate(request) {
        inFlight++;
        most = Math.max(most, inFlight);
        try {
          return await deepl.doTranslate(request);
        } finally {
          inFlight--;
        }
      },
    };
    const documents = Array.from({ length: 60 }, (_, index) => `Paragraph number ${index} is here.`);
    await translateDocuments({ documents, from: "en", to: "it", provider: counted, cache, concurrency: 3, retry: FAST_RETRY });
    expect(server.requests).toHaveLength(12);
    expect(server.requests.every((request) => request.texts.length === 5)).toBe(true);
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThan(1);
  });

  it("stops cleanly on quota exhaustion (456) and a rerun finishes the job without resending", async () => {
    const documents = corpus(20);
    server.options = { authKey: TEST_KEY, characterLimit: 600 };
    const error = await translateDocuments({
      documents,
      from: "en",
      to: "es",
      provider: provider({ maxSegmentsPerRequest: 4 }),
      cache,
      concurrency: 1,
      retry: FAST_RETRY,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TranslationQuotaError);
    expect((error as Error).message).toMatch(/run the same command again/i);
    const paidFirst = new Set(server.translatedTexts);
    expect(paidFirst.size).toBeGreaterThan(0);

    server.options = { authKey: TEST_KEY };
    const rerun = await translateDocuments({ documents, from: "en", to: "es", provider: provider(), cache, retry: FAST_RETRY });
    const all = server.translatedTexts;
    expect(new Set(all).size).toBe(all.length);
    expect(rerun.report.cachedSegments).toBe(paidFirst.size);

    // Same output as a run that was never interrupted.
    const freshCache = await openTranslationCache({ path: join(directory, "fresh.jsonl") });
    const uninterrupted = await translateDocuments({ documents, from: "en", to: "es", provider: provider(), cache: freshCache, retry: FAST_RETRY });
    await freshCache.close();
    expect(rerun.translations).toEqual(uninterrupted.translations);
  });

  it("the cache provider replays a recorded run offline and lists what is missing", async () => {
    const documents = corpus(3);
    const live = await translateDocuments({ documents, from: "en", to: "de", provider: provider(), cache, retry: FAST_RETRY });
    await server.close();
    const replay = await translateDocuments({ documents, from: "en", to: "de", provider: createCacheOnlyTranslator(), cache });
    expect(replay.translations).toEqual(live.translations);
    expect(replay.report.provider).toBe("deepl");

    const dry = await translateDocuments({ documents: ["A new sentence nobody translated."], from: "en", to: "de", provider: createCacheOnlyTranslator(), cache, dryRun: true });
    expect(dry.report.missingSegments).toBe(1);
    const error = await translateDocuments({ documents: ["A new sentence nobody translated."], from: "en", to: "de", provider: createCacheOnlyTranslator(), cache }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TranslationCacheMissError);
    expect((error as Error).message).toContain("A new sentence nobody translated.");
    server = await startDeepLServer();
  });

  it("keeps the lines of a multi-line paragraph and shows the translator a space at each break", async () => {
    const poem = "> The first water is good\n> the best book is new\n\n- read the list\n  write the answer";
    const { translations } = await translateDocuments({ documents: [poem], from: "en", to: "de", provider: provider(), cache, retry: FAST_RETRY });
    expect(translations[0]).toBe("> Die erste Wasser ist gut\n> die beste Buch ist neu\n\n- lies die Liste\n  schreibe die Antwort");
    expect(server.translatedTexts).toContain('The first water is good <x id="0"/> the best book is new');
  });

  it("keeps template fields of a judge prompt when given as protect patterns", async () => {
    const template =
      "Please act as an impartial judge and rate the answer below on a scale of 1 to 10, " +
      'strictly in this format: "[[rating]]", for example: "Rating: [[5]]".\n\n[Question]\n{question}\n\n[The Start of Answer]\n{answer}\n[The End of Answer]';
    const { translations } = await translateDocuments({
      documents: [template],
      from: "en",
      to: "de",
      provider: provider(),
      cache,
      retry: FAST_RETRY,
      protectPatterns: [/\{[a-z_]+\}/g, /\[\[[^\]]*\]\]/g],
    });
    const output = translations[0]!;
    for (const kept of ["{question}", "{answer}", "[[rating]]", "[[5]]"]) expect(output.split(kept)).toHaveLength(2);
    expect(server.translatedTexts.join("\n")).not.toContain("{question}");
  });

  it("applies human corrections and flags untranslated output", async () => {
    server.options = { authKey: TEST_KEY, translate: (text) => (text.startsWith("Zebras") ? text : `Übersetzt: ${text}`) };
    const documents = ["Zebras graze quietly near riverbanks.\n\nHorses gallop across open meadows."];
    const corrected = await translateDocuments({
      documents,
      from: "en",
      to: "de",
      provider: provider(),
      cache,
      retry: FAST_RETRY,
      corrections: [{ to: "de", source: "Horses gallop across open meadows.", translation: "Pferde galoppieren über offene Wiesen." }],
    });
    expect(corrected.translations[0]).toBe("Zebras graze quietly near riverbanks.\n\nPferde galoppieren über offene Wiesen.");
    expect(corrected.report.correctedSegments).toBe(1);
    expect(corrected.report.issues.map((issue) => issue.kind)).toEqual(["untranslated"]);
  });
});
