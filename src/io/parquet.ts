import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { InputError } from "../errors";
import type { InvalidUtf8Handling } from "./open-text-stream";
import { decodeUtf8Strict, firstInvalidUtf8Byte } from "./strict-utf8";

/** One Parquet row as a plain object, with its 0-based index. */
export interface ParquetRow {
  value: Record<string, unknown>;
  item: number;
}

/**
 * Streams the rows of a Parquet file (as the Hugging Face Hub serves converted datasets), one row
 * group at a time so memory stays bounded by the largest row group. Read with hyparquet (pure JS).
 */
export async function* readParquet(path: string, options: InvalidUtf8Handling = {}): AsyncGenerator<ParquetRow> {
  let file;
  let metadata;
  try {
    file = await asyncBufferFromFile(path);
    metadata = await parquetMetadataAsync(file);
  } catch (error) {
    throw new InputError(`not a readable Parquet file (${(error as Error).message})`, { file: path, cause: error });
  }
  let item = 0;
  let groupStart = 0;
  for (const group of metadata.row_groups) {
    const groupRows = Number(group.num_rows);
    const rows = await parquetReadObjects({ file, metadata, rowStart: groupStart, rowEnd: groupStart + groupRows, parsers: strictParsers });
    for (const value of rows) {
      let normalised: Record<string, unknown>;
      try {
        normalised = normaliseValue(value, { file: path, item }, []) as Record<string, unknown>;
      } catch (error) {
        if (!options.onInvalidUtf8 || !(error instanceof InputError)) throw error;
        options.onInvalidUtf8(error);
        item += 1;
        continue;
      }
      yield { value: normalised, item };
      item += 1;
    }
    groupStart += groupRows;
  }
}

/** The bytes of a string value that are not UTF-8, kept until the row and field are known. */
class InvalidUtf8 {
  constructor(readonly bytes: Uint8Array) {}
}

// hyparquet decodes strings leniently (U+FFFD): check their bytes first, as every reader does.
const strictParsers = {
  stringFromBytes(bytes: Uint8Array | undefined): unknown {
    if (!bytes) return bytes;
    return firstInvalidUtf8Byte(bytes) === -1 ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8") : new InvalidUtf8(bytes);
  },
};

function normaliseValue(value: unknown, location: { file: string; item: number }, path: string[]): unknown {
  if (value instanceof InvalidUtf8) {
    const field = path.join(".");
    return decodeUtf8Strict(value.bytes, 0, value.bytes.length, { ...location, ...(field ? { field } : {}) }, "value");
  }
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map((inner, index) => normaliseValue(inner, location, [...path, String(index)]));
  if (value && typeof value === "object" && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, normaliseValue(inner, location, [...path, key])]));
  }
  return value;
}
