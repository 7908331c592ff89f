import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HubForbiddenError, HubPushRefusedError, HubTokenMissingError, pushAdapter, pushDataset } from "../../src/hub/index";
import { TOOL } from "../../src/package-info";
import { startHubServer, type HubServer } from "../servers/hub-server";
import { SECRET_TOKEN, limaJsonl, makeBytes, makeTemporaryDirectory, removeDirectory, sha256Of } from "./helpers";

const READ_ONLY_TOKEN = "hf_ReadOnlyToken000000000000000000";
let hub: HubServer;
let outDir: string;
const env = {};

const jsonl = limaJsonl(5);
const arrow = Buffer.concat([Buffer.from("ARROW1\0\0"), makeBytes(5000, 3), Buffer.from("ARROW1")]);
const card = [
  "---",
  "configs:",
  "- config_name: EN",
  "  data_files:",
  "  - split: train",
  "    path: lima-x/EN.jsonl",
  "- config_name: ENDE",
  "  data_files:",
  "  - split: train",
  "    path: lima-x/ENDE.arrow",
  "---",
  "",
  "# Lima-X",
  "",
].join("\n");

async function writeStudy(directory: string, overrides: { outputs?: unknown[] } = {}) {
  await mkdir(join(directory, "lima-x"), { recursive: true });
  await writeFile(join(directory, "lima-x", "EN.jsonl"), jsonl);
  await writeFile(join(directory, "lima-x", "ENDE.arrow"), arrow);
  await writeFile(join(directory, "README.md"), card);
  const manifest = {
    tool: { name: "polyglot-instruct", version: "0.1.0" },
    seed: 42,
    inputs: [],
    outputs: overrides.outputs ?? [
      { path: "lima-x/EN.jsonl", sha256: sha256Of(jsonl), rows: 5 },
      { path: "lima-x/ENDE.arrow", sha256: sha256Of(arrow), rows: 10 },
    ],
  };
  await writeFile(join(directory, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
}

beforeAll(async () => {
  hub = await startHubServer({
    tokens: { [SECRET_TOKEN]: { user: "alice", orgs: ["polyglot"] }, [READ_ONLY_TOKEN]: { user: "carol", write: false } },
    lfsThreshold: 1024,
  });
});

afterAll(async () => {
  await hub.close();
});

beforeEach(async () => {
  outDir = await makeTemporaryDirectory("study");
  await writeStudy(outDir);
  hub.clearRequests();
});

afterEach(async () => {
  await removeDirectory(outDir);
});

describe("pushDataset", () => {
  it("lists the files and the dataset card on a dry run, without a token or any request", async () => {
    const plan = await pushDataset({ repo: "alice/lima-x", outDir, dryRun: true, baseUrl: hub.url, env });
    expect(plan.dryRun).toBe(true);
    expect(plan.private).toBe(true);
    expect(plan.files.map((file) => file.pathInRepo)).toEqual(["README.md", "lima-x/EN.jsonl", "lima-x/ENDE.arrow", "manifest.json"]);
    expect(plan.files.find((file) => file.pathInRepo === "lima-x/ENDE.arrow")?.sha256).toBe(sha256Of(arrow));
    expect(plan.card).toBe(card);
    expect(plan.commitTitle).toBe("Upload dataset (polyglot-instruct 0.1.0, seed 42)");
    expect(plan.warnings).toEqual([]);
    expect(hub.requests).toHaveLength(0);
  });

  it("refuses when an output is missing or differs from the manifest, listing every problem", async () => {
    await writeFile(join(outDir, "lima-x", "EN.jsonl"), `${jsonl}{"extra": 1}\n`);
    await writeStudy(outDir, {
      outputs: [
        { path: "lima-x/EN.jsonl", sha256: sha256Of("something else") },
        { path: "lima-x/FR.jsonl", sha256: sha256Of("x") },
      ],
    });
    const error = await pushDataset({ repo: "alice/lima-x", outDir, token: SECRET_TOKEN, baseUrl: hub.url, env }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HubPushRefusedError);
    expect((error as HubPushRefusedError).problems).toHaveLength(2);
    expect((error as Error).message).toContain("lima-x/EN.jsonl: sha256 is");
    expect((error as Error).message).toContain("lima-x/FR.jsonl: listed in manifest.json but missing on disk");
    expect(hub.requests).toHaveLength(0);
  });

  it("refuses a directory without a manifest or card", async () => {
    const empty = await makeTemporaryDirectory("empty");
    try {
      const error = await pushDataset({ repo: "alice/x", outDir: empty, dryRun: true, env }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HubPushRefusedError);
      expect((error as Error).message).toContain("no manifest.json");
      expect((error as Error).message).toContain("no README.md");
    } finally {
      await removeDirectory(empty);
    }
  });

  it("creates a private dataset repo and every file arrives intact", async () => {
    const events: string[] = [];
    const result = await pushDataset({
      repo: "alice/lima-x",
      outDir,
      token: SECRET_TOKEN,
      baseUrl: hub.url,
      env,
      onProgress: (event) => events.push(event.type),
    });
    expect(result.created).toBe(true);
    const repo = hub.repo("dataset", "alice/lima-x");
    expect(repo?.private).toBe(true);
    for (const [path, content] of [
      ["lima-x/EN.jsonl", jsonl],
      ["lima-x/ENDE.arrow", arrow],
      ["README.md", card],
    ] as const) {
      expect(sha256Of(hub.readFile("dataset", "alice/lima-x", path) as Buffer)).toBe(sha256Of(content));
    }
    const manifest = hub.readFile("dataset", "alice/lima-x", "manifest.json")?.toString("utf8");
    expect(JSON.parse(manifest as string).seed).toBe(42);
    const head = hub.head("dataset", "alice/lima-x");
    expect(head?.sha).toBe(result.commitOid);
    expect(head?.title).toBe("Upload dataset (polyglot-instruct 0.1.0, seed 42)");
    expect(head?.description).toContain(`lima-x/ENDE.arrow  sha256:${sha256Of(arrow)}`);
    // The large binary went through LFS, to the storage origin, without the token.
    const uploads = hub.requests.filter((request) => request.origin === "cdn" && request.method === "PUT");
    expect(uploads).toHaveLength(1);
    expect(uploads[0]?.authorization).toBeUndefined();
    expect(hub.requests.some((request) => request.url.includes("/commit/main") && request.contentType === "application/x-ndjson")).toBe(true);
    expect(events).toContain("upload-phase");
  });

  it("creates a public repo with private: false and updates an existing repo", async () => {
    const first = await pushDataset({ repo: "polyglot/lima-x-public", outDir, private: false, token: SECRET_TOKEN, baseUrl: hub.url, env });
    expect(first.created).toBe(true);
    expect(hub.repo("dataset", "polyglot/lima-x-public")?.private).toBe(false);
    const second = await pushDataset({
      repo: "polyglot/lima-x-public",
      outDir,
      token: SECRET_TOKEN,
      baseUrl: hub.url,
      env,
      commitMessage: "Rebuild",
    });
    expect(second.created).toBe(false);
    expect(hub.repo("dataset", "polyglot/lima-x-public")?.private).toBe(false);
    expect(hub.head("dataset", "polyglot/lima-x-public")?.title).toBe("Rebuild (polyglot-instruct 0.1.0, seed 42)");
  });

  it("asks for a token when none is found, and explains a token that may not write", async () => {
    await expect(pushDataset({ repo: "alice/lima-x", outDir, baseUrl: hub.url, env })).rejects.toBeInstanceOf(HubTokenMissingError);
    const error = await pushDataset({ repo: "alice/other", outDir, token: READ_ONLY_TOKEN, baseUrl: hub.url, env }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HubForbiddenError);
    expect((error as Error).message).toContain("write access");
    expect((error as Error).message).not.toContain(READ_ONLY_TOKEN);
  });
});

describe("pushAdapter", () => {
  let runDir: string;
  const weights = (() => {
    const header = Buffer.from(JSON.stringify({ "base_model.model.layers.0.q_proj.lora_A.weight": { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] } }));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    return Buffer.concat([length, header, makeBytes(16, 5)]);
  })();
  const adapterConfig = { base_model_name_or_path: "meta-llama/Llama-2-7b-hf", peft_type: "LORA", r: 16, lora_alpha: 32, lora_dropout: 0, target_modules: ["q_proj", "v_proj"] };
  const trainingConfig = { data: "out/lima-x/ENDEFRITES.arrow", model: "meta-llama/Llama-2-7b-hf", lora_r: 16, seed: 7, learning_rate: 0.0002, epochs: 3, max_steps: null, max_length: 2048 };

  beforeEach(async () => {
    runDir = await makeTemporaryDirectory("run");
    await writeFile(join(runDir, "adapter_model.safetensors"), weights);
    await writeFile(join(runDir, "adapter_config.json"), JSON.stringify(adapterConfig));
    await writeFile(join(runDir, "training_config.json"), JSON.stringify(trainingConfig));
    await writeFile(join(runDir, "run_info.json"), JSON.stringify({ seed: 7, dataset: { path: "/x/out/lima-x/ENDEFRITES.arrow", sha256: "ab".repeat(32) } }));
  });

  afterEach(async () => {
    await removeDirectory(runDir);
  });

  it("plans the adapter files and a model card naming the composition", async () => {
    const plan = await pushAdapter({ repo: "alice/llama-lima-x", runDir, dryRun: true, datasetRepo: "alice/lima-x", env });
    expect(plan.files.map((file) => file.pathInRepo)).toEqual(["README.md", "adapter_config.json", "adapter_model.safetensors", "training_config.json"]);
    expect(plan.card).toContain("library_name: peft");
    expect(plan.card).toContain("base_model: meta-llama/Llama-2-7b-hf");
    expect(plan.card).toContain("**lima-x / ENDEFRITES**");
    expect(plan.card).toMatch(/language:\n\s*- en\n\s*- de\n\s*- fr\n\s*- it\n\s*- es/);
    expect(plan.card).toContain("- alice/lima-x");
    expect(plan.card).toContain("ab".repeat(32));
    expect(plan.commitTitle).toBe(`Upload LoRA adapter trained on lima-x/ENDEFRITES (${TOOL.name} ${TOOL.version}, seed 7)`);
    expect(hub.requests).toHaveLength(0);
  });

  it("uploads the adapter privately with every file intact", async () => {
    const result = await pushAdapter({ repo: "alice/llama-lima-x", runDir, token: SECRET_TOKEN, baseUrl: hub.url, env });
    expect(hub.repo("model", "alice/llama-lima-x")?.private).toBe(true);
    expect(sha256Of(hub.readFile("model", "alice/llama-lima-x", "adapter_model.safetensors") as Buffer)).toBe(sha256Of(weights));
    expect(hub.readFile("model", "alice/llama-lima-x", "training_config.json")?.toString("utf8")).toBe(JSON.stringify(trainingConfig));
    expect(hub.readFile("model", "alice/llama-lima-x", "README.md")?.toString("utf8")).toBe(result.card);
  });

  it("refuses a run whose weights are broken or whose composition is unknown", async () => {
    await writeFile(join(runDir, "adapter_model.safetensors"), Buffer.from("not safetensors"));
    await writeFile(join(runDir, "training_config.json"), JSON.stringify({ data: "train.jsonl" }));
    await writeFile(join(runDir, "run_info.json"), "{}");
    const error = await pushAdapter({ repo: "alice/x", runDir, dryRun: true, env }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HubPushRefusedError);
    expect((error as Error).message).toContain("adapter_model.safetensors is not a safetensors file");
    expect((error as Error).message).toContain("--composition");
    const fixed = await pushAdapter({ repo: "alice/x", runDir, dryRun: true, env, composition: "DEFRITES-sampled", corpus: "bactrian-x-small" }).catch(
      (caught: unknown) => caught,
    );
    expect((fixed as Error).message).not.toContain("--composition");
  });
});
