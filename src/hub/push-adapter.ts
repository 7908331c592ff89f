import { createHash } from "node:crypto";
import { open, readFile, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { z } from "zod";
import { sha256File } from "../io/hash-file";
import { TOOL } from "../package-info";
import { HubPushRefusedError, HubTokenMissingError, repoPageUrl, type HubRepo } from "./errors";
import { findHubToken, hubConnectionOptionsShape, hubRenamedOptions, resolveHubUrl } from "./hub-credentials";
import type { PushResult } from "./push-dataset";
import { hubRepoNameSchema } from "./push-dataset";
import { renderAdapterCard } from "./render-adapter-card";
import { uploadToHub, type UploadFile } from "./upload-to-hub";
import { parseOptions } from "../parse-options";
import { pathExists } from "../io/path-exists";

/** Names under which the trainer saves its resolved configuration, in order of preference. */
export const RESOLVED_CONFIG_FILES = ["training_config.json", "resolved_config.json", "resolved_config.yaml", "config.resolved.json"];

export const pushAdapterOptionsSchema = z.strictObject({
  /** Model repository to create or update, `user/name`. */
  repo: hubRepoNameSchema,
  /** The trainer's output directory: `adapter_model.safetensors`, `adapter_config.json`, the resolved config. */
  runDir: z.string().min(1),
  /** The resolved config file inside `runDir`, when not one of the usual names. */
  configFile: z.string().min(1).optional(),
  /** Composition the adapter was trained on (`ENDEFRITES`); read from the resolved config's `data` path when absent. */
  composition: z.string().regex(/^([A-Z]{2})+(-sampled)?$/, "a composition name such as ENDEFRITES or DEFRITES-sampled").optional(),
  /** Corpus of the composition (`lima-x`); read from the `data` path when absent. */
  corpus: z.string().min(1).optional(),
  /** Dataset repository the composition was published to, linked from the card. */
  datasetRepo: hubRepoNameSchema.optional(),
  /** Create the repository private (default). */
  private: z.boolean().default(true),
  /** Only plan: list the files and the card, upload nothing. */
  dryRun: z.boolean().default(false),
  ...hubConnectionOptionsShape,
  /** Commit title; the tool version and seed are appended. */
  commitMessage: z.string().min(1).optional(),
});

export type PushAdapterOptions = z.input<typeof pushAdapterOptionsSchema>;

/**
 * Publishes a trained LoRA adapter as a model repository: `adapter_model.safetensors`,
 * `adapter_config.json`, the trainer's resolved config and a generated `README.md` model card that
 * names the dataset composition (and base model, LoRA settings, seed, dataset sha256). Refuses a run
 * directory with a missing or unreadable piece, listing every problem. Private by default.
 *
 * @example
 * const plan = await pushAdapter({ repo: "alice/llama-lima-x-endefrites", runDir: "run", dryRun: true });
 * console.log(plan.card);
 */
export async function pushAdapter(options: PushAdapterOptions): Promise<PushResult> {
  const parsed = parseOptions(pushAdapterOptionsSchema, options, "pushAdapter", hubRenamedOptions);
  const env = parsed.env ?? process.env;
  const hubUrl = resolveHubUrl(parsed.baseUrl, { env });
  const repo: HubRepo = { type: "model", name: parsed.repo };
  const runDir = resolve(parsed.runDir);
  const problems: string[] = [];

  const weightsPath = join(runDir, "adapter_model.safetensors");
  const weightsProblem = await checkSafetensors(weightsPath);
  if (weightsProblem) problems.push(weightsProblem);

  const adapterConfigPath = join(runDir, "adapter_config.json");
  const adapterConfig = await readJsonObject(adapterConfigPath, problems);

  let configPath: string | undefined;
  if (parsed.configFile) {
    configPath = resolve(runDir, parsed.configFile);
    if (!(await pathExists(configPath))) problems.push(`the config file ${configPath} does not exist`);
  } else {
    for (const name of RESOLVED_CONFIG_FILES) {
      if (await pathExists(join(runDir, name))) {
        configPath = join(runDir, name);
        break;
      }
    }
    if (!configPath) {
      problems.push(`no resolved training config (${RESOLVED_CONFIG_FILES.join(", ")}) in ${runDir}; name it with --config-file`);
    }
  }
  const trainingConfig = configPath?.endsWith(".json") ? await readJsonObject(configPath, problems) : undefined;
  const runInfo = (await pathExists(join(runDir, "run_info.json"))) ? await readJsonObject(join(runDir, "run_info.json"), []) : undefined;

  const dataPath = stringAt(trainingConfig, "data") ?? stringAt(runInfo?.dataset as Record<string, unknown> | undefined, "path");
  const fromPath = dataPath ? /([^/\\]+)[/\\]((?:[A-Z]{2})+(?:-sampled)?)\.(?:arrow|jsonl)(?:\.gz)?$/.exec(dataPath) : null;
  const composition = parsed.composition ?? fromPath?.[2];
  const corpus = parsed.corpus ?? fromPath?.[1];
  if (!composition) {
    problems.push(
      `cannot tell which dataset composition the adapter was trained on${dataPath ? ` (data: ${dataPath})` : ""}; pass --composition, e.g. ENDEFRITES`,
    );
  }
  if (problems.length > 0) throw new HubPushRefusedError(runDir, problems);

  const seed = (trainingConfig?.seed ?? runInfo?.seed) as number | string | undefined;
  const datasetInfo = runInfo?.dataset as { sha256?: string; manifest?: { sha256?: string } | null } | undefined;
  const card = renderAdapterCard({
    repo: parsed.repo,
    baseModel: stringAt(adapterConfig, "base_model_name_or_path") ?? stringAt(trainingConfig, "model"),
    corpus,
    composition: composition as string,
    datasetRepo: parsed.datasetRepo,
    datasetSha256: datasetInfo?.sha256,
    manifestSha256: datasetInfo?.manifest?.sha256 ?? undefined,
    lora: {
      r: (adapterConfig?.r ?? trainingConfig?.lora_r) as number | undefined,
      alpha: (adapterConfig?.lora_alpha ?? trainingConfig?.lora_alpha) as number | undefined,
      dropout: (adapterConfig?.lora_dropout ?? trainingConfig?.lora_dropout) as number | undefined,
      targetModules: adapterConfig?.target_modules ?? trainingConfig?.lora_target_modules,
    },
    training: {
      "Learning rate": trainingConfig?.learning_rate,
      "Epochs / max steps": trainingConfig ? `${trainingConfig.epochs ?? "?"} / ${trainingConfig.max_steps ?? "-"}` : undefined,
      "Max length": trainingConfig?.max_length,
      "Chat template": trainingConfig?.chat_template,
    },
    seed,
    configFile: basename(configPath as string),
    tool: TOOL,
  });
  const cardBytes = new TextEncoder().encode(card);

  const files: UploadFile[] = [];
  for (const path of [weightsPath, adapterConfigPath, configPath as string]) {
    files.push({ pathInRepo: basename(path), localPath: path, bytes: (await stat(path)).size, sha256: await sha256File(path) });
  }
  files.push({ pathInRepo: "README.md", content: cardBytes, bytes: cardBytes.length, sha256: createHash("sha256").update(cardBytes).digest("hex") });
  files.sort((a, b) => (a.pathInRepo < b.pathInRepo ? -1 : a.pathInRepo > b.pathInRepo ? 1 : 0));

  const trainedOn = corpus ? `${corpus}/${composition}` : (composition as string);
  const commitTitle = `${parsed.commitMessage ?? `Upload LoRA adapter trained on ${trainedOn}`} (${TOOL.name} ${TOOL.version}, seed ${seed ?? "unknown"})`;
  const commitDescription = files.map((file) => `- ${file.pathInRepo}  sha256:${file.sha256}  ${file.bytes} bytes`).join("\n");
  const plan = {
    repo: parsed.repo,
    repoUrl: repoPageUrl(repo, hubUrl),
    private: parsed.private,
    files,
    card,
    commitTitle,
    commitDescription,
    warnings: [] as string[],
  };
  if (parsed.dryRun) return { ...plan, dryRun: true };

  const token = parsed.token ?? findHubToken({ env, homeDir: parsed.homeDir })?.token;
  if (!token) throw new HubTokenMissingError(`pushing the adapter to ${parsed.repo}`);
  const result = await uploadToHub({
    repo,
    files,
    private: parsed.private,
    token,
    hubUrl,
    title: commitTitle,
    description: commitDescription,
    fetch: parsed.fetch,
    onProgress: parsed.onProgress,
  });
  return { ...plan, dryRun: false, ...result };
}

/** A safetensors file starts with a little-endian u64 header length and a JSON header. */
async function checkSafetensors(path: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch {
    return `no adapter_model.safetensors in ${resolve(path, "..")}; did training finish?`;
  }
  try {
    const { size } = await handle.stat();
    const prefix = Buffer.alloc(8);
    await handle.read(prefix, 0, 8, 0);
    const headerLength = size >= 8 ? Number(prefix.readBigUInt64LE(0)) : 0;
    if (headerLength <= 0 || 8 + headerLength > size || headerLength > 100_000_000) {
      return "adapter_model.safetensors is not a safetensors file (bad header length); the run may have been interrupted";
    }
    const header = Buffer.alloc(headerLength);
    await handle.read(header, 0, headerLength, 8);
    JSON.parse(header.toString("utf8"));
    return undefined;
  } catch {
    return "adapter_model.safetensors has an unreadable header; the run may have been interrupted";
  } finally {
    await handle.close();
  }
}

async function readJsonObject(path: string, problems: string[]): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    problems.push(`${basename(path)} is missing from ${resolve(path, "..")}`);
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
    problems.push(`${basename(path)} is not a JSON object`);
  } catch (error) {
    problems.push(`${basename(path)} is not valid JSON (${(error as Error).message})`);
  }
  return undefined;
}

function stringAt(object: Record<string, unknown> | undefined, key: string): string | undefined {
  const value = object?.[key];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

