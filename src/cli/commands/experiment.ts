import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { Option } from "commander";
import { PolyglotError, UsageError } from "../../errors";
import { bundledPath } from "../../package-info";
import { parsePositiveInteger } from "../option-parsers";
import { runPythonModule } from "../python-launcher";

interface CommonOptions {
  config: string;
  out: string;
}

async function loadContext(options: CommonOptions) {
  const [{ readExperimentConfig }, { planExperiment }] = await Promise.all([import("../../experiment/experiment-config"), import("../../experiment/plan-experiment")]);
  const experiment = await readExperimentConfig(resolve(options.config));
  return { experiment, plan: planExperiment(experiment), directory: resolve(options.out) };
}

/** The command a job runs: this same CLI, `experiment job`. */
function jobCommandFor(options: CommonOptions) {
  const script = process.argv[1] ? realpathSync(process.argv[1]) : bundledPath("dist", "cli", "main.js");
  const cli = script.endsWith("main.js") ? script : bundledPath("dist", "cli", "main.js");
  return (jobId: string) => ({ command: process.execPath, args: [cli, "experiment", "job", "--config", resolve(options.config), "--out", resolve(options.out), "--job", jobId] });
}

function say(text: string, quiet?: boolean): void {
  if (!quiet) process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
}

/**
 * Adds `experiment plan|run|status|report|cancel|job`: the whole study from one config, as a graph
 * of content-addressed jobs run on this machine (`--executor local`), on SLURM, or as scripts.
 */
export function registerExperimentCommands(program: Command): void {
  const group = program.command("experiment").description("Run the whole study from one config: datasets -> LoRA runs -> MT-Bench-X answers -> judgments -> figures");

  group
    .command("plan")
    .description("expand the config into jobs and show what each needs and what is already done")
    .requiredOption("--config <file>", "experiment config JSON")
    .option("--out <dir>", "experiment folder", "experiment")
    .option("--json", "print the plan as JSON")
    .action(async (options: CommonOptions & { json?: boolean }) => {
      const { describePlan, renderPlanTable } = await import("../../experiment/describe-experiment");
      const context = await loadContext(options);
      const rows = await describePlan(context);
      process.stdout.write(options.json ? JSON.stringify({ evaluationLanguages: context.plan.evaluationLanguages, cells: context.plan.cells, jobs: rows }, null, 2) + "\n" : renderPlanTable(rows, context.experiment.config.evaluation.judge.prices?.currency));
    });

  group
    .command("run")
    .description("run every job that is not done (a job is done when its output's record matches its inputs)")
    .requiredOption("--config <file>", "experiment config JSON")
    .option("--out <dir>", "experiment folder", "experiment")
    .addOption(new Option("--executor <name>", "where jobs run").choices(["local", "slurm", "print"]).default("local"))
    .option("--max-parallel <n>", "local: jobs at once (default: the config's, else 2)", parsePositiveInteger)
    .option("--gpus <ids>", "local: GPU ids to hand out, e.g. 0,1,2,3 (default: CUDA_VISIBLE_DEVICES)")
    .option("--no-wait", "slurm: submit and return without waiting for the jobs")
    .option("--quiet", "no progress output")
    .action(async (options: CommonOptions & { executor: "local" | "slurm" | "print"; maxParallel?: number; gpus?: string; wait: boolean; quiet?: boolean }) => {
      const context = await loadContext(options);
      const jobCommand = jobCommandFor(options);
      if (options.executor === "local") {
        const { runLocalExecutor } = await import("../../experiment/executors/local-executor");
        const gpuText = options.gpus ?? process.env.CUDA_VISIBLE_DEVICES ?? "";
        const gpus = context.experiment.config.executors.local.gpus ?? gpuText.split(",").filter((part) => /^\d+$/.test(part.trim())).map(Number);
        const summary = await runLocalExecutor({
          context,
          jobCommand,
          maxParallel: options.maxParallel ?? context.experiment.config.executors.local.maxParallel,
          gpus,
          onEvent: (event) => {
            if (event.type === "start") say(`start ${event.job} (pid ${event.pid}, log ${event.log})`, options.quiet);
            else if (event.type === "finish") say(`done  ${event.job}`, options.quiet);
            else if (event.type === "fail") say(`FAILED ${event.job} (exit code ${event.code}; log ${event.log})`);
            else if (event.type === "blocked") say(`skip  ${event.job}: a job it needs failed`, options.quiet);
          },
        });
        say(`${summary.ran.length} jobs ran, ${summary.upToDate.length} were up to date, ${summary.failed.length} failed, ${summary.blocked.length} blocked`, options.quiet);
        if (summary.failed.length > 0) throw new PolyglotError(`${summary.failed.length} job(s) failed: ${summary.failed.join(", ")}; run the same command again to retry them (finished jobs are not run again)`);
        if (!options.quiet) process.stdout.write(`experiment complete: ${resolve(options.out, "report", "report.md")}\n`);
        return;
      }
      const slurm = await import("../../experiment/executors/slurm-executor");
      if (options.executor === "print") {
        const jobs = await slurm.jobsToRun(context);
        if (jobs.length === 0) {
          say("every job is done; nothing to write", options.quiet);
          return;
        }
        const folder = await slurm.writeSlurmScripts({ context, arrays: slurm.groupSlurmArrays(jobs), jobCommand, slurm: context.experiment.config.executors.slurm, folder: resolve(options.out, "slurm") });
        process.stdout.write(`wrote the job scripts of ${jobs.length} jobs to ${folder}; submit them with: bash ${resolve(folder, "submit.sh")}\n`);
        return;
      }
      const submission = await slurm.submitSlurm({ context, jobCommand });
      if (!submission) {
        say("every job is done; nothing submitted", options.quiet);
        return;
      }
      for (const array of submission.arrays) say(`submitted ${array.name}: SLURM job ${array.slurmJobId} (${array.jobs.length} jobs)`, options.quiet);
      if (!options.wait) return;
      await slurm.waitForSlurm({ submission, pollMs: context.experiment.config.executors.slurm.pollSeconds * 1000 });
      const { jobStates } = await import("../../experiment/job-inputs");
      const states = await jobStates({ ...context });
      const missing = context.plan.jobs.filter((job) => states.get(job.id)!.state !== "done").map((job) => job.id);
      if (missing.length > 0) throw new PolyglotError(`the SLURM jobs ended with ${missing.length} job(s) not done: ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", ..." : ""}; logs in ${resolve(options.out, "logs", "slurm")}; run the same command again to resubmit them`);
      if (!options.quiet) process.stdout.write(`experiment complete: ${resolve(options.out, "report", "report.md")}\n`);
    });

  group
    .command("status")
    .description("print the matrix model x corpus x composition with each cell's state and score")
    .requiredOption("--config <file>", "experiment config JSON")
    .option("--out <dir>", "experiment folder", "experiment")
    .option("--json", "print the cells as JSON")
    .action(async (options: CommonOptions & { json?: boolean }) => {
      const [{ describeStatus, renderStatus }, { jobStates }] = await Promise.all([import("../../experiment/describe-experiment"), import("../../experiment/job-inputs")]);
      const context = await loadContext(options);
      const cells = await describeStatus(context);
      const report = (await jobStates(context)).get("report")?.state;
      process.stdout.write(options.json ? JSON.stringify({ cells, report }, null, 2) + "\n" : renderStatus(cells, report));
    });

  group
    .command("report")
    .description("write the MT-Bench-X report, the study's figures (SVG + CSV) and report.md (the plan's last job)")
    .requiredOption("--config <file>", "experiment config JSON")
    .option("--out <dir>", "experiment folder", "experiment")
    .action(async (options: CommonOptions) => {
      const { runJob } = await import("../../experiment/run-job");
      const context = await loadContext(options);
      const result = await runJob({ context, jobId: "report", executor: "cli", runPython: (python) => runPythonModule(python) });
      process.stdout.write(`${result === "ran" ? "wrote" : "up to date:"} ${resolve(options.out, "report", "report.md")}\n`);
    });

  group
    .command("cancel")
    .description("cancel (scancel) the SLURM jobs of the last submission, or only some experiment jobs")
    .requiredOption("--config <file>", "experiment config JSON")
    .option("--out <dir>", "experiment folder", "experiment")
    .option("--job <ids>", "only these experiment jobs (comma-separated), e.g. train.mistral-7b.lima-x.DE")
    .action(async (options: CommonOptions & { job?: string }) => {
      const { cancelSlurm } = await import("../../experiment/executors/slurm-executor");
      const context = await loadContext(options);
      const cancelled = await cancelSlurm({ context, ...(options.job ? { jobIds: options.job.split(",").map((id) => id.trim()) } : {}) });
      process.stdout.write(cancelled.length ? `cancelled SLURM jobs ${cancelled.join(", ")}\n` : "nothing submitted to cancel\n");
    });

  group
    .command("job")
    .description("run one job of the plan (what the executors start; skips a job that is done)")
    .requiredOption("--config <file>", "experiment config JSON")
    .option("--out <dir>", "experiment folder", "experiment")
    .requiredOption("--job <id>", "job id, as `experiment plan` lists it")
    .option("--executor <name>", "recorded in the job log", process.env.SLURM_JOB_ID ? "slurm" : "local")
    .action(async (options: CommonOptions & { job: string; executor: string }) => {
      const { runJob } = await import("../../experiment/run-job");
      const context = await loadContext(options);
      if (!context.plan.jobs.some((job) => job.id === options.job)) throw new UsageError(`no job "${options.job}" in the plan of ${options.config}; see experiment plan`);
      const result = await runJob({ context, jobId: options.job, executor: options.executor, runPython: (python) => runPythonModule(python) });
      process.stderr.write(`${options.job}: ${result}\n`);
    });
}
