import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../io/atomic-write";
import type { WrittenFile } from "../io/jsonl";
import { writeEncodedJsonl } from "../io/write-encoded";
import { toEncodedRows } from "../record/encoded-rows";
import { TOOL } from "../package-info";
import type { WorkerScripts } from "../worker/worker-script";
import { sampleIds } from "./sample-ids";
import { strataByMetaField } from "./strata-by-meta-field";
import { sourceFormatSchema } from "../sources/read-source";
import { summariseEncodedRecords, type RecordStatistics } from "../record/record-statistics";
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
  const corpus = await loadParallelCorpus({
    path: parsed.input,
    ...(parsed.languages ? { languages: parsed.languages } : {}),
    ...(parsed.format ? { format: parsed.format } : {}),
    ...(parsed.workerScripts ? { workerScripts: parsed.workerScripts } : {}),
  });
  const strata = parsed.stratifyBy ? strataByMetaField({ corpus, field: parsed.stratifyBy, lang: corpus.languages[0]! }) : undefined;
  const ids = sampleIds({ ids: corpus.commonIds, n: parsed.n, seed: parsed.seed, ...(strata ? { strata } : {}) });
  const outputs: SampleManifest["outputs"] = [];
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
    alignment: corpus.alignment,
    outputs,
  };
  await writeFileAtomic(join(parsed.outDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}
