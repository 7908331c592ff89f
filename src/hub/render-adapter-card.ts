import { stringify as stringifyYaml } from "yaml";

/** What a LoRA adapter's model card says; every field comes from the run directory or the user. */
export interface AdapterCardFacts {
  /** `alice/lima-x-endefrites-lora`. */
  repo: string;
  baseModel?: string;
  /** `lima-x`. */
  corpus?: string;
  /** `ENDEFRITES`, `DEFRITES-sampled`, ... */
  composition: string;
  /** Hub dataset repository the composition was published to, if any. */
  datasetRepo?: string;
  /** sha256 of the training file and of the study manifest, from the trainer's run record. */
  datasetSha256?: string;
  manifestSha256?: string;
  lora: { r?: number; alpha?: number; dropout?: number; targetModules?: unknown };
  training: Record<string, unknown>;
  seed?: number | string;
  configFile: string;
  tool: { name: string; version: string };
}

/** `ENDEFRITES-sampled` -> `["en", "de", "fr", "it", "es"]`. */
export function compositionLanguages(composition: string): string[] {
  const codes = composition.replace(/-sampled$/, "");
  if (!/^([A-Z]{2})+$/.test(codes)) return [];
  return codes.match(/[A-Z]{2}/g)?.map((code) => code.toLowerCase()) ?? [];
}

/** A hub id (`owner/name`), as opposed to a local directory such as `tiny` or `/models/llama`. */
function isHubModelId(value: string | undefined): value is string {
  return Boolean(value && /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value));
}

/**
 * Renders the adapter's `README.md`: hub metadata (`library_name: peft`, `base_model`, `datasets`,
 * `language`, tags) and a body that names the dataset composition it was trained on.
 */
export function renderAdapterCard(facts: AdapterCardFacts): string {
  const languages = compositionLanguages(facts.composition);
  const trainedOn = facts.corpus ? `${facts.corpus} / ${facts.composition}` : facts.composition;
  const metadata: Record<string, unknown> = {
    library_name: "peft",
    ...(isHubModelId(facts.baseModel) ? { base_model: facts.baseModel } : {}),
    ...(facts.datasetRepo ? { datasets: [facts.datasetRepo] } : {}),
    ...(languages.length > 0 ? { language: languages } : {}),
    tags: ["lora", "peft", facts.tool.name, ...(facts.corpus ? [facts.corpus] : []), facts.composition],
  };
  const rows: [string, unknown][] = [
    ["Base model", facts.baseModel ? `\`${facts.baseModel}\`` : "(not recorded)"],
    ["Dataset composition", `${trainedOn}${languages.length ? ` (${languages.map((lang) => lang.toUpperCase()).join(", ")})` : ""}`],
    ...(facts.datasetRepo ? ([["Dataset repository", `[${facts.datasetRepo}](https://huggingface.co/datasets/${facts.datasetRepo})`]] as [string, unknown][]) : []),
    ...(facts.datasetSha256 ? ([["Training file sha256", `\`${facts.datasetSha256}\``]] as [string, unknown][]) : []),
    ...(facts.manifestSha256 ? ([["Study manifest sha256", `\`${facts.manifestSha256}\``]] as [string, unknown][]) : []),
    ["LoRA rank / alpha / dropout", `${facts.lora.r ?? "?"} / ${facts.lora.alpha ?? "?"} / ${facts.lora.dropout ?? "?"}`],
    ["Target modules", Array.isArray(facts.lora.targetModules) ? facts.lora.targetModules.join(", ") : String(facts.lora.targetModules ?? "?")],
    ...Object.entries(facts.training).filter(([, value]) => value !== undefined && value !== null),
    ["Seed", facts.seed ?? "(not recorded)"],
  ];
  const loadBase = facts.baseModel ?? "BASE_MODEL";
  return [
    "---",
    stringifyYaml(metadata).trimEnd(),
    "---",
    "",
    `# ${facts.repo.split("/")[1] ?? facts.repo}`,
    "",
    `A LoRA adapter trained on the **${trainedOn}** composition with the trainer bundled in ` +
      `${facts.tool.name} ${facts.tool.version}. The resolved training configuration is in \`${facts.configFile}\`.`,
    "",
    "| | |",
    "|---|---|",
    ...rows.map(([name, value]) => `| ${name} | ${String(value).replace(/\|/g, "\\|")} |`),
    "",
    "## Use",
    "",
    "```python",
    "from peft import PeftModel",
    "from transformers import AutoModelForCausalLM, AutoTokenizer",
    "",
    `base = AutoModelForCausalLM.from_pretrained("${loadBase}")`,
    `model = PeftModel.from_pretrained(base, "${facts.repo}")`,
    `tokenizer = AutoTokenizer.from_pretrained("${loadBase}")`,
    "```",
    "",
  ].join("\n");
}
