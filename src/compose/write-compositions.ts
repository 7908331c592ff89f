import { join } from "node:path";
import { z } from "zod";
import { UsageError } from "../errors";
import { writeEncodedArrow, writeEncodedJsonl } from "../io/write-encoded";
import type { ParallelCorpus } from "../corpus/load-parallel-corpus";
import { splitValidation } from "../sample/split-validation";
import { buildComposition } from "./build-composition";
import { parseCompositionName, type CompositionSpec } from "./composition-name";
import { summariseEncodedRecords, type RecordStatistics } from "./record-statistics";

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
  const { corpus, directory, formats, seed } = options;
  const specs = parseCompositionsFor(options.compositions, corpus.languages);
  const prefix = options.pathPrefix ?? "";
  const { train, validation } = splitValidation({ ids: corpus.commonIds, fraction: options.validationFraction ?? 0, seed });
  const splits: { split: "train" | "validation"; ids: string[]; suffix: string }[] = [{ split: "train", ids: train, suffix: "" }];
  if (validation.length > 0) splits.push({ split: "validation", ids: validation, suffix: ".validation" });

  const encoded = new Map(Array.from(corpus.records, ([lang, store]) => [lang, { get: (id: string) => store.encoded(id) }]));
  const outputs: OutputFileInfo[] = [];
  for (const spec of specs) {
    for (const { split, ids, suffix } of splits) {
      const rows = buildComposition({ composition: spec, records: encoded, ids, seed });
      const statistics = summariseEncodedRecords(rows);
      for (const format of formats) {
        const fileName = `${spec.name}${suffix}.${format}`;
        const path = join(directory, fileName);
        const written = format === "jsonl" ? await writeEncodedJsonl(path, rows) : await writeEncodedArrow(path, rows);
        outputs.push({
          path: prefix + fileName,
          ...(options.corpusName ? { corpus: options.corpusName } : {}),
          composition: spec.name,
          split,
          format,
          sha256: written.sha256,
          bytes: written.bytes,
          ...statistics,
        });
        options.onProgress?.({ composition: spec.name, split, format, rows: written.rows });
      }
    }
  }
  return outputs;
}
