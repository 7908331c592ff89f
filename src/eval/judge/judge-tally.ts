import type { JudgeCacheEntry } from "./judge-cache";

/** Prices per million tokens (the options' `prices`). */
export interface JudgePrices {
  inputPerMillion: number;
  outputPerMillion: number;
  currency: string;
  /** Batch API price as a fraction of the normal price. */
  batchFactor: number;
}

/** Token usage and its cost. */
export interface JudgeUsage {
  inputTokens: number;
  outputTokens: number;
  /** Cost at the given prices (the batch price for batched calls); null without prices. */
  cost: number | null;
}

/** One judge's share of a run. */
export interface JudgeRunPart {
  judgeModel: string;
  provider: string;
  /** The model snapshots the API said answered (`model` of the responses), sorted. */
  snapshots: string[];
  calls: number;
  cacheHits: number;
  toCall: number;
  usage: JudgeUsage;
  cachedUsage: JudgeUsage;
  /** Whether this judge's calls go through the Batch API. */
  batch: boolean;
  outputs: string[];
}

/** What a judge run did (also written to `judge-summary.json`). */
export interface JudgeSummary {
  judgeModel: string;
  provider: string;
  languagePolicy: "fastchat" | "penalize";
  languages: string[];
  models: string[];
  /** Judgments written (single rows, or pair rows of two calls each), over all judges and repeats. */
  judgments: number;
  /** Judge calls made by this run (successful or not after retries). */
  calls: number;
  /**
   * Attempts that timed out: the endpoint may have answered (and billed) them after this run
   * stopped waiting. Each was retried with twice the time.
   */
  possiblyBilledCalls: number;
  /** Judge calls that failed for good (after retries, or an error in a batch); their judgments have score -1 and `error: "api: ..."`. */
  failedCalls: number;
  cacheHits: number;
  /** Judge calls still to be made (dry run), or 0. */
  toCall: number;
  /** Usage of the calls made by this run, and of the cached answers reused. */
  usage: JudgeUsage;
  cachedUsage: JudgeUsage;
  currency: string | null;
  /** Judgments with score -1: `unparseable` (re-triable with `retryErrors`) or `api`. */
  errors: { lang: string; model: string; questionId: string; turn: number; error: string; judge?: string; repeat?: number; game?: 1 | 2 }[];
  languageMismatches: { lang: string; model: string; questionId: string; turn: number; detected: string; penalized: boolean }[];
  /** Questions without an answer (or with fewer turns than asked). */
  missingAnswers: { lang: string; model: string; questionId: string; turn: number }[];
  outputs: string[];
  cachePath: string;
  mode: "single" | "pairwise-baseline" | "pairwise-all";
  baseline?: string;
  repeats: number;
  /** Every judge model snapshot the API reported, sorted. */
  judgeSnapshots: string[];
  judges: JudgeRunPart[];
  /**
   * The price of the calls still to make: their count, their input tokens (counted with
   * `countTokens`), `expectedOutputTokens` each, at the batch price where they are batched.
   */
  estimate: { calls: number; inputTokens: number; outputTokens: number; cost: number | null };
  /** Pairwise: games whose two orders disagreed (FastChat counts them as ties). */
  inconsistentPairs?: number;
  /** Batch API: the batches this run followed, and how many it created. */
  batch?: { statePath: string; batchIds: string[]; created: number; resumed: number };
}

function costOf(usage: { inputTokens: number; outputTokens: number }, prices?: { inputPerMillion: number; outputPerMillion: number }, factor = 1): number | null {
  if (!prices) return null;
  return ((usage.inputTokens * prices.inputPerMillion + usage.outputTokens * prices.outputPerMillion) / 1_000_000) * factor;
}

function emptyUsage(): JudgeUsage {
  return { inputTokens: 0, outputTokens: 0, cost: null };
}

/** Tokens at the normal and at the batch price; the cost is computed once from the totals. */
interface PricedTokens {
  normal: { inputTokens: number; outputTokens: number };
  batched: { inputTokens: number; outputTokens: number };
}

function pricedTokens(): PricedTokens {
  return { normal: { inputTokens: 0, outputTokens: 0 }, batched: { inputTokens: 0, outputTokens: 0 } };
}

function addTokens(tokens: PricedTokens, usage: { inputTokens: number; outputTokens: number }, batched: boolean): void {
  const bucket = batched ? tokens.batched : tokens.normal;
  bucket.inputTokens += usage.inputTokens;
  bucket.outputTokens += usage.outputTokens;
}

function usageOf(tokens: PricedTokens, prices: JudgePrices | undefined): JudgeUsage {
  const inputTokens = tokens.normal.inputTokens + tokens.batched.inputTokens;
  const outputTokens = tokens.normal.outputTokens + tokens.batched.outputTokens;
  if (!prices) return { inputTokens, outputTokens, cost: null };
  const batchedCost = tokens.batched.inputTokens + tokens.batched.outputTokens > 0 ? costOf(tokens.batched, prices, prices.batchFactor)! : 0;
  return { inputTokens, outputTokens, cost: costOf(tokens.normal, prices)! + batchedCost };
}


/** Tokens in and out of one call or answer. */
interface Tokens {
  inputTokens: number;
  outputTokens: number;
}

/**
 * The bookkeeping of a judge run: counts calls, cache hits and tokens per judge as the run goes,
 * and turns them into the summary's totals and costs (computed once from the token totals, at the
 * batch price for batched calls).
 */
export interface JudgeTally {
  /** The summary being filled; its totals are current after {@link JudgeTally.total}. */
  readonly summary: JudgeSummary;
  /** A judgment the cache already holds. */
  cacheHit(judgeIndex: number, entry: JudgeCacheEntry): void;
  /** A call still to make, priced for the dry run's estimate. */
  estimateCall(judgeIndex: number, tokens: Tokens): void;
  /** An answer this run paid for. */
  answered(judgeIndex: number, tokens: Tokens, batched: boolean): void;
  /** Brings the per-judge and overall calls, cache hits and usage up to date; returns the summary. */
  total(): JudgeSummary;
  /** Totals plus the price estimate of the calls still to make: the dry run's summary. */
  dryRunSummary(): JudgeSummary;
}

/** What a judge run's summary starts from: the plan, before any call. */
export interface JudgeTallyStart {
  judges: readonly { model: string; name: string; batch: boolean }[];
  languagePolicy: JudgeSummary["languagePolicy"];
  languages: string[];
  models: string[];
  /** Judgment rows the run writes, over all judges and repeats. */
  judgments: number;
  missingAnswers: JudgeSummary["missingAnswers"];
  cachePath: string;
  mode: JudgeSummary["mode"];
  baseline?: string;
  repeats: number;
  prices?: JudgePrices;
}

export function startJudgeTally(start: JudgeTallyStart): JudgeTally {
  const { judges, prices } = start;
  const parts: JudgeRunPart[] = judges.map((judge) => ({
    judgeModel: judge.model,
    provider: judge.name,
    snapshots: [],
    calls: 0,
    cacheHits: 0,
    toCall: 0,
    usage: emptyUsage(),
    cachedUsage: emptyUsage(),
    batch: judge.batch,
    outputs: [],
  }));
  const summary: JudgeSummary = {
    judgeModel: judges[0]!.model,
    provider: judges[0]!.name,
    languagePolicy: start.languagePolicy,
    languages: start.languages,
    models: start.models,
    judgments: start.judgments,
    calls: 0,
    possiblyBilledCalls: 0,
    failedCalls: 0,
    cacheHits: 0,
    toCall: 0,
    usage: emptyUsage(),
    cachedUsage: emptyUsage(),
    currency: prices?.currency ?? null,
    errors: [],
    languageMismatches: [],
    missingAnswers: start.missingAnswers,
    outputs: [],
    cachePath: start.cachePath,
    mode: start.mode,
    ...(start.mode === "pairwise-baseline" ? { baseline: start.baseline } : {}),
    repeats: start.repeats,
    judgeSnapshots: [],
    judges: parts,
    estimate: { calls: 0, inputTokens: 0, outputTokens: 0, cost: null },
  };
  const tokens = judges.map(() => ({ usage: pricedTokens(), cachedUsage: pricedTokens() }));
  const estimated = pricedTokens();
  const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

  const total = (): JudgeSummary => {
    parts.forEach((part, index) => {
      part.usage = usageOf(tokens[index]!.usage, prices);
      part.cachedUsage = usageOf(tokens[index]!.cachedUsage, prices);
    });
    summary.calls = sum(parts.map((part) => part.calls));
    summary.cacheHits = sum(parts.map((part) => part.cacheHits));
    summary.toCall = sum(parts.map((part) => part.toCall));
    for (const field of ["usage", "cachedUsage"] as const) {
      const all = pricedTokens();
      for (const entry of tokens) {
        addTokens(all, entry[field].normal, false);
        addTokens(all, entry[field].batched, true);
      }
      summary[field] = usageOf(all, prices);
    }
    return summary;
  };

  return {
    summary,
    cacheHit(judgeIndex, entry) {
      parts[judgeIndex]!.cacheHits += 1;
      addTokens(tokens[judgeIndex]!.cachedUsage, { inputTokens: entry.input_tokens, outputTokens: entry.output_tokens }, entry.batch_id !== undefined);
    },
    estimateCall(judgeIndex, callTokens) {
      const part = parts[judgeIndex]!;
      part.toCall += 1;
      summary.estimate.calls += 1;
      addTokens(estimated, callTokens, part.batch);
    },
    answered(judgeIndex, answerTokens, batched) {
      addTokens(tokens[judgeIndex]!.usage, answerTokens, batched);
    },
    total,
    dryRunSummary() {
      total();
      summary.estimate = { calls: summary.estimate.calls, ...usageOf(estimated, prices) };
      return summary;
    },
  };
}

