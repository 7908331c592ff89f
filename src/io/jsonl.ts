import { InputError } from "../errors";
import { openAtomicFile } from "./atomic-write";
import { isGzipPath, readLines, type InvalidUtf8Handling } from "./open-text-stream";

/** One parsed value and the 1-based line it came from. */
export interface JsonlRow {
  value: unknown;
  line: number;
}

/** Streams the JSON values of a JSON Lines file (`.jsonl` or `.jsonl.gz`); blank lines are skipped. */
export async function* readJsonl(path: string, options: InvalidUtf8Handling = {}): AsyncGenerator<JsonlRow> {
  for await (const { text, line } of readLines(path, options)) {
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new InputError(`not valid JSON (${(error as Error).message})`, { file: path, line, cause: error });
    }
    yield { value, line };
  }
}

/** Result of writing a file: what a manifest records about it. */
export interface WrittenFile {
  rows: number;
  sha256: string;
  bytes: number;
}

// Lines are joined into chunks of about this many characters before each write: one syscall per
// record is the main cost of naive JSONL writers.
const WRITE_CHUNK_CHARACTERS = 1 << 20;

/**
 * Writes values as JSON Lines (gzip when the path ends in `.gz`), atomically: on error nothing is
 * left at `path`. Each value is serialised with `JSON.stringify` and a `\n`.
 */
export async function writeJsonl(path: string, rows: Iterable<unknown> | AsyncIterable<unknown>): Promise<WrittenFile> {
  return writeJsonlLines(path, mapToLines(rows));
}

/** Like `writeJsonl` for lines that are already serialised (without their `\n`). */
export async function writeJsonlLines(
  path: string,
  lines: Iterable<string> | AsyncIterable<string>,
): Promise<WrittenFile> {
  const file = await openAtomicFile(path, { gzip: isGzipPath(path) });
  let rows = 0;
  try {
    let chunk = "";
    for await (const line of lines) {
      chunk += line + "\n";
      rows += 1;
      if (chunk.length >= WRITE_CHUNK_CHARACTERS) {
        await file.write(chunk);
        chunk = "";
      }
    }
    if (chunk.length > 0) await file.write(chunk);
    const { sha256, bytes } = await file.commit();
    return { rows, sha256, bytes };
  } catch (error) {
    await file.abort();
    throw error;
  }
}

async function* mapToLines(rows: Iterable<unknown> | AsyncIterable<unknown>): AsyncGenerator<string> {
  for await (const row of rows) yield JSON.stringify(row);
}
