import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Command } from "commander";
import { parse } from "fast-csv";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { registerTranslateCommands } from "../../src/cli/commands/translate";
import { createDeepL } from "../../src/translate/providers/deepl";
import { readCorrections } from "../../src/translate/review-csv";
import { translateCorpus } from "../../src/translate/translate-corpus";
import { openTranslationCache } from "../../src/translate/translation-cache";
import { startDeepLServer, type DeepLServer } from "../servers/deepl-server";
import { fakeTranslateMarkup } from "../servers/fake-translation";
import { codeSpans } from "./code-spans";
import { TEST_KEY } from "./provider-harness";
import { useTemporaryDirectories } from "../support/temporary-directory";

const LIMA = join(import.meta.dirname, "../../fixtures/lima/train.jsonl");
const FAST_RETRY = { minBackoffMs: 1, maxBackoffMs: 5, timeoutMs: 5000 };

async function readRecords(path: string): Promise<{ id: string; lang: string; source: string; messages: { role: string; content: string }[]; meta: Record<string, unknown> }[]> {
  return (await readFile(path, "utf8")).trimEnd().split("\n").map((line) => JSON.parse(line));
}

async function readCsvRows(path: string): Promise<Record<string, string>[]> {
  const rows: Record<string, string>[] = [];
  const text = await readFile(path, "utf8");
  await new Promise<void>((resolve, reject) => {
    const parser = parse({ headers: true }).on("data", (row: Record<string, string>) => rows.push(row)).on("end", () => resolve()).on("error", reject);
    parser.end(text);
  });
  return rows;
}

describe("translateCorpus (Lima-X)", () => {
  let server: DeepLServer;
  let directory: string;
  const temporaryDirectory = useTemporaryDirectories({ prefix: "lima-x-" });

  beforeEach(async () => {
    server = await startDeepLServer({ authKey: TEST_KEY });
    directory = await temporaryDirectory();
  });
  afterEach(async () => {
    await server.close();
  });

  it("writes the parallel corpus with the same ids, every turn translated, code byte-identical", async () => {
    const cache = await openTranslationCache({ path: join(directory, "cache.jsonl") });
    const outDir = join(directory, "lima-x");
    const summary = await translateCorpus({
      input: LIMA,
      from: "en",
      to: ["de", "fr"],
      provider: createDeepL({ apiKey: TEST_KEY, baseUrl: server.url, env: {} }),
      cache,
      outDir,
      retry: FAST_RETRY,
    });
    const english = await readRecords(join(outDir, "en.jsonl"));
    const german = await readRecords(join(outDir, "de.jsonl"));
    expect(german.map((record) => record.id)).toEqual(english.map((record) => record.id));
    expect(english[0]?.id).toBe("lima-0000");
    expect(german[0]).toMatchObject({ lang: "de", source: "lima-x" });
    expect(german.every((record) => typeof record.meta.source === "string")).toBe(true);
    const multiTurn = german.filter((record) => record.meta.source === "multi_turn");
    expect(multiTurn.length).toBeGreaterThan(0);
    english.forEach((record, index) => {
      const translated = german[index]!;
      expect(translated.messages.map((message) => message.role)).toEqual(record.messages.map((message) => message.role));
      record.messages.forEach((message, turn) => {
        const output = translated.messages[turn]!.content;
        // Every code block and inline code span of the source is in the output, byte for byte.
        for (const span of codeSpans(message.content)) expect(output).toContain(span);
        expect(codeSpans(output)).toEqual(codeSpans(message.content));
      });
    });
    // No code-block content was sent.
    const sent = server.translatedTexts.join("\n");
    for (const record of english) {
      for (const message of record.messages) {
        for (const span of codeSpans(message.content).filter((span) => span.startsWith("```"))) {
          const body = span.split("\n").slice(1, -1).join("\n").trim();
          if (body.length > 3) expect(sent).not.toContain(body);
        }
      }
    }
    expect(summary.languages.de?.billedCharacters).toBeGreaterThan(0);
    const report = JSON.parse(await readFile(join(outDir, "translation-report.json"), "utf8"));
    expect(Object.keys(report.languages)).toEqual(["de", "fr"]);
    expect(report.languages.de.serviceBilledCharacters).toBe(report.languages.de.billedCharacters);
    expect((await readFile(join(outDir, "review.csv"), "utf8")).split("\n")[0]).toBe("id,lang,turn,segment,issues,source,translation,correction");
    // No secret in any file written.
    for (const name of ["en.jsonl", "de.jsonl", "fr.jsonl", "translation-report.json", "review.csv"]) {
      expect(await readFile(join(outDir, name), "utf8")).not.toContain(TEST_KEY);
    }
    expect(await readFile(cache.path, "utf8")).not.toContain(TEST_KEY);
    await cache.close();
  });

  it("brings reviewed corrections back and keeps them on reruns, sending nothing twice", async () => {
    // The fixture's reference translations raise no quality flag, so one segment comes back
    // untranslated: it is flagged and listed in review.csv for the reviewer to correct.
    server.options = {
      ...server.options,
      translate: (text, targetLang) => (text.startsWith("Not necessarily.") ? text : fakeTranslateMarkup(text, targetLang)),
    };
    const cachePath = join(directory, "cache.jsonl");
    const outDir = join(directory, "lima-x");
    const run = async (corrections?: Awaited<ReturnType<typeof readCorrections>>) => {
      const cache = await openTranslationCache({ path: cachePath });
      try {
        return await translateCorpus({
          input: LIMA,
          from: "en",
          to: ["it"],
          provider: createDeepL({ apiKey: TEST_KEY, baseUrl: server.url, env: {} }),
          cache,
          outDir,
          retry: FAST_RETRY,
          ...(corrections ? { corrections } : {}),
        });
      } finally {
        await cache.close();
      }
    };
    await run();
    const billed = server.billedCharacters;
    const reviewPath = join(outDir, "review.csv");
    const rows = await readCsvRows(reviewPath);
    expect(rows.length).toBeGreaterThan(0);
    // A reviewer corrects the first flagged row.
    const target = rows[0]!;
    rows[0] = { ...target, correction: "Korrigiert von Hand: perfetto." };
    const header = Object.keys(target);
    const escape = (value: string) => `"${value.replace(/"/g, '""')}"`;
    await writeFile(join(directory, "edited.csv"), [header.join(","), ...rows.map((row) => header.map((column) => escape(row[column] ?? "")).join(","))].join("\n") + "\n");
    const corrections = await readCorrections(join(directory, "edited.csv"));
    expect(corrections).toEqual([{ to: "it", source: target.source, translation: "Korrigiert von Hand: perfetto." }]);

    const summary = await run(corrections);
    expect(server.billedCharacters).toBe(billed);
    expect(summary.languages.it?.correctedSegments).toBeGreaterThan(0);
    const italian = await readRecords(join(outDir, "it.jsonl"));
    expect(italian.some((record) => record.messages.some((message) => message.content.includes("Korrigiert von Hand: perfetto.")))).toBe(true);
    const newRows = await readCsvRows(reviewPath);
    expect(newRows.find((row) => row.source === target.source)?.correction).toBe("Korrigiert von Hand: perfetto.");
  });

  it("CLI: build-datasets translate --dry-run prints per-language billing and writes nothing", async () => {
    const program = new Command().exitOverride();
    registerTranslateCommands(program);
    const output: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      output.push(String(chunk));
      return true;
    });
    const outDir = join(directory, "dry");
    try {
      await program.parseAsync(
        ["translate", "--input", LIMA, "--to", "de,es", "--provider", "deepl", "--out", outDir, "--cache", join(directory, "c.jsonl"), "--dry-run", "--quiet", "--base-url", server.url],
        { from: "user" },
      );
    } finally {
      write.mockRestore();
    }
    expect(server.requests).toHaveLength(0);
    const text = output.join("");
    expect(text).toMatch(/en->de: \d+ of \d+ segments to send, \d+ characters would be billed ~ \d+\.\d\d EUR/);
    expect(text).toMatch(/en->es:/);
    await expect(readFile(join(outDir, "de.jsonl"))).rejects.toThrow();
  });

  it("CLI: a real run through --base-url with DEEPL_AUTH_KEY writes the corpus", async () => {
    const program = new Command().exitOverride();
    registerTranslateCommands(program);
    const outDir = join(directory, "cli");
    vi.stubEnv("DEEPL_AUTH_KEY", TEST_KEY);
    const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      await program.parseAsync(
        ["translate", "--input", LIMA, "--to", "es", "--out", outDir, "--cache", join(directory, "c.jsonl"), "--quiet", "--base-url", server.url, "--concurrency", "2"],
        { from: "user" },
      );
    } finally {
      write.mockRestore();
      vi.unstubAllEnvs();
    }
    const spanish = await readRecords(join(outDir, "es.jsonl"));
    expect(spanish.length).toBe((await readRecords(join(outDir, "en.jsonl"))).length);
    expect(server.requests.every((request) => request.authorization === `DeepL-Auth-Key ${TEST_KEY}`)).toBe(true);
  });
});
