#!/usr/bin/env node
// Issue 3 acceptance benchmark: translation throughput against a local DeepL-compatible server.
//
//   node bench/translate-throughput.mjs                       # 1,030 conversations, 4 languages, 150 ms latency
//   node bench/translate-throughput.mjs --conversations 200 --latency 50 --concurrency 8
//
// It generates 1,030 LIMA-like conversations (30 multi-turn; prose, lists, code fences, inline code,
// links; seeded, so identical on every run), starts the project's fake DeepL server
// (test/servers/deepl-server.ts) with a fixed added latency per request, and translates the corpus into
// de, fr, it and es with a fresh cache through the real engine and deepl-node.
//
// The bound: with concurrency C and L seconds per request, at most C requests finish every L seconds,
// so a language needing R requests takes at least ceil(R / C) * L. Efficiency = that bound / measured
// wall time (segmentation, cache writes, quality checks and output files included).
// The issue asks for at least 80%. The lead records the printed figures in docs/performance.md.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    conversations: { type: "string", default: "1030" },
    latency: { type: "string", default: "150" },
    concurrency: { type: "string", default: "4" },
    languages: { type: "string", default: "de,fr,it,es" },
  },
});
const CONVERSATIONS = Number(values.conversations);
const LATENCY_MS = Number(values.latency);
const CONCURRENCY = Number(values.concurrency);
const LANGUAGES = values.languages.split(",");

/** Bundles TypeScript entry points into node_modules/.cache (so packages resolve) and imports them. */
async function importTypeScript(entries) {
  const outdir = join(ROOT, "node_modules/.cache/polyglot-bench-translate");
  await build({ entryPoints: entries, bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", outdir, outbase: ROOT, logLevel: "silent" });
  return Promise.all(
    entries.map(async (entry) => {
      const path = join(outdir, relative(ROOT, entry).replace(/\.ts$/, ".js"));
      return { path, ...(await import(pathToFileURL(path).href)) };
    }),
  );
}

/** Deterministic pseudo-random numbers (mulberry32), so the corpus is the same on every run. */
function seeded(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ("the a of to and in is that for it with as on be by this are from or have an they which one you were all we " +
  "can there use your how about when what some time would make like into him has look two more write go see number way could " +
  "people than first water been call who oil its now find long down day did get come made may part file list value function " +
  "answer question example result data table step code language book world good best new other many each read work").split(" ");

function generateCorpus(count) {
  const random = seeded(20240613);
  const pick = () => WORDS[Math.floor(random() * WORDS.length)];
  const sentence = (index) => {
    const length = 8 + Math.floor(random() * 14);
    const words = Array.from({ length }, pick);
    words[0] = words[0][0].toUpperCase() + words[0].slice(1);
    return `${words.join(" ")} ${index}.`;
  };
  const answer = (id) => {
    const parts = [];
    let n = 0;
    parts.push(`${sentence(`${id}-${n++}`)} Use \`item_${id}\` with the ${pick()} ${pick()}. ${sentence(`${id}-${n++}`)}`);
    parts.push(["```python", `def step_${id}(values):`, `    return [value * ${id} for value in values]`, "```"].join("\n"));
    for (let item = 0; item < 4; item++) parts.push(`* ${sentence(`${id}-${n++}`)} See [the docs](https://example.com/${id}/${item}).`);
    for (let paragraph = 0; paragraph < 3; paragraph++) parts.push(`${sentence(`${id}-${n++}`)} ${sentence(`${id}-${n++}`)} ${sentence(`${id}-${n++}`)}`);
    parts.push("Thanks for reading, and good luck!");
    return parts.join("\n\n");
  };
  return Array.from({ length: count }, (_, id) => {
    const turns = id < 30 ? 4 : 2;
    const conversations = Array.from({ length: turns }, (_, turn) => (turn % 2 === 0 ? `${sentence(`q${id}-${turn}`)} How do I do it?` : answer(`${id}${turn}`)));
    return JSON.stringify({ conversations, source: id < 30 ? "multi_turn" : "stackexchange" });
  });
}

/** Share of one core this process gets right now: spin for a second and compare CPU time to wall time. */
function measureCpuShare() {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  while (performance.now() - started < 1000) {
    // spin
  }
  const cpu = process.cpuUsage(cpuBefore);
  return (cpu.user + cpu.system) / 1000 / (performance.now() - started);
}

const [library, servers] = await importTypeScript([join(ROOT, "src/translate/index.ts"), join(ROOT, "test/servers/deepl-server.ts")]);
const directory = await mkdtemp(join(tmpdir(), "bench-translate-"));
const input = join(directory, "train.jsonl");
await writeFile(input, generateCorpus(CONVERSATIONS).join("\n") + "\n");
// The server runs in its own process, as a remote service would: its CPU time is not ours.
const serverProcess = spawn(
  process.execPath,
  ["--input-type=module", "-e", `const { startDeepLServer } = await import(${JSON.stringify(pathToFileURL(servers.path).href)});
const server = await startDeepLServer({ latencyMs: ${LATENCY_MS} });
process.stdout.write(server.url + "\\n");
process.stdin.resume();
process.stdin.on("end", () => server.close().then(() => process.exit(0)));`],
  { stdio: ["pipe", "pipe", "inherit"] },
);
const serverUrl = await new Promise((resolve, reject) => {
  serverProcess.stdout.once("data", (chunk) => resolve(chunk.toString().trim()));
  serverProcess.once("exit", (code) => reject(new Error(`the benchmark server exited (${code})`)));
});
const server = {
  url: serverUrl,
  async billed() {
    const response = await fetch(`${serverUrl}/v2/usage`, { headers: { authorization: "DeepL-Auth-Key bench" } });
    return (await response.json()).character_count;
  },
  close: async () => {
    serverProcess.stdin.end();
    await new Promise((resolve) => serverProcess.once("exit", resolve));
  },
};
const cache = await library.openTranslationCache({ path: join(directory, "cache.jsonl") });
const perLanguage = new Map();
try {
  const cpuShare = measureCpuShare();
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const summary = await library.translateCorpus({
    input,
    from: "en",
    to: LANGUAGES,
    provider: library.createDeepL({ apiKey: "bench", baseUrl: server.url, env: {} }),
    cache,
    outDir: join(directory, "out"),
    concurrency: CONCURRENCY,
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  let boundSeconds = 0;
  for (const lang of LANGUAGES) {
    const requests = summary.languages[lang].requests;
    boundSeconds += (Math.ceil(requests / CONCURRENCY) * LATENCY_MS) / 1000;
    perLanguage.set(lang, summary.languages[lang]);
  }
  const segments = [...perLanguage.values()].reduce((sum, report) => sum + report.sentSegments, 0);
  const characters = [...perLanguage.values()].reduce((sum, report) => sum + report.billedCharacters, 0);
  const requests = [...perLanguage.values()].reduce((sum, report) => sum + report.requests, 0);
  const lines = [
    `translate-throughput: ${CONVERSATIONS} conversations -> ${LANGUAGES.join(",")}, DeepL-compatible server +${LATENCY_MS} ms/request, concurrency ${CONCURRENCY}, <= 50 texts/request`,
    `machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), load average ${loadavg().map((value) => value.toFixed(1)).join(" ")}, node ${process.version}; this process got ${(cpuShare * 100).toFixed(0)}% of one core in a 1 s calibration spin`,
    `requests ${requests}, segments sent ${segments}, characters billed ${characters} (server counted ${await server.billed()})`,
    `wall time ${seconds.toFixed(2)} s; bound from concurrency and batch limits ${boundSeconds.toFixed(2)} s`,
    `throughput ${(segments / seconds).toFixed(0)} segments/s, ${(characters / seconds).toFixed(0)} characters/s; bound ${(segments / boundSeconds).toFixed(0)} segments/s`,
    `efficiency ${((boundSeconds / seconds) * 100).toFixed(1)}% of the bound (acceptance: >= 80%)`,
    `quality issues: ${JSON.stringify(Object.fromEntries(LANGUAGES.map((lang) => [lang, perLanguage.get(lang).issueCounts])))}`,
    `client CPU time ${cpuSeconds.toFixed(2)} s (user+system; the server runs in another process): where it exceeds the bound, the client's CPU, not the service, limits the run`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
} finally {
  await cache.close();
  await server.close();
  await rm(directory, { recursive: true, force: true });
}
