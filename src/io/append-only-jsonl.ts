import { mkdir, open, readFile, truncate, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import type { z } from "zod";
import { InputError, PolyglotError } from "../errors";

/** How to open an append-only JSONL file. */
export interface OpenAppendOnlyJsonlOptions<Entry> {
  /** The `.jsonl` file; created (with its folder) on the first append when missing. */
  path: string;
  /** Checks each line; a line it rejects is damaged. */
  schema: z.ZodType<Entry>;
  /** What one line holds, for messages: `"translation cache entry"`. */
  what: string;
  /** Never write to or repair the file (shipped caches, dry runs). */
  readOnly?: boolean;
}

/** An open append-only JSONL file: the entries it held when opened, and appends. */
export interface AppendOnlyJsonl<Entry> {
  readonly path: string;
  /** The entries read at open, in file order (a torn last line left out). */
  readonly entries: readonly Entry[];
  /** Whether the file ended in a torn line when opened (ignored, and cut off before the first append). */
  readonly hadTornLine: boolean;
  /** Appends entries in one write; appends are serialised, so lines never interleave. */
  append(entries: readonly Entry[]): Promise<void>;
  /** Waits for pending appends and closes the file. */
  close(): Promise<void>;
}

/** A line of an append-only JSONL file is damaged somewhere other than at its end. */
export class DamagedJsonlError extends InputError {}

/** Opened read-only, and asked to append. */
export class ReadOnlyJsonlError extends PolyglotError {}

/**
 * Opens an append-only JSONL file (a cache that a killed run resumes from). The one rule for damage:
 * a last line without its newline that does not parse is a line torn by a kill, so it is ignored and
 * cut off before the first append; any other unreadable line is a `DamagedJsonlError` naming the file
 * and line. A complete entry missing only its newline is kept, and the next append starts a new line.
 * The caller holds the file's lock (one writer at a time).
 */
export async function openAppendOnlyJsonl<Entry>(options: OpenAppendOnlyJsonlOptions<Entry>): Promise<AppendOnlyJsonl<Entry>> {
  const { path, schema, what } = options;
  let content = Buffer.alloc(0);
  try {
    content = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const lines = content.toString("utf8").split("\n");
  // The text after the last newline: empty for a well-formed file.
  const tail = lines.pop()!;
  const entries: Entry[] = [];
  const readLine = (line: string, index: number): void => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new DamagedJsonlError(`not a ${what} (invalid JSON); fix or delete that line`, { file: path, line: index + 1, cause: error });
    }
    const result = schema.safeParse(value);
    if (!result.success) throw new DamagedJsonlError(`not a ${what}; fix or delete that line`, { file: path, line: index + 1 });
    entries.push(result.data);
  };
  lines.forEach(readLine);
  let hadTornLine = false;
  let unterminated = false;
  if (tail.trim() !== "") {
    try {
      readLine(tail, lines.length);
      unterminated = true;
    } catch (error) {
      if (!(error instanceof DamagedJsonlError)) throw error;
      hadTornLine = true;
    }
  }
  const completeLength = content.lastIndexOf(0x0a) + 1;

  let handle: FileHandle | undefined;
  let queue: Promise<void> = Promise.resolve();
  const openForAppend = async (): Promise<FileHandle> => {
    await mkdir(dirname(path), { recursive: true });
    if (hadTornLine) await truncate(path, completeLength);
    const opened = await open(path, "a");
    if (unterminated) await opened.write("\n");
    return opened;
  };

  return {
    path,
    entries,
    hadTornLine,
    append(newEntries) {
      if (newEntries.length === 0) return queue;
      if (options.readOnly) return Promise.reject(new ReadOnlyJsonlError(`${path} was opened read-only`));
      const data = newEntries.map((entry) => JSON.stringify(entry)).join("\n") + "\n";
      queue = queue.then(async () => {
        handle ??= await openForAppend();
        await handle.write(data);
      });
      return queue;
    },
    async close() {
      try {
        await queue;
      } finally {
        await handle?.close();
        handle = undefined;
      }
    },
  };
}
