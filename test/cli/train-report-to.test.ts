import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { composeDataset } from "../../src";
import { repositoryRoot, runBuiltCli } from "../support/run-cli";
import { requirePython } from "../support/python";
import { useTemporaryDirectories } from "../support/temporary-directory";

const makeDirectory = useTemporaryDirectories();
const READ_EVENTS = [
  "import json, sys",
  "from tensorboard.backend.event_processing.event_accumulator import EventAccumulator",
  "events = EventAccumulator(sys.argv[1]); events.Reload()",
  "print(json.dumps([[event.step, event.value] for event in events.Scalars('loss')]))",
].join("\n");

describe("build-datasets train --report-to", () => {
  it("reaches the Python trainer: a CPU run writes TensorBoard event files holding metrics.jsonl's loss curve", async () => {
    // torch, the trainer and tensorboard are installed in the test venv by scripts/test-trainer.mjs, which npm test runs first
    const python = requirePython(["polyglot_trainer", "tensorboard"]);
    const directory = await makeDirectory();
    await composeDataset({ input: join(repositoryRoot, "fixtures", "bactrian-x"), compositions: ["DEFRITES-sampled"], outDir: directory, seed: 7, formats: ["jsonl"] });
    const data = join(directory, "DEFRITES-sampled.jsonl");
    const env = { POLYGLOT_PYTHON: python, TOKENIZERS_PARALLELISM: "false" };
    const tiny = runBuiltCli(["make-tiny-model", "--data", data, "--out", join(directory, "tiny"), "--vocab-size", "300"], { env });
    expect(tiny.status, tiny.stderr).toBe(0);
    const run = join(directory, "run");
    const train = runBuiltCli(
      ["train", "--data", data, "--model", join(directory, "tiny"), "--out", run, "--max-steps", "3", "--device", "cpu",
        "--max-length", "128", "--gradient-accumulation-steps", "1", "--no-progress-bar", "--report-to", "tensorboard"],
      { env },
    );
    expect(train.status, train.stderr).toBe(0);
    const metrics = readFileSync(join(run, "metrics.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as { step: number; loss: number });
    const events = spawnSync(python, ["-c", READ_EVENTS, join(run, "tensorboard")], { encoding: "utf8" });
    expect(events.status, events.stderr).toBe(0);
    const curve = JSON.parse(events.stdout) as [number, number][];
    expect(curve.map(([step]) => step)).toEqual([1, 2, 3]);
    curve.forEach(([step, loss], index) => {
      expect(step).toBe(metrics[index]!.step);
      expect(loss).toBeCloseTo(metrics[index]!.loss, 5); // TensorBoard stores float32
    });
  }, 240_000);
});
