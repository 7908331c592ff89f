import { copyFile, mkdir, rename, rm } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { z } from "zod";
import { UsageError } from "../errors";
import { HubIntegrityError } from "./errors";
import { temporaryPathFor, writeFileAtomic } from "../io/atomic-write";
import { acquireExclusiveLock } from "../io/exclusive-lock";
import { sha256File } from "../io/hash-file";
import { isIso639_1 } from "../record/language-codes";
import { parseOptions } from "../parse-options";
import { hubConnectionOptionsShape, hubRenamedOptions } from "./hub-credentials";

/** A named source of the study on the hub. */
export interface HubPreset {
  /** `datasets/GAIR/lima`. */
  repo: string;
  description: string;
  /** True when the files depend on `langs` (one file per language). */
  multilingual: boolean;
  defaultLangs: readonly string[];
  /** Gated repositories need a token whose account accepted the terms. */
  gated: boolean;
  /** Files for these languages: where they are in the repo and the name they get under `<out>/<preset>/`. */
  files(langs: readonly string[]): { pathInRepo: string; localName: string }[];
}

/**
 * The study's sources. Bactrian-X ships one gzipped JSON array per language under `data/`; LIMA is
 * gated (accept its terms on the hub first); MT-Bench's questions are FastChat's `question.jsonl`,
 * mirrored on the hub by HuggingFaceH4 under `raw/` (the dataset card documents that path).
 */
export const HUB_PRESETS = {
  lima: {
    repo: "datasets/GAIR/lima",
    description: "LIMA (GAIR/lima): 1,030 train and 300 test conversations, English; gated",
    multilingual: false,
    defaultLangs: ["en"],
    gated: true,
    files: () => [
      { pathInRepo: "train.jsonl", localName: "train.jsonl" },
      { pathInRepo: "test.jsonl", localName: "test.jsonl" },
    ],
  },
  "bactrian-x": {
    repo: "datasets/MBZUAI/Bactrian-X",
    description: "Bactrian-X (MBZUAI/Bactrian-X): 67,017 instructions per language, data/<lang>.json.gz",
    multilingual: true,
    defaultLangs: ["en", "de", "fr", "it", "es"],
    gated: false,
    files: (langs: readonly string[]) => langs.map((lang) => ({ pathInRepo: `data/${lang}.json.gz`, localName: `${lang}.json.gz` })),
  },
  "mt-bench": {
    repo: "datasets/HuggingFaceH4/mt_bench_prompts",
    description: "MT-Bench questions (FastChat question.jsonl, 80 questions with references), English",
    multilingual: false,
    defaultLangs: ["en"],
    gated: false,
    files: () => [{ pathInRepo: "raw/question.jsonl", localName: "question.jsonl" }],
  },
} as const satisfies Record<string, HubPreset>;

export type HubPresetName = keyof typeof HUB_PRESETS;
export const HUB_PRESET_NAMES = Object.keys(HUB_PRESETS) as HubPresetName[];

/**
 * The `hf://` URI of a preset's files, usable as is in a study config.
 *
 * @example
 * presetUri("bactrian-x", ["en", "de"]) // "hf://datasets/MBZUAI/Bactrian-X/data/{en,de}.json.gz"
 */
export function presetUri(preset: HubPresetName, langs?: readonly string[], revision?: string): string {
  const definition: HubPreset = HUB_PRESETS[preset];
  const files = definition.files(langs ?? definition.defaultLangs).map((file) => file.pathInRepo);
  const at = revision ? `@${encodeURIComponent(revision)}` : "";
  if (files.length === 1) return `hf://${definition.repo}${at}/${files[0]}`;
  // One brace group for the part that differs: data/{en,de}.json.gz.
  let prefix = commonPrefix(files);
  prefix = prefix.slice(0, prefix.lastIndexOf("/") + 1);
  let suffix = commonPrefix(files.map((file) => [...file.slice(prefix.length)].reverse().join("")));
  suffix = [...suffix].reverse().join("");
  suffix = suffix.includes(".") ? suffix.slice(suffix.indexOf(".")) : "";
  const middles = files.map((file) => file.slice(prefix.length, file.length - suffix.length));
  if (middles.some((middle) => middle.length === 0 || /[,{}]/.test(middle))) return `hf://${definition.repo}${at}/{${files.join(",")}}`;
  return `hf://${definition.repo}${at}/${prefix}{${middles.join(",")}}${suffix}`;
}

function commonPrefix(values: string[]): string {
  let prefix = values[0] ?? "";
  for (const value of values) while (!value.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

export const fetchPresetOptionsSchema = z.strictObject({
  preset: z.enum(HUB_PRESET_NAMES as [HubPresetName, ...HubPresetName[]]),
  /** Languages for multilingual presets (bactrian-x); lowercase ISO 639-1 codes. */
  langs: z.array(z.string()).min(1).optional(),
  /** Branch, tag or commit sha; default: the repository's default branch. */
  revision: z.string().min(1).optional(),
  /** Files land in `<outDir>/<preset>/`, and `<outDir>/<preset>.source.json` records where they came from. */
  outDir: z.string().min(1),
  ...hubConnectionOptionsShape,
  cacheDir: z.string().min(1).optional(),
});

export type FetchPresetOptions = z.input<typeof fetchPresetOptionsSchema>;

/** What `fetchPreset` wrote. */
export interface FetchPresetResult {
  preset: HubPresetName;
  uri: string;
  repo: string;
  /** Commit sha the files were taken at. */
  revision: string;
  /** `<outDir>/<preset>`. */
  directory: string;
  /** `<outDir>/<preset>.source.json`. */
  sourceFile: string;
  files: { path: string; pathInRepo: string; sha256: string; size: number; downloaded: boolean }[];
}

/**
 * Downloads a preset's raw files (through the cache) into `<outDir>/<preset>/`, for users who want
 * the files themselves, and writes `<outDir>/<preset>.source.json` (repo, commit, sha256 of each file) last.
 *
 * @example
 * await fetchPreset({ preset: "bactrian-x", langs: ["en", "de"], outDir: "data" });
 * // data/bactrian-x/en.json.gz, data/bactrian-x/de.json.gz, data/bactrian-x.source.json
 */
export async function fetchPreset(options: FetchPresetOptions): Promise<FetchPresetResult> {
  const parsed = parseOptions(fetchPresetOptionsSchema, options, "fetchPreset", hubRenamedOptions);
  const preset = parsed.preset;
  const definition: HubPreset = HUB_PRESETS[preset];
  if (parsed.langs && !definition.multilingual) {
    throw new UsageError(`--langs applies to multilingual presets only; ${preset} is ${definition.defaultLangs.join(", ")} only`);
  }
  const langs = parsed.langs ?? definition.defaultLangs;
  const invalid = langs.filter((lang) => !isIso639_1(lang));
  if (invalid.length > 0) {
    throw new UsageError(`not lowercase ISO 639-1 language codes: ${invalid.join(", ")} (expected e.g. en,de,fr,it,es)`);
  }
  const uri = presetUri(preset, langs, parsed.revision);
  const { resolveSource } = await import("./resolve-source");
  const resolved = await resolveSource({
    uri,
    token: parsed.token,
    baseUrl: parsed.baseUrl,
    cacheDir: parsed.cacheDir,
    onProgress: parsed.onProgress,
    fetch: parsed.fetch,
    env: parsed.env,
    homeDir: parsed.homeDir,
    ...(parsed.wait === undefined ? {} : { wait: parsed.wait }),
    ...(parsed.onWait ? { onWait: parsed.onWait } : {}),
  });
  const directory = join(parsed.outDir, preset);
  // One writer per preset folder; its `.source.json` is the commit point: removed before any file
  // changes, written after every copy has been checked.
  const sourceFile = join(parsed.outDir, `${preset}.source.json`);
  const release = await acquireExclusiveLock({
    path: directory,
    what: `the output folder ${directory}`,
    ...(parsed.wait === undefined ? {} : { wait: parsed.wait }),
    ...(parsed.onWait ? { onWait: parsed.onWait } : {}),
  });
  try {
  await rm(sourceFile, { force: true });
  const files: FetchPresetResult["files"] = [];
  const localNames = new Map(definition.files(langs).map((file) => [file.pathInRepo, file.localName]));
  for (const file of resolved.files ?? []) {
    const target = join(directory, localNames.get(file.pathInRepo) ?? file.pathInRepo);
    await copyIfChanged(file.path, target, file.sha256);
    files.push({ path: target, pathInRepo: file.pathInRepo, sha256: file.sha256, size: file.size, downloaded: file.downloaded });
  }
  const record = {
    preset,
    uri,
    repo: resolved.repo,
    revision: resolved.revision,
    requestedRevision: resolved.requestedRevision,
    files: files.map((file) => ({
      path: relative(parsed.outDir, file.path).split("\\").join("/"),
      pathInRepo: file.pathInRepo,
      sha256: file.sha256,
      size: file.size,
    })),
  };
  await writeFileAtomic(sourceFile, `${JSON.stringify(record, null, 2)}\n`);
  return { preset, uri, repo: resolved.repo as string, revision: resolved.revision as string, directory, sourceFile, files };
  } finally {
    await release();
  }
}

/**
 * Copies atomically, skipping the copy when the target already holds the same bytes. The copy's
 * sha256 is checked on disk before it is renamed into place.
 */
async function copyIfChanged(source: string, target: string, sha256: string): Promise<void> {
  try {
    if ((await sha256File(target)) === sha256) return;
  } catch {
    // absent: copy below
  }
  await mkdir(dirname(target), { recursive: true });
  const temporary = temporaryPathFor(target);
  try {
    await copyFile(source, temporary);
    const copied = await sha256File(temporary);
    if (copied !== sha256) {
      throw new HubIntegrityError({
        repo: { type: "dataset", name: "?" },
        path: target,
        problem: `the copy from the cache (${source}) has sha256 ${copied}, expected ${sha256}; the cache copy may be damaged: delete it and rerun`,
      });
    }
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
