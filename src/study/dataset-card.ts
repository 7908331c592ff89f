import type { OutputFileInfo } from "../compose/write-compositions";
import { TOOL } from "../package-info";

export interface DatasetCardOptions {
  title: string;
  seed: number | string;
  languages: string[];
  outputs: readonly OutputFileInfo[];
  /** Prefix config names with the corpus name (needed when several corpora share composition names). */
  prefixCorpus: boolean;
}

/** The Hugging Face config name of an output: `ENDEFRITES` or `lima-x-ENDEFRITES`. */
export function configNameOf(output: Pick<OutputFileInfo, "corpus" | "composition">, prefixCorpus: boolean): string {
  return prefixCorpus && output.corpus ? `${output.corpus}-${output.composition}` : output.composition;
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
  ].join("\n");
}
