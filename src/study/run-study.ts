import { readdir, rm } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { defaultTranslationCachePath } from "../cache-directory";
import { ConfigError, UsageError } from "../errors";
import { parseCompositionName } from "../compose/composition-name";
import { writeCompositionsWith, type OutputFileInfo } from "../compose/write-compositions";
import { loadParallelCorpus, restrictCorpus, type InputFileInfo, type ParallelCorpus } from "../corpus/load-parallel-corpus";
import type { SkippedFile } from "../corpus/list-language-files";
import { isHubUri } from "../hub/parse-hub-uri";
import { writeFileAtomic } from "../io/atomic-write";
import { acquireExclusiveLock } from "../io/exclusive-lock";
import { EncodedWriterPool } from "../io/encoded-writer-pool";
import { sha256File } from "../io/hash-file";
import { TOOL } from "../package-info";
import { sampleIds } from "../sample/sample-ids";
import { renderDatasetCard } from "./dataset-card";
import type { CreateTranslationProviderOptions } from "../translate/create-translation-provider";
import { createStagingDirectory } from "./staging-directory";
import { compositionsOf, resolveConfigPath, type CorpusConfig, type StudyConfig } from "./study-config";
import type { StudyManifest, CorpusManifestEntry, ManifestInput } from "./manifest";

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

export interface RunStudyOptions {
  config: StudyConfig;
  /** Relative paths in the config are resolved against this directory. */
  baseDirectory: string;
  outDir: string;
  /** Overrides the config's seed. */
  seed?: number;
  /** Token and endpoint for `hf://` inputs (defaults: `HF_TOKEN`, `HF_ENDPOINT`). */
  hub?: { token?: string; hubUrl?: string; cacheDir?: string };
  onEvent?: (event: StudyEvent) => void;
  /**
   * `by-corpus` (default): `<outDir>/<corpus>/<COMPOSITION>.jsonl`. `flat`: a single corpus written
   * straight into `<outDir>/` (what `build-datasets compose` does).
   */
  layout?: "by-corpus" | "flat";
  /** Title of the dataset card. */
  title?: string;
  /** When another process writes to `outDir` or the translation cache: wait (default) or fail at once. */
  wait?: boolean;
  /** Told once when this run starts waiting for another process. */
  onWait?: (message: string) => void;
  /** Time the first attempt of a translation request may take, in milliseconds (doubled after a timeout). */
  timeoutMs?: number;
  /** Accept empty language files and empty messages (`--allow-empty`); by default both are errors. */
  allowEmpty?: boolean;
}

/**
 * Runs a study: loads (or translates, or samples) every corpus, aligns ids, writes every
 * composition of every corpus as JSONL and/or Arrow into `<outDir>/<corpus>/`, then the dataset
 * card and, last, `manifest.json`. Everything is written to a staging folder first and moved into
 * place only when the whole study succeeded.
 */
export async function runStudy(options: RunStudyOptions): Promise<StudyManifest> {
  // One build per output folder at a time: a second one waits, then rebuilds from the caches.
  const release = await acquireExclusiveLock({
    path: options.outDir,
    what: `the output folder ${options.outDir}`,
    ...(options.wait === undefined ? {} : { wait: options.wait }),
    ...(options.onWait ? { onWait: options.onWait } : {}),
  });
  try {
    return await runStudyLocked(options);
  } finally {
    await release();
  }
}

async function runStudyLocked(options: RunStudyOptions): Promise<StudyManifest> {
  const seed = options.seed ?? options.config.seed;
  const config: StudyConfig = { ...options.config, seed };
  const { baseDirectory, outDir } = options;
  const emit = options.onEvent ?? (() => {});
  const order = orderCorpora(config);
  const flat = options.layout === "flat";
  if (flat && order.length !== 1) throw new UsageError("the flat layout needs a study with exactly one corpus");
  const folderOf = (name: string) => (flat ? "" : `${name}/`);
  const staging = await createStagingDirectory(outDir);
  // One set of writer threads serves every corpus; they load their code while inputs are read.
  const pool = new EncodedWriterPool();
  pool.prestart();
  try {
    const loaded = new Map<string, ParallelCorpus>();
    const inputs: ManifestInput[] = [];
    const skippedFiles: SkippedFile[] = [];
    const allowEmpty = options.allowEmpty ? { allowEmpty: true } : {};
    const corpora: Record<string, CorpusManifestEntry> = {};
    const outputs: OutputFileInfo[] = [];
    const extraFiles: string[] = [];
    const describePath = (path: string) => describeInputPath(path, baseDirectory);

    for (const name of order) {
      const corpusConfig = config.corpora[name]!;
      const languages = languagesNeeded(config, name);
      let corpus: ParallelCorpus;
      const entry: CorpusManifestEntry = { kind: "files", languages, ids: 0, validationIds: 0, alignment: undefined };
      if (corpusConfig.sampleOf !== undefined) {
        emit({ type: "corpus-start", corpus: name, kind: "sample" });
        const base = loaded.get(corpusConfig.sampleOf)!;
        const ids = sampleFrom(base, corpusConfig, config, loaded, seed, languages);
        corpus = restrictCorpus(base, ids);
        entry.kind = "sample";
        entry.sample = {
          of: corpusConfig.sampleOf,
          ...(corpusConfig.n !== undefined ? { n: corpusConfig.n } : {}),
          ...(corpusConfig.matchRowsOf !== undefined ? { matchRowsOf: corpusConfig.matchRowsOf } : {}),
          ...(corpusConfig.characterBudget !== undefined ? { characterBudget: corpusConfig.characterBudget } : {}),
          ...(corpusConfig.stratifyBy !== undefined ? { stratifyBy: corpusConfig.stratifyBy } : {}),
          population: base.commonIds.length,
          sampled: ids.length,
        };
      } else if (corpusConfig.translate !== undefined) {
        emit({ type: "corpus-start", corpus: name, kind: "translate" });
        const translate = corpusConfig.translate;
        const input = await resolveInput(translate.input, options, baseDirectory, name);
        const translatedDirectory = `${name}/translated`;
        // Translation and hub clients load only for the studies that use them (faster start-up).
        const { createTranslationProvider, openTranslationCache, translateCorpus } = await loadTranslation();
        const provider = createTranslationProvider({ provider: translate.provider, ...(translate.providerOptions ?? {}) } as CreateTranslationProviderOptions);
        // A replay-only provider never writes, so a shipped cache (the fixtures') is opened read-only.
        const cache = await openTranslationCache({
          path: translate.cache ? resolveConfigPath(baseDirectory, translate.cache) : defaultTranslationCachePath(),
          readOnly: translate.provider === "cache",
          ...(options.wait === undefined ? {} : { wait: options.wait }),
          ...(options.onWait ? { onWait: options.onWait } : {}),
        });
        try {
          await translateCorpus({
            input: input.paths[0]!,
            inputName: input.uris.get(input.paths[0]!) ?? describePath(input.paths[0]!),
            from: translate.from,
            to: translate.to,
            provider,
            cache,
            outDir: staging.pathOf(translatedDirectory),
            ...(translate.concurrency ? { concurrency: translate.concurrency } : {}),
            ...(options.timeoutMs ? { retry: { timeoutMs: options.timeoutMs } } : {}),
            ...allowEmpty,
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
        for (const file of (await readdir(staging.pathOf(translatedDirectory))).sort()) extraFiles.push(`${translatedDirectory}/${file}`);
        corpus = await loadParallelCorpus({ path: staging.pathOf(translatedDirectory), languages, format: "canonical", ...allowEmpty });
        const sourcePath = input.paths[0]!;
        inputs.push({
          corpus: name,
          path: input.uris.get(sourcePath) ?? describePath(sourcePath),
          sha256: input.sha256s.get(sourcePath) ?? (await sha256File(sourcePath)),
          rows: corpus.records.get(translate.from)?.size ?? 0,
          ...(input.revision ? { revision: input.revision } : {}),
        });
        entry.kind = "translate";
        entry.translation = { provider: provider.id, from: translate.from, to: translate.to, files: `${translatedDirectory}/` };
      } else {
        emit({ type: "corpus-start", corpus: name, kind: "files" });
        const input = await resolveInput(corpusConfig.path!, options, baseDirectory, name);
        corpus = await loadParallelCorpus({
          path: input.paths.length === 1 ? input.paths[0]! : corpusConfig.path!,
          ...(input.paths.length > 1 || input.revision ? { files: input.paths } : {}),
          languages,
          ...(corpusConfig.format ? { format: corpusConfig.format } : {}),
          onProgress: ({ file, rows }) => emit({ type: "input-read", corpus: name, file, rows }),
          ...allowEmpty,
        });
        if (corpus.skippedFiles.length > 0) {
          const skipped = corpus.skippedFiles.map((file) => ({ path: describePath(file.path), reason: file.reason }));
          skippedFiles.push(...skipped);
          emit({ type: "files-skipped", corpus: name, skipped });
        }
        for (const file of corpus.inputs) {
          inputs.push({
            corpus: name,
            path: input.uris.get(file.path) ?? describePath(file.path),
            sha256: file.sha256,
            rows: file.rows,
            ...(file.lang ? { lang: file.lang } : {}),
            ...(input.revision ? { revision: input.revision } : {}),
          });
        }
      }
      loaded.set(name, corpus);
      if (entry.kind !== "sample") {
        entry.alignment = corpus.alignment;
        const dropped = corpus.alignment.totalIds - corpus.alignment.commonIds;
        if (dropped > 0) {
          emit({ type: "ids-dropped", corpus: name, dropped, missingByLanguage: corpus.alignment.missingByLanguage, examples: corpus.alignment.missingExamples });
        }
      }
      const written = await writeCompositionsWith(pool, {
        corpus,
        corpusName: name,
        compositions: compositionsOf(config, corpusConfig),
        directory: staging.pathOf(folderOf(name)),
        pathPrefix: folderOf(name),
        formats: config.formats,
        seed,
        validationFraction: config.validationFraction,
        onProgress: ({ composition, format, rows, split }) =>
          emit({ type: "output-written", corpus: name, path: `${folderOf(name)}${composition}${split === "validation" ? ".validation" : ""}.${format}`, rows }),
      });
      outputs.push(...written);
      entry.ids = corpus.commonIds.length;
      entry.validationIds = written.find((output) => output.split === "validation")
        ? Math.max(1, Math.round(corpus.commonIds.length * config.validationFraction))
        : 0;
      corpora[name] = entry;
    }

    const manifest: StudyManifest = {
      tool: { ...TOOL },
      seed,
      config,
      inputs,
      ...(skippedFiles.length > 0 ? { skippedFiles } : {}),
      corpora,
      outputs,
      intermediateFiles: extraFiles,
    };
    // The commit: the old manifest goes first, so at every instant the folder either has no
    // manifest or one that matches every file it lists (a kill or a full disk in between leaves none).
    await rm(join(outDir, "manifest.json"), { force: true });
    await staging.commit([...extraFiles, ...outputs.map((output) => output.path)]);
    await writeFileAtomic(
      join(outDir, "README.md"),
      renderDatasetCard({
        title: options.title ?? "Multilingual instruction-tuning study",
        seed,
        languages: config.languages,
        outputs,
        prefixCorpus: !flat,
      }),
    );
    await writeFileAtomic(join(outDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
    emit({ type: "done", outputs: outputs.length });
    return manifest;
  } catch (error) {
    await staging.abort();
    throw error;
  } finally {
    await pool.close();
  }
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
  let strata: Map<string, string> | undefined;
  if (corpus.stratifyBy) {
    const field = corpus.stratifyBy;
    const firstLanguage = base.records.get(languages[0]!)!;
    strata = new Map(base.commonIds.map((id) => [id, String(firstLanguage.get(id)?.meta[field] ?? "")]));
  }
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

async function resolveInput(path: string, options: RunStudyOptions, baseDirectory: string, corpus: string): Promise<ResolvedInput> {
  if (!isHubUri(path)) return { paths: [resolveConfigPath(baseDirectory, path)], uris: new Map(), sha256s: new Map() };
  const emit = options.onEvent ?? (() => {});
  const { resolveSource } = await import("../hub/resolve-source");
  const resolved = await resolveSource({
    uri: path,
    ...(options.hub?.token ? { token: options.hub.token } : {}),
    ...(options.hub?.hubUrl ? { hubUrl: options.hub.hubUrl } : {}),
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
