import { basename, dirname, resolve } from "node:path";
import { z } from "zod";
import { parseCompositionName } from "../compose/composition-name";
import { arrowFormatSchema, outputFormatSchema } from "../compose/write-compositions";
import { sourceFormatSchema } from "../sources/read-source";
import { parseStudyConfig } from "./study-config";
import { runStudy, type StudyEvent } from "./run-study";
import type { StudyManifest } from "./manifest";
import { parseOptions } from "../parse-options";
import type { WorkerScripts } from "../worker/worker-script";

export const composeDatasetOptionsSchema = z.strictObject({
  /** A directory with one file per language, or one file with a `lang` column. */
  input: z.string().min(1),
  /** Composition names, e.g. `["EN", "DEFRITES", "ENDEFRITES-sampled"]`. */
  compositions: z.array(z.string()).min(1),
  outDir: z.string().min(1),
  seed: z.number().int().default(42),
  formats: z.array(outputFormatSchema).min(1).default(["jsonl", "arrow"]),
  /** Arrow IPC layout: `stream` (default, what `datasets.Dataset.from_file` maps) or `file`. */
  arrowFormat: arrowFormatSchema.default("stream"),
  format: sourceFormatSchema.optional(),
  /** Share of ids held out as a validation split, by id (0 = none). */
  validationFraction: z.number().min(0).lt(1).default(0),
  /** Accept empty language files and empty messages (`--allow-empty`). */
  allowEmpty: z.boolean().default(false),
  /** When another process writes to `outDir`: wait for it (default) or fail at once (`false`). */
  wait: z.boolean().optional(),
  /** Told once when this run starts waiting for another process. */
  onWait: z.custom<(message: string) => void>((value) => typeof value === "function").optional(),
  onEvent: z.custom<(event: StudyEvent) => void>((value) => typeof value === "function").optional(),
  /** Where the reader and writer threads' scripts are (default: the built ones; tests run them from `src/`). */
  workerScripts: z.custom<WorkerScripts>((value) => typeof value === "function", "expected a function").optional(),
});
export type ComposeDatasetOptions = z.input<typeof composeDatasetOptionsSchema>;

/**
 * Builds compositions of one parallel corpus into `<outDir>/<COMPOSITION>.jsonl|.arrow`, with a
 * manifest and a dataset card. All compositions use the ids present in every language they need.
 *
 * @example
 * await composeDataset({ input: "data/bactrian-x", compositions: ["EN", "DEFRITES-sampled"], outDir: "out", seed: 7 });
 */
export async function composeDataset(options: ComposeDatasetOptions): Promise<StudyManifest> {
  const parsed = parseOptions(composeDatasetOptionsSchema, options, "composeDataset");
  const input = resolve(parsed.input);
  const name = basename(input).split(".")[0]!.toLowerCase().replace(/[^a-z0-9._-]/g, "-") || "corpus";
  const languages: string[] = [];
  for (const composition of parsed.compositions) {
    for (const lang of parseCompositionName(composition).languages) if (!languages.includes(lang)) languages.push(lang);
  }
  const config = parseStudyConfig({
    seed: parsed.seed,
    languages,
    formats: parsed.formats,
    arrowFormat: parsed.arrowFormat,
    validationFraction: parsed.validationFraction,
    compositions: parsed.compositions,
    corpora: { [name]: { path: basename(input), ...(parsed.format ? { format: parsed.format } : {}) } },
  });
  return runStudy({
    config,
    baseDirectory: dirname(input),
    outDir: parsed.outDir,
    layout: "flat",
    title: `${name}: ${parsed.compositions.join(", ")}`,
    ...(parsed.onEvent ? { onEvent: parsed.onEvent } : {}),
    ...(parsed.allowEmpty ? { allowEmpty: true } : {}),
    ...(parsed.wait === undefined ? {} : { wait: parsed.wait }),
    ...(parsed.onWait ? { onWait: parsed.onWait } : {}),
    ...(parsed.workerScripts ? { workerScripts: parsed.workerScripts } : {}),
  });
}
