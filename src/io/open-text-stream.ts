import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import { PassThrough, Transform, type Readable } from "node:stream";
import { InputError } from "../errors";
import { decodeUtf8Strict, firstInvalidUtf8Byte } from "./strict-utf8";

/** True when the path names a gzip file (`.gz`). */
export function isGzipPath(path: string): boolean {
  return path.toLowerCase().endsWith(".gz");
}

/**
 * The gunzipped bytes of `raw`. zlib's errors ("unexpected end of file") name no file: they come
 * out as an InputError that names it and says what to do.
 */
export function gunzipNamed(raw: Readable, path: string): Readable {
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  const output = new PassThrough({ readableHighWaterMark: 1 << 20 });
  raw.on("error", (error) => output.destroy(error));
  gunzip.on("error", (error: NodeJS.ErrnoException) => {
    const problem = error.code === "Z_BUF_ERROR" ? "is truncated (unexpected end of the gzip data)" : `is not valid gzip data (${error.message})`;
    output.destroy(new InputError(`${problem}; download or compress the file again`, { file: path, cause: error }));
  });
  return raw.pipe(gunzip).pipe(output);
}

/** The bytes of a file, gunzipped when its name ends in `.gz`. */
export function openByteStream(path: string): Readable {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  return isGzipPath(path) ? gunzipNamed(raw, path) : raw;
}

/**
 * A UTF-8 text stream of a file, gunzipped when its name ends in `.gz`. Invalid UTF-8 fails the
 * stream with an InputError naming the file, line and byte offset (see `decodeUtf8Strict`).
 */
export function openTextStream(path: string): Readable {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let line = 1;
  let carried = Buffer.alloc(0);
  const decode = new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _encoding, callback) {
      const bytes = carried.length > 0 ? Buffer.concat([carried, chunk]) : chunk;
      // Decode whole lines only, so that a problem can be located in its line.
      const last = bytes.lastIndexOf(NEWLINE);
      carried = Buffer.from(bytes.subarray(last + 1));
      if (last === -1) return callback();
      try {
        callback(null, decodeLines(bytes, last + 1));
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      try {
        callback(null, carried.length > 0 ? decodeLines(carried, carried.length) : null);
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  const decodeLines = (bytes: Buffer, end: number): string => {
    try {
      return decoder.decode(bytes.subarray(0, end));
    } catch {
      let lineNumber = line;
      for (let start = 0; start < end; lineNumber++) {
        const stop = bytes.indexOf(NEWLINE, start);
        const lineEnd = stop === -1 || stop >= end ? end : stop;
        decodeUtf8Strict(bytes, start, lineEnd, { file: path, line: lineNumber });
        start = lineEnd + 1;
      }
      throw new InputError("invalid UTF-8", { file: path });
    } finally {
      for (let index = bytes.indexOf(NEWLINE); index !== -1 && index < end; index = bytes.indexOf(NEWLINE, index + 1)) line += 1;
    }
  };
  const stream = openByteStream(path);
  stream.on("error", (error) => decode.destroy(error));
  return stream.pipe(decode);
}

const NEWLINE = 0x0a;

/**
 * What a reader does with a line, item or row that is not valid UTF-8: by default it throws the
 * InputError; with `onInvalidUtf8` it hands the error over and skips that row (`validate` lists
 * every problem instead of stopping at the first).
 */
export interface InvalidUtf8Handling {
  onInvalidUtf8?: (error: InputError) => void;
}

/**
 * Yields the lines of a text file without their `\n` (and `\r\n`), with 1-based line numbers.
 * Lines are split as bytes and decoded strictly: invalid UTF-8 is an error that names the line,
 * the JSON field and the byte offset, never a silent U+FFFD.
 */
export async function* readLines(path: string, options: InvalidUtf8Handling = {}): AsyncGenerator<{ text: string; line: number }> {
  const decode = (bytes: Buffer, start: number, end: number, line: number): string | undefined => {
    if (!options.onInvalidUtf8) return decodeUtf8Strict(bytes, start, end, { file: path, line });
    try {
      return decodeUtf8Strict(bytes, start, end, { file: path, line });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      options.onInvalidUtf8(error);
      return undefined;
    }
  };
  let pending: Buffer = Buffer.alloc(0);
  let line = 0;
  for await (const chunk of openByteStream(path) as AsyncIterable<Buffer>) {
    const bytes = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    const last = bytes.lastIndexOf(NEWLINE);
    if (last === -1) {
      pending = bytes;
      continue;
    }
    // One native check for the chunk's whole lines; the exact line only when it fails.
    const valid = firstInvalidUtf8Byte(bytes, 0, last) === -1;
    const text = valid ? bytes.toString("utf8", 0, last + 1) : undefined;
    let start = 0;
    let end = text !== undefined ? text.indexOf("\n") : bytes.indexOf(NEWLINE);
    while (end !== -1 && (text !== undefined || end <= last)) {
      line += 1;
      const lineText = text !== undefined ? text.slice(start, end) : decode(bytes, start, end, line);
      if (lineText !== undefined) yield { text: stripCarriageReturn(lineText), line };
      start = end + 1;
      end = text !== undefined ? text.indexOf("\n", start) : bytes.indexOf(NEWLINE, start);
    }
    pending = Buffer.from(bytes.subarray(last + 1));
  }
  if (pending.length > 0) {
    line += 1;
    const lineText = decode(pending, 0, pending.length, line);
    if (lineText !== undefined) yield { text: stripCarriageReturn(lineText), line };
  }
}

function stripCarriageReturn(text: string): string {
  return text.endsWith("\r") ? text.slice(0, -1) : text;
}
