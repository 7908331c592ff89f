import { readdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { repositoryRoot, runBuiltCli } from "../support/run-cli";
import { requirePython } from "../support/python";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();
const fixtures = join(repositoryRoot, "fixtures");

describe("experiment training settings reach the trainer's trackers", () => {
  it("report_to in `training` makes each training job log to TensorBoard, under a run named after the job unless an override names it", async () => {
    // torch, the trainer and tensorboard are installed in the test venv by scripts/test-trainer.mjs, which npm test runs first
    const python = requirePython(["polyglot_trainer", "tensorboard"]);
    const directory = await makeDirectory();
    const config = JSON.parse(await readFile(join(fixtures, "experiment.json"), "utf8")) as Record<string, any>;
    config.corpora["lima-x"].translate.input = resolve(fixtures, config.corpora["lima-x"].translate.input);
    config.corpora["lima-x"].translate.cache = resolve(fixtures, config.corpora["lima-x"].translate.cache);
    config.corpora["bactrian-x"].path = resolve(fixtures, config.corpora["bactrian-x"].path);
    config.evaluation.bench.path = resolve(fixtures, config.evaluation.bench.path);
    config.training.report_to = ["tensorboard"];
    config.trainingOverrides = [{ model: "tiny-a", corpus: "lima-x", composition: "EN", training: { run_name: "lima-x-en-baseline" } }];
    const configFile = join(directory, "experiment.json");
    await writeFile(configFile, JSON.stringify(config, null, 2));
    const out = join(directory, "exp");
    const env = { POLYGLOT_PYTHON: python, TOKENIZERS_PARALLELISM: "false" };
    // Only the jobs the two trainings need, one at a time, as an executor starts them.
    for (const job of ["build", "model.tiny-a", "train.tiny-a.lima-x.DE", "train.tiny-a.lima-x.EN"]) {
      const result = runBuiltCli(["experiment", "job", "--config", configFile, "--out", out, "--job", job], { env });
      expect(result.status, `${job}: ${result.stderr}`).toBe(0);
    }
    for (const [composition, runName] of [["DE", "train.tiny-a.lima-x.DE"], ["EN", "lima-x-en-baseline"]] as const) {
      const run = join(out, "runs", "tiny-a", "lima-x", composition);
      const trained = JSON.parse(await readFile(join(run, "training_config.json"), "utf8")) as { run_name?: string; report_to?: string[] };
      expect(trained.report_to).toEqual(["tensorboard"]);
      expect(trained.run_name).toBe(runName);
      const events = readdirSync(join(run, "tensorboard"), { recursive: true }).map(String).filter((name) => name.includes("tfevents"));
      expect(events.length, composition).toBeGreaterThan(0);
    }
  }, 600_000);
});
