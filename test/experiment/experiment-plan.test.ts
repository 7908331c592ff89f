import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors";
import { readExperimentConfig } from "../../src/experiment/experiment-config";
import { planExperiment } from "../../src/experiment/plan-experiment";
import { smokeTestScore, startSmokeTestJudge } from "../../src/experiment/smoke-test-judge";
import { repositoryRoot, runBuiltCli } from "../support/run-cli";
import { useTemporaryDirectories } from "../support/temporary-directory";

const temporary = useTemporaryDirectories({ prefix: "polyglot-plan-" });

describe("experiment config and plan", () => {
  it("expands the real study into 45 trainings, 225 generation jobs and 36,000 judge calls", async () => {
    const experiment = await readExperimentConfig(join(repositoryRoot, "fixtures", "experiment-study.json"));
    const plan = planExperiment(experiment);
    const count = (kind: string) => plan.jobs.filter((job) => job.kind === kind).length;
    expect(plan.cells).toHaveLength(45);
    expect([count("train"), count("generate"), count("judge"), count("report")]).toEqual([45, 225, 45, 1]);
    expect(plan.cells.some((cell) => cell.model === "mixtral-8x7b" && cell.corpus === "bactrian-x")).toBe(false);
    // System messages come from MT-Bench-X's opengptx_template.json, read when the config is loaded.
    const template = JSON.parse(await readFile(join(repositoryRoot, "..", "shared", "reference-data", "mt_bench_x", "opengptx_template.json"), "utf8")) as { system_messages: Record<string, string> };
    expect(experiment.systemMessages["mistral-7b"]!.de).toBe(template.system_messages.DE);
    const out = await temporary();
    const result = runBuiltCli(["experiment", "plan", "--config", "fixtures/experiment-study.json", "--out", out, "--json"]);
    expect(result.status, result.stderr).toBe(0);
    const rows = (JSON.parse(result.stdout) as { jobs: { kind: string; judgeCalls: number | null; judgePrice: number | null; gpus: number }[] }).jobs;
    expect(rows.reduce((sum, row) => sum + (row.judgeCalls ?? 0), 0)).toBe(36_000);
    expect(rows.find((row) => row.kind === "judge")!.judgePrice).toBeCloseTo((800 * (1000 * 30 + 250 * 60)) / 1e6, 6);
  });

  it("reports every problem of a config at once, with its path", async () => {
    const folder = await temporary();
    const file = join(folder, "bad.json");
    await writeFile(
      file,
      JSON.stringify({
        languages: ["en", "de"],
        corpora: { a: { path: "x" } },
        models: [{ name: "Big_Model", path: "p", surprise: 1 }],
        exclude: [{ model: "nope" }],
        training: { out: "elsewhere" },
        evaluation: { bench: { path: "b" }, judge: { model: "m", smokeTest: true, baseUrl: "http://127.0.0.1:1/v1" } },
      }),
    );
    const error = await readExperimentConfig(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((issue) => issue.path).sort();
    expect(paths).toEqual(["evaluation.judge.baseUrl", "models.0", "models.0.name", "training.out"].sort());
  });

  it("writes sbatch job arrays chained with afterok and a submit script (print executor)", async () => {
    const out = await temporary();
    const result = runBuiltCli(["experiment", "run", "--executor", "print", "--config", "fixtures/experiment-study.json", "--out", out]);
    expect(result.status, result.stderr).toBe(0);
    const train = await readFile(join(out, "slurm", "train-gpu4.sbatch"), "utf8");
    expect(train).toMatch(/#SBATCH --array=0-17\n/);
    expect(train).toMatch(/#SBATCH --gres=gpu:4\n/);
    expect(train).toMatch(/#SBATCH --partition=gpu\n/);
    const submit = await readFile(join(out, "slurm", "submit.sh"), "utf8");
    expect(submit).toMatch(/judge=\$\(sbatch --parsable --dependency=afterok:\$\{bench\}:\$\{generate_gpu1\}:\$\{generate_gpu2\} judge.sbatch\)/);
    expect(existsSync(join(out, "slurm", "submitted.json"))).toBe(false);
  });

  it("the smoke-test judge answers the OpenAI chat protocol with a deterministic, labelled rating", async () => {
    const judge = await startSmokeTestJudge();
    try {
      const { default: OpenAI } = await import("openai");
      const client = new OpenAI({ apiKey: "smoke-test", baseURL: judge.baseUrl });
      const reply = await client.chat.completions.create({ model: "smoke-test-judge", messages: [{ role: "user", content: "judge this" }] });
      expect(reply.choices[0]!.message.content).toBe(`SMOKE TEST: a deterministic scorer, not an LLM judge; these scores say nothing about the answer.\nRating: [[${smokeTestScore("judge this")}]]`);
    } finally {
      await judge.close();
    }
  });
});
