import { readdir, rm } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { z } from "zod";
import { defaultTranslationCachePath } from "../cache-directory";
import { ConfigError, UsageError } from "../errors";
import { parseCompositionName } from "../compose/composition-name";
import { writeCompositionsWith, type OutputFileInfo } from "../compose/write-compositions";
import type { SkippedFile } from "../corpus/list-language-files";
import { loadParallelCorpus, restrictCorpus, type InputFileInfo, type ParallelCorpus } from "../corpus/load-parallel-corpus";
import { isHubUri } from "../hub/parse-hub-uri";
import { writeFileAtomic } from "../io/atomic-write";
import { withExclusiveLock } from "../io/exclusive-lock";
import { EncodedWriterPool } from "../io/encoded-writer-pool";
import { sha256File } from "../io/hash-file";
import { TOOL } from "../package-info";
import type { WorkerScripts } from "../worker/worker-script";
import { sampleIds } from "../sample/sample-ids";
import { strataByMetaField } from "../sample/strata-by-meta-field";
import { renderDatasetCard } from "./dataset-card";
import { describeTrainerConfig, renderTrainerConfigs, type RenderedTrainerConfig } from "./trainer-configs";
import type { CreateTranslationProviderOptions } from "../translate/create-translation-provider";
import { readManifestFiles, removeStaleFiles } from "./remove-stale-files";
import { createStagingDirectory, type StagingDirectory } from "./staging-directory";
import { allowEmptyOf, compositionsOf, resolveConfigPath, type CorpusConfig, type StudyConfig } from "./study-config";
import type { StudyManifest, CorpusManifestEntry, ManifestInput } from "./manifest";
import { parseOptions } from "../parse-options";
import { warnDeprecated } from "../deprecated-names";

/** What the study runner reports while it works (the CLI renders these). */
export type StudyEvent =
  | { type: "corpus-start"; corpus: string; kind: "files" | "translate" | "sample" }
  | { type: "input-read"; corpus: string; file: string; rows: number }
  | { type: "files-skipped"; corpus: string; skipped: SkippedFile[] }
  | { type: "download"; corpus: string; file: string; bytes: number; totalBytes: number }
  | { type: "ids-dropped"; corpus: string; dropped: number; missingByLanguage: Record<string, number>; examples: Record<string, string[]> }
  | { type: "translation-progress"; corpus: string; done: number; total: number; extra: Record<string, string | number> }
  | { type: "output-written"; corpus: string; path: string; rows: number }
  | { type: "done"; outputs: number };

export const runStudyOptionsSchema = z.strictObject({
  /** A parsed study config (`parseStudyConfig`, `readStudyConfig`). */
  config: z.custom<StudyConfig>((value) => typeof value === "object" && value !== null, "expected a parsed study config (parseStudyConfig)"),
  /** Relative paths in the config are resolved against this directory. */
  baseDirectory: z.string().min(1),
  outDir: z.string().min(1),
  /** Overrides the config's seed. */
  seed: z.number().int().optional(),
  /** Token and endpoint for `hf://` inputs (defaults: `HF_TOKEN`, `HF_ENDPOINT`). */
  hub: z
    .strictObject({
      token: z.string().optional(),
      baseUrl: z.string().optional(),
      /** @deprecated The old name of `baseUrl`: still accepted, with a deprecation warning. */
      hubUrl: z.string().optional(),
      cacheDir: z.string().optional(),
    })
    .refine((hub) => hub.baseUrl === undefined || hub.hubUrl === undefined, {
      path: ["hubUrl"],
      message: "the deprecated name of baseUrl; give only baseUrl",
    })
    .optional(),
  onEvent: z.custom<(event: StudyEvent) => void>((value) => typeof value === "function", "expected a function").optional(),
  /**
   * `by-corpus` (default): `<outDir>/<corpus>/<COMPOSITION>.jsonl`. `flat`: a single corpus written
   * straight into `<outDir>/` (what `build-datasets compose` does).
   */
  layout: z.enum(["by-corpus", "flat"]).optional(),
  /** Title of the dataset card. */
  title: z.string().optional(),
  /** When another process writes to `outDir` or the translation cache: wait (default) or fail at once. */
  wait: z.boolean().optional(),
  /** Told once when this run starts waiting for another process. */
  onWait: z.custom<(message: string) => void>((value) => typeof value === "function", "expected a function").optional(),
  /** Time the first attempt of a translation request may take, in milliseconds (doubled after a timeout). */
  timeoutMs: z.number().positive().optional(),
  /** Accept empty language files and empty messages (`--allow-empty`); by default both are errors. */
  allowEmpty: z.boolean().optional(),
  /** Where the reader and writer threads' scripts are (default: the built ones; tests run them from `src/`). */
  workerScripts: z.custom<WorkerScripts>((value) => typeof value === "function", "expected a function").optional(),
});
export type RunStudyOptions = z.input<typeof runStudyOptionsSchema>;

/**
 * Runs a study: loads (or translates, or samples) every corpus, aligns ids, writes every
 * composition of every corpus as JSONL and/or Arrow into `<outDir>/<corpus>/`, then the dataset
 * card and, last, `manifest.json`. Everything is written to a staging folder first and moved into
 * place only when the whole study succeeded.
 */
export async function runStudy(options: RunStudyOptions): Promise<StudyManifest> {
  const parsed = parseOptions(runStudyOptionsSchema, options, "runStudy");
  if (parsed.hub?.hubUrl !== undefined) warnDeprecated("hub.hubUrl", "hub.baseUrl", "runStudy");
  // One build per output folder at a time: a second one waits, then rebuilds from the caches.
  return withExclusiveLock({ path: parsed.outDir, what: `the output folder ${parsed.outDir}`, wait: parsed.wait, onWait: parsed.onWait }, () => runStudyLocked(parsed));
}

type ParsedRunStudyOptions = z.output<typeof runStudyOptionsSchema>;

/** What every phase of one study run shares. */
interface StudyRun {
  options: ParsedRunStudyOptions;
  /** The config with the seed this run uses. */
  config: StudyConfig;
  seed: number;
  emit: (event: StudyEvent) => void;
  flat: boolean;
  staging: StagingDirectory;
  /** Corpora loaded so far, by name (a sampled corpus draws from one loaded before it). */
  loaded: Map<string, ParallelCorpus>;
}

/** One corpus, loaded: its records, its manifest entry, and the inputs and extra files it adds. */
interface LoadedCorpus {
  corpus: ParallelCorpus;
  entry: CorpusManifestEntry;
  inputs: ManifestInput[];
  intermediateFiles: string[];
  /** Data files of the corpus's folder that were not read (names that are no language code). */
  skippedFiles?: SkippedFile[];
}

async function runStudyLocked(options: ParsedRunStudyOptions): Promise<StudyManifest> {
  const seed = options.seed ?? options.config.seed;
  const config: StudyConfig = { ...options.config, seed };
  const order = orderCorpora(config);
  const flat = options.layout === "flat";
  if (flat && order.length !== 1) throw new UsageError("the flat layout needs a study with exactly one corpus");
  const staging = await createStagingDirectory(options.outDir);
  const run: StudyRun = { options, config, seed, emit: options.onEvent ?? (() => {}), flat, staging, loaded: new Map() };
  // One set of writer threads serves every corpus; they load their code while inputs are read.
  const pool = new EncodedWriterPool(options.workerScripts ? { workerScripts: options.workerScripts } : {});
  pool.prestart();
  try {
    let manifest: StudyManifest = { tool: { ...TOOL }, seed, config, inputs: [], corpora: {}, outputs: [], trainerConfigs: [], intermediateFiles: [] };
    const skippedFiles: SkippedFile[] = [];
    for (const name of order) {
      const loaded = await loadCorpus(run, name);
      run.loaded.set(name, loaded.corpus);
      manifest.inputs.push(...loaded.inputs);
      skippedFiles.push(...(loaded.skippedFiles ?? []));
      manifest.intermediateFiles.push(...loaded.intermediateFiles);
      if (loaded.entry.kind !== "sample") reportAlignment(run, name, loaded);
      const written = await writeCorpus(run, pool, name, loaded.corpus);
      manifest.outputs.push(...written);
      loaded.entry.ids = loaded.corpus.commonIds.length;
      loaded.entry.validationIds = written.find((output) => output.split === "validation")
        ? Math.max(1, Math.round(loaded.corpus.commonIds.length * config.validationFraction))
        : 0;
      manifest.corpora[name] = loaded.entry;
    }
    // Listed right after the inputs, and only when there are any (manifests stay as they were).
    if (skippedFiles.length > 0) {
      const { tool, inputs, corpora, outputs, trainerConfigs, intermediateFiles } = manifest;
      manifest = { tool, seed, config, inputs, skippedFiles, corpora, outputs, trainerConfigs, intermediateFiles };
    }
    // LLaMA-Factory's dataset_info.json and axolotl's datasets: snippets, so the files load unchanged in both.
    const trainerConfigs = renderTrainerConfigs({ outputs: manifest.outputs, prefixCorpus: !flat });
    for (const trainerConfig of trainerConfigs) await writeFileAtomic(staging.pathOf(trainerConfig.path), trainerConfig.text);
    manifest.trainerConfigs = trainerConfigs.map(describeTrainerConfig);
    await commitStudy(run, manifest, trainerConfigs);
    run.emit({ type: "done", outputs: manifest.outputs.length });
    return manifest;
  } catch (error) {
    await staging.abort();
    throw error;
  } finally {
    await pool.close();
  }
}

/** Loads one corpus the way its config says: sampled from another, translated, or read from files. */
async function loadCorpus(run: StudyRun, name: string): Promise<LoadedCorpus> {
  const corpusConfig = run.config.corpora[name]!;
  const languages = languagesNeeded(run.config, name);
  // Key order is the manifest's: alignment is filled in once known, sample or translation follow it.
  const entry: CorpusManifestEntry = { kind: "files", languages, ids: 0, validationIds: 0, alignment: undefined };
  if (corpusConfig.sampleOf !== undefined) return loadSampledCorpus(run, name, corpusConfig, entry);
  if (corpusConfig.translate !== undefined) return loadTranslatedCorpus(run, name, corpusConfig.translate, entry);
  return loadCorpusFiles(run, name, corpusConfig, entry);
}

function loadSampledCorpus(run: StudyRun, name: string, corpusConfig: CorpusConfig, entry: CorpusManifestEntry): LoadedCorpus {
  run.emit({ type: "corpus-start", corpus: name, kind: "sample" });
  const base = run.loaded.get(corpusConfig.sampleOf!)!;
  const ids = sampleFrom(base, corpusConfig, run.config, run.loaded, run.seed, entry.languages);
  entry.kind = "sample";
  entry.sample = {
    of: corpusConfig.sampleOf!,
    ...(corpusConfig.n !== undefined ? { n: corpusConfig.n } : {}),
    ...(corpusConfig.matchRowsOf !== undefined ? { matchRowsOf: corpusConfig.matchRowsOf } : {}),
    ...(corpusConfig.characterBudget !== undefined ? { characterBudget: corpusConfig.characterBudget } : {}),
    ...(corpusConfig.stratifyBy !== undefined ? { stratifyBy: corpusConfig.stratifyBy } : {}),
    population: base.commonIds.length,
    sampled: ids.length,
  };
  return { corpus: restrictCorpus(base, ids), entry, inputs: [], intermediateFiles: [] };
}

/** Translates the corpus's input into the staging folder (`<name>/translated/`), then loads the translation. */
async function loadTranslatedCorpus(
  run: StudyRun,
  name: string,
  translate: NonNullable<CorpusConfig["translate"]>,
  entry: CorpusManifestEntry,
): Promise<LoadedCorpus> {
  const { options, staging, emit } = run;
  const allowEmpty = allowsEmpty(run, name);
  emit({ type: "corpus-start", corpus: name, kind: "translate" });
  const input = await resolveInput(translate.input, options, name);
  const sourcePath = input.paths[0]!;
  const translatedDirectory = `${name}/translated`;
  // Translation and hub clients load only for the studies that use them (faster start-up).
  const { createTranslationProvider, openTranslationCache, translateCorpus } = await loadTranslation();
  const provider = createTranslationProvider({ provider: translate.provider, ...(translate.providerOptions ?? {}) } as CreateTranslationProviderOptions);
  // A replay-only provider never writes, so a shipped cache (the fixtures') is opened read-only.
  const cache = await openTranslationCache({
    path: translate.cache ? resolveConfigPath(options.baseDirectory, translate.cache) : defaultTranslationCachePath(),
    readOnly: translate.provider === "cache",
    ...(options.wait === undefined ? {} : { wait: options.wait }),
    ...(options.onWait ? { onWait: options.onWait } : {}),
  });
  try {
    await translateCorpus({
      input: sourcePath,
      inputName: input.uris.get(sourcePath) ?? describeInputPath(sourcePath, options.baseDirectory),
      from: translate.from,
      to: translate.to,
      provider,
      cache,
      outDir: staging.pathOf(translatedDirectory),
      ...(translate.concurrency ? { concurrency: translate.concurrency } : {}),
      ...(options.timeoutMs ? { retry: { timeoutMs: options.timeoutMs } } : {}),
      ...(allowEmpty ? { allowEmpty: true } : {}),
      onProgress: (progress) =>
        emit({
          type: "translation-progress",
          corpus: name,
          done: progress.doneSegments,
          total: progress.totalSegments,
          extra: { to: progress.to.join(","), "cache hits": progress.cachedSegments },
        }),
    });
  } finally {
    await cache.close();
  }
  const intermediateFiles = (await readdir(staging.pathOf(translatedDirectory))).sort().map((file) => `${translatedDirectory}/${file}`);
  const corpus = await loadParallelCorpus({
    path: staging.pathOf(translatedDirectory),
    languages: entry.languages,
    format: "canonical",
    ...(allowEmpty ? { allowEmpty: true } : {}),
    ...(options.workerScripts ? { workerScripts: options.workerScripts } : {}),
  });
  const inputs: ManifestInput[] = [
    {
      corpus: name,
      path: input.uris.get(sourcePath) ?? describeInputPath(sourcePath, options.baseDirectory),
      sha256: input.sha256s.get(sourcePath) ?? (await sha256File(sourcePath)),
      rows: corpus.records.get(translate.from)?.size ?? 0,
      ...(input.revision ? { revision: input.revision } : {}),
    },
  ];
  entry.kind = "translate";
  entry.translation = { provider: provider.id, from: translate.from, to: translate.to, files: `${translatedDirectory}/` };
  return { corpus, entry, inputs, intermediateFiles };
}

/** `--allow-empty` (the run's `allowEmpty`) for every corpus, else the corpus's or the study's `allowEmpty`. */
function allowsEmpty(run: StudyRun, name: string): boolean {
  return run.options.allowEmpty === true || allowEmptyOf(run.config, run.config.corpora[name]!);
}

/** Reads a corpus's files (local, or downloaded from the hub) and aligns its languages by id. */
async function loadCorpusFiles(run: StudyRun, name: string, corpusConfig: CorpusConfig, entry: CorpusManifestEntry): Promise<LoadedCorpus> {
  const { options, emit } = run;
  const allowEmpty = allowsEmpty(run, name);
  emit({ type: "corpus-start", corpus: name, kind: "files" });
  const input = await resolveInput(corpusConfig.path!, options, name);
  const corpus = await loadParallelCorpus({
    path: input.paths.length === 1 ? input.paths[0]! : corpusConfig.path!,
    ...(input.paths.length > 1 || input.revision ? { files: input.paths } : {}),
    languages: entry.languages,
    ...(corpusConfig.format ? { format: corpusConfig.format } : {}),
    onProgress: ({ file, rows }) => emit({ type: "input-read", corpus: name, file, rows }),
    ...(allowEmpty ? { allowEmpty: true } : {}),
    ...(options.workerScripts ? { workerScripts: options.workerScripts } : {}),
  });
  const skippedFiles = corpus.skippedFiles.map((file) => ({ path: describeInputPath(file.path, options.baseDirectory), reason: file.reason }));
  if (skippedFiles.length > 0) emit({ type: "files-skipped", corpus: name, skipped: skippedFiles });
  const inputs = corpus.inputs.map((file) => ({
    corpus: name,
    path: input.uris.get(file.path) ?? describeInputPath(file.path, options.baseDirectory),
    sha256: file.sha256,
    rows: file.rows,
    ...(file.lang ? { lang: file.lang } : {}),
    ...(input.revision ? { revision: input.revision } : {}),
  }));
  return { corpus, entry, inputs, intermediateFiles: [], skippedFiles };
}

/** Records how many ids alignment dropped, and tells the user when there were any. */
function reportAlignment(run: StudyRun, name: string, { corpus, entry }: LoadedCorpus): void {
  entry.alignment = corpus.alignment;
  const dropped = corpus.alignment.totalIds - corpus.alignment.commonIds;
  if (dropped > 0) {
    run.emit({ type: "ids-dropped", corpus: name, dropped, missingByLanguage: corpus.alignment.missingByLanguage, examples: corpus.alignment.missingExamples });
  }
}

/** Writes every composition of one corpus into the staging folder, on the shared writer threads. */
function writeCorpus(run: StudyRun, pool: EncodedWriterPool, name: string, corpus: ParallelCorpus): Promise<OutputFileInfo[]> {
  const folder = run.flat ? "" : `${name}/`;
  return writeCompositionsWith(pool, {
    corpus,
    corpusName: name,
    compositions: compositionsOf(run.config, run.config.corpora[name]!),
    directory: run.staging.pathOf(folder),
    pathPrefix: folder,
    formats: run.config.formats,
    arrowFormat: run.config.arrowFormat,
    seed: run.seed,
    validationFraction: run.config.validationFraction,
    onProgress: ({ composition, format, rows, split }) =>
      run.emit({ type: "output-written", corpus: name, path: `${folder}${composition}${split === "validation" ? ".validation" : ""}.${format}`, rows }),
  });
}

/** Moves the staged files into place, then writes the dataset card and, last, the manifest. */
async function commitStudy(run: StudyRun, manifest: StudyManifest, trainerConfigs: RenderedTrainerConfig[]): Promise<void> {
  const { outDir } = run.options;
  // The commit: the old manifest goes first, so at every instant the folder either has no
  // manifest or one that matches every file it lists (a kill or a full disk in between leaves none).
  const previousFiles = await readManifestFiles(outDir);
  await rm(join(outDir, "manifest.json"), { force: true });
  const files = [...manifest.intermediateFiles, ...manifest.outputs.map((output) => output.path), ...manifest.trainerConfigs.map((trainerConfig) => trainerConfig.path)];
  // Files of the last build that this one does not write (a composition taken out of the
  // config) would otherwise sit beside the new manifest unlisted, looking like part of the study.
  await removeStaleFiles(outDir, previousFiles, files);
  await run.staging.commit(files);
  await writeFileAtomic(
    join(outDir, "README.md"),
    renderDatasetCard({
      title: run.options.title ?? "Multilingual instruction-tuning study",
      seed: run.seed,
      languages: run.config.languages,
      outputs: manifest.outputs,
      prefixCorpus: !run.flat,
      arrowFormat: run.config.arrowFormat,
      trainerConfigs,
    }),
  );
  await writeFileAtomic(join(outDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
}

/** Corpora in an order where every corpus comes after those it samples from or matches. */
export function orderCorpora(config: StudyConfig): string[] {
  const order: string[] = [];
  const pending = new Set(Object.keys(config.corpora));
  while (pending.size > 0) {
    const ready = Array.from(pending).filter((name) => {
      const corpus = config.corpora[name]!;
      return [corpus.sampleOf, corpus.matchRowsOf].every((dependency) => dependency === undefined || order.includes(dependency));
    });
    if (ready.length === 0) {
      throw new ConfigError(Array.from(pending).map((name) => ({ path: `corpora.${name}`, message: "sampleOf/matchRowsOf form a cycle" })));
    }
    for (const name of ready) {
      order.push(name);
      pending.delete(name);
    }
  }
  return order;
}

/** Languages a corpus must load: those of its compositions and of every corpus sampled from it. */
export function languagesNeeded(config: StudyConfig, name: string): string[] {
  const needed = new Set<string>();
  const visit = (corpusName: string) => {
    const corpus = config.corpora[corpusName]!;
    for (const composition of compositionsOf(config, corpus)) for (const lang of parseCompositionName(composition).languages) needed.add(lang);
    if (corpus.translate) needed.add(corpus.translate.from);
    for (const [other, otherCorpus] of Object.entries(config.corpora)) if (otherCorpus.sampleOf === corpusName) visit(other);
  };
  visit(name);
  // Study languages first, in their order, then any others.
  return [...config.languages.filter((lang) => needed.has(lang)), ...Array.from(needed).filter((lang) => !config.languages.includes(lang)).sort()];
}

function sampleFrom(
  base: ParallelCorpus,
  corpus: CorpusConfig,
  config: StudyConfig,
  loaded: Map<string, ParallelCorpus>,
  seed: number,
  languages: string[],
): string[] {
  const strata = corpus.stratifyBy ? strataByMetaField({ corpus: base, field: corpus.stratifyBy, lang: languages[0]! }) : undefined;
  if (corpus.characterBudget !== undefined) {
    const characters = new Map<string, number>();
    for (const id of base.commonIds) {
      let total = 0;
      for (const lang of languages) total += base.records.get(lang)!.encoded(id)!.characters;
      characters.set(id, total);
    }
    return sampleIds({ ids: base.commonIds, characterBudget: corpus.characterBudget, characters, seed, ...(strata ? { strata } : {}) });
  }
  const n = corpus.n ?? loaded.get(corpus.matchRowsOf!)!.commonIds.length;
  if (n > base.commonIds.length) {
    throw new UsageError(
      `corpus sampled from "${corpus.sampleOf}" asks for ${n} ids, but "${corpus.sampleOf}" has only ${base.commonIds.length} ids present in every language`,
    );
  }
  return sampleIds({ ids: base.commonIds, n, seed, ...(strata ? { strata } : {}) });
}

interface ResolvedInput {
  paths: string[];
  revision?: string;
  /** Local path -> `hf://` URI of that file (hub inputs only), so the manifest names portable sources. */
  uris: Map<string, string>;
  /** Local path -> sha256 already verified while downloading. */
  sha256s: Map<string, string>;
}

async function resolveInput(path: string, options: ParsedRunStudyOptions, corpus: string): Promise<ResolvedInput> {
  if (!isHubUri(path)) return { paths: [resolveConfigPath(options.baseDirectory, path)], uris: new Map(), sha256s: new Map() };
  const emit = options.onEvent ?? (() => {});
  const { resolveSource } = await import("../hub/resolve-source");
  const resolved = await resolveSource({
    uri: path,
    ...(options.hub?.token ? { token: options.hub.token } : {}),
    ...((options.hub?.baseUrl ?? options.hub?.hubUrl) ? { baseUrl: options.hub?.baseUrl ?? options.hub?.hubUrl } : {}),
    ...(options.hub?.cacheDir ? { cacheDir: options.hub.cacheDir } : {}),
    onProgress: (event) => {
      if (event.type === "download") emit({ type: "download", corpus, file: event.path, bytes: event.bytes, totalBytes: event.totalBytes });
    },
  });
  const files = resolved.files ?? [];
  return {
    paths: resolved.paths,
    ...(resolved.revision ? { revision: resolved.revision } : {}),
    uris: new Map(files.map((file) => [file.path, file.uri])),
    sha256s: new Map(files.map((file) => [file.path, file.sha256])),
  };
}

async function loadTranslation() {
  const [{ createTranslationProvider }, { openTranslationCache }, { translateCorpus }] = await Promise.all([
    import("../translate/create-translation-provider"),
    import("../translate/translation-cache"),
    import("../translate/translate-corpus"),
  ]);
  return { createTranslationProvider, openTranslationCache, translateCorpus };
}

/** Input paths are recorded relative to the config's directory (portable), else as given. */
function describeInputPath(path: string, baseDirectory: string): string {
  const inside = relative(baseDirectory, path);
  return inside.startsWith("..") || inside === "" ? path : inside.split(sep).join("/");
}

export type { InputFileInfo };
