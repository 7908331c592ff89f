import { open } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import { InputError } from "../errors";
import { isGzipPath } from "./open-text-stream";

// Checks on an input file before it is read (internal: used by the readers, not exported by the package).

/** Throws an InputError naming the file when it cannot be opened for reading. */
export async function assertReadable(path: string): Promise<void> {
  try {
    const handle = await open(path, "r");
    await handle.close();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "file not found" : code === "EISDIR" ? "is a directory, expected a file" : (error as Error).message;
    throw new InputError(reason, { file: path, cause: error });
  }
}

/** The first non-space character of the file (gunzipped when it ends in `.gz`), from its first 64 KiB. */
export async function firstNonSpaceCharacter(path: string): Promise<string | undefined> {
  const raw = createReadStream(path, { start: 0, end: 65535 });
  const stream = isGzipPath(path) ? raw.pipe(createGunzip()) : raw;
  try {
    for await (const chunk of stream) {
      const match = /\S/.exec((chunk as Buffer).toString("utf8"));
      if (match) return match[0];
    }
  } catch {
    // A truncated gzip prefix is expected here: we only read the first 64 KiB.
  } finally {
    raw.destroy();
    stream.destroy();
  }
  return undefined;
}
