import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { createGzip, type Gzip } from "node:zlib";

/** A file being written: bytes go to `<path>.<unique>.incomplete` until `commit` renames it into place. */
export interface AtomicFile {
  readonly path: string;
  readonly temporaryPath: string;
  /** Resolves once the chunk has been written (or compressed): the caller may then reuse its buffer. */
  write(chunk: string | Uint8Array): Promise<void>;
  /** Flushes, renames into place and returns the sha256 and size of the bytes on disk. */
  commit(): Promise<{ sha256: string; bytes: number }>;
  /** Removes the temporary file; the final path is left untouched. */
  abort(): Promise<void>;
}

/** Suffix of files that are still being written; a killed run leaves only these behind. */
export const INCOMPLETE_SUFFIX = ".incomplete";

/**
 * A temporary name beside `path` that no other writer (another process, another call) uses:
 * two runs writing the same file never write into each other's bytes.
 */
export function temporaryPathFor(path: string): string {
  return `${path}.${process.pid}-${randomBytes(4).toString("hex")}${INCOMPLETE_SUFFIX}`;
}

/** Writes `data` to `path` atomically (temporary file, then rename). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporaryPath = temporaryPathFor(path);
  try {
    await writeFile(temporaryPath, data, { flush: true });
    await rename(temporaryPath, path);
  } catch (error) {
    await rm(temporaryPath, { force: true });
    throw error;
  }
}

/**
 * Opens a streaming atomic writer. With `gzip` the bytes are compressed on the way; the sha256
 * is always of the bytes that land on disk, so it matches `sha256sum` of the final file.
 */
export async function openAtomicFile(path: string, options: { gzip?: boolean } = {}): Promise<AtomicFile> {
  await mkdir(dirname(path), { recursive: true });
  const temporaryPath = temporaryPathFor(path);
  const file: WriteStream = createWriteStream(temporaryPath);
  const hash = createHash("sha256");
  let bytes = 0;
  let failure: Error | undefined;
  file.on("error", (error) => (failure ??= error));

  const gzip: Gzip | undefined = options.gzip ? createGzip() : undefined;
  const sink = gzip ?? file;
  if (gzip) {
    gzip.on("data", (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      if (!file.write(chunk)) gzip.pause();
    });
    file.on("drain", () => gzip.resume());
    gzip.on("error", (error) => (failure ??= error));
  }

  const waitFor = (emitter: NodeJS.EventEmitter, event: string) =>
    new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      emitter.once("error", onError);
      emitter.once(event, () => {
        emitter.off("error", onError);
        resolve();
      });
    });

  let closed = false;
  return {
    path,
    temporaryPath,
    async write(chunk) {
      if (failure) throw failure;
      const buffer = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
      if (!gzip) {
        hash.update(buffer);
        bytes += buffer.length;
      }
      await new Promise<void>((resolve, reject) => sink.write(buffer, (error) => (error ? reject(error) : resolve())));
    },
    async commit() {
      if (failure) throw failure;
      closed = true;
      if (gzip) {
        const gzipEnded = waitFor(gzip, "end");
        gzip.end();
        await gzipEnded;
      }
      const fileClosed = waitFor(file, "close");
      file.end();
      await fileClosed;
      if (failure) throw failure;
      await rename(temporaryPath, path);
      return { sha256: hash.digest("hex"), bytes };
    },
    async abort() {
      if (!closed) {
        closed = true;
        gzip?.destroy();
        file.destroy();
      }
      // The file may still be opening: wait until the stream has closed it, or rm would run
      // first and the open would then create the file again.
      if (!file.closed) await new Promise<void>((resolve) => file.once("close", () => resolve()));
      await rm(temporaryPath, { force: true });
    },
  };
}
