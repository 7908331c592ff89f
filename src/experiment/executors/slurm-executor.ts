import { execFile } from "node:child_process";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { ExecutorError } from "../experiment-errors";
import type { ExperimentConfig } from "../experiment-config";
import { jobStates, type ExperimentContext } from "../job-inputs";
import { JOB_KINDS, type ExperimentJob } from "../plan-experiment";
import type { JobCommand } from "./local-executor";

const execFileAsync = promisify(execFile);

/** One `sbatch` submission: a job array of jobs of one stage with the same resources. */
export interface SlurmArray {
  /** Script name, e.g. `train-gpu1.sbatch`; also the variable name in `submit.sh`. */
  name: string;
  jobs: string[];
  /** Names of the arrays it must wait for (`--dependency=afterok`). */
  after: string[];
  gpus: number;
}

/** What `submitted.json` keeps: the SLURM job id of each array and the experiment jobs in it. */
export interface SlurmSubmission {
  submittedAt: string;
  arrays: { name: string; slurmJobId: string; jobs: string[] }[];
}

function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Groups the jobs to run into arrays by stage and GPU count, with the stage-level dependencies between them. */
export function groupSlurmArrays(jobs: readonly ExperimentJob[]): SlurmArray[] {
  const arrays: SlurmArray[] = [];
  const arrayOf = new Map<string, SlurmArray>();
  for (const kind of JOB_KINDS) {
    const ofKind = jobs.filter((job) => job.kind === kind);
    for (const gpus of [...new Set(ofKind.map((job) => job.gpus))].sort((a, b) => a - b)) {
      const members = ofKind.filter((job) => job.gpus === gpus);
      const name = `${kind}${ofKind.some((job) => job.gpus !== gpus) ? `-gpu${gpus}` : ""}`;
      const after = [...new Set(members.flatMap((job) => job.needs).map((need) => arrayOf.get(need)?.name).filter((value): value is string => value !== undefined))].sort();
      const array: SlurmArray = { name, jobs: members.map((job) => job.id), after, gpus };
      for (const member of members) arrayOf.set(member.id, array);
      arrays.push(array);
    }
  }
  return arrays;
}

/** Writes one `#SBATCH` script per array and `submit.sh` that submits them in order; returns the folder. */
export async function writeSlurmScripts(options: {
  context: ExperimentContext;
  arrays: readonly SlurmArray[];
  jobCommand: JobCommand;
  slurm: ExperimentConfig["executors"]["slurm"];
  folder: string;
}): Promise<string> {
  const { context, arrays, slurm, folder } = options;
  const logs = join(context.directory, "logs", "slurm");
  await mkdir(folder, { recursive: true });
  await mkdir(logs, { recursive: true });
  const jobName = `experiment-${context.experiment.file.split("/").pop()!.replace(/\.json$/, "")}`;
  for (const array of arrays) {
    const directives = [
      `--job-name=${jobName}-${array.name}`,
      `--array=0-${array.jobs.length - 1}`,
      `--output=${join(logs, `${array.name}-%A_%a.log`)}`,
      "--kill-on-invalid-dep=yes",
      ...(slurm.partition ? [`--partition=${slurm.partition}`] : []),
      ...(slurm.account ? [`--account=${slurm.account}`] : []),
      ...(slurm.time ? [`--time=${slurm.time}`] : []),
      ...(slurm.cpusPerTask ? [`--cpus-per-task=${slurm.cpusPerTask}`] : []),
      ...(slurm.memory ? [`--mem=${slurm.memory}`] : []),
      ...(slurm.gres && array.gpus > 0 ? [`--gres=gpu:${array.gpus}`] : []),
      ...slurm.extraDirectives,
    ];
    const { command, args } = options.jobCommand("$JOB");
    const lines = [
      "#!/bin/bash",
      ...directives.map((directive) => `#SBATCH ${directive}`),
      `# ${array.jobs.length} job(s) of stage ${array.name}; each checks its done record first, so a rerun of a finished job does nothing`,
      "set -euo pipefail",
      ...slurm.setup,
      `JOBS=(${array.jobs.map(shellQuote).join(" ")})`,
      'JOB="${JOBS[$SLURM_ARRAY_TASK_ID]}"',
      `exec ${[command, ...args].map((part) => (part === "$JOB" ? '"$JOB"' : shellQuote(part))).join(" ")}`,
    ];
    await writeFile(join(folder, `${array.name}.sbatch`), lines.join("\n") + "\n");
  }
  const variable = (name: string) => name.replace(/[^A-Za-z0-9]/g, "_");
  const submit = [
    "#!/bin/bash",
    "# Submits the experiment's job arrays in order; each waits (afterok) for the stages it reads.",
    "# Prints one line per array: NAME SLURM_JOB_ID.",
    "set -euo pipefail",
    'cd "$(dirname "$0")"',
  ];
  for (const array of arrays) {
    const dependency = array.after.length > 0 ? ` --dependency=afterok:${array.after.map((name) => `\${${variable(name)}}`).join(":")}` : "";
    submit.push(`${variable(array.name)}=$(sbatch --parsable${dependency} ${array.name}.sbatch)`);
    submit.push(`${variable(array.name)}=\${${variable(array.name)}%%;*}`);
    submit.push(`echo "${array.name} \${${variable(array.name)}}"`);
  }
  await writeFile(join(folder, "submit.sh"), submit.join("\n") + "\n");
  await chmod(join(folder, "submit.sh"), 0o755);
  return folder;
}

/** The jobs not done yet, i.e. what a submission must run. */
export async function jobsToRun(context: ExperimentContext): Promise<ExperimentJob[]> {
  const states = await jobStates(context);
  return context.plan.jobs.filter((job) => states.get(job.id)!.state !== "done");
}

function submissionFile(context: ExperimentContext): string {
  return join(context.directory, "slurm", "submitted.json");
}

/** The last submission of this experiment, if any. */
export async function readSubmission(context: ExperimentContext): Promise<SlurmSubmission | undefined> {
  try {
    return JSON.parse(await readFile(submissionFile(context), "utf8")) as SlurmSubmission;
  } catch {
    return undefined;
  }
}

/** SLURM job ids (of the given ones) still in the queue, with their state, from `squeue`. */
export async function queuedSlurmJobs(ids: readonly string[], env?: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  const queued = new Map<string, string>();
  if (ids.length === 0) return queued;
  // Without accounting (no sacct), squeue is the source of truth: a job that left it has ended. The
  // whole queue is read and filtered here, since `squeue -j` fails as soon as one id has left it.
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync("squeue", ["-h", "-r", "-o", "%F %i %T"], { env: env ?? process.env }));
  } catch (error) {
    throw new ExecutorError(`squeue failed: ${((error as { stderr?: string }).stderr ?? String(error)).trim()}`);
  }
  const wanted = new Set(ids);
  for (const line of stdout.split("\n")) {
    const [arrayId, taskId, state] = line.trim().split(/\s+/);
    if (arrayId && taskId && state && wanted.has(arrayId)) queued.set(taskId, state);
  }
  return queued;
}

/** Options of `submitSlurm`. */
export interface SubmitSlurmOptions {
  context: ExperimentContext;
  jobCommand: JobCommand;
  env?: NodeJS.ProcessEnv;
}

/**
 * Submits every job not done yet as job arrays (one per stage) chained with `afterok`, and records
 * the SLURM job ids in `slurm/submitted.json` (for `experiment cancel` and `status`). Refuses while
 * an earlier submission of this experiment is still queued or running.
 */
export async function submitSlurm(options: SubmitSlurmOptions): Promise<SlurmSubmission | undefined> {
  const { context } = options;
  const previous = await readSubmission(context);
  if (previous) {
    const queued = await queuedSlurmJobs(previous.arrays.map((array) => array.slurmJobId), options.env);
    if (queued.size > 0) {
      throw new ExecutorError(`an earlier submission of this experiment is still in the queue (SLURM jobs ${[...new Set(previous.arrays.map((array) => array.slurmJobId))].join(", ")}); wait for it (experiment status) or cancel it (experiment cancel)`);
    }
  }
  const jobs = await jobsToRun(context);
  if (jobs.length === 0) return undefined;
  const arrays = groupSlurmArrays(jobs);
  const folder = join(context.directory, "slurm");
  await writeSlurmScripts({ context, arrays, jobCommand: options.jobCommand, slurm: context.experiment.config.executors.slurm, folder });
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync("bash", [join(folder, "submit.sh")], { env: options.env ?? process.env }));
  } catch (error) {
    const failure = error as { stderr?: string; stdout?: string };
    throw new ExecutorError(`sbatch refused a job script: ${(failure.stderr ?? String(error)).trim()} (scripts in ${folder})`);
  }
  const ids = new Map(stdout.trim().split("\n").map((line) => line.trim().split(/\s+/) as [string, string]));
  const submission: SlurmSubmission = {
    submittedAt: new Date().toISOString(),
    arrays: arrays.map((array) => ({ name: array.name, slurmJobId: ids.get(array.name) ?? "", jobs: array.jobs })),
  };
  await writeFile(submissionFile(context), JSON.stringify(submission, null, 2) + "\n");
  return submission;
}

/** Polls `squeue` until no job of the submission is queued or running. */
export async function waitForSlurm(options: { submission: SlurmSubmission; pollMs: number; env?: NodeJS.ProcessEnv; onPoll?: (queued: Map<string, string>) => void }): Promise<void> {
  const ids = options.submission.arrays.map((array) => array.slurmJobId);
  for (;;) {
    const queued = await queuedSlurmJobs(ids, options.env);
    options.onPoll?.(queued);
    if (queued.size === 0) return;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}

/** Cancels the arrays of the last submission with `scancel` (or only those holding `jobIds`); returns the SLURM ids cancelled. */
export async function cancelSlurm(options: { context: ExperimentContext; jobIds?: readonly string[]; env?: NodeJS.ProcessEnv }): Promise<string[]> {
  const submission = await readSubmission(options.context);
  if (!submission) return [];
  const targets: string[] = [];
  for (const array of submission.arrays) {
    if (!options.jobIds) {
      targets.push(array.slurmJobId);
      continue;
    }
    for (const jobId of options.jobIds) {
      const index = array.jobs.indexOf(jobId);
      if (index >= 0) targets.push(`${array.slurmJobId}_${index}`);
    }
  }
  if (targets.length === 0) return [];
  try {
    await execFileAsync("scancel", targets, { env: options.env ?? process.env });
  } catch (error) {
    throw new ExecutorError(`scancel failed: ${((error as { stderr?: string }).stderr ?? String(error)).trim()}`);
  }
  return targets;
}
