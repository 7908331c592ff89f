import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { deserialiseError, type SerialisedError } from "../worker-errors";
import { builtWorkerScript } from "../worker-script";
import { encodeLanguageFile, type EncodedLanguageFile, type EncodeLanguageFileTask } from "./encode-language-file";

// Two files at a time keep both cores of a small machine busy (with gunzip on the thread pool);
// more workers than cores do not pay, and each adds a JavaScript heap.
const MAX_WORKERS = 2;

/**
 * Encodes several language files, in worker threads when available (gunzip, JSON parsing and
 * validation of two languages run on two cores), else one after another in this thread. Results
 * come back in task order; the first error is thrown after all workers stopped.
 */
export async function encodeLanguageFiles(
  tasks: readonly EncodeLanguageFileTask[],
  onDone?: (task: EncodeLanguageFileTask, result: EncodedLanguageFile) => void,
): Promise<EncodedLanguageFile[]> {
  const script = builtWorkerScript("corpus/encode-worker");
  const results: EncodedLanguageFile[] = new Array(tasks.length);
  if (!script || tasks.length < 2) {
    for (const [index, task] of tasks.entries()) {
      results[index] = await encodeLanguageFile(task);
      onDone?.(task, results[index]!);
    }
    return results;
  }
  let next = 0;
  let failure: Error | undefined;
  const runWorker = async () => {
    const worker = new Worker(script);
    try {
      while (failure === undefined && next < tasks.length) {
        const index = next++;
        const task = tasks[index]!;
        type Reply = { ok: true; result: EncodedLanguageFile } | { ok: false; error: SerialisedError };
        const reply = await new Promise<Reply>((resolve, reject) => {
          const onMessage = (message: Reply) => {
            worker.off("error", onError);
            resolve(message);
          };
          const onError = (error: Error) => {
            worker.off("message", onMessage);
            reject(error);
          };
          worker.once("message", onMessage);
          worker.once("error", onError);
          worker.postMessage(task);
        });
        if (!reply.ok) {
          failure ??= deserialiseError(reply.error);
          break;
        }
        results[index] = reply.result;
        onDone?.(task, reply.result);
      }
    } catch (error) {
      failure ??= error as Error;
    } finally {
      await worker.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_WORKERS, availableParallelism(), tasks.length) }, runWorker));
  if (failure) throw failure;
  return results;
}
