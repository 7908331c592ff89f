// Child process for the kill-and-resume test: translates the LIMA fixture through a DeepL-compatible
// server with the library bundle named by TRANSLATE_LIBRARY, one request at a time.
const library = await import(process.env.TRANSLATE_LIBRARY);
const [input, outDir, cachePath, baseUrl] = process.argv.slice(2);
const cache = await library.openTranslationCache({ path: cachePath });
try {
  const summary = await library.translateCorpus({
    input,
    from: "en",
    to: ["de", "fr"],
    provider: library.createDeepL({ apiKey: "resume-key", baseUrl, maxSegmentsPerRequest: 4, env: {} }),
    cache,
    outDir,
    concurrency: 1,
    retry: { minBackoffMs: 1, maxBackoffMs: 5 },
  });
  process.stdout.write(JSON.stringify({ billed: Object.values(summary.languages).map((language) => language.billedCharacters) }) + "\n");
} finally {
  await cache.close();
}
