import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import pLimit from "p-limit";
import { z } from "zod";
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
import { UsageError } from "../../errors";
import { judgeBatchOptionsSchema, runJudgeBatches } from "./batch/run-judge-batches";
import { buildJudgePrompt, type BuiltJudgePrompt } from "./build-judge-prompt";
import { judgeCacheKey, openJudgeCache, type JudgeCache, type JudgeCacheEntry } from "./judge-cache";
import { MissingJudgeApiKeyError } from "./judge-errors";
import { startJudgeTally, type JudgeSummary, type JudgeTally } from "./judge-tally";
import type { JudgeProvider } from "./judge-provider";
import {
  allowedAnswerLanguages,
  checkAnswerLanguage,
  LANGUAGE_PENALTY_SCORE,
  languageExceptionSchema,
  languagePolicySchema,
} from "./language-check";
import { loadAnswerFiles, loadBenchLanguage, type BenchLanguage } from "./load-judge-inputs";
import { buildPairPrompt, type BuiltPairPrompt } from "./pairwise/build-pair-prompt";
import { combinePairWinners, mapPairVerdict, parsePairVerdict } from "./pairwise/parse-pair-verdict";
import { parseJudgmentScore } from "./parse-score";
import { parseOptions } from "../../parse-options";

const judgeProviderSchema = z.custom<JudgeProvider>((value) => typeof (value as JudgeProvider)?.doJudge === "function", "expected a JudgeProvider");

/** Options of `judgeMtBench`. */
export const judgeMtBenchOptionsSchema = z.strictObject({
  /** The benchmark tree (`mt-bench-x/` with `mt_bench_<LANG>/`, or FastChat's `mt_bench/`). */
  bench: z.string().min(1),
  /** Answers: `<answers>/mt_bench_<LANG>/model_answer/<model>.jsonl`, or flat files with `lang`. */
  answers: z.string().min(1),
  /** Output directory: `mt_bench_<LANG>/model_judgment/<judge>_single.jsonl` and `judge-summary.json`. */
  out: z.string().min(1),
  /** The judge (see `createOpenAICompatibleJudge`); or give several with `judges`. */
  provider: judgeProviderSchema.optional(),
  /** Several judges (e.g. GPT-4 and a local judge behind vLLM): each writes its own files. */
  judges: z.array(judgeProviderSchema).min(1).optional(),
  /**
   * `single` (FastChat's single-answer grading, the default), `pairwise-baseline` (every model
   * against `baseline`) or `pairwise-all` (every pair of models); pairs are judged in both orders.
   */
  mode: z.enum(["single", "pairwise-baseline", "pairwise-all"]).default("single"),
  /** The baseline model of `pairwise-baseline` (an answer file name). */
  baseline: z.string().min(1).optional(),
  /** Ask every judgment this many times (each repeat has its own cache key); 1 is FastChat's single run. */
  repeats: z.number().int().min(1).max(100).default(1),
  /** Send the judge calls through the OpenAI Batch API (half the price, results within 24 hours). */
  batch: judgeBatchOptionsSchema.optional(),
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
      /** Batch API price as a fraction of the normal price (OpenAI: half). */
      batchFactor: z.number().min(0).default(0.5),
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
  /** Output tokens a judge call is expected to take, for the dry run's price (default 400). */
  expectedOutputTokens: z.number().int().min(0).default(400),
  /** Token counter for the dry run's price (default: 4 characters a token, an estimate). */
  countTokens: z.custom<(text: string) => number>((value) => typeof value === "function").optional(),
  /** Progress callback: judgments done out of total, judge calls made, cache hits, errors. */
  onProgress: z.custom<(event: JudgeProgressEvent) => void>((value) => typeof value === "function").optional(),
  /** Clock for `tstamp` (seconds); injectable for tests. */
  now: z.custom<() => number>((value) => typeof value === "function").optional(),
})
  .refine((options) => (options.provider === undefined) !== (options.judges === undefined), {
    message: "give either provider or judges",
    path: ["provider"],
  })
  .refine((options) => options.mode !== "pairwise-baseline" || options.baseline !== undefined, {
    message: "pairwise-baseline needs a baseline model",
    path: ["baseline"],
  });
export type JudgeMtBenchOptions = z.input<typeof judgeMtBenchOptionsSchema>;
type ParsedOptions = z.output<typeof judgeMtBenchOptionsSchema>;
export type { JudgePrices, JudgeRunPart, JudgeSummary, JudgeUsage } from "./judge-tally";

/** Progress of a judge run. */
export interface JudgeProgressEvent {
  /** Judge calls answered (or found in the cache) out of all the run needs. */
  done: number;
  total: number;
  calls: number;
  cacheHits: number;
  errors: number;
  /** A line worth showing (a retry, a batch's status), when there is one. */
  message?: string;
}

interface SingleItem {
  kind: "single";
  lang: string;
  model: string;
  question: MtBenchQuestion;
  questionIndex: number;
  turn: 1 | 2;
  answerText: string;
  prompts: [BuiltJudgePrompt];
}

interface PairItem {
  kind: "pair";
  lang: string;
  model1: string;
  model2: string;
  question: MtBenchQuestion;
  questionIndex: number;
  turn: 1 | 2;
  /** Game 1 shows model_1 as assistant A, game 2 swaps the positions. */
  prompts: [BuiltPairPrompt, BuiltPairPrompt];
}

type JudgeItem = SingleItem | PairItem;

/** One call to one judge, identified by its cache key. */
interface JudgeCall {
  key: string;
  judgeIndex: number;
  repeat: number;
  systemPrompt: string;
  userPrompt: string;
  label: string;
  /** The prompt's output format, to tell whether a cached answer has a verdict. */
  outputFormat: string;
}

/** What became of a call. */
interface CallOutcome {
  entry?: JudgeCacheEntry;
  cached: boolean;
  apiError?: string;
}

function findAnswer(answers: readonly ModelAnswer[], question: MtBenchQuestion): ModelAnswer | undefined {
  const id = String(question.question_id);
  const exact = answers.find((answer) => String(answer.question_id) === id);
  if (exact) return exact;
  const { number } = splitQuestionId(question.question_id);
  return answers.find((answer) => number !== undefined && splitQuestionId(answer.question_id).number === number);
}

/** The dry run's default token count: about four characters a token (an estimate, not a tokenizer). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function judgeFileStem(judgeModel: string): string {
  return judgeModel.replace(/[\\/:*?"<>|\s]+/g, "_");
}

/** Judge model name as a file name (`meta-llama/Llama-3` -> `meta-llama_Llama-3`). */
export function judgeFileName(judgeModel: string): string {
  return `${judgeFileStem(judgeModel)}_single.jsonl`;
}

/** Pairwise judgment file name, FastChat's `<judge>_pair.jsonl`. */
export function pairJudgeFileName(judgeModel: string): string {
  return `${judgeFileStem(judgeModel)}_pair.jsonl`;
}

/** Plans what to judge: single answers, or pairs of answers in both orders. */
async function planItems(parsed: ParsedOptions) {
  const wantedLanguages = parsed.languages?.map((lang) => lang.toUpperCase());
  const answerFiles = (await loadAnswerFiles({ answers: parsed.answers, lang: parsed.lang, models: parsed.models })).filter(
    (file) => !wantedLanguages || wantedLanguages.includes(file.lang),
  );
  const languages = [...new Set(answerFiles.map((file) => file.lang))].sort();
  const benches = new Map<string, BenchLanguage>();
  for (const lang of languages) {
    benches.set(lang, await loadBenchLanguage({ bench: parsed.bench, lang, referenceModel: parsed.referenceModel, judgePrompts: parsed.judgePrompts }));
  }
  const items: JudgeItem[] = [];
  const missingAnswers: JudgeSummary["missingAnswers"] = [];
  const answerTurns = (answer: ModelAnswer | undefined, turn: number) => {
    const turns = answer?.choices[0]?.turns;
    return answer && turns && turns.length >= turn ? turns : undefined;
  };
  if (parsed.mode === "single") {
    for (const file of answerFiles) {
      const bench = benches.get(file.lang)!;
      bench.questions.forEach((question, questionIndex) => {
        const answer = findAnswer(file.answers, question);
        for (const turn of [1, 2] as const) {
          if (turn > question.turns.length) continue;
          const turns = answerTurns(answer, turn);
          if (!turns) {
            missingAnswers.push({ lang: file.lang, model: file.model, questionId: String(question.question_id), turn });
            continue;
          }
          const built = buildJudgePrompt({ question, answer: answer!, turn, prompts: bench.prompts, reference: bench.references.get(String(question.question_id)) });
          items.push({ kind: "single", lang: file.lang, model: file.model, question, questionIndex, turn, answerText: turns[turn - 1]!, prompts: [built] });
        }
      });
    }
  } else {
    for (const lang of languages) {
      const bench = benches.get(lang)!;
      const files = answerFiles.filter((file) => file.lang === lang).sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
      const pairs: [typeof files[number], typeof files[number]][] = [];
      if (parsed.mode === "pairwise-baseline") {
        const baseline = files.find((file) => file.model === parsed.baseline);
        if (!baseline) {
          throw new UsageError(`the baseline ${parsed.baseline} has no answers in ${lang}: expected ${join(parsed.answers, `mt_bench_${lang}`, "model_answer", `${parsed.baseline}.jsonl`)}`);
        }
        for (const file of files) if (file !== baseline) pairs.push([file, baseline]);
      } else {
        files.forEach((first, index) => files.slice(index + 1).forEach((second) => pairs.push([first, second])));
      }
      for (const [first, second] of pairs) {
        bench.questions.forEach((question, questionIndex) => {
          const answer1 = findAnswer(first.answers, question);
          const answer2 = findAnswer(second.answers, question);
          for (const turn of [1, 2] as const) {
            if (turn > question.turns.length) continue;
            const missing = [!answerTurns(answer1, turn) ? first.model : undefined, !answerTurns(answer2, turn) ? second.model : undefined];
            for (const model of missing) if (model) missingAnswers.push({ lang, model, questionId: String(question.question_id), turn });
            if (missing.some(Boolean)) continue;
            const reference = bench.references.get(String(question.question_id));
            const game1 = buildPairPrompt({ question, answerA: answer1!, answerB: answer2!, turn, prompts: bench.prompts, reference });
            const game2 = buildPairPrompt({ question, answerA: answer2!, answerB: answer1!, turn, prompts: bench.prompts, reference });
            items.push({ kind: "pair", lang, model1: first.model, model2: second.model, question, questionIndex, turn, prompts: [game1, game2] });
          }
        });
      }
    }
  }
  const byKey = new Map<string, (typeof missingAnswers)[number]>();
  for (const missing of missingAnswers) byKey.set(`${missing.lang}|${missing.model}|${missing.questionId}|${missing.turn}`, missing);
  return { answerFiles, languages, items, missingAnswers: [...byKey.values()] };
}

function itemLabel(item: JudgeItem): string {
  const who = item.kind === "single" ? item.model : `${item.model1} vs ${item.model2}`;
  return `${who} ${item.question.question_id} turn ${item.turn}`;
}

/**
 * Judges MT-Bench(-X) answers the way FastChat does: single-answer grading (default) or pairwise
 * judging against a baseline or between all models, each pair judged twice with the positions
 * swapped. Each judge call fills FastChat's prompt for the language and goes to the judge
 * (temperature 0, bounded concurrency, retries with backoff) or, with `batch`, through the OpenAI
 * Batch API. Several judges and repeated judgments are supported; each judge writes FastChat's
 * files (`<judge>_single.jsonl` / `<judge>_pair.jsonl`) and `judge-summary.json` is written last.
 * Every judge answer goes to an append-only cache as soon as it arrives, so a rerun (or a run
 * resumed after a kill) only calls what is missing. An unparseable judgment is kept with
 * `score: -1` and `error: "unparseable"` (pairwise: winner `error`), never averaged.
 */
export async function judgeMtBench(options: JudgeMtBenchOptions): Promise<JudgeSummary> {
  const parsed = parseOptions(judgeMtBenchOptionsSchema, options, "judgeMtBench");
  const { judges, batchedJudge } = checkJudges(parsed);
  const plan = await planItems(parsed);
  const { calls, callsByItem } = planCalls(parsed, judges, plan.items);
  const cachePath = parsed.cache ?? join(parsed.out, "judge-cache.jsonl");
  const releases = parsed.dryRun ? [] : await lockJudgeRun(parsed, cachePath);
  try {
    return await judgeLocked({ parsed, judges, batchedJudge, plan, calls, callsByItem, cachePath, now: parsed.now ?? (() => Date.now() / 1000) });
  } finally {
    for (const release of releases.reverse()) await release();
  }
}

/** The judges of a run, checked (distinct models; `batch` names only judges that can batch), and which of them go through the Batch API. */
function checkJudges(parsed: ParsedOptions): { judges: JudgeProvider[]; batchedJudge: (judgeIndex: number) => boolean } {
  const judges = parsed.judges ?? [parsed.provider!];
  const judgeModels = judges.map((judge) => judge.model);
  const duplicate = judgeModels.find((model, index) => judgeModels.indexOf(model) !== index);
  if (duplicate) throw new UsageError(`the judge ${duplicate} is given twice; each judge needs its own model name (its files are named after it)`);
  const batchedJudge = (judgeIndex: number) => {
    const judge = judges[judgeIndex]!;
    return parsed.batch !== undefined && judge.batch !== undefined && (parsed.batch.judges === undefined || parsed.batch.judges.includes(judge.model));
  };
  if (parsed.batch?.judges) {
    const unknown = parsed.batch.judges.filter((model) => !judgeModels.includes(model));
    if (unknown.length > 0) throw new UsageError(`batch judges ${unknown.join(", ")} are not among the judges (${judgeModels.join(", ")})`);
  }
  if (parsed.batch && !judges.some((_, index) => batchedJudge(index))) {
    throw new UsageError("--batch: no judge can use the Batch API (it needs an OpenAI-compatible judge)");
  }
  return { judges, batchedJudge };
}

/** A planned judge run, with its locks held. */
interface LockedRun {
  parsed: ParsedOptions;
  judges: readonly JudgeProvider[];
  batchedJudge: (judgeIndex: number) => boolean;
  plan: Awaited<ReturnType<typeof planItems>>;
  calls: ReadonlyMap<string, JudgeCall>;
  callsByItem: string[][][][];
  cachePath: string;
  now: () => number;
}

/** Look up the cache, call what is missing (or only count it, on a dry run), write the judgments, then the summary. */
async function judgeLocked(run: LockedRun): Promise<JudgeSummary> {
  const { parsed, judges, batchedJudge, plan, calls, callsByItem, cachePath, now } = run;
  const cache = await openJudgeCache({ path: cachePath, readOnly: parsed.dryRun });
  const tally = startJudgeTally({
    judges: judges.map((judge, judgeIndex) => ({ model: judge.model, name: judge.name, batch: batchedJudge(judgeIndex) })),
    languagePolicy: parsed.languagePolicy,
    languages: plan.languages,
    models: [...new Set(plan.answerFiles.map((file) => file.model))].sort(),
    judgments: plan.items.length * judges.length * parsed.repeats,
    missingAnswers: plan.missingAnswers,
    cachePath,
    mode: parsed.mode,
    ...(parsed.baseline !== undefined ? { baseline: parsed.baseline } : {}),
    repeats: parsed.repeats,
    ...(parsed.prices ? { prices: parsed.prices } : {}),
  });
  const { outcomes, toCall } = lookUpCache({ parsed, calls, cache, tally });
  if (parsed.dryRun) {
    await cache.close();
    return tally.dryRunSummary();
  }

  let batchRun: JudgeSummary["batch"];
  try {
    batchRun = await callJudges(run, { cache, tally, outcomes, toCall });
  } finally {
    await cache.close();
  }
  // The summary is the commit point of the folder: removed before the judgment files change.
  await rm(join(parsed.out, "judge-summary.json"), { force: true });

  const summary = tally.total();
  summary.batch = batchRun;
  await writeJudgmentFiles({ parsed, judges, items: plan.items, languages: plan.languages, callsByItem, outcomes, now }, summary);
  await writeFileAtomic(join(parsed.out, "judge-summary.json"), JSON.stringify(summary, null, 2) + "\n");
  return summary;
}

/**
 * Makes the calls the cache lacks, online and through the Batch API side by side; every answer
 * goes to the cache as it arrives. Both ways finish before this returns, even when one fails.
 */
async function callJudges(
  run: LockedRun,
  state: { cache: JudgeCache; tally: JudgeTally; outcomes: Map<string, CallOutcome>; toCall: readonly JudgeCall[] },
): Promise<JudgeSummary["batch"]> {
  const { parsed, judges, batchedJudge, calls, now } = run;
  const { cache, tally, outcomes, toCall } = state;
  const summary = tally.summary;
  const progress = { done: calls.size - toCall.length, errors: 0 };
  const report = (message?: string) => {
    tally.total();
    parsed.onProgress?.({ done: progress.done, total: calls.size, calls: summary.calls, cacheHits: summary.cacheHits, errors: progress.errors, message });
  };
  const record = async (call: JudgeCall, response: { text: string; inputTokens: number; outputTokens: number; model?: string }, batchId?: string) => {
    const entry: JudgeCacheEntry = {
      key: call.key,
      judge_model: judges[call.judgeIndex]!.model,
      judgment: response.text,
      input_tokens: response.inputTokens,
      output_tokens: response.outputTokens,
      tstamp: now(),
      ...(response.model ? { judge_snapshot: response.model } : {}),
      ...(batchId ? { batch_id: batchId } : {}),
    };
    await cache.add(entry);
    outcomes.set(call.key, { entry, cached: false });
    tally.answered(call.judgeIndex, response, batchId !== undefined);
  };
  const phase: CallPhase = { parsed, judges, summary, outcomes, progress, record, report, now };

  let batchRun: JudgeSummary["batch"];
  const online = toCall.filter((call) => !batchedJudge(call.judgeIndex));
  const batched = toCall.filter((call) => batchedJudge(call.judgeIndex));
  const runBatches = async () => {
    batchRun = await callThroughBatches(phase, batched);
  };
  const settled = await Promise.allSettled([callOnline(phase, online), runBatches()]);
  for (const result of settled) if (result.status === "rejected") throw result.reason;
  return batchRun;
}

/** Every call the run needs, once per cache key (judge x repeat x item x game), and each item's keys. */
function planCalls(parsed: ParsedOptions, judges: readonly JudgeProvider[], items: readonly JudgeItem[]): { calls: Map<string, JudgeCall>; callsByItem: string[][][][] } {
  const callsByItem: string[][][][] = judges.map(() => []);
  const calls = new Map<string, JudgeCall>();
  judges.forEach((judge, judgeIndex) => {
    for (let repeat = 0; repeat < parsed.repeats; repeat += 1) {
      callsByItem[judgeIndex]![repeat] = items.map((item) =>
        item.prompts.map((prompt, game) => {
          const key = judgeCacheKey({ judgeModel: judge.model, systemPrompt: prompt.systemPrompt, userPrompt: prompt.userPrompt, repeat });
          if (!calls.has(key)) {
            const label = `${itemLabel(item)}${item.kind === "pair" ? ` game ${game + 1}` : ""}${parsed.repeats > 1 ? ` repeat ${repeat + 1}` : ""}${judges.length > 1 ? ` (${judge.model})` : ""}`;
            calls.set(key, { key, judgeIndex, repeat, systemPrompt: prompt.systemPrompt, userPrompt: prompt.userPrompt, label, outputFormat: prompt.outputFormat });
          }
          return key;
        }),
      );
    }
  });
  return { calls, callsByItem };
}

/**
 * One judge run per output folder and per cache at a time (folder first, then cache, in every run,
 * so two runs never wait for each other). The cache is read once the locks are held, so a run that
 * waited finds every judgment the other one paid for.
 */
async function lockJudgeRun(parsed: ParsedOptions, cachePath: string): Promise<ReleaseLock[]> {
  const lockOptions = { wait: parsed.wait, ...(parsed.onWait ? { onWait: parsed.onWait } : {}) };
  const releases: ReleaseLock[] = [await acquireExclusiveLock({ path: parsed.out, what: `the judge output folder ${parsed.out}`, ...lockOptions })];
  if (parsed.cache && !resolve(parsed.cache).startsWith(resolve(parsed.out) + "/")) {
    try {
      releases.push(await acquireExclusiveLock({ path: cachePath, what: `the judge cache ${cachePath}`, ...lockOptions }));
    } catch (error) {
      await releases[0]!();
      throw error;
    }
  }
  return releases;
}

/** What the two ways of calling the judges share: the run, where answers go, and the progress. */
interface CallPhase {
  parsed: ParsedOptions;
  judges: readonly JudgeProvider[];
  summary: JudgeSummary;
  outcomes: Map<string, CallOutcome>;
  progress: { done: number; errors: number };
  /** Caches an answer and counts its tokens. */
  record: (call: JudgeCall, response: { text: string; inputTokens: number; outputTokens: number; model?: string }, batchId?: string) => Promise<void>;
  report: (message?: string) => void;
  now: () => number;
}

/** Call the judges through the OpenAI Batch API (one batch run per judge; a rerun resumes its batches). */
async function callThroughBatches(phase: CallPhase, batched: readonly JudgeCall[]): Promise<JudgeSummary["batch"]> {
  const { parsed, judges, summary, outcomes, progress, record, report, now } = phase;
  if (batched.length === 0) return undefined;
  const statePath = parsed.batch?.statePath ?? join(parsed.out, "judge-batches.json");
  const batchRun = { statePath, batchIds: [] as string[], created: 0, resumed: 0 };
  for (const [judgeIndex, judge] of judges.entries()) {
    const mine = batched.filter((call) => call.judgeIndex === judgeIndex);
    if (mine.length === 0) continue;
    const byKey = new Map(mine.map((call) => [call.key, call]));
    const result = await runJudgeBatches({
      client: await judge.batch!.client(),
      judgeModel: judge.model,
      requests: mine.map((call) => ({
        custom_id: call.key,
        method: "POST",
        url: "/v1/chat/completions",
        body: judge.batch!.requestBody({ systemPrompt: call.systemPrompt, userPrompt: call.userPrompt, temperature: parsed.temperature, maxTokens: parsed.maxTokens }),
      })),
      statePath,
      pollIntervalMs: parsed.batch!.pollIntervalMs,
      maxRequestsPerFile: parsed.batch!.maxRequestsPerFile,
      maxBytesPerFile: parsed.batch!.maxBytesPerFile,
      now,
      onEvent: (event) =>
        report(`batch ${event.batchId} (${judge.model}, ${event.requests} requests): ${event.kind === "status" ? event.status : event.kind}${event.completed !== undefined ? `, ${event.completed} done, ${event.failed ?? 0} failed` : ""}`),
      onResults: async (results) => {
        for (const result of results) {
          const call = byKey.get(result.customId);
          if (!call || outcomes.has(call.key)) continue;
          summary.judges[judgeIndex]!.calls += 1;
          if (result.text !== undefined) await record(call, { text: result.text, inputTokens: result.inputTokens, outputTokens: result.outputTokens, model: result.model }, result.batchId);
          else {
            outcomes.set(call.key, { cached: false, apiError: result.error ?? "no result" });
            summary.failedCalls += 1;
            progress.errors += 1;
          }
          progress.done += 1;
        }
        report();
      },
    });
    batchRun.batchIds.push(...result.batchIds);
    batchRun.created += result.created;
    batchRun.resumed += result.resumed;
  }
  return batchRun;
}

/**
 * Call the judges one request at a time, `concurrency` in flight, through the remote layer's retries.
 * A failed call is kept as an error; bad credentials, model or endpoint stop the run instead.
 */
async function callOnline(phase: CallPhase, list: readonly JudgeCall[]): Promise<void> {
  const { parsed, judges, summary, outcomes, progress, record, report } = phase;
  const limit = pLimit(parsed.concurrency);
  let fatal: unknown;
  await Promise.all(
    list.map((call) =>
      limit(async () => {
        if (fatal) return;
        const judge = judges[call.judgeIndex]!;
        summary.judges[call.judgeIndex]!.calls += 1;
        try {
          const response = await callWithRetry(
            (attempt) =>
              judge.doJudge({
                systemPrompt: call.systemPrompt,
                userPrompt: call.userPrompt,
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
              onRetry: (error) => report(`retrying ${call.label}: ${error.message}`),
              onPossiblyBilled: () => {
                summary.possiblyBilledCalls += 1;
              },
            },
          );
          await record(call, response);
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
          outcomes.set(call.key, { cached: false, apiError: error.message });
          progress.errors += 1;
        }
        progress.done += 1;
        report();
      }),
    ),
  );
  if (fatal) throw fatal;
}

/**
 * Splits the calls into outcomes the cache already holds and calls still to make (an unparseable
 * cached answer counts as missing with `retryErrors`); tallies cache hits, their tokens and, on a
 * dry run, the estimated tokens of the calls to make.
 */
function lookUpCache(run: {
  parsed: ParsedOptions;
  calls: ReadonlyMap<string, JudgeCall>;
  cache: JudgeCache;
  tally: JudgeTally;
}): { outcomes: Map<string, CallOutcome>; toCall: JudgeCall[] } {
  const { parsed, calls, cache, tally } = run;
  const needsCall = (entry: JudgeCacheEntry | undefined) =>
    entry === undefined || (parsed.retryErrors && !entryIsParseable(entry, calls.get(entry.key)!));
  const outcomes = new Map<string, CallOutcome>();
  const toCall: JudgeCall[] = [];
  const countTokens = parsed.countTokens ?? estimateTokens;
  for (const call of calls.values()) {
    const entry = cache.get(call.key);
    if (needsCall(entry)) {
      toCall.push(call);
      if (parsed.dryRun) {
        const inputTokens = countTokens(call.systemPrompt) + countTokens(call.userPrompt);
        tally.estimateCall(call.judgeIndex, { inputTokens, outputTokens: parsed.expectedOutputTokens });
      }
    } else {
      outcomes.set(call.key, { entry, cached: true });
      tally.cacheHit(call.judgeIndex, entry!);
    }
  }
  return { outcomes, toCall };
}

/**
 * Builds each judge's judgment rows from the call outcomes and writes FastChat's files per
 * language; records the outputs, the judge snapshots and the sorted errors in the summary.
 */
async function writeJudgmentFiles(
  run: {
    parsed: ParsedOptions;
    judges: readonly JudgeProvider[];
    items: readonly JudgeItem[];
    languages: readonly string[];
    callsByItem: string[][][][];
    outcomes: ReadonlyMap<string, CallOutcome>;
    now: () => number;
  },
  summary: JudgeSummary,
): Promise<void> {
  const { parsed, judges, items, languages, callsByItem, outcomes, now } = run;
  const snapshots = new Set<string>();
  for (const [judgeIndex, judge] of judges.entries()) {
    const judgeSnapshots = new Set<string>();
    const rowsByLang = new Map<string, { item: JudgeItem; repeat: number; row: Record<string, unknown> }[]>();
    for (let repeat = 0; repeat < parsed.repeats; repeat += 1) {
      items.forEach((item, itemIndex) => {
        const keys = callsByItem[judgeIndex]![repeat]![itemIndex]!;
        const callOutcomes = keys.map((key) => outcomes.get(key)!);
        for (const outcome of callOutcomes) if (outcome.entry?.judge_snapshot) judgeSnapshots.add(outcome.entry.judge_snapshot);
        const context = { judge, judges, repeat, repeats: parsed.repeats, now, parsed, summary };
        const row = item.kind === "single" ? buildSingleRow(item, callOutcomes[0]!, context) : buildPairRow(item, callOutcomes, context);
        const list = rowsByLang.get(item.lang) ?? [];
        list.push({ item, repeat, row });
        rowsByLang.set(item.lang, list);
      });
    }
    summary.judges[judgeIndex]!.snapshots = [...judgeSnapshots].sort();
    for (const snapshot of judgeSnapshots) snapshots.add(snapshot);
    for (const lang of languages) {
      const rows = rowsByLang.get(lang) ?? [];
      rows.sort((a, b) => compareItems(a.item, b.item) || a.repeat - b.repeat);
      const name = parsed.mode === "single" ? judgeFileName(judge.model) : pairJudgeFileName(judge.model);
      const path = join(benchLanguageDirectory(parsed.out, lang), "model_judgment", name);
      await writeMtBenchJsonl(path, rows.map(({ row }) => row));
      summary.outputs.push(path);
      summary.judges[judgeIndex]!.outputs.push(path);
    }
  }
  summary.judgeSnapshots = [...snapshots].sort();
  const byTask = (item: { lang: string; model: string; questionId: string; turn: number; judge?: string; repeat?: number; game?: number }) =>
    `${item.lang}\u0000${item.model}\u0000${item.questionId.padStart(12, "0")}\u0000${item.turn}\u0000${item.judge ?? ""}\u0000${String(item.repeat ?? 0).padStart(4, "0")}\u0000${item.game ?? 0}`;
  summary.errors.sort((a, b) => (byTask(a) < byTask(b) ? -1 : 1));
  summary.languageMismatches.sort((a, b) => (byTask(a) < byTask(b) ? -1 : 1));
  if (parsed.mode !== "single") summary.inconsistentPairs ??= 0;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function compareItems(a: JudgeItem, b: JudgeItem): number {
  const modelOf = (item: JudgeItem) => (item.kind === "single" ? item.model : `${item.model1}\u0000${item.model2}`);
  const modelA = modelOf(a);
  const modelB = modelOf(b);
  return (modelA < modelB ? -1 : modelA > modelB ? 1 : 0) || a.questionIndex - b.questionIndex || a.turn - b.turn;
}

/** Whether a cached answer gave a verdict (for `retryErrors`). */
function entryIsParseable(entry: JudgeCacheEntry, call: JudgeCall): boolean {
  if (call.outputFormat === "[[rating]]") return parseJudgmentScore(entry.judgment) !== null;
  return parsePairVerdict(entry.judgment, call.outputFormat as BuiltPairPrompt["outputFormat"]) !== "error";
}

interface RowContext {
  judge: JudgeProvider;
  judges: readonly JudgeProvider[];
  repeat: number;
  repeats: number;
  now: () => number;
  parsed: ParsedOptions;
  summary: JudgeSummary;
}

function buildSingleRow(task: SingleItem, outcome: CallOutcome, context: RowContext): Judgment {
  const { parsed, summary } = context;
  const entry = outcome.entry;
  const prompt = task.prompts[0];
  const judgmentText = entry?.judgment ?? FASTCHAT_API_ERROR_OUTPUT;
  const parsedScore = entry ? parseJudgmentScore(entry.judgment) : null;
  const error = outcome.apiError !== undefined ? `api: ${outcome.apiError}` : parsedScore === null ? "unparseable" : undefined;
  const allowed = allowedAnswerLanguages({ questionId: task.question.question_id, lang: task.lang, turn: task.turn, exceptions: parsed.languageExceptions });
  const check = checkAnswerLanguage(task.answerText, allowed ?? []);
  const mismatch = allowed !== null && check.mismatch;
  const penalized = mismatch && parsed.languagePolicy === "penalize" && parsedScore !== null;
  const score = parsedScore === null ? -1 : penalized ? LANGUAGE_PENALTY_SCORE : parsedScore;
  const several = context.judges.length > 1 || context.repeats > 1;
  const judgment: Judgment = {
    question_id: task.question.question_id,
    model: task.model,
    judge: [context.judge.model, prompt.promptName],
    user_prompt: prompt.userPrompt,
    judgment: judgmentText,
    score,
    turn: task.turn,
    tstamp: entry?.tstamp ?? context.now(),
    lang: task.lang,
    category: task.question.category,
    ...(error ? { error } : {}),
    ...(penalized ? { raw_score: parsedScore! } : {}),
    ...(check.detected ? { answer_language: check.detected } : {}),
    language_mismatch: mismatch,
    ...(penalized ? { language_penalized: true } : {}),
    input_tokens: entry?.input_tokens ?? 0,
    output_tokens: entry?.output_tokens ?? 0,
    cached: outcome.cached,
    ...(entry?.judge_snapshot ? { judge_snapshot: entry.judge_snapshot } : {}),
    ...(context.repeats > 1 ? { repeat: context.repeat } : {}),
    ...(entry?.batch_id ? { batch_id: entry.batch_id } : {}),
  };
  const questionId = String(task.question.question_id);
  const who = several ? { judge: context.judge.model, ...(context.repeats > 1 ? { repeat: context.repeat } : {}) } : {};
  if (error) summary.errors.push({ lang: task.lang, model: task.model, questionId, turn: task.turn, error, ...who });
  // The language of an answer does not depend on the judge: flag it once.
  if (mismatch && context.judge === context.judges[0] && context.repeat === 0) {
    summary.languageMismatches.push({ lang: task.lang, model: task.model, questionId, turn: task.turn, detected: check.detected!, penalized });
  }
  return judgment;
}

function buildPairRow(item: PairItem, outcomes: readonly CallOutcome[], context: RowContext): Record<string, unknown> {
  const { summary } = context;
  const winners = outcomes.map((outcome, game) => {
    if (!outcome.entry) return "error" as const;
    return mapPairVerdict(parsePairVerdict(outcome.entry.judgment, item.prompts[game]!.outputFormat), (game + 1) as 1 | 2);
  });
  const outcome = combinePairWinners(winners[0]!, winners[1]!);
  const snapshot = outcomes.map((entry) => entry.entry?.judge_snapshot).find(Boolean);
  const questionId = String(item.question.question_id);
  const who = context.judges.length > 1 || context.repeats > 1 ? { judge: context.judge.model, ...(context.repeats > 1 ? { repeat: context.repeat } : {}) } : {};
  const errors: string[] = [];
  outcomes.forEach((entry, game) => {
    if (winners[game] !== "error") return;
    const error = entry.apiError !== undefined ? `api: ${entry.apiError}` : "unparseable";
    errors.push(`game ${game + 1}: ${error}`);
    summary.errors.push({ lang: item.lang, model: `${item.model1} vs ${item.model2}`, questionId, turn: item.turn, error, game: (game + 1) as 1 | 2, ...who });
  });
  if (outcome === "inconsistent") summary.inconsistentPairs = (summary.inconsistentPairs ?? 0) + 1;
  return {
    question_id: item.question.question_id,
    model_1: item.model1,
    model_2: item.model2,
    g1_winner: winners[0],
    g2_winner: winners[1],
    judge: [context.judge.model, item.prompts[0].promptName],
    g1_user_prompt: item.prompts[0].userPrompt,
    g1_judgment: outcomes[0]!.entry?.judgment ?? FASTCHAT_API_ERROR_OUTPUT,
    g2_user_prompt: item.prompts[1].userPrompt,
    g2_judgment: outcomes[1]!.entry?.judgment ?? FASTCHAT_API_ERROR_OUTPUT,
    turn: item.turn,
    tstamp: outcomes[0]!.entry?.tstamp ?? context.now(),
    lang: item.lang,
    category: item.question.category,
    winner: outcome,
    consistent: outcome !== "inconsistent" && outcome !== "error",
    ...(errors.length > 0 ? { error: errors.join("; ") } : {}),
    input_tokens: sum(outcomes.map((entry) => entry.entry?.input_tokens ?? 0)),
    output_tokens: sum(outcomes.map((entry) => entry.entry?.output_tokens ?? 0)),
    cached: outcomes.every((entry) => entry.cached),
    ...(snapshot ? { judge_snapshot: snapshot } : {}),
    ...(context.repeats > 1 ? { repeat: context.repeat } : {}),
  };
}
