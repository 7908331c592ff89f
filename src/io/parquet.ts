import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { InputError } from "../errors";

/** One Parquet row as a plain object, with its 0-based index. */
export interface ParquetRow {
  value: Record<string, unknown>;
  item: number;
}

/**
 * Streams the rows of a Parquet file (as the Hugging Face Hub serves converted datasets), one row
 * group at a time so memory stays bounded by the largest row group. Read with hyparquet (pure JS).
 */
export async function* readParquet(path: string): AsyncGenerator<ParquetRow> {
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
    const rows = await parquetReadObjects({ file, metadata, rowStart: groupStart, rowEnd: groupStart + groupRows });
    for (const value of rows) {
      yield { value: normaliseValue(value) as Record<string, unknown>, item };
      item += 1;
    }
    groupStart += groupRows;
  }
}

function normaliseValue(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(normaliseValue);
  if (value && typeof value === "object" && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, normaliseValue(inner)]));
  }
  return value;
}
