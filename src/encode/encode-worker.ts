// Worker entry: reads, validates and encodes one language file per message, and sends the encoded
// buffers back (shared memory, no copy). Used by `encodeLanguageFiles` to parse languages in parallel.
import { parentPort } from "node:worker_threads";
import { serialiseError } from "../worker/worker-errors";
import { encodeLanguageFile } from "./encode-language-file";
import type { EncodeLanguageFileTask } from "./language-file-task";

parentPort?.on("message", (task: EncodeLanguageFileTask) => {
  encodeLanguageFile(task).then(
    (result) => parentPort!.postMessage({ ok: true, result }),
    (error: unknown) => parentPort!.postMessage({ ok: false, error: serialiseError(error) }),
  );
});
