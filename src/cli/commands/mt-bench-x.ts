import { readFile } from "node:fs/promises";
import { Command, InvalidArgumentError } from "commander";
import { UsageError } from "../../errors";
import type { JudgeMtBenchOptions, JudgeSummary } from "../../eval/judge/judge-mt-bench";
import type { ComparisonPair } from "../../eval/report/cross-lingual";
import { CONFIDENCE_RANGE, fractionIn, parseLanguageList, parseList, parseNonNegativeNumber, parsePositiveInteger, parseSeed } from "../option-parsers";
import { createProgressReporter } from "../progress-reporter";
import { addProviderOptions, createProviderFromFlags, type ProviderFlags } from "../provider-from-flags";
import { addRemoteOptions, printWait, remotePolicyOf, type RemoteCommandOptions } from "../remote-options";
import { JudgeCallsFailedError } from "../../eval/judge/judge-errors";
import { defaultTranslationCachePath } from "../../cache-directory";

function parseNonNegativeInteger(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected an integer >= 0, got "${value}"`);
  return Number(value);
}

function parseLanguagePolicy(value: string): "fastchat" | "penalize" {
  if (value !== "fastchat" && value !== "penalize") throw new InvalidArgumentError('expected "fastchat" or "penalize"');
  return value;
}

interface BuildCommandOptions extends RemoteCommandOptions, ProviderFlags {
  questions: string;
  references: string;
  judgePrompts: string;
  to: string[];
  out: string;
  cache?: string;
  overrides?: string;
  concurrency?: number;
  dryRun?: boolean;
  quiet?: boolean;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parseJudgeMode(value: string): "single" | "pairwise-baseline" | "pairwise-all" {
  if (value !== "single" && value !== "pairwise-baseline" && value !== "pairwise-all") {
    throw new InvalidArgumentError('expected "single", "pairwise-baseline" or "pairwise-all"');
  }
  return value;
}

function parseReasoning(value: string): boolean | "auto" {
  if (value === "auto") return "auto";
  if (value === "on" || value === "true") return true;
  if (value === "off" || value === "false") return false;
  throw new InvalidArgumentError('expected "auto", "on" or "off"');
}

/**
 * `--base-url` and `--api-key-env` given once apply to every judge; given once per `--judge-model`,
 * they pair up in order (an empty value keeps the default).
 */
function alignWithJudges(name: string, values: string[] | undefined, judges: number): (string | undefined)[] {
  if (!values || values.length === 0) return Array.from({ length: judges }, () => undefined);
  if (values.length === 1) return Array.from({ length: judges }, () => values[0] || undefined);
  if (values.length !== judges) throw new UsageError(`give ${name} once (for every judge) or once per --judge-model (${judges}), not ${values.length} times`);
  return values.map((value) => value || undefined);
}

interface JudgeCommandOptions extends RemoteCommandOptions {
  bench: string;
  answers: string;
  judgeModel: string[];
  baseUrl?: string[];
  apiKeyEnv?: string[];
  mode: "single" | "pairwise-baseline" | "pairwise-all";
  baseline?: string;
  repeats: number;
  batch?: boolean;
  batchJudges?: string[];
  batchPollSeconds: number;
  batchPriceFactor: number;
  reasoning: boolean | "auto";
  expectedOutputTokens: number;
  out: string;
  lang?: string[];
  models?: string[];
  referenceModel: string;
  judgePrompts?: string;
  cache?: string;
  concurrency: number;
  maxTokens: number;
  retries: number;
  retryErrors?: boolean;
  languagePolicy: "fastchat" | "penalize";
  languageExceptions?: string;
  priceInput?: number;
  priceOutput?: number;
  currency: string;
  dryRun?: boolean;
  quiet?: boolean;
}

interface ReportCommandOptions {
  judgments: string;
  out: string;
  bench?: string;
  lang?: string;
  judgeModel?: string;
  compare?: string;
  pairsFile?: string;
  humanRatings?: string;
  baseline?: string;
  resamples: number;
  seed: number | string;
  confidence: number;
  quiet?: boolean;
}

function formatCost(value: number | null, currency: string | null): string {
  return value === null ? "no prices given" : `${value.toFixed(4)} ${currency ?? ""}`.trim();
}

function summariseJudgeRun(summary: JudgeSummary, dryRun: boolean): string[] {
  const several = summary.judges.length > 1;
  if (dryRun) {
    return [
      `dry run: ${summary.judgments} judgments, ${summary.cacheHits} cached, ${summary.toCall} to call the judge for`,
      `calls: ${summary.estimate.calls}, estimated price ${formatCost(summary.estimate.cost, summary.currency)} (${summary.estimate.inputTokens} input tokens counted, ${summary.estimate.outputTokens} output tokens expected${summary.judges.some((judge) => judge.batch) ? ", batched calls at the batch price" : ""})`,
      ...(several ? summary.judges.map((judge) => `  ${judge.judgeModel}: ${judge.toCall} calls${judge.batch ? " (Batch API)" : ""}, ${judge.cacheHits} cached`) : []),
      ...(summary.missingAnswers.length ? [`${summary.missingAnswers.length} question turns have no answer`] : []),
    ];
  }
  return [
    `${summary.judgments} judgments (${summary.calls} judge calls, ${summary.cacheHits} from the cache)`,
    ...(summary.possiblyBilledCalls > 0
      ? [`${summary.possiblyBilledCalls} attempt(s) timed out and may have been billed although no answer arrived`]
      : []),
    ...(summary.judgeSnapshots.length ? [`judge snapshots: ${summary.judgeSnapshots.join(", ")}`] : []),
    ...(summary.batch ? [`batches: ${summary.batch.batchIds.join(", ")} (${summary.batch.created} created, ${summary.batch.resumed} resumed; state ${summary.batch.statePath})`] : []),
    ...(summary.inconsistentPairs !== undefined ? [`pairs whose two orders disagreed: ${summary.inconsistentPairs}`] : []),
    `tokens: ${summary.usage.inputTokens} in / ${summary.usage.outputTokens} out, cost ${formatCost(summary.usage.cost, summary.currency)}`,
    `errors: ${summary.errors.length} without a score${summary.errors.some((error) => error.error === "unparseable") ? " (rerun with --retry-errors to ask the judge again)" : ""}`,
    `answers in the wrong language: ${summary.languageMismatches.length}`,
    ...(summary.missingAnswers.length ? [`${summary.missingAnswers.length} question turns have no answer`] : []),
    ...summary.outputs.map((path) => `wrote ${path}`),
  ];
}

/**
 * Adds `mt-bench-x build|judge|report`: build the benchmark with the translation engine, judge
 * answers with any OpenAI-compatible judge, and report FastChat averages, intervals and charts.
 */
export function registerMtBenchXCommands(program: Command): void {
  const group = program.command("mt-bench-x").description("Build, judge and report MT-Bench-X (MT-Bench in several languages)");
  registerBuildCommand(group);
  registerJudgeCommand(group);
  registerReportCommand(group);
}

/** `mt-bench-x build`: translate FastChat's MT-Bench through the translation engine. */
function registerBuildCommand(group: Command): void {
  const command = group
    .command("build")
    .description("Translate FastChat's MT-Bench (questions, references, judge prompts) into the MT-Bench-X layout")
    .requiredOption("--questions <file>", "FastChat question.jsonl (English)")
    .requiredOption("--references <file>", "FastChat reference_answer/gpt-4.jsonl")
    .requiredOption("--judge-prompts <file>", "FastChat judge_prompts.jsonl")
    .requiredOption("--out <dir>", "output directory (mt_bench_<LANG>/ per language)")
    .option("--to <languages>", "target languages, ISO 639-1", parseLanguageList, ["de", "fr", "it", "es"])
    .option("--cache <path>", "translation cache shared by all commands (default: POLYGLOT_TRANSLATION_CACHE or ~/.cache/polyglot-instruct/translations.jsonl)")
    .option("--overrides <file>", "JSONL {question_id, turns?, reference?} for localised questions and human corrections")
    .option("--concurrency <n>", "translation requests in flight", parsePositiveInteger, 4)
    .option("--dry-run", "translate nothing, write nothing; show what would be sent")
    .option("--quiet", "no progress output");
  addRemoteOptions(addProviderOptions(command), 120).action(async (options: BuildCommandOptions) => {
      const reporter = createProgressReporter({ label: "mt-bench-x build", unit: "segments", quiet: options.quiet });
      // Each subcommand loads its pipeline when it runs, so the CLI starts fast.
      const [{ openTranslationCache }, { buildMtBenchX, readMtBenchOverrides }] = await Promise.all([
        import("../../translate/translation-cache"),
        import("../../eval/build-mt-bench-x"),
      ]);
      const cache = await openTranslationCache({ path: options.cache ?? defaultTranslationCachePath(), wait: options.wait, onWait: printWait });
      try {
        const result = await buildMtBenchX({
          retry: remotePolicyOf(options),
          questions: options.questions,
          references: options.references,
          judgePrompts: options.judgePrompts,
          to: options.to,
          out: options.out,
          provider: createProviderFromFlags(options),
          cache,
          overrides: options.overrides ? await readMtBenchOverrides(options.overrides) : [],
          concurrency: options.concurrency,
          dryRun: options.dryRun ?? false,
          onProgress: (event) => reporter.update(event.doneSegments, { language: event.lang, total: event.totalSegments }),
        });
        reporter.stop();
        for (const [lang, report] of Object.entries(result.translation)) {
          reporter.log(`${lang}: ${report.uniqueSegments} segments, ${report.cachedSegments} cached, ${report.billedCharacters} characters ${options.dryRun ? "to send" : "sent"}`);
        }
        for (const issue of result.issues) reporter.log(`${issue.lang} ${issue.where}: ${issue.kind}, kept the English text`);
        if (!options.quiet && !options.dryRun) process.stdout.write(`wrote ${options.out} (${result.languages.join(", ")})\n`);
      } finally {
        reporter.stop();
        await cache.close();
      }
    });
}

/** `mt-bench-x judge`: judge answer files with one or several OpenAI-compatible judges. */
function registerJudgeCommand(group: Command): void {
  const command = group
    .command("judge")
    .description("Judge FastChat answer files with an OpenAI-compatible judge (FastChat single-answer grading)")
    .requiredOption("--bench <dir>", "the MT-Bench-X tree (mt_bench_<LANG>/) or FastChat's mt_bench/")
    .requiredOption("--answers <dir>", "answers: mt_bench_<LANG>/model_answer/<model>.jsonl, or <model>.jsonl with --lang")
    .requiredOption("--judge-model <name>", "judge model, e.g. gpt-4; repeat for several judges", collect)
    .requiredOption("--out <dir>", "output directory: mt_bench_<LANG>/model_judgment/<judge>_single.jsonl (or _pair.jsonl)")
    .option("--base-url <url>", "OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (default: OpenAI); once, or once per --judge-model", collect)
    .option("--api-key-env <name>", "environment variable holding the judge's API key (default OPENAI_API_KEY); once, or once per --judge-model", collect)
    .option("--mode <mode>", "single (FastChat single-answer grading), pairwise-baseline or pairwise-all", parseJudgeMode, "single")
    .option("--baseline <model>", "baseline model of --mode pairwise-baseline")
    .option("--repeats <n>", "ask each judgment n times (spread in the report)", parsePositiveInteger, 1)
    .option("--batch", "send the calls through the OpenAI Batch API (half price, within 24h); rerun to resume")
    .option("--batch-judges <models>", "only these judges use the Batch API (default: all)", parseList)
    .option("--batch-poll-seconds <n>", "seconds between batch status checks", parseNonNegativeNumber, 30)
    .option("--batch-price-factor <factor>", "batch price as a fraction of the normal price", parseNonNegativeNumber, 0.5)
    .option("--reasoning <auto|on|off>", "reasoning-model parameters (max_completion_tokens, no temperature); auto decides by model name", parseReasoning, "auto")
    .option("--expected-output-tokens <n>", "output tokens per call assumed by the dry run's price", parseNonNegativeInteger, 400)
    .option("--lang <languages>", "only these languages; the language of flat answer files", parseLanguageList)
    .option("--models <ids>", "only these model ids (answer file names)", parseList)
    .option("--reference-model <name>", "reference answers: reference_answer/<name>.jsonl", "gpt-4")
    .option("--judge-prompts <file>", "judge prompts for every language instead of the bench's")
    .option("--cache <file>", "judge cache (default <out>/judge-cache.jsonl)")
    .option("--concurrency <n>", "judge calls in flight", parsePositiveInteger, 4)
    .option("--max-tokens <n>", "judge output tokens (FastChat: 2048)", parsePositiveInteger, 2048)
    .option("--retries <n>", "retries of a failed call (429, 5xx, timeouts)", parseNonNegativeInteger, 8)
    .option("--retry-errors", "ask the judge again for cached judgments without a [[rating]]")
    .option("--language-policy <policy>", "fastchat: flag answers in the wrong language; penalize: also score them 1", parseLanguagePolicy, "fastchat")
    .option("--language-exceptions <file>", "JSON/JSONL {question_id, turns?, languages?}: answers allowed in other languages")
    .option("--price-input <amount>", "price per 1M input tokens, for the cost", parseNonNegativeNumber)
    .option("--price-output <amount>", "price per 1M output tokens, for the cost", parseNonNegativeNumber)
    .option("--currency <code>", "currency of the prices", "USD")
    .option("--dry-run", "count judgments and cache hits; call nothing, write nothing")
    .option("--quiet", "no progress output");
  addRemoteOptions(command, 300).action(async (options: JudgeCommandOptions) => {
    checkJudgeFlags(options);
    // The judge's client (openai) and language identifier (tinyld) load only for this command.
    const { judgeMtBench } = await import("../../eval/judge/judge-mt-bench");
    const reporter = createProgressReporter({ label: "mt-bench-x judge", unit: "judge calls", quiet: options.quiet });
    try {
      const summary = await judgeMtBench({
        ...(await judgeOptionsFromFlags(options)),
        onProgress: (event) => {
          if (event.message) reporter.log(event.message);
          reporter.update(event.done, { total: event.total, calls: event.calls, cached: event.cacheHits, errors: event.errors });
        },
      });
      reporter.stop();
      // The summary is printed even with --quiet when calls failed: the exit code alone says too little.
      if (!options.quiet || summary.failedCalls > 0) process.stdout.write(summariseJudgeRun(summary, options.dryRun ?? false).join("\n") + "\n");
      throwIfJudgeCallsFailed(summary, options.out);
    } finally {
      reporter.stop();
    }
  });
}

/** Flag combinations commander cannot check on its own. */
function checkJudgeFlags(options: JudgeCommandOptions): void {
  if ((options.priceInput === undefined) !== (options.priceOutput === undefined)) {
    throw new UsageError("give both --price-input and --price-output, or neither");
  }
  if (options.mode === "pairwise-baseline" && !options.baseline) throw new UsageError("--mode pairwise-baseline needs --baseline MODEL");
}

/** The options of `judgeMtBench` that the judge command's flags give (all but progress reporting). */
async function judgeOptionsFromFlags(options: JudgeCommandOptions): Promise<JudgeMtBenchOptions> {
  const [{ readLanguageExceptions }, { createOpenAICompatibleJudge }] = await Promise.all([
    import("../../eval/judge/language-check"),
    import("../../eval/judge/providers/openai-compatible"),
  ]);
  const baseUrls = alignWithJudges("--base-url", options.baseUrl, options.judgeModel.length);
  const apiKeyEnvs = alignWithJudges("--api-key-env", options.apiKeyEnv, options.judgeModel.length);
  return {
    bench: options.bench,
    answers: options.answers,
    out: options.out,
    judges: options.judgeModel.map((model, index) =>
      createOpenAICompatibleJudge({
        model,
        reasoning: options.reasoning,
        ...(apiKeyEnvs[index] ? { apiKeyEnv: apiKeyEnvs[index] } : {}),
        ...(baseUrls[index] ? { baseUrl: baseUrls[index] } : {}),
      }),
    ),
    mode: options.mode,
    ...(options.baseline ? { baseline: options.baseline } : {}),
    repeats: options.repeats,
    ...(options.batch
      ? { batch: { pollIntervalMs: Math.round(options.batchPollSeconds * 1000), ...(options.batchJudges ? { judges: options.batchJudges } : {}) } }
      : {}),
    expectedOutputTokens: options.expectedOutputTokens,
    ...(options.lang ? { languages: options.lang, ...(options.lang.length === 1 ? { lang: options.lang[0] } : {}) } : {}),
    ...(options.models ? { models: options.models } : {}),
    referenceModel: options.referenceModel,
    ...(options.judgePrompts ? { judgePrompts: options.judgePrompts } : {}),
    ...(options.cache ? { cache: options.cache } : {}),
    concurrency: options.concurrency,
    maxTokens: options.maxTokens,
    retryErrors: options.retryErrors ?? false,
    languagePolicy: options.languagePolicy,
    languageExceptions: options.languageExceptions ? await readLanguageExceptions(options.languageExceptions) : [],
    ...(options.priceInput !== undefined && options.priceOutput !== undefined
      ? { prices: { inputPerMillion: options.priceInput, outputPerMillion: options.priceOutput, currency: options.currency, batchFactor: options.batchPriceFactor } }
      : {}),
    retry: { retries: options.retries, ...remotePolicyOf(options) },
    wait: options.wait,
    onWait: printWait,
    dryRun: options.dryRun ?? false,
  };
}

/** Calls that failed for good make the run fail (exit 1), with the first failure as an example. */
function throwIfJudgeCallsFailed(summary: JudgeSummary, out: string): void {
  if (summary.failedCalls === 0) return;
  const first = summary.errors.find((error) => error.error.includes("api: "));
  throw new JudgeCallsFailedError({
    failed: summary.failedCalls,
    total: summary.calls,
    summaryPath: `${out}/judge-summary.json`,
    example: first ? `${first.lang} ${first.model} ${first.questionId} turn ${first.turn}: ${first.error.replace(/^.*?api: /, "")}` : "see the summary",
  });
}

/** `mt-bench-x report`: FastChat averages, intervals, cross-lingual gains and charts. */
function registerReportCommand(group: Command): void {
  group
    .command("report")
    .description("Report FastChat averages, per-category scores, bootstrap intervals, cross-lingual gains and charts")
    .requiredOption("--judgments <path>", "a judgment file or a directory of them (model_judgment/ files are preferred)")
    .requiredOption("--out <dir>", "output directory: report.md, *.csv, report.json, charts/*.svg")
    .option("--bench <path>", "MT-Bench(-X) tree or question.jsonl for the categories")
    .option("--lang <code>", "language of judgments whose ids and paths do not say (default EN)")
    .option("--judge-model <name>", "only judgments of this judge")
    .option("--compare <pairs>", 'cross-lingual pairs MULTILINGUAL:MONOLINGUAL, comma-separated, e.g. "ENDEFRITES:@lang,ENDEFRITES:DE"')
    .option("--pairs-file <file>", 'JSON array of {"multilingual", "monolingual"} pairs')
    .option("--human-ratings <file>", "CSV question_id,model,turn,score[,lang] for judge-human agreement")
    .option("--baseline <model>", "baseline of pairwise win rates (default: the model every pairwise judgment shares)")
    .option("--resamples <n>", "bootstrap resamples", parsePositiveInteger, 1000)
    .option("--seed <seed>", "bootstrap seed: an integer or a word", parseSeed, 0)
    .option("--confidence <level>", "confidence level of the intervals", fractionIn(CONFIDENCE_RANGE), 0.95)
    .option("--quiet", "no output but the files")
    .action(async (options: ReportCommandOptions) => {
      const [{ parseComparisonPairs }, { writeMtBenchReport }] = await Promise.all([import("../../eval/report/cross-lingual"), import("../../eval/report/write-report")]);
      const pairs: ComparisonPair[] = [
        ...(options.compare ? parseComparisonPairs(options.compare) : []),
        ...(options.pairsFile ? parseComparisonPairs(await readFile(options.pairsFile, "utf8")) : []),
      ];
      const { report, files } = await writeMtBenchReport({
        judgments: options.judgments,
        out: options.out,
        ...(options.bench ? { bench: options.bench } : {}),
        ...(options.lang ? { lang: options.lang } : {}),
        ...(options.judgeModel ? { judgeModel: options.judgeModel } : {}),
        pairs,
        ...(options.humanRatings ? { humanRatings: options.humanRatings } : {}),
        ...(options.baseline ? { baseline: options.baseline } : {}),
        bootstrap: { resamples: options.resamples, seed: options.seed, confidence: options.confidence },
      });
      if (options.quiet) return;
      const lines = report.fastchat.map(
        (row) => `${row.model} ${row.lang}: turn 1 ${row.turn1.mean?.toFixed(2) ?? "-"}, turn 2 ${row.turn2.mean?.toFixed(2) ?? "-"}, average ${row.overall.mean?.toFixed(2) ?? "-"}${row.errors ? ` (${row.errors} errors not averaged)` : ""}`,
      );
      const pairLines = (report.pairwise?.winRates ?? []).map(
        (row) => `${row.judge} ${row.lang} ${row.model}: win ${row.win}, loss ${row.loss}, tie ${row.tie} (${row.inconsistent} inconsistent), adjusted win rate ${(row.winRateAdjusted * 100).toFixed(1)}%`,
      );
      process.stdout.write([...lines, ...pairLines, `wrote ${files.length} files to ${options.out}`].join("\n") + "\n");
    });
}
