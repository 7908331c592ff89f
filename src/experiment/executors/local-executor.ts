import { spawn } from "node:child_process";
import { mkdir, open } from "node:fs/promises";
import { join } from "node:path";
import { readDoneRecord } from "../done-record";
import { ExecutorError } from "../experiment-errors";
import { forgetResolvedJobs, resolveJob, type ExperimentContext } from "../job-inputs";
import { downstreamOf, type ExperimentJob } from "../plan-experiment";

/** The command that runs one job (`build-datasets experiment job ...`), as program and arguments. */
export type JobCommand = (jobId: string) => { command: string; args: string[] };

/** Options of `runLocalExecutor`. */
export interface LocalExecutorOptions {
  context: ExperimentContext;
  jobCommand: JobCommand;
  /** Jobs at once. */
  maxParallel: number;
  /** GPU ids to hand out (`CUDA_VISIBLE_DEVICES` per job); empty: GPU jobs run without one. */
  gpus: readonly number[];
  /** Only these jobs and what they need (default: the whole plan). */
  only?: ReadonlySet<string>;
  /** Progress: a job started (with its pid), finished, failed or was up to date. */
  onEvent?: (event: { type: "start" | "finish" | "fail" | "up-to-date" | "blocked"; job: string; pid?: number; log?: string; code?: number }) => void;
  env?: NodeJS.ProcessEnv;
}

/** What a local run did. */
export interface LocalRunSummary {
  ran: string[];
  upToDate: string[];
  failed: string[];
  /** Jobs not run because a job they need failed. */
  blocked: string[];
}

/**
 * Runs the plan on this machine: a job starts when the jobs it needs are done; one already done
 * (its output's record matches) is not started; GPU jobs get their own GPUs through
 * `CUDA_VISIBLE_DEVICES`, CPU jobs none; at most `maxParallel` jobs at once. Each job is a child
 * process (`experiment job`) whose output goes to `logs/<job>.log`.
 */
export async function runLocalExecutor(options: LocalExecutorOptions): Promise<LocalRunSummary> {
  const { context } = options;
  const jobs = context.plan.jobs.filter((job) => !options.only || options.only.has(job.id));
  for (const job of jobs) {
    if (options.gpus.length > 0 && job.gpus > options.gpus.length) {
      throw new ExecutorError(`${job.id} needs ${job.gpus} GPUs and this machine has ${options.gpus.length} (${options.gpus.join(",")}); run it with --executor slurm, or lower models[].gpus`);
    }
  }
  const state = new Map<string, "pending" | "running" | "ok" | "failed" | "blocked">(jobs.map((job) => [job.id, "pending"]));
  const summary: LocalRunSummary = { ran: [], upToDate: [], failed: [], blocked: [] };
  const freeGpus = [...options.gpus];
  const running = new Map<string, Promise<{ job: ExperimentJob; code: number; gpus: number[] }>>();
  const logDirectory = join(context.directory, "logs");
  await mkdir(logDirectory, { recursive: true });

  const start = async (job: ExperimentJob, gpus: number[]) => {
    const log = join(logDirectory, `${job.id}.log`);
    const handle = await open(log, "w");
    const { command, args } = options.jobCommand(job.id);
    const env = { ...(options.env ?? process.env), CUDA_VISIBLE_DEVICES: gpus.join(",") };
    if (job.gpus > 0 && options.gpus.length === 0) delete (env as Record<string, string | undefined>).CUDA_VISIBLE_DEVICES;
    const child = spawn(command, args, { stdio: ["ignore", handle.fd, handle.fd], env });
    options.onEvent?.({ type: "start", job: job.id, ...(child.pid !== undefined ? { pid: child.pid } : {}), log });
    running.set(
      job.id,
      new Promise((resolve) => {
        child.on("error", () => resolve({ job, code: 127, gpus }));
        child.on("close", (code, signal) => resolve({ job, code: code ?? (signal === "SIGKILL" ? 137 : 128), gpus }));
      }).finally(() => handle.close()) as Promise<{ job: ExperimentJob; code: number; gpus: number[] }>,
    );
  };

  for (;;) {
    let progressed = true;
    while (progressed) {
      progressed = false;
      for (const job of jobs) {
        if (state.get(job.id) !== "pending") continue;
        const needs = job.needs.filter((need) => state.has(need));
        if (needs.some((need) => state.get(need) === "failed" || state.get(need) === "blocked")) {
          state.set(job.id, "blocked");
          summary.blocked.push(job.id);
          options.onEvent?.({ type: "blocked", job: job.id });
          progressed = true;
          continue;
        }
        if (!needs.every((need) => state.get(need) === "ok")) continue;
        const resolved = await resolveJob(context, job);
        if (resolved.ready) {
          const record = await readDoneRecord(join(context.directory, job.output));
          if (record?.key === resolved.key) {
            state.set(job.id, "ok");
            summary.upToDate.push(job.id);
            options.onEvent?.({ type: "up-to-date", job: job.id });
            progressed = true;
            continue;
          }
        }
        if (running.size >= options.maxParallel) continue;
        const gpusWanted = options.gpus.length > 0 ? job.gpus : 0;
        if (gpusWanted > freeGpus.length) continue;
        const gpus = freeGpus.splice(0, gpusWanted);
        state.set(job.id, "running");
        await start(job, gpus);
        progressed = true;
      }
    }
    if (running.size === 0) break;
    const { job, code, gpus } = await Promise.race(running.values());
    running.delete(job.id);
    freeGpus.push(...gpus);
    freeGpus.sort((a, b) => a - b);
    forgetResolvedJobs(context, [job.id, ...downstreamOf(context.plan, job.id)]);
    if (code === 0) {
      state.set(job.id, "ok");
      summary.ran.push(job.id);
      options.onEvent?.({ type: "finish", job: job.id, code });
    } else {
      state.set(job.id, "failed");
      summary.failed.push(job.id);
      options.onEvent?.({ type: "fail", job: job.id, code, log: join(logDirectory, `${job.id}.log`) });
    }
  }
  return summary;
}
