import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildServeCommand, readServedAdapter, vllmMaxLoraRank, type ServedAdapter } from "../../src/eval/generate/serve-command";
import { findFreePort, ServeEngineMissingError, ServeStartError, startInferenceServer } from "../../src/eval/generate/start-inference-server";
import { runCli } from "../../src/cli/main";
import { useTemporaryDirectories } from "../support/temporary-directory";

const temporaryDirectory = useTemporaryDirectories({ prefix: "serve-" });

const ADAPTERS: ServedAdapter[] = ["ENDEFRITES", "DE", "FR", "IT", "ES"].map((name) => ({
  name,
  path: `/runs/${name}`,
  rank: 16,
  targetModules: ["q_proj", "v_proj", "k_proj", "o_proj"],
}));

describe("buildServeCommand", () => {
  it("serves 5 rank-16 adapters with vLLM in one server", () => {
    const { command, args } = buildServeCommand({
      engine: "vllm",
      baseModel: "/models/Mistral-7B-v0.1",
      adapters: ADAPTERS,
      port: 8123,
      extraArgs: ["--tensor-parallel-size", "2"],
    });
    expect([command, ...args].join(" ")).toBe(
      "vllm serve /models/Mistral-7B-v0.1 --host 127.0.0.1 --port 8123 --served-model-name Mistral-7B-v0.1 --enable-lora " +
        "--lora-modules ENDEFRITES=/runs/ENDEFRITES DE=/runs/DE FR=/runs/FR IT=/runs/IT ES=/runs/ES " +
        "--max-loras 5 --max-lora-rank 16 --max-cpu-loras 5 --tensor-parallel-size 2",
    );
  });

  it("pads the rank up to one vLLM accepts", () => {
    expect([1, 4, 8, 12, 16, 24, 64, 300].map(vllmMaxLoraRank)).toEqual([1, 8, 8, 16, 16, 32, 64, 320]);
    const { args } = buildServeCommand({ engine: "vllm", baseModel: "b", adapters: [{ ...ADAPTERS[0]!, rank: 12 }], port: 1 });
    expect(args[args.indexOf("--max-lora-rank") + 1]).toBe("16");
  });

  it("serves the same adapters with SGLang", () => {
    const { command, args } = buildServeCommand({
      engine: "sglang",
      baseModel: "mistralai/Mixtral-8x7B-v0.1",
      adapters: ADAPTERS,
      port: 30000,
      python: "/opt/sglang/bin/python",
      servedModelName: "mixtral",
    });
    expect([command, ...args].join(" ")).toBe(
      "/opt/sglang/bin/python -m sglang.launch_server --model-path mistralai/Mixtral-8x7B-v0.1 --host 127.0.0.1 --port 30000 " +
        "--served-model-name mixtral --enable-lora --lora-paths ENDEFRITES=/runs/ENDEFRITES DE=/runs/DE FR=/runs/FR IT=/runs/IT ES=/runs/ES " +
        "--max-loras-per-batch 5 --max-lora-rank 16 --lora-target-modules k_proj o_proj q_proj v_proj",
    );
  });

  it("reads rank and modules from a run's adapter_config.json, and names the file when it is missing", async () => {
    const run = await temporaryDirectory();
    writeFileSync(join(run, "adapter_config.json"), JSON.stringify({ r: 16, target_modules: ["q_proj", "v_proj"], peft_type: "LORA" }));
    expect(await readServedAdapter({ name: "DE", path: run })).toEqual({ name: "DE", path: run, rank: 16, targetModules: ["q_proj", "v_proj"] });
    const empty = await temporaryDirectory();
    await expect(readServedAdapter({ name: "x", path: empty })).rejects.toThrow(/adapter_config\.json: not found: the adapter must be a training run folder/);
  });
});

/** A stand-in engine (node): serves /v1/models with the given names once "loaded", until SIGTERM. */
const FAKE_ENGINE = `
const http = require("node:http");
const [port, ...names] = process.argv.slice(1);
let loaded = false;
setImmediate(() => { loaded = true; });
http.createServer((request, response) => {
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify({ data: (loaded ? names : []).map((id) => ({ id })) }));
}).listen(Number(port), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
`;

describe("startInferenceServer", () => {
  it("waits until /v1/models lists every adapter, then stops the server", async () => {
    const folder = await temporaryDirectory();
    const port = await findFreePort();
    const server = await startInferenceServer({
      engine: "vllm",
      command: { command: process.execPath, args: ["-e", FAKE_ENGINE, String(port), "DE", "FR"] },
      port,
      models: ["DE", "FR"],
      logFile: join(folder, "server.log"),
      pollMs: 50,
    });
    expect(server.baseUrl).toBe(`http://127.0.0.1:${port}/v1`);
    const listed = (await (await fetch(`${server.baseUrl}/models`)).json()) as { data: { id: string }[] };
    expect(listed.data.map((model) => model.id)).toEqual(["DE", "FR"]);
    await server.stop();
    await expect(fetch(`${server.baseUrl}/models`)).rejects.toThrow();
  });

  it("reports a server that exits while loading, with the end of its log", async () => {
    const folder = await temporaryDirectory();
    const port = await findFreePort();
    await expect(
      startInferenceServer({
        engine: "vllm",
        command: { command: process.execPath, args: ["-e", "console.error('ValueError: max_lora_rank too small'); process.exit(3)"] },
        port,
        models: ["DE"],
        logFile: join(folder, "server.log"),
        pollMs: 50,
      }),
    ).rejects.toThrow(ServeStartError);
  });

  it("says how to install vLLM where it is missing", async () => {
    const folder = await temporaryDirectory();
    const error = await startInferenceServer({
      engine: "vllm",
      command: { command: "vllm", args: ["serve", "base"] },
      port: await findFreePort(),
      models: ["DE"],
      logFile: join(folder, "server.log"),
      env: { PATH: folder },
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServeEngineMissingError);
    expect((error as Error).message).toMatch(/vllm is not installed here[\s\S]*pip install vllm[\s\S]*--base-url/);
  });

  it("says how to install SGLang where its Python lacks it", async () => {
    const folder = await temporaryDirectory();
    const port = await findFreePort();
    const error = await startInferenceServer({
      engine: "sglang",
      command: buildServeCommand({ engine: "sglang", baseModel: "base", adapters: ADAPTERS, port, python: "python3" }),
      port,
      models: ["DE"],
      logFile: join(folder, "server.log"),
      pollMs: 50,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServeEngineMissingError);
    expect((error as Error).message).toMatch(/sglang is not installed in python3[\s\S]*pip install "sglang\[all\]"/);
  });

  it("generate --serve vllm fails with the install hint on a machine without vLLM", async () => {
    const root = await temporaryDirectory();
    mkdirSync(join(root, "runs", "DE"), { recursive: true });
    writeFileSync(join(root, "runs", "DE", "adapter_config.json"), JSON.stringify({ r: 16, target_modules: ["q_proj"] }));
    const path = process.env.PATH;
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => errors.push(String(chunk)) > 0) as typeof process.stderr.write;
    process.env.PATH = join(root, "empty");
    try {
      const code = await runCli(["generate", "--engine", "openai", "--serve", "vllm", "--model", join(root, "model"), "--runs", join(root, "runs"), "--bench", join(import.meta.dirname, "../../fixtures/mt-bench/mt-bench-x"), "--out", join(root, "out"), "--quiet"]);
      expect(code).toBe(1);
    } finally {
      process.env.PATH = path;
      process.stderr.write = write;
    }
    expect(errors.join("")).toMatch(/vllm is not installed here[\s\S]*pip install vllm/);
  });
});
