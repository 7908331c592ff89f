import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { acceptDeprecatedNames } from "../deprecated-names";
import { cacheOnlyTranslatorOptionsSchema } from "../translate/providers/cache-only";
import { deepLOptionsSchema, deepLRenamedOptions } from "../translate/providers/deepl";
import { googleTranslateOptionsSchema, googleTranslateRenamedOptions } from "../translate/providers/google";
import { openAITranslatorOptionsSchema, openAITranslatorRenamedOptions } from "../translate/providers/openai-compatible";
import { ConfigError, type ConfigIssue } from "../errors";
import { toConfigIssues } from "../parse-options";
import { parseCompositionName, studyCompositions } from "../compose/composition-name";
import { arrowFormatSchema, outputFormatSchema } from "../compose/write-compositions";
import { languageCodeSchema } from "../record/canonical-record";
import { sourceFormatSchema } from "../sources/read-source";

const compositionListSchema = z.array(z.string()).superRefine((names, context) => {
  names.forEach((name, index) => {
    try {
      parseCompositionName(name);
    } catch (error) {
      context.addIssue({ code: "custom", path: [index], message: (error as Error).message });
    }
    // Each composition is one output file: a second one would be written over the first.
    if (names.indexOf(name) !== index) context.addIssue({ code: "custom", path: [index], message: `"${name}" is listed twice` });
  });
});

/** A corpus made by machine-translating a source file (LIMA -> Lima-X). */
const translateSchema = z.strictObject({
  /** The source file, e.g. LIMA's `train.jsonl`, or an `hf://` URI. */
  input: z.string().min(1),
  /** Source language. */
  from: languageCodeSchema,
  /** Target languages. */
  to: z.array(languageCodeSchema).min(1),
  /** `deepl`, `google`, `openai`, or `cache` (replay the translation cache only, no network). */
  provider: z.enum(["deepl", "google", "openai", "cache"]),
  /** Options of the provider (baseUrl, model, formality, ...). Never put keys here: they come from the environment. */
  providerOptions: z.record(z.string(), z.unknown()).optional(),
  /** Translation cache (file or directory); default: the cache every command shares (`$POLYGLOT_TRANSLATION_CACHE` or `~/.cache/polyglot-instruct/translations.jsonl`). */
  cache: z.string().min(1).optional(),
  /** Requests in flight. */
  concurrency: z.number().int().positive().optional(),
});

/** One corpus of the study: exactly one of `path`, `translate` and `sampleOf`. */
export const corpusConfigSchema = z
  .strictObject({
    /** A directory with one file per language (`en.jsonl`, `de.json.gz`) or one file with a `lang` column. */
    path: z.string().min(1).optional(),
    /** Force the record format instead of detecting it. */
    format: sourceFormatSchema.optional(),
    translate: translateSchema.optional(),
    /** Name of another corpus of this study to sample ids from (Bactrian-X -> Bactrian-X-small). */
    sampleOf: z.string().optional(),
    /** Number of ids to sample. */
    n: z.number().int().positive().optional(),
    /** Sample as many ids as this other corpus has (Bactrian-X-small matches Lima-X's size). */
    matchRowsOf: z.string().optional(),
    /** Sample ids until their characters (summed over the study languages) reach this budget. */
    characterBudget: z.number().int().positive().optional(),
    /** Sample each value of this meta field in proportion (e.g. `origin`: alpaca/dolly). */
    stratifyBy: z.string().optional(),
    /** Compositions of this corpus; default: the study's. */
    compositions: compositionListSchema.optional(),
    /** Accept empty language files and empty messages in this corpus; default: the study's `allowEmpty`. */
    allowEmpty: z.boolean().optional(),
  })
  .superRefine((corpus, context) => {
    const kinds = [corpus.path, corpus.translate, corpus.sampleOf].filter((value) => value !== undefined).length;
    if (kinds !== 1) {
      context.addIssue({ code: "custom", path: [], message: "give exactly one of path, translate and sampleOf" });
    }
    const sizes = [corpus.n, corpus.matchRowsOf, corpus.characterBudget].filter((value) => value !== undefined).length;
    if (corpus.sampleOf !== undefined && sizes !== 1) {
      context.addIssue({ code: "custom", path: ["sampleOf"], message: "a sampled corpus needs exactly one of n, matchRowsOf and characterBudget" });
    }
    if (corpus.sampleOf === undefined && sizes > 0) {
      context.addIssue({ code: "custom", path: [], message: "n, matchRowsOf and characterBudget apply only with sampleOf" });
    }
  });

export const studyConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    /** Seed of every random choice (sampling, splits, assignment, order). */
    seed: z.number().int().default(42),
    /** Study languages, source language first; composition names use them upper-cased. */
    languages: z.array(languageCodeSchema).min(1).default(["en", "de", "fr", "it", "es"]),
    /** Compositions of every corpus; default: the nine of the study for `languages`. */
    compositions: compositionListSchema.optional(),
    /** Accept empty language files and empty messages in every corpus (`--allow-empty`); by default both are errors. */
    allowEmpty: z.boolean().default(false),
    /** Output formats. */
    formats: z.array(outputFormatSchema).min(1).default(["jsonl", "arrow"]),
    /** Arrow IPC layout: `stream` (what `datasets.Dataset.from_file` memory-maps) or `file` (`pyarrow.ipc.open_file`, feather). */
    arrowFormat: arrowFormatSchema.default("stream"),
    /** Share of ids held out as a validation split, in every language (0 = none). */
    validationFraction: z.number().min(0).lt(1).default(0),
    /** The corpora, by name (the name is the output folder). */
    corpora: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "use lowercase letters, digits, '.', '_' and '-'"), corpusConfigSchema),
  });

export type StudyConfig = z.output<typeof studyConfigSchema>;
export type StudyConfigInput = z.input<typeof studyConfigSchema>;
export type CorpusConfig = z.output<typeof corpusConfigSchema>;

/** Validates a study config object; every problem is reported at once with its path. */
export function parseStudyConfig(value: unknown, options: { file?: string } = {}): StudyConfig {
  const parsed = studyConfigSchema.safeParse(value);
  const issues = [...keyIssues(value), ...(parsed.success ? [] : toConfigIssues(parsed.error)), ...crossReferenceIssues(value), ...providerOptionIssues(value)];
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues, options);
  // The manifest copies this object: rebuild each provider's options from its schema, so nothing
  // the schema does not know reaches it, and old option names reach it under their new names.
  for (const [name, corpus] of Object.entries(parsed.data.corpora)) {
    if (corpus.translate?.providerOptions) {
      const { schema, renamed } = PROVIDER_CONFIGS[corpus.translate.provider]!;
      const current = acceptDeprecatedNames(corpus.translate.providerOptions, renamed, `${options.file ?? "study config"}: corpora.${name}.translate.providerOptions`);
      corpus.translate.providerOptions = schema.parse(current) as Record<string, unknown>;
    }
  }
  return parsed.data;
}

/** Names of fields that hold credentials: never accepted in a config file. */
const KEY_FIELD = /^(api[_-]?key|auth[_-]?key|access[_-]?token|token|key|secret|password|credentials?|authorization|hf[_-]?token)$/i;

/** The environment variable each provider reads its key from. */
const KEY_VARIABLE: Record<string, string> = {
  deepl: "DEEPL_AUTH_KEY",
  google: "GOOGLE_TRANSLATE_API_KEY",
  openai: "OPENAI_API_KEY",
};

/**
 * A key in a config file is published with it (in `manifest.json`, on the hub): every key-like
 * field anywhere is an error that names the environment variable to use instead.
 */
function keyIssues(value: unknown, path: string[] = [], provider?: string): ConfigIssue[] {
  if (!value || typeof value !== "object") return [];
  const issues: ConfigIssue[] = [];
  const here = (value as { provider?: unknown }).provider;
  const currentProvider = typeof here === "string" ? here : provider;
  for (const [name, child] of Object.entries(value as Record<string, unknown>)) {
    if (KEY_FIELD.test(name)) {
      const variable = (currentProvider && KEY_VARIABLE[currentProvider]) ?? "the provider's key variable (DEEPL_AUTH_KEY, GOOGLE_TRANSLATE_API_KEY, OPENAI_API_KEY or HF_TOKEN)";
      issues.push({
        path: [...path, name].join("."),
        message: `keys are never read from a config file (it is copied into manifest.json and published): remove "${name}" and set ${variable} in the environment`,
      });
      continue;
    }
    issues.push(...keyIssues(child, [...path, name], currentProvider));
  }
  return issues;
}

/** Provider options are checked against the provider's own schema, so a typo is an error too. */
function providerOptionIssues(value: unknown): ConfigIssue[] {
  const corpora = (value as { corpora?: unknown } | null)?.corpora;
  if (!corpora || typeof corpora !== "object") return [];
  const issues: ConfigIssue[] = [];
  for (const [name, corpus] of Object.entries(corpora as Record<string, unknown>)) {
    const translate = (corpus as { translate?: { provider?: unknown; providerOptions?: unknown } } | null)?.translate;
    if (!translate || typeof translate.provider !== "string" || !translate.providerOptions || typeof translate.providerOptions !== "object") continue;
    const config = PROVIDER_CONFIGS[translate.provider];
    if (!config) continue;
    const options = Object.fromEntries(Object.entries(translate.providerOptions as Record<string, unknown>).filter(([key]) => !KEY_FIELD.test(key)));
    const where = (path: string) => [`corpora.${name}.translate.providerOptions`, path].filter(Boolean).join(".");
    for (const [oldName, newName] of Object.entries(config.renamed)) {
      if (options[oldName] !== undefined && options[newName] !== undefined) {
        issues.push({ path: where(oldName), message: `the deprecated name of ${newName}; give only ${newName}` });
      }
    }
    const result = config.schema.safeParse(options);
    if (!result.success) {
      for (const issue of toConfigIssues(result.error)) issues.push({ path: where(issue.path), message: issue.message });
    }
  }
  return issues;
}

// The options a config may give each provider: its own schema without the key and the environment,
// so a key can only come from the environment.
const withoutSecrets = { apiKey: true, env: true } as const;
const PROVIDER_CONFIGS: Record<string, { schema: z.ZodType; renamed: Readonly<Record<string, string>> }> = {
  deepl: { schema: deepLOptionsSchema.omit(withoutSecrets), renamed: deepLRenamedOptions },
  google: { schema: googleTranslateOptionsSchema.omit(withoutSecrets), renamed: googleTranslateRenamedOptions },
  openai: { schema: openAITranslatorOptionsSchema.omit(withoutSecrets), renamed: openAITranslatorRenamedOptions },
  cache: { schema: cacheOnlyTranslatorOptionsSchema, renamed: {} },
};

// Checked on the raw value, beside the schema, so that a dangling reference is reported together
// with every other problem (zod skips object-level refinements once a field has failed).
function crossReferenceIssues(value: unknown): ConfigIssue[] {
  const corpora = (value as { corpora?: unknown } | null)?.corpora;
  if (!corpora || typeof corpora !== "object") return [];
  const names = Object.keys(corpora);
  const issues: ConfigIssue[] = [];
  for (const [name, corpus] of Object.entries(corpora as Record<string, unknown>)) {
    if (!corpus || typeof corpus !== "object") continue;
    for (const key of ["sampleOf", "matchRowsOf"] as const) {
      const target = (corpus as Record<string, unknown>)[key];
      if (typeof target !== "string") continue;
      if (target === name) issues.push({ path: `corpora.${name}.${key}`, message: "a corpus cannot refer to itself" });
      else if (!names.includes(target)) issues.push({ path: `corpora.${name}.${key}`, message: `no corpus named "${target}" in this study` });
    }
  }
  return issues;
}


/** Reads and validates a study config JSON file; relative paths in it are relative to the file. */
export async function readStudyConfig(path: string): Promise<{ config: StudyConfig; baseDirectory: string }> {
  return { config: parseStudyConfig(await readConfigJson(path), { file: path }), baseDirectory: dirname(resolve(path)) };
}

/** Reads a config file as JSON; an unreadable file or invalid JSON is a `ConfigError` naming the file. */
export async function readConfigJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError([{ path: "", message: `cannot read the config file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` }], { file: path, cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([{ path: "", message: `not valid JSON: ${(error as Error).message}` }], { file: path, cause: error });
  }
  return value;
}

/** Whether a corpus accepts empty language files and empty messages: its own setting, else the study's. */
export function allowEmptyOf(config: StudyConfig, corpus: CorpusConfig): boolean {
  return corpus.allowEmpty ?? config.allowEmpty;
}

/** The compositions of a corpus: its own list, the study's list, or the study's nine. */
export function compositionsOf(config: StudyConfig, corpus: CorpusConfig): string[] {
  return corpus.compositions ?? config.compositions ?? studyCompositions(config.languages);
}

/** A path from the config, resolved against the config's directory (URIs such as `hf://` are kept). */
export function resolveConfigPath(baseDirectory: string, path: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path) || isAbsolute(path)) return path;
  return resolve(baseDirectory, path);
}
