import { createHash } from "node:crypto";
import { mkdir, open, readFile, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";

/**
 * A persistent, append-only cache of judge answers, so no (judge model, prompt, answer) is paid
 * for twice and a killed run resumes where it stopped. One JSON line per answer, appended as soon
 * as the answer arrives; a line torn by a kill is ignored when the file is read again, and the
 * next append starts on a fresh line. A later line for the same key wins (`--retry-errors`).
 * Only the judge's answer and token counts are stored: never an API key.
 */

/** One cached judge answer. */
export const judgeCacheEntrySchema = z.object({
  key: z.string().length(64),
  judge_model: z.string(),
  judgment: z.string(),
  input_tokens: z.number().int().min(0),
  output_tokens: z.number().int().min(0),
  tstamp: z.number(),
  /** The model snapshot that answered (`model` of the API response), when the API said. */
  judge_snapshot: z.string().optional(),
  /** The Batch API batch that answered (batched answers cost the batch price). */
  batch_id: z.string().optional(),
});
export type JudgeCacheEntry = z.infer<typeof judgeCacheEntrySchema>;

/**
 * The cache identity: sha256 over judge model, system prompt and user prompt (which holds the
 * answer), plus the repeat number from the second repeat on (`--repeats`): repeat 0 keeps the key of
 * a plain run, so a cache filled without repeats serves the first repeat.
 */
export function judgeCacheKey(parts: { judgeModel: string; systemPrompt: string; userPrompt: string; repeat?: number }): string {
  const identity: unknown[] = [parts.judgeModel, parts.systemPrompt, parts.userPrompt];
  if (parts.repeat) identity.push({ repeat: parts.repeat });
  return createHash("sha256").update(JSON.stringify(identity)).digest("hex");
}

/** An open judge cache. */
export interface JudgeCache {
  readonly path: string;
  /** Entries read at open time (after dropping torn lines) plus those added since. */
  readonly size: number;
  /** Lines that could not be read at open time (a torn last line after a kill). */
  readonly skippedLines: number;
  get(key: string): JudgeCacheEntry | undefined;
  /** Appends an entry to the file (one write per line) and to memory. */
  add(entry: JudgeCacheEntry): Promise<void>;
  close(): Promise<void>;
}

/** Opens (or creates) the cache file at `path`; `readOnly` never creates or writes it (dry runs). */
export async function openJudgeCache(options: { path: string; readOnly?: boolean }): Promise<JudgeCache> {
  const path = options.path;
  const entries = new Map<string, JudgeCacheEntry>();
  let skippedLines = 0;
  let text = "";
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skippedLines += 1;
      continue;
    }
    const parsed = judgeCacheEntrySchema.safeParse(value);
    if (parsed.success) entries.set(parsed.data.key, parsed.data);
    else skippedLines += 1;
  }
  if (options.readOnly) {
    return {
      path,
      get size() {
        return entries.size;
      },
      skippedLines,
      get: (key) => entries.get(key),
      add: async () => {
        throw new Error(`the judge cache ${path} was opened read-only`);
      },
      close: async () => {},
    };
  }
  await mkdir(dirname(path), { recursive: true });
  const handle: FileHandle = await open(path, "a");
  // A kill can leave a last line without its newline: start the next entry on a line of its own.
  let pending: Promise<void> = text.length > 0 && !text.endsWith("\n") ? handle.write("\n").then(() => undefined) : Promise.resolve();
  return {
    path,
    get size() {
      return entries.size;
    },
    skippedLines,
    get(key) {
      return entries.get(key);
    },
    async add(entry) {
      entries.set(entry.key, entry);
      const line = JSON.stringify(entry) + "\n";
      // Serialise appends so concurrent judge calls never interleave bytes within a line.
      pending = pending.then(async () => {
        await handle.write(line);
      });
      await pending;
    },
    async close() {
      await pending.catch(() => undefined);
      await handle.close();
    },
  };
}
