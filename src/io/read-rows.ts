import { InputError, type InputLocation } from "../errors";
import { readJsonArray } from "./json-array";
import { readJsonl } from "./jsonl";
import type { InvalidUtf8Handling } from "./open-text-stream";
import { assertReadable, firstNonSpaceCharacter } from "./probe-file";

/** A raw input row (any shape) and where it came from. */
export interface RawRow {
  value: unknown;
  location: InputLocation;
}

/** The container formats `readRows` understands, chosen by file extension. */
export type FileKind = "jsonl" | "json" | "arrow" | "csv" | "parquet";

const EXTENSIONS: [suffix: string, kind: FileKind][] = [
  [".jsonl", "jsonl"],
  [".ndjson", "jsonl"],
  [".json", "json"],
  [".arrow", "arrow"],
  [".feather", "arrow"],
  [".ipc", "arrow"],
  [".csv", "csv"],
  [".parquet", "parquet"],
];

/** The container format of a path from its extension (`.gz` is looked through), or undefined. */
export function fileKindOf(path: string): FileKind | undefined {
  const lower = path.toLowerCase().replace(/\.gz$/, "");
  return EXTENSIONS.find(([suffix]) => lower.endsWith(suffix))?.[1];
}

/** Extensions a reader accepts, for error messages. */
export const SUPPORTED_EXTENSIONS = ".jsonl, .jsonl.gz, .json, .json.gz, .arrow, .csv, .csv.gz, .parquet";

/**
 * Streams the rows of a data file of any supported container format, each with its location, so
 * that later validation errors can name file, line (or item) and field. With `onInvalidUtf8`, a
 * JSON Lines line, JSON array item or Parquet row that is not UTF-8 is handed to it and skipped
 * (Arrow and CSV files still stop at the first).
 */
export async function* readRows(path: string, options: InvalidUtf8Handling = {}): AsyncGenerator<RawRow> {
  const kind = fileKindOf(path);
  if (!kind) {
    throw new InputError(`unsupported file extension; supported: ${SUPPORTED_EXTENSIONS}`, { file: path });
  }
  await assertReadable(path);
  switch (kind) {
    case "jsonl":
      for await (const { value, line } of readJsonl(path, options)) yield { value, location: { file: path, line } };
      return;
    case "json":
      // Some hubs name JSON Lines files `.json`: look at the first character to tell.
      if ((await firstNonSpaceCharacter(path)) === "[") {
        for await (const { value, item } of readJsonArray(path, options)) yield { value, location: { file: path, item } };
      } else {
        for await (const { value, line } of readJsonl(path, options)) yield { value, location: { file: path, line } };
      }
      return;
    // Arrow, CSV and Parquet readers load their libraries on first use: a thread that reads JSON
    // (every reader thread of a Bactrian-X build) starts without them.
    case "arrow": {
      const { readArrow } = await import("./arrow");
      for await (const { value, item } of readArrow(path)) yield { value, location: { file: path, item } };
      return;
    }
    case "csv": {
      const { readCsv } = await import("./csv");
      for await (const { value, line } of readCsv(path)) yield { value, location: { file: path, line } };
      return;
    }
    case "parquet": {
      const { readParquet } = await import("./parquet");
      for await (const { value, item } of readParquet(path, options)) yield { value, location: { file: path, item } };
      return;
    }
  }
}
