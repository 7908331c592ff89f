import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cliPath, repositoryRoot, runBuiltCli } from "../support/run-cli";
import { startSlurmCluster } from "../support/slurm-cluster";
import { useTemporaryDirectories } from "../support/temporary-directory";

// The whole fixture experiment on the CPU with the local executor: from nothing to the figures,
// then a rerun that starts nothing, then a changed seed with its training killed midway, then the
// rerun that finishes exactly that chain. One run of the experiment serves every case.
const fixtures = join(repositoryRoot, "fixtures");
let directory: string;
let out: string;

interface LogEvent {
  event: string;
  job: string;
  pid?: number;
}

async function jobLog(folder = out): Promise<LogEvent[]> {
  const text = await readFile(join(folder, "job-log.jsonl"), "utf8");
  return text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as LogEvent);
}

/** Writes a copy of the fixture experiment config with absolute paths and a change. */
async function writeConfig(change: (config: Record<string, any>) => void): Promise<string> {
  const config = JSON.parse(await readFile(join(fixtures, "experiment.json"), "utf8")) as Record<string, any>;
  config.corpora["lima-x"].translate.input = resolve(fixtures, config.corpora["lima-x"].translate.input);
  config.corpora["lima-x"].translate.cache = resolve(fixtures, config.corpora["lima-x"].translate.cache);
  config.corpora["bactrian-x"].path = resolve(fixtures, config.corpora["bactrian-x"].path);
  config.evaluation.bench.path = resolve(fixtures, config.evaluation.bench.path);
  change(config);
  const path = join(directory, "experiment.json");
  await writeFile(path, JSON.stringify(config, null, 2));
  return path;
}

function starts(events: LogEvent[]): string[] {
  return events.filter((event) => event.event === "start").map((event) => event.job).sort();
}

describe("experiment run --executor local on fixtures/experiment.json", () => {
  // The tests continue one experiment folder in turn: removed after all of them.
  const sharedDirectory = useTemporaryDirectories({ prefix: "polyglot-experiment-", removeAfter: "all" });
  beforeAll(async () => {
    directory = await sharedDirectory();
    out = join(directory, "exp");
  });

  it("runs the whole tiny study to the figures; status shows every cell done", () => {
    const result = runBuiltCli(["experiment", "run", "--config", "fixtures/experiment.json", "--out", out, "--quiet"]);
    expect(result.stderr + result.stdout).not.toMatch(/FAILED/);
    expect(result.status).toBe(0);
    for (const file of ["report.md", "figures/scores.csv", "figures/cross-lingual.csv", "figures/contrasts.csv", "figures/scores-tiny-a.svg", "figures/cross-lingual-tiny-a.svg", "figures/curated-vs-synthetic.svg", "figures/data-size.svg", "mt-bench-x/report.json"]) {
      expect(existsSync(join(out, "report", file)), file).toBe(true);
    }
    const status = runBuiltCli(["experiment", "status", "--config", "fixtures/experiment.json", "--out", out, "--json"]);
    const parsed = JSON.parse(status.stdout) as { cells: { state: string; score: number | null; model: string; corpus: string }[]; report: string };
    expect(parsed.report).toBe("done");
    expect(parsed.cells).toHaveLength(15); // 2 models x 3 corpora x 3 compositions, minus tiny-b on bactrian-x
    expect(parsed.cells.every((cell) => cell.state === "done" && typeof cell.score === "number")).toBe(true);
    expect(parsed.cells.some((cell) => cell.model === "tiny-b" && cell.corpus === "bactrian-x")).toBe(false);
  }, 1_800_000);

  it("labels the smoke-test judge in every judgment, summary and figure", async () => {
    const judgments = await readFile(join(out, "judgments", "tiny-a", "lima-x", "DE", "mt_bench_DE", "model_judgment", "smoke-test-judge_single.jsonl"), "utf8");
    for (const line of judgments.trim().split("\n")) expect((JSON.parse(line) as { judgment: string }).judgment).toMatch(/^SMOKE TEST/);
    const summary = JSON.parse(await readFile(join(out, "judgments", "tiny-a", "lima-x", "DE", "judge-summary.json"), "utf8")) as { smokeTest: boolean };
    expect(summary.smokeTest).toBe(true);
    for (const figure of ["scores-tiny-a.svg", "cross-lingual-tiny-b.svg", "data-size.svg"]) expect(await readFile(join(out, "report", "figures", figure), "utf8")).toMatch(/SMOKE TEST/);
    expect(await readFile(join(out, "report", "report.md"), "utf8")).toMatch(/\*\*SMOKE TEST\.\*\*/);
    expect(await readFile(join(out, "report", "figures", "scores.csv"), "utf8")).toMatch(/,true\n/);
  });

  it("reports the cross-lingual numbers of mt-bench-x report --compare on the same judgments", async () => {
    const compare = join(directory, "compare");
    const result = runBuiltCli(["mt-bench-x", "report", "--judgments", join(out, "judgments"), "--out", compare, "--compare", "ENDE:@lang", "--quiet"]);
    expect(result.status, result.stderr).toBe(0);
    const theirs = JSON.parse(await readFile(join(compare, "report.json"), "utf8")) as { crossLingual: { multilingualModel: string; monolingualModel: string; evaluationLanguage: string; improvementPercent: number }[] };
    const ours = (await readFile(join(out, "report", "figures", "cross-lingual.csv"), "utf8")).trim().split("\n").slice(1).map((line) => line.split(","));
    expect(theirs.crossLingual.length).toBeGreaterThan(0);
    expect(ours).toHaveLength(theirs.crossLingual.length);
    for (const row of theirs.crossLingual) {
      const match = ours.find((cells) => cells[4] === row.multilingualModel && cells[5] === row.monolingualModel && cells[3] === row.evaluationLanguage);
      expect(match, `${row.multilingualModel} ${row.evaluationLanguage}`).toBeDefined();
      expect(Number(match![8])).toBe(Number(row.improvementPercent.toFixed(6)));
    }
  });

  it("keeps the docs' pictures current (docs/images/experiment-*.svg are this run's figures)", async () => {
    for (const [figure, image] of [
      ["scores-tiny-a.svg", "experiment-scores-tiny-a.svg"],
      ["cross-lingual-tiny-a.svg", "experiment-cross-lingual-tiny-a.svg"],
      ["curated-vs-synthetic.svg", "experiment-curated-vs-synthetic.svg"],
    ]) {
      expect(await readFile(join(out, "report", "figures", figure!), "utf8"), image).toBe(await readFile(join(repositoryRoot, "docs", "images", image!), "utf8"));
    }
  });

  it("starts no job on a rerun", async () => {
    const before = (await jobLog()).length;
    const result = runBuiltCli(["experiment", "run", "--config", "fixtures/experiment.json", "--out", out, "--quiet"]);
    expect(result.status, result.stderr).toBe(0);
    expect(starts((await jobLog()).slice(before))).toEqual([]);
    // Every job trains into a folder named `out`; the trackers name the run after the job instead.
    const trained = JSON.parse(await readFile(join(out, "runs", "tiny-a", "lima-x", "DE", "training_config.json"), "utf8")) as { run_name?: string };
    expect(trained.run_name).toBe("train.tiny-a.lima-x.DE");
    // The SLURM case below starts from this state.
    await cp(out, join(directory, "exp-slurm"), { recursive: true });
  });

  it("plans exactly one base model's trainings and everything downstream of them after that model's training setting changed", async () => {
    const config = await writeConfig((value) => {
      value.models.find((model: { name: string }) => model.name === "tiny-b").training.learning_rate = 0.002;
    });
    const plan = JSON.parse(runBuiltCli(["experiment", "plan", "--config", config, "--out", out, "--json"]).stdout) as { jobs: { id: string; state: string }[] };
    const downstream = plan.jobs.map((job) => job.id).filter((id) => /^(train|generate|judge)\.tiny-b\./.test(id));
    expect(downstream.filter((id) => id.startsWith("train.")).length).toBeGreaterThan(1);
    expect(plan.jobs.filter((job) => job.state !== "done").map((job) => job.id).sort()).toEqual([...downstream, "report"].sort());
  });

  it("re-runs exactly one composition's chain after its seed changed, and a job killed midway is re-run and nothing else", async () => {
    const config = await writeConfig((value) => {
      value.trainingOverrides = [{ model: "tiny-a", corpus: "lima-x", composition: "DE", training: { seed: 7 } }];
    });
    const chain = ["train.tiny-a.lima-x.DE", "generate.tiny-a.lima-x.DE", "judge.tiny-a.lima-x.DE", "report"].sort();
    const plan = JSON.parse(runBuiltCli(["experiment", "plan", "--config", config, "--out", out, "--json"]).stdout) as { jobs: { id: string; state: string }[] };
    expect(plan.jobs.filter((job) => job.state !== "done").map((job) => job.id).sort()).toEqual(chain);

    // Kill the training as soon as it started: the run fails and leaves nothing that counts as done.
    const before = (await jobLog()).length;
    const child = spawn(process.execPath, [cliPath, "experiment", "run", "--config", config, "--out", out, "--quiet"], { stdio: "ignore" });
    const exited = new Promise<number | null>((resolvePromise) => child.on("close", (code) => resolvePromise(code)));
    let killed = false;
    while (!killed) {
      const started = (await jobLog()).slice(before).find((event) => event.event === "start" && event.job === "train.tiny-a.lima-x.DE");
      if (started?.pid) {
        process.kill(started.pid, "SIGKILL");
        killed = true;
      } else await new Promise((resolvePromise) => setTimeout(resolvePromise, 100));
    }
    expect(await exited).toBe(1);
    expect(starts((await jobLog()).slice(before))).toEqual(["train.tiny-a.lima-x.DE"]);
    const afterKill = JSON.parse(runBuiltCli(["experiment", "plan", "--config", config, "--out", out, "--json"]).stdout) as { jobs: { id: string; state: string }[] };
    expect(afterKill.jobs.find((job) => job.id === "train.tiny-a.lima-x.DE")!.state).toBe("todo");

    const rerunFrom = (await jobLog()).length;
    const result = runBuiltCli(["experiment", "run", "--config", config, "--out", out, "--quiet"]);
    expect(result.status, result.stderr).toBe(0);
    expect(starts((await jobLog()).slice(rerunFrom))).toEqual(chain);
    const record = JSON.parse(await readFile(join(out, "runs", "tiny-a", "lima-x", "DE", ".experiment-job.json"), "utf8")) as { section: { training: { seed: number } } };
    expect(record.section.training.seed).toBe(7);
  }, 1_800_000);

  it("runs the same change through sbatch on a real SLURM cluster: a cancelled job is resubmitted, the outputs equal the local run's", async () => {
    const slurmOut = join(directory, "exp-slurm");
    const cluster = startSlurmCluster(join(directory, "slurm-cluster"));
    try {
      const config = await writeConfig((value) => {
        value.trainingOverrides = [{ model: "tiny-a", corpus: "lima-x", composition: "DE", training: { seed: 7 } }];
      });
      const chain = ["train.tiny-a.lima-x.DE", "generate.tiny-a.lima-x.DE", "judge.tiny-a.lima-x.DE", "report"].sort();
      const submitted = runBuiltCli(["experiment", "run", "--executor", "slurm", "--no-wait", "--config", config, "--out", slurmOut], { env: cluster.env });
      expect(submitted.status, submitted.stderr).toBe(0);
      expect(submitted.stderr).toMatch(/submitted train: SLURM job \d+ \(1 jobs\)/);
      const script = await readFile(join(slurmOut, "slurm", "generate.sbatch"), "utf8");
      expect(script).toMatch(/#SBATCH --array=0-0/);
      expect(await readFile(join(slurmOut, "slurm", "submit.sh"), "utf8")).toMatch(/generate=\$\(sbatch --parsable --dependency=afterok:\$\{train\} generate.sbatch\)/);
      const cancelled = runBuiltCli(["experiment", "cancel", "--job", "train.tiny-a.lima-x.DE", "--config", config, "--out", slurmOut], { env: cluster.env });
      expect(cancelled.status, cancelled.stderr).toBe(0);
      expect(cancelled.stdout).toMatch(/cancelled SLURM jobs \d+_0/);
      // The cancelled training's dependants are killed (kill-on-invalid-dep): wait until the queue is empty.
      const deadline = Date.now() + 120_000;
      while (spawnSync("squeue", ["-h"], { env: cluster.env, encoding: "utf8" }).stdout.trim() !== "") {
        if (Date.now() > deadline) throw new Error("SLURM queue did not drain");
        await new Promise((resolvePromise) => setTimeout(resolvePromise, 500));
      }
      const plan = JSON.parse(runBuiltCli(["experiment", "plan", "--config", config, "--out", slurmOut, "--json"]).stdout) as { jobs: { id: string; state: string }[] };
      expect(plan.jobs.filter((job) => job.state !== "done").map((job) => job.id).sort()).toEqual(chain);

      const before = (await jobLog(slurmOut)).length;
      const resumed = runBuiltCli(["experiment", "run", "--executor", "slurm", "--config", config, "--out", slurmOut, "--quiet"], { env: cluster.env });
      expect(resumed.status, resumed.stderr).toBe(0);
      const events = (await jobLog(slurmOut)).slice(before);
      expect(starts(events)).toEqual(chain);
      expect(events.every((event) => (event as LogEvent & { executor: string }).executor === "slurm")).toBe(true);
      const status = JSON.parse(runBuiltCli(["experiment", "status", "--config", config, "--out", slurmOut, "--json"]).stdout) as { cells: { state: string }[]; report: string };
      expect(status.report).toBe("done");
      expect(status.cells.every((cell) => cell.state === "done")).toBe(true);
      // Same seeds, same bytes: the adapter trained under SLURM and the report's numbers equal the local run's.
      for (const file of ["runs/tiny-a/lima-x/DE/adapter_model.safetensors", "report/figures/scores.csv", "report/figures/cross-lingual.csv", "report/figures/contrasts.csv", "datasets/manifest.json"]) {
        expect(Buffer.compare(await readFile(join(slurmOut, file)), await readFile(join(out, file))), file).toBe(0);
      }
      const rerun = runBuiltCli(["experiment", "run", "--executor", "slurm", "--config", config, "--out", slurmOut], { env: cluster.env });
      expect(rerun.status, rerun.stderr).toBe(0);
      expect(rerun.stderr).toMatch(/every job is done; nothing submitted/);
    } finally {
      cluster.stop();
    }
  }, 1_800_000);
});
