import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { sha256File } from "../io/hash-file";
import type { StudyManifest } from "../study/manifest";
import { resolveConfigPath } from "../study/study-config";
import { canonicalJson, jobKey, readDoneRecord, type DoneRecord, type JobInputs } from "./done-record";
import type { LoadedExperiment } from "./experiment-config";
import { findJob, modelOf, trainingSettingsOf, type ExperimentJob, type ExperimentPlan } from "./plan-experiment";

/** Everything a job needs to find its inputs. */
export interface ExperimentContext {
  experiment: LoadedExperiment;
  plan: ExperimentPlan;
  /** The experiment folder (`--out`). */
  directory: string;
}

/** A job whose inputs are known (its key can be computed) or one still waiting on upstream jobs. */
export type ResolvedJob = { ready: true; inputs: JobInputs; key: string } | { ready: false; waitingFor: string[] };

/** The state of a job: done (record matches), todo (inputs known, output missing or stale), waiting (upstream not done). */
export type JobState = "done" | "todo" | "waiting";

async function listFiles(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const found: string[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) found.push(...(await listFiles(child)));
    else if (entry.isFile()) found.push(child);
  }
  return found;
}

async function hashInputPath(base: string, path: string, into: Record<string, string>, label: string): Promise<void> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    into[label] = path; // a hub URI: the build pins its revision in the manifest
    return;
  }
  const resolved = resolveConfigPath(base, path);
  let files: string[];
  try {
    files = await listFiles(resolved);
  } catch {
    into[label] = "missing";
    return;
  }
  for (const file of files) into[`${label}:${relative(resolved, file) || "."}`] = await sha256File(file);
}

/** The dataset file of a cell, as the build writes it (Arrow when built, else JSONL). */
export function datasetFileOf(experiment: LoadedExperiment, corpus: string, composition: string): string {
  const format = experiment.study.formats.includes("arrow") ? "arrow" : "jsonl";
  return join("datasets", corpus, `${composition}.${format}`);
}

async function readManifest(directory: string): Promise<StudyManifest | undefined> {
  try {
    return JSON.parse(await readFile(join(directory, "datasets", "manifest.json"), "utf8")) as StudyManifest;
  } catch {
    return undefined;
  }
}

/** A done upstream job's record (its key matches what the plan computes now), else undefined. */
async function doneRecordOf(context: ExperimentContext, id: string): Promise<DoneRecord | undefined> {
  const job = findJob(context.plan, id);
  const resolved = await resolveJob(context, job);
  if (!resolved.ready) return undefined;
  const record = await readDoneRecord(join(context.directory, job.output));
  return record?.key === resolved.key ? record : undefined;
}

/** Section and inputs of a job, from the config and its upstream outputs (not yet known while upstream is not done). */
export async function resolveJob(context: ExperimentContext, job: ExperimentJob): Promise<ResolvedJob> {
  const cacheKey = job.id;
  const cached = resolveCache.get(context)?.get(cacheKey);
  if (cached) return cached;
  const result = await computeJob(context, job);
  let perContext = resolveCache.get(context);
  if (!perContext) resolveCache.set(context, (perContext = new Map()));
  perContext.set(cacheKey, result);
  return result;
}

// One resolution per job and context: a plan resolves each upstream job many times.
const resolveCache = new WeakMap<ExperimentContext, Map<string, ResolvedJob>>();

/** Forgets what was resolved for these jobs (all when none are given): after a job ran, it and its downstream jobs resolve anew. */
export function forgetResolvedJobs(context: ExperimentContext, ids?: Iterable<string>): void {
  if (!ids) {
    resolveCache.delete(context);
    return;
  }
  const perContext = resolveCache.get(context);
  for (const id of ids) perContext?.delete(id);
}

async function computeJob(context: ExperimentContext, job: ExperimentJob): Promise<ResolvedJob> {
  const { experiment } = context;
  const { config, study, baseDirectory } = experiment;
  const ready = (section: unknown, inputs: Record<string, string>): ResolvedJob => {
    const jobInputs = { section, inputs };
    return { ready: true, inputs: jobInputs, key: jobKey(job.kind, jobInputs) };
  };
  const waiting: string[] = [];
  const upstream = async (id: string) => {
    const record = await doneRecordOf(context, id);
    if (!record) waiting.push(id);
    return record;
  };
  switch (job.kind) {
    case "build": {
      const inputs: Record<string, string> = {};
      for (const [name, corpus] of Object.entries(study.corpora)) {
        if (corpus.path) await hashInputPath(baseDirectory, corpus.path, inputs, `${name}/path`);
        if (corpus.translate) {
          await hashInputPath(baseDirectory, corpus.translate.input, inputs, `${name}/translate.input`);
          if (corpus.translate.cache) await hashInputPath(baseDirectory, corpus.translate.cache, inputs, `${name}/translate.cache`);
        }
      }
      // Where the inputs live is not part of the key, only what they hold: a moved config stays done.
      const corpora = Object.fromEntries(
        Object.entries(study.corpora).map(([name, corpus]) => {
          const { path: _path, translate, ...rest } = corpus;
          const { input: _input, cache: _cache, ...translation } = translate ?? { input: "", cache: "" };
          return [name, { ...rest, ...(translate ? { translate: translation } : {}), ...(corpus.path ? { path: "(hashed)" } : {}) }];
        }),
      );
      return ready({ study: { ...study, corpora } }, inputs);
    }
    case "bench": {
      const inputs: Record<string, string> = {};
      await hashInputPath(baseDirectory, config.evaluation.bench.path, inputs, "bench");
      return ready({ questions: config.evaluation.bench.questions ?? "all", languages: context.plan.evaluationLanguages }, inputs);
    }
    case "model": {
      const model = modelOf(experiment, job.id.slice("model.".length));
      const build = await upstream("build");
      const manifest = build ? await readManifest(context.directory) : undefined;
      if (!build || !manifest) return { ready: false, waitingFor: ["build"] };
      const [corpus, composition] = model.tiny!.data.split("/") as [string, string];
      return ready({ tiny: model.tiny }, { data: datasetSha256(manifest, datasetFileOf(experiment, corpus, composition)) });
    }
    case "train": {
      const cell = job.cell!;
      const model = modelOf(experiment, cell.model);
      const build = await upstream("build");
      const modelRecord = model.tiny ? await upstream(`model.${model.name}`) : undefined;
      if (waiting.length > 0) return { ready: false, waitingFor: waiting };
      const manifest = build ? await readManifest(context.directory) : undefined;
      if (!manifest) return { ready: false, waitingFor: ["build"] };
      return ready(
        { training: trainingSettingsOf(experiment, cell), chatTemplate: model.chatTemplate, systemMessages: experiment.systemMessages[model.name], gpus: model.gpus, fsdp: model.fsdp },
        { data: datasetSha256(manifest, datasetFileOf(experiment, cell.corpus, cell.composition)), model: modelRecord?.key ?? model.path! },
      );
    }
    case "generate": {
      const cell = job.cell!;
      const model = modelOf(experiment, cell.model);
      const train = await upstream(`train.${cell.model}.${cell.corpus}.${cell.composition}`);
      const bench = await upstream("bench");
      const modelRecord = model.tiny ? await upstream(`model.${model.name}`) : undefined;
      if (waiting.length > 0 || !train || !bench) return { ready: false, waitingFor: waiting };
      const { jobPerLanguage: _split, ...generation } = config.evaluation.generation;
      return ready({ generation, languages: job.languages, modelId: job.modelId }, { adapter: train.key, bench: benchDigest(bench), model: modelRecord?.key ?? model.path! });
    }
    case "judge": {
      const bench = await upstream("bench");
      const inputs: Record<string, string> = {};
      for (const id of job.needs.filter((need) => need.startsWith("generate."))) {
        const record = await upstream(id);
        if (!record) continue;
        const generate = findJob(context.plan, id);
        for (const lang of generate.languages!) {
          const file = answerFileOf(generate, lang);
          inputs[`answers:${lang}`] = await sha256File(join(context.directory, file));
        }
      }
      if (waiting.length > 0 || !bench) return { ready: false, waitingFor: waiting };
      const { baseUrl, model, smokeTest, languagePolicy, referenceModel, maxTokens } = config.evaluation.judge;
      return ready({ judge: { baseUrl, model, smokeTest, languagePolicy, referenceModel, maxTokens }, modelId: job.modelId }, { bench: benchDigest(bench), ...inputs });
    }
    case "report": {
      const inputs: Record<string, string> = {};
      for (const id of job.needs) {
        const record = await upstream(id);
        if (!record) continue;
        for (const file of await judgmentFilesOf(context, findJob(context.plan, id))) inputs[file] = await sha256File(join(context.directory, file));
      }
      if (waiting.length > 0) return { ready: false, waitingFor: waiting };
      return ready({ report: config.report, judge: config.evaluation.judge.model, smokeTest: config.evaluation.judge.smokeTest, cells: context.plan.cells }, inputs);
    }
  }
}

/** What the prepared bench holds (its section and input files), independent of where it came from and of the tool version. */
function benchDigest(record: DoneRecord): string {
  return createHash("sha256").update(canonicalJson({ section: record.section, inputs: record.inputs })).digest("hex");
}

function datasetSha256(manifest: StudyManifest, path: string): string {
  const relativePath = relative("datasets", path).split("\\").join("/");
  const output = manifest.outputs.find((candidate) => candidate.path === relativePath);
  return output?.sha256 ?? "missing";
}

/** The answer file of a generation job for one language, relative to the experiment folder. */
export function answerFileOf(job: ExperimentJob, lang: string): string {
  return join(job.output, `mt_bench_${lang.toUpperCase()}`, "model_answer", `${job.modelId}.jsonl`);
}

/** The judgment files a judge job wrote, relative to the experiment folder. */
export async function judgmentFilesOf(context: ExperimentContext, job: ExperimentJob): Promise<string[]> {
  try {
    const files = await listFiles(join(context.directory, job.output));
    return files.map((file) => relative(context.directory, file)).filter((file) => file.includes(`model_judgment`) && file.endsWith(".jsonl"));
  } catch {
    return [];
  }
}

/** The state of every job, in plan order. */
export async function jobStates(context: ExperimentContext): Promise<Map<string, { state: JobState; key?: string; waitingFor?: string[] }>> {
  const states = new Map<string, { state: JobState; key?: string; waitingFor?: string[] }>();
  for (const job of context.plan.jobs) {
    const resolved = await resolveJob(context, job);
    if (!resolved.ready) {
      states.set(job.id, { state: "waiting", waitingFor: resolved.waitingFor });
      continue;
    }
    const record = await readDoneRecord(join(context.directory, job.output));
    states.set(job.id, { state: record?.key === resolved.key ? "done" : "todo", key: resolved.key });
  }
  return states;
}
