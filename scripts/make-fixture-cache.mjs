#!/usr/bin/env node
// Regenerates fixtures/translation-cache/, the translation cache the bundled fixture study ships so that
// `build-datasets build` translates the LIMA fixture offline with the `cache` provider.
//
//   node scripts/make-fixture-cache.mjs
//
// It runs the real engine (src/translate, bundled on the fly with esbuild) against the project's fake
// DeepL server (test/servers/deepl-server.ts), which answers every segment of the LIMA fixture with the
// reference translation written for it (EN -> DE/FR/IT/ES) in test/servers/fixture-translations.json.
// After changing fixtures/lima/train.jsonl, add the new segments (the texts the server receives) to that
// table first; segments missing from it get the fake server's word-by-word dictionary stand-in. The
// provider identity recorded in the cache is `deepl:label=fixture-reference`; provider.json says so.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const INPUT = join(ROOT, "fixtures/lima/train.jsonl");
const CACHE_DIRECTORY = join(ROOT, "fixtures/translation-cache");
const LANGUAGES = ["de", "fr", "it", "es"];
const LABEL = "fixture-reference";

/** Bundles TypeScript entry points into node_modules/.cache (so packages resolve) and imports them. */
async function importTypeScript(entries) {
  const outdir = join(ROOT, "node_modules/.cache/polyglot-make-fixture-cache");
  await build({
    entryPoints: entries,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    outdir,
    outbase: ROOT,
    logLevel: "silent",
  });
  return Promise.all(
    entries.map((entry) => import(pathToFileURL(join(outdir, relative(ROOT, entry).replace(/\.ts$/, ".js"))).href)),
  );
}

const [library, servers, fake] = await importTypeScript([
  join(ROOT, "src/translate/index.ts"),
  join(ROOT, "test/servers/deepl-server.ts"),
  join(ROOT, "test/servers/fake-translation.ts"),
]);
const server = await servers.startDeepLServer();
const cachePath = join(CACHE_DIRECTORY, library.CACHE_FILE_NAME);
await mkdir(CACHE_DIRECTORY, { recursive: true });
await rm(cachePath, { force: true });
const scratch = await mkdtemp(join(tmpdir(), "fixture-cache-"));
const provider = library.createDeepL({ apiKey: "fixture-not-a-secret", baseUrl: server.url, label: LABEL, env: {} });
const cache = await library.openTranslationCache({ path: cachePath });
try {
  const summary = await library.translateCorpus({ input: INPUT, from: "en", to: LANGUAGES, provider, cache, outDir: scratch });
  for (const [lang, report] of Object.entries(summary.languages)) {
    process.stdout.write(`en->${lang}: ${report.uniqueSegments} segments, ${report.billedCharacters} characters\n`);
  }
  // Segments without a reference translation got the dictionary stand-in: say which, so they can be added.
  const missing = new Set();
  for (const request of server.requests) {
    for (const text of request.texts) {
      if (fake.fixtureTranslation(text, request.targetLang) === undefined) missing.add(`${request.targetLang}: ${text}`);
    }
  }
  if (missing.size > 0) {
    process.stderr.write(
      `warning: ${missing.size} segment(s) have no reference translation in test/servers/fixture-translations.json ` +
        `and got the dictionary stand-in:\n${[...missing].map((line) => `  ${line}`).join("\n")}\n`,
    );
  }
} finally {
  await cache.close();
  await server.close();
  await rm(scratch, { recursive: true, force: true });
}

// Requests finish in any order: sort the lines so the shipped file is the same on every run.
const lines = (await readFile(cachePath, "utf8")).trimEnd().split("\n");
const key = (line) => {
  const entry = JSON.parse(line);
  return `${entry.to}\u0000${entry.source}`;
};
lines.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
await writeFile(cachePath, lines.join("\n") + "\n");
await writeFile(
  join(CACHE_DIRECTORY, "provider.json"),
  JSON.stringify(
    {
      provider: provider.id,
      from: "en",
      to: LANGUAGES,
      input: relative(ROOT, INPUT),
      generatedBy: "scripts/make-fixture-cache.mjs",
      note: "Reference translations written for the LIMA fixture (test/servers/fixture-translations.json), replayed through the project's fake DeepL server, for offline tests and demos.",
    },
    null,
    2,
  ) + "\n",
);
process.stdout.write(`wrote ${relative(ROOT, cachePath)} (${lines.length} entries) and provider.json\n`);
