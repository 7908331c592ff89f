import { createHash } from "node:crypto";
import { stringify } from "yaml";
import type { OutputFileInfo } from "../compose/write-compositions";
import { configNameOf } from "./config-name";

/** The trainers a study writes dataset configs for. */
export type TrainerTool = "llama-factory" | "axolotl";

/** One written trainer config, as the manifest lists it (`trainerConfigs`). */
export interface TrainerConfigFile {
  /** Relative to the output directory, with `/` separators. */
  path: string;
  tool: TrainerTool;
  sha256: string;
  bytes: number;
}

/** A trainer config's path, tool and text, before it is written. */
export interface RenderedTrainerConfig {
  path: string;
  tool: TrainerTool;
  text: string;
}

/** Where LLaMA-Factory looks for its dataset registry: `dataset_dir` is the study folder itself. */
export const LLAMA_FACTORY_DATASET_INFO = "dataset_info.json";
/** Folder of the axolotl snippets, one per composition. */
export const AXOLOTL_FOLDER = "axolotl";

/**
 * LLaMA-Factory's `sharegpt` formatting reads `{from, value}` turns with `human`/`gpt` roles unless
 * told otherwise; these tags make it read our `{role, content}` messages as they are.
 */
export const LLAMA_FACTORY_TAGS = {
  role_tag: "role",
  content_tag: "content",
  user_tag: "user",
  assistant_tag: "assistant",
  system_tag: "system",
} as const;

export interface TrainerConfigOptions {
  outputs: readonly OutputFileInfo[];
  /** Prefix dataset names with the corpus name (as the dataset card's config names). */
  prefixCorpus: boolean;
}

/** The dataset name of a composition's split: the card's config name, `-validation` for the held-out split. */
export function trainerDatasetName(output: Pick<OutputFileInfo, "corpus" | "composition" | "split">, prefixCorpus: boolean): string {
  const name = configNameOf(output, prefixCorpus);
  return output.split === "validation" ? `${name}-validation` : name;
}

/**
 * The dataset configs of LLaMA-Factory and axolotl for every composition of a study, so that the
 * built files load unchanged: `dataset_info.json` (one entry per composition and split, for
 * `dataset_dir: <study folder>`) and `axolotl/<config>.yaml` (a `datasets:` block, plus
 * `test_datasets:` when there is a validation split, to paste into an axolotl config). JSONL is
 * named when written, Arrow otherwise. Paths are relative to the study folder.
 *
 * @example
 * renderTrainerConfigs({ outputs: manifest.outputs, prefixCorpus: true }).map((config) => config.path);
 * // ["dataset_info.json", "axolotl/lima-x-EN.yaml", ...]
 */
export function renderTrainerConfigs(options: TrainerConfigOptions): RenderedTrainerConfig[] {
  const { outputs, prefixCorpus } = options;
  const preferred = outputs.some((output) => output.format === "jsonl") ? "jsonl" : "arrow";
  const chosen = outputs.filter((output) => output.format === preferred);
  if (chosen.length === 0) return [];

  const datasetInfo: Record<string, unknown> = {};
  for (const output of chosen) {
    datasetInfo[trainerDatasetName(output, prefixCorpus)] = {
      file_name: output.path,
      formatting: "sharegpt",
      columns: { messages: "messages" },
      tags: { ...LLAMA_FACTORY_TAGS },
    };
  }
  const rendered: RenderedTrainerConfig[] = [
    { path: LLAMA_FACTORY_DATASET_INFO, tool: "llama-factory", text: JSON.stringify(datasetInfo, null, 2) + "\n" },
  ];

  const byConfig = new Map<string, OutputFileInfo[]>();
  for (const output of chosen) {
    const name = configNameOf(output, prefixCorpus);
    byConfig.set(name, [...(byConfig.get(name) ?? []), output]);
  }
  for (const [name, files] of byConfig) {
    const entry = (file: OutputFileInfo) => ({
      path: file.path,
      ds_type: file.format === "jsonl" ? "json" : "arrow",
      split: "train",
      type: "chat_template",
      field_messages: "messages",
      message_property_mappings: { role: "role", content: "content" },
      roles_to_train: ["assistant"],
    });
    const train = files.filter((file) => file.split === "train").map(entry);
    const validation = files.filter((file) => file.split === "validation").map(entry);
    const snippet = { datasets: train, ...(validation.length > 0 ? { test_datasets: validation } : {}) };
    const text = [
      `# axolotl: the ${name} composition. Paste into your axolotl config; paths are relative to the study folder`,
      "# (run axolotl there, or prefix them). A base model without a chat template also needs `chat_template:`.",
      stringify(snippet, { lineWidth: 0 }),
    ].join("\n");
    rendered.push({ path: `${AXOLOTL_FOLDER}/${name}.yaml`, tool: "axolotl", text });
  }
  return rendered;
}

/** The manifest entry of a rendered config: its sha256 and size as written (UTF-8). */
export function describeTrainerConfig(config: RenderedTrainerConfig): TrainerConfigFile {
  const bytes = Buffer.from(config.text, "utf8");
  return { path: config.path, tool: config.tool, sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length };
}
