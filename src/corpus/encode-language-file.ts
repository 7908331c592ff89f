import { InputError } from "../errors";
import { sha256File } from "../io/hash-file";
import { readSource, type SourceFormat } from "../sources/read-source";
import { RecordEncoder, type EncodedLanguage } from "./record-store";

export interface EncodeLanguageFileTask {
  path: string;
  lang: string;
  format?: SourceFormat;
  source?: string;
}

export interface EncodedLanguageFile {
  encoded: EncodedLanguage;
  sha256: string;
}

/** Reads one language's file, validates every row and encodes the records (see `RecordStore`). */
export async function encodeLanguageFile(task: EncodeLanguageFileTask): Promise<EncodedLanguageFile> {
  const encoder = new RecordEncoder(task.lang);
  for await (const record of readSource({ path: task.path, lang: task.lang, ...(task.format ? { format: task.format } : {}), ...(task.source ? { source: task.source } : {}) })) {
    encoder.add(record);
  }
  return { encoded: encoder.finish(), sha256: await sha256File(task.path) };
}

/** An error as it crosses a worker boundary. */
export interface SerialisedError {
  name: string;
  message: string;
  reason?: string;
  file?: string;
  line?: number;
  item?: number;
  field?: string;
}

export function serialiseError(error: unknown): SerialisedError {
  if (error instanceof InputError) {
    return { name: error.name, message: error.message, reason: error.reason, file: error.file, line: error.line, item: error.item, field: error.field };
  }
  const plain = error instanceof Error ? error : new Error(String(error));
  return { name: plain.name, message: plain.stack ?? plain.message };
}

export function deserialiseError(error: SerialisedError): Error {
  if (error.name === "InputError") {
    return new InputError(error.reason ?? error.message, {
      ...(error.file !== undefined ? { file: error.file } : {}),
      ...(error.line !== undefined ? { line: error.line } : {}),
      ...(error.item !== undefined ? { item: error.item } : {}),
      ...(error.field !== undefined ? { field: error.field } : {}),
    });
  }
  const restored = new Error(error.message);
  restored.name = error.name;
  return restored;
}
