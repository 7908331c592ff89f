import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import type { EncodedRows } from "../record/encoded-rows";
import { deserialiseError, type SerialisedError } from "../worker/worker-errors";
import { resolveWorkerScript, startWorker, type WorkerScript, type WorkerScripts } from "../worker/worker-script";
import type { WrittenFile } from "./jsonl";

/** Files to write from encoded rows: JSONL and/or Arrow (both from one pass over the rows). */
export interface EncodedWriteTask {
  table: EncodedRows;
  jsonl?: string;
  arrow?: string;
}

/** What was written, per format. */
export interface EncodedWriteResult {
  jsonl?: WrittenFile;
  arrow?: WrittenFile;
}

/** Writes a task's files from encoded rows in this thread. */
export async function writeEncodedFiles(task: EncodedWriteTask): Promise<EncodedWriteResult> {
  // Loaded on first use: the main thread, which leaves writing to writer threads, never loads Arrow.
  const { writeEncoded } = await import("./write-encoded");
  const { table, ...files } = task;
  return writeEncoded(table, files);
}

type Reply = { ok: true; written: EncodedWriteResult } | { ok: false; error: SerialisedError };

// Two writers keep both cores of a small machine busy (copying, Arrow batches, sha256); the main
// thread meanwhile only works out which rows go where.
const MAX_WRITERS = 2;

/**
 * Writes files from encoded rows on writer threads, two tasks at a time, as `write` is called; the
 * rows' text sits in shared memory, so a task costs its (language, index) pairs only. Runs the
 * tasks one after another in this thread where no built worker script exists (from source).
 */
export class EncodedWriterPool {
  private readonly script: WorkerScript | undefined;
  private readonly idle: Worker[] = [];
  private readonly queue: { task: EncodedWriteTask; resolve: (written: EncodedWriteResult) => void; reject: (error: Error) => void }[] = [];
  private readonly workers: Worker[] = [];
  private readonly running = new Map<Worker, EncodedWriterPool["queue"][number]>();
  private closing = false;
  private inThread: Promise<unknown> = Promise.resolve();
  private readonly size = Math.min(MAX_WRITERS, availableParallelism());

  /** `workerScripts`: where the writer thread's script is (default: the built one, when running from `dist/`). */
  constructor(options: { workerScripts?: WorkerScripts } = {}) {
    this.script = resolveWorkerScript("io/encoded-write-worker", options.workerScripts);
  }

  /** Starts the writer threads now, so that their code loads while the caller prepares the first write. */
  prestart(): void {
    if (!this.script) return;
    while (this.workers.length < this.size) this.idle.push(this.spawn());
  }

  /** Writes the task's files; resolves with their sizes and sha256 once they are renamed into place. */
  write(task: EncodedWriteTask): Promise<EncodedWriteResult> {
    if (!this.script) {
      const written = this.inThread.then(() => writeEncodedFiles(task));
      this.inThread = written.catch(() => undefined);
      return written;
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops the writer threads (after the caller awaited its writes). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.splice(0).map((worker) => worker.terminate()));
    this.idle.length = 0;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.workers.length < this.size ? this.spawn() : undefined);
      if (!worker) return;
      const job = this.queue.shift()!;
      this.running.set(worker, job);
      worker.postMessage(job.task);
    }
  }

  private spawn(): Worker {
    const worker = startWorker(this.script!);
    this.workers.push(worker);
    worker.on("message", (reply: Reply) => {
      const job = this.running.get(worker);
      this.running.delete(worker);
      this.idle.push(worker);
      if (reply.ok) job?.resolve(reply.written);
      else job?.reject(deserialiseError(reply.error));
      this.dispatch();
    });
    // A thread that fails or exits on its own takes its file with it; the next file gets a new thread.
    const lost = (error: Error) => {
      if (!this.workers.includes(worker)) return;
      this.workers.splice(this.workers.indexOf(worker), 1);
      if (this.idle.includes(worker)) this.idle.splice(this.idle.indexOf(worker), 1);
      const job = this.running.get(worker);
      this.running.delete(worker);
      job?.reject(error);
      if (!this.closing) this.dispatch();
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new Error(`a writer thread exited (code ${code})`)));
    return worker;
  }
}
