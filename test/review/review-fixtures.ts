import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createDeepL } from "../../src/translate/providers/deepl";
import { translateCorpus } from "../../src/translate/translate-corpus";
import { openTranslationCache } from "../../src/translate/translation-cache";
import { startDeepLServer } from "../servers/deepl-server";

export const ROOT = join(import.meta.dirname, "../..");
export const MT_BENCH_X = join(ROOT, "../shared/reference-data/mt_bench_x");
const LIMA = join(ROOT, "fixtures/lima/train.jsonl");
const TEST_KEY = "review-test-deepl-key";

/**
 * A small Lima-X corpus (four rows of the LIMA fixture) translated to
 * German through the fake DeepL server, and the translation cache that replays it.
 */
export async function buildReviewCorpus(directory: string): Promise<{ corpus: string; cache: string; input: string }> {
  const rows = (await readFile(LIMA, "utf8")).trimEnd().split("\n");
  // Code and inline code, a haiku (a task to localise) and a multi-turn conversation.
  const subset = [0, 1, 12, 15].map((index) => rows[index]!);
  const input = join(directory, "train.jsonl");
  await writeFile(input, subset.join("\n") + "\n");
  const server = await startDeepLServer({ authKey: TEST_KEY });
  const cachePath = join(directory, "translations.jsonl");
  const cache = await openTranslationCache({ path: cachePath });
  const corpus = join(directory, "lima-x");
  try {
    await translateCorpus({ input, from: "en", to: ["de"], provider: createDeepL({ apiKey: TEST_KEY, baseUrl: server.url, env: {} }), cache, outDir: corpus });
  } finally {
    await cache.close();
    await server.close();
  }
  return { corpus, cache: cachePath, input };
}

/** The two models rated in the tests; the first is the one GPT-4 judged in the reference data. */
export const RATED_MODELS = ["opengptx-debug-7B-24EU-3T-honey", "baseline-7b"] as const;
/** Questions with one GPT-4 judgment per turn in the reference data. */
export const RATED_QUESTIONS = ["89", "90"] as const;

/**
 * The quality a rater reads in each synthetic answer ("Qualität: 7"), so the browser test can
 * rate as a person would, blind: the page never shows which model wrote what.
 */
export const ANSWER_QUALITY: Record<string, Record<string, [number, number]>> = {
  "opengptx-debug-7B-24EU-3T-honey": { "89": [9, 9], "90": [7, 3] },
  "baseline-7b": { "89": [5, 4], "90": [6, 2] },
};

/** FastChat answer files for the two models, and GPT-4's real judgments of questions 89 and 90 (DE). */
export async function buildRatingInputs(directory: string): Promise<{ answers: string; judgments: string }> {
  const answers = join(directory, "answers");
  await mkdir(answers, { recursive: true });
  for (const model of RATED_MODELS) {
    const lines = RATED_QUESTIONS.map((question) =>
      JSON.stringify({
        question_id: `${question}_DE`,
        answer_id: `${model}-${question}`,
        model_id: model,
        choices: [{ index: 0, turns: ANSWER_QUALITY[model]![question]!.map((quality, turn) => `Antwort auf Runde ${turn + 1}.\n\n\`\`\`python\nprint("Frage ${question}")\n\`\`\`\n\nQualität: ${quality}`) }],
        tstamp: 1723700000,
      }),
    );
    await writeFile(join(answers, `${model}.jsonl`), lines.join("\n") + "\n");
  }
  const judged = (await readFile(join(MT_BENCH_X, "mt_bench_DE/model_judgment/gpt-4_single.jsonl"), "utf8"))
    .trimEnd()
    .split("\n")
    .filter((line) => RATED_QUESTIONS.some((question) => line.includes(`"question_id": "${question}_DE"`)));
  const judgments = join(directory, "mt_bench_DE", "model_judgment", "gpt-4_single.jsonl");
  await mkdir(join(directory, "mt_bench_DE", "model_judgment"), { recursive: true });
  await writeFile(judgments, judged.join("\n") + "\n");
  return { answers, judgments };
}
