import { InputError } from "../errors";

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
