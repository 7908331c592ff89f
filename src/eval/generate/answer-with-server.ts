import { setMaxListeners } from "node:events";
import { appendFile, mkdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type OpenAI from "openai";
import pLimit from "p-limit";
import { z } from "zod";
import { PolyglotError } from "../../errors";
import { acquireExclusiveLock } from "../../io/exclusive-lock";
import { callWithRetry, remoteCallPolicySchema } from "../../remote/call-with-retry";
import { createOpenAIClient, toOpenAICallError } from "../../remote/openai-client";
import { benchLanguageDirectory, listBenchLanguages, readQuestions, type MtBenchQuestion, type QuestionId } from "../mt-bench-files";
import type { PromptRenderer } from "./prompt-renderer";

/** FastChat's `temperature_config` (llm_judge/common.py); gen_model_answer.py uses 0.7 for any other category. */
export const CATEGORY_TEMPERATURES: Readonly<Record<string, number>> = {
  writing: 0.7,
  roleplay: 0.7,
  extraction: 0.0,
  math: 0.0,
  coding: 0.0,
  reasoning: 0.0,
  stem: 0.1,
  humanities: 0.1,
};

/** FastChat's sampling temperature for a question category (0.7 for categories it does not list). */
export function temperatureForCategory(category: string | undefined): number {
  return CATEGORY_TEMPERATURES[category ?? ""] ?? 0.7;
}

/** The seed of one request: the run's seed mixed with the answer's model, question and turn (FNV-1a, 31 bits). */
export function requestSeed(seed: number, modelId: string, questionId: QuestionId, turn: number): number {
  let hash = 0x811c9dc5;
  for (const character of `${seed}/${modelId}/${String(questionId)}/${turn}`) {
    hash ^= character.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash & 0x7fffffff;
}

const adapterSchema = z.strictObject({
  /** Training run folder (adapter, training_config.json). */
  path: z.string().min(1),
  /** The name the server serves the adapter under (`model` of each request). */
  servedName: z.string().min(1),
  /** The answers' `model_id` and file name (default: the served name). */
  modelId: z.string().min(1).optional(),
});

/** Options of {@link answerMtBenchWithServer} that can be written in a config. */
export const answerWithServerOptionsSchema = z.strictObject({
  /** MT-Bench-X tree with `mt_bench_<LANG>/question.jsonl`. */
  bench: z.string().min(1),
  /** Answers folder: `<out>/mt_bench_<LANG>/model_answer/<model_id>.jsonl` (FastChat's layout). */
  out: z.string().min(1),
  /** Bench languages (`DE`); default every `mt_bench_*` folder of the bench. */
  languages: z.array(z.string().min(2)).min(1).optional(),
  /** The adapters to answer with; their questions are interleaved so the server batches across adapters. */
  adapters: z.array(adapterSchema).min(1),
  /** The server's OpenAI-compatible base URL, e.g. `http://127.0.0.1:8000/v1`. */
  baseUrl: z.string().url(),
  /** Environment variable holding the server's key; a local server without `--api-key` takes any. */
  apiKeyEnv: z.string().min(1).default("OPENAI_API_KEY"),
  /** Requests in flight (the server batches them). */
  concurrency: z.number().int().positive().default(64),
  /** Tokens per answer turn (FastChat: 1024). */
  maxTokens: z.number().int().positive().default(1024),
  /** Seeds the per-request seeds (recorded in each answer). */
  seed: z.number().int().min(0).default(42),
  /** Retry and time-limit policy of each request (the shared remote-call layer). */
  retry: remoteCallPolicySchema.optional(),
});

/** Everything {@link answerMtBenchWithServer} needs. */
export type AnswerWithServerOptions = z.input<typeof answerWithServerOptionsSchema> & {
  /** Renders each conversation into the token ids the adapter was trained on. */
  renderer: PromptRenderer;
  /** Environment the key is read from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Progress after each answered question. */
  onProgress?: (event: { done: number; total: number; message?: string }) => void;
  /** Waits between retries (injected by tests). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
};

/** What was asked and written. */
export interface AnswerWithServerSummary {
  /** Questions answered in this run (both turns). */
  answered: number;
  /** Questions already answered before (resumed). */
  skipped: number;
  /** Completion requests sent (not counting retries). */
  requests: number;
  /** The answer files, per adapter model id and language. */
  files: string[];
}

/** The server's answers could not be had (after the retries); what was answered is kept for a rerun. */
export class GenerationFailedError extends PolyglotError {}

interface Job {
  adapter: z.infer<typeof adapterSchema> & { modelId: string };
  lang: string;
  question: MtBenchQuestion;
}

interface FileState {
  answerPath: string;
  firstTurnPath: string;
  done: Set<string>;
  firstTurns: Map<string, { text: string; seed: number }>;
  order: QuestionId[];
  write: Promise<void>;
}

/** JSONL rows of a file written by appends; a line cut by a kill is dropped (and its question asked again). */
async function readAppendedRows(path: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const rows: Record<string, unknown>[] = [];
  const kept: string[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line) as Record<string, unknown>);
      kept.push(line);
    } catch {
      continue;
    }
  }
  const clean = kept.map((line) => line + "\n").join("");
  if (clean !== text) await writeAtomically(path, clean);
  return rows;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.incomplete`, text, "utf8");
  await rename(`${path}.incomplete`, path);
}

function keyOf(questionId: QuestionId): string {
  return JSON.stringify(questionId);
}

/**
 * Answers MT-Bench-X with every adapter through a running OpenAI-compatible server (vLLM, SGLang,
 * TGI, llama.cpp) on `/v1/completions`: the prompt is the token ids the trainer renders (so the
 * server applies no template and tokenises nothing), `model` the adapter's served name, FastChat's
 * temperature per category, stop at the template's end-of-turn ids, a seed per request recorded in
 * the answer. Both turns; the first answer is in the second turn's history. A rerun asks only what
 * is missing: first-turn answers are kept under `<out>/.generate/` until their question is done.
 */
export async function answerMtBenchWithServer(options: AnswerWithServerOptions): Promise<AnswerWithServerSummary> {
  const { renderer, env = process.env, onProgress, sleep, ...rest } = options;
  const parsed = answerWithServerOptionsSchema.parse(rest);
  const adapters = parsed.adapters.map((adapter) => ({ ...adapter, modelId: adapter.modelId ?? adapter.servedName }));
  const modelIds = adapters.map((adapter) => adapter.modelId);
  const duplicate = modelIds.find((id, index) => modelIds.indexOf(id) !== index);
  if (duplicate) throw new GenerationFailedError(`two adapters would write the answers of model "${duplicate}"; give each a distinct name`);
  const languages = parsed.languages?.map((lang) => lang.toUpperCase()) ?? (await listBenchLanguages(parsed.bench));
  if (languages.length === 0) throw new GenerationFailedError(`${parsed.bench}: no mt_bench_<LANG> folders`);
  const questionsByLanguage = new Map<string, MtBenchQuestion[]>();
  for (const lang of languages) {
    questionsByLanguage.set(lang, await readQuestions(join(benchLanguageDirectory(parsed.bench, lang), "question.jsonl")));
  }

  await mkdir(parsed.out, { recursive: true });
  const release = await acquireExclusiveLock({ path: parsed.out, what: `the answers folder ${parsed.out}` });
  try {
    const files = new Map<string, FileState>();
    for (const adapter of adapters) {
      for (const lang of languages) {
        const answerPath = join(benchLanguageDirectory(parsed.out, lang), "model_answer", `${adapter.modelId}.jsonl`);
        const firstTurnPath = join(parsed.out, ".generate", adapter.modelId, `${lang}.first-turns.jsonl`);
        const done = new Set((await readAppendedRows(answerPath)).map((row) => keyOf(row.question_id as QuestionId)));
        const firstTurns = new Map<string, { text: string; seed: number }>();
        for (const row of await readAppendedRows(firstTurnPath)) firstTurns.set(keyOf(row.question_id as QuestionId), { text: String(row.text), seed: Number(row.seed) });
        const order = questionsByLanguage.get(lang)!.map((question) => question.question_id);
        files.set(`${adapter.modelId}\u0000${lang}`, { answerPath, firstTurnPath, done, firstTurns, order, write: Promise.resolve() });
      }
    }

    // Question-major order: every adapter's copy of a question is sent together, so the server's
    // batches mix adapters (vLLM and SGLang batch requests for different LoRAs).
    const jobs: Job[] = [];
    let skipped = 0;
    const longest = Math.max(...[...questionsByLanguage.values()].map((questions) => questions.length));
    for (let index = 0; index < longest; index += 1) {
      for (const lang of languages) {
        const question = questionsByLanguage.get(lang)![index];
        if (!question) continue;
        for (const adapter of adapters) {
          if (files.get(`${adapter.modelId}\u0000${lang}`)!.done.has(keyOf(question.question_id))) skipped += 1;
          else jobs.push({ adapter, lang, question });
        }
      }
    }

    const apiKey = env[parsed.apiKeyEnv] || "EMPTY"; // vLLM and SGLang without --api-key accept any key
    let client: OpenAI | undefined;
    const abort = new AbortController();
    setMaxListeners(0, abort.signal); // every request in flight listens for the run's abort
    let requests = 0;
    let answered = 0;
    let fatal: unknown;

    const complete = async (job: Job, ids: number[], stopTokenIds: number[], seed: number): Promise<string> => {
      client ??= await createOpenAIClient({ apiKey, baseURL: parsed.baseUrl });
      const openai = client;
      requests += 1;
      const body = {
        model: job.adapter.servedName,
        prompt: ids,
        temperature: temperatureForCategory(job.question.category),
        // As --engine hf samples (top_p 1, no top-k): explicit, so a model's generation_config.json defaults,
        // which vLLM applies to unset fields, cannot change the sampling.
        top_p: 1,
        max_tokens: parsed.maxTokens,
        seed,
        // vLLM and SGLang extensions: end at the template's end-of-turn ids, decode without special tokens.
        stop_token_ids: stopTokenIds,
        skip_special_tokens: true,
        top_k: -1,
        repetition_penalty: 1,
      };
      const completion = await callWithRetry(
        async (attempt) => {
          try {
            return await openai.completions.create(body as unknown as OpenAI.CompletionCreateParamsNonStreaming, {
              signal: attempt.signal,
              ...(attempt.timeoutMs ? { timeout: attempt.timeoutMs } : {}),
            });
          } catch (error) {
            throw toOpenAICallError(error, { service: "generation server", label: `the generation server ${parsed.baseUrl} (${job.adapter.servedName})`, keyEnv: parsed.apiKeyEnv });
          }
        },
        {
          retries: 8,
          timeoutMs: 900_000,
          ...parsed.retry,
          service: "generation server",
          signal: abort.signal,
          ...(sleep ? { sleep } : {}),
          onRetry: (error) => onProgress?.({ done: answered, total: jobs.length, message: `retrying ${job.adapter.servedName} ${String(job.question.question_id)}: ${error.message}` }),
        },
      );
      return (completion.choices[0]?.text ?? "").trim();
    };

    const answer = async (job: Job): Promise<void> => {
      const file = files.get(`${job.adapter.modelId}\u0000${job.lang}`)!;
      const key = keyOf(job.question.question_id);
      const turns = job.question.turns;
      const history: { role: "user" | "assistant"; content: string }[] = [];
      const texts: string[] = [];
      const seeds: number[] = [];
      for (let turn = 0; turn < turns.length; turn += 1) {
        history.push({ role: "user", content: turns[turn]! });
        const kept = turn === 0 ? file.firstTurns.get(key) : undefined;
        let text: string;
        let seed: number;
        if (kept) {
          ({ text, seed } = kept);
        } else {
          seed = requestSeed(parsed.seed, job.adapter.modelId, job.question.question_id, turn + 1);
          const prompt = await renderer.render({ adapter: job.adapter.path, messages: history, lang: job.lang });
          text = await complete(job, prompt.ids, prompt.stopTokenIds, seed);
          if (turn === 0 && turns.length > 1) {
            const row = JSON.stringify({ question_id: job.question.question_id, text, seed }) + "\n";
            file.write = file.write.then(() => mkdir(dirname(file.firstTurnPath), { recursive: true })).then(() => appendFile(file.firstTurnPath, row, "utf8"));
            await file.write;
          }
        }
        texts.push(text);
        seeds.push(seed);
        history.push({ role: "assistant", content: text });
      }
      const row = {
        question_id: job.question.question_id,
        answer_id: `${job.adapter.modelId}/${String(job.question.question_id)}/${parsed.seed}`,
        model_id: job.adapter.modelId,
        choices: [{ index: 0, turns: texts }],
        tstamp: Date.now() / 1000,
        generation: { engine: "openai", served_model: job.adapter.servedName, temperature: temperatureForCategory(job.question.category), max_tokens: parsed.maxTokens, seeds },
      };
      file.write = file.write.then(() => mkdir(dirname(file.answerPath), { recursive: true })).then(() => appendFile(file.answerPath, JSON.stringify(row) + "\n", "utf8"));
      await file.write;
      file.done.add(key);
      answered += 1;
      onProgress?.({ done: answered, total: jobs.length });
    };

    const limit = pLimit(parsed.concurrency);
    await Promise.all(
      jobs.map((job) =>
        limit(async () => {
          if (fatal) return;
          try {
            await answer(job);
          } catch (error) {
            fatal ??= error;
            abort.abort(error);
          }
        }),
      ),
    );
    for (const file of files.values()) await file.write;
    if (fatal) {
      const reason = fatal instanceof Error ? fatal.message : String(fatal);
      throw new GenerationFailedError(`generation stopped after ${answered} of ${jobs.length} questions: ${reason}\nthe answers so far are kept; rerun the same command to ask only the missing ones`, { cause: fatal });
    }

    // Every file complete: rewrite it in question order, one row per question, and drop its first turns.
    const written: string[] = [];
    for (const file of files.values()) {
      const rows = new Map<string, string>();
      for (const row of await readAppendedRows(file.answerPath)) {
        const key = keyOf(row.question_id as QuestionId);
        if (!rows.has(key)) rows.set(key, JSON.stringify(row));
      }
      const lines = file.order.map((id) => rows.get(keyOf(id))).filter((line): line is string => line !== undefined);
      await writeAtomically(file.answerPath, lines.map((line) => line + "\n").join(""));
      await rm(file.firstTurnPath, { force: true });
      written.push(file.answerPath);
    }
    // Only this run's state goes: another adapter's kept first turns wait for its own rerun.
    for (const folder of [...adapters.map((adapter) => join(parsed.out, ".generate", adapter.modelId)), join(parsed.out, ".generate")]) {
      await rmdir(folder).catch(() => undefined);
    }
    return { answered, skipped, requests, files: written };
  } finally {
    await release();
  }
}

