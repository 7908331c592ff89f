import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";

/** True when the path names a gzip file (`.gz`). */
export function isGzipPath(path: string): boolean {
  return path.toLowerCase().endsWith(".gz");
}

/** A UTF-8 text stream of a file, gunzipped when its name ends in `.gz`. */
export function openTextStream(path: string): Readable {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = isGzipPath(path) ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw;
  if (stream !== raw) raw.on("error", (error) => stream.destroy(error));
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
