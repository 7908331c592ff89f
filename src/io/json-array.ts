import { parseTree, type ParseError } from "jsonc-parser";
import { InputError } from "../errors";
import { openAtomicFile } from "./atomic-write";
import type { WrittenFile } from "./jsonl";
import { isGzipPath, readText } from "./open-text-stream";

/** One element of a JSON array file and its 0-based index. */
export interface JsonArrayItem {
  value: unknown;
  item: number;
}

/**
 * Reads a file holding one JSON array (`.json` or `.json.gz`, as Bactrian-X ships). The array is
 * parsed whole: V8's `JSON.parse` is several times faster than any streaming JSON parser, and one
 * language of Bactrian-X (about 60 MB) fits comfortably in memory.
 */
export async function* readJsonArray(path: string): AsyncGenerator<JsonArrayItem> {
  const text = await readText(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InputError(`not valid JSON (${(error as Error).message})`, {
      file: path,
      line: lineOfJsonError(text),
      cause: error,
    });
  }
  if (!Array.isArray(parsed)) {
    throw new InputError(`expected a JSON array of records, found ${typeof parsed === "object" ? "an object" : typeof parsed}`, {
      file: path,
    });
  }
  for (let index = 0; index < parsed.length; index += 1) yield { value: parsed[index], item: index };
}

// V8's messages do not always carry a position, so the error path re-parses with jsonc-parser,
// which reports the offset of the first syntax error (only on failure: it is much slower).
function lineOfJsonError(text: string): number | undefined {
  const errors: ParseError[] = [];
  parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  const position = errors[0]?.offset;
  if (position === undefined) return undefined;
  let line = 1;
  for (let index = 0; index < position && index < text.length; index += 1) if (text.charCodeAt(index) === 10) line += 1;
  return line;
}

/** Writes values as one JSON array, one element per line (gzip when the path ends in `.gz`), atomically. */
export async function writeJsonArray(path: string, rows: Iterable<unknown> | AsyncIterable<unknown>): Promise<WrittenFile> {
  const file = await openAtomicFile(path, { gzip: isGzipPath(path) });
  let count = 0;
  try {
    let chunk = "[";
    for await (const row of rows) {
      chunk += (count === 0 ? "\n" : ",\n") + JSON.stringify(row);
      count += 1;
      if (chunk.length >= 1 << 20) {
        await file.write(chunk);
        chunk = "";
      }
    }
    await file.write(chunk + (count === 0 ? "]\n" : "\n]\n"));
    const { sha256, bytes } = await file.commit();
    return { rows: count, sha256, bytes };
  } catch (error) {
    await file.abort();
    throw error;
  }
}
