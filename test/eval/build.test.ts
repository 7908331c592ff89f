import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  buildMtBenchX,
  extractCodeBlocks,
  listPromptPlaceholders,
  listScoreMarkers,
  readJudgePrompts,
  readModelAnswers,
  readMtBenchOverrides,
  readQuestions,
  type BuildMtBenchXOptions,
} from "../../src/eval/index";
import { createTranslationProvider, openTranslationCache, type TranslationCache } from "../../src/translate/index";
import { startDeepLServer, type DeepLServer } from "../servers/deepl-server";
import { useTemporaryDirectories } from "../support/temporary-directory";

const repoRoot = resolve(import.meta.dirname, "../..");
const fixtureBench = join(repoRoot, "fixtures/mt-bench/mt_bench");
const realBench = resolve(repoRoot, "../shared/reference-data/mt_bench");
const AUTH_KEY = "deepl-test-key-SECRET-0000:fx";
const servers: DeepLServer[] = [];
const caches: TranslationCache[] = [];

afterEach(async () => {
  for (const cache of caches.splice(0)) await cache.close();
  for (const server of servers.splice(0)) await server.close();
});

const makeTemporaryDirectory = useTemporaryDirectories({ prefix: "mt-bench-build-", removeAfter: "all" });

async function setUp(source: string, extra: Partial<BuildMtBenchXOptions> = {}) {
  const server = await startDeepLServer({ authKey: AUTH_KEY });
  servers.push(server);
  const out = await makeTemporaryDirectory();
  const cache = await openTranslationCache({ path: join(out, "translation-cache.jsonl") });
  caches.push(cache);
  const options: BuildMtBenchXOptions = {
    questions: join(source, "question.jsonl"),
    references: join(source, "reference_answer/gpt-4.jsonl"),
    judgePrompts: join(source, "judge_prompts.jsonl"),
    to: ["de", "fr", "it", "es"],
    out,
    provider: createTranslationProvider({ provider: "deepl", apiKey: AUTH_KEY, baseUrl: server.url }),
    cache,
    ...extra,
  };
  return { server, out, cache, options };
}

/** Every code block of every question and reference is byte-identical in every language, and no code was sent. */
async function expectCodeIntact(source: string, out: string, server: DeepLServer, languages: string[]): Promise<number> {
  const englishQuestions = await readQuestions(join(source, "question.jsonl"));
  const englishReferences = await readModelAnswers(join(source, "reference_answer/gpt-4.jsonl"));
  const englishBlocks = (texts: string[]) => texts.flatMap((text) => extractCodeBlocks(text));
  let checked = 0;
  for (const lang of languages) {
    const questions = await readQuestions(join(out, `mt_bench_${lang}/question.jsonl`));
    const references = await readModelAnswers(join(out, `mt_bench_${lang}/reference_answer/gpt-4.jsonl`));
    expect(questions).toHaveLength(englishQuestions.length);
    questions.forEach((question, index) => {
      const english = englishQuestions[index]!;
      expect(question.question_id).toBe(`${english.question_id}_${lang}`);
      expect(question.category).toBe(english.category);
      question.turns.forEach((turn, turnIndex) => {
        expect(extractCodeBlocks(turn)).toEqual(extractCodeBlocks(english.turns[turnIndex]!));
        checked += extractCodeBlocks(turn).length;
      });
    });
    references.forEach((answer, index) => {
      const english = englishReferences[index]!;
      expect(answer.question_id).toBe(`${english.question_id}_${lang}`);
      answer.choices[0]!.turns.forEach((turn, turnIndex) => {
        expect(extractCodeBlocks(turn)).toEqual(extractCodeBlocks(english.choices[0]!.turns[turnIndex]!));
        checked += extractCodeBlocks(turn).length;
      });
    });
  }
  const sent = server.translatedTexts.join("\n");
  const codeLines = englishBlocks([...englishQuestions.flatMap((question) => question.turns), ...englishReferences.flatMap((answer) => answer.choices[0]!.turns)])
    .flatMap((block) => block.split("\n").slice(1, -1))
    .map((line) => line.trim())
    .filter((line) => line.length >= 16 && /[(){}=;]/.test(line));
  for (const line of codeLines) expect(sent.includes(line), `code line sent to DeepL: ${line}`).toBe(false);
  return checked;
}

describe("buildMtBenchX with deepl-node against a local DeepL server", () => {
  it("writes the MT-Bench-X layout with protected code, placeholders and [[N]] markers", async () => {
    const { server, out, options } = await setUp(fixtureBench);
    const result = await buildMtBenchX(options);
    expect(result.languages).toEqual(["EN", "DE", "FR", "IT", "ES"]);
    expect(result.issues).toEqual([]);
    expect(server.requests.length).toBeGreaterThan(0);
    expect(server.requests.every((request) => request.authorization === `DeepL-Auth-Key ${AUTH_KEY}`)).toBe(true);
    expect(await expectCodeIntact(fixtureBench, out, server, ["EN", "DE", "FR", "IT", "ES"])).toBe(2 * 5);

    const de = await readQuestions(join(out, "mt_bench_DE/question.jsonl"));
    expect(de.map((question) => question.question_id)).toEqual(["81_DE", "101_DE", "121_DE"]);
    // The fake DeepL translates common words: the text did change.
    expect(de[2]!.turns[0]).not.toBe("Write a Python function that counts the words in a text.");
    const englishPrompts = await readJudgePrompts(join(fixtureBench, "judge_prompts.jsonl"));
    const prompts = await readJudgePrompts(join(out, "mt_bench_DE/judge_prompts.jsonl"));
    for (const [name, prompt] of prompts) {
      const english = englishPrompts.get(name)!;
      expect(prompt.prompt_template).not.toBe(english.prompt_template);
      expect(listPromptPlaceholders(prompt.prompt_template).sort()).toEqual(listPromptPlaceholders(english.prompt_template).sort());
      expect(listScoreMarkers(prompt.prompt_template + prompt.system_prompt)).toEqual(listScoreMarkers(english.prompt_template + english.system_prompt));
    }
    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8"));
    expect(manifest.outputs.map((output: { path: string }) => output.path)).toContain("mt_bench_DE/question.jsonl");
    const everything = [await readFile(join(out, "manifest.json"), "utf8"), await readFile(join(out, "translation-cache.jsonl"), "utf8")].join("");
    expect(everything).not.toContain(AUTH_KEY);

    // A second build is served from the shared cache: nothing is sent.
    const before = server.requests.length;
    const again = await buildMtBenchX({ ...options, out: await makeTemporaryDirectory() });
    expect(server.requests.length).toBe(before);
    expect(again.translation.DE!.sentSegments).toBe(0);
  });

  it("applies overrides for localised questions and human corrections", async () => {
    const directory = await makeTemporaryDirectory();
    const overridesPath = join(directory, "overrides.jsonl");
    await writeFile(
      overridesPath,
      [
        { question_id: "81_DE", turns: ["Schreiben Sie eine Postkarte aus den Alpen.", "Jetzt als Haiku."], note: "localised" },
        { question_id: "101_FR", reference: ["Deux heures et demie.", "À 11 h 50."] },
      ]
        .map((row) => JSON.stringify(row))
        .join("\n") + "\n",
    );
    const overrides = await readMtBenchOverrides(overridesPath);
    const { out, options, server } = await setUp(fixtureBench, { overrides, to: ["de", "fr"] });
    const result = await buildMtBenchX(options);
    expect(result.overridesApplied).toEqual(["81_DE", "101_FR"]);
    const de = await readQuestions(join(out, "mt_bench_DE/question.jsonl"));
    expect(de[0]!.turns).toEqual(["Schreiben Sie eine Postkarte aus den Alpen.", "Jetzt als Haiku."]);
    // Overridden text is never sent.
    expect(server.translatedTexts.some((text) => text.includes("postcard") && text.includes("Alps"))).toBe(true); // FR still translated
    const frReferences = await readModelAnswers(join(out, "mt_bench_FR/reference_answer/gpt-4.jsonl"));
    expect(frReferences[0]!.choices[0]!.turns).toEqual(["Deux heures et demie.", "À 11 h 50."]);
    expect(await readFile(join(out, "mt_bench_DE/corrections.jsonl"), "utf8")).toBe('{"question_id":"81_DE","category":"writing","note":"localised"}\n');
    await expect(readMtBenchOverrides(join(repoRoot, "fixtures/mt-bench/language-exceptions.jsonl"))).rejects.toThrow(/language-exceptions.jsonl:1/);
  });

  it.skipIf(!existsSync(realBench))(
    "builds 80 questions per language from the real English MT-Bench with every code block byte-identical (skipped when ../shared/reference-data is absent)",
    async () => {
      const { server, out, options } = await setUp(realBench);
      const result = await buildMtBenchX(options);
      expect(result.issues).toEqual([]);
      const checked = await expectCodeIntact(realBench, out, server, ["EN", "DE", "FR", "IT", "ES"]);
      expect(checked).toBeGreaterThan(0);
      for (const lang of ["DE", "FR", "IT", "ES"]) {
        const questions = await readQuestions(join(out, `mt_bench_${lang}/question.jsonl`));
        expect(questions).toHaveLength(80);
        expect(new Set(questions.map((question) => question.category)).size).toBe(8);
        expect((await readModelAnswers(join(out, `mt_bench_${lang}/reference_answer/gpt-4.jsonl`))).length).toBe(30);
        expect((await readJudgePrompts(join(out, `mt_bench_${lang}/judge_prompts.jsonl`))).size).toBe(8);
      }
    },
  );
});
