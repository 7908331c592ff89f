import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Command } from "commander";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { registerHubCommands } from "../../src/cli/commands/hub";
import { runCli } from "../../src/cli/main";
import { HubGatedRepoError, fetchPreset } from "../../src/hub/index";
import { startHubServer, type HubServer } from "../servers/hub-server";
import { SECRET_TOKEN, limaJsonl, listFiles, makeTemporaryDirectory, removeDirectory, sha256Of } from "./helpers";

let hub: HubServer;
let workDir: string;
const bactrian = (lang: string) => gzipSync(Buffer.from(JSON.stringify([{ instruction: `i-${lang}`, input: "", id: "alpaca-1", output: `o-${lang}` }])));
const questions = '{"question_id": 81, "category": "writing", "turns": ["Write a haiku.", "Now in French."]}\n';
const limaTrain = limaJsonl(3);
const savedEnv = { ...process.env };

beforeAll(async () => {
  hub = await startHubServer({ tokens: { [SECRET_TOKEN]: { user: "alice", acceptedGated: ["datasets/GAIR/lima"] } } });
  hub.addRepo({ name: "GAIR/lima", gated: "manual", files: { "train.jsonl": limaTrain, "test.jsonl": '{"conversations": ["q"]}\n' } });
  hub.addRepo({
    name: "MBZUAI/Bactrian-X",
    files: Object.fromEntries(["en", "de", "fr", "it", "es", "ar"].map((lang) => [`data/${lang}.json.gz`, bactrian(lang)])),
  });
  hub.addRepo({ name: "HuggingFaceH4/mt_bench_prompts", files: { "raw/question.jsonl": questions } });
});

afterAll(async () => {
  await hub.close();
});

beforeEach(async () => {
  workDir = await makeTemporaryDirectory("cli");
  hub.clearRequests();
  for (const name of ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE"]) delete process.env[name];
  process.env.HF_HOME = join(workDir, "hf-home"); // no saved token from the machine running the tests
  process.env.HF_ENDPOINT = hub.url;
  process.env.POLYGLOT_CACHE_DIR = join(workDir, "cache");
});

afterEach(async () => {
  process.env = { ...savedEnv };
  await removeDirectory(workDir);
});

/** Runs `build-datasets <args>` in-process, capturing what the command prints. */
async function run(args: string[]): Promise<{ stdout: string; stderr: string; error?: unknown }> {
  const program = new Command("build-datasets").exitOverride();
  program.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  registerHubCommands(program);
  let stdout = "";
  let stderr = "";
  const originalOut = process.stdout.write.bind(process.stdout);
  const originalErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    await program.parseAsync(["node", "build-datasets", ...args]);
    return { stdout, stderr };
  } catch (error) {
    return { stdout, stderr, error };
  } finally {
    process.stdout.write = originalOut;
    process.stderr.write = originalErr;
  }
}

describe("build-datasets fetch", () => {
  it("fetches bactrian-x for the requested languages into --out, then reuses the cache", async () => {
    const out = join(workDir, "data");
    const first = await run(["fetch", "bactrian-x", "--langs", "en,de", "--out", out]);
    expect(first.error).toBeUndefined();
    expect(await listFiles(out)).toEqual(["bactrian-x.source.json", "bactrian-x/de.json.gz", "bactrian-x/en.json.gz"]);
    expect(sha256Of(await readFile(join(out, "bactrian-x", "de.json.gz")))).toBe(sha256Of(bactrian("de")));
    const source = JSON.parse(await readFile(join(out, "bactrian-x.source.json"), "utf8"));
    expect(source.revision).toBe(hub.head("dataset", "MBZUAI/Bactrian-X")?.sha);
    expect(source.files.map((file: { path: string }) => file.path)).toEqual(["bactrian-x/en.json.gz", "bactrian-x/de.json.gz"]);
    expect(first.stdout).toContain(`bactrian-x: 2 files from datasets/MBZUAI/Bactrian-X at ${source.revision}`);

    hub.clearRequests();
    const second = await run(["fetch", "bactrian-x", "--langs", "en,de", "--out", out, "--revision", source.revision]);
    expect(second.error).toBeUndefined();
    expect(second.stdout).toContain("(cached)");
    expect(hub.requests).toHaveLength(0);
  });

  it("fetches the five study languages by default and mt-bench's questions", async () => {
    const out = join(workDir, "data");
    expect((await run(["fetch", "bactrian-x", "--out", out, "--quiet"])).error).toBeUndefined();
    expect((await run(["fetch", "mt-bench", "--out", out, "--quiet"])).error).toBeUndefined();
    expect(await listFiles(out)).toEqual([
      "bactrian-x.source.json",
      ...["de", "en", "es", "fr", "it"].map((lang) => `bactrian-x/${lang}.json.gz`),
      "mt-bench.source.json",
      "mt-bench/question.jsonl",
    ]);
    expect(await readFile(join(out, "mt-bench", "question.jsonl"), "utf8")).toBe(questions);
  });

  it("fetches gated LIMA with HF_TOKEN, and fails with instructions without it", async () => {
    const out = join(workDir, "data");
    const refused = await run(["fetch", "lima", "--out", out]);
    expect(refused.error).toBeInstanceOf(HubGatedRepoError);
    expect((refused.error as Error).message).toContain(`${hub.url}/datasets/GAIR/lima`);
    expect(await listFiles(join(workDir, "cache"))).toEqual([]);
    expect(await listFiles(out)).toEqual([]);

    process.env.HF_TOKEN = SECRET_TOKEN;
    const fetched = await run(["fetch", "lima", "--out", out]);
    expect(fetched.error).toBeUndefined();
    expect(await readFile(join(out, "lima", "train.jsonl"), "utf8")).toBe(limaTrain);
    for (const file of await listFiles(workDir)) expect(await readFile(join(workDir, file), "utf8")).not.toContain(SECRET_TOKEN);
    expect(fetched.stdout + fetched.stderr).not.toContain(SECRET_TOKEN);
  });

  it("rejects --langs for a monolingual preset, bad codes and unknown presets", async () => {
    const out = join(workDir, "data");
    expect(String((await run(["fetch", "lima", "--langs", "de", "--out", out])).error)).toContain("--langs applies to multilingual presets only");
    expect(String((await run(["fetch", "bactrian-x", "--langs", "english", "--out", out])).error)).toContain("ISO 639-1");
    expect(String((await run(["fetch", "alpaca", "--out", out])).error)).toContain("Allowed choices are lima, bactrian-x, mt-bench");
  });

  it("is also a library call", async () => {
    const result = await fetchPreset({ preset: "bactrian-x", langs: ["ar"], outDir: join(workDir, "lib"), baseUrl: hub.url, env: {} , cacheDir: join(workDir, "c2") });
    expect(result.files.map((file) => file.pathInRepo)).toEqual(["data/ar.json.gz"]);
  });
});

describe("build-datasets push and push-adapter", () => {
  it("prints the dry-run plan with the dataset card, and pushes privately with HF_TOKEN", async () => {
    const out = join(workDir, "out");
    await mkdir(join(out, "bactrian-x"), { recursive: true });
    const data = '{"id":"alpaca-1","lang":"en","source":"bactrian-x","messages":[{"role":"user","content":"i"},{"role":"assistant","content":"o"}],"meta":{}}\n';
    await writeFile(join(out, "bactrian-x", "EN.jsonl"), data);
    await writeFile(join(out, "README.md"), "---\nconfigs:\n- config_name: EN\n  data_files: bactrian-x/EN.jsonl\n---\n# Bactrian-X\n");
    await writeFile(
      join(out, "manifest.json"),
      JSON.stringify({ tool: { name: "polyglot-instruct", version: "0.1.0" }, seed: 7, outputs: [{ path: "bactrian-x/EN.jsonl", sha256: sha256Of(data), rows: 1 }] }),
    );
    const dry = await run(["push", "--repo", "alice/bactrian-x", "--out", out, "--dry-run"]);
    expect(dry.error).toBeUndefined();
    expect(dry.stdout).toContain("Dry run: would push 3 files");
    expect(dry.stdout).toContain("(private)");
    expect(dry.stdout).toContain(`bactrian-x/EN.jsonl  ${Buffer.byteLength(data)} bytes  sha256:${sha256Of(data)}`);
    expect(dry.stdout).toContain("config_name: EN");
    expect(hub.requests).toHaveLength(0);

    const noToken = await run(["push", "--repo", "alice/bactrian-x", "--out", out]);
    expect(String(noToken.error)).toContain("HF_TOKEN");

    process.env.HF_TOKEN = SECRET_TOKEN;
    const pushed = await run(["push", "--repo", "alice/bactrian-x", "--out", out, "--public"]);
    expect(pushed.error).toBeUndefined();
    expect(pushed.stdout).toContain("(new public repository)");
    expect(hub.readFile("dataset", "alice/bactrian-x", "bactrian-x/EN.jsonl")?.toString("utf8")).toBe(data);
    expect(hub.head("dataset", "alice/bactrian-x")?.title).toBe("Upload dataset (polyglot-instruct 0.1.0, seed 7)");
  });

  it("exits 1 with the instructions for a gated dataset, and 2 for a usage error, through the real entry point", async () => {
    let stderr = "";
    const originalErr = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
    try {
      expect(await runCli(["fetch", "lima", "--out", join(workDir, "data"), "--quiet"])).toBe(1);
      expect(stderr).toContain(`${hub.url}/datasets/GAIR/lima`);
      expect(stderr).toContain("HF_TOKEN");
      expect(await runCli(["push", "--repo", "alice/x", "--out", join(workDir, "missing"), "--dry-run"])).toBe(1);
      expect(stderr).toContain("Refusing to push");
      expect(await runCli(["push", "--repo", "nope", "--out", workDir])).toBe(2);
    } finally {
      process.stderr.write = originalErr;
      process.exitCode = undefined;
    }
  });

  it("rejects a malformed --repo as a usage error", async () => {
    const result = await run(["push", "--repo", "not-a-repo", "--out", workDir, "--dry-run"]);
    expect(String(result.error)).toContain("expected OWNER/NAME");
  });
});

describe("docs/hub.md", () => {
  it("runs every build-datasets fetch, push --dry-run and push-adapter --dry-run command shown in the docs", async () => {
    const docs = await readFile(new URL("../../docs/hub.md", import.meta.url), "utf8");
    const commands = docs
      .split("\n")
      .map((line) => /^(?:HF_TOKEN=\S+ )?npx build-datasets ((?:fetch|push|push-adapter) .*?)(?:\s+#.*)?$/.exec(line.trim())?.[1])
      .filter((command): command is string => command !== undefined && (command.startsWith("fetch") || command.includes("--dry-run")));
    expect(commands.length).toBeGreaterThanOrEqual(5);

    // A study directory and a run directory for the push examples.
    const data = '{"id":"lima-0000","lang":"en","source":"lima","messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"meta":{}}\n';
    await mkdir(join(workDir, "out", "lima-x"), { recursive: true });
    await writeFile(join(workDir, "out", "lima-x", "ENDEFRITES.jsonl"), data);
    await writeFile(join(workDir, "out", "README.md"), "---\nconfigs:\n- config_name: ENDEFRITES\n  data_files: lima-x/ENDEFRITES.jsonl\n---\n");
    await writeFile(
      join(workDir, "out", "manifest.json"),
      JSON.stringify({ tool: { name: "polyglot-instruct", version: "0.1.0" }, seed: 42, outputs: [{ path: "lima-x/ENDEFRITES.jsonl", sha256: sha256Of(data) }] }),
    );
    await mkdir(join(workDir, "run"), { recursive: true });
    const header = Buffer.from("{}");
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    await writeFile(join(workDir, "run", "adapter_model.safetensors"), Buffer.concat([length, header]));
    await writeFile(join(workDir, "run", "adapter_config.json"), JSON.stringify({ base_model_name_or_path: "meta-llama/Llama-2-7b-hf", r: 16 }));
    await writeFile(join(workDir, "run", "training_config.json"), JSON.stringify({ data: "out/lima-x/ENDEFRITES.arrow", seed: 42 }));

    process.env.HF_TOKEN = SECRET_TOKEN;
    const cwd = process.cwd();
    process.chdir(workDir);
    try {
      for (const command of commands) {
        const result = await run(command.split(/\s+/));
        expect(result.error, command).toBeUndefined();
      }
    } finally {
      process.chdir(cwd);
    }
    expect(await readFile(join(workDir, "data", "lima", "train.jsonl"), "utf8")).toBe(limaTrain);
    expect(await readFile(join(workDir, "data", "mt-bench", "question.jsonl"), "utf8")).toBe(questions);
  });
});

