import type { OutputFileInfo } from "../compose/write-compositions";
import type { ArrowFormat } from "../io/arrow";
import { TOOL } from "../package-info";
import type { RenderedTrainerConfig } from "./trainer-configs";
import { configNameOf } from "./config-name";

export interface DatasetCardOptions {
  title: string;
  seed: number | string;
  languages: string[];
  outputs: readonly OutputFileInfo[];
  /** Prefix config names with the corpus name (needed when several corpora share composition names). */
  prefixCorpus: boolean;
  /** Layout of the `.arrow` files (default `stream`): the card says which tool reads it how. */
  arrowFormat?: ArrowFormat;
  /** The LLaMA-Factory and axolotl configs written beside the outputs (the card shows how to use them). */
  trainerConfigs?: readonly Pick<RenderedTrainerConfig, "path" | "tool">[];
}

/**
 * A dataset card (`README.md`) whose YAML `configs:` lets
 * `datasets.load_dataset("<out>", "<config name>")` load each composition, with its train and
 * validation splits. JSONL files are listed when written (HF's `json` builder), Arrow otherwise.
 */
export function renderDatasetCard(options: DatasetCardOptions): string {
  const { outputs, prefixCorpus } = options;
  const preferred = outputs.some((output) => output.format === "jsonl") ? "jsonl" : "arrow";
  const configs = new Map<string, OutputFileInfo[]>();
  for (const output of outputs) {
    if (output.format !== preferred) continue;
    const name = configNameOf(output, prefixCorpus);
    configs.set(name, [...(configs.get(name) ?? []), output]);
  }
  const yaml: string[] = ["---", "configs:"];
  for (const [name, files] of configs) {
    yaml.push(`- config_name: ${name}`, "  data_files:");
    for (const file of files) yaml.push(`  - split: ${file.split}`, `    path: ${file.path}`);
  }
  yaml.push("language:", ...options.languages.map((lang) => `- ${lang}`), "tags:", "- instruction-tuning", "- multilingual", `- ${TOOL.name}`, "---", "");

  const table = ["| config | split | rows | " + options.languages.map((lang) => `rows ${lang}`).join(" | ") + " |"];
  table.push("|" + " --- |".repeat(3 + options.languages.length));
  for (const [name, files] of configs) {
    for (const file of files) {
      const perLanguage = options.languages.map((lang) => String(file.rowsPerLanguage[lang] ?? 0));
      table.push(`| ${name} | ${file.split} | ${file.rows} | ${perLanguage.join(" | ")} |`);
    }
  }
  const first = configs.keys().next().value ?? "EN";
  const firstTrain = configs.get(first)?.find((file) => file.split === "train");
  return [
    ...yaml,
    `# ${options.title}`,
    "",
    `Built with ${TOOL.name} ${TOOL.version}, seed ${options.seed}. Every file, with its sha256, is listed in \`manifest.json\`;`,
    "rebuilding with the same inputs, config and seed gives byte-identical files.",
    "",
    "Each row is one conversation: `id` (the same id in two languages is the same item translated), `lang`, `source`,",
    "`messages` (`[{role, content}]`, the TRL/OpenAI chat shape) and `meta`.",
    "",
    "```python",
    "from datasets import load_dataset",
    `dataset = load_dataset("path/to/this/folder", "${first}")`,
    "```",
    "",
    ...table,
    "",
    ...trainerSection(options, first, firstTrain),
    ...arrowSection(options, first),
  ].join("\n");
}

/** How TRL, LLaMA-Factory and axolotl load a composition, with the configs written beside it. */
function trainerSection(options: DatasetCardOptions, first: string, firstTrain: OutputFileInfo | undefined): string[] {
  if (!firstTrain) return [];
  const axolotl = options.trainerConfigs?.find((config) => config.tool === "axolotl" && config.path.endsWith(`/${first}.yaml`));
  const llamaFactory = options.trainerConfigs?.find((config) => config.tool === "llama-factory");
  const hasValidation = options.outputs.some((output) => output.split === "validation");
  const lines = [
    "## Training on it",
    "",
    `TRL reads the ${firstTrain.format === "jsonl" ? "JSONL" : "Arrow file"} as it is (its conversational \`messages\` format). \`assistant_only_loss\``,
    "needs a tokenizer whose chat template marks the assistant turns with `{% generation %}` (as `make-tiny-model`'s do):",
    "",
    "```python",
    "from datasets import load_dataset",
    "from trl import SFTConfig, SFTTrainer",
    `train = load_dataset("${firstTrain.format === "jsonl" ? "json" : "arrow"}", data_files="${firstTrain.path}", split="train")`,
    'trainer = SFTTrainer(model="path/to/model", train_dataset=train, args=SFTConfig(output_dir="run", assistant_only_loss=True))',
    "```",
    "",
  ];
  if (llamaFactory) {
    lines.push(
      `LLaMA-Factory: \`${llamaFactory.path}\` registers every composition and split (\`formatting: sharegpt\` with`,
      "`role`/`content` tags). In the training YAML:",
      "",
      "```yaml",
      "dataset_dir: path/to/this/folder",
      `dataset: ${first}`,
      ...(hasValidation ? [`eval_dataset: ${first}-validation`] : []),
      "```",
      "",
    );
  }
  if (axolotl) {
    lines.push(
      `axolotl: \`${axolotl.path}\` (one file per composition in \`axolotl/\`) is a \`datasets:\` block with \`type: chat_template\`;`,
      "paste it into your axolotl config and run axolotl from this folder (the paths are relative to it).",
      "",
    );
  }
  return lines;
}

/** Which reader takes the `.arrow` files as written. */
function arrowSection(options: DatasetCardOptions, first: string): string[] {
  const arrow = options.outputs.find((output) => output.format === "arrow" && configNameOf(output, options.prefixCorpus) === first);
  if (!arrow) return [];
  const stream = (options.arrowFormat ?? "stream") === "stream";
  return [
    "## Arrow files",
    "",
    ...(stream
      ? [
          "The `.arrow` files are Arrow IPC **streams**, the layout Hugging Face `datasets` keeps in its cache: `datasets.Dataset.from_file(path)`",
          "memory-maps them without copying, as does `pyarrow.ipc.open_stream(pyarrow.memory_map(path))`; `load_dataset(\"arrow\", data_files=...)`",
          "(which copies into its cache), polars (`pl.read_ipc_stream`) and the polyglot trainer read them too. `pyarrow.ipc.open_file` and",
          "feather readers need the IPC file layout: rebuild with `--arrow-format file`.",
        ]
      : [
          "The `.arrow` files are Arrow IPC **files** (magic `ARROW1`, built with `--arrow-format file`): `pyarrow.ipc.open_file(pyarrow.memory_map(path))`,",
          "`pyarrow.feather.read_table`, polars (`pl.read_ipc`) and the polyglot trainer read them. `datasets.Dataset.from_file` and",
          "`pyarrow.ipc.open_stream` need the IPC stream layout: rebuild with `--arrow-format stream` (the default).",
        ]),
    "",
    "```python",
    stream ? "from datasets import Dataset" : "import pyarrow as pa, pyarrow.ipc as ipc",
    stream ? `dataset = Dataset.from_file("${arrow.path}")` : `table = ipc.open_file(pa.memory_map("${arrow.path}")).read_all()`,
    "```",
    "",
  ];
}
