import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import { PassThrough, type Readable } from "node:stream";
import { InputError } from "../errors";

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

/** A UTF-8 text stream of a file, gunzipped when its name ends in `.gz`. */
export function openTextStream(path: string): Readable {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = isGzipPath(path) ? gunzipNamed(raw, path) : raw;
  stream.setEncoding("utf8");
  return stream;
}

/** Yields the lines of a text file without their `\n` (and `\r\n`), with 1-based line numbers. */
export async function* readLines(path: string): AsyncGenerator<{ text: string; line: number }> {
  let pending = "";
  let line = 0;
  for await (const chunk of openTextStream(path)) {
    const text = pending + (chunk as string);
    let start = 0;
    let end = text.indexOf("\n", start);
    while (end !== -1) {
      line += 1;
      yield { text: stripCarriageReturn(text.slice(start, end)), line };
      start = end + 1;
      end = text.indexOf("\n", start);
    }
    pending = text.slice(start);
  }
  if (pending.length > 0) {
    line += 1;
    yield { text: stripCarriageReturn(pending), line };
  }
}

function stripCarriageReturn(text: string): string {
  return text.endsWith("\r") ? text.slice(0, -1) : text;
}
