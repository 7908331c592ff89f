import { join } from "node:path";
import pLimit from "p-limit";
import { z } from "zod";
import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import { writeFileAtomic } from "../../io/atomic-write";
import { acquireExclusiveLock, type ReleaseLock } from "../../io/exclusive-lock";
import { callWithRetry, remoteCallPolicySchema } from "../../remote/call-with-retry";
import { RemoteAuthError, RemoteCallError } from "../../remote/remote-call-error";
import {
  benchLanguageDirectory,
  FASTCHAT_API_ERROR_OUTPUT,
  splitQuestionId,
  writeMtBenchJsonl,
  type Judgment,
  type ModelAnswer,
  type MtBenchQuestion,
} from "../mt-bench-files";
import { buildJudgePrompt } from "./build-judge-prompt";
import { judgeCacheKey, openJudgeCache, type JudgeCacheEntry } from "./judge-cache";
import { MissingJudgeApiKeyError } from "./judge-errors";
import type { JudgeProvider } from "./judge-provider";
import {
  allowedAnswerLanguages,
  checkAnswerLanguage,
  LANGUAGE_PENALTY_SCORE,
  languageExceptionSchema,
  languagePolicySchema,
} from "./language-check";
import { loadAnswerFiles, loadBenchLanguage, type BenchLanguage } from "./load-judge-inputs";
import { parseJudgmentScore } from "./parse-score";

/** Options of `judgeMtBench`. */
export const judgeMtBenchOptionsSchema = z.strictObject({
  /** The benchmark tree (`mt-bench-x/` with `mt_bench_<LANG>/`, or FastChat's `mt_bench/`). */
  bench: z.string().min(1),
  /** Answers: `<answers>/mt_bench_<LANG>/model_answer/<model>.jsonl`, or flat files with `lang`. */
  answers: z.string().min(1),
  /** Output directory: `mt_bench_<LANG>/model_judgment/<judge>_single.jsonl` and `judge-summary.json`. */
  out: z.string().min(1),
  /** The judge (see `createOpenAICompatibleJudge`). */
  provider: z.custom<JudgeProvider>((value) => typeof (value as JudgeProvider)?.doJudge === "function", "expected a JudgeProvider"),
  /** Only these upper- or lower-case languages (default: every language with answers). */
  languages: z.array(z.string().min(2)).optional(),
  /** Language of flat answer files (required for them). */
  lang: z.string().min(2).optional(),
  /** Only these model ids (answer file names). */
  models: z.array(z.string().min(1)).optional(),
  /** The reference answers' model (`reference_answer/<name>.jsonl`; FastChat: the judge's, gpt-4). */
  referenceModel: z.string().min(1).default("gpt-4"),
  /** Judge prompts file used for every language instead of the bench's own. */
  judgePrompts: z.string().min(1).optional(),
  /** Cache file (default `<out>/judge-cache.jsonl`); share it between runs to never pay twice. */
  cache: z.string().min(1).optional(),
  /** Judge calls in flight at once (default 4). */
  concurrency: z.number().int().min(1).max(256).default(4),
  /** FastChat: temperature 0 and 2048 tokens. */
  temperature: z.number().min(0).max(2).default(0),
  maxTokens: z.number().int().min(1).default(2048),
  /** Call the judge again for cached judgments without a parseable score. */
  retryErrors: z.boolean().default(false),
  /** `fastchat` keeps the score of an answer in the wrong language (flagged); `penalize` scores it 1. */
  languagePolicy: languagePolicySchema.default("fastchat"),
  /** Questions whose answers may be in other languages. */
  languageExceptions: z.array(languageExceptionSchema).default([]),
  /** Prices per million tokens, for the cost in the summary. */
  prices: z
    .strictObject({
      inputPerMillion: z.number().min(0),
      outputPerMillion: z.number().min(0),
      currency: z.string().default("USD"),
    })
    .optional(),
  /** Retry and timeout policy (default: 8 retries, first attempt 300 s, doubled after a timeout). */
  retry: remoteCallPolicySchema.optional(),
  /** Waits between retries (injected by tests so they never wait on wall time). */
  sleep: z.custom<(ms: number, signal?: AbortSignal) => Promise<void>>((value) => typeof value === "function").optional(),
  /** When another process judges into the same output folder or cache: wait (default) or fail at once. */
  wait: z.boolean().default(true),
  /** Told once when this run starts waiting for another process. */
  onWait: z.custom<(message: string) => void>((value) => typeof value === "function").optional(),
  /** Count what would be judged and what is cached, call nothing, write nothing. */
  dryRun: z.boolean().default(false),
  /** Progress callback: judgments done out of total, judge calls made, cache hits, errors. */
  onProgress: z.custom<(event: JudgeProgressEvent) => void>((value) => typeof value === "function").optional(),
  /** Clock for `tstamp` (seconds); injectable for tests. */
  now: z.custom<() => number>((value) => typeof value === "function").optional(),
});
export type JudgeMtBenchOptions = z.input<typeof judgeMtBenchOptionsSchema>;

/** Progress of a judge run. */
export interface JudgeProgressEvent {
  done: number;
  total: number;
  calls: number;
  cacheHits: number;
  errors: number;
  /** A line worth showing (a retry), when there is one. */
  message?: string;
}

/** Token usage and its cost. */
export interface JudgeUsage {
  inputTokens: number;
  outputTokens: number;
  /** Cost at the given prices; null without prices. */
  cost: number | null;
}

/** What a judge run did (also written to `judge-summary.json`). */
export interface JudgeSummary {
  judgeModel: string;
  provider: string;
  languagePolicy: "fastchat" | "penalize";
  languages: string[];
  models: string[];
  judgments: number;
  /** Judge calls made by this run (successful or not after retries). */
  calls: number;
  /**
   * Attempts that timed out: the endpoint may have answered (and billed) them after this run
   * stopped waiting. Each was retried with twice the time.
   */
  possiblyBilledCalls: number;
  /** Judge calls that failed for good (after retries); their judgments have score -1 and `error: "api: ..."`. */
  failedCalls: number;
  cacheHits: number;
  /** Judgments still to be called (dry run), or 0. */
  toCall: number;
  /** Usage of the calls made by this run, and of the cached answers reused. */
  usage: JudgeUsage;
  cachedUsage: JudgeUsage;
  currency: string | null;
  /** Judgments with score -1: `unparseable` (re-triable with `retryErrors`) or `api`. */
  errors: { lang: string; model: string; questionId: string; turn: number; error: string }[];
  languageMismatches: { lang: string; model: string; questionId: string; turn: number; detected: string; penalized: boolean }[];
  /** Questions without an answer (or with fewer turns than asked). */
  missingAnswers: { lang: string; model: string; questionId: string; turn: number }[];
  outputs: string[];
  cachePath: string;
}

interface JudgeTask {
  lang: string;
  model: string;
  question: MtBenchQuestion;
  questionIndex: number;
  turn: 1 | 2;
  answerText: string;
  promptName: string;
  systemPrompt: string;
  userPrompt: string;
  key: string;
}

function findAnswer(answers: readonly ModelAnswer[], question: MtBenchQuestion): ModelAnswer | undefined {
  const id = String(question.question_id);
  const exact = answers.find((answer) => String(answer.question_id) === id);
  if (exact) return exact;
  const { number } = splitQuestionId(question.question_id);
  return answers.find((answer) => number !== undefined && splitQuestionId(answer.question_id).number === number);
}

function costOf(usage: { inputTokens: number; outputTokens: number }, prices?: { inputPerMillion: number; outputPerMillion: number }): number | null {
  if (!prices) return null;
  return (usage.inputTokens * prices.inputPerMillion + usage.outputTokens * prices.outputPerMillion) / 1_000_000;
}

/** Judge model name as a file name (`meta-llama/Llama-3` -> `meta-llama_Llama-3`). */
export function judgeFileName(judgeModel: string): string {
  return `${judgeModel.replace(/[\\/:*?"<>|\s]+/g, "_")}_single.jsonl`;
}

/**
 * Judges MT-Bench(-X) answers with FastChat's single-answer grading: for every language, model,
 * question and turn, fills FastChat's prompt, asks the judge (temperature 0, bounded concurrency,
 * retries with backoff), parses `[[N]]`, checks the answer's language, and writes FastChat's
 * judgment files plus `judge-summary.json` (last). Every judge answer goes to an append-only cache
 * as soon as it arrives, so a rerun (or a run resumed after a kill) only calls what is missing.
 * An unparseable judgment is kept with `score: -1` and `error: "unparseable"`, never averaged.
 */
export async function judgeMtBench(options: JudgeMtBenchOptions): Promise<JudgeSummary> {
  const parsed = judgeMtBenchOptionsSchema.parse(options);
  const provider = parsed.provider;
  const now = parsed.now ?? (() => Date.now() / 1000);
  const wantedLanguages = parsed.languages?.map((lang) => lang.toUpperCase());
  const answerFiles = (await loadAnswerFiles({ answers: parsed.answers, lang: parsed.lang, models: parsed.models })).filter(
    (file) => !wantedLanguages || wantedLanguages.includes(file.lang),
  );
  const languages = [...new Set(answerFiles.map((file) => file.lang))].sort();
  const benches = new Map<string, BenchLanguage>();
  for (const lang of languages) {
    benches.set(lang, await loadBenchLanguage({ bench: parsed.bench, lang, referenceModel: parsed.referenceModel, judgePrompts: parsed.judgePrompts }));
  }

  const tasks: JudgeTask[] = [];
  const missingAnswers: JudgeSummary["missingAnswers"] = [];
  for (const file of answerFiles) {
    const bench = benches.get(file.lang)!;
    bench.questions.forEach((question, questionIndex) => {
      const answer = findAnswer(file.answers, question);
      for (const turn of [1, 2] as const) {
        if (turn > question.turns.length) continue;
        const turns = answer?.choices[0]?.turns;
        if (!answer || !turns || turns.length < turn) {
          missingAnswers.push({ lang: file.lang, model: file.model, questionId: String(question.question_id), turn });
          continue;
        }
        const built = buildJudgePrompt({
          question,
          answer,
          turn,
          prompts: bench.prompts,
          reference: bench.references.get(String(question.question_id)),
        });
        tasks.push({
          lang: file.lang,
          model: file.model,
          question,
          questionIndex,
          turn,
          answerText: turns[turn - 1]!,
          ...built,
          key: judgeCacheKey({ judgeModel: provider.model, systemPrompt: built.systemPrompt, userPrompt: built.userPrompt }),
        });
      }
    });
  }

  const cachePath = parsed.cache ?? join(parsed.out, "judge-cache.jsonl");
  // One judge run per output folder and per cache at a time (folder first, then cache, in every
  // run, so two runs never wait for each other). The cache is read once the locks are held, so a
  // run that waited finds every judgment the other one paid for.
  const releases: ReleaseLock[] = [];
  if (!parsed.dryRun) {
    const lockOptions = { wait: parsed.wait, ...(parsed.onWait ? { onWait: parsed.onWait } : {}) };
    releases.push(await acquireExclusiveLock({ path: parsed.out, what: `the judge output folder ${parsed.out}`, ...lockOptions }));
    if (parsed.cache && !resolve(parsed.cache).startsWith(resolve(parsed.out) + "/")) {
      try {
        releases.push(await acquireExclusiveLock({ path: cachePath, what: `the judge cache ${cachePath}`, ...lockOptions }));
      } catch (error) {
        await releases[0]!();
        throw error;
      }
    }
  }
  const releaseAll = async (): Promise<void> => {
    for (const release of releases.reverse()) await release();
  };
  try {
    return await judgeWithLocks();
  } finally {
    await releaseAll();
  }

  async function judgeWithLocks(): Promise<JudgeSummary> {
  const cache = await openJudgeCache({ path: cachePath, readOnly: parsed.dryRun });
  const needsCall = (entry: JudgeCacheEntry | undefined) =>
    entry === undefined || (parsed.retryErrors && parseJudgmentScore(entry.judgment) === null);

  const summary: JudgeSummary = {
    judgeModel: provider.model,
    provider: provider.name,
    languagePolicy: parsed.languagePolicy,
    languages,
    models: [...new Set(answerFiles.map((file) => file.model))].sort(),
    judgments: tasks.length,
    calls: 0,
    possiblyBilledCalls: 0,
    failedCalls: 0,
    cacheHits: 0,
    toCall: 0,
    usage: { inputTokens: 0, outputTokens: 0, cost: null },
    cachedUsage: { inputTokens: 0, outputTokens: 0, cost: null },
    currency: parsed.prices?.currency ?? null,
    errors: [],
    languageMismatches: [],
    missingAnswers,
    outputs: [],
    cachePath,
  };

  if (parsed.dryRun) {
    try {
      for (const task of tasks) {
        const entry = cache.get(task.key);
        if (needsCall(entry)) summary.toCall += 1;
        else {
          summary.cacheHits += 1;
          summary.cachedUsage.inputTokens += entry!.input_tokens;
          summary.cachedUsage.outputTokens += entry!.output_tokens;
        }
      }
    } finally {
      await cache.close();
    }
    return summary;
  }

  const limit = pLimit(parsed.concurrency);
  const results = new Array<Judgment>(tasks.length);
  let done = 0;
  let fatal: unknown;
  const report = (message?: string) =>
    parsed.onProgress?.({ done, total: tasks.length, calls: summary.calls, cacheHits: summary.cacheHits, errors: summary.errors.length, message });

  const judgeOne = async (task: JudgeTask, index: number): Promise<void> => {
    let entry = cache.get(task.key);
    let cached = true;
    let apiError: string | undefined;
    if (needsCall(entry)) {
      if (fatal) return;
      cached = false;
      summary.calls += 1;
      try {
        const response = await callWithRetry(
          (attempt) =>
            provider.doJudge({
              systemPrompt: task.systemPrompt,
              userPrompt: task.userPrompt,
              temperature: parsed.temperature,
              maxTokens: parsed.maxTokens,
              signal: attempt.signal,
              ...(attempt.timeoutMs ? { timeoutMs: attempt.timeoutMs } : {}),
            }),
          {
            retries: 8,
            timeoutMs: 300_000,
            ...parsed.retry,
            service: "judge",
            ...(parsed.sleep ? { sleep: parsed.sleep } : {}),
            onRetry: (error) => report(`retrying ${task.model} ${task.question.question_id} turn ${task.turn}: ${error.message}`),
            onPossiblyBilled: () => {
              summary.possiblyBilledCalls += 1;
            },
          },
        );
        entry = {
          key: task.key,
          judge_model: provider.model,
          judgment: response.text,
          input_tokens: response.inputTokens,
          output_tokens: response.outputTokens,
          tstamp: now(),
        };
        await cache.add(entry);
        summary.usage.inputTokens += response.inputTokens;
        summary.usage.outputTokens += response.outputTokens;
      } catch (error) {
        // Bad credentials, model or endpoint fail every call alike: stop instead of writing errors.
        const stopsRun =
          error instanceof MissingJudgeApiKeyError ||
          error instanceof RemoteAuthError ||
          (error instanceof RemoteCallError && [401, 403, 404].includes(error.statusCode ?? 0)) ||
          !(error instanceof RemoteCallError);
        if (stopsRun) {
          fatal ??= error;
          return;
        }
        summary.failedCalls += 1;
        apiError = error.message;
      }
    } else {
      summary.cacheHits += 1;
      summary.cachedUsage.inputTokens += entry!.input_tokens;
      summary.cachedUsage.outputTokens += entry!.output_tokens;
    }

    const judgmentText = entry?.judgment ?? FASTCHAT_API_ERROR_OUTPUT;
    const parsedScore = entry ? parseJudgmentScore(entry.judgment) : null;
    const error = apiError !== undefined ? `api: ${apiError}` : parsedScore === null ? "unparseable" : undefined;
    const allowed = allowedAnswerLanguages({
      questionId: task.question.question_id,
      lang: task.lang,
      turn: task.turn,
      exceptions: parsed.languageExceptions,
    });
    const check = checkAnswerLanguage(task.answerText, allowed ?? []);
    const mismatch = allowed !== null && check.mismatch;
    const penalized = mismatch && parsed.languagePolicy === "penalize" && parsedScore !== null;
    const score = parsedScore === null ? -1 : penalized ? LANGUAGE_PENALTY_SCORE : parsedScore;
    const judgment: Judgment = {
      question_id: task.question.question_id,
      model: task.model,
      judge: [provider.model, task.promptName],
      user_prompt: task.userPrompt,
      judgment: judgmentText,
      score,
      turn: task.turn,
      tstamp: entry?.tstamp ?? now(),
      lang: task.lang,
      category: task.question.category,
      ...(error ? { error } : {}),
      ...(penalized ? { raw_score: parsedScore! } : {}),
      ...(check.detected ? { answer_language: check.detected } : {}),
      language_mismatch: mismatch,
      ...(penalized ? { language_penalized: true } : {}),
      input_tokens: entry?.input_tokens ?? 0,
      output_tokens: entry?.output_tokens ?? 0,
      cached,
    };
    results[index] = judgment;
    const questionId = String(task.question.question_id);
    if (error) summary.errors.push({ lang: task.lang, model: task.model, questionId, turn: task.turn, error });
    if (mismatch) {
      summary.languageMismatches.push({ lang: task.lang, model: task.model, questionId, turn: task.turn, detected: check.detected!, penalized });
    }
    done += 1;
    report();
  };

  try {
    await Promise.all(tasks.map((task, index) => limit(() => judgeOne(task, index))));
  } finally {
    await cache.close();
  }
  if (fatal) throw fatal;
  // The summary is the commit point of the folder: removed before the judgment files change.
  await rm(join(parsed.out, "judge-summary.json"), { force: true });

  summary.usage.cost = costOf(summary.usage, parsed.prices);
  summary.cachedUsage.cost = costOf(summary.cachedUsage, parsed.prices);
  const order = (a: JudgeTask, b: JudgeTask) =>
    (a.model < b.model ? -1 : a.model > b.model ? 1 : 0) || a.questionIndex - b.questionIndex || a.turn - b.turn;
  for (const lang of languages) {
    const indices = tasks.map((task, index) => ({ task, index })).filter(({ task }) => task.lang === lang);
    indices.sort((a, b) => order(a.task, b.task));
    const path = join(benchLanguageDirectory(parsed.out, lang), "model_judgment", judgeFileName(provider.model));
    await writeMtBenchJsonl(path, indices.map(({ index }) => results[index]!));
    summary.outputs.push(path);
  }
  const byTask = (item: { lang: string; model: string; questionId: string; turn: number }) =>
    `${item.lang}\u0000${item.model}\u0000${item.questionId.padStart(12, "0")}\u0000${item.turn}`;
  summary.errors.sort((a, b) => (byTask(a) < byTask(b) ? -1 : 1));
  summary.languageMismatches.sort((a, b) => (byTask(a) < byTask(b) ? -1 : 1));
  await writeFileAtomic(join(parsed.out, "judge-summary.json"), JSON.stringify(summary, null, 2) + "\n");
  return summary;
  }
}
