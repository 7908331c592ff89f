// Worker entry: reads, validates and encodes one language file per message, and sends the encoded
// buffers back by transfer (no copy). Used by `encodeLanguageFiles` to parse languages in parallel.
import { parentPort } from "node:worker_threads";
import { encodeLanguageFile, serialiseError, type EncodeLanguageFileTask } from "./encode-language-file";
import { transferablesOf } from "./record-store";

parentPort?.on("message", (task: EncodeLanguageFileTask) => {
  encodeLanguageFile(task).then(
    (result) => parentPort!.postMessage({ ok: true, result }, transferablesOf(result.encoded)),
    (error: unknown) => parentPort!.postMessage({ ok: false, error: serialiseError(error) }),
  );
});
