import type { OutputFileInfo } from "../compose/write-compositions";
import type { SkippedFile } from "../corpus/list-language-files";
import type { AlignmentReport } from "../corpus/load-parallel-corpus";
import type { StudyConfig } from "./study-config";
import type { TrainerConfigFile } from "./trainer-configs";

/** One input file of a study. */
export interface ManifestInput {
  corpus: string;
  /** Relative to the config's directory when inside it; the `hf://` URI of the file for hub inputs. */
  path: string;
  sha256: string;
  rows: number;
  lang?: string;
  /** Hub inputs: the commit sha the file was taken at. */
  revision?: string;
}

export interface CorpusManifestEntry {
  kind: "files" | "translate" | "sample";
  languages: string[];
  /** Ids every composition of the corpus draws from (train and validation). */
  ids: number;
  validationIds: number;
  /** Ids dropped because they were missing in some language, or duplicated. */
  alignment: AlignmentReport | undefined;
  sample?: { of: string; n?: number; matchRowsOf?: string; characterBudget?: number; stratifyBy?: string; population: number; sampled: number };
  translation?: { provider: string; from: string; to: string[]; files: string };
}

/**
 * `manifest.json`: everything needed to rebuild every file. It has no timestamps, so rebuilding
 * with the same inputs, config and seed gives a byte-identical manifest too.
 */
export interface StudyManifest {
  tool: { name: string; version: string };
  seed: number;
  config: StudyConfig;
  inputs: ManifestInput[];
  /** Data files of an input folder that were not read because their names are no language code. */
  skippedFiles?: SkippedFile[];
  corpora: Record<string, CorpusManifestEntry>;
  outputs: OutputFileInfo[];
  /** LLaMA-Factory's `dataset_info.json` and axolotl's `axolotl/<config>.yaml`, written beside the outputs and pushed with them. */
  trainerConfigs: TrainerConfigFile[];
  /** Files written besides the compositions, e.g. a translated corpus, relative to the output directory. */
  intermediateFiles: string[];
}
