import { createReadStream } from "node:fs";
import { InputError } from "../errors";
import { openAtomicFile } from "./atomic-write";
import type { WrittenFile } from "./jsonl";
import { isJsonWhitespace, JsonByte } from "./json-bytes";
import { gunzipNamed, isGzipPath } from "./open-text-stream";
import type { InvalidUtf8Handling } from "./open-text-stream";
import { decodeUtf8Strict, firstInvalidUtf8Byte } from "./strict-utf8";

/** One element of a JSON array file and its 0-based index. */
export interface JsonArrayItem {
  value: unknown;
  item: number;
}

const { quote: QUOTE, backslash: BACKSLASH, openBracket: OPEN_BRACKET, closeBracket: CLOSE_BRACKET, openBrace: OPEN_BRACE, closeBrace: CLOSE_BRACE, comma: COMMA, newline: NEWLINE } = JsonByte;

/** The raw bytes of one element of a JSON array file: `bytes[start, end)`, its index and first line. */
export interface JsonArrayElement {
  bytes: Buffer;
  start: number;
  end: number;
  item: number;
  line: number;
}

/**
 * Streams the elements of a file holding one JSON array (`.json` or `.json.gz`, as Bactrian-X
 * ships). The gunzipped bytes are scanned for the boundaries of top-level elements (brackets and
 * commas outside strings) and each element is parsed on its own with `JSON.parse`: as fast as
 * parsing the whole file at once, but neither the file's text nor the whole parsed array is ever
 * held in memory. Streaming JSON parsers that tokenise in JavaScript are several times slower.
 */
export async function* readJsonArray(path: string, options: InvalidUtf8Handling = {}): AsyncGenerator<JsonArrayItem> {
  for await (const element of scanJsonArray(path)) {
    if (options.onInvalidUtf8 && firstInvalidUtf8Byte(element.bytes, element.start, element.end) !== -1) {
      try {
        decodeUtf8Strict(element.bytes, element.start, element.end, { file: path, item: element.item });
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        options.onInvalidUtf8(error);
        continue;
      }
    }
    yield { value: parseJsonArrayElement(path, element), item: element.item };
  }
}

/** `JSON.parse` of one element; a syntax error becomes an InputError naming the file, line and item. */
export function parseJsonArrayElement(path: string, element: JsonArrayElement): unknown {
  let text: string | undefined;
  try {
    text = decodeUtf8Strict(element.bytes, element.start, element.end, { file: path, item: element.item });
    return JSON.parse(text);
  } catch (error) {
    if (text === undefined) throw error;
    throw new InputError(`not valid JSON (${(error as Error).message})`, { file: path, line: element.line, item: element.item, cause: error });
  }
}

/**
 * The elements of a JSON array file as raw bytes, without parsing them (see `readJsonArray`). The
 * bytes are only valid until the next element is requested.
 */
export async function* scanJsonArray(path: string): AsyncGenerator<JsonArrayElement> {
  for await (const elements of scanJsonArrayChunks(path)) yield* elements;
}

/** A JSON array element read while its boundaries were found (see `scanJsonArrayChunks`). */
export interface ReadJsonArrayElement<T> extends JsonArrayElement {
  /** What the element reader returned, when it took the element. */
  read?: T;
}

/**
 * Reads an element from its first byte, `bytes[start]`, no further than `limit`: what it read, the
 * index after the element and the line breaks in it; or undefined to leave the element to the
 * byte-by-byte scan (an element it does not know, or one that goes on past `limit`).
 */
export type JsonArrayElementReader<T> = (bytes: Buffer, start: number, limit: number) => { value: T; end: number; newlines: number } | undefined;

/**
 * `scanJsonArray`, a gunzipped chunk's elements at a time (one await per megabyte, not per
 * element); their bytes are valid until the next chunk is requested. With `readElement`, an
 * element the reader takes is read in the same pass that finds its end, instead of being scanned
 * for its end and then read (see `readFlatJsonObject`).
 */
export async function* scanJsonArrayChunks<T = never>(path: string, readElement?: JsonArrayElementReader<T>): AsyncGenerator<ReadJsonArrayElement<T>[]> {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = isGzipPath(path) ? gunzipNamed(raw, path) : raw;

  let pending: Buffer = Buffer.alloc(0); // bytes of the element being read, carried across chunks
  let depth = 0; // 0 before the array, 1 inside it, more inside an element
  let inString = false;
  let finished = false;
  let line = 1;
  let elementLine = 1;
  let item = 0;
  let elementOpen = false;
  // An element was just read by `readElement`: a comma or the closing bracket comes next.
  let elementRead = false;
  const fail = (message: string, cause?: unknown): never => {
    throw new InputError(message, { file: path, line, item, cause });
  };

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buffer = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    let start = pending.length > 0 ? 0 : -1;
    let position = pending.length;
    pending = Buffer.alloc(0);
    const elements: ReadJsonArrayElement<T>[] = [];
    try {
      while (position < buffer.length) {
        if (inString) {
          // Most bytes are inside strings: jump to the next quote natively, then check whether an
          // odd run of backslashes escapes it. (A raw newline cannot occur inside a JSON string.)
          const quote = buffer.indexOf(QUOTE, position);
          if (quote === -1) {
            position = buffer.length;
            break;
          }
          let backslashes = 0;
          while (quote - 1 - backslashes >= start && buffer[quote - 1 - backslashes] === BACKSLASH) backslashes += 1;
          position = quote + 1;
          if (backslashes % 2 === 0) inString = false;
          continue;
        }
        const byte = buffer[position]!;
        position += 1;
        if (byte === NEWLINE) line += 1;
        if (finished) {
          if (!isJsonWhitespace(byte)) fail("unexpected content after the end of the JSON array");
          continue;
        }
        if (depth === 0) {
          if (byte === OPEN_BRACKET) depth = 1;
          else if (!isJsonWhitespace(byte)) fail("expected a JSON array of records (the file does not start with \"[\")");
          continue;
        }
        if (depth === 1 && (byte === COMMA || byte === CLOSE_BRACKET)) {
          if (elementOpen) {
            elements.push({ bytes: buffer, start, end: position - 1, item, line: elementLine });
            item += 1;
            elementOpen = false;
            start = -1;
          } else if (!elementRead && (byte === COMMA || item > 0)) {
            fail(byte === COMMA ? "empty element (two commas in a row?)" : "trailing comma before \"]\"");
          }
          elementRead = false;
          if (byte === CLOSE_BRACKET) {
            depth = 0;
            finished = true;
          }
          continue;
        }
        if (!elementOpen) {
          if (isJsonWhitespace(byte)) continue;
          if (elementRead) fail("expected a comma between two elements");
          const read = readElement?.(buffer, position - 1, buffer.length);
          if (read !== undefined) {
            elements.push({ bytes: buffer, start: position - 1, end: read.end, item, line, read: read.value });
            item += 1;
            line += read.newlines;
            position = read.end;
            elementRead = true;
            continue;
          }
          elementOpen = true;
          elementLine = line;
          start = position - 1;
        }
        if (byte === QUOTE) inString = true;
        else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth += 1;
        else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) depth -= 1;
      }
    } catch (error) {
      // The elements before the problem first, as when they were yielded one by one.
      if (elements.length > 0) yield elements;
      throw error;
    }
    if (elementOpen) pending = Buffer.from(buffer.subarray(start));
    if (elements.length > 0) yield elements;
  }
  if (!finished) fail(depth === 0 ? "empty file: expected a JSON array" : "unexpected end of file inside the JSON array (truncated download?)");
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
