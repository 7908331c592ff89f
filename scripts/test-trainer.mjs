#!/usr/bin/env node
// Runs the Python trainer's tests (test/trainer) after the TypeScript tests, as part of `npm test`.
// Creates the virtual environment .venv/ at the repository root when it is missing: a CPU build of torch
// (pinned, small), then the trainer with its test extras. Re-installs only when src/trainer/pyproject.toml
// changed (its hash is kept in .venv/.polyglot-trainer-hash). Exits with pytest's code; "no tests" fails.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const venv = join(root, ".venv");
const python = process.platform === "win32" ? join(venv, "Scripts", "python.exe") : join(venv, "bin", "python");
const pyproject = join(root, "src", "trainer", "pyproject.toml");
const hashFile = join(venv, ".polyglot-trainer-hash");
// The CPU wheel keeps CI light; the pyproject itself keeps torch as a range for GPU users.
const torchRequirement = process.env.POLYGLOT_TORCH_REQUIREMENT ?? "torch==2.13.0";
// Where PyPI's Linux torch wheel is the multi-GB CUDA build, point this at https://download.pytorch.org/whl/cpu.
const torchIndex = process.env.POLYGLOT_TORCH_INDEX_URL;
// FastChat's own aggregation (show_result.py), run by test/eval/fastchat-show-result.test.ts against the
// report's pairwise win rates. It needs only pandas, so fschat comes without its serving stack (--no-deps).
// Hugging Face `datasets` loads a built study through its dataset card in test/core/fixture-study.test.ts.
// numpy is the independent reference of test/eval/report.test.ts's bootstrap intervals (numpy.percentile
// over the same resamples); pinned here although pandas pulls it in, so the reference never drifts.
const fastChatRequirements = ["pandas==2.3.3", "datasets==5.2.0", "numpy==2.3.5"];
const fastChatNoDeps = ["fschat==0.2.36"];
// The trackers of `train --report-to` (test/trainer/test_trackers.py reads each one back offline), and the Jupyter
// client that runs examples/study.ipynb on the Deno kernel in test/core/notebook.test.ts (no ipykernel: the kernel is
// Deno). About 2 minutes of the venv's first install on a busy 2-core machine (wandb and grpcio are the big wheels).
const trackerRequirements = ["tensorboard==2.21.0", "wandb==0.31.0", "mlflow-skinny==3.18.0", "jupyter-client==8.10.0",
  "nbformat==5.11.1"];
// The trainers a built study is loaded into by test/trainer/test_trainer_configs.py: TRL with its (light) deps;
// LLaMA-Factory and axolotl without theirs (each pins a GPU stack of gigabytes: vllm, deepspeed, xformers,
// bitsandbytes, gradio), plus the few light packages their dataset loaders and converters import. About 20 s of
// installing; the tests themselves take about a minute on two cores.
const trainerRequirements = ["trl==1.13.0", "omegaconf==2.3.0", "colorama==0.4.6", "addict==2.4.0", "posthog==6.7.11", "numba==0.63.1"];
const trainerNoDeps = ["llamafactory==0.9.5", "axolotl==0.19.0"];

function say(message) {
  process.stdout.write(`[test-trainer] ${message}\n`);
}

function run(command, args, options = {}) {
  say(`$ ${[command, ...args].join(" ")}`);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", ...options });
  if (result.error) {
    say(`cannot run ${command}: ${result.error.message}`);
    return 1;
  }
  return result.status ?? 1;
}

function findSystemPython() {
  for (const candidate of [process.env.PYTHON, "python3", "python"].filter(Boolean)) {
    const check = spawnSync(candidate, ["-c", "import sys; print(sys.version_info >= (3, 10))"], { encoding: "utf8" });
    if (check.status === 0 && check.stdout.trim() === "True") return candidate;
  }
  return undefined;
}

function main() {
  const wanted = createHash("sha256")
    .update(readFileSync(pyproject))
    .update(torchRequirement)
    .update([...fastChatRequirements, ...fastChatNoDeps, ...trackerRequirements, ...trainerRequirements, ...trainerNoDeps].join(" "))
    .digest("hex");
  if (!existsSync(python)) {
    const system = findSystemPython();
    if (!system) {
      say("no Python >= 3.10 found (tried $PYTHON, python3, python); install one to run the trainer tests");
      return 1;
    }
    say(`creating ${venv} with ${system}`);
    if (run(system, ["-m", "venv", venv]) !== 0) return 1;
  }
  const installed = existsSync(hashFile) ? readFileSync(hashFile, "utf8").trim() : "";
  if (installed !== wanted) {
    say(installed ? "src/trainer/pyproject.toml changed: re-installing the trainer" : "installing the trainer and its test dependencies");
    const pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"];
    const index = torchIndex ? ["--index-url", torchIndex] : [];
    if (run(pip[0], [...pip.slice(1), ...index, torchRequirement]) !== 0) return 1;
    if (run(pip[0], [...pip.slice(1), "-e", `${join(root, "src", "trainer")}[test]`]) !== 0) return 1;
    if (run(pip[0], [...pip.slice(1), ...fastChatRequirements]) !== 0) return 1;
    if (run(pip[0], [...pip.slice(1), "--no-deps", ...fastChatNoDeps]) !== 0) return 1;
    if (run(pip[0], [...pip.slice(1), ...trackerRequirements]) !== 0) return 1;
    if (run(pip[0], [...pip.slice(1), ...trainerRequirements]) !== 0) return 1;
    if (run(pip[0], [...pip.slice(1), "--no-deps", ...trainerNoDeps]) !== 0) return 1;
    writeFileSync(hashFile, `${wanted}\n`);
  } else {
    say(`re-using ${venv} (trainer dependencies up to date)`);
  }
  const code = run(python, ["-m", "pytest", "test/trainer", "-q", "-p", "no:cacheprovider", "--durations=12"], {
    env: { ...process.env, TOKENIZERS_PARALLELISM: "false", PYTHONDONTWRITEBYTECODE: "1" },
  });
  if (code === 5) {
    say("pytest collected no tests: failing, the trainer tests must run");
    return 1;
  }
  say(code === 0 ? "trainer tests passed" : `trainer tests failed (pytest exit code ${code})`);
  return code;
}

process.exitCode = main();
