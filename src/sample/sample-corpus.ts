import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../io/atomic-write";
import { withExclusiveLock } from "../io/exclusive-lock";
import type { WrittenFile } from "../io/jsonl";
import { writeEncodedJsonl } from "../io/write-encoded";
import { toEncodedRows } from "../record/encoded-rows";
import { TOOL } from "../package-info";
import type { WorkerScripts } from "../worker/worker-script";
import { sampleIds } from "./sample-ids";
import { strataByMetaField } from "./strata-by-meta-field";
import { sourceFormatSchema } from "../sources/read-source";
import { summariseEncodedRecords, type RecordStatistics } from "../record/record-statistics";
import type { SkippedFile } from "../corpus/list-language-files";
import { loadParallelCorpus, type AlignmentReport, type InputFileInfo } from "../corpus/load-parallel-corpus";
import { parseOptions } from "../parse-options";

export const sampleCorpusOptionsSchema = z.strictObject({
  /** A parallel corpus: a directory with one file per language, or one file with a `lang` column. */
  input: z.string().min(1),
  /** Ids to sample (the same ids in every language, so the sample stays parallel). */
  n: z.number().int().positive(),
  seed: z.number().int().default(42),
  outDir: z.string().min(1),
  /** Languages to keep; default: all. */
  languages: z.array(z.string()).optional(),
  /** Stratify by this meta field (e.g. `origin`). */
  stratifyBy: z.string().optional(),
  format: sourceFormatSchema.optional(),
  /** Accept empty language files and empty messages (`--allow-empty`). */
  allowEmpty: z.boolean().default(false),
  /** When another process writes to `outDir`: wait for it (default) or fail at once (`false`). */
  wait: z.boolean().optional(),
  /** Told once when this run starts waiting for another process. */
  onWait: z.custom<(message: string) => void>((value) => typeof value === "function").optional(),
  /** Where the reader threads' script is (default: the built one; tests run it from `src/`). */
  workerScripts: z.custom<WorkerScripts>((value) => typeof value === "function", "expected a function").optional(),
});
export type SampleCorpusOptions = z.input<typeof sampleCorpusOptionsSchema>;

export interface SampleManifest {
  tool: { name: string; version: string };
  seed: number;
  n: number;
  population: number;
  stratifyBy?: string;
  inputs: InputFileInfo[];
  /** Data files of the input folder that were not read because their names are no language code. */
  skippedFiles?: SkippedFile[];
  alignment: AlignmentReport;
  outputs: (WrittenFile & RecordStatistics & { path: string; lang: string })[];
}

/**
 * Samples `n` ids of a parallel corpus (Bactrian-X -> Bactrian-X-small) and writes the sampled
 * corpus as `<outDir>/<lang>.jsonl`, one file per language with the same ids (sorted), then
 * `manifest.json`.
 */
export async function sampleCorpus(options: SampleCorpusOptions): Promise<SampleManifest> {
  const parsed = parseOptions(sampleCorpusOptionsSchema, options, "sampleCorpus");
  // One writer per output folder; a second run waits (or fails with `wait: false`).
  return withExclusiveLock({ path: parsed.outDir, what: `the output folder ${parsed.outDir}`, wait: parsed.wait, onWait: parsed.onWait }, () =>
    sampleCorpusLocked(parsed),
  );
}

async function sampleCorpusLocked(parsed: z.output<typeof sampleCorpusOptionsSchema>): Promise<SampleManifest> {
  const corpus = await loadParallelCorpus({
    allowEmpty: parsed.allowEmpty,
    path: parsed.input,
    ...(parsed.languages ? { languages: parsed.languages } : {}),
    ...(parsed.format ? { format: parsed.format } : {}),
    ...(parsed.workerScripts ? { workerScripts: parsed.workerScripts } : {}),
  });
  const strata = parsed.stratifyBy ? strataByMetaField({ corpus, field: parsed.stratifyBy, lang: corpus.languages[0]! }) : undefined;
  const ids = sampleIds({ ids: corpus.commonIds, n: parsed.n, seed: parsed.seed, ...(strata ? { strata } : {}) });
  const outputs: SampleManifest["outputs"] = [];
  // The commit point is the manifest: the old one goes before any file changes and the new one is
  // written last, so a kill or a full disk leaves no manifest rather than one that lies.
  await mkdir(parsed.outDir, { recursive: true });
  await rm(join(parsed.outDir, "manifest.json"), { force: true });
  for (const lang of corpus.languages) {
    const store = corpus.records.get(lang)!;
    const records = ids.map((id) => store.encoded(id)!);
    const written = await writeEncodedJsonl(join(parsed.outDir, `${lang}.jsonl`), toEncodedRows(records));
    outputs.push({ path: `${lang}.jsonl`, lang, ...written, ...summariseEncodedRecords(records) });
  }
  const manifest: SampleManifest = {
    tool: { ...TOOL },
    seed: parsed.seed,
    n: parsed.n,
    population: corpus.commonIds.length,
    ...(parsed.stratifyBy ? { stratifyBy: parsed.stratifyBy } : {}),
    inputs: corpus.inputs,
    ...(corpus.skippedFiles.length > 0 ? { skippedFiles: corpus.skippedFiles } : {}),
    alignment: corpus.alignment,
    outputs,
  };
  await writeFileAtomic(join(parsed.outDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}
