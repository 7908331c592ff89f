import { readFile, readdir, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { sha256File } from "../io/hash-file";
import { HubPushRefusedError, HubTokenMissingError, repoPageUrl, type HubRepo } from "./errors";
import { findHubToken, hubConnectionOptionsShape, hubRenamedOptions, resolveHubUrl } from "./hub-credentials";
import { uploadToHub, type UploadFile } from "./upload-to-hub";
import { parseOptions } from "../parse-options";

/** `user/name` or `org/name`. */
export const hubRepoNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/, "expected OWNER/NAME, e.g. alice/lima-x");

export const pushDatasetOptionsSchema = z.strictObject({
  /** Dataset repository to create or update, `user/name`. */
  repo: hubRepoNameSchema,
  /** The built study directory: `manifest.json`, `README.md` and the outputs the manifest lists. */
  outDir: z.string().min(1),
  /** Create the repository private (default). An existing repository keeps its visibility. */
  private: z.boolean().default(true),
  /** Only plan: verify and list the files and the dataset card, upload nothing, need no token. */
  dryRun: z.boolean().default(false),
  ...hubConnectionOptionsShape,
  /** Commit title; the tool version and seed are always appended. */
  commitMessage: z.string().min(1).optional(),
});

export type PushDatasetOptions = z.input<typeof pushDatasetOptionsSchema>;

/** What a push uploads (or, with `dryRun`, would upload). */
export interface PushPlan {
  repo: string;
  repoUrl: string;
  private: boolean;
  files: UploadFile[];
  /** The card uploaded as `README.md`. */
  card: string;
  commitTitle: string;
  commitDescription: string;
  /** Things worth a look that do not block the push. */
  warnings: string[];
}

/** A finished push, or a dry run's plan. */
export interface PushResult extends PushPlan {
  dryRun: boolean;
  /** Set after a real push. */
  commitOid?: string;
  commitUrl?: string;
  /** False when the repository already existed. */
  created?: boolean;
}

/** The part of the lead's `manifest.json` a push relies on; other fields are left alone. */
const studyManifestSchema = z.looseObject({
  tool: z.looseObject({ name: z.string().min(1), version: z.string().min(1) }),
  seed: z.union([z.number(), z.string()]),
  outputs: z
    .array(z.looseObject({ path: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/, "a hex sha256") }))
    .min(1, "lists no outputs"),
  /** LLaMA-Factory's dataset_info.json and the axolotl snippets (absent in manifests of older builds). */
  trainerConfigs: z.array(z.looseObject({ path: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/, "a hex sha256") })).optional(),
});

/**
 * Publishes a built study as a dataset repository: `manifest.json`, the `README.md` dataset card
 * (whose `configs:` make each composition loadable by name), every output the manifest lists and
 * its trainer configs (LLaMA-Factory's `dataset_info.json`, `axolotl/<config>.yaml`).
 * Before anything is sent, each output must exist with the sha256 the manifest recorded; otherwise
 * the push is refused with every problem listed. Private by default; the commit title names the
 * tool version and seed from the manifest. After the commit, the hub's copy is checked file by file.
 *
 * @example
 * const plan = await pushDataset({ repo: "alice/lima-x", outDir: "out", dryRun: true });
 * plan.files.map((file) => file.pathInRepo); // ["README.md", "lima-x/DE.arrow", ..., "manifest.json"]
 */
export async function pushDataset(options: PushDatasetOptions): Promise<PushResult> {
  const parsed = parseOptions(pushDatasetOptionsSchema, options, "pushDataset", hubRenamedOptions);
  const env = parsed.env ?? process.env;
  const hubUrl = resolveHubUrl(parsed.baseUrl, { env });
  const repo: HubRepo = { type: "dataset", name: parsed.repo };
  const plan = await planDatasetPush({ repo, outDir: parsed.outDir, private: parsed.private, hubUrl, commitMessage: parsed.commitMessage });
  if (parsed.dryRun) return { ...plan, dryRun: true };

  const token = parsed.token ?? findHubToken({ env, homeDir: parsed.homeDir })?.token;
  if (!token) throw new HubTokenMissingError(`pushing to ${parsed.repo}`);
  const result = await uploadToHub({
    repo,
    files: plan.files,
    private: parsed.private,
    token,
    hubUrl,
    title: plan.commitTitle,
    description: plan.commitDescription,
    fetch: parsed.fetch,
    onProgress: parsed.onProgress,
  });
  return { ...plan, dryRun: false, ...result, repoUrl: result.repoUrl };
}

async function planDatasetPush(input: {
  repo: HubRepo;
  outDir: string;
  private: boolean;
  hubUrl: string;
  commitMessage?: string;
}): Promise<PushPlan> {
  const outDir = resolve(input.outDir);
  const problems: string[] = [];
  const warnings: string[] = [];

  const manifestPath = join(outDir, "manifest.json");
  let manifest: z.infer<typeof studyManifestSchema> | undefined;
  try {
    const json: unknown = JSON.parse(await readFile(manifestPath, "utf8"));
    const result = studyManifestSchema.safeParse(json);
    if (result.success) manifest = result.data;
    else {
      for (const issue of result.error.issues) problems.push(`manifest.json ${issue.path.join(".") || "(root)"}: ${issue.message}`);
    }
  } catch (error) {
    problems.push(
      (error as NodeJS.ErrnoException).code === "ENOENT"
        ? `no manifest.json in ${outDir}: is this the --out directory of a finished build-datasets build?`
        : `manifest.json is not valid JSON (${(error as Error).message})`,
    );
  }

  const cardPath = join(outDir, "README.md");
  let card = "";
  try {
    card = await readFile(cardPath, "utf8");
  } catch {
    problems.push(`no README.md (dataset card) in ${outDir}; rebuild with build-datasets build`);
  }

  const files: UploadFile[] = [];
  for (const output of [...(manifest?.outputs ?? []), ...(manifest?.trainerConfigs ?? [])]) {
    const localPath = isAbsolute(output.path) ? output.path : join(outDir, output.path);
    const pathInRepo = relative(outDir, localPath).split(sep).join("/");
    if (pathInRepo.startsWith("..") || isAbsolute(pathInRepo)) {
      problems.push(`${output.path}: outside ${outDir}; outputs must live in the study directory`);
      continue;
    }
    let bytes: number;
    try {
      bytes = (await stat(localPath)).size;
    } catch {
      problems.push(`${pathInRepo}: listed in manifest.json but missing on disk`);
      continue;
    }
    const sha256 = await sha256File(localPath);
    if (sha256 !== output.sha256) {
      problems.push(`${pathInRepo}: sha256 is ${sha256} but manifest.json recorded ${output.sha256} (changed after the build? rebuild)`);
      continue;
    }
    files.push({ pathInRepo, localPath, bytes, sha256 });
  }
  if (problems.length > 0) throw new HubPushRefusedError(outDir, problems);

  for (const path of [manifestPath, cardPath]) {
    files.push({
      pathInRepo: relative(outDir, path),
      localPath: path,
      bytes: (await stat(path)).size,
      sha256: await sha256File(path),
    });
  }
  files.sort((a, b) => (a.pathInRepo < b.pathInRepo ? -1 : a.pathInRepo > b.pathInRepo ? 1 : 0));

  const uploaded = new Set(files.map((file) => file.pathInRepo));
  for (const path of readCardDataFiles(card)) {
    if (!/[*?[\]{]/.test(path) && !uploaded.has(path)) warnings.push(`README.md configs name ${path}, which is not among the uploaded files`);
  }
  const intermediate = new Set(Array.isArray(manifest?.intermediateFiles) ? (manifest.intermediateFiles as unknown[]).map(String) : []);
  for (const path of await listDatasetFiles(outDir)) {
    if (!uploaded.has(path) && !intermediate.has(path)) warnings.push(`${path} is not listed in manifest.json and is not uploaded`);
  }

  const tool = manifest as z.infer<typeof studyManifestSchema>;
  const stamp = `${tool.tool.name} ${tool.tool.version}, seed ${tool.seed}`;
  const commitTitle = `${input.commitMessage ?? "Upload dataset"} (${stamp})`;
  const commitDescription = [
    `Built by ${tool.tool.name} ${tool.tool.version} with seed ${tool.seed}.`,
    "",
    ...files.map((file) => `- ${file.pathInRepo}  sha256:${file.sha256}  ${file.bytes} bytes`),
  ].join("\n");
  return {
    repo: input.repo.name,
    repoUrl: repoPageUrl(input.repo, input.hubUrl),
    private: input.private,
    files,
    card,
    commitTitle,
    commitDescription,
    warnings,
  };
}

/** Paths named by the card's YAML `configs[].data_files` (string, list, or `{split, path}` entries). */
export function readCardDataFiles(card: string): string[] {
  const match = /^---\r?\n([\s\S]*?)\r?\n---/.exec(card);
  if (!match) return [];
  let front: unknown;
  try {
    front = parseYaml(match[1] as string);
  } catch {
    return [];
  }
  const configs = (front as { configs?: unknown })?.configs;
  if (!Array.isArray(configs)) return [];
  const paths: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === "string") paths.push(value);
    else if (Array.isArray(value)) value.forEach(collect);
    else if (value && typeof value === "object" && "path" in value) collect((value as { path: unknown }).path);
  };
  for (const config of configs) collect((config as { data_files?: unknown })?.data_files);
  return paths;
}

/** `<corpus>/<COMPOSITION>.jsonl|.arrow` files present in the study directory. */
async function listDatasetFiles(outDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(outDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const file of await readdir(join(outDir, entry.name), { withFileTypes: true })) {
      if (file.isFile() && /\.(jsonl|arrow)$/.test(file.name)) found.push(`${entry.name}/${file.name}`);
    }
  }
  return found.sort();
}
