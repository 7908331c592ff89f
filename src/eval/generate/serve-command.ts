import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { InputError } from "../../errors";

/** The serving engines `generate --serve` can start. */
export const SERVE_ENGINES = ["vllm", "sglang"] as const;
export type ServeEngine = (typeof SERVE_ENGINES)[number];

/** One LoRA adapter as the server loads it. */
export interface ServedAdapter {
  /** The name requests use as `model`. */
  name: string;
  /** Folder holding adapter_config.json and adapter_model.safetensors. */
  path: string;
  /** LoRA rank `r` (adapter_config.json). */
  rank: number;
  /** Modules the adapter wraps (adapter_config.json `target_modules`). */
  targetModules: string[];
}

/** Options of {@link buildServeCommand}. */
export const serveCommandOptionsSchema = z.strictObject({
  /** vllm or sglang. */
  engine: z.enum(SERVE_ENGINES),
  /** Base model directory or hub id, as the server loads it. */
  baseModel: z.string().min(1),
  /** The adapters to serve, all at once. */
  adapters: z.array(z.strictObject({ name: z.string().min(1), path: z.string().min(1), rank: z.number().int().positive(), targetModules: z.array(z.string()) })).min(1),
  /** Port to listen on (127.0.0.1). */
  port: z.number().int().min(1).max(65535),
  /** Name the base model is served under (default the base model's folder name). */
  servedModelName: z.string().min(1).optional(),
  /** Python of SGLang (`python -m sglang.launch_server`); default `python3`. */
  python: z.string().min(1).default("python3"),
  /** Arguments appended as given (tensor parallelism, memory fraction, ...). */
  extraArgs: z.array(z.string()).default([]),
});
export type ServeCommandOptions = z.input<typeof serveCommandOptionsSchema>;

// vLLM accepts only these --max-lora-rank values (vllm/config/lora.py); a smaller rank is padded up.
const VLLM_LORA_RANKS = [1, 8, 16, 32, 64, 128, 256, 320, 512];

/** The smallest rank vLLM accepts that holds `rank`. */
export function vllmMaxLoraRank(rank: number): number {
  return VLLM_LORA_RANKS.find((allowed) => allowed >= rank) ?? rank;
}

/**
 * The command line that serves the base model with every adapter loaded at once:
 * `vllm serve BASE --enable-lora --lora-modules name=path ... --max-loras N --max-lora-rank R ...`,
 * or SGLang's `python -m sglang.launch_server --model-path BASE --enable-lora --lora-paths name=path ...`.
 * Every adapter fits in one batch (`--max-loras` / `--max-loras-per-batch` = their count), so the
 * interleaved questions of all adapters are batched together.
 */
export function buildServeCommand(options: ServeCommandOptions): { command: string; args: string[] } {
  const parsed = serveCommandOptionsSchema.parse(options);
  const maxRank = Math.max(...parsed.adapters.map((adapter) => adapter.rank));
  const modules = parsed.adapters.map((adapter) => `${adapter.name}=${adapter.path}`);
  const servedName = parsed.servedModelName ?? parsed.baseModel.replace(/\/+$/, "").split("/").pop()!;
  const port = String(parsed.port);
  if (parsed.engine === "vllm") {
    return {
      command: "vllm",
      args: [
        "serve", parsed.baseModel,
        "--host", "127.0.0.1", "--port", port,
        "--served-model-name", servedName,
        "--enable-lora",
        "--lora-modules", ...modules,
        "--max-loras", String(parsed.adapters.length),
        "--max-lora-rank", String(vllmMaxLoraRank(maxRank)),
        "--max-cpu-loras", String(parsed.adapters.length),
        ...parsed.extraArgs,
      ],
    };
  }
  const targets = [...new Set(parsed.adapters.flatMap((adapter) => adapter.targetModules))].sort();
  return {
    command: parsed.python,
    args: [
      "-m", "sglang.launch_server",
      "--model-path", parsed.baseModel,
      "--host", "127.0.0.1", "--port", port,
      "--served-model-name", servedName,
      "--enable-lora",
      "--lora-paths", ...modules,
      "--max-loras-per-batch", String(parsed.adapters.length),
      "--max-lora-rank", String(maxRank),
      ...(targets.length ? ["--lora-target-modules", ...targets] : []),
      ...parsed.extraArgs,
    ],
  };
}

const adapterConfigSchema = z.looseObject({ r: z.number().int().positive(), target_modules: z.union([z.array(z.string()), z.string()]).optional() });

/** Reads a run folder's adapter_config.json (peft): its rank and target modules. */
export async function readServedAdapter(options: { name: string; path: string }): Promise<ServedAdapter> {
  const file = join(options.path, "adapter_config.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new InputError("not found: the adapter must be a training run folder written by `train` (it holds adapter_config.json)", { file, cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`not JSON: ${(error as Error).message}`, { file, cause: error });
  }
  const parsed = adapterConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(issue.message, { file, field: issue.path.join(".") || "r" });
  }
  const modules = parsed.data.target_modules;
  return { name: options.name, path: options.path, rank: parsed.data.r, targetModules: typeof modules === "string" ? [modules] : [...(modules ?? [])] };
}
