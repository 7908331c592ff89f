import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { parseCompositionName } from "../compose/composition-name";
import { ConfigError, type ConfigIssue } from "../errors";
import { comparisonPairSchema, parseComparisonPairs } from "../eval/report/cross-lingual";
import { languageCodeSchema } from "../record/canonical-record";
import { toConfigIssues } from "../parse-options";
import { compositionsOf, parseStudyConfig, readConfigJson, resolveConfigPath, studyConfigSchema, type StudyConfig } from "../study/study-config";

const nameSchema = z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, "use lowercase letters, digits, '.' and '-' (no '_': it separates the parts of a model id)");

/**
 * Trainer settings (`python -m polyglot_trainer train --help` lists them), as the trainer's own
 * snake_case keys. The trainer validates them, with every problem at once, before loading anything;
 * the keys the experiment sets itself are refused here.
 */
const EXPERIMENT_OWNED_TRAINING_KEYS = ["data", "model", "out", "chat_template", "system_message", "system_messages", "resume_from", "fsdp"] as const;
const trainingSettingsSchema = z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, "trainer settings use the trainer's snake_case names, e.g. max_steps"), z.unknown()).superRefine((settings, context) => {
  for (const key of Object.keys(settings)) {
    if ((EXPERIMENT_OWNED_TRAINING_KEYS as readonly string[]).includes(key)) {
      context.addIssue({ code: "custom", path: [key], message: `"${key}" is set by the experiment (from models[] and the datasets); remove it` });
    }
  }
});
export type TrainingSettings = z.infer<typeof trainingSettingsSchema>;

/** A tiny random model made with `make-tiny-model` on one of the experiment's datasets (CPU smoke tests). */
const tinyModelSchema = z.strictObject({
  /** Dataset whose texts train the tokenizer, as `corpus/COMPOSITION`. */
  data: z.string().regex(/^[a-z0-9][a-z0-9._-]*\/[A-Z]+(-sampled)?$/, "expected corpus/COMPOSITION, e.g. lima-x/ENDEFRITES"),
  seed: z.number().int().default(0),
  vocabSize: z.number().int().positive().optional(),
  hiddenSize: z.number().int().positive().optional(),
  layers: z.number().int().positive().optional(),
  heads: z.number().int().positive().optional(),
  kvHeads: z.number().int().positive().optional(),
  intermediateSize: z.number().int().positive().optional(),
});

/** One base model of the study. */
export const experimentModelSchema = z
  .strictObject({
    /** Short name, used in folder names and model ids (`mistral-7b`). */
    name: nameSchema,
    /** A local model directory or a Hugging Face hub id. */
    path: z.string().min(1).optional(),
    /** Or: a tiny random model made by `make-tiny-model`. */
    tiny: tinyModelSchema.optional(),
    /** The trainer's chat template name (`plain`, `chatml`, `tokenizer`, `opengptx`). */
    chatTemplate: z.string().min(1).default("plain"),
    /** Per-language system messages, e.g. `{"de": "Du bist ..."}`. */
    systemMessages: z.record(languageCodeSchema, z.string()).optional(),
    /**
     * A JSON file with `system_messages` keyed by upper-case language (and `default_system_message`),
     * such as MT-Bench-X's `opengptx_template.json`; read when the config is loaded.
     */
    systemMessagesFile: z.string().min(1).optional(),
    /** Trainer settings of this model, over the experiment's `training`. */
    training: trainingSettingsSchema.optional(),
    /** GPUs one training needs; more than one runs `torchrun` (with FSDP when `fsdp`). */
    gpus: z.number().int().min(0).default(1),
    /** Memory per GPU the training needs, in GB (shown by `plan`). */
    gpuMemoryGb: z.number().positive().optional(),
    /** Shard the model with FSDP2 across the GPUs (the trainer's `--fsdp`). */
    fsdp: z.boolean().default(false),
    /** GPUs one generation job needs. */
    generationGpus: z.number().int().min(0).default(1),
  })
  .superRefine((model, context) => {
    if ((model.path === undefined) === (model.tiny === undefined)) context.addIssue({ code: "custom", path: [], message: "give exactly one of path and tiny" });
    if (model.systemMessages && model.systemMessagesFile) context.addIssue({ code: "custom", path: ["systemMessagesFile"], message: "give systemMessages or systemMessagesFile, not both" });
  });
export type ExperimentModel = z.output<typeof experimentModelSchema>;

/** A cell (or a set of cells) of the matrix: every given field must match. */
const cellSelectorSchema = z.strictObject({
  model: nameSchema.optional(),
  corpus: z.string().min(1).optional(),
  composition: z.string().min(1).optional(),
});
export type CellSelector = z.infer<typeof cellSelectorSchema>;

const trainingOverrideSchema = cellSelectorSchema.extend({ training: trainingSettingsSchema });

const benchSchema = z.strictObject({
  /** An MT-Bench-X tree (`mt_bench_<LANG>/question.jsonl`, `reference_answer/`, `judge_prompts.jsonl`). */
  path: z.string().min(1),
  /** Only the first N questions of each language (smoke tests); default: all. */
  questions: z.number().int().positive().optional(),
});

const judgeSchema = z
  .strictObject({
    /** Judge model name sent to the endpoint (`gpt-4`). */
    model: z.string().min(1),
    /** OpenAI-compatible endpoint; default OpenAI's. */
    baseUrl: z.url().optional(),
    /** Environment variable holding the key. */
    apiKeyEnv: z.string().min(1).default("OPENAI_API_KEY"),
    /**
     * A deterministic scorer behind the same OpenAI-compatible interface, started by the judge job on
     * 127.0.0.1: no key, no network, labelled as a smoke test everywhere. Never for real results.
     */
    smokeTest: z.boolean().default(false),
    concurrency: z.number().int().positive().default(4),
    maxTokens: z.number().int().positive().default(2048),
    retries: z.number().int().min(0).default(8),
    languagePolicy: z.enum(["fastchat", "penalize"]).default("fastchat"),
    referenceModel: z.string().min(1).default("gpt-4"),
    /** Prices per million tokens, for the plan's estimate and the judge summary. */
    prices: z.strictObject({ inputPerMillion: z.number().min(0), outputPerMillion: z.number().min(0), currency: z.string().default("USD") }).optional(),
  })
  .superRefine((judge, context) => {
    if (judge.smokeTest && judge.baseUrl) context.addIssue({ code: "custom", path: ["baseUrl"], message: "a smoke-test judge is started locally; remove baseUrl (or smokeTest for a real judge)" });
  });

const evaluationSchema = z.strictObject({
  bench: benchSchema,
  /** Evaluation languages (default: the study's languages). */
  languages: z.array(languageCodeSchema).min(1).optional(),
  generation: z
    .strictObject({
      /** The bundled trainer's `generate` (Hugging Face generate); the only engine so far. */
      engine: z.literal("polyglot-trainer").default("polyglot-trainer"),
      maxNewTokens: z.number().int().positive().default(1024),
      batchSize: z.number().int().positive().default(8),
      seed: z.number().int().default(42),
      device: z.string().min(1).default("auto"),
      dtype: z.enum(["auto", "bfloat16", "float16", "float32"]).default("auto"),
      /** One generation job per language (the cluster fan-out); false: one job per trained model. */
      jobPerLanguage: z.boolean().default(true),
    })
    .prefault({}),
  judge: judgeSchema,
});

/** Two corpora compared at the same composition: `better - baseline` with intervals. */
const corpusContrastSchema = z.strictObject({
  /** Figure and CSV name, e.g. `curated-vs-synthetic`. */
  name: nameSchema,
  title: z.string().min(1),
  corpus: z.string().min(1),
  baseline: z.string().min(1),
});

const reportSchema = z
  .strictObject({
    /** Cross-lingual comparisons, `MULTILINGUAL:MONOLINGUAL` (`ENDEFRITES:@lang`). */
    comparisons: z.array(z.string().min(1)).default([]),
    /** Corpus contrasts: curated vs synthetic at equal size, data size. */
    contrasts: z.array(corpusContrastSchema).default([]),
    /** Short labels of corpora in figures (`{"bactrian-x": "BX"}`). */
    labels: z.record(z.string(), z.string()).default({}),
    figures: z.array(z.enum(["scores", "cross-lingual", "contrasts"])).default(["scores", "cross-lingual", "contrasts"]),
    bootstrap: z
      .strictObject({ resamples: z.number().int().min(1).default(1000), seed: z.number().int().default(0), confidence: z.number().gt(0).lt(1).default(0.95) })
      .prefault({}),
  })
  .prefault({});

const slurmSchema = z
  .strictObject({
    partition: z.string().min(1).optional(),
    account: z.string().min(1).optional(),
    /** Wall time of a job, e.g. `24:00:00`. */
    time: z.string().min(1).optional(),
    /** Ask for GPUs with `--gres=gpu:N` (off on a CPU-only cluster). */
    gres: z.boolean().default(true),
    cpusPerTask: z.number().int().positive().optional(),
    /** Memory per job, e.g. `64G`. */
    memory: z.string().min(1).optional(),
    /** Extra `#SBATCH` lines, e.g. `--qos=high`. */
    extraDirectives: z.array(z.string().regex(/^--/, "write the option, e.g. --qos=high")).default([]),
    /** Shell lines run before each job (`module load cuda`, `source venv/bin/activate`). */
    setup: z.array(z.string()).default([]),
    /** Seconds between two `squeue` polls. */
    pollSeconds: z.number().positive().default(10),
  })
  .prefault({});

const localSchema = z
  .strictObject({
    /** Jobs at once (default 2). */
    maxParallel: z.number().int().positive().default(2),
    /** GPU ids for GPU jobs (default: `CUDA_VISIBLE_DEVICES`, else none: GPU jobs run without a GPU). */
    gpus: z.array(z.number().int().min(0)).optional(),
  })
  .prefault({});

/** The experiment: the study config (datasets) plus models, training, evaluation, report and executors. */
export const experimentConfigSchema = studyConfigSchema.extend({
  models: z.array(experimentModelSchema).min(1),
  /** Cells not trained, e.g. `{"model": "mixtral-8x7b", "corpus": "bactrian-x"}`. */
  exclude: z.array(cellSelectorSchema).default([]),
  /** The trainer's settings for every run. */
  training: trainingSettingsSchema.default({}),
  /** Settings of some runs, applied in order after the model's: `{"corpus": "lima-x", "composition": "DE", "training": {"seed": 7}}`. */
  trainingOverrides: z.array(trainingOverrideSchema).default([]),
  evaluation: evaluationSchema,
  report: reportSchema,
  executors: z.strictObject({ local: localSchema, slurm: slurmSchema }).prefault({}),
});
export type ExperimentConfig = z.output<typeof experimentConfigSchema>;
export type ExperimentConfigInput = z.input<typeof experimentConfigSchema>;

/** A loaded experiment: the config, its directory, the study part, and what was read from files. */
export interface LoadedExperiment {
  config: ExperimentConfig;
  /** The config file (absolute). */
  file: string;
  baseDirectory: string;
  study: StudyConfig;
  /** Per model: its system messages (lower-case language keys), from the config or its file. */
  systemMessages: Record<string, Record<string, string>>;
}

const STUDY_KEYS = Object.keys(studyConfigSchema.shape);

/** Validates an experiment config; every problem is reported at once with its path. */
export async function parseExperimentConfig(value: unknown, options: { file: string }): Promise<LoadedExperiment> {
  const file = resolve(options.file);
  const baseDirectory = dirname(file);
  const parsed = experimentConfigSchema.safeParse(value);
  const issues: ConfigIssue[] = parsed.success ? [] : toConfigIssues(parsed.error);
  let study: StudyConfig | undefined;
  const studyPart = value && typeof value === "object" ? Object.fromEntries(Object.entries(value).filter(([key]) => STUDY_KEYS.includes(key))) : value;
  try {
    study = parseStudyConfig(studyPart);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const issue of error.issues) if (!issues.some((known) => known.path === issue.path)) issues.push(issue);
  }
  if (parsed.success && study) issues.push(...crossCheck(parsed.data, study));
  const systemMessages: Record<string, Record<string, string>> = {};
  if (parsed.success) {
    for (const [index, model] of parsed.data.models.entries()) {
      if (model.systemMessagesFile) {
        try {
          systemMessages[model.name] = await readSystemMessagesFile(resolveConfigPath(baseDirectory, model.systemMessagesFile), study?.languages ?? []);
        } catch (error) {
          issues.push({ path: `models.${index}.systemMessagesFile`, message: (error as Error).message });
        }
      } else systemMessages[model.name] = model.systemMessages ?? {};
    }
  }
  if (issues.length > 0 || !parsed.success || !study) throw new ConfigError(issues, { file });
  return { config: parsed.data, file, baseDirectory, study, systemMessages };
}

/** Reads and validates an experiment config JSON file; relative paths in it are relative to the file. */
export async function readExperimentConfig(path: string): Promise<LoadedExperiment> {
  return parseExperimentConfig(await readConfigJson(path), { file: path });
}

async function readSystemMessagesFile(path: string, languages: readonly string[]): Promise<Record<string, string>> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new Error(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const parsed = z.looseObject({ system_messages: z.record(z.string(), z.string()), default_system_message: z.string().optional() }).safeParse(value);
  if (!parsed.success) throw new Error(`${path}: expected {"system_messages": {"DE": "..."}, "default_system_message": "..."}`);
  const messages: Record<string, string> = {};
  for (const [lang, message] of Object.entries(parsed.data.system_messages)) messages[lang.toLowerCase()] = message;
  for (const lang of languages) {
    if (messages[lang] !== undefined) continue;
    if (parsed.data.default_system_message === undefined) throw new Error(`${path}: no system message for "${lang.toUpperCase()}" and no default_system_message`);
    messages[lang] = parsed.data.default_system_message;
  }
  return Object.fromEntries(languages.map((lang) => [lang, messages[lang]!]));
}

function crossCheck(config: ExperimentConfig, study: StudyConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const corpora = Object.keys(study.corpora);
  const models = config.models.map((model) => model.name);
  const compositions = new Set(Object.values(study.corpora).flatMap((corpus) => compositionsOf(study, corpus)));
  const checkSelector = (selector: CellSelector, path: string) => {
    if (selector.model !== undefined && !models.includes(selector.model)) issues.push({ path: `${path}.model`, message: `no model named "${selector.model}" (models: ${models.join(", ")})` });
    if (selector.corpus !== undefined && !corpora.includes(selector.corpus)) issues.push({ path: `${path}.corpus`, message: `no corpus named "${selector.corpus}" (corpora: ${corpora.join(", ")})` });
    if (selector.composition !== undefined && !compositions.has(selector.composition)) issues.push({ path: `${path}.composition`, message: `no composition "${selector.composition}" in this study` });
  };
  config.exclude.forEach((selector, index) => checkSelector(selector, `exclude.${index}`));
  config.trainingOverrides.forEach((selector, index) => checkSelector(selector, `trainingOverrides.${index}`));
  const seen = new Set<string>();
  config.models.forEach((model, index) => {
    if (seen.has(model.name)) issues.push({ path: `models.${index}.name`, message: `two models named "${model.name}"` });
    seen.add(model.name);
    if (model.tiny) {
      const [corpus, composition] = model.tiny.data.split("/") as [string, string];
      const corpusConfig = study.corpora[corpus];
      if (!corpusConfig) issues.push({ path: `models.${index}.tiny.data`, message: `no corpus named "${corpus}"` });
      else if (!compositionsOf(study, corpusConfig).includes(composition)) issues.push({ path: `models.${index}.tiny.data`, message: `corpus "${corpus}" has no composition "${composition}"` });
    }
  });
  const studyLanguages = new Set(study.languages);
  for (const [index, lang] of (config.evaluation.languages ?? []).entries()) {
    if (!studyLanguages.has(lang)) issues.push({ path: `evaluation.languages.${index}`, message: `"${lang}" is not a study language (${study.languages.join(", ")})` });
  }
  config.report.comparisons.forEach((text, index) => {
    try {
      for (const pair of parseComparisonPairs(text)) {
        const checked = comparisonPairSchema.safeParse(pair);
        if (!checked.success) throw new Error(toConfigIssues(checked.error).map((issue) => `${issue.path}: ${issue.message}`).join("; "));
        for (const side of [pair.multilingual, pair.monolingual]) if (side !== "@lang") parseCompositionName(side);
      }
    } catch (error) {
      issues.push({ path: `report.comparisons.${index}`, message: (error as Error).message });
    }
  });
  config.report.contrasts.forEach((contrast, index) => {
    for (const key of ["corpus", "baseline"] as const) {
      if (!corpora.includes(contrast[key])) issues.push({ path: `report.contrasts.${index}.${key}`, message: `no corpus named "${contrast[key]}"` });
    }
  });
  return issues;
}

/** Does the selector match this cell? */
export function selectorMatches(selector: CellSelector, cell: { model: string; corpus: string; composition: string }): boolean {
  return (
    (selector.model === undefined || selector.model === cell.model) &&
    (selector.corpus === undefined || selector.corpus === cell.corpus) &&
    (selector.composition === undefined || selector.composition === cell.composition)
  );
}
