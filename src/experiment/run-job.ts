import { randomBytes } from "node:crypto";
import { appendFile, copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { benchLanguageDirectory } from "../eval/mt-bench-files";
import { TOOL } from "../package-info";
import { runStudy } from "../study/run-study";
import { ExperimentJobError } from "./experiment-errors";
import { DONE_RECORD_FILE, readDoneRecord, type DoneRecord } from "./done-record";
import { answerFileOf, datasetFileOf, resolveJob, type ExperimentContext } from "./job-inputs";
import { findJob, modelOf, trainingSettingsOf, type ExperimentJob } from "./plan-experiment";
import { SMOKE_TEST_JUDGE_MODEL } from "./smoke-test-judge";


/** One line of `job-log.jsonl`: what happened to a job, when, where. */
export interface JobLogEvent {
  event: "start" | "finish" | "fail" | "up-to-date";
  job: string;
  executor: string;
  time: string;
  pid?: number;
  key?: string;
  error?: string;
}

/** Name of the job log in the experiment folder (one JSON line per job event, appended by every job). */
export const JOB_LOG_FILE = "job-log.jsonl";

/** Appends one event to the experiment's job log (one short line: appends from several processes do not interleave). */
export async function appendJobLog(directory: string, event: Omit<JobLogEvent, "time">): Promise<void> {
  await mkdir(directory, { recursive: true });
  await appendFile(join(directory, JOB_LOG_FILE), JSON.stringify({ ...event, time: new Date().toISOString() }) + "\n");
}

/** Reads the job log (a line torn by a kill is skipped). */
export async function readJobLog(directory: string): Promise<JobLogEvent[]> {
  let text: string;
  try {
    text = await readFile(join(directory, JOB_LOG_FILE), "utf8");
  } catch {
    return [];
  }
  const events: JobLogEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as JobLogEvent);
    } catch {
      // a torn last line
    }
  }
  return events;
}

/** How a job reaches the trainer: `runPythonModule` in the CLI, injectable in tests. */
export type RunPython = (options: { module: string; args: string[] }) => Promise<number>;

/** Options of `runJob`. */
export interface RunJobOptions {
  context: ExperimentContext;
  jobId: string;
  /** Which executor started the job (recorded in the job log and the done record). */
  executor: string;
  runPython: RunPython;
}

/** What `runJob` did. */
export type RunJobResult = "ran" | "up-to-date";

/**
 * Runs one job of the plan unless its output already carries a matching done record. The job writes
 * into a fresh staging folder (`.staging/` in the experiment folder) and only a complete output,
 * with its done record, is renamed into place: a failed or killed job leaves nothing that counts.
 */
export async function runJob(options: RunJobOptions): Promise<RunJobResult> {
  const { context, executor } = options;
  const job = findJob(context.plan, options.jobId);
  const resolved = await resolveJob(context, job);
  if (!resolved.ready) throw new ExperimentJobError(`job ${job.id} cannot start: waiting for ${resolved.waitingFor.join(", ")} (run the experiment, not the job alone)`);
  const final = join(context.directory, job.output);
  const existing = await readDoneRecord(final);
  if (existing?.key === resolved.key) {
    await appendJobLog(context.directory, { event: "up-to-date", job: job.id, executor, pid: process.pid, key: resolved.key });
    return "up-to-date";
  }
  await appendJobLog(context.directory, { event: "start", job: job.id, executor, pid: process.pid, key: resolved.key });
  const staging = join(context.directory, ".staging", `${job.id}-${process.pid}-${randomBytes(4).toString("hex")}`);
  const out = join(staging, "out");
  await mkdir(staging, { recursive: true });
  try {
    await STEPS[job.kind]({ ...options, job, staging, out });
    const record: DoneRecord = {
      job: job.id,
      kind: job.kind,
      key: resolved.key,
      tool: { name: TOOL.name, version: TOOL.version },
      executor,
      finishedAt: new Date().toISOString(),
      ...resolved.inputs,
    };
    await mkdir(out, { recursive: true });
    await writeFile(join(out, DONE_RECORD_FILE), JSON.stringify(record, null, 2) + "\n");
    await rm(final, { recursive: true, force: true });
    await mkdir(dirname(final), { recursive: true });
    await rename(out, final);
    await rm(staging, { recursive: true, force: true });
    await appendJobLog(context.directory, { event: "finish", job: job.id, executor, pid: process.pid, key: resolved.key });
    return "ran";
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    await appendJobLog(context.directory, { event: "fail", job: job.id, executor, pid: process.pid, error: (error as Error).message.slice(0, 500) });
    throw error;
  }
}

interface StepOptions extends RunJobOptions {
  job: ExperimentJob;
  /** The job's own scratch folder. */
  staging: string;
  /** Where the output goes before it is renamed into place. */
  out: string;
}

async function runTrainer(options: StepOptions, args: string[], what: string, module = "polyglot_trainer"): Promise<void> {
  const code = await options.runPython({ module, args });
  if (code !== 0) throw new ExperimentJobError(`${options.job.id}: ${what} exited with code ${code}`);
}

function modelDirectory(context: ExperimentContext, name: string): string {
  const model = modelOf(context.experiment, name);
  return model.tiny ? join(context.directory, "models", name) : model.path!.startsWith(".") ? resolve(context.experiment.baseDirectory, model.path!) : model.path!;
}

const STEPS: Record<ExperimentJob["kind"], (options: StepOptions) => Promise<void>> = {
  async build({ context, out }) {
    const { study, baseDirectory } = context.experiment;
    await runStudy({ config: study, baseDirectory, outDir: out, seed: study.seed });
  },

  async bench({ context, out }) {
    const { bench } = context.experiment.config.evaluation;
    const source = resolve(context.experiment.baseDirectory, bench.path);
    for (const lang of context.plan.evaluationLanguages) {
      const from = benchLanguageDirectory(source, lang);
      const to = benchLanguageDirectory(out, lang);
      const questions = await readJsonLines(join(from, "question.jsonl"));
      const kept = bench.questions === undefined ? questions : questions.slice(0, bench.questions);
      const ids = new Set(kept.map((question) => String(question.question_id)));
      await writeJsonLines(join(to, "question.jsonl"), kept);
      await mkdir(to, { recursive: true });
      await copyFile(join(from, "judge_prompts.jsonl"), join(to, "judge_prompts.jsonl"));
      const referenceDirectory = join(from, "reference_answer");
      for (const name of await readdir(referenceDirectory).catch(() => [] as string[])) {
        if (!name.endsWith(".jsonl")) continue;
        const references = await readJsonLines(join(referenceDirectory, name));
        await writeJsonLines(join(to, "reference_answer", name), references.filter((row) => ids.has(String(row.question_id))));
      }
    }
  },

  async model(options) {
    const { context, job, out } = options;
    const model = modelOf(context.experiment, job.id.slice("model.".length));
    const tiny = model.tiny!;
    const [corpus, composition] = tiny.data.split("/") as [string, string];
    const args = ["make-tiny-model", "--data", join(context.directory, datasetFileOf(context.experiment, corpus, composition)), "--out", out, "--seed", String(tiny.seed)];
    const flags: [keyof typeof tiny, string][] = [
      ["vocabSize", "--vocab-size"],
      ["hiddenSize", "--hidden-size"],
      ["layers", "--layers"],
      ["heads", "--heads"],
      ["kvHeads", "--kv-heads"],
      ["intermediateSize", "--intermediate-size"],
    ];
    for (const [key, flag] of flags) if (tiny[key] !== undefined) args.push(flag, String(tiny[key]));
    await runTrainer(options, args, "make-tiny-model");
  },

  async train(options) {
    const { context, job, staging, out } = options;
    const cell = job.cell!;
    const model = modelOf(context.experiment, cell.model);
    const settings = trainingSettingsOf(context.experiment, cell);
    const trainConfig = {
      progress_bar: false,
      // Every job trains into a folder named `out`: without this, W&B and MLflow would name all 45 runs "out".
      run_name: job.id,
      ...settings,
      data: join(context.directory, datasetFileOf(context.experiment, cell.corpus, cell.composition)),
      model: modelDirectory(context, cell.model),
      out,
      chat_template: model.chatTemplate,
      system_messages: context.experiment.systemMessages[model.name] ?? {},
      ...(model.fsdp ? { fsdp: true } : {}),
    };
    // The config file sits beside the run folder, so the trainer starts into an empty --out.
    const configFile = join(staging, "train-config.json");
    await writeFile(configFile, JSON.stringify(trainConfig, null, 2) + "\n");
    if (model.gpus > 1) {
      await runTrainer(options, ["--nproc-per-node", String(model.gpus), "-m", "polyglot_trainer", "train", "--config", configFile], "torchrun train", "torch.distributed.run");
    } else {
      await runTrainer(options, ["train", "--config", configFile], "train");
    }
  },

  async generate(options) {
    const { context, job, out } = options;
    const cell = job.cell!;
    const generation = context.experiment.config.evaluation.generation;
    await runTrainer(
      options,
      [
        "generate",
        "--model",
        modelDirectory(context, cell.model),
        "--adapter",
        join(context.directory, "runs", cell.model, cell.corpus, cell.composition),
        "--bench",
        join(context.directory, "bench"),
        "--lang",
        job.languages!.join(","),
        "--out",
        out,
        "--model-id",
        job.modelId!,
        "--max-new-tokens",
        String(generation.maxNewTokens),
        "--batch-size",
        String(generation.batchSize),
        "--seed",
        String(generation.seed),
        "--device",
        generation.device,
        "--dtype",
        generation.dtype,
      ],
      "generate",
    );
  },

  async judge(options) {
    const { context, job, staging, out } = options;
    const judge = context.experiment.config.evaluation.judge;
    const answers = join(staging, "answers");
    for (const id of job.needs.filter((need) => need.startsWith("generate."))) {
      const generate = findJob(context.plan, id);
      for (const lang of generate.languages!) {
        const file = answerFileOf(generate, lang);
        const target = join(answers, relative(generate.output, file));
        await mkdir(dirname(target), { recursive: true });
        await copyFile(join(context.directory, file), target);
      }
    }
    const [{ judgeMtBench }, { createOpenAICompatibleJudge }, { startSmokeTestJudge }] = await Promise.all([
      import("../eval/judge/judge-mt-bench"),
      import("../eval/judge/providers/openai-compatible"),
      import("./smoke-test-judge"),
    ]);
    const server = judge.smokeTest ? await startSmokeTestJudge() : undefined;
    try {
      const provider = createOpenAICompatibleJudge(
        server
          ? { model: judge.model, baseUrl: server.baseUrl, apiKey: "smoke-test" }
          : { model: judge.model, apiKeyEnv: judge.apiKeyEnv, ...(judge.baseUrl ? { baseUrl: judge.baseUrl } : {}) },
      );
      // The cache lives outside the job's output, so a rerun of a changed or killed judge job never pays twice.
      const cache = join(context.directory, "cache", "judge", `${job.modelId}.jsonl`);
      await mkdir(dirname(cache), { recursive: true });
      const summary = await judgeMtBench({
        bench: join(context.directory, "bench"),
        answers,
        out,
        provider,
        languages: job.languages!,
        models: [job.modelId!],
        referenceModel: judge.referenceModel,
        cache,
        concurrency: judge.concurrency,
        maxTokens: judge.maxTokens,
        languagePolicy: judge.languagePolicy,
        retry: { retries: judge.retries },
        ...(judge.prices ? { prices: judge.prices } : {}),
      });
      const unjudged = summary.errors.filter((error) => error.error.startsWith("api"));
      if (unjudged.length > 0) throw new ExperimentJobError(`${job.id}: ${unjudged.length} judge calls failed after retries (first: ${unjudged[0]!.error}); run the experiment again to retry them`);
      const labelled = { ...(judge.smokeTest ? { smokeTest: true, notice: `judged by ${SMOKE_TEST_JUDGE_MODEL}, a deterministic scorer: a smoke test, not results` } : {}), ...summary, outputs: summary.outputs.map((path) => relative(out, path)), cachePath: relative(context.directory, cache) };
      await writeFile(join(out, "judge-summary.json"), JSON.stringify(labelled, null, 2) + "\n");
    } finally {
      await server?.close();
      await rm(answers, { recursive: true, force: true });
    }
  },

  async report({ context, out }) {
    const { writeExperimentReport } = await import("./write-experiment-report");
    await writeExperimentReport({ context, out });
  },
};

async function readJsonLines(path: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ExperimentJobError(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): evaluation.bench.path must be an MT-Bench-X tree with mt_bench_<LANG>/ for every evaluation language`);
  }
  return text
    .split("\n")
    .filter((line) => line.trim())
    .map((line, index) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new ExperimentJobError(`${path}:${index + 1}: not valid JSON`);
      }
    });
}

async function writeJsonLines(path: string, rows: readonly unknown[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, rows.map((row) => JSON.stringify(row)).join("\n") + (rows.length ? "\n" : ""));
}
