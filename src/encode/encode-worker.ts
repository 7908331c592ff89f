// Worker entry: reads, validates and encodes one language file per message, and sends the encoded
// buffers back (shared memory, no copy). Used by `encodeLanguageFiles` to parse languages in parallel.
import { parentPort } from "node:worker_threads";
import { serialiseError } from "../worker/worker-errors";
import { encodeLanguageFile, type EncodeLanguageFileTask } from "./encode-language-file";

parentPort?.on("message", (task: EncodeLanguageFileTask) => {
  encodeLanguageFile(task).then(
    (result) => parentPort!.postMessage({ ok: true, result }),
    (error: unknown) => parentPort!.postMessage({ ok: false, error: serialiseError(error) }),
  );
});
