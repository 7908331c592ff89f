import { join } from "node:path";
import { z } from "zod";
import { UsageError } from "../errors";
import { EncodedWriterPool } from "../io/encoded-writer-pool";
import type { ParallelCorpus } from "../corpus/load-parallel-corpus";
import { splitValidation } from "../sample/split-validation";
import { planComposition } from "./build-composition";
import { compositionTable, locateIds } from "./composition-table";
import { parseCompositionName, type CompositionSpec } from "./composition-name";
import type { RecordStatistics } from "../record/record-statistics";
import type { WorkerScripts } from "../worker/worker-script";

// Two writing and one waiting, so that a writer that finishes finds work at once.
const MAX_QUEUED_WRITES = 3;

export const outputFormatSchema = z.enum(["jsonl", "arrow"]);
export type OutputFormat = z.infer<typeof outputFormatSchema>;

/** One written file as the manifest records it. */
export interface OutputFileInfo extends RecordStatistics {
  /** Path relative to the output directory, with `/` separators. */
  path: string;
  corpus?: string;
  composition: string;
  split: "train" | "validation";
  format: OutputFormat;
  sha256: string;
  bytes: number;
}

export interface WriteCompositionsOptions {
  corpus: ParallelCorpus;
  /** Composition names, e.g. `["EN", "DEFRITES-sampled"]`. */
  compositions: readonly string[];
  /** Directory the files go to (`<dir>/<COMPOSITION>.jsonl`). */
  directory: string;
  /** Prefix of the manifest paths (the corpus folder within the output directory), e.g. `lima-x/`. */
  pathPrefix?: string;
  corpusName?: string;
  formats: readonly OutputFormat[];
  seed: number | string;
  /** Share of ids held out as a validation split in every language (0 = none). */
  validationFraction?: number;
  onProgress?: (event: { composition: string; split: string; format: OutputFormat; rows: number }) => void;
  /** Where the writer threads' script is (default: the built one; tests run it from `src/`). Used by `writeCompositions` only. */
  workerScripts?: WorkerScripts;
}

/** Checks composition names against the languages a corpus has; throws listing the valid choices. */
export function parseCompositionsFor(names: readonly string[], languages: readonly string[]): CompositionSpec[] {
  return names.map((name) => {
    const spec = parseCompositionName(name);
    const missing = spec.languages.filter((lang) => !languages.includes(lang));
    if (missing.length > 0) {
      throw new UsageError(
        `composition ${name} needs ${missing.map((lang) => lang.toUpperCase()).join(", ")}, but the corpus has only ${languages.map((lang) => lang.toUpperCase()).join(", ")}`,
      );
    }
    return spec;
  });
}

/**
 * Builds and writes every composition of a corpus in every format, with an optional validation
 * split held out by id before composing. Records are encoded once when loaded; writing a
 * composition copies their bytes.
 */
export async function writeCompositions(options: WriteCompositionsOptions): Promise<OutputFileInfo[]> {
  const pool = new EncodedWriterPool(options.workerScripts ? { workerScripts: options.workerScripts } : {});
  try {
    return await writeCompositionsWith(pool, options);
  } finally {
    await pool.close();
  }
}

/** `writeCompositions` on writer threads the caller owns (a study reuses them for every corpus). */
export async function writeCompositionsWith(pool: EncodedWriterPool, options: WriteCompositionsOptions): Promise<OutputFileInfo[]> {
  const { corpus, directory, formats, seed } = options;
  const specs = parseCompositionsFor(options.compositions, corpus.languages);
  const prefix = options.pathPrefix ?? "";
  const { train, validation } = splitValidation({ ids: corpus.commonIds, fraction: options.validationFraction ?? 0, seed });
  const splits: { split: "train" | "validation"; ids: string[]; suffix: string }[] = [{ split: "train", ids: train, suffix: "" }];
  if (validation.length > 0) splits.push({ split: "validation", ids: validation, suffix: ".validation" });

  // Files are written on writer threads while this thread plans the next compositions; at most
  // a few compositions wait, so memory does not grow with the number of compositions. A
  // composition's JSONL and Arrow files are written together, from one pass over its rows.
  pool.prestart();
  const located = locateIds(corpus.commonIds, corpus.records);
  const pending: Promise<OutputFileInfo[]>[] = [];
  const unfinished = new Set<Promise<unknown>>();
  let failed = false;
  plan: for (const spec of specs) {
    for (const { split, ids, suffix } of splits) {
      while (unfinished.size >= MAX_QUEUED_WRITES) await Promise.race(unfinished);
      // After a failed write the run fails anyway: plan nothing more.
      if (failed) break plan;
      const { table, statistics } = compositionTable(planComposition(spec, ids, seed), located);
      const fileName = (format: OutputFormat) => `${spec.name}${suffix}.${format}`;
      const files = Object.fromEntries(formats.map((format) => [format, join(directory, fileName(format))]));
      const output = pool.write({ table, ...files }).then((written) =>
        formats.map((format): OutputFileInfo => {
          const file = written[format]!;
          options.onProgress?.({ composition: spec.name, split, format, rows: file.rows });
          return {
            path: prefix + fileName(format),
            ...(options.corpusName ? { corpus: options.corpusName } : {}),
            composition: spec.name,
            split,
            format,
            sha256: file.sha256,
            bytes: file.bytes,
            ...statistics,
          };
        }),
      );
      const settled: Promise<unknown> = output.then(
        () => unfinished.delete(settled),
        () => {
          failed = true;
          unfinished.delete(settled);
        },
      );
      unfinished.add(settled);
      pending.push(output);
    }
  }
  // Settle every write before reporting the first failure, so no thread still writes afterwards.
  const settled = await Promise.allSettled(pending);
  const failure = settled.find((result) => result.status === "rejected");
  if (failure) throw failure.reason;
  return settled.flatMap((result) => (result as PromiseFulfilledResult<OutputFileInfo[]>).value);
}
