import { sha256File } from "../io/hash-file";
import { readSource } from "../sources/read-source";
import { encodeBactrianXArray } from "./encode-bactrian-x-array";
import type { EncodedLanguageFile, EncodeLanguageFileTask } from "./language-file-task";
import { RecordEncoder } from "./record-encoder";

/** Reads one language's file, validates every row and encodes the records (see `RecordStore`). */
export async function encodeLanguageFile(task: EncodeLanguageFileTask): Promise<EncodedLanguageFile> {
  const encoder = new RecordEncoder(task.lang);
  if (!(await encodeBactrianXArray(task, encoder))) {
    for await (const record of readSource({ path: task.path, lang: task.lang, ...(task.format ? { format: task.format } : {}), ...(task.source ? { source: task.source } : {}), ...(task.allowEmpty ? { allowEmpty: true } : {}) })) {
      encoder.add(record);
    }
  }
  return { encoded: encoder.finish(), sha256: await sha256File(task.path) };
}
