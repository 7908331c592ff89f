// Worker entry: writes the files of one task from encoded rows per message (see
// `EncodedWriterPool`). The text is in shared memory, so the message carries only offsets.
import { parentPort } from "node:worker_threads";
import { serialiseError } from "../worker/worker-errors";
import { writeEncodedFiles, type EncodedWriteTask } from "./encoded-writer-pool";
// Loaded when the thread starts (writeEncodedFiles would load it on the first task), so that a
// prestarted writer is ready when the first file comes.
import "./write-encoded";

parentPort?.on("message", (task: EncodedWriteTask) => {
  writeEncodedFiles(task).then(
    (written) => parentPort!.postMessage({ ok: true, written }),
    (error: unknown) => parentPort!.postMessage({ ok: false, error: serialiseError(error) }),
  );
});
